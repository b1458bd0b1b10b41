/*
 * mode=echo: the partition's UART with interrupts, as a guest's serial
 * driver uses it. Its receive interrupt (IRQ 4) goes through the I/O
 * APIC to the local APIC; each line typed comes back as "ECHO <line>"
 * (a line longer than 127 bytes cut there, then "ECHO (N bytes, sum S)":
 * its length and the sum of its bytes, to check a long paste arrived whole),
 * and "quit" ends the partition with status 0.
 */
#include <stdint.h>

#include "hypercall.h"
#include "lib/str.h"
#include "selftest.h"

#define UART 0x3f8
#define UART_IER 1
#define UART_FCR 2
#define UART_MCR 4
#define UART_LSR 5
#define LSR_DR 0x01
#define MCR_DTR_RTS_OUT2 0x0b
#define FCR_FIFO_TRIGGER_8 0x81
#define IOAPIC_REDIRECTION(pin) (0x10 + 2 * (pin))
#define UART_IRQ 4
#define APIC_SVR 0xfee000f0ull
#define APIC_EOI 0xfee000b0ull

static char line[128];
static volatile unsigned line_len;
static volatile uint32_t line_bytes, line_sum; /* the whole line's, kept or not */
static volatile int line_done;

static void ioapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + IOAPIC_WINDOW, v);
}

void echo_interrupt(void)
{
	while (inb(UART + UART_LSR) & LSR_DR) {
		char c = (char)inb(UART);
		if (line_done)
			continue; /* the main loop has not printed the last line yet */
		if (c == '\r' || c == '\n') {
			line_done = line_len > 0;
			continue;
		}
		line_bytes++;
		line_sum += (uint8_t)c;
		if (line_len < sizeof(line) - 1)
			line[line_len++] = c;
	}
	mmio_write32(APIC_EOI, 0);
}

void echo(void)
{
	mmio_write32(APIC_SVR, 0x1ff); /* the local APIC software-enabled */
	ioapic_write(IOAPIC_REDIRECTION(UART_IRQ) + 1, 0); /* to APIC ID 0 */
	ioapic_write(IOAPIC_REDIRECTION(UART_IRQ), ECHO_VECTOR); /* fixed, physical, edge, high, unmasked */
	outb(UART + UART_FCR, FCR_FIFO_TRIGGER_8);
	outb(UART + UART_MCR, MCR_DTR_RTS_OUT2);
	outb(UART + UART_IER, 1); /* received data */
	print("ECHO ready\n");
	for (;;) {
		__asm__ volatile("sti; hlt; cli");
		if (!line_done)
			continue;
		line[line_len] = 0;
		print("ECHO %s\n", line);
		if (line_bytes > line_len)
			print("ECHO (%u bytes, sum %u)\n", line_bytes, line_sum);
		if (str_eq(line, "quit"))
			hypercall_exit(0);
		line_len = line_bytes = line_sum = 0;
		line_done = 0;
	}
}
