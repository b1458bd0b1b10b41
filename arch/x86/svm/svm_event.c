#include "svm_event.h"

/* Blocked until an IRET completes that has not run yet: its intercept armed. */
static void await_iret(struct vmcb *c, struct svm_nmi *n)
{
	n->blocked = 1;
	n->iret_reached = 0;
	c->intercept_misc1 |= MISC1_IRET;
}

/*
 * An event injected while NMIs are blocked, at the IRET intercept too,
 * goes in before that IRET: its handler's own IRET is the next one, and
 * it is that one that ends the blocking, as on the CPU.
 */
void svm_event_inject(struct vmcb *c, struct svm_nmi *n, enum event_kind kind, uint8_t vector, int has_error,
		      uint32_t error)
{
	uint64_t type = kind == EVENT_EXCEPTION ? EVENT_TYPE_EXCEPTION
			: kind == EVENT_NMI      ? EVENT_TYPE_NMI
						 : EVENT_TYPE_INTR;

	c->event_inject = vector | type | EVENT_VALID | (has_error ? EVENT_HAS_ERROR | ((uint64_t)error << 32) : 0);
	if (kind == EVENT_NMI || svm_event_nmi_blocked(c, n))
		await_iret(c, n);
}

void svm_event_iret_reached(struct vmcb *c, struct svm_nmi *n)
{
	c->intercept_misc1 &= ~MISC1_IRET;
	n->iret_reached = 1;
	n->iret_rip = c->rip;
}

/*
 * A virtual interrupt of the class, never taken: the CPU would take it
 * once RFLAGS.IF is set, no shadow holds and V_TPR is below its priority
 * (V_IGN_TPR clear), and the VINTR intercept makes that moment an exit
 * instead (APM Vol. 2, 15.21.4). The CR8 write intercept: see mov_to_cr8()
 * in svm.c.
 */
void svm_event_window(struct vmcb *c, unsigned priority_class)
{
	c->v_intr &= ~(V_IRQ | V_INTR_PRIO_MASK | V_IGN_TPR);
	c->intercept_misc1 &= ~MISC1_VINTR;
	c->intercept_cr &= ~INTERCEPT_CR8_WRITE;
	if (!priority_class)
		return;
	c->v_intr |= V_IRQ | ((uint64_t)priority_class << V_INTR_PRIO_SHIFT);
	c->intercept_misc1 |= MISC1_VINTR;
	c->intercept_cr |= INTERCEPT_CR8_WRITE;
}
