/*
 * The block layer: a partition's virtual disk is an extent of a host block
 * device (a GPT partition, optionally a sub-range of it) or a RAM disk, as
 * hv.cfg's `disk =` lines name it. The virtual device (vdev/virtio_blk)
 * hands it requests in 512-byte sectors of the virtual disk; the block
 * layer checks them against the extent (overflow-safe), maps them onto the
 * host device's LBAs, queues them fairly with the other partitions'
 * requests for the same device, and completes them through req->done.
 */
#ifndef HV_BLK_H
#define HV_BLK_H

#include <stdint.h>

#include "block.h"

struct cfg_disk;

struct vdisk {
	struct blk_dev *dev;
	uint64_t first;   /* the device's LBA where the extent starts */
	uint64_t sectors; /* the extent's size in BLK_SECTOR units */
	uint8_t read_only;
	char source[64];  /* as hv.cfg names it, for the log and the console */
	/* The fair queue's: requests waiting for the device, and how many it holds now. */
	struct blk_req *waiting, **waiting_tail;
	uint32_t in_flight;
	uint64_t requests, errors, bytes_read, bytes_written;
};

/* Finds what cfg names and opens it as vd for the partition `owner`; NULL, or why not. */
const char *vdisk_open(struct vdisk *vd, const struct cfg_disk *cfg, const char *owner);
void vdisk_close(struct vdisk *vd);

/*
 * Queues r, whose lba and blocks count BLK_SECTOR sectors of the virtual
 * disk; r->done is called exactly once, at once with BLK_E_RANGE or
 * BLK_E_RO when the request does not fit the extent or writes a read-only
 * one, else when the device has finished it (or it timed out).
 */
void vdisk_submit(struct vdisk *vd, struct blk_req *r);

/* Completions and timeouts of every host block device; called from each CPU's scheduler loop. */
void blk_poll_all(void);

#endif
