/* The host's side of the disk bench (diskbench.h). */
#include "diskbench.h"

#include "arch.h"
#include "blk.h"
#include "diskbench_plan.h"
#include "lib/muldiv.h"
#include "lib/spinlock.h"
#include "log.h"
#include "mm.h"

#define PAGE 4096u
#define BUF_PAGES (DB_QD_MAX * 4096u / PAGE) /* a 128 KiB request, or 32 of 4 KiB */
#define REQ_PAGES ((DB_QD_MAX * sizeof(struct blk_req) + PAGE - 1) / PAGE)
#define NS_PER_S 1000000000ull

/* The one bench: its state is CPU 0's, but for what completions change under lock. */
static struct {
	struct spinlock lock;
	struct vdisk vd;
	uint64_t buf_pa, req_pa;
	struct blk_req *reqs;
	unsigned pattern;
	int running;
	/* The pattern under way: under lock, as completions come on any CPU. */
	uint64_t rng, sent, done, total, start, end;
	enum blk_status failed;
	int finished;
} b;

int diskbench_running(void)
{
	return b.running;
}

static const struct db_pattern *pattern(void)
{
	return &db_patterns[b.pattern];
}

static void request_done(struct blk_req *r, enum blk_status status);

/*
 * No-ops that tools/insnprof (a QEMU plugin) takes as the start and the
 * end of a window: make bench counts the instructions of each pattern,
 * as it does between the same marks in the guest's blkbench.
 */
static void profile_start(void)
{
	__asm__ volatile("xchgw %%bx, %%bx" ::: "memory");
}

static void profile_end(void)
{
	__asm__ volatile("xchgw %%cx, %%cx" ::: "memory");
}

/* With the lock held: r as request b.sent of the pattern (the flush after a write's data). */
static void prepare(struct blk_req *r)
{
	const struct db_pattern *p = pattern();
	uint64_t buf = b.buf_pa + (p->qd > 1 ? (uint64_t)(r - b.reqs) * p->bs : 0);
	uint32_t i;

	r->done = request_done;
	r->owner = 0;
	if (b.sent == p->requests) {
		r->op = BLK_FLUSH;
		r->lba = r->blocks = r->nseg = 0;
		return;
	}
	r->op = p->op;
	r->lba = db_sector(p, b.sent, &b.rng, b.vd.sectors);
	r->blocks = p->bs / BLK_SECTOR;
	/* One segment a page, as a guest's buffer comes (its pages are not contiguous in host memory). */
	r->nseg = p->bs / PAGE;
	for (i = 0; i < r->nseg; i++)
		r->seg[i] = (struct blk_seg){ .pa = buf + (uint64_t)i * PAGE, .len = PAGE };
}

/* With the lock held: whether r goes again, prepared. */
static int take_next(struct blk_req *r)
{
	if (b.failed != BLK_OK || b.sent == b.total || (b.sent == pattern()->requests && b.done < b.sent))
		return 0; /* the flush waits for every write before it */
	prepare(r);
	b.sent++;
	return 1;
}

/* The block layer's completion, on any CPU: the next request in r, or the pattern's end. */
static void request_done(struct blk_req *r, enum blk_status status)
{
	struct blk_req *again = 0;

	spin_lock(&b.lock);
	b.done++;
	if (status != BLK_OK && b.failed == BLK_OK)
		b.failed = status;
	if (take_next(r))
		again = r;
	if (b.done == b.sent && (b.sent == b.total || b.failed != BLK_OK)) {
		b.end = arch_tsc();
		profile_end();
		b.finished = 1;
	}
	spin_unlock(&b.lock);
	if (again)
		vdisk_submit(&b.vd, again);
}

static void start_pattern(void)
{
	const struct db_pattern *p = pattern();
	struct blk_req *first[DB_QD_MAX];
	unsigned n = 0, i;

	spin_lock(&b.lock);
	b.rng = 1;
	b.sent = b.done = 0;
	b.total = p->requests + (p->op == BLK_WRITE);
	b.failed = BLK_OK;
	b.finished = 0;
	profile_start();
	b.start = arch_tsc();
	for (; n < p->qd && take_next(&b.reqs[n]); n++)
		first[n] = &b.reqs[n];
	spin_unlock(&b.lock);
	for (i = 0; i < n; i++)
		vdisk_submit(&b.vd, first[i]);
}

static void log_figures(void)
{
	const struct db_pattern *p = pattern();
	uint64_t ns = mul_div(b.end - b.start, NS_PER_S, arch_tsc_hz());

	if (b.failed != BLK_OK) {
		log_error("diskbench: %s qd %u: a request failed (block status %u); the bench stops", p->name, p->qd,
			  (unsigned)b.failed);
		return;
	}
	log_info("diskbench: %s qd %u bs %u requests %u bytes %llu ns %llu KiB/s %llu IOPS %llu", p->name, p->qd,
		 p->bs, p->requests, (unsigned long long)p->requests * p->bs, (unsigned long long)ns,
		 (unsigned long long)db_kib_per_s(p->requests, p->bs, ns), (unsigned long long)db_iops(p->requests, ns));
}

/* Nothing is in flight: the last request completed. */
static void finish(void)
{
	vdisk_close(&b.vd);
	mm_free(b.buf_pa, BUF_PAGES);
	mm_free(b.req_pa, REQ_PAGES);
	b.running = 0;
	log_info("diskbench: done");
}

void diskbench_poll(void)
{
	if (!b.running || !__atomic_load_n(&b.finished, __ATOMIC_ACQUIRE))
		return;
	log_figures();
	if (b.failed != BLK_OK || ++b.pattern == db_npatterns) {
		finish();
		return;
	}
	start_pattern();
}

static const char *allocate(void)
{
	b.buf_pa = mm_alloc(BUF_PAGES);
	b.req_pa = b.buf_pa ? mm_alloc(REQ_PAGES) : 0;
	if (!b.req_pa) {
		if (b.buf_pa)
			mm_free(b.buf_pa, BUF_PAGES);
		return "not enough free memory for its buffers";
	}
	b.reqs = mm_ptr(b.req_pa);
	return 0;
}

const char *diskbench_start(const struct cfg_disk *cfg, const char *owner)
{
	const char *why;

	if (b.running)
		return "a bench runs already";
	why = vdisk_open(&b.vd, cfg, owner);
	if (why)
		return why;
	if (b.vd.read_only || b.vd.sectors < DB_SEQ_BYTES / BLK_SECTOR || b.vd.dev->block_size > PAGE) {
		vdisk_close(&b.vd);
		return "the disk is read-only, under 16 MiB, or of blocks over 4 KiB";
	}
	why = allocate();
	if (why) {
		vdisk_close(&b.vd);
		return why;
	}
	b.running = 1;
	b.pattern = 0;
	log_info("diskbench: %s's first disk, %s on %s, %llu sectors", owner, b.vd.source, b.vd.dev->name,
		 (unsigned long long)b.vd.sectors);
	start_pattern();
	return 0;
}
