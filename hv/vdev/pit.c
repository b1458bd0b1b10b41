/*
 * Each channel's count and OUT are functions of the PIT clocks elapsed
 * since its counting element was loaded (`start`), computed when read:
 * nothing ticks. The PIT clock is the partition's time (hv/part_clock.h,
 * at the host TSC's rate) scaled to 1.193182 MHz: it stops while paused.
 */
#include "pit.h"

#include "clock.h"
#include "irq.h"
#include "lib/muldiv.h"
#include "partition.h"
#include "platform.h"

enum { STOPPED, COUNTING, SUSPENDED };

#define PIT_IRQ 0
#define CONTROL_PORT (PLATFORM_PIT_PORT + 3)
#define SELECT_READ_BACK 3
#define READ_BACK_NO_COUNT 0x20 /* 82C54, "Read-Back Command": the bits are active low */
#define READ_BACK_NO_STATUS 0x10
#define ACCESS_LSB 1
#define ACCESS_MSB 2
#define ACCESS_WORD 3
#define PORT61_WRITABLE 0x0f
#define PORT61_GATE2 0x01
#define REFRESH_CLOCKS 18 /* 15.085 us, the refresh request's half period */
#define US_PER_S 1000000ull

static uint64_t pit_clock(const struct vpit *pit, uint64_t tsc)
{
	return mul_div(tsc, VPIT_HZ, pit->tsc_hz);
}

/* The first TSC value at which the PIT clock reads `clock`. */
static uint64_t tsc_of(const struct vpit *pit, uint64_t clock)
{
	return mul_div_up(clock, pit->tsc_hz, VPIT_HZ);
}

static uint32_t modulus(const struct vpit_channel *c)
{
	return c->bcd ? 10000 : 65536;
}

static uint16_t to_bcd(uint32_t v)
{
	return (uint16_t)(v % 10 | v / 10 % 10 << 4 | v / 100 % 10 << 8 | v / 1000 % 10 << 12);
}

static uint32_t from_bcd(uint16_t v)
{
	return (v & 0xfu) + (v >> 4 & 0xfu) * 10 + (v >> 8 & 0xfu) * 100 + (v >> 12 & 0xfu) * 1000;
}

/* ---- a channel (82C54 datasheet, "Modes"): n is the count its counting element runs with */

static uint64_t elapsed(const struct vpit_channel *c, uint64_t now)
{
	return c->state == SUSPENDED ? c->held_clocks : now - c->start;
}

/* Mode 3 counts down by two, through each half of the period; an odd count's first half is a clock longer. */
static uint32_t count_value(const struct vpit_channel *c, uint64_t now)
{
	uint64_t d = elapsed(c, now);
	uint32_t n = c->reload, m = modulus(c), half = (n + 1) / 2, phase = (uint32_t)(d % n);

	switch (c->mode) {
	case 2: return n - phase;
	case 3: return (n & ~1u) - 2 * (phase < half ? phase : phase - half);
	default: return (uint32_t)((n + m - d % m) % m); /* one-shots count on past 0, through the modulus */
	}
}

/* What the counter shows: the count held while stopped, else the running one, in binary or BCD. */
static uint16_t count_register(const struct vpit_channel *c, uint64_t now)
{
	uint32_t v;

	if (c->state == STOPPED)
		return c->held;
	v = count_value(c, now) % modulus(c);
	return c->bcd ? to_bcd(v) : (uint16_t)v;
}

static int out(const struct vpit_channel *c, uint64_t now)
{
	uint64_t d, n = c->reload;

	if (c->state == STOPPED)
		return c->out_stopped;
	d = elapsed(c, now);
	switch (c->mode) {
	case 0:
	case 1: return d >= n;               /* low until the terminal count */
	case 2: return d % n != n - 1;       /* low for the last clock of each period */
	case 3: return d % n < (n + 1) / 2;  /* high for the first half */
	default: return d != n;              /* 4, 5: low for one clock at the terminal count */
	}
}

/* The counting element takes the count register's value and counts. */
static void load(struct vpit_channel *c, uint64_t now)
{
	c->reload = c->initial;
	c->start = now;
	c->state = COUNTING;
	c->null_count = 0;
	c->switch_at = 0;
}

static void stop(struct vpit_channel *c, uint64_t now, int out_level)
{
	c->held = count_register(c, now);
	c->out_stopped = (uint8_t)out_level;
	c->state = STOPPED;
	c->switch_at = 0;
}

/* A count written in mode 2 or 3 while counting waits for the period's end, or (mode 3) the half-period's. */
static void reload_at_period_end(struct vpit_channel *c, uint64_t now)
{
	uint32_t n = c->reload, half = (n + 1) / 2;
	uint64_t d = now - c->start, period = now - d % n;

	if (c->mode == 3 && d % n < half) {
		c->switch_at = period + half;
		c->next_start = c->switch_at - (c->initial + 1) / 2; /* the new count starts in its low half */
	} else {
		c->switch_at = c->next_start = period + n;
	}
}

/* A pending count takes over once its time has come. */
static void settle(struct vpit_channel *c, uint64_t now)
{
	if (!c->switch_at || now < c->switch_at)
		return;
	c->reload = c->initial;
	c->start = c->next_start;
	c->switch_at = 0;
	c->null_count = 0;
}

/* A new count: when counting starts depends on the mode (82C54, "Mode 0" ... "Mode 5"). */
static void start_count(struct vpit_channel *c, uint64_t now)
{
	switch (c->mode) {
	case 0:
	case 4:
		load(c, now);
		if (!c->gate) {
			c->state = SUSPENDED;
			c->held_clocks = 0;
		}
		break;
	case 2:
	case 3:
		if (c->state == COUNTING)
			reload_at_period_end(c, now);
		else if (c->gate)
			load(c, now);
		break;
	default: break; /* 1, 5: at the gate's next rising edge */
	}
}

static void set_gate(struct vpit_channel *c, int gate, uint64_t now)
{
	if (gate == c->gate)
		return;
	c->gate = (uint8_t)gate;
	switch (c->mode) {
	case 0:
	case 4: /* low holds the count */
		if (c->state == COUNTING && !gate) {
			c->held_clocks = now - c->start;
			c->state = SUSPENDED;
		} else if (c->state == SUSPENDED && gate) {
			c->start = now - c->held_clocks;
			c->state = COUNTING;
		}
		break;
	case 2:
	case 3: /* low stops the count with OUT high; rising starts a period */
		if (!gate)
			stop(c, now, 1);
		else if (c->initial)
			load(c, now);
		break;
	default: /* 1, 5: rising triggers, again and again */
		if (gate && c->initial)
			load(c, now);
		break;
	}
}

static void write_count(struct vpit_channel *c, uint8_t v, uint64_t now)
{
	uint16_t value;

	if (c->access == ACCESS_WORD && !c->write_msb) {
		c->lsb = v;
		c->write_msb = 1;
		if (c->mode == 0)
			stop(c, now, 0); /* the first byte stops the count, OUT low (82C54, "Mode 0") */
		return;
	}
	c->write_msb = 0;
	value = c->access == ACCESS_LSB ? v : c->access == ACCESS_MSB ? (uint16_t)(v << 8) : (uint16_t)(c->lsb | v << 8);
	c->initial = c->bcd ? from_bcd(value) : value;
	if (c->initial == 0)
		c->initial = modulus(c);
	c->null_count = 1;
	start_count(c, now);
}

/* A count latched and not read yet stays latched (82C54, "Counter Latch Command"). */
static void latch_count(struct vpit_channel *c, uint64_t now)
{
	if (c->latched)
		return;
	c->latch = count_register(c, now);
	c->latched = c->access == ACCESS_WORD ? 2 : 1;
}

static void latch_status(struct vpit_channel *c, uint64_t now)
{
	if (c->status_latched)
		return;
	c->status = (uint8_t)(out(c, now) << 7 | c->null_count << 6 | c->access << 4 | c->mode << 1 | c->bcd);
	c->status_latched = 1;
}

/* A latched status is read first, then a latched count, else the running count (82C54, "Read-Back Command"). */
static uint8_t read_count(struct vpit_channel *c, uint64_t now)
{
	uint16_t v;
	int msb;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->latched) {
		v = c->latch;
		msb = c->access == ACCESS_MSB || (c->access == ACCESS_WORD && c->latched == 1);
		c->latched--;
	} else {
		v = count_register(c, now);
		msb = c->access == ACCESS_MSB || (c->access == ACCESS_WORD && c->read_msb);
		if (c->access == ACCESS_WORD)
			c->read_msb ^= 1;
	}
	return (uint8_t)(msb ? v >> 8 : v);
}

static void read_back(struct vpit *pit, uint8_t v, uint64_t now)
{
	unsigned i;

	for (i = 0; i < 3; i++) {
		if (!(v & (2u << i)))
			continue;
		if (!(v & READ_BACK_NO_COUNT))
			latch_count(&pit->ch[i], now);
		if (!(v & READ_BACK_NO_STATUS))
			latch_status(&pit->ch[i], now);
	}
}

/* A control word: the channel stops, OUT at its mode's initial level, until a count comes. */
static void write_control(struct vpit *pit, uint8_t v, uint64_t now)
{
	unsigned select = v >> 6, access = v >> 4 & 3u, mode = v >> 1 & 7u;
	struct vpit_channel *c;

	if (select == SELECT_READ_BACK) {
		read_back(pit, v, now);
		return;
	}
	c = &pit->ch[select];
	if (access == 0) {
		latch_count(c, now);
		return;
	}
	stop(c, now, mode != 0);
	c->latched = c->status_latched = 0; /* "all control logic is reset" (82C54, "Write Operations") */
	c->mode = (uint8_t)(mode >= 6 ? mode - 4 : mode); /* modes 6 and 7 are 2 and 3 */
	c->access = (uint8_t)access;
	c->bcd = v & 1;
	c->initial = 0;
	c->null_count = 1;
	c->write_msb = c->read_msb = 0;
}

/* ---- channel 0's interrupt: at the rising edges of OUT */

/* The first rising edge of OUT after PIT clock `after`, counting n from start; 0 if none comes. */
static uint64_t edge_after(unsigned mode, uint32_t n, uint64_t start, uint64_t after)
{
	uint64_t from = after < start ? 0 : after - start + 1, e;

	switch (mode) {
	case 0:
	case 1: e = n; break;
	case 4:
	case 5: e = n + 1ull; break;
	default: /* 2, 3: at the end of each period; with n = 1, OUT never changes */
		if (n < 2)
			return 0;
		return start + (from <= n ? n : (from + n - 1) / n * n);
	}
	return from <= e ? start + e : 0;
}

/* An edge exactly at a pending count's takeover is the old period's last. */
static uint64_t next_edge(const struct vpit_channel *c, uint64_t after)
{
	uint64_t e;

	if (c->state != COUNTING)
		return 0;
	e = edge_after(c->mode, c->reload, c->start, after);
	if (c->switch_at && (!e || e > c->switch_at))
		e = edge_after(c->mode, c->initial, c->next_start, after > c->switch_at ? after : c->switch_at);
	return e;
}

static uint64_t next_irq(const struct vpit *pit, uint64_t now)
{
	const struct vpit_channel *c = &pit->ch[0];
	uint64_t after = now, gap = VPIT_HZ * VPIT_IRQ_MIN_US / US_PER_S;

	if ((c->mode == 2 || c->mode == 3) && pit->last_irq && pit->last_irq + gap - 1 > after)
		after = pit->last_irq + gap - 1;
	return next_edge(c, after);
}

/* After a write: an interrupt that came due is kept for the next poll; a new deadline is told. */
static void irq_reschedule(struct vpit *pit, uint64_t now)
{
	uint64_t next;

	if (pit->irq_at && pit->irq_at <= now)
		pit->irq_overdue = 1;
	next = next_irq(pit, now);
	if (next != pit->irq_at || pit->irq_overdue)
		pit->irq_moved = 1;
	pit->irq_at = next;
}

/* The PIT clock now, which never runs back (two CPUs' TSCs may differ a little); pending counts taken over. */
static uint64_t advance(struct vpit *pit, uint64_t tsc)
{
	uint64_t now = pit_clock(pit, tsc);
	unsigned i;

	if (now < pit->clock)
		now = pit->clock;
	pit->clock = now;
	for (i = 0; i < 3; i++)
		settle(&pit->ch[i], now);
	return now;
}

/* ---- the model's interface */

void vpit_reset(struct vpit *pit, uint64_t tsc_hz, uint64_t now)
{
	unsigned i;

	*pit = (struct vpit){ .tsc_hz = tsc_hz };
	pit->clock = pit_clock(pit, now);
	for (i = 0; i < 3; i++) {
		struct vpit_channel *c = &pit->ch[i];
		*c = (struct vpit_channel){
			.mode = 3, .access = ACCESS_WORD, .gate = i != 2, .out_stopped = 1, .initial = 65536
		};
		if (c->gate)
			load(c, pit->clock);
	}
	pit->irq_at = next_irq(pit, pit->clock);
}

uint8_t vpit_read(struct vpit *pit, uint16_t port, uint64_t tsc)
{
	uint64_t now = advance(pit, tsc);

	if (port == PLATFORM_PORT61)
		return (uint8_t)(pit->port61 | (now / REFRESH_CLOCKS & 1) << 4 | out(&pit->ch[2], now) << 5);
	if (port >= PLATFORM_PIT_PORT && port < CONTROL_PORT)
		return read_count(&pit->ch[port - PLATFORM_PIT_PORT], now);
	return 0xff; /* the control word register cannot be read: the bus floats */
}

void vpit_write(struct vpit *pit, uint16_t port, uint8_t value, uint64_t tsc)
{
	uint64_t now = advance(pit, tsc);

	if (port == PLATFORM_PORT61) {
		pit->port61 = value & PORT61_WRITABLE; /* bits 4-7 are read-only */
		set_gate(&pit->ch[2], value & PORT61_GATE2, now);
	} else if (port == CONTROL_PORT) {
		write_control(pit, value, now);
	} else if (port >= PLATFORM_PIT_PORT && port < CONTROL_PORT) {
		write_count(&pit->ch[port - PLATFORM_PIT_PORT], value, now);
	} else {
		return;
	}
	irq_reschedule(pit, now);
}

int vpit_poll(struct vpit *pit, uint64_t tsc, uint64_t *next)
{
	uint64_t now = advance(pit, tsc);
	int due = pit->irq_overdue || (pit->irq_at && pit->irq_at <= now);

	if (due)
		pit->last_irq = now;
	pit->irq_overdue = 0;
	pit->irq_at = next_irq(pit, now);
	*next = pit->irq_at ? tsc_of(pit, pit->irq_at) : 0;
	return due;
}

/* ---- the partition's PIT: the model under its lock; IRQ 0 pulsed from its device timer */

static uint8_t in(void *dev, uint16_t port)
{
	struct partition *p = dev;

	return vpit_read(&p->pit, port, partition_time(p));
}

static void out_byte(void *dev, uint16_t port, uint8_t value)
{
	struct partition *p = dev;

	vpit_write(&p->pit, port, value, partition_time(p));
}

static void bus_read(struct partition *p, uint16_t port, unsigned size, uint64_t *value)
{
	spin_lock(&p->pit.lock);
	*value = vdev_in_bytes(in, p, port, size);
	spin_unlock(&p->pit.lock);
}

static void bus_write(struct partition *p, uint16_t port, unsigned size, uint64_t value)
{
	int moved;

	spin_lock(&p->pit.lock);
	vdev_out_bytes(out_byte, p, port, size, value);
	moved = p->pit.irq_moved;
	p->pit.irq_moved = 0;
	spin_unlock(&p->pit.lock);
	if (moved)
		vdev_deadline_changed(p);
}

static void pit_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	bus_read(dev, (uint16_t)(PLATFORM_PIT_PORT + offset), size, value);
}

static void pit_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	bus_write(dev, (uint16_t)(PLATFORM_PIT_PORT + offset), size, value);
}

static void port61_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	bus_read(dev, (uint16_t)(PLATFORM_PORT61 + offset), size, value);
}

static void port61_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	bus_write(dev, (uint16_t)(PLATFORM_PORT61 + offset), size, value);
}

const struct vdev_ops vpit_ops = { pit_read, pit_write };
const struct vdev_ops vpit_port61_ops = { port61_read, port61_write };

/* A pulse on IRQ 0: the rising edge the PIC and the I/O APIC latch, under the lock so that pulses keep their order. */
uint64_t vpit_timer(void *dev, uint64_t now)
{
	struct partition *p = dev;
	uint64_t next;

	spin_lock(&p->pit.lock);
	if (vpit_poll(&p->pit, now, &next)) {
		irq_set_isa(p, PIT_IRQ, 1);
		irq_set_isa(p, PIT_IRQ, 0);
	}
	p->pit.irq_moved = 0;
	spin_unlock(&p->pit.lock);
	return next;
}
