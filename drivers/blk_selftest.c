/* Boot-time reads (and the optional write test) through the block-device interface; see blk_selftest.h. */
#include "blk_selftest.h"

#include "arch.h"
#include "lib/str.h"
#include "log.h"
#include "mm.h"

#define IO_TIMEOUT_MS 10000
/* The driver completes a request by its deadline; waiting this much past it means the driver broke its word. */
#define GRACE_MS 2000
#define GPT_SIGNATURE "EFI PART"
#define PATTERN_HEAD "hv disk selftest"

struct sync_wait {
	volatile int done;
	enum blk_status status;
};

static void sync_done(struct blk_req *r, enum blk_status status)
{
	struct sync_wait *w = r->owner;

	w->status = status;
	w->done = 1;
}

static const char *const status_names[] = { "ok", "I/O error", "timeout", "out of range", "read-only",
					    "unsupported" };

static const char *status_name(enum blk_status s)
{
	return (unsigned)s < sizeof(status_names) / sizeof(status_names[0]) ? status_names[s] : "?";
}

/*
 * r must outlive a driver that never completes it: the callers' requests
 * are static, and one given up on is never reused.
 */
enum blk_status blk_run_sync(struct blk_dev *d, struct blk_req *r, uint64_t timeout_ms)
{
	uint64_t ms = arch_tsc_hz() / 1000, give_up;
	struct sync_wait w = { 0, BLK_OK };

	r->deadline = arch_tsc() + timeout_ms * ms;
	give_up = r->deadline + GRACE_MS * ms;
	r->done = sync_done;
	r->owner = &w;
	while (d->ops->submit(d, r)) {
		if (arch_tsc() > give_up)
			return BLK_E_TIMEOUT;
		d->ops->poll(d);
	}
	while (!w.done) {
		if (arch_tsc() > give_up) {
			log_error("%s: the driver did not complete a request by its deadline; the device is not used",
				  d->name);
			return BLK_E_TIMEOUT;
		}
		d->ops->poll(d);
		arch_relax();
	}
	return w.status;
}

static enum blk_status transfer(struct blk_dev *d, struct blk_req *r, enum blk_op op, uint64_t lba,
				uint32_t blocks, uint64_t pa)
{
	r->op = op;
	r->lba = lba;
	r->blocks = blocks;
	r->nseg = blocks ? 1 : 0;
	r->seg[0] = (struct blk_seg){ pa, blocks * d->block_size };
	return blk_run_sync(d, r, IO_TIMEOUT_MS);
}

static void boot_read(struct blk_dev *d, struct blk_req *r, uint64_t buf)
{
	enum blk_status s = d->blocks >= 2 ? transfer(d, r, BLK_READ, 0, 2, buf) : BLK_E_RANGE;
	const char *lba1 = (const char *)mm_ptr(buf + d->block_size);

	if (s != BLK_OK)
		log_warn("%s: read LBA 0-1 at boot: %s", d->name, status_name(s));
	else
		log_info("%s: read LBA 0-1 at boot: ok, %s", d->name,
			 str_eq_n(lba1, 8, GPT_SIGNATURE) ? "LBA 1 starts with \"EFI PART\" (GPT)"
							  : "no GPT signature at LBA 1");
}

static void fill_pattern(uint8_t *p, uint32_t len, uint64_t lba)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + lba);
	__builtin_memcpy(p, PATTERN_HEAD, sizeof(PATTERN_HEAD) - 1);
}

/* The last block: written, flushed, read into another buffer, compared. */
static const char *selftest(struct blk_dev *d, struct blk_req *r, uint64_t buf)
{
	uint64_t lba = d->blocks - 1, back = buf + d->block_size;
	enum blk_status s;

	if (d->read_only)
		return "the disk is read-only";
	fill_pattern(mm_ptr(buf), d->block_size, lba);
	__builtin_memset(mm_ptr(back), 0, d->block_size);
	if ((s = transfer(d, r, BLK_WRITE, lba, 1, buf)) != BLK_OK)
		return status_name(s);
	if ((s = transfer(d, r, BLK_FLUSH, 0, 0, 0)) != BLK_OK)
		return status_name(s);
	if ((s = transfer(d, r, BLK_READ, lba, 1, back)) != BLK_OK)
		return status_name(s);
	return __builtin_memcmp(mm_ptr(buf), mm_ptr(back), d->block_size) ? "what was read back differs" : 0;
}

void blk_boot_check(const char *selftest_name)
{
	static struct blk_req req;
	uint64_t buf = mm_alloc(2); /* two blocks of at most 4 KiB */
	int named = !selftest_name || !selftest_name[0];
	unsigned i;

	if (!buf) {
		log_warn("blk: no memory for the boot-time reads");
		return;
	}
	for (i = 0; i < blk_count(); i++) {
		struct blk_dev *d = blk_get(i);
		const char *why;

		boot_read(d, &req, buf);
		if (named || !str_eq(d->name, selftest_name))
			continue;
		named = 1;
		why = selftest(d, &req, buf);
		if (why)
			log_error("%s: selftest: write, flush and read back of LBA %llu failed: %s", d->name,
				  (unsigned long long)(d->blocks - 1), why);
		else
			log_info("%s: selftest: wrote, flushed and read back LBA %llu: ok", d->name,
				 (unsigned long long)(d->blocks - 1));
	}
	if (!named)
		log_warn("disk_selftest: no host disk is named '%s'", selftest_name);
	mm_free(buf, 2);
}
