/*
 * The split virtqueue (hv/vdev/virtqueue.c) against virtio 1.2, 2.7, with
 * the chains a hostile guest can write: loops, indices past the table,
 * buffers outside RAM or wrapping the address space, zero and 4 GiB
 * lengths, wrong directions, malformed and nested indirect tables; rings
 * misaligned or outside RAM; an available index that runs ahead; the
 * used ring, EVENT_IDX and the NO_INTERRUPT flag.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/le.h"
#include "vdev/platform.h"
#include "vdev/virtqueue.h"

#define RAM (1u << 20)
#define QSIZE 8
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define TABLE 0x4000 /* an indirect table */
#define DATA 0x10000
#define BUFS 16

static uint8_t *ram;
static struct vq_ram r;
static struct virtqueue q;
static struct vq_buf buf[BUFS];
static unsigned n;

static int setup(void **state)
{
	(void)state;
	ram = aligned_alloc(4096, RAM);
	memset(ram, 0, RAM);
	r = (struct vq_ram){ .base = ram, .pa = 0x40000000, .size = RAM };
	assert_null(vq_setup(&q, &r, QSIZE, DESC, AVAIL, USED, 0, 1));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static void put_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = ram + table + 16 * i;

	put_le64(d, addr);
	put_le32(d + 8, len);
	put_le16(d + 12, flags);
	put_le16(d + 14, next);
}

static void make_available(uint16_t head)
{
	uint16_t idx = le16(ram + AVAIL + 2);

	put_le16(ram + AVAIL + 4 + 2 * (idx % QSIZE), head);
	put_le16(ram + AVAIL + 2, (uint16_t)(idx + 1));
}

static enum vq_chain_result chain(uint16_t head)
{
	return vq_chain(&q, &r, head, buf, BUFS, &n);
}

/* A virtio-blk read: header (readable), data and status (writable). */
static void a_good_chain_gives_its_buffers_in_order(void **state)
{
	(void)state;
	put_desc(DESC, 3, DATA, 16, VIRTQ_DESC_F_NEXT, 5);
	put_desc(DESC, 5, DATA + 0x1000, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	put_desc(DESC, 1, DATA + 0x3000, 1, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(chain(3), VQ_CHAIN_OK);
	assert_int_equal(n, 3);
	assert_int_equal(buf[0].offset, DATA);
	assert_int_equal(buf[0].len, 16);
	assert_false(buf[0].write);
	assert_int_equal(buf[1].offset, DATA + 0x1000);
	assert_int_equal(buf[1].len, 4096);
	assert_true(buf[1].write);
	assert_int_equal(buf[2].offset, DATA + 0x3000);
	assert_true(buf[2].write);
}

static void loops_and_overlong_chains_are_refused(void **state)
{
	unsigned i;

	(void)state;
	put_desc(DESC, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(DESC, 1, DATA, 16, VIRTQ_DESC_F_NEXT, 0);
	assert_int_equal(chain(0), VQ_E_LONG);
	put_desc(DESC, 2, DATA, 16, VIRTQ_DESC_F_NEXT, 2); /* onto itself */
	assert_int_equal(chain(2), VQ_E_LONG);
	for (i = 0; i < QSIZE; i++) /* zero-length entries count towards the bound too */
		put_desc(DESC, i, DATA, 0, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % QSIZE));
	assert_int_equal(chain(0), VQ_E_LONG);
	for (i = 0; i < QSIZE; i++) /* exactly as long as the queue: accepted */
		put_desc(DESC, i, DATA, 8, i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	assert_int_equal(chain(0), VQ_CHAIN_OK);
	assert_int_equal(n, QSIZE);
}

static void indices_past_the_table_are_refused(void **state)
{
	(void)state;
	put_desc(DESC, 0, DATA, 16, VIRTQ_DESC_F_NEXT, QSIZE);
	assert_int_equal(chain(0), VQ_E_INDEX);
	put_desc(DESC, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 0xffff);
	assert_int_equal(chain(0), VQ_E_INDEX);
	assert_int_equal(chain(QSIZE), VQ_E_INDEX);
	assert_int_equal(n, 0);
}

static void buffers_outside_ram_are_refused_without_overflow(void **state)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
	} bad[] = {
		{ RAM, 1 },                         /* just past the end */
		{ RAM - 1, 2 },                     /* straddling it */
		{ 0xfffffffffffffff0ull, 0x20 },    /* wrapping the address space */
		{ 0xffffffffffffffffull, 1 },
		{ 0, 0xffffffffu },                 /* 4 GiB - 1 from 0 */
		{ PLATFORM_IOAPIC_BASE, 4 },        /* a device */
		{ PLATFORM_HIGH_RAM_BASE, 4096 },   /* no high RAM in a 1 MiB partition */
	};
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_desc(DESC, 0, bad[i].addr, bad[i].len, 0, 0);
		assert_int_equal(chain(0), VQ_E_RAM);
	}
	put_desc(DESC, 0, RAM - 1, 1, 0, 0); /* the last byte is fine */
	assert_int_equal(chain(0), VQ_CHAIN_OK);
	assert_int_equal(buf[0].offset, RAM - 1);
}

/* Partition RAM of 3 GiB + 2 MiB: 2 MiB at 4 GiB, at offset 3 GiB of its memory (platform.h). */
static void high_ram_buffers_map_past_low_ram(void **state)
{
	struct vq_ram big = r;

	(void)state;
	big.size = PLATFORM_MMIO_BASE + (2u << 20);
	put_desc(DESC, 0, PLATFORM_HIGH_RAM_BASE + 0x1000, 512, VIRTQ_DESC_F_NEXT, 1);
	put_desc(DESC, 1, PLATFORM_HIGH_RAM_BASE + (2u << 20) - 512, 513, 0, 0); /* one byte past the top */
	assert_int_equal(vq_chain(&q, &big, 0, buf, BUFS, &n), VQ_E_RAM);
	put_desc(DESC, 1, PLATFORM_MMIO_BASE - 512, 1024, 0, 0); /* into the hole */
	assert_int_equal(vq_chain(&q, &big, 0, buf, BUFS, &n), VQ_E_RAM);
	put_desc(DESC, 1, PLATFORM_MMIO_BASE - 512, 512, 0, 0);
	assert_int_equal(vq_chain(&q, &big, 0, buf, BUFS, &n), VQ_CHAIN_OK);
	assert_int_equal(buf[0].offset, PLATFORM_MMIO_BASE + 0x1000);
	assert_int_equal(buf[1].offset, PLATFORM_MMIO_BASE - 512);
}

static void readable_after_writable_is_refused(void **state)
{
	(void)state;
	put_desc(DESC, 0, DATA, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	put_desc(DESC, 1, DATA, 16, 0, 0);
	assert_int_equal(chain(0), VQ_E_ORDER);
}

static void zero_lengths_are_left_out(void **state)
{
	(void)state;
	put_desc(DESC, 0, 0xdead000000000000ull, 0, VIRTQ_DESC_F_NEXT, 1); /* no bytes: no address to check */
	put_desc(DESC, 1, DATA, 16, 0, 0);
	assert_int_equal(chain(0), VQ_CHAIN_OK);
	assert_int_equal(n, 1);
	assert_int_equal(buf[0].offset, DATA);
}

static void more_buffers_than_the_caller_takes_are_refused(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < 3; i++)
		put_desc(DESC, i, DATA, 8, i < 2 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	assert_int_equal(vq_chain(&q, &r, 0, buf, 2, &n), VQ_E_FULL);
	assert_int_equal(vq_chain(&q, &r, 0, buf, 3, &n), VQ_CHAIN_OK);
}

static void an_indirect_table_gives_its_buffers(void **state)
{
	(void)state;
	put_desc(DESC, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1); /* a direct one may come first */
	put_desc(DESC, 1, TABLE, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0); /* its WRITE is ignored */
	put_desc(TABLE, 0, DATA + 16, 16, VIRTQ_DESC_F_NEXT, 2);
	put_desc(TABLE, 2, DATA + 0x1000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	put_desc(TABLE, 1, DATA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(chain(0), VQ_CHAIN_OK);
	assert_int_equal(n, 4);
	assert_int_equal(buf[1].offset, DATA + 16);
	assert_false(buf[1].write);
	assert_int_equal(buf[2].offset, DATA + 0x1000);
	assert_true(buf[3].write);
}

static void malformed_indirect_tables_are_refused(void **state)
{
	(void)state;
	put_desc(TABLE, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(TABLE, 1, DATA, 16, VIRTQ_DESC_F_NEXT, 0); /* a loop inside the table */
	put_desc(DESC, 0, TABLE, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	assert_int_equal(chain(0), VQ_E_LONG);
	put_desc(TABLE, 1, DATA, 16, VIRTQ_DESC_F_NEXT, 2); /* past the table's 2 entries */
	assert_int_equal(chain(0), VQ_E_INDEX);
	put_desc(TABLE, 1, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0); /* nested */
	assert_int_equal(chain(0), VQ_E_INDIRECT);
	put_desc(TABLE, 1, DATA, 16, 0, 0);
	assert_int_equal(chain(0), VQ_CHAIN_OK);
	put_desc(DESC, 0, TABLE, 2 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1); /* chained */
	assert_int_equal(chain(0), VQ_E_INDIRECT);
	put_desc(DESC, 0, TABLE, 2 * 16 + 1, VIRTQ_DESC_F_INDIRECT, 0); /* not whole entries */
	assert_int_equal(chain(0), VQ_E_INDIRECT);
	put_desc(DESC, 0, TABLE, 0, VIRTQ_DESC_F_INDIRECT, 0);
	assert_int_equal(chain(0), VQ_E_INDIRECT);
	put_desc(DESC, 0, TABLE, 16 * (QSIZE + 1), VIRTQ_DESC_F_INDIRECT, 0); /* more entries than the queue */
	assert_int_equal(chain(0), VQ_E_INDIRECT);
	put_desc(DESC, 0, RAM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0); /* the table past RAM */
	assert_int_equal(chain(0), VQ_E_RAM);
	put_desc(DESC, 0, 0xfffffffffffffff0ull, 32, VIRTQ_DESC_F_INDIRECT, 0);
	assert_int_equal(chain(0), VQ_E_RAM);
	assert_null(vq_setup(&q, &r, QSIZE, DESC, AVAIL, USED, 0, 0)); /* not negotiated */
	put_desc(DESC, 0, TABLE, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	assert_int_equal(chain(0), VQ_E_INDIRECT);
}

static void rings_are_checked_at_setup(void **state)
{
	struct virtqueue t;

	(void)state;
	assert_non_null(vq_setup(&t, &r, 0, DESC, AVAIL, USED, 0, 0));
	assert_non_null(vq_setup(&t, &r, 6, DESC, AVAIL, USED, 0, 0));
	assert_non_null(vq_setup(&t, &r, 65536, DESC, AVAIL, USED, 0, 0));
	assert_non_null(vq_setup(&t, &r, QSIZE, DESC + 8, AVAIL, USED, 0, 0)); /* descriptors: 16-byte aligned */
	assert_non_null(vq_setup(&t, &r, QSIZE, DESC, AVAIL + 1, USED, 0, 0));
	assert_non_null(vq_setup(&t, &r, QSIZE, DESC, AVAIL, USED + 2, 0, 0));
	assert_non_null(vq_setup(&t, &r, QSIZE, RAM - 16 * QSIZE + 16, AVAIL, USED, 0, 0)); /* past RAM */
	assert_non_null(vq_setup(&t, &r, QSIZE, DESC, AVAIL, RAM - 68, 0, 0)); /* 70 bytes, aligned, 2 past RAM */
	assert_non_null(vq_setup(&t, &r, QSIZE, DESC, 0xfffffffffffffffeull, USED, 0, 0));
	assert_null(vq_setup(&t, &r, QSIZE, DESC, AVAIL, RAM - 72, 0, 0)); /* the used ring at the end */
}

static void available_heads_come_in_order_and_wrap(void **state)
{
	uint16_t head;

	(void)state;
	assert_int_equal(vq_next(&q, &head), VQ_EMPTY);
	make_available(5);
	make_available(2);
	assert_int_equal(vq_next(&q, &head), VQ_HEAD);
	assert_int_equal(head, 5);
	assert_int_equal(vq_next(&q, &head), VQ_HEAD);
	assert_int_equal(head, 2);
	assert_int_equal(vq_next(&q, &head), VQ_EMPTY);
	q.last_avail = 0xffff; /* the 16-bit indices wrap (2.7.6) */
	put_le16(ram + AVAIL + 2, 0xffff);
	make_available(7);
	assert_int_equal(le16(ram + AVAIL + 2), 0);
	assert_int_equal(vq_next(&q, &head), VQ_HEAD);
	assert_int_equal(head, 7);
	assert_int_equal(q.last_avail, 0);
}

static void a_ring_that_runs_ahead_or_names_no_descriptor_is_broken(void **state)
{
	uint16_t head;

	(void)state;
	put_le16(ram + AVAIL + 2, QSIZE + 1);
	assert_int_equal(vq_next(&q, &head), VQ_BROKEN);
	put_le16(ram + AVAIL + 2, 0x8000);
	assert_int_equal(vq_next(&q, &head), VQ_BROKEN);
	put_le16(ram + AVAIL + 2, 1);
	put_le16(ram + AVAIL + 4, QSIZE);
	assert_int_equal(vq_next(&q, &head), VQ_BROKEN);
	assert_int_equal(q.last_avail, 0);
	put_le16(ram + AVAIL + 2, QSIZE); /* a full ring is fine */
	put_le16(ram + AVAIL + 4, 1);
	assert_int_equal(vq_next(&q, &head), VQ_HEAD);
}

static void used_entries_are_published_and_interrupts_follow_the_flag(void **state)
{
	(void)state;
	assert_false(vq_should_interrupt(&q)); /* nothing used */
	vq_push(&q, 5, 4097);
	assert_int_equal(le16(ram + USED + 2), 1);
	assert_int_equal(le32(ram + USED + 4), 5);
	assert_int_equal(le32(ram + USED + 8), 4097);
	assert_true(vq_should_interrupt(&q));
	assert_false(vq_should_interrupt(&q));
	put_le16(ram + AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	vq_push(&q, 2, 1);
	assert_int_equal(le32(ram + USED + 12), 2);
	assert_false(vq_should_interrupt(&q));
}

static void event_idx_suppresses_notifications_both_ways(void **state)
{
	uint16_t head;
	unsigned i;

	(void)state;
	assert_null(vq_setup(&q, &r, QSIZE, DESC, AVAIL, USED, 1, 1));
	put_le16(ram + USED + 4 + 8 * QSIZE, 0x1234);
	assert_int_equal(vq_next(&q, &head), VQ_EMPTY);
	assert_int_equal(le16(ram + USED + 4 + 8 * QSIZE), 0); /* avail_event: tell me of entry 0 */
	put_le16(ram + AVAIL + 4 + 2 * QSIZE, 2);               /* used_event: interrupt me past entry 2 */
	for (i = 0; i < 2; i++) {
		vq_push(&q, 0, 0);
		assert_false(vq_should_interrupt(&q));
	}
	vq_push(&q, 0, 0);
	assert_true(vq_should_interrupt(&q)); /* used index 2 -> 3 passes 2 */
	vq_push(&q, 0, 0);
	vq_push(&q, 0, 0);
	assert_false(vq_should_interrupt(&q));
	assert_true(vq_need_event(0xffff, 0, 0xfffe)); /* across the wrap */
	assert_false(vq_need_event(5, 5, 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_good_chain_gives_its_buffers_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(loops_and_overlong_chains_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(indices_past_the_table_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(buffers_outside_ram_are_refused_without_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(high_ram_buffers_map_past_low_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(readable_after_writable_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(zero_lengths_are_left_out, setup, teardown),
		cmocka_unit_test_setup_teardown(more_buffers_than_the_caller_takes_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(an_indirect_table_gives_its_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_indirect_tables_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(rings_are_checked_at_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(available_heads_come_in_order_and_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(a_ring_that_runs_ahead_or_names_no_descriptor_is_broken, setup, teardown),
		cmocka_unit_test_setup_teardown(used_entries_are_published_and_interrupts_follow_the_flag, setup,
						teardown),
		cmocka_unit_test_setup_teardown(event_idx_suppresses_notifications_both_ways, setup, teardown),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
