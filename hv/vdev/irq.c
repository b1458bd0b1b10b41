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

/*
 * An MSI address/data pair (SDM Vol. 3A, 11.11.1-2): address bits 31:20
 * 0xFEE (bits 63:32 zero), destination ID bits 19:12, redirection hint
 * bit 3, destination mode bit 2; data: vector bits 7:0, delivery mode
 * bits 10:8 (3 and 6 reserved), trigger mode bit 15. The destination mode
 * holds whatever the hint says, as on Intel and AMD processors (Linux's
 * flat logical mode sends RH=0, DM=1). A hint sends a fixed interrupt to
 * the lowest-priority processor among the destinations.
 */
int irq_msi_decode(uint64_t address, uint32_t data, struct irq_msg *m)
{
	unsigned mode = (data >> 8) & 7, hint = (address >> 3) & 1;

	if (address >> 20 != 0xfee || mode == 3 || mode == 6)
		return -1;
	*m = (struct irq_msg){
		.vector = (uint8_t)data,
		.mode = (uint8_t)(hint && mode == IRQ_FIXED ? IRQ_LOWEST : mode),
		.logical = (address >> 2) & 1,
		.level = (data >> 15) & 1,
		.dest = (uint32_t)(address >> 12) & 0xff,
	};
	return 0;
}
