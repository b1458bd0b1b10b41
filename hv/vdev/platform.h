/*
 * The guest-physical map of the virtual PC every partition gets, in one
 * place: the ACPI tables, the devices and the boot loaders all read it
 * from here. RAM starts at 0; the devices sit in the 32-bit hole below
 * 4 GiB, as on a PC, so a partition's RAM must end below PLATFORM_MMIO_BASE
 * until RAM above 4 GiB is mapped there.
 */
#ifndef HV_VDEV_PLATFORM_H
#define HV_VDEV_PLATFORM_H

#define PLATFORM_MMIO_BASE   0xc0000000ull /* PCI BARs from here ... */
#define PLATFORM_ECAM_BASE   0xe0000000ull /* PCI configuration space (MCFG): buses 0-15, 1 MiB each */
#define PLATFORM_ECAM_BUSES  16
#define PLATFORM_IOAPIC_BASE 0xfec00000ull
#define PLATFORM_LAPIC_BASE  0xfee00000ull /* the local APICs' default base (IA32_APIC_BASE) */
#define PLATFORM_BIOS_BASE   0xe0000ull    /* RSDP search area: 0xE0000-0xFFFFF */

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

#endif
