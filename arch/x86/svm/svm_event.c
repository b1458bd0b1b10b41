#include "svm_event.h"

void svm_event_inject(struct vmcb *c, enum event_kind kind, uint8_t vector, int has_error, uint32_t error)
{
	uint64_t type = kind == EVENT_EXCEPTION ? EVENT_TYPE_EXCEPTION
			: kind == EVENT_NMI      ? EVENT_TYPE_NMI
						 : EVENT_TYPE_INTR;

	c->event_inject = vector | type | EVENT_VALID | (has_error ? EVENT_HAS_ERROR | ((uint64_t)error << 32) : 0);
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
