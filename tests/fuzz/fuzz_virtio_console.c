/* libFuzzer target: a guest driving a virtio-console device
 * (hv/vdev/virtio_console.c) through its PCI transport at will: common
 * configuration reads and writes, device configuration reads, notifications,
 * its RAM (rings, descriptors, buffers) rewritten between them, MSI-X table
 * and PCI configuration writes, resets and partition restarts, and bytes the
 * operator types. Each 8 bytes of input are one step. ASan watches every
 * access to the partition's RAM, a heap block of its own size.
 *
 * Around each step that lets the device at the rings (a notification,
 * typed bytes) a model predicts the outcome on a copy of RAM, changed as
 * the device is to change it: which chains it takes (those made available,
 * in ring order, until the ring is empty, inconsistent or the device's
 * budget is spent), each walked as virtio 1.2 2.7.5 describes; the bytes
 * the console stream gets (exactly those of the chains sent, as they were
 * when sent), the typed bytes written in order into the device-writable
 * buffers of well-formed receive chains, each chain's used entry and
 * length, avail_event (2.7.10). After the step all of RAM must equal the
 * copy (no write anywhere else, used entries only for chains made
 * available, a guest's buffer over its own rings included), and
 * DEVICE_NEEDS_RESET be set exactly when the ring turned inconsistent;
 * whatever the step, every chain taken is given back, no lock stays held. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/le.h"
#include "partition.h"
#include "vdev/platform.h"
#include "vdev/virtio_console.h"

#define RAM (16u << 10) /* buffers may overlap, so chains still reach VIRTIO_CONSOLE_CHAIN_MAX */
#define RXQ 0
#define TXQ 1
#define QMAX VIRTIO_CONSOLE_QUEUE_SIZE
#define TX_BUDGET (2 * QMAX) /* chains a notification takes at most (virtio_console.c) */
#define RX_BUDGET QMAX       /* chains one call of virtio_console_receive() fills at most */
#define TYPED_MAX 1024
#define RING(q) (0x1000u + 0x1000u * (q)) /* queue q's table; its available ring at +0x400, used at +0x600 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cfg_partition cfg = { .name = "fuzz", .virtio_console = 1 };
static struct partition part;
static struct virtio_console *con = &part.vconsole;
static uint8_t *ram;

int irq_deliver(struct partition *p, const struct irq_msg *m)
{
	(void)m;
	return p == &part ? 0 : -1;
}

/* ---- the model: a copy of RAM, changed as the device is to change it */

struct range {
	uint64_t at, len; /* in RAM */
};

static uint8_t shadow[RAM];
/* What the console stream is to get: each chain's bytes as the device is to find them. */
static uint8_t sent[TX_BUDGET * VIRTIO_CONSOLE_CHAIN_MAX];
static uint64_t sent_bytes, streamed;

struct chain {
	struct range buf[VIRTIO_CONSOLE_SEGS];
	unsigned n;
	int readable, writable; /* of its non-empty buffers */
};

struct prediction {
	uint16_t last, used; /* the queue's next available entry to take and next used one to fill */
	int broken;          /* the ring was inconsistent after the chains taken */
	size_t put;          /* typed bytes taken */
	int wrote;           /* a chain sent held bytes */
};

static int in_ram(uint64_t gpa, uint64_t len)
{
	return len && gpa < RAM && len <= RAM - gpa;
}

static int negotiated(uint64_t feature)
{
	return (con->v.features & feature) != 0;
}

/* A descriptor's buffer onto c; 0 if the chain is malformed (2.7.4.2: readable ones first). */
static int add_buffer(struct chain *c, const uint8_t *d)
{
	uint64_t addr = le64(d);
	uint32_t len = le32(d + 8);
	int write = (le16(d + 12) & VIRTQ_DESC_F_WRITE) != 0;

	if (!len)
		return 1; /* nothing to move: left out (virtqueue.h) */
	if (!in_ram(addr, len) || c->n == VIRTIO_CONSOLE_SEGS || (c->writable && !write))
		return 0;
	c->buf[c->n++] = (struct range){ addr, len };
	c->readable |= !write;
	c->writable |= write;
	return 1;
}

static int follow(const struct virtio_queue *q, struct chain *c, uint64_t table, unsigned entries, unsigned i,
		  int top);

/* 2.7.5.3: an indirect table, negotiated, alone, whole entries, no more than the queue's, in RAM. */
static int indirect(const struct virtio_queue *q, struct chain *c, const uint8_t *d)
{
	uint64_t addr = le64(d);
	uint32_t len = le32(d + 8);

	if (!negotiated(VIRTIO_F_INDIRECT_DESC) || (le16(d + 12) & VIRTQ_DESC_F_NEXT) || !len || len % 16 ||
	    len / 16 > q->size || !in_ram(addr, len))
		return 0;
	return follow(q, c, addr, len / 16, 0, 0);
}

/* The descriptors of table from i, along their next fields; 0 if malformed or a loop. */
static int follow(const struct virtio_queue *q, struct chain *c, uint64_t table, unsigned entries, unsigned i,
		  int top)
{
	unsigned steps;

	for (steps = 0; steps < entries; steps++) {
		const uint8_t *d = shadow + table + 16 * i;
		uint16_t flags = le16(d + 12);

		if (flags & VIRTQ_DESC_F_INDIRECT)
			return top && indirect(q, c, d);
		if (!add_buffer(c, d))
			return 0;
		if (!(flags & VIRTQ_DESC_F_NEXT))
			return 1;
		i = le16(d + 14);
		if (i >= entries)
			return 0;
	}
	return 0;
}

/* Typed bytes into the writable chain c, as far as it goes; how many. */
static size_t fill(const struct chain *c, const uint8_t *typed, size_t n)
{
	size_t put = 0;
	unsigned i;

	for (i = 0; i < c->n && put < n; i++) {
		size_t take = n - put < c->buf[i].len ? n - put : c->buf[i].len;
		memcpy(shadow + c->buf[i].at, typed + put, take);
		put += take;
	}
	return put;
}

/* A chain to send: its bytes for the stream, unless it has a buffer to write or too many bytes. */
static void send(const struct chain *c, struct prediction *p)
{
	uint64_t bytes = 0;
	unsigned i;

	for (i = 0; i < c->n; i++)
		bytes += c->buf[i].len;
	if (c->writable || bytes > VIRTIO_CONSOLE_CHAIN_MAX)
		return;
	for (i = 0; i < c->n; i++) {
		memcpy(sent + sent_bytes, shadow + c->buf[i].at, c->buf[i].len);
		sent_bytes += c->buf[i].len;
	}
	p->wrote |= c->n > 0;
}

/* The chain at head taken: sent (tx) or filled from typed after the p->put taken already; bytes written. */
static uint32_t take_chain(const struct virtio_queue *q, uint16_t head, int tx, const uint8_t *typed, size_t n,
			   struct prediction *p)
{
	struct chain c = { .n = 0 };
	int ok = follow(q, &c, q->desc, q->size, head, 1);

	if (tx && ok)
		send(&c, p);
	return !tx && ok && !c.readable ? (uint32_t)fill(&c, typed + p->put, n - p->put) : 0;
}

/* 2.7.8: the chain at head given back with len bytes written, then the used index. */
static void give_back(const struct virtio_queue *q, struct prediction *p, uint16_t head, uint32_t len)
{
	uint8_t *e = shadow + q->device + 4 + 8 * (p->used % q->size);

	put_le32(e, head);
	put_le32(e + 4, len);
	put_le16(shadow + q->device + 2, ++p->used);
}

/* Nothing more available; with EVENT_IDX the device asks to be told of the next, then looks again (2.7.10). */
static int ring_empty(const struct virtio_queue *q, const struct prediction *p)
{
	if (le16(shadow + q->driver + 2) != p->last)
		return 0;
	if (!negotiated(VIRTIO_F_EVENT_IDX))
		return 1;
	put_le16(shadow + q->device + 4 + 8 * q->size, p->last);
	return le16(shadow + q->driver + 2) == p->last;
}

/* What the device does with queue q when let at it (budget chains at most; typed bytes for receive). */
static void predict(const struct virtio_queue *q, int tx, unsigned budget, const uint8_t *typed, size_t n,
		    struct prediction *p)
{
	uint16_t head;
	uint32_t len;

	while (budget-- && (tx || p->put < n) && !ring_empty(q, p)) {
		head = le16(shadow + q->driver + 4 + 2 * (p->last % q->size));
		if ((uint16_t)(le16(shadow + q->driver + 2) - p->last) > q->size || head >= q->size) {
			p->broken = 1;
			return;
		}
		p->last++;
		len = take_chain(q, head, tx, typed, n, p);
		p->put += len;
		give_back(q, p, head, len);
	}
}

/* Bytes for the console stream: those the model expects, in order. */
void vuart_output(struct vuart *u, const uint8_t *bytes, size_t n)
{
	if (u != &part.uart || n > sent_bytes - streamed || memcmp(bytes, sent + streamed, n))
		abort();
	streamed += n;
}

/* Whatever the step: every chain taken given back at once, no lock held. */
static void check_kept_nothing(void)
{
	unsigned q;

	for (q = 0; q < 2; q++)
		if (con->v.q[q].vq.last_avail != con->v.q[q].vq.used_idx)
			abort();
	if (con->v.lock.locked)
		abort();
}

/* ---- the guest's side */

static int written; /* the model's idea of the device's "sent bytes since its reset" */
static uint32_t resets_seen;

/* Where the guest finds BAR bar (its PCI configuration writes move it, or turn its decoding off: none, 0). */
static uint64_t bar(unsigned index)
{
	const struct vdev_range *held = &con->v.pci.bar[index].held;

	return held->size ? held->first : 0;
}

static void mmio_write(uint64_t gpa, unsigned size, uint64_t value)
{
	vdev_mmio_access(&part, gpa, size, 1, &value);
}

/* A write at offset of BAR index, where it decodes (else the guest has nowhere to write it). */
static void bar_write(unsigned index, uint64_t offset, unsigned size, uint64_t value)
{
	if (bar(index))
		mmio_write(bar(index) + offset, size, value);
}

static void start(void)
{
	struct vq_ram r = { .base = ram, .pa = 0x80000000, .size = RAM };

	memset(ram, 0, RAM);
	/* The device reads only these of its partition, and the bus and the PCI
	 * segment are set up whole below: zeroing the rest of struct partition
	 * (over 170 KiB) at each start is needless work. */
	part.cfg = &cfg;
	part.ram_size = RAM;
	vdev_bus_init(&part.bus);
	if (vpci_init(&part.pci, &part) ||
	    virtio_console_init(con, &part, &r, &part.pci, PLATFORM_PCI_SLOT_CONSOLE, &part.uart) ||
	    vpci_start(&part.pci))
		abort();
	written = 0;
	resets_seen = con->v.resets;
}

/* A driver's bring-up with features f (its choice of INDIRECT_DESC, EVENT_IDX and one not offered), queues of n. */
static void bring_up(uint32_t f, unsigned n)
{
	uint64_t features = (f & 3ull) << 28 | (f & 4 ? 1 : 0);
	unsigned q;

	bar_write(0, VIRTIO_CC_STATUS, 1, 0);
	bar_write(0, VIRTIO_CC_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	bar_write(0, VIRTIO_CC_DRIVER_FEATURE_SELECT, 4, 0);
	bar_write(0, VIRTIO_CC_DRIVER_FEATURE, 4, (uint32_t)features);
	bar_write(0, VIRTIO_CC_DRIVER_FEATURE_SELECT, 4, 1);
	bar_write(0, VIRTIO_CC_DRIVER_FEATURE, 4, 1); /* VERSION_1 */
	bar_write(0, VIRTIO_CC_STATUS, 1, 0x0b);
	for (q = 0; q < 2; q++) {
		bar_write(0, VIRTIO_CC_QUEUE_SELECT, 2, q);
		bar_write(0, VIRTIO_CC_QUEUE_SIZE, 2, n);
		bar_write(0, VIRTIO_CC_QUEUE_DESC, 8, RING(q));
		bar_write(0, VIRTIO_CC_QUEUE_DRIVER, 8, RING(q) + 0x400);
		bar_write(0, VIRTIO_CC_QUEUE_DEVICE, 8, RING(q) + 0x600);
		bar_write(0, VIRTIO_CC_QUEUE_ENABLE, 2, 1);
	}
	bar_write(0, VIRTIO_CC_STATUS, 1, 0x0f);
}

static void note_resets(void)
{
	if (con->v.resets != resets_seen) {
		resets_seen = con->v.resets;
		written = 0;
	}
}

/*
 * A notification of queue q (-1: an offset no queue has) or typed bytes,
 * predicted where the device is live: transmitq0 notified where BAR0
 * decodes, receiveq0 given bytes, while ready with the queue enabled.
 */
static void at_the_rings(int q, int tx, const uint8_t *typed, size_t n, uint64_t notify_offset, unsigned size)
{
	const struct virtio_queue *vq = &con->v.q[q < 0 ? TXQ : q];
	struct prediction p = { vq->vq.last_avail, vq->vq.used_idx, 0, 0, 0 };
	uint8_t status = con->v.status;
	int live = q == (tx ? TXQ : RXQ) && (!tx || bar(0)) && virtio_driver_ready(&con->v) && vq->enabled;
	size_t taken = 0;

	note_resets();
	memcpy(shadow, ram, RAM);
	sent_bytes = streamed = 0;
	if (live)
		predict(vq, tx, tx ? TX_BUDGET : RX_BUDGET, typed, n, &p);
	if (tx)
		bar_write(0, notify_offset, size, 0);
	else
		taken = virtio_console_receive(con, (const char *)typed, n);
	check_kept_nothing();
	if (streamed != sent_bytes || taken != p.put || memcmp(ram, shadow, RAM) || vq->vq.last_avail != p.last ||
	    vq->vq.used_idx != p.used || con->v.status != (p.broken ? (status | VIRTIO_STATUS_NEEDS_RESET) : status))
		abort();
	written |= p.wrote;
}

/* The operator's console reads the guest's input from it only once the guest wrote through it. */
static void check_in_use(void)
{
	int expected;

	note_resets();
	expected = virtio_driver_ready(&con->v) && con->v.q[RXQ].enabled && written;
	if (virtio_console_in_use(con) != expected)
		abort();
}

/* Bytes the operator typed: n of a pattern that tells their positions apart. */
static void type(uint8_t first, uint8_t stride, size_t n)
{
	static uint8_t typed[TYPED_MAX];
	size_t i;

	for (i = 0; i < n; i++)
		typed[i] = (uint8_t)(first + i * (stride | 1u));
	at_the_rings(RXQ, 0, typed, n, 0, 0);
}

static void notify(uint64_t at, unsigned size)
{
	int q = at % VIRTIO_NOTIFY_MULTIPLIER ? -1 : (int)(at / VIRTIO_NOTIFY_MULTIPLIER);

	at_the_rings(q, 1, 0, 0, VIRTIO_NOTIFY + at, size);
}

/* Device configuration reads: none of its fields offered, it reads as zeroes. */
static void read_bar(uint64_t at, unsigned size)
{
	uint64_t value = ~0ull;

	if (!bar(0))
		return;
	vdev_mmio_access(&part, bar(0) + at, size, 0, &value);
	if (at >= VIRTIO_DEVICE_CFG && at < VIRTIO_NOTIFY && value)
		abort();
}

/* A descriptor of queue q written as a driver would: in RAM, a chain's flags and next. */
static void write_desc(const uint8_t *s)
{
	uint8_t *d = ram + RING(s[1] & 1) + 16 * ((s[1] >> 1) % QMAX);

	put_le64(d, le16(s + 2) % RAM);
	put_le32(d + 8, (uint32_t)(s[4] | (s[5] & 0x7f) << 8));
	put_le16(d + 12, s[6] & 7);
	put_le16(d + 14, s[7] % QMAX);
}

/* Chain head made available on queue q (its available index one on). */
static void make_available(unsigned q, uint16_t head)
{
	uint8_t *avail = ram + RING(q) + 0x400;
	uint16_t idx = le16(avail + 2), n = con->v.q[q].size ? con->v.q[q].size : 1;

	put_le16(avail + 4 + 2 * (idx % n), head);
	put_le16(avail + 2, (uint16_t)(idx + 1));
}

static const unsigned sizes[] = { 1, 2, 4, 8 };

/* One step of 8 bytes: what (low nibble) and an access size (bits 5:4), an offset (bytes 1-2), a value (3-6). */
static void step(const uint8_t *s)
{
	unsigned size = sizes[(s[0] >> 4) & 3];
	uint16_t at = le16(s + 1);
	uint32_t v = le32(s + 3);

	switch (s[0] & 15) {
	case 0: bar_write(0, at % VIRTIO_CC_SIZE, size, v); break;                 /* common configuration */
	case 1: read_bar(at % VIRTIO_BAR_SIZE, size); break;                       /* any read, the ISR's too */
	case 2: notify(at % 8, size); break;
	case 3: put_le32(ram + (at * 4u) % RAM, v); break;                         /* the guest's memory */
	case 4: put_le16(ram + 0x1000 + (at * 2u) % 0x2000, (uint16_t)v); break;   /* its rings, mostly */
	case 5: bring_up(v, 1u << (s[7] % 7)); break;
	case 6: type(s[3], s[4], at % TYPED_MAX); break;
	case 7: bar_write(1, at % PCI_MSIX_BAR_SIZE, 4, v); break;                 /* MSI-X table */
	case 8: mmio_write(PLATFORM_ECAM_BASE + (PLATFORM_PCI_SLOT_CONSOLE << 15) + at % 0x100, size, v); break;
	case 9: check_in_use(); break;
	case 10: start(); break;
	case 11: make_available(s[1] & 1, s[2]); break;
	case 12: bar_write(0, VIRTIO_CC_STATUS, 1, 0); break;                     /* the device reset */
	default: write_desc(s); break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ram)
		ram = malloc(RAM); /* no slack around it: ASan reports a byte past either end */
	start();
	for (; size >= 8; data += 8, size -= 8)
		step(data);
	return 0;
}
