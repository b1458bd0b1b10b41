/* 16550 UART: the management console's wire. */
#ifndef DRIVERS_UART16550_H
#define DRIVERS_UART16550_H

#include <stddef.h>
#include <stdint.h>

#include "lib/byte_ring.h"

struct uart {
	int mmio;           /* registers at a physical address, else I/O ports */
	uint64_t base;
	unsigned reg_shift; /* MMIO register stride: 1 << reg_shift bytes */
	int present;        /* the scratch register answered */
	int tx_stalled;     /* THRE stayed clear too long: bytes are dropped, not waited for, until it shows */
	int cr_sent;        /* uart_try_write sent the CR of a newline whose LF waits */
	unsigned tx_fifo;   /* bytes one THRE makes room for: the transmit FIFO's depth, 1 without FIFOs */
	unsigned tx_room;   /* of those, not written yet */
	struct byte_ring rx; /* received, not read yet: the FIFO drained here at each interrupt or read */
	uint64_t rx_overruns; /* times the UART's own FIFO overflowed (LSR OE): bytes lost before the ring */
};

/* Programs 8N1 at baud; leaves present = 0 when nothing answers at base. */
void uart_init(struct uart *u, int mmio, uint64_t base, unsigned reg_shift, uint32_t baud);
/*
 * Waits for the line before each byte, a stalled one's bytes dropped; returns the bytes of text sent.
 * take_rx: the caller is the receive ring's one writer (the CPU its interrupt goes to, interrupts off),
 * which drains the receiver meanwhile.
 */
size_t uart_write(struct uart *u, const char *text, size_t len, int take_rx);
/* What the UART takes now without waiting (each newline sent as CR LF); returns the bytes of text taken. */
size_t uart_try_write(struct uart *u, const char *text, size_t len);
/* Next received byte, or -1 when none is waiting. */
int uart_read(struct uart *u);
/* The bytes received and not read yet. */
size_t uart_rx_waiting(struct uart *u);
/* Whether byte is among them. */
int uart_rx_holds(struct uart *u, uint8_t byte);
/*
 * The UART interrupts when received data waits and on a line error; the line asserts on a PC's
 * interrupt controller only with OUT2 set.
 */
void uart_enable_rx_interrupts(struct uart *u);
/* The interrupt's work: the receive FIFO drained into the ring, which clears the UART's interrupt. */
void uart_rx_interrupt(struct uart *u);

#endif
