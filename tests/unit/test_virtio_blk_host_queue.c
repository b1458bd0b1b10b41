/*
 * The host virtio-blk driver's pure part: feature negotiation (VERSION_1
 * required, only the features it uses taken, the rest named for the log),
 * the limits from the device's configuration, the data descriptors of a
 * request at the edges (SEG_MAX, SIZE_MAX, block boundaries, pages crossed,
 * wrapping and empty segments, random requests checked byte for byte),
 * the split virtqueue's rings as the device reads them, and the used ring
 * with hostile elements (an id out of the table, an id that heads no chain
 * in flight, one used twice, an index running ahead) and used lengths
 * that are garbage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/le.h"
#include "vdev/virtqueue.h"
#include "virtio_blk_host_queue.h"

#define RING_PA 0x5000000ull

/* ---- features */

static void version_1_is_required(void **state)
{
	uint64_t taken = 0;

	(void)state;
	assert_non_null(vbhq_negotiate(VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_BLK_SIZE, &taken));
	assert_non_null(vbhq_negotiate(0, &taken));
	assert_null(vbhq_negotiate(VIRTIO_F_VERSION_1, &taken));
	assert_int_equal(taken, VIRTIO_F_VERSION_1);
}

static void only_the_features_used_are_taken(void **state)
{
	/* What QEMU's virtio-blk-pci offers, more or less: topology, MQ, discard, indirect, event index too. */
	uint64_t offered = VIRTIO_F_VERSION_1 | VIRTIO_F_ACCESS_PLATFORM | VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC |
			   VIRTIO_BLK_F_SIZE_MAX | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH |
			   VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES | 1ull << 10 | 1ull << 12 | 1ull << 24;
	uint64_t taken = 0;
	char names[200];

	(void)state;
	assert_null(vbhq_negotiate(offered, &taken));
	assert_int_equal(taken, VIRTIO_F_VERSION_1 | VIRTIO_F_ACCESS_PLATFORM | VIRTIO_BLK_F_SIZE_MAX |
					VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH);
	vbhq_feature_names(taken, names, sizeof(names));
	assert_string_equal(names, "SIZE_MAX SEG_MAX BLK_SIZE FLUSH VERSION_1 ACCESS_PLATFORM");
	vbhq_feature_names(offered & ~taken, names, sizeof(names));
	assert_string_equal(names, "TOPOLOGY MQ DISCARD WRITE_ZEROES bit 24 INDIRECT_DESC EVENT_IDX");
	assert_null(vbhq_negotiate(VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_RO, &taken));
	assert_int_equal(taken, VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_RO);
}

static void feature_names_stay_in_their_buffer(void **state)
{
	char names[12];

	(void)state;
	memset(names, 'x', sizeof(names));
	vbhq_feature_names(~0ull, names, sizeof(names));
	assert_int_equal(names[sizeof(names) - 1], 0);
	vbhq_feature_names(0, names, sizeof(names));
	assert_string_equal(names, "none");
}

static void limits_from_the_configuration(void **state)
{
	struct vbhq_limits lim;

	(void)state;
	lim = vbhq_limits(VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_SIZE_MAX, 126, 4096, 512, 128);
	assert_int_equal(lim.seg_max, 126);
	assert_int_equal(lim.size_max, 4096);
	assert_int_equal(lim.block_size, 512);
	/* More segments than the queue holds with a header and a status: the queue's bound. */
	lim = vbhq_limits(VIRTIO_BLK_F_SEG_MAX, 0xffffffffu, 0, 4096, 16);
	assert_int_equal(lim.seg_max, 14);
	assert_int_equal(lim.size_max, ~0u);
	/* 0, or values of features not negotiated, are no limits. */
	lim = vbhq_limits(VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_SIZE_MAX, 0, 0, 512, 64);
	assert_int_equal(lim.seg_max, 62);
	assert_int_equal(lim.size_max, ~0u);
	lim = vbhq_limits(0, 3, 1024, 512, 64);
	assert_int_equal(lim.seg_max, 62);
	assert_int_equal(lim.size_max, ~0u);
}

/* ---- data descriptors */

static struct vbhq_buf out[VBHQ_SIZE_MAX];

static void a_request_crossing_pages_is_one_descriptor(void **state)
{
	const struct blk_seg seg[] = { { 0x100e00, 8192 } }; /* three pages: 0x100, 0x101, 0x102 */
	struct vbhq_limits lim = { 126, ~0u, 512 };
	struct blk_cursor at = { 0, 0 };
	uint32_t n = 0;

	(void)state;
	assert_int_equal(vbhq_build_data(seg, 1, &at, ~0u, &lim, 1, out, &n), 8192);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].pa, 0x100e00);
	assert_int_equal(out[0].len, 8192);
	assert_int_equal(out[0].write, 1);
	assert_int_equal(vbhq_build_data(seg, 1, &at, ~0u, &lim, 1, out, &n), 0); /* nothing left */
}

static void seg_max_segments_in_one_command_then_the_rest(void **state)
{
	struct blk_seg seg[BLK_SEG_MAX];
	struct vbhq_limits lim = { 126, ~0u, 512 };
	struct blk_cursor at = { 0, 0 };
	uint32_t n = 0, i;

	(void)state;
	for (i = 0; i < BLK_SEG_MAX; i++)
		seg[i] = (struct blk_seg){ 0x200000 + 0x2000ull * i, 512 }; /* none contiguous with the next */
	assert_int_equal(vbhq_build_data(seg, BLK_SEG_MAX, &at, ~0u, &lim, 0, out, &n), 126 * 512);
	assert_int_equal(n, 126);
	assert_int_equal(out[125].pa, 0x200000 + 0x2000ull * 125);
	assert_int_equal(out[125].write, 0);
	assert_int_equal(vbhq_build_data(seg, BLK_SEG_MAX, &at, ~0u, &lim, 0, out, &n), 2 * 512);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].pa, 0x200000 + 0x2000ull * 126);
}

static void a_command_ends_on_a_block_boundary(void **state)
{
	struct blk_seg seg[16];
	struct vbhq_limits lim = { 10, ~0u, 4096 };
	struct blk_cursor at = { 0, 0 };
	uint32_t n = 0, i;

	(void)state;
	for (i = 0; i < 16; i++)
		seg[i] = (struct blk_seg){ 0x300000 + 0x1000ull * i, 512 };
	/* Ten 512-byte segments would be 5 KiB: cut back to one 4 KiB block, eight descriptors. */
	assert_int_equal(vbhq_build_data(seg, 16, &at, ~0u, &lim, 1, out, &n), 4096);
	assert_int_equal(n, 8);
	assert_int_equal(vbhq_build_data(seg, 16, &at, ~0u, &lim, 1, out, &n), 4096); /* the next from segment 8 */
	assert_int_equal(out[0].pa, 0x308000);
	/* Seven segments cannot carry a 4 KiB block: no command at all. */
	lim.seg_max = 7;
	at = (struct blk_cursor){ 0, 0 };
	assert_int_equal(vbhq_build_data(seg, 16, &at, ~0u, &lim, 1, out, &n), 0);
	assert_int_equal(at.seg, 0);
}

static void size_max_cuts_a_segment(void **state)
{
	const struct blk_seg seg[] = { { 0x400000, 8192 } };
	struct vbhq_limits lim = { 3, 1536, 4096 };
	struct blk_cursor at = { 0, 0 };
	uint32_t n = 0;

	(void)state;
	/* 3 x 1536 = 4608 bytes fit; the command is cut back to 4096: 1536, 1536, 1024. */
	assert_int_equal(vbhq_build_data(seg, 1, &at, ~0u, &lim, 0, out, &n), 4096);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].len, 1536);
	assert_int_equal(out[1].pa, 0x400000 + 1536);
	assert_int_equal(out[2].len, 1024);
	assert_int_equal(at.seg, 0);
	assert_int_equal(at.off, 4096);
	assert_int_equal(vbhq_build_data(seg, 1, &at, ~0u, &lim, 0, out, &n), 4096);
	assert_int_equal(out[0].pa, 0x401000);
	assert_int_equal(at.off, 8192);
}

static void max_bytes_bounds_a_command(void **state)
{
	const struct blk_seg seg[] = { { 0x500000, 65536 } };
	struct vbhq_limits lim = { 126, ~0u, 512 };
	struct blk_cursor at = { 0, 0 };
	uint32_t n = 0;

	(void)state;
	assert_int_equal(vbhq_build_data(seg, 1, &at, 4096 + 100, &lim, 0, out, &n), 4096);
	assert_int_equal(n, 1);
	assert_int_equal(at.off, 4096);
	assert_int_equal(vbhq_build_data(seg, 1, &at, 100, &lim, 0, out, &n), 0); /* less than a block */
}

static void hostile_segments(void **state)
{
	const struct blk_seg wraps[] = { { 0xfffffffffffffe00ull, 1024 } };
	const struct blk_seg empty_between[] = { { 0x600000, 512 }, { 0x700000, 0 }, { 0x800000, 512 } };
	const struct blk_seg wraps_second[] = { { 0x600000, 512 }, { 0xffffffffffffff00ull, 512 } };
	struct vbhq_limits lim = { 126, ~0u, 512 };
	struct vbhq_limits zero = { 126, 0, 512 };
	struct blk_cursor at = { 0, 0 };
	uint32_t n = 0;

	(void)state;
	assert_int_equal(vbhq_build_data(wraps, 1, &at, ~0u, &lim, 0, out, &n), 0);
	assert_int_equal(vbhq_build_data(empty_between, 3, &at, ~0u, &lim, 0, out, &n), 1024);
	assert_int_equal(n, 2); /* the empty segment is no descriptor */
	assert_int_equal(out[1].pa, 0x800000);
	at = (struct blk_cursor){ 0, 0 };
	assert_int_equal(vbhq_build_data(wraps_second, 2, &at, ~0u, &lim, 0, out, &n), 512); /* stops before it */
	assert_int_equal(vbhq_build_data(wraps_second, 2, &at, ~0u, &lim, 0, out, &n), 0);
	at = (struct blk_cursor){ 0, 0 };
	assert_int_equal(vbhq_build_data(empty_between, 3, &at, ~0u, &zero, 0, out, &n), 0);
	at = (struct blk_cursor){ 5, 0 }; /* a cursor past the list */
	assert_int_equal(vbhq_build_data(empty_between, 3, &at, ~0u, &lim, 0, out, &n), 0);
}

/* Random requests: every command within its limits, whole blocks, and all of them together the request's bytes in order. */
static void random_requests_are_described_exactly(void **state)
{
	unsigned round;

	(void)state;
	srand(7);
	for (round = 0; round < 2000; round++) {
		struct blk_seg seg[BLK_SEG_MAX];
		uint32_t nseg = 1 + (uint32_t)rand() % BLK_SEG_MAX, i, total = 0, covered = 0, n = 0, bytes;
		uint32_t bs = rand() % 2 ? 4096 : 512;
		struct vbhq_limits lim = { 8 + (uint32_t)rand() % 119, rand() % 2 ? ~0u : 512u * (1 + (uint32_t)rand() % 16), bs };
		struct blk_cursor at = { 0, 0 };
		uint32_t seg_i = 0, seg_off = 0;

		for (i = 0; i < nseg; i++) {
			seg[i] = (struct blk_seg){ 0x1000000ull * (i + 1) + 512ull * (rand() % 8),
						   512u * (uint32_t)(rand() % 17) };
			total += seg[i].len;
		}
		if (total % bs) {
			seg[nseg - 1].len += bs - total % bs;
			total += bs - total % bs;
		}
		while ((bytes = vbhq_build_data(seg, nseg, &at, ~0u, &lim, 0, out, &n))) {
			assert_int_equal(bytes % bs, 0);
			assert_true(n >= 1 && n <= lim.seg_max);
			for (i = 0; i < n; i++) {
				assert_true(out[i].len > 0 && out[i].len <= lim.size_max);
				while (seg_off == seg[seg_i].len) {
					seg_i++;
					seg_off = 0;
				}
				assert_int_equal(out[i].pa, seg[seg_i].pa + seg_off);
				assert_true(seg_off + out[i].len <= seg[seg_i].len);
				seg_off += out[i].len;
				covered += out[i].len;
			}
		}
		/* At least 8 descriptors of at least 512 bytes: a 4 KiB block always fits, nothing is left. */
		assert_int_equal(covered, total);
	}
}

/* ---- the rings */

static uint8_t mem[4096] __attribute__((aligned(16)));
static struct vbhq q;

static uint64_t desc_addr(unsigned i)
{
	return le64(q.desc + VIRTQ_DESC_SIZE * i + VIRTQ_DESC_ADDR);
}

static uint32_t desc_len(unsigned i)
{
	return le32(q.desc + VIRTQ_DESC_SIZE * i + VIRTQ_DESC_LEN);
}

static uint16_t desc_flags(unsigned i)
{
	return le16(q.desc + VIRTQ_DESC_SIZE * i + VIRTQ_DESC_FLAGS);
}

static uint16_t desc_next(unsigned i)
{
	return le16(q.desc + VIRTQ_DESC_SIZE * i + VIRTQ_DESC_NEXT);
}

/* What the device does: a used element, then the index that publishes it. */
static void device_uses(uint32_t id, uint32_t len)
{
	uint8_t *used = (uint8_t *)(uintptr_t)q.used;
	uint16_t idx = le16(used + VIRTQ_RING_IDX);

	put_le32(used + VIRTQ_RING_ENTRIES + VIRTQ_USED_ELEM_SIZE * (idx % q.size), id);
	put_le32(used + VIRTQ_RING_ENTRIES + VIRTQ_USED_ELEM_SIZE * (idx % q.size) + 4, len);
	put_le16(used + VIRTQ_RING_IDX, (uint16_t)(idx + 1));
}

static int add3(uint64_t data)
{
	const struct vbhq_buf buf[] = { { 0x9000, 16, 0 }, { data, 4096, 1 }, { 0x9800, 1, 1 } };

	return vbhq_add(&q, buf, 3);
}

static void rings_fit_a_page_and_are_aligned(void **state)
{
	(void)state;
	assert_true(vbhq_ring_bytes(VBHQ_SIZE_MAX) <= 4096);
	vbhq_init(&q, VBHQ_SIZE_MAX, mem, RING_PA);
	assert_int_equal(q.desc_pa, RING_PA);
	assert_int_equal(q.avail_pa, RING_PA + 16 * VBHQ_SIZE_MAX);
	assert_int_equal(q.used_pa % 4, 0);
	assert_true(q.used_pa >= q.avail_pa + 4 + 2 * VBHQ_SIZE_MAX + 2);
	assert_int_equal(q.used_pa - RING_PA, (uint64_t)(q.used - q.desc));
	assert_int_equal(le16(q.avail + VIRTQ_RING_FLAGS), VIRTQ_AVAIL_F_NO_INTERRUPT); /* polled */
	assert_int_equal(q.nfree, VBHQ_SIZE_MAX);
}

static void a_chain_as_the_device_reads_it(void **state)
{
	int head;

	(void)state;
	vbhq_init(&q, 8, mem, RING_PA);
	assert_int_equal(add3(0x10000), 0);
	head = q.free_head;
	assert_int_equal(add3(0x20000), head); /* the head is the free list's */
	assert_int_equal(desc_addr(3), 0x9000);
	assert_int_equal(desc_flags(3), VIRTQ_DESC_F_NEXT);
	assert_int_equal(desc_addr(desc_next(3)), 0x20000);
	assert_int_equal(desc_len(desc_next(3)), 4096);
	assert_int_equal(desc_flags(desc_next(3)), VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE);
	assert_int_equal(desc_flags(desc_next(desc_next(3))), VIRTQ_DESC_F_WRITE);
	assert_int_equal(le16(q.avail + VIRTQ_RING_ENTRIES), 0);
	assert_int_equal(le16(q.avail + VIRTQ_RING_ENTRIES + 2), 3);
	assert_int_equal(le16(q.avail + VIRTQ_RING_IDX), 0); /* not published yet */
	assert_int_equal(vbhq_publish(&q), 1);
	assert_int_equal(le16(q.avail + VIRTQ_RING_IDX), 2);
	/* A device that asks for no notifications gets none. */
	put_le16((uint8_t *)(uintptr_t)q.used + VIRTQ_RING_FLAGS, VIRTQ_USED_F_NO_NOTIFY);
	assert_int_equal(vbhq_publish(&q), 0);
	assert_int_equal(q.nfree, 2);
	assert_int_equal(add3(0x30000), -1); /* three descriptors wanted, two free */
	assert_int_equal(vbhq_add(&q, (const struct vbhq_buf[]){ { 0x9000, 16, 0 }, { 0x9800, 1, 1 } }, 2), 6);
	assert_int_equal(q.nfree, 0);
}

static void completions_in_any_order_free_their_descriptors(void **state)
{
	uint16_t head = 0xffff;
	uint32_t len = 0;

	(void)state;
	vbhq_init(&q, 8, mem, RING_PA);
	assert_int_equal(add3(0x10000), 0);
	assert_int_equal(add3(0x20000), 3);
	vbhq_publish(&q);
	assert_int_equal(vbhq_take_used(&q, &head, &len), VBHQ_NONE);
	device_uses(3, 4097);
	assert_int_equal(vbhq_take_used(&q, &head, &len), VBHQ_DONE);
	assert_int_equal(head, 3);
	assert_int_equal(len, 4097);
	assert_int_equal(q.nfree, 5);
	assert_int_equal(vbhq_take_used(&q, &head, &len), VBHQ_NONE);
	/* The freed chain is reused whole: a chain of 5 fits now. */
	assert_int_equal(vbhq_add(&q, (const struct vbhq_buf[]){ { 1, 1, 0 }, { 2, 1, 0 }, { 3, 1, 0 }, { 4, 1, 1 },
								  { 5, 1, 1 } }, 5), 3);
	device_uses(0, 1);
	assert_int_equal(vbhq_take_used(&q, &head, &len), VBHQ_DONE);
	assert_int_equal(head, 0);
	device_uses(3, 1);
	assert_int_equal(vbhq_take_used(&q, &head, &len), VBHQ_DONE);
	assert_int_equal(q.nfree, 8);
	assert_int_equal(q.inflight, 0);
}

static void indices_wrap_at_65536(void **state)
{
	uint16_t head;
	uint32_t len, i;

	(void)state;
	vbhq_init(&q, 4, mem, RING_PA);
	for (i = 0; i < 70000; i++) {
		int h = add3(0x10000);

		assert_true(h >= 0);
		vbhq_publish(&q);
		device_uses((uint32_t)h, 4097);
		assert_int_equal(vbhq_take_used(&q, &head, &len), VBHQ_DONE);
		assert_int_equal(head, h);
	}
	assert_int_equal(q.nfree, 4);
}

static void hostile_used_elements_are_refused(void **state)
{
	uint16_t head;
	uint32_t len;

	(void)state;
	/* An id past the table. */
	vbhq_init(&q, 8, mem, RING_PA);
	add3(0x10000);
	vbhq_publish(&q);
	device_uses(8, 4097);
	assert_int_equal(vbhq_take_used(&q, &head, &len), VBHQ_BAD_ID);
	assert_int_equal(vbhq_take_used(&q, &head, &len), VBHQ_BAD_ID); /* not consumed: the device must be reset */
	assert_int_equal(q.nfree, 5);
	/* An id with high bits that would alias a head in 16 bits. */
	vbhq_init(&q, 8, mem, RING_PA);
	add3(0x10000);
	device_uses(0x10000, 1);
	assert_int_equal(vbhq_take_used(&q, &head, &len), VBHQ_BAD_ID);
	/* A descriptor inside a chain, and a free one: neither heads a chain in flight. */
	vbhq_init(&q, 8, mem, RING_PA);
	add3(0x10000);
	device_uses(1, 1);
	assert_int_equal(vbhq_take_used(&q, &head, &len), VBHQ_BAD_ID);
	vbhq_init(&q, 8, mem, RING_PA);
	add3(0x10000);
	device_uses(5, 1);
	assert_int_equal(vbhq_take_used(&q, &head, &len), VBHQ_BAD_ID);
	/* The same head used twice. */
	vbhq_init(&q, 8, mem, RING_PA);
	add3(0x10000);
	add3(0x20000);
	device_uses(0, 4097);
	device_uses(0, 4097);
	assert_int_equal(vbhq_take_used(&q, &head, &len), VBHQ_DONE);
	assert_int_equal(vbhq_take_used(&q, &head, &len), VBHQ_BAD_ID);
	assert_int_equal(q.nfree, 5); /* the second chain still held */
	/* A used index ahead of what is in flight. */
	vbhq_init(&q, 8, mem, RING_PA);
	add3(0x10000);
	put_le16((uint8_t *)(uintptr_t)q.used + VIRTQ_RING_IDX, 2);
	assert_int_equal(vbhq_take_used(&q, &head, &len), VBHQ_BAD_IDX);
	put_le16((uint8_t *)(uintptr_t)q.used + VIRTQ_RING_IDX, 0xffff); /* "behind": as far ahead modulo 2^16 */
	assert_int_equal(vbhq_take_used(&q, &head, &len), VBHQ_BAD_IDX);
	/* Nothing in flight at all. */
	vbhq_init(&q, 8, mem, RING_PA);
	device_uses(0, 1);
	assert_int_equal(vbhq_take_used(&q, &head, &len), VBHQ_BAD_IDX);
}

static void used_lengths_and_statuses(void **state)
{
	(void)state;
	assert_int_equal(vbhq_outcome(1, 4096, 4097, VIRTIO_BLK_S_OK), BLK_OK);
	assert_int_equal(vbhq_outcome(1, 4096, 4096, VIRTIO_BLK_S_OK), BLK_E_IO); /* the status byte not counted */
	assert_int_equal(vbhq_outcome(1, 4096, 0, VIRTIO_BLK_S_OK), BLK_E_IO);
	assert_int_equal(vbhq_outcome(1, 0xffffffffu, 0xffffffffu, VIRTIO_BLK_S_OK), BLK_E_IO); /* no overflow */
	assert_int_equal(vbhq_outcome(1, 4096, 0xffffffffu, VIRTIO_BLK_S_OK), BLK_OK); /* longer: harmless */
	assert_int_equal(vbhq_outcome(0, 4096, 1, VIRTIO_BLK_S_OK), BLK_OK); /* a write: the status alone */
	assert_int_equal(vbhq_outcome(0, 4096, 0, VIRTIO_BLK_S_OK), BLK_E_IO);
	assert_int_equal(vbhq_outcome(0, 0, 1, VIRTIO_BLK_S_IOERR), BLK_E_IO);
	assert_int_equal(vbhq_outcome(0, 0, 1, VIRTIO_BLK_S_UNSUPP), BLK_E_UNSUPP);
	assert_int_equal(vbhq_outcome(0, 0, 1, 0xff), BLK_E_IO); /* never written */
	assert_int_equal(vbhq_outcome(0, 0, 1, 3), BLK_E_IO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(version_1_is_required),
		cmocka_unit_test(only_the_features_used_are_taken),
		cmocka_unit_test(feature_names_stay_in_their_buffer),
		cmocka_unit_test(limits_from_the_configuration),
		cmocka_unit_test(a_request_crossing_pages_is_one_descriptor),
		cmocka_unit_test(seg_max_segments_in_one_command_then_the_rest),
		cmocka_unit_test(a_command_ends_on_a_block_boundary),
		cmocka_unit_test(size_max_cuts_a_segment),
		cmocka_unit_test(max_bytes_bounds_a_command),
		cmocka_unit_test(hostile_segments),
		cmocka_unit_test(random_requests_are_described_exactly),
		cmocka_unit_test(rings_fit_a_page_and_are_aligned),
		cmocka_unit_test(a_chain_as_the_device_reads_it),
		cmocka_unit_test(completions_in_any_order_free_their_descriptors),
		cmocka_unit_test(indices_wrap_at_65536),
		cmocka_unit_test(hostile_used_elements_are_refused),
		cmocka_unit_test(used_lengths_and_statuses),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
