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

/*
 * Physical Intel CPUs, as VirtualBox's VBox.log prints them ("HM: MSR_IA32_VMX_..."),
 * from logs published in public repositories:
 * Coffee Lake, CPUID family 6 model 158 stepping 10 (EPT with 1G pages, PML, mode-based EPT);
 */
static const struct vmx_caps intel_coffee_lake = {
	.basic = 0xda040000000004,
	.pinbased = 0x7f00000016,
	.procbased = 0xfff9fffe0401e172,
	.exit = 0x1ffffff00036dff,
	.entry = 0x3ffff000011ff,
	.misc = 0x7004c1e7,
	.cr0_fixed0 = 0x80000021,
	.cr0_fixed1 = 0xffffffff,
	.cr4_fixed0 = 0x2000,
	.cr4_fixed1 = 0x3727ff,
	.procbased2 = 0x5fbcff00000000,
	.ept_vpid = 0xf0106734141,
	.true_pinbased = 0x7f00000016,
	.true_procbased = 0xfff9fffe04006172,
	.true_exit = 0x1ffffff00036dfb,
	.true_entry = 0x3ffff000011fb,
};

/* Ivy Bridge, CPUID family 6 model 58 stepping 9 (EPT without 1G pages, no INVPCID in VMX). */
static const struct vmx_caps intel_ivy_bridge = {
	.basic = 0xda040000000010,
	.pinbased = 0x7f00000016,
	.procbased = 0xfff9fffe0401e172,
	.exit = 0x7fffff00036dff,
	.entry = 0xffff000011ff,
	.misc = 0x100401e5,
	.cr0_fixed0 = 0x80000021,
	.cr0_fixed1 = 0xffffffff,
	.cr4_fixed0 = 0x2000,
	.cr4_fixed1 = 0x1767ff,
	.procbased2 = 0x8ff00000000,
	.ept_vpid = 0xf0106114141,
	.true_pinbased = 0x7f00000016,
	.true_procbased = 0xfff9fffe04006172,
	.true_exit = 0x7fffff00036dfb,
	.true_entry = 0xffff000011fb,
};

/*
 * IA32_VMX_PINBASED_CTLS as a nested-VMX guest published it (a kernel module's
 * output in a public repository): allowed-1 bits 0-5 only, no preemption timer.
 * The other MSRs of that dump are not all published; see nested_without_preemption_timer.
 */
#define NESTED_PINBASED 0x3f00000016ull

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
	assert_true(v->pinbased & PIN_NMI);
	assert_true(v->pinbased & PIN_VIRTUAL_NMIS); /* the guest's IRET ends the blocking its NMI began */
	assert_int_equal(v->exit & EXIT_ACK_INTERRUPT, 0); /* the host's IDT takes and EOIs it */
	/* A guest's MOV to CR8 never reaches the host's TPR: shadowed, or it exits both ways. */
	if (v->tpr_shadow)
		assert_true(v->procbased & PROC_TPR_SHADOW);
	else
		assert_int_equal(v->procbased & (PROC_CR8_LOAD | PROC_CR8_STORE), PROC_CR8_LOAD | PROC_CR8_STORE);
	/* PAT is switched whole by the VMCS, or not touched by it at all (vmx.c switches it). */
	if (v->pat_in_vmcs) {
		assert_true(v->entry & ENTRY_LOAD_PAT);
		assert_int_equal(v->exit & (EXIT_SAVE_PAT | EXIT_LOAD_PAT), EXIT_SAVE_PAT | EXIT_LOAD_PAT);
	} else {
		assert_int_equal(v->entry & ENTRY_LOAD_PAT, 0);
		assert_int_equal(v->exit & (EXIT_SAVE_PAT | EXIT_LOAD_PAT), 0);
	}
	/* The count is saved only with the timer on, as VM entry checks (SDM Vol. 3C, 27.2.1.2). */
	assert_int_equal(v->timer_saved, (v->exit & EXIT_SAVE_PREEMPTION_TIMER) != 0);
	if (!v->preemption_timer)
		assert_false(v->timer_saved);
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
	assert_true(v.pinbased & PIN_PREEMPTION_TIMER); /* on for every run: each has a slice end */
	assert_true(v.timer_saved); /* allowed-1 bit 22 of its exit controls */
	assert_true(v.tpr_shadow);
	assert_int_equal(v.procbased & (PROC_CR8_LOAD | PROC_CR8_STORE), 0); /* CR8 runs without exits */
	assert_true(v.pat_in_vmcs);
}

/* Without a TPR shadow MOV CR8 exits; without CR8 exiting either, the CPU is refused. */
static void cr8_exits_without_tpr_shadow(void **state)
{
	struct vmx_caps c = bochs_skylake_x;
	struct vmx_controls v;

	(void)state;
	c.procbased &= ~((uint64_t)PROC_TPR_SHADOW << 32);
	c.true_procbased &= ~((uint64_t)PROC_TPR_SHADOW << 32);
	assert_null(vmx_compute_controls(&c, &v));
	check_against(&c, &v);
	assert_false(v.tpr_shadow);
	c.true_procbased &= ~((uint64_t)PROC_CR8_LOAD << 32);
	assert_string_equal(vmx_compute_controls(&c, &v), "CR8-load exiting");
}

/* Half the PAT controls are no PAT controls: then none is used, and vmx.c switches PAT. */
static void pat_switched_by_hand_without_all_controls(void **state)
{
	struct vmx_caps c = bochs_skylake_x;
	struct vmx_controls v;

	(void)state;
	c.entry &= ~((uint64_t)ENTRY_LOAD_PAT << 32);
	c.true_entry &= ~((uint64_t)ENTRY_LOAD_PAT << 32);
	assert_null(vmx_compute_controls(&c, &v));
	check_against(&c, &v);
	assert_false(v.pat_in_vmcs);
}

static void coffee_lake(void **state)
{
	struct vmx_controls v;

	(void)state;
	assert_null(vmx_compute_controls(&intel_coffee_lake, &v));
	check_against(&intel_coffee_lake, &v);
	assert_true(v.vpid && v.unrestricted && v.preemption_timer && v.ept_2m && v.ept_1g);
	assert_int_equal(v.invept_types, 2 | 4);
	assert_int_equal(vmx_fix_cr4(&intel_coffee_lake, 0x20), 0x2020);
}

static void ivy_bridge(void **state)
{
	struct vmx_controls v;

	(void)state;
	assert_null(vmx_compute_controls(&intel_ivy_bridge, &v));
	check_against(&intel_ivy_bridge, &v);
	assert_true(v.vpid && v.unrestricted && v.preemption_timer && v.ept_2m);
	assert_false(v.ept_1g); /* EPT_VPID_CAP bit 17 clear on this CPU */
	/* Only what the CPU offers: INVPCID and XSAVES are not allowed-1 here. */
	assert_int_equal(v.procbased2 & (PROC2_INVPCID | PROC2_XSAVES), 0);
}

/* A nested guest's real pin-based MSR on an otherwise Coffee Lake set: no timer, still runs. */
static void nested_without_preemption_timer(void **state)
{
	struct vmx_caps c = intel_coffee_lake;
	struct vmx_controls v;

	(void)state;
	c.pinbased = c.true_pinbased = NESTED_PINBASED;
	assert_null(vmx_compute_controls(&c, &v));
	check_against(&c, &v);
	assert_false(v.preemption_timer);
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
	c = bochs_skylake_x;
	c.true_pinbased &= ~((uint64_t)PIN_VIRTUAL_NMIS << 32);
	assert_string_equal(vmx_compute_controls(&c, &v), "virtual NMIs");
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

/* Only a flush of a whole VPID will do: single-context or all-context INVVPID (SDM Vol. 3D, A.10). */
static void vpid_needs_a_whole_context_invvpid(void **state)
{
	struct vmx_caps c = bochs_skylake_x;
	struct vmx_controls v;

	(void)state;
	c.ept_vpid &= ~(0xfull << 40);
	c.ept_vpid |= 1ull << 42; /* all-context only */
	assert_null(vmx_compute_controls(&c, &v));
	assert_true(v.vpid);
	assert_int_equal(v.invvpid_types, 4);
	c.ept_vpid &= ~(0xfull << 40);
	c.ept_vpid |= (1ull << 40) | (1ull << 43); /* individual-address, single-context-retaining-globals */
	assert_null(vmx_compute_controls(&c, &v));
	assert_false(v.vpid);
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
		cmocka_unit_test(coffee_lake),
		cmocka_unit_test(ivy_bridge),
		cmocka_unit_test(nested_without_preemption_timer),
		cmocka_unit_test(without_true_msrs_default1_bits_stay),
		cmocka_unit_test(no_preemption_timer_is_not_fatal),
		cmocka_unit_test(missing_features_are_named),
		cmocka_unit_test(vpid_without_invvpid_is_dropped),
		cmocka_unit_test(vpid_needs_a_whole_context_invvpid),
		cmocka_unit_test(fixed_cr_bits),
		cmocka_unit_test(cr8_exits_without_tpr_shadow),
		cmocka_unit_test(pat_switched_by_hand_without_all_controls),
	};

	return cmocka_run_group_tests_name("vmx_controls", tests, NULL, NULL);
}
