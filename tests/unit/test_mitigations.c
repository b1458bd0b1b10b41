/* Side-channel mitigations: what a CPU enumerates in, which mitigations out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mitigations.h"

static struct mitigations decide(struct mitigation_caps c)
{
	struct mitigations m;

	mitigations_decide(&c, &m);
	return m;
}

/* QEMU's `-cpu EPYC` under TCG: an AMD CPU without IBPB. */
static void amd_without_ibpb_needs_nothing_and_has_no_barrier(void **state)
{
	struct mitigation_caps c = { .intel = 0 };
	struct mitigations m = decide(c);

	(void)state;
	assert_int_equal(m.ibpb.state, MITIGATION_NOT_AVAILABLE);
	assert_int_equal(m.l1d_flush.state, MITIGATION_NOT_NEEDED);
	assert_int_equal(m.verw.state, MITIGATION_NOT_NEEDED);
}

static void amd_ibpb_is_its_own_bit(void **state)
{
	struct mitigation_caps c = { .intel = 0, .ext8_ebx = EBX88_IBPB };

	(void)state;
	assert_int_equal(decide(c).ibpb.state, MITIGATION_APPLIED);
	c.ext8_ebx = 0;
	c.leaf7_edx = EDX7_IBRS_IBPB; /* Intel's bit, which AMD CPUs may set as well */
	assert_int_equal(decide(c).ibpb.state, MITIGATION_APPLIED);
}

/* An Intel CPU of L1TF's and MDS's time with the microcode that mitigates them. */
static const struct mitigation_caps affected_intel = {
	.intel = 1,
	.leaf7_edx = EDX7_MD_CLEAR | EDX7_IBRS_IBPB | EDX7_STIBP | EDX7_L1D_FLUSH | EDX7_SSBD,
};

static void affected_intel_flushes_l1d_and_needs_no_verw_then(void **state)
{
	struct mitigations m = decide(affected_intel);

	(void)state;
	assert_int_equal(m.ibpb.state, MITIGATION_APPLIED);
	assert_int_equal(m.l1d_flush.state, MITIGATION_APPLIED);
	assert_int_equal(m.verw.state, MITIGATION_NOT_NEEDED); /* the flush clears the buffers */
}

static void old_microcode_is_reported_as_lacking(void **state)
{
	struct mitigation_caps c = { .intel = 1 };
	struct mitigations m = decide(c);

	(void)state;
	assert_int_equal(m.ibpb.state, MITIGATION_NOT_AVAILABLE);
	assert_int_equal(m.l1d_flush.state, MITIGATION_NOT_AVAILABLE);
	assert_int_equal(m.verw.state, MITIGATION_NOT_AVAILABLE);
}

/* Each of RDCL_NO and SKIP_L1DFL_VMENTRY alone says the flush is not needed; VERW then is. */
static void l1tf_free_cpus_take_verw_instead(void **state)
{
	uint64_t no_flush[] = { ARCH_CAP_RDCL_NO, ARCH_CAP_SKIP_L1DFL_VMENTRY, 0x1f /* Bochs' */ };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(no_flush) / sizeof(no_flush[0]); i++) {
		struct mitigation_caps c = affected_intel;
		struct mitigations m;

		c.leaf7_edx |= EDX7_ARCH_CAPABILITIES;
		c.arch_caps = no_flush[i];
		m = decide(c);
		assert_int_equal(m.l1d_flush.state, MITIGATION_NOT_NEEDED);
		assert_int_equal(m.verw.state, MITIGATION_APPLIED);
	}
}

/* MDS_NO ends VERW unless TSX is on without TAA_NO. */
static void mds_no_ends_verw_unless_taa_applies(void **state)
{
	struct mitigation_caps c = affected_intel;

	(void)state;
	c.leaf7_edx |= EDX7_ARCH_CAPABILITIES;
	c.arch_caps = ARCH_CAP_RDCL_NO | ARCH_CAP_MDS_NO;
	assert_int_equal(decide(c).verw.state, MITIGATION_NOT_NEEDED);
	c.leaf7_ebx = EBX7_RTM;
	assert_int_equal(decide(c).verw.state, MITIGATION_APPLIED);
	c.arch_caps |= ARCH_CAP_TAA_NO;
	assert_int_equal(decide(c).verw.state, MITIGATION_NOT_NEEDED);
	c.leaf7_edx &= ~EDX7_MD_CLEAR;
	c.arch_caps &= ~ARCH_CAP_TAA_NO;
	assert_int_equal(decide(c).verw.state, MITIGATION_NOT_AVAILABLE);
}

static void every_decision_says_why(void **state)
{
	struct mitigations m = decide(affected_intel);

	(void)state;
	assert_non_null(m.ibpb.why);
	assert_non_null(m.l1d_flush.why);
	assert_non_null(m.verw.why);
	assert_string_equal(mitigation_state_name(MITIGATION_APPLIED), "applied");
	assert_string_equal(mitigation_state_name(MITIGATION_NOT_NEEDED), "not needed");
	assert_string_equal(mitigation_state_name(MITIGATION_NOT_AVAILABLE), "not available");
}

static void spec_ctrl_bits_follow_the_cpu(void **state)
{
	struct mitigation_caps c = { 0 };

	(void)state;
	assert_int_equal(spec_ctrl_bits(&c), 0); /* no IA32_SPEC_CTRL */
	c.leaf7_edx = EDX7_IBRS_IBPB | EDX7_SSBD;
	assert_int_equal(spec_ctrl_bits(&c), 0x5);
	c.leaf72_edx = EDX72_BHI_CTRL | EDX72_RRSBA_CTRL | EDX72_IPRED_CTRL;
	assert_int_equal(spec_ctrl_bits(&c), 0x47d);
	c = (struct mitigation_caps){ .ext8_ebx = EBX88_IBRS | EBX88_STIBP | EBX88_SSBD | EBX88_PSFD };
	assert_int_equal(spec_ctrl_bits(&c), 0x87);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(amd_without_ibpb_needs_nothing_and_has_no_barrier),
		cmocka_unit_test(amd_ibpb_is_its_own_bit),
		cmocka_unit_test(affected_intel_flushes_l1d_and_needs_no_verw_then),
		cmocka_unit_test(old_microcode_is_reported_as_lacking),
		cmocka_unit_test(l1tf_free_cpus_take_verw_instead),
		cmocka_unit_test(mds_no_ends_verw_unless_taa_applies),
		cmocka_unit_test(every_decision_says_why),
		cmocka_unit_test(spec_ctrl_bits_follow_the_cpu),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
