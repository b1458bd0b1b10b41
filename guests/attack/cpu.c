/*
 * Attacks on the CPU's interface: every MSR of three ranges read and
 * written, every CPUID leaf of four ranges, storms of the instructions
 * a hypervisor intercepts or lets by, and exits from 32-bit code
 * (compatibility mode), whose instructions decode differently.
 */
#include <stdint.h>

#include "attack.h"
#include "hypercall.h"
#include "lib/fmt.h"
#include "lib/str.h"

/* ---- MSRs --------------------------------------------------------------- */

static const struct {
	uint32_t first, end;
} msr_ranges[] = { { 0, 0x2000 }, { 0xc0000000, 0xc0002000 }, { 0xc0010000, 0xc0012000 } };

/*
 * The host's own, which no guest may read: IA32_FEATURE_CONTROL, the
 * first machine-check bank's status, the performance status and thermal status,
 * IA32_VMX_BASIC, the AMD performance counters' first control and count,
 * VM_CR, VM_HSAVE_PA, SMM_BASE.
 */
static const uint32_t hidden[] = { 0x3a, 0x401, 0x198, 0x19c, 0x480, 0xc0010000, 0xc0010004, 0xc0010114,
				   0xc0010117, 0xc0010111 };
#define HIDDEN (sizeof(hidden) / sizeof(hidden[0]))

/*
 * RDMSR of every index of three ranges (the architectural ones, AMD's
 * and Intel's extended ones); each that reads is written back with the
 * value read, each that does not is written 0. Reads give #GP or a value;
 * a write of a value read is refused only where the hypervisor keeps the
 * register (the TSC); a write of 0 where no read works is taken only by
 * write-only command registers. None of the host's own MSRs reads.
 */
static void msr_sweep(void)
{
	unsigned r, readable = 0, back_refused = 0, zero_taken = 0, hidden_gp = 0, i, n = 0;
	char refused_list[64] = "", taken_list[64] = "";
	uint32_t msr;
	uint64_t v;

	for (r = 0; r < sizeof(msr_ranges) / sizeof(msr_ranges[0]); r++) {
		for (msr = msr_ranges[r].first; msr < msr_ranges[r].end; msr++) {
			if (!rdmsr_faults(msr, &v)) {
				readable++;
				if (wrmsr_faults(msr, v) && back_refused++ < 4)
					n += (unsigned)fmt(refused_list + n, sizeof(refused_list) - n, "%s0x%x",
							   n ? "," : "", msr);
			} else if (!wrmsr_faults(msr, 0) && zero_taken++ < 4) {
				unsigned m = str_len(taken_list);
				fmt(taken_list + m, sizeof(taken_list) - m, "%s0x%x", m ? "," : "", msr);
			}
		}
	}
	for (i = 0; i < HIDDEN; i++)
		hidden_gp += (unsigned)rdmsr_faults(hidden[i], &v);
	outcome("indices=%u readable=%u write_back_refused=%u(%s) zero_taken_unreadable=%u(%s) host_msrs_gp=%u/%u",
		3 * 0x2000, readable, back_refused, refused_list, zero_taken, taken_list, hidden_gp, (unsigned)HIDDEN);
	hypercall_exit(0);
}

/* ---- CPUID --------------------------------------------------------------- */

static void cpuid2(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(subleaf));
}

static const struct {
	uint32_t first, last;
} leaf_ranges[] = { { 0, 0xfff }, { 0x40000000, 0x40000100 }, { 0x80000000, 0x80000100 }, { 0xc0000000, 0xc0000100 },
		    { 0x8fffffff, 0x8fffffff }, { 0xffffffff, 0xffffffff } };

/* FNV-1a over every leaf of the ranges, sub-leaves 0-3 each (0-63 for the topology and XSAVE leaves). */
static uint64_t sweep(unsigned *leaves)
{
	uint64_t h = 0xcbf29ce484222325ull;
	uint32_t leaf, sub, r[4];
	unsigned i, k;

	*leaves = 0;
	for (i = 0; i < sizeof(leaf_ranges) / sizeof(leaf_ranges[0]); i++) {
		for (leaf = leaf_ranges[i].first;; leaf++) {
			unsigned subs = leaf == 0xb || leaf == 0xd || leaf == 0x1f ? 64 : 4;
			for (sub = 0; sub < subs; sub++) {
				cpuid2(leaf, sub, r);
				for (k = 0; k < 4; k++)
					h = (h ^ r[k]) * 0x100000001b3ull;
			}
			++*leaves;
			if (leaf == leaf_ranges[i].last)
				break;
		}
	}
	return h;
}

#define PVCLOCK_BASE 0x40000100u /* KVM's leaves for its clock, after the hypervisor's own (hv/pvclock.h) */

static int all_zero(uint32_t leaf)
{
	uint32_t r[4];

	cpuid2(leaf, 0, r);
	return !(r[0] | r[1] | r[2] | r[3]);
}

/*
 * Every leaf of the basic range to 0xFFF, of the hypervisors' range, of
 * the extended range, of the Centaur range and two far ones, twice: the
 * same answers both times; VMX and SVM hidden, the hypervisor bit set,
 * the hypervisor's signature, its leaves past its last one zero (up to
 * KVM's, at 0x40000100), and the
 * leaves of what is not virtualized (MONITOR, thermal and power, the
 * performance monitor, SVM) zero.
 */
static void cpuid_sweep(void)
{
	uint32_t r1[4], r81[4], hv[4], leaf;
	char sig[13];
	unsigned leaves, again, beyond_zero = 1;
	uint64_t first = sweep(&leaves), second = sweep(&again);

	cpuid2(1, 0, r1);
	cpuid2(0x80000001, 0, r81);
	cpuid2(0x40000000, 0, hv);
	for (leaf = hv[0] + 1; leaf < PVCLOCK_BASE && leaf > 0x40000000; leaf++)
		beyond_zero &= (unsigned)all_zero(leaf);
	__builtin_memcpy(sig, &hv[1], 4);
	__builtin_memcpy(sig + 4, &hv[2], 4);
	__builtin_memcpy(sig + 8, &hv[3], 4);
	sig[12] = 0;
	outcome("leaves=%u repeatable=%d vmx=%u svm=%u hypervisor=%u signature=%s beyond_last_zero=%u", leaves,
		leaves == again && first == second, r1[2] >> 5 & 1, r81[2] >> 2 & 1, r1[2] >> 31, sig, beyond_zero);
	outcome("monitor_leaf=%d power_leaf=%d pmu_leaf=%d svm_leaf=%d", !all_zero(5), !all_zero(6), !all_zero(0xa),
		!all_zero(0x8000000a));
	hypercall_exit(0);
}

/* ---- instruction storms --------------------------------------------------- */

#define INSN_ROUNDS 1000

/* One instruction INSN_ROUNDS times; counts the faults of `vector` (-1: none expected) it raised. */
#define STORM(insn, length, vector, ...)                                                                  \
	({                                                                                                \
		unsigned n_ = 0, i_;                                                                          \
		for (i_ = 0; i_ < INSN_ROUNDS; i_++) {                                                        \
			if ((vector) >= 0)                                                                    \
				expect_fault((vector), (length));                                             \
			__asm__ volatile(insn __VA_ARGS__);                                                   \
			n_ += (vector) >= 0 && fault_taken(vector);                                           \
		}                                                                                             \
		n_;                                                                                           \
	})

/*
 * SMSW, LMSW and CLTS (CR0's, intercepted or not), INVD and WBINVD
 * (intercepted and skipped: guest RAM is coherent), MONITOR and MWAIT
 * (hidden from CPUID: #UD), RDPMC (no counter offered: #GP), RDTSCP
 * (TSC_AUX is the guest's), each 1,000 times. CR0 is as it was.
 */
static void priv_insn_storm(void)
{
	uint64_t cr0, cr0_after, msw;
	uint32_t aux_lo, aux_hi, c;
	unsigned monitor, mwait, rdpmc;
	int aux_gp;

	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	msw = cr0 & 0xffff;
	STORM("smsw %0", 0, -1, : "=r"(msw));
	STORM("lmsw %w0", 0, -1, : : "r"(msw));
	STORM("clts", 0, -1);
	STORM("invd", 0, -1);
	STORM("wbinvd", 0, -1);
	monitor = STORM("monitor", 3, VEC_UD, : : "a"(vblk_data), "c"(0), "d"(0));
	mwait = STORM("mwait", 3, VEC_UD, : : "a"(0), "c"(0));
	rdpmc = STORM("rdpmc", 2, VEC_GP, : : "c"(0) : "eax", "edx");
	aux_gp = wrmsr_faults(0xc0000103, 0x1234); /* TSC_AUX */
	STORM("rdtscp", 0, -1, : "=a"(aux_lo), "=d"(aux_hi), "=c"(c));
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0_after));
	outcome("rounds=%u smsw_same=%d monitor_ud=%u mwait_ud=%u rdpmc_gp=%u tsc_aux_gp=%d rdtscp_aux=0x%x cr0_kept=%d",
		INSN_ROUNDS, (msw & 0xffff) == (cr0 & 0xffff), monitor, mwait, rdpmc, aux_gp, c, cr0 == cr0_after);
	hypercall_exit(0);
}

/* ---- compatibility mode ------------------------------------------------------ */

/*
 * 32-bit code (CS.L 0, CS.D 1: Intel SDM Vol. 3A, 5.2.1) that exits on
 * MMIO in both the ModRM (8B 0D) and the moffs forms (A1, A3, whose
 * offset is 4 bytes here and 8 in 64-bit mode), a 16-bit read (66 8B),
 * port I/O, CPUID and RDMSR, storing what it saw; then back to 64-bit.
 */
uint32_t compat_back_cs, compat_id, compat_tpr, compat_version, compat_word, compat_scratch, compat_vendor,
	compat_apic_base;
void compat_exits(uint64_t cs32);
__asm__(".text\n"
	".globl compat_exits\n"
	"compat_exits:\n"
	"	push %rbx\n"
	"	push %rdi\n"
	"	lea 1f(%rip), %rax\n"
	"	push %rax\n"
	"	lretq\n"
	".code32\n"
	"1:	movl 0xfee00020, %ecx\n"
	"	movl %ecx, compat_id\n"
	"	movl $0x20, %eax\n"
	"	movl %eax, 0xfee00080\n"
	"	movl 0xfee00080, %eax\n"
	"	movl %eax, compat_tpr\n"
	"	movl 0xfee00030, %eax\n"
	"	movl %eax, compat_version\n"
	"	movw 0xfee00030, %dx\n"
	"	movw %dx, compat_word\n"
	"	movw $0x3ff, %dx\n"
	"	movb $0x5a, %al\n"
	"	outb %al, %dx\n"
	"	inb %dx, %al\n"
	"	movb %al, compat_scratch\n"
	"	xorl %eax, %eax\n"
	"	cpuid\n"
	"	movl %ebx, compat_vendor\n"
	"	movl $0x1b, %ecx\n"
	"	rdmsr\n"
	"	movl %eax, compat_apic_base\n"
	"	pushl compat_back_cs\n"
	"	pushl $2f\n"
	"	lret\n"
	".code64\n"
	"2:	pop %rbx\n"
	"	ret\n");

static uint64_t gdt[32] __attribute__((aligned(16)));

/* The GDT in use with a 32-bit code segment (DPL 0, base 0, 4 GiB) after its entries: that segment's selector. */
static uint16_t add_code32(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} now, ours;
	unsigned entries, i;
	uint16_t cs, ss;

	__asm__ volatile("sgdt %0; mov %%cs, %1; mov %%ss, %2" : "=m"(now), "=r"(cs), "=r"(ss));
	entries = (now.limit + 1u) / 8;
	if (entries >= sizeof(gdt) / sizeof(gdt[0]))
		hypercall_exit(1);
	for (i = 0; i < entries; i++)
		gdt[i] = ((const uint64_t *)(uintptr_t)now.base)[i];
	gdt[entries] = 0x00cf9b000000ffffull; /* present, DPL 0, code, readable, accessed; D = 1, G = 1 */
	ours.limit = (uint16_t)((entries + 1) * 8 - 1);
	ours.base = (uint64_t)(uintptr_t)gdt;
	__asm__ volatile("lgdt %0; mov %1, %%ds; mov %1, %%es" : : "m"(ours), "r"(ss) : "memory");
	compat_back_cs = cs;
	return (uint16_t)(entries * 8);
}

static void compat_mode(void)
{
	uint32_t v[4], tpr64, version64, scratch64;

	lapic_write(LAPIC_SVR, 0x1ff);
	compat_exits(add_code32());
	tpr64 = lapic_read(0x80);
	version64 = lapic_read(0x30);
	outb(0x3ff, 0xa5);
	scratch64 = inb(0x3ff);
	lapic_write(0x80, 0);
	cpuid(0, v);
	outcome("id=0x%x tpr=0x%x tpr_64=0x%x version_same=%d word_same=%d scratch=0x%x scratch_64=0x%x vendor_same=%d "
		"apic_base=0x%x", compat_id, compat_tpr, tpr64, compat_version == version64,
		compat_word == (version64 & 0xffff), compat_scratch, scratch64, compat_vendor == v[1], compat_apic_base);
	hypercall_exit(0);
}

const struct attack cpu_attacks[] = {
	{ "msr-sweep", msr_sweep },
	{ "cpuid-sweep", cpuid_sweep },
	{ "priv-insn-storm", priv_insn_storm },
	{ "compat-mode", compat_mode },
	{ 0, 0 },
};
