/*
 * A partition's 16550A at 0x3F8 (COM1), interrupts on ISA IRQ 4. What the
 * guest transmits is kept raw in a ring (for the operator's `console`
 * attach: its recent output first, then live) and logged a line at a
 * time, shown on the console while nobody is attached to it. What the
 * operator types while attached arrives through its receive FIFO. Its
 * output ring and lines are the partition's console stream, which a
 * virtio-console of the partition feeds too (vuart_output()).
 */
#ifndef HV_VDEV_UART_H
#define HV_VDEV_UART_H

#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "log.h"
#include "lib/spinlock.h"

#define VUART_BASE 0x3f8
#define VUART_PORTS 8
#define VUART_IRQ 4
#define VUART_LINE_MAX 160
#define VUART_RX_FIFO 64         /* deeper than the chip's 16: the console's input comes in bursts */

struct partition;

struct vuart {
	struct spinlock lock; /* of all below: vCPUs of one partition run on several CPUs */
	struct partition *part; /* whose IRQ line it drives; NULL in unit tests of the model */
	const char *owner;   /* partition name, put before each line */
	struct log_budget budget; /* its share of the console's line */
	uint8_t lcr, ier, mcr, scr, dll, dlm, fcr;
	uint8_t msr_delta;   /* MSR bits 3:0, set by changes seen in loopback, cleared by reading MSR */
	int overrun;         /* a byte came to a full FIFO: LSR bit 1 until LSR is read */
	int thre_pending;    /* the THR-empty interrupt, until IIR shows it or THR is written */
	int line_level;      /* what IRQ 4 was last set to */
	unsigned rx_head, rx_count;
	uint8_t rx[VUART_RX_FIFO];
	unsigned len;
	char line[VUART_LINE_MAX];
	volatile int attached; /* the operator sees its raw output: its lines are logged, not shown */
	uint64_t out_head;     /* bytes ever transmitted; out[head % out_size] is next */
	char *out;             /* the output an attach shows first (the partition's console_buffer) */
	uint64_t out_size;     /* 0: none kept */
	uint64_t out_missed;   /* bytes a reader of out lost: overwritten before it took them */
};

/*
 * Once, for the partition's life: out (out_size bytes, kept by the caller)
 * keeps its raw output, across its runs.
 */
void vuart_init(struct vuart *u, struct partition *part, const char *owner, char *out, uint64_t out_size);
/*
 * As at power-on, at each start of its partition: the registers and the
 * receive FIFO. The output kept and an operator's attach stay, as on a
 * serial line: the previous run's last lines (why it stopped), then the
 * new run's.
 */
void vuart_reset(struct vuart *u);
/* Its registers, for a claim of VUART_PORTS ports from VUART_BASE (dev: the struct vuart). */
extern const struct vdev_ops vuart_ops;
/*
 * Bytes for the partition's console stream from another of its consoles
 * (virtio-console): kept and logged as the UART's own output, which they
 * join.
 */
void vuart_output(struct vuart *u, const uint8_t *bytes, size_t n);
/* Shows a partial line (when the partition stops). */
void vuart_flush(struct vuart *u);

/* Its interrupt side now, for the operator's 'info'. */
struct vuart_view {
	uint8_t ier, iir, mcr;
	int line; /* IRQ 4 as it drives it */
	unsigned rx_count;
};
void vuart_view(struct vuart *u, struct vuart_view *w);

/* Bytes typed for the guest: as many as its FIFO takes (the rest is an overrun, as on the chip). */
size_t vuart_receive(struct vuart *u, const char *bytes, size_t n);

/* Where a new reader of its raw output starts: the oldest byte kept. */
uint64_t vuart_output_start(struct vuart *u);

/*
 * Raw output from *cursor (a count of bytes ever transmitted), at most size
 * bytes; a reader that fell more than the ring behind (an attached
 * terminal slower than the guest) resumes at its oldest byte, the bytes
 * it lost counted in out_missed. Returns the bytes copied.
 */
size_t vuart_read_output(struct vuart *u, uint64_t *cursor, char *buf, size_t size);

/* While attached, the partition's lines are not logged: the operator sees them raw. */
void vuart_attach(struct vuart *u, int attached);

#endif
