/*
 * The driver's side of a host virtio-blk disk's one split virtqueue
 * (virtio 1.2, 2.7), pure, for drivers/virtio_blk_host.c: the features it
 * takes, the data descriptors of a block request, and the rings in memory
 * the hypervisor gave the device.
 *
 * The device is trusted with DMA (it is the host's own disk) but not with
 * what it writes into the used ring: the driver keeps its own links of
 * the descriptor chains and its own count of chains in flight, and a used
 * index that runs ahead of them, or an element whose id is out of the
 * table or not the head of a chain in flight, is reported, not followed
 * (the caller fails what the device held and resets it). The used length
 * is handed back for the caller to judge.
 *
 * Names start with vbhq_ ("virtio-blk host queue"), apart from the
 * partitions' virtio-blk device (hv/vdev/virtio_blk.h).
 */
#ifndef DRIVERS_VIRTIO_BLK_HOST_QUEUE_H
#define DRIVERS_VIRTIO_BLK_HOST_QUEUE_H

#include <stdint.h>

#include "block.h"
#include "vdev/virtio_spec.h"

#define VBHQ_SIZE_MAX 128 /* entries; the rings of 128 fit one page (vbhq_ring_bytes, unit-tested) */
#define VBHQ_CMD_BYTES_MAX (1u << 30) /* one command's data: its used length (data + status) fits 32 bits */

/*
 * VERSION_1 (required: the caller leaves a device without it out), the
 * virtio-blk features this driver uses, and ACCESS_PLATFORM: no IOMMU is
 * set up, so the physical addresses the driver gives are what the device
 * must use, as that feature asks (6.1); a device offering it may refuse a
 * driver that does not take it.
 */
#define VBHQ_FEATURES (VIRTIO_F_VERSION_1 | VIRTIO_F_ACCESS_PLATFORM | VIRTIO_BLK_F_SIZE_MAX | VIRTIO_BLK_F_SEG_MAX | \
		       VIRTIO_BLK_F_RO | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH)

/* The features to take of those offered into *taken; NULL, or why the device cannot be driven. */
const char *vbhq_negotiate(uint64_t offered, uint64_t *taken);

/* The feature bits as names, for the boot log ("VERSION_1 FLUSH bit 24"); "none" when there are none. */
void vbhq_feature_names(uint64_t features, char *buf, unsigned size);

/* How one command's data may be described. */
struct vbhq_limits {
	uint32_t seg_max;    /* data descriptors */
	uint32_t size_max;   /* bytes in one descriptor */
	uint32_t block_size; /* the command's data is whole blocks */
};

/*
 * The limits from the device's configuration (5.2.4): seg_max and size_max
 * where negotiated and not 0, within what the queue of queue_size entries
 * takes with a header and a status descriptor.
 */
struct vbhq_limits vbhq_limits(uint64_t features, uint32_t seg_max, uint32_t size_max, uint32_t block_size,
			       unsigned queue_size);

/* A descriptor's buffer, as the driver asks for it. */
struct vbhq_buf {
	uint64_t pa;
	uint32_t len;
	uint8_t write; /* device-writable */
};

/*
 * The longest run of data from *at, at most max_bytes, that one command
 * can carry within lim and that ends on a block boundary, as descriptors
 * into out (lim->seg_max of them at most; device-writable when write);
 * advances *at and returns the bytes, *nout the descriptors. A segment may
 * be cut into several descriptors (size_max) and a descriptor may cross
 * pages: the device DMAs any physically contiguous range. 0 when no whole
 * block fits, or a segment wraps the address space.
 */
uint32_t vbhq_build_data(const struct blk_seg *seg, uint32_t nseg, struct blk_cursor *at, uint32_t max_bytes,
			 const struct vbhq_limits *lim, int write, struct vbhq_buf *out, uint32_t *nout);

/* The split virtqueue, driver side. */
struct vbhq {
	uint16_t size;
	uint8_t *desc, *avail;
	const volatile uint8_t *used;
	uint64_t desc_pa, avail_pa, used_pa;
	uint16_t avail_idx;  /* the next available ring entry, published by vbhq_publish() */
	uint16_t last_used;  /* the next used ring entry to read */
	uint16_t free_head, nfree;
	uint16_t inflight;   /* chains made available and not yet used */
	uint16_t link[VBHQ_SIZE_MAX];  /* the next descriptor in a chain or in the free list: the driver's copy */
	uint16_t chain[VBHQ_SIZE_MAX]; /* descriptors in the chain headed here while in flight; 0: no such chain */
};

/* Bytes of the three rings of size entries, laid out as vbhq_init() does. */
uint32_t vbhq_ring_bytes(unsigned size);

/*
 * An empty queue of size entries (a power of two, at most VBHQ_SIZE_MAX)
 * over mem (vbhq_ring_bytes(size), 16-byte aligned, at physical pa), which
 * it zeroes: every descriptor free, interrupts not wanted (the driver polls).
 */
void vbhq_init(struct vbhq *q, unsigned size, void *mem, uint64_t pa);
/* The device asked for an interrupt with each used buffer: the driver has one (MSI-X) routed. */
void vbhq_want_interrupts(struct vbhq *q);

/*
 * Makes the chain of n buffers available (not yet published); its head,
 * which is q->free_head before the call, or -1 with fewer than n
 * descriptors free.
 */
int vbhq_add(struct vbhq *q, const struct vbhq_buf *buf, unsigned n);

/* Publishes the chains added (2.7.13.3, after a write barrier); 1 if the device wants a notification. */
int vbhq_publish(struct vbhq *q);

enum vbhq_used {
	VBHQ_NONE,     /* nothing new */
	VBHQ_DONE,     /* *head's chain is back, its descriptors free again, *len what the device says it wrote */
	VBHQ_BAD_IDX,  /* the used index claims more chains than are in flight */
	VBHQ_BAD_ID,   /* the element's id is no chain in flight (*head: the id, cut to 16 bits) */
};

/* The next used element; after VBHQ_BAD_* the ring is not read further (the device must be reset). */
enum vbhq_used vbhq_take_used(struct vbhq *q, uint16_t *head, uint32_t *len);

/*
 * A command's outcome from its used element's length and its status byte
 * (5.2.6): a length short of the data a read asked for plus the status
 * byte says the device did not write them all (2.7.8.2: the driver may not
 * trust what lies past it), BLK_E_IO; a longer one changes nothing. The
 * status: OK, UNSUPP (BLK_E_UNSUPP), anything else BLK_E_IO (the driver
 * sets an invalid value before issuing, so a status never written fails).
 */
enum blk_status vbhq_outcome(int read, uint32_t data_bytes, uint32_t used_len, uint8_t status);

#endif
