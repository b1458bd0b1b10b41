/*
 * The test guests' runtime (guest.h): output, hypercalls, traps, RAM,
 * CPL 3, and the hostile modes the self-test and the attack guest share.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "guest.h"
#include "hypercall.h"
#include "lib/fmt.h"
#include "lib/str.h"

/* Linux boot protocol offsets in boot_params (Documentation/arch/x86/zero-page.rst). */
#define BP_E820_ENTRIES 0x1e8
#define BP_CMD_LINE_PTR 0x228
#define BP_E820_TABLE 0x2d0
#define E820_RAM 1

struct __attribute__((packed)) e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

void trap_dispatch(struct trap_frame *f);
extern const uint64_t trap_stubs[TRAP_VECTORS];
extern char image_end[];
void run_user(void (*fn)(void), void *stack);
void user_return(void);

static uint64_t idt[TRAP_VECTORS * 2] __attribute__((aligned(16)));
static volatile int expected_vector = -1, caught_vector = -1;
static volatile unsigned expected_length;
volatile int wakeups;
static volatile int counting_db; /* #DB traps are counted, not expected */
static volatile unsigned db_traps;
static volatile unsigned ac_retries, ac_faults; /* #AC: faults still to take again, taken */
static void leave_user(struct trap_frame *f);
int is_amd;
unsigned report_passed, report_failed;

/* ---- instructions ----------------------------------------------------- */

int64_t hypercall3(uint64_t nr, uint64_t a, uint64_t b, uint64_t c)
{
	int64_t ret;

	if (is_amd)
		__asm__ volatile("vmmcall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "memory");
	else
		__asm__ volatile("vmcall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "memory");
	return ret;
}

int64_t hypercall(uint64_t nr, uint64_t a, uint64_t b)
{
	return hypercall3(nr, a, b, 0);
}

void wake_after(uint64_t ticks)
{
	hypercall(HC_WAKE_AFTER, ticks, WAKE_VECTOR);
}

void hypercall_exit(uint64_t status)
{
	hypercall(HC_EXIT, status, 0);
}

/* ---- output ----------------------------------------------------------- */

static void put(const char *s)
{
	for (; *s; s++) {
		while (!(inb(UART + UART_LSR) & LSR_THRE))
			;
		outb(UART, (uint8_t)*s);
	}
}

void print(const char *f, ...)
{
	char line[160];
	va_list ap;

	va_start(ap, f);
	fmt_v(line, sizeof(line), f, ap);
	va_end(ap);
	put(line);
}

void report(const char *name, int ok, const char *f, ...)
{
	char detail[120];
	va_list ap;

	va_start(ap, f);
	fmt_v(detail, sizeof(detail), f, ap);
	va_end(ap);
	print("SELFTEST %s %s %s\n", name, ok ? "PASS" : "FAIL", detail);
	if (ok)
		report_passed++;
	else
		report_failed++;
}

/* ---- traps ------------------------------------------------------------ */

/* A 64-bit interrupt gate to cs:handler, on the TSS's stack ist (0: the current one) (SDM Vol. 3A, 6.14.1). */
static void gate(int v, uint64_t handler, uint16_t cs, unsigned ist)
{
	idt[v * 2] = (handler & 0xffff) | ((uint64_t)cs << 16) | ((uint64_t)ist << 32) | (0x8eull << 40) |
		     ((handler >> 16 & 0xffff) << 48);
	idt[v * 2 + 1] = handler >> 32;
}

static void set_gate(int v, uint64_t handler)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	gate(v, handler, cs, 0);
}

void load_idt(uint16_t limit)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = { limit, (uint64_t)(uintptr_t)idt };

	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void install_traps(void)
{
	int v;

	for (v = 0; v < TRAP_VECTORS; v++)
		set_gate(v, trap_stubs[v]);
	load_idt(IDT_LIMIT);
}

void trap_dispatch(struct trap_frame *f)
{
	if (f->vector == WAKE_VECTOR) {
		wakeups++;
		return;
	}
	if (f->vector > WAKE_VECTOR && guest_interrupt(f->vector))
		return;
	if (f->vector == VEC_DB && counting_db) {
		db_traps++; /* a trap: RIP is past the instruction already */
		return;
	}
	if (f->vector == VEC_AC && ac_retries) {
		if (--ac_retries == 0)
			f->rip += 4; /* past user_misaligned_read's MOV; until then it faults again */
		ac_faults++;
		return;
	}
	if (f->vector == VEC_UD && (f->cs & 3) == 3) {
		leave_user(f);
		return;
	}
	if ((int)f->vector == expected_vector) {
		caught_vector = (int)f->vector;
		expected_vector = -1;
		f->rip += expected_length; /* step over the faulting instruction */
		return;
	}
	print("SELFTEST trap FAIL unexpected vector %llu error 0x%llx at rip 0x%llx\n",
	      (unsigned long long)f->vector, (unsigned long long)f->error_code,
	      (unsigned long long)f->rip);
	hypercall(HC_EXIT, 1, 0);
}

/* Arms the handler for one fault of an instruction of the given length. */
void expect_fault(int vector, unsigned length)
{
	caught_vector = -1;
	expected_length = length;
	expected_vector = vector;
}

int fault_taken(int vector)
{
	int ok = caught_vector == vector;

	expected_vector = -1;
	return ok;
}

int rdmsr_faults(uint32_t msr, uint64_t *value)
{
	uint32_t lo = 0, hi = 0;

	expect_fault(VEC_GP, 2);
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	*value = ((uint64_t)hi << 32) | lo;
	return fault_taken(VEC_GP);
}

int wrmsr_faults(uint32_t msr, uint64_t value)
{
	expect_fault(VEC_GP, 2);
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
	return fault_taken(VEC_GP);
}

uint64_t each_ram_range(const uint8_t *bp, uint64_t above, void (*fn)(uint64_t start, uint64_t end, void *arg),
			void *arg)
{
	const struct e820_entry *e = (const struct e820_entry *)(bp + BP_E820_TABLE);
	uint8_t n = bp[BP_E820_ENTRIES], i;
	uint64_t bytes = 0;

	for (i = 0; i < n && i < 128; i++) {
		uint64_t start = e[i].addr > above ? e[i].addr : above, end = e[i].addr + e[i].size;
		if (e[i].type != E820_RAM || end <= start)
			continue;
		fn(start, end, arg);
		bytes += end - start;
	}
	return bytes;
}

static void note_top(uint64_t start, uint64_t end, void *top)
{
	(void)start;
	if (end > *(uint64_t *)top)
		*(uint64_t *)top = end;
}

uint64_t ram_top(const uint8_t *bp)
{
	uint64_t top = 0;

	each_ram_range(bp, 0, note_top, &top);
	return top;
}


/*
 * The boot protocol identity-maps only the first 4 GiB. Maps all of RAM
 * and the 2 MiB beyond it that touch_beyond_ram() reads, with 2 MiB pages,
 * in tables right after our image; returns where the tables end.
 */
uint64_t map_ram(uint64_t top)
{
	uint64_t gibs = (top + 2 * MIB + GIB) / GIB, pdpts = (gibs + 511) / 512, i;
	uint64_t *pml4 = (uint64_t *)(((uintptr_t)image_end + PAGE - 1) & ~(PAGE - 1));
	uint64_t *pdpt = pml4 + 512, *pd = pdpt + pdpts * 512;

	for (i = 0; i < pdpts; i++)
		pml4[i] = (uint64_t)(uintptr_t)(pdpt + i * 512) | PTE_P | PTE_RW;
	for (i = 0; i < gibs; i++)
		pdpt[i] = (uint64_t)(uintptr_t)(pd + i * 512) | PTE_P | PTE_RW;
	for (i = 0; i < gibs * 512; i++)
		pd[i] = i << 21 | PTE_P | PTE_RW | PTE_PS;
	__asm__ volatile("mov %0, %%cr3" : : "r"(pml4) : "memory");
	return (uint64_t)(uintptr_t)(pd + gibs * 512);
}

/* The RAM check_ram() checks: the e820 map's RAM above our image and page tables. */
/* Each is #UD to a guest: the platform offers neither VMX nor SVM. */
const struct virt_insn virt_insns[] = {
	{ "vmrun", { 0x0f, 0x01, 0xd8 }, 3 },
	{ "vmload", { 0x0f, 0x01, 0xda }, 3 },
	{ "vmsave", { 0x0f, 0x01, 0xdb }, 3 },
	{ "stgi", { 0x0f, 0x01, 0xdc }, 3 },
	{ "clgi", { 0x0f, 0x01, 0xdd }, 3 },
	{ "invlpga", { 0x0f, 0x01, 0xdf }, 3 },
	{ "vmxon", { 0xf3, 0x0f, 0xc7, 0x30 }, 4 },    /* vmxon [rax] */
	{ "vmptrld", { 0x0f, 0xc7, 0x30 }, 3 },        /* vmptrld [rax] */
	{ "vmclear", { 0x66, 0x0f, 0xc7, 0x30 }, 4 },  /* vmclear [rax] */
	{ "vmread", { 0x0f, 0x78, 0xd8 }, 3 },         /* vmread rax, rbx */
	{ "vmlaunch", { 0x0f, 0x01, 0xc2 }, 3 },
	{ "vmxoff", { 0x0f, 0x01, 0xc4 }, 3 },
	{ "invept", { 0x66, 0x0f, 0x38, 0x80, 0x01 }, 5 }, /* invept rax, [rcx] */
};

const unsigned virt_insn_count = sizeof(virt_insns) / sizeof(virt_insns[0]);

/* Runs a few bytes of code placed in a buffer with RAX/RCX at a harmless page. */
void run_bytes(const uint8_t *bytes, unsigned length)
{
	static uint8_t code[16] __attribute__((aligned(16)));
	static uint64_t scratch[512] __attribute__((aligned(4096)));
	unsigned i;

	for (i = 0; i < length; i++)
		code[i] = bytes[i];
	code[length] = 0xc3; /* ret */
	__asm__ volatile("call *%0" : : "r"(code), "a"(scratch), "c"(scratch) : "memory", "rbx", "rdx");
}

int xsetbv_faults(uint64_t xcr0)
{
	expect_fault(VEC_GP, 3);
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)xcr0), "d"((uint32_t)(xcr0 >> 32)));
	return fault_taken(VEC_GP);
}

int cr0_write_faults(uint64_t value)
{
	expect_fault(VEC_GP, 3); /* mov cr0, rax: 0F 22 C0 */
	__asm__ volatile("mov %0, %%cr0" : : "a"(value));
	return fault_taken(VEC_GP);
}

int cr4_write_faults(uint64_t value)
{
	expect_fault(VEC_GP, 3); /* mov cr4, rax: 0F 22 E0 */
	__asm__ volatile("mov %0, %%cr4" : : "a"(value));
	return fault_taken(VEC_GP);
}

/*
 * With RFLAGS.TF every instruction ends in a #DB trap, those the
 * hypervisor emulates (OUT, RDMSR, CPUID) as much as the others: the same
 * number of traps with them as with NOPs in their place.
 */
void db_count_start(void)
{
	db_traps = 0;
	counting_db = 1;
}

unsigned db_count_stop(void)
{
	counting_db = 0;
	return db_traps;
}

/* ---- CPL 3 ----------------------------------------------------------- */

#define USER_DS 0x23 /* GDT entry 4, RPL 3 (entry.asm has the same) */
#define USER_CS 0x2b /* entry 5 */
#define TSS_SEL 0x30 /* entries 6 and 7 */
#define CONFORMING_CS 0x40 /* entry 8: a handler there runs at the CPL it interrupted (SDM Vol. 3A, 6.12.1.1) */
#define PTE_U 4ull

static uint64_t user_gdt[9] __attribute__((aligned(16)));
static uint32_t tss[26] __attribute__((aligned(16))); /* 64-bit TSS: RSP0 at byte 4 */
static uint8_t ring0_stack[4096] __attribute__((aligned(16)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));
static uint16_t kernel_cs, kernel_ss;

/* Back to CPL 0 at user_return (entry.asm), on a stack of ours; it restores the caller's. */
static void leave_user(struct trap_frame *f)
{
	f->rip = (uint64_t)(uintptr_t)user_return;
	f->cs = kernel_cs;
	f->ss = kernel_ss;
	f->rsp = (uint64_t)(uintptr_t)(ring0_stack + sizeof(ring0_stack) / 2);
	f->rflags &= ~(1ull << 18);
}

/* A GDT with CPL 3 segments and a TSS whose RSP0 takes traps from CPL 3 (SDM Vol. 3A, 8.7). */
static void load_user_segments(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} boot, ours = { sizeof(user_gdt) - 1, (uint64_t)(uintptr_t)user_gdt };
	uint64_t base = (uint64_t)(uintptr_t)tss, rsp0 = (uint64_t)(uintptr_t)(ring0_stack + sizeof(ring0_stack));
	unsigned i;

	__asm__ volatile("sgdt %0; mov %%cs, %1; mov %%ss, %2" : "=m"(boot), "=r"(kernel_cs), "=r"(kernel_ss));
	for (i = 0; i < 4; i++)
		user_gdt[i] = ((const uint64_t *)(uintptr_t)boot.base)[i];
	user_gdt[4] = 0x00cff2000000ffffull; /* data, DPL 3 */
	user_gdt[5] = 0x00affa000000ffffull; /* 64-bit code, DPL 3 */
	user_gdt[6] = (sizeof(tss) - 1) | (base & 0xffffff) << 16 | 0x89ull << 40 | (base >> 24 & 0xff) << 56;
	user_gdt[7] = base >> 32;
	user_gdt[8] = 0x00af9e000000ffffull; /* 64-bit code, DPL 0, conforming */
	tss[1] = (uint32_t)rsp0;
	tss[2] = (uint32_t)(rsp0 >> 32);
	__asm__ volatile("lgdt %0; ltr %w1" : : "m"(ours), "r"(TSS_SEL) : "memory");
}

/* CPL 3 may use the first 2 MiB, where this image is: the U bit at each level (SDM Vol. 3A, 4.6). */
static void allow_user_low_memory(void)
{
	uint64_t cr3, *pml4, *pdpt, *pd;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	pml4 = (uint64_t *)(uintptr_t)(cr3 & ~0xfffull);
	pml4[0] |= PTE_U;
	pdpt = (uint64_t *)(uintptr_t)(pml4[0] & 0x000ffffffffff000ull);
	pdpt[0] |= PTE_U;
	pd = (uint64_t *)(uintptr_t)(pdpt[0] & 0x000ffffffffff000ull);
	pd[0] |= PTE_U;
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

void run_at_cpl3(void (*fn)(void))
{
	load_user_segments();
	allow_user_low_memory();
	run_user(fn, user_stack + sizeof(user_stack));
}

void trap_at_cpl3(int vector, void (*handler)(void))
{
	load_user_segments();
	gate(vector, (uint64_t)(uintptr_t)handler, CONFORMING_CS, 0);
}

void trap_on_stack(int vector, uint64_t stack_top)
{
	uint16_t cs;

	load_user_segments();
	tss[9] = (uint32_t)stack_top; /* IST1, at byte 36 of the 64-bit TSS (SDM Vol. 3A, 8.7) */
	tss[10] = (uint32_t)(stack_top >> 32);
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	gate(vector, (uint64_t)(uintptr_t)trap_stubs[vector], cs, 1);
}

/* ---- hostile guests --------------------------------------------------- */

#define STORM_TRAPS 50000

/* Every instruction a #DB through our own IDT, STORM_TRAPS times. */
static void debug_trap_storm(void)
{
	uint64_t n = STORM_TRAPS / 2;

	db_traps = 0;
	counting_db = 1;
	__asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq\n\t"
			 "1: dec %0; jnz 1b\n\t"
			 "pushfq; andq $~0x100, (%%rsp); popfq"
			 : "+r"(n) : : "memory", "cc");
	counting_db = 0;
	print("SELFTEST hostile db-storm traps=%u\n", db_traps);
}

/* A misaligned read at CPL 3, faulting (#AC) STORM_TRAPS times before our handler lets it pass. */
static void alignment_check_storm(void)
{
	ac_faults = 0;
	ac_retries = STORM_TRAPS;
	run_at_cpl3(user_misaligned_read);
	print("SELFTEST hostile ac-storm faults=%u\n", ac_faults);
}

#define INSN_FLOOD 5000 /* refused instructions in a row: a flood of guest-caused log lines */

/* Where virt_insns has the backend's own VM instruction: VMRUN on AMD, VMXON on Intel. */
static unsigned own_vm_insn(void)
{
	return is_amd ? 0 : 6;
}

static void forbidden_insn(void)
{
	run_bytes(virt_insns[own_vm_insn()].bytes, virt_insns[own_vm_insn()].length);
}

/* Each one is #UD and logged by the hypervisor; its log must stay bounded. */
static void insn_flood(void)
{
	unsigned i, ud = 0;

	for (i = 0; i < INSN_FLOOD; i++) {
		expect_fault(VEC_UD, virt_insns[own_vm_insn()].length);
		forbidden_insn();
		ud += (unsigned)fault_taken(VEC_UD);
	}
	print("SELFTEST hostile insn-flood done: %u of %u raised #UD\n", ud, INSN_FLOOD);
	hypercall(HC_EXIT, ud == INSN_FLOOD ? 0 : 1, 0);
}

void hostile(const char *mode, uint64_t top)
{
	print("SELFTEST hostile %s\n", mode);
	if (str_eq(mode, "triple-fault")) {
		load_idt(0); /* no handler for anything: #UD -> #DF -> shutdown */
		__asm__ volatile("ud2");
	} else if (str_eq(mode, "cr8-spin")) {
		/* TPR 15 masks every interrupt vector below 0xf0: the host's CPU must not care. */
		__asm__ volatile("mov %0, %%cr8" : : "r"(15ull));
		print("SELFTEST hostile cr8-spin tpr=15\n");
		spin();
	} else if (str_eq(mode, "db-storm")) {
		debug_trap_storm();
		spin();
	} else if (str_eq(mode, "ac-storm")) {
		alignment_check_storm();
		spin();
	} else if (str_eq(mode, "virt-insn")) {
		load_idt(0); /* a guest that does not expect the #UD it gets */
		forbidden_insn();
	} else if (str_eq(mode, "insn-flood")) {
		insn_flood();
	} else {
		hostile_mmio(mode, top);
	}
	print("SELFTEST hostile %s survived\n", mode);
}

/* CPU-bound, with no exit at all: what the scheduler must preempt. */
void spin(void)
{
	for (;;)
		__asm__ volatile("" ::: "memory");
}

#define IDLE_TICK 8000000ull /* TSC ticks between an idle guest's wake-ups: 4 ms at 2 GHz */

/* An idle kernel: halts, woken by its timer tick, and halts again. */
void idle(void)
{
	for (;;) {
		hypercall(HC_WAKE_AFTER, IDLE_TICK, WAKE_VECTOR);
		__asm__ volatile("sti; hlt; cli");
	}
}

/* The value of key (e.g. "mode=") on the command line, or "" when absent. */
void cmdline_value(const uint8_t *bp, const char *key, char *value, size_t size)
{
	const char *start = (const char *)(uintptr_t)*(const uint32_t *)(bp + BP_CMD_LINE_PTR), *c;
	size_t n = 0, k = str_len(key);

	value[0] = 0;
	for (c = start; c && *c; c++) {
		if ((c == start || c[-1] == ' ') && str_eq_n(c, k, key)) {
			for (c += k; *c && *c != ' ' && n + 1 < size; c++)
				value[n++] = *c;
			value[n] = 0;
			return;
		}
	}
}
