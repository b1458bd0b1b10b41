/*
 * The partition's interrupt wiring (irq.h): where an ISA device's line
 * goes. The 8259 side lives in pic.c, the I/O APIC side in ioapic.c, the
 * local APICs' in hv/vcpu_irq.c.
 */
#include "irq.h"

#include "pic.h"

/* The PIT's output reaches I/O APIC pin 2 (the MADT's interrupt source override), as on a PC. */
static unsigned ioapic_pin_of(unsigned irq)
{
	return irq == 0 ? 2 : irq;
}

void irq_set_isa(struct partition *p, unsigned irq, int level)
{
	if (irq >= IRQ_ISA_LINES)
		return;
	pic_set_irq(p, irq, level);
	irq_set_line(p, ioapic_pin_of(irq), level);
}
