/* QEMU's isa-debug-exit at 0xF4: a write of V stops the partition with
 * status (V << 1) | 1, whatever its width and at either port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "partition.h"
#include "vdev/debug_exit.h"

static struct partition part;
static struct partition *stopped;
static char reason[STOP_REASON_MAX];
static unsigned stops;

void partition_stop(struct partition *p, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(reason, sizeof(reason), f, ap);
	va_end(ap);
	stopped = p;
	stops++;
}

static void expect_stop(uint64_t offset, unsigned size, uint64_t value, const char *text)
{
	stops = 0;
	debug_exit_ops.write(&part, offset, size, value);
	assert_int_equal(stops, 1);
	assert_ptr_equal(stopped, &part);
	assert_string_equal(reason, text);
}

static void a_write_stops_with_the_status(void **state)
{
	(void)state;
	expect_stop(0, 1, 0, "exited through port 0xf4 with status 1");
	expect_stop(0, 1, 0x10, "exited through port 0xf4 with status 33");
	expect_stop(0, 1, 0xff, "exited through port 0xf4 with status 511");
	expect_stop(1, 1, 2, "exited through port 0xf4 with status 5");
	expect_stop(0, 2, 0xffff, "exited through port 0xf4 with status 131071");
	expect_stop(0, 4, 0xffffffff, "exited through port 0xf4 with status 8589934591");
	assert_int_equal(debug_exit_status(3), 7);
}

static void reads_give_zero_and_stop_nothing(void **state)
{
	uint64_t v = 0x55;

	(void)state;
	stops = 0;
	debug_exit_ops.read(&part, 0, 1, &v);
	assert_int_equal(v, 0);
	debug_exit_ops.read(&part, 1, 1, &v);
	assert_int_equal(v, 0);
	assert_int_equal(stops, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_write_stops_with_the_status),
		cmocka_unit_test(reads_give_zero_and_stop_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
