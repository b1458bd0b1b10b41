/* The driver's side of a host virtio-blk disk's virtqueue; see virtio_blk_host_queue.h for what is trusted. */
#include "virtio_blk_host_queue.h"

#include "lib/fmt.h"
#include "lib/le.h"
#include "vdev/virtqueue.h"

/* ---- features */

/* Names for the log, of the bits the driver takes and of others a device is known to offer (5.2.3, 6). */
static const struct {
	uint64_t bit;
	const char *name;
} feature_names[] = {
	{ VIRTIO_F_VERSION_1, "VERSION_1" },
	{ VIRTIO_F_ACCESS_PLATFORM, "ACCESS_PLATFORM" },
	{ VIRTIO_BLK_F_SIZE_MAX, "SIZE_MAX" },
	{ VIRTIO_BLK_F_SEG_MAX, "SEG_MAX" },
	{ VIRTIO_BLK_F_RO, "RO" },
	{ VIRTIO_BLK_F_BLK_SIZE, "BLK_SIZE" },
	{ VIRTIO_BLK_F_FLUSH, "FLUSH" },
	{ VIRTIO_BLK_F_DISCARD, "DISCARD" },
	{ VIRTIO_BLK_F_WRITE_ZEROES, "WRITE_ZEROES" },
	{ VIRTIO_F_INDIRECT_DESC, "INDIRECT_DESC" },
	{ VIRTIO_F_EVENT_IDX, "EVENT_IDX" },
	{ 1ull << 4, "GEOMETRY" },
	{ 1ull << 10, "TOPOLOGY" },
	{ 1ull << 11, "CONFIG_WCE" },
	{ 1ull << 12, "MQ" },
	{ 1ull << 34, "RING_PACKED" },
	{ 1ull << 35, "IN_ORDER" },
	{ 1ull << 38, "NOTIFICATION_DATA" },
	{ 1ull << 40, "RING_RESET" },
};

static const char *feature_name(unsigned bit)
{
	unsigned i;

	for (i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
		if (feature_names[i].bit == 1ull << bit)
			return feature_names[i].name;
	return 0;
}

void vbhq_feature_names(uint64_t features, char *buf, unsigned size)
{
	unsigned bit, at = 0;

	buf[0] = 0;
	for (bit = 0; bit < 64; bit++) {
		const char *name = feature_name(bit);

		if (!(features >> bit & 1) || at >= size)
			continue;
		if (name)
			at += (unsigned)fmt(buf + at, size - at, "%s%s", at ? " " : "", name);
		else
			at += (unsigned)fmt(buf + at, size - at, "%sbit %u", at ? " " : "", bit);
	}
	if (!features)
		fmt(buf, size, "none");
}

const char *vbhq_negotiate(uint64_t offered, uint64_t *taken)
{
	*taken = offered & VBHQ_FEATURES;
	return *taken & VIRTIO_F_VERSION_1 ? 0 : "it does not offer VERSION_1 (a legacy-only device)";
}

struct vbhq_limits vbhq_limits(uint64_t features, uint32_t seg_max, uint32_t size_max, uint32_t block_size,
			       unsigned queue_size)
{
	struct vbhq_limits lim = { queue_size - 2, ~0u, block_size };

	if ((features & VIRTIO_BLK_F_SEG_MAX) && seg_max && seg_max < lim.seg_max)
		lim.seg_max = seg_max;
	if ((features & VIRTIO_BLK_F_SIZE_MAX) && size_max)
		lim.size_max = size_max;
	return lim;
}

/* ---- a command's data descriptors */

/*
 * Walks from *at for at most limit bytes while descriptors are left,
 * advancing *at; writes them to out when it is not NULL. Returns the
 * bytes walked, *n the descriptors.
 */
static uint32_t walk(const struct blk_seg *seg, uint32_t nseg, struct blk_cursor *at, uint32_t limit,
		     const struct vbhq_limits *lim, int write, struct vbhq_buf *out, uint32_t *n)
{
	uint32_t total = 0;

	*n = 0;
	while (total < limit && *n < lim->seg_max) {
		uint32_t len;

		while (at->seg < nseg && at->off >= seg[at->seg].len) {
			at->seg++;
			at->off = 0;
		}
		if (at->seg >= nseg || seg[at->seg].pa + seg[at->seg].len < seg[at->seg].pa)
			break; /* the end, or a segment that wraps */
		len = seg[at->seg].len - at->off;
		if (len > lim->size_max)
			len = lim->size_max;
		if (len > limit - total)
			len = limit - total;
		if (out)
			out[*n] = (struct vbhq_buf){ seg[at->seg].pa + at->off, len, (uint8_t)write };
		++*n;
		at->off += len;
		total += len;
	}
	return total;
}

uint32_t vbhq_build_data(const struct blk_seg *seg, uint32_t nseg, struct blk_cursor *at, uint32_t max_bytes,
			 const struct vbhq_limits *lim, int write, struct vbhq_buf *out, uint32_t *nout)
{
	struct blk_cursor probe = *at;
	uint32_t bytes;

	if (!lim->block_size || !lim->size_max)
		return 0;
	if (max_bytes > VBHQ_CMD_BYTES_MAX)
		max_bytes = VBHQ_CMD_BYTES_MAX;
	bytes = walk(seg, nseg, &probe, max_bytes, lim, write, 0, nout);
	bytes -= bytes % lim->block_size;
	if (!bytes)
		return 0;
	return walk(seg, nseg, at, bytes, lim, write, out, nout);
}

/* ---- the rings (2.7): descriptors at 0, the available ring after them, the used ring 4-aligned after that */

static uint32_t avail_offset(unsigned size)
{
	return VIRTQ_DESC_SIZE * size;
}

static uint32_t used_offset(unsigned size)
{
	return (avail_offset(size) + VIRTQ_RING_ENTRIES + 2 * size + 2 + 3) & ~3u; /* + used_event */
}

uint32_t vbhq_ring_bytes(unsigned size)
{
	return used_offset(size) + VIRTQ_RING_ENTRIES + VIRTQ_USED_ELEM_SIZE * size + 2; /* + avail_event */
}

void vbhq_init(struct vbhq *q, unsigned size, void *mem, uint64_t pa)
{
	unsigned i;

	__builtin_memset(mem, 0, vbhq_ring_bytes(size));
	*q = (struct vbhq){ .size = (uint16_t)size, .nfree = (uint16_t)size };
	q->desc = mem;
	q->avail = q->desc + avail_offset(size);
	q->used = q->desc + used_offset(size);
	q->desc_pa = pa;
	q->avail_pa = pa + avail_offset(size);
	q->used_pa = pa + used_offset(size);
	for (i = 0; i < size; i++)
		q->link[i] = (uint16_t)(i + 1);
	/* Until the driver says otherwise, completions are polled: no interrupt wanted (2.7.7). */
	vq_store16(q->avail + VIRTQ_RING_FLAGS, VIRTQ_AVAIL_F_NO_INTERRUPT);
}

void vbhq_want_interrupts(struct vbhq *q)
{
	vq_store16(q->avail + VIRTQ_RING_FLAGS, 0);
}

int vbhq_add(struct vbhq *q, const struct vbhq_buf *buf, unsigned n)
{
	uint16_t head = q->free_head, d = head;
	unsigned i;

	if (!n || n > q->nfree)
		return -1;
	for (i = 0; i < n; i++) {
		uint8_t *p = q->desc + VIRTQ_DESC_SIZE * d;
		uint16_t flags = (uint16_t)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) | (buf[i].write ? VIRTQ_DESC_F_WRITE : 0));

		put_le64(p + VIRTQ_DESC_ADDR, buf[i].pa);
		put_le32(p + VIRTQ_DESC_LEN, buf[i].len);
		put_le16(p + VIRTQ_DESC_FLAGS, flags);
		put_le16(p + VIRTQ_DESC_NEXT, q->link[d]);
		if (i + 1 < n)
			d = q->link[d];
	}
	q->free_head = q->link[d];
	q->nfree = (uint16_t)(q->nfree - n);
	q->chain[head] = (uint16_t)n;
	q->inflight++;
	put_le16(q->avail + VIRTQ_RING_ENTRIES + 2 * (q->avail_idx & (q->size - 1u)), head);
	q->avail_idx++;
	return head;
}

int vbhq_publish(struct vbhq *q)
{
	vq_store16(q->avail + VIRTQ_RING_IDX, q->avail_idx); /* release: descriptors and ring entries first */
	/* The index is written before the device's flags are read (2.7.13.4): a full fence. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(vq_load16(q->used + VIRTQ_RING_FLAGS) & VIRTQ_USED_F_NO_NOTIFY);
}

/* The chain at head back on the free list, by the driver's own links. */
static void free_chain(struct vbhq *q, uint16_t head)
{
	uint16_t d = head, i;

	for (i = 1; i < q->chain[head]; i++)
		d = q->link[d];
	q->link[d] = q->free_head;
	q->free_head = head;
	q->nfree = (uint16_t)(q->nfree + q->chain[head]);
	q->chain[head] = 0;
	q->inflight--;
}

enum vbhq_used vbhq_take_used(struct vbhq *q, uint16_t *head, uint32_t *len)
{
	uint16_t idx = vq_load16(q->used + VIRTQ_RING_IDX); /* acquire: the elements it covers after it */
	const volatile uint8_t *e;
	uint32_t id;

	if (idx == q->last_used)
		return VBHQ_NONE;
	if ((uint16_t)(idx - q->last_used) > q->inflight)
		return VBHQ_BAD_IDX;
	e = q->used + VIRTQ_RING_ENTRIES + VIRTQ_USED_ELEM_SIZE * (q->last_used & (q->size - 1u));
	id = vq_load32(e);
	*len = vq_load32(e + 4);
	*head = (uint16_t)id;
	if (id >= q->size || !q->chain[id])
		return VBHQ_BAD_ID;
	q->last_used++;
	free_chain(q, (uint16_t)id);
	return VBHQ_DONE;
}

enum blk_status vbhq_outcome(int read, uint32_t data_bytes, uint32_t used_len, uint8_t status)
{
	if (used_len < (read ? (uint64_t)data_bytes : 0) + 1)
		return BLK_E_IO;
	switch (status) {
	case VIRTIO_BLK_S_OK: return BLK_OK;
	case VIRTIO_BLK_S_UNSUPP: return BLK_E_UNSUPP;
	default: return BLK_E_IO;
	}
}
