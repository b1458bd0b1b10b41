/*
 * The block layer: a partition's virtual disk is an extent of a host block
 * device (a GPT partition, optionally a sub-range of it) or a RAM disk, as
 * hv.cfg's `disk =` lines name it. The virtual device (vdev/virtio_blk)
 * hands it requests in 512-byte sectors of the virtual disk; the block
 * layer checks them against the extent (overflow-safe), maps them onto the
 * host device's LBAs, queues them fairly with the other partitions'
 * requests for the same device, and completes them through req->done.
 *
 * Fairness: each host device has one queue; the virtual disks open on it
 * are served round-robin, one request each in turn, and none has more
 * than max(1, queue_depth / virtual disks with work) requests at the
 * device at once, so a partition with a deep queue cannot starve another,
 * and one alone at work has the whole device.
 * A request the driver failed with BLK_E_TIMEOUT before its own deadline
 * (another request's timeout made the driver reset the device) is sent
 * again, up to BLK_RETRIES times: one partition's timeout does not fail
 * another's requests.
 *
 * Locking: one spin lock per device queue; the driver's submit is called
 * with it held, req->done without it (done may submit again).
 */
#ifndef HV_BLK_H
#define HV_BLK_H

#include <stdint.h>

#include "block.h"
#include "lib/lat_hist.h"

#define BLK_TIMEOUT_S 30 /* a request's deadline, from the time the device gets it */
#define BLK_RETRIES 3
#define VDISK_OWNER_MAX 32

struct boot_info;
struct cfg_disk;
struct blk_queue;

struct vdisk {
	struct blk_dev *dev;
	uint64_t first;   /* the device's LBA where the extent starts */
	uint64_t sectors; /* the extent's size in BLK_SECTOR units */
	uint8_t read_only; /* as hv.cfg says, or because the device is: the guest is told */
	char source[64];  /* as hv.cfg names it, for the log and the console */
	char owner[VDISK_OWNER_MAX]; /* the partition's name */
	/* The fair queue's: requests waiting for the device, and how many it holds now. */
	struct blk_req *waiting, **waiting_tail;
	uint32_t in_flight;
	uint64_t requests, errors, bytes_read, bytes_written;
	/* Of the requests it queued: from vdisk_submit to completion, just before the submitter's done. */
	struct lat_hist latency;
	struct blk_queue *queue; /* its device's; 0 when not open */
	struct vdisk *next;      /* in its queue's list of open virtual disks */
	uint8_t closed;          /* done no more: its owner is gone */
	uint8_t ramdisk;         /* dev is its own RAM disk, destroyed at close */
};

/* The boot medium, where `ramdisk:FILE` disks come from. */
void blk_init(const struct boot_info *bi);

/*
 * Finds what cfg names and opens it as vd for the partition `owner`; NULL,
 * or why not. A `ramdisk:FILE` disk is a fresh copy of the file in the
 * hypervisor's memory, rounded up to whole sectors, given back at close.
 */
const char *vdisk_open(struct vdisk *vd, const struct cfg_disk *cfg, const char *owner);

/* vd as an extent of dev, from its block first, of sectors BLK_SECTOR sectors (checked by the caller). */
const char *vdisk_open_extent(struct vdisk *vd, struct blk_dev *dev, uint64_t first, uint64_t sectors,
			      int read_only, const char *source, const char *owner);

/*
 * Any context, even with the scheduler's lock held: vd takes no more
 * requests, those still waiting are dropped and those the device holds
 * complete into nothing, their done never called (their owner is going).
 * Until vdisk_busy() says 0, the device may still read or write the
 * owner's buffers, and the requests' storage must stay.
 */
void vdisk_close(struct vdisk *vd);
int vdisk_busy(const struct vdisk *vd);

/*
 * Queues r, whose lba and blocks count BLK_SECTOR sectors of the virtual
 * disk; r->done is called exactly once, at once with BLK_E_RANGE or
 * BLK_E_RO when the request does not fit the extent or writes a read-only
 * one, else when the device has finished it (or it timed out). Refused at
 * once with BLK_E_IO: a read or write of no sectors, or one whose
 * segments are not whole, 512-byte aligned sectors adding up to its
 * length (nothing is bounced: Linux keeps its block queues' DMA alignment
 * at 512 bytes, so a guest's segments are whole sectors), and on a device
 * of 4096-byte blocks, a request not aligned to them (the virtual device
 * advertises the block size, so the guest aligns). Unsupported operations
 * get BLK_E_UNSUPP. Once queued, r's lba and blocks are the device's.
 */
void vdisk_submit(struct vdisk *vd, struct blk_req *r);

/* For the console: vd's counters and latencies, copied under its queue's lock. */
void vdisk_counters(const struct vdisk *vd, struct vdisk *out);
/* For the console: copies of the virtual disks open on d (at most max); how many. */
unsigned blk_vdisks_on(const struct blk_dev *d, struct vdisk *out, unsigned max);
/*
 * A host device's faults, from the requests of its virtual disks (not the
 * boot's GPT reads): the errors it (or its driver, having given it up)
 * ended them with, by operation, timeouts included; the requests that
 * timed out; and failed: a request timed out and none has succeeded since,
 * its controller has stopped answering. A request that another's timeout
 * failed and that is sent again (BLK_RETRIES) is not counted.
 */
struct blk_faults {
	uint64_t read_errors, write_errors, flush_errors, other_errors; /* other: discard, write zeroes */
	uint64_t timeouts;
	uint8_t failed;
};

/* For the console: d's faults, copied under its queue's lock; none for a device no virtual disk opened. */
void blk_faults_of(const struct blk_dev *d, struct blk_faults *out);
/* The devices virtual disks are open on, RAM disks included (at most max); how many. */
unsigned blk_devices_in_use(struct blk_dev **out, unsigned max);

/*
 * Completions and timeouts of every host block device; called from each
 * CPU's scheduler loop. What it returns says when to call it again: with
 * requests out on a polled device (or RAM disk), soon; with requests out
 * only on interrupt-driven devices, whose interrupt wakes a CPU, within
 * the watch period (for timeouts and an interrupt that never comes).
 */
enum blk_poll { BLK_POLL_IDLE, BLK_POLL_SOON, BLK_POLL_WATCH };
enum blk_poll blk_poll_all(void);

/*
 * TSC ticks spent in blk_poll_all() calls that completed requests: the
 * drivers' completion paths and the submitters' done (a virtio-blk
 * device's used ring and interrupt), for the hypervisor's cost per
 * request (`disks`, `make bench`).
 */
uint64_t blk_poll_ticks(void);

#endif
