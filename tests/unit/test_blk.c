/*
 * The block layer: requests checked against their extent at its edges,
 * mapped onto a device's LBAs (512- and 4096-byte blocks), read-only
 * extents, the fair queue between virtual disks of one device, timeouts
 * and errors that stay with their own disk, closing, and the RAM disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch.h"
#include "blk.h"
#include "boot_info.h"
#include "config.h"
#include "console.h"
#include "disks.h"
#include "log.h"
#include "mm.h"
#include "ramdisk.h"

#define HZ 1000000ull
#define FAKE_HELD_MAX 256

/* ---- what blk.c calls outside itself ---- */

static uint64_t now = 1000;
static unsigned pages_out;

uint64_t arch_tsc(void)
{
	return now;
}

uint64_t arch_tsc_hz(void)
{
	return HZ;
}

void arch_relax(void)
{
}

static uint64_t disk_irqs;

uint64_t arch_disk_irqs(void)
{
	return disk_irqs;
}

void log_msg(enum log_level level, const char *f, ...)
{
	(void)level;
	(void)f;
}

static char printed[8192];
static size_t printed_len;

void console_print(const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	printed_len += (size_t)vsnprintf(printed + printed_len, sizeof(printed) - printed_len, f, ap);
	va_end(ap);
	if (printed_len >= sizeof(printed))
		printed_len = sizeof(printed) - 1;
}

uint64_t mm_alloc(uint64_t pages)
{
	void *p = aligned_alloc(PAGE_SIZE, pages * PAGE_SIZE);

	memset(p, 0, pages * PAGE_SIZE);
	pages_out += (unsigned)pages;
	return (uint64_t)(uintptr_t)p;
}

void mm_free(uint64_t pa, uint64_t pages)
{
	free(mm_ptr(pa));
	pages_out -= (unsigned)pages;
}

/* ---- a fake device: holds what it is given until the test completes it ---- */

struct fake {
	struct blk_dev dev;
	struct blk_req *held[FAKE_HELD_MAX];
	unsigned nheld;
	struct blk_req *log[FAKE_HELD_MAX]; /* every request in the order the device got it */
	unsigned nlog;
};

static int fake_submit(struct blk_dev *d, struct blk_req *r)
{
	struct fake *f = d->priv;

	if (f->nheld == d->queue_depth)
		return -1;
	f->held[f->nheld++] = r;
	if (f->nlog < FAKE_HELD_MAX)
		f->log[f->nlog++] = r;
	return 0;
}

static void fake_poll(struct blk_dev *d)
{
	(void)d;
}

static const struct blk_ops fake_ops = { fake_submit, fake_poll };

static struct fake fake;

static void fake_init(uint32_t block_size, uint64_t blocks, uint32_t depth)
{
	memset(&fake, 0, sizeof(fake));
	strcpy(fake.dev.name, "fake0");
	fake.dev.block_size = block_size;
	fake.dev.blocks = blocks;
	fake.dev.queue_depth = depth;
	fake.dev.ops = &fake_ops;
	fake.dev.priv = &fake;
}

/* The device finishes its i-th held request with status. */
static struct blk_req *fake_complete(unsigned i, enum blk_status status)
{
	struct blk_req *r = fake.held[i];

	memmove(&fake.held[i], &fake.held[i + 1], (fake.nheld - i - 1) * sizeof(fake.held[0]));
	fake.nheld--;
	r->done(r, status);
	return r;
}

/* ---- requests and what their done saw ---- */

struct done_log {
	unsigned calls;
	enum blk_status status;
};

struct test_req {
	struct blk_req r;
	struct done_log seen;
};

static void record_done(struct blk_req *r, enum blk_status status)
{
	struct test_req *t = r->owner;

	t->seen.calls++;
	t->seen.status = status;
}

static uint8_t buffer[64 << 10] __attribute__((aligned(4096)));

static void make_req(struct test_req *t, enum blk_op op, uint64_t lba, uint32_t sectors)
{
	memset(t, 0, sizeof(*t));
	t->r.op = op;
	t->r.lba = lba;
	t->r.blocks = sectors;
	t->r.nseg = op == BLK_FLUSH ? 0 : 1;
	t->r.seg[0].pa = (uint64_t)(uintptr_t)buffer;
	t->r.seg[0].len = sectors * BLK_SECTOR;
	t->r.done = record_done;
	t->r.owner = t;
}

/* An extent of the fake device, as a GPT partition resolves to. */
static void open_extent(struct vdisk *vd, uint64_t first, uint64_t sectors, int ro, const char *owner)
{
	assert_null(vdisk_open_extent(vd, &fake.dev, first, sectors, ro, "part:test", owner));
}

static enum blk_status submit_now(struct vdisk *vd, enum blk_op op, uint64_t lba, uint32_t sectors)
{
	static struct test_req t;

	make_req(&t, op, lba, sectors);
	vdisk_submit(vd, &t.r);
	if (t.seen.calls == 0) {
		assert_int_equal(fake.nheld, 1);
		fake_complete(0, BLK_OK);
	}
	assert_int_equal(t.seen.calls, 1);
	return t.seen.status;
}

static void extent_edges(void **state)
{
	struct vdisk vd;
	struct test_req t;

	(void)state;
	fake_init(512, 1000, 8);
	open_extent(&vd, 100, 50, 0, "a");
	assert_int_equal(submit_now(&vd, BLK_READ, 49, 1), BLK_OK);
	assert_int_equal(fake.log[0]->lba, 149); /* the last sector of the extent */
	assert_int_equal(fake.log[0]->blocks, 1);
	assert_int_equal(submit_now(&vd, BLK_READ, 0, 50), BLK_OK);
	assert_int_equal(fake.log[1]->lba, 100);
	assert_int_equal(submit_now(&vd, BLK_READ, 50, 1), BLK_E_RANGE);   /* one past */
	assert_int_equal(submit_now(&vd, BLK_WRITE, 49, 2), BLK_E_RANGE);  /* runs past */
	assert_int_equal(submit_now(&vd, BLK_READ, 0, 51), BLK_E_RANGE);
	assert_int_equal(submit_now(&vd, BLK_READ, UINT64_MAX, 1), BLK_E_RANGE);
	assert_int_equal(submit_now(&vd, BLK_READ, UINT64_MAX - 100, 102), BLK_E_RANGE); /* lba + count wraps */
	assert_int_equal(submit_now(&vd, BLK_READ, 1, UINT32_MAX), BLK_E_RANGE);
	assert_int_equal(submit_now(&vd, BLK_READ, 10, 0), BLK_E_IO);      /* no sectors */
	assert_int_equal(fake.nlog, 2);                                    /* none of those reached it */
	assert_int_equal(vd.requests, 9);
	assert_int_equal(vd.errors, 7);
	assert_int_equal(vd.bytes_read, 51 * 512);

	make_req(&t, (enum blk_op)99, 0, 1);
	vdisk_submit(&vd, &t.r);
	assert_int_equal(t.seen.status, BLK_E_UNSUPP);
	make_req(&t, BLK_DISCARD, 0, 1);
	vdisk_submit(&vd, &t.r);
	assert_int_equal(t.seen.status, BLK_E_UNSUPP); /* the fake device has no discard */
	vdisk_close(&vd);
}

static void hostile_segments(void **state)
{
	struct vdisk vd;
	struct test_req t;

	(void)state;
	fake_init(512, 1000, 8);
	open_extent(&vd, 0, 1000, 0, "a");
	make_req(&t, BLK_READ, 0, 2);
	t.r.seg[0].len = 1000; /* not whole sectors */
	vdisk_submit(&vd, &t.r);
	assert_int_equal(t.seen.status, BLK_E_IO);
	make_req(&t, BLK_READ, 0, 2);
	t.r.seg[0].pa += 8; /* not sector-aligned */
	vdisk_submit(&vd, &t.r);
	assert_int_equal(t.seen.status, BLK_E_IO);
	make_req(&t, BLK_READ, 0, 2);
	t.r.seg[0].len = 512; /* one sector short of the request */
	vdisk_submit(&vd, &t.r);
	assert_int_equal(t.seen.status, BLK_E_IO);
	make_req(&t, BLK_WRITE, 0, 2);
	t.r.nseg = 0;
	vdisk_submit(&vd, &t.r);
	assert_int_equal(t.seen.status, BLK_E_IO);
	make_req(&t, BLK_WRITE, 0, 2);
	t.r.nseg = BLK_SEG_MAX + 1;
	vdisk_submit(&vd, &t.r);
	assert_int_equal(t.seen.status, BLK_E_IO);
	make_req(&t, BLK_WRITE, 0, 2);
	t.r.seg[0].len = 0;
	t.r.nseg = 2;
	t.r.seg[1] = (struct blk_seg){ (uint64_t)(uintptr_t)buffer, 1024 };
	vdisk_submit(&vd, &t.r);
	assert_int_equal(t.seen.status, BLK_E_IO); /* an empty segment */
	assert_int_equal(fake.nlog, 0);
	assert_int_equal(t.seen.calls, 1);
	vdisk_close(&vd);
}

static void four_k_blocks(void **state)
{
	struct vdisk vd;

	(void)state;
	fake_init(4096, 1000, 8);
	open_extent(&vd, 10, 80, 0, "a"); /* blocks 10..19 */
	assert_int_equal(submit_now(&vd, BLK_READ, 72, 8), BLK_OK);
	assert_int_equal(fake.log[0]->lba, 19);
	assert_int_equal(fake.log[0]->blocks, 1);
	assert_int_equal(submit_now(&vd, BLK_READ, 4, 8), BLK_E_IO);  /* not on a block */
	assert_int_equal(submit_now(&vd, BLK_READ, 8, 4), BLK_E_IO);  /* not whole blocks */
	assert_int_equal(submit_now(&vd, BLK_READ, 80, 8), BLK_E_RANGE);
	assert_int_equal(fake.nlog, 1);
	vdisk_close(&vd);
}

static void read_only(void **state)
{
	struct vdisk vd;

	(void)state;
	fake_init(512, 1000, 8);
	fake.dev.discard = fake.dev.write_zeroes = 1;
	open_extent(&vd, 0, 100, 1, "a");
	assert_int_equal(submit_now(&vd, BLK_WRITE, 0, 1), BLK_E_RO);
	assert_int_equal(submit_now(&vd, BLK_DISCARD, 0, 1), BLK_E_RO);
	assert_int_equal(submit_now(&vd, BLK_WRITE_ZEROES, 0, 1), BLK_E_RO);
	assert_int_equal(submit_now(&vd, BLK_WRITE, 500, 1), BLK_E_RO);
	assert_int_equal(fake.nlog, 0);
	assert_int_equal(submit_now(&vd, BLK_READ, 0, 1), BLK_OK);
	assert_int_equal(submit_now(&vd, BLK_FLUSH, 0, 0), BLK_OK); /* harmless on a read-only disk */
	vdisk_close(&vd);
	fake.dev.read_only = 1; /* a read-only device makes every extent of it so */
	open_extent(&vd, 0, 100, 0, "a");
	assert_true(vd.read_only);
	assert_int_equal(submit_now(&vd, BLK_WRITE, 0, 1), BLK_E_RO);
	vdisk_close(&vd);
}

#define DEEP 100

static void deep_queue_does_not_starve(void **state)
{
	static struct test_req a[DEEP], b[10];
	struct vdisk va, vb;
	unsigned i, b_done_at = 0, completions = 0;

	(void)state;
	fake_init(512, 100000, 4);
	open_extent(&va, 0, 50000, 0, "a");
	open_extent(&vb, 50000, 50000, 0, "b");
	for (i = 0; i < DEEP; i++) {
		make_req(&a[i], BLK_READ, i, 1);
		vdisk_submit(&va, &a[i].r);
	}
	assert_int_equal(fake.nheld, 4); /* a alone at work: the whole depth */
	for (i = 0; i < 10; i++) {
		make_req(&b[i], BLK_WRITE, i, 1);
		vdisk_submit(&vb, &b[i].r);
	}
	assert_int_equal(fake.nheld, 4);
	fake_complete(0, BLK_OK);
	fake_complete(0, BLK_OK);
	completions = 2;
	/* a is over its half now: the two slots it freed went to b. */
	assert_ptr_equal(fake.log[4]->vdisk, &vb);
	assert_ptr_equal(fake.log[5]->vdisk, &vb);
	while (fake.nheld) {
		fake_complete(0, BLK_OK);
		completions++;
		if (!b_done_at && b[9].seen.calls)
			b_done_at = completions;
	}
	for (i = 0; i < DEEP; i++)
		assert_int_equal(a[i].seen.calls, 1);
	/* b's ten went in turn with a's: all done within about twice their number, not after a's hundred. */
	assert_true(b_done_at > 0 && b_done_at <= 22);
	for (i = 1; i < fake.nlog; i++) /* never more than 2 of one disk in a row once both wait */
		if (i >= 2 && fake.log[i]->vdisk == &vb)
			assert_true(fake.log[i - 1]->vdisk != &vb || fake.log[i - 2]->vdisk != &vb);
	assert_int_equal(va.in_flight + vb.in_flight, 0);
	assert_int_equal(blk_poll_all(), 0);
	vdisk_close(&va);
	vdisk_close(&vb);
}

static void three_reads_on_a_device_of_depth_1(struct vdisk *vd, struct test_req *t)
{
	unsigned i;

	fake_init(512, 1000, 1);
	open_extent(vd, 0, 1000, 0, "a");
	for (i = 0; i < 3; i++) {
		make_req(&t[i], BLK_READ, i, 1);
		vdisk_submit(vd, &t[i].r);
	}
}

static void a_full_device_takes_the_rest_later(void **state)
{
	struct test_req t[3];
	struct vdisk vd;
	unsigned i;

	(void)state;
	three_reads_on_a_device_of_depth_1(&vd, t);
	assert_int_equal(fake.nheld, 1);
	assert_int_equal(blk_poll_all(), 1); /* requests are out */
	for (i = 0; i < 3; i++) {
		assert_int_equal(fake.held[0]->lba, i); /* in order */
		fake_complete(0, BLK_OK);
	}
	assert_int_equal(blk_poll_all(), 0);
	vdisk_close(&vd);
}

/* An interrupt-driven device with one request kept out (so the polls look) and reads completed one by one. */
static void interrupt_driven_device(struct vdisk *vd, struct test_req *keep)
{
	fake_init(512, 1000, 4);
	fake.dev.irq = BLK_MSIX;
	open_extent(vd, 0, 1000, 0, "a");
	make_req(keep, BLK_READ, 0, 1);
	vdisk_submit(vd, &keep->r);
}

/* A request completes and a poll finds it with no interrupt since the poll before; the interrupt perhaps later. */
static void complete_quietly_as(struct vdisk *vd, struct test_req *t, enum blk_op op, enum blk_status status,
				int interrupt_after)
{
	make_req(t, op, 1, 1);
	vdisk_submit(vd, &t->r);
	fake_complete(1, status);
	assert_int_equal(blk_poll_all(), BLK_POLL_WATCH); /* the kept request: looked at now and then */
	if (interrupt_after)
		disk_irqs++;
	now += HZ / 4; /* past the grace of 200 ms */
	blk_poll_all();
}

static void complete_quietly(struct vdisk *vd, struct test_req *t, int interrupt_after)
{
	complete_quietly_as(vd, t, BLK_READ, BLK_OK, interrupt_after);
}

/* Requests the driver refuses finish without the device: no interrupt is due for them. */
static void refusals_keep_a_device_interrupt_driven(void **state)
{
	struct test_req keep, first, t[5];
	struct vdisk vd;
	unsigned i;

	(void)state;
	interrupt_driven_device(&vd, &keep);
	complete_quietly(&vd, &first, 1); /* the device interrupts: no suspicion from before is left */
	for (i = 0; i < 5; i++)
		complete_quietly_as(&vd, &t[i], BLK_READ, BLK_E_RANGE, 0);
	assert_int_equal(t[4].seen.calls, 1);
	assert_int_equal(fake.dev.irq, BLK_MSIX);
	fake_complete(0, BLK_OK);
	assert_int_equal(blk_poll_all(), BLK_POLL_IDLE);
	vdisk_close(&vd);
}

static void late_interrupts_keep_a_device_interrupt_driven(void **state)
{
	struct test_req keep, first, t[5];
	struct vdisk vd;
	unsigned i;

	(void)state;
	interrupt_driven_device(&vd, &keep);
	complete_quietly(&vd, &first, 1); /* the device interrupts: no suspicion from before is left */
	for (i = 0; i < 5; i++)
		complete_quietly(&vd, &t[i], 1);
	assert_int_equal(fake.dev.irq, BLK_MSIX);
	fake_complete(0, BLK_OK);
	assert_int_equal(blk_poll_all(), BLK_POLL_IDLE);
	vdisk_close(&vd);
}

static void a_device_whose_interrupts_never_come_is_polled(void **state)
{
	struct test_req keep, t[3];
	struct vdisk vd;

	(void)state;
	interrupt_driven_device(&vd, &keep);
	complete_quietly(&vd, &t[0], 0);
	complete_quietly(&vd, &t[1], 0);
	assert_int_equal(fake.dev.irq, BLK_MSIX); /* twice is not yet enough */
	complete_quietly(&vd, &t[2], 0);
	assert_int_equal(fake.dev.irq, BLK_POLLED);
	assert_int_equal(blk_poll_all(), BLK_POLL_SOON); /* the kept request: looked at every millisecond */
	fake_complete(0, BLK_OK);
	assert_int_equal(keep.seen.calls, 1);
	vdisk_close(&vd);
}

static void timeouts_and_errors_stay_with_their_disk(void **state)
{
	struct test_req ta, tb, tc;
	struct vdisk va, vb;

	(void)state;
	fake_init(512, 1000, 8);
	open_extent(&va, 0, 500, 0, "a");
	open_extent(&vb, 500, 500, 0, "b");
	make_req(&ta, BLK_READ, 0, 1);
	make_req(&tb, BLK_READ, 0, 1);
	vdisk_submit(&va, &ta.r);
	assert_int_equal(ta.r.deadline, now + BLK_TIMEOUT_S * HZ);
	now += 5 * HZ;
	vdisk_submit(&vb, &tb.r);
	now += 26 * HZ; /* a's deadline has passed, b's has not */
	fake_complete(0, BLK_E_TIMEOUT);
	assert_int_equal(ta.seen.calls, 1);
	assert_int_equal(ta.seen.status, BLK_E_TIMEOUT);
	/* The driver reset the device and failed b's request with it: b's is sent again. */
	fake_complete(0, BLK_E_TIMEOUT);
	assert_int_equal(tb.seen.calls, 0);
	assert_int_equal(fake.nheld, 1);
	assert_ptr_equal(fake.held[0], &tb.r);
	assert_int_equal(tb.r.lba, 500); /* still the device's LBA */
	fake_complete(0, BLK_OK);
	assert_int_equal(tb.seen.calls, 1);
	assert_int_equal(tb.seen.status, BLK_OK);
	assert_int_equal(va.errors, 1);
	assert_int_equal(vb.errors, 0);
	/* A device error fails that request alone. */
	make_req(&ta, BLK_WRITE, 0, 1);
	make_req(&tc, BLK_WRITE, 1, 1);
	vdisk_submit(&va, &ta.r);
	vdisk_submit(&vb, &tc.r);
	fake_complete(0, BLK_E_IO);
	fake_complete(0, BLK_OK);
	assert_int_equal(ta.seen.status, BLK_E_IO);
	assert_int_equal(tc.seen.status, BLK_OK);
	assert_int_equal(vb.bytes_written, 512);
	vdisk_close(&va);
	vdisk_close(&vb);
}

static void timeouts_are_retried_a_bounded_number_of_times(void **state)
{
	struct test_req t;
	struct vdisk vd;
	unsigned i;

	(void)state;
	fake_init(512, 1000, 8);
	open_extent(&vd, 0, 1000, 0, "a");
	make_req(&t, BLK_READ, 0, 1);
	vdisk_submit(&vd, &t.r);
	for (i = 0; i < BLK_RETRIES; i++) {
		fake_complete(0, BLK_E_TIMEOUT);
		assert_int_equal(t.seen.calls, 0);
	}
	fake_complete(0, BLK_E_TIMEOUT);
	assert_int_equal(t.seen.calls, 1);
	assert_int_equal(t.seen.status, BLK_E_TIMEOUT);
	vdisk_close(&vd);
}

/* The device's faults grown by what it ended each request with, since before. */
static void assert_faults_grew(const struct blk_faults *before, uint64_t reads, uint64_t writes, uint64_t flushes,
			       uint64_t others, uint64_t timeouts, int failed)
{
	struct blk_faults f;

	blk_faults_of(&fake.dev, &f);
	assert_int_equal(f.read_errors - before->read_errors, reads);
	assert_int_equal(f.write_errors - before->write_errors, writes);
	assert_int_equal(f.flush_errors - before->flush_errors, flushes);
	assert_int_equal(f.other_errors - before->other_errors, others);
	assert_int_equal(f.timeouts - before->timeouts, timeouts);
	assert_int_equal(f.failed, failed);
}

/* A request the device ends with BLK_E_IO; what its done saw. */
static enum blk_status fail_at_device(struct vdisk *vd, enum blk_op op, uint64_t lba, uint32_t sectors)
{
	struct test_req t;

	make_req(&t, op, lba, sectors);
	vdisk_submit(vd, &t.r);
	assert_int_equal(fake.nheld, 1);
	fake_complete(0, BLK_E_IO);
	assert_int_equal(t.seen.calls, 1);
	return t.seen.status;
}

static void device_faults_are_counted_by_operation(void **state)
{
	struct test_req t, other;
	struct blk_faults before;
	struct vdisk va, vb;

	(void)state;
	fake_init(512, 1000, 8);
	fake.dev.discard = 1;
	open_extent(&va, 0, 500, 0, "a");
	open_extent(&vb, 500, 500, 0, "b");
	blk_faults_of(&fake.dev, &before); /* the queue's slot, and its counts, outlive the other tests */
	assert_int_equal(submit_now(&va, BLK_READ, 0, 1), BLK_OK);
	assert_int_equal(fail_at_device(&va, BLK_READ, 1, 1), BLK_E_IO);
	assert_int_equal(fail_at_device(&vb, BLK_WRITE, 1, 1), BLK_E_IO);
	assert_int_equal(fail_at_device(&va, BLK_FLUSH, 0, 0), BLK_E_IO);
	assert_int_equal(fail_at_device(&va, BLK_DISCARD, 2, 1), BLK_E_IO);
	assert_faults_grew(&before, 1, 1, 1, 1, 0, 0);
	/* Refusals are the guest's, not the device's; the virtual disk counts them. */
	assert_int_equal(submit_now(&va, BLK_READ, 500, 1), BLK_E_RANGE);
	assert_int_equal(submit_now(&va, BLK_READ, 0, 0), BLK_E_IO);
	assert_faults_grew(&before, 1, 1, 1, 1, 0, 0);
	assert_int_equal(va.errors, 5);
	/* A timeout fails the device; a request another's timeout failed, sent again, is not counted. */
	make_req(&t, BLK_WRITE, 3, 1);
	make_req(&other, BLK_READ, 3, 1);
	vdisk_submit(&va, &t.r);
	now += 5 * HZ;
	vdisk_submit(&vb, &other.r);
	now += 26 * HZ;
	fake_complete(0, BLK_E_TIMEOUT);
	fake_complete(0, BLK_E_TIMEOUT);
	assert_int_equal(other.seen.calls, 0);
	assert_faults_grew(&before, 1, 2, 1, 1, 1, 1);
	printed_len = 0;
	disks_show_faults(0);
	assert_non_null(strstr(printed, "host disk fake0: read errors "));
	assert_non_null(strstr(printed, ", timeouts "));
	assert_non_null(strstr(printed, "; failed: its controller stopped answering\n"));
	printed_len = 0;
	disks_show_faults(1);
	assert_non_null(strstr(printed, "{\"host_disk\":{\"name\":\"fake0\",\"read_errors\":"));
	assert_non_null(strstr(printed, ",\"failed\":true}}\n"));
	/* The retried request succeeds: the device answers again. */
	fake_complete(0, BLK_OK);
	assert_int_equal(other.seen.status, BLK_OK);
	assert_faults_grew(&before, 1, 2, 1, 1, 1, 0);
	printed_len = 0;
	disks_show_faults(1);
	assert_non_null(strstr(printed, ",\"failed\":false}}\n"));
	vdisk_close(&va);
	vdisk_close(&vb);
}

static void close_drops_and_waits(void **state)
{
	struct test_req t[3];
	struct vdisk vd;
	unsigned i;

	(void)state;
	three_reads_on_a_device_of_depth_1(&vd, t);
	vdisk_close(&vd);
	assert_int_equal(vdisk_busy(&vd), 1); /* the device still holds one */
	fake_complete(0, BLK_OK);
	assert_int_equal(vdisk_busy(&vd), 0);
	assert_int_equal(fake.nheld, 0); /* the waiting two never went */
	for (i = 0; i < 3; i++)
		assert_int_equal(t[i].seen.calls, 0);
	make_req(&t[0], BLK_READ, 0, 1);
	vdisk_submit(&vd, &t[0].r);
	assert_int_equal(t[0].seen.status, BLK_E_IO);
	assert_int_equal(blk_poll_all(), 0);
	vdisk_close(&vd); /* twice: nothing more */
}

/* ---- the RAM disk, from a file on a fake boot medium ---- */

static uint8_t file[1000];
static struct boot_info medium = {
	.nmodules = 1,
	.modules = { { .size = sizeof(file), .name = "disk.img" } },
};

static void ram_disk(void **state)
{
	struct cfg_disk cfg = { .kind = DISK_RAMDISK, .source = "disk.img" };
	struct cfg_disk missing = { .kind = DISK_RAMDISK, .source = "none.img" };
	struct test_req t;
	struct vdisk vd;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(file); i++)
		file[i] = (uint8_t)(i * 7);
	medium.modules[0].base = (uint64_t)(uintptr_t)file;
	blk_init(&medium);
	assert_string_equal(vdisk_open(&vd, &missing, "p"), "its file is not on the boot medium");
	assert_null(vdisk_open(&vd, &cfg, "p"));
	assert_int_equal(pages_out, 1);
	assert_int_equal(vd.sectors, 2); /* 1000 bytes, padded with zeroes */
	assert_string_equal(vd.source, "ramdisk:disk.img");
	assert_string_equal(vd.owner, "p");
	make_req(&t, BLK_READ, 0, 2);
	vdisk_submit(&vd, &t.r);
	assert_int_equal(t.seen.calls, 0); /* done comes from poll */
	assert_int_equal(blk_poll_all(), 0);
	assert_int_equal(t.seen.status, BLK_OK);
	assert_memory_equal(buffer, file, sizeof(file));
	assert_int_equal(buffer[1000], 0);
	memset(buffer, 0xab, 512);
	make_req(&t, BLK_WRITE, 1, 1);
	vdisk_submit(&vd, &t.r);
	blk_poll_all();
	memset(buffer, 0, 1024);
	make_req(&t, BLK_READ, 1, 1);
	vdisk_submit(&vd, &t.r);
	blk_poll_all();
	assert_int_equal(buffer[0], 0xab);
	assert_int_equal(file[600], (uint8_t)(600 * 7)); /* the file itself is not written */
	make_req(&t, BLK_READ, 2, 1);
	vdisk_submit(&vd, &t.r);
	assert_int_equal(t.seen.status, BLK_E_RANGE);
	make_req(&t, BLK_READ, 1, 1);
	vdisk_submit(&vd, &t.r); /* still held by the RAM disk at close */
	vdisk_close(&vd);
	assert_int_equal(vdisk_busy(&vd), 0);
	assert_int_equal(t.seen.calls, 0);
	assert_int_equal(pages_out, 0); /* its memory is back */
	blk_init(0);
}

/* ---- host disks: a RAM disk holding a GPT image stands for a driver's disk ---- */

static uint8_t image[96 << 10];

static struct blk_dev *register_image(void)
{
	FILE *f = fopen(GPT_IMAGE, "rb");
	struct blk_dev *d;

	assert_non_null(f);
	assert_int_equal(fread(image, 1, sizeof(image), f), sizeof(image));
	fclose(f);
	d = ramdisk_create(image, sizeof(image));
	assert_non_null(d);
	assert_int_equal(blk_register(d), 0);
	disks_scan();
	return d;
}

static const char *resolve(enum cfg_disk_kind kind, const char *source, uint64_t offset, uint64_t size,
			   struct disk_extent *e)
{
	static char why[160];
	struct cfg_disk cfg = { .kind = kind, .offset = offset, .size = size };

	strcpy(cfg.source, source);
	return disks_resolve(&cfg, e, why, sizeof(why));
}

static void host_partitions_by_name_and_guid(void **state)
{
	struct blk_dev *d = register_image();
	char guid[GPT_GUID_TEXT];
	struct disk_extent e;
	unsigned i;

	(void)state;
	assert_null(resolve(DISK_GPT_NAME, "boot", 0, 0, &e));
	assert_ptr_equal(e.dev, d);
	assert_int_equal(e.first, 40);
	assert_int_equal(e.sectors, 40);
	assert_null(resolve(DISK_GPT_NAME, "web-root", 4096, 8192, &e));
	assert_int_equal(e.first, 88);
	assert_int_equal(e.sectors, 16);
	assert_null(resolve(DISK_GPT_NAME, "web-root", 60 * 512 - 512, 0, &e)); /* its last sector alone */
	assert_int_equal(e.first, 139);
	assert_int_equal(e.sectors, 1);
	gpt_guid_text(e.part->guid, guid);
	for (i = 0; guid[i]; i++) /* hv.cfg may write it in lower case */
		guid[i] = (char)(guid[i] >= 'A' && guid[i] <= 'F' ? guid[i] + 'a' - 'A' : guid[i]);
	assert_null(resolve(DISK_GPT_GUID, guid, 0, 0, &e));
	assert_int_equal(e.first, 80);
	assert_string_equal(resolve(DISK_GPT_NAME, "nope", 0, 0, &e), "no GPT partition named 'nope' on the host's disks");
	assert_string_equal(resolve(DISK_GPT_GUID, "01234567-89AB-CDEF-0123-456789ABCDEF", 0, 0, &e),
			    "no GPT partition with the GUID '01234567-89AB-CDEF-0123-456789ABCDEF' on the host's disks");
	assert_string_equal(resolve(DISK_GPT_NAME, "boot", 40 * 512, 0, &e),
			    "offset= and size= go past the end of ram0 partition 1 (20480 bytes)");
	assert_non_null(resolve(DISK_GPT_NAME, "boot", 512, 40 * 512, &e));
	assert_non_null(resolve(DISK_GPT_NAME, "boot", UINT64_MAX - 511, 1024, &e)); /* offset + size wraps */
	assert_non_null(resolve(DISK_GPT_NAME, "boot", 512, UINT64_MAX - 511, &e));
}

static void config(struct hv_config *cfg, const char *a, int a_ro, const char *b, int b_ro, uint64_t b_offset)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->npartitions = 2;
	strcpy(cfg->partitions[0].name, "p");
	strcpy(cfg->partitions[1].name, "q");
	cfg->partitions[0].ndisks = cfg->partitions[1].ndisks = 1;
	cfg->partitions[0].disks[0] = (struct cfg_disk){ .kind = DISK_GPT_NAME, .read_only = a_ro, .size = b_offset,
							 .line = 5 };
	cfg->partitions[1].disks[0] = (struct cfg_disk){ .kind = DISK_GPT_NAME, .read_only = b_ro, .offset = b_offset,
							 .line = 9 };
	strcpy(cfg->partitions[0].disks[0].source, a);
	strcpy(cfg->partitions[1].disks[0].source, b);
}

static void config_checked_as_a_whole(void **state)
{
	static struct hv_config cfg;
	struct cfg_errors errs;

	(void)state;
	config(&cfg, "web-root", 0, "boot", 0, 0);
	memset(&errs, 0, sizeof(errs));
	disks_check_config(&cfg, &errs);
	assert_int_equal(errs.count, 0);
	config(&cfg, "web-root", 0, "web-root", 1, 0); /* one writer, one reader: refused */
	disks_check_config(&cfg, &errs);
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.list[0].line, 9);
	assert_string_equal(errs.list[0].text,
			    "disk web-root overlaps partition p's disk web-root (line 5) on ram0, and one of them is writable");
	memset(&errs, 0, sizeof(errs));
	config(&cfg, "web-root", 1, "web-root", 1, 0); /* two readers share it */
	disks_check_config(&cfg, &errs);
	assert_int_equal(errs.count, 0);
	config(&cfg, "web-root", 0, "web-root", 0, 10240); /* two halves, each writable */
	disks_check_config(&cfg, &errs);
	assert_int_equal(errs.count, 0);
	config(&cfg, "web-root", 0, "web-root", 0, 10240);
	cfg.partitions[0].disks[0].size = 10752; /* one sector into the other half */
	disks_check_config(&cfg, &errs);
	assert_int_equal(errs.count, 1);
	memset(&errs, 0, sizeof(errs));
	config(&cfg, "web-root", 0, "missing", 0, 0);
	disks_check_config(&cfg, &errs);
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.list[0].line, 9);
	assert_string_equal(errs.list[0].text, "disk part:missing: no GPT partition named 'missing' on the host's disks");
}

static void host_partition_as_a_virtual_disk(void **state)
{
	struct cfg_disk cfg = { .kind = DISK_GPT_NAME, .source = "boot", .read_only = 1 };
	struct test_req t;
	struct vdisk vd;

	(void)state;
	assert_null(vdisk_open(&vd, &cfg, "p"));
	assert_string_equal(vd.source, "part:boot");
	assert_int_equal(vd.first, 40);
	assert_int_equal(vd.sectors, 40);
	make_req(&t, BLK_READ, 39, 1);
	vdisk_submit(&vd, &t.r);
	blk_poll_all();
	assert_int_equal(t.seen.status, BLK_OK);
	assert_memory_equal(buffer, image + 79 * 512, 512);
	make_req(&t, BLK_WRITE, 0, 1);
	vdisk_submit(&vd, &t.r);
	assert_int_equal(t.seen.status, BLK_E_RO);
	printed_len = 0;
	disks_show();
	assert_non_null(strstr(printed, "ram0 (RAM disk), 96 KiB, 512-byte blocks, write cache off, polled\n"));
	assert_non_null(strstr(printed, "  ram0 partition 1 'boot' "));
	assert_non_null(strstr(printed, "LBA 40-79, 20 KiB\n      used by partition p (part:boot)\n"));
	assert_non_null(strstr(printed, "    partition p: part:boot, LBA 40, 40 sectors, read-only: 2 requests, 0 KiB read"));
	vdisk_close(&vd);
}

static void same_name_on_two_disks_is_ambiguous(void **state)
{
	struct disk_extent e;

	(void)state;
	register_image(); /* a copy of the first disk, as dd makes them */
	assert_string_equal(resolve(DISK_GPT_NAME, "boot", 0, 0, &e),
			    "more than one GPT partition named 'boot': ram0 partition 1 and ram1 partition 1");
}

/* Latency runs from vdisk_submit to the completion, retries included; refused requests are not timed. */
static void latency_is_timed_from_submit_to_completion(void **state)
{
	struct vdisk vd, copy;
	struct test_req a, b;

	(void)state;
	fake_init(512, 1000, 8);
	open_extent(&vd, 0, 100, 0, "a");
	make_req(&a, BLK_READ, 0, 1);
	make_req(&b, BLK_WRITE, 1, 1);
	vdisk_submit(&vd, &a.r);
	vdisk_submit(&vd, &b.r);
	now += 300; /* HZ is 1 MHz: ticks are microseconds */
	fake_complete(0, BLK_OK);
	now += 5000;
	fake_complete(0, BLK_OK);
	assert_int_equal(submit_now(&vd, BLK_READ, 100, 1), BLK_E_RANGE);
	vdisk_counters(&vd, &copy);
	assert_int_equal(copy.requests, 3);
	assert_int_equal(copy.latency.count[lat_bucket(300)], 1);
	assert_int_equal(copy.latency.count[lat_bucket(5300)], 1);
	assert_int_equal(lat_percentile_us(&copy.latency, 50), 512);
	assert_int_equal(lat_percentile_us(&copy.latency, 99), 8192);
	vdisk_close(&vd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(extent_edges),
		cmocka_unit_test(latency_is_timed_from_submit_to_completion),
		cmocka_unit_test(hostile_segments),
		cmocka_unit_test(four_k_blocks),
		cmocka_unit_test(read_only),
		cmocka_unit_test(deep_queue_does_not_starve),
		cmocka_unit_test(a_full_device_takes_the_rest_later),
		cmocka_unit_test(late_interrupts_keep_a_device_interrupt_driven),
		cmocka_unit_test(refusals_keep_a_device_interrupt_driven),
		cmocka_unit_test(a_device_whose_interrupts_never_come_is_polled),
		cmocka_unit_test(timeouts_and_errors_stay_with_their_disk),
		cmocka_unit_test(timeouts_are_retried_a_bounded_number_of_times),
		cmocka_unit_test(device_faults_are_counted_by_operation),
		cmocka_unit_test(close_drops_and_waits),
		cmocka_unit_test(ram_disk),
		cmocka_unit_test(host_partitions_by_name_and_guid),
		cmocka_unit_test(config_checked_as_a_whole),
		cmocka_unit_test(host_partition_as_a_virtual_disk),
		cmocka_unit_test(same_name_on_two_disks_is_ambiguous),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
