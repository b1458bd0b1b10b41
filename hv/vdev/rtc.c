/*
 * Nothing ticks: the time registers are computed from the guest's clock
 * when read (and copied into cmos[] when the clock stops or SET freezes
 * them), and C's flags from the periodic ticks, second boundaries and
 * alarm times that lie between the last look (`seen`) and now.
 */
#include "rtc.h"

#include "clock.h"
#include "irq.h"
#include "lib/muldiv.h"
#include "partition.h"
#include "platform.h"
#include "walltime.h"

#define RTC_IRQ 8
#define DATA_PORT (PLATFORM_RTC_PORT + 1)
#define NS_PER_S 1000000000ull
#define UIP_NS 244000ull          /* UIP rises this long before the update (MC146818A, "Update Cycle") */
#define TIME_BASE_HZ 32768ull     /* the divider's output, whose taps give the periodic rates */
#define DIVIDER_LAST_RUNNING 0x20 /* DV 000, 001, 010 run */
#define INDEX_MASK 0x7f
#define ALARM_DONT_CARE 0xc0
#define ALARM_STEPS_MAX 512       /* any alarm that can match does within two days: < 300 steps */
#define NEVER INT64_MAX

static int running(const struct vrtc *r)
{
	return (r->cmos[RTC_REG_A] & RTC_A_DIVIDER) <= DIVIDER_LAST_RUNNING;
}

static int updating(const struct vrtc *r)
{
	return running(r) && !(r->cmos[RTC_REG_B] & RTC_B_SET);
}

static uint64_t guest_ns(const struct vrtc *r, uint64_t now)
{
	return now + r->phase;
}

static int64_t guest_seconds(const struct vrtc *r, uint64_t now)
{
	return (int64_t)(guest_ns(r, now) / NS_PER_S) + r->offset;
}

/* The periodic interrupt's period in time-base ticks, 0 if none (MC146818A, "Periodic Interrupt Rate"). */
static uint64_t period_ticks(const struct vrtc *r)
{
	unsigned rs = r->cmos[RTC_REG_A] & RTC_A_RATE;

	return rs == 0 ? 0 : rs <= 2 ? 1ull << (rs + 6) : 1ull << (rs - 1);
}

static uint64_t ticks(const struct vrtc *r, uint64_t now)
{
	return mul_div(guest_ns(r, now), TIME_BASE_HZ, NS_PER_S);
}

static int is_time_register(unsigned reg)
{
	return (reg <= RTC_YEAR && reg != RTC_SECONDS_ALARM && reg != RTC_MINUTES_ALARM &&
		reg != RTC_HOURS_ALARM) || reg == RTC_CENTURY;
}

/* ---- the alarm (MC146818A, "Alarm"): compared at each update, in the registers' own format */

static int alarm_matches(uint8_t alarm, uint8_t now)
{
	return alarm >= ALARM_DONT_CARE || alarm == now;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return (a % b + b) % b;
}

/* The first second after `after` (guest time) whose time of day the alarm matches, or NEVER. */
static int64_t next_alarm(const struct vrtc *r, int64_t after)
{
	uint8_t b = r->cmos[RTC_REG_B];
	int64_t t = after + 1;
	unsigned i;

	for (i = 0; i < ALARM_STEPS_MAX; i++) {
		int64_t day_seconds = floor_mod(t, DATE_SECONDS_PER_DAY);
		unsigned hour = (unsigned)(day_seconds / 3600), minute = (unsigned)(day_seconds / 60 % 60);
		unsigned second = (unsigned)(day_seconds % 60);

		if (!alarm_matches(r->cmos[RTC_HOURS_ALARM], mc146818_encode_hour(hour, b)))
			t += 3600 - day_seconds % 3600;
		else if (!alarm_matches(r->cmos[RTC_MINUTES_ALARM], mc146818_encode(minute, b)))
			t += 60 - second;
		else if (!alarm_matches(r->cmos[RTC_SECONDS_ALARM], mc146818_encode(second, b)))
			t++;
		else
			return t;
	}
	return NEVER;
}

/* ---- flags and the interrupt */

/* IRQF is PF.PIE + AF.AIE + UF.UIE: each enable sits at its flag's bit in B. */
static void update_irqf(struct vrtc *r)
{
	uint8_t flags = r->cmos[RTC_REG_C] & (RTC_C_PF | RTC_C_AF | RTC_C_UF);

	r->cmos[RTC_REG_C] = flags & r->cmos[RTC_REG_B] ? flags | RTC_C_IRQF : flags;
}

/* The flags of what happened since `seen`: all periods, updates and alarms missed make one flag each. */
static void advance(struct vrtc *r, uint64_t now)
{
	uint64_t period = period_ticks(r);
	int64_t before = guest_seconds(r, r->seen), after = guest_seconds(r, now);

	if (running(r) && period && ticks(r, now) / period > ticks(r, r->seen) / period)
		r->cmos[RTC_REG_C] |= RTC_C_PF;
	if (updating(r) && after > before) {
		r->cmos[RTC_REG_C] |= RTC_C_UF;
		if (next_alarm(r, before) <= after)
			r->cmos[RTC_REG_C] |= RTC_C_AF;
	}
	r->seen = now;
	update_irqf(r);
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

/* The wall ns at which IRQF rises next, 0 if never (or it is up: it stays so until C is read). */
static uint64_t next_interrupt(const struct vrtc *r, uint64_t now)
{
	uint8_t b = r->cmos[RTC_REG_B];
	uint64_t period = period_ticks(r), next = 0, second_ends;
	int64_t seconds = guest_seconds(r, now), alarm;

	if (r->cmos[RTC_REG_C] & RTC_C_IRQF)
		return 0;
	if ((b & RTC_B_PIE) && running(r) && period)
		next = mul_div_up((ticks(r, now) / period + 1) * period, NS_PER_S, TIME_BASE_HZ) - r->phase;
	if (!updating(r))
		return next;
	second_ends = (guest_ns(r, now) / NS_PER_S + 1) * NS_PER_S - r->phase;
	if (b & RTC_B_UIE)
		next = earliest(next, second_ends);
	alarm = b & RTC_B_AIE ? next_alarm(r, seconds) : NEVER;
	if (alarm != NEVER)
		next = earliest(next, second_ends + (uint64_t)(alarm - seconds - 1) * NS_PER_S);
	return next;
}

/* ---- registers */

/* The time registers show the guest's clock. */
static void show_time(struct vrtc *r, uint64_t now)
{
	struct date d;

	date_from_unix(guest_seconds(r, now), &d);
	mc146818_set_date(r->cmos, &d);
}

/* The guest's clock runs on from what the time registers hold, its second keeping its phase. */
static void set_clock(struct vrtc *r, uint64_t now)
{
	struct date d;

	mc146818_get_date(r->cmos, &d);
	r->offset = date_to_unix(&d) - (int64_t)(guest_ns(r, now) / NS_PER_S);
}

static int update_in_progress(const struct vrtc *r, uint64_t now)
{
	return updating(r) && guest_ns(r, now) % NS_PER_S >= NS_PER_S - UIP_NS;
}

static uint8_t read_register(struct vrtc *r, unsigned reg, uint64_t now)
{
	uint8_t v;

	switch (reg) {
	case RTC_REG_A: return (uint8_t)(r->cmos[RTC_REG_A] | (update_in_progress(r, now) ? RTC_A_UIP : 0));
	case RTC_REG_C:
		v = r->cmos[RTC_REG_C];
		r->cmos[RTC_REG_C] = 0;
		return v;
	case RTC_REG_D: return RTC_D_VRT;
	default:
		if (is_time_register(reg) && updating(r))
			show_time(r, now);
		return r->cmos[reg];
	}
}

/*
 * A write to a time register sets the clock at once; while SET is on or
 * the divider stops, the registers hold still for the guest, and the clock
 * runs on from them when both are off again.
 */
static void write_register(struct vrtc *r, unsigned reg, uint8_t v, uint64_t now)
{
	int was_updating = updating(r), was_running = running(r);

	if (reg == RTC_REG_C || reg == RTC_REG_D)
		return; /* read-only */
	if (was_updating)
		show_time(r, now);
	if (reg == RTC_REG_A)
		v &= (uint8_t)~RTC_A_UIP;
	if (reg == RTC_REG_B && (v & RTC_B_SET))
		v &= (uint8_t)~RTC_B_UIE; /* MC146818A, register B: SET clears UIE */
	r->cmos[reg] = v;
	if (!was_running && running(r))
		r->phase = (uint32_t)((NS_PER_S + NS_PER_S / 2 - now % NS_PER_S) % NS_PER_S); /* first update in 500 ms */
	if (updating(r) && (!was_updating || is_time_register(reg)))
		set_clock(r, now);
	update_irqf(r);
}

/* ---- the model's interface */

void vrtc_reset(struct vrtc *r, uint64_t now)
{
	*r = (struct vrtc){ .seen = now };
	r->cmos[RTC_REG_A] = 0x26;
	r->cmos[RTC_REG_B] = RTC_B_24H;
}

/* MC146818A data sheet, "RESET": PIE, AIE, UIE and SQWE clear, and C's flags. */
void vrtc_reset_pin(struct vrtc *r)
{
	r->cmos[RTC_REG_B] &= (uint8_t)~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE);
	r->cmos[RTC_REG_C] = 0;
	r->line = 0;
	r->deadline = 0;
}

/* Time never runs back for the guest, though two CPUs' clocks may differ a little. */
static uint64_t advance_to(struct vrtc *r, uint64_t now)
{
	if (now < r->seen)
		now = r->seen;
	advance(r, now);
	return now;
}

uint8_t vrtc_read(struct vrtc *r, uint16_t port, uint64_t now)
{
	now = advance_to(r, now);
	return port == DATA_PORT ? read_register(r, r->index, now) : 0xff;
}

void vrtc_write(struct vrtc *r, uint16_t port, uint8_t value, uint64_t now)
{
	now = advance_to(r, now);
	if (port == PLATFORM_RTC_PORT) {
		r->index = value & INDEX_MASK;
		r->nmi_mask = value >> 7;
	} else if (port == DATA_PORT) {
		write_register(r, r->index, value, now);
	}
}

int vrtc_irq(const struct vrtc *r)
{
	return (r->cmos[RTC_REG_C] & RTC_C_IRQF) != 0;
}

uint64_t vrtc_poll(struct vrtc *r, uint64_t now)
{
	now = advance_to(r, now);
	return next_interrupt(r, now);
}

/* ---- the partition's RTC: the model under its lock, IRQ 8 following IRQF */

/*
 * The host's wall clock at the partition's time (hv/part_clock.h): while
 * the partition is paused its RTC stands still, as its TSC and its
 * paravirtual clock do, and after the resume it is behind the host's by
 * the time paused until the guest sets it (NTP does). A real PC's RTC
 * would run on, battery-backed; here the guest's clocks agree with one
 * another instead, and Linux, which reads the RTC at boot only, keeps
 * one time either way. README, "pause and resume".
 */
static uint64_t wall_now(const struct partition *p)
{
	return walltime_unix_ns(partition_time(p));
}

/* Under the lock, so that the line's changes keep their order. */
static void follow_irqf(struct partition *p)
{
	int irq = vrtc_irq(&p->rtc);

	if (irq == p->rtc.line)
		return;
	p->rtc.line = (uint8_t)irq;
	irq_set_isa(p, RTC_IRQ, irq);
}

static uint8_t in(void *dev, uint16_t port)
{
	struct partition *p = dev;

	return vrtc_read(&p->rtc, port, wall_now(p));
}

static void out(void *dev, uint16_t port, uint8_t value)
{
	struct partition *p = dev;

	vrtc_write(&p->rtc, port, value, wall_now(p));
}

/* After an access: the line, and the device timer if the next interrupt moved. */
static void settle(struct partition *p)
{
	uint64_t next = vrtc_poll(&p->rtc, wall_now(p));

	follow_irqf(p);
	if (next == p->rtc.deadline)
		return;
	p->rtc.deadline = next;
	vdev_deadline_changed(p);
}

static void bus_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	struct partition *p = dev;

	spin_lock(&p->rtc.lock);
	*value = vdev_in_bytes(in, p, (uint16_t)(PLATFORM_RTC_PORT + offset), size);
	settle(p);
	spin_unlock(&p->rtc.lock);
}

static void bus_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct partition *p = dev;

	spin_lock(&p->rtc.lock);
	vdev_out_bytes(out, p, (uint16_t)(PLATFORM_RTC_PORT + offset), size, value);
	settle(p);
	spin_unlock(&p->rtc.lock);
}

const struct vdev_ops vrtc_ops = { bus_read, bus_write };

uint64_t vrtc_timer(void *dev, uint64_t now)
{
	struct partition *p = dev;
	uint64_t next;

	spin_lock(&p->rtc.lock);
	next = vrtc_poll(&p->rtc, walltime_unix_ns(now));
	p->rtc.deadline = next;
	follow_irqf(p);
	spin_unlock(&p->rtc.lock);
	return next ? walltime_tsc(next) : 0;
}
