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

#define PAT_RESET 0x0007040600070406ull
#define MSR_VM_HSAVE_PA 0xc0010117
#define EFER_SVME (1ull << 12)

/* Vectors the self-test's checks take (guest_interrupt). */
int guest_interrupt(uint64_t vector)
{
	if (vector == ECHO_VECTOR)
		echo_interrupt();
	else if (vector == CLOCK_VECTOR)
		clock_interrupt();
	else if (vector >= APIC_VECTOR_FIRST)
		apic_interrupt(vector);
	else
		return 0;
	return 1;
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

static uint64_t pattern(uint64_t addr)
{
	return addr * 0x9e3779b97f4a7c15ull ^ 0xa5a5a5a5a5a5a5a5ull;
}

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

static void check_virt_insns(void)
{
	unsigned i, ud = 0;

	for (i = 0; i < virt_insn_count; i++) {
		expect_fault(VEC_UD, virt_insns[i].length);
		run_bytes(virt_insns[i].bytes, virt_insns[i].length);
		if (fault_taken(VEC_UD))
			ud++;
		else
			print("SELFTEST virt_insn_ud note %s did not raise #UD\n", virt_insns[i].name);
	}
	report("virt_insn_ud", ud == i, "%u of %u raised #UD", ud, i);
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
void guest_ap_main(uint64_t index)
{
	uint32_t r[4];

	load_idt(IDT_LIMIT);
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

/* ---- loads for the scheduler ------------------------------------------ */

#define IDLE_TICK 8000000ull      /* TSC ticks between an idle guest's wake-ups: 4 ms at 2 GHz */
#define WORK_REPORT (1ull << 29)  /* TSC ticks between work reports */

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

enum bench_exit { BENCH_BASELINE, BENCH_CPUID, BENCH_PORT_IO, BENCH_HYPERCALL, BENCH_MMIO_READ };

static void cpuid_leaf0(void)
{
	uint32_t eax = 0, ebx, ecx = 0, edx;

	__asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
}

static void version_by_vmcall(void)
{
	uint64_t rax = HC_VERSION;

	__asm__ volatile("vmcall" : "+a"(rax) : : "memory");
}

static void version_by_vmmcall(void)
{
	uint64_t rax = HC_VERSION;

	__asm__ volatile("vmmcall" : "+a"(rax) : : "memory");
}

/*
 * TSC ticks of BENCH_ROUNDS exits of one kind. Each kind has its own loop,
 * as the baseline has (a count down): beyond the baseline's two
 * instructions a round it holds the exiting instruction and the register
 * loads that instruction needs, so the figure is the hypervisor's path
 * and the exiting instruction, as make bench defines it, not the guest's
 * calls and tests around it (they were 6 to 21 instructions a round).
 */
static uint64_t bench_loop(enum bench_exit what)
{
	uint64_t t0 = rdtsc();
	unsigned i = BENCH_ROUNDS;

	switch (what) {
	case BENCH_CPUID:
		do
			cpuid_leaf0();
		while (--i);
		break;
	case BENCH_PORT_IO:
		do
			outb(UART + UART_SCR, (uint8_t)i);
		while (--i);
		break;
	case BENCH_HYPERCALL:
		if (is_amd)
			do
				version_by_vmmcall();
			while (--i);
		else
			do
				version_by_vmcall();
			while (--i);
		break;
	case BENCH_MMIO_READ:
		do
			mmio_read32(IOAPIC_BASE + IOAPIC_WINDOW); /* decoded and emulated: the ID register after reset */
		while (--i);
		break;
	case BENCH_BASELINE:
		do
			__asm__ volatile("" ::: "memory");
		while (--i);
		break;
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

/* Before a loop's start mark: its place in the list of kinds (1 the first), one kind mark each. */
static void profile_kind(int place)
{
	while (place-- > 0)
		__asm__ volatile("xchg %%si, %%si" ::: "memory");
}

/* TSC ticks of one write to gpa. */
static uint64_t timed_touch(uint64_t gpa)
{
	uint64_t t0 = rdtsc();

	*(volatile uint64_t *)(uintptr_t)gpa = 0;
	return rdtsc() - t0;
}

/*
 * A nested-page fault the hypervisor resolves: the first touch of a 2 MiB
 * chunk of RAM, which it zeroes and maps then (arch/x86/space.c, fill_chunk).
 * One chunk a repeat, above the image and the page tables map_ram() builds,
 * each touch less a second one of the same chunk, mapped by then. Last: the
 * new page tables stay.
 */
static void bench_npf(uint64_t top)
{
	uint64_t chunk = (map_ram(top) + 2 * MIB - 1) & ~(2 * MIB - 1), first;
	int r, chunks = top > chunk ? (int)((top - chunk) / (2 * MIB)) : 0;

	chunks = chunks < BENCH_REPEATS ? chunks : BENCH_REPEATS;
	print("BENCH npf chunks %d\n", chunks);
	for (r = 0; r < chunks; r++, chunk += 2 * MIB) {
		profile_kind(8);
		profile_start();
		first = timed_touch(chunk);
		profile_stop();
		print("BENCH npf %lld\n", (long long)first - (long long)timed_touch(chunk));
	}
}

/* Each figure is measured BENCH_REPEATS times; the reader takes the median. */
static void bench(uint64_t top)
{
	static const char *const names[] = { "cpuid", "port_io", "hypercall", "mmio_read" };
	static const char *const apic_names[] = { "xapic_eoi", "x2apic_eoi", "apic_timer" };
	uint64_t base = bench_loop(BENCH_BASELINE), ticks;
	int what, r;

	print("BENCH rounds %d repeats %d baseline_ticks %llu\n", BENCH_ROUNDS, BENCH_REPEATS,
	      (unsigned long long)base);
	for (what = BENCH_CPUID; what <= BENCH_MMIO_READ; what++)
		for (r = 0; r < BENCH_REPEATS; r++) {
			profile_kind(what);
			profile_start();
			ticks = bench_loop((enum bench_exit)what);
			profile_stop();
			print_per_round(names[what - 1], ticks, base);
		}
	for (what = BENCH_XAPIC_EOI; what <= BENCH_APIC_TIMER; what++)
		for (r = 0; r < BENCH_REPEATS; r++) {
			profile_kind(5 + what - BENCH_XAPIC_EOI);
			profile_start();
			ticks = apic_bench((enum apic_bench)what, BENCH_ROUNDS);
			profile_stop();
			print_per_round(apic_names[what], ticks, base);
		}
	bench_npf(top);
}

/* ---- main ------------------------------------------------------------- */

void guest_main(const uint8_t *bp)
{
	uint64_t at_entry = rdtsc();
	uint32_t v[4];
	uint64_t top = ram_top(bp);
	char mode[32];

	cpuid(0, v);
	is_amd = v[1] == 0x68747541; /* "Auth"enticAMD */
	install_traps();
	cmdline_value(bp, "mode=", mode, sizeof(mode));
	print("SELFTEST start mode=%s ram_top=0x%llx\n", mode[0] ? mode : "checks", (unsigned long long)top);
	if (str_eq(mode, "bench")) {
		bench(top);
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
	print("SELFTEST summary %u passed %u failed\n", report_passed, report_failed);
	fpu_dirty(); /* for the next partition on this CPU to find, if it were not reset */
	run_beyond_ram(top);
	hypercall(HC_EXIT, report_failed ? 1 : 0, 0);
}
