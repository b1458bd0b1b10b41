/* libFuzzer target: the host's ACPI tables as the hypervisor reads them
 * at boot (drivers/acpi.c). The input's first byte picks the table (MADT,
 * SPCR or MCFG), the rest is the table's body after its header; the
 * target wraps it in a header with a right checksum, an XSDT and an RSDP,
 * as firmware would, so that the parsers, not the checksums, meet the
 * hostile bytes. The CPUs, I/O APICs and overrides found never overflow
 * their arrays and each ECAM window kept is aligned, ordered and below the
 * physical-address limit. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"

#define HEADER_LEN 36
#define XSDT_LEN (HEADER_LEN + 8)
#define BODY_MAX 1024

static const char *const signatures[] = { "APIC", "SPCR", "MCFG" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void seal(uint8_t *table, const char *sig, uint32_t len)
{
	uint8_t sum = 0;
	uint32_t i;

	memcpy(table, sig, 4);
	memcpy(table + 4, &len, 4);
	table[9] = 0;
	for (i = 0; i < len; i++)
		sum = (uint8_t)(sum + table[i]);
	table[9] = (uint8_t)-sum;
}

static void seal_rsdp(uint8_t *r, const uint8_t *xsdt)
{
	uint64_t addr = (uintptr_t)xsdt;
	uint8_t sum = 0;
	unsigned i;

	memset(r, 0, 36);
	memcpy(r, "RSD PTR ", 8);
	r[15] = 2; /* revision: the XSDT is used */
	memcpy(r + 24, &addr, 8);
	for (i = 0; i < 20; i++)
		sum = (uint8_t)(sum + r[i]);
	r[8] = (uint8_t)-sum;
	for (sum = 0, i = 0; i < 36; i++)
		sum = (uint8_t)(sum + r[i]);
	r[32] = (uint8_t)-sum;
}

static void check_ecam(const struct acpi_mcfg *m)
{
	uint32_t i;

	if (m->count > ACPI_MCFG_MAX)
		abort();
	for (i = 0; i < m->count; i++)
		if ((m->ecam[i].base & 0xfffff) || m->ecam[i].bus_start > m->ecam[i].bus_end ||
		    m->ecam[i].base >= 1ull << 52)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rsdp[36], xsdt[XSDT_LEN];
	struct acpi_cpus cpus;
	struct acpi_console con;
	struct acpi_mcfg mcfg;
	struct acpi_irq_routing irqs;
	uint8_t *table;
	uint64_t addr;
	size_t body;

	if (size < 1 || size - 1 > BODY_MAX)
		return 0;
	body = size - 1;
	table = calloc(1, HEADER_LEN + body); /* an exact-size copy: reading past it is caught */
	if (!table)
		return 0;
	memcpy(table + HEADER_LEN, data + 1, body);
	seal(table, signatures[data[0] % 3], (uint32_t)(HEADER_LEN + body));
	addr = (uintptr_t)table;
	memset(xsdt, 0, sizeof(xsdt));
	memcpy(xsdt + HEADER_LEN, &addr, 8);
	seal(xsdt, "XSDT", XSDT_LEN);
	seal_rsdp(rsdp, xsdt);

	if (acpi_init((uintptr_t)rsdp))
		abort(); /* the wrapping is valid: only the table is hostile */
	if (acpi_read_cpus(&cpus) == 0 && data[0] % 3 != 0)
		abort();
	if (acpi_read_irq_routing(&irqs) == 0 && (irqs.nioapics == 0 || data[0] % 3 != 0))
		abort();
	if (irqs.nioapics > ACPI_IOAPICS_MAX || irqs.noverrides > ACPI_OVERRIDES_MAX)
		abort();
	(void)acpi_isa_irq_route(&irqs, data[0]);
	(void)acpi_read_console(&con);
	if (acpi_read_mcfg(&mcfg) == 0 && mcfg.count == 0)
		abort();
	check_ecam(&mcfg);
	free(table);
	return 0;
}
