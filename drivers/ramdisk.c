#include "ramdisk.h"

#include "lib/fmt.h"
#include "lib/spinlock.h"
#include "mm.h"

struct ramdisk {
	struct blk_dev dev;
	struct spinlock lock;
	int used;
	uint64_t pa, pages;
	struct blk_req *done, **done_tail; /* moved, waiting for poll() */
};

static struct ramdisk disks[RAMDISKS_MAX];
static struct spinlock table_lock;

/* Copies between the disk and each segment; the block layer checked the range and the segments. */
static void move_data(struct ramdisk *rd, const struct blk_req *r)
{
	uint8_t *at = (uint8_t *)mm_ptr(rd->pa) + r->lba * BLK_SECTOR;
	uint32_t i;

	for (i = 0; i < r->nseg; i++) {
		uint8_t *buf = mm_ptr(r->seg[i].pa);
		if (r->op == BLK_READ)
			__builtin_memcpy(buf, at, r->seg[i].len);
		else
			__builtin_memcpy(at, buf, r->seg[i].len);
		at += r->seg[i].len;
	}
}

static int ramdisk_submit(struct blk_dev *d, struct blk_req *r)
{
	struct ramdisk *rd = d->priv;

	if (r->op == BLK_READ || r->op == BLK_WRITE)
		move_data(rd, r);
	else if (r->op == BLK_WRITE_ZEROES || r->op == BLK_DISCARD)
		__builtin_memset((uint8_t *)mm_ptr(rd->pa) + r->lba * BLK_SECTOR, 0, (uint64_t)r->blocks * BLK_SECTOR);
	r->next = 0;
	spin_lock(&rd->lock);
	*rd->done_tail = r;
	rd->done_tail = &r->next;
	spin_unlock(&rd->lock);
	return 0;
}

static struct blk_req *take_done(struct ramdisk *rd)
{
	struct blk_req *list;

	spin_lock(&rd->lock);
	list = rd->done;
	rd->done = 0;
	rd->done_tail = &rd->done;
	spin_unlock(&rd->lock);
	return list;
}

static void ramdisk_poll(struct blk_dev *d)
{
	struct blk_req *r = take_done(d->priv), *next;

	for (; r; r = next) {
		next = r->next;
		r->done(r, BLK_OK);
	}
}

static const struct blk_ops ramdisk_ops = { ramdisk_submit, ramdisk_poll };

static struct ramdisk *take_slot(void)
{
	unsigned i;

	spin_lock(&table_lock);
	for (i = 0; i < RAMDISKS_MAX && disks[i].used; i++)
		;
	if (i < RAMDISKS_MAX)
		disks[i].used = 1;
	spin_unlock(&table_lock);
	return i < RAMDISKS_MAX ? &disks[i] : 0;
}

struct blk_dev *ramdisk_create(const uint8_t *data, uint64_t size)
{
	uint64_t sectors = size / BLK_SECTOR + (size % BLK_SECTOR != 0);
	struct ramdisk *rd = size ? take_slot() : 0;
	struct blk_dev *d;

	if (!rd)
		return 0;
	rd->pages = (sectors * BLK_SECTOR + PAGE_SIZE - 1) / PAGE_SIZE;
	rd->pa = mm_alloc(rd->pages); /* zeroed: the padding past the file too */
	if (!rd->pa) {
		rd->used = 0;
		return 0;
	}
	__builtin_memcpy(mm_ptr(rd->pa), data, size);
	rd->done = 0;
	rd->done_tail = &rd->done;
	d = &rd->dev;
	fmt(d->name, sizeof(d->name), "ram%u", (unsigned)(rd - disks));
	fmt(d->model, sizeof(d->model), "RAM disk");
	d->blocks = sectors;
	d->block_size = BLK_SECTOR;
	d->queue_depth = RAMDISK_QUEUE_DEPTH;
	d->read_only = d->write_cache = 0;
	d->discard = d->write_zeroes = 1;
	d->ops = &ramdisk_ops; /* stays: a poll from another CPU after destroy finds nothing */
	d->priv = rd;
	return d;
}

void ramdisk_destroy(struct blk_dev *d)
{
	struct ramdisk *rd = d->priv;

	ramdisk_poll(d);
	mm_free(rd->pa, rd->pages);
	rd->pa = 0;
	spin_lock(&table_lock);
	rd->used = 0;
	spin_unlock(&table_lock);
}
