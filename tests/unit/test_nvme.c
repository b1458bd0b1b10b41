/*
 * The NVMe driver against a fake controller: registers in a buffer, its
 * queues and PRPs in host memory, commands run against a RAM disk on a
 * simulated clock. Bring-up and identification, data written and read
 * back through split commands, Flush, requests refused before any command
 * (completed from poll, never from submit), a full queue, device errors,
 * and the deadline: a hung controller is reset, the late request times out
 * and the other one is issued again; a controller that does not come back
 * fails what follows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch.h"
#include "block.h"
#include "fake_host_disk.h"
#include "lib/le.h"
#include "mm.h"
#include "nvme.h"
#include "pci_host.h"

#define DISK_BLOCKS 1000u
#define DEPTH 8 /* CAP.MQES + 1: the driver takes 7 requests */

static uint8_t regs[0x2000] __attribute__((aligned(PAGE)));
struct fake_pci fake_pci = { .dev = { .bus = 0, .dev = 3, .class_code = 1, .subclass = 8, .prog_if = 2,
				      .bar = { { 0xfebd0000, sizeof(regs), 0, 1, 0 } } },
			     .bar = 0, .regs = regs };

/* ---- the fake controller (NVMe 1.4 registers, queues and PRPs) ---- */

struct fake_queue {
	uint64_t sq, cq;
	uint16_t size, sq_head, cq_tail, phase;
};

static struct {
	struct fake_queue q[2]; /* admin, I/O */
	uint8_t disk[DISK_BLOCKS * 512];
	int hang;        /* I/O commands are not executed */
	int never_ready; /* CC.EN is not answered by CSTS.RDY */
	int fail_next;   /* the next I/O command completes with an error */
	int leftover;    /* enabled as the firmware left it, its queues anywhere, until its reset */
	unsigned resets, commands, flushes;
} dev;

static uint32_t reg(uint32_t off)
{
	return le32(regs + off);
}

static void set_reg(uint32_t off, uint32_t v)
{
	put_le32(regs + off, v);
}

static void post(struct fake_queue *q, uint16_t cid, uint16_t status)
{
	uint8_t *e = (uint8_t *)(uintptr_t)(q->cq + 16ull * q->cq_tail);

	memset(e, 0, 16);
	put_le16(e + 8, q->sq_head);
	put_le16(e + 12, cid);
	put_le16(e + 14, (uint16_t)(status << 1 | q->phase));
	if (++q->cq_tail == q->size) {
		q->cq_tail = 0;
		q->phase ^= 1;
	}
}

static void identify(const uint8_t *c)
{
	uint8_t *out = (uint8_t *)(uintptr_t)le64(c + 24);
	uint32_t cns = le32(c + 40);

	memset(out, 0, PAGE);
	if (cns == 1) {
		memset(out + 24, ' ', 40);
		memcpy(out + 24, "FAKE NVMe", 9);
		put_le32(out + 516, 1); /* NN */
		out[525] = 1;           /* VWC */
		out[77] = 3;            /* MDTS: 32 KiB */
	} else if (cns == 2) {
		put_le32(out, 1);
	} else {
		put_le64(out, DISK_BLOCKS);
		put_le32(out + 128, 9u << 16); /* LBA format 0: 512-byte blocks */
	}
}

static uint16_t admin(const uint8_t *c)
{
	uint8_t op = c[0];

	if (op == 0x06)
		identify(c);
	else if (op == 0x05 || op == 0x01) { /* create the I/O CQ, then the SQ */
		dev.q[1].size = (uint16_t)((le32(c + 40) >> 16) + 1);
		if (op == 0x05) {
			dev.q[1].cq = le64(c + 24);
			dev.q[1].cq_tail = 0;
			dev.q[1].phase = 1;
		} else {
			dev.q[1].sq = le64(c + 24);
			dev.q[1].sq_head = 0;
		}
	} else if (op != 0x09)
		return 0x01; /* invalid opcode */
	return 0;
}

/* Copies between the disk and memory as the PRPs say, checking the page rules. */
static void dma(const uint8_t *c, uint8_t *media, uint32_t bytes, int to_memory)
{
	uint64_t prp1 = le64(c + 24), prp2 = le64(c + 32);
	uint32_t first = PAGE - (uint32_t)(prp1 % PAGE), done = 0, entry = 0;
	const uint64_t *list = (const uint64_t *)(uintptr_t)prp2;

	assert_int_equal(prp1 % 4, 0);
	while (done < bytes) {
		uint64_t addr = done == 0 ? prp1 : bytes - first <= PAGE ? prp2 : list[entry++];
		uint32_t n = done == 0 ? first : PAGE;

		if (n > bytes - done)
			n = bytes - done;
		if (done)
			assert_int_equal(addr % PAGE, 0);
		if (to_memory)
			memcpy((void *)(uintptr_t)addr, media + done, n);
		else
			memcpy(media + done, (void *)(uintptr_t)addr, n);
		done += n;
	}
}

static uint16_t io(const uint8_t *c)
{
	uint64_t lba = le64(c + 40);
	uint32_t blocks = (le32(c + 48) & 0xffff) + 1;

	dev.commands++;
	if (dev.fail_next) {
		dev.fail_next = 0;
		return 0x280; /* media error: unrecovered read error (type 2, code 0x81) */
	}
	if (c[0] == 0x00) {
		dev.flushes++;
		return 0;
	}
	assert_int_equal(le32(c + 4), 1);
	assert_true(lba + blocks <= DISK_BLOCKS);
	assert_true(blocks * 512 <= 32 * 1024); /* MDTS */
	dma(c, dev.disk + lba * 512, blocks * 512, c[0] == 0x02);
	return 0;
}

static void run_queue(unsigned qid, uint16_t (*exec)(const uint8_t *))
{
	struct fake_queue *q = &dev.q[qid];
	uint16_t tail = (uint16_t)reg(0x1000 + 8 * qid);

	while (q->sq && q->sq_head != tail) {
		const uint8_t *c = (const uint8_t *)(uintptr_t)(q->sq + 64ull * q->sq_head);
		uint16_t status = exec(c);

		q->sq_head = (uint16_t)((q->sq_head + 1) % q->size);
		post(q, le16(c + 2), status);
	}
}

void device_step(void)
{
	uint32_t cc = reg(0x14), csts = reg(0x1c);

	assert_false(dev.leftover && fake_pci.command & HPCI_CMD_MASTER); /* its DMA would land in reused memory */
	if ((cc & 1) && !(csts & 1) && !dev.never_ready) {
		memset(dev.q, 0, sizeof(dev.q));
		dev.q[0] = (struct fake_queue){ le64(regs + 0x28), le64(regs + 0x30), 16, 0, 0, 1 };
		assert_int_equal(reg(0x24), 15u << 16 | 15);
		memset(regs + 0x1000, 0, 16);
		set_reg(0x1c, 1);
	} else if (!(cc & 1) && (csts & 1)) {
		dev.resets++;
		dev.leftover = 0;
		set_reg(0x1c, 0);
	}
	if (!(reg(0x1c) & 1))
		return;
	run_queue(0, admin);
	if (!dev.hang)
		run_queue(1, io);
}

/* ---- requests ---- */

static int setup(void **state)
{
	(void)state;
	put_le64(regs, 0x2000000000ull | 1u << 24 | 1u << 16 | (DEPTH - 1)); /* CSS NVM, TO 1, CQR, MQES */
	set_reg(0x08, 0x10400);
	set_reg(0x14, 1); /* CC.EN and CSTS.RDY: the firmware's controller still running */
	set_reg(0x1c, 1);
	dev.leftover = 1;
	nvme_init();
	return 0;
}

static void controller_and_namespace_are_identified(void **state)
{
	(void)state;
	assert_int_equal(blk_count(), 1);
	disk = blk_get(0);
	assert_string_equal(disk->name, "nvme0n1");
	assert_string_equal(disk->model, "FAKE NVMe");
	assert_int_equal(disk->blocks, DISK_BLOCKS);
	assert_int_equal(disk->block_size, 512);
	assert_int_equal(disk->queue_depth, DEPTH - 1);
	assert_true(disk->write_cache);
	assert_int_equal(disk->irq, BLK_POLLED); /* the fake has no MSI-X */
	assert_false(disk->read_only);
	assert_int_equal(fake_pci.command, HPCI_CMD_MEM | HPCI_CMD_MASTER | HPCI_CMD_INTX_OFF);
	assert_int_equal(reg(0x14) & 1, 1);
}

static void data_round_trips_through_split_commands(void **state)
{
	uint8_t *buf = aligned_alloc(PAGE, 16 * PAGE), *back = aligned_alloc(PAGE, 16 * PAGE);
	static struct blk_req w, r;
	struct done_log wl, rl;
	unsigned i;

	(void)state;
	for (i = 0; i < 16 * PAGE; i++)
		buf[i] = (uint8_t)(i * 13 + 5);
	/* 512 bytes ending inside a page, then 4 KiB, then 40 KiB: at least three commands (MDTS 32 KiB). */
	request(&w, &wl, BLK_WRITE, 100, 1 + 8 + 80);
	add_seg(&w, buf + 0x200, 512);
	add_seg(&w, buf + PAGE, PAGE);
	add_seg(&w, buf + 2 * PAGE, 10 * PAGE);
	dev.commands = 0;
	assert_int_equal(disk->ops->submit(disk, &w), 0);
	run_until_done(&wl);
	assert_int_equal(wl.status, BLK_OK);
	assert_true(dev.commands >= 3);
	assert_memory_equal(dev.disk + 100 * 512, buf + 0x200, 512);
	assert_memory_equal(dev.disk + 101 * 512, buf + PAGE, 11 * PAGE);
	/* Read back into one contiguous buffer. */
	memset(back, 0, 16 * PAGE);
	request(&r, &rl, BLK_READ, 100, 89);
	add_seg(&r, back, 89 * 512);
	assert_int_equal(disk->ops->submit(disk, &r), 0);
	run_until_done(&rl);
	assert_int_equal(rl.status, BLK_OK);
	assert_memory_equal(back, dev.disk + 100 * 512, 89 * 512);
	free(buf);
	free(back);
}

static void flush_reaches_the_device(void **state)
{
	static struct blk_req f;
	struct done_log fl;

	(void)state;
	dev.flushes = 0;
	request(&f, &fl, BLK_FLUSH, 0, 0);
	assert_int_equal(disk->ops->submit(disk, &f), 0);
	run_until_done(&fl);
	assert_int_equal(fl.status, BLK_OK);
	assert_int_equal(dev.flushes, 1);
}

static void refused(enum blk_op op, uint64_t lba, uint32_t blocks, uint32_t seg_len, enum blk_status want)
{
	static uint8_t buf[PAGE] __attribute__((aligned(PAGE)));
	static struct blk_req r;
	struct done_log log;

	request(&r, &log, op, lba, blocks);
	if (seg_len)
		add_seg(&r, buf, seg_len);
	dev.commands = 0;
	assert_int_equal(disk->ops->submit(disk, &r), 0);
	assert_int_equal(log.calls, 0); /* done() comes from poll, never from submit */
	run_until_done(&log);
	assert_int_equal(log.status, want);
	assert_int_equal(dev.commands, 0);
}

static void bad_requests_are_refused_before_any_command(void **state)
{
	(void)state;
	refused(BLK_READ, DISK_BLOCKS - 1, 2, 1024, BLK_E_RANGE);
	refused(BLK_READ, DISK_BLOCKS, 1, 512, BLK_E_RANGE);
	refused(BLK_WRITE, ~0ull, 2, 1024, BLK_E_RANGE);
	refused(BLK_READ, 0, 0xffffffffu, 512, BLK_E_RANGE);
	refused(BLK_READ, 0, 0, 0, BLK_E_RANGE);
	refused(BLK_READ, 0, 2, 512, BLK_E_IO); /* segments shorter than the blocks */
	refused(BLK_DISCARD, 0, 1, 0, BLK_E_UNSUPP);
	refused((enum blk_op)77, 0, 1, 512, BLK_E_UNSUPP);
}

static void unaligned_blocks_fail_rather_than_go_wrong(void **state)
{
	static uint8_t buf[2 * PAGE] __attribute__((aligned(PAGE)));
	static struct blk_req r;
	struct done_log log;

	(void)state;
	/* A dword-misaligned segment: no PRP can name it. */
	request(&r, &log, BLK_READ, 0, 1);
	add_seg(&r, buf + 2, 512);
	assert_int_equal(disk->ops->submit(disk, &r), 0);
	run_until_done(&log);
	assert_int_equal(log.status, BLK_E_IO);
}

static void device_errors_fail_the_request(void **state)
{
	static uint8_t buf[PAGE] __attribute__((aligned(PAGE)));
	static struct blk_req r;
	struct done_log log;

	(void)state;
	dev.fail_next = 1;
	request(&r, &log, BLK_READ, 0, 1);
	add_seg(&r, buf, 512);
	assert_int_equal(disk->ops->submit(disk, &r), 0);
	run_until_done(&log);
	assert_int_equal(log.status, BLK_E_IO);
}

static void full_queue_then_timeout_and_reset(void **state)
{
	static uint8_t buf[DEPTH][512] __attribute__((aligned(PAGE)));
	static struct blk_req r[DEPTH];
	struct done_log log[DEPTH], extra;
	unsigned i, resets = dev.resets;

	(void)state;
	dev.hang = 1;
	for (i = 0; i < DEPTH - 1; i++) {
		request(&r[i], &log[i], BLK_READ, i, 1);
		add_seg(&r[i], buf[i], 512);
		r[i].deadline = now + (i == 0 ? 100 : 3000) * MS; /* only the first is late when the reset comes */
		assert_int_equal(disk->ops->submit(disk, &r[i]), 0);
	}
	request(&r[DEPTH - 1], &extra, BLK_READ, 0, 1);
	add_seg(&r[DEPTH - 1], buf[0], 512);
	assert_int_equal(disk->ops->submit(disk, &r[DEPTH - 1]), -1); /* full */
	/* Past the first deadline: the controller is reset; the hang ends with it. */
	now += 200 * MS;
	dev.hang = 0;
	disk->ops->poll(disk);
	assert_int_equal(dev.resets, resets + 1);
	assert_true(fake_pci.command & HPCI_CMD_MASTER); /* a controller that came back keeps it */
	assert_int_equal(log[0].calls, 1);
	assert_int_equal(log[0].status, BLK_E_TIMEOUT);
	for (i = 1; i < DEPTH - 1; i++) {
		run_until_done(&log[i]);
		assert_int_equal(log[i].status, BLK_OK);
	}
}

static void a_controller_that_does_not_come_back_fails_requests(void **state)
{
	static uint8_t buf[512] __attribute__((aligned(PAGE)));
	static struct blk_req r;
	struct done_log log;

	(void)state;
	dev.hang = 1;
	dev.never_ready = 1;
	request(&r, &log, BLK_READ, 0, 1);
	add_seg(&r, buf, 512);
	r.deadline = now + 10 * MS;
	assert_int_equal(disk->ops->submit(disk, &r), 0);
	assert_true(fake_pci.command & HPCI_CMD_MASTER);
	now += 20 * MS;
	run_until_done(&log);
	assert_int_equal(log.status, BLK_E_TIMEOUT);
	/* Its bus mastering off before the request's buffer was given back. */
	assert_false(fake_pci.command & HPCI_CMD_MASTER);
	request(&r, &log, BLK_READ, 0, 1);
	add_seg(&r, buf, 512);
	assert_int_equal(disk->ops->submit(disk, &r), 0);
	run_until_done(&log);
	assert_int_equal(log.status, BLK_E_IO);
}

int main(void)
{
	/* In order: they share the one controller nvme_init found. */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(controller_and_namespace_are_identified),
		cmocka_unit_test(data_round_trips_through_split_commands),
		cmocka_unit_test(flush_reaches_the_device),
		cmocka_unit_test(bad_requests_are_refused_before_any_command),
		cmocka_unit_test(unaligned_blocks_fail_rather_than_go_wrong),
		cmocka_unit_test(device_errors_fail_the_request),
		cmocka_unit_test(full_queue_then_timeout_and_reset),
		cmocka_unit_test(a_controller_that_does_not_come_back_fails_requests),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
