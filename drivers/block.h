/*
 * The host's block devices, whatever their controller (NVMe, AHCI, ATA/IDE,
 * virtio-blk, a RAM disk): one interface the block layer (hv/blk.h) drives
 * and each storage driver implements.
 *
 * Requests are asynchronous. submit() queues a request and returns at once;
 * the driver later calls req->done() exactly once, from its poll(), with no
 * driver lock held (so done() may submit again). A request the device has
 * not completed by req->deadline (host TSC) completes with BLK_E_TIMEOUT;
 * the driver then recovers the device (reset) or marks it failed, and fails
 * what else it held: it never waits without bound.
 *
 * Data buffers are host-physical segments. Guest RAM is static, so a guest
 * buffer is host memory at a fixed offset and the driver DMAs straight into
 * it. Each segment's address and length are multiples of BLK_SECTOR (the
 * block layer bounces anything else); the lengths add up to blocks *
 * block_size. A driver splits a request its hardware cannot describe in one
 * command (an NVMe PRP list wants page-aligned middle segments, an IDE PRD
 * entry may not cross 64 KiB) and completes it once all parts are done.
 */
#ifndef DRIVERS_BLOCK_H
#define DRIVERS_BLOCK_H

#include <stdint.h>

#define BLK_SECTOR 512u
#define BLK_SEG_MAX 128u /* segments in one request */
#define BLK_NAME_MAX 16
#define BLK_MODEL_MAX 41
#define BLK_DEVS_MAX 16

enum blk_op { BLK_READ, BLK_WRITE, BLK_FLUSH, BLK_DISCARD, BLK_WRITE_ZEROES };

enum blk_status {
	BLK_OK,
	BLK_E_IO,      /* the device reported an error */
	BLK_E_TIMEOUT, /* no completion by the deadline */
	BLK_E_RANGE,   /* past the end of the device (or of a partition's extent) */
	BLK_E_RO,      /* a write to a read-only device or extent */
	BLK_E_UNSUPP,  /* an operation the device does not have */
};

struct vdisk;

/*
 * How a device's completions are noticed: by poll() alone, called every
 * millisecond or so while requests are out, or by an interrupt that wakes
 * a CPU to poll at once (drivers/pci_msi.h), with poll() still called now
 * and then to catch one that never comes.
 */
enum blk_irq { BLK_POLLED, BLK_MSI, BLK_MSIX };

struct blk_seg {
	uint64_t pa;  /* host-physical */
	uint32_t len; /* bytes */
};

/* Where a driver's next command starts in a request's data: a segment and a byte offset in it. */
struct blk_cursor {
	uint32_t seg;
	uint32_t off;
};

struct blk_req {
	enum blk_op op;
	uint64_t lba;    /* in the device's logical blocks */
	uint32_t blocks; /* 0 for BLK_FLUSH */
	uint32_t nseg;
	struct blk_seg seg[BLK_SEG_MAX];
	uint64_t deadline; /* host TSC; set by the block layer */
	void (*done)(struct blk_req *req, enum blk_status status);
	void *owner;     /* the submitter's */
	uint64_t driver[4]; /* the driver's, while it holds the request */
	struct blk_req *next; /* the driver's or the block layer's queue link */
	/* The block layer's, while it holds the request (hv/blk.c): done is its own then. */
	struct vdisk *vdisk;
	void (*submitter_done)(struct blk_req *req, enum blk_status status);
	uint32_t retries;
	uint64_t submitted; /* host TSC at vdisk_submit, for its latency */
};

struct blk_dev;

struct blk_ops {
	/* Queues r; 0, or -1 when the device's queue is full (try again after a completion). */
	int (*submit)(struct blk_dev *d, struct blk_req *r);
	/* Completes what the device has finished and what has timed out; any CPU, any time. */
	void (*poll)(struct blk_dev *d);
};

struct blk_dev {
	char name[BLK_NAME_MAX];   /* "nvme0n1", "ahci0p2" (port), "ide0m" , "vblk0", "ram0" */
	char model[BLK_MODEL_MAX]; /* as the device names itself */
	uint64_t blocks;           /* logical blocks */
	uint32_t block_size;       /* bytes: 512 or 4096 */
	uint32_t queue_depth;      /* requests it takes at once */
	uint8_t read_only;
	uint8_t write_cache;       /* volatile: FLUSH matters */
	uint8_t discard, write_zeroes;
	uint8_t irq;               /* enum blk_irq; the block layer may turn it to BLK_POLLED */
	const struct blk_ops *ops;
	void *priv;
};

/* "polled", "MSI", "MSI-X". */
const char *blk_irq_name(enum blk_irq irq);

/* A driver's device, once identified; 0, or -1 when the table is full. */
int blk_register(struct blk_dev *d);
unsigned blk_count(void);
struct blk_dev *blk_get(unsigned index);

/*
 * Completions a driver gathers under its lock and delivers once it has
 * released it (done() may submit again): blk_finish() queues r with its
 * status, blk_finish_all() calls each done() in the order queued.
 */
struct blk_finished {
	struct blk_req *head, **tail;
};
void blk_finish(struct blk_finished *f, struct blk_req *r, enum blk_status status);
void blk_finish_all(struct blk_finished *f);

/*
 * A request a driver carries in several commands (NVMe, virtio-blk): its
 * state in driver[BLK_SPLIT_CURSOR..BLK_SPLIT_STATE] while the driver
 * holds it: where the next command's data starts, the blocks issued, and
 * the status, flags and commands outstanding (<< 16). It is over once all
 * is issued and nothing is outstanding.
 */
#define BLK_SPLIT_CURSOR 0
#define BLK_SPLIT_ISSUED 1
#define BLK_SPLIT_STATE 2
#define BLK_SPLIT_STATUS 0xffu
#define BLK_SPLIT_ALL_ISSUED (1u << 8)
#define BLK_SPLIT_COLLECTED (1u << 9)
#define BLK_SPLIT_OUTSTANDING_ONE (1u << 16)

/* Nothing issued, no status: (again) from its start. */
void blk_split_restart(struct blk_req *r);
/* Its status, unless it has one already: the first error stays. */
void blk_split_fail(struct blk_req *r, enum blk_status s);
struct blk_cursor blk_split_cursor(const struct blk_req *r);
/* A command of blocks issued, its data ending at at. */
void blk_split_issued(struct blk_req *r, struct blk_cursor at, uint32_t blocks);
/* A command completed; with status (not BLK_OK), the request fails. */
void blk_split_completed(struct blk_req *r, enum blk_status status);
/* No more commands: the rest cannot be issued, the request fails with s. */
void blk_split_give_up(struct blk_req *r, enum blk_status s);
int blk_split_all_issued(const struct blk_req *r);
int blk_split_over(const struct blk_req *r);
/* r onto *list (linked by next) unless it is there already: a request held by several commands, once. */
void blk_split_collect(struct blk_req *r, struct blk_req **list);

/* Requests accepted and not every command issued, in order. */
struct blk_pending {
	struct blk_req *head, **tail;
};
void blk_pending_init(struct blk_pending *p);
void blk_pending_add(struct blk_pending *p, struct blk_req *r);
void blk_pending_pop(struct blk_pending *p);
/* Every pending request onto *list (blk_split_collect), the queue emptied; before the commands' requests, whose next links collect rewrites. */
void blk_pending_take(struct blk_pending *p, struct blk_req **list);

/* The host TSC ms milliseconds from now: a deadline for a request or a bounded wait. */
uint64_t blk_deadline_ms(uint64_t ms);

#endif
