/* VMCS control values from capability MSRs, on values read from real
 * CPUs and emulators: every control honours the CPU's allowed-0 and
 * allowed-1 settings, what we need is there, and what is missing is named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vmx/controls.h"

/* Bochs 3.0 (corei7_skylake_x model), as this hypervisor logs them at debug level. */
static const struct vmx_caps bochs_skylake_x = {
	.basic = 0xd810000000002b,
	.pinbased = 0xff00000016,
	.procbased = 0xfff9fffe0401e172,
	.exit = 0x407fffff00036dff,
	.entry = 0xffff000011ff,
	.misc = 0x600401e0,
	.cr0_fixed0 = 0x80000021,
	.cr0_fixed1 = 0xffffffff,
	.cr4_fixed0 = 0x2000,
	.cr4_fixed1 = 0x3727ff,
	.procbased2 = 0x2577fff00000000,
	.ept_vpid = 0xf0106734141,
	.true_pinbased = 0xff00000016,
	.true_procbased = 0xfff9fffe04006172,
	.true_exit = 0x407fffff00036dfb,
	.true_entry = 0xffff000011fb,
};

static void honours(uint64_t msr, uint32_t value)
{
	uint32_t must = (uint32_t)msr, may = (uint32_t)(msr >> 32);

	assert_int_equal(value & must, must);
	assert_int_equal(value & ~may, 0);
}

static void check_against(const struct vmx_caps *c, const struct vmx_controls *v)
{
	int t = (c->basic >> 55) & 1;

	honours(t ? c->true_pinbased : c->pinbased, v->pinbased);
	honours(t ? c->true_procbased : c->procbased, v->procbased);
	honours(c->procbased2, v->procbased2);
	honours(t ? c->true_exit : c->exit, v->exit);
	/* IA-32e mode guest is chosen per vCPU: check with it set, as our guests start. */
	honours(t ? c->true_entry : c->entry, v->entry | ENTRY_IA32E_GUEST);
	assert_true(v->procbased & PROC_HLT);
	assert_true(v->procbased & PROC_UNCONDITIONAL_IO);
	assert_true(v->procbased & PROC_MSR_BITMAPS);
	assert_true(v->procbased2 & PROC2_EPT);
	assert_true(v->exit & EXIT_HOST_64);
	assert_true(v->exit & EXIT_LOAD_EFER);
	assert_true(v->entry & ENTRY_LOAD_EFER);
	assert_true(v->pinbased & PIN_EXTERNAL_INTERRUPT);
}

static void bochs_gets_everything(void **state)
{
	struct vmx_controls v;

	(void)state;
	assert_null(vmx_compute_controls(&bochs_skylake_x, &v));
	check_against(&bochs_skylake_x, &v);
	assert_true(v.vpid);
	assert_true(v.unrestricted);
	assert_true(v.preemption_timer);
	assert_true(v.ept_2m);
	assert_true(v.ept_1g);
	assert_int_not_equal(v.invept_types, 0);
	/* TRUE controls let CR3 load/store exiting go (they are default-1 otherwise). */
	assert_int_equal(v.procbased & (PROC_CR3_LOAD | PROC_CR3_STORE), 0);
	assert_int_equal(v.pinbased & PIN_PREEMPTION_TIMER, 0); /* the scheduler turns it on */
}

static void without_true_msrs_default1_bits_stay(void **state)
{
	struct vmx_caps c = bochs_skylake_x;
	struct vmx_controls v;

	(void)state;
	c.basic &= ~(1ull << 55);
	assert_null(vmx_compute_controls(&c, &v));
	check_against(&c, &v);
	/* The non-TRUE MSR requires CR3 exiting (allowed-0 bits 15, 16). */
	assert_int_equal(v.procbased & (PROC_CR3_LOAD | PROC_CR3_STORE), PROC_CR3_LOAD | PROC_CR3_STORE);
}

static void no_preemption_timer_is_not_fatal(void **state)
{
	struct vmx_caps c = bochs_skylake_x;
	struct vmx_controls v;

	(void)state;
	c.pinbased &= ~(PIN_PREEMPTION_TIMER * (1ull << 32));
	c.true_pinbased &= ~(PIN_PREEMPTION_TIMER * (1ull << 32));
	assert_null(vmx_compute_controls(&c, &v));
	assert_false(v.preemption_timer);
	check_against(&c, &v);
}

static void missing_features_are_named(void **state)
{
	struct vmx_caps c = bochs_skylake_x;
	struct vmx_controls v;

	(void)state;
	c.procbased2 &= ~((uint64_t)PROC2_EPT << 32);
	assert_string_equal(vmx_compute_controls(&c, &v), "EPT");
	c = bochs_skylake_x;
	c.true_procbased &= ~((uint64_t)PROC_SECONDARY << 32);
	assert_string_equal(vmx_compute_controls(&c, &v), "secondary processor-based controls");
	c = bochs_skylake_x;
	c.true_exit &= ~((uint64_t)EXIT_LOAD_EFER << 32);
	assert_string_equal(vmx_compute_controls(&c, &v), "load EFER on exit");
	c = bochs_skylake_x;
	c.ept_vpid &= ~(1ull << 14); /* no write-back EPT tables */
	assert_string_equal(vmx_compute_controls(&c, &v), "EPT with 4-level walks and write-back tables");
}

static void vpid_without_invvpid_is_dropped(void **state)
{
	struct vmx_caps c = bochs_skylake_x;
	struct vmx_controls v;

	(void)state;
	c.ept_vpid &= ~(1ull << 32); /* INVVPID not supported */
	assert_null(vmx_compute_controls(&c, &v));
	assert_false(v.vpid);
	assert_int_equal(v.procbased2 & PROC2_VPID, 0);
}

static void fixed_cr_bits(void **state)
{
	(void)state;
	/* Bochs: PE, NE, PG fixed to 1 in CR0; VMXE in CR4. */
	assert_int_equal(vmx_fix_cr0(&bochs_skylake_x, 0, 0), 0x80000021);
	assert_int_equal(vmx_fix_cr0(&bochs_skylake_x, 0, 1), 0x20); /* unrestricted: PE, PG free */
	assert_int_equal(vmx_fix_cr4(&bochs_skylake_x, 0x20), 0x2020);
	assert_int_equal(vmx_fix_cr4(&bochs_skylake_x, 1ull << 23), 0x2000); /* not allowed: cleared */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bochs_gets_everything),
		cmocka_unit_test(without_true_msrs_default1_bits_stay),
		cmocka_unit_test(no_preemption_timer_is_not_fatal),
		cmocka_unit_test(missing_features_are_named),
		cmocka_unit_test(vpid_without_invvpid_is_dropped),
		cmocka_unit_test(fixed_cr_bits),
	};

	return cmocka_run_group_tests_name("vmx_controls", tests, NULL, NULL);
}
