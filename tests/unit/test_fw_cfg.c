/* QEMU's fw_cfg as test kernels read it: items selected by a 16-bit
 * write, read a byte at a time, 0 past their end and for unknown keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vdev/fw_cfg.h"

#define GIB (1ull << 30)

enum { SELECTOR, DATA };

static struct fw_cfg f;

static void select_item(uint16_t key)
{
	fw_cfg_ops.write(&f, SELECTOR, 2, key);
}

static uint8_t data_byte(void)
{
	uint64_t v = 0x1234;

	fw_cfg_ops.read(&f, DATA, 1, &v);
	assert_true(v <= 0xff);
	return (uint8_t)v;
}

/* n bytes of the selected item, little-endian. */
static uint64_t read_item(unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)data_byte() << (8 * i);
	return v;
}

static int setup(void **state)
{
	(void)state;
	fw_cfg_init(&f, 6 * GIB, 3);
	return 0;
}

static void signature_and_features(void **state)
{
	char sig[5] = { 0 };
	unsigned i;

	(void)state;
	select_item(0x0000);
	for (i = 0; i < 4; i++)
		sig[i] = (char)data_byte();
	assert_string_equal(sig, "QEMU");
	assert_int_equal(read_item(4), 0); /* past its end */
	select_item(0x0001);
	assert_int_equal(read_item(4), 1); /* the traditional interface, no DMA */
	assert_int_equal(read_item(2), 0);
}

static void ram_and_cpus(void **state)
{
	(void)state;
	select_item(0x0003);
	assert_int_equal(read_item(8), 6 * GIB);
	select_item(0x0005);
	assert_int_equal(read_item(2), 3);
	assert_int_equal(data_byte(), 0);
	select_item(0x000f);
	assert_int_equal(read_item(2), 3);
	select_item(0x0019);
	assert_int_equal(read_item(4), 0); /* no files */
}

static void selecting_rewinds_and_unknown_items_read_zero(void **state)
{
	(void)state;
	select_item(0x0003);
	assert_int_equal(read_item(3), (6 * GIB) & 0xffffff);
	select_item(0x0003);
	assert_int_equal(read_item(8), 6 * GIB);
	select_item(0x1234);
	assert_int_equal(read_item(8), 0);
	select_item(0xffff);
	assert_int_equal(read_item(8), 0);
	select_item(0x8000); /* architecture-specific: none */
	assert_int_equal(read_item(4), 0);
	select_item(0x4000); /* the write channel's bit: the signature still */
	assert_int_equal(read_item(4), 0x554d4551);
}

static void writes_and_odd_accesses(void **state)
{
	uint64_t v;

	(void)state;
	select_item(0x0005);
	fw_cfg_ops.write(&f, DATA, 1, 0x77);     /* data writes are ignored */
	fw_cfg_ops.write(&f, SELECTOR, 1, 0x03); /* a byte is no selection */
	assert_int_equal(data_byte(), 3);
	fw_cfg_ops.write(&f, SELECTOR, 4, 0x0000); /* nor is a dword */
	v = 0;
	fw_cfg_ops.read(&f, DATA, 2, &v);        /* wide reads are not the data register's */
	assert_int_equal(v, ~0ull);
	assert_int_equal(data_byte(), 0);        /* and did not advance it */
	select_item(0x0000);
	fw_cfg_ops.read(&f, SELECTOR, 1, &v);    /* QEMU's PC reads data at 0x510 too */
	assert_int_equal(v, 'Q');
	assert_int_equal(data_byte(), 'E');
}

static void a_long_read_stays_at_the_end(void **state)
{
	unsigned i;

	(void)state;
	select_item(0x0001);
	for (i = 0; i < 100000; i++)
		data_byte();
	assert_int_equal(f.offset, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(signature_and_features, setup),
		cmocka_unit_test_setup(ram_and_cpus, setup),
		cmocka_unit_test_setup(selecting_rewinds_and_unknown_items_read_zero, setup),
		cmocka_unit_test_setup(writes_and_odd_accesses, setup),
		cmocka_unit_test_setup(a_long_read_stays_at_the_end, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
