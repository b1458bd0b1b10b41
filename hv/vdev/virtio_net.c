/* virtio-net on a virtual switch; what a guest and the switch see of it is in virtio_net.h. */
#include "virtio_net.h"

#include "lib/le.h"
#include "net.h"

#define RXQ 0
#define TXQ 1
#define FORWARD_BUDGET 64 /* frames a notification forwards: the notifying vCPU pays for them */
/*
 * Chains one notification takes at most. It takes them until the ring is
 * empty, which is when the driver is asked for its next notification
 * (EVENT_IDX's avail_event): stopping earlier would leave chains nobody
 * comes back for. The bound holds a driver that keeps adding from its
 * other vCPUs; that driver stalls only itself.
 */
#define TX_BUDGET (2 * VIRTIO_NET_QUEUE_SIZE)

/* Feature bits (5.1.3) and the link status bit (5.1.4). */
#define VIRTIO_NET_F_CSUM (1ull << 0)
#define VIRTIO_NET_F_GUEST_CSUM (1ull << 1)
#define VIRTIO_NET_F_MAC (1ull << 5)
#define VIRTIO_NET_F_STATUS (1ull << 16)
#define VIRTIO_NET_S_LINK_UP 1

/* Device configuration (5.1.4): mac, status, max_virtqueue_pairs. */
#define CONFIG_MAC 0
#define CONFIG_STATUS 6
#define CONFIG_MAX_PAIRS 8
#define CONFIG_SIZE 10

/* virtio_net_hdr (5.1.6): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers. */
#define HDR_FLAGS 0
#define HDR_GSO_TYPE 1
#define HDR_CSUM_START 6
#define HDR_CSUM_OFFSET 8
#define HDR_NUM_BUFFERS 10
#define HDR_F_NEEDS_CSUM 1

/* ---- transmit ---------------------------------------------------------- */

static struct virtio_net_tx *free_tx(struct virtio_net *n)
{
	unsigned i;

	for (i = 0; i < VSW_QUEUE_LEN; i++)
		if (!n->tx[i].busy)
			return &n->tx[i];
	return 0;
}

/*
 * 5.1.6.2.1: a driver sets no flag but NEEDS_CSUM, and that one only with
 * CSUM; GSO was not offered. Where the checksum goes, the switch checks.
 */
static int header_to_send_ok(const struct virtio_net *n, const uint8_t *hdr)
{
	return !hdr[HDR_GSO_TYPE] &&
	       (!hdr[HDR_FLAGS] || (hdr[HDR_FLAGS] == HDR_F_NEEDS_CSUM && virtio_has(&n->v, VIRTIO_NET_F_CSUM)));
}

/*
 * The frame of a checked chain, past its virtio_net_hdr, into t: its
 * Ethernet header copied, the rest by reference. VSW_DROP_NONE or why not.
 */
static enum vsw_drop take_frame(struct virtio_net *n, struct virtio_net_tx *t, const struct vq_buf *buf,
				unsigned nbuf, struct vsw_frame *f)
{
	uint8_t hdr[VIRTIO_NET_HDR_LEN];
	uint64_t total = 0;
	unsigned i, segs = 1;
	struct vsw_seg all[VIRTIO_NET_TX_SEGS];
	struct vsw_frame whole = { .segs = all, .nsegs = nbuf };

	for (i = 0; i < nbuf; i++) {
		if (buf[i].write)
			return VSW_DROP_BAD_CHAIN; /* a buffer to send is the device's to read only */
		all[i] = (struct vsw_seg){ n->v.ram.base + buf[i].offset, buf[i].len };
		total += buf[i].len;
	}
	if (total < VIRTIO_NET_HDR_LEN + VSW_ETH_HEADER || total > VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MAX)
		return VSW_DROP_MALFORMED;
	whole.len = (uint32_t)total;
	vsw_frame_read(&whole, 0, hdr, VIRTIO_NET_HDR_LEN);
	if (!header_to_send_ok(n, hdr))
		return VSW_DROP_MALFORMED;
	vsw_frame_read(&whole, VIRTIO_NET_HDR_LEN, t->eth, VSW_ETH_HEADER);
	t->segs[0] = (struct vsw_seg){ t->eth, VSW_ETH_HEADER };
	/* The rest of the frame: what follows header and Ethernet header in the guest's buffers. */
	for (i = 0, total = VIRTIO_NET_HDR_LEN + VSW_ETH_HEADER; i < nbuf; i++) {
		if (total >= all[i].len) {
			total -= all[i].len;
			continue;
		}
		t->segs[segs++] = (struct vsw_seg){ all[i].data + total, all[i].len - (uint32_t)total };
		total = 0;
	}
	*f = (struct vsw_frame){ .segs = t->segs, .nsegs = segs, .len = whole.len - VIRTIO_NET_HDR_LEN, .cookie = t,
				 .csum_start = le16(hdr + HDR_CSUM_START), .csum_offset = le16(hdr + HDR_CSUM_OFFSET),
				 .csum_partial = hdr[HDR_FLAGS] == HDR_F_NEEDS_CSUM };
	return VSW_DROP_NONE;
}

enum taken { TAKEN_NONE, TAKEN_NO_SLOT, TAKEN_REFUSED, TAKEN_FRAME };

/* The next chain to send, checked, into a free slot: TAKEN_FRAME with *f for the switch. */
static enum taken take_tx(struct virtio_net *n, struct vsw_frame *f)
{
	struct vq_buf buf[VIRTIO_NET_TX_SEGS];
	struct virtio_net_tx *t;
	enum vsw_drop why;
	unsigned nbuf;
	uint16_t head;

	spin_lock(&n->v.lock);
	t = free_tx(n);
	if (!virtio_driver_ready(&n->v) || !t || !virtio_next_head(&n->v, TXQ, &head)) {
		spin_unlock(&n->v.lock);
		return virtio_driver_ready(&n->v) && !t ? TAKEN_NO_SLOT : TAKEN_NONE;
	}
	why = virtio_chain(&n->v, TXQ, head, buf, VIRTIO_NET_TX_SEGS, &nbuf) == VQ_CHAIN_OK ?
		      take_frame(n, t, buf, nbuf, f) : VSW_DROP_BAD_CHAIN;
	if (why == VSW_DROP_NONE) {
		t->busy = 1;
		t->head = head;
		t->resets = n->v.resets;
	} else {
		virtio_give_back(&n->v, TXQ, head, 0);
	}
	spin_unlock(&n->v.lock);
	if (why == VSW_DROP_NONE)
		return TAKEN_FRAME;
	vsw_count_drop(n->sw, n->port, why);
	return TAKEN_REFUSED;
}

/* The switch is done with a frame: its chain goes back, unless a reset came since it was taken. */
static void tx_done(void *dev, void *cookie)
{
	struct virtio_net *n = dev;
	struct virtio_net_tx *t = cookie;

	spin_lock(&n->v.lock);
	if (t->resets == n->v.resets && virtio_driver_ready(&n->v))
		virtio_give_back(&n->v, TXQ, t->head, 0);
	t->busy = 0;
	spin_unlock(&n->v.lock);
}

/*
 * The chains the driver made available, to the switch, which forwards
 * them (and what else waits) whenever this device's frames fill their
 * slots, and once at the end.
 */
static void transmit(struct virtio_net *n)
{
	struct vsw_frame f;
	enum taken taken;
	unsigned budget = TX_BUDGET;

	while (budget-- && (taken = take_tx(n, &f)) != TAKEN_NONE) {
		if (taken == TAKEN_NO_SLOT) /* the switch holds VSW_QUEUE_LEN of ours: it forwards some */
			vsw_forward(n->sw, net_now_ns(), FORWARD_BUDGET);
		if (taken == TAKEN_FRAME && vsw_send(n->sw, n->port, &f) != VSW_DROP_NONE)
			tx_done(n, f.cookie); /* refused and counted by the switch */
	}
	vsw_forward(n->sw, net_now_ns(), FORWARD_BUDGET);
	virtio_raise_due(&n->v);
}

/* ---- receive ----------------------------------------------------------- */

/* Where the next bytes of a frame go in a chain's buffers. */
struct rx_cursor {
	struct virtio_net *n;
	const struct vq_buf *buf;
	unsigned nbuf, i;
	uint32_t off;
};

/* The next piece of at most *len bytes at the cursor, which moves past it; *len: its size. */
static uint8_t *rx_piece(struct rx_cursor *c, uint32_t *len)
{
	const struct vq_buf *b = &c->buf[c->i];
	uint8_t *at = c->n->v.ram.base + b->offset + c->off;
	uint32_t take = b->len - c->off < *len ? b->len - c->off : *len;

	c->off += take;
	if (c->off == b->len) {
		c->i++;
		c->off = 0;
	}
	*len = take;
	return at;
}

/* len bytes into the chain; the caller checked that they fit. */
static void rx_put(struct rx_cursor *c, const uint8_t *src, uint32_t len)
{
	while (len) {
		uint32_t take = len;
		uint8_t *to = rx_piece(c, &take);
		__builtin_memcpy(to, src, take);
		src += take;
		len -= take;
	}
}

static void rx_skip(struct rx_cursor *c, uint32_t len)
{
	while (len) {
		uint32_t take = len;
		rx_piece(c, &take);
		len -= take;
	}
}

/*
 * The header a frame is received with (5.1.6.4). A partial checksum stays
 * partial for a driver that takes them (GUEST_CSUM); the caller completes
 * it for one that does not.
 */
static void rx_header(const struct virtio_net *n, const struct vsw_frame *f, uint8_t *hdr)
{
	if (f->csum_partial && virtio_has(&n->v, VIRTIO_NET_F_GUEST_CSUM)) {
		hdr[HDR_FLAGS] = HDR_F_NEEDS_CSUM;
		put_le16(hdr + HDR_CSUM_START, f->csum_start);
		put_le16(hdr + HDR_CSUM_OFFSET, f->csum_offset);
	}
	put_le16(hdr + HDR_NUM_BUFFERS, 1); /* 1 without MRG_RXBUF */
}

/* The checksum of a partial frame, into its copy in the chain (vsw_send checked the field is inside it). */
static void rx_complete_csum(struct virtio_net *n, const struct vq_buf *buf, unsigned nbuf, const struct vsw_frame *f)
{
	struct rx_cursor c = { n, buf, nbuf, 0, 0 };
	uint8_t csum[2];

	vsw_frame_csum(f, csum);
	rx_skip(&c, VIRTIO_NET_HDR_LEN + (uint32_t)f->csum_start + f->csum_offset);
	rx_put(&c, csum, sizeof(csum));
}

/* Header and frame into the chain at head; the result for the switch. v.lock held. */
static enum vsw_rx_result receive_into(struct virtio_net *n, uint16_t head, const struct vsw_frame *f)
{
	struct vq_buf buf[VIRTIO_NET_RX_SEGS];
	struct rx_cursor c = { n, buf, 0, 0, 0 };
	uint8_t hdr[VIRTIO_NET_HDR_LEN] = { 0 };
	uint64_t room;
	uint32_t i;

	if (virtio_chain(&n->v, RXQ, head, buf, VIRTIO_NET_RX_SEGS, &c.nbuf) != VQ_CHAIN_OK ||
	    !(room = vq_room(buf, c.nbuf))) {
		virtio_give_back(&n->v, RXQ, head, 0);
		return VSW_RX_BAD_CHAIN;
	}
	if (room < (uint64_t)VIRTIO_NET_HDR_LEN + f->len) {
		virtio_give_back(&n->v, RXQ, head, 0);
		return VSW_RX_TOO_BIG;
	}
	rx_header(n, f, hdr);
	rx_put(&c, hdr, VIRTIO_NET_HDR_LEN);
	for (i = 0; i < f->nsegs; i++)
		rx_put(&c, f->segs[i].data, f->segs[i].len);
	if (f->csum_partial && !hdr[HDR_FLAGS])
		rx_complete_csum(n, buf, c.nbuf, f);
	virtio_give_back(&n->v, RXQ, head, VIRTIO_NET_HDR_LEN + f->len);
	return VSW_RX_OK;
}

/* A frame from the switch (its lock held): copied into the next chain posted, or why not. */
static enum vsw_rx_result deliver(void *dev, const struct vsw_frame *f)
{
	struct virtio_net *n = dev;
	enum vsw_rx_result r = VSW_RX_DOWN;
	uint16_t head;

	spin_lock(&n->v.lock);
	if (virtio_driver_ready(&n->v) && n->v.q[RXQ].enabled)
		r = virtio_next_head(&n->v, RXQ, &head) ? receive_into(n, head, f) : VSW_RX_NO_BUFFER;
	spin_unlock(&n->v.lock);
	return r;
}

static void kick(void *dev)
{
	struct virtio_net *n = dev;

	virtio_raise_due(&n->v);
}

static const struct vsw_port_ops port_ops = { deliver, tx_done, kick };

/* ---- the virtio device type -------------------------------------------- */

static void notify(struct virtio_pci *v, unsigned queue)
{
	struct virtio_net *n = v->dev;
	uint64_t start = net_ticks();

	if (queue == TXQ)
		transmit(n);
	else /* buffers to receive into: frames that wait may go now */
		vsw_forward(n->sw, net_now_ns(), FORWARD_BUDGET);
	net_spent(start);
}

static void config_read(struct virtio_pci *v, unsigned offset, unsigned size, uint64_t *value)
{
	struct virtio_net *n = v->dev;
	uint8_t config[CONFIG_SIZE] = { 0 };
	unsigned i;

	__builtin_memcpy(config + CONFIG_MAC, n->mac, VSW_MAC_LEN);
	put_le16(config + CONFIG_STATUS, n->link_up ? VIRTIO_NET_S_LINK_UP : 0);
	put_le16(config + CONFIG_MAX_PAIRS, 1);
	*value = 0;
	for (i = 0; i < size && offset + i < CONFIG_SIZE; i++)
		*value |= (uint64_t)config[offset + i] << (8 * i);
}

/* Frames the switch still holds stay theirs until tx_done, which then gives nothing back. */
static void reset(struct virtio_pci *v)
{
	(void)v;
}

static const struct virtio_type net_type = {
	.device_id = 1,
	.class_code = 0x020000, /* network controller, Ethernet */
	.features = VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS,
	.queues = 2,
	.queue_size = VIRTIO_NET_QUEUE_SIZE,
	.config_size = CONFIG_SIZE,
	.config_read = config_read,
	/* No config_write: 5.1.4, the driver may write mac only without VIRTIO_F_VERSION_1; the port's is fixed anyway. */
	.notify = notify,
	.reset = reset,
};

const char *virtio_net_init(struct virtio_net *n, struct partition *p, const struct vq_ram *ram, struct vpci *pci,
			    unsigned slot, struct vswitch *sw, struct vsw_port *port)
{
	__builtin_memset(n->tx, 0, sizeof(n->tx));
	n->sw = sw;
	n->port = port;
	n->link_up = 0;
	__builtin_memcpy(n->mac, port->mac, VSW_MAC_LEN);
	return virtio_pci_init(&n->v, &net_type, n, p, ram, pci, slot);
}

static void set_link(struct virtio_net *n, int up)
{
	spin_lock(&n->v.lock);
	n->link_up = up;
	spin_unlock(&n->v.lock);
}

void virtio_net_attach(struct virtio_net *n)
{
	vsw_attach(n->sw, n->port, &port_ops, n);
	set_link(n, 1);
}

void virtio_net_detach(struct virtio_net *n)
{
	set_link(n, 0);
	vsw_detach(n->sw, n->port);
}
