/* The AML writer: encodings as ACPI 6.4 chapter 20 gives them, bounds, and malformed input refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vdev/aml.h"

static uint8_t buf[16384];
static struct aml a;

static int setup(void **state)
{
	(void)state;
	memset(buf, 0xcc, sizeof(buf));
	aml_init(&a, buf, sizeof(buf));
	return 0;
}

#define assert_output(...)                                                                 \
	do {                                                                               \
		static const uint8_t want[] = { __VA_ARGS__ };                              \
		assert_false(a.full);                                                     \
		assert_int_equal(a.len, sizeof(want));                                    \
		assert_memory_equal(buf, want, sizeof(want));                             \
	} while (0)

static void names(void **state)
{
	(void)state;
	aml_name(&a, "\\_SB.PCI0");
	assert_output('\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
	setup(0);
	aml_name(&a, "RTC");
	assert_output('R', 'T', 'C', '_');
	setup(0);
	aml_name(&a, "\\_SB.PCI0.COM1");
	assert_output('\\', 0x2f, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'C', 'O', 'M', '1');
	setup(0);
	aml_name(&a, "^^_HID");
	assert_output('^', '^', '_', 'H', 'I', 'D');
	setup(0);
	aml_name(&a, "\\");
	assert_output('\\', 0x00);
}

static void malformed_names_are_refused(void **state)
{
	static const char *const bad[] = { "1ABC", "ABCDE", "abc", "A..B", "A.", ".A", "A-B", "\\_SB.PCI00" };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup(0);
		aml_name(&a, bad[i]);
		assert_true(a.full);
	}
}

static void integers_take_the_shortest_form(void **state)
{
	(void)state;
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 2);
	aml_integer(&a, 0xff);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0x10000);
	aml_integer(&a, 0x100000000ull);
	assert_output(0x00, 0x01, 0x0a, 2, 0x0a, 0xff, 0x0b, 0x00, 0x01, 0x0c, 0x00, 0x00, 0x01, 0x00,
		      0x0e, 0, 0, 0, 0, 1, 0, 0, 0);
}

static void eisa_ids(void **state)
{
	(void)state;
	aml_eisaid(&a, "PNP0A03");
	aml_eisaid(&a, "PNP0501");
	assert_output(0x0c, 0x41, 0xd0, 0x0a, 0x03, 0x0c, 0x41, 0xd0, 0x05, 0x01);
}

static void malformed_eisa_ids_are_refused(void **state)
{
	static const char *const bad[] = { "PNP0A0", "PNP0A033", "pnp0a03", "PNP0a03", "P1P0A03", "" };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup(0);
		aml_eisaid(&a, bad[i]);
		assert_true(a.full);
	}
}

/* A package of n raw bytes after its element count: the PkgLength counts itself, the count and the bytes. */
static void package_of(size_t n)
{
	setup(0);
	aml_package_open(&a, 0);
	aml_reserve(&a, n);
	aml_close(&a);
	assert_false(a.full);
}

static void package_lengths_at_each_encoding_boundary(void **state)
{
	(void)state;
	package_of(61); /* 1 + 1 + 61 = 63: one byte */
	assert_int_equal(a.len, 1 + 1 + 1 + 61);
	assert_int_equal(buf[1], 63);
	package_of(62); /* 65 with a two-byte PkgLength: 0x40 | the low nibble, then the rest */
	assert_int_equal(a.len, 1 + 2 + 1 + 62);
	assert_int_equal(buf[1], 0x40 | (65 & 0xf));
	assert_int_equal(buf[2], 65 >> 4);
	package_of(4092); /* 2 + 1 + 4092 = 4095: the most two bytes hold */
	assert_int_equal(buf[1], 0x4f);
	assert_int_equal(buf[2], 0xff);
	package_of(4093); /* 4097 with three bytes */
	assert_int_equal(buf[1], 0x80 | (4097 & 0xf));
	assert_int_equal(buf[2], (4097 >> 4) & 0xff);
	assert_int_equal(buf[3], 4097 >> 12);
	assert_int_equal(a.len, 1 + 3 + 1 + 4093);
	assert_int_equal(buf[4], 0); /* the element count follows the length */
}

static void nested_objects(void **state)
{
	(void)state;
	aml_scope_open(&a, "\\_SB");
	aml_device_open(&a, "PCI0");
	aml_name_decl(&a, "_UID");
	aml_integer(&a, 0);
	aml_close(&a);
	aml_close(&a);
	assert_output(0x10, 19, '\\', '_', 'S', 'B', '_', 0x5b, 0x82, 11, 'P', 'C', 'I', '0', 0x08, '_', 'U', 'I', 'D',
		      0x00);
	assert_int_equal(a.depth, 0);
}

static void resource_template(void **state)
{
	(void)state;
	aml_buffer_open(&a);
	aml_io(&a, 0x3f8, 0x3f8, 1, 8);
	aml_irq(&a, 4);
	aml_resource_end(&a);
	/* Buffer, PkgLength, BufferSize 13, then IO (Decode16, ...), IRQNoFlags () {4}, the end tag */
	assert_output(0x11, 16, 0x0a, 13, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00, 0x79, 0x00);
}

static void address_space_descriptors(void **state)
{
	const struct aml_range bus = { .space = AML_BUS, .bytes = 2, .min = 0, .max = 15 };
	const struct aml_range mem = { .space = AML_MEMORY, .bytes = 4, .consumer = 1, .min = 0xe0000000, .max = 0xe0ffffff };
	const struct aml_range high = { .space = AML_MEMORY, .bytes = 8, .min = 1ull << 40, .max = (1ull << 41) - 1 };

	(void)state;
	aml_address_space(&a, &bus);
	assert_output(0x88, 13, 0, 2, 0x0c, 0, 0, 0, 0, 0, 15, 0, 0, 0, 16, 0);
	setup(0);
	aml_address_space(&a, &mem);
	assert_output(0x87, 23, 0, 0, 0x0d, 0x01, 0, 0, 0, 0, 0, 0, 0, 0xe0, 0xff, 0xff, 0xff, 0xe0, 0, 0, 0, 0, 0, 0,
		      0, 0x01);
	setup(0);
	aml_address_space(&a, &high);
	assert_int_equal(a.len, 46);
	assert_int_equal(buf[0], 0x8a);
	assert_int_equal(buf[1], 43);
	assert_int_equal(buf[38], 0); /* length 2^40: bytes 38-45 */
	assert_int_equal(buf[43], 1);
}

static void bad_descriptors_are_refused(void **state)
{
	const struct aml_range wide = { .space = AML_IO, .bytes = 2, .min = 0, .max = 0x10000 };
	const struct aml_range upside_down = { .space = AML_IO, .bytes = 2, .min = 2, .max = 1 };
	const struct aml_range odd = { .space = AML_IO, .bytes = 3, .min = 0, .max = 1 };
	const struct aml_range all = { .space = AML_MEMORY, .bytes = 8, .min = 0, .max = ~0ull };

	(void)state;
	aml_address_space(&a, &wide);
	assert_true(a.full);
	setup(0);
	aml_address_space(&a, &upside_down);
	assert_true(a.full);
	setup(0);
	aml_address_space(&a, &odd);
	assert_true(a.full);
	setup(0);
	aml_address_space(&a, &all); /* its length does not fit */
	assert_true(a.full);
	setup(0);
	aml_irq(&a, 16);
	assert_true(a.full);
}

static void unbalanced_closes_and_deep_nesting_are_refused(void **state)
{
	unsigned i;

	(void)state;
	aml_close(&a);
	assert_true(a.full);
	setup(0);
	for (i = 0; i <= AML_DEPTH_MAX; i++)
		aml_package_open(&a, 1);
	assert_true(a.full);
}

/* Every size of buffer below what an object needs: refused, nothing written past the buffer (ASan). */
static void small_buffers_are_never_overrun(void **state)
{
	size_t size;

	(void)state;
	for (size = 0; size < 40; size++) {
		uint8_t *small = malloc(size ? size : 1);
		assert_non_null(small);
		aml_init(&a, small, size);
		aml_device_open(&a, "\\_SB.PCI0");
		aml_name_decl(&a, "_CRS");
		aml_buffer_open(&a);
		aml_io(&a, 0x70, 0x70, 1, 2);
		aml_resource_end(&a);
		aml_close(&a);
		aml_poke(&a, size, 0xffffffff, 4); /* past what was written: ignored */
		assert_true(a.full == (size < 32));
		free(small);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(names, setup),
		cmocka_unit_test_setup(malformed_names_are_refused, setup),
		cmocka_unit_test_setup(integers_take_the_shortest_form, setup),
		cmocka_unit_test_setup(eisa_ids, setup),
		cmocka_unit_test_setup(malformed_eisa_ids_are_refused, setup),
		cmocka_unit_test_setup(package_lengths_at_each_encoding_boundary, setup),
		cmocka_unit_test_setup(nested_objects, setup),
		cmocka_unit_test_setup(resource_template, setup),
		cmocka_unit_test_setup(address_space_descriptors, setup),
		cmocka_unit_test_setup(bad_descriptors_are_refused, setup),
		cmocka_unit_test_setup(unbalanced_closes_and_deep_nesting_are_refused, setup),
		cmocka_unit_test_setup(small_buffers_are_never_overrun, setup),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
