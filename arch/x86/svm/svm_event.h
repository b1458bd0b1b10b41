/*
 * Events through the VMCB (AMD APM Vol. 2, 15.20 and 15.21): the one
 * EVENTINJ takes in at the next VMRUN, the one an exit interrupted in
 * delivery (EXITINTINFO), the virtual interrupt (V_IRQ) that opens an
 * interrupt window, and V_TPR, the guest's CR8. No instruction of the
 * CPU's here: the unit tests run it on a modelled VMCB.
 */
#ifndef ARCH_X86_SVM_SVM_EVENT_H
#define ARCH_X86_SVM_SVM_EVENT_H

#include <stdint.h>

#include "vcpu.h"
#include "vmcb.h"

/*
 * The guest's NMI blocking, which the VMCB does not hold without virtual
 * NMIs: an NMI blocks further NMIs from its delivery until the next IRET
 * (Intel SDM Vol. 3A, 6.7.1), and EVENTINJ delivers one without a trace
 * of that (AMD APM Vol. 2, 15.20). Its IRET is intercepted (15.9, Table
 * B-1): the exit comes before the IRET runs, RIP still at it, so the
 * blocking ends once an exit after it has RIP elsewhere. Any
 * exit the IRET itself meets (a nested page fault on its stack) leaves
 * RIP at it; one that faults lands at its handler, and such an IRET
 * unblocks NMIs on the CPU too (SDM Vol. 3C, "NMI unblocking due to
 * IRET" in the exit qualification). Single-stepping the IRET instead
 * would end the blocking at once, but takes RFLAGS.TF and #DB from a
 * guest that may use them itself.
 */
struct svm_nmi {
	uint8_t blocked;
	uint8_t iret_reached; /* its IRET intercepted at iret_rip: the blocking ends once RIP leaves it */
	uint64_t iret_rip;
};

void svm_event_inject(struct vmcb *c, struct svm_nmi *n, enum event_kind kind, uint8_t vector, int has_error,
		      uint32_t error);

/*
 * Whether NMIs are blocked now. Asked only by the NMI's and events'
 * paths, not at each exit, so that the round trip pays nothing for it:
 * a RIP read later than the first exit after the IRET can only be at the
 * IRET again if the guest came back to it, and then the NMI waits for
 * one more exit, never less.
 */
static inline int svm_event_nmi_blocked(const struct vmcb *c, struct svm_nmi *n)
{
	if (n->blocked && n->iret_reached && c->rip != n->iret_rip)
		n->blocked = n->iret_reached = 0;
	return n->blocked;
}

/*
 * 1 if an event of kind can go in at the next VMRUN: EVENTINJ free, no
 * shadow, for an NMI no NMI blocking, for an interrupt RFLAGS.IF. Inline,
 * as are the others that each exit's path runs: the AMD-V round trip pays
 * no call for them.
 */
static inline int svm_event_can_inject(const struct vmcb *c, struct svm_nmi *n, enum event_kind kind)
{
	if ((c->event_inject & EVENT_VALID) || (c->interrupt_shadow & 1))
		return 0;
	return kind == EVENT_NMI ? !svm_event_nmi_blocked(c, n) : (c->rflags & (1ull << 9)) != 0; /* RFLAGS.IF */
}

/* Opens the interrupt window for priority_class (1-15), or closes it (0). */
void svm_event_window(struct vmcb *c, unsigned priority_class);

/* INTn (type 4), INT3 or INTO (#BP, #OF): an event an instruction of the guest's raised. */
static inline int svm_event_raised_by_instruction(uint64_t event)
{
	uint64_t type = event & EVENT_TYPE_MASK, vector = event & 0xff;

	return type == EVENT_TYPE_SOFT || (type == EVENT_TYPE_EXCEPTION && (vector == 3 || vector == 4));
}

/* The IRET intercept's exit: the IRET that ends the NMI blocking is at RIP, not run yet. */
void svm_event_iret_reached(struct vmcb *c, struct svm_nmi *n);

/*
 * Just after each #VMEXIT: EVENTINJ becomes what the next VMRUN owes the
 * guest of the event the exit interrupted in its delivery (APM Vol. 2,
 * 15.7.2; EXITINTINFO has EVENTINJ's format, error code included). But
 * not an event an instruction raised: the exit left RIP at the
 * instruction, and EVENTINJ would push that RIP as the return address
 * (15.20; with NRIP save, NextRIP, which such an exit does not hold), so
 * the guest would run the instruction a second time once its handler
 * returns. The instruction runs again instead, and raises its event once.
 */
static inline void svm_event_after_exit(struct vmcb *c)
{
	uint64_t e = c->exit_int_info;

	c->event_inject = (e & EVENT_VALID) && !svm_event_raised_by_instruction(e) ? e : 0;
}

/* The guest's CR8 (TPR bits 7:4): V_TPR. */
static inline uint64_t svm_event_cr8(const struct vmcb *c)
{
	return c->v_intr & V_TPR_MASK;
}

static inline void svm_event_set_cr8(struct vmcb *c, uint64_t value)
{
	c->v_intr = (c->v_intr & ~V_TPR_MASK) | (value & V_TPR_MASK);
}

#endif
