/* The split virtqueue; what a device may rely on is in virtqueue.h. */
#include "virtqueue.h"

#include "lib/le.h"
#include "platform.h"

int vq_ram_offset(const struct vq_ram *r, uint64_t gpa, uint64_t len, uint64_t *offset)
{
	if (!platform_ram_offset(r->size, gpa, len, offset))
		return -1;
	return r->ready ? r->ready(r->ctx, gpa, len) : 0;
}

static uint8_t *ring_part(const struct vq_ram *r, uint64_t gpa, uint64_t len, uint64_t align)
{
	uint64_t offset;

	if (gpa & (align - 1) || vq_ram_offset(r, gpa, len, &offset))
		return 0;
	return r->base + offset;
}

const char *vq_setup(struct virtqueue *q, const struct vq_ram *r, unsigned size, uint64_t desc, uint64_t avail,
		     uint64_t used, int event_idx, int indirect)
{
	*q = (struct virtqueue){ .size = (uint16_t)size, .event_idx = event_idx != 0, .indirect = indirect != 0 };
	if (!size || size > VIRTQ_SIZE_MAX || (size & (size - 1)))
		return "its size is not a power of two up to 32768";
	/* Alignments and sizes: 2.7, "Virtqueue Part Alignment" and "Virtqueue Part Size". */
	q->desc = ring_part(r, desc, (uint64_t)VIRTQ_DESC_SIZE * size, 16);
	q->avail = ring_part(r, avail, 6 + 2ull * size, 2);
	q->used = ring_part(r, used, 6 + (uint64_t)VIRTQ_USED_ELEM_SIZE * size, 4);
	if (!q->desc)
		return "its descriptor table is misaligned or not all in RAM";
	if (!q->avail)
		return "its driver area is misaligned or not all in RAM";
	if (!q->used)
		return "its device area is misaligned or not all in RAM";
	return 0;
}

static uint8_t *avail_entry(const struct virtqueue *q, unsigned i)
{
	return q->avail + VIRTQ_RING_ENTRIES + 2 * i;
}

static uint8_t *avail_event(const struct virtqueue *q)
{
	return q->used + VIRTQ_RING_ENTRIES + VIRTQ_USED_ELEM_SIZE * q->size;
}

void vq_ask(struct virtqueue *q)
{
	if (q->event_idx)
		vq_store16(avail_event(q), q->last_avail);
}

enum vq_next vq_next(struct virtqueue *q, uint16_t *head)
{
	uint16_t avail = vq_load16(q->avail + VIRTQ_RING_IDX), h;

	if (avail == q->last_avail) {
		if (!q->event_idx || q->quiet)
			return VQ_EMPTY;
		/* Ask to be told of the next one, then look again: it may have come in between (2.7.10). */
		vq_ask(q);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail = vq_load16(q->avail + VIRTQ_RING_IDX);
		if (avail == q->last_avail)
			return VQ_EMPTY;
	}
	if ((uint16_t)(avail - q->last_avail) > q->size)
		return VQ_BROKEN; /* more available than the ring holds */
	h = vq_load16(avail_entry(q, q->last_avail & (q->size - 1u)));
	if (h >= q->size)
		return VQ_BROKEN;
	q->last_avail++;
	*head = h;
	return VQ_HEAD;
}

/* A descriptor (2.7.5), copied out of guest RAM once. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static void read_desc(const uint8_t *p, struct desc *d)
{
	uint8_t b[VIRTQ_DESC_SIZE];

	vq_copy_in(b, p, VIRTQ_DESC_SIZE);
	*d = (struct desc){ .addr = le64(b + VIRTQ_DESC_ADDR), .len = le32(b + VIRTQ_DESC_LEN),
			     .flags = le16(b + VIRTQ_DESC_FLAGS), .next = le16(b + VIRTQ_DESC_NEXT) };
}

struct walk {
	const struct vq_ram *r;
	struct vq_buf *buf;
	unsigned max, n;
	int writing; /* a device-writable buffer came: no readable one may follow */
};

static enum vq_chain_result add_buf(struct walk *w, const struct desc *d)
{
	int write = (d->flags & VIRTQ_DESC_F_WRITE) != 0;
	uint64_t offset;

	if (!d->len)
		return VQ_CHAIN_OK; /* nothing to move */
	if (!write && w->writing)
		return VQ_E_ORDER;
	if (vq_ram_offset(w->r, d->addr, d->len, &offset))
		return VQ_E_RAM;
	if (w->n == w->max)
		return VQ_E_FULL;
	w->writing = write;
	w->buf[w->n++] = (struct vq_buf){ .offset = offset, .len = d->len, .write = (uint8_t)write };
	return VQ_CHAIN_OK;
}

/*
 * The table an indirect descriptor d names (2.7.5.3): entries chained from
 * the first, none indirect itself, at most as many steps as entries.
 */
static enum vq_chain_result walk_indirect(const struct virtqueue *q, struct walk *w, const struct desc *d)
{
	uint64_t offset, count = d->len / VIRTQ_DESC_SIZE;
	enum vq_chain_result res;
	unsigned steps = 0;
	struct desc e;
	uint16_t i = 0;

	if (!q->indirect || (d->flags & VIRTQ_DESC_F_NEXT) || !d->len || d->len % VIRTQ_DESC_SIZE || count > q->size)
		return VQ_E_INDIRECT;
	if (vq_ram_offset(w->r, d->addr, d->len, &offset))
		return VQ_E_RAM;
	for (;;) {
		if (++steps > count)
			return VQ_E_LONG;
		read_desc(w->r->base + offset + (uint64_t)VIRTQ_DESC_SIZE * i, &e);
		if (e.flags & VIRTQ_DESC_F_INDIRECT)
			return VQ_E_INDIRECT;
		res = add_buf(w, &e);
		if (res != VQ_CHAIN_OK || !(e.flags & VIRTQ_DESC_F_NEXT))
			return res;
		if (e.next >= count)
			return VQ_E_INDEX;
		i = e.next;
	}
}

enum vq_chain_result vq_chain(const struct virtqueue *q, const struct vq_ram *r, uint16_t head, struct vq_buf *buf,
			      unsigned max, unsigned *n)
{
	struct walk w = { .r = r, .buf = buf, .max = max };
	enum vq_chain_result res;
	unsigned steps = 0;
	uint16_t i = head;
	struct desc d;

	*n = 0;
	if (head >= q->size)
		return VQ_E_INDEX;
	for (;;) {
		if (++steps > q->size)
			return VQ_E_LONG;
		read_desc(q->desc + (uint64_t)VIRTQ_DESC_SIZE * i, &d);
		res = d.flags & VIRTQ_DESC_F_INDIRECT ? walk_indirect(q, &w, &d) : add_buf(&w, &d);
		if (res != VQ_CHAIN_OK)
			return res;
		if (!(d.flags & VIRTQ_DESC_F_NEXT) || (d.flags & VIRTQ_DESC_F_INDIRECT))
			break;
		if (d.next >= q->size)
			return VQ_E_INDEX;
		i = d.next;
	}
	*n = w.n;
	return VQ_CHAIN_OK;
}

const char *vq_chain_why(enum vq_chain_result r)
{
	switch (r) {
	case VQ_CHAIN_OK: return "none";
	case VQ_E_RAM: return "a buffer not in RAM";
	case VQ_E_INDEX: return "a next index past the table";
	case VQ_E_LONG: return "longer than the queue (a loop?)";
	case VQ_E_ORDER: return "a device-readable buffer after a device-writable one";
	case VQ_E_INDIRECT: return "a malformed indirect descriptor";
	default: return "more buffers than the device takes";
	}
}

uint64_t vq_room(const struct vq_buf *buf, unsigned nbuf)
{
	uint64_t room = 0;
	unsigned i;

	for (i = 0; i < nbuf; i++) {
		if (!buf[i].write)
			return 0;
		room += buf[i].len;
	}
	return room;
}

void vq_push(struct virtqueue *q, uint16_t head, uint32_t len)
{
	uint8_t *e = q->used + VIRTQ_RING_ENTRIES + VIRTQ_USED_ELEM_SIZE * (q->used_idx & (q->size - 1u));

	vq_store32(e, head);
	vq_store32(e + 4, len);
	q->used_idx++;
	vq_store16(q->used + VIRTQ_RING_IDX, q->used_idx); /* release: the element is seen first */
}

int vq_should_interrupt(struct virtqueue *q)
{
	uint16_t old = q->signalled, now = q->used_idx;

	if (old == now)
		return 0;
	q->signalled = now;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the used index out before the driver's wishes are read */
	if (q->event_idx)
		return vq_need_event(vq_load16(avail_entry(q, q->size)), now, old);
	return !(vq_load16(q->avail + VIRTQ_RING_FLAGS) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}
