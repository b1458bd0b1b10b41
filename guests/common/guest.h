/*
 * What the freestanding test guests (selftest, attack) share: their
 * entry (entry.asm) and runtime (runtime.c): the UART, hypercalls, their
 * own IDT with expected faults, RAM from the boot parameters, CPL 3, and
 * the hostile modes both run.
 */
#ifndef GUESTS_LIB_GUEST_H
#define GUESTS_LIB_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "x86.h"

#define MIB (1ull << 20)
#define PAGE 4096ull
#define GIB (1ull << 30)
#define PTE_P 1ull
#define PTE_RW 2ull
#define PTE_PS 0x80ull /* a 2 MiB page in a page directory (Intel SDM Vol. 3A, 4.5) */

#define UART 0x3f8
#define UART_LSR 5
#define UART_SCR 7
#define LSR_THRE 0x20
#define WAKE_VECTOR 32
#define TRAP_VECTORS 0x60 /* exceptions, the wake-up vector and the guests' own */
#define VEC_DB 1
#define VEC_UD 6
#define VEC_GP 13
#define VEC_AC 17
#define MSR_TSC 0x10
#define MSR_PAT 0x277
#define MSR_EFER 0xc0000080

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code, rip, cs, rflags, rsp, ss;
};

/* Each guest's own: its main, what vCPU 1 and up run, and interrupts from vector 0x21 up (1 if it took it). */
void guest_main(const uint8_t *boot_params);
void guest_ap_main(uint64_t index);
int guest_interrupt(uint64_t vector);

/* entry.asm */
void ap_entry(void);
extern const uint8_t fpu_at_entry[16 * 16 + 8];
void fpu_dirty(void);

/* Text on the UART. */
void __attribute__((format(printf, 1, 2))) print(const char *f, ...);
/* One result line: SELFTEST <name> PASS|FAIL <detail>; counted in report_passed / report_failed. */
void __attribute__((format(printf, 3, 4))) report(const char *name, int ok, const char *f, ...);
extern unsigned report_passed, report_failed;

/* Hypercalls (hv/hypercall.h), by VMMCALL on AMD and VMCALL on Intel. */
extern int is_amd;
int64_t hypercall3(uint64_t nr, uint64_t a, uint64_t b, uint64_t c);
int64_t hypercall(uint64_t nr, uint64_t a, uint64_t b);
void hypercall_exit(uint64_t status);
/* The hypervisor's own wake-up interrupt after ticks of TSC: what ends a HLT whatever else comes. */
void wake_after(uint64_t ticks);
extern volatile int wakeups;

/* The IDT (install_traps on the first vCPU, load_idt(IDT_LIMIT) on the others); limit 0: none at all. */
#define IDT_LIMIT (TRAP_VECTORS * 16 - 1)
void install_traps(void);
void load_idt(uint16_t limit);
/* Arms the handler for one fault of an instruction of the given length; fault_taken says if it came. */
void expect_fault(int vector, unsigned length);
int fault_taken(int vector);
int rdmsr_faults(uint32_t msr, uint64_t *value);
int wrmsr_faults(uint32_t msr, uint64_t value);
int xsetbv_faults(uint64_t xcr0);
int cr0_write_faults(uint64_t value);
int cr4_write_faults(uint64_t value);
/*
 * CPL 3: runs fn there with RFLAGS.AC set (entry.asm's run_user) until it
 * ends with UD2; a vector's handler run at the CPL it interrupted (a
 * conforming code segment); a vector's handler on its own stack (IST1).
 * install_traps() puts the gates back.
 */
void run_at_cpl3(void (*fn)(void));
void trap_at_cpl3(int vector, void (*handler)(void));
void trap_on_stack(int vector, uint64_t stack_top);
/* At CPL 3: a 4-byte read at RSP + 1 (#AC with AC set), then UD2 back to CPL 0. */
void user_misaligned_read(void);
/* #DB traps counted, not expected, between these. */
void db_count_start(void);
unsigned db_count_stop(void);

/* RAM: the boot parameters' e820 map and command line. */
/* Calls fn on each RAM range of the boot parameters' e820 map, from `above` on; returns their bytes. */
uint64_t each_ram_range(const uint8_t *bp, uint64_t above, void (*fn)(uint64_t start, uint64_t end, void *arg),
			void *arg);
uint64_t ram_top(const uint8_t *bp);
/* Maps all of RAM and 2 MiB beyond it (the boot protocol maps 4 GiB); returns where its tables end. */
uint64_t map_ram(uint64_t top);
/* The value of key (e.g. "mode=") on the command line, or "" when absent. */
void cmdline_value(const uint8_t *bp, const char *key, char *value, size_t size);

/* Runs a few bytes of code placed in a buffer with RAX/RCX at a harmless page. */
void run_bytes(const uint8_t *bytes, unsigned length);
/* VMX and SVM instructions, each #UD to a guest. */
struct virt_insn {
	const char *name;
	uint8_t bytes[8];
	unsigned length;
};
extern const struct virt_insn virt_insns[];
extern const unsigned virt_insn_count;

/* Loads: CPU-bound with no exit at all; an idle kernel woken by its tick. */
void __attribute__((noreturn)) spin(void);
void __attribute__((noreturn)) idle(void);

/*
 * The hostile modes (mode=triple-fault, cr8-spin, db-storm, ac-storm,
 * virt-insn, insn-flood, mmio-...): returns only if mode is none of them
 * or survived it.
 */
void hostile(const char *mode, uint64_t top);
/* mmio.c: each emulated instruction form above RAM (mapped by map_ram), as SELFTEST lines. */
void check_mmio(uint64_t top);
/* mmio.c's: mmio-unsupported, mmio-tables, mmio-cross-page, mmio-prefixes. */
void hostile_mmio(const char *mode, uint64_t top);

#endif
