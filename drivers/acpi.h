/* The ACPI tables the hypervisor reads: MADT (CPUs) and SPCR (console). */
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

/* Validates the RSDP and root table; 0 on success, else a reason is logged. */
int acpi_init(uint64_t rsdp);
/* 0 on success; -1 when there is no valid MADT. */
int acpi_read_cpus(struct acpi_cpus *cpus);
/* 0 when an SPCR describes a 16550-compatible console. */
int acpi_read_console(struct acpi_console *con);

#endif
