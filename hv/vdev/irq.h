/*
 * A partition's interrupt wiring, the one path every virtual interrupt
 * takes:
 *
 *   ISA device line (IRQ 0-15)
 *     --irq_set_isa()---> the 8259 pair's input and the I/O APIC pin of the
 *                         same number, but IRQ 0 on pin 2 (hv/vdev/irq.c)
 *   PCI INTx line (GSI 16-23)
 *     --irq_set_line()--> the I/O APIC pin
 *   I/O APIC redirection entry, MSI or MSI-X write, guest IPI
 *     --irq_deliver()---> the partition's local APICs (arch/x86/vdev/vlapic.c)
 *   guest EOI of a level-triggered vector
 *     --irq_eoi()-------> the I/O APIC clears remote IRR (EOI broadcast)
 *
 * Destinations name only the partition's own vCPUs: a message whose
 * destination matches none of them is dropped, as on a bus with no such
 * APIC. Nothing here reaches another partition or a host CPU.
 */
#ifndef HV_VDEV_IRQ_H
#define HV_VDEV_IRQ_H

#include <stdint.h>

struct partition;

#define IRQ_GSIS 24 /* pins of the one I/O APIC */

/* Delivery modes, as the ICR, redirection entries and MSI data encode them (SDM Vol. 3, 11.6.1). */
enum irq_mode {
	IRQ_FIXED = 0,
	IRQ_LOWEST = 1,
	IRQ_SMI = 2,
	IRQ_NMI = 4,
	IRQ_INIT = 5,
	IRQ_STARTUP = 6,
	IRQ_EXTINT = 7,
};

/* An interrupt message to local APICs (SDM Vol. 3, 11.6 and 11.11). */
struct irq_msg {
	uint8_t vector;
	uint8_t mode;    /* enum irq_mode */
	uint8_t logical; /* destination mode: 1 logical, 0 physical */
	uint8_t level;   /* trigger mode: 1 level, 0 edge */
	uint32_t dest;   /* APIC ID, or logical mask; all ones of its width: broadcast */
};

/* A device's line: 1 asserted, 0 not. An edge device raises then lowers it. */
void irq_set_line(struct partition *p, unsigned gsi, int level);
#define IRQ_ISA_LINES 16
void irq_set_isa(struct partition *p, unsigned irq, int level);

/* An I/O APIC pin's route and line now, for the operator's 'info'. */
struct irq_pin_view {
	uint8_t vector;
	int level, masked, asserted;
};
void irq_pin_view(struct partition *p, unsigned gsi, struct irq_pin_view *w);

/* To the partition's local APICs; 0, or -1 if no vCPU of p matches. */
int irq_deliver(struct partition *p, const struct irq_msg *m);

/* A vCPU's EOI of vector, which it had taken level-triggered. */
void irq_eoi(struct partition *p, uint8_t vector);

/*
 * The message an MSI or MSI-X address/data pair encodes (SDM Vol. 3,
 * 11.11.1-2); -1 if address is not in 0xFEE00000-0xFEEFFFFF or data's
 * delivery mode is reserved.
 */
int irq_msi_decode(uint64_t address, uint32_t data, struct irq_msg *m);

#endif
