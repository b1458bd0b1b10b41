#include "ioapic.h"

#include "partition.h"

#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOEOI 0x40 /* version 0x20: EOI of a vector by software */
#define REG_ID 0x00
#define REG_VERSION 0x01
#define REG_ARBITRATION 0x02
#define REG_REDIRECTION 0x10 /* two registers per pin: low, high */
#define VERSION 0x20u

/* Redirection entry bits (82093AA datasheet, 3.2.4). */
#define RTE_DELIVERY_STATUS (1ull << 12)
#define RTE_REMOTE_IRR (1ull << 14)
#define RTE_LEVEL (1ull << 15)
#define RTE_MASKED (1ull << 16)
#define RTE_WRITABLE (0xffull | (7ull << 8) | (1ull << 11) | (1ull << 13) | RTE_LEVEL | RTE_MASKED | (0xffull << 56))

void vioapic_reset(struct vioapic *io, uint32_t id)
{
	unsigned i;

	io->select = 0;
	io->id = id;
	io->lines = 0;
	for (i = 0; i < IRQ_GSIS; i++)
		io->redirection[i] = RTE_MASKED;
}

static int asserted(const struct vioapic *io, unsigned pin)
{
	return (io->lines >> pin) & 1;
}

/* The pin's message goes out; a level-triggered one waits for its EOI (remote IRR). */
static void send(struct vioapic *io, unsigned pin, struct vioapic_out *out)
{
	uint64_t rte = io->redirection[pin];

	if (rte & RTE_LEVEL)
		io->redirection[pin] |= RTE_REMOTE_IRR;
	out->msg[out->count++] = (struct irq_msg){
		.vector = (uint8_t)rte,
		.mode = (uint8_t)((rte >> 8) & 7),
		.logical = (rte >> 11) & 1,
		.level = (rte & RTE_LEVEL) != 0,
		.dest = (uint32_t)(rte >> 56),
	};
}

/* A level-triggered pin that is asserted, unmasked and not waiting for an EOI sends (again). */
static void resend_level(struct vioapic *io, unsigned pin, struct vioapic_out *out)
{
	uint64_t rte = io->redirection[pin];

	if ((rte & RTE_LEVEL) && !(rte & (RTE_MASKED | RTE_REMOTE_IRR)) && asserted(io, pin))
		send(io, pin, out);
}

void vioapic_set_line(struct vioapic *io, unsigned pin, int level, struct vioapic_out *out)
{
	int was;

	out->count = 0;
	if (pin >= IRQ_GSIS)
		return; /* before any shift by it: lines is 32 bits wide */
	was = asserted(io, pin);
	io->lines = level ? io->lines | (1u << pin) : io->lines & ~(1u << pin);
	if (io->redirection[pin] & RTE_LEVEL)
		resend_level(io, pin, out);
	else if (level && !was && !(io->redirection[pin] & RTE_MASKED))
		send(io, pin, out); /* edge: the rising edge only; masked edges are lost */
}

void vioapic_eoi(struct vioapic *io, uint8_t vector, struct vioapic_out *out)
{
	unsigned pin;

	out->count = 0;
	for (pin = 0; pin < IRQ_GSIS; pin++) {
		if ((uint8_t)io->redirection[pin] != vector || !(io->redirection[pin] & RTE_REMOTE_IRR))
			continue;
		io->redirection[pin] &= ~RTE_REMOTE_IRR;
		resend_level(io, pin, out);
	}
}

static uint32_t read_register(const struct vioapic *io)
{
	unsigned sel = io->select, pin = (sel - REG_REDIRECTION) / 2;

	switch (sel) {
	case REG_ID: return (io->id & 0xf) << 24;
	case REG_VERSION: return VERSION | ((IRQ_GSIS - 1u) << 16);
	case REG_ARBITRATION: return (io->id & 0xf) << 24;
	}
	if (sel < REG_REDIRECTION || pin >= IRQ_GSIS)
		return 0xffffffffu; /* no such register */
	return (uint32_t)(io->redirection[pin] >> (sel & 1 ? 32 : 0));
}

static void write_register(struct vioapic *io, uint32_t value, struct vioapic_out *out)
{
	unsigned sel = io->select, pin = (sel - REG_REDIRECTION) / 2;
	uint64_t rte, half;

	if (sel == REG_ID)
		io->id = (value >> 24) & 0xf;
	if (sel < REG_REDIRECTION || pin >= IRQ_GSIS)
		return;
	rte = io->redirection[pin];
	half = sel & 1 ? (uint64_t)value << 32 : value;
	rte = (rte & ~(sel & 1 ? 0xffffffff00000000ull : 0xffffffffull)) | half;
	rte = (io->redirection[pin] & ~RTE_WRITABLE) | (rte & RTE_WRITABLE);
	if (!(rte & RTE_LEVEL))
		rte &= ~RTE_REMOTE_IRR; /* remote IRR is undefined for edge: kept clear */
	io->redirection[pin] = rte;
	resend_level(io, pin, out); /* unmasked while asserted: it sends now */
}

void vioapic_read(struct vioapic *io, uint64_t offset, unsigned size, uint64_t *value)
{
	uint64_t v = offset == IOREGSEL ? io->select : offset == IOWIN ? read_register(io) : 0;

	*value = size >= 4 ? (uint32_t)v : v & ((1ull << (8 * size)) - 1);
}

/* Registers are 32 bits wide and taken as such (82093AA, 3.0); IOREGSEL's byte alone is fine too. */
void vioapic_write(struct vioapic *io, uint64_t offset, unsigned size, uint64_t value, struct vioapic_out *out)
{
	out->count = 0;
	if (offset == IOREGSEL)
		io->select = (uint8_t)value;
	else if (offset == IOWIN && size == 4)
		write_register(io, (uint32_t)value, out);
	else if (offset == IOEOI && size == 4)
		vioapic_eoi(io, (uint8_t)value, out);
}

/* ---- the partition's I/O APIC: the model under its lock, messages sent after */

static void deliver(struct partition *p, const struct vioapic_out *out)
{
	unsigned i;

	for (i = 0; i < out->count; i++)
		irq_deliver(p, &out->msg[i]);
}

static void mmio_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	struct partition *p = dev;

	spin_lock(&p->ioapic.lock);
	vioapic_read(&p->ioapic, offset, size, value);
	spin_unlock(&p->ioapic.lock);
}

static void mmio_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct partition *p = dev;
	struct vioapic_out out;

	spin_lock(&p->ioapic.lock);
	vioapic_write(&p->ioapic, offset, size, value, &out);
	spin_unlock(&p->ioapic.lock);
	deliver(p, &out);
}

const struct vdev_ops vioapic_ops = { mmio_read, mmio_write };

void irq_set_line(struct partition *p, unsigned gsi, int level)
{
	struct vioapic_out out;

	spin_lock(&p->ioapic.lock);
	vioapic_set_line(&p->ioapic, gsi, level, &out);
	spin_unlock(&p->ioapic.lock);
	deliver(p, &out);
}

void irq_pin_view(struct partition *p, unsigned gsi, struct irq_pin_view *w)
{
	uint64_t rte = RTE_MASKED;
	int line = 0;

	spin_lock(&p->ioapic.lock);
	if (gsi < IRQ_GSIS) {
		rte = p->ioapic.redirection[gsi];
		line = asserted(&p->ioapic, gsi);
	}
	spin_unlock(&p->ioapic.lock);
	*w = (struct irq_pin_view){ (uint8_t)rte, (rte & RTE_LEVEL) != 0, (rte & RTE_MASKED) != 0, line };
}

void irq_eoi(struct partition *p, uint8_t vector)
{
	struct vioapic_out out;

	spin_lock(&p->ioapic.lock);
	vioapic_eoi(&p->ioapic, vector, &out);
	spin_unlock(&p->ioapic.lock);
	deliver(p, &out);
}
