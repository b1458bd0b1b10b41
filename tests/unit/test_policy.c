/* CPUID and MSR policy: what a guest may see and touch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hypercall.h"
#include "policy.h"

static const struct cpuid_guest guest = { .vcpu_id = 1, .vcpu_count = 2 };

static void leaf1_hides_vmx_and_shows_the_hypervisor(void **state)
{
	struct cpuid_regs host = { 0x000806ec, 0x05100800, 0x7ffafbff, 0xbfebfbff }; /* VMX, SMX, MONITOR set */
	struct cpuid_regs r = cpuid_policy(1, 0, host, &guest);

	(void)state;
	assert_int_equal(r.eax, host.eax);
	assert_int_equal(r.ecx & (1u << 5), 0);  /* VMX */
	assert_int_equal(r.ecx & (1u << 6), 0);  /* SMX */
	assert_int_equal(r.ecx & (1u << 3), 0);  /* MONITOR */
	assert_int_equal(r.ecx & (1u << 15), 0); /* PDCM */
	assert_int_not_equal(r.ecx & (1u << 31), 0);
	assert_int_equal(r.ecx & (1u << 27), 0); /* guest CR4.OSXSAVE is clear */
	assert_int_equal(r.ebx >> 24, 1);        /* vCPU id as APIC id */
	assert_int_equal((r.ebx >> 16) & 0xff, 2);
	/* The guest's APIC is off in `guest`; machine checks (MCE, MCA), the debug store (DS),
	 * thermal monitoring (ACPI, TM, PBE; TM2) and SpeedStep (EST) are the host's. */
	assert_int_equal(r.edx, host.edx & ~((1u << 9) | (1u << 7) | (1u << 14) | (1u << 21) | (1u << 22) |
					     (1u << 29) | (1u << 31)));
	assert_int_equal(r.ecx & ((1u << 2) | (1u << 4) | (1u << 7) | (1u << 8)), 0);
	assert_int_not_equal(r.ecx & (1u << 21), 0);  /* x2APIC */
	assert_int_not_equal(r.ecx & (1u << 24), 0);  /* TSC-deadline timer */
}

static void apic_bit_follows_the_apic_base_enable(void **state)
{
	struct cpuid_guest g = guest;
	struct cpuid_regs host = { 0, 0, 0, 0 }, r;

	(void)state;
	g.apic_enabled = 1;
	r = cpuid_policy(1, 0, host, &g); /* the host's own bit does not matter */
	assert_int_not_equal(r.edx & (1u << 9), 0);
	host.edx = 1u << 9;
	g.apic_enabled = 0;
	r = cpuid_policy(1, 0, host, &g);
	assert_int_equal(r.edx & (1u << 9), 0);
}

static void osxsave_follows_the_guest(void **state)
{
	struct cpuid_guest g = guest;
	struct cpuid_regs host = { 0, 0, 0, 0 }, r;

	(void)state;
	g.osxsave = 1;
	r = cpuid_policy(1, 0, host, &g);
	assert_int_not_equal(r.ecx & (1u << 27), 0);
}

static void signature_leaf(void **state)
{
	struct cpuid_regs host = { 7, 7, 7, 7 }, r = cpuid_policy(0x40000000, 0, host, &guest);
	char sig[13];

	(void)state;
	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	sig[12] = 0;
	assert_string_equal(sig, HV_CPUID_SIGNATURE);
	assert_int_equal(r.eax, HV_CPUID_MAX);
	r = cpuid_policy(0x40000001, 0, host, &guest);
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	r = cpuid_policy(0x400000ff, 0, host, &guest);
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	r = cpuid_policy(0x4fffffff, 0, host, &guest); /* the whole range is ours: nothing of the host's */
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	r = cpuid_policy(0x50000000, 0, host, &guest);
	assert_memory_equal(&r, &host, sizeof(r));
}

/* Where Linux scans for KVM's leaves (every 0x100 from 0x40000000): the clock's features only. */
static void paravirtual_clock_leaves(void **state)
{
	struct cpuid_regs host = { 1, 2, 3, 4 }, r;
	char sig[12];

	(void)state;
	r = cpuid_policy(0x40000100, 0, host, &guest);
	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	assert_memory_equal(sig, "KVMKVMKVM\0\0\0", 12);
	assert_int_equal(r.eax, 0x40000101);
	r = cpuid_policy(0x40000101, 0, host, &guest);
	assert_int_equal(r.eax, (1u << 3) | (1u << 24)); /* CLOCKSOURCE2, CLOCKSOURCE_STABLE_BIT */
	assert_int_equal(r.ebx | r.ecx | r.edx, 0);      /* EDX: no hints */
}

static void tsc_rate_is_told_where_it_is_known(void **state)
{
	struct cpuid_regs host = { 2, 166, 24000000, 0 }, r; /* 0x15: 24 MHz crystal * 166/2 */
	struct cpuid_guest g = guest;

	(void)state;
	g.tsc_khz = 1992000;
	g.apic_bus_khz = 100000;
	r = cpuid_policy(HV_CPUID_TIMING, 0, host, &g);
	assert_int_equal(r.eax, 1992000);
	assert_int_equal(r.ebx, 100000); /* the local APIC timer's input clock */
	assert_int_equal(r.ecx | r.edx, 0);
	r = cpuid_policy(0x15, 0, host, &g); /* the host's leaf disagrees with the rate in use */
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	g.tsc_leaf_agrees = 1;
	r = cpuid_policy(0x15, 0, host, &g);
	assert_memory_equal(&r, &host, sizeof(r));
	host.edx = 1u << 8; /* invariant TSC: always, the hypervisor's clock being constant-rate */
	r = cpuid_policy(0x80000007, 0, host, &g);
	assert_int_equal(r.edx, 1u << 8);
	host.edx = 0x201;
	r = cpuid_policy(0x80000007, 0, host, &g);
	assert_int_equal(r.edx, 0x301);
}

static void svm_and_perf_counters_hidden(void **state)
{
	struct cpuid_regs host = { 0, 0, 0xffffffff, 0xffffffff }, r;

	(void)state;
	r = cpuid_policy(0x80000001, 0, host, &guest);
	assert_int_equal(r.ecx & (1u << 2), 0);
	assert_int_equal(r.ecx & (1u << 23), 0);
	assert_int_equal(r.edx, 0xffffffff);
	r = cpuid_policy(0x8000000a, 0, host, &guest);
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	r = cpuid_policy(0xa, 0, host, &guest);
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	r = cpuid_policy(5, 0, host, &guest);
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	r = cpuid_policy(0, 0, host, &guest); /* other leaves pass */
	assert_int_equal(r.ecx, 0xffffffff);
}

static struct vcpu_msrs kept;
/* An Intel CPU with IBRS, IBPB, STIBP, SSBD, the L1D flush and IA32_ARCH_CAPABILITIES. */
static const struct mitigation_caps spec = {
	.intel = 1,
	.leaf7_edx = EDX7_IBRS_IBPB | EDX7_STIBP | EDX7_SSBD | EDX7_L1D_FLUSH | EDX7_ARCH_CAPABILITIES,
	.arch_caps = ARCH_CAP_RDCL_NO | ARCH_CAP_MDS_NO | (1ull << 7) /* TSX_CTRL */,
};
static const struct mitigation_caps no_spec;

static struct msr_state fresh(void)
{
	struct msr_state s = { EFER_LME | EFER_LMA, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE, 12345, 0,
			       PAT_DEFAULT, &kept, 39, 1, 1, 1, &spec };

	memset(&kept, 0, sizeof(kept));
	return s;
}

static enum msr_action wr(uint32_t msr, uint64_t value, struct msr_state *s)
{
	return msr_policy(msr, 1, &value, s);
}

static uint64_t rd(uint32_t msr, struct msr_state *s)
{
	uint64_t v = 0xdeadbeef;

	assert_int_equal(msr_policy(msr, 0, &v, s), MSR_EMULATE);
	return v;
}

/* MTRRs are kept as written; what the CPU would refuse is #GP (SDM Vol. 3A, 13.11.2). */
static void mtrrs_are_kept_and_checked(void **state)
{
	struct msr_state s = fresh();

	(void)state;
	assert_int_equal(rd(MSR_MTRR_CAP, &s), 8 | (1u << 8) | (1u << 10)); /* 8 variable, fixed, WC */
	assert_int_equal(wr(MSR_MTRR_CAP, 0, &s), MSR_DENY);
	assert_int_equal(rd(MSR_MTRR_DEF_TYPE, &s), 0);
	assert_int_equal(wr(MSR_MTRR_DEF_TYPE, 0xc06, &s), MSR_EMULATE); /* E, FE, WB */
	assert_int_equal(rd(MSR_MTRR_DEF_TYPE, &s), 0xc06);
	assert_int_equal(wr(MSR_MTRR_DEF_TYPE, 0x1006, &s), MSR_DENY);    /* reserved bit 12 */
	assert_int_equal(wr(MSR_MTRR_DEF_TYPE, 0xc02, &s), MSR_DENY);     /* type 2 is reserved */
	/* Variable ranges 0x200-0x20f: base with type, mask with V; bits past MAXPHYADDR (39) reserved. */
	assert_int_equal(wr(0x200, 0x80000006, &s), MSR_EMULATE);
	assert_int_equal(wr(0x201, 0x7f80000800ull, &s), MSR_EMULATE);
	assert_int_equal(rd(0x201, &s), 0x7f80000800ull);
	assert_int_equal(wr(0x201, 0x8000000800ull, &s), MSR_DENY); /* bit 39 */
	assert_int_equal(wr(0x202, 0x106, &s), MSR_DENY);           /* bits 11:8 of a base */
	assert_int_equal(wr(0x203, 0x801, &s), MSR_DENY);           /* bits 10:0 of a mask */
	assert_int_equal(wr(0x204, 0x3, &s), MSR_DENY);             /* type 3 */
	assert_int_equal(rd(0x20f, &s), 0);
	assert_int_equal(msr_policy(0x210, 0, &(uint64_t){ 0 }, &s), MSR_DENY); /* a ninth pair */
	/* Fixed ranges: each byte a type. */
	assert_int_equal(wr(0x250, 0x0606060606060606ull, &s), MSR_EMULATE);
	assert_int_equal(wr(0x26f, 0x0504010006060606ull, &s), MSR_EMULATE);
	assert_int_equal(rd(0x26f, &s), 0x0504010006060606ull);
	assert_int_equal(wr(0x259, 0x0606060606060607ull, &s), MSR_DENY);
	assert_int_equal(msr_policy(0x251, 0, &(uint64_t){ 0 }, &s), MSR_DENY);
}

/* IA32_MISC_ENABLE exists on Intel CPUs: read as the hypervisor sets it, written only unchanged. */
static void misc_enable_on_intel_only(void **state)
{
	struct msr_state s = fresh();
	uint64_t v;

	(void)state;
	v = rd(MSR_MISC_ENABLE, &s);
	assert_int_equal(v & 1, 1); /* fast strings */
	assert_int_equal(wr(MSR_MISC_ENABLE, v, &s), MSR_EMULATE);
	assert_int_equal(wr(MSR_MISC_ENABLE, v | (1ull << 34), &s), MSR_DENY);
	s.intel = 0;
	assert_int_equal(msr_policy(MSR_MISC_ENABLE, 0, &v, &s), MSR_DENY);
}

/* AMD's SYSCFG, NB_CFG and HWCR, on AMD only: SYSCFG reads 0 and takes back only that, NB_CFG drops
 * what it gets, HWCR says the TSC counts at the P0 rate and changes not. */
static void amd_host_configuration_msrs_read_zero(void **state)
{
	struct msr_state s = fresh();
	uint64_t v = 0;

	(void)state;
	s.intel = 0;
	assert_int_equal(rd(MSR_AMD_SYSCFG, &s), 0);
	assert_int_equal(wr(MSR_AMD_SYSCFG, 0, &s), MSR_EMULATE);
	assert_int_equal(wr(MSR_AMD_SYSCFG, 1ull << 23, &s), MSR_DENY); /* Tom2ForceMemTypeWB */
	assert_int_equal(wr(MSR_AMD_NB_CFG, 1ull << 46, &s), MSR_EMULATE); /* EnableCf8ExtCfg, as Linux sets it */
	assert_int_equal(rd(MSR_AMD_NB_CFG, &s), 0);
	assert_int_equal(rd(MSR_AMD_HWCR, &s), 1ull << 24); /* TscFreqSel: the TSC counts at the P0 rate */
	assert_int_equal(wr(MSR_AMD_HWCR, 1ull << 24, &s), MSR_EMULATE);
	assert_int_equal(wr(MSR_AMD_HWCR, (1ull << 24) | (1ull << 0), &s), MSR_DENY); /* SmmLock */
	s.intel = 1;
	assert_int_equal(msr_policy(MSR_AMD_HWCR, 0, &v, &s), MSR_DENY);
	assert_int_equal(msr_policy(MSR_AMD_SYSCFG, 0, &v, &s), MSR_DENY);
	assert_int_equal(msr_policy(MSR_AMD_NB_CFG, 0, &v, &s), MSR_DENY);
}

/*
 * IA32_BIOS_SIGN_ID, on Intel: written 0 (as readers do first), read revision 1 in bits 63:32; the value read
 * written back is taken, as the CPU takes it (msr-sweep on Bochs found it refused); reserved bits 31:0 are not.
 */
static void microcode_revision_is_one(void **state)
{
	struct msr_state s = fresh();
	uint64_t v = 0;

	(void)state;
	assert_int_equal(wr(MSR_BIOS_SIGN_ID, 0, &s), MSR_EMULATE);
	assert_int_equal(rd(MSR_BIOS_SIGN_ID, &s), 1ull << 32);
	assert_int_equal(wr(MSR_BIOS_SIGN_ID, 1ull << 32, &s), MSR_EMULATE);
	assert_int_equal(wr(MSR_BIOS_SIGN_ID, 0x1234ull << 32, &s), MSR_EMULATE);
	assert_int_equal(rd(MSR_BIOS_SIGN_ID, &s), 1ull << 32);
	assert_int_equal(wr(MSR_BIOS_SIGN_ID, 5, &s), MSR_DENY);
	s.intel = 0;
	assert_int_equal(msr_policy(MSR_BIOS_SIGN_ID, 0, &v, &s), MSR_DENY);
}

/* IA32_TSC_ADJUST is offered (CPUID 7.0 EBX bit 1): it reads 0 and takes only 0. */
static void tsc_adjust_reads_zero_and_takes_only_zero(void **state)
{
	struct msr_state s = fresh();
	struct cpuid_regs host = { 0, 0x10, 0, 0 }, r;

	(void)state;
	r = cpuid_policy(7, 0, host, &guest);
	assert_int_equal(r.ebx, 0x12);
	r = cpuid_policy(7, 1, host, &guest); /* another subleaf: untouched */
	assert_int_equal(r.ebx, 0x10);
	assert_int_equal(rd(MSR_TSC_ADJUST, &s), 0);
	assert_int_equal(wr(MSR_TSC_ADJUST, 0, &s), MSR_EMULATE);
	assert_int_equal(wr(MSR_TSC_ADJUST, 1, &s), MSR_DENY);
	assert_int_equal(wr(MSR_TSC_ADJUST, ~0ull, &s), MSR_DENY);
}

/*
 * No supervisor state component: CPUID 0DH sub-leaf 1 lists no IA32_XSS bit
 * (XSAVES itself stays), the supervisor components' sub-leaves are empty,
 * the user ones untouched; IA32_XSS reads 0 and takes only 0, and does not
 * exist without XSAVES. Linux writes it at boot where XSAVES is offered.
 */
static void xss_offers_no_supervisor_state(void **state)
{
	struct msr_state s = fresh();
	struct cpuid_regs host = { 0xf, 0x988, 0x1900, 0x1 }, r;
	uint64_t v = 0;

	(void)state;
	r = cpuid_policy(0xd, 1, host, &guest);
	assert_int_equal(r.eax, 0xf);
	assert_int_equal(r.ebx, 0x988);
	assert_int_equal(r.ecx, 0);
	assert_int_equal(r.edx, 0);
	r = cpuid_policy(0xd, 8, host, &guest); /* PT */
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	r = cpuid_policy(0xd, 12, host, &guest); /* CET_S */
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	r = cpuid_policy(0xd, 2, host, &guest); /* AVX: a user component */
	assert_int_equal(r.eax, 0xf);
	r = cpuid_policy(0xd, 0xffffffffu, host, &guest); /* hostile sub-leaf: no shift past 63 */
	assert_int_equal(r.eax, 0xf);
	assert_int_equal(rd(MSR_XSS, &s), 0);
	assert_int_equal(wr(MSR_XSS, 0, &s), MSR_EMULATE);
	assert_int_equal(wr(MSR_XSS, 1ull << 8, &s), MSR_DENY);
	assert_int_equal(wr(MSR_XSS, ~0ull, &s), MSR_DENY);
	s.xsaves = 0;
	assert_int_equal(msr_policy(MSR_XSS, 0, &v, &s), MSR_DENY);
	assert_int_equal(msr_policy(MSR_XSS, 1, &v, &s), MSR_DENY);
}

/*
 * The x2APIC ID in the extended topology leaves (0BH, 1FH: EDX, every
 * sub-leaf) and AMD's extended APIC ID (8000001EH: EAX) are the vCPU's,
 * as in leaf 1, whichever host CPU answers; the rest stays the host's.
 * Linux compares them with the MADT's ("APIC id mismatch").
 */
static void topology_leaves_give_the_vcpus_apic_id(void **state)
{
	struct cpuid_guest g = guest;
	struct cpuid_regs host = { 0x1, 0x2, 0x100, 0x1 }, r;
	uint32_t leaves[] = { 0xb, 0x1f }, sub;
	unsigned i;

	(void)state;
	g.vcpu_id = 1;
	for (i = 0; i < 2; i++) {
		for (sub = 0; sub < 3; sub++) {
			host.edx = 0; /* answered by host CPU 0 */
			r = cpuid_policy(leaves[i], sub, host, &g);
			assert_int_equal(r.edx, 1);
			assert_int_equal(r.eax, 0x1);
			assert_int_equal(r.ebx, 0x2);
			assert_int_equal(r.ecx, 0x100);
		}
	}
	g.vcpu_id = 0;
	host.edx = 1; /* answered by host CPU 1 */
	assert_int_equal(cpuid_policy(0xb, 0, host, &g).edx, 0);
	host.eax = 3;
	r = cpuid_policy(0x8000001e, 0, host, &g);
	assert_int_equal(r.eax, 0);
	assert_int_equal(r.ebx, 0x2);
}

/* TSC_AUX: the vCPU's own 32 bits, where RDTSCP exists. */
static void tsc_aux_is_the_vcpus_own(void **state)
{
	struct msr_state s = fresh();
	uint64_t v = 0;

	(void)state;
	assert_int_equal(wr(MSR_TSC_AUX, 7, &s), MSR_EMULATE);
	assert_int_equal(kept.tsc_aux, 7);
	assert_int_equal(rd(MSR_TSC_AUX, &s), 7);
	assert_int_equal(wr(MSR_TSC_AUX, 1ull << 32, &s), MSR_DENY);
	s.rdtscp = 0;
	assert_int_equal(msr_policy(MSR_TSC_AUX, 0, &v, &s), MSR_DENY);
}

/* IA32_SPEC_CTRL is the vCPU's, with the bits the CPU has; without them it is #GP, as on the CPU. */
static void spec_ctrl_is_the_vcpus_own(void **state)
{
	struct msr_state s = fresh();
	uint64_t v = 0;

	(void)state;
	assert_int_equal(wr(MSR_SPEC_CTRL, 0x7, &s), MSR_EMULATE); /* IBRS, STIBP, SSBD */
	assert_int_equal(kept.spec_ctrl, 0x7);
	assert_int_equal(rd(MSR_SPEC_CTRL, &s), 0x7);
	assert_int_equal(wr(MSR_SPEC_CTRL, 1ull << 10, &s), MSR_DENY); /* BHI_DIS_S: no BHI_CTRL */
	assert_int_equal(kept.spec_ctrl, 0x7);
	s.spec = &no_spec;
	assert_int_equal(msr_policy(MSR_SPEC_CTRL, 0, &v, &s), MSR_DENY);
	assert_int_equal(wr(MSR_SPEC_CTRL, 0, &s), MSR_DENY);
}

/* IBPB and the L1D flush are commands the guest gives where the CPU has them; the MSRs are write-only. */
static void prediction_and_flush_commands_where_offered(void **state)
{
	struct msr_state s = fresh();
	uint32_t msrs[] = { MSR_PRED_CMD, MSR_FLUSH_CMD };
	unsigned i;
	uint64_t v = 0;

	(void)state;
	for (i = 0; i < 2; i++) {
		s.spec = &spec;
		assert_int_equal(wr(msrs[i], 1, &s), MSR_EMULATE);
		assert_int_equal(wr(msrs[i], 0, &s), MSR_EMULATE);
		assert_int_equal(wr(msrs[i], 2, &s), MSR_DENY);
		assert_int_equal(msr_policy(msrs[i], 0, &v, &s), MSR_DENY);
		s.spec = &no_spec;
		assert_int_equal(wr(msrs[i], 1, &s), MSR_DENY);
	}
	s.spec = &(const struct mitigation_caps){ .ext8_ebx = EBX88_IBPB }; /* AMD's IBPB */
	assert_int_equal(wr(MSR_PRED_CMD, 1, &s), MSR_EMULATE);
	assert_int_equal(wr(MSR_FLUSH_CMD, 1, &s), MSR_DENY);
}

/* IA32_ARCH_CAPABILITIES: the host's "not affected" bits, none announcing an MSR the guest lacks. */
static void arch_capabilities_tell_the_hosts_immunities(void **state)
{
	struct msr_state s = fresh();
	uint64_t v = 0;

	(void)state;
	assert_int_equal(rd(MSR_ARCH_CAPABILITIES, &s), ARCH_CAP_RDCL_NO | ARCH_CAP_MDS_NO);
	assert_int_equal(wr(MSR_ARCH_CAPABILITIES, 0, &s), MSR_DENY);
	s.spec = &no_spec;
	assert_int_equal(msr_policy(MSR_ARCH_CAPABILITIES, 0, &v, &s), MSR_DENY);
}

/* The speculation controls pass to guests, but for those whose MSR the guest does not get. */
static void speculation_controls_pass_but_unemulated_msrs(void **state)
{
	struct cpuid_regs host = { 0, 0, 0, 0xffffffff }, r;

	(void)state;
	r = cpuid_policy(7, 0, host, &guest);
	assert_int_equal(r.edx, 0xffffffff & ~EDX7_CORE_CAPABILITIES);
	host.ebx = 0xffffffff;
	r = cpuid_policy(0x80000008, 0, host, &guest);
	assert_int_equal(r.ebx, 0xffffffff & ~EBX88_VIRT_SSBD);
}

static void efer_is_emulated_without_svme(void **state)
{
	struct msr_state s = fresh();
	uint64_t v = 0;

	(void)state;
	assert_int_equal(msr_policy(0xc0000080, 0, &v, &s), MSR_EMULATE);
	assert_int_equal(v, EFER_LME | EFER_LMA);
	v = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
	assert_int_equal(msr_policy(0xc0000080, 1, &v, &s), MSR_EMULATE);
	assert_int_equal(s.efer, v);
	v = EFER_LME; /* a write cannot clear LMA: the CPU owns it */
	assert_int_equal(msr_policy(0xc0000080, 1, &v, &s), MSR_EMULATE);
	assert_int_equal(s.efer, EFER_LME | EFER_LMA);
	v = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
	assert_int_equal(msr_policy(0xc0000080, 1, &v, &s), MSR_EMULATE);
	v |= EFER_SVME;
	assert_int_equal(msr_policy(0xc0000080, 1, &v, &s), MSR_DENY);
	v = 1ull << 20; /* reserved */
	assert_int_equal(msr_policy(0xc0000080, 1, &v, &s), MSR_DENY);
	assert_int_equal(s.efer, EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE); /* unchanged */
}

static enum msr_action write_efer(struct msr_state *s, uint64_t value)
{
	return msr_policy(0xc0000080, 1, &value, s);
}

static void efer_lme_is_fixed_while_paging_is_on(void **state)
{
	struct msr_state s = fresh();

	(void)state;
	s.cr0 = CR0_PG | 1; /* PE */
	assert_int_equal(write_efer(&s, EFER_LMA), MSR_DENY); /* clears LME */
	assert_int_equal(s.efer, EFER_LME | EFER_LMA);
	assert_int_equal(write_efer(&s, EFER_LME | EFER_NXE), MSR_EMULATE); /* LME kept: fine */
	assert_int_equal(s.efer, EFER_LME | EFER_LMA | EFER_NXE);
	s = fresh();
	s.efer = 0;
	s.cr0 = CR0_PG | 1;
	assert_int_equal(write_efer(&s, EFER_LME), MSR_DENY); /* sets LME */
	assert_int_equal(s.efer, 0);
	s.cr0 = 1; /* paging off: LME may change, as on the way into long mode */
	assert_int_equal(write_efer(&s, EFER_LME), MSR_EMULATE);
	assert_int_equal(s.efer, EFER_LME);
	assert_int_equal(write_efer(&s, 0), MSR_EMULATE);
	assert_int_equal(s.efer, 0);
}

/* CPUID.80000001 EDX as CPUs report it, and the EFER bits each offers. */
static void efer_bits_follow_cpuid(void **state)
{
	(void)state;
	/* Intel Skylake in 64-bit mode: SYSCALL, NX, 1G pages, RDTSCP, LM. */
	assert_int_equal(efer_guest_bits(0x2c100800), EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
	/* Intel Core Duo (Yonah), a 32-bit CPU: XD only. */
	assert_int_equal(efer_guest_bits(0x00100000), EFER_NXE);
	/* Long mode and SYSCALL without NX (a BIOS that hides XD) */
	assert_int_equal(efer_guest_bits(0x20000800), EFER_SCE | EFER_LME | EFER_LMA);
	assert_int_equal(efer_guest_bits(0), 0);
}

static void efer_bits_not_offered_are_refused(void **state)
{
	struct msr_state s = fresh();

	(void)state;
	s.efer_allowed = efer_guest_bits(0x20000800); /* no NX */
	assert_int_equal(write_efer(&s, EFER_LME | EFER_NXE), MSR_DENY);
	assert_int_equal(write_efer(&s, EFER_LME | EFER_SCE), MSR_EMULATE);
	assert_int_equal(s.efer, EFER_LME | EFER_LMA | EFER_SCE);
}

static void sensitive_and_unknown_msrs_are_denied(void **state)
{
	/* 0x79: the microcode update trigger. */
	static const uint32_t denied[] = { 0x3a, 0x480, 0x48b, 0xc0010114, MSR_VM_HSAVE_PA, 0x12345678, 0x1d9, 0x79 };
	struct msr_state s = fresh();
	uint64_t v = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		assert_int_equal(msr_policy(denied[i], 0, &v, &s), MSR_DENY);
		assert_int_equal(msr_policy(denied[i], 1, &v, &s), MSR_DENY);
	}
}

static void switched_msrs_pass(void **state)
{
	struct msr_state s = fresh();
	uint64_t v = 0;

	(void)state;
	assert_int_equal(msr_policy(MSR_FS_BASE, 1, &v, &s), MSR_PASS);
	assert_int_equal(msr_policy(MSR_LSTAR, 0, &v, &s), MSR_PASS);
	assert_int_equal(msr_policy(MSR_TSC, 0, &v, &s), MSR_EMULATE);
	assert_int_equal(v, 12345);
	assert_int_equal(msr_policy(MSR_TSC, 1, &v, &s), MSR_DENY); /* would move the host's TSC */
	assert_false(msr_passthrough(MSR_TSC));
	assert_false(msr_passthrough(0xc0000080));
}

/* Each vCPU's PAT is its own: emulated, each entry a defined memory type. */
static void pat_is_the_vcpus_own(void **state)
{
	static const uint8_t reserved_types[] = { 2, 3, 8, 0xff };
	struct msr_state s = fresh();
	uint64_t v = 0;
	size_t i, byte;

	(void)state;
	assert_false(msr_passthrough(MSR_PAT));
	assert_int_equal(msr_policy(MSR_PAT, 0, &v, &s), MSR_EMULATE);
	assert_int_equal(v, PAT_DEFAULT);
	v = 0x0001050607040100ull; /* UC WC WT WP WB UC- in some order: all defined */
	assert_int_equal(msr_policy(MSR_PAT, 1, &v, &s), MSR_EMULATE);
	assert_int_equal(s.pat, 0x0001050607040100ull);
	for (i = 0; i < sizeof(reserved_types); i++) {
		for (byte = 0; byte < 8; byte++) {
			v = (PAT_DEFAULT & ~(0xffull << (8 * byte))) | ((uint64_t)reserved_types[i] << (8 * byte));
			assert_int_equal(msr_policy(MSR_PAT, 1, &v, &s), MSR_DENY);
		}
	}
	assert_int_equal(s.pat, 0x0001050607040100ull); /* unchanged by the refused writes */
}

/*
 * CPUID.(EAX=0DH,ECX=0) EDX:EAX, the XCR0 components a CPU supports, of
 * CPU generations whose components Intel SDM Vol. 1, 13.1 and AMD APM
 * Vol. 3, E.3.9 list: what each may enable, and what it may not.
 */
#define SANDY_BRIDGE 0x7ull         /* x87, SSE, AVX */
#define SKYLAKE_CLIENT 0x1full      /* ... and MPX BNDREGS, BNDCSR */
#define SKYLAKE_SP 0x2ffull         /* ... and AVX-512 (7:5) and PKRU (9) */
#define ZEN4 0x2e7ull               /* AVX-512 and PKRU, no MPX */
#define SAPPHIRE_RAPIDS 0x602e7ull  /* ZEN4's and AMX TILECFG, TILEDATA (18:17) */

static void xcr0_everything_supported_is_valid(void **state)
{
	(void)state;
	assert_true(xcr0_valid(SANDY_BRIDGE, SANDY_BRIDGE));
	assert_true(xcr0_valid(SKYLAKE_CLIENT, SKYLAKE_CLIENT));
	assert_true(xcr0_valid(SKYLAKE_SP, SKYLAKE_SP));
	assert_true(xcr0_valid(ZEN4, ZEN4));
	assert_true(xcr0_valid(SAPPHIRE_RAPIDS, SAPPHIRE_RAPIDS));
	assert_true(xcr0_valid(1, SAPPHIRE_RAPIDS)); /* x87 alone, as at reset */
	assert_true(xcr0_valid(0x3, SKYLAKE_SP));
}

static void xcr0_needs_x87_and_avx_needs_sse(void **state)
{
	(void)state;
	assert_false(xcr0_valid(0, SANDY_BRIDGE));
	assert_false(xcr0_valid(0x6, SANDY_BRIDGE)); /* no x87 */
	assert_false(xcr0_valid(0x5, SANDY_BRIDGE)); /* AVX without SSE */
}

static void xcr0_bits_not_supported_are_refused(void **state)
{
	(void)state;
	assert_false(xcr0_valid(SKYLAKE_CLIENT, SANDY_BRIDGE));
	assert_false(xcr0_valid(SKYLAKE_SP, ZEN4)); /* MPX on a CPU without it */
	assert_false(xcr0_valid(SAPPHIRE_RAPIDS, SKYLAKE_SP));
	assert_false(xcr0_valid(SANDY_BRIDGE | (1ull << 63), SANDY_BRIDGE | (1ull << 63))); /* reserved */
}

static void xcr0_mpx_bits_are_equal(void **state)
{
	(void)state;
	assert_false(xcr0_valid(0x0f, SKYLAKE_CLIENT)); /* BNDREGS alone */
	assert_false(xcr0_valid(0x17, SKYLAKE_CLIENT)); /* BNDCSR alone */
	assert_true(xcr0_valid(0x1b, SKYLAKE_CLIENT));  /* MPX without AVX: allowed */
	assert_false(xcr0_valid(0x2f7, SKYLAKE_SP));
}

static void xcr0_avx512_all_or_none_and_with_avx(void **state)
{
	uint64_t one;

	(void)state;
	for (one = 1ull << 5; one <= 1ull << 7; one <<= 1) {
		assert_false(xcr0_valid(SANDY_BRIDGE | one, ZEN4));
		assert_false(xcr0_valid(SANDY_BRIDGE | (0xe0 & ~one), ZEN4));
	}
	assert_false(xcr0_valid(0xe3, ZEN4)); /* AVX-512 without AVX */
	assert_false(xcr0_valid(0xe1, ZEN4));
	assert_true(xcr0_valid(0xe7, ZEN4));
	assert_true(xcr0_valid(0xe7, SKYLAKE_SP));
}

static void xcr0_amx_bits_are_equal(void **state)
{
	(void)state;
	assert_false(xcr0_valid(0x202e7, SAPPHIRE_RAPIDS)); /* TILECFG alone */
	assert_false(xcr0_valid(0x402e7, SAPPHIRE_RAPIDS)); /* TILEDATA alone */
	assert_true(xcr0_valid(0x60003, SAPPHIRE_RAPIDS));  /* AMX needs neither AVX nor AVX-512 */
}

/* Supervisor components live in IA32_XSS: never in XCR0, whatever supported says. */
static void xcr0_never_takes_supervisor_state(void **state)
{
	static const unsigned xss_bits[] = { 8, 10, 11, 12, 13, 14, 15, 16 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(xss_bits) / sizeof(xss_bits[0]); i++) {
		uint64_t bit = 1ull << xss_bits[i];
		assert_false(xcr0_valid(SAPPHIRE_RAPIDS | bit, SAPPHIRE_RAPIDS | bit));
	}
	assert_true(xcr0_valid(SAPPHIRE_RAPIDS, SAPPHIRE_RAPIDS | 0x1fd00)); /* PKRU (9) is user state */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(leaf1_hides_vmx_and_shows_the_hypervisor),
		cmocka_unit_test(osxsave_follows_the_guest),
		cmocka_unit_test(apic_bit_follows_the_apic_base_enable),
		cmocka_unit_test(signature_leaf),
		cmocka_unit_test(tsc_rate_is_told_where_it_is_known),
		cmocka_unit_test(paravirtual_clock_leaves),
		cmocka_unit_test(svm_and_perf_counters_hidden),
		cmocka_unit_test(efer_is_emulated_without_svme),
		cmocka_unit_test(efer_lme_is_fixed_while_paging_is_on),
		cmocka_unit_test(efer_bits_follow_cpuid),
		cmocka_unit_test(efer_bits_not_offered_are_refused),
		cmocka_unit_test(sensitive_and_unknown_msrs_are_denied),
		cmocka_unit_test(xcr0_everything_supported_is_valid),
		cmocka_unit_test(xcr0_needs_x87_and_avx_needs_sse),
		cmocka_unit_test(xcr0_bits_not_supported_are_refused),
		cmocka_unit_test(xcr0_mpx_bits_are_equal),
		cmocka_unit_test(xcr0_avx512_all_or_none_and_with_avx),
		cmocka_unit_test(xcr0_amx_bits_are_equal),
		cmocka_unit_test(xcr0_never_takes_supervisor_state),
		cmocka_unit_test(switched_msrs_pass),
		cmocka_unit_test(pat_is_the_vcpus_own),
		cmocka_unit_test(mtrrs_are_kept_and_checked),
		cmocka_unit_test(misc_enable_on_intel_only),
		cmocka_unit_test(amd_host_configuration_msrs_read_zero),
		cmocka_unit_test(tsc_adjust_reads_zero_and_takes_only_zero),
		cmocka_unit_test(xss_offers_no_supervisor_state),
		cmocka_unit_test(topology_leaves_give_the_vcpus_apic_id),
		cmocka_unit_test(microcode_revision_is_one),
		cmocka_unit_test(tsc_aux_is_the_vcpus_own),
		cmocka_unit_test(spec_ctrl_is_the_vcpus_own),
		cmocka_unit_test(prediction_and_flush_commands_where_offered),
		cmocka_unit_test(arch_capabilities_tell_the_hosts_immunities),
		cmocka_unit_test(speculation_controls_pass_but_unemulated_msrs),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
