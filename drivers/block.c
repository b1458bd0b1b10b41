/* The table of the host's block devices, filled by the storage drivers at boot. */
#include "block.h"

#include "arch.h"
#include "lib/muldiv.h"
#include "log.h"
#include "mm.h"

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

/* ---- the boot's check: LBA 0 and 1 read through the driver's own ops */

#define CHECK_TIMEOUT_MS 5000
#define GPT_SIGNATURE "EFI PART"

static const char *const status_names[] = { "ok", "I/O error", "timeout", "out of range", "read-only",
					    "unsupported" };

static struct {
	struct blk_req req;
	volatile int done;
	enum blk_status status;
	int stuck; /* a driver kept the request past every deadline: it is not reused */
} check;

static void check_done(struct blk_req *r, enum blk_status status)
{
	(void)r;
	check.status = status;
	__atomic_store_n(&check.done, 1, __ATOMIC_RELEASE);
}

/* The driver times the request out by its deadline; a second more, and the driver is at fault. */
static enum blk_status read_sync(struct blk_dev *d, uint64_t pa, uint32_t blocks)
{
	uint64_t give_up = blk_deadline_ms(CHECK_TIMEOUT_MS + 1000);

	check.req = (struct blk_req){ .op = BLK_READ, .lba = 0, .blocks = blocks, .nseg = 1,
				      .deadline = blk_deadline_ms(CHECK_TIMEOUT_MS), .done = check_done };
	check.req.seg[0] = (struct blk_seg){ pa, blocks * d->block_size };
	check.done = 0;
	while (d->ops->submit(d, &check.req))
		if (arch_tsc() > give_up)
			return BLK_E_TIMEOUT; /* never taken: nothing of it held */
	while (!__atomic_load_n(&check.done, __ATOMIC_ACQUIRE)) {
		d->ops->poll(d);
		if (arch_tsc() > give_up) {
			check.stuck = 1;
			return BLK_E_TIMEOUT;
		}
		arch_relax();
	}
	return check.status;
}

void blk_boot_check(struct blk_dev *d)
{
	static uint64_t page; /* two pages: two blocks of up to 4 KiB */
	enum blk_status status;
	const uint8_t *data;

	if (check.stuck || d->block_size > PAGE_SIZE)
		return;
	if (!page && !(page = mm_alloc(2)))
		return;
	status = read_sync(d, page, 2);
	if (status != BLK_OK) {
		log_error("%s: read LBA 0-1 at boot: %s%s", d->name,
			  (unsigned)status < sizeof(status_names) / sizeof(status_names[0]) ? status_names[status] : "?",
			  check.stuck ? " (the driver never completed it)" : "");
		return;
	}
	data = mm_ptr(page);
	log_info("%s: read LBA 0-1 at boot: ok, LBA 1 %s", d->name,
		 __builtin_memcmp(data + d->block_size, GPT_SIGNATURE, 8) == 0 ? "starts with \"EFI PART\" (GPT)" :
										 "holds no GPT header");
}
