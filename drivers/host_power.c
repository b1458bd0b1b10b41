/*
 * Host reset and power-off. The reset tries, in turn, what Linux's
 * reboot=acpi,pci,kbd tries: the FADT's reset register (ACPI 6.5, 4.8.4.6
 * "Reset Register"), the PCI reset control register at 0xCF9 (a full
 * reset: bits 1 and 2, Intel ICH/PCH datasheets, "Reset Control
 * Register"), and the keyboard controller's pulse of its reset line
 * (command 0xFE to port 0x64). Power-off writes SLP_TYP from \_S5 with
 * SLP_EN to PM1a (and PM1b) control (ACPI 6.5, 16.1.7 "Transitioning
 * from the Working to the Sleeping State"), in ACPI mode (16.3.1).
 */
#include "host_power.h"

#include "acpi.h"
#include "arch.h"
#include "cpu.h"
#include "log.h"
#include "mm.h"

#define PCI_RESET_PORT 0xcf9
#define PCI_RESET_SYS 0x02
#define PCI_RESET_CPU 0x04
#define KBC_COMMAND_PORT 0x64
#define KBC_STATUS_INPUT_FULL 0x02
#define KBC_PULSE_RESET 0xfe
#define PM1_SCI_EN 0x0001
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_EN 0x2000
#define SETTLE_US 500000 /* what a reset path is given before the next is tried */

static void try_acpi_reset(const struct acpi_power *pw)
{
	if (!pw->reset_supported)
		return;
	log_info("host: reset through the ACPI reset register (%s 0x%llx <- 0x%x)", pw->reset_mmio ? "memory" : "port",
		 (unsigned long long)pw->reset_addr, pw->reset_value);
	log_flush();
	if (pw->reset_mmio)
		*(volatile uint8_t *)mm_ptr(pw->reset_addr) = pw->reset_value;
	else if (pw->reset_addr <= 0xffff)
		outb((uint16_t)pw->reset_addr, pw->reset_value);
	arch_delay_us(SETTLE_US);
}

static void try_pci_reset(void)
{
	log_info("host: reset through port 0xcf9");
	log_flush();
	outb(PCI_RESET_PORT, PCI_RESET_SYS);
	outb(PCI_RESET_PORT, PCI_RESET_SYS | PCI_RESET_CPU);
	arch_delay_us(SETTLE_US);
}

static void try_kbc_reset(void)
{
	unsigned i;

	log_info("host: reset through the keyboard controller");
	log_flush();
	for (i = 0; i < 1000 && (inb(KBC_COMMAND_PORT) & KBC_STATUS_INPUT_FULL); i++)
		arch_delay_us(100);
	outb(KBC_COMMAND_PORT, KBC_PULSE_RESET);
	arch_delay_us(SETTLE_US);
}

void host_reset(void)
{
	struct acpi_power pw;

	if (acpi_read_power(&pw) == 0)
		try_acpi_reset(&pw);
	try_pci_reset();
	try_kbc_reset();
	log_error("host: still running after every reset path; halted (reset or power-cycle the machine)");
	log_flush();
	arch_halt();
}

/* Into ACPI mode if the firmware left the machine in legacy mode (SCI_EN clear). */
static void enter_acpi_mode(const struct acpi_power *pw)
{
	unsigned i;

	if ((inw(pw->pm1a_cnt) & PM1_SCI_EN) || !pw->smi_cmd || !pw->acpi_enable)
		return;
	outb(pw->smi_cmd, pw->acpi_enable);
	for (i = 0; i < 300 && !(inw(pw->pm1a_cnt) & PM1_SCI_EN); i++)
		arch_delay_us(10000);
}

static void write_sleep(uint16_t port, uint8_t typ)
{
	uint16_t v = (uint16_t)(inw(port) & ~(7u << PM1_SLP_TYP_SHIFT));

	outw(port, (uint16_t)(v | (uint16_t)((typ & 7u) << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN));
}

const char *host_poweroff(void)
{
	struct acpi_power pw;

	if (acpi_read_power(&pw))
		return "the host has no valid ACPI FADT";
	if (!pw.pm1a_cnt)
		return "the host's FADT has no PM1a control block";
	if (!pw.s5_found)
		return "no \\_S5 package found in the host's DSDT";
	log_info("host: powering off (S5: SLP_TYP %u to PM1a control at port 0x%x)", pw.s5_typ_a, pw.pm1a_cnt);
	log_flush();
	enter_acpi_mode(&pw);
	write_sleep(pw.pm1a_cnt, pw.s5_typ_a);
	if (pw.pm1b_cnt)
		write_sleep(pw.pm1b_cnt, pw.s5_typ_b);
	arch_delay_us(2 * SETTLE_US);
	return "the machine is still on a second after SLP_EN";
}
