/*
 * The split virtqueue (virtio 1.2, 2.7), as a device sees the rings a
 * guest's driver wrote in its RAM: a descriptor table, the available
 * ("driver") ring and the used ("device") ring.
 *
 * Everything here distrusts the guest. Ring addresses are checked once, at
 * queue enable, to lie whole inside the partition's RAM with the alignment
 * the spec requires (2.7, table "Virtqueue Part Alignment"), so later ring
 * accesses are naturally aligned and in bounds. Each descriptor is read
 * once into a local copy (the guest may rewrite it meanwhile: no field is
 * fetched twice), and a chain is refused with a reason when a buffer is
 * not RAM (overflow-safe), a next index is past the table, the chain is
 * longer than the queue (which also ends loops), a device-readable buffer
 * follows a device-writable one (2.7.4.2), or an indirect descriptor is
 * not negotiated, nested, chained, empty, of a length not a multiple of
 * 16 or of more entries than the queue (2.7.5.3.1).
 *
 * The caller serialises each queue (its device's lock). Memory order
 * follows 2.7.7 and 2.7.10: the available index is read before the ring
 * entries it covers, a used element is written before the used index
 * that publishes it, and the index is written before the driver's event
 * index or flags are read to decide on an interrupt.
 */
#ifndef HV_VDEV_VIRTQUEUE_H
#define HV_VDEV_VIRTQUEUE_H

#include <stdint.h>

/* Descriptor flags (2.7.5), ring flags (2.7.6, 2.7.8). */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

/* Offsets in a descriptor (2.7.5) and in the rings (2.7.6, 2.7.8). */
#define VIRTQ_DESC_SIZE 16
#define VIRTQ_DESC_ADDR 0
#define VIRTQ_DESC_LEN 8
#define VIRTQ_DESC_FLAGS 12
#define VIRTQ_DESC_NEXT 14
#define VIRTQ_RING_FLAGS 0
#define VIRTQ_RING_IDX 2
#define VIRTQ_RING_ENTRIES 4
#define VIRTQ_USED_ELEM_SIZE 8
#define VIRTQ_SIZE_MAX 32768 /* queue sizes are powers of two up to 2^15 (2.7) */

/*
 * Ring fields are naturally aligned and little-endian, as is every CPU the
 * hypervisor runs on; the other side writes them at any time, so each is
 * one access.
 */
static inline uint16_t vq_load16(const volatile uint8_t *p)
{
	return __atomic_load_n((const volatile uint16_t *)(const volatile void *)p, __ATOMIC_ACQUIRE);
}

static inline uint32_t vq_load32(const volatile uint8_t *p)
{
	return __atomic_load_n((const volatile uint32_t *)(const volatile void *)p, __ATOMIC_RELAXED);
}

static inline void vq_store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, v, __ATOMIC_RELEASE);
}

static inline void vq_store32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, v, __ATOMIC_RELAXED);
}

/* A 64-bit load that assumes no alignment: x86 loads need none (an indirect table's address is the guest's). */
typedef uint64_t __attribute__((aligned(1), may_alias)) vq_u64_any;

/*
 * Copies len bytes of guest RAM at g to out, each byte read exactly once
 * (the guest may change them meanwhile: the copy is what is checked and
 * used), eight at a time where it can: a byte loop cost a descriptor some
 * 140 instructions, three of them a request.
 */
static inline void vq_copy_in(uint8_t *out, const uint8_t *g, unsigned len)
{
	unsigned i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t v = *(const volatile vq_u64_any *)(const volatile void *)(g + i);
		__builtin_memcpy(out + i, &v, 8);
	}
	for (; i < len; i++)
		out[i] = ((const volatile uint8_t *)g)[i];
}

/* A partition's RAM as its devices see it: the host's view of guest-physical addresses (platform.h). */
struct vq_ram {
	uint8_t *base; /* where the hypervisor reaches it */
	uint64_t pa;   /* its host-physical address, for DMA */
	uint64_t size; /* ram_size: low RAM from 0, the rest from 4 GiB */
	/*
	 * Makes [gpa, gpa + len) of RAM ready before a device reads or writes it,
	 * or a disk DMAs to or from it (zeroed on first touch, arch/x86/space.h);
	 * 0, or -1. NULL: all of it is.
	 */
	int (*ready)(void *ctx, uint64_t gpa, uint64_t len);
	void *ctx;
};

/* [gpa, gpa + len) in RAM (len > 0) and ready: its offset from base, or -1. */
int vq_ram_offset(const struct vq_ram *r, uint64_t gpa, uint64_t len, uint64_t *offset);

struct virtqueue {
	uint16_t size;
	uint16_t last_avail;    /* the next available ring entry to take */
	uint16_t used_idx;      /* the next used ring entry to fill */
	uint16_t signalled;     /* used_idx when the driver was last considered for an interrupt */
	uint8_t event_idx;      /* VIRTIO_F_EVENT_IDX negotiated */
	uint8_t indirect;       /* VIRTIO_F_INDIRECT_DESC negotiated */
	uint8_t quiet;          /* set by the device: an empty ring asks for no notification (vq_next) */
	uint8_t *desc, *avail, *used; /* in guest RAM, checked at setup */
};

/*
 * The queue of size entries at guest-physical desc, avail and used, empty;
 * NULL, or why not (size not a power of two, a part misaligned or not all
 * in RAM).
 */
const char *vq_setup(struct virtqueue *q, const struct vq_ram *r, unsigned size, uint64_t desc, uint64_t avail,
		     uint64_t used, int event_idx, int indirect);

enum vq_next { VQ_EMPTY, VQ_HEAD, VQ_BROKEN };

/*
 * The next chain the driver made available: VQ_HEAD with its head index;
 * VQ_EMPTY (with EVENT_IDX and the queue not quiet, avail_event asks for a
 * notification of the next); VQ_BROKEN when the available index ran more than the queue size
 * ahead or a head is past the table: the ring cannot be trusted.
 */
enum vq_next vq_next(struct virtqueue *q, uint16_t *head);
/* With EVENT_IDX, avail_event asks for a notification of the next chain made available. */
void vq_ask(struct virtqueue *q);

/* One buffer of a chain: where it is in RAM (vq_ram's offset) and whether the device writes it. */
struct vq_buf {
	uint64_t offset;
	uint32_t len;
	uint8_t write;
};

enum vq_chain_result {
	VQ_CHAIN_OK,
	VQ_E_RAM,      /* a buffer or an indirect table not in RAM */
	VQ_E_INDEX,    /* a next index past the table */
	VQ_E_LONG,     /* more descriptors than the queue has entries: a loop, or just too long */
	VQ_E_ORDER,    /* a device-readable buffer after a device-writable one */
	VQ_E_INDIRECT, /* indirect descriptor not negotiated, nested, chained or malformed */
	VQ_E_FULL,     /* more buffers than the caller takes */
};

/* Why a chain was refused, for the guest log. */
const char *vq_chain_why(enum vq_chain_result r);

/*
 * The chain at head, its buffers in order into buf (at most max; zero-length
 * descriptors are left out), their number in *n. Pure but for reading guest
 * RAM.
 */
enum vq_chain_result vq_chain(const struct virtqueue *q, const struct vq_ram *r, uint16_t head, struct vq_buf *buf,
			      unsigned max, unsigned *n);

/* The room of a chain to write into; 0 if a buffer of it is device-readable. */
uint64_t vq_room(const struct vq_buf *buf, unsigned nbuf);

/* Gives the chain at head back, len bytes written into it. */
void vq_push(struct virtqueue *q, uint16_t head, uint32_t len);

/*
 * After vq_push()es: 1 if the driver wants an interrupt for what was used
 * since the last call (2.7.7.2: used_event with EVENT_IDX, else the
 * available ring's NO_INTERRUPT flag).
 */
int vq_should_interrupt(struct virtqueue *q);

/* 2.7.10: 1 if the index moving from old to new_idx passes event. */
static inline int vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

#endif
