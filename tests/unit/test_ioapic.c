/*
 * The partition's I/O APIC (hv/vdev/ioapic.c) against the Intel 82093AA
 * datasheet and the ICH's version 0x20 with its EOI register: register
 * access, redirection entries, edge and level triggering, remote IRR and
 * EOI, masking; then the partition glue (lines in, messages out through
 * irq_deliver, the MMIO registers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "partition.h"
#include "vdev/ioapic.h"

#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOEOI 0x40
#define REG_ID 0x00
#define REG_VERSION 0x01
#define REG_ARBITRATION 0x02
#define REDIR(pin) (0x10u + 2u * (pin)) /* the low half; the high half follows */

/* Redirection entry bits (82093AA, 3.2.4). */
#define LOWEST (1u << 8)
#define LOGICAL (1u << 11)
#define DELIVERY_STATUS (1u << 12)
#define ACTIVE_LOW (1u << 13)
#define REMOTE_IRR (1u << 14)
#define LEVEL (1u << 15)
#define MASKED (1u << 16)

#define SENT_MAX 8

static struct vioapic io;
static struct vioapic_out out;
static struct partition part;
static struct irq_msg sent[SENT_MAX];
static unsigned sent_count;

/* The glue's way out: what reaches the local APICs. */
int irq_deliver(struct partition *p, const struct irq_msg *m)
{
	assert_ptr_equal(p, &part);
	assert_true(sent_count < SENT_MAX);
	sent[sent_count++] = *m;
	return 0;
}

static int reset(void **state)
{
	(void)state;
	vioapic_reset(&io, 2);
	out.count = 0;
	vioapic_reset(&part.ioapic, 2);
	sent_count = 0;
	return 0;
}

static uint32_t reg(unsigned index)
{
	uint64_t value = 0xdeadbeefdeadbeefull;

	vioapic_write(&io, IOREGSEL, 4, index, &out);
	vioapic_read(&io, IOWIN, 4, &value);
	assert_true(value <= 0xffffffffu);
	return (uint32_t)value;
}

/* The messages the write sends are left in out. */
static void set_reg(unsigned index, uint32_t value)
{
	vioapic_write(&io, IOREGSEL, 4, index, &out);
	vioapic_write(&io, IOWIN, 4, value, &out);
}

static void route(unsigned pin, uint32_t low, uint8_t dest)
{
	set_reg(REDIR(pin) + 1, (uint32_t)dest << 24);
	set_reg(REDIR(pin), low);
}

static void line(unsigned pin, int level)
{
	vioapic_set_line(&io, pin, level, &out);
}

static void eoi(uint8_t vector)
{
	vioapic_eoi(&io, vector, &out);
}

static void assert_sent(const struct irq_msg *m, uint8_t vector, uint8_t mode, uint8_t logical, uint8_t level,
			uint32_t dest)
{
	assert_int_equal(m->vector, vector);
	assert_int_equal(m->mode, mode);
	assert_int_equal(m->logical, logical);
	assert_int_equal(m->level, level);
	assert_int_equal(m->dest, dest);
}

/* ---- registers (82093AA, 3.1 and 3.2) ------------------------------------- */

/* 3.1.1, 3.1.2: IOREGSEL's bits 7:0 select the register IOWIN shows; 31:8 are reserved. */
static void registers_are_reached_through_ioregsel_and_iowin(void **state)
{
	uint64_t value;

	(void)state;
	vioapic_write(&io, IOREGSEL, 1, REG_VERSION, &out);
	vioapic_read(&io, IOREGSEL, 4, &value);
	assert_int_equal(value, REG_VERSION);
	vioapic_read(&io, IOWIN, 4, &value);
	assert_int_equal(value, 0x00170020);
	vioapic_read(&io, IOWIN, 1, &value); /* a byte read gets the register's low byte */
	assert_int_equal(value, 0x20);
	vioapic_write(&io, IOREGSEL, 4, 0xffffff00u | REDIR(0), &out);
	vioapic_read(&io, IOREGSEL, 4, &value);
	assert_int_equal(value, REDIR(0));
	vioapic_read(&io, IOWIN, 8, &value); /* never more than the 32-bit register */
	assert_int_equal(value, MASKED);
}

/* 3.2.2: version 0x20 (the ICH's, with the EOI register), maximum redirection entry 23: 24 pins. */
static void version_register_shows_24_entries(void **state)
{
	(void)state;
	assert_int_equal(reg(REG_VERSION), 0x00170020);
	set_reg(REG_VERSION, 0);
	assert_int_equal(reg(REG_VERSION), 0x00170020);
}

/* 3.2.1: the ID in bits 27:24, the rest reserved; 3.2.3: the arbitration ID follows it, read-only. */
static void id_and_arbitration_registers(void **state)
{
	(void)state;
	assert_int_equal(reg(REG_ID), 0x02000000);
	assert_int_equal(reg(REG_ARBITRATION), 0x02000000);
	set_reg(REG_ID, 0xffffffffu);
	assert_int_equal(reg(REG_ID), 0x0f000000);
	assert_int_equal(reg(REG_ARBITRATION), 0x0f000000);
	set_reg(REG_ARBITRATION, 0);
	assert_int_equal(reg(REG_ARBITRATION), 0x0f000000);
	set_reg(REG_ID, 0x05000000);
	assert_int_equal(reg(REG_ID), 0x05000000);
}

/* 3.2.4: after reset every pin is masked. */
static void reset_masks_every_pin(void **state)
{
	unsigned pin;

	(void)state;
	for (pin = 0; pin < IRQ_GSIS; pin++) {
		assert_int_equal(reg(REDIR(pin)), MASKED);
		assert_int_equal(reg(REDIR(pin) + 1), 0);
		line(pin, 1);
		assert_int_equal(out.count, 0);
	}
}

/* 3.2.4: delivery status (12) and remote IRR (14) are read-only, bits 55:17 reserved, the destination in 63:56. */
static void redirection_entries_read_back_their_writable_bits(void **state)
{
	(void)state;
	set_reg(REDIR(5), 0xffffffffu);
	assert_int_equal(reg(REDIR(5)), 0x1afff);
	set_reg(REDIR(5) + 1, 0xffffffffu);
	assert_int_equal(reg(REDIR(5) + 1), 0xff000000u);
	set_reg(REDIR(5), MASKED | REMOTE_IRR | DELIVERY_STATUS | 0x345);
	assert_int_equal(reg(REDIR(5)), MASKED | 0x345);
	assert_int_equal(reg(REDIR(4)), MASKED); /* neighbours untouched */
	assert_int_equal(reg(REDIR(6)), MASKED);
}

/* ---- triggering (82093AA, 3.2.4: trigger mode, mask, remote IRR) ------------ */

/* Edge: a message per rising edge, with the entry's vector, delivery mode, destination mode and destination. */
static void edge_triggered_pins_send_on_each_rising_edge(void **state)
{
	(void)state;
	route(3, 0x31, 5);
	line(3, 1);
	assert_int_equal(out.count, 1);
	assert_sent(&out.msg[0], 0x31, IRQ_FIXED, 0, 0, 5);
	assert_int_equal(reg(REDIR(3)) & (REMOTE_IRR | DELIVERY_STATUS), 0);
	line(3, 1);
	assert_int_equal(out.count, 0);
	line(3, 0);
	assert_int_equal(out.count, 0);
	line(3, 1);
	assert_int_equal(out.count, 1);
	route(4, 0x35 | LOWEST | LOGICAL, 0x0c);
	line(4, 1);
	assert_int_equal(out.count, 1);
	assert_sent(&out.msg[0], 0x35, IRQ_LOWEST, 1, 0, 0x0c);
}

/* "Edge-sensitive interrupts signaled on a masked interrupt pin are ignored (not delivered or held pending)." */
static void edges_on_a_masked_pin_are_lost(void **state)
{
	(void)state;
	route(3, 0x31 | MASKED, 0);
	line(3, 1);
	assert_int_equal(out.count, 0);
	set_reg(REDIR(3), 0x31);
	assert_int_equal(out.count, 0);
	line(3, 0);
	line(3, 1);
	assert_int_equal(out.count, 1);
}

/*
 * Level: remote IRR is set when the message is sent and cleared by an EOI
 * of its vector; a line still asserted then sends again.
 */
static void level_triggered_pins_wait_for_the_eoi_of_their_vector(void **state)
{
	(void)state;
	route(9, 0x39 | LEVEL, 1);
	line(9, 1);
	assert_int_equal(out.count, 1);
	assert_sent(&out.msg[0], 0x39, IRQ_FIXED, 0, 1, 1);
	assert_int_equal(reg(REDIR(9)), 0x39 | LEVEL | REMOTE_IRR);
	line(9, 1);
	assert_int_equal(out.count, 0);
	eoi(0x3a); /* another vector */
	assert_int_equal(out.count, 0);
	assert_true(reg(REDIR(9)) & REMOTE_IRR);
	eoi(0x39); /* still asserted: again */
	assert_int_equal(out.count, 1);
	assert_sent(&out.msg[0], 0x39, IRQ_FIXED, 0, 1, 1);
	assert_true(reg(REDIR(9)) & REMOTE_IRR);
	line(9, 0);
	assert_int_equal(out.count, 0);
	assert_true(reg(REDIR(9)) & REMOTE_IRR); /* until the EOI */
	eoi(0x39);
	assert_int_equal(out.count, 0);
	assert_int_equal(reg(REDIR(9)), 0x39 | LEVEL);
	line(9, 1);
	assert_int_equal(out.count, 1);
}

/* A level that is asserted while masked is seen when the pin is unmasked; masking does not end remote IRR. */
static void masking_a_level_pin(void **state)
{
	(void)state;
	route(10, 0x3a | LEVEL | MASKED, 0);
	line(10, 1);
	assert_int_equal(out.count, 0);
	assert_false(reg(REDIR(10)) & REMOTE_IRR);
	set_reg(REDIR(10), 0x3a | LEVEL);
	assert_int_equal(out.count, 1);
	assert_sent(&out.msg[0], 0x3a, IRQ_FIXED, 0, 1, 0);
	set_reg(REDIR(10), 0x3a | LEVEL | MASKED);
	assert_true(reg(REDIR(10)) & REMOTE_IRR);
	eoi(0x3a);
	assert_int_equal(out.count, 0); /* masked: nothing, but remote IRR ends */
	assert_false(reg(REDIR(10)) & REMOTE_IRR);
	set_reg(REDIR(10), 0x3a | LEVEL);
	assert_int_equal(out.count, 1); /* still asserted */
}

/* One EOI ends every pin waiting with that vector. */
static void an_eoi_ends_every_pin_with_its_vector(void **state)
{
	(void)state;
	route(16, 0x50 | LEVEL | ACTIVE_LOW, 0);
	route(17, 0x50 | LEVEL | ACTIVE_LOW, 1);
	line(16, 1);
	line(17, 1);
	eoi(0x50);
	assert_int_equal(out.count, 2);
	assert_int_equal(out.msg[0].dest, 0);
	assert_int_equal(out.msg[1].dest, 1);
}

/* Version 0x20: a write of a vector to the EOI register at 0x40 is an EOI of that vector. */
static void the_eoi_register_ends_a_vector(void **state)
{
	(void)state;
	route(9, 0x39 | LEVEL, 0);
	line(9, 1);
	vioapic_write(&io, IOEOI, 4, 0xffffff39u, &out); /* bits 31:8 ignored */
	assert_int_equal(out.count, 1);
	assert_true(reg(REDIR(9)) & REMOTE_IRR);
	line(9, 0);
	vioapic_write(&io, IOEOI, 4, 0x39, &out);
	assert_int_equal(out.count, 0);
	assert_false(reg(REDIR(9)) & REMOTE_IRR);
}

/* Remote IRR means nothing for an edge-triggered pin (3.2.4): a switch to edge clears it. */
static void switching_to_edge_clears_remote_irr(void **state)
{
	(void)state;
	route(9, 0x39 | LEVEL, 0);
	line(9, 1);
	set_reg(REDIR(9), 0x39);
	assert_int_equal(reg(REDIR(9)), 0x39);
	line(9, 0);
	line(9, 1);
	assert_int_equal(out.count, 1);
	assert_int_equal(out.msg[0].level, 0);
}

/*
 * The polarity bit reads back as written, but lines are logical (ioapic.h):
 * an asserted line of an active-low pin (PCI's, as the MADT says) sends.
 */
static void polarity_is_kept_and_lines_are_logical(void **state)
{
	(void)state;
	route(19, 0x43 | LEVEL | ACTIVE_LOW, 0);
	assert_int_equal(reg(REDIR(19)), 0x43 | LEVEL | ACTIVE_LOW);
	line(19, 0);
	assert_int_equal(out.count, 0);
	line(19, 1);
	assert_int_equal(out.count, 1);
	assert_sent(&out.msg[0], 0x43, IRQ_FIXED, 0, 1, 0);
}

/* ---- hostile and out-of-range accesses --------------------------------------- */

static void assert_every_pin_masked_and_idle(void)
{
	unsigned pin;

	for (pin = 0; pin < IRQ_GSIS; pin++) {
		assert_int_equal(reg(REDIR(pin)), MASKED);
		assert_int_equal(reg(REDIR(pin) + 1), 0);
	}
	assert_int_equal(io.lines, 0);
}

/* No such pin, no such register: nothing sent, nothing changed; missing registers read all-ones. */
static void out_of_range_pins_and_registers(void **state)
{
	unsigned index;

	(void)state;
	line(IRQ_GSIS, 1);
	assert_int_equal(out.count, 0);
	line(31, 1);
	assert_int_equal(out.count, 0);
	line(32, 1); /* past the width of the lines' bitmap too */
	line(1000, 1);
	line(~0u, 1);
	assert_int_equal(out.count, 0);
	for (index = 0x03; index < 0x100; index++) {
		if (index >= REDIR(0) && index < REDIR(IRQ_GSIS))
			continue;
		assert_int_equal(reg(index), 0xffffffffu);
		set_reg(index, 0);
		assert_int_equal(out.count, 0);
	}
	assert_every_pin_masked_and_idle();
	assert_int_equal(reg(REG_ID), 0x02000000);
}

/* IOWIN takes dword writes only (3.0); offsets other than IOREGSEL, IOWIN and the EOI register read 0, ignore writes. */
static void odd_sizes_and_offsets_change_nothing(void **state)
{
	static const uint64_t offsets[] = { 0x04, 0x0c, 0x11, 0x14, 0x20, 0x30, 0x3c, 0x41, 0x44, 0x80, 0xffc, 0xfff };
	uint64_t value;
	unsigned i;

	(void)state;
	vioapic_write(&io, IOREGSEL, 4, REDIR(2), &out);
	vioapic_write(&io, IOWIN, 1, 0x22, &out);
	vioapic_write(&io, IOWIN, 2, 0x22, &out);
	assert_int_equal(reg(REDIR(2)), MASKED);
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		vioapic_write(&io, offsets[i], 4, 0x22, &out);
		assert_int_equal(out.count, 0);
		value = 0xdead;
		vioapic_read(&io, offsets[i], 4, &value);
		assert_int_equal(value, 0);
	}
	vioapic_read(&io, IOREGSEL, 4, &value);
	assert_int_equal(value, REDIR(2));
	assert_every_pin_masked_and_idle();
}

/* ---- the partition's I/O APIC: irq_set_line(), irq_eoi() and the MMIO registers */

static void mmio_write(uint64_t offset, uint32_t value)
{
	vioapic_ops.write(&part, offset, 4, value);
}

static void mmio_route(unsigned pin, uint32_t low, uint8_t dest)
{
	mmio_write(IOREGSEL, REDIR(pin) + 1);
	mmio_write(IOWIN, (uint32_t)dest << 24);
	mmio_write(IOREGSEL, REDIR(pin));
	mmio_write(IOWIN, low);
}

static void the_partition_glue_delivers_and_takes_eois(void **state)
{
	uint64_t value;

	(void)state;
	mmio_route(20, 0x60 | LEVEL | MASKED, 3);
	irq_set_line(&part, 20, 1);
	assert_int_equal(sent_count, 0);
	mmio_write(IOWIN, 0x60 | LEVEL); /* unmasked while asserted: sent at once */
	assert_int_equal(sent_count, 1);
	assert_sent(&sent[0], 0x60, IRQ_FIXED, 0, 1, 3);
	vioapic_ops.read(&part, IOWIN, 4, &value);
	assert_int_equal(value, 0x60 | LEVEL | REMOTE_IRR);
	irq_eoi(&part, 0x60);
	assert_int_equal(sent_count, 2);
	irq_set_line(&part, 20, 0);
	irq_eoi(&part, 0x60);
	assert_int_equal(sent_count, 2);
	mmio_route(21, 0x61, 4);
	irq_set_line(&part, 21, 1);
	assert_int_equal(sent_count, 3);
	assert_sent(&sent[2], 0x61, IRQ_FIXED, 0, 0, 4);
	mmio_write(IOEOI, 0x60);
	assert_int_equal(sent_count, 3);
	assert_int_equal(part.ioapic.lock.locked, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(registers_are_reached_through_ioregsel_and_iowin, reset),
		cmocka_unit_test_setup(version_register_shows_24_entries, reset),
		cmocka_unit_test_setup(id_and_arbitration_registers, reset),
		cmocka_unit_test_setup(reset_masks_every_pin, reset),
		cmocka_unit_test_setup(redirection_entries_read_back_their_writable_bits, reset),
		cmocka_unit_test_setup(edge_triggered_pins_send_on_each_rising_edge, reset),
		cmocka_unit_test_setup(edges_on_a_masked_pin_are_lost, reset),
		cmocka_unit_test_setup(level_triggered_pins_wait_for_the_eoi_of_their_vector, reset),
		cmocka_unit_test_setup(masking_a_level_pin, reset),
		cmocka_unit_test_setup(an_eoi_ends_every_pin_with_its_vector, reset),
		cmocka_unit_test_setup(the_eoi_register_ends_a_vector, reset),
		cmocka_unit_test_setup(switching_to_edge_clears_remote_irr, reset),
		cmocka_unit_test_setup(polarity_is_kept_and_lines_are_logical, reset),
		cmocka_unit_test_setup(out_of_range_pins_and_registers, reset),
		cmocka_unit_test_setup(odd_sizes_and_offsets_change_nothing, reset),
		cmocka_unit_test_setup(the_partition_glue_delivers_and_takes_eois, reset),
	};

	return cmocka_run_group_tests_name("ioapic", tests, NULL, NULL);
}
