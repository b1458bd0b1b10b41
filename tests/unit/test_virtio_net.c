/*
 * virtio-net (hv/vdev/virtio_net.c) between two partitions on one switch:
 * rings written into each partition's RAM as a driver writes them, the
 * transmit and receive paths with frames split at every edge, and hostile
 * chains (device-writable buffers to send, buffers outside RAM, loops,
 * offloads never offered, frames too long or too short, spoofed sources),
 * receivers without room. Each case checks what reached the other
 * partition, what came back in the used rings, and the port's counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/le.h"
#include "net.h"
#include "partition.h"
#include "vdev/irq.h"
#include "vdev/virtio_net.h"
#include "vswitch.h"

#define RAM (1u << 20)
#define QSIZE 64
#define RXQ 0
#define TXQ 1
#define HDR VIRTIO_NET_HDR_LEN
#define BUFS 0x10000 /* where the test's buffers start in each RAM */
#define SLOT 10

/* One partition: its RAM, its device, what its interrupt line did. */
struct side {
	struct cfg_partition cfg;
	struct partition part;
	struct virtio_net net;
	uint8_t *ram;
	uint32_t next_buf;     /* bump allocator in RAM from BUFS */
	uint16_t avail[2];     /* the driver's available index per queue */
	unsigned raised;       /* INTx rising edges */
};

static struct side A, B;
static struct vswitch sw;
static struct vsw_port *ports[2];

/* ---- what the device's surroundings provide -------------------------- */

uint64_t net_now_ns(void)
{
	return 1000;
}

uint64_t net_ticks(void)
{
	return 0;
}

void net_spent(uint64_t start)
{
	(void)start;
}

void partition_log_guest(struct partition *p, enum log_level level, const char *f, ...)
{
	(void)p;
	(void)level;
	(void)f;
}

void irq_set_line(struct partition *p, unsigned gsi, int level)
{
	struct side *s = p == &A.part ? &A : &B;

	(void)gsi;
	s->raised += level != 0;
}

void pic_set_irq(struct partition *p, unsigned irq, int level)
{
	(void)p;
	(void)irq;
	(void)level;
	fail_msg("a PCI function raised an ISA line");
}

int irq_deliver(struct partition *p, const struct irq_msg *m)
{
	(void)p;
	(void)m;
	return 0;
}

/* ---- the driver's side of the rings ------------------------------------ */

static uint64_t desc_at(unsigned q)
{
	return 0x1000u + 0x3000u * q;
}

static uint64_t avail_at(unsigned q)
{
	return desc_at(q) + 0x1000;
}

static uint64_t used_at(unsigned q)
{
	return desc_at(q) + 0x2000;
}

/* The device set up as Linux leaves it: features taken, both queues live, DRIVER_OK. */
static void start_side(struct side *s, const char *name, int index)
{
	struct vq_ram r;
	unsigned q;

	s->ram = aligned_alloc(4096, RAM);
	memset(s->ram, 0, RAM);
	s->next_buf = BUFS;
	s->avail[0] = s->avail[1] = 0;
	s->raised = 0;
	s->cfg = (struct cfg_partition){ .memory = RAM };
	strcpy(s->cfg.name, name);
	s->part = (struct partition){ .cfg = &s->cfg, .ram_size = RAM };
	r = (struct vq_ram){ .base = s->ram, .pa = 0x80000000, .size = RAM };
	vdev_bus_init(&s->part.bus);
	assert_null(vpci_init(&s->part.pci, &s->part));
	assert_null(virtio_net_init(&s->net, &s->part, &r, &s->part.pci, SLOT, &sw, ports[index]));
	assert_null(vpci_start(&s->part.pci));
	for (q = 0; q < 2; q++) {
		assert_null(vq_setup(&s->net.v.q[q].vq, &r, QSIZE, desc_at(q), avail_at(q), used_at(q), 0, 0));
		s->net.v.q[q].enabled = 1;
		s->net.v.q[q].size = QSIZE;
	}
	s->net.v.features = VIRTIO_F_VERSION_1 | (1ull << 5);
	s->net.v.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			  VIRTIO_STATUS_DRIVER_OK;
	virtio_net_attach(&s->net);
}

static int setup(void **state)
{
	static const uint8_t mac_a[VSW_MAC_LEN] = { 2, 0, 0, 0, 0, 0xa }, mac_b[VSW_MAC_LEN] = { 2, 0, 0, 0, 0, 0xb };

	(void)state;
	vsw_init(&sw, "lan");
	ports[0] = vsw_add_port(&sw, "a.0", mac_a);
	ports[1] = vsw_add_port(&sw, "b.0", mac_b);
	start_side(&A, "a", 0);
	start_side(&B, "b", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(A.ram);
	free(B.ram);
	return 0;
}

/* A buffer of len bytes in s's RAM (its guest-physical address). */
static uint64_t alloc_buf(struct side *s, uint32_t len)
{
	uint64_t at = s->next_buf;

	s->next_buf += (len + 15) & ~15u;
	assert_true(s->next_buf <= RAM);
	return at;
}

struct piece {
	uint64_t addr;
	uint32_t len;
	uint16_t flags; /* VIRTQ_DESC_F_WRITE */
};

/* A chain of n descriptors from head, made available on queue q. */
static void post_chain(struct side *s, unsigned q, uint16_t head, const struct piece *p, unsigned n)
{
	uint8_t *desc = s->ram + desc_at(q), *avail = s->ram + avail_at(q);
	unsigned i;

	for (i = 0; i < n; i++) {
		uint8_t *d = desc + 16 * ((head + i) % QSIZE);
		put_le64(d, p[i].addr);
		put_le32(d + 8, p[i].len);
		put_le16(d + 12, (uint16_t)(p[i].flags | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)));
		put_le16(d + 14, (uint16_t)((head + i + 1) % QSIZE));
	}
	put_le16(avail + 4 + 2 * (s->avail[q] % QSIZE), head);
	s->avail[q]++;
	put_le16(avail + 2, s->avail[q]);
}

static uint16_t used_idx(const struct side *s, unsigned q)
{
	return le16(s->ram + used_at(q) + 2);
}

/* The used ring's entry i: its id and len. */
static void used_entry(const struct side *s, unsigned q, unsigned i, uint32_t *id, uint32_t *len)
{
	const uint8_t *e = s->ram + used_at(q) + 4 + 8 * (i % QSIZE);

	*id = le32(e);
	*len = le32(e + 4);
}

/* An Ethernet frame of len bytes from src to dst, its payload a counting pattern. */
static void make_frame(uint8_t *f, uint32_t len, const uint8_t *dst, const uint8_t *src)
{
	uint32_t i;

	memcpy(f, dst, VSW_MAC_LEN);
	memcpy(f + VSW_MAC_LEN, src, VSW_MAC_LEN);
	f[12] = 0x08;
	f[13] = 0x00;
	for (i = VSW_ETH_HEADER; i < len; i++)
		f[i] = (uint8_t)(i * 7 + 3);
}

/* Header and frame into s's RAM cut into pieces of the given sizes (the last takes the rest); posts it. */
static void send_cut(struct side *s, uint16_t head, const uint8_t *hdr, const uint8_t *frame, uint32_t len,
		     const uint32_t *cuts, unsigned ncuts)
{
	uint8_t all[HDR + 2048];
	struct piece p[8];
	uint32_t total = HDR + len, at = 0;
	unsigned i;

	assert_true(total <= sizeof(all) && ncuts < 8);
	memcpy(all, hdr, HDR);
	memcpy(all + HDR, frame, len);
	for (i = 0; i <= ncuts; i++) {
		uint32_t n = i < ncuts ? cuts[i] : total - at;
		p[i] = (struct piece){ alloc_buf(s, n ? n : 1), n, 0 };
		memcpy(s->ram + p[i].addr, all + at, n);
		at += n;
	}
	post_chain(s, TXQ, head, p, ncuts + 1);
}

static const uint8_t no_hdr[HDR];

static void send_frame(struct side *s, const uint8_t *frame, uint32_t len)
{
	send_cut(s, 0, no_hdr, frame, len, 0, 0);
}

static uint64_t post_rx(struct side *s, uint16_t head, uint32_t len)
{
	struct piece p = { alloc_buf(s, len), len, VIRTQ_DESC_F_WRITE };

	post_chain(s, RXQ, head, &p, 1);
	return p.addr;
}

static void kick_tx(struct side *s)
{
	s->net.v.type->notify(&s->net.v, TXQ);
}

static uint64_t drops(struct side *s, enum vsw_drop why)
{
	struct vsw_counters c;

	vsw_port_counters(&sw, s->net.port, &c);
	return c.drops[why];
}

static const uint8_t mac_a[VSW_MAC_LEN] = { 2, 0, 0, 0, 0, 0xa }, mac_b[VSW_MAC_LEN] = { 2, 0, 0, 0, 0, 0xb };
static const uint8_t bcast[VSW_MAC_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* ---- tests ------------------------------------------------------------- */

static void config_shows_the_ports_mac_and_link(void **state)
{
	uint64_t v = 0;
	unsigned i;

	(void)state;
	for (i = 0; i < VSW_MAC_LEN; i++) {
		A.net.v.type->config_read(&A.net.v, i, 1, &v);
		assert_int_equal(v, mac_a[i]);
	}
	A.net.v.type->config_read(&A.net.v, 6, 2, &v);
	assert_int_equal(v, 1); /* VIRTIO_NET_S_LINK_UP */
	A.net.v.type->config_read(&A.net.v, 8, 2, &v);
	assert_int_equal(v, 1); /* one queue pair */
	virtio_net_detach(&A.net);
	A.net.v.type->config_read(&A.net.v, 6, 2, &v);
	assert_int_equal(v, 0);
	virtio_pci_ops.write(&A.net.v, VIRTIO_DEVICE_CFG, 1, 0x77); /* the MAC is the port's: ignored */
	A.net.v.type->config_read(&A.net.v, 0, 1, &v);
	assert_int_equal(v, 2);
	assert_int_equal(A.net.v.offered & ((1ull << 5) | (1ull << 16) | (1ull << 15) | 3 | (1ull << 11)),
			 (1ull << 5) | (1ull << 16) | 3); /* MAC, STATUS, CSUM, GUEST_CSUM; no MRG_RXBUF, no TSO */
}

static void a_frame_is_copied_into_the_receivers_buffer(void **state)
{
	uint8_t frame[60], hdr[HDR];
	uint64_t rx = post_rx(&B, 0, HDR + VIRTIO_NET_FRAME_MAX);
	uint32_t id, len;

	(void)state;
	make_frame(frame, sizeof(frame), bcast, mac_a);
	send_frame(&A, frame, sizeof(frame));
	kick_tx(&A);
	assert_int_equal(used_idx(&B, RXQ), 1);
	used_entry(&B, RXQ, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, HDR + sizeof(frame));
	memcpy(hdr, B.ram + rx, HDR);
	assert_int_equal(hdr[0], 0);                /* no flags */
	assert_int_equal(hdr[1], 0);                /* GSO none */
	assert_int_equal(le16(hdr + 10), 1);        /* num_buffers */
	assert_memory_equal(B.ram + rx + HDR, frame, sizeof(frame));
	assert_int_equal(used_idx(&A, TXQ), 1);     /* given back to its sender */
	used_entry(&A, TXQ, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);
	assert_true(A.raised >= 1);
	assert_true(B.raised >= 1);
	assert_int_equal(sw.lock.locked, 0);
	assert_int_equal(A.net.v.lock.locked, 0);
}

/* Header and frame cut at every place the device must read across, into receive chains cut as well. */
static void frames_cut_anywhere_arrive_whole(void **state)
{
	static const uint32_t tx_cuts[][3] = { { 1, 11, 1 }, { 12, 14, 1 }, { 5, 20, 1 }, { 26, 1, 1 }, { 13, 1, 20 } };
	uint8_t frame[300];
	unsigned i;

	(void)state;
	make_frame(frame, sizeof(frame), mac_b, mac_a);
	for (i = 0; i < sizeof(tx_cuts) / sizeof(tx_cuts[0]); i++) {
		struct piece rx[3] = { { alloc_buf(&B, 7), 7, VIRTQ_DESC_F_WRITE },
				       { alloc_buf(&B, 6), 6, VIRTQ_DESC_F_WRITE },
				       { alloc_buf(&B, 400), 400, VIRTQ_DESC_F_WRITE } };
		uint8_t got[HDR + sizeof(frame)];
		uint32_t id, len;
		post_chain(&B, RXQ, (uint16_t)(3 * i), rx, 3);
		send_cut(&A, (uint16_t)(4 * i % QSIZE), no_hdr, frame, sizeof(frame), tx_cuts[i], 3);
		kick_tx(&A);
		assert_int_equal(used_idx(&B, RXQ), i + 1);
		used_entry(&B, RXQ, i, &id, &len);
		assert_int_equal(len, HDR + sizeof(frame));
		memcpy(got, B.ram + rx[0].addr, 7);
		memcpy(got + 7, B.ram + rx[1].addr, 6);
		memcpy(got + 13, B.ram + rx[2].addr, sizeof(got) - 13);
		assert_memory_equal(got + HDR, frame, sizeof(frame));
	}
}

/* More frames than the switch holds of a port, in one notification: all go, the ring is emptied. */
static void one_notification_sends_a_full_ring(void **state)
{
	uint8_t frame[64];
	uint16_t i, frames = VSW_QUEUE_LEN + 8;

	(void)state;
	make_frame(frame, sizeof(frame), mac_b, mac_a);
	for (i = 0; i < frames; i++) {
		post_rx(&B, i, 2048);
		send_cut(&A, i, no_hdr, frame, sizeof(frame), 0, 0);
	}
	kick_tx(&A);
	assert_int_equal(used_idx(&A, TXQ), frames);
	assert_int_equal(used_idx(&B, RXQ), frames);
}

static void no_buffer_posted_loses_the_frame_not_the_sender(void **state)
{
	uint8_t frame[64];

	(void)state;
	make_frame(frame, sizeof(frame), mac_b, mac_a);
	send_frame(&A, frame, sizeof(frame));
	kick_tx(&A);
	assert_int_equal(drops(&B, VSW_DROP_NO_BUFFER), 1);
	assert_int_equal(used_idx(&A, TXQ), 1);
}

static void a_buffer_too_small_comes_back_empty(void **state)
{
	uint8_t frame[200];
	uint32_t id, len;

	(void)state;
	post_rx(&B, 0, HDR + 199);
	make_frame(frame, sizeof(frame), mac_b, mac_a);
	send_frame(&A, frame, sizeof(frame));
	kick_tx(&A);
	assert_int_equal(drops(&B, VSW_DROP_TOO_BIG), 1);
	assert_int_equal(used_idx(&B, RXQ), 1);
	used_entry(&B, RXQ, 0, &id, &len);
	assert_int_equal(len, 0);
	/* The largest frame fits a buffer of the size Linux posts. */
	post_rx(&B, 1, HDR + VIRTIO_NET_FRAME_MAX);
	send_cut(&A, 2, no_hdr, (uint8_t[VIRTIO_NET_FRAME_MAX]){ 2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa },
		 VIRTIO_NET_FRAME_MAX, 0, 0);
	kick_tx(&A);
	used_entry(&B, RXQ, 1, &id, &len);
	assert_int_equal(len, HDR + VIRTIO_NET_FRAME_MAX);
}

static void receive_chains_the_device_may_not_write_are_refused(void **state)
{
	struct piece ro = { alloc_buf(&B, 2000), 2000, 0 };
	struct piece outside = { RAM - 8, 2000, VIRTQ_DESC_F_WRITE };
	uint8_t frame[64];
	uint32_t id, len;

	(void)state;
	post_chain(&B, RXQ, 0, &ro, 1);
	post_chain(&B, RXQ, 1, &outside, 1);
	make_frame(frame, sizeof(frame), bcast, mac_a);
	send_frame(&A, frame, sizeof(frame));
	send_cut(&A, 4, no_hdr, frame, sizeof(frame), 0, 0);
	kick_tx(&A);
	assert_int_equal(drops(&B, VSW_DROP_BAD_CHAIN), 2);
	assert_int_equal(used_idx(&B, RXQ), 2);
	used_entry(&B, RXQ, 0, &id, &len);
	assert_int_equal(len, 0);
	used_entry(&B, RXQ, 1, &id, &len);
	assert_int_equal(len, 0);
}

/* Each hostile transmit chain comes back unsent and counted; B, with room, receives nothing. */
static void hostile_transmit_chains_are_refused(void **state)
{
	uint8_t frame[64], gso[HDR] = { 0, 1 }, csum[HDR] = { 1 };
	uint8_t big[VIRTIO_NET_FRAME_MAX + 1];
	struct piece writable = { alloc_buf(&A, 100), 100, VIRTQ_DESC_F_WRITE };
	struct piece outside = { RAM - 50, 100, 0 };
	struct piece wrap = { UINT64_MAX - 10, 100, 0 };
	uint8_t *d;

	(void)state;
	post_rx(&B, 0, 4096);
	make_frame(frame, sizeof(frame), mac_b, mac_a);
	make_frame(big, sizeof(big), mac_b, mac_a);
	post_chain(&A, TXQ, 0, &writable, 1);
	post_chain(&A, TXQ, 1, &outside, 1);
	post_chain(&A, TXQ, 2, &wrap, 1);
	send_cut(&A, 3, gso, frame, sizeof(frame), 0, 0);
	send_cut(&A, 4, csum, frame, sizeof(frame), 0, 0);
	send_cut(&A, 5, no_hdr, big, sizeof(big), 0, 0);
	send_cut(&A, 6, no_hdr, frame, VSW_ETH_HEADER - 1, 0, 0);
	/* A loop: descriptor 8 points back to itself. */
	send_cut(&A, 8, no_hdr, frame, sizeof(frame), 0, 0);
	d = A.ram + desc_at(TXQ) + 16 * 8;
	put_le16(d + 12, VIRTQ_DESC_F_NEXT);
	put_le16(d + 14, 8);
	kick_tx(&A);
	assert_int_equal(used_idx(&A, TXQ), 8);
	assert_int_equal(drops(&A, VSW_DROP_BAD_CHAIN), 4);
	assert_int_equal(drops(&A, VSW_DROP_MALFORMED), 4);
	assert_int_equal(used_idx(&B, RXQ), 0);
	assert_int_equal(A.net.v.lock.locked, 0);
}

#define F_CSUM (1ull << 0)
#define F_GUEST_CSUM (1ull << 1)
#define UDP_FRAME 72   /* Ethernet, IPv4 and UDP headers, 30 bytes of data */
#define UDP_START 34   /* where UDP starts: the checksum's first byte */
#define UDP_CHECK 6    /* the UDP checksum within UDP */

/* A virtio_net_hdr asking for the checksum from start, stored at start + offset. */
static void csum_hdr(uint8_t *hdr, uint8_t flags, uint16_t start, uint16_t offset)
{
	memset(hdr, 0, HDR);
	hdr[0] = flags;
	put_le16(hdr + 6, start);
	put_le16(hdr + 8, offset);
}

/* A UDP frame from A to B whose checksum field holds the pseudo-header's sum, as Linux leaves it. */
static void make_udp_frame(uint8_t *frame, uint16_t pseudo)
{
	make_frame(frame, UDP_FRAME, mac_b, mac_a);
	frame[UDP_START + UDP_CHECK] = (uint8_t)(pseudo >> 8);
	frame[UDP_START + UDP_CHECK + 1] = (uint8_t)pseudo;
}

/* The one's complement sum of n bytes as big-endian words, plus more, folded: 0xffff for a right checksum. */
static uint16_t ones_sum(const uint8_t *p, uint32_t n, uint32_t more)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		more += i & 1 ? p[i] : (uint32_t)p[i] << 8;
	while (more >> 16)
		more = (more & 0xffff) + (more >> 16);
	return (uint16_t)more;
}

/* CSUM to GUEST_CSUM: the header's request travels with the frame, whose bytes are untouched. */
static void a_partial_checksum_passes_to_a_receiver_that_takes_them(void **state)
{
	uint8_t frame[UDP_FRAME], hdr[HDR];
	uint64_t rx = post_rx(&B, 0, 2048), rx2 = post_rx(&B, 1, 2048);

	(void)state;
	A.net.v.features |= F_CSUM;
	B.net.v.features |= F_GUEST_CSUM;
	make_udp_frame(frame, 0x1234);
	csum_hdr(hdr, 1, UDP_START, UDP_CHECK);
	send_cut(&A, 0, hdr, frame, sizeof(frame), 0, 0);
	send_cut(&A, 2, no_hdr, frame, sizeof(frame), 0, 0);
	kick_tx(&A);
	assert_int_equal(used_idx(&B, RXQ), 2);
	assert_int_equal(B.ram[rx], 1);                  /* NEEDS_CSUM */
	assert_int_equal(le16(B.ram + rx + 6), UDP_START);
	assert_int_equal(le16(B.ram + rx + 8), UDP_CHECK);
	assert_int_equal(le16(B.ram + rx + 10), 1);
	assert_memory_equal(B.ram + rx + HDR, frame, sizeof(frame));
	assert_int_equal(B.ram[rx2], 0);                 /* a frame with its checksum done: no flags */
	assert_int_equal(le16(B.ram + rx2 + 6), 0);
}

/*
 * CSUM to a receiver without GUEST_CSUM: the checksum is completed in its
 * copy, the sender's chain cut at odd places and the field itself split
 * between two receive buffers; the sender's buffers stay as they were.
 */
static void a_partial_checksum_is_completed_for_a_receiver_that_does_not(void **state)
{
	static const uint32_t tx_cuts[] = { HDR + 21, 1 };
	const uint32_t field = HDR + UDP_START + UDP_CHECK;
	struct piece rx[3] = { { alloc_buf(&B, field + 1), field + 1, VIRTQ_DESC_F_WRITE },
			       { alloc_buf(&B, 1), 1, VIRTQ_DESC_F_WRITE },
			       { alloc_buf(&B, 400), 400, VIRTQ_DESC_F_WRITE } };
	uint8_t frame[UDP_FRAME], hdr[HDR], got[HDR + UDP_FRAME];
	uint64_t sent_at = A.next_buf;

	(void)state;
	A.net.v.features |= F_CSUM;
	make_udp_frame(frame, 0x1234);
	csum_hdr(hdr, 1, UDP_START, UDP_CHECK);
	post_chain(&B, RXQ, 0, rx, 3);
	send_cut(&A, 0, hdr, frame, sizeof(frame), tx_cuts, 2);
	kick_tx(&A);
	assert_int_equal(used_idx(&B, RXQ), 1);
	memcpy(got, B.ram + rx[0].addr, field + 1);
	got[field + 1] = B.ram[rx[1].addr];
	memcpy(got + field + 2, B.ram + rx[2].addr, sizeof(got) - field - 2);
	assert_int_equal(got[0], 0); /* complete: no flags */
	assert_int_equal(ones_sum(got + HDR + UDP_START, UDP_FRAME - UDP_START, 0x1234), 0xffff);
	/* All else as sent. */
	assert_memory_equal(got + HDR, frame, UDP_START + UDP_CHECK);
	assert_memory_equal(got + field + 2, frame + UDP_START + UDP_CHECK + 2, UDP_FRAME - UDP_START - UDP_CHECK - 2);
	/* The sender's third piece (alloc_buf rounds to 16 bytes), the field in it, as it was. */
	assert_memory_equal(A.ram + sent_at + ((HDR + 21 + 15) & ~15u) + 16, frame + 22, UDP_FRAME - 22);
}

/* Hostile checksum requests come back unsent and counted as malformed; nothing reaches B. */
static void hostile_checksum_requests_are_refused(void **state)
{
	static const struct { uint8_t flags; uint16_t start, offset; } cases[] = {
		{ 2, 0, 0 },                              /* DATA_VALID: the device's to set */
		{ 3, UDP_START, UDP_CHECK },              /* NEEDS_CSUM with DATA_VALID */
		{ 4, 0, 0 },                              /* RSC_INFO */
		{ 1, UDP_FRAME - 1, 0 },                  /* a field one byte long */
		{ 1, UDP_START, UDP_FRAME - UDP_START - 1 }, /* a field past the end */
		{ 1, 0xffff, 0xffff },                    /* sums that wrap 16 bits */
		{ 1, 2, 4 },                              /* on the source MAC */
		{ 1, 0, 12 },                             /* on the EtherType */
	};
	uint8_t frame[UDP_FRAME], hdr[HDR];
	uint16_t i, n = sizeof(cases) / sizeof(cases[0]);

	(void)state;
	A.net.v.features |= F_CSUM;
	B.net.v.features |= F_GUEST_CSUM;
	post_rx(&B, 0, 2048);
	make_udp_frame(frame, 0);
	for (i = 0; i < n; i++) {
		csum_hdr(hdr, cases[i].flags, cases[i].start, cases[i].offset);
		send_cut(&A, i, hdr, frame, sizeof(frame), 0, 0);
	}
	kick_tx(&A);
	assert_int_equal(used_idx(&A, TXQ), n);
	assert_int_equal(drops(&A, VSW_DROP_MALFORMED), n);
	assert_int_equal(used_idx(&B, RXQ), 0);
}

static void a_spoofed_source_is_dropped(void **state)
{
	static const uint8_t other[VSW_MAC_LEN] = { 2, 0, 0, 0, 0, 0x99 };
	uint8_t frame[64];

	(void)state;
	post_rx(&B, 0, 4096);
	make_frame(frame, sizeof(frame), mac_b, other);
	send_frame(&A, frame, sizeof(frame));
	kick_tx(&A);
	assert_int_equal(drops(&A, VSW_DROP_SPOOFED), 1);
	assert_int_equal(used_idx(&B, RXQ), 0);
	assert_int_equal(used_idx(&A, TXQ), 1);
}

static void a_detached_port_sends_nothing_and_a_driverless_one_receives_nothing(void **state)
{
	uint8_t frame[64];

	(void)state;
	post_rx(&B, 0, 4096);
	make_frame(frame, sizeof(frame), mac_b, mac_a);
	virtio_net_detach(&A.net);
	send_frame(&A, frame, sizeof(frame));
	kick_tx(&A);
	assert_int_equal(drops(&A, VSW_DROP_LINK_DOWN), 1);
	assert_int_equal(used_idx(&B, RXQ), 0);
	/* B's driver is gone (status 0): A's frame is lost, counted at B. */
	virtio_net_attach(&A.net);
	B.net.v.status = 0;
	send_cut(&A, 1, no_hdr, frame, sizeof(frame), 0, 0);
	kick_tx(&A);
	assert_int_equal(drops(&B, VSW_DROP_LINK_DOWN), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(config_shows_the_ports_mac_and_link, setup, teardown),
		cmocka_unit_test_setup_teardown(a_frame_is_copied_into_the_receivers_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(frames_cut_anywhere_arrive_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(one_notification_sends_a_full_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(no_buffer_posted_loses_the_frame_not_the_sender, setup, teardown),
		cmocka_unit_test_setup_teardown(a_buffer_too_small_comes_back_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(receive_chains_the_device_may_not_write_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_transmit_chains_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(a_partial_checksum_passes_to_a_receiver_that_takes_them, setup, teardown),
		cmocka_unit_test_setup_teardown(a_partial_checksum_is_completed_for_a_receiver_that_does_not, setup,
						teardown),
		cmocka_unit_test_setup_teardown(hostile_checksum_requests_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(a_spoofed_source_is_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(a_detached_port_sends_nothing_and_a_driverless_one_receives_nothing, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("virtio_net", tests, NULL, NULL);
}
