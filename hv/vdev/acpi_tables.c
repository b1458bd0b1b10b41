/* The partition's ACPI tables (acpi_tables.h). Section numbers are ACPI 6.4's. */
#include "acpi_tables.h"

#include "acpi_pm.h"
#include "aml.h"
#include "lib/mc146818.h"
#include "pci.h"
#include "platform.h"
#include "uart.h"

#define OEM_ID "HVVIRT"
#define OEM_TABLE_ID "HVPC    "
#define CREATOR_ID "HVHV"
#define HEADER_LENGTH 36 /* 5.2.6 */

/* ---- tables: header, length and checksum */

static size_t table_open(struct aml *a, const char *signature, uint8_t revision)
{
	size_t at;

	aml_align(a, 16);
	at = a->len;
	aml_bytes(a, signature, 4);
	aml_u32(a, 0); /* length: at the close */
	aml_u8(a, revision);
	aml_u8(a, 0); /* checksum: at the close */
	aml_bytes(a, OEM_ID, 6);
	aml_bytes(a, OEM_TABLE_ID, 8);
	aml_u32(a, 1); /* OEM revision */
	aml_bytes(a, CREATOR_ID, 4);
	aml_u32(a, 1); /* creator revision */
	return at;
}

/* The byte that makes len bytes from at sum to 0 (mod 256), written at checksum_at. */
static void checksum(struct aml *a, size_t at, size_t len, size_t checksum_at)
{
	uint8_t sum = 0;
	size_t i;

	if (a->full)
		return;
	aml_poke(a, checksum_at, 0, 1);
	for (i = 0; i < len; i++)
		sum = (uint8_t)(sum + a->buf[at + i]);
	aml_poke(a, checksum_at, (uint8_t)(0 - sum), 1);
}

static void table_close(struct aml *a, size_t at)
{
	aml_poke(a, at + 4, a->len - at, 4);
	checksum(a, at, a->len - at, at + 9);
}

static uint64_t gpa(size_t offset)
{
	return PLATFORM_BIOS_BASE + offset;
}

/* ---- FACS (5.2.10): no checksum; 64-byte aligned */

#define FACS_LENGTH 64
#define FACS_VERSION 2

static uint64_t facs(struct aml *a)
{
	size_t at;

	aml_align(a, 64);
	at = a->len;
	aml_bytes(a, "FACS", 4);
	aml_u32(a, FACS_LENGTH);
	aml_reserve(a, FACS_LENGTH - 8);
	aml_poke(a, at + 32, FACS_VERSION, 1);
	return gpa(at);
}

/* ---- DSDT (5.2.11.1) in AML */

static void name_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_name_decl(a, name);
	aml_integer(a, v);
}

static void name_eisaid(struct aml *a, const char *name, const char *id)
{
	aml_name_decl(a, name);
	aml_eisaid(a, id);
}

static void range(struct aml *a, enum aml_space space, unsigned bytes, int consumer, uint64_t min, uint64_t max)
{
	const struct aml_range r = { .space = space, .bytes = bytes, .consumer = consumer, .min = min, .max = max };

	aml_address_space(a, &r);
}

/* \_S5: SLP_TYP for PM1a and PM1b control (7.4.2). */
static void sleep_state_s5(struct aml *a)
{
	aml_name_decl(a, "\\_S5");
	aml_package_open(a, 4);
	aml_integer(a, PLATFORM_SLP_TYP_S5);
	aml_integer(a, PLATFORM_SLP_TYP_S5);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_close(a);
}

/*
 * What the root bridge decodes: its buses, its configuration ports, the I/O ports around them, and the
 * 32-bit MMIO hole below ECAM where BARs go.
 */
#define ECAM_BUS_SIZE (1ull << 20)
#define PCI_CONFIG_PORTS 8

static void pci_root_resources(struct aml *a)
{
	aml_name_decl(a, "_CRS");
	aml_buffer_open(a);
	range(a, AML_BUS, 2, 0, 0, PLATFORM_ECAM_BUSES - 1);
	aml_io(a, PLATFORM_PCI_CONFIG_PORT, PLATFORM_PCI_CONFIG_PORT, 1, PCI_CONFIG_PORTS);
	range(a, AML_IO, 2, 0, 0, PLATFORM_PCI_CONFIG_PORT - 1);
	range(a, AML_IO, 2, 0, PLATFORM_PCI_CONFIG_PORT + PCI_CONFIG_PORTS, 0xffff);
	range(a, AML_MEMORY, 4, 0, PLATFORM_MMIO_BASE, PLATFORM_ECAM_BASE - 1);
	aml_resource_end(a);
}

/*
 * _PRT (6.2.13): INTA-INTD of each slot of bus 0 straight to a GSI (the
 * source is 0, so the index is a GSI: no link devices); slot 0 is the
 * host bridge's.
 */
#define PCI_PINS 4

static void pci_routing(struct aml *a)
{
	unsigned slot, pin;

	aml_name_decl(a, "_PRT");
	aml_package_open(a, (PCI_SLOTS - 1) * PCI_PINS);
	for (slot = 1; slot < PCI_SLOTS; slot++) {
		for (pin = 0; pin < PCI_PINS; pin++) {
			aml_package_open(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xffff); /* the slot, any function */
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, platform_pci_gsi(slot, pin));
			aml_close(a);
		}
	}
	aml_close(a);
}

static void pci_root(struct aml *a)
{
	aml_device_open(a, "PCI0");
	name_eisaid(a, "_HID", "PNP0A08"); /* PCI Express root bridge */
	name_eisaid(a, "_CID", "PNP0A03"); /* a PCI root bridge, to older guests */
	name_integer(a, "_SEG", 0);
	name_integer(a, "_BBN", 0);
	name_integer(a, "_UID", 0);
	pci_root_resources(a);
	pci_routing(a);
	aml_close(a);
}

/*
 * Motherboard resources (PNP0C02): the ECAM range, which Linux uses from
 * the MCFG only when it is reserved so (PCI Firmware Specification 3.2,
 * 4.1.2), and the PM block's ports.
 */
static void motherboard(struct aml *a)
{
	aml_device_open(a, "MBRD");
	name_eisaid(a, "_HID", "PNP0C02");
	aml_name_decl(a, "_CRS");
	aml_buffer_open(a);
	range(a, AML_MEMORY, 4, 1, PLATFORM_ECAM_BASE, PLATFORM_ECAM_BASE + PLATFORM_ECAM_BUSES * ECAM_BUS_SIZE - 1);
	aml_io(a, PLATFORM_ACPI_PM_PORT, PLATFORM_ACPI_PM_PORT, 1, ACPI_PM_PORTS);
	aml_resource_end(a);
	aml_close(a);
}

/* An ISA device: its ports and its interrupt. */
static void isa_device(struct aml *a, const char *name, const char *hid, uint16_t port, uint8_t ports, unsigned irq)
{
	aml_device_open(a, name);
	name_eisaid(a, "_HID", hid);
	aml_name_decl(a, "_CRS");
	aml_buffer_open(a);
	aml_io(a, port, port, 1, ports);
	aml_irq(a, irq);
	aml_resource_end(a);
	aml_close(a);
}

#define RTC_PORTS 2

static uint64_t dsdt(struct aml *a)
{
	size_t at = table_open(a, "DSDT", 2); /* revision 2: integers are 64 bits wide */

	sleep_state_s5(a);
	aml_scope_open(a, "\\_SB");
	pci_root(a);
	motherboard(a);
	isa_device(a, "RTC", "PNP0B00", PLATFORM_RTC_PORT, RTC_PORTS, PLATFORM_RTC_IRQ);
	isa_device(a, "COM1", "PNP0501", VUART_BASE, VUART_PORTS, PLATFORM_COM1_IRQ);
	aml_close(a);
	if (a->depth)
		a->full = 1; /* an object left open: malformed */
	table_close(a, at);
	return gpa(at);
}

/* ---- FADT (5.2.9): offsets of its fields; revision 6, minor version 0 (ACPI 6.0's) */

#define FADT_FIRMWARE_CTRL 36 /* X_FIRMWARE_CTRL (132) must then stay 0 */
#define FADT_DSDT 40
#define FADT_SCI_INT 46
#define FADT_PM1A_EVT_BLK 56
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM_TMR_BLK 76
#define FADT_PM1_EVT_LEN 88
#define FADT_PM1_CNT_LEN 89
#define FADT_PM_TMR_LEN 91
#define FADT_P_LVL2_LAT 96
#define FADT_P_LVL3_LAT 98
#define FADT_CENTURY 108
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_X_DSDT 140
#define FADT_X_PM1A_EVT_BLK 148
#define FADT_X_PM1A_CNT_BLK 172
#define FADT_X_PM_TMR_BLK 208
#define FADT_LENGTH 276

/* Fixed feature flags (Table 5.10). PWR_BUTTON clear: the power button is a fixed feature. */
#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_SLP_BUTTON (1u << 5)  /* no sleep button */
#define FADT_FIX_RTC (1u << 6)     /* no RTC wake status in PM1 */
#define FADT_TMR_VAL_EXT (1u << 8) /* the PM timer counts 32 bits */
#define FADT_RESET_REG_SUP (1u << 10)

/* IA-PC boot architecture flags (Table 5.11). The 8042 bit clear: Linux probes no keyboard controller. */
#define BOOT_LEGACY_DEVICES (1u << 0)
#define BOOT_VGA_NOT_PRESENT (1u << 2)
#define BOOT_PCIE_ASPM_CONTROLS (1u << 4) /* the OS leaves ASPM alone */

/* C2 and C3 latencies above 100 and 1000 us: not supported. */
#define NO_C2_LATENCY 101
#define NO_C3_LATENCY 1001

/* Generic Address Structure (5.2.3.2): system I/O, with its access size (1 byte .. 3 dword). */
#define GAS_SYSTEM_IO 1
#define GAS_BYTE 1
#define GAS_WORD 2
#define GAS_DWORD 3

static void io_register(struct aml *a, size_t at, unsigned bytes, uint8_t access, uint16_t port)
{
	aml_poke(a, at, GAS_SYSTEM_IO, 1);
	aml_poke(a, at + 1, 8 * bytes, 1);
	aml_poke(a, at + 3, access, 1);
	aml_poke(a, at + 4, port, 8);
}

/* A PM block register: the 32-bit address, its length, and the Generic Address alongside. */
static void pm_register(struct aml *a, size_t at, size_t block, size_t len_field, size_t x_block, uint16_t port,
			unsigned bytes, uint8_t access)
{
	aml_poke(a, at + block, port, 4);
	aml_poke(a, at + len_field, bytes, 1);
	io_register(a, at + x_block, bytes, access, port);
}

#define RESET_VALUE 0x06 /* RST_CPU with SYS_RST: a hard reset through port 0xCF9 */

static uint64_t fadt(struct aml *a, uint64_t facs_gpa, uint64_t dsdt_gpa)
{
	size_t at = table_open(a, "FACP", 6);

	aml_reserve(a, FADT_LENGTH - HEADER_LENGTH);
	aml_poke(a, at + FADT_FIRMWARE_CTRL, facs_gpa, 4);
	aml_poke(a, at + FADT_DSDT, dsdt_gpa, 4);
	aml_poke(a, at + FADT_SCI_INT, PLATFORM_SCI_IRQ, 2);
	/* SMI_CMD stays 0: always in ACPI mode, nothing to enable */
	pm_register(a, at, FADT_PM1A_EVT_BLK, FADT_PM1_EVT_LEN, FADT_X_PM1A_EVT_BLK,
		    PLATFORM_ACPI_PM_PORT + ACPI_PM1_EVT, ACPI_PM1_EVT_LEN, GAS_WORD);
	pm_register(a, at, FADT_PM1A_CNT_BLK, FADT_PM1_CNT_LEN, FADT_X_PM1A_CNT_BLK,
		    PLATFORM_ACPI_PM_PORT + ACPI_PM1_CNT, ACPI_PM1_CNT_LEN, GAS_WORD);
	pm_register(a, at, FADT_PM_TMR_BLK, FADT_PM_TMR_LEN, FADT_X_PM_TMR_BLK,
		    PLATFORM_ACPI_PM_PORT + ACPI_PM_TMR, ACPI_PM_TMR_LEN, GAS_DWORD);
	aml_poke(a, at + FADT_P_LVL2_LAT, NO_C2_LATENCY, 2);
	aml_poke(a, at + FADT_P_LVL3_LAT, NO_C3_LATENCY, 2);
	aml_poke(a, at + FADT_CENTURY, RTC_CENTURY, 1); /* the RTC's CMOS byte holding the century */
	aml_poke(a, at + FADT_IAPC_BOOT_ARCH, BOOT_LEGACY_DEVICES | BOOT_VGA_NOT_PRESENT | BOOT_PCIE_ASPM_CONTROLS,
		 2);
	aml_poke(a, at + FADT_FLAGS,
		 FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_FIX_RTC | FADT_TMR_VAL_EXT | FADT_RESET_REG_SUP,
		 4);
	io_register(a, at + FADT_RESET_REG, 1, GAS_BYTE, PLATFORM_RESET_PORT);
	aml_poke(a, at + FADT_RESET_VALUE, RESET_VALUE, 1);
	aml_poke(a, at + FADT_X_DSDT, dsdt_gpa, 8);
	table_close(a, at);
	return gpa(at);
}

/* ---- MADT (5.2.12) */

#define MADT_PCAT_COMPAT 1u /* 8259 PICs present: the guest masks them */
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_OVERRIDE 2
#define MADT_LAPIC_NMI 4
#define LAPIC_ENABLED 1u
#define ALL_PROCESSORS 0xff
#define LINT1 1

/* MPS INTI flags of an interrupt source override: polarity in bits 1-0, trigger mode in bits 3-2. */
#define INTI_ACTIVE_HIGH 0x1
#define INTI_EDGE 0x4
#define INTI_LEVEL 0xc

static void interrupt_override(struct aml *a, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	aml_u8(a, MADT_OVERRIDE);
	aml_u8(a, 10);
	aml_u8(a, 0); /* ISA */
	aml_u8(a, irq);
	aml_u32(a, gsi);
	aml_u16(a, flags);
}

static uint64_t madt(struct aml *a, unsigned vcpus)
{
	size_t at = table_open(a, "APIC", 4);
	unsigned i;

	aml_u32(a, (uint32_t)PLATFORM_LAPIC_BASE);
	aml_u32(a, MADT_PCAT_COMPAT);
	for (i = 0; i < vcpus; i++) {
		aml_u8(a, MADT_LAPIC);
		aml_u8(a, 8);
		aml_u8(a, (uint8_t)i); /* ACPI processor UID */
		aml_u8(a, (uint8_t)i); /* APIC ID */
		aml_u32(a, LAPIC_ENABLED);
	}
	aml_u8(a, MADT_IOAPIC);
	aml_u8(a, 12);
	aml_u8(a, (uint8_t)platform_ioapic_id(vcpus));
	aml_u8(a, 0);
	aml_u32(a, (uint32_t)PLATFORM_IOAPIC_BASE);
	aml_u32(a, 0); /* GSI base */
	interrupt_override(a, 0, 2, INTI_EDGE | INTI_ACTIVE_HIGH);
	interrupt_override(a, PLATFORM_SCI_IRQ, PLATFORM_SCI_IRQ, INTI_LEVEL | INTI_ACTIVE_HIGH);
	aml_u8(a, MADT_LAPIC_NMI);
	aml_u8(a, 6);
	aml_u8(a, ALL_PROCESSORS);
	aml_u16(a, 0); /* flags: as the bus says (edge, active high) */
	aml_u8(a, LINT1);
	table_close(a, at);
	return gpa(at);
}

/* ---- MCFG (PCI Firmware Specification 3.2, 4.1.2) */

static uint64_t mcfg(struct aml *a)
{
	size_t at = table_open(a, "MCFG", 1);

	aml_u64(a, 0); /* reserved */
	aml_u64(a, PLATFORM_ECAM_BASE);
	aml_u16(a, 0); /* segment */
	aml_u8(a, 0);  /* first bus */
	aml_u8(a, PLATFORM_ECAM_BUSES - 1);
	aml_u32(a, 0);
	table_close(a, at);
	return gpa(at);
}

/* ---- XSDT (5.2.8), RSDT (5.2.7), RSDP (5.2.5) */

#define ROOT_TABLES 3

static uint64_t xsdt(struct aml *a, const uint64_t *tables)
{
	size_t at = table_open(a, "XSDT", 1);
	unsigned i;

	for (i = 0; i < ROOT_TABLES; i++)
		aml_u64(a, tables[i]);
	table_close(a, at);
	return gpa(at);
}

static uint64_t rsdt(struct aml *a, const uint64_t *tables)
{
	size_t at = table_open(a, "RSDT", 1);
	unsigned i;

	for (i = 0; i < ROOT_TABLES; i++)
		aml_u32(a, (uint32_t)tables[i]); /* all below 1 MiB */
	table_close(a, at);
	return gpa(at);
}

#define RSDP_V1_LENGTH 20
#define RSDP_LENGTH 36

static uint64_t rsdp(struct aml *a, uint64_t rsdt_gpa, uint64_t xsdt_gpa)
{
	size_t at;

	aml_align(a, 16);
	at = a->len;
	aml_bytes(a, "RSD PTR ", 8);
	aml_u8(a, 0); /* checksum of the first 20 bytes */
	aml_bytes(a, OEM_ID, 6);
	aml_u8(a, 2); /* revision: ACPI 2.0 and later, with the XSDT */
	aml_u32(a, (uint32_t)rsdt_gpa);
	aml_u32(a, RSDP_LENGTH);
	aml_u64(a, xsdt_gpa);
	aml_u8(a, 0); /* extended checksum, of all 36 */
	aml_reserve(a, 3);
	checksum(a, at, RSDP_V1_LENGTH, at + 8);
	checksum(a, at, RSDP_LENGTH, at + 32);
	return gpa(at);
}

uint64_t acpi_tables_build(uint8_t *buf, size_t size, unsigned vcpus)
{
	struct aml a;
	uint64_t facs_gpa, dsdt_gpa, tables[ROOT_TABLES], root, x, rsdp_gpa;

	if (vcpus == 0 || vcpus > ACPI_TABLES_VCPUS_MAX)
		return 0;
	aml_init(&a, buf, size);
	facs_gpa = facs(&a);
	dsdt_gpa = dsdt(&a);
	tables[0] = fadt(&a, facs_gpa, dsdt_gpa);
	tables[1] = madt(&a, vcpus);
	tables[2] = mcfg(&a);
	x = xsdt(&a, tables);
	root = rsdt(&a, tables);
	rsdp_gpa = rsdp(&a, root, x);
	return a.full || a.len > PLATFORM_BIOS_SIZE ? 0 : rsdp_gpa;
}
