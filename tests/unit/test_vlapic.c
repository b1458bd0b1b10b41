/*
 * A vCPU's local APIC (hv/vdev/vlapic.c) against the Intel SDM Vol. 3A,
 * chapter 11: the timer on a simulated host TSC, priorities, EOI, the ICR's
 * messages, destinations, both register views, IA32_APIC_BASE, INIT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vdev/vlapic.h"

#define TSC_HZ 2500000000ull                      /* 25 host TSC ticks per timer input clock */
#define TICKS_PER_CLOCK (TSC_HZ / VLAPIC_BUS_HZ)
#define T0 0x123456789ull                          /* the simulated host TSC at the start */
#define ID 1u
#define PHYS_BITS 36u

#define LVT(n) (APIC_LVT_TIMER + 0x10u * (n)) /* timer, thermal, perf, LINT0, LINT1, error */
#define LVT_MASKED (1u << 16)
#define ONE_SHOT 0u
#define PERIODIC (1u << 17)
#define TSC_DEADLINE (2u << 17)
#define DIVIDE_BY_1 0xbu
#define SVR_ON 0x1ffu
#define ESR_SEND_ILLEGAL 0x20u
#define ESR_RECEIVE_ILLEGAL 0x40u

static struct vlapic apic;
static struct vlapic_effects fx;
static uint64_t now;

static int reset(void **state)
{
	(void)state;
	vlapic_reset(&apic, ID, TSC_HZ);
	now = T0;
	fx = (struct vlapic_effects){ .eoi_vector = -1 };
	return 0;
}

/* The xAPIC page's view: it never refuses. */
static uint64_t get(unsigned offset)
{
	uint64_t value = 0xdeadbeefdeadbeefull;

	assert_int_equal(vlapic_read(&apic, offset, 0, now, &value), 0);
	return value;
}

static void put(unsigned offset, uint64_t value)
{
	assert_int_equal(vlapic_write(&apic, offset, 0, now, value, &fx), 0);
}

/* The x2APIC MSRs' view: 0, or -1 for #GP. */
static int msr_get(unsigned offset, uint64_t *value)
{
	return vlapic_read(&apic, offset, 1, now, value);
}

static int msr_put(unsigned offset, uint64_t value)
{
	return vlapic_write(&apic, offset, 1, now, value, &fx);
}

static uint64_t msr(unsigned offset)
{
	uint64_t value = 0xdeadbeefdeadbeefull;

	assert_int_equal(msr_get(offset, &value), 0);
	return value;
}

static void software_enable(void)
{
	put(APIC_SVR, SVR_ON);
}

static void to_x2apic(void)
{
	assert_int_equal(vlapic_set_base(&apic, apic.base | APIC_BASE_X2APIC, PHYS_BITS), 0);
}

static void fixed(uint8_t vector, int level)
{
	struct irq_msg m = { .vector = vector, .mode = IRQ_FIXED, .level = (uint8_t)level, .dest = ID };

	vlapic_accept(&apic, &m);
}

/* Bit v of the 256-bit ISR, TMR or IRR, read through the registers (eight words 16 bytes apart). */
static int vector_bit(unsigned bank, uint8_t v)
{
	return (int)((get(bank + 0x10u * (v / 32u)) >> (v % 32u)) & 1);
}

static int requested(uint8_t v)
{
	return vector_bit(APIC_IRR, v);
}

static void take(uint8_t v)
{
	assert_int_equal(vlapic_deliverable(&apic), v);
	vlapic_take(&apic, v);
}

static uint64_t poll_at(uint64_t t)
{
	now = t;
	return vlapic_timer_poll(&apic, t);
}

/* The timer's first deadline after a write of count at now, divide by `div`. */
static uint64_t due(uint64_t count, uint64_t div)
{
	return now + count * div * TICKS_PER_CLOCK;
}

/* The APIC software-enabled and its timer started at now; returns the deadline the model arms. */
static uint64_t start_timer(uint32_t lvt, uint32_t divide_bits, uint32_t count)
{
	software_enable();
	put(APIC_TIMER_DIVIDE, divide_bits);
	put(LVT(0), lvt);
	put(APIC_TIMER_INITIAL, count);
	assert_true(fx.timer_changed);
	return vlapic_timer_poll(&apic, now);
}

/* ---- reset, version ------------------------------------------------------ */

/* SDM Vol. 3A, 11.4.7.1 (state after RESET), 11.4.8 (version), 11.4.4 (IA32_APIC_BASE). */
static void reset_state_is_the_sdm_power_up_state(void **state)
{
	unsigned i;

	(void)state;
	assert_int_equal(get(APIC_ID), ID << 24);
	assert_int_equal(get(APIC_VERSION), 0x00050014); /* integrated APIC, 6 LVT entries, no EOI suppression */
	assert_int_equal(get(APIC_SVR), 0xff);
	assert_int_equal(get(APIC_DFR), 0xffffffffu);
	assert_int_equal(get(APIC_TPR), 0);
	assert_int_equal(get(APIC_PPR), 0);
	assert_int_equal(get(APIC_LDR), 0);
	for (i = 0; i < 6; i++)
		assert_int_equal(get(LVT(i)), LVT_MASKED);
	assert_int_equal(get(APIC_TIMER_INITIAL), 0);
	assert_int_equal(get(APIC_TIMER_CURRENT), 0);
	assert_int_equal(get(APIC_TIMER_DIVIDE), 0);
	assert_int_equal(apic.base, 0xfee00000ull | APIC_BASE_ENABLE); /* an AP: no BSP flag */
	assert_false(vlapic_x2apic(&apic));
	vlapic_reset(&apic, 0, TSC_HZ);
	assert_int_equal(apic.base, 0xfee00000ull | APIC_BASE_ENABLE | APIC_BASE_BSP);
}

/* ---- timer (SDM Vol. 3A, 11.5.4) ----------------------------------------- */

static void timer_one_shot_counts_down_and_fires_once(void **state)
{
	uint64_t deadline = due(1000, 1);

	(void)state;
	assert_int_equal(start_timer(0x40 | ONE_SHOT, DIVIDE_BY_1, 1000), deadline);
	assert_int_equal(get(APIC_TIMER_INITIAL), 1000);
	assert_int_equal(get(APIC_TIMER_CURRENT), 1000);
	assert_int_equal(poll_at(T0 + 400 * TICKS_PER_CLOCK), deadline);
	assert_int_equal(get(APIC_TIMER_CURRENT), 600);
	assert_int_equal(poll_at(deadline - 1), deadline);
	assert_int_equal(get(APIC_TIMER_CURRENT), 1);
	assert_false(requested(0x40));
	assert_int_equal(poll_at(deadline), 0);
	assert_true(requested(0x40));
	assert_int_equal(get(APIC_TIMER_CURRENT), 0);
	assert_int_equal(get(APIC_TIMER_INITIAL), 1000); /* the initial count stays */
	take(0x40);
	assert_int_equal(poll_at(deadline * 2), 0);
	assert_false(requested(0x40));
}

/* Figure 11-10: bits 0, 1 and 3; 1011b divides by 1. */
static void timer_divide_configuration_sets_the_rate(void **state)
{
	static const struct { uint32_t bits, by; } divide[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 }, { 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};
	unsigned i;

	for (i = 0; i < sizeof(divide) / sizeof(divide[0]); i++) {
		reset(state);
		/* bit 2 and 31:4 are reserved */
		assert_int_equal(start_timer(0x40, divide[i].bits | 0xfffffff4u, 100), due(100, divide[i].by));
		assert_int_equal(get(APIC_TIMER_DIVIDE), divide[i].bits);
	}
}

/* The rest of the count runs at the new rate. */
static void timer_divide_change_keeps_the_count_left(void **state)
{
	(void)state;
	start_timer(0x40, DIVIDE_BY_1, 1000);
	now += 400 * TICKS_PER_CLOCK;
	put(APIC_TIMER_DIVIDE, 0x0); /* by 2 */
	assert_true(fx.timer_changed);
	assert_int_equal(get(APIC_TIMER_CURRENT), 600);
	assert_int_equal(poll_at(now), due(600, 2));
}

/* Periodic: reloaded from the initial count; deadlines on the period's grid whenever the poll comes. */
static void timer_periodic_reloads_without_drift(void **state)
{
	const uint64_t period = 100 * TICKS_PER_CLOCK;

	(void)state;
	assert_int_equal(start_timer(0x40 | PERIODIC, DIVIDE_BY_1, 100), T0 + period);
	assert_int_equal(poll_at(T0 + period + 300), T0 + 2 * period); /* 300 ticks late: the grid holds */
	assert_true(requested(0x40));
	assert_int_equal(get(APIC_TIMER_CURRENT), 100 - 300 / TICKS_PER_CLOCK);
	take(0x40);
	/* Three and a half periods missed: one interrupt, the next deadline on the grid. */
	assert_int_equal(poll_at(T0 + 2 * period + 3 * period + period / 2), T0 + 6 * period);
	assert_true(requested(0x40));
	assert_int_equal(get(APIC_TIMER_CURRENT), 50);
}

/* The count reloads when it reaches 0, whether or not the host's timer has run the poll yet. */
static void timer_periodic_count_reloads_before_the_poll(void **state)
{
	const uint64_t period = 100 * TICKS_PER_CLOCK;

	(void)state;
	start_timer(0x40 | PERIODIC, DIVIDE_BY_1, 100);
	now = T0 + period;
	assert_int_equal(get(APIC_TIMER_CURRENT), 100); /* just reloaded */
	now = T0 + 2 * period + 30 * TICKS_PER_CLOCK;
	assert_int_equal(get(APIC_TIMER_CURRENT), 70);
	now = T0 + 2 * period + 99 * TICKS_PER_CLOCK;
	assert_int_equal(get(APIC_TIMER_CURRENT), 1);
	assert_int_equal(poll_at(now), T0 + 3 * period);
	assert_int_equal(get(APIC_TIMER_CURRENT), 1);
	put(LVT(0), 0x40 | ONE_SHOT); /* one-shot: 0 once done */
	put(APIC_TIMER_INITIAL, 100);
	now += period;
	assert_int_equal(get(APIC_TIMER_CURRENT), 0);
}

/* A masked timer counts but interrupts no one (11.5.1, mask bit). */
static void timer_masked_counts_without_interrupting(void **state)
{
	uint64_t deadline = start_timer(0x40 | LVT_MASKED, DIVIDE_BY_1, 1000);

	(void)state;
	assert_int_equal(deadline, due(1000, 1));
	now += 250 * TICKS_PER_CLOCK;
	assert_int_equal(get(APIC_TIMER_CURRENT), 750);
	assert_int_equal(poll_at(deadline), 0);
	assert_int_equal(vlapic_highest_irr(&apic), -1);
}

/* "A write of 0 to the initial-count register effectively stops the local APIC timer." */
static void timer_initial_count_zero_stops_it(void **state)
{
	(void)state;
	start_timer(0x40 | PERIODIC, 0, 1000);
	put(APIC_TIMER_INITIAL, 0);
	assert_true(fx.timer_changed);
	assert_int_equal(poll_at(now + (1ull << 40)), 0);
	assert_int_equal(get(APIC_TIMER_CURRENT), 0);
	assert_int_equal(vlapic_highest_irr(&apic), -1);
}

/* The longest count at the slowest rate, and a TSC slower than the timer's clock: no overflow, no division by 0. */
static void timer_extreme_counts_and_rates(void **state)
{
	(void)state;
	assert_int_equal(start_timer(0x40, 0xa /* by 128 */, 0xffffffffu), due(0xffffffffull, 128));
	assert_int_equal(get(APIC_TIMER_CURRENT), 0xffffffffu);
	vlapic_reset(&apic, ID, 1000); /* a 1 kHz TSC: a count of 1 is due at once */
	assert_int_equal(start_timer(0x40, DIVIDE_BY_1, 1), 0);
	assert_true(requested(0x40));
}

/* 11.5.4.1: IA32_TSC_DEADLINE in the guest's TSC (host + offset), cleared once it fired. */
static void timer_tsc_deadline_fires_at_the_guest_tsc_value(void **state)
{
	const uint64_t offset = 77 - T0; /* the guest's TSC started at 0 a while ago: the sum wraps */
	uint64_t guest_now = now + offset;

	(void)state;
	software_enable();
	put(LVT(0), 0x40 | TSC_DEADLINE);
	put(APIC_TIMER_INITIAL, 500); /* ignored in TSC-deadline mode */
	assert_int_equal(get(APIC_TIMER_INITIAL), 0);
	assert_int_equal(poll_at(now), 0);
	vlapic_set_tsc_deadline(&apic, guest_now + 5000, now, offset, &fx);
	assert_true(fx.timer_changed);
	assert_int_equal(vlapic_tsc_deadline(&apic), guest_now + 5000);
	assert_int_equal(get(APIC_TIMER_CURRENT), 0); /* always 0 in this mode */
	assert_int_equal(poll_at(T0 + 4999), T0 + 5000);
	assert_false(requested(0x40));
	assert_int_equal(poll_at(T0 + 5000), 0);
	assert_true(requested(0x40));
	assert_int_equal(vlapic_tsc_deadline(&apic), 0);
}

static void timer_tsc_deadline_past_zero_and_far_values(void **state)
{
	const uint64_t offset = 77 - T0;
	uint64_t guest_now = now + offset;

	(void)state;
	software_enable();
	put(LVT(0), 0x40 | TSC_DEADLINE);
	vlapic_set_tsc_deadline(&apic, guest_now - 1, now, offset, &fx); /* already past: fires at once */
	assert_int_equal(poll_at(now), 0);
	assert_true(requested(0x40));
	take(0x40);
	vlapic_set_tsc_deadline(&apic, guest_now + 100, now, offset, &fx);
	vlapic_set_tsc_deadline(&apic, 0, now, offset, &fx); /* 0 disarms */
	assert_int_equal(poll_at(now + 1000), 0);
	assert_false(requested(0x40));
	vlapic_set_tsc_deadline(&apic, ~0ull, now, offset, &fx); /* far ahead: must not wrap into the past */
	assert_true(poll_at(now + (1ull << 40)) > now);
	assert_false(requested(0x40));
	assert_int_equal(vlapic_tsc_deadline(&apic), ~0ull);
}

/* 11.5.4.1: in the other modes IA32_TSC_DEADLINE reads 0 and writes are ignored; a mode change disarms. */
static void timer_mode_changes_disarm(void **state)
{
	(void)state;
	software_enable();
	put(LVT(0), 0x40 | ONE_SHOT);
	vlapic_set_tsc_deadline(&apic, now + 10, now, 0, &fx);
	assert_false(fx.timer_changed);
	assert_int_equal(vlapic_tsc_deadline(&apic), 0);
	put(APIC_TIMER_INITIAL, 1000);
	put(LVT(0), 0x40 | TSC_DEADLINE);
	assert_true(fx.timer_changed);
	assert_int_equal(poll_at(now + (1ull << 40)), 0);
	assert_int_equal(get(APIC_TIMER_INITIAL), 0);
	vlapic_set_tsc_deadline(&apic, now + 10, now, 0, &fx);
	put(LVT(0), 0x40 | ONE_SHOT);
	assert_true(fx.timer_changed);
	assert_int_equal(poll_at(now + 10), 0);
	assert_int_equal(vlapic_tsc_deadline(&apic), 0);
	assert_int_equal(vlapic_highest_irr(&apic), -1);
}

/* ---- priorities, acceptance, EOI (SDM Vol. 3A, 11.8) ---------------------- */

/* 11.8.3.1: PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4] with 0 below. */
static void ppr_follows_tpr_and_the_highest_in_service(void **state)
{
	(void)state;
	software_enable();
	put(APIC_TPR, 0xffffff35u); /* bits 31:8 reserved */
	assert_int_equal(get(APIC_TPR), 0x35);
	assert_int_equal(get(APIC_PPR), 0x35);
	fixed(0x51, 0);
	take(0x51);
	assert_int_equal(get(APIC_PPR), 0x50);
	assert_int_equal(vlapic_ppr(&apic), 0x50);
	put(APIC_TPR, 0x5a);
	assert_int_equal(get(APIC_PPR), 0x5a);
	put(APIC_TPR, 0x65);
	assert_int_equal(get(APIC_PPR), 0x65);
	put(APIC_TPR, 0);
	put(APIC_EOI, 0);
	assert_int_equal(get(APIC_PPR), 0);
}

/* 11.8.3: the highest request is delivered only if its class is above PPR's. */
static void the_highest_request_above_the_ppr_class_is_deliverable(void **state)
{
	(void)state;
	software_enable();
	assert_int_equal(vlapic_highest_irr(&apic), -1);
	assert_int_equal(vlapic_deliverable(&apic), -1);
	fixed(0x45, 0);
	fixed(0x80, 0);
	fixed(0x33, 0);
	assert_int_equal(vlapic_highest_irr(&apic), 0x80);
	assert_int_equal(vlapic_deliverable(&apic), 0x80);
	put(APIC_TPR, 0x80); /* same class: held */
	assert_int_equal(vlapic_deliverable(&apic), -1);
	put(APIC_TPR, 0x7f);
	assert_int_equal(vlapic_deliverable(&apic), 0x80);
	put(APIC_TPR, 0);
	take(0x80);
	assert_int_equal(vlapic_deliverable(&apic), -1); /* 0x45 waits below 0x80 in service */
	put(APIC_EOI, 0);
	take(0x45);
}

/* 11.8.4, 11.8.5: requests nest above what is in service; EOI ends the highest in service first. */
static void isr_irr_and_eoi_in_priority_order(void **state)
{
	(void)state;
	software_enable();
	fixed(0x40, 0);
	take(0x40);
	assert_true(vector_bit(APIC_ISR, 0x40));
	assert_false(requested(0x40));
	fixed(0x60, 0);
	take(0x60); /* a higher class interrupts the one in service */
	fixed(0x50, 0);
	assert_int_equal(vlapic_deliverable(&apic), -1); /* below 0x60 in service */
	fixed(0x40, 0);                                   /* the same vector again while in service */
	assert_true(requested(0x40));
	assert_true(vector_bit(APIC_ISR, 0x40));
	put(APIC_EOI, 0);
	assert_int_equal(fx.eoi_vector, -1); /* edge-triggered: no EOI broadcast */
	assert_false(vector_bit(APIC_ISR, 0x60));
	assert_true(vector_bit(APIC_ISR, 0x40));
	assert_int_equal(vlapic_highest_isr(&apic), 0x40); /* its word, not 0x60's, now leads */
	take(0x50);
	assert_int_equal(vlapic_highest_isr(&apic), 0x50);
	assert_int_equal(vlapic_deliverable(&apic), -1); /* 0x40 waits below 0x50 and its own class */
	put(APIC_EOI, 0);
	assert_int_equal(vlapic_deliverable(&apic), -1); /* 0x40 is still in service */
	put(APIC_EOI, 0);
	take(0x40);
	put(APIC_EOI, 0);
	put(APIC_EOI, 0); /* nothing in service: nothing happens */
	assert_int_equal(vlapic_highest_irr(&apic), -1);
	assert_int_equal(get(APIC_PPR), 0);
	assert_false(vector_bit(APIC_ISR, 0x40));
}

/* 11.8.4: TMR set for a level-triggered vector, cleared for an edge one; EOI of a level one is broadcast (11.8.5). */
static void level_triggered_vectors_end_with_an_eoi_broadcast(void **state)
{
	(void)state;
	software_enable();
	fixed(0x41, 1);
	assert_true(vector_bit(APIC_TMR, 0x41));
	take(0x41);
	put(APIC_EOI, 0);
	assert_int_equal(fx.eoi_vector, 0x41);
	fixed(0x41, 0);
	assert_false(vector_bit(APIC_TMR, 0x41));
	take(0x41);
	put(APIC_EOI, 0);
	assert_int_equal(fx.eoi_vector, -1);
}

/*
 * The class the interrupt window opens for: a request held by the vCPU
 * (its TPR, its RFLAGS.IF) rather than by a vector in service, whose EOI
 * the hypervisor sees anyway.
 */
static void waiting_class_names_requests_only_the_vcpu_holds_back(void **state)
{
	(void)state;
	software_enable();
	assert_int_equal(vlapic_waiting_class(&apic), 0);
	fixed(0x80, 0);
	assert_int_equal(vlapic_waiting_class(&apic), 8); /* deliverable, waiting for RFLAGS.IF */
	put(APIC_TPR, 0x90);
	assert_int_equal(vlapic_waiting_class(&apic), 8); /* held by the TPR */
	put(APIC_TPR, 0);
	take(0x80);
	assert_int_equal(vlapic_waiting_class(&apic), 0);
	fixed(0x50, 0);
	assert_int_equal(vlapic_waiting_class(&apic), 0); /* below the one in service */
	fixed(0x8f, 0);
	assert_int_equal(vlapic_waiting_class(&apic), 0); /* same class as the one in service */
	fixed(0x91, 0);
	assert_int_equal(vlapic_waiting_class(&apic), 9);
}

/* 11.4.7.2: a software-disabled APIC takes no fixed interrupts but keeps what is pending; NMIs pass. */
static void a_disabled_apic_takes_no_fixed_interrupts(void **state)
{
	struct irq_msg nmi = { .mode = IRQ_NMI, .dest = ID };

	(void)state;
	fixed(0x40, 0); /* SVR bit 8 clear after reset */
	assert_int_equal(vlapic_highest_irr(&apic), -1);
	vlapic_accept(&apic, &nmi);
	assert_true(apic.nmi_pending);
	software_enable();
	fixed(0x50, 0);
	put(APIC_SVR, 0xff);
	fixed(0x60, 0);
	assert_false(requested(0x60));
	assert_int_equal(vlapic_deliverable(&apic), 0x50); /* held, and handled by the CPU */
	assert_int_equal(vlapic_set_base(&apic, 0xfee00000ull, PHYS_BITS), 0); /* hardware-disabled */
	assert_false(vlapic_enabled(&apic));
	assert_false(vlapic_matches(&apic, &nmi));
}

/* ---- errors (SDM Vol. 3A, 11.5.3) ---------------------------------------- */

/* Errors gather until the ESR is written; the write shows them and starts again. */
static void esr_shows_errors_after_a_write(void **state)
{
	(void)state;
	software_enable();
	fixed(0x05, 0); /* vectors 0-15 are illegal (11.5.2) */
	assert_int_equal(vlapic_highest_irr(&apic), -1);
	assert_int_equal(get(APIC_ESR), 0); /* not before the write */
	put(APIC_ESR, 0xffffffffu);              /* the value written does not matter */
	assert_int_equal(get(APIC_ESR), ESR_RECEIVE_ILLEGAL);
	put(APIC_ICR, 0x4003); /* a fixed IPI with vector 3: not sent */
	assert_false(fx.send);
	assert_int_equal(get(APIC_ESR), ESR_RECEIVE_ILLEGAL);
	put(APIC_ESR, 0);
	assert_int_equal(get(APIC_ESR), ESR_SEND_ILLEGAL);
	put(APIC_ESR, 0);
	assert_int_equal(get(APIC_ESR), 0);
}

/* The error LVT interrupts when an error is detected, if unmasked. */
static void errors_interrupt_through_the_error_lvt(void **state)
{
	(void)state;
	software_enable();
	fixed(0x0f, 0);
	assert_int_equal(vlapic_highest_irr(&apic), -1); /* masked since reset */
	put(LVT(5), 0xe3);
	fixed(0x0f, 0);
	assert_int_equal(vlapic_highest_irr(&apic), 0xe3);
	assert_false(vector_bit(APIC_TMR, 0xe3));
}

/* ---- LVT and SVR (SDM Vol. 3A, 11.5.1, 11.9, 11.4.7.2) -------------------- */

/* Figure 11-8: delivery status and remote IRR are read-only; the rest of each entry as defined. */
static void lvt_entries_keep_their_defined_bits(void **state)
{
	(void)state;
	software_enable();
	put(LVT(1), 0xffffffffu);
	assert_int_equal(get(LVT(1)), 0x107ff); /* thermal: vector, delivery mode, mask */
	put(LVT(2), 0xffffffffu);
	assert_int_equal(get(LVT(2)), 0x107ff);
	put(LVT(3), 0xffffffffu);
	assert_int_equal(get(LVT(3)), 0x1a7ff); /* LINT0: and polarity, trigger mode */
	put(LVT(4), 0xffffffffu);
	assert_int_equal(get(LVT(4)), 0x1a7ff);
	put(LVT(5), 0xffffffffu);
	assert_int_equal(get(LVT(5)), 0x100ff); /* error: vector and mask */
	put(LVT(0), 0xfff9ffffu);
	assert_int_equal(get(LVT(0)), 0x100ff); /* timer: vector, mask, mode */
}

/* 11.4.7.2: software disable masks every LVT entry, and they cannot be unmasked until it is enabled. */
static void software_disable_masks_the_lvt(void **state)
{
	unsigned i;

	(void)state;
	software_enable();
	for (i = 0; i < 6; i++)
		put(LVT(i), 0x40 + i);
	put(APIC_SVR, 0xff);
	for (i = 0; i < 6; i++)
		assert_int_equal(get(LVT(i)), LVT_MASKED | (0x40 + i));
	put(LVT(0), 0x40);
	assert_int_equal(get(LVT(0)), LVT_MASKED | 0x40);
	software_enable();
	assert_int_equal(get(LVT(0)), LVT_MASKED | 0x40); /* still masked until written */
	put(LVT(0), 0x40);
	assert_int_equal(get(LVT(0)), 0x40);
}

/* 11.9: vector and enable; no focus checking or EOI-broadcast suppression (version bit 24 clear). */
static void svr_keeps_vector_and_enable(void **state)
{
	(void)state;
	put(APIC_SVR, 0xffffffffu);
	assert_int_equal(get(APIC_SVR), 0x1ff);
	put(APIC_SVR, 0x0f);
	assert_int_equal(get(APIC_SVR), 0x0f);
}

/* ---- interrupt commands (SDM Vol. 3A, 11.6.1) ----------------------------- */

static void icr_sends_what_it_encodes(void **state)
{
	(void)state;
	software_enable();
	put(APIC_ICR_HIGH, 0x03ffffffu); /* destination in 31:24 */
	assert_int_equal(get(APIC_ICR_HIGH), 0x03000000u);
	assert_false(fx.send);
	put(APIC_ICR, 0x4031);
	assert_true(fx.send);
	assert_int_equal(fx.shorthand, SH_NONE);
	assert_int_equal(fx.msg.vector, 0x31);
	assert_int_equal(fx.msg.mode, IRQ_FIXED);
	assert_int_equal(fx.msg.logical, 0);
	assert_int_equal(fx.msg.dest, 3);
	put(APIC_ICR, 0x4931); /* logical, lowest priority */
	assert_int_equal(fx.msg.mode, IRQ_LOWEST);
	assert_int_equal(fx.msg.logical, 1);
	assert_int_equal(fx.msg.dest, 3);
	put(APIC_ICR, 0x4400); /* NMI: the vector does not matter */
	assert_true(fx.send);
	assert_int_equal(fx.msg.mode, IRQ_NMI);
	put(APIC_ICR, 0x4500); /* INIT, level assert */
	assert_true(fx.send);
	assert_int_equal(fx.msg.mode, IRQ_INIT);
	put(APIC_ICR, 0x8500); /* INIT level de-assert: not supported since the Pentium 4, nothing sent */
	assert_false(fx.send);
	put(APIC_ICR, 0x4609); /* STARTUP at page 9 */
	assert_true(fx.send);
	assert_int_equal(fx.msg.mode, IRQ_STARTUP);
	assert_int_equal(fx.msg.vector, 9);
}

/*
 * 11.6.1, the table of valid ICR combinations for the Pentium 4 and Xeon,
 * note 2: a trigger mode of level is overridden, the IPI issued
 * edge-triggered: its EOI is no EOI broadcast that could end an I/O APIC
 * pin's remote IRR.
 */
static void a_level_triggered_ipi_is_issued_edge_triggered(void **state)
{
	(void)state;
	software_enable();
	put(APIC_ICR_HIGH, ID << 24);
	put(APIC_ICR, 0xc039);
	assert_true(fx.send);
	assert_int_equal(fx.msg.level, 0);
	vlapic_accept(&apic, &fx.msg);
	assert_false(vector_bit(APIC_TMR, 0x39));
	take(0x39);
	put(APIC_EOI, 0);
	assert_int_equal(fx.eoi_vector, -1);
	to_x2apic();
	assert_int_equal(msr_put(APIC_ICR, (uint64_t)ID << 32 | 0xc039), 0);
	assert_int_equal(fx.msg.level, 0);
}

/* Table 11-1: the ICR is read/write; delivery status (bit 12) reads idle, as every IPI leaves at once. */
static void icr_reads_back_the_last_command(void **state)
{
	(void)state;
	software_enable();
	assert_int_equal(get(APIC_ICR), 0);
	put(APIC_ICR_HIGH, 0x03000000u);
	put(APIC_ICR, 0xfff34931u); /* reserved bits 31:20, 17:16, 13 and delivery status read 0 */
	assert_int_equal(get(APIC_ICR), 0x4931);
	assert_int_equal(get(APIC_ICR_HIGH), 0x03000000u);
	put(APIC_ICR_HIGH, 0x05000000u); /* the destination alone sends nothing */
	assert_false(fx.send);
	assert_int_equal(get(APIC_ICR), 0x4931);
	to_x2apic();
	assert_int_equal(msr_put(APIC_ICR, 0x12345ull << 32 | 0xc4031), 0);
	assert_int_equal(msr(APIC_ICR), 0x12345ull << 32 | 0xc4031);
	vlapic_init_signal(&apic);
	assert_int_equal(msr(APIC_ICR), 0); /* 11.4.7.3: INIT clears it */
}

/* 11.6.2.3: the shorthands, as struct vlapic_effects reports them. */
static void icr_shorthands(void **state)
{
	(void)state;
	software_enable();
	put(APIC_ICR, 0x44031);
	assert_int_equal(fx.shorthand, SH_SELF);
	assert_int_equal(fx.msg.vector, 0x31);
	put(APIC_ICR, 0x84031);
	assert_int_equal(fx.shorthand, SH_ALL);
	put(APIC_ICR, 0xc4400);
	assert_true(fx.send);
	assert_int_equal(fx.shorthand, SH_OTHERS);
	assert_int_equal(fx.msg.mode, IRQ_NMI);
}

/* 11.12.9: one 64-bit ICR write sends, with a 32-bit destination; 11.12.11: SELF IPI. */
static void x2apic_icr_and_self_ipi(void **state)
{
	(void)state;
	to_x2apic();
	assert_int_equal(msr_put(APIC_SVR, SVR_ON), 0);
	assert_int_equal(msr_put(APIC_ICR, 0x12345ull << 32 | 0x4031), 0);
	assert_true(fx.send);
	assert_int_equal(fx.msg.dest, 0x12345);
	assert_int_equal(fx.msg.vector, 0x31);
	assert_int_equal(fx.shorthand, SH_NONE);
	assert_int_equal(msr_put(APIC_SELF_IPI, 0x55), 0);
	assert_true(fx.send);
	assert_int_equal(fx.shorthand, SH_SELF);
	assert_int_equal(fx.msg.mode, IRQ_FIXED);
	assert_int_equal(fx.msg.vector, 0x55);
	assert_int_equal(msr_put(APIC_SELF_IPI, 0x155), -1); /* bits 31:8 reserved */
	assert_false(fx.send);
	assert_int_equal(msr_put(APIC_SELF_IPI, 0x05), 0); /* an illegal vector: an error, nothing sent */
	assert_false(fx.send);
	assert_int_equal(msr_put(APIC_ESR, 0), 0);
	assert_int_equal(msr(APIC_ESR), ESR_SEND_ILLEGAL);
}

/* ---- destinations (SDM Vol. 3A, 11.6.2, 11.12.10) ------------------------- */

static int matches(int logical, uint32_t dest)
{
	struct irq_msg m = { .vector = 0x40, .mode = IRQ_FIXED, .logical = (uint8_t)logical, .dest = dest };

	return vlapic_matches(&apic, &m);
}

/* 11.6.2.1: the APIC ID, or 0xFF for all (xAPIC); 0xFFFFFFFF for all in x2APIC mode (11.12.9). */
static void physical_destinations(void **state)
{
	(void)state;
	assert_true(matches(0, ID));
	assert_false(matches(0, ID + 1));
	assert_false(matches(0, 0));
	assert_true(matches(0, 0xff));
	to_x2apic();
	assert_true(matches(0, ID));
	assert_false(matches(0, ID + 1));
	assert_false(matches(0, ID + 0x100)); /* 32-bit IDs: not cut to 8 bits */
	assert_true(matches(0, 0xffffffffu));
	assert_int_equal(vlapic_set_base(&apic, 0xfee00000ull, PHYS_BITS), 0);
	assert_false(matches(0, ID)); /* hardware-disabled: no messages at all (11.4.3) */
	assert_false(matches(0, 0xff));
	assert_false(matches(1, 0xff));
}

/* 11.6.2.2, flat model: the destination's bits against LDR[31:24]; 0xFF for all. */
static void logical_flat_destinations(void **state)
{
	(void)state;
	put(APIC_LDR, 0x04ffffffu);
	assert_int_equal(get(APIC_LDR), 0x04000000u); /* bits 23:0 reserved */
	assert_true(matches(1, 0x04));
	assert_true(matches(1, 0x0c));
	assert_false(matches(1, 0x08));
	assert_false(matches(1, 0x00));
	assert_true(matches(1, 0xff));
	assert_false(matches(0, 0x04)); /* a physical destination is the ID */
}

/* 11.6.2.2, cluster model: cluster in 7:4 equal, and a member bit of 3:0 in common. */
static void logical_cluster_destinations(void **state)
{
	(void)state;
	put(APIC_DFR, 0);
	assert_int_equal(get(APIC_DFR), 0x0fffffffu); /* bits 27:0 read as ones */
	put(APIC_LDR, 0x21000000u);                    /* cluster 2, member 0 */
	assert_true(matches(1, 0x21));
	assert_true(matches(1, 0x23));
	assert_false(matches(1, 0x31));
	assert_false(matches(1, 0x22));
	assert_true(matches(1, 0xff));
}

/* 11.12.10.2: the logical x2APIC ID is derived from the x2APIC ID: cluster ID[19:4], bit ID[3:0]. */
static void x2apic_logical_destinations(void **state)
{
	(void)state;
	vlapic_reset(&apic, 0x23, TSC_HZ);
	to_x2apic();
	assert_int_equal(msr(APIC_ID), 0x23);
	assert_int_equal(msr(APIC_LDR), 0x20008);
	assert_true(matches(1, 0x20008));
	assert_true(matches(1, 0x2000c));
	assert_false(matches(1, 0x10008));
	assert_false(matches(1, 0x20004));
	assert_true(matches(1, 0xffffffffu));
	vlapic_init_signal(&apic); /* INIT keeps x2APIC mode and the ID, from which the LDR follows (11.12.5.1) */
	assert_int_equal(msr(APIC_LDR), 0x20008);
	assert_true(matches(1, 0x20008));
	assert_false(matches(1, 0x10008));
}

/* ---- the two register views ------------------------------------------------ */

static void assert_msr_read_refused(unsigned offset)
{
	uint64_t value;

	assert_int_equal(msr_get(offset, &value), -1);
}

static void assert_msr_write_refused(unsigned offset, uint64_t value)
{
	assert_int_equal(msr_put(offset, value), -1);
}

/* 11.12.1.2, Table 11-6: registers x2APIC does not have, and write-only ones read, are #GP. */
static void x2apic_refuses_reserved_and_write_only_reads(void **state)
{
	static const unsigned refused[] = { 0x00, 0x40, 0x70, APIC_APR, APIC_EOI, APIC_RRD, APIC_DFR,
					    0x2f0 /* CMCI: not offered */, APIC_ICR_HIGH, 0x3a0, APIC_SELF_IPI, 0xff0 };
	static const unsigned allowed[] = { APIC_ID, APIC_VERSION, APIC_TPR, APIC_PPR, APIC_LDR, APIC_SVR, APIC_ISR,
					    APIC_TMR + 0x70, APIC_IRR, APIC_ESR, APIC_ICR, LVT(0), LVT(5),
					    APIC_TIMER_INITIAL, APIC_TIMER_CURRENT, APIC_TIMER_DIVIDE };
	uint64_t value;
	unsigned i;

	(void)state;
	to_x2apic();
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		assert_msr_read_refused(refused[i]);
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		assert_int_equal(msr_get(allowed[i], &value), 0);
	assert_int_equal(msr(APIC_ID), ID); /* 32 bits, not shifted */
}

/* Table 11-6 and 11.12.1.3: read-only registers written, reserved bits set, non-zero EOI or ESR: #GP, nothing changed. */
static void x2apic_refuses_writes_to_read_only_registers_and_reserved_bits(void **state)
{
	static const unsigned read_only[] = { APIC_ID, APIC_VERSION, APIC_PPR, APIC_LDR, APIC_ISR, APIC_TMR,
					      APIC_IRR + 0x70, APIC_TIMER_CURRENT, APIC_APR, APIC_RRD, APIC_DFR,
					      APIC_ICR_HIGH, 0x40, 0x2f0, 0xff0 };
	static const unsigned high_bits_reserved[] = { APIC_TPR, APIC_SVR, LVT(0), LVT(3), LVT(5),
						       APIC_TIMER_INITIAL, APIC_TIMER_DIVIDE, APIC_SELF_IPI };
	unsigned i;

	(void)state;
	to_x2apic();
	for (i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++)
		assert_msr_write_refused(read_only[i], 0);
	for (i = 0; i < sizeof(high_bits_reserved) / sizeof(high_bits_reserved[0]); i++)
		assert_msr_write_refused(high_bits_reserved[i], 1ull << 32 | 0x40);
	assert_msr_write_refused(APIC_EOI, 1);
	assert_msr_write_refused(APIC_ESR, 1);
	assert_msr_write_refused(APIC_ICR, 1ull << 13 | 0x4031); /* ICR bits 13, 17:16, 31:20 (Figure 11-28) */
	assert_msr_write_refused(APIC_ICR, 1ull << 16 | 0x4031);
	assert_msr_write_refused(APIC_ICR, 1ull << 31 | 0x4031);
	assert_false(fx.send);
	assert_int_equal(msr_put(APIC_ICR, 1ull << 12 | 0x4400), 0); /* delivery status: ignored */
	assert_true(fx.send);
	assert_int_equal(msr(APIC_TPR), 0);
	assert_int_equal(msr(APIC_SVR), 0xff);
	assert_int_equal(msr(APIC_TIMER_INITIAL), 0);
	assert_int_equal(msr(APIC_ID), ID);
	assert_int_equal(msr_put(APIC_EOI, 0), 0);
	assert_int_equal(msr_put(APIC_ESR, 0), 0);
	assert_int_equal(msr_put(APIC_TPR, 0x20), 0);
	assert_int_equal(msr(APIC_TPR), 0x20);
}

/* The xAPIC page never faults: reserved registers read 0, writes to them and to read-only ones vanish. */
static void xapic_view_tolerates_reserved_and_read_only_registers(void **state)
{
	/* 0x3F0: SELF IPI is an x2APIC register only (11.12.11); in the page it is reserved. */
	static const unsigned reserved[] = { 0x00, 0x10, 0x40, 0x70, APIC_APR, APIC_RRD, 0x2f0, 0x3a0, 0x3d0,
					     APIC_SELF_IPI, 0xff0 };
	unsigned i;

	(void)state;
	software_enable();
	fixed(0x40, 0);
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		assert_int_equal(get(reserved[i]), 0);
		put(reserved[i], 0xffffffffu);
		assert_false(fx.send);
	}
	put(APIC_ID, 0x07000000u);
	put(APIC_VERSION, 0);
	put(APIC_PPR, 0xff);
	put(APIC_IRR + 0x20, 0);
	put(APIC_ISR + 0x20, 0xffffffffu);
	put(APIC_TIMER_CURRENT, 5);
	assert_int_equal(get(APIC_ID), ID << 24);
	assert_int_equal(get(APIC_VERSION), 0x00050014);
	assert_int_equal(get(APIC_PPR), 0);
	assert_true(requested(0x40));
	assert_int_equal(get(APIC_ISR + 0x20), 0);
	assert_int_equal(get(APIC_TIMER_CURRENT), 0);
	assert_int_equal(get(APIC_EOI), 0); /* write-only: reads 0 */
}

/* A guest writing all-ones everywhere, in both views: no fault in the xAPIC page, identity registers intact. */
static void every_register_written_with_all_ones(void **state)
{
	unsigned offset;
	uint64_t value;
	int x2apic;

	for (x2apic = 0; x2apic < 2; x2apic++) {
		reset(state);
		if (x2apic)
			to_x2apic();
		for (offset = 0; offset < 0x1000; offset += 0x10) {
			assert_true(vlapic_write(&apic, offset, x2apic, now, ~0ull, &fx) == 0 || x2apic);
			assert_true(vlapic_read(&apic, offset, x2apic, now, &value) == 0 || x2apic);
			assert_true(value <= 0xffffffffu || offset == APIC_ICR);
		}
		poll_at(now + (1ull << 40));
		assert_int_equal(vlapic_read(&apic, APIC_ID, x2apic, now, &value), 0);
		assert_int_equal(value, x2apic ? ID : ID << 24);
		assert_int_equal(vlapic_read(&apic, APIC_VERSION, x2apic, now, &value), 0);
		assert_int_equal(value, 0x00050014);
		assert_true(vlapic_enabled(&apic));
	}
}

/* ---- IA32_APIC_BASE (SDM Vol. 3A, 11.4.4, 11.12.5) ------------------------ */

/* Figure 11-27: xAPIC <-> disabled, xAPIC -> x2APIC -> disabled; never x2APIC -> xAPIC, disabled -> x2APIC, EN=0 EXTD=1. */
static void apic_base_transitions(void **state)
{
	const uint64_t page = 0xfee00000ull, on = APIC_BASE_ENABLE, x2 = APIC_BASE_X2APIC;

	(void)state;
	assert_int_equal(vlapic_set_base(&apic, page | x2, PHYS_BITS), -1); /* xAPIC -> invalid */
	assert_int_equal(vlapic_set_base(&apic, page | on | x2, PHYS_BITS), 0);
	assert_true(vlapic_x2apic(&apic));
	assert_int_equal(vlapic_set_base(&apic, page | on, PHYS_BITS), -1); /* x2APIC -> xAPIC */
	assert_int_equal(vlapic_set_base(&apic, page | x2, PHYS_BITS), -1); /* x2APIC -> invalid */
	assert_true(vlapic_x2apic(&apic));
	assert_int_equal(apic.base, page | on | x2);
	assert_int_equal(vlapic_set_base(&apic, page, PHYS_BITS), 0); /* x2APIC -> disabled */
	assert_false(vlapic_enabled(&apic));
	assert_false(vlapic_x2apic(&apic));
	assert_int_equal(vlapic_set_base(&apic, page | on | x2, PHYS_BITS), -1); /* disabled -> x2APIC */
	assert_int_equal(vlapic_set_base(&apic, page | x2, PHYS_BITS), -1);      /* disabled -> invalid */
	assert_int_equal(vlapic_set_base(&apic, page | on, PHYS_BITS), 0);      /* disabled -> xAPIC */
	assert_true(vlapic_enabled(&apic));
	assert_false(vlapic_x2apic(&apic));
	assert_int_equal(get(APIC_ID), ID << 24); /* the ID survives every transition */
}

/* 11.4.4: bits 0-7 and 9 are reserved, and so is everything from MAXPHYADDR up; the base moves within. */
static void apic_base_reserved_bits(void **state)
{
	const uint64_t base = apic.base;

	(void)state;
	assert_int_equal(vlapic_set_base(&apic, base | 1, PHYS_BITS), -1);
	assert_int_equal(vlapic_set_base(&apic, base | 0x80, PHYS_BITS), -1);
	assert_int_equal(vlapic_set_base(&apic, base | 0x200, PHYS_BITS), -1);
	assert_int_equal(vlapic_set_base(&apic, base | 1ull << PHYS_BITS, PHYS_BITS), -1);
	assert_int_equal(vlapic_set_base(&apic, base | 1ull << 63, PHYS_BITS), -1);
	assert_int_equal(vlapic_set_base(&apic, base | 1ull << 51, 52), 0);
	assert_int_equal(vlapic_set_base(&apic, base | 1ull << 52, 52), -1);
	assert_int_equal(apic.base, base | 1ull << 51);
	assert_int_equal(vlapic_set_base(&apic, 0xfed00000ull | APIC_BASE_ENABLE, PHYS_BITS), 0);
	assert_int_equal(apic.base, 0xfed00000ull | APIC_BASE_ENABLE);
	assert_int_equal(vlapic_set_base(&apic, (1ull << PHYS_BITS) - 0x1000 + APIC_BASE_ENABLE, PHYS_BITS), 0);
}

/* A hardware-disabled APIC comes back in its RESET state (11.4.3, 11.4.7.1), its ID kept. */
static void disabling_the_apic_resets_its_registers(void **state)
{
	(void)state;
	software_enable();
	put(APIC_TPR, 0x40);
	put(LVT(0), 0x40);
	put(APIC_TIMER_INITIAL, 1000);
	fixed(0x50, 1);
	assert_int_equal(vlapic_set_base(&apic, 0xfee00000ull, PHYS_BITS), 0);
	assert_int_equal(vlapic_set_base(&apic, 0xfee00000ull | APIC_BASE_ENABLE, PHYS_BITS), 0);
	assert_int_equal(get(APIC_SVR), 0xff);
	assert_int_equal(get(APIC_TPR), 0);
	assert_int_equal(get(LVT(0)), LVT_MASKED);
	assert_int_equal(vlapic_highest_irr(&apic), -1);
	assert_false(vector_bit(APIC_TMR, 0x50));
	assert_int_equal(poll_at(now + (1ull << 40)), 0);
	assert_int_equal(get(APIC_ID), ID << 24);
}

/* 11.4.7.3 and 11.12.5.1: INIT resets the registers but for the APIC ID and IA32_APIC_BASE; x2APIC mode stays. */
static void init_keeps_the_id_and_the_apic_base(void **state)
{
	const uint64_t base = 0xfed00000ull | APIC_BASE_ENABLE | APIC_BASE_X2APIC;
	struct irq_msg nmi = { .mode = IRQ_NMI, .dest = ID };

	(void)state;
	assert_int_equal(vlapic_set_base(&apic, 0xfed00000ull | APIC_BASE_ENABLE, PHYS_BITS), 0);
	to_x2apic();
	assert_int_equal(msr_put(APIC_SVR, SVR_ON), 0);
	assert_int_equal(msr_put(APIC_TPR, 0x30), 0);
	assert_int_equal(msr_put(LVT(0), 0x40 | PERIODIC), 0);
	assert_int_equal(msr_put(APIC_TIMER_INITIAL, 100), 0);
	fixed(0x50, 0);
	vlapic_take(&apic, 0x50);
	fixed(0x60, 0);
	vlapic_accept(&apic, &nmi);
	vlapic_init_signal(&apic);
	assert_int_equal(apic.base, base);
	assert_int_equal(msr(APIC_ID), ID);
	assert_int_equal(msr(APIC_SVR), 0xff);
	assert_int_equal(msr(APIC_TPR), 0);
	assert_int_equal(msr(LVT(0)), LVT_MASKED);
	assert_int_equal(vlapic_highest_irr(&apic), -1);
	assert_int_equal(msr(APIC_ISR + 0x20), 0);
	assert_false(apic.nmi_pending);
	assert_int_equal(poll_at(now + (1ull << 40)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(reset_state_is_the_sdm_power_up_state, reset),
		cmocka_unit_test_setup(timer_one_shot_counts_down_and_fires_once, reset),
		cmocka_unit_test_setup(timer_divide_configuration_sets_the_rate, reset),
		cmocka_unit_test_setup(timer_divide_change_keeps_the_count_left, reset),
		cmocka_unit_test_setup(timer_periodic_reloads_without_drift, reset),
		cmocka_unit_test_setup(timer_periodic_count_reloads_before_the_poll, reset),
		cmocka_unit_test_setup(timer_masked_counts_without_interrupting, reset),
		cmocka_unit_test_setup(timer_initial_count_zero_stops_it, reset),
		cmocka_unit_test_setup(timer_extreme_counts_and_rates, reset),
		cmocka_unit_test_setup(timer_tsc_deadline_fires_at_the_guest_tsc_value, reset),
		cmocka_unit_test_setup(timer_tsc_deadline_past_zero_and_far_values, reset),
		cmocka_unit_test_setup(timer_mode_changes_disarm, reset),
		cmocka_unit_test_setup(ppr_follows_tpr_and_the_highest_in_service, reset),
		cmocka_unit_test_setup(the_highest_request_above_the_ppr_class_is_deliverable, reset),
		cmocka_unit_test_setup(isr_irr_and_eoi_in_priority_order, reset),
		cmocka_unit_test_setup(level_triggered_vectors_end_with_an_eoi_broadcast, reset),
		cmocka_unit_test_setup(waiting_class_names_requests_only_the_vcpu_holds_back, reset),
		cmocka_unit_test_setup(a_disabled_apic_takes_no_fixed_interrupts, reset),
		cmocka_unit_test_setup(esr_shows_errors_after_a_write, reset),
		cmocka_unit_test_setup(errors_interrupt_through_the_error_lvt, reset),
		cmocka_unit_test_setup(lvt_entries_keep_their_defined_bits, reset),
		cmocka_unit_test_setup(software_disable_masks_the_lvt, reset),
		cmocka_unit_test_setup(svr_keeps_vector_and_enable, reset),
		cmocka_unit_test_setup(icr_sends_what_it_encodes, reset),
		cmocka_unit_test_setup(a_level_triggered_ipi_is_issued_edge_triggered, reset),
		cmocka_unit_test_setup(icr_reads_back_the_last_command, reset),
		cmocka_unit_test_setup(icr_shorthands, reset),
		cmocka_unit_test_setup(x2apic_icr_and_self_ipi, reset),
		cmocka_unit_test_setup(physical_destinations, reset),
		cmocka_unit_test_setup(logical_flat_destinations, reset),
		cmocka_unit_test_setup(logical_cluster_destinations, reset),
		cmocka_unit_test_setup(x2apic_logical_destinations, reset),
		cmocka_unit_test_setup(x2apic_refuses_reserved_and_write_only_reads, reset),
		cmocka_unit_test_setup(x2apic_refuses_writes_to_read_only_registers_and_reserved_bits, reset),
		cmocka_unit_test_setup(xapic_view_tolerates_reserved_and_read_only_registers, reset),
		cmocka_unit_test_setup(every_register_written_with_all_ones, reset),
		cmocka_unit_test_setup(apic_base_transitions, reset),
		cmocka_unit_test_setup(apic_base_reserved_bits, reset),
		cmocka_unit_test_setup(disabling_the_apic_resets_its_registers, reset),
		cmocka_unit_test_setup(init_keeps_the_id_and_the_apic_base, reset),
	};

	return cmocka_run_group_tests_name("vlapic", tests, NULL, NULL);
}
