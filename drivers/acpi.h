/* The ACPI tables the hypervisor reads: MADT (CPUs), SPCR (console) and MCFG (PCI ECAM). */
#ifndef DRIVERS_ACPI_H
#define DRIVERS_ACPI_H

#include <stdint.h>

#define ACPI_CPUS_MAX 64

struct acpi_cpus {
	uint32_t count;    /* enabled CPUs found, may exceed ACPI_CPUS_MAX */
	uint32_t apic_id[ACPI_CPUS_MAX];
};

struct acpi_console {
	int mmio;
	uint64_t base;
	unsigned reg_shift;
	uint32_t baud;     /* 0: keep what the firmware set */
};

#define ACPI_MCFG_MAX 8

/* One ECAM window: config space of buses bus_start..bus_end of a PCI segment. */
struct acpi_ecam {
	uint64_t base;     /* the address of bus 0's space, even when bus_start > 0 */
	uint16_t segment;
	uint8_t bus_start, bus_end;
};

struct acpi_mcfg {
	uint32_t count;
	struct acpi_ecam ecam[ACPI_MCFG_MAX];
};

/* Validates the RSDP and root table; 0 on success, else a reason is logged. */
int acpi_init(uint64_t rsdp);
/* 0 on success; -1 when there is no valid MADT. */
int acpi_read_cpus(struct acpi_cpus *cpus);
/* 0 when an SPCR describes a 16550-compatible console. */
int acpi_read_console(struct acpi_console *con);

/* 0 when an MCFG lists at least one usable ECAM window; entries that are not are logged and left out. */
int acpi_read_mcfg(struct acpi_mcfg *mcfg);
/* The same, over a table of len bytes whose checksum was checked (exposed for unit tests). */
int acpi_parse_mcfg(const void *table, uint32_t len, struct acpi_mcfg *mcfg);

#endif
