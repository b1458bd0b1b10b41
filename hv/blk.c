/* The block layer (blk.h): extents, the mapping onto host LBAs, and the fair queue of each host device. */
#include "blk.h"

#include "arch.h"
#include "boot_info.h"
#include "config.h"
#include "disks.h"
#include "lib/fmt.h"
#include "lib/muldiv.h"
#include "lib/spinlock.h"
#include "lib/str.h"
#include "log.h"
#include "ramdisk.h"

#define QUEUES_MAX (BLK_DEVS_MAX + RAMDISKS_MAX)
/*
 * A poll of an interrupt-driven device that finds completions with no disk
 * interrupt since the device's previous poll may have beaten the interrupt
 * on its way: it is a suspicion, cleared by any disk interrupt within
 * IRQ_GRACE_MS. A device with IRQ_SUSPICIONS such suspicions in a row
 * confirmed is taken to never interrupt, and is polled from then on.
 */
#define IRQ_GRACE_MS 200
#define IRQ_SUSPICIONS 3

/* A host device's queue: the virtual disks open on it, served round-robin from rr. */
struct blk_queue {
	struct spinlock lock;
	struct blk_dev *dev;
	struct vdisk *vdisks, *rr;
	uint32_t nvdisks;
	uint32_t held; /* requests of this queue waiting or at the device */
	/* An interrupt-driven device's watch (IRQ_GRACE_MS): */
	uint8_t completed;      /* requests completed since its last poll */
	uint64_t irqs_polled;   /* arch_disk_irqs() at its last poll */
	uint64_t suspect_since; /* host TSC of the suspicion being checked; 0: none */
	uint32_t suspicions;    /* confirmed in a row */
	struct blk_faults faults;
};

static const struct boot_info *boot_medium;
static struct blk_queue queues[QUEUES_MAX];
static unsigned nqueues;              /* slots ever used; a slot keeps its device */
static struct spinlock table_lock;    /* nqueues and the slots' devices */
static volatile uint32_t outstanding; /* requests the block layer holds, waiting or at a device */
static volatile uint64_t completions; /* requests the devices completed */
static volatile uint64_t poll_ticks;  /* TSC ticks in blk_poll_all() calls that completed requests */

void blk_init(const struct boot_info *bi)
{
	boot_medium = bi;
}

/* The queue of d, made on first use; 0 if the table is full. */
static struct blk_queue *queue_of(struct blk_dev *d)
{
	struct blk_queue *q = 0;
	unsigned i;

	spin_lock(&table_lock);
	for (i = 0; i < nqueues && !q; i++)
		if (queues[i].dev == d)
			q = &queues[i];
	if (!q && nqueues < QUEUES_MAX) {
		q = &queues[nqueues];
		q->dev = d;
		__atomic_store_n(&nqueues, nqueues + 1, __ATOMIC_RELEASE);
	}
	spin_unlock(&table_lock);
	return q;
}

/* ---- the fair queue ---------------------------------------------------- */

/*
 * With q's lock held: requests each virtual disk may have at the device at
 * once, the device's depth shared by those with requests waiting or out. A
 * disk alone at work has the whole depth; once another has work, the first
 * sends no more until it is under its share, and the slots it frees go to
 * the other in turn.
 */
static uint32_t in_flight_bound(const struct blk_queue *q)
{
	uint32_t depth = q->dev->queue_depth ? q->dev->queue_depth : 1, active = 0;
	const struct vdisk *vd;

	for (vd = q->vdisks; vd; vd = vd->next)
		active += vd->waiting || vd->in_flight;
	depth /= active ? active : 1;
	return depth ? depth : 1;
}

static struct blk_req *pop_waiting(struct vdisk *vd)
{
	struct blk_req *r = vd->waiting;

	vd->waiting = r->next;
	if (!vd->waiting)
		vd->waiting_tail = &vd->waiting;
	return r;
}

static void push_waiting_front(struct vdisk *vd, struct blk_req *r)
{
	r->next = vd->waiting;
	if (!vd->waiting)
		vd->waiting_tail = &r->next;
	vd->waiting = r;
}

/*
 * With q's lock held: one request from each virtual disk in turn that has
 * one waiting and room under its bound, until the device is full or
 * nothing can go. The deadline starts when the device gets the request.
 * The bound is reckoned only once a request waits: a completion with none
 * waiting (the most of them) then does not walk the disks for it.
 */
static void dispatch(struct blk_queue *q)
{
	uint32_t bound = 0, idle = 0; /* 0: not reckoned yet (in_flight_bound() is at least 1) */

	while (q->rr && idle < q->nvdisks) {
		struct vdisk *vd = q->rr;
		struct blk_req *r;

		q->rr = vd->next ? vd->next : q->vdisks;
		if (vd->waiting && !bound)
			bound = in_flight_bound(q);
		if (!vd->waiting || vd->in_flight >= bound) {
			idle++;
			continue;
		}
		r = pop_waiting(vd);
		r->deadline = arch_tsc() + BLK_TIMEOUT_S * arch_tsc_hz();
		vd->in_flight++;
		if (q->dev->ops->submit(q->dev, r)) {
			vd->in_flight--;
			push_waiting_front(vd, r);
			q->rr = vd; /* first again once the device has room */
			return;
		}
		idle = 0;
	}
}

static void count(struct vdisk *vd, const struct blk_req *r, enum blk_status status)
{
	uint64_t bytes = (uint64_t)r->blocks * vd->dev->block_size;

	if (status != BLK_OK)
		vd->errors++;
	else if (r->op == BLK_READ)
		vd->bytes_read += bytes;
	else if (r->op == BLK_WRITE)
		vd->bytes_written += bytes;
	lat_hist_add(&vd->latency, mul_div(arch_tsc() - r->submitted, 1000000, arch_tsc_hz()));
}

/*
 * With q's lock held: a request the device ended with status, retries
 * aside. Refusals (range, read-only, unsupported) are the submitter's, not
 * the device's, and are not counted.
 */
static void count_fault(struct blk_faults *f, const struct blk_req *r, enum blk_status status)
{
	if (status == BLK_OK) {
		f->failed = 0;
		return;
	}
	if (status != BLK_E_IO && status != BLK_E_TIMEOUT)
		return;
	if (r->op == BLK_READ)
		f->read_errors++;
	else if (r->op == BLK_WRITE)
		f->write_errors++;
	else if (r->op == BLK_FLUSH)
		f->flush_errors++;
	else
		f->other_errors++;
	if (status == BLK_E_TIMEOUT) {
		f->timeouts++;
		f->failed = 1;
	}
}

/* A timeout before r's own deadline: the driver reset the device for another request's. */
static int is_collateral(const struct vdisk *vd, const struct blk_req *r, enum blk_status status)
{
	return status == BLK_E_TIMEOUT && !vd->closed && r->retries < BLK_RETRIES &&
	       (int64_t)(arch_tsc() - r->deadline) < 0;
}

/* The driver's done for every request the block layer sends it. */
static void complete(struct blk_req *r, enum blk_status status)
{
	struct vdisk *vd = r->vdisk;
	struct blk_queue *q = vd->queue;
	int closed;

	spin_lock(&q->lock);
	vd->in_flight--;
	/*
	 * Only a read or write that succeeded surely reached the device and
	 * so interrupted: a timeout is the driver's, a refusal is found at
	 * submit, and a written-through device's FLUSH finishes at once.
	 */
	if (status == BLK_OK && r->op != BLK_FLUSH)
		q->completed = 1;
	if (is_collateral(vd, r, status)) {
		r->retries++;
		push_waiting_front(vd, r);
		dispatch(q);
		spin_unlock(&q->lock);
		return;
	}
	count(vd, r, status);
	count_fault(&q->faults, r, status);
	__atomic_fetch_add(&completions, 1, __ATOMIC_RELAXED);
	closed = vd->closed;
	dispatch(q);
	spin_unlock(&q->lock);
	__atomic_fetch_sub(&q->held, 1, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&outstanding, 1, __ATOMIC_RELAXED);
	r->done = r->submitter_done;
	if (!closed)
		r->done(r, status);
}

/* ---- requests: checked against the extent, mapped onto the device ------ */

/* Whole, aligned sectors adding up to the request's length (blk.h: nothing is bounced). */
static int segments_fit(const struct blk_req *r)
{
	uint64_t total = 0;
	uint32_t i;

	if (r->nseg == 0 || r->nseg > BLK_SEG_MAX)
		return 0;
	for (i = 0; i < r->nseg; i++) {
		if (r->seg[i].len == 0 || r->seg[i].len % BLK_SECTOR || r->seg[i].pa % BLK_SECTOR)
			return 0;
		total += r->seg[i].len;
	}
	return total == (uint64_t)r->blocks * BLK_SECTOR;
}

static enum blk_status check_op(const struct vdisk *vd, const struct blk_req *r)
{
	const struct blk_dev *d = vd->dev;

	switch (r->op) {
	case BLK_READ:
		return BLK_OK;
	case BLK_WRITE:
	case BLK_FLUSH:
		break;
	case BLK_DISCARD:
		if (!d->discard)
			return BLK_E_UNSUPP;
		break;
	case BLK_WRITE_ZEROES:
		if (!d->write_zeroes)
			return BLK_E_UNSUPP;
		break;
	default:
		return BLK_E_UNSUPP;
	}
	return r->op != BLK_FLUSH && vd->read_only ? BLK_E_RO : BLK_OK;
}

/* r in the virtual disk's sectors, checked, then in the device's blocks. */
static enum blk_status map_request(const struct vdisk *vd, struct blk_req *r)
{
	uint32_t per_block = vd->dev->block_size / BLK_SECTOR;
	enum blk_status status = check_op(vd, r);

	if (status != BLK_OK || r->op == BLK_FLUSH)
		return status;
	if (r->lba >= vd->sectors || r->blocks > vd->sectors - r->lba)
		return BLK_E_RANGE;
	if (r->blocks == 0 || r->lba % per_block || r->blocks % per_block)
		return BLK_E_IO;
	if ((r->op == BLK_READ || r->op == BLK_WRITE) && !segments_fit(r))
		return BLK_E_IO;
	r->lba = vd->first + r->lba / per_block;
	r->blocks /= per_block;
	return BLK_OK;
}

static void refuse(struct vdisk *vd, struct blk_req *r, enum blk_status status)
{
	struct blk_queue *q = vd->queue;

	spin_lock(&q->lock);
	vd->errors++;
	spin_unlock(&q->lock);
	r->done(r, status);
}

void vdisk_submit(struct vdisk *vd, struct blk_req *r)
{
	struct blk_queue *q = vd->queue;
	enum blk_status status = map_request(vd, r);

	__atomic_fetch_add(&vd->requests, 1, __ATOMIC_RELAXED);
	if (r->op == BLK_FLUSH)
		r->lba = r->blocks = r->nseg = 0;
	if (status != BLK_OK) {
		refuse(vd, r, status);
		return;
	}
	spin_lock(&q->lock);
	if (vd->closed) {
		spin_unlock(&q->lock);
		refuse(vd, r, BLK_E_IO);
		return;
	}
	r->vdisk = vd;
	r->submitted = arch_tsc();
	r->submitter_done = r->done;
	r->done = complete;
	r->retries = 0;
	r->next = 0;
	__atomic_fetch_add(&outstanding, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&q->held, 1, __ATOMIC_RELAXED);
	*vd->waiting_tail = r;
	vd->waiting_tail = &r->next;
	dispatch(q);
	spin_unlock(&q->lock);
}

/* With q's lock held, after a poll of its interrupt-driven device: 1 when it is found to never interrupt. */
static int interrupts_missing(struct blk_queue *q, uint64_t irqs, uint64_t now)
{
	int completed = q->completed, quiet = irqs == q->irqs_polled;

	q->completed = 0;
	q->irqs_polled = irqs;
	if (q->suspect_since) {
		if (!quiet)
			q->suspect_since = q->suspicions = 0; /* an interrupt came, perhaps late */
		else if (now - q->suspect_since > IRQ_GRACE_MS * arch_tsc_hz() / 1000) {
			q->suspect_since = 0;
			return ++q->suspicions == IRQ_SUSPICIONS;
		}
	} else if (completed && quiet)
		q->suspect_since = now;
	else if (completed)
		q->suspicions = 0;
	return 0;
}

/* After a poll of an interrupt-driven device: one whose interrupts do not come is polled from now on. */
static void watch_interrupts(struct blk_queue *q)
{
	uint64_t irqs = arch_disk_irqs(), now = arch_tsc();
	enum blk_irq was = BLK_POLLED;

	spin_lock(&q->lock);
	if (q->dev->irq != BLK_POLLED && interrupts_missing(q, irqs, now)) {
		was = q->dev->irq;
		__atomic_store_n(&q->dev->irq, BLK_POLLED, __ATOMIC_RELAXED);
	}
	spin_unlock(&q->lock);
	if (was != BLK_POLLED)
		log_warn("%s: requests completed and no %s interrupt came within %u ms, %u times in a row; "
			 "polled from now on", q->dev->name, blk_irq_name(was), IRQ_GRACE_MS, IRQ_SUSPICIONS);
}

enum blk_poll blk_poll_all(void)
{
	unsigned n = __atomic_load_n(&nqueues, __ATOMIC_ACQUIRE), i;
	enum blk_poll busy = BLK_POLL_IDLE;
	uint64_t start, before;

	if (!__atomic_load_n(&outstanding, __ATOMIC_RELAXED))
		return BLK_POLL_IDLE;
	start = arch_tsc();
	before = __atomic_load_n(&completions, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++) {
		struct blk_queue *q = &queues[i];

		q->dev->ops->poll(q->dev);
		if (__atomic_load_n(&q->dev->irq, __ATOMIC_RELAXED) != BLK_POLLED)
			watch_interrupts(q);
		if (__atomic_load_n(&q->held, __ATOMIC_RELAXED) && busy != BLK_POLL_SOON)
			busy = __atomic_load_n(&q->dev->irq, __ATOMIC_RELAXED) == BLK_POLLED ? BLK_POLL_SOON
											  : BLK_POLL_WATCH;
	}
	if (__atomic_load_n(&completions, __ATOMIC_RELAXED) != before)
		__atomic_fetch_add(&poll_ticks, arch_tsc() - start, __ATOMIC_RELAXED);
	return busy;
}

uint64_t blk_poll_ticks(void)
{
	return __atomic_load_n(&poll_ticks, __ATOMIC_RELAXED);
}

/* ---- opening and closing ---------------------------------------------- */

static void join_queue(struct vdisk *vd, struct blk_queue *q)
{
	spin_lock(&q->lock);
	vd->queue = q;
	vd->next = q->vdisks;
	q->vdisks = vd;
	q->nvdisks++;
	if (!q->rr)
		q->rr = vd;
	spin_unlock(&q->lock);
}

const char *vdisk_open_extent(struct vdisk *vd, struct blk_dev *dev, uint64_t first, uint64_t sectors,
			      int read_only, const char *source, const char *owner)
{
	struct blk_queue *q = queue_of(dev);

	*vd = (struct vdisk){ .dev = dev, .first = first, .sectors = sectors,
			      .read_only = (uint8_t)(read_only || dev->read_only) }; /* the guest is told */
	vd->waiting_tail = &vd->waiting;
	str_copy(vd->source, sizeof(vd->source), source, str_len(source));
	str_copy(vd->owner, sizeof(vd->owner), owner, str_len(owner));
	if (!q)
		return "the block layer's table of devices is full";
	join_queue(vd, q);
	log_info("partition %s: disk %s on %s (%s), LBA %llu, %llu sectors (%llu KiB)%s", owner, vd->source,
		 dev->name, dev->model, (unsigned long long)first, (unsigned long long)sectors,
		 (unsigned long long)(sectors / 2), vd->read_only ? ", read-only" : "");
	return 0;
}

static const char *open_ramdisk(struct vdisk *vd, const struct cfg_disk *cfg, const char *source,
				const char *owner)
{
	const struct boot_module *m = boot_medium ? boot_module_find(boot_medium, cfg->source) : 0;
	struct blk_dev *d;
	const char *why;

	if (!m)
		return "its file is not on the boot medium";
	if (!m->size)
		return "its file is empty";
	d = ramdisk_create((const uint8_t *)(uintptr_t)m->base, m->size);
	if (!d)
		return "not enough free memory for the RAM disk";
	disks_log_ramdisk(owner, d);
	why = vdisk_open_extent(vd, d, 0, d->blocks, cfg->read_only, source, owner);
	if (why)
		ramdisk_destroy(d);
	else
		vd->ramdisk = 1;
	return why;
}

static const char *kind_prefix(enum cfg_disk_kind kind)
{
	return kind == DISK_GPT_NAME ? "part" : kind == DISK_GPT_GUID ? "guid" : "ramdisk";
}

const char *vdisk_open(struct vdisk *vd, const struct cfg_disk *cfg, const char *owner)
{
	static char why[160]; /* partitions start on CPU 0 alone */
	char source[sizeof(vd->source)];
	struct disk_extent e;

	*vd = (struct vdisk){ 0 };
	fmt(source, sizeof(source), "%s:%s", kind_prefix(cfg->kind), cfg->source);
	if (cfg->kind == DISK_RAMDISK)
		return open_ramdisk(vd, cfg, source, owner);
	if (disks_resolve(cfg, &e, why, sizeof(why)))
		return why;
	return vdisk_open_extent(vd, e.dev, e.first, e.sectors, cfg->read_only, source, owner);
}

/* With q's lock held. */
static void leave_queue(struct vdisk *vd, struct blk_queue *q)
{
	struct vdisk **at;

	for (at = &q->vdisks; *at && *at != vd; at = &(*at)->next)
		;
	if (*at)
		*at = vd->next;
	q->nvdisks--;
	if (q->rr == vd)
		q->rr = vd->next ? vd->next : q->vdisks;
	vd->next = 0;
}

void vdisk_close(struct vdisk *vd)
{
	struct blk_queue *q = vd->queue;
	uint32_t dropped = 0;

	if (!q || vd->closed)
		return;
	spin_lock(&q->lock);
	vd->closed = 1;
	while (vd->waiting) {
		pop_waiting(vd);
		dropped++;
	}
	leave_queue(vd, q);
	spin_unlock(&q->lock);
	__atomic_fetch_sub(&q->held, dropped, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&outstanding, dropped, __ATOMIC_RELAXED);
	if (vd->ramdisk)
		ramdisk_destroy(vd->dev); /* completes what it holds: nothing in flight after it */
}

void vdisk_counters(const struct vdisk *vd, struct vdisk *out)
{
	/* A queue slot is never given back, so its lock outlives vd's time on it. */
	struct blk_queue *q = __atomic_load_n(&vd->queue, __ATOMIC_ACQUIRE);

	if (q)
		spin_lock(&q->lock);
	*out = *vd;
	if (q)
		spin_unlock(&q->lock);
}

unsigned blk_vdisks_on(const struct blk_dev *d, struct vdisk *out, unsigned max)
{
	unsigned n = __atomic_load_n(&nqueues, __ATOMIC_ACQUIRE), i, count = 0;
	const struct vdisk *vd;

	for (i = 0; i < n; i++) {
		struct blk_queue *q = &queues[i];
		if (q->dev != d)
			continue;
		spin_lock(&q->lock);
		for (vd = q->vdisks; vd && count < max; vd = vd->next)
			out[count++] = *vd;
		spin_unlock(&q->lock);
	}
	return count;
}

void blk_faults_of(const struct blk_dev *d, struct blk_faults *out)
{
	unsigned n = __atomic_load_n(&nqueues, __ATOMIC_ACQUIRE), i;

	*out = (struct blk_faults){ 0 };
	for (i = 0; i < n; i++) {
		struct blk_queue *q = &queues[i];
		if (q->dev != d)
			continue;
		spin_lock(&q->lock);
		*out = q->faults;
		spin_unlock(&q->lock);
	}
}

unsigned blk_devices_in_use(struct blk_dev **out, unsigned max)
{
	unsigned n = __atomic_load_n(&nqueues, __ATOMIC_ACQUIRE), i, count = 0;

	for (i = 0; i < n && count < max; i++)
		if (__atomic_load_n(&queues[i].nvdisks, __ATOMIC_RELAXED))
			out[count++] = queues[i].dev;
	return count;
}

int vdisk_busy(const struct vdisk *vd)
{
	return __atomic_load_n(&vd->in_flight, __ATOMIC_ACQUIRE) != 0;
}
