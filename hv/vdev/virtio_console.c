/* virtio-console; what a guest and the console see of it is in virtio_console.h. */
#include "virtio_console.h"

#include "partition.h"

#define RXQ 0
#define TXQ 1
/* Device configuration (5.3.4): cols, rows, max_nr_ports, emerg_wr; none of it offered. */
#define CONFIG_SIZE 12
/*
 * Chains one notification takes at most: until the ring is empty, when
 * EVENT_IDX asks for the next notification; the bound holds a driver that
 * keeps adding from its other vCPUs, which stalls only itself.
 */
#define TX_BUDGET (2 * VIRTIO_CONSOLE_QUEUE_SIZE)
#define COPY_CHUNK 256 /* bytes copied out of guest RAM at a time: each read once */

/* NULL if the chain may be sent: device-readable only, not too long; else why not. */
static const char *refuse_to_send(const struct vq_buf *buf, unsigned nbuf)
{
	uint64_t total = 0;
	unsigned i;

	for (i = 0; i < nbuf; i++) {
		if (buf[i].write)
			return "a buffer to send is device-writable";
		total += buf[i].len;
	}
	return total > VIRTIO_CONSOLE_CHAIN_MAX ? "more bytes than a chain to send may hold" : 0;
}

/* One buffer's bytes onto the console stream, copied out of guest RAM once. */
static void send_buffer(struct virtio_console *c, const struct vq_buf *b)
{
	uint8_t chunk[COPY_CHUNK];
	uint32_t done, n;

	for (done = 0; done < b->len; done += n) {
		n = b->len - done < COPY_CHUNK ? b->len - done : COPY_CHUNK;
		vq_copy_in(chunk, c->v.ram.base + b->offset + done, n);
		vuart_output(c->stream, chunk, n);
	}
}

/* The chain at head sent, unless refused (logged). v.lock held. */
static void send_chain(struct virtio_console *c, uint16_t head)
{
	struct vq_buf buf[VIRTIO_CONSOLE_SEGS];
	const char *why;
	unsigned nbuf, i;

	if (virtio_chain(&c->v, TXQ, head, buf, VIRTIO_CONSOLE_SEGS, &nbuf) != VQ_CHAIN_OK)
		return; /* logged */
	why = refuse_to_send(buf, nbuf);
	if (why) {
		partition_log_guest(c->v.part, LOG_WARN, "virtio-console chain %u not sent: %s", head, why);
		return;
	}
	for (i = 0; i < nbuf; i++)
		send_buffer(c, &buf[i]);
	c->written |= nbuf > 0;
}

/* The next chain to send, sent and given back; 0 when the ring is empty. v.lock held. */
static int send_next(struct virtio_console *c)
{
	uint16_t head;

	if (!virtio_driver_ready(&c->v) || !virtio_next_head(&c->v, TXQ, &head))
		return 0;
	send_chain(c, head);
	virtio_give_back(&c->v, TXQ, head, 0); /* the device wrote nothing into it */
	return 1;
}

static void transmit(struct virtio_console *c)
{
	unsigned budget = TX_BUDGET;

	spin_lock(&c->v.lock);
	while (budget-- && send_next(c))
		;
	spin_unlock(&c->v.lock);
	virtio_raise_due(&c->v);
}

/* Up to n bytes into the chain at head, which goes back; how many it took. v.lock held. */
static size_t receive_into(struct virtio_console *c, uint16_t head, const char *bytes, size_t n)
{
	struct vq_buf buf[VIRTIO_CONSOLE_SEGS];
	unsigned nbuf = 0, i;
	size_t put = 0;

	if (virtio_chain(&c->v, RXQ, head, buf, VIRTIO_CONSOLE_SEGS, &nbuf) != VQ_CHAIN_OK)
		nbuf = 0; /* refused and logged: it goes back empty */
	else if (!vq_room(buf, nbuf) && nbuf)
		partition_log_guest(c->v.part, LOG_WARN, "virtio-console chain %u not filled: a buffer to receive "
				    "into is device-readable", head);
	else
		for (i = 0; i < nbuf && put < n; i++) {
			size_t take = n - put < buf[i].len ? n - put : buf[i].len;
			__builtin_memcpy(c->v.ram.base + buf[i].offset, bytes + put, take);
			put += take;
		}
	virtio_give_back(&c->v, RXQ, head, (uint32_t)put);
	return put;
}

int virtio_console_in_use(struct virtio_console *c)
{
	int ready;

	spin_lock(&c->v.lock);
	ready = virtio_driver_ready(&c->v) && c->v.q[RXQ].enabled && c->written;
	spin_unlock(&c->v.lock);
	return ready;
}

size_t virtio_console_receive(struct virtio_console *c, const char *bytes, size_t n)
{
	unsigned budget = VIRTIO_CONSOLE_QUEUE_SIZE; /* chains: a driver adding empty ones from another vCPU */
	size_t taken = 0;
	uint16_t head;

	spin_lock(&c->v.lock);
	while (taken < n && budget-- && virtio_driver_ready(&c->v) && virtio_next_head(&c->v, RXQ, &head))
		taken += receive_into(c, head, bytes + taken, n - taken);
	spin_unlock(&c->v.lock);
	virtio_raise_due(&c->v);
	return taken;
}

/* ---- the virtio device type -------------------------------------------- */

static void notify(struct virtio_pci *v, unsigned queue)
{
	if (queue == TXQ)
		transmit(v->dev);
	/* receiveq0: buffers posted; the console's next poll fills them with what it holds */
}

static void config_read(struct virtio_pci *v, unsigned offset, unsigned size, uint64_t *value)
{
	(void)v;
	(void)offset;
	(void)size;
	*value = 0;
}

/* It keeps nothing of the driver's: every chain went back before its notification returned. */
static void reset(struct virtio_pci *v)
{
	struct virtio_console *c = v->dev;

	c->written = 0;
}

static const struct virtio_type console_type = {
	.device_id = 3,
	.class_code = 0x078000, /* simple communication controller, other */
	.features = 0,
	.queues = 2,
	.queue_size = VIRTIO_CONSOLE_QUEUE_SIZE,
	.config_size = CONFIG_SIZE,
	.config_read = config_read,
	/* No config_write: emerg_wr is the only field a driver writes, and only with F_EMERG_WRITE, not offered. */
	.notify = notify,
	.reset = reset,
};

const char *virtio_console_init(struct virtio_console *c, struct partition *p, const struct vq_ram *ram,
				 struct vpci *pci, unsigned slot, struct vuart *stream)
{
	c->stream = stream;
	c->written = 0;
	return virtio_pci_init(&c->v, &console_type, c, p, ram, pci, slot);
}
