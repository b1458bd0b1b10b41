/*
 * virtio-blk host driver over the virtio 1.x PCI transport (virtio 1.2;
 * section numbers below are that document's).
 *
 * Of the structures the vendor-specific capabilities name (4.1.4), the
 * common configuration, notifications and the device's own configuration
 * (no ISR status: only MSI-X interrupts are taken). Bring-up (3.1.1): reset, ACKNOWLEDGE, DRIVER, features
 * (virtio_blk_host_queue.h's list, VERSION_1 required; the boot log names
 * those taken and those left), FEATURES_OK read back, queue 0 as a split
 * virtqueue in pages the hypervisor allocates (physical addresses: the
 * hypervisor maps memory one to one), DRIVER_OK. poll() reads the used
 * ring. With MSI-X, the queue's used buffers signal entry 0 (the
 * configuration-change vector stays off), which wakes a CPU to poll at
 * once; without, the available ring asks for no interrupts.
 *
 * A block request becomes one or more commands, each a chain of a 16-byte
 * header, the data descriptors (straight on the request's segments: no
 * bounce buffer) and a status byte; SEG_MAX, SIZE_MAX and the free
 * descriptors split it (virtio_blk_host_queue.c), and it completes when
 * its last command does. A header and a status byte belong to each
 * descriptor that can head a chain. Without FLUSH the device writes
 * through (5.2.6.2), so the disk is registered without a volatile cache
 * and BLK_FLUSH completes at once.
 *
 * Errors: a used element the queue refuses (an id that heads no chain in
 * flight, a used index ahead of what is in flight), a used length short
 * of the data and status the device should have written, or the device
 * setting DEVICE_NEEDS_RESET (2.1.2): logged; every request the device
 * held fails with BLK_E_IO and the device is reset and brought up again.
 * A command outstanding at its request's deadline: the device is reset
 * (which ends its use of the rings, 2.1.2), requests past their deadline
 * complete with BLK_E_TIMEOUT and the others are issued again from their
 * start. A device that does not come back loses its bus mastering (it may
 * not have finished the reset that was to end its commands) and fails
 * every request with BLK_E_IO from then on.
 */
#include "virtio_blk_host.h"

#include "arch.h"
#include "block.h"
#include "ata_cmd.h"
#include "lib/fmt.h"
#include "lib/le.h"
#include "lib/spinlock.h"
#include "log.h"
#include "mm.h"
#include "pci_host.h"
#include "pci_msi.h"
#include "virtio_blk_host_queue.h"

#define VBH_DISKS_MAX 4
#define RESET_TIMEOUT_MS 1000
#define CAPS_MAX 48 /* vendor capabilities looked at: a list that loops ends */
#define CONFIG_TRIES 8 /* reads of the device configuration until its generation holds still (4.1.4.3.1) */
#define STATUS_AREA 2048 /* headers, 16 bytes each, then status bytes, in one page */
#define STATUS_UNSET 0xff /* not a status: what the device did not write */

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_BLK_MODERN 0x1042 /* 0x1040 + device ID 2 (4.1.2.1) */
#define VIRTIO_BLK_TRANSITIONAL 0x1001

_Static_assert(VBHQ_SIZE_MAX * VIRTIO_BLK_HEADER_SIZE <= STATUS_AREA && STATUS_AREA + VBHQ_SIZE_MAX <= 4096,
	       "headers and statuses fit one page");

struct region {
	volatile uint8_t *p;
	uint32_t len;
};

struct command {
	struct blk_req *req; /* NULL: no chain headed here */
	uint32_t bytes;      /* data */
	uint8_t read;
};

struct vbh_disk {
	struct blk_dev dev;
	const struct hpci_dev *pci;
	unsigned index;
	struct region common, notify, device;
	uint32_t notify_multiplier;
	volatile uint16_t *doorbell; /* queue 0's notification address */
	uint64_t offered, features;
	uint16_t qsize;
	struct vbhq_limits lim;
	struct vbhq q;
	uint8_t *ring, *hdr;
	uint64_t ring_pa, hdr_pa;
	struct command cmd[VBHQ_SIZE_MAX];
	struct spinlock lock;
	uint32_t inflight; /* requests accepted and not yet finished */
	struct blk_pending pending; /* accepted, not every command issued */
	struct blk_finished finished;
	int failed;
	enum blk_irq irq;
	char irq_mode[HPCI_MODE_TEXT];
};

static struct vbh_disk disks[VBH_DISKS_MAX];
static unsigned ndisks;

/* ---- registers: each field with its own width (4.1.3.1) */

static uint8_t cc_read8(const struct vbh_disk *d, unsigned off)
{
	return d->common.p[off];
}

static uint16_t cc_read16(const struct vbh_disk *d, unsigned off)
{
	return *(volatile uint16_t *)(d->common.p + off);
}

static uint32_t cc_read32(const struct vbh_disk *d, unsigned off)
{
	return *(volatile uint32_t *)(d->common.p + off);
}

static void cc_write8(const struct vbh_disk *d, unsigned off, uint8_t v)
{
	d->common.p[off] = v;
}

static void cc_write16(const struct vbh_disk *d, unsigned off, uint16_t v)
{
	*(volatile uint16_t *)(d->common.p + off) = v;
}

static void cc_write32(const struct vbh_disk *d, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(d->common.p + off) = v;
}

/* 64-bit fields as two 32-bit halves, low first (4.1.3.1). */
static void cc_write64(const struct vbh_disk *d, unsigned off, uint64_t v)
{
	cc_write32(d, off, (uint32_t)v);
	cc_write32(d, off + 4, (uint32_t)(v >> 32));
}

static uint32_t cfg_read32(const struct vbh_disk *d, unsigned off)
{
	return off + 4 <= d->device.len ? *(volatile uint32_t *)(d->device.p + off) : 0;
}

/* ---- the capabilities (4.1.4) */

/* The capability's structure, if it lies inside a memory BAR that can be mapped and holds at least min bytes. */
static int map_region(const struct vbh_disk *d, uint8_t cap, uint32_t min, struct region *r)
{
	uint8_t bar = hpci_read8(d->pci, cap + VIRTIO_PCI_CAP_BAR);
	uint32_t offset = hpci_read32(d->pci, cap + VIRTIO_PCI_CAP_OFFSET);
	uint32_t len = hpci_read32(d->pci, cap + VIRTIO_PCI_CAP_LENGTH);
	volatile uint8_t *base;

	if (bar >= HPCI_BARS || len < min || (uint64_t)offset + len > d->pci->bar[bar].size)
		return -1;
	base = hpci_map_bar(d->pci, bar);
	if (!base)
		return -1;
	*r = (struct region){ base + offset, len };
	return 0;
}

/* The first usable capability of each type (4.1.4.1: the driver uses the first it can). */
static const char *find_regions(struct vbh_disk *d)
{
	uint8_t cap = 0;
	unsigned n;

	for (n = 0; n < CAPS_MAX && (cap = hpci_next_cap(d->pci, VIRTIO_PCI_CAP_VENDOR, cap)); n++) {
		uint8_t type = hpci_read8(d->pci, cap + VIRTIO_PCI_CAP_CFG_TYPE);
		uint8_t cap_len = hpci_read8(d->pci, cap + VIRTIO_PCI_CAP_CAP_LEN);

		if (type == VIRTIO_PCI_CAP_COMMON && !d->common.p)
			map_region(d, cap, VIRTIO_CC_SIZE, &d->common);
		else if (type == VIRTIO_PCI_CAP_DEVICE && !d->device.p)
			map_region(d, cap, VIRTIO_BLK_CFG_SIZE_MAX, &d->device); /* the capacity at least */
		else if (type == VIRTIO_PCI_CAP_NOTIFY && !d->notify.p && cap_len >= VIRTIO_PCI_CAP_NOTIFY_LEN &&
			 map_region(d, cap, 2, &d->notify) == 0)
			d->notify_multiplier = hpci_read32(d->pci, cap + VIRTIO_PCI_CAP_MULTIPLIER);
	}
	if (!d->common.p || !d->notify.p || !d->device.p)
		return "no usable common, notify or device configuration capability (a legacy-only device?)";
	return 0;
}

/* ---- bring-up (3.1.1) */

static int reset_device(const struct vbh_disk *d)
{
	uint64_t end = blk_deadline_ms(RESET_TIMEOUT_MS);

	cc_write8(d, VIRTIO_CC_STATUS, 0);
	/* The reset is done when the status reads 0 again (4.1.4.3.2). */
	while (cc_read8(d, VIRTIO_CC_STATUS)) {
		if (arch_tsc() > end)
			return -1;
		arch_relax();
	}
	return 0;
}

static void add_status(const struct vbh_disk *d, uint8_t bits)
{
	cc_write8(d, VIRTIO_CC_STATUS, (uint8_t)(cc_read8(d, VIRTIO_CC_STATUS) | bits));
}

static uint64_t device_features(const struct vbh_disk *d)
{
	uint64_t f;

	cc_write32(d, VIRTIO_CC_DEVICE_FEATURE_SELECT, 0);
	f = cc_read32(d, VIRTIO_CC_DEVICE_FEATURE);
	cc_write32(d, VIRTIO_CC_DEVICE_FEATURE_SELECT, 1);
	return f | (uint64_t)cc_read32(d, VIRTIO_CC_DEVICE_FEATURE) << 32;
}

static const char *negotiate(struct vbh_disk *d)
{
	const char *why;

	d->offered = device_features(d);
	why = vbhq_negotiate(d->offered, &d->features);
	if (why)
		return why;
	cc_write32(d, VIRTIO_CC_DRIVER_FEATURE_SELECT, 0);
	cc_write32(d, VIRTIO_CC_DRIVER_FEATURE, (uint32_t)d->features);
	cc_write32(d, VIRTIO_CC_DRIVER_FEATURE_SELECT, 1);
	cc_write32(d, VIRTIO_CC_DRIVER_FEATURE, (uint32_t)(d->features >> 32));
	add_status(d, VIRTIO_STATUS_FEATURES_OK);
	if (!(cc_read8(d, VIRTIO_CC_STATUS) & VIRTIO_STATUS_FEATURES_OK))
		return "it refused the features taken (FEATURES_OK did not stay set)";
	return 0;
}

/* The largest power of two the device's queue 0 takes, at most VBHQ_SIZE_MAX; 0 when it is too small. */
static uint16_t queue_size(const struct vbh_disk *d)
{
	uint16_t max = cc_read16(d, VIRTIO_CC_QUEUE_SIZE), size = VBHQ_SIZE_MAX;

	while (size > max)
		size >>= 1;
	return size >= 4 ? size : 0; /* a read takes three descriptors */
}

/* With MSI-X routed: queue 0 (selected) on entry 0, read back as the device took it (4.1.5.1.2). */
static void take_interrupts(struct vbh_disk *d)
{
	if (d->irq != BLK_MSIX)
		return;
	cc_write16(d, VIRTIO_CC_CONFIG_MSIX, VIRTIO_NO_VECTOR);
	cc_write16(d, VIRTIO_CC_QUEUE_MSIX, 0);
	if (cc_read16(d, VIRTIO_CC_QUEUE_MSIX) != 0) {
		d->irq = BLK_POLLED;
		fmt(d->irq_mode, sizeof(d->irq_mode), "polled (the device refused MSI-X entry 0 for its queue)");
		return;
	}
	vbhq_want_interrupts(&d->q);
}

/* Queue 0, empty, in the disk's ring page (4.1.5.1.3). */
static const char *setup_queue(struct vbh_disk *d)
{
	uint64_t notify_off;

	cc_write16(d, VIRTIO_CC_QUEUE_SELECT, 0);
	if (!d->qsize)
		d->qsize = queue_size(d);
	if (!d->qsize)
		return "its queue 0 is missing or holds fewer than 4 entries";
	cc_write16(d, VIRTIO_CC_QUEUE_SIZE, d->qsize);
	vbhq_init(&d->q, d->qsize, d->ring, d->ring_pa);
	take_interrupts(d);
	cc_write64(d, VIRTIO_CC_QUEUE_DESC, d->q.desc_pa);
	cc_write64(d, VIRTIO_CC_QUEUE_DRIVER, d->q.avail_pa);
	cc_write64(d, VIRTIO_CC_QUEUE_DEVICE, d->q.used_pa);
	notify_off = (uint64_t)cc_read16(d, VIRTIO_CC_QUEUE_NOTIFY_OFF) * d->notify_multiplier;
	if (notify_off + 2 > d->notify.len)
		return "its queue's notification address is outside its notify structure";
	d->doorbell = (volatile uint16_t *)(d->notify.p + notify_off);
	cc_write16(d, VIRTIO_CC_QUEUE_ENABLE, 1);
	return 0;
}

/* Reset to DRIVER_OK; NULL, or why not (the device is left reset). */
static const char *start_device(struct vbh_disk *d)
{
	const char *why;

	if (reset_device(d))
		return "it did not finish a reset";
	hpci_enable(d->pci, HPCI_CMD_MASTER); /* only now: the reset stopped the queue the firmware left running */
	add_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	add_status(d, VIRTIO_STATUS_DRIVER);
	why = negotiate(d);
	if (!why)
		why = setup_queue(d);
	if (why) {
		cc_write8(d, VIRTIO_CC_STATUS, VIRTIO_STATUS_FAILED);
		return why;
	}
	add_status(d, VIRTIO_STATUS_DRIVER_OK);
	return 0;
}

/* ---- requests */

static void finish(struct vbh_disk *d, struct blk_req *r, enum blk_status s)
{
	d->inflight--;
	blk_finish(&d->finished, r, s);
}

/* A request whose last command completed, or that can issue no more, is finished once nothing is outstanding. */
static void maybe_finish(struct vbh_disk *d, struct blk_req *r)
{
	if (blk_split_over(r))
		finish(d, r, (enum blk_status)(r->driver[BLK_SPLIT_STATE] & BLK_SPLIT_STATUS));
}

/*
 * The request's next command as buffers: header, data, status; their
 * number, or 0 when the data cannot be described in whole blocks. The
 * header and status are those of the chain's head-to-be (vbhq_add takes
 * the free list's head). *at and *blocks: where the command leaves the
 * request.
 */
static unsigned build_command(const struct vbh_disk *d, const struct blk_req *r, struct blk_cursor *at,
			      uint32_t *blocks, struct vbhq_buf *buf)
{
	uint16_t head = d->q.free_head;
	uint64_t left = (uint64_t)(r->blocks - r->driver[BLK_SPLIT_ISSUED]) * d->dev.block_size;
	uint32_t ndata = 0, bytes = 0;

	buf[0] = (struct vbhq_buf){ d->hdr_pa + VIRTIO_BLK_HEADER_SIZE * head, VIRTIO_BLK_HEADER_SIZE, 0 };
	if (r->op != BLK_FLUSH) {
		bytes = vbhq_build_data(r->seg, r->nseg, at, left < VBHQ_CMD_BYTES_MAX ? (uint32_t)left : VBHQ_CMD_BYTES_MAX,
					&d->lim, r->op == BLK_READ, buf + 1, &ndata);
		if (!bytes)
			return 0;
	}
	*blocks = bytes / d->dev.block_size;
	buf[ndata + 1] = (struct vbhq_buf){ d->hdr_pa + STATUS_AREA + head, 1, 1 };
	return ndata + 2;
}

/* The header (5.2.6): type, reserved, sector in 512-byte units whatever the block size. */
static void write_header(struct vbh_disk *d, uint16_t head, const struct blk_req *r)
{
	uint8_t *h = d->hdr + VIRTIO_BLK_HEADER_SIZE * head;
	uint32_t type = r->op == BLK_READ ? VIRTIO_BLK_T_IN : r->op == BLK_WRITE ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_FLUSH;
	uint64_t lba = r->op == BLK_FLUSH ? 0 : r->lba + r->driver[BLK_SPLIT_ISSUED];

	put_le32(h, type);
	put_le32(h + 4, 0);
	put_le64(h + 8, lba * (d->dev.block_size / BLK_SECTOR));
	d->hdr[STATUS_AREA + head] = STATUS_UNSET;
}

/* Issues one command of the pending head request; 0, or -1 when it waits for free descriptors. */
static int issue_one(struct vbh_disk *d, struct blk_req *r)
{
	struct vbhq_buf buf[VBHQ_SIZE_MAX];
	struct blk_cursor at = blk_split_cursor(r);
	uint32_t blocks = 0;
	unsigned n = build_command(d, r, &at, &blocks, buf);
	int head;

	if (!n) {
		log_warn("%s: a request's buffers cannot be described in whole blocks within SEG_MAX and SIZE_MAX; "
			 "failed", d->dev.name);
		blk_split_give_up(r, BLK_E_IO);
		blk_pending_pop(&d->pending);
		maybe_finish(d, r);
		return 0;
	}
	if (n > d->q.nfree)
		return -1;
	write_header(d, d->q.free_head, r);
	head = vbhq_add(&d->q, buf, n);
	d->cmd[head] = (struct command){ r, n > 2 ? (blocks * d->dev.block_size) : 0, r->op == BLK_READ };
	blk_split_issued(r, at, blocks);
	if (blk_split_all_issued(r))
		blk_pending_pop(&d->pending);
	return 0;
}

static void issue_pending(struct vbh_disk *d)
{
	uint16_t before = d->q.avail_idx;

	while (d->pending.head && issue_one(d, d->pending.head) == 0)
		;
	if (d->q.avail_idx != before && vbhq_publish(&d->q))
		*d->doorbell = 0; /* queue 0 (4.1.5.2) */
}

/* A command back on the used ring: its outcome from the used length and its status byte. */
static void complete_command(struct vbh_disk *d, uint16_t head, uint32_t len)
{
	struct command *c = &d->cmd[head];
	struct blk_req *r = c->req;
	uint8_t status = d->hdr[STATUS_AREA + head];
	enum blk_status outcome = vbhq_outcome(c->read, c->bytes, len, status);

	c->req = 0;
	if (outcome != BLK_OK)
		log_warn("%s: command failed: status %u, used length %u of %u, LBA %llu", d->dev.name, status, len,
			 c->read ? c->bytes + 1 : 1, (unsigned long long)r->lba);
	blk_split_completed(r, outcome);
	maybe_finish(d, r);
}

/* Every request the disk holds, its commands forgotten: after a reset the device holds none. */
static struct blk_req *take_all(struct vbh_disk *d)
{
	struct blk_req *all = 0;
	unsigned i;

	blk_pending_take(&d->pending, &all);
	for (i = 0; i < VBHQ_SIZE_MAX; i++) {
		if (d->cmd[i].req)
			blk_split_collect(d->cmd[i].req, &all);
		d->cmd[i].req = 0;
	}
	return all;
}

/*
 * Resets the device and brings it up again. On a timeout (now != 0) the
 * requests past their deadline fail with BLK_E_TIMEOUT and the others are
 * issued again; after a device error (now == 0) every held request fails.
 */
static void recover(struct vbh_disk *d, const char *why, uint64_t now)
{
	struct blk_req *r = take_all(d), *next;
	const char *restart = start_device(d);

	d->failed = restart != 0;
	/* It may not have finished its reset: no more DMA into the buffers of the requests failed below. */
	if (d->failed)
		hpci_disable(d->pci, HPCI_CMD_MASTER);
	log_warn("%s: %s; device reset: %s%s", d->dev.name, why, restart ? restart : "done",
		 restart ? ", its disk fails every request" : "");
	for (; r; r = next) {
		next = r->next;
		if (now && r->deadline <= now)
			finish(d, r, BLK_E_TIMEOUT);
		else if (!now || d->failed)
			finish(d, r, BLK_E_IO);
		else {
			blk_split_restart(r);
			blk_pending_add(&d->pending, r);
		}
	}
}

/* The used ring read; NULL, or why the device cannot be trusted further. */
static const char *reap(struct vbh_disk *d)
{
	uint16_t head;
	uint32_t len;
	enum vbhq_used u;

	while ((u = vbhq_take_used(&d->q, &head, &len)) == VBHQ_DONE)
		complete_command(d, head, len);
	if (u == VBHQ_BAD_IDX)
		return "the used index ran ahead of the commands in flight";
	if (u == VBHQ_BAD_ID)
		return "a used element names a descriptor that heads no command in flight";
	return 0;
}

static int deadline_passed(const struct vbh_disk *d, uint64_t now)
{
	unsigned i;

	for (i = 0; i < d->qsize; i++)
		if (d->cmd[i].req && d->cmd[i].req->deadline <= now)
			return 1;
	return 0;
}

/* The device's status register, read only while it seems stuck: on a VM host each read is an exit. */
static const char *device_broken(const struct vbh_disk *d, int progress)
{
	uint8_t status;

	if (progress || !d->q.inflight)
		return 0;
	status = cc_read8(d, VIRTIO_CC_STATUS);
	if (status == 0xff)
		return "its registers read all ones";
	if (status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED))
		return "it set DEVICE_NEEDS_RESET";
	return 0;
}

static void check_device(struct vbh_disk *d)
{
	uint16_t used_before = d->q.last_used;
	const char *why = reap(d);

	if (!why)
		why = device_broken(d, d->q.last_used != used_before);
	if (why)
		recover(d, why, 0);
	else if (deadline_passed(d, arch_tsc()))
		recover(d, "a command passed its deadline", arch_tsc());
}

static void vbh_poll(struct blk_dev *dev)
{
	struct vbh_disk *d = dev->priv;
	struct blk_finished f;

	spin_lock(&d->lock);
	if (!d->failed) {
		check_device(d);
		issue_pending(d);
	}
	f = d->finished;
	d->finished.head = 0;
	spin_unlock(&d->lock);
	blk_finish_all(&f);
}

static int vbh_submit(struct blk_dev *dev, struct blk_req *r)
{
	struct vbh_disk *d = dev->priv;
	enum blk_status check = ata_check_request(dev, r);

	spin_lock(&d->lock);
	if (d->inflight >= d->dev.queue_depth) {
		spin_unlock(&d->lock);
		return -1;
	}
	d->inflight++;
	blk_split_restart(r);
	if (check == BLK_OK && r->op == BLK_FLUSH && !d->dev.write_cache)
		finish(d, r, BLK_OK); /* written through: nothing to flush */
	else if (check != BLK_OK || d->failed)
		finish(d, r, check != BLK_OK ? check : BLK_E_IO); /* done() from the next poll, as block.h promises */
	else {
		blk_pending_add(&d->pending, r);
		issue_pending(d);
	}
	spin_unlock(&d->lock);
	return 0;
}

static const struct blk_ops vbh_ops = { vbh_submit, vbh_poll };

/* ---- the disk */

/* Capacity and block size from the device configuration, read until its generation holds still (4.1.4.3.1). */
static const char *read_config(struct vbh_disk *d, uint32_t *seg_max, uint32_t *size_max)
{
	uint64_t sectors = 0;
	uint32_t block_size = BLK_SECTOR, tries;
	uint8_t gen;

	for (tries = 0; tries < CONFIG_TRIES; tries++) {
		gen = cc_read8(d, VIRTIO_CC_GENERATION);
		sectors = cfg_read32(d, VIRTIO_BLK_CFG_CAPACITY) |
			  (uint64_t)cfg_read32(d, VIRTIO_BLK_CFG_CAPACITY + 4) << 32;
		*size_max = cfg_read32(d, VIRTIO_BLK_CFG_SIZE_MAX);
		*seg_max = cfg_read32(d, VIRTIO_BLK_CFG_SEG_MAX);
		if (d->features & VIRTIO_BLK_F_BLK_SIZE)
			block_size = cfg_read32(d, VIRTIO_BLK_CFG_BLK_SIZE);
		if (gen == cc_read8(d, VIRTIO_CC_GENERATION))
			break;
	}
	if (tries == CONFIG_TRIES)
		return "its configuration kept changing while read";
	if (block_size < BLK_SECTOR || block_size > 4096 || (block_size & (block_size - 1)))
		return "its block size is not a power of two from 512 to 4096";
	d->dev.block_size = block_size;
	d->dev.blocks = sectors / (block_size / BLK_SECTOR);
	if (!d->dev.blocks)
		return "its capacity is 0";
	return 0;
}

static const char *bring_up(struct vbh_disk *d)
{
	uint64_t ring = mm_alloc(1), hdr = mm_alloc(1);
	uint32_t seg_max = 0, size_max = 0;
	const char *why;

	if (!ring || !hdr)
		return "no memory for its queue";
	d->ring = mm_ptr(ring);
	d->ring_pa = ring;
	d->hdr = mm_ptr(hdr);
	d->hdr_pa = hdr;
	blk_pending_init(&d->pending);
	why = find_regions(d);
	if (why)
		return why;
	hpci_enable(d->pci, HPCI_CMD_MEM | HPCI_CMD_INTX_OFF);
	d->irq = hpci_route_disk_irq(d->pci, HPCI_TAKE_MSIX, d->irq_mode, sizeof(d->irq_mode));
	why = start_device(d);
	if (!why)
		why = read_config(d, &seg_max, &size_max);
	if (why)
		return why;
	d->lim = vbhq_limits(d->features, seg_max, size_max, d->dev.block_size, d->qsize);
	return 0;
}

static void log_disk(const struct vbh_disk *d)
{
	const struct hpci_dev *p = d->pci;
	char taken[160], left[160], size_max[24];

	vbhq_feature_names(d->features, taken, sizeof(taken));
	vbhq_feature_names(d->offered & ~d->features, left, sizeof(left));
	if (d->lim.size_max == ~0u)
		fmt(size_max, sizeof(size_max), "any size");
	else
		fmt(size_max, sizeof(size_max), "up to %u bytes", d->lim.size_max);
	log_info("%s: %02x:%02x.%u virtio-blk %04x:%04x, a queue of %u entries, %u segments of %s a command, "
		 "%s", d->dev.name, p->bus, p->dev, p->fn, p->vendor, p->device, d->qsize,
		 d->lim.seg_max, size_max, d->irq_mode);
	log_info("%s: features taken: %s; offered and not used: %s", d->dev.name, taken, left);
	log_info("%s: %llu blocks of %u bytes (%llu MiB), volatile write cache %s, %s", d->dev.name,
		 (unsigned long long)d->dev.blocks, d->dev.block_size,
		 (unsigned long long)(d->dev.blocks * d->dev.block_size >> 20),
		 d->dev.write_cache ? "yes (flushes reach the media)" : "no (FLUSH not offered: written through)",
		 d->dev.read_only ? "write-protected" : "read-write");
}

static void add_disk(struct vbh_disk *d)
{
	const char *why = bring_up(d);

	if (why) {
		log_warn("%s: %02x:%02x.%u left out: %s", d->dev.name, d->pci->bus, d->pci->dev, d->pci->fn, why);
		if (d->common.p)
			reset_device(d); /* no DMA into its queue, which stays allocated all the same */
		return;
	}
	fmt(d->dev.model, sizeof(d->dev.model), "virtio-blk");
	d->dev.queue_depth = d->qsize;
	d->dev.read_only = (d->features & VIRTIO_BLK_F_RO) != 0;
	d->dev.write_cache = (d->features & VIRTIO_BLK_F_FLUSH) != 0;
	d->dev.irq = d->irq;
	d->dev.ops = &vbh_ops;
	d->dev.priv = d;
	log_disk(d);
	ndisks++;
	if (blk_register(&d->dev))
		log_warn("%s: the block device table is full; left out", d->dev.name);
}

static int is_virtio_blk(const struct hpci_dev *p)
{
	return p->vendor == VIRTIO_VENDOR && (p->device == VIRTIO_BLK_MODERN || p->device == VIRTIO_BLK_TRANSITIONAL);
}

void virtio_blk_host_init(void)
{
	unsigned i;

	for (i = 0; i < hpci_count() && ndisks < VBH_DISKS_MAX; i++) {
		struct hpci_dev *p = hpci_get(i);
		struct vbh_disk *d = &disks[ndisks];

		if (!is_virtio_blk(p))
			continue;
		*d = (struct vbh_disk){ .pci = p, .index = ndisks };
		fmt(d->dev.name, sizeof(d->dev.name), "vblk%u", ndisks);
		add_disk(d);
	}
}
