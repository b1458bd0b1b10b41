/*
 * A 16550A (National Semiconductor PC16550D datasheet) as a PC's COM1:
 * the divisor latch, line control, a receive FIFO with its trigger level,
 * interrupts (receive data or character timeout, THR empty, line and
 * modem status) on IRQ 4 gated by MCR OUT2 as on a PC, loopback with the
 * modem lines looped to the modem status register. Bytes leave at once,
 * so the transmitter is always empty. vCPUs on several CPUs and the
 * console reach it at once: its lock covers every register access, and
 * the IRQ line changes under it (uart -> I/O APIC -> local APIC order).
 */
#include "uart.h"

#include "irq.h"
#include "log.h"

enum { THR_DLL, IER_DLM, IIR_FCR, LCR, MCR, LSR, MSR, SCR };

#define LCR_DLAB 0x80
#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* THR empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI 0x08  /* modem status */
#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFOS 0xc0
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08 /* gates the interrupt line on a PC */
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THR_EMPTY 0x60 /* THRE and TEMT */
#define MSR_CABLE 0xb0     /* DCD, DSR, CTS: a terminal is there */

void vuart_init(struct vuart *u, struct partition *part, const char *owner, char *out, uint64_t out_size)
{
	*u = (struct vuart){ .part = part, .owner = owner, .out = out, .out_size = out ? out_size : 0,
			     .budget = { .owner = owner } };
}

/* ---- output */

static void flush_line(struct vuart *u)
{
	if (u->len == 0)
		return;
	u->line[u->len] = 0;
	log_guest(&u->budget, !u->attached, "[%s] %s", u->owner, u->line);
	u->len = 0;
}

static void add_to_line(struct vuart *u, uint8_t c)
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

/* ---- receive FIFO */

static void push_rx(struct vuart *u, uint8_t c)
{
	if (u->rx_count == VUART_RX_FIFO) {
		u->overrun = 1; /* the byte is lost, as on the chip */
		return;
	}
	u->rx[(u->rx_head + u->rx_count++) % VUART_RX_FIFO] = c;
}

static uint8_t pop_rx(struct vuart *u)
{
	uint8_t c;

	if (u->rx_count == 0)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % VUART_RX_FIFO;
	u->rx_count--;
	return c;
}

/* FCR bits 7:6: 1, 4, 8 or 14 bytes; without the FIFO, every byte. */
static unsigned rx_trigger(const struct vuart *u)
{
	static const unsigned level[] = { 1, 4, 8, 14 };

	return u->fcr & FCR_ENABLE ? level[u->fcr >> 6] : 1;
}

/* ---- interrupts */

/* The modem lines as the MSR shows them: looped back from the MCR in loopback mode. */
static uint8_t modem_lines(const struct vuart *u)
{
	uint8_t m = u->mcr;

	if (!(m & MCR_LOOP))
		return MSR_CABLE;
	return (uint8_t)(((m & MCR_RTS) << 3) | ((m & MCR_DTR) << 5) | ((m & MCR_OUT1) << 4) | ((m & MCR_OUT2) << 4));
}

/* The highest-priority interrupt pending, as IIR bits 3:0 show it (datasheet, Table IV). */
static uint8_t pending(const struct vuart *u)
{
	if ((u->ier & IER_RLSI) && u->overrun)
		return IIR_RLSI;
	if ((u->ier & IER_RDI) && u->rx_count)
		/* Below the trigger level the character timeout is due at once: input comes in bursts. */
		return u->rx_count >= rx_trigger(u) ? IIR_RDI : IIR_TIMEOUT;
	if ((u->ier & IER_THRI) && u->thre_pending)
		return IIR_THRI;
	if ((u->ier & IER_MSI) && u->msr_delta)
		return IIR_MSI;
	return IIR_NONE;
}

/* With the lock held: IRQ 4 follows the pending interrupts, through OUT2 (in loopback, never). */
static void update_line(struct vuart *u)
{
	int level = pending(u) != IIR_NONE && (u->mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2;

	if (level == u->line_level)
		return;
	u->line_level = level;
	if (u->part)
		irq_set_isa(u->part, VUART_IRQ, level);
}

void vuart_reset(struct vuart *u)
{
	spin_lock(&u->lock);
	u->lcr = u->ier = u->mcr = u->scr = u->dll = u->dlm = u->fcr = u->msr_delta = 0;
	u->overrun = u->thre_pending = 0;
	u->rx_head = u->rx_count = u->len = 0;
	update_line(u); /* low, as at power-on */
	spin_unlock(&u->lock);
}

/* ---- registers */

/* A byte onto the partition's console stream: the ring an attach shows, the log's lines. */
static void put_output(struct vuart *u, uint8_t c)
{
	if (u->out_size)
		u->out[u->out_head % u->out_size] = (char)c;
	u->out_head++;
	add_to_line(u, c);
}

static void transmit(struct vuart *u, uint8_t c)
{
	u->thre_pending = 1; /* the byte leaves at once: THR is empty again */
	if (u->mcr & MCR_LOOP)
		push_rx(u, c);
	else
		put_output(u, c);
}

void vuart_output(struct vuart *u, const uint8_t *bytes, size_t n)
{
	size_t i;

	spin_lock(&u->lock);
	for (i = 0; i < n; i++)
		put_output(u, bytes[i]);
	spin_unlock(&u->lock);
}

static uint8_t read_iir(struct vuart *u)
{
	uint8_t iir = pending(u);

	if (iir == IIR_THRI)
		u->thre_pending = 0; /* reading IIR with THRE its source clears it */
	return (uint8_t)(iir | (u->fcr & FCR_ENABLE ? IIR_FIFOS : 0));
}

static uint8_t read_lsr(struct vuart *u)
{
	uint8_t lsr = (uint8_t)(LSR_THR_EMPTY | (u->rx_count ? LSR_DR : 0) | (u->overrun ? LSR_OE : 0));

	u->overrun = 0;
	return lsr;
}

static uint8_t read_msr(struct vuart *u)
{
	uint8_t msr = (uint8_t)(modem_lines(u) | u->msr_delta);

	u->msr_delta = 0;
	return msr;
}

static uint8_t read_reg(struct vuart *u, unsigned offset)
{
	int dlab = u->lcr & LCR_DLAB;

	switch (offset) {
	case THR_DLL: return dlab ? u->dll : pop_rx(u);
	case IER_DLM: return dlab ? u->dlm : u->ier;
	case IIR_FCR: return read_iir(u);
	case LCR: return u->lcr;
	case MCR: return u->mcr;
	case LSR: return read_lsr(u);
	case MSR: return read_msr(u);
	default: return u->scr;
	}
}

/* A change of the looped-back lines shows in the MSR's delta bits: DCTS, DDSR, TERI (falling), DDCD. */
static void write_mcr(struct vuart *u, uint8_t v)
{
	uint8_t before = modem_lines(u), after, changed;

	u->mcr = v & 0x1f;
	after = modem_lines(u);
	changed = before ^ after;
	u->msr_delta |= (uint8_t)(((changed >> 4) & 0x0b) | ((before & ~after & 0x40) >> 4));
}

static void write_fcr(struct vuart *u, uint8_t v)
{
	if (v & FCR_CLEAR_RX)
		u->rx_count = 0;
	u->fcr = v & 0xc1; /* enable and trigger level; the clear bits do not stay */
}

static void write_ier(struct vuart *u, uint8_t v)
{
	/* Enabling the THRE interrupt with THR empty raises it, as the chip does. */
	if ((v & IER_THRI) && !(u->ier & IER_THRI))
		u->thre_pending = 1;
	u->ier = v & 0x0f;
}

/* Inlined, so that a byte's write (bus_write) makes no call of its own. */
static inline __attribute__((always_inline)) void write_reg(struct vuart *u, unsigned offset, uint8_t v)
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
			write_ier(u, v);
		break;
	case IIR_FCR: write_fcr(u, v); break;
	case LCR: u->lcr = v; break;
	case MCR: write_mcr(u, v); break;
	case SCR: u->scr = v; break;
	default: break; /* LSR, MSR: read-only */
	}
}

void vuart_view(struct vuart *u, struct vuart_view *w)
{
	spin_lock(&u->lock);
	*w = (struct vuart_view){ u->ier, pending(u), u->mcr, u->line_level, u->rx_count };
	spin_unlock(&u->lock);
}

void vuart_flush(struct vuart *u)
{
	spin_lock(&u->lock);
	flush_line(u);
	spin_unlock(&u->lock);
}

size_t vuart_receive(struct vuart *u, const char *bytes, size_t n)
{
	size_t taken;

	spin_lock(&u->lock);
	for (taken = 0; taken < n && u->rx_count < VUART_RX_FIFO; taken++)
		push_rx(u, (uint8_t)bytes[taken]);
	update_line(u);
	spin_unlock(&u->lock);
	return taken;
}

/* With the lock held: the first byte its ring still holds. */
static uint64_t oldest_output(const struct vuart *u)
{
	return u->out_head > u->out_size ? u->out_head - u->out_size : 0;
}

uint64_t vuart_output_start(struct vuart *u)
{
	uint64_t oldest;

	spin_lock(&u->lock);
	oldest = oldest_output(u);
	spin_unlock(&u->lock);
	return oldest;
}

size_t vuart_read_output(struct vuart *u, uint64_t *cursor, char *buf, size_t size)
{
	size_t n = 0;

	spin_lock(&u->lock);
	if (*cursor < oldest_output(u)) {
		u->out_missed += oldest_output(u) - *cursor;
		*cursor = oldest_output(u);
	}
	while (*cursor < u->out_head && n < size)
		buf[n++] = u->out[(*cursor)++ % u->out_size];
	spin_unlock(&u->lock);
	return n;
}

void vuart_attach(struct vuart *u, int attached)
{
	spin_lock(&u->lock);
	u->attached = attached;
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
	update_line(u);
	spin_unlock(&u->lock);
}

/* With the lock held: a wider access, out of line, so that a byte's (what guests write) needs no loop's frame. */
static __attribute__((noinline)) void write_regs(struct vuart *u, unsigned offset, unsigned size, uint64_t value)
{
	unsigned i;

	for (i = 0; i < size; i++)
		write_reg(u, offset + i, (uint8_t)(value >> (8 * i)));
}

static void bus_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct vuart *u = dev;

	spin_lock(&u->lock);
	if (size == 1)
		write_reg(u, (unsigned)offset, (uint8_t)value);
	else
		write_regs(u, (unsigned)offset, size, value);
	if (offset != SCR) /* the scratch register alone moves no interrupt */
		update_line(u);
	spin_unlock(&u->lock);
}

const struct vdev_ops vuart_ops = { .read = bus_read, .write = bus_write };
