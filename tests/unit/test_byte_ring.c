/* The console's receive ring: order, a full ring's drops, index wrap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lib/byte_ring.h"

static struct byte_ring r;

static int reset(void **state)
{
	(void)state;
	r = (struct byte_ring){ 0 };
	return 0;
}

static void bytes_come_out_in_the_order_they_went_in(void **state)
{
	(void)state;
	assert_int_equal(byte_ring_get(&r), -1);
	assert_int_equal(byte_ring_put(&r, 'a'), 0);
	assert_int_equal(byte_ring_put(&r, 0xff), 0); /* a byte, not the empty mark */
	assert_int_equal(byte_ring_count(&r), 2);
	assert_int_equal(byte_ring_get(&r), 'a');
	assert_int_equal(byte_ring_get(&r), 0xff);
	assert_int_equal(byte_ring_get(&r), -1);
	assert_int_equal(byte_ring_count(&r), 0);
}

/* A full ring keeps what it holds and counts each byte it could not take. */
static void a_full_ring_drops_and_counts_the_new_bytes(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < BYTE_RING_SIZE; i++)
		assert_int_equal(byte_ring_put(&r, (uint8_t)i), 0);
	assert_int_equal(byte_ring_put(&r, 'x'), -1);
	assert_int_equal(byte_ring_put(&r, 'y'), -1);
	assert_int_equal(r.dropped, 2);
	assert_int_equal(byte_ring_count(&r), BYTE_RING_SIZE);
	for (i = 0; i < BYTE_RING_SIZE; i++)
		assert_int_equal(byte_ring_get(&r), (uint8_t)i);
	assert_int_equal(byte_ring_get(&r), -1);
	assert_int_equal(byte_ring_put(&r, 'z'), 0); /* room again */
	assert_int_equal(byte_ring_get(&r), 'z');
}

/* The free-running indices pass 2^32: counts and order stay right. */
static void the_indices_wrap(void **state)
{
	unsigned i;

	(void)state;
	r.head = r.tail = UINT32_MAX - 2;
	for (i = 0; i < 6; i++)
		assert_int_equal(byte_ring_put(&r, (uint8_t)('0' + i)), 0);
	assert_int_equal(byte_ring_count(&r), 6);
	assert_true(byte_ring_holds(&r, '5'));
	for (i = 0; i < 6; i++)
		assert_int_equal(byte_ring_get(&r), '0' + i);
	assert_int_equal(byte_ring_count(&r), 0);
}

static void holds_looks_only_at_the_bytes_waiting(void **state)
{
	(void)state;
	byte_ring_put(&r, 0x1d);
	byte_ring_put(&r, 'q');
	assert_true(byte_ring_holds(&r, 0x1d));
	assert_false(byte_ring_holds(&r, 'z'));
	byte_ring_get(&r);
	assert_false(byte_ring_holds(&r, 0x1d)); /* taken: its old slot does not count */
	assert_true(byte_ring_holds(&r, 'q'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(bytes_come_out_in_the_order_they_went_in, reset),
		cmocka_unit_test_setup(a_full_ring_drops_and_counts_the_new_bytes, reset),
		cmocka_unit_test_setup(the_indices_wrap, reset),
		cmocka_unit_test_setup(holds_looks_only_at_the_bytes_waiting, reset),
	};

	return cmocka_run_group_tests_name("byte_ring", tests, NULL, NULL);
}
