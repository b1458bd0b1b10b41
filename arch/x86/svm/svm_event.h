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

void svm_event_inject(struct vmcb *c, enum event_kind kind, uint8_t vector, int has_error, uint32_t error);

/*
 * 1 if an event of kind can go in at the next VMRUN: EVENTINJ free, no
 * shadow, and for an interrupt RFLAGS.IF. Inline, as are the others that
 * each exit's path runs: the AMD-V round trip pays no call for them.
 */
static inline int svm_event_can_inject(const struct vmcb *c, enum event_kind kind)
{
	if ((c->event_inject & EVENT_VALID) || (c->interrupt_shadow & 1))
		return 0;
	return kind == EVENT_NMI || (c->rflags & (1ull << 9)); /* RFLAGS.IF */
}

/* Opens the interrupt window for priority_class (1-15), or closes it (0). */
void svm_event_window(struct vmcb *c, unsigned priority_class);

/* INTn (type 4), INT3 or INTO (#BP, #OF): an event an instruction of the guest's raised. */
static inline int svm_event_raised_by_instruction(uint64_t event)
{
	uint64_t type = event & EVENT_TYPE_MASK, vector = event & 0xff;

	return type == EVENT_TYPE_SOFT || (type == EVENT_TYPE_EXCEPTION && (vector == 3 || vector == 4));
}

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
