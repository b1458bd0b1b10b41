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
