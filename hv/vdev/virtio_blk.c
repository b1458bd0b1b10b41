/* virtio-blk; what a guest sees of it, and what is checked, is in virtio_blk.h. */
#include "virtio_blk.h"

#include "arch.h"
#include "lib/fmt.h"
#include "lib/le.h"
#include "log.h"
#include "mm.h"
#include "partition.h"
#include "platform.h"

#define RANGE_SIZE 16   /* struct virtio_blk_discard_write_zeroes */
#define RANGE_UNMAP 1u
#define DISCARD_MAX_SECTORS (1u << 22)

static volatile uint64_t notify_ticks; /* every device's, in blk_notify() */

/* ---- the request parser, pure */

/* The bytes of one direction of a chain, as a stream over its buffers. */
struct stream {
	const struct vq_buf *b;
	unsigned n;
	uint64_t len;
};

static struct stream stream_of(const struct vq_buf *b, unsigned n)
{
	struct stream s = { b, n, 0 };
	unsigned i;

	for (i = 0; i < n; i++)
		s.len += b[i].len; /* at most 2^16 buffers of under 4 GiB: no overflow */
	return s;
}

/* Bytes [skip, skip + len) of s, as pieces of RAM into out (at most max); -1 if more are needed. */
static int slice(const struct stream *s, uint64_t skip, uint64_t len, struct vq_buf *out, unsigned max,
		 unsigned *nout)
{
	unsigned i, k = 0;

	for (i = 0; i < s->n && len; i++) {
		uint64_t take, have = s->b[i].len;
		if (skip >= have) {
			skip -= have;
			continue;
		}
		take = have - skip < len ? have - skip : len;
		if (k == max)
			return -1;
		out[k++] = (struct vq_buf){ .offset = s->b[i].offset + skip, .len = (uint32_t)take, .write = s->b[i].write };
		len -= take;
		skip = 0;
	}
	*nout = k;
	return 0;
}

/*
 * len (up to 16) bytes at skip of the device-readable stream, read once
 * from guest RAM. Bytes all in the first buffer (a request's header, as
 * drivers lay it out) are read at once, not sliced into pieces first.
 */
static void read_bytes(const uint8_t *ram, const struct stream *s, uint64_t skip, unsigned len, uint8_t *out)
{
	struct vq_buf piece[16];
	unsigned n = 0, i, k = 0;

	if (s->n && skip + len <= s->b[0].len) {
		vq_copy_in(out, ram + s->b[0].offset + skip, len);
		return;
	}
	slice(s, skip, len, piece, 16, &n); /* 16 bytes come in at most 16 pieces */
	for (i = 0; i < n; k += piece[i].len, i++)
		vq_copy_in(out + k, ram + piece[i].offset, piece[i].len);
}

static enum vblk_verdict complete(struct vblk_request *rq, uint8_t status)
{
	rq->status = status;
	return VBLK_COMPLETE;
}

static int in_disk(const struct vblk_disk *disk, uint64_t sector, uint64_t blocks)
{
	return sector <= disk->sectors && blocks <= disk->sectors - sector;
}

/* IN or OUT: len bytes of data at skip of the data stream; the other direction holds only header or status. */
static enum vblk_verdict data_request(struct vblk_request *rq, const struct vblk_disk *disk, const struct stream *data,
				      uint64_t skip, uint64_t len, int others_empty, enum blk_op op)
{
	uint64_t blocks = len / BLK_SECTOR;

	if (!others_empty || len % BLK_SECTOR || !in_disk(disk, rq->sector, blocks))
		return complete(rq, VIRTIO_BLK_S_IOERR);
	if (op == BLK_WRITE && disk->read_only)
		return complete(rq, VIRTIO_BLK_S_IOERR);
	if (slice(data, skip, len, rq->seg, VBLK_SEG_MAX, &rq->nseg))
		return complete(rq, VIRTIO_BLK_S_IOERR);
	rq->op = op;
	rq->blocks = (uint32_t)blocks;
	if (op == BLK_READ)
		rq->written = (uint32_t)len + 1;
	return blocks ? VBLK_SUBMIT : complete(rq, VIRTIO_BLK_S_OK);
}

/* DISCARD or WRITE_ZEROES of one range (max_*_seg = 1); 5.2.6.2. */
static enum vblk_verdict range_request(const uint8_t *ram, struct vblk_request *rq, const struct vblk_disk *disk,
				       const struct stream *rd, const struct stream *wr, int offered, enum blk_op op)
{
	uint8_t range[RANGE_SIZE];
	uint32_t flags;

	if (!offered)
		return complete(rq, VIRTIO_BLK_S_UNSUPP);
	if (rd->len != VIRTIO_BLK_HEADER_SIZE + RANGE_SIZE || wr->len != 1)
		return complete(rq, VIRTIO_BLK_S_IOERR);
	read_bytes(ram, rd, VIRTIO_BLK_HEADER_SIZE, RANGE_SIZE, range);
	flags = le32(range + 12);
	if (flags & ~RANGE_UNMAP || (op == BLK_DISCARD && flags))
		return complete(rq, VIRTIO_BLK_S_UNSUPP);
	rq->sector = le64(range);
	rq->blocks = le32(range + 8);
	if (!in_disk(disk, rq->sector, rq->blocks) || disk->read_only)
		return complete(rq, VIRTIO_BLK_S_IOERR);
	rq->op = op;
	return rq->blocks ? VBLK_SUBMIT : complete(rq, VIRTIO_BLK_S_OK);
}

/* GET_ID: up to 20 bytes into the device-writable data before the status (5.2.6). */
static enum vblk_verdict get_id(struct vblk_request *rq, const struct stream *rd, const struct stream *wr)
{
	uint64_t len = wr->len - 1 < VBLK_ID_BYTES ? wr->len - 1 : VBLK_ID_BYTES;

	if (rd->len != VIRTIO_BLK_HEADER_SIZE || slice(wr, 0, len, rq->seg, VBLK_SEG_MAX, &rq->nseg))
		return complete(rq, VIRTIO_BLK_S_IOERR);
	rq->written = (uint32_t)len + (wr->len == len + 1); /* counted from the first writable byte on */
	return complete(rq, VIRTIO_BLK_S_OK);
}

enum vblk_verdict vblk_parse(const uint8_t *ram, const struct vq_buf *buf, unsigned n, const struct vblk_disk *disk,
			     struct vblk_request *rq)
{
	unsigned readable = 0;
	struct stream rd, wr;
	uint8_t header[VIRTIO_BLK_HEADER_SIZE];

	while (readable < n && !buf[readable].write)
		readable++; /* the walker put device-readable buffers first */
	rd = stream_of(buf, readable);
	wr = stream_of(buf + readable, n - readable);
	rq->nseg = rq->blocks = 0;
	rq->written = 1;
	rq->type = ~0u;
	if (!wr.len)
		return VBLK_NO_STATUS;
	rq->status_at = buf[n - 1].offset + buf[n - 1].len - 1;
	if (rd.len < VIRTIO_BLK_HEADER_SIZE)
		return complete(rq, VIRTIO_BLK_S_IOERR);
	read_bytes(ram, &rd, 0, VIRTIO_BLK_HEADER_SIZE, header);
	rq->type = le32(header);
	rq->sector = le64(header + 8);
	switch (rq->type) {
	case VIRTIO_BLK_T_IN: return data_request(rq, disk, &wr, 0, wr.len - 1, rd.len == VIRTIO_BLK_HEADER_SIZE, BLK_READ);
	case VIRTIO_BLK_T_OUT:
		return data_request(rq, disk, &rd, VIRTIO_BLK_HEADER_SIZE, rd.len - VIRTIO_BLK_HEADER_SIZE, wr.len == 1, BLK_WRITE);
	case VIRTIO_BLK_T_FLUSH:
		if (rd.len != VIRTIO_BLK_HEADER_SIZE || wr.len != 1)
			return complete(rq, VIRTIO_BLK_S_IOERR);
		rq->op = BLK_FLUSH;
		return VBLK_SUBMIT;
	case VIRTIO_BLK_T_GET_ID: return get_id(rq, &rd, &wr);
	case VIRTIO_BLK_T_DISCARD: return range_request(ram, rq, disk, &rd, &wr, disk->discard, BLK_DISCARD);
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return range_request(ram, rq, disk, &rd, &wr, disk->write_zeroes, BLK_WRITE_ZEROES);
	default: return complete(rq, VIRTIO_BLK_S_UNSUPP);
	}
}

/* ---- the device */

static void put_status(struct virtio_blk *b, uint64_t at, uint8_t status)
{
	*(volatile uint8_t *)(b->vp.ram.base + at) = status;
}

static uint8_t status_of(enum blk_status s)
{
	if (s == BLK_OK)
		return VIRTIO_BLK_S_OK;
	return s == BLK_E_UNSUPP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
}

static void take_chains(struct virtio_blk *b);

/*
 * The block layer's completion, on any CPU, with no lock of its held;
 * then the chains the driver made available meanwhile, which it did not
 * notify while this request was in flight (take_chains()).
 */
static void blk_done(struct blk_req *req, enum blk_status s)
{
	struct vblk_req *r = req->owner;
	struct virtio_blk *b = r->dev;
	int irq = 0;

	spin_lock(&b->vp.lock);
	b->in_flight--;
	if (r->resets == b->vp.resets) { /* else the driver that asked is gone */
		/* The last in flight: a driver that sees it done and adds a chain finds it must notify. */
		if (!b->in_flight)
			vq_ask(&b->vp.q[0].vq);
		put_status(b, r->status_at, status_of(s));
		irq = virtio_push(&b->vp, 0, r->head, s == BLK_OK ? r->written : 0);
	}
	r->next_free = b->free;
	b->free = r;
	spin_unlock(&b->vp.lock);
	if (irq)
		virtio_interrupt(&b->vp, 0);
	take_chains(b);
}

/* The parsed request b->rq of chain head into a pooled request for the block layer; NULL if the pool is empty. */
static struct vblk_req *to_block_layer(struct virtio_blk *b, uint16_t head)
{
	const struct vblk_request *rq = &b->rq;
	struct vblk_req *r = b->free;
	unsigned i;

	if (!r)
		return 0; /* more chains in flight than the ring has entries: the same head made available twice */
	b->free = r->next_free;
	b->in_flight++;
	r->head = head;
	r->resets = b->vp.resets;
	r->written = rq->written;
	r->status_at = rq->status_at;
	r->blk.op = rq->op;
	r->blk.lba = rq->sector;
	r->blk.blocks = rq->op == BLK_FLUSH ? 0 : rq->blocks;
	r->blk.nseg = rq->nseg;
	for (i = 0; i < rq->nseg; i++)
		r->blk.seg[i] = (struct blk_seg){ .pa = b->vp.ram.pa + rq->seg[i].offset, .len = rq->seg[i].len };
	r->blk.done = blk_done;
	r->blk.owner = r;
	return r;
}

/* GET_ID's answer into the pieces the parser found. */
static void write_id(struct virtio_blk *b)
{
	unsigned i, j, k = 0;

	for (i = 0; i < b->rq.nseg; i++) {
		volatile uint8_t *g = b->vp.ram.base + b->rq.seg[i].offset;
		for (j = 0; j < b->rq.seg[i].len; j++, k++)
			g[j] = (uint8_t)b->id[k];
	}
}

/* What taking one chain led to. */
struct taken {
	struct vblk_req *submit; /* for the block layer */
	int irq, broken;
};

/*
 * The next chain of the queue, with the lock held: 0 when there is none.
 * With requests in flight an empty ring asks for no notification: each
 * completion looks at the ring again (blk_done()), so a driver that keeps
 * the queue busy adds chains without an exit. The last completion asks
 * for one, then looks again (vq_next(), EVENT_IDX's avail_event: 2.7.10).
 */
static int take_chain(struct virtio_blk *b, struct taken *t)
{
	enum vblk_verdict verdict;
	enum vq_next next;
	uint16_t head;
	unsigned n;

	b->vp.q[0].vq.quiet = b->in_flight != 0;
	next = virtio_next(&b->vp, 0, &head);
	t->broken = next == VQ_BROKEN;
	if (next != VQ_HEAD)
		return 0;
	if (virtio_chain(&b->vp, 0, head, b->chain, VBLK_SEG_MAX + 2, &n) != VQ_CHAIN_OK) {
		/* Where its status byte is cannot be known: telling the driver nothing would let it take stale bytes
		 * for a status, so the device stops until the driver resets it (2.1.1). */
		virtio_needs_reset(&b->vp, "a request's chain is malformed");
		t->broken = 1;
		return 0;
	}
	verdict = vblk_parse(b->vp.ram.base, b->chain, n, &b->limits, &b->rq);
	if (verdict == VBLK_SUBMIT) {
		t->submit = to_block_layer(b, head);
		if (t->submit)
			return 1;
		verdict = complete(&b->rq, VIRTIO_BLK_S_IOERR);
	}
	if (verdict == VBLK_COMPLETE) {
		if (b->rq.type == VIRTIO_BLK_T_GET_ID && b->rq.status == VIRTIO_BLK_S_OK)
			write_id(b);
		put_status(b, b->rq.status_at, b->rq.status);
	}
	/* A chain with no status byte goes back unwritten (length 0). */
	t->irq |= virtio_push(&b->vp, 0, head, verdict == VBLK_COMPLETE ? b->rq.written : 0);
	return 1;
}

/*
 * Every chain the driver made available, taken in turn by one CPU at a
 * time. Another CPU's notification or completion meanwhile leaves them to
 * it, as does a completion from vdisk_submit() at once, which would
 * otherwise nest a level per chain: it takes the lock again after each
 * submission and stops only at an empty ring, seen with the lock held.
 */
static void take_chains(struct virtio_blk *b)
{
	struct taken t = { 0 };

	spin_lock(&b->vp.lock);
	if (b->taking) {
		spin_unlock(&b->vp.lock);
		return;
	}
	b->taking = 1;
	while (take_chain(b, &t)) {
		spin_unlock(&b->vp.lock);
		if (t.submit)
			vdisk_submit(b->disk, &t.submit->blk); /* it may complete at once: without the lock */
		t.submit = 0;
		spin_lock(&b->vp.lock);
	}
	b->taking = 0;
	spin_unlock(&b->vp.lock);
	if (t.irq)
		virtio_interrupt(&b->vp, 0);
	if (t.broken)
		virtio_config_changed(&b->vp);
}

/* The driver's notification. */
static void blk_notify(struct virtio_pci *v, unsigned queue)
{
	uint64_t start = arch_tsc();

	(void)queue; /* the one queue */
	take_chains(v->dev);
	__atomic_fetch_add(&notify_ticks, arch_tsc() - start, __ATOMIC_RELAXED);
}

uint64_t virtio_blk_notify_ticks(void)
{
	return __atomic_load_n(&notify_ticks, __ATOMIC_RELAXED);
}

static void blk_config_read(struct virtio_pci *v, unsigned offset, unsigned size, uint64_t *value)
{
	struct virtio_blk *b = v->dev;
	unsigned i;

	*value = 0;
	for (i = 0; i < size; i++)
		*value |= (uint64_t)b->config[offset + i] << (8 * i);
}

/* Only writeback is writable, with VIRTIO_BLK_F_CONFIG_WCE, which is not offered. */
static void blk_config_write(struct virtio_pci *v, unsigned offset, unsigned size, uint64_t value)
{
	(void)v;
	(void)offset;
	(void)size;
	(void)value;
}

/* Requests in flight see the transport's reset count change and complete into nothing. */
static void blk_reset(struct virtio_pci *v)
{
	(void)v;
}

static void build_config(struct virtio_blk *b, uint32_t block_size)
{
	uint8_t *c = b->config;

	put_le64(c + VIRTIO_BLK_CFG_CAPACITY, b->limits.sectors);
	put_le32(c + VIRTIO_BLK_CFG_SIZE_MAX, VBLK_SIZE_MAX);
	put_le32(c + VIRTIO_BLK_CFG_SEG_MAX, VBLK_SEG_MAX);
	put_le32(c + VIRTIO_BLK_CFG_BLK_SIZE, block_size);
	put_le16(c + VIRTIO_BLK_CFG_NUM_QUEUES, 1);
	put_le32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, DISCARD_MAX_SECTORS);
	put_le32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 1);
	put_le32(c + VIRTIO_BLK_CFG_DISCARD_ALIGNMENT, block_size / BLK_SECTOR);
	put_le32(c + VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS, DISCARD_MAX_SECTORS);
	put_le32(c + VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG, 1);
}

static uint64_t features_of(const struct vblk_disk *d)
{
	return VIRTIO_BLK_F_SIZE_MAX | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH |
	       (d->read_only ? VIRTIO_BLK_F_RO : 0) | (d->discard ? VIRTIO_BLK_F_DISCARD : 0) |
	       (d->write_zeroes ? VIRTIO_BLK_F_WRITE_ZEROES : 0);
}

const char *virtio_blk_init(struct virtio_blk *b, struct vdisk *disk, struct partition *p, const struct vq_ram *ram,
			    struct vpci *pci, unsigned slot, struct vblk_req *pool)
{
	const struct blk_dev *dev = disk->dev;
	uint32_t block_size = dev && dev->block_size ? dev->block_size : BLK_SECTOR;
	unsigned i;

	*b = (struct virtio_blk){ .disk = disk, .pool = pool, .pool_pa = b->pool_pa };
	b->limits = (struct vblk_disk){ .sectors = disk->sectors, .read_only = disk->read_only || (dev && dev->read_only),
					.discard = dev && dev->discard, .write_zeroes = dev && dev->write_zeroes };
	b->type = (struct virtio_type){ .device_id = 2, .class_code = 0x018000, .features = features_of(&b->limits),
					.queues = 1, .queue_size = VBLK_QUEUE_SIZE, .config_size = VBLK_CONFIG_SIZE,
					.config_read = blk_config_read, .config_write = blk_config_write,
					.notify = blk_notify, .reset = blk_reset };
	build_config(b, block_size);
	fmt(b->id, sizeof(b->id), "%s", disk->source);
	for (i = 0; i < VBLK_QUEUE_SIZE; i++) {
		pool[i].dev = b;
		pool[i].next_free = b->free;
		b->free = &pool[i];
	}
	return virtio_pci_init(&b->vp, &b->type, b, p, ram, pci, slot);
}

/* ---- the partition's glue */

#define POOL_PAGES ((VBLK_QUEUE_SIZE * sizeof(struct vblk_req) + PAGE_SIZE - 1) / PAGE_SIZE)

static const char *attach_disk(struct partition *p, unsigned i, struct vdisk *disk, const struct vq_ram *ram)
{
	struct virtio_blk *b = &p->vblk[i];
	const char *why;

	b->pool_pa = mm_alloc(POOL_PAGES);
	if (!b->pool_pa)
		return "no memory for its disks' requests";
	p->nvblk = i + 1;
	why = virtio_blk_init(b, disk, p, ram, &p->pci, PLATFORM_PCI_SLOT_DISKS + i, mm_ptr(b->pool_pa));
	if (!why)
		log_info("partition %s: disk %s as virtio-blk 00:%02x.0, %llu sectors%s", p->cfg->name, disk->source,
			 PLATFORM_PCI_SLOT_DISKS + i, (unsigned long long)b->limits.sectors,
			 b->limits.read_only ? ", read-only" : "");
	return why;
}

const char *virtio_blk_attach(struct partition *p, struct vdisk *disks)
{
	const struct vq_ram ram = partition_vq_ram(p);
	const char *why = 0;
	unsigned i;

	p->nvblk = 0;
	for (i = 0; i < p->cfg->ndisks && i < CFG_DISKS_MAX && !why; i++)
		why = attach_disk(p, i, &disks[i], &ram);
	if (why)
		virtio_blk_detach(p);
	return why;
}

void virtio_blk_detach(struct partition *p)
{
	unsigned i;

	for (i = 0; i < p->nvblk; i++)
		mm_free(p->vblk[i].pool_pa, POOL_PAGES);
	p->nvblk = 0;
}
