/* The 8259A pair and the ELCR: initialisation, priorities, EOIs, masks, the cascade, spurious IRQs, poll mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "partition.h"
#include "scheduler.h"
#include "vdev/pic.h"

static struct vpic pic;
static struct partition part;
static unsigned wakes;

void scheduler_wake(struct vcpu *v)
{
	assert_ptr_equal(v, &part.vcpus[0]);
	wakes++;
}

static int reset(void **state)
{
	(void)state;
	vpic_reset(&pic);
	memset(&part, 0, sizeof(part));
	vpic_reset(&part.pic);
	wakes = 0;
	return 0;
}

static void out(uint16_t port, uint8_t v)
{
	vpic_write(&pic, port, v);
}

static uint8_t in(uint16_t port)
{
	return vpic_read(&pic, port);
}

/* As Linux's init_8259A does: vectors 0x20 and 0x28, the slave on IR2, 8086 mode, ICW4 optional flags. */
static void init_pair(uint8_t icw4)
{
	out(0x20, 0x11);
	out(0x21, 0x20);
	out(0x21, 0x04);
	out(0x21, icw4);
	out(0xa0, 0x11);
	out(0xa1, 0x28);
	out(0xa1, 0x02);
	out(0xa1, icw4);
	out(0x21, 0x00);
	out(0xa1, 0x00);
}

static void pulse(unsigned irq)
{
	vpic_set_irq(&pic, irq, 1);
	vpic_set_irq(&pic, irq, 0);
}

static uint8_t isr(uint16_t chip)
{
	out(chip, 0x0b);
	return in(chip);
}

static uint8_t irr(uint16_t chip)
{
	out(chip, 0x0a);
	return in(chip);
}

static void reset_state_is_the_bios_one(void **state)
{
	(void)state;
	assert_int_equal(in(0x21), 0xfb); /* all masked but the cascade */
	assert_int_equal(in(0xa1), 0xff);
	pulse(0);
	assert_int_equal(irr(0x20), 0x01); /* a masked edge is kept */
	assert_false(vpic_output(&pic));
	out(0x21, 0xfa);
	assert_true(vpic_output(&pic));
	assert_int_equal(vpic_intack(&pic), 0x08);
	pulse(8);
	out(0xa1, 0xfe);
	assert_int_equal(vpic_intack(&pic), 0x0f); /* IRQ 0 in service holds the slave back */
	out(0x20, 0x20);
	assert_int_equal(vpic_intack(&pic), 0x70);
}

static void init_sequence_sets_vectors_and_clears_state(void **state)
{
	(void)state;
	init_pair(0x01);
	assert_int_equal(in(0x21), 0);
	pulse(1);
	assert_true(vpic_output(&pic));
	assert_int_equal(vpic_intack(&pic), 0x21);
	assert_int_equal(isr(0x20), 0x02);
	assert_int_equal(irr(0x20), 0x00);
	assert_false(vpic_output(&pic));
	out(0x20, 0x20); /* non-specific EOI */
	assert_int_equal(isr(0x20), 0x00);
	/* ICW1 again: ISR and latched edges forgotten, the mask cleared, IRR read selected. */
	pulse(4);
	out(0x21, 0xff);
	assert_int_equal(vpic_intack(&pic), 0x27); /* masked: the default IR7 */
	out(0x21, 0x00);
	assert_int_equal(vpic_intack(&pic), 0x24);
	pulse(3);
	out(0x20, 0x0b);
	out(0x20, 0x11);
	assert_int_equal(in(0x20), 0x00); /* IRR: the edge of IRQ 3 is gone */
	out(0x21, 0x40);
	out(0x21, 0x04);
	out(0x21, 0x01);
	assert_int_equal(in(0x21), 0x00);
	assert_int_equal(isr(0x20), 0x00);
	pulse(3);
	assert_int_equal(vpic_intack(&pic), 0x43);
}

static void single_mode_and_no_icw4(void **state)
{
	(void)state;
	out(0x20, 0x12); /* SNGL, no IC4: ICW2 only */
	out(0x21, 0x50);
	out(0x21, 0xfe); /* OCW1 now */
	assert_int_equal(in(0x21), 0xfe);
	pulse(8); /* the slave is still wired to IR2: in single mode IR2 gives the master's vector */
	out(0xa1, 0x00);
	out(0x21, 0x00);
	assert_int_equal(vpic_intack(&pic), 0x52);
	out(0x20, 0x20);
	out(0x21, 0x04); /* the slave still asks: IR2 masked */
	pulse(5);
	assert_int_equal(vpic_intack(&pic), 0x55);
	assert_int_equal(isr(0x20), 0x20); /* no ICW4: no automatic EOI */
}

static void priorities_nest(void **state)
{
	(void)state;
	init_pair(0x01);
	pulse(5);
	pulse(3);
	assert_int_equal(vpic_intack(&pic), 0x23);
	assert_false(vpic_output(&pic)); /* 5 waits for 3 */
	pulse(1);
	assert_true(vpic_output(&pic)); /* 1 comes before 3 */
	assert_int_equal(vpic_intack(&pic), 0x21);
	assert_int_equal(isr(0x20), 0x0a);
	out(0x20, 0x20); /* clears 1, the highest in service */
	assert_int_equal(isr(0x20), 0x08);
	assert_false(vpic_output(&pic));
	out(0x20, 0x20);
	assert_int_equal(vpic_intack(&pic), 0x25);
	pulse(5); /* the same IR again while in service: held until its EOI */
	assert_false(vpic_output(&pic));
	out(0x20, 0x65); /* specific EOI of 5 */
	assert_int_equal(vpic_intack(&pic), 0x25);
	out(0x20, 0x63); /* specific EOI of 3, which is not in service: nothing */
	assert_int_equal(isr(0x20), 0x20);
}

static void rotation_changes_priorities(void **state)
{
	(void)state;
	init_pair(0x01);
	out(0x20, 0xc4); /* set priority: IR4 lowest, IR5 highest */
	pulse(1);
	pulse(5);
	assert_int_equal(vpic_intack(&pic), 0x25);
	out(0x20, 0xa0); /* rotate on non-specific EOI: IR5 now lowest */
	pulse(5);
	assert_int_equal(vpic_intack(&pic), 0x21);
	pulse(6);
	assert_true(vpic_output(&pic)); /* 6 is now highest, above 1 in service */
	assert_int_equal(vpic_intack(&pic), 0x26);
	out(0x20, 0xe1); /* rotate on specific EOI of 1: 2 highest */
	out(0x20, 0x66);
	assert_int_equal(vpic_intack(&pic), 0x25);
}

static void automatic_eoi_and_its_rotation(void **state)
{
	(void)state;
	init_pair(0x03); /* AEOI */
	pulse(3);
	pulse(4);
	assert_int_equal(vpic_intack(&pic), 0x23);
	assert_int_equal(isr(0x20), 0x00);
	assert_int_equal(vpic_intack(&pic), 0x24);
	out(0x20, 0x80); /* rotate in automatic EOI mode */
	pulse(3);
	pulse(6);
	assert_int_equal(vpic_intack(&pic), 0x23);
	pulse(3); /* 3 is now the lowest: 6 first */
	assert_int_equal(vpic_intack(&pic), 0x26);
	out(0x20, 0x00); /* rotation off, 6 left lowest: 7, then 0, come first */
	pulse(0);
	assert_int_equal(vpic_intack(&pic), 0x20);
	assert_int_equal(vpic_intack(&pic), 0x23);
}

static void masked_requests_wait(void **state)
{
	(void)state;
	init_pair(0x01);
	out(0x21, 0x10);
	pulse(4);
	assert_false(vpic_output(&pic));
	assert_int_equal(irr(0x20), 0x10);
	out(0x21, 0x00);
	assert_true(vpic_output(&pic));
	assert_int_equal(vpic_intack(&pic), 0x24);
	out(0xa1, 0xff); /* the slave's own mask */
	pulse(12);
	assert_false(vpic_output(&pic));
	out(0xa1, 0xef);
	assert_int_equal(vpic_intack(&pic), 0x2c);
}

static void slave_cascades_through_ir2(void **state)
{
	(void)state;
	init_pair(0x01);
	pulse(10);
	assert_true(vpic_output(&pic));
	assert_int_equal(irr(0x20), 0x04);
	assert_int_equal(vpic_intack(&pic), 0x2a);
	assert_int_equal(isr(0x20), 0x04);
	assert_int_equal(isr(0xa0), 0x04);
	pulse(9); /* above 10 on the slave, but the master has IR2 in service */
	assert_false(vpic_output(&pic));
	out(0xa0, 0x20);
	out(0x20, 0x20);
	assert_int_equal(vpic_intack(&pic), 0x29);
	pulse(0);
	assert_true(vpic_output(&pic)); /* IR0 of the master comes before the slave in service */
	assert_int_equal(vpic_intack(&pic), 0x20);
}

static void special_fully_nested_mode_lets_the_slave_nest(void **state)
{
	(void)state;
	init_pair(0x11); /* SFNM on both, as a BIOS would set the master */
	pulse(12);
	assert_int_equal(vpic_intack(&pic), 0x2c);
	pulse(9);
	assert_true(vpic_output(&pic));
	assert_int_equal(vpic_intack(&pic), 0x29);
	pulse(3); /* a master IR below IR2 in service waits */
	assert_false(vpic_output(&pic));
}

static void level_triggered_irqs_follow_their_line(void **state)
{
	(void)state;
	init_pair(0x01);
	out(0x4d0, 0xff);
	out(0x4d1, 0xff);
	assert_int_equal(in(0x4d0), 0xf8); /* IRQ 0, 1, 2 cannot be level-triggered */
	assert_int_equal(in(0x4d1), 0xde); /* nor 8 and 13 */
	vpic_set_irq(&pic, 5, 1);
	assert_int_equal(vpic_intack(&pic), 0x25);
	out(0x20, 0x20);
	assert_int_equal(vpic_intack(&pic), 0x25); /* still asserted: again */
	out(0x20, 0x20);
	vpic_set_irq(&pic, 5, 0);
	assert_false(vpic_output(&pic));
	pulse(0); /* IRQ 0 stays edge-triggered */
	assert_int_equal(vpic_intack(&pic), 0x20);
	out(0x20, 0x20);
	assert_false(vpic_output(&pic));
	vpic_set_irq(&pic, 6, 1);
	out(0x4d0, 0x00); /* back to edge: the request latched stays */
	vpic_set_irq(&pic, 6, 0);
	assert_int_equal(vpic_intack(&pic), 0x26);
	out(0x20, 0x20);
	vpic_set_irq(&pic, 7, 1);
	assert_int_equal(vpic_intack(&pic), 0x27); /* a real IRQ 7: its IS bit is set */
	assert_int_equal(isr(0x20), 0x80);
	out(0x20, 0x20);
	assert_int_equal(irr(0x20), 0x00); /* the edge was taken; the line is still high */
	out(0x4d0, 0x80);                  /* to level while asserted: requested at once */
	assert_int_equal(irr(0x20), 0x80);
	assert_true(vpic_output(&pic));
}

static void a_request_gone_by_the_acknowledge_is_spurious(void **state)
{
	(void)state;
	init_pair(0x01);
	out(0x4d0, 0x20);
	out(0x4d1, 0x04);
	vpic_set_irq(&pic, 5, 1);
	assert_true(vpic_output(&pic));
	vpic_set_irq(&pic, 5, 0);
	assert_int_equal(vpic_intack(&pic), 0x27); /* spurious IRQ 7 */
	assert_int_equal(isr(0x20), 0x00);
	vpic_set_irq(&pic, 10, 1);
	vpic_set_irq(&pic, 10, 0); /* the master latched IR2's edge already */
	assert_true(vpic_output(&pic));
	assert_int_equal(vpic_intack(&pic), 0x2f); /* spurious IRQ 15 */
	assert_int_equal(isr(0x20), 0x04);         /* the master took its part */
	assert_int_equal(isr(0xa0), 0x00);
	out(0x21, 0xff);
	pulse(3);
	assert_int_equal(vpic_intack(&pic), 0x27); /* masked between INT and INTA */
	assert_int_equal(isr(0x20), 0x04);
}

static void poll_mode_acknowledges_by_reading(void **state)
{
	(void)state;
	init_pair(0x01);
	out(0x20, 0x0c); /* poll */
	assert_int_equal(in(0x20), 0x00); /* nothing requested */
	pulse(6);
	pulse(4);
	out(0x20, 0x0c);
	assert_int_equal(in(0x21), 0x84); /* either port answers */
	assert_int_equal(isr(0x20), 0x10);
	assert_int_equal(in(0x21), 0x00); /* the poll was for one read: IMR again */
	pulse(11);
	out(0x20, 0x20);
	out(0x20, 0x0c);
	assert_int_equal(in(0x20), 0x82); /* the slave asks through IR2 */
	out(0xa0, 0x0c);
	assert_int_equal(in(0xa0), 0x83);
	assert_int_equal(isr(0xa0), 0x08);
}

static void special_mask_mode_opens_lower_priorities(void **state)
{
	(void)state;
	init_pair(0x01);
	pulse(3);
	assert_int_equal(vpic_intack(&pic), 0x23);
	pulse(5);
	assert_false(vpic_output(&pic));
	out(0x21, 0x08);
	out(0x20, 0x68); /* special mask mode on */
	assert_true(vpic_output(&pic));
	assert_int_equal(vpic_intack(&pic), 0x25);
	out(0x20, 0x48); /* off: 3 in service blocks again */
	pulse(6);
	out(0x21, 0x00);
	assert_false(vpic_output(&pic));
	assert_int_equal(isr(0x20), 0x28);
}

static void hostile_input_is_contained(void **state)
{
	uint32_t seed = 12345;
	unsigned i;

	(void)state;
	vpic_set_irq(&pic, 16, 1);
	vpic_set_irq(&pic, 0xffffffffu, 1);
	vpic_set_irq(&pic, 2, 1); /* the cascade input is the slave's, not a device's */
	assert_int_equal(irr(0x20), 0x00);
	assert_int_equal(in(0x22), 0xff);
	assert_int_equal(in(0x4d2), 0xff);
	out(0x4d2, 0x12);
	for (i = 0; i < 200000; i++) {
		uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1 };
		int v;
		seed = seed * 1103515245 + 12345;
		if (seed >> 31)
			out(ports[(seed >> 8) % 6], (uint8_t)(seed >> 16));
		else if ((seed >> 30) & 1)
			(void)in(ports[(seed >> 8) % 6]);
		else
			vpic_set_irq(&pic, (seed >> 8) % 17, (seed >> 20) & 1);
		v = vpic_intack(&pic);
		assert_true(v >= 0 && v <= 0xff);
		assert_true((v & 7) == 7 || (v & ~7) == pic.chip[0].base || (v & ~7) == pic.chip[1].base);
	}
}

/* ---- the partition's pair */

static void glue_wakes_vcpu0_when_int_rises(void **state)
{
	uint64_t v = 0;

	(void)state;
	pic_set_irq(&part, 1, 1);
	assert_int_equal(wakes, 0); /* masked */
	vpic_master_ops.write(&part, 1, 1, 0xf9);
	assert_int_equal(wakes, 1);
	assert_true(pic_output(&part));
	pic_set_irq(&part, 3, 1);
	assert_int_equal(wakes, 1); /* INT was high already */
	assert_int_equal(pic_intack(&part), 0x09);
	vpic_master_ops.write(&part, 0, 1, 0x20);
	assert_int_equal(wakes, 1);
	vpic_master_ops.read(&part, 0, 2, &v); /* a 16-bit read: IRR, then IMR */
	assert_int_equal(v, 0xf908); /* IRQ 3's masked edge is kept */
	vpic_elcr_ops.write(&part, 0, 2, 0x0420);
	vpic_elcr_ops.read(&part, 0, 2, &v);
	assert_int_equal(v, 0x0420);
	vpic_slave_ops.write(&part, 1, 1, 0x00);
	pic_set_irq(&part, 10, 1);
	vpic_master_ops.write(&part, 1, 1, 0xfb);
	assert_int_equal(pic_intack(&part), 0x72);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(reset_state_is_the_bios_one, reset),
		cmocka_unit_test_setup(init_sequence_sets_vectors_and_clears_state, reset),
		cmocka_unit_test_setup(single_mode_and_no_icw4, reset),
		cmocka_unit_test_setup(priorities_nest, reset),
		cmocka_unit_test_setup(rotation_changes_priorities, reset),
		cmocka_unit_test_setup(automatic_eoi_and_its_rotation, reset),
		cmocka_unit_test_setup(masked_requests_wait, reset),
		cmocka_unit_test_setup(slave_cascades_through_ir2, reset),
		cmocka_unit_test_setup(special_fully_nested_mode_lets_the_slave_nest, reset),
		cmocka_unit_test_setup(level_triggered_irqs_follow_their_line, reset),
		cmocka_unit_test_setup(a_request_gone_by_the_acknowledge_is_spurious, reset),
		cmocka_unit_test_setup(poll_mode_acknowledges_by_reading, reset),
		cmocka_unit_test_setup(special_mask_mode_opens_lower_priorities, reset),
		cmocka_unit_test_setup(hostile_input_is_contained, reset),
		cmocka_unit_test_setup(glue_wakes_vcpu0_when_int_rises, reset),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
