/*
 * A partition's I/O APIC (Intel 82093AA datasheet; ICH I/O APIC, version
 * 0x20 with the EOI register): 24 pins, one redirection entry each, at
 * PLATFORM_IOAPIC_BASE. It is the router of hv/vdev/irq.h: a device's
 * line comes in at irq_set_line(), a message to the local APICs goes out
 * through irq_deliver(), a level-triggered vector's EOI comes back at
 * irq_eoi().
 *
 * A line's level is logical, 1 meaning asserted whatever the pin's
 * polarity bit says: the devices are virtual, so the polarity the guest
 * programs (active low for PCI pins, as the MADT says) needs no wire to
 * invert.
 */
#ifndef HV_VDEV_IOAPIC_H
#define HV_VDEV_IOAPIC_H

#include <stdint.h>

#include "bus.h"
#include "irq.h"
#include "lib/spinlock.h"

#define VIOAPIC_MMIO_SIZE 0x1000ull

struct vioapic {
	struct spinlock lock;
	uint8_t select;             /* IOREGSEL */
	uint32_t id;
	uint64_t redirection[IRQ_GSIS];
	uint32_t lines;             /* bit n: pin n asserted */
};

/* The messages one event sends: at most one per pin. */
struct vioapic_out {
	unsigned count;
	struct irq_msg msg[IRQ_GSIS];
};

/* As after RESET: every pin masked; id: its APIC ID (after the vCPUs'). */
void vioapic_reset(struct vioapic *io, uint32_t id);

/* The model, pure: each call fills out with the messages due. */
void vioapic_set_line(struct vioapic *io, unsigned pin, int level, struct vioapic_out *out);
void vioapic_eoi(struct vioapic *io, uint8_t vector, struct vioapic_out *out);
void vioapic_read(struct vioapic *io, uint64_t offset, unsigned size, uint64_t *value);
void vioapic_write(struct vioapic *io, uint64_t offset, unsigned size, uint64_t value, struct vioapic_out *out);

/* Its registers, for a claim of VIOAPIC_MMIO_SIZE bytes at PLATFORM_IOAPIC_BASE (dev: the partition). */
extern const struct vdev_ops vioapic_ops;

#endif
