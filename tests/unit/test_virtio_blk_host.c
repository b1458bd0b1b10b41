/*
 * The virtio-blk host driver against a fake device: PCI capabilities in a
 * configuration-space buffer, the common and device configuration in a
 * BAR buffer, the split ring and data in host memory, requests run
 * against a RAM disk on a simulated clock. Bring-up, data written and read
 * back through commands SEG_MAX splits, Flush, a queue deeper than its
 * descriptors, and a device gone wrong: an error status, a used length
 * short of a read, a used element naming no request, DEVICE_NEEDS_RESET
 * and a hang each fail (or time out) what the device held, the device is
 * reset and works again; a device that cannot be brought up again fails
 * what follows.
 *
 * The fake's registers are plain memory: writing a select register changes
 * nothing the driver reads back, so the device-feature dword reads the same
 * for both halves (bits 0-31 and 32-63). Its value is chosen so that both
 * halves mean what the test wants (VERSION_1 is bit 0 of the upper half).
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
#include "pci_host.h"
#include "vdev/virtio_spec.h"
#include "vdev/virtqueue.h"
#include "virtio_blk_host.h"

#define SECTORS 2048u
#define QUEUE_MAX 16
#define SEG_MAX 4
/* Bit 0 (VERSION_1 above), SEG_MAX, BLK_SIZE, FLUSH; the upper half's bits 34, 38 and 41 are left. */
#define FEATURE_DWORD (1u << 0 | 1u << 2 | 1u << 6 | 1u << 9)

/* ---- PCI: configuration space with the four virtio capabilities, BAR 0 ---- */

static uint8_t cfg[256];
static uint8_t bar0[0x4000] __attribute__((aligned(PAGE)));
struct fake_pci fake_pci = { .dev = { .bus = 0, .dev = 4, .vendor = 0x1af4, .device = 0x1042, .class_code = 1,
				      .bar = { { 0xfe000000, sizeof(bar0), 0, 1, 0 } } },
			     .bar = 0, .regs = bar0 };

unsigned hpci_count(void)
{
	return 1;
}

struct hpci_dev *hpci_get(unsigned index)
{
	return index == 0 ? &fake_pci.dev : 0;
}

uint8_t hpci_read8(const struct hpci_dev *d, uint16_t off)
{
	assert_ptr_equal(d, &fake_pci.dev);
	return off < sizeof(cfg) ? cfg[off] : 0xff;
}

uint32_t hpci_read32(const struct hpci_dev *d, uint16_t off)
{
	assert_ptr_equal(d, &fake_pci.dev);
	return off + 4 <= (int)sizeof(cfg) ? le32(cfg + off) : ~0u;
}

uint8_t hpci_next_cap(const struct hpci_dev *d, uint8_t cap_id, uint8_t after)
{
	uint8_t at = cfg[after ? after + 1 : HPCI_CFG_CAP_PTR];

	assert_ptr_equal(d, &fake_pci.dev);
	for (; at; at = cfg[at + 1])
		if (cfg[at] == cap_id)
			return at;
	return 0;
}

static void add_cap(uint8_t at, uint8_t next, uint8_t type, uint32_t offset, uint32_t len)
{
	cfg[at] = VIRTIO_PCI_CAP_VENDOR;
	cfg[at + 1] = next;
	cfg[at + VIRTIO_PCI_CAP_CAP_LEN] = type == VIRTIO_PCI_CAP_NOTIFY ? VIRTIO_PCI_CAP_NOTIFY_LEN : VIRTIO_PCI_CAP_LEN;
	cfg[at + VIRTIO_PCI_CAP_CFG_TYPE] = type;
	cfg[at + VIRTIO_PCI_CAP_BAR] = 0;
	put_le32(cfg + at + VIRTIO_PCI_CAP_OFFSET, offset);
	put_le32(cfg + at + VIRTIO_PCI_CAP_LENGTH, len);
	if (type == VIRTIO_PCI_CAP_NOTIFY)
		put_le32(cfg + at + VIRTIO_PCI_CAP_MULTIPLIER, 4);
}

/* ---- the fake device ---- */

#define COMMON 0x0000
#define DEVICE_CFG 0x2000
#define NOTIFY 0x3000

static struct {
	uint8_t disk[SECTORS * 512];
	uint16_t last_avail, used_idx; /* the device's own indices, which a reset clears */
	int hang;          /* requests are not taken */
	int unusable;      /* its queue's notification offset lies outside its notify structure */
	int needs_reset;   /* the next step sets DEVICE_NEEDS_RESET */
	int bad_id;        /* the next request comes back under an id no chain has */
	int short_len;     /* the next request's used length is 0 */
	int fail_next;     /* the next request ends with VIRTIO_BLK_S_IOERR */
	int leftover;      /* running as the firmware left it, its queue anywhere, until its reset */
	unsigned resets, requests, flushes, most_data_descs;
} dev;

static uint8_t status_reg(void)
{
	return bar0[COMMON + VIRTIO_CC_STATUS];
}

static uint8_t *at_pa(uint64_t pa)
{
	return (uint8_t *)(uintptr_t)pa;
}

static void push_used(uint8_t *used, uint16_t size, uint32_t id, uint32_t len)
{
	uint16_t idx = dev.used_idx++;

	put_le32(used + VIRTQ_RING_ENTRIES + VIRTQ_USED_ELEM_SIZE * (idx % size), id);
	put_le32(used + VIRTQ_RING_ENTRIES + VIRTQ_USED_ELEM_SIZE * (idx % size) + 4, len);
	put_le16(used + VIRTQ_RING_IDX, (uint16_t)(idx + 1));
}

/* One chain: header, data, status (5.2.6); the bytes written into it. */
static uint32_t run_chain(uint8_t *desc, uint16_t head)
{
	uint8_t *d = desc + VIRTQ_DESC_SIZE * head, *hdr = at_pa(le64(d));
	uint32_t type = le32(hdr), written = 0, ndata = 0;
	uint64_t at = le64(hdr + 8) * 512;
	uint8_t status = VIRTIO_BLK_S_OK;

	assert_int_equal(le32(d + VIRTQ_DESC_LEN), VIRTIO_BLK_HEADER_SIZE);
	assert_int_equal(le16(d + VIRTQ_DESC_FLAGS), VIRTQ_DESC_F_NEXT);
	for (d = desc + VIRTQ_DESC_SIZE * le16(d + VIRTQ_DESC_NEXT); le16(d + VIRTQ_DESC_FLAGS) & VIRTQ_DESC_F_NEXT;
	     d = desc + VIRTQ_DESC_SIZE * le16(d + VIRTQ_DESC_NEXT)) {
		uint32_t len = le32(d + VIRTQ_DESC_LEN);
		int write = (le16(d + VIRTQ_DESC_FLAGS) & VIRTQ_DESC_F_WRITE) != 0;

		assert_int_equal(write, type == VIRTIO_BLK_T_IN);
		assert_true(at + len <= sizeof(dev.disk));
		if (write)
			memcpy(at_pa(le64(d)), dev.disk + at, len);
		else
			memcpy(dev.disk + at, at_pa(le64(d)), len);
		written += write ? len : 0;
		at += len;
		ndata++;
	}
	assert_int_equal(le32(d + VIRTQ_DESC_LEN), 1);
	assert_int_equal(le16(d + VIRTQ_DESC_FLAGS), VIRTQ_DESC_F_WRITE);
	assert_true(ndata <= SEG_MAX);
	if (ndata > dev.most_data_descs)
		dev.most_data_descs = ndata;
	dev.flushes += type == VIRTIO_BLK_T_FLUSH;
	if (dev.fail_next) {
		dev.fail_next = 0;
		status = VIRTIO_BLK_S_IOERR;
	}
	*at_pa(le64(d)) = status;
	return written + 1;
}

static void run_queue(void)
{
	uint16_t size = le16(bar0 + COMMON + VIRTIO_CC_QUEUE_SIZE);
	uint8_t *desc = at_pa(le64(bar0 + COMMON + VIRTIO_CC_QUEUE_DESC));
	uint8_t *avail = at_pa(le64(bar0 + COMMON + VIRTIO_CC_QUEUE_DRIVER));
	uint8_t *used = at_pa(le64(bar0 + COMMON + VIRTIO_CC_QUEUE_DEVICE));

	while (dev.last_avail != le16(avail + VIRTQ_RING_IDX)) {
		uint16_t head = le16(avail + VIRTQ_RING_ENTRIES + 2 * (dev.last_avail++ % size));
		uint32_t len = run_chain(desc, head);

		dev.requests++;
		if (dev.bad_id) {
			dev.bad_id = 0;
			head = (uint16_t)(head + 1); /* the header's successor: inside the chain, no head */
		}
		if (dev.short_len) {
			dev.short_len = 0;
			len = 0;
		}
		push_used(used, size, head, len);
	}
}

/*
 * A reset clears the device's indices. The fake sees no register write, so
 * it learns of a reset from the status reading 0 or, when the driver
 * brought the device up again between two steps, from the used index the
 * driver zeroed with the rest of the rings.
 */
static void notice_reset(uint8_t status)
{
	const uint8_t *used = at_pa(le64(bar0 + COMMON + VIRTIO_CC_QUEUE_DEVICE));

	if (status != 0 && (!used || le16(used + VIRTQ_RING_IDX) == dev.used_idx))
		return;
	if (dev.last_avail || dev.used_idx || status == 0)
		dev.resets++;
	dev.last_avail = dev.used_idx = 0;
	dev.leftover = 0;
}

void device_step(void)
{
	uint8_t status = status_reg();

	notice_reset(status);
	assert_false(dev.leftover && fake_pci.command & HPCI_CMD_MASTER); /* its DMA would land in reused memory */
	if (dev.unusable)
		put_le16(bar0 + COMMON + VIRTIO_CC_QUEUE_NOTIFY_OFF, 0xffff);
	if (!(status & VIRTIO_STATUS_DRIVER_OK) || (status & VIRTIO_STATUS_NEEDS_RESET) || dev.hang)
		return;
	if (dev.needs_reset) {
		dev.needs_reset = 0;
		bar0[COMMON + VIRTIO_CC_STATUS] |= VIRTIO_STATUS_NEEDS_RESET;
		return;
	}
	if (le16(bar0 + COMMON + VIRTIO_CC_QUEUE_ENABLE))
		run_queue();
}

/* ---- requests ---- */

static void read_one(uint64_t lba, enum blk_status want)
{
	static uint8_t buf[512];
	static struct blk_req r;
	struct done_log log;

	request(&r, &log, BLK_READ, lba, 1);
	add_seg(&r, buf, sizeof(buf));
	assert_int_equal(disk->ops->submit(disk, &r), 0);
	run_until_done(&log);
	assert_int_equal(log.status, want);
	if (want == BLK_OK)
		assert_memory_equal(buf, dev.disk + lba * 512, 512);
}

static int setup(void **state)
{
	unsigned i;

	(void)state;
	cfg[HPCI_CFG_CAP_PTR] = 0x40;
	add_cap(0x40, 0x54, VIRTIO_PCI_CAP_COMMON, COMMON, VIRTIO_CC_SIZE);
	add_cap(0x54, 0x70, VIRTIO_PCI_CAP_NOTIFY, NOTIFY, 4);
	add_cap(0x70, 0x80, VIRTIO_PCI_CAP_ISR, 0x1000, 1);
	add_cap(0x80, 0, VIRTIO_PCI_CAP_DEVICE, DEVICE_CFG, 0x3c);
	put_le32(bar0 + COMMON + VIRTIO_CC_DEVICE_FEATURE, FEATURE_DWORD);
	put_le16(bar0 + COMMON + VIRTIO_CC_QUEUE_SIZE, QUEUE_MAX);
	put_le64(bar0 + DEVICE_CFG + VIRTIO_BLK_CFG_CAPACITY, SECTORS);
	put_le32(bar0 + DEVICE_CFG + VIRTIO_BLK_CFG_SEG_MAX, SEG_MAX);
	put_le32(bar0 + DEVICE_CFG + VIRTIO_BLK_CFG_BLK_SIZE, 512);
	for (i = 0; i < sizeof(dev.disk); i++)
		dev.disk[i] = (uint8_t)(i * 7 + i / 512);
	bar0[COMMON + VIRTIO_CC_STATUS] = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK;
	dev.leftover = 1;
	virtio_blk_host_init();
	return 0;
}

static void device_is_brought_up_and_registered(void **state)
{
	uint8_t want = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		       VIRTIO_STATUS_DRIVER_OK;

	(void)state;
	assert_int_equal(blk_count(), 1);
	disk = blk_get(0);
	assert_string_equal(disk->name, "vblk0");
	assert_int_equal(disk->blocks, SECTORS);
	assert_int_equal(disk->block_size, 512);
	assert_int_equal(disk->queue_depth, QUEUE_MAX);
	assert_true(disk->write_cache);
	assert_int_equal(disk->irq, BLK_POLLED); /* the fake has no MSI-X */
	assert_false(disk->read_only);
	assert_int_equal(status_reg(), want);
	assert_int_equal(le16(bar0 + COMMON + VIRTIO_CC_QUEUE_ENABLE), 1);
	/* The last driver-feature write is the upper half: VERSION_1, nothing else of it. */
	assert_int_equal(le32(bar0 + COMMON + VIRTIO_CC_DRIVER_FEATURE), 1);
	assert_int_equal(fake_pci.command, HPCI_CMD_MEM | HPCI_CMD_MASTER | HPCI_CMD_INTX_OFF);
}

static void data_round_trips_through_split_commands(void **state)
{
	uint8_t *buf = aligned_alloc(PAGE, 16 * PAGE), *back = aligned_alloc(PAGE, 16 * PAGE);
	static struct blk_req r;
	struct done_log log;
	unsigned i;

	(void)state;
	for (i = 0; i < 16 * PAGE; i++)
		buf[i] = (uint8_t)(i * 13 + 5);
	/* 64 KiB in 16 segments, each crossing a page: SEG_MAX 4 makes it four commands. */
	request(&r, &log, BLK_WRITE, 100, 128);
	for (i = 0; i < 16; i++)
		add_seg(&r, buf + i * PAGE, PAGE);
	assert_int_equal(disk->ops->submit(disk, &r), 0);
	run_until_done(&log);
	assert_int_equal(log.status, BLK_OK);
	assert_memory_equal(dev.disk + 100 * 512, buf, 16 * PAGE);
	assert_int_equal(dev.most_data_descs, SEG_MAX);
	/* Back in 512-byte pieces and one large one. */
	memset(back, 0, 16 * PAGE);
	request(&r, &log, BLK_READ, 100, 128);
	for (i = 0; i < 8; i++)
		add_seg(&r, back + i * 512, 512);
	add_seg(&r, back + 4096, 15 * PAGE);
	assert_int_equal(disk->ops->submit(disk, &r), 0);
	run_until_done(&log);
	assert_int_equal(log.status, BLK_OK);
	assert_memory_equal(back, buf, 16 * PAGE);
	free(buf);
	free(back);
}

static void flush_reaches_the_device(void **state)
{
	static struct blk_req r;
	struct done_log log;
	unsigned flushes = dev.flushes;

	(void)state;
	request(&r, &log, BLK_FLUSH, 0, 0);
	assert_int_equal(disk->ops->submit(disk, &r), 0);
	run_until_done(&log);
	assert_int_equal(log.status, BLK_OK);
	assert_int_equal(dev.flushes, flushes + 1);
}

static void a_queue_deeper_than_its_descriptors(void **state)
{
	static uint8_t buf[QUEUE_MAX + 1][512];
	static struct blk_req r[QUEUE_MAX + 1];
	struct done_log log[QUEUE_MAX + 1];
	unsigned i;

	(void)state;
	/* 16 requests of three descriptors each on 16 descriptors: five at a time, the rest waiting. */
	for (i = 0; i < QUEUE_MAX + 1; i++) {
		request(&r[i], &log[i], BLK_READ, i, 1);
		add_seg(&r[i], buf[i], 512);
		assert_int_equal(disk->ops->submit(disk, &r[i]), i < QUEUE_MAX ? 0 : -1);
	}
	for (i = 0; i < QUEUE_MAX; i++) {
		run_until_done(&log[i]);
		assert_int_equal(log[i].status, BLK_OK);
		assert_memory_equal(buf[i], dev.disk + i * 512, 512);
	}
	assert_int_equal(log[QUEUE_MAX].calls, 0);
}

static void bad_requests_complete_from_poll(void **state)
{
	static uint8_t buf[512];
	static struct blk_req r;
	struct done_log log;
	unsigned requests = dev.requests;

	(void)state;
	request(&r, &log, BLK_READ, SECTORS, 1); /* one past the end */
	add_seg(&r, buf, 512);
	assert_int_equal(disk->ops->submit(disk, &r), 0);
	assert_int_equal(log.calls, 0);
	run_until_done(&log);
	assert_int_equal(log.status, BLK_E_RANGE);
	request(&r, &log, BLK_READ, 0, 2); /* segments short of the blocks */
	add_seg(&r, buf, 512);
	assert_int_equal(disk->ops->submit(disk, &r), 0);
	run_until_done(&log);
	assert_int_equal(log.status, BLK_E_IO);
	assert_int_equal(dev.requests, requests);
}

static void device_errors_fail_the_request(void **state)
{
	unsigned resets = dev.resets;

	(void)state;
	dev.fail_next = 1;
	read_one(3, BLK_E_IO);
	dev.short_len = 1; /* a read whose data the device says it did not write */
	read_one(3, BLK_E_IO);
	assert_int_equal(dev.resets, resets); /* neither is a reason to reset */
	read_one(3, BLK_OK);
}

static void a_used_element_naming_no_request_resets_the_device(void **state)
{
	unsigned resets = dev.resets;

	(void)state;
	dev.bad_id = 1;
	read_one(5, BLK_E_IO);
	read_one(5, BLK_OK); /* brought up again */
	assert_true(dev.resets > resets);
}

static void needs_reset_fails_what_the_device_held(void **state)
{
	unsigned resets = dev.resets;

	(void)state;
	dev.needs_reset = 1;
	read_one(6, BLK_E_IO);
	read_one(6, BLK_OK);
	assert_true(dev.resets > resets);
}

static void a_hang_times_out_the_late_and_reissues_the_others(void **state)
{
	static uint8_t buf[2][512];
	static struct blk_req r[2];
	struct done_log log[2];
	unsigned resets = dev.resets, i;

	(void)state;
	dev.hang = 1;
	for (i = 0; i < 2; i++) {
		request(&r[i], &log[i], BLK_READ, 7 + i, 1);
		add_seg(&r[i], buf[i], 512);
		r[i].deadline = now + (i == 0 ? 100 : 3000) * MS;
		assert_int_equal(disk->ops->submit(disk, &r[i]), 0);
	}
	now += 200 * MS;
	dev.hang = 0;
	disk->ops->poll(disk);
	assert_int_equal(log[0].calls, 1);
	assert_int_equal(log[0].status, BLK_E_TIMEOUT);
	run_until_done(&log[1]);
	assert_int_equal(log[1].status, BLK_OK);
	assert_true(dev.resets > resets);
	assert_true(fake_pci.command & HPCI_CMD_MASTER); /* a device that came back keeps it */
	assert_memory_equal(buf[1], dev.disk + 8 * 512, 512);
}

static void a_device_that_comes_back_unusable_fails_requests(void **state)
{
	static uint8_t buf[512];
	static struct blk_req r;
	struct done_log log;

	(void)state;
	dev.hang = 1;
	dev.unusable = 1;
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
	read_one(0, BLK_E_IO);
}

int main(void)
{
	/* In order: they share the one device virtio_blk_host_init found. */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(device_is_brought_up_and_registered),
		cmocka_unit_test(data_round_trips_through_split_commands),
		cmocka_unit_test(flush_reaches_the_device),
		cmocka_unit_test(a_queue_deeper_than_its_descriptors),
		cmocka_unit_test(bad_requests_complete_from_poll),
		cmocka_unit_test(device_errors_fail_the_request),
		cmocka_unit_test(a_used_element_naming_no_request_resets_the_device),
		cmocka_unit_test(needs_reset_fails_what_the_device_held),
		cmocka_unit_test(a_hang_times_out_the_late_and_reissues_the_others),
		cmocka_unit_test(a_device_that_comes_back_unusable_fails_requests),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
