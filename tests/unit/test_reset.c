/* The guest's reset paths: port 0xCF9 and the 8042's pulse of its reset line; every other value leaves the partition be. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "partition.h"
#include "vdev/kbc.h"
#include "vdev/reset.h"

static struct partition part;
static char reason[256];
static unsigned resets;

void partition_reset(struct partition *p, const char *f, ...)
{
	va_list ap;

	assert_ptr_equal(p, &part);
	va_start(ap, f);
	vsnprintf(reason, sizeof(reason), f, ap);
	va_end(ap);
	resets++;
}

static int setup(void **state)
{
	(void)state;
	memset(&part, 0, sizeof(part));
	vreset_init(&part.reset);
	reason[0] = 0;
	resets = 0;
	return 0;
}

static uint64_t in(const struct vdev_ops *ops)
{
	uint64_t v = 0xdeadbeef;

	ops->read(&part, 0, 1, &v);
	return v;
}

static void cf9_with_rst_cpu_resets(void **state)
{
	(void)state;
	vreset_ops.write(&part, 0, 1, 0x06); /* the FADT's reset value */
	assert_int_equal(resets, 1);
	assert_string_equal(reason, "reset through port 0xCF9 (0x06)");
	vreset_ops.write(&part, 0, 1, 0x04); /* a soft reset restarts it too */
	assert_int_equal(resets, 2);
}

/* Linux's reboot=pci: read, write SYS_RST alone, then with RST_CPU. */
static void cf9_without_rst_cpu_only_keeps_its_bits(void **state)
{
	unsigned v;

	(void)state;
	assert_int_equal(in(&vreset_ops), 0);
	for (v = 0; v < 256; v++) {
		if (v & 0x04)
			continue;
		vreset_ops.write(&part, 0, 1, v);
		assert_int_equal(in(&vreset_ops), v & 0x0a); /* SYS_RST and FULL_RST */
	}
	assert_int_equal(resets, 0);
	vreset_ops.write(&part, 0, 1, 0x0e);
	assert_int_equal(resets, 1);
	assert_int_equal(in(&vreset_ops), 0x0a); /* RST_CPU reads 0 */
}

static void kbc_status_says_both_buffers_empty(void **state)
{
	(void)state;
	assert_int_equal(in(&vkbc_command_ops) & 0x03, 0);
	assert_int_equal(in(&vkbc_data_ops), 0);
}

static void kbc_pulse_of_the_reset_line_resets(void **state)
{
	(void)state;
	vkbc_command_ops.write(&part, 0, 1, 0xfe);
	assert_int_equal(resets, 1);
	assert_string_equal(reason, "reset by the keyboard controller (command 0xFE)");
	vkbc_command_ops.write(&part, 0, 1, 0xf0); /* pulses every line, the reset line among them */
	assert_int_equal(resets, 2);
}

static void kbc_other_commands_and_data_are_ignored(void **state)
{
	unsigned v;

	(void)state;
	for (v = 0; v < 256; v++) {
		if ((v & 0xf1) == 0xf0)
			continue; /* the pulses with bit 0 clear */
		vkbc_command_ops.write(&part, 0, 1, v);
		vkbc_data_ops.write(&part, 0, 1, v);
		assert_int_equal(in(&vkbc_command_ops) & 0x03, 0);
	}
	assert_int_equal(resets, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(cf9_with_rst_cpu_resets, setup),
		cmocka_unit_test_setup(cf9_without_rst_cpu_only_keeps_its_bits, setup),
		cmocka_unit_test_setup(kbc_status_says_both_buffers_empty, setup),
		cmocka_unit_test_setup(kbc_pulse_of_the_reset_line_resets, setup),
		cmocka_unit_test_setup(kbc_other_commands_and_data_are_ignored, setup),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
