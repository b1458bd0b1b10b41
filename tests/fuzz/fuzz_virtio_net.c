/* libFuzzer target: virtio-net's transmit and receive paths (hv/vdev/virtio_net.c)
 * between two partitions on one switch, with rings the input writes: a
 * byte of offloads taken (the sender's CSUM, the receiver's GUEST_CSUM), the
 * sender's transmit descriptors, available ring and buffers, the
 * receiver's receive descriptors and available ring, then a notification.
 * Throughout (ASan): no access outside either partition's RAM. After it:
 * each chain given back was one the driver made available, with a length
 * inside what it posted; whatever the receiver got comes from the sender's
 * MAC (a checksum completed in it never lands on the addresses), with a
 * partial checksum flagged only to a receiver that took GUEST_CSUM; no
 * lock is left held. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/le.h"
#include "net.h"
#include "partition.h"
#include "vdev/irq.h"
#include "vdev/virtio_net.h"

#define RAM (64u << 10)
#define QSIZE 8
#define DESC 0x1000u  /* queue q's table at DESC + 0x1000 * 3 * q, then avail, then used */
#define TABLE (16 * QSIZE)
#define AVAIL_RING (4 + 2 * QSIZE)
#define F_CSUM (1ull << 0)
#define F_GUEST_CSUM (1ull << 1)

struct side {
	struct cfg_partition cfg;
	struct partition part;
	struct virtio_net net;
	uint8_t *ram;
};

static struct side tx_side, rx_side;
static struct vswitch sw;
static struct vsw_port *ports[2];
static const uint8_t macs[2][VSW_MAC_LEN] = { { 2, 0, 0, 0, 0, 1 }, { 2, 0, 0, 0, 0, 2 } };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

uint64_t net_now_ns(void)
{
	return 0;
}

uint64_t net_ticks(void)
{
	return 0;
}

void net_spent(uint64_t start)
{
	(void)start;
}

int irq_deliver(struct partition *p, const struct irq_msg *m)
{
	(void)p;
	(void)m;
	return 0;
}

static uint64_t ring(unsigned q, unsigned part)
{
	return DESC + 0x1000u * (3 * q + part);
}

static void start(struct side *s, int index, uint64_t offloads)
{
	struct vq_ram r;
	unsigned q;

	if (!s->ram)
		s->ram = aligned_alloc(4096, RAM);
	memset(s->ram, 0, RAM);
	s->cfg = (struct cfg_partition){ .name = "f", .memory = RAM };
	/* The device reads only these of its partition, and the bus and the PCI
	 * segment are set up whole below: zeroing the rest of struct partition
	 * (over 170 KiB) at each start is needless work. */
	s->part.cfg = &s->cfg;
	s->part.ram_size = RAM;
	r = (struct vq_ram){ .base = s->ram, .pa = 0x80000000, .size = RAM };
	vdev_bus_init(&s->part.bus);
	if (vpci_init(&s->part.pci, &s->part) ||
	    virtio_net_init(&s->net, &s->part, &r, &s->part.pci, 10, &sw, ports[index]) ||
	    vpci_start(&s->part.pci))
		abort();
	for (q = 0; q < 2; q++) {
		if (vq_setup(&s->net.v.q[q].vq, &r, QSIZE, ring(q, 0), ring(q, 1), ring(q, 2), 1, 1))
			abort();
		s->net.v.q[q].enabled = 1;
	}
	s->net.v.features = VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC | offloads;
	s->net.v.status = VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
	virtio_net_attach(&s->net);
}

/* n bytes of input into RAM at gpa (what is missing stays zero); returns the input left. */
static const uint8_t *take(const uint8_t *d, size_t *size, uint8_t *ram, uint64_t gpa, size_t n)
{
	n = n < *size ? n : *size;
	memcpy(ram + gpa, d, n);
	*size -= n;
	return d + n;
}

/* The chains given back on queue q: made available, with lengths inside what was posted. */
static void check_used(const struct side *s, unsigned q)
{
	const uint8_t *used = s->ram + ring(q, 2), *avail = s->ram + ring(q, 1);
	uint16_t n = le16(used + 2), made = le16(avail + 2), i;

	if (n > made || n > QSIZE)
		abort();
	for (i = 0; i < n && i < QSIZE; i++) {
		uint32_t id = le32(used + 4 + 8 * i), len = le32(used + 8 + 8 * i);
		if (id >= QSIZE || (q == 1 && len != 0) || (q == 0 && len > VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MAX))
			abort();
	}
}

/* 1 if a receive buffer could overwrite the receiver's rings (its own doing): its used ring is then no witness. */
static int rx_rings_exposed(const struct side *s)
{
	const uint8_t *desc = s->ram + ring(0, 0);
	unsigned i;

	for (i = 0; i < QSIZE; i++) {
		const uint8_t *d = desc + 16 * i;
		uint64_t addr = le64(d), end = addr + le32(d + 8);
		if ((le16(d + 12) & VIRTQ_DESC_F_INDIRECT) || (end > addr && addr < ring(1, 0) && end > DESC) ||
		    end < addr)
			return 1;
	}
	return 0;
}

/*
 * 1 if a later frame could overwrite descriptor id's buffer (the guest's own
 * doing): another descriptor's buffer overlaps it, or another chain goes on
 * into it. Its contents are then no witness of the frame it got.
 */
static int rx_buffer_shared(const struct side *s, uint16_t id)
{
	const uint8_t *desc = s->ram + ring(0, 0), *mine = desc + 16 * id;
	uint64_t addr = le64(mine), end = addr + le32(mine + 8);
	unsigned i;

	for (i = 0; i < QSIZE; i++) {
		const uint8_t *d = desc + 16 * i;
		uint64_t a = le64(d), e = a + le32(d + 8);
		if (i != id && ((a < end && e > addr) || ((le16(d + 12) & VIRTQ_DESC_F_NEXT) && le16(d + 14) == id)))
			return 1;
	}
	return 0;
}

/* A frame the receiver got in a one-buffer chain none other shares: its source is the sender's port. */
static void check_received(const struct side *s)
{
	const uint8_t *used = s->ram + ring(0, 2), *desc = s->ram + ring(0, 0);
	uint16_t n = le16(used + 2), i;

	for (i = 0; i < n && i < QSIZE; i++) {
		uint32_t id = le32(used + 4 + 8 * i), len = le32(used + 8 + 8 * i);
		const uint8_t *d = desc + 16 * id;
		uint64_t addr = le64(d);
		if (len && !(le16(d + 12) & (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT)) && addr < RAM &&
		    le32(d + 8) >= len && addr + len <= RAM && !rx_buffer_shared(s, (uint16_t)id) &&
		    (memcmp(s->ram + addr + VIRTIO_NET_HDR_LEN + VSW_MAC_LEN, macs[0], VSW_MAC_LEN) ||
		     s->ram[addr] > (s->net.v.features & F_GUEST_CSUM ? 1 : 0)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t offloads = size ? data[0] : 0;
	int exposed;

	data += size != 0;
	size -= size != 0;
	vsw_init(&sw, "fuzz");
	ports[0] = vsw_add_port(&sw, "t.0", macs[0]);
	ports[1] = vsw_add_port(&sw, "r.0", macs[1]);
	start(&tx_side, 0, offloads & 1 ? F_CSUM : 0);
	start(&rx_side, 1, offloads & 2 ? F_GUEST_CSUM : 0);
	data = take(data, &size, tx_side.ram, ring(1, 0), TABLE);
	data = take(data, &size, tx_side.ram, ring(1, 1), AVAIL_RING);
	data = take(data, &size, rx_side.ram, ring(0, 0), TABLE);
	data = take(data, &size, rx_side.ram, ring(0, 1), AVAIL_RING);
	data = take(data, &size, tx_side.ram, DESC + 0x1000u * 6, RAM - DESC - 0x1000u * 6);
	exposed = rx_rings_exposed(&rx_side);
	tx_side.net.v.type->notify(&tx_side.net.v, 1);
	check_used(&tx_side, 1);
	if (!exposed) {
		check_used(&rx_side, 0);
		check_received(&rx_side);
	}
	if (sw.lock.locked || tx_side.net.v.lock.locked || rx_side.net.v.lock.locked)
		abort();
	return 0;
}
