/*
 * The ACPI tables of a partition's virtual PC (ACPI 6.4, chapter 5 "ACPI
 * Software Programming Model"), which the guest finds through the RSDP
 * (in boot_params, or by scanning 0xE0000-0xFFFFF on 16-byte boundaries):
 *
 *   RSDP -> XSDT (and an RSDT, for guests that read only that)
 *             FADT -> FACS, DSDT (AML: \_S5, \_SB.PCI0 with _CRS and _PRT,
 *                                 motherboard resources, RTC, COM1)
 *             MADT: a local APIC per vCPU, the I/O APIC, ISA overrides, NMI
 *             MCFG: ECAM of bus 0..PLATFORM_ECAM_BUSES-1
 *
 * Pure: it writes a buffer that is to lie at PLATFORM_BIOS_BASE.
 */
#ifndef HV_VDEV_ACPI_TABLES_H
#define HV_VDEV_ACPI_TABLES_H

#include <stddef.h>
#include <stdint.h>

/* vCPU APIC IDs are 0..vcpus-1 and the I/O APIC's is vcpus: all below 0xFF (broadcast). */
#define ACPI_TABLES_VCPUS_MAX 254

/*
 * Writes the tables for vcpus vCPUs into buf, size bytes that the guest
 * sees at PLATFORM_BIOS_BASE; the RSDP's guest-physical address, or 0 if
 * vcpus is 0 or above ACPI_TABLES_VCPUS_MAX or the tables do not fit.
 */
uint64_t acpi_tables_build(uint8_t *buf, size_t size, unsigned vcpus);

#endif
