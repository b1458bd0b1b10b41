/*
 * Self-test guest: checks one piece of the virtual platform at a time and
 * prints one machine-readable line each on its UART:
 *
 *     SELFTEST <name> PASS|FAIL <detail>
 *
 * The kernel command line picks a mode: the checks (default), a hostile
 * guest (mode=triple-fault, mode=unmapped-write, mode=virt-insn,
 * mode=insn-flood), a load
 * for the scheduler (mode=spin, mode=idle, mode=work) or the
 * micro-benchmarks (mode=bench).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "hypercall.h"
#include "lib/fmt.h"
#include "lib/str.h"

#define UART 0x3f8
#define UART_LSR 5
#define UART_SCR 7
#define LSR_THRE 0x20
#define WAKE_VECTOR 32
#define TRAP_VECTORS 33
#define VEC_UD 6
#define VEC_GP 13
#define MSR_TSC 0x10
#define MSR_EFER 0xc0000080
#define MSR_VM_HSAVE_PA 0xc0010117
#define EFER_SVME (1ull << 12)
#define MIB (1ull << 20)

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

static uint64_t idt[TRAP_VECTORS * 2] __attribute__((aligned(16)));
static volatile int expected_vector = -1, caught_vector = -1;
static volatile unsigned expected_length;
static volatile int wakeups;
static int is_amd;
static unsigned passed, failed;

/* ---- instructions ----------------------------------------------------- */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

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

/* ---- output ----------------------------------------------------------- */

static void put(const char *s)
{
	for (; *s; s++) {
		while (!(inb(UART + UART_LSR) & LSR_THRE))
			;
		outb(UART, (uint8_t)*s);
	}
}

static void __attribute__((format(printf, 1, 2))) print(const char *f, ...)
{
	char line[160];
	va_list ap;

	va_start(ap, f);
	fmt_v(line, sizeof(line), f, ap);
	va_end(ap);
	put(line);
}

static void __attribute__((format(printf, 3, 4))) report(const char *name, int ok, const char *f, ...)
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
static void expect_fault(int vector, unsigned length)
{
	caught_vector = -1;
	expected_length = length;
	expected_vector = vector;
}

static int fault_taken(int vector)
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

static uint64_t ram_top(const uint8_t *bp)
{
	const struct e820_entry *e = (const struct e820_entry *)(bp + BP_E820_TABLE);
	uint8_t n = bp[BP_E820_ENTRIES], i;
	uint64_t top = 0;

	for (i = 0; i < n && i < 128; i++)
		if (e[i].type == E820_RAM && e[i].addr + e[i].size > top)
			top = e[i].addr + e[i].size;
	return top;
}

static uint64_t pattern(uint64_t addr)
{
	return addr * 0x9e3779b97f4a7c15ull ^ 0xa5a5a5a5a5a5a5a5ull;
}

/*
 * Everything above our image: it must read as zeroes (memory is cleared
 * before a partition gets it), then hold a pattern written in full before
 * it is read back, so that aliasing shows.
 */
static void check_ram(uint64_t top)
{
	uint64_t start = ((uint64_t)(uintptr_t)image_end + MIB - 1) & ~(MIB - 1), a, bad = 0, first = 0;
	uint64_t dirty = 0;

	for (a = start; a < top; a += 8)
		dirty += *(volatile uint64_t *)(uintptr_t)a != 0;
	for (a = start; a < top; a += 8)
		*(volatile uint64_t *)(uintptr_t)a = pattern(a);
	for (a = start; a < top; a += 8) {
		if (*(volatile uint64_t *)(uintptr_t)a != pattern(a) && !bad++)
			first = a;
	}
	report("ram_pattern", top > start && !bad && !dirty,
	       "0x%llx-0x%llx (%llu MiB) nonzero_at_start=%llu bad_words=%llu first_bad=0x%llx",
	       (unsigned long long)start, (unsigned long long)top, (unsigned long long)((top - start) / MIB),
	       (unsigned long long)dirty, (unsigned long long)bad, (unsigned long long)first);
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

/* Must be last: the hypervisor stops a guest that touches memory it lacks. */
static void touch_beyond_ram(uint64_t top)
{
	uint64_t gpa = top + 2 * MIB;

	print("SELFTEST beyond_ram EXPECT-STOP reading gpa 0x%llx\n", (unsigned long long)gpa);
	(void)*(volatile uint64_t *)(uintptr_t)gpa;
	report("beyond_ram", 0, "the read of 0x%llx returned", (unsigned long long)gpa);
}

/* ---- hostile guests --------------------------------------------------- */

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

static void hostile(const char *mode)
{
	print("SELFTEST hostile %s\n", mode);
	if (str_eq(mode, "triple-fault")) {
		load_idt(0); /* no handler for anything: #UD -> #DF -> shutdown */
		__asm__ volatile("ud2");
	} else if (str_eq(mode, "unmapped-write")) {
		*(volatile uint64_t *)(uintptr_t)0xf0000000ull = 1;
	} else if (str_eq(mode, "virt-insn")) {
		load_idt(0); /* a guest that does not expect the #UD it gets */
		forbidden_insn();
	} else if (str_eq(mode, "insn-flood")) {
		insn_flood();
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

/* Throughput: units of work done per WORK_REPORT ticks, printed as they come. */
static void __attribute__((noreturn)) work(void)
{
	uint64_t x = 88172645463325252ull, units = 0, t0 = rdtsc();
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
			print("BENCH work %llu\n", (unsigned long long)units);
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

/* Each figure is measured BENCH_REPEATS times; the reader takes the median. */
static void bench(void)
{
	static const char *const names[] = { "cpuid", "port_io", "hypercall" };
	uint64_t base = bench_loop(0);
	int what, r;

	print("BENCH rounds %d repeats %d baseline_ticks %llu\n", BENCH_ROUNDS, BENCH_REPEATS,
	      (unsigned long long)base);
	for (what = 1; what <= 3; what++) {
		for (r = 0; r < BENCH_REPEATS; r++) {
			int64_t per_round = ((int64_t)bench_loop(what) - (int64_t)base) / BENCH_ROUNDS;
			print("BENCH %s %lld\n", names[what - 1], (long long)per_round);
		}
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
	if (mode[0]) {
		hostile(mode);
		hypercall(HC_EXIT, 1, 0);
	}
	check_fpu_initial();
	check_cpuid();
	check_msr();
	check_uart();
	check_hypercall();
	check_virt_insns();
	check_xsetbv();
	check_hlt_wakeup();
	check_smp();
	check_ram(top);
	print("SELFTEST summary %u passed %u failed\n", passed, failed);
	fpu_dirty(); /* for the next partition on this CPU to find, if it were not reset */
	touch_beyond_ram(top);
	hypercall(HC_EXIT, failed ? 1 : 0, 0);
}
