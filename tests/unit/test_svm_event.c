/*
 * Event delivery on the AMD-V path: what hv/vcpu_irq.c gives a vCPU at
 * each entry, from its local APIC (hv/vdev/vlapic.c), through the
 * backend's VMCB event code (arch/x86/svm/svm_event.c), on a VMCB whose
 * VMRUN is modelled here as AMD's APM Vol. 2 describes it: EVENTINJ goes
 * in first, whatever RFLAGS.IF says (15.20); an intercept during its
 * delivery, or during the delivery of an event the guest raised itself,
 * leaves that event in EXITINTINFO and RIP where it was (15.7.2); the
 * return address an injected event pushes is the VMCB's RIP (no NRIP
 * save here, as in QEMU); a virtual interrupt (V_IRQ) is taken, which
 * the VINTR intercept turns into an exit, once RFLAGS.IF is set, no
 * interrupt shadow holds and V_INTR_PRIO is above V_TPR (15.21.4); an
 * intercepted IRET exits before it runs, RIP at it (15.9). The
 * model leaves EVENTINJ as it was at #VMEXIT, the least the hardware
 * promises: only the hypervisor's own rewrite keeps an event from going
 * in twice. Each delivery is logged with the return address it pushed;
 * the tests check that each event arrives once, in its order, with its
 * error code, and that a waiting interrupt always has its window.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "partition.h"
#include "scheduler.h"
#include "svm/svm_event.h"
#include "vcpu_irq.h"

#define RFLAGS_IF (1ull << 9)
#define MSR_APIC_BASE 0x1b
#define MSR_X2APIC_TPR 0x808
#define MSR_X2APIC_EOI 0x80b
#define VEC_BP 3
#define VEC_GP 13
#define GUEST_RIP 0x1000ull
#define HANDLER_RIP 0x8000ull
#define INT_LENGTH 2 /* CD ib */
#define INT3_LENGTH 1 /* CC */

/* ---- the rest of the hypervisor, as far as vcpu_irq.c reaches ------------ */

static struct cfg_partition cfg = { .vcpus = 2 };
static struct partition part = { .cfg = &cfg };

uint64_t arch_tsc(void)
{
	return 0; /* no APIC timer runs here */
}

uint64_t arch_tsc_hz(void)
{
	return 1000000000ull;
}

unsigned arch_phys_addr_bits(void)
{
	return 46;
}

void scheduler_wake(struct vcpu *v)
{
	(void)v; /* the test runs its vCPU itself */
}

void partition_init_signal(struct vcpu *v)
{
	(void)v;
	fail_msg("an INIT: nobody sends one here");
}

void partition_startup_signal(struct vcpu *v, uint8_t vector)
{
	(void)v;
	(void)vector;
	fail_msg("a STARTUP IPI: nobody sends one here");
}

void partition_log_guest(struct partition *p, enum log_level level, const char *f, ...)
{
	(void)p;
	(void)level;
	fail_msg("unexpected log line: %s", f);
}

uint64_t part_clock_guest_offset(const struct part_clock *c)
{
	(void)c;
	return 0;
}

/* ---- the vCPU: its VMCB, and the backend's operations on it ---------------- */

static struct vmcb vmcb;
static struct svm_nmi nmi;
static struct vcpu *v = &part.vcpus[0];

static uint64_t get_reg(struct vcpu *u, enum vcpu_reg r)
{
	(void)u;
	if (r == REG_CR8)
		return svm_event_cr8(&vmcb);
	return r == REG_RFLAGS ? vmcb.rflags : 0;
}

static void set_reg(struct vcpu *u, enum vcpu_reg r, uint64_t value)
{
	(void)u;
	assert_int_equal(r, REG_CR8); /* the only register vcpu_irq.c writes */
	svm_event_set_cr8(&vmcb, value);
}

static void inject(struct vcpu *u, enum event_kind kind, uint8_t vector, int has_error, uint32_t error)
{
	(void)u;
	svm_event_inject(&vmcb, &nmi, kind, vector, has_error, error);
}

static int can_inject(struct vcpu *u, enum event_kind kind)
{
	(void)u;
	return svm_event_can_inject(&vmcb, &nmi, kind);
}

static void interrupt_window(struct vcpu *u, unsigned priority_class)
{
	(void)u;
	svm_event_window(&vmcb, priority_class);
}

static const struct vcpu_ops ops = {
	.get_reg = get_reg, .set_reg = set_reg,
	.inject = inject, .can_inject = can_inject, .interrupt_window = interrupt_window,
};

/* ---- the CPU: VMRUN and the guest's own events ------------------------------ */

struct delivery {
	uint64_t event;      /* in EVENTINJ's format, error code included */
	uint64_t return_rip; /* what the handler's IRET goes back to */
};

static struct delivery log_of[16];
static unsigned delivered;
static int guest_exited; /* the guest's run ended in an intercept of its own */

static void deliver(uint64_t event, uint64_t return_rip)
{
	assert_true(delivered < sizeof(log_of) / sizeof(log_of[0]));
	log_of[delivered++] = (struct delivery){ event, return_rip };
	vmcb.rflags &= ~RFLAGS_IF; /* through an interrupt gate */
	vmcb.interrupt_shadow = 0;
	vmcb.rip = HANDLER_RIP;
}

/* #VMEXIT, and what the backend does first after it (svm.c, svm_run and translate_exit). */
static void vmexit(uint64_t code, uint64_t interrupted_event)
{
	vmcb.exit_code = code;
	vmcb.exit_int_info = interrupted_event;
	guest_exited = 1;
	svm_event_after_exit(&vmcb);
	if (code == VMEXIT_IRET)
		svm_event_iret_reached(&vmcb, &nmi); /* as svm.c's translate_exit */
}

static int virtual_interrupt_taken(void)
{
	unsigned priority = (unsigned)((vmcb.v_intr & V_INTR_PRIO_MASK) >> V_INTR_PRIO_SHIFT);

	return (vmcb.v_intr & V_IRQ) && (vmcb.rflags & RFLAGS_IF) && !(vmcb.interrupt_shadow & 1) &&
	       ((vmcb.v_intr & V_IGN_TPR) || priority > svm_event_cr8(&vmcb));
}

/*
 * The hypervisor's entry (vcpu_irq_inject, as before each VMRUN), then
 * VMRUN: EVENTINJ delivered, unless an intercept during its delivery
 * (delivery_exit: a nested page fault on the handler's stack, say, or a
 * physical interrupt) ends the run first; then the guest runs (guest, if
 * any: what it does that exits not), and, if a virtual interrupt can be
 * taken, the VINTR intercept ends the run, else the host's timer does
 * (an exit that interrupted no delivery).
 */
static void run(uint64_t delivery_exit, void (*guest)(void))
{
	guest_exited = 0;
	vcpu_irq_inject(v);
	if (vmcb.event_inject & EVENT_VALID) {
		if (delivery_exit) {
			vmexit(delivery_exit, vmcb.event_inject);
			return;
		}
		deliver(vmcb.event_inject, vmcb.rip);
	}
	if (guest)
		guest();
	if (guest_exited)
		return;
	if ((vmcb.intercept_misc1 & MISC1_VINTR) && virtual_interrupt_taken())
		vmexit(VMEXIT_VINTR, 0);
	else
		vmexit(VMEXIT_INTR, 0);
}

static void enter(uint64_t delivery_exit)
{
	run(delivery_exit, 0);
}

/* The handler's EOI: an x2APIC write, an exit of its own. */
static void eoi(void)
{
	uint64_t zero = 0;

	assert_int_equal(vcpu_apic_msr(v, 1, MSR_X2APIC_EOI, &zero), 0);
}

/* The handler's IRET, at its RIP: back where its event came, interrupts on; or its intercept. */
static void iret(void)
{
	assert_true(delivered > 0);
	if (vmcb.intercept_misc1 & MISC1_IRET) {
		vmexit(VMEXIT_IRET, 0);
		return;
	}
	vmcb.rip = log_of[delivered - 1].return_rip;
	vmcb.rflags |= RFLAGS_IF;
}

/*
 * The guest runs the instruction at GUEST_RIP, INTn or INT3 (length
 * says which): delivered, or, if delivery_exit, an intercept during the
 * delivery leaves the event in EXITINTINFO and RIP at the instruction.
 */
static void guest_raises(uint64_t event, unsigned length, uint64_t delivery_exit)
{
	assert_int_equal(vmcb.rip, GUEST_RIP);
	if (delivery_exit)
		vmexit(delivery_exit, event);
	else
		deliver(event, GUEST_RIP + length);
}

static void raise_interrupt(uint8_t vector)
{
	struct irq_msg m = { .vector = vector, .mode = IRQ_FIXED, .dest = v->id };

	assert_int_equal(irq_deliver(&part, &m), 0);
}

static void raise_nmi(void)
{
	struct irq_msg m = { .mode = IRQ_NMI, .dest = v->id };

	assert_int_equal(irq_deliver(&part, &m), 0);
}

static uint64_t interrupt(uint8_t vector)
{
	return vector | EVENT_TYPE_INTR | EVENT_VALID;
}

static unsigned window_class(void)
{
	if (!(vmcb.v_intr & V_IRQ))
		return 0;
	assert_true(vmcb.intercept_misc1 & MISC1_VINTR);
	return (unsigned)((vmcb.v_intr & V_INTR_PRIO_MASK) >> V_INTR_PRIO_SHIFT);
}

/* A vCPU running at GUEST_RIP, interrupts on, its APIC in x2APIC mode and software-enabled. */
static int reset(void **state)
{
	struct vlapic_effects fx;

	(void)state;
	memset(&vmcb, 0, sizeof(vmcb));
	nmi = (struct svm_nmi){ 0 };
	vmcb.v_intr = V_INTR_MASKING;
	vmcb.rip = GUEST_RIP;
	vmcb.rflags = 2 | RFLAGS_IF;
	delivered = 0;
	*v = (struct vcpu){ .part = &part, .ops = &ops, .id = 0, .wake_vector = -1 };
	vcpu_irq_reset(v);
	assert_int_equal(vlapic_set_base(&v->apic, v->apic.base | APIC_BASE_X2APIC, arch_phys_addr_bits()), 0);
	assert_int_equal(vlapic_write(&v->apic, APIC_SVR, 1, 0, 0x1ff, &fx), 0);
	return 0;
}

/* ---- an event interrupted in its delivery ------------------------------------ */

/*
 * The interrupt the APIC gave (IRR to ISR) meets an intercept during its
 * delivery; a higher one arrives meanwhile. The first goes in again, once,
 * without the APIC giving it again; the second waits for it and for the
 * guest's IF: a window, then its own delivery, once.
 */
static void interrupted_interrupt_goes_in_once_before_a_newer_one(void **state)
{
	uint64_t delivery_exit = *(uint64_t *)*state;

	raise_interrupt(0x40);
	enter(delivery_exit);
	assert_int_equal(delivered, 0);
	assert_int_equal(vlapic_highest_isr(&v->apic), 0x40);
	assert_int_equal(vlapic_highest_irr(&v->apic), -1);
	raise_interrupt(0x50);
	enter(0);
	assert_int_equal(delivered, 1);
	assert_int_equal(log_of[0].event, interrupt(0x40));
	assert_int_equal(log_of[0].return_rip, GUEST_RIP);
	assert_int_equal(vlapic_highest_irr(&v->apic), 0x50); /* not taken while EVENTINJ was busy */
	assert_int_equal(window_class(), 5);
	eoi();
	run(0, iret); /* IF again: the window's exit */
	assert_int_equal(vmcb.exit_code, VMEXIT_VINTR);
	enter(0);
	assert_int_equal(delivered, 2);
	assert_int_equal(log_of[1].event, interrupt(0x50));
	assert_int_equal(window_class(), 0);
	eoi();
	run(0, iret);
	enter(0);
	assert_int_equal(delivered, 2); /* nothing more */
	assert_int_equal(vlapic_highest_isr(&v->apic), -1);
}

static uint64_t nested_page_fault = VMEXIT_NPF, physical_interrupt = VMEXIT_INTR;

/* Twice interrupted (a page fault, then a host interrupt): still once, at the end. */
static void interrupt_interrupted_twice_goes_in_once(void **state)
{
	(void)state;
	raise_interrupt(0x40);
	enter(VMEXIT_NPF);
	enter(VMEXIT_INTR);
	enter(0);
	enter(0);
	assert_int_equal(delivered, 1);
	assert_int_equal(log_of[0].event, interrupt(0x40));
}

/* An exception the hypervisor injected keeps its error code through a second VMRUN, and goes before an interrupt. */
static void exception_keeps_its_error_code(void **state)
{
	uint64_t gp = VEC_GP | EVENT_TYPE_EXCEPTION | EVENT_VALID | EVENT_HAS_ERROR | (0x1234ull << 32);

	(void)state;
	v->ops->inject(v, EVENT_EXCEPTION, VEC_GP, 1, 0x1234);
	raise_interrupt(0x40);
	enter(VMEXIT_NPF);
	assert_int_equal(vmcb.event_inject, gp);
	assert_int_equal(vlapic_highest_irr(&v->apic), 0x40);
	enter(0);
	assert_int_equal(delivered, 1);
	assert_int_equal(log_of[0].event, gp);
	run(0, iret);
	assert_int_equal(vmcb.exit_code, VMEXIT_VINTR);
	enter(0);
	assert_int_equal(delivered, 2);
	assert_int_equal(log_of[1].event, interrupt(0x40));
}

/*
 * An INTn or INT3 the guest ran, whose delivery met an intercept: RIP is
 * still at the instruction. Injected again, it would push that RIP as its
 * return address, and the guest would run the instruction a second time
 * once its handler returns.
 */
static void software_event_runs_once(uint64_t event, unsigned length)
{
	vmcb.rip = GUEST_RIP;
	guest_raises(event, length, VMEXIT_NPF);
	enter(0);
	while (vmcb.rip != GUEST_RIP + length && delivered < 4) {
		if (vmcb.rip == GUEST_RIP)
			guest_raises(event, length, 0);
		iret();
	}
	assert_int_equal(delivered, 1);
	assert_int_equal(log_of[0].return_rip, GUEST_RIP + length);
}

static void software_interrupt_interrupted_runs_once(void **state)
{
	(void)state;
	software_event_runs_once(0x80 | EVENT_TYPE_SOFT | EVENT_VALID, INT_LENGTH);
}

static void int3_interrupted_runs_once(void **state)
{
	(void)state;
	software_event_runs_once(VEC_BP | EVENT_TYPE_EXCEPTION | EVENT_VALID, INT3_LENGTH);
}

/* ---- an interrupt the vCPU cannot take now: its window -------------------- */

/* What holds an interrupt back, then lets it go. */
struct hold {
	void (*hold)(void);
	void (*let_go)(void); /* as the guest runs */
};

/* The APIC keeps the interrupt requested meanwhile, and the window's exit comes once it is let go. */
static void waits_in_its_window(void **state)
{
	const struct hold *h = *state;

	h->hold();
	raise_interrupt(0x40);
	enter(0);
	assert_int_equal(delivered, 0);
	assert_int_equal(vlapic_highest_irr(&v->apic), 0x40);
	assert_int_equal(vlapic_highest_isr(&v->apic), -1);
	assert_int_equal(window_class(), 4);
	run(0, h->let_go);
	assert_int_equal(vmcb.exit_code, VMEXIT_VINTR);
	enter(0);
	assert_int_equal(delivered, 1);
	assert_int_equal(log_of[0].event, interrupt(0x40));
	assert_int_equal(window_class(), 0);
}

static void interrupts_off(void)
{
	vmcb.rflags &= ~RFLAGS_IF;
}

static void sti(void)
{
	vmcb.rflags |= RFLAGS_IF;
}

static void sti_shadow(void)
{
	vmcb.interrupt_shadow = 1;
}

static void next_instruction(void)
{
	vmcb.interrupt_shadow = 0;
}

/* The guest's own MOV to CR8: V_TPR, with no exit while no window is open. */
static void tpr_raised(void)
{
	svm_event_set_cr8(&vmcb, 4);
}

/* With the window open, MOV to CR8 exits, and the hypervisor does it (svm.c, mov_to_cr8); the CPU alone would take V_IRQ. */
static void tpr_lowered(void)
{
	assert_true(vmcb.intercept_cr & INTERCEPT_CR8_WRITE);
	svm_event_set_cr8(&vmcb, 3);
}

static struct hold interrupts_are_off = { interrupts_off, sti }, an_interrupt_shadow = { sti_shadow, next_instruction },
		  the_tpr = { tpr_raised, tpr_lowered };

/*
 * V_IRQ is the VMCB's, and the VMCB goes where the vCPU goes: whatever
 * changed while it was off its CPU (a higher request, the requests gone
 * with its APIC disabled), its next entry, on any CPU, sets V_IRQ anew.
 */
static void window_follows_the_apic_between_runs(void **state)
{
	uint64_t base;

	(void)state;
	interrupts_off();
	raise_interrupt(0x40);
	enter(0);
	assert_int_equal(window_class(), 4);
	raise_interrupt(0x70); /* from another vCPU, while this one is descheduled */
	enter(0);
	assert_int_equal(window_class(), 7);
	assert_int_equal(vcpu_apic_msr(v, 0, MSR_APIC_BASE, &base), 0);
	base &= ~(uint64_t)(APIC_BASE_X2APIC | APIC_BASE_ENABLE);
	assert_int_equal(vcpu_apic_msr(v, 1, MSR_APIC_BASE, &base), 0); /* its requests go with it (SDM 11.4.3) */
	enter(0);
	assert_int_equal(window_class(), 0);
	assert_false(vmcb.intercept_cr & INTERCEPT_CR8_WRITE);
	sti();
	enter(0);
	assert_int_equal(vmcb.exit_code, VMEXIT_INTR);
	assert_int_equal(delivered, 0);
}

/* ---- NMIs: blocked from one's delivery until the next IRET ------------------ */

/*
 * A second NMI that comes while the guest runs the handler of the first
 * waits for that handler's IRET to complete (SDM Vol. 3A, 6.7.1): Linux's
 * NMI entry uses one stack for the NMI it handles, and a nested one would
 * overwrite the frame it returns with.
 */
static void nmi_waits_for_the_iret_of_the_one_before(void **state)
{
	uint64_t nmi_event = 2 | EVENT_TYPE_NMI | EVENT_VALID;

	(void)state;
	raise_nmi();
	enter(0);
	assert_int_equal(delivered, 1);
	assert_int_equal(log_of[0].event, nmi_event);
	raise_nmi();
	enter(0); /* the handler runs */
	assert_int_equal(delivered, 1);
	run(0, iret);
	assert_int_equal(vmcb.exit_code, VMEXIT_IRET);
	enter(0); /* an exit before the IRET runs: RIP still at it */
	assert_int_equal(delivered, 1);
	run(0, iret); /* it completes */
	assert_int_equal(vmcb.rip, GUEST_RIP);
	enter(0);
	assert_int_equal(delivered, 2);
	assert_int_equal(log_of[1].event, nmi_event);
	assert_int_equal(log_of[1].return_rip, GUEST_RIP);
}

/* ---- HC_WAKE_AFTER's vector: an interrupt like the others ---------------- */

#define WAKE_VECTOR 0x20
#define VEC_DB 1

static void wake_after(uint64_t at)
{
	v->wake_vector = WAKE_VECTOR;
	v->wake_at = at;
}

/* A wake-up that waits: its window opens past any TPR, and once let_go, it goes in, once. */
static void taken_in_its_window(void (*let_go)(void))
{
	unsigned before = delivered;

	assert_int_equal(window_class(), 15);
	run(0, let_go);
	assert_int_equal(vmcb.exit_code, VMEXIT_VINTR);
	enter(0);
	assert_int_equal(delivered, before + 1);
	assert_int_equal(log_of[before].event, interrupt(WAKE_VECTOR));
	enter(0);
	assert_int_equal(delivered, before + 1);
	assert_int_equal(v->wake_vector, -1);
}

/*
 * The wake-up comes due at a HLT whose skip owes the guest a single-step
 * #DB (svm.c, svm_emulated): the #DB goes in first, the wake-up after it
 * through its window, each once.
 */
static void wake_up_waits_for_a_pending_single_step_trap(void **state)
{
	uint64_t db = VEC_DB | EVENT_TYPE_EXCEPTION | EVENT_VALID;

	(void)state;
	vmcb.event_inject = db;
	wake_after(100);
	assert_int_equal(vcpu_irq_wake_due(v, 100), 1);
	enter(0);
	assert_int_equal(delivered, 1);
	assert_int_equal(log_of[0].event, db);
	taken_in_its_window(iret);
}

/*
 * Halted with interrupts off, the vCPU is not woken by its wake-up (the
 * timer's poll asks), and takes it only once it sets RFLAGS.IF again.
 */
static void wake_up_waits_for_interrupts_on(void **state)
{
	(void)state;
	interrupts_off();
	v->halted_if_off = 1;
	wake_after(100);
	assert_int_equal(vcpu_irq_wake_due(v, 99), 0);
	assert_int_equal(vcpu_irq_wake_due(v, 100), 0);
	enter(0); /* an NMI, say, ended the HLT */
	assert_int_equal(delivered, 0);
	taken_in_its_window(sti);
}

/* ---- the TPR: the guest's CR8 and the APIC's register ------------------------ */

/*
 * A guest that raised its TPR with MOV to CR8 (no exit: V_TPR here, the
 * virtual-APIC page's VTPR with VT-x's TPR shadow) then writes
 * IA32_APIC_BASE, here to keep its x2APIC mode: its TPR is the one it set.
 */
static void apic_base_write_keeps_the_tpr_set_in_cr8(void **state)
{
	uint64_t base, tpr;

	(void)state;
	svm_event_set_cr8(&vmcb, 5);
	assert_int_equal(vcpu_apic_msr(v, 0, MSR_APIC_BASE, &base), 0);
	assert_int_equal(vcpu_apic_msr(v, 1, MSR_APIC_BASE, &base), 0);
	assert_int_equal(svm_event_cr8(&vmcb), 5);
	assert_int_equal(vcpu_apic_msr(v, 0, MSR_X2APIC_TPR, &tpr), 0);
	assert_int_equal(tpr, 0x50);
	raise_interrupt(0x50);
	enter(0);
	assert_int_equal(delivered, 0); /* class 5 is not above TPR 5 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "interrupt_interrupted_by_a_nested_page_fault", interrupted_interrupt_goes_in_once_before_a_newer_one,
		  reset, 0, &nested_page_fault },
		{ "interrupt_interrupted_by_a_physical_interrupt", interrupted_interrupt_goes_in_once_before_a_newer_one,
		  reset, 0, &physical_interrupt },
		cmocka_unit_test_setup(interrupt_interrupted_twice_goes_in_once, reset),
		cmocka_unit_test_setup(exception_keeps_its_error_code, reset),
		cmocka_unit_test_setup(software_interrupt_interrupted_runs_once, reset),
		cmocka_unit_test_setup(int3_interrupted_runs_once, reset),
		{ "window_while_interrupts_are_off", waits_in_its_window, reset, 0, &interrupts_are_off },
		{ "window_while_an_interrupt_shadow_holds", waits_in_its_window, reset, 0, &an_interrupt_shadow },
		{ "window_while_the_tpr_holds", waits_in_its_window, reset, 0, &the_tpr },
		cmocka_unit_test_setup(window_follows_the_apic_between_runs, reset),
		cmocka_unit_test_setup(apic_base_write_keeps_the_tpr_set_in_cr8, reset),
		cmocka_unit_test_setup(nmi_waits_for_the_iret_of_the_one_before, reset),
		cmocka_unit_test_setup(wake_up_waits_for_a_pending_single_step_trap, reset),
		cmocka_unit_test_setup(wake_up_waits_for_interrupts_on, reset),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
