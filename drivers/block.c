/* The table of the host's block devices, filled by the storage drivers at boot. */
#include "block.h"

#include "arch.h"
#include "lib/muldiv.h"

static struct blk_dev *devs[BLK_DEVS_MAX];
static unsigned ndevs;

int blk_register(struct blk_dev *d)
{
	if (ndevs == BLK_DEVS_MAX)
		return -1;
	devs[ndevs++] = d;
	return 0;
}

const char *blk_irq_name(enum blk_irq irq)
{
	return irq == BLK_MSIX ? "MSI-X" : irq == BLK_MSI ? "MSI" : "polled";
}

unsigned blk_count(void)
{
	return ndevs;
}

struct blk_dev *blk_get(unsigned index)
{
	return index < ndevs ? devs[index] : 0;
}

void blk_finish(struct blk_finished *f, struct blk_req *r, enum blk_status status)
{
	r->driver[0] = status;
	r->next = 0;
	if (!f->head)
		f->tail = &f->head;
	*f->tail = r;
	f->tail = &r->next;
}

void blk_finish_all(struct blk_finished *f)
{
	struct blk_req *r = f->head, *next;

	f->head = 0;
	for (; r; r = next) {
		next = r->next;
		r->done(r, (enum blk_status)r->driver[0]);
	}
}

uint64_t blk_deadline_ms(uint64_t ms)
{
	return arch_tsc() + mul_div(arch_tsc_hz(), ms, 1000);
}

void blk_split_restart(struct blk_req *r)
{
	r->driver[BLK_SPLIT_CURSOR] = r->driver[BLK_SPLIT_ISSUED] = r->driver[BLK_SPLIT_STATE] = 0;
	r->next = 0;
}

void blk_split_fail(struct blk_req *r, enum blk_status s)
{
	if (!(r->driver[BLK_SPLIT_STATE] & BLK_SPLIT_STATUS))
		r->driver[BLK_SPLIT_STATE] |= s;
}

struct blk_cursor blk_split_cursor(const struct blk_req *r)
{
	return (struct blk_cursor){ (uint32_t)r->driver[BLK_SPLIT_CURSOR], (uint32_t)(r->driver[BLK_SPLIT_CURSOR] >> 32) };
}

void blk_split_issued(struct blk_req *r, struct blk_cursor at, uint32_t blocks)
{
	r->driver[BLK_SPLIT_CURSOR] = (uint64_t)at.off << 32 | at.seg;
	r->driver[BLK_SPLIT_ISSUED] += blocks;
	r->driver[BLK_SPLIT_STATE] += BLK_SPLIT_OUTSTANDING_ONE;
	if (r->op == BLK_FLUSH || r->driver[BLK_SPLIT_ISSUED] == r->blocks)
		r->driver[BLK_SPLIT_STATE] |= BLK_SPLIT_ALL_ISSUED;
}

void blk_split_completed(struct blk_req *r, enum blk_status status)
{
	r->driver[BLK_SPLIT_STATE] -= BLK_SPLIT_OUTSTANDING_ONE;
	if (status != BLK_OK)
		blk_split_fail(r, status);
}

void blk_split_give_up(struct blk_req *r, enum blk_status s)
{
	blk_split_fail(r, s);
	r->driver[BLK_SPLIT_STATE] |= BLK_SPLIT_ALL_ISSUED;
}

int blk_split_all_issued(const struct blk_req *r)
{
	return (r->driver[BLK_SPLIT_STATE] & BLK_SPLIT_ALL_ISSUED) != 0;
}

int blk_split_over(const struct blk_req *r)
{
	return (r->driver[BLK_SPLIT_STATE] & BLK_SPLIT_ALL_ISSUED) && r->driver[BLK_SPLIT_STATE] < BLK_SPLIT_OUTSTANDING_ONE;
}

void blk_split_collect(struct blk_req *r, struct blk_req **list)
{
	if (r->driver[BLK_SPLIT_STATE] & BLK_SPLIT_COLLECTED)
		return;
	r->driver[BLK_SPLIT_STATE] |= BLK_SPLIT_COLLECTED;
	r->next = *list;
	*list = r;
}

void blk_pending_init(struct blk_pending *p)
{
	p->head = 0;
	p->tail = &p->head;
}

void blk_pending_add(struct blk_pending *p, struct blk_req *r)
{
	r->next = 0;
	*p->tail = r;
	p->tail = &r->next;
}

void blk_pending_pop(struct blk_pending *p)
{
	p->head = p->head->next;
	if (!p->head)
		p->tail = &p->head;
}

void blk_pending_take(struct blk_pending *p, struct blk_req **list)
{
	struct blk_req *r = p->head, *next;

	for (; r; r = next) {
		next = r->next;
		blk_split_collect(r, list);
	}
	blk_pending_init(p);
}
