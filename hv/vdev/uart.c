/*
 * Enough of a 16550 for a guest's console: transmit, the divisor latch,
 * the scratch register, and a line status that always reads "transmitter
 * empty" (bytes leave at once). Nothing is received yet; no interrupts.
 * It claims VUART_BASE..+7 on the partition's bus; vCPUs on several CPUs
 * reach it at once, so its lock covers every register access.
 */
#include "uart.h"

#include "log.h"

enum { THR_DLL, IER_DLM, IIR_FCR, LCR, MCR, LSR, MSR, SCR };

#define LCR_DLAB 0x80
#define LSR_THR_EMPTY 0x60 /* THRE and TEMT */
#define IIR_NO_INTERRUPT 0x01

void vuart_init(struct vuart *u, const char *owner)
{
	*u = (struct vuart){ .owner = owner };
}

static void flush_line(struct vuart *u)
{
	if (u->len == 0)
		return;
	u->line[u->len] = 0;
	log_info("[%s] %s", u->owner, u->line);
	u->len = 0;
}

static void transmit(struct vuart *u, uint8_t c)
{
	if (c == '\n') {
		flush_line(u);
		return;
	}
	if (c == '\r')
		return;
	/* Control bytes from a guest must not drive the operator's terminal. */
	u->line[u->len++] = (c >= 0x20 && c < 0x7f) || c == '\t' ? (char)c : '?';
	if (u->len == VUART_LINE_MAX - 1)
		flush_line(u);
}

static uint8_t read_reg(const struct vuart *u, unsigned offset)
{
	int dlab = u->lcr & LCR_DLAB;

	switch (offset) {
	case THR_DLL: return dlab ? u->dll : 0; /* nothing received */
	case IER_DLM: return dlab ? u->dlm : u->ier;
	case IIR_FCR: return IIR_NO_INTERRUPT;
	case LCR: return u->lcr;
	case MCR: return u->mcr;
	case LSR: return LSR_THR_EMPTY;
	case MSR: return 0xb0; /* DCD, DSR, CTS: a cable is there */
	default: return u->scr;
	}
}

static void write_reg(struct vuart *u, unsigned offset, uint8_t v)
{
	int dlab = u->lcr & LCR_DLAB;

	switch (offset) {
	case THR_DLL:
		if (dlab)
			u->dll = v;
		else
			transmit(u, v);
		break;
	case IER_DLM:
		if (dlab)
			u->dlm = v;
		else
			u->ier = v & 0x0f;
		break;
	case LCR: u->lcr = v; break;
	case MCR: u->mcr = v & 0x1f; break;
	case SCR: u->scr = v; break;
	default: break; /* FCR, LSR, MSR: nothing to keep */
	}
}

void vuart_flush(struct vuart *u)
{
	spin_lock(&u->lock);
	flush_line(u);
	spin_unlock(&u->lock);
}

/*
 * An 8-bit device: a wider access reaches consecutive registers, the low
 * byte first, as an ISA bus splits the cycle.
 */
static void bus_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	struct vuart *u = dev;
	unsigned i;

	*value = 0;
	spin_lock(&u->lock);
	for (i = 0; i < size; i++)
		*value |= (uint64_t)read_reg(u, (unsigned)offset + i) << (8 * i);
	spin_unlock(&u->lock);
}

static void bus_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct vuart *u = dev;
	unsigned i;

	spin_lock(&u->lock);
	for (i = 0; i < size; i++)
		write_reg(u, (unsigned)offset + i, (uint8_t)(value >> (8 * i)));
	spin_unlock(&u->lock);
}

const struct vdev_ops vuart_ops = { .read = bus_read, .write = bus_write };
