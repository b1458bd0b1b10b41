#include "pic.h"

#include "partition.h"
#include "platform.h"
#include "scheduler.h"

#define MASTER 0
#define SLAVE 1
#define CASCADE_IR 2

/* Command words (8259A datasheet, "Initialization Command Words", "Operation Command Words"). */
#define ICW1 0x10        /* on port 0: bit 4 */
#define ICW1_IC4 0x01    /* ICW4 follows */
#define ICW1_SNGL 0x02   /* one chip: no ICW3, no cascade */
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10
#define OCW3 0x08        /* on port 0, bit 4 clear: bit 3 tells OCW3 from OCW2 */
#define OCW3_RIS 0x01
#define OCW3_RR 0x02
#define OCW3_POLL 0x04
#define OCW3_SMM 0x20
#define OCW3_ESMM 0x40
#define POLL_INTERRUPT 0x80

/* OCW2's R, SL and EOI bits (7:5). */
enum {
	OCW2_CLEAR_ROTATE_AEOI = 0,
	OCW2_EOI = 1,
	OCW2_NOP = 2,
	OCW2_SPECIFIC_EOI = 3,
	OCW2_SET_ROTATE_AEOI = 4,
	OCW2_ROTATE_EOI = 5,
	OCW2_SET_PRIORITY = 6,
	OCW2_ROTATE_SPECIFIC_EOI = 7,
};

/* ELCR bits that exist: IRQ 0, 1, 2 (master) and 8, 13 (slave) are edge-triggered only (PIIX4, ELCR1/ELCR2). */
static const uint8_t elcr_writable[2] = { 0xf8, 0xde };

/* As a PC BIOS leaves a chip: initialised, 8086 mode, every IR masked. */
static void reset_chip(struct vpic_chip *c, uint8_t base)
{
	*c = (struct vpic_chip){ .imr = 0xff, .base = base, .lowest = 7 };
}

/* 0 is the highest priority, 7 the lowest (8259A datasheet, "Automatic Rotation"). */
static unsigned priority(const struct vpic_chip *c, unsigned ir)
{
	return (ir - c->lowest - 1u) & 7u;
}

/* The IR of highest priority among bits, or -1. */
static int highest(const struct vpic_chip *c, uint8_t bits)
{
	unsigned i;

	for (i = 1; i <= 8; i++) {
		unsigned ir = (c->lowest + i) & 7u;
		if (bits & (1u << ir))
			return (int)ir;
	}
	return -1;
}

/*
 * The IR the chip asks the CPU for, or -1: the unmasked request of
 * highest priority, if no IR of the same or a higher priority is in
 * service. In special mask mode a masked IR in service blocks nothing; in
 * special fully nested mode the master lets its slave interrupt again
 * while the slave is in service (8259A datasheet, "Special Mask Mode",
 * "Special Fully Nested Mode").
 */
static int request(const struct vpic_chip *c, int master)
{
	int want = highest(c, c->irr & (uint8_t)~c->imr);
	int serving = highest(c, c->special_mask ? c->isr & (uint8_t)~c->imr : c->isr);

	if (want < 0 || serving < 0 || priority(c, (unsigned)want) < priority(c, (unsigned)serving))
		return want;
	if (master && c->special_nested && want == CASCADE_IR && serving == CASCADE_IR)
		return want;
	return -1;
}

/* The slave's INT output on the master's IR2 (edge-triggered: the ELCR has no bit for it). */
static void cascade(struct vpic *pic)
{
	if (request(&pic->chip[SLAVE], 0) >= 0)
		pic->chip[MASTER].irr |= 1u << CASCADE_IR;
}

void vpic_reset(struct vpic *pic)
{
	reset_chip(&pic->chip[MASTER], 0x08);
	reset_chip(&pic->chip[SLAVE], 0x70);
	pic->chip[MASTER].imr = (uint8_t)~(1u << CASCADE_IR);
}

void vpic_set_irq(struct vpic *pic, unsigned irq, int level)
{
	struct vpic_chip *c = &pic->chip[irq / 8 % 2];
	uint8_t bit = (uint8_t)(1u << (irq % 8)), was = c->lines & bit;

	if (irq >= 16 || irq == CASCADE_IR) /* IR2 of the master is the slave's */
		return;
	c->lines = level ? c->lines | bit : c->lines & (uint8_t)~bit;
	if (c->elcr & bit)
		c->irr = level ? c->irr | bit : c->irr & (uint8_t)~bit;
	else if (level && !was)
		c->irr |= bit;
	cascade(pic);
}

int vpic_output(const struct vpic *pic)
{
	return request(&pic->chip[MASTER], 1) >= 0;
}

/* The INTA pulses on one chip: IS bit set (or, in automatic EOI, not), an edge's request consumed. */
static void acknowledge(struct vpic_chip *c, unsigned ir)
{
	uint8_t bit = (uint8_t)(1u << ir);

	if (!(c->elcr & bit))
		c->irr &= (uint8_t)~bit;
	if (!c->auto_eoi)
		c->isr |= bit;
	else if (c->rotate_on_auto_eoi)
		c->lowest = (uint8_t)ir;
}

/* A chip's part in an acknowledge: the IR it acknowledged, or -1 (its default IR7: no IS bit set). */
static int take(struct vpic_chip *c, int master)
{
	int ir = request(c, master);

	if (ir >= 0)
		acknowledge(c, (unsigned)ir);
	return ir;
}

int vpic_intack(struct vpic *pic)
{
	struct vpic_chip *c = &pic->chip[MASTER];
	int ir = take(c, 1);

	if (ir == CASCADE_IR && !(c->icw1 & ICW1_SNGL)) {
		c = &pic->chip[SLAVE]; /* the slave gives the vector */
		ir = take(c, 0);
	}
	cascade(pic);
	return c->base | (ir < 0 ? 7 : ir);
}

/* ---- registers */

/* ICW1 starts the sequence (8259A datasheet, "Initialization Command Words"). */
static void write_icw1(struct vpic_chip *c, uint8_t v)
{
	c->icw1 = v;
	c->icw_next = 2;
	c->imr = c->isr = 0;
	c->irr &= c->elcr; /* edges seen before are forgotten; a level request stays */
	c->lowest = 7;
	c->special_mask = c->read_isr = c->poll = 0;
	c->rotate_on_auto_eoi = 0;
	if (!(v & ICW1_IC4))
		c->auto_eoi = c->special_nested = 0;
}

static void write_icw(struct vpic_chip *c, uint8_t v)
{
	switch (c->icw_next) {
	case 2:
		c->base = v & 0xf8;
		c->icw_next = c->icw1 & ICW1_SNGL ? (c->icw1 & ICW1_IC4 ? 4 : 0) : 3;
		break;
	case 3:
		c->icw_next = c->icw1 & ICW1_IC4 ? 4 : 0;
		break;
	default:
		c->auto_eoi = (v & ICW4_AEOI) != 0;
		c->special_nested = (v & ICW4_SFNM) != 0;
		c->icw_next = 0;
		break;
	}
}

static void end_of_interrupt(struct vpic_chip *c, int ir, int rotate)
{
	if (ir < 0)
		return;
	c->isr &= (uint8_t)~(1u << ir);
	if (rotate)
		c->lowest = (uint8_t)ir;
}

static void write_ocw2(struct vpic_chip *c, uint8_t v)
{
	int level = v & 7, top = highest(c, c->isr);

	switch (v >> 5) {
	case OCW2_EOI: end_of_interrupt(c, top, 0); break;
	case OCW2_ROTATE_EOI: end_of_interrupt(c, top, 1); break;
	case OCW2_SPECIFIC_EOI: end_of_interrupt(c, level, 0); break;
	case OCW2_ROTATE_SPECIFIC_EOI: end_of_interrupt(c, level, 1); break;
	case OCW2_SET_PRIORITY: c->lowest = (uint8_t)level; break;
	case OCW2_SET_ROTATE_AEOI: c->rotate_on_auto_eoi = 1; break;
	case OCW2_CLEAR_ROTATE_AEOI: c->rotate_on_auto_eoi = 0; break;
	default: break; /* OCW2_NOP */
	}
}

static void write_ocw3(struct vpic_chip *c, uint8_t v)
{
	if (v & OCW3_ESMM)
		c->special_mask = (v & OCW3_SMM) != 0;
	if (v & OCW3_RR)
		c->read_isr = v & OCW3_RIS;
	if (v & OCW3_POLL)
		c->poll = 1;
}

static void write_chip(struct vpic_chip *c, unsigned a0, uint8_t v)
{
	if (a0 && c->icw_next)
		write_icw(c, v);
	else if (a0)
		c->imr = v; /* OCW1 */
	else if (v & ICW1)
		write_icw1(c, v);
	else if (v & OCW3)
		write_ocw3(c, v);
	else
		write_ocw2(c, v);
}

/* A poll is an acknowledge by the next read: I (bit 7) and the IR, the IS bit set (8259A datasheet, "The Poll Command"). */
static uint8_t read_poll(struct vpic_chip *c, int master)
{
	int ir = take(c, master);

	c->poll = 0;
	return ir < 0 ? 0 : (uint8_t)(POLL_INTERRUPT | (unsigned)ir);
}

static uint8_t read_chip(struct vpic_chip *c, int master, unsigned a0)
{
	if (c->poll)
		return read_poll(c, master);
	if (a0)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

static void write_elcr(struct vpic_chip *c, unsigned index, uint8_t v)
{
	c->elcr = v & elcr_writable[index];
	c->irr = (uint8_t)((c->irr & ~c->elcr) | (c->lines & c->elcr)); /* a level IRQ's request is its line */
}

uint8_t vpic_read(struct vpic *pic, uint16_t port)
{
	uint8_t v = 0xff;

	if ((port & ~1u) == PLATFORM_PIC1_PORT)
		v = read_chip(&pic->chip[MASTER], 1, port & 1u);
	else if ((port & ~1u) == PLATFORM_PIC2_PORT)
		v = read_chip(&pic->chip[SLAVE], 0, port & 1u);
	else if ((port & ~1u) == PLATFORM_ELCR_PORT)
		v = pic->chip[port & 1u].elcr;
	cascade(pic);
	return v;
}

void vpic_write(struct vpic *pic, uint16_t port, uint8_t value)
{
	if ((port & ~1u) == PLATFORM_PIC1_PORT)
		write_chip(&pic->chip[MASTER], port & 1u, value);
	else if ((port & ~1u) == PLATFORM_PIC2_PORT)
		write_chip(&pic->chip[SLAVE], port & 1u, value);
	else if ((port & ~1u) == PLATFORM_ELCR_PORT)
		write_elcr(&pic->chip[port & 1u], port & 1u, value);
	cascade(pic);
}

/* ---- the partition's pair: the model under its lock; vCPU 0 woken when INT rises */

static int lock_pic(struct partition *p)
{
	spin_lock(&p->pic.lock);
	return vpic_output(&p->pic);
}

static void unlock_pic(struct partition *p, int was)
{
	int now = vpic_output(&p->pic);

	spin_unlock(&p->pic.lock);
	if (now && !was)
		scheduler_wake(&p->vcpus[0]);
}

void pic_set_irq(struct partition *p, unsigned irq, int level)
{
	int was = lock_pic(p);

	vpic_set_irq(&p->pic, irq, level);
	unlock_pic(p, was);
}

int pic_output(struct partition *p)
{
	int out;

	spin_lock(&p->pic.lock);
	out = vpic_output(&p->pic);
	spin_unlock(&p->pic.lock);
	return out;
}

int pic_intack(struct partition *p)
{
	int was = lock_pic(p), vector = vpic_intack(&p->pic);

	unlock_pic(p, was);
	return vector;
}

static uint8_t in(void *dev, uint16_t port)
{
	return vpic_read(dev, port);
}

static void out(void *dev, uint16_t port, uint8_t value)
{
	vpic_write(dev, port, value);
}

static void bus_read(struct partition *p, uint16_t port, unsigned size, uint64_t *value)
{
	int was = lock_pic(p);

	*value = vdev_in_bytes(in, &p->pic, port, size);
	unlock_pic(p, was);
}

static void bus_write(struct partition *p, uint16_t port, unsigned size, uint64_t value)
{
	int was = lock_pic(p);

	vdev_out_bytes(out, &p->pic, port, size, value);
	unlock_pic(p, was);
}

static void master_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	bus_read(dev, (uint16_t)(PLATFORM_PIC1_PORT + offset), size, value);
}

static void master_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	bus_write(dev, (uint16_t)(PLATFORM_PIC1_PORT + offset), size, value);
}

static void slave_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	bus_read(dev, (uint16_t)(PLATFORM_PIC2_PORT + offset), size, value);
}

static void slave_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	bus_write(dev, (uint16_t)(PLATFORM_PIC2_PORT + offset), size, value);
}

static void elcr_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	bus_read(dev, (uint16_t)(PLATFORM_ELCR_PORT + offset), size, value);
}

static void elcr_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	bus_write(dev, (uint16_t)(PLATFORM_ELCR_PORT + offset), size, value);
}

const struct vdev_ops vpic_master_ops = { master_read, master_write };
const struct vdev_ops vpic_slave_ops = { slave_read, slave_write };
const struct vdev_ops vpic_elcr_ops = { elcr_read, elcr_write };
