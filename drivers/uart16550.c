#include "uart16550.h"

#include "cpu.h"

enum { RBR_THR_DLL = 0, IER_DLM = 1, FCR_IIR = 2, LCR = 3, MCR = 4, LSR = 5, SCR = 7 };

#define LCR_8N1 0x03
#define LCR_DLAB 0x80
#define LSR_DATA_READY 0x01
#define LSR_OVERRUN 0x02
#define IER_RX_DATA 0x01
#define IER_LINE_STATUS 0x04
#define FCR_ENABLE_CLEAR_TRIGGER_1 0x07 /* FIFOs on and emptied; the data interrupt at the first byte */
#define MCR_DTR_RTS 0x03
#define MCR_OUT2 0x08
#define LSR_THR_EMPTY 0x20
#define IIR_FIFOS_ON 0xc0 /* both bits set: a 16550A whose FIFOs work (16550D data sheet, Table IV) */
#define TX_FIFO_DEPTH 16
#define RX_DRAIN_MAX 32 /* the FIFO's 16 and what comes meanwhile: a receiver that never empties must not hold the CPU */
#define UART_CLOCK_DIV 115200 /* 1.8432 MHz / 16 */
#define THRE_SPINS 1000000    /* ~tens of ms: a stalled transmitter must not hang the log */
#define RX_LOOK_SPINS 64      /* tens of µs between looks at the receiver, whose FIFO fills in 1.4 ms */

static uint8_t reg_read(struct uart *u, unsigned reg)
{
	if (u->mmio)
		return (uint8_t)*(volatile uint32_t *)(uintptr_t)(u->base + ((uint64_t)reg << u->reg_shift));
	return inb((uint16_t)(u->base + reg));
}

static void reg_write(struct uart *u, unsigned reg, uint8_t v)
{
	if (u->mmio)
		*(volatile uint32_t *)(uintptr_t)(u->base + ((uint64_t)reg << u->reg_shift)) = v;
	else
		outb((uint16_t)(u->base + reg), v);
}

void uart_init(struct uart *u, int mmio, uint64_t base, unsigned reg_shift, uint32_t baud)
{
	uint32_t divisor = baud ? UART_CLOCK_DIV / baud : 1;

	u->mmio = mmio;
	u->base = base;
	u->reg_shift = mmio ? reg_shift : 0;
	reg_write(u, SCR, 0x5a);
	u->present = reg_read(u, SCR) == 0x5a;
	if (!u->present)
		return;
	reg_write(u, IER_DLM, 0); /* polled: the console asks, the UART never interrupts */
	reg_write(u, LCR, LCR_DLAB);
	reg_write(u, RBR_THR_DLL, (uint8_t)divisor);
	reg_write(u, IER_DLM, (uint8_t)(divisor >> 8));
	reg_write(u, LCR, LCR_8N1);
	reg_write(u, FCR_IIR, FCR_ENABLE_CLEAR_TRIGGER_1);
	u->tx_fifo = (reg_read(u, FCR_IIR) & IIR_FIFOS_ON) == IIR_FIFOS_ON ? TX_FIFO_DEPTH : 1;
	u->tx_room = 0;
	reg_write(u, MCR, MCR_DTR_RTS);
}

/*
 * Whether the transmitter takes a byte now. In FIFO mode THRE means the
 * whole transmit FIFO is empty (16550D data sheet, LSR bit 5), so one
 * THRE is room for tx_fifo bytes; only this driver fills the FIFO, so
 * the room left since then can only have grown. Writing a byte per THRE
 * instead gave the log's line one byte per turn of the console (Bochs'
 * FIFO takes 16 once THRE shows: iodev/serial.cc, bx_serial_c::write,
 * BX_SER_THR): a hundredth of its speed while CPU 0 runs guests.
 */
static int tx_ready(struct uart *u)
{
	if (!u->tx_room && (reg_read(u, LSR) & LSR_THR_EMPTY))
		u->tx_room = u->tx_fifo;
	return u->tx_room != 0;
}

static void tx_byte(struct uart *u, uint8_t c)
{
	u->tx_room--;
	reg_write(u, RBR_THR_DLL, c);
}

/*
 * Some 16550 models (Bochs' among them) drop a byte written while the
 * transmitter holding register is full, so wait for THRE before each one.
 * A transmitter that stays full THRE_SPINS reads is stalled: its bytes are
 * dropped without waiting until THRE shows again. A stall is not the UART
 * gone: flow control holds THRE clear for as long as the far end does not
 * read (QEMU's does while its chardev is full), and the receiver still
 * works; taking the UART for absent here once left the operator's console
 * deaf for good (the escape from an attach included). With take_rx the
 * receiver is drained into the ring while the byte waits: the caller's
 * interrupts are off, and what is typed during a long write (a 'log' at
 * 115200 baud takes seconds) would overrun the UART's FIFO at its 17th byte.
 */
static int put_byte(struct uart *u, char c, int take_rx)
{
	unsigned spins;

	for (spins = 0; !tx_ready(u); spins++) {
		if (u->tx_stalled || spins == THRE_SPINS) {
			u->tx_stalled = 1;
			return 0;
		}
		if (take_rx && spins % RX_LOOK_SPINS == 0)
			uart_rx_interrupt(u);
		cpu_relax();
	}
	u->tx_stalled = 0;
	tx_byte(u, (uint8_t)c);
	return 1;
}

size_t uart_write(struct uart *u, const char *text, size_t len, int take_rx)
{
	size_t i, sent = 0;

	if (!u->present)
		return len; /* a UART gone quiet takes everything, as uart_try_write does */
	for (i = 0; i < len; i++) {
		if (text[i] == '\n')
			put_byte(u, '\r', take_rx);
		sent += (size_t)put_byte(u, text[i], take_rx);
	}
	return sent;
}

size_t uart_try_write(struct uart *u, const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len && u->present; i++) {
		if (text[i] == '\n' && !u->cr_sent) {
			if (!tx_ready(u))
				return i;
			tx_byte(u, '\r');
			u->cr_sent = 1;
		}
		if (!tx_ready(u))
			return i;
		tx_byte(u, (uint8_t)text[i]);
		u->cr_sent = 0;
		u->tx_stalled = 0; /* it took a byte: the next write waits for it again */
	}
	return u->present ? i : len; /* a UART gone quiet takes everything, as uart_write does */
}

/*
 * Reading LSR clears its error bits and a line-status interrupt; reading
 * RBR until LSR shows no data clears the data interrupt (16550D data
 * sheet, Table IV). The interrupt comes at the first byte, so the whole
 * FIFO (1.4 ms at 115200 baud) is left to fill until CPU 0 takes it,
 * which it does only between its turns: with the trigger at 8 bytes,
 * Bochs' UART overran at the 17th byte of a paste.
 */
void uart_rx_interrupt(struct uart *u)
{
	unsigned n;
	uint8_t lsr;

	for (n = 0; u->present && n < RX_DRAIN_MAX && ((lsr = reg_read(u, LSR)) & (LSR_DATA_READY | LSR_OVERRUN)); n++) {
		if (lsr & LSR_OVERRUN)
			u->rx_overruns++;
		if (lsr & LSR_DATA_READY)
			byte_ring_put(&u->rx, reg_read(u, RBR_THR_DLL));
	}
}

void uart_enable_rx_interrupts(struct uart *u)
{
	if (!u->present)
		return;
	reg_write(u, MCR, MCR_DTR_RTS | MCR_OUT2);
	reg_write(u, IER_DLM, IER_RX_DATA | IER_LINE_STATUS);
}

/* What came since the last interrupt (or all of it, polled) is read first. */
int uart_read(struct uart *u)
{
	uart_rx_interrupt(u);
	return byte_ring_get(&u->rx);
}

size_t uart_rx_waiting(struct uart *u)
{
	uart_rx_interrupt(u);
	return byte_ring_count(&u->rx);
}

int uart_rx_holds(struct uart *u, uint8_t byte)
{
	return byte_ring_holds(&u->rx, byte);
}
