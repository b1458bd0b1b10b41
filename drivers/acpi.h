/* The ACPI tables the hypervisor reads: MADT (CPUs), SPCR (console), MCFG (PCI ECAM) and HPET. */
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

/* What the host's FADT and DSDT say about resetting and powering off the machine. */
struct acpi_power {
	int reset_supported;   /* FADT flag RESET_REG_SUP, with a register in memory or I/O space */
	int reset_mmio;
	uint64_t reset_addr;
	uint8_t reset_value;
	uint16_t smi_cmd;      /* to enter ACPI mode: ACPI_ENABLE written here; 0: always in it */
	uint8_t acpi_enable;
	uint16_t pm1a_cnt, pm1b_cnt; /* I/O ports; 0: none */
	int s5_found;          /* the DSDT's \_S5 package was read */
	uint8_t s5_typ_a, s5_typ_b;
};

#define ACPI_IOAPICS_MAX 8
#define ACPI_OVERRIDES_MAX 16

/* An I/O APIC: its registers' address and the first GSI its pin 0 carries. */
struct acpi_ioapic {
	uint8_t id;
	uint32_t address;
	uint32_t gsi_base;
};

/* An ISA IRQ that the board wires to another GSI, or with other polarity or trigger. */
struct acpi_override {
	uint8_t isa_irq;
	uint32_t gsi;
	uint16_t flags;    /* MPS INTI flags: bits 1:0 polarity, 3:2 trigger mode */
};

/* The MADT's I/O APICs and interrupt source overrides (those past the MAXes are left out). */
struct acpi_irq_routing {
	uint32_t nioapics, noverrides;
	struct acpi_ioapic ioapic[ACPI_IOAPICS_MAX];
	struct acpi_override override[ACPI_OVERRIDES_MAX];
};

/* Where an interrupt arrives: a GSI, and how its line signals. */
struct acpi_irq_route {
	uint32_t gsi;
	int active_low;
	int level;
};

/* Validates the RSDP and root table; 0 on success, else a reason is logged. */
int acpi_init(uint64_t rsdp);
/* 0 on success; -1 when there is no valid MADT. */
int acpi_read_cpus(struct acpi_cpus *cpus);
/* 0 when a valid FADT was read (some fields may still be absent), else -1. */
int acpi_read_power(struct acpi_power *pw);
/* 0 when the MADT lists at least one I/O APIC. */
int acpi_read_irq_routing(struct acpi_irq_routing *r);
/* The same, over a MADT of len bytes whose checksum was checked (exposed for unit tests). */
int acpi_parse_irq_routing(const void *madt, uint32_t len, struct acpi_irq_routing *r);
/* ISA IRQ irq's route: GSI irq, edge, active high, unless an override says otherwise. */
struct acpi_irq_route acpi_isa_irq_route(const struct acpi_irq_routing *r, uint8_t irq);

/* 0 when an SPCR describes a 16550-compatible console. */
int acpi_read_console(struct acpi_console *con);

/* 0 when an MCFG lists at least one usable ECAM window; entries that are not are logged and left out. */
int acpi_read_mcfg(struct acpi_mcfg *mcfg);
/* The same, over a table of len bytes whose checksum was checked (exposed for unit tests). */
int acpi_parse_mcfg(const void *table, uint32_t len, struct acpi_mcfg *mcfg);

/* 0 when an HPET table describes a timer block in memory: *base is its registers' address. */
int acpi_read_hpet(uint64_t *base);
/* The same, over a table of len bytes whose checksum was checked (exposed for unit tests). */
int acpi_parse_hpet(const void *table, uint32_t len, uint64_t *base);

#endif
