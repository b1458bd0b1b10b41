#include "vlapic.h"

#include "lib/muldiv.h"

#define APIC_VERSION_VALUE (0x14u | ((VLAPIC_LVTS - 1u) << 16)) /* integrated APIC, max LVT entry */
#define SVR_ENABLE (1u << 8)
#define LVT_MASK (1u << 16)
#define LVT_TIMER_MODE_SHIFT 17
#define TIMER_PERIODIC 1u
#define TIMER_TSC_DEADLINE 2u
#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECEIVE_ILLEGAL (1u << 6)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_DEFINED 0x000ccfffu /* vector, modes, level, trigger mode, shorthand: not delivery status */
#define ICR_X2APIC_RESERVED 0xfff32000u /* bits 31:20, 17:16, 13; delivery status (12) is ignored */
#define BROADCAST8 0xffu
#define BROADCAST32 0xffffffffu

enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR };

/* The bits of each LVT entry software can write (SDM Vol. 3A, Figure 11-8). */
static const uint32_t lvt_writable[VLAPIC_LVTS] = {
	[LVT_TIMER] = 0xff | LVT_MASK | (3u << LVT_TIMER_MODE_SHIFT),
	[LVT_THERMAL] = 0x7ff | LVT_MASK,
	[LVT_PERF] = 0x7ff | LVT_MASK,
	[LVT_LINT0] = 0x7ff | (1u << 13) | (1u << 15) | LVT_MASK,
	[LVT_LINT1] = 0x7ff | (1u << 13) | (1u << 15) | LVT_MASK,
	[LVT_ERROR] = 0xff | LVT_MASK,
};

static void clear_vectors(struct vlapic *a)
{
	unsigned i;

	for (i = 0; i < 8; i++)
		a->irr[i] = a->isr[i] = a->tmr[i] = 0;
	a->irr_words = a->isr_words = 0;
	a->nmi_pending = 0;
}

/* The registers as a RESET leaves them, IA32_APIC_BASE aside (SDM Vol. 3A, 11.4.7.1). */
static void reset_registers(struct vlapic *a)
{
	unsigned i;

	clear_vectors(a);
	a->tpr = 0;
	a->ldr = 0;
	a->dfr = 0xffffffffu;
	a->svr = 0xff;
	a->esr = a->esr_pending = 0;
	a->icr = 0;
	for (i = 0; i < VLAPIC_LVTS; i++)
		a->lvt[i] = LVT_MASK;
	a->timer_initial = a->count_at_start = 0;
	a->timer_divide = 0;
	a->deadline = a->tsc_deadline = 0;
}

void vlapic_reset(struct vlapic *a, uint32_t id, uint64_t tsc_hz)
{
	a->id = id;
	a->tsc_hz = tsc_hz;
	a->base = 0xfee00000ull | APIC_BASE_ENABLE | (id == 0 ? APIC_BASE_BSP : 0);
	reset_registers(a);
}

void vlapic_init_signal(struct vlapic *a)
{
	reset_registers(a); /* IA32_APIC_BASE, and with it the x2APIC mode, stays (SDM Vol. 3A, 11.12.5.1) */
}

int vlapic_takes_extint(const struct vlapic *a)
{
	uint32_t lint0 = a->lvt[LVT_LINT0];

	if (!vlapic_enabled(a))
		return 1;
	return !(lint0 & LVT_MASK) && ((lint0 >> 8) & 7) == IRQ_EXTINT;
}

int vlapic_enabled(const struct vlapic *a)
{
	return (a->base & APIC_BASE_ENABLE) != 0;
}

static int software_enabled(const struct vlapic *a)
{
	return (a->svr & SVR_ENABLE) != 0;
}

/* ---- vectors: 256 bits in eight 32-bit words, as the registers show them */

/* The highest vector set, words naming the non-empty words of bits (irr_words, isr_words). */
static int highest(const uint32_t *bits, uint32_t words)
{
	int w;

	if (!words)
		return -1;
	w = 31 - __builtin_clz(words);
	return w * 32 + 31 - __builtin_clz(bits[w]);
}

static void set_bit(uint32_t *bits, uint8_t v)
{
	bits[v / 32] |= 1u << (v % 32);
}

static void clear_bit(uint32_t *bits, uint8_t v)
{
	bits[v / 32] &= ~(1u << (v % 32));
}

static int test_bit(const uint32_t *bits, uint8_t v)
{
	return (bits[v / 32] >> (v % 32)) & 1;
}

static void request(struct vlapic *a, uint8_t vector, int level)
{
	set_bit(a->irr, vector);
	if (level)
		set_bit(a->tmr, vector);
	else
		clear_bit(a->tmr, vector);
	a->irr_words |= 1u << (vector / 32);
}

int vlapic_highest_irr(const struct vlapic *a)
{
	return highest(a->irr, a->irr_words);
}

int vlapic_highest_isr(const struct vlapic *a)
{
	return highest(a->isr, a->isr_words);
}

uint8_t vlapic_ppr(const struct vlapic *a)
{
	int isrv = vlapic_highest_isr(a);
	uint8_t isr_class = isrv < 0 ? 0 : (uint8_t)(isrv & 0xf0);

	return (a->tpr & 0xf0) >= isr_class ? a->tpr : isr_class;
}

int vlapic_deliverable(const struct vlapic *a)
{
	int v = vlapic_highest_irr(a);

	if (v < 0 || (v & 0xf0) <= (vlapic_ppr(a) & 0xf0))
		return -1;
	return v;
}

unsigned vlapic_waiting_class(const struct vlapic *a)
{
	int h = vlapic_highest_irr(a), s = vlapic_highest_isr(a);

	if (h < 0 || (s >= 0 && (h & 0xf0) <= (s & 0xf0)))
		return 0;
	return (unsigned)h >> 4;
}

void vlapic_take(struct vlapic *a, uint8_t vector)
{
	clear_bit(a->irr, vector);
	if (!a->irr[vector / 32])
		a->irr_words &= ~(1u << (vector / 32));
	set_bit(a->isr, vector);
	a->isr_words |= 1u << (vector / 32);
}

/* An error the APIC detected: recorded, and the error LVT's interrupt (SDM Vol. 3A, 11.5.3). */
static void report_error(struct vlapic *a, uint32_t bit)
{
	uint32_t lvt = a->lvt[LVT_ERROR];

	a->esr_pending |= bit;
	if (!(lvt & LVT_MASK) && (lvt & 0xff) >= 16)
		request(a, (uint8_t)lvt, 0);
}

void vlapic_accept(struct vlapic *a, const struct irq_msg *m)
{
	if (m->mode == IRQ_NMI) {
		a->nmi_pending = 1;
		return;
	}
	if (m->mode != IRQ_FIXED && m->mode != IRQ_LOWEST)
		return; /* SMI, INIT, STARTUP and ExtINT: not for the register model */
	if (!vlapic_enabled(a) || !software_enabled(a))
		return; /* a disabled APIC takes no fixed interrupts (SDM Vol. 3A, 11.4.7.2) */
	if (m->vector < 16) {
		report_error(a, ESR_RECEIVE_ILLEGAL);
		return;
	}
	request(a, m->vector, m->level);
}

/* EOI: the highest in-service vector ends; level-triggered ones go to the I/O APIC. */
int vlapic_eoi(struct vlapic *a)
{
	int v = vlapic_highest_isr(a);

	if (v < 0)
		return -1;
	clear_bit(a->isr, (uint8_t)v);
	if (!a->isr[v / 32])
		a->isr_words &= ~(1u << (v / 32));
	return test_bit(a->tmr, (uint8_t)v) ? v : -1;
}

/* ---- destinations (SDM Vol. 3A, 11.6.2) --------------------------------- */

static uint32_t x2apic_ldr(uint32_t id)
{
	return ((id >> 4) << 16) | (1u << (id & 0xf)); /* SDM Vol. 3A, 11.12.10.2 */
}

static int logical_match(const struct vlapic *a, uint32_t dest)
{
	uint32_t ldr;

	if (vlapic_x2apic(a)) {
		ldr = x2apic_ldr(a->id); /* read-only, the ID's: after INIT too (SDM Vol. 3A, 11.12.5.1) */
		return dest == BROADCAST32 || ((dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff));
	}
	ldr = a->ldr;
	dest &= 0xff;
	if (dest == BROADCAST8)
		return 1;
	if ((a->dfr >> 28) == 0xf) /* flat model */
		return (dest & (ldr >> 24)) != 0;
	return (dest >> 4) == (ldr >> 28) && (dest & (ldr >> 24) & 0xf); /* cluster model */
}

int vlapic_matches(const struct vlapic *a, const struct irq_msg *m)
{
	if (!vlapic_enabled(a))
		return 0;
	if (m->logical)
		return logical_match(a, m->dest);
	return m->dest == a->id || m->dest == BROADCAST32 || (!vlapic_x2apic(a) && (m->dest & 0xff) == BROADCAST8) ||
	       (vlapic_x2apic(a) && m->dest == BROADCAST8);
}

/* ---- timer (SDM Vol. 3A, 11.5.4) ----------------------------------------- */

static unsigned timer_mode(const struct vlapic *a)
{
	return (a->lvt[LVT_TIMER] >> LVT_TIMER_MODE_SHIFT) & 3;
}

/* Divide configuration bits 0, 1 and 3: 0b1011 divides by 1, else by 2^(value + 1). */
static uint64_t divisor(const struct vlapic *a)
{
	unsigned v = ((a->timer_divide >> 1) & 4) | (a->timer_divide & 3);

	return 1ull << ((v + 1) & 7);
}

/* Host TSC ticks in `counts` timer counts (at most 2^32, each up to 128 bus clocks). */
static uint64_t counts_to_ticks(const struct vlapic *a, uint64_t counts)
{
	return mul_div(counts * divisor(a), a->tsc_hz, VLAPIC_BUS_HZ);
}

static uint64_t ticks_to_counts(const struct vlapic *a, uint64_t ticks)
{
	return mul_div(ticks, VLAPIC_BUS_HZ, a->tsc_hz * divisor(a));
}

static uint32_t current_count(const struct vlapic *a, uint64_t now)
{
	uint64_t done;

	if (timer_mode(a) == TIMER_TSC_DEADLINE || !a->deadline)
		return 0;
	done = now > a->timer_start ? ticks_to_counts(a, now - a->timer_start) : 0;
	if (done < a->count_at_start)
		return (uint32_t)(a->count_at_start - done);
	if (timer_mode(a) != TIMER_PERIODIC || !a->timer_initial)
		return 0;
	/* Periodic: reloaded from the initial count each time it reached 0, polled or not yet (11.5.4). */
	return a->timer_initial - (uint32_t)((done - a->count_at_start) % a->timer_initial);
}

/* The count runs down from `count` as of now; 0 stops it. */
static void start_count(struct vlapic *a, uint32_t count, uint64_t now, struct vlapic_effects *fx)
{
	a->count_at_start = count;
	a->timer_start = now;
	a->deadline = count ? now + counts_to_ticks(a, count) : 0;
	if (a->deadline == 0 && count)
		a->deadline = 1; /* a deadline at TSC 0 is still a deadline */
	fx->timer_changed = 1;
}

static void fire(struct vlapic *a)
{
	uint32_t lvt = a->lvt[LVT_TIMER];
	struct irq_msg m = { (uint8_t)lvt, IRQ_FIXED, 0, 0, a->id };

	if (!(lvt & LVT_MASK)) /* a masked timer counts on but interrupts no one */
		vlapic_accept(a, &m);
}

uint64_t vlapic_timer_poll(struct vlapic *a, uint64_t now)
{
	uint64_t period;

	if (!a->deadline || now < a->deadline)
		return a->deadline;
	fire(a);
	if (timer_mode(a) != TIMER_PERIODIC || !a->timer_initial) {
		a->deadline = 0;
		a->tsc_deadline = 0; /* the MSR reads 0 once it fired (SDM Vol. 3A, 11.5.4.1) */
		return 0;
	}
	/* The next period starts where this one ended, not now: no drift; periods missed are merged. */
	period = counts_to_ticks(a, a->timer_initial);
	if (period == 0)
		period = 1;
	a->timer_start = a->deadline + (now - a->deadline) / period * period;
	a->count_at_start = a->timer_initial;
	a->deadline = a->timer_start + period;
	return a->deadline;
}

uint64_t vlapic_tsc_deadline(const struct vlapic *a)
{
	return timer_mode(a) == TIMER_TSC_DEADLINE ? a->tsc_deadline : 0;
}

void vlapic_set_tsc_deadline(struct vlapic *a, uint64_t value, uint64_t now, uint64_t tsc_offset,
			     struct vlapic_effects *fx)
{
	uint64_t guest_now = now + tsc_offset;

	if (timer_mode(a) != TIMER_TSC_DEADLINE)
		return; /* ignored in the other modes (SDM Vol. 3A, 11.5.4.1) */
	a->tsc_deadline = value;
	fx->timer_changed = 1;
	if (!value) {
		a->deadline = 0;
		return;
	}
	/* Compared in the guest's time, so that a value far ahead cannot wrap into the past. */
	a->deadline = value <= guest_now ? now : now + (value - guest_now);
	if (a->deadline < now)
		a->deadline = ~0ull;
}

static void write_lvt(struct vlapic *a, unsigned index, uint32_t value, struct vlapic_effects *fx)
{
	uint32_t old_mode = timer_mode(a);

	value &= lvt_writable[index];
	if (index == LVT_TIMER && ((value >> LVT_TIMER_MODE_SHIFT) & 3) == 3)
		value &= ~(2u << LVT_TIMER_MODE_SHIFT); /* mode 3 is reserved: read as one-shot/periodic */
	if (!software_enabled(a))
		value |= LVT_MASK; /* cannot be unmasked while the APIC is software-disabled */
	a->lvt[index] = (a->lvt[index] & ~lvt_writable[index]) | value;
	if (index == LVT_TIMER && timer_mode(a) != old_mode) {
		/* A change of mode disarms the timer (SDM Vol. 3A, 11.5.4.1). */
		a->deadline = a->tsc_deadline = 0;
		a->timer_initial = a->count_at_start = 0;
		fx->timer_changed = 1;
	}
}

static void write_svr(struct vlapic *a, uint32_t value)
{
	unsigned i;

	a->svr = value & 0x1ff; /* vector and APIC software enable; no focus checking, no EOI suppression */
	if (!software_enabled(a))
		for (i = 0; i < VLAPIC_LVTS; i++)
			a->lvt[i] |= LVT_MASK; /* SDM Vol. 3A, 11.4.7.2 */
}

/* ---- interrupt command (SDM Vol. 3A, 11.6.1) ----------------------------- */

static void command(struct vlapic *a, uint64_t icr, struct vlapic_effects *fx)
{
	uint32_t low = (uint32_t)icr;
	unsigned mode = (low >> 8) & 7;

	if (mode == IRQ_INIT && !(low & ICR_LEVEL_ASSERT))
		return; /* INIT level de-assert: only for the 82489DX, nothing on xAPIC (11.6.1) */
	if ((mode == IRQ_FIXED || mode == IRQ_LOWEST) && (low & 0xff) < 16) {
		report_error(a, ESR_SEND_ILLEGAL);
		return;
	}
	fx->send = 1;
	fx->msg = (struct irq_msg){
		.vector = (uint8_t)low,
		.mode = (uint8_t)mode,
		.logical = (low >> 11) & 1,
		.level = 0, /* a level trigger mode is issued as edge (SDM Vol. 3A, 11.6.1: Pentium 4 and later) */
		.dest = vlapic_x2apic(a) ? (uint32_t)(icr >> 32) : (uint32_t)(icr >> 56),
	};
	fx->shorthand = (enum vlapic_shorthand)((low >> 18) & 3);
}

/* ---- register access ---------------------------------------------------- */

static int read_vector_bank(const struct vlapic *a, unsigned offset, uint64_t *value)
{
	unsigned word = (offset & 0x7f) >> 4;

	if (offset >= APIC_ISR && offset < APIC_TMR)
		*value = a->isr[word];
	else if (offset >= APIC_TMR && offset < APIC_IRR)
		*value = a->tmr[word];
	else if (offset >= APIC_IRR && offset < APIC_ESR)
		*value = a->irr[word];
	else
		return -1;
	return 0;
}

static int read_lvt_or_timer(const struct vlapic *a, unsigned offset, uint64_t now, uint64_t *value)
{
	if (offset >= APIC_LVT_TIMER && offset <= APIC_LVT_ERROR) {
		*value = a->lvt[(offset - APIC_LVT_TIMER) >> 4];
		return 0;
	}
	switch (offset) {
	case APIC_TIMER_INITIAL: *value = a->timer_initial; return 0;
	case APIC_TIMER_CURRENT: *value = current_count(a, now); return 0;
	case APIC_TIMER_DIVIDE: *value = a->timer_divide; return 0;
	}
	return -1;
}

int vlapic_read(struct vlapic *a, unsigned offset, int x2apic, uint64_t now, uint64_t *value)
{
	*value = 0;
	switch (offset) {
	case APIC_ID: *value = x2apic ? a->id : a->id << 24; return 0;
	case APIC_VERSION: *value = APIC_VERSION_VALUE; return 0;
	case APIC_TPR: *value = a->tpr; return 0;
	case APIC_PPR: *value = vlapic_ppr(a); return 0;
	case APIC_LDR: *value = x2apic ? x2apic_ldr(a->id) : a->ldr; return 0;
	case APIC_SVR: *value = a->svr; return 0;
	case APIC_ESR: *value = a->esr; return 0;
	case APIC_ICR: *value = x2apic ? a->icr : (uint32_t)a->icr; return 0; /* delivery status 0: sent at once */
	case APIC_APR:
	case APIC_RRD:
	case APIC_ICR_HIGH:
	case APIC_DFR:
		if (x2apic)
			return -1;
		*value = offset == APIC_ICR_HIGH ? a->icr >> 32 : offset == APIC_DFR ? a->dfr : 0;
		return 0;
	}
	if (read_vector_bank(a, offset, value) == 0 || read_lvt_or_timer(a, offset, now, value) == 0)
		return 0;
	return x2apic ? -1 : 0; /* EOI and SELF IPI are write-only; the rest reserved */
}

/* Writes elsewhere than the timer's registers vanish: read-only and reserved ones, in the xAPIC view. */
static void write_timer(struct vlapic *a, unsigned offset, uint64_t value, uint64_t now, struct vlapic_effects *fx)
{
	if (offset == APIC_TIMER_INITIAL && timer_mode(a) != TIMER_TSC_DEADLINE) {
		/* ignored in TSC-deadline mode (SDM Vol. 3A, 11.5.4.1) */
		a->timer_initial = (uint32_t)value;
		start_count(a, (uint32_t)value, now, fx);
	} else if (offset == APIC_TIMER_DIVIDE) {
		uint32_t left = current_count(a, now);
		a->timer_divide = (uint32_t)value & 0xb;
		if (a->deadline && timer_mode(a) != TIMER_TSC_DEADLINE)
			start_count(a, left, now, fx); /* the rest of the count at the new rate */
	}
}

/* x2APIC: what the MSR view refuses (SDM Vol. 3A, 11.12.1.2): read-only registers and reserved bits. */
static int x2apic_write_refused(unsigned offset, uint64_t value)
{
	switch (offset) {
	case APIC_EOI:
	case APIC_ESR:
		return value != 0;
	case APIC_TPR:
	case APIC_SVR:
	case APIC_TIMER_INITIAL:
	case APIC_TIMER_DIVIDE:
	case APIC_SELF_IPI:
		return (value >> 32) != 0 || (offset == APIC_SELF_IPI && (value >> 8));
	case APIC_ICR:
		return (value & ICR_X2APIC_RESERVED) != 0; /* Figure 11-28 */
	}
	return !(offset >= APIC_LVT_TIMER && offset <= APIC_LVT_ERROR) || (value >> 32) != 0;
}

int vlapic_write(struct vlapic *a, unsigned offset, int x2apic, uint64_t now, uint64_t value,
		 struct vlapic_effects *fx)
{
	fx->send = 0;
	fx->eoi_vector = -1;
	fx->timer_changed = 0;
	if (x2apic && x2apic_write_refused(offset, value))
		return -1;
	if (!x2apic)
		value &= 0xffffffffu;
	if (offset >= APIC_LVT_TIMER && offset <= APIC_LVT_ERROR) {
		write_lvt(a, (offset - APIC_LVT_TIMER) >> 4, (uint32_t)value, fx);
		return 0;
	}
	switch (offset) {
	case APIC_TPR: a->tpr = (uint8_t)value; return 0;
	case APIC_EOI: fx->eoi_vector = vlapic_eoi(a); return 0;
	case APIC_LDR: a->ldr = (uint32_t)value & 0xff000000u; return 0;
	case APIC_DFR: a->dfr = (uint32_t)value | 0x0fffffffu; return 0;
	case APIC_SVR: write_svr(a, (uint32_t)value); return 0;
	case APIC_ESR: a->esr = a->esr_pending; a->esr_pending = 0; return 0; /* 11.5.3 */
	case APIC_ICR_HIGH: a->icr = (uint32_t)a->icr | (value & 0xff000000u) << 32; return 0;
	case APIC_ICR:
		a->icr = ((x2apic ? value : a->icr) & ~0xffffffffull) | (value & ICR_DEFINED);
		command(a, a->icr, fx);
		return 0;
	case APIC_SELF_IPI:
		if (x2apic) /* no register at 0x3F0 in the xAPIC page (SDM Vol. 3A, 11.12.11) */
			command(a, (value & 0xff) | (uint64_t)SH_SELF << 18, fx);
		return 0;
	}
	write_timer(a, offset, value, now, fx);
	return 0;
}

int vlapic_set_base(struct vlapic *a, uint64_t value, unsigned phys_bits)
{
	uint64_t reserved = ~(((1ull << phys_bits) - 1) & ~0xfffull) & ~(APIC_BASE_BSP | APIC_BASE_X2APIC | APIC_BASE_ENABLE);
	int was_x2 = vlapic_x2apic(a), was_on = vlapic_enabled(a);
	int x2 = (value & APIC_BASE_X2APIC) != 0, on = (value & APIC_BASE_ENABLE) != 0;

	if (value & reserved)
		return -1;
	if ((value ^ a->base) & APIC_BASE_BSP)
		return -1; /* the BSP flag is the platform's, read-only here */
	/* x2APIC needs the APIC on, and leaving it goes through disabled (SDM Vol. 3A, 11.12.5, Figure 11-27). */
	if ((x2 && !on) || (was_x2 && on && !x2) || (x2 && !was_x2 && !was_on))
		return -1;
	a->base = value;
	if (!on)
		reset_registers(a); /* a disabled APIC comes back as after RESET (11.4.3) */
	return 0;
}
