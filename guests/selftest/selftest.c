/*
 * Self-test guest: checks one piece of the virtual platform at a time and
 * prints one machine-readable line each on its UART:
 *
 *     SELFTEST <name> PASS|FAIL <detail>
 *
 * The kernel command line picks a mode: the checks (default), a hostile
 * guest (mode=triple-fault, mode=virt-insn, mode=cr8-spin, mode=db-storm,
 * mode=ac-storm, mode=insn-flood, and mmio.c's mode=mmio-unsupported,
 * mode=mmio-tables, mode=mmio-cross-page, mode=mmio-prefixes), a load
 * for the scheduler (mode=spin, mode=idle, mode=work, mode=uart-flood),
 * the guest's clocks every half second (clock.c's mode=clock),
 * the isolation check (isolation.c's mode=mark, mode=scan) or the
 * micro-benchmarks (mode=bench).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "hypercall.h"
#include "lib/fmt.h"
#include "lib/str.h"
#include "selftest.h"

#define UART 0x3f8
#define UART_LSR 5
#define UART_SCR 7
#define LSR_THRE 0x20
#define WAKE_VECTOR 32
#define TRAP_VECTORS 0x60 /* exceptions, the wake-up vector and the APIC checks' */
#define VEC_DB 1
#define VEC_UD 6
#define VEC_GP 13
#define VEC_AC 17
#define MSR_TSC 0x10
#define MSR_PAT 0x277
#define PAT_RESET 0x0007040600070406ull
#define MSR_EFER 0xc0000080
#define MSR_VM_HSAVE_PA 0xc0010117
#define EFER_SVME (1ull << 12)

/* Linux boot protocol offsets in boot_params (Documentation/arch/x86/zero-page.rst). */
#define BP_E820_ENTRIES 0x1e8
#define BP_CMD_LINE_PTR 0x228
#define BP_E820_TABLE 0x2d0
#define E820_RAM 1

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code, rip, cs, rflags, rsp, ss;
};

struct __attribute__((packed)) e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

void selftest_main(const uint8_t *boot_params);
void selftest_ap_main(uint64_t index);
void trap_dispatch(struct trap_frame *f);
void ap_entry(void);
extern const uint64_t trap_stubs[TRAP_VECTORS];
extern char image_end[];
extern const uint8_t fpu_at_entry[16 * 16 + 8];
void fpu_dirty(void);
void run_user(void (*fn)(void), void *stack);
void user_return(void);
void user_misaligned_read(void);

static uint64_t idt[TRAP_VECTORS * 2] __attribute__((aligned(16)));
static volatile int expected_vector = -1, caught_vector = -1;
static volatile unsigned expected_length;
static volatile int wakeups;
static volatile int counting_db; /* #DB traps are counted, not expected */
static volatile unsigned db_traps;
static volatile unsigned ac_retries, ac_faults; /* #AC: faults still to take again, taken */
static void leave_user(struct trap_frame *f);
static int is_amd;
static unsigned passed, failed;

/* ---- instructions ----------------------------------------------------- */

static int64_t hypercall3(uint64_t nr, uint64_t a, uint64_t b, uint64_t c)
{
	int64_t ret;

	if (is_amd)
		__asm__ volatile("vmmcall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "memory");
	else
		__asm__ volatile("vmcall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "memory");
	return ret;
}

static int64_t hypercall(uint64_t nr, uint64_t a, uint64_t b)
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
		passed++;
	else
		failed++;
}

/* ---- traps ------------------------------------------------------------ */

static void set_gate(int v, uint64_t handler)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	idt[v * 2] = (handler & 0xffff) | ((uint64_t)cs << 16) | (0x8eull << 40) |
		     ((handler >> 16 & 0xffff) << 48);
	idt[v * 2 + 1] = handler >> 32;
}

static void load_idt(uint16_t limit)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = { limit, (uint64_t)(uintptr_t)idt };

	__asm__ volatile("lidt %0" : : "m"(idtr));
}

static void install_traps(void)
{
	int v;

	for (v = 0; v < TRAP_VECTORS; v++)
		set_gate(v, trap_stubs[v]);
	load_idt(sizeof(idt) - 1);
}

void trap_dispatch(struct trap_frame *f)
{
	if (f->vector == WAKE_VECTOR) {
		wakeups++;
		return;
	}
	if (f->vector == ECHO_VECTOR) {
		echo_interrupt();
		return;
	}
	if (f->vector == CLOCK_VECTOR) {
		clock_interrupt();
		return;
	}
	if (f->vector >= APIC_VECTOR_FIRST) {
		apic_interrupt(f->vector);
		return;
	}
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

/* ---- checks ----------------------------------------------------------- */

static void check_cpuid(void)
{
	uint32_t r[4], ext[4], sig[4];
	char name[13];

	cpuid(1, r);
	cpuid(0x80000001, ext);
	cpuid(0x40000000, sig);
	*(uint32_t *)&name[0] = sig[1];
	*(uint32_t *)&name[4] = sig[2];
	*(uint32_t *)&name[8] = sig[3];
	name[12] = 0;
	report("cpuid_policy",
	       (r[2] >> 31 & 1) && !(r[2] >> 5 & 1) && !(ext[2] >> 2 & 1) && sig[0] >= 0x40000000 &&
		       str_eq(name, HV_CPUID_SIGNATURE),
	       "hypervisor=%u vmx=%u svm=%u max=0x%x signature=%s", r[2] >> 31 & 1, r[2] >> 5 & 1,
	       ext[2] >> 2 & 1, sig[0], name);
}

static int rdmsr_faults(uint32_t msr, uint64_t *value)
{
	uint32_t lo = 0, hi = 0;

	expect_fault(VEC_GP, 2);
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	*value = ((uint64_t)hi << 32) | lo;
	return fault_taken(VEC_GP);
}

static int wrmsr_faults(uint32_t msr, uint64_t value)
{
	expect_fault(VEC_GP, 2);
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
	return fault_taken(VEC_GP);
}

static void check_msr(void)
{
	uint64_t tsc = 0, efer = 0, junk;
	int tsc_gp = rdmsr_faults(MSR_TSC, &tsc);
	int efer_gp = rdmsr_faults(MSR_EFER, &efer);
	int efer_write_gp = wrmsr_faults(MSR_EFER, efer);
	int hsave_gp = wrmsr_faults(MSR_VM_HSAVE_PA, 0x1000);
	int unknown_gp = rdmsr_faults(0x12345678, &junk);

	report("msr_policy", !tsc_gp && tsc && !efer_gp && !(efer & EFER_SVME) && !efer_write_gp &&
				     hsave_gp && unknown_gp,
	       "tsc_read=%s tsc=0x%llx efer_read=%s efer=0x%llx efer_write=%s vm_hsave_write=%s "
	       "unknown_read=%s",
	       tsc_gp ? "#GP" : "ok", (unsigned long long)tsc, efer_gp ? "#GP" : "ok",
	       (unsigned long long)efer, efer_write_gp ? "#GP" : "ok",
	       hsave_gp ? "#GP" : "ok", unknown_gp ? "#GP" : "ok");
}

static void check_uart(void)
{
	uint8_t lsr = inb(UART + UART_LSR), scr;

	outb(UART + UART_SCR, 0xa5);
	scr = inb(UART + UART_SCR);
	report("uart_io", (lsr & LSR_THRE) && scr == 0xa5, "lsr=0x%02x scratch=0x%02x", lsr, scr);
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

static uint64_t ram_top(const uint8_t *bp)
{
	uint64_t top = 0;

	each_ram_range(bp, 0, note_top, &top);
	return top;
}

static uint64_t pattern(uint64_t addr)
{
	return addr * 0x9e3779b97f4a7c15ull ^ 0xa5a5a5a5a5a5a5a5ull;
}

#define PAGE 4096ull
#define GIB (1ull << 30)
#define PTE_P 1ull
#define PTE_RW 2ull
#define PTE_PS 0x80ull /* a 2 MiB page in a page directory (Intel SDM Vol. 3A, 4.5) */

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
#define RAM_RANGES_MAX 8
static struct ram_range {
	uint64_t start, end;
} ram_ranges[RAM_RANGES_MAX];
static unsigned ram_range_count;

static void keep_range(uint64_t start, uint64_t end, void *bytes)
{
	if (end <= start + PAGE || ram_range_count == RAM_RANGES_MAX)
		return;
	ram_ranges[ram_range_count++] = (struct ram_range){ start, end };
	*(uint64_t *)bytes += end - start;
}

static uint64_t collect_ram(const uint8_t *bp, uint64_t above)
{
	uint64_t bytes = 0;

	each_ram_range(bp, above, keep_range, &bytes);
	return bytes;
}

/*
 * The k-th word check_ram() samples: one in each 4 KiB page, at an offset
 * that moves from page to page so that every offset is tried, then each
 * range's last word; 0 past the last. Sampling keeps a partition of many
 * GiB quick to check.
 */
static uint64_t probe_at(uint64_t k)
{
	unsigned i;

	for (i = 0; i < ram_range_count; i++) {
		const struct ram_range *r = &ram_ranges[i];
		uint64_t pages = (r->end - r->start) / PAGE, page = r->start + k * PAGE;
		if (k < pages)
			return page + k % (PAGE / 8) * 8;
		if (k == pages)
			return r->end - 8;
		k -= pages + 1;
	}
	return 0;
}

/*
 * All of RAM above our image and page tables: it must read as zeroes
 * (memory is cleared before a partition gets it), then hold a pattern
 * written in full before it is read back, so that aliasing shows.
 */
static void check_ram(const uint8_t *bp, uint64_t top)
{
	uint64_t start = (map_ram(top) + MIB - 1) & ~(MIB - 1);
	uint64_t bytes = collect_ram(bp, start), n, a, bad = 0, first = 0, dirty = 0;

	for (n = 0; probe_at(n); n++)
		dirty += *(volatile uint64_t *)(uintptr_t)probe_at(n) != 0;
	for (a = 0; a < n; a++)
		*(volatile uint64_t *)(uintptr_t)probe_at(a) = pattern(probe_at(a));
	for (a = 0; a < n; a++)
		if (*(volatile uint64_t *)(uintptr_t)probe_at(a) != pattern(probe_at(a)) && !bad++)
			first = probe_at(a);
	report("ram_pattern", n && !bad && !dirty,
	       "0x%llx-0x%llx (%llu MiB in %u ranges, %llu words) nonzero_at_start=%llu bad_words=%llu first_bad=0x%llx",
	       (unsigned long long)start, (unsigned long long)top, (unsigned long long)(bytes / MIB), ram_range_count,
	       (unsigned long long)n, (unsigned long long)dirty, (unsigned long long)bad,
	       (unsigned long long)first);
}

static void check_hypercall(void)
{
	int64_t version = hypercall(HC_VERSION, 0, 0);
	int64_t echo = hypercall(HC_ECHO, 0x1234567890ull, 0);
	int64_t unknown = hypercall(999, 0, 0);

	int64_t bad_vector = hypercall(HC_WAKE_AFTER, 1000, 3);
	int64_t too_long = hypercall(HC_WAKE_AFTER, ~0ull, 40);

	report("hypercall", version == HC_ABI_VERSION && (uint64_t)echo == (0x1234567890ull ^ HC_ECHO_XOR) &&
				    unknown == HC_E_UNKNOWN && bad_vector == HC_E_INVALID &&
				    too_long == HC_E_INVALID,
	       "version=%lld echo=0x%llx unknown=%lld wake_bad_vector=%lld wake_too_long=%lld",
	       (long long)version, (unsigned long long)echo, (long long)unknown, (long long)bad_vector,
	       (long long)too_long);
}

/* Each is #UD to a guest: the platform offers neither VMX nor SVM. */
static const struct {
	const char *name;
	uint8_t bytes[8];
	unsigned length;
} virt_insns[] = {
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

/* Runs a few bytes of code placed in a buffer with RAX/RCX at a harmless page. */
static void run_bytes(const uint8_t *bytes, unsigned length)
{
	static uint8_t code[16] __attribute__((aligned(16)));
	static uint64_t scratch[512] __attribute__((aligned(4096)));
	unsigned i;

	for (i = 0; i < length; i++)
		code[i] = bytes[i];
	code[length] = 0xc3; /* ret */
	__asm__ volatile("call *%0" : : "r"(code), "a"(scratch), "c"(scratch) : "memory", "rbx", "rdx");
}

static void check_virt_insns(void)
{
	unsigned i, ud = 0;

	for (i = 0; i < sizeof(virt_insns) / sizeof(virt_insns[0]); i++) {
		expect_fault(VEC_UD, virt_insns[i].length);
		run_bytes(virt_insns[i].bytes, virt_insns[i].length);
		if (fault_taken(VEC_UD))
			ud++;
		else
			print("SELFTEST virt_insn_ud note %s did not raise #UD\n", virt_insns[i].name);
	}
	report("virt_insn_ud", ud == i, "%u of %u raised #UD", ud, i);
}

static int xsetbv_faults(uint64_t xcr0)
{
	expect_fault(VEC_GP, 3);
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)xcr0), "d"((uint32_t)(xcr0 >> 32)));
	return fault_taken(VEC_GP);
}

/* XSETBV is checked by the hypervisor: a valid XCR0 is taken, an invalid one is #GP. */
static void check_xsetbv(void)
{
	uint32_t r[4];
	uint64_t cr4, xcr0_lo, xcr0_hi;
	int good_gp, no_x87_gp, avx_alone_gp;

	cpuid(1, r);
	if (!(r[2] >> 26 & 1)) {
		report("xsetbv", 1, "XSAVE not offered by this CPU: nothing to check");
		return;
	}
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1ull << 18))); /* CR4.OSXSAVE */
	good_gp = xsetbv_faults(3);      /* x87 and SSE */
	no_x87_gp = xsetbv_faults(2);    /* x87 must always be set */
	avx_alone_gp = xsetbv_faults(5); /* AVX without SSE */
	__asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
	cpuid(1, r);
	report("xsetbv", !good_gp && no_x87_gp && avx_alone_gp && (xcr0_lo | xcr0_hi << 32) == 3 &&
				 (r[2] >> 27 & 1),
	       "x87+sse=%s no_x87=%s avx_without_sse=%s xcr0=0x%llx osxsave_in_cpuid=%u",
	       good_gp ? "#GP" : "ok", no_x87_gp ? "#GP" : "ok", avx_alone_gp ? "#GP" : "ok",
	       (unsigned long long)(xcr0_lo | xcr0_hi << 32), r[2] >> 27 & 1);
}

/* Registers the hypervisor does not switch must not carry a previous guest's values. */
static void check_fpu_initial(void)
{
	uint32_t mxcsr = *(const uint32_t *)(fpu_at_entry + 256);
	uint16_t fcw = *(const uint16_t *)(fpu_at_entry + 260);
	unsigned i, dirty = 0;

	for (i = 0; i < 256; i++)
		dirty += fpu_at_entry[i] != 0;
	report("fpu_initial", !dirty && mxcsr == 0x1f80 && fcw == 0x37f,
	       "nonzero_xmm_bytes=%u mxcsr=0x%x fcw=0x%x", dirty, mxcsr, fcw);
}

static void check_hlt_wakeup(void)
{
	const uint64_t ticks = 2000000;
	uint64_t t0 = rdtsc(), elapsed;
	int64_t r = hypercall(HC_WAKE_AFTER, ticks, WAKE_VECTOR);

	wakeups = 0;
	__asm__ volatile("sti; hlt; cli");
	elapsed = rdtsc() - t0;
	report("hlt_wakeup", r == 0 && wakeups == 1 && elapsed >= ticks,
	       "request=%lld wakeups=%d elapsed_ticks=%llu asked=%llu", (long long)r, wakeups,
	       (unsigned long long)elapsed, (unsigned long long)ticks);
}

/* ---- CPU state the hypervisor owns ------------------------------------ */

/* Each vCPU starts with the architectural CR0 of the boot protocol and the reset PAT. */
static void check_boot_state(void)
{
	uint64_t cr0, pat = 0;
	int pat_gp;

	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	pat_gp = rdmsr_faults(MSR_PAT, &pat);
	report("boot_state", cr0 == 0x80050033 && !pat_gp && pat == PAT_RESET, "cr0=0x%llx pat=0x%llx%s",
	       (unsigned long long)cr0, (unsigned long long)pat, pat_gp ? " (#GP)" : "");
}

/*
 * The TSC is the partition's own: it starts near 0 when the partition
 * starts, RDMSR 0x10 reads the same clock as RDTSC, and the hypervisor
 * tells its rate at CPUID 0x40000010 EAX (kHz).
 */
/*
 * Near 0: within the time the hypervisor may take between starting it and
 * running it, longer under Bochs when it builds the partitions that start
 * with it on the same CPU first; far below the firmware's boot time that a
 * TSC without the partition's offset would show.
 */
#define TSC_START_SECONDS_MAX 3

static void check_tsc(uint64_t at_entry)
{
	uint32_t timing[4];
	uint64_t before, msr = 0, after;
	int msr_gp;

	cpuid(0x40000010, timing);
	before = rdtsc();
	msr_gp = rdmsr_faults(MSR_TSC, &msr);
	after = rdtsc();
	report("tsc", timing[0] && at_entry < (uint64_t)timing[0] * 1000 * TSC_START_SECONDS_MAX && !msr_gp &&
			      before <= msr && msr <= after,
	       "khz=%u at_entry=%llu msr=%s", timing[0], (unsigned long long)at_entry,
	       msr_gp ? "#GP" : before <= msr && msr <= after ? "between" : "outside");
}

/*
 * PAT is the vCPU's own: a valid value reads back, a reserved memory type
 * is #GP. The value stays, for the next partition on this CPU not to find.
 */
static void check_pat(void)
{
	const uint64_t mine = 0x0007040600070106ull; /* entry 1: write-combining */
	uint64_t back = 0;
	int write_gp = wrmsr_faults(MSR_PAT, mine), read_gp = rdmsr_faults(MSR_PAT, &back);
	int reserved_gp = wrmsr_faults(MSR_PAT, (mine & ~0xffull) | 2); /* type 2 is reserved */

	report("pat", !write_gp && !read_gp && back == mine && reserved_gp, "write=%s read=0x%llx reserved_type=%s",
	       write_gp ? "#GP" : "ok", (unsigned long long)back, reserved_gp ? "#GP" : "ok");
}

/* CR8 is the guest's own task priority: what it writes it reads back, across exits. */
static void check_cr8(void)
{
	uint64_t five = 0, fifteen = 0;
	uint32_t r[4];

	__asm__ volatile("mov %1, %%cr8; mov %%cr8, %0" : "=r"(five) : "r"(5ull));
	__asm__ volatile("mov %0, %%cr8" : : "r"(15ull));
	cpuid(0, r); /* an exit */
	__asm__ volatile("mov %%cr8, %0; mov %1, %%cr8" : "=&r"(fifteen) : "r"(0ull)); /* early clobber: two registers */
	report("cr8", five == 5 && fifteen == 15, "read=%llu after_exit=%llu", (unsigned long long)five,
	       (unsigned long long)fifteen);
}

static int cr0_write_faults(uint64_t value)
{
	expect_fault(VEC_GP, 3); /* mov cr0, rax: 0F 22 C0 */
	__asm__ volatile("mov %0, %%cr0" : : "a"(value));
	return fault_taken(VEC_GP);
}

static int cr4_write_faults(uint64_t value)
{
	expect_fault(VEC_GP, 3); /* mov cr4, rax: 0F 22 E0 */
	__asm__ volatile("mov %0, %%cr4" : : "a"(value));
	return fault_taken(VEC_GP);
}

/*
 * MOV to CR0 and CR4 are checked as the CPU checks them when the
 * hypervisor performs them, as on VT-x (AMD-V leaves them to the CPU,
 * and QEMU's emulation of it does not check these: that path runs
 * without this check).
 */
static void check_cr_writes(void)
{
	uint64_t cr0, cr4, cr0_after, cr4_after;
	int high_gp, nw_gp, vmxe_gp, reserved_gp;

	__asm__ volatile("mov %%cr0, %0; mov %%cr4, %1" : "=r"(cr0), "=r"(cr4));
	high_gp = cr0_write_faults(cr0 | (1ull << 32));
	nw_gp = cr0_write_faults((cr0 | (1ull << 29)) & ~(1ull << 30)); /* NW without CD */
	vmxe_gp = cr4_write_faults(cr4 | (1ull << 13));
	reserved_gp = cr4_write_faults(cr4 | (1ull << 31));
	__asm__ volatile("mov %%cr0, %0; mov %%cr4, %1" : "=r"(cr0_after), "=r"(cr4_after));
	report("cr_writes", high_gp && nw_gp && vmxe_gp && reserved_gp && cr0_after == cr0 && cr4_after == cr4,
	       "cr0_bit32=%s cr0_nw_without_cd=%s cr4_vmxe=%s cr4_bit31=%s cr0=0x%llx cr4=0x%llx",
	       high_gp ? "#GP" : "ok", nw_gp ? "#GP" : "ok", vmxe_gp ? "#GP" : "ok", reserved_gp ? "#GP" : "ok",
	       (unsigned long long)cr0_after, (unsigned long long)cr4_after);
}

#define PORT_NOBODY 0xe0 /* no device: reads all ones */

/* IN to EAX zero-extends into RAX; IN to AL or AX leaves the rest of RAX (SDM Vol. 1, 3.4.1.1). */
static void check_io_width(void)
{
	uint64_t r32 = ~0ull, r16 = 0x1111222233334444ull, r8 = 0x1111222233334444ull;

	__asm__ volatile("inl %%dx, %%eax" : "+a"(r32) : "d"(PORT_NOBODY));
	__asm__ volatile("inw %%dx, %%ax" : "+a"(r16) : "d"(PORT_NOBODY));
	__asm__ volatile("inb %%dx, %%al" : "+a"(r8) : "d"(PORT_NOBODY));
	report("io_width", r32 == 0xffffffffull && r16 == 0x111122223333ffffull && r8 == 0x11112222333344ffull,
	       "in32=0x%llx in16=0x%llx in8=0x%llx", (unsigned long long)r32, (unsigned long long)r16,
	       (unsigned long long)r8);
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

static unsigned single_step_traps(int emulated)
{
	uint32_t a = 0x5a, c = MSR_EFER, d = UART + UART_SCR;

	db_count_start();
	if (emulated)
		__asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq\n\t"
				 "nop; outb %%al, %%dx; nop; rdmsr; cpuid; nop\n\t"
				 "pushfq; andq $~0x100, (%%rsp); popfq"
				 : "+a"(a), "+c"(c), "+d"(d) : : "rbx", "memory", "cc");
	else
		__asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq\n\t"
				 "nop; nop; nop; nop; nop; nop\n\t"
				 "pushfq; andq $~0x100, (%%rsp); popfq" : : : "memory", "cc");
	return db_count_stop();
}

static void check_single_step(void)
{
	unsigned native = single_step_traps(0), emulated = single_step_traps(1);

	report("single_step", native >= 8 && emulated == native, "traps_native=%u traps_emulated=%u", native,
	       emulated);
}

/* Performance counters are not offered: RDPMC of any counter is #GP, as for an invalid index. */
static void check_rdpmc(void)
{
	uint32_t lo, hi;
	int gp;

	expect_fault(VEC_GP, 2);
	__asm__ volatile("rdpmc" : "=a"(lo), "=d"(hi) : "c"(0));
	gp = fault_taken(VEC_GP);
	report("rdpmc", gp, "rdpmc(0)=%s", gp ? "#GP" : "no fault");
}

/* ---- guest SMP -------------------------------------------------------- */

#define AP_WAIT_TICKS (1ull << 35) /* some seconds: the AP may share a CPU with us */

static uint8_t ap_stack[4096] __attribute__((aligned(16)));
static volatile uint64_t ap_index = ~0ull;
static volatile uint32_t ap_apic_id = ~0u;

/* vCPU 1 and up start here (entry.asm), with their index; they report, then sleep. */
void selftest_ap_main(uint64_t index)
{
	uint32_t r[4];

	load_idt(sizeof(idt) - 1);
	apic_ap_init();
	cpuid(1, r);
	ap_apic_id = r[1] >> 24;
	ap_index = index;
	for (;;)
		__asm__ volatile("sti; hlt");
}

static int64_t start_vcpu(uint64_t index)
{
	return hypercall3(HC_VCPU_START, index, (uint64_t)(uintptr_t)ap_entry,
			  (uint64_t)(uintptr_t)(ap_stack + sizeof(ap_stack)));
}

/* vCPU 1 starts when asked, once; vCPUs beyond the count (CPUID.1:EBX[23:16]) do not. */
static void check_smp(void)
{
	uint32_t r[4];
	unsigned count;
	int64_t beyond, started, again;
	uint64_t t0;

	cpuid(1, r);
	count = r[1] >> 16 & 0xff;
	beyond = start_vcpu(count);
	if (count < 2) {
		report("smp", beyond == HC_E_INVALID, "vcpus=%u start_beyond=%lld", count, (long long)beyond);
		return;
	}
	started = start_vcpu(1);
	for (t0 = rdtsc(); ap_index == ~0ull && rdtsc() - t0 < AP_WAIT_TICKS;)
		__asm__ volatile("pause");
	again = start_vcpu(1);
	report("smp", beyond == HC_E_INVALID && started == 0 && ap_index == 1 && ap_apic_id == 1 &&
			      again == HC_E_STATE,
	       "vcpus=%u started=%lld ap_index=%lld ap_apic_id=%u start_again=%lld start_beyond=%lld", count,
	       (long long)started, (long long)ap_index, ap_apic_id, (long long)again, (long long)beyond);
}

/*
 * Must be last, after check_ram() mapped it: a read or write above RAM is
 * emulated (check_mmio), but code cannot run there: the hypervisor stops
 * the guest.
 */
static void run_beyond_ram(uint64_t top)
{
	uint64_t gpa = top + 2 * MIB;

	print("SELFTEST beyond_ram EXPECT-STOP running code at gpa 0x%llx\n", (unsigned long long)gpa);
	((void (*)(void))(uintptr_t)gpa)();
	report("beyond_ram", 0, "the code at 0x%llx ran", (unsigned long long)gpa);
}

/* ---- CPL 3 ----------------------------------------------------------- */

#define USER_DS 0x23 /* GDT entry 4, RPL 3 (entry.asm has the same) */
#define USER_CS 0x2b /* entry 5 */
#define TSS_SEL 0x30 /* entries 6 and 7 */
#define PTE_U 4ull

static uint64_t user_gdt[8] __attribute__((aligned(16)));
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
	load_user_segments();
	allow_user_low_memory();
	ac_faults = 0;
	ac_retries = STORM_TRAPS;
	run_user(user_misaligned_read, user_stack + sizeof(user_stack));
	print("SELFTEST hostile ac-storm faults=%u\n", ac_faults);
}

static void __attribute__((noreturn)) spin(void);

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

static void hostile(const char *mode, uint64_t top)
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

/* ---- loads for the scheduler ------------------------------------------ */

#define IDLE_TICK 8000000ull      /* TSC ticks between an idle guest's wake-ups: 4 ms at 2 GHz */
#define WORK_REPORT (1ull << 29)  /* TSC ticks between work reports */

/* CPU-bound, with no exit at all: what the scheduler must preempt. */
static void __attribute__((noreturn)) spin(void)
{
	for (;;)
		__asm__ volatile("" ::: "memory");
}

/* An idle kernel: halts, woken by its timer tick, and halts again. */
static void __attribute__((noreturn)) idle(void)
{
	for (;;) {
		hypercall(HC_WAKE_AFTER, IDLE_TICK, WAKE_VECTOR);
		__asm__ volatile("sti; hlt; cli");
	}
}

/* A guest that prints as fast as its UART takes it, for ever: it must slow only itself. */
static void __attribute__((noreturn)) uart_flood(void)
{
	uint64_t n;

	for (n = 0;; n++)
		print("FLOOD %llu the quick brown fox jumps over the lazy dog, again and again\n",
		      (unsigned long long)n);
}

/*
 * A mark for tools/insnprof's marks=: the instructions its CPU executed so
 * far, recorded as each work report is made. XCHG of a register with
 * itself changes nothing and never exits.
 */
static void work_mark(void)
{
	__asm__ volatile("xchg %%dx, %%dx" ::: "memory");
}

/* Throughput: units of work done per WORK_REPORT ticks, printed as they come, numbered from 0 like their marks. */
static void __attribute__((noreturn)) work(void)
{
	uint64_t x = 88172645463325252ull, units = 0, reports = 0, t0 = rdtsc();
	int i;

	for (;;) {
		for (i = 0; i < 1000; i++) { /* xorshift: work the compiler cannot drop */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		__asm__ volatile("" : : "r"(x));
		units++;
		if (rdtsc() - t0 >= WORK_REPORT) {
			work_mark();
			print("BENCH work %llu report %llu\n", (unsigned long long)units,
			      (unsigned long long)reports++);
			units = 0;
			t0 = rdtsc();
		}
	}
}

/* ---- benchmarks ------------------------------------------------------- */

#define BENCH_ROUNDS 1000

static uint64_t bench_loop(int what)
{
	uint32_t r[4];
	uint64_t t0 = rdtsc();
	int i;

	for (i = 0; i < BENCH_ROUNDS; i++) {
		if (what == 1)
			cpuid(0, r);
		else if (what == 2)
			outb(UART + UART_SCR, (uint8_t)i);
		else if (what == 3)
			hypercall(HC_VERSION, 0, 0);
		else
			__asm__ volatile("" ::: "memory");
	}
	return rdtsc() - t0;
}

#define BENCH_REPEATS 5

static void print_per_round(const char *name, uint64_t ticks, uint64_t base)
{
	print("BENCH %s %lld\n", name, ((long long)ticks - (long long)base) / BENCH_ROUNDS);
}

/*
 * Marks around each measured loop for make bench's instruction profiler
 * (tools/insnprof): XCHG of a register with itself, which changes nothing
 * and never exits.
 */
static void profile_start(void)
{
	__asm__ volatile("xchg %%bx, %%bx" ::: "memory");
}

static void profile_stop(void)
{
	__asm__ volatile("xchg %%cx, %%cx" ::: "memory");
}

/* Each figure is measured BENCH_REPEATS times; the reader takes the median. */
static void bench(void)
{
	static const char *const names[] = { "cpuid", "port_io", "hypercall" };
	static const char *const apic_names[] = { "xapic_eoi", "x2apic_eoi", "apic_timer" };
	uint64_t base = bench_loop(0), ticks;
	int what, r;

	print("BENCH rounds %d repeats %d baseline_ticks %llu\n", BENCH_ROUNDS, BENCH_REPEATS,
	      (unsigned long long)base);
	for (what = 1; what <= 3; what++)
		for (r = 0; r < BENCH_REPEATS; r++) {
			profile_start();
			ticks = bench_loop(what);
			profile_stop();
			print_per_round(names[what - 1], ticks, base);
		}
	for (what = BENCH_XAPIC_EOI; what <= BENCH_APIC_TIMER; what++)
		for (r = 0; r < BENCH_REPEATS; r++) {
			profile_start();
			ticks = apic_bench((enum apic_bench)what, BENCH_ROUNDS);
			profile_stop();
			print_per_round(apic_names[what], ticks, base);
		}
}

/* ---- main ------------------------------------------------------------- */

/* The value of "mode=" on the command line, or "" when absent. */
static void cmdline_mode(const uint8_t *bp, char *mode, size_t size)
{
	const char *start = (const char *)(uintptr_t)*(const uint32_t *)(bp + BP_CMD_LINE_PTR), *c;
	size_t n = 0;

	mode[0] = 0;
	for (c = start; c && *c; c++) {
		if ((c == start || c[-1] == ' ') && str_eq_n(c, 5, "mode=")) {
			for (c += 5; *c && *c != ' ' && n + 1 < size; c++)
				mode[n++] = *c;
			mode[n] = 0;
			return;
		}
	}
}

void selftest_main(const uint8_t *bp)
{
	uint64_t at_entry = rdtsc();
	uint32_t v[4];
	uint64_t top = ram_top(bp);
	char mode[32];

	cpuid(0, v);
	is_amd = v[1] == 0x68747541; /* "Auth"enticAMD */
	install_traps();
	cmdline_mode(bp, mode, sizeof(mode));
	print("SELFTEST start mode=%s ram_top=0x%llx\n", mode[0] ? mode : "checks", (unsigned long long)top);
	if (str_eq(mode, "bench")) {
		bench();
		hypercall(HC_EXIT, 0, 0);
	}
	if (str_eq(mode, "spin"))
		spin();
	if (str_eq(mode, "idle"))
		idle();
	if (str_eq(mode, "work"))
		work();
	if (str_eq(mode, "uart-flood"))
		uart_flood();
	if (str_eq(mode, "echo"))
		echo();
	if (str_eq(mode, "clock"))
		clock_report();
	if (str_eq(mode, "mark")) {
		isolation_mark(bp, top);
		idle();
	}
	if (str_eq(mode, "scan")) {
		isolation_scan(bp, top);
		hypercall(HC_EXIT, 0, 0);
	}
	if (mode[0]) {
		hostile(mode, top);
		hypercall(HC_EXIT, 1, 0);
	}
	check_fpu_initial();
	check_boot_state();
	check_tsc(at_entry);
	check_cpuid();
	check_msr();
	check_uart();
	check_hypercall();
	check_virt_insns();
	check_xsetbv();
	check_pat();
	check_cr8();
	if (!is_amd)
		check_cr_writes();
	check_io_width();
	check_single_step();
	check_rdpmc();
	check_modes();
	check_hlt_wakeup();
	check_smp();
	check_apic();
	check_ram(bp, top);
	check_mmio(top);
	print("SELFTEST summary %u passed %u failed\n", passed, failed);
	fpu_dirty(); /* for the next partition on this CPU to find, if it were not reset */
	run_beyond_ram(top);
	hypercall(HC_EXIT, failed ? 1 : 0, 0);
}
