/* The MADT's I/O APICs and ISA interrupt source overrides, and the route of an ISA IRQ. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "acpi.h"

#define HEADER 44 /* the table header, local APIC address and flags */

static uint8_t madt[256];
static uint32_t len;
static struct acpi_irq_routing r;

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4); /* the tests run on a little-endian host, as ACPI's fields are */
}

static int reset(void **state)
{
	(void)state;
	memset(madt, 0, sizeof(madt));
	memcpy(madt, "APIC", 4);
	len = HEADER;
	return 0;
}

static void add_ioapic(uint8_t id, uint32_t address, uint32_t gsi_base)
{
	uint8_t *e = madt + len;

	e[0] = 1;
	e[1] = 12;
	e[2] = id;
	put32(e + 4, address);
	put32(e + 8, gsi_base);
	len += 12;
}

static void add_override(uint8_t bus, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	uint8_t *e = madt + len;

	e[0] = 2;
	e[1] = 10;
	e[2] = bus;
	e[3] = irq;
	put32(e + 4, gsi);
	e[8] = (uint8_t)flags;
	e[9] = (uint8_t)(flags >> 8);
	len += 10;
}

static void add_local_apic(uint8_t id)
{
	uint8_t *e = madt + len;

	e[0] = 0;
	e[1] = 8;
	e[3] = id;
	e[4] = 1;
	len += 8;
}

static void ioapics_and_overrides_are_read_among_other_entries(void **state)
{
	(void)state;
	add_local_apic(0);
	add_ioapic(2, 0xfec00000, 0);
	add_override(0, 0, 2, 0);
	add_local_apic(1);
	add_ioapic(3, 0xfec01000, 24);
	add_override(0, 9, 9, 0x000f); /* the ACPI SCI: level, active low */
	assert_int_equal(acpi_parse_irq_routing(madt, len, &r), 0);
	assert_int_equal(r.nioapics, 2);
	assert_int_equal(r.ioapic[1].id, 3);
	assert_int_equal(r.ioapic[1].address, 0xfec01000);
	assert_int_equal(r.ioapic[1].gsi_base, 24);
	assert_int_equal(r.noverrides, 2);
	assert_int_equal(r.override[0].isa_irq, 0);
	assert_int_equal(r.override[0].gsi, 2);
	assert_int_equal(r.override[1].flags, 0x000f);
}

/* COM1's IRQ 4 as ISA wires it, then as a board that moved it and made it level, active low. */
static void an_isa_irq_is_routed_as_its_override_says(void **state)
{
	struct acpi_irq_route route;

	(void)state;
	add_ioapic(0, 0xfec00000, 0);
	assert_int_equal(acpi_parse_irq_routing(madt, len, &r), 0);
	route = acpi_isa_irq_route(&r, 4);
	assert_int_equal(route.gsi, 4);
	assert_false(route.active_low); /* ISA: edge, active high */
	assert_false(route.level);

	add_override(0, 4, 20, 0x000f);
	add_override(0, 3, 3, 0x0005); /* edge, active high, said outright */
	assert_int_equal(acpi_parse_irq_routing(madt, len, &r), 0);
	route = acpi_isa_irq_route(&r, 4);
	assert_int_equal(route.gsi, 20);
	assert_true(route.active_low);
	assert_true(route.level);
	route = acpi_isa_irq_route(&r, 3);
	assert_int_equal(route.gsi, 3);
	assert_false(route.active_low);
	assert_false(route.level);
}

/* An override of another bus than ISA is not an ISA IRQ's; a MADT without an I/O APIC is refused. */
static void other_buses_and_no_ioapic(void **state)
{
	(void)state;
	add_override(1, 4, 30, 0x000f);
	assert_int_equal(acpi_parse_irq_routing(madt, len, &r), -1);
	assert_int_equal(r.noverrides, 0);
	add_ioapic(0, 0xfec00000, 0);
	assert_int_equal(acpi_parse_irq_routing(madt, len, &r), 0);
	assert_int_equal(acpi_isa_irq_route(&r, 4).gsi, 4);
}

/* Entries cut by the table's end, shorter than their type, or of length 0 stop or are skipped. */
static void damaged_entries_are_not_read(void **state)
{
	(void)state;
	add_ioapic(0, 0xfec00000, 0);
	madt[len] = 1; /* an I/O APIC entry that claims 8 bytes: too short for one */
	madt[len + 1] = 8;
	len += 8;
	add_ioapic(1, 0xfec01000, 24);
	assert_int_equal(acpi_parse_irq_routing(madt, len - 1, &r), 0); /* the last cut by the end */
	assert_int_equal(r.nioapics, 1);
	madt[HEADER + 1] = 0; /* length 0: the walk stops at once */
	assert_int_equal(acpi_parse_irq_routing(madt, len, &r), -1);
	assert_int_equal(acpi_parse_irq_routing(madt, 10, &r), -1); /* shorter than a header */
}

/* More I/O APICs than the array holds: the first ACPI_IOAPICS_MAX are kept, nothing overflows. */
static void too_many_ioapics_are_left_out(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < ACPI_IOAPICS_MAX + 2; i++)
		add_ioapic((uint8_t)i, 0xfec00000 + i * 0x1000, i * 24);
	assert_int_equal(acpi_parse_irq_routing(madt, len, &r), 0);
	assert_int_equal(r.nioapics, ACPI_IOAPICS_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(ioapics_and_overrides_are_read_among_other_entries, reset),
		cmocka_unit_test_setup(an_isa_irq_is_routed_as_its_override_says, reset),
		cmocka_unit_test_setup(other_buses_and_no_ioapic, reset),
		cmocka_unit_test_setup(damaged_entries_are_not_read, reset),
		cmocka_unit_test_setup(too_many_ioapics_are_left_out, reset),
	};

	return cmocka_run_group_tests_name("acpi_madt", tests, NULL, NULL);
}
