/*
 * acpitables: writes the ACPI tables a partition sees into files, one per
 * table as ACPICA's `iasl -d` reads them, to check and read them on the
 * host with the hypervisor's own builder.
 *
 *   acpitables [--vcpus N] DIR
 *       builds the tables of a partition with N vCPUs (default 1) and
 *       follows them from the RSDP as a guest does (XSDT and RSDT, FADT to
 *       FACS and DSDT), writing DIR/rsdp.dat, xsdt.dat, rsdt.dat, facp.dat,
 *       facs.dat, dsdt.dat, apic.dat, mcfg.dat. Exit 1 when the builder
 *       refuses, or a pointer or length leads outside the tables.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdev/acpi_tables.h"
#include "vdev/platform.h"

static uint8_t area[PLATFORM_BIOS_SIZE];
static const char *dir;

static uint64_t get(uint64_t offset, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | area[offset + n];
	return v;
}

/* The offset of the table at gpa, length bytes long (0: its header's); exits if outside the area. */
static uint64_t locate(uint64_t gpa, uint64_t *length)
{
	uint64_t offset = gpa - PLATFORM_BIOS_BASE;

	if (gpa < PLATFORM_BIOS_BASE || offset > sizeof(area) - 8) {
		fprintf(stderr, "acpitables: a table at 0x%llx lies outside 0x%llx-0x%llx\n", (unsigned long long)gpa,
			(unsigned long long)PLATFORM_BIOS_BASE, (unsigned long long)(PLATFORM_BIOS_BASE + sizeof(area) - 1));
		exit(1);
	}
	if (!*length)
		*length = get(offset + 4, 4);
	if (*length < 8 || *length > sizeof(area) - offset) {
		fprintf(stderr, "acpitables: the table at 0x%llx has a bad length %llu\n", (unsigned long long)gpa,
			(unsigned long long)*length);
		exit(1);
	}
	return offset;
}

/* Writes the table at gpa to DIR/name.dat (name: its signature, lower case, unless given); its offset. */
static uint64_t save(uint64_t gpa, uint64_t length, const char *name)
{
	uint64_t offset = locate(gpa, &length);
	char path[4096], sig[5];
	FILE *f;
	int i;

	if (!name) {
		for (i = 0; i < 4; i++)
			sig[i] = (char)(area[offset + (uint64_t)i] | 0x20);
		sig[4] = 0;
		name = sig;
	}
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(area + offset, 1, length, f) != length || fclose(f)) {
		perror(path);
		exit(1);
	}
	return offset;
}

#define RSDP_LENGTH 36

int main(int argc, char **argv)
{
	unsigned long vcpus = 1;
	uint64_t rsdp, rsdp_at, root_at, length, i;

	if (argc == 4 && !strcmp(argv[1], "--vcpus"))
		vcpus = strtoul(argv[2], NULL, 0);
	else if (argc != 2) {
		fputs("usage: acpitables [--vcpus N] DIR\n", stderr);
		return 2;
	}
	dir = argv[argc - 1];
	rsdp = acpi_tables_build(area, sizeof(area), (unsigned)vcpus);
	if (!rsdp || vcpus > ACPI_TABLES_VCPUS_MAX) {
		fprintf(stderr, "acpitables: no tables for %lu vCPUs\n", vcpus);
		return 1;
	}
	rsdp_at = save(rsdp, RSDP_LENGTH, "rsdp");
	save(get(rsdp_at + 16, 4), 0, NULL); /* RSDT */
	root_at = save(get(rsdp_at + 24, 8), 0, NULL);
	length = get(root_at + 4, 4);
	for (i = 36; i + 8 <= length; i += 8) {
		uint64_t at = save(get(root_at + i, 8), 0, NULL);
		if (!memcmp(area + at, "FACP", 4)) {
			save(get(at + 36, 4), 0, NULL);  /* FIRMWARE_CTRL: the FACS */
			save(get(at + 140, 8), 0, NULL); /* X_DSDT */
		}
	}
	return 0;
}
