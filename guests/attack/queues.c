/*
 * Attacks on the virtio transport and the block device's request formats
 * (virtio 1.2, 2.7 and 4.1, 5.2.6): a queue set up as the specification
 * forbids, indirect tables of bad lengths, event indices anywhere, and
 * requests whose segments are of the wrong number or length. Each is
 * refused, answered with an error status, or harmless, as the outcome
 * line tells.
 */
#include <stdint.h>

#include "attack.h"
#include "hypercall.h"
#include "vdev/virtio_spec.h"

static volatile uint8_t *common(unsigned off)
{
	return (volatile uint8_t *)(uintptr_t)(disk.common + off);
}

static uint16_t common_read16(unsigned off)
{
	return *(volatile uint16_t *)common(off);
}

static void set_status(uint8_t s)
{
	*common(VIRTIO_CC_STATUS) = s;
}

/* A notification of queue `queue`, `skew` bytes off its place (4.1.4.4: queue_notify_off 0 and multiplier 4 here). */
static void notify_at(unsigned queue, unsigned skew)
{
	*(volatile uint16_t *)(uintptr_t)(disk.notify + 4 * queue + skew) = 0;
}

/*
 * A queue enabled before the features are accepted and DRIVER_OK before
 * FEATURES_OK (both refused and logged); queue sizes that are not a power
 * of two, 0, or past the maximum (the size stays); a queue that does not
 * exist (reads 0, takes nothing); notifications of it and off their place
 * (ignored); a live queue's descriptor table moved (it stays). Then the
 * device works.
 */
static void queue_setup(void)
{
	uint16_t max, size3, size_big, size0, ghost_size, ghost_enable;
	uint64_t ghost_desc, live_desc;
	int enable_early, driver_ok_early;

	open_disk(0);
	set_status(0);
	set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	common_write16(&disk, VIRTIO_CC_QUEUE_SELECT, 0);
	common_write16(&disk, VIRTIO_CC_QUEUE_ENABLE, 1);
	enable_early = common_read16(VIRTIO_CC_QUEUE_ENABLE);
	set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	driver_ok_early = (vblk_status(&disk) & VIRTIO_STATUS_DRIVER_OK) != 0;
	*(volatile uint32_t *)common(VIRTIO_CC_DRIVER_FEATURE_SELECT) = 1;
	*(volatile uint32_t *)common(VIRTIO_CC_DRIVER_FEATURE) = (uint32_t)(VIRTIO_F_VERSION_1 >> 32);
	set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	max = common_read16(VIRTIO_CC_QUEUE_SIZE);
	common_write16(&disk, VIRTIO_CC_QUEUE_SIZE, 3);
	size3 = common_read16(VIRTIO_CC_QUEUE_SIZE);
	common_write16(&disk, VIRTIO_CC_QUEUE_SIZE, 0x8000);
	size_big = common_read16(VIRTIO_CC_QUEUE_SIZE);
	common_write16(&disk, VIRTIO_CC_QUEUE_SIZE, 0);
	size0 = common_read16(VIRTIO_CC_QUEUE_SIZE);
	common_write16(&disk, VIRTIO_CC_QUEUE_SELECT, 5);
	common_write64(&disk, VIRTIO_CC_QUEUE_DESC, 0x10000);
	common_write16(&disk, VIRTIO_CC_QUEUE_ENABLE, 1);
	ghost_size = common_read16(VIRTIO_CC_QUEUE_SIZE);
	ghost_enable = common_read16(VIRTIO_CC_QUEUE_ENABLE);
	ghost_desc = *(volatile uint64_t *)common(VIRTIO_CC_QUEUE_DESC);
	notify_at(5, 0);
	notify_at(0, 1);
	notify_at(0, 2);
	vblk_reinit(&disk);
	live_desc = *(volatile uint64_t *)common(VIRTIO_CC_QUEUE_DESC);
	common_write64(&disk, VIRTIO_CC_QUEUE_DESC, ram_end);
	outcome("enable_before_features=%d driver_ok_before_features=%d max=%u size3=%u size32768=%u size0=%u",
		enable_early, driver_ok_early, max, size3, size_big, size0);
	outcome("queue5_size=%u queue5_enable=%u queue5_desc=0x%llx live_desc_kept=%d works_after=%d", ghost_size,
		ghost_enable, (unsigned long long)ghost_desc,
		*(volatile uint64_t *)common(VIRTIO_CC_QUEUE_DESC) == live_desc,
		vblk_request(&disk, VIRTIO_BLK_T_IN, 0, (uint64_t)(uintptr_t)vblk_data, 512));
	hypercall_exit(0);
}

/* ---- indirect tables (2.7.5.3) */

static struct vq_desc table[4] __attribute__((aligned(16)));

/* A read of 512 bytes through an indirect table of `len` bytes at gpa (flags added to INDIRECT): its status or -1. */
static int indirect_request(uint64_t gpa, uint32_t len, uint16_t flags)
{
	*(uint32_t *)vblk_header = VIRTIO_BLK_T_IN;
	*(uint64_t *)(vblk_header + 8) = 0;
	vblk_status_byte[0] = 0xee;
	table[0] = (struct vq_desc){ (uint64_t)(uintptr_t)vblk_header, 16, VQ_F_NEXT, 1 };
	table[1] = (struct vq_desc){ (uint64_t)(uintptr_t)vblk_data, 512, VQ_F_NEXT | VQ_F_WRITE, 2 };
	table[2] = (struct vq_desc){ (uint64_t)(uintptr_t)vblk_status_byte, 1, VQ_F_WRITE, 0 };
	disk.desc[0] = (struct vq_desc){ gpa, len, (uint16_t)(VQ_F_INDIRECT | flags), 1 };
	vblk_submit(&disk, 0);
	return vblk_wait(&disk) ? vblk_status_byte[0] : -1;
}

/* Tables of 0 bytes, of a length no multiple of 16, chained on, past our RAM; and one the driver did not negotiate. */
static void indirect_lengths(void)
{
	uint64_t t = (uint64_t)(uintptr_t)table;
	int good, len0, len40, len8, chained, outside, not_negotiated;

	vblk_features = (uint32_t)VIRTIO_F_INDIRECT_DESC;
	open_disk(0);
	good = indirect_request(t, 48, 0);
	len0 = refused(indirect_request(t, 0, 0));
	len40 = refused(indirect_request(t, 40, 0));
	len8 = refused(indirect_request(t, 8, 0));
	chained = refused(indirect_request(t, 48, VQ_F_NEXT));
	outside = refused(indirect_request(ram_end - 16, 48, 0));
	vblk_features = 0;
	vblk_reinit(&disk);
	not_negotiated = refused(indirect_request(t, 48, 0));
	outcome("good=%d len0_refused=%d len40_refused=%d len8_refused=%d with_next_refused=%d outside_ram_refused=%d "
		"not_negotiated_refused=%d", good, len0, len40, len8, chained, outside, not_negotiated);
	hypercall_exit(0);
}

/* ---- event indices (2.7.7, 2.7.10) */

#define EVENT_ROUNDS 200

/*
 * With VIRTIO_F_EVENT_IDX: the used_event index and the available ring's
 * flags set to garbage before each request. They only tell the device
 * when to interrupt; every request is answered, and the device's
 * avail_event follows the available index.
 */
static void event_idx_garbage(void)
{
	volatile uint16_t *used_event, *avail_event;
	unsigned i, answered = 0, ok = 0, tracked = 0;

	vblk_features = (uint32_t)VIRTIO_F_EVENT_IDX;
	open_disk(0);
	used_event = &disk.avail[2 + VQ_SIZE]; /* after the available ring's entries; avail_event after the used ring's */
	avail_event = &disk.used[2 + 4 * VQ_SIZE];
	for (i = 0; i < EVENT_ROUNDS; i++) {
		uint64_t r = random64();
		int status;
		disk.avail[0] = (uint16_t)r;
		*used_event = (uint16_t)(r >> 16);
		status = vblk_request(&disk, VIRTIO_BLK_T_IN, i % 8, (uint64_t)(uintptr_t)vblk_data, 512);
		answered += status >= 0;
		ok += status == VIRTIO_BLK_S_OK;
		tracked += *avail_event == disk.avail_idx;
	}
	outcome("rounds=%u answered=%u ok=%u avail_event_tracked=%u", EVENT_ROUNDS, answered, ok, tracked);
	hypercall_exit(0);
}

/* ---- request formats (5.2.6) */

static uint8_t range[16] __attribute__((aligned(16)));

/*
 * Descriptors 0..n-1 of d chained in the queue and submitted: the length
 * the device put in the used ring, or -1 if it answered nothing.
 */
static int64_t chain(const struct vq_desc *d, unsigned n)
{
	const volatile uint32_t *used = (const volatile uint32_t *)disk.used;
	unsigned i;

	for (i = 0; i < n; i++) {
		disk.desc[i] = d[i];
		disk.desc[i].flags = (uint16_t)(d[i].flags | (i + 1 < n ? VQ_F_NEXT : 0));
		disk.desc[i].next = (uint16_t)(i + 1);
	}
	vblk_submit(&disk, 0);
	if (!vblk_wait(&disk))
		return -1;
	return used[2 + 2 * ((disk.used_seen - 1u) % VQ_SIZE)];
}

static struct vq_desc header_desc(uint32_t type, uint64_t sector, uint32_t len)
{
	*(uint32_t *)vblk_header = type;
	*(uint32_t *)(vblk_header + 4) = 0;
	*(uint64_t *)(vblk_header + 8) = sector;
	return (struct vq_desc){ (uint64_t)(uintptr_t)vblk_header, len, 0, 0 };
}

static struct vq_desc status_desc(void)
{
	vblk_status_byte[0] = 0xee;
	return (struct vq_desc){ (uint64_t)(uintptr_t)vblk_status_byte, 1, VQ_F_WRITE, 0 };
}

/* The status of type with a one-range payload (sector, sectors, flags) of payload_len bytes. */
static int range_request(uint32_t type, uint64_t sector, uint32_t sectors, uint32_t flags, uint32_t payload_len)
{
	struct vq_desc d[3];

	d[0] = header_desc(type, 0, 16);
	*(uint64_t *)range = sector;
	*(uint32_t *)(range + 8) = sectors;
	*(uint32_t *)(range + 12) = flags;
	d[1] = (struct vq_desc){ (uint64_t)(uintptr_t)range, payload_len, 0, 0 };
	d[2] = status_desc();
	return chain(d, 3) < 0 ? -1 : vblk_status_byte[0];
}

/* A header of header_len bytes, data_len bytes of data (none if 0) with data_flags, a status byte: that byte. */
static int with_status(uint32_t type, uint32_t header_len, uint32_t data_len, uint16_t data_flags)
{
	struct vq_desc d[3];
	unsigned n = 0;

	d[n++] = header_desc(type, 0, header_len);
	if (data_len)
		d[n++] = (struct vq_desc){ (uint64_t)(uintptr_t)vblk_data, data_len, data_flags, 0 };
	d[n++] = status_desc();
	chain(d, n);
	return vblk_status_byte[0];
}

/*
 * FLUSH with data and with a two-byte status; a header of 8 bytes; GET_ID
 * with a header of 32 bytes, with no room for the ID and with room;
 * a request with no device-writable byte at all; DISCARD and
 * WRITE_ZEROES with a payload of 8 bytes, with reserved flags, past the
 * disk's end. A status byte, where there is one, says what each got.
 */
static void blk_segments(void)
{
	uint64_t features;
	struct vq_desc d[2];
	int flush_status2, no_status_len, ranges[4];

	open_disk(0);
	*(volatile uint32_t *)common(VIRTIO_CC_DEVICE_FEATURE_SELECT) = 0;
	features = *(volatile uint32_t *)common(VIRTIO_CC_DEVICE_FEATURE);
	vblk_data[0] = vblk_data[1] = 0xee;
	d[0] = header_desc(VIRTIO_BLK_T_FLUSH, 0, 16);
	d[1] = (struct vq_desc){ (uint64_t)(uintptr_t)vblk_data, 2, VQ_F_WRITE, 0 };
	chain(d, 2);
	flush_status2 = vblk_data[1]; /* the status is the last byte (5.2.6) */
	d[0] = header_desc(VIRTIO_BLK_T_IN, 0, 16);
	d[1] = (struct vq_desc){ (uint64_t)(uintptr_t)vblk_data, 512, 0, 0 };
	no_status_len = (int)chain(d, 2);
	outcome("discard=%d write_zeroes=%d flush_with_data=%d flush_status2=%d header8=%d get_id_header32=%d "
		"get_id_no_room=%d get_id=%d", !!(features & VIRTIO_BLK_F_DISCARD),
		!!(features & VIRTIO_BLK_F_WRITE_ZEROES), with_status(VIRTIO_BLK_T_FLUSH, 16, 512, 0), flush_status2,
		with_status(VIRTIO_BLK_T_IN, 8, 512, VQ_F_WRITE), with_status(VIRTIO_BLK_T_GET_ID, 32, 0, 0),
		with_status(VIRTIO_BLK_T_GET_ID, 16, 0, 0), with_status(VIRTIO_BLK_T_GET_ID, 16, 64, VQ_F_WRITE));
	ranges[0] = range_request(VIRTIO_BLK_T_DISCARD, 0, 1, 0, 8);
	ranges[1] = range_request(VIRTIO_BLK_T_DISCARD, 0, 1, 1, 16);
	ranges[2] = range_request(VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 0xfffffffeu, 16);
	ranges[3] = range_request(VIRTIO_BLK_T_WRITE_ZEROES, disk.capacity, 1, 0, 16);
	outcome("no_status_used_len=%d discard_payload8=%d discard_unmap=%d write_zeroes_reserved_flags=%d "
		"write_zeroes_past_end=%d works_after=%d", no_status_len, ranges[0], ranges[1], ranges[2], ranges[3],
		vblk_request(&disk, VIRTIO_BLK_T_IN, 0, (uint64_t)(uintptr_t)vblk_data, 512));
	hypercall_exit(0);
}

const struct attack queue_attacks[] = {
	{ "queue-setup", queue_setup },
	{ "indirect-lengths", indirect_lengths },
	{ "event-idx", event_idx_garbage },
	{ "blk-segments", blk_segments },
	{ 0, 0 },
};
