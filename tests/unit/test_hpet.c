/* The ACPI HPET table, and the HPET driver's checks and its start and halt of the counter, on fake registers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "acpi.h"
#include "arch.h"
#include "hpet.h"
#include "lib/le.h"

#define QEMU_PERIOD_FS 10000000u    /* 10 ns: QEMU's and Bochs' 100 MHz */
#define CHIPSET_PERIOD_FS 69841279u /* 14.318 MHz */
#define CONFIG_LEGACY_ROUTE 2u      /* LEG_RT_CNF, a bit the driver must keep */

static uint32_t regs[0x400 / 4];
static uint64_t mapped_at;

/* The registers the driver maps are the fake ones; the address it asked for is kept. */
volatile void *arch_map_device(uint64_t pa, uint64_t size)
{
	mapped_at = pa;
	return size >= sizeof(regs) ? regs : 0;
}

static void set_period(uint32_t fs)
{
	memset(regs, 0, sizeof(regs));
	regs[0] = 0x8086a201;  /* vendor, timers, revision: not read */
	regs[1] = fs;          /* capabilities bits 63:32 */
}

static void a_period_outside_the_spec_is_refused(void **state)
{
	struct hpet h;

	(void)state;
	assert_int_equal(hpet_period_fs((uint64_t)QEMU_PERIOD_FS << 32 | 0xffffffff), QEMU_PERIOD_FS);
	assert_int_equal(hpet_period_fs((uint64_t)HPET_PERIOD_MAX_FS << 32), HPET_PERIOD_MAX_FS);
	assert_int_equal(hpet_period_fs((HPET_PERIOD_MAX_FS + 1) << 32), 0);
	assert_int_equal(hpet_period_fs(0x00000000ffffffffull), 0);
	set_period(0);
	assert_int_equal(hpet_open(&h, 0xfed00000), -1);
	set_period((uint32_t)HPET_PERIOD_MAX_FS + 1);
	assert_int_equal(hpet_open(&h, 0xfed00000), -1);
	assert_int_equal(regs[4], 0); /* a refused HPET is not started */
}

static void a_halted_counter_is_started_then_halted_again(void **state)
{
	struct hpet h;

	(void)state;
	set_period(QEMU_PERIOD_FS);
	regs[4] = CONFIG_LEGACY_ROUTE;
	assert_int_equal(hpet_open(&h, 0xfed00000), 0);
	assert_int_equal(mapped_at, 0xfed00000);
	assert_int_equal(h.period_fs, QEMU_PERIOD_FS);
	assert_int_equal(regs[4], CONFIG_LEGACY_ROUTE | 1);
	regs[0xf0 / 4] = 0xfffffff0;
	regs[0xf4 / 4] = 7;
	assert_int_equal(hpet_count(&h), 0xfffffff0); /* the low half alone */
	hpet_close(&h);
	assert_int_equal(regs[4], CONFIG_LEGACY_ROUTE);
}

static void a_running_counter_is_left_running(void **state)
{
	struct hpet h;

	(void)state;
	set_period(CHIPSET_PERIOD_FS);
	regs[4] = CONFIG_LEGACY_ROUTE | 1;
	assert_int_equal(hpet_open(&h, 0xfed00000), 0);
	assert_int_equal(h.period_fs, CHIPSET_PERIOD_FS);
	hpet_close(&h);
	assert_int_equal(regs[4], CONFIG_LEGACY_ROUTE | 1);
}

/* IA-PC HPET 1.0a, 3.2.4: the registers' GAS at 40 (space ID, widths, then the address at 44), 56 bytes. */
static uint8_t table[64];

static uint32_t hpet_table(uint8_t space, uint64_t address)
{
	memset(table, 0, sizeof(table));
	memcpy(table, "HPET", 4);
	put_le32(table + 4, 56);
	table[40] = space;
	table[41] = 64;
	put_le32(table + 44, (uint32_t)address);
	put_le32(table + 48, (uint32_t)(address >> 32));
	return 56;
}

static void the_table_gives_the_registers_address(void **state)
{
	uint64_t base;

	(void)state;
	assert_int_equal(acpi_parse_hpet(table, hpet_table(0, 0xfed00000), &base), 0);
	assert_int_equal(base, 0xfed00000);
	assert_int_equal(acpi_parse_hpet(table, hpet_table(0, 0x1fed00000ull), &base), 0);
	assert_int_equal(base, 0x1fed00000ull);
}

static void a_table_without_memory_registers_is_refused(void **state)
{
	uint64_t base;

	(void)state;
	assert_int_equal(acpi_parse_hpet(table, hpet_table(1, 0xfed00000), &base), -1); /* I/O space */
	assert_int_equal(base, 0);
	assert_int_equal(acpi_parse_hpet(table, hpet_table(0, 0), &base), -1);
	/* Shorter than the table's fields, by the caller's length or its own. */
	assert_int_equal(acpi_parse_hpet(table, hpet_table(0, 0xfed00000) - 1, &base), -1);
	put_le32(table + 4, 55);
	assert_int_equal(acpi_parse_hpet(table, 56, &base), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_period_outside_the_spec_is_refused),
		cmocka_unit_test(a_halted_counter_is_started_then_halted_again),
		cmocka_unit_test(a_running_counter_is_left_running),
		cmocka_unit_test(the_table_gives_the_registers_address),
		cmocka_unit_test(a_table_without_memory_registers_is_refused),
	};

	return cmocka_run_group_tests_name("hpet", tests, NULL, NULL);
}
