/*
 * The partition's ACPI tables as a guest reads them: found from the RSDP,
 * every checksum and length right, pointers inside the area, and the
 * fields Linux acts on. Offsets are the ACPI 6.4 spec's, written out here
 * on their own rather than taken from the builder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vdev/acpi_tables.h"
#include "vdev/platform.h"

static uint8_t area[PLATFORM_BIOS_SIZE];
static uint64_t rsdp;

static uint64_t get(uint64_t gpa, unsigned n)
{
	uint64_t v = 0;

	assert_true(gpa >= PLATFORM_BIOS_BASE && gpa - PLATFORM_BIOS_BASE + n <= sizeof(area));
	while (n--)
		v = v << 8 | area[gpa - PLATFORM_BIOS_BASE + n];
	return v;
}

static const uint8_t *at(uint64_t gpa)
{
	return area + (gpa - PLATFORM_BIOS_BASE);
}

static uint8_t sum(uint64_t gpa, uint64_t len)
{
	uint8_t s = 0;
	uint64_t i;

	for (i = 0; i < len; i++)
		s = (uint8_t)(s + get(gpa + i, 1));
	return s;
}

/* A table with a header: inside the area, its signature, a length of at least the header, summing to 0. */
static uint64_t table(uint64_t gpa, const char *signature)
{
	uint64_t len = get(gpa + 4, 4);

	assert_memory_equal(at(gpa), signature, 4);
	assert_true(len >= 36);
	get(gpa + len - 1, 1);
	assert_int_equal(sum(gpa, len), 0);
	return len;
}

static void build(unsigned vcpus)
{
	memset(area, 0, sizeof(area));
	rsdp = acpi_tables_build(area, sizeof(area), vcpus);
	assert_true(rsdp);
}

static int build_two(void **state)
{
	(void)state;
	build(2);
	return 0;
}

static void rsdp_is_found_by_a_scan_and_checks_out(void **state)
{
	uint64_t a;

	(void)state;
	for (a = PLATFORM_BIOS_BASE; a < PLATFORM_BIOS_BASE + PLATFORM_BIOS_SIZE; a += 16)
		if (!memcmp(at(a), "RSD PTR ", 8))
			break;
	assert_int_equal(a, rsdp);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(get(rsdp + 15, 1), 2); /* revision */
	assert_int_equal(get(rsdp + 20, 4), 36);
	assert_int_equal(sum(rsdp, 36), 0);
	table(get(rsdp + 16, 4), "RSDT");
	table(get(rsdp + 24, 8), "XSDT");
}

/* The XSDT and the RSDT list the same FADT, MADT and MCFG, each valid. */
static void root_tables_list_fadt_madt_mcfg(void **state)
{
	uint64_t xsdt = get(rsdp + 24, 8), rsdt = get(rsdp + 16, 4);
	static const char *const want[] = { "FACP", "APIC", "MCFG" };
	unsigned i;

	(void)state;
	assert_int_equal(table(xsdt, "XSDT"), 36 + 3 * 8);
	assert_int_equal(table(rsdt, "RSDT"), 36 + 3 * 4);
	for (i = 0; i < 3; i++) {
		uint64_t t = get(xsdt + 36 + 8 * i, 8);
		assert_int_equal(get(rsdt + 36 + 4 * i, 4), t);
		table(t, want[i]);
	}
}

static uint64_t find(const char *signature)
{
	uint64_t xsdt = get(rsdp + 24, 8), i;

	for (i = 36; i < get(xsdt + 4, 4); i += 8)
		if (!memcmp(at(get(xsdt + i, 8)), signature, 4))
			return get(xsdt + i, 8);
	fail_msg("no %s", signature);
	return 0;
}

/* A Generic Address Structure: system I/O at port, bit_width wide. */
static void assert_io_gas(uint64_t gpa, unsigned bit_width, uint64_t port)
{
	assert_int_equal(get(gpa, 1), 1);
	assert_int_equal(get(gpa + 1, 1), bit_width);
	assert_int_equal(get(gpa + 2, 1), 0);
	assert_int_equal(get(gpa + 4, 8), port);
}

static void fadt_fields_a_guest_reads(void **state)
{
	uint64_t f = find("FACP"), flags, boot;

	(void)state;
	assert_int_equal(table(f, "FACP"), 276);
	assert_int_equal(get(f + 8, 1), 6);
	assert_int_equal(get(f + 46, 2), PLATFORM_SCI_IRQ);
	assert_int_equal(get(f + 48, 4), 0); /* SMI_CMD: always in ACPI mode */
	assert_int_equal(get(f + 56, 4), PLATFORM_ACPI_PM_PORT);     /* PM1a_EVT_BLK */
	assert_int_equal(get(f + 60, 4), 0);                         /* no PM1b */
	assert_int_equal(get(f + 64, 4), PLATFORM_ACPI_PM_PORT + 4); /* PM1a_CNT_BLK */
	assert_int_equal(get(f + 76, 4), PLATFORM_ACPI_PM_PORT + 8); /* PM_TMR_BLK */
	assert_int_equal(get(f + 80, 4), 0);                         /* no GPE0 */
	assert_int_equal(get(f + 88, 1), 4);
	assert_int_equal(get(f + 89, 1), 2);
	assert_int_equal(get(f + 91, 1), 4);
	assert_int_equal(get(f + 108, 1), 0x32); /* CENTURY: the RTC's byte */
	boot = get(f + 109, 2);
	assert_int_equal(boot & 0x3f, 0x01 | 0x04 | 0x10); /* legacy devices, no 8042, no VGA, MSI, no ASPM, an RTC */
	flags = get(f + 112, 4);
	assert_true(flags & (1u << 8));   /* TMR_VAL_EXT */
	assert_true(flags & (1u << 10));  /* RESET_REG_SUP */
	assert_false(flags & (1u << 4));  /* PWR_BUTTON clear: a fixed-feature power button */
	assert_false(flags & (1u << 20)); /* not HW_REDUCED_ACPI */
	assert_io_gas(f + 116, 8, PLATFORM_RESET_PORT);
	assert_int_equal(get(f + 128, 1), 0x06);
	assert_io_gas(f + 148, 32, PLATFORM_ACPI_PM_PORT);
	assert_io_gas(f + 172, 16, PLATFORM_ACPI_PM_PORT + 4);
	assert_io_gas(f + 208, 32, PLATFORM_ACPI_PM_PORT + 8);
	assert_int_equal(get(f + 160 + 4, 8), 0); /* X_PM1b_EVT_BLK */
}

static void fadt_points_at_facs_and_dsdt(void **state)
{
	uint64_t f = find("FACP"), facs = get(f + 36, 4), dsdt = get(f + 140, 8);

	(void)state;
	assert_int_equal(get(f + 132, 8), 0); /* X_FIRMWARE_CTRL: zero when FIRMWARE_CTRL is not (5.2.9) */
	assert_int_equal(get(f + 40, 4), dsdt); /* DSDT and X_DSDT agree */
	assert_memory_equal(at(facs), "FACS", 4);
	assert_int_equal(get(facs + 4, 4), 64);
	assert_int_equal(facs % 64, 0);
	assert_int_equal(get(facs + 32, 1), 2); /* version */
	table(dsdt, "DSDT");
	assert_int_equal(get(dsdt + 8, 1), 2); /* 64-bit integers */
}

/* \_S5 as AML: NameOp, \_S5_, Package of 4: SLP_TYP twice (BytePrefix), then Zero, Zero. */
static void dsdt_has_s5_with_the_platform_sleep_type(void **state)
{
	uint64_t dsdt = get(find("FACP") + 140, 8), len = get(dsdt + 4, 4), i;
	const uint8_t want[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 8, 4, 0x0a, PLATFORM_SLP_TYP_S5,
				 0x0a, PLATFORM_SLP_TYP_S5, 0x00, 0x00 };

	(void)state;
	for (i = 36; i + sizeof(want) <= len; i++)
		if (!memcmp(at(dsdt + i), want, sizeof(want)))
			return;
	fail_msg("no \\_S5 package in the DSDT");
}

static void madt_for(unsigned vcpus)
{
	uint64_t m, len, off, lapics = 0, ioapics = 0, overrides = 0, nmis = 0;

	build(vcpus);
	m = find("APIC");
	len = table(m, "APIC");
	assert_int_equal(get(m + 36, 4), PLATFORM_LAPIC_BASE);
	assert_int_equal(get(m + 40, 4) & 1, 1); /* PCAT_COMPAT */
	for (off = 44; off < len; off += get(m + off + 1, 1)) {
		uint64_t e = m + off, type = get(e, 1), elen = get(e + 1, 1);
		assert_true(elen >= 2 && off + elen <= len);
		if (type == 0) {
			assert_int_equal(elen, 8);
			assert_int_equal(get(e + 2, 1), lapics); /* processor UID */
			assert_int_equal(get(e + 3, 1), lapics); /* APIC ID */
			assert_int_equal(get(e + 4, 4) & 1, 1);  /* enabled */
			lapics++;
		} else if (type == 1) {
			assert_int_equal(elen, 12);
			assert_int_equal(get(e + 2, 1), vcpus < 15 ? vcpus : 15); /* its 4-bit ID register */
			assert_int_equal(get(e + 4, 4), PLATFORM_IOAPIC_BASE);
			assert_int_equal(get(e + 8, 4), 0);
			ioapics++;
		} else if (type == 2) {
			assert_int_equal(elen, 10);
			assert_int_equal(get(e + 2, 1), 0); /* ISA */
			if (get(e + 3, 1) == 0) {
				assert_int_equal(get(e + 4, 4), 2);
				assert_int_equal(get(e + 8, 2), 0x5); /* edge, active high */
			} else {
				assert_int_equal(get(e + 3, 1), PLATFORM_SCI_IRQ);
				assert_int_equal(get(e + 4, 4), PLATFORM_SCI_IRQ);
				assert_int_equal(get(e + 8, 2), 0xd); /* level, active high */
			}
			overrides++;
		} else {
			assert_int_equal(type, 4);
			assert_int_equal(elen, 6);
			assert_int_equal(get(e + 2, 1), 0xff); /* all processors */
			assert_int_equal(get(e + 5, 1), 1);    /* LINT1 */
			nmis++;
		}
	}
	assert_int_equal(off, len);
	assert_int_equal(lapics, vcpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(overrides, 2);
	assert_int_equal(nmis, 1);
}

static void madt_has_each_vcpu_and_the_ioapic(void **state)
{
	static const unsigned counts[] = { 1, 2, 3, 16, 64, ACPI_TABLES_VCPUS_MAX };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		madt_for(counts[i]);
}

static void mcfg_describes_ecam(void **state)
{
	uint64_t m = find("MCFG");

	(void)state;
	assert_int_equal(table(m, "MCFG"), 44 + 16);
	assert_int_equal(get(m + 44, 8), PLATFORM_ECAM_BASE);
	assert_int_equal(get(m + 52, 2), 0);
	assert_int_equal(get(m + 54, 1), 0);
	assert_int_equal(get(m + 55, 1), PLATFORM_ECAM_BUSES - 1);
}

static void vcpu_counts_out_of_range_are_refused(void **state)
{
	(void)state;
	assert_int_equal(acpi_tables_build(area, sizeof(area), 0), 0);
	assert_int_equal(acpi_tables_build(area, sizeof(area), ACPI_TABLES_VCPUS_MAX + 1), 0);
	assert_int_equal(acpi_tables_build(area, sizeof(area), ~0u), 0);
}

/* Any buffer too small gives 0 and is not written past (ASan); one just big enough works. */
static void small_buffers_are_refused_and_never_overrun(void **state)
{
	size_t size, need = 0;

	(void)state;
	for (size = 0; size < 8192 && !need; size += 7) {
		uint8_t *small = malloc(size ? size : 1);
		assert_non_null(small);
		if (acpi_tables_build(small, size, 64))
			need = size;
		free(small);
	}
	assert_true(need > 0);
	assert_true(need <= PLATFORM_BIOS_SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(rsdp_is_found_by_a_scan_and_checks_out, build_two),
		cmocka_unit_test_setup(root_tables_list_fadt_madt_mcfg, build_two),
		cmocka_unit_test_setup(fadt_fields_a_guest_reads, build_two),
		cmocka_unit_test_setup(fadt_points_at_facs_and_dsdt, build_two),
		cmocka_unit_test_setup(dsdt_has_s5_with_the_platform_sleep_type, build_two),
		cmocka_unit_test(madt_has_each_vcpu_and_the_ioapic),
		cmocka_unit_test_setup(mcfg_describes_ecam, build_two),
		cmocka_unit_test(vcpu_counts_out_of_range_are_refused),
		cmocka_unit_test(small_buffers_are_refused_and_never_overrun),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
