/*
 * The host's I/O APICs (Intel 82093AA I/O APIC datasheet): every pin is
 * masked but the one the hypervisor takes for its console UART, routed to
 * the boot CPU. Registers are reached through IOREGSEL (base + 0x00) and
 * IOWIN (base + 0x10), 3.1; IOAPICVER bits 23:16 hold the highest
 * redirection entry, 3.2.2; entry n is registers 0x10 + 2n (low dword)
 * and 0x11 + 2n (high), 3.2.4.
 */
#include "acpi.h"
#include "arch.h"
#include "lapic.h"

#define IOWIN 0x10
#define IOAPIC_WINDOW_BYTES 0x20
#define REG_VERSION 0x01
#define REG_REDIRECTION(pin) (0x10 + 2 * (pin))
/* Redirection entry bits (3.2.4): fixed delivery and physical destination are 0. */
#define RTE_ACTIVE_LOW (1u << 13)
#define RTE_LEVEL (1u << 15)
#define RTE_MASKED (1u << 16)
#define RTE_DEST_SHIFT 24 /* of the high dword: bits 63:56, an APIC ID in physical mode */
#define XAPIC_ID_MAX 255

static void (*console_handler)(void);

static uint32_t ioapic_read(const struct acpi_ioapic *io, uint32_t reg)
{
	*(volatile uint32_t *)(uintptr_t)io->address = reg;
	return *(volatile uint32_t *)(uintptr_t)(io->address + IOWIN);
}

static void ioapic_write(const struct acpi_ioapic *io, uint32_t reg, uint32_t value)
{
	*(volatile uint32_t *)(uintptr_t)io->address = reg;
	*(volatile uint32_t *)(uintptr_t)(io->address + IOWIN) = value;
}

static uint32_t pins(const struct acpi_ioapic *io)
{
	return (ioapic_read(io, REG_VERSION) >> 16 & 0xff) + 1;
}

int arch_mask_host_irqs(const struct acpi_irq_routing *r)
{
	uint32_t i, pin;

	for (i = 0; i < r->nioapics; i++) {
		const struct acpi_ioapic *io = &r->ioapic[i];
		/* Uncached whatever the MTRRs say: a device's registers. */
		if (!arch_map_device(io->address, IOAPIC_WINDOW_BYTES))
			return -1;
		for (pin = 0; pin < pins(io); pin++)
			ioapic_write(io, REG_REDIRECTION(pin), RTE_MASKED);
	}
	return 0;
}

/* The I/O APIC whose pins carry gsi, and the pin; NULL if none does. */
static const struct acpi_ioapic *ioapic_of(const struct acpi_irq_routing *r, uint32_t gsi, uint32_t *pin)
{
	uint32_t i;

	for (i = 0; i < r->nioapics; i++) {
		const struct acpi_ioapic *io = &r->ioapic[i];
		if (gsi >= io->gsi_base && gsi - io->gsi_base < pins(io)) {
			*pin = gsi - io->gsi_base;
			return io;
		}
	}
	return 0;
}

int arch_route_console_irq(const struct acpi_irq_routing *r, const struct acpi_irq_route *route,
			   void (*handler)(void), const char **why)
{
	uint32_t pin, cpu0 = lapic_id();
	const struct acpi_ioapic *io = ioapic_of(r, route->gsi, &pin);

	if (!io) {
		*why = "no I/O APIC in the MADT has its GSI";
		return -1;
	}
	if (cpu0 > XAPIC_ID_MAX) {
		*why = "the boot CPU's APIC ID does not fit an I/O APIC destination";
		return -1;
	}
	console_handler = handler;
	ioapic_write(io, REG_REDIRECTION(pin) + 1, cpu0 << RTE_DEST_SHIFT);
	ioapic_write(io, REG_REDIRECTION(pin), VEC_CONSOLE | (route->active_low ? RTE_ACTIVE_LOW : 0) |
		     (route->level ? RTE_LEVEL : 0));
	return VEC_CONSOLE;
}

void host_irq_console(void)
{
	if (console_handler)
		console_handler();
}
