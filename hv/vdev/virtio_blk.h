/*
 * virtio-blk (virtio 1.2, 5.2) on the virtio PCI transport: one device per
 * `disk =` line of a partition, at PCI slot PLATFORM_PCI_SLOT_DISKS + its
 * index, over the block layer's virtual disk (hv/blk.h).
 *
 * Offered: SEG_MAX (126: a chain of header, 126 data segments and status
 * fits the 128-entry queue and a block request), SIZE_MAX (1 MiB), BLK_SIZE
 * (the host device's logical block), FLUSH, RO for a read-only disk or
 * device, DISCARD and WRITE_ZEROES (one range a request) when the host
 * device has them; not TOPOLOGY (the host drivers report no physical
 * block size apart from the logical one), not MQ: one queue.
 *
 * A request is the chain's bytes, in whatever buffers (2.6.4): the first
 * 16 device-readable bytes are the header (type, reserved, sector), the
 * last device-writable byte the status. Checked before use:
 *   - a chain the walker refuses (virtqueue.h, logged): where its status
 *     byte is cannot be known, so the device sets DEVICE_NEEDS_RESET and
 *     takes nothing more until the driver resets it (2.1.1), rather than
 *     let the driver take stale bytes for a status;
 *   - no device-writable byte: nowhere to put a status; the chain is given
 *     back unwritten (used length 0);
 *   - a header short of 16
 *     bytes, data not a multiple of 512 bytes or in more than SEG_MAX
 *     pieces, data in the wrong direction for the type, a sector range
 *     past the disk's end (overflow-safe): VIRTIO_BLK_S_IOERR;
 *   - a write, discard or write-zeroes to a read-only disk: IOERR;
 *   - an unknown type, or a discard or write-zeroes not offered, or a
 *     discard asking to unmap: VIRTIO_BLK_S_UNSUPP;
 *   - IN, OUT, FLUSH, DISCARD, WRITE_ZEROES go to vdisk_submit(); a host
 *     error or timeout there is IOERR. GET_ID answers at once.
 * Data moves by DMA straight between the host device and guest RAM: each
 * segment's host-physical address is the partition's memory base plus the
 * guest address's offset in it (platform.h). FLUSH is passed down as
 * BLK_FLUSH, so it completes only once the host device has flushed the
 * writes completed before it.
 *
 * Requests in flight: up to the queue's size, each in a struct vblk_req
 * of the device's pool; a completion writes the status, gives the chain
 * back on the used ring and raises the queue's interrupt when the driver
 * asks for it (EVENT_IDX). A request taken before a device reset
 * completes into nothing (its buffers are the old driver's). When the
 * partition stops, its disks are closed and the block layer completes
 * nothing more; the pools stay until the host devices let go of them.
 */
#ifndef HV_VDEV_VIRTIO_BLK_H
#define HV_VDEV_VIRTIO_BLK_H

#include <stdint.h>

#include "blk.h"
#include "virtio_pci.h"
#include "virtio_spec.h"

#define VBLK_QUEUE_SIZE 128
#define VBLK_SEG_MAX (VBLK_QUEUE_SIZE - 2 < BLK_SEG_MAX ? VBLK_QUEUE_SIZE - 2 : BLK_SEG_MAX)
#define VBLK_SIZE_MAX (1u << 20)
#define VBLK_CONFIG_SIZE 0x3c
#define VBLK_ID_BYTES 20

/* What a request may do on its disk, for the parser. */
struct vblk_disk {
	uint64_t sectors; /* of 512 bytes */
	uint8_t read_only, discard, write_zeroes;
};

/* A parsed request: what to submit, or the status it already has. */
struct vblk_request {
	uint32_t type;
	uint64_t sector;
	uint8_t status;    /* with VBLK_COMPLETE */
	uint64_t status_at;/* the status byte's offset in RAM */
	uint32_t written;  /* bytes of device-writable buffers the request fills, status included */
	enum blk_op op;
	uint32_t blocks;   /* 512-byte sectors */
	uint32_t nseg;
	struct vq_buf seg[VBLK_SEG_MAX]; /* the data, in RAM offsets */
};

enum vblk_verdict {
	VBLK_SUBMIT,   /* for the block layer */
	VBLK_COMPLETE, /* its status is decided: write it and give the chain back */
	VBLK_NO_STATUS,/* no byte to write a status to: give the chain back unwritten */
};

/*
 * The request that the chain's n buffers (as vq_chain() gave them, in the
 * RAM at ram) make. Pure but for reading the header (once) from guest RAM.
 */
enum vblk_verdict vblk_parse(const uint8_t *ram, const struct vq_buf *buf, unsigned n, const struct vblk_disk *disk,
			     struct vblk_request *rq);

struct virtio_blk;

/* One request in flight; blk first, its owner the request itself. */
struct vblk_req {
	struct blk_req blk;
	struct virtio_blk *dev;
	uint32_t resets;     /* the transport's count when taken */
	uint16_t head;
	uint32_t written;
	uint64_t status_at;
	struct vblk_req *next_free;
};

struct virtio_blk {
	struct virtio_pci vp;
	struct virtio_type type;
	struct vdisk *disk;           /* open while the partition runs (the partition's) */
	struct vblk_disk limits;
	uint8_t config[VBLK_CONFIG_SIZE];
	char id[VBLK_ID_BYTES];
	struct vblk_req *pool, *free; /* VBLK_QUEUE_SIZE of them */
	unsigned in_flight;           /* of the pool, with the block layer (with the lock) */
	int taking;                   /* a CPU takes the ring's chains (take_chains(), with the lock) */
	uint64_t pool_pa;             /* the pool's pages (the partition's glue) */
	struct vq_buf chain[VBLK_SEG_MAX + 2]; /* the chain being parsed, with the lock */
	struct vblk_request rq;
};

/*
 * b over the open disk, set up for partition p whose RAM is ram, at slot
 * of pci, with pool (VBLK_QUEUE_SIZE entries); NULL or why not.
 */
const char *virtio_blk_init(struct virtio_blk *b, struct vdisk *disk, struct partition *p, const struct vq_ram *ram,
			    struct vpci *pci, unsigned slot, struct vblk_req *pool);

/* ---- the partition's glue */

/*
 * A device over each of p's open disks (disks[i] for its i-th disk line),
 * at slot PLATFORM_PCI_SLOT_DISKS + i; NULL or why not (the pools taken so
 * far are given back).
 */
const char *virtio_blk_attach(struct partition *p, struct vdisk *disks);
/*
 * The devices' request pools given back: once the disks are closed and no
 * host device holds a request of theirs (vdisk_busy() says 0), since the
 * requests live in the pools.
 */
void virtio_blk_detach(struct partition *p);

/*
 * TSC ticks every device spent in the driver's notifications: taking its
 * chains, checking and parsing them, and the block layer's and the host
 * driver's submission. Not counted: the VM exit of the notifying write
 * (`make bench`'s exit costs) and the completion (blk_poll_ticks()), with
 * the chains it takes when the driver added them without a notification.
 */
uint64_t virtio_blk_notify_ticks(void);

#endif
