/*
 * The guest-physical map of the virtual PC every partition gets, in one
 * place: the ACPI tables, the devices and the boot loaders all read it
 * from here. RAM starts at 0 and runs up to PLATFORM_MMIO_BASE at most;
 * the devices sit in the 32-bit hole above it, as on a PC; what RAM does
 * not fit below the hole continues at 4 GiB. The partition's memory is
 * one piece on the host: the low part first, the high part after it.
 */
#ifndef HV_VDEV_PLATFORM_H
#define HV_VDEV_PLATFORM_H

#include <stdint.h>

#define PLATFORM_MMIO_BASE   0xc0000000ull /* PCI BARs from here ... */
#define PLATFORM_ECAM_BASE   0xe0000000ull /* PCI configuration space (MCFG): buses 0-15, 1 MiB each */
#define PLATFORM_ECAM_BUSES  16
#define PLATFORM_IOAPIC_BASE 0xfec00000ull
#define PLATFORM_LAPIC_BASE  0xfee00000ull /* the local APICs' default base (IA32_APIC_BASE) */
#define PLATFORM_BIOS_BASE   0xe0000ull    /* RSDP search area: 0xE0000-0xFFFFF, where the ACPI tables are */
#define PLATFORM_BIOS_SIZE   0x20000ull    /* up to 1 MiB */
#define PLATFORM_HIGH_RAM_BASE 0x100000000ull /* RAM beyond the hole */

/* Of a partition with ram_size bytes of RAM: the part below the hole, the part from 4 GiB. */
static inline uint64_t platform_low_ram(uint64_t ram_size)
{
	return ram_size < PLATFORM_MMIO_BASE ? ram_size : PLATFORM_MMIO_BASE;
}

static inline uint64_t platform_high_ram(uint64_t ram_size)
{
	return ram_size - platform_low_ram(ram_size);
}

/* The first guest-physical address above all of its RAM. */
static inline uint64_t platform_ram_top(uint64_t ram_size)
{
	uint64_t high = platform_high_ram(ram_size);

	return high ? PLATFORM_HIGH_RAM_BASE + high : ram_size;
}

/*
 * 1 if [gpa, gpa + len) is RAM, all in one of the two parts (len > 0), with
 * *offset its place in the partition's memory; else 0. Overflow-safe: gpa
 * and len are the guest's.
 */
static inline int platform_ram_offset(uint64_t ram_size, uint64_t gpa, uint64_t len, uint64_t *offset)
{
	uint64_t low = platform_low_ram(ram_size), high = platform_high_ram(ram_size);

	if (len == 0)
		return 0;
	if (gpa < low && len <= low - gpa) {
		*offset = gpa;
		return 1;
	}
	if (gpa >= PLATFORM_HIGH_RAM_BASE && gpa - PLATFORM_HIGH_RAM_BASE < high &&
	    len <= high - (gpa - PLATFORM_HIGH_RAM_BASE)) {
		*offset = low + (gpa - PLATFORM_HIGH_RAM_BASE);
		return 1;
	}
	return 0;
}

/* 1 if the byte at gpa is RAM. */
static inline int platform_is_ram(uint64_t ram_size, uint64_t gpa)
{
	uint64_t offset;

	return platform_ram_offset(ram_size, gpa, 1, &offset);
}

/* Ports (the PC's, as Linux and test kernels expect them). */
#define PLATFORM_PIT_PORT     0x40  /* 0x40-0x43 */
#define PLATFORM_KBC_PORT     0x60  /* 0x60 and 0x64: the reset command only */
#define PLATFORM_PORT61       0x61  /* PIT channel 2 gate and output */
#define PLATFORM_RTC_PORT     0x70  /* 0x70-0x71 */
#define PLATFORM_PIC1_PORT    0x20  /* 0x20-0x21; the second at 0xA0-0xA1, ELCR at 0x4D0-0x4D1 */
#define PLATFORM_PIC2_PORT    0xa0
#define PLATFORM_ELCR_PORT    0x4d0
#define PLATFORM_DEBUG_EXIT_PORT 0xf4 /* test_devices only */
#define PLATFORM_PCI_CONFIG_PORT 0xcf8 /* 0xCF8 address, 0xCFC-0xCFF data */
#define PLATFORM_RESET_PORT   0xcf9
#define PLATFORM_FW_CFG_PORT  0x510 /* test_devices only: 0x510 selector, 0x511 data */
#define PLATFORM_ACPI_PM_PORT 0x600 /* PM1a event (4), PM1a control (2) at +4, PM timer (4) at +8 */

/* ISA interrupts as the MADT's overrides describe them: IRQ 0 on GSI 2, SCI (IRQ 9) level, active high. */
#define PLATFORM_SCI_IRQ 9
#define PLATFORM_COM1_IRQ 4
#define PLATFORM_RTC_IRQ 8

/*
 * The SLP_TYP value that, written to PM1a control with SLP_EN, powers
 * the partition off: the DSDT's \_S5. 7 as on Intel's ICH and PCH, whose
 * SLP_TYP 111b is soft off (S5); no other sleep state is offered.
 */
#define PLATFORM_SLP_TYP_S5 7

/*
 * PCI INTx: pin (0 INTA .. 3 INTD) of the device in slot of bus 0 drives
 * GSI 16 + (slot + pin) mod 8, the rotation a PCI-to-PCI bridge applies
 * (PCI-to-PCI Bridge Architecture 1.2, 9.1) spread over eight lines. The
 * DSDT's _PRT says so to the guest; the PCI devices raise that line.
 */
/*
 * The I/O APIC's ID: the one after the vCPUs' APIC IDs, as the MADT says;
 * its ID register holds 4 bits (82093AA, 3.2.1), so past 15 vCPUs it is 15,
 * which Linux accepts beside a local APIC of the same ID.
 */
static inline unsigned platform_ioapic_id(unsigned vcpus)
{
	return vcpus < 15 ? vcpus : 15;
}

/* PCI slots of bus 0: the host bridge at 0, the test device at 1, virtio-blk disks from 2 (one a disk line). */
#define PLATFORM_PCI_SLOT_DISKS 2

#define PLATFORM_PCI_GSI_BASE 16
#define PLATFORM_PCI_GSIS     8

static inline unsigned platform_pci_gsi(unsigned slot, unsigned pin)
{
	return PLATFORM_PCI_GSI_BASE + (slot + pin) % PLATFORM_PCI_GSIS;
}

/* PCI slots of bus 0 of the virtio-net ports, one a net line: after the host bridge, test device and disks. */
#define PLATFORM_PCI_SLOT_NETS 10

/* The PCI slot of bus 0 of a virtio-console (virtio_console = yes): after the net ports' (CFG_NETS_MAX of them). */
#define PLATFORM_PCI_SLOT_CONSOLE 14

#endif
