#include "controls.h"

#define BASIC_TRUE_CTLS (1ull << 55)
#define CR0_PE (1ull << 0)
#define CR0_PG (1ull << 31)

struct want {
	uint32_t required;  /* without these we refuse */
	uint32_t optional;  /* used when offered */
};

/* Allowed-0 settings must be 1; allowed-1 settings may be 1. */
static int adjust(uint64_t msr, struct want w, uint32_t *value)
{
	uint32_t must = (uint32_t)msr, may = (uint32_t)(msr >> 32);

	*value = ((w.required | w.optional) | must) & may;
	return (*value & w.required) == w.required ? 0 : -1;
}

static const char *missing(uint64_t msr, struct want w, const char *const names[32])
{
	uint32_t may = (uint32_t)(msr >> 32), lacking = w.required & ~may;
	int bit;

	for (bit = 0; bit < 32; bit++)
		if (lacking >> bit & 1)
			return names[bit] ? names[bit] : "a required VMX control";
	return "a required VMX control";
}

static const char *const proc_names[32] = {
	[3] = "use TSC offsetting", [7] = "HLT exiting", [19] = "CR8-load exiting", [20] = "CR8-store exiting", [24] = "unconditional I/O exiting", [28] = "MSR bitmaps",
	[31] = "secondary processor-based controls",
};
static const char *const proc2_names[32] = { [1] = "EPT" };
static const char *const exit_names[32] = { [9] = "64-bit host", [20] = "save EFER on exit",
					    [21] = "load EFER on exit" };
static const char *const entry_names[32] = { [9] = "IA-32e mode guest", [15] = "load EFER on entry" };
static const char *const pin_names[32] = { [0] = "external-interrupt exiting", [3] = "NMI exiting",
					   [5] = "virtual NMIs" };

#define TRY(msr, w, out, names)                       \
	do {                                          \
		if (adjust((msr), (w), (out)))        \
			return missing((msr), (w), names); \
	} while (0)

const char *vmx_compute_controls(const struct vmx_caps *caps, struct vmx_controls *c)
{
	int use_true = (caps->basic & BASIC_TRUE_CTLS) != 0;
	/*
	 * NMIs exit (they are the host's), and so the guest's IRET no longer
	 * ends the blocking an NMI injected into it began: only with virtual
	 * NMIs does it end that blocking, as on hardware (SDM Vol. 3C, 26.3,
	 * IRET; 25.6.1). Without them, the guest took one NMI and no other.
	 * Every CPU with EPT has them.
	 */
	struct want pin = { PIN_EXTERNAL_INTERRUPT | PIN_NMI | PIN_VIRTUAL_NMIS, PIN_PREEMPTION_TIMER };
	struct want proc = { PROC_TSC_OFFSETTING | PROC_HLT | PROC_MWAIT | PROC_MONITOR | PROC_RDPMC | PROC_UNCONDITIONAL_IO |
				     PROC_MSR_BITMAPS | PROC_SECONDARY, PROC_TPR_SHADOW | PROC_INTERRUPT_WINDOW };
	struct want proc2 = { PROC2_EPT, PROC2_VPID | PROC2_UNRESTRICTED | PROC2_WBINVD | PROC2_RDTSCP |
					 PROC2_INVPCID | PROC2_XSAVES };
	/*
	 * No "acknowledge interrupt on exit": the interrupt that ends a guest's
	 * run stays pending in the local APIC and reaches the host's IDT once
	 * it sets IF, where it is EOIed; acknowledged at exit, its in-service
	 * bit would stay set and block every vector of its priority class
	 * (SDM Vol. 3C, 24.7.1 and 27.2.2).
	 */
	struct want exit = { EXIT_HOST_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER,
			     EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_PREEMPTION_TIMER };
	struct want entry = { ENTRY_IA32E_GUEST | ENTRY_LOAD_EFER, ENTRY_LOAD_PAT };

	/* A TSC offset per partition; HLT, MWAIT, MONITOR, RDPMC and I/O exit; CR3 accesses only
	 * where the CPU insists. */
	TRY(use_true ? caps->true_pinbased : caps->pinbased, pin, &c->pinbased, pin_names);
	TRY(use_true ? caps->true_procbased : caps->procbased, proc, &c->procbased, proc_names);
	if (!(c->procbased & PROC_TPR_SHADOW)) {
		/* Without a TPR shadow a guest's MOV to CR8 would set the host's own TPR. */
		proc.required |= PROC_CR8_LOAD | PROC_CR8_STORE;
		TRY(use_true ? caps->true_procbased : caps->procbased, proc, &c->procbased, proc_names);
	}
	c->tpr_shadow = (c->procbased & PROC_TPR_SHADOW) != 0;
	/* Allowed, to be set while an interrupt waits for the guest (vmx.c): off to begin with. */
	if (!(c->procbased & PROC_INTERRUPT_WINDOW))
		return "interrupt-window exiting";
	c->procbased &= ~PROC_INTERRUPT_WINDOW;
	TRY(caps->procbased2, proc2, &c->procbased2, proc2_names);
	TRY(use_true ? caps->true_exit : caps->exit, exit, &c->exit, exit_names);
	TRY(use_true ? caps->true_entry : caps->entry, entry, &c->entry, entry_names);
	c->entry &= ~ENTRY_IA32E_GUEST; /* set per vCPU, with the guest's EFER.LMA */
	c->pat_in_vmcs = (c->entry & ENTRY_LOAD_PAT) && (c->exit & EXIT_SAVE_PAT) && (c->exit & EXIT_LOAD_PAT);
	if (!c->pat_in_vmcs) { /* all three or none: vmx.c switches PAT itself */
		c->entry &= ~ENTRY_LOAD_PAT;
		c->exit &= ~(EXIT_SAVE_PAT | EXIT_LOAD_PAT);
	}
	c->preemption_timer = (c->pinbased & PIN_PREEMPTION_TIMER) != 0;
	/* Kept on where offered: every run has a slice end, an exclusive vCPU's too (scheduler.c). */
	if (!c->preemption_timer) /* saving the count needs the timer (SDM Vol. 3C, 27.2.1.2) */
		c->exit &= ~EXIT_SAVE_PREEMPTION_TIMER;
	c->timer_saved = (c->exit & EXIT_SAVE_PREEMPTION_TIMER) != 0;
	c->vpid = (c->procbased2 & PROC2_VPID) != 0;
	c->unrestricted = (c->procbased2 & PROC2_UNRESTRICTED) != 0;
	/* IA32_VMX_EPT_VPID_CAP (SDM Vol. 3D, A.10): 4-level walks, WB, sizes, INVEPT/INVVPID types. */
	if (!(caps->ept_vpid & (1ull << 6)) || !(caps->ept_vpid & (1ull << 14)))
		return "EPT with 4-level walks and write-back tables";
	if (!(caps->ept_vpid & (1ull << 20)))
		return "INVEPT";
	c->ept_2m = (caps->ept_vpid >> 16) & 1;
	c->ept_1g = (caps->ept_vpid >> 17) & 1;
	c->invept_types = ((caps->ept_vpid >> 25) & 1 ? 2 : 0) | ((caps->ept_vpid >> 26) & 1 ? 4 : 0);
	/* IA32_VMX_EPT_VPID_CAP bits 41-43: INVVPID types 1-3 (SDM Vol. 3D, A.10). */
	c->invvpid_types = c->vpid && ((caps->ept_vpid >> 32) & 1) ? (caps->ept_vpid >> 40) & 0xe : 0;
	if (!c->invept_types)
		return "an INVEPT type";
	if (c->vpid && !(c->invvpid_types & 6)) /* a flush of a whole VPID: single- or all-context */
		c->vpid = 0; /* VPID without INVVPID cannot be flushed: go without it */
	if (!c->vpid)
		c->procbased2 &= ~PROC2_VPID;
	return 0;
}

uint64_t vmx_fix_cr0(const struct vmx_caps *caps, uint64_t cr0, int unrestricted)
{
	uint64_t fixed0 = caps->cr0_fixed0;

	if (unrestricted)
		fixed0 &= ~(CR0_PE | CR0_PG); /* SDM Vol. 3D, A.7: unrestricted guests may clear them */
	return (cr0 | fixed0) & caps->cr0_fixed1;
}

uint64_t vmx_fix_cr4(const struct vmx_caps *caps, uint64_t cr4)
{
	return (cr4 | caps->cr4_fixed0) & caps->cr4_fixed1;
}
