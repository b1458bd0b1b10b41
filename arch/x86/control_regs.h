/*
 * Control register bits (Intel SDM Vol. 3A, 2.5) and the checks a CPU
 * makes on MOV to CR0, CR4 and CR8, for the writes the hypervisor
 * performs on a guest's behalf. Pure: unit tested on the host.
 */
#ifndef ARCH_X86_CONTROL_REGS_H
#define ARCH_X86_CONTROL_REGS_H

#include <stdint.h>

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)

#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_PGE (1ull << 7)
#define CR4_LA57 (1ull << 12)
#define CR4_VMXE (1ull << 13)
#define CR4_SMXE (1ull << 14)
#define CR4_PCIDE (1ull << 17)
#define CR4_OSXSAVE (1ull << 18)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define CR4_PKE (1ull << 22)

/* What a guest CPU's CR0 is at the Linux 64-bit entry: PG AM WP NE ET MP PE. */
#define CR0_BOOT (CR0_PG | CR0_AM | CR0_WP | CR0_NE | CR0_ET | CR0_MP | CR0_PE)

/* The guest state a MOV to a control register is checked against. */
struct cr_state {
	uint64_t cr0, cr3, cr4, efer;
	int long_code;     /* CS.L: 64-bit code is running */
	uint64_t cr4_allowed; /* CR4 bits the guest may set at all */
};

/* 0 if the CPU would take MOV CR0 <- value; -1 if it raises #GP (SDM Vol. 2B, MOV CR). */
int cr0_write_ok(const struct cr_state *s, uint64_t value);
/* The same for CR4. */
int cr4_write_ok(const struct cr_state *s, uint64_t value);
/* CR8 holds the task priority in bits 3:0; the rest is reserved (SDM Vol. 3A, 2.5). */
int cr8_write_ok(uint64_t value);

/* Whether a change from old to new bits of CR0 or CR4 changes how addresses translate. */
int cr_changes_paging(uint64_t old_cr0, uint64_t new_cr0, uint64_t old_cr4, uint64_t new_cr4);

#endif
