/*
 * virtio-blk (hv/vdev/virtio_blk.c) against virtio 1.2, 5.2: the request
 * parser with hostile chains (short or split headers, wrong directions,
 * ranges past the disk's end and overflowing, odd lengths, too many
 * segments, no status byte, unknown types, read-only disks, discard and
 * write-zeroes offered or not); then the device behind the transport with
 * a fake block layer: requests in flight completed out of order, host
 * errors, completions after a reset, a pool that runs dry, a chain the
 * walker refuses, and the partition's glue.
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
#include "lib/le.h"
#include "mm.h"
#include "fake_pci_guest.h"
#include "partition.h"
#include "vdev/irq.h"
#include "vdev/platform.h"
#include "vdev/virtio_blk.h"

/* RAM as partition.c gives devices it, without its zeroing on first touch (tests/unit/test_space.c has that). */
struct vq_ram partition_vq_ram(struct partition *p)
{
	return (struct vq_ram){ mm_ptr(p->ram_pa), p->ram_pa, p->ram_size, 0, 0 };
}

#define RAM (1u << 20)
#define RAM_PA 0x40000000ull
#define SECTORS 1000
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define HDR 0x8000  /* headers, 32 bytes apart */
#define STATUS 0xa000 /* status bytes */
#define DATA 0x10000
#define BAR0 0xc0000000ull
#define BAR0_SECOND 0xc0008000ull /* the second disk's: after the first's BAR0 and MSI-X BAR, aligned */
#define GSI (16 + (PLATFORM_PCI_SLOT_DISKS + 0) % 8)
#define SUBMITTED_MAX (VBLK_QUEUE_SIZE + 8)

static uint8_t *ram;
static struct vblk_disk disk = { .sectors = SECTORS };
static struct vblk_request rq;
static struct vq_buf buf[VBLK_SEG_MAX + 4];

static struct cfg_partition cfg = { .name = "t" };
static struct blk_dev host = { .name = "ram0", .block_size = 512 };
static struct blk_req *submitted[SUBMITTED_MAX];
static struct vdisk vdisks[2];
static unsigned nsubmitted, pages_out, messages, allocs_left;
static int complete_at_once = -1; /* a status vdisk_submit() completes with at once, or -1 */

/* ---- what the device calls outside itself */

int irq_deliver(struct partition *p, const struct irq_msg *m)
{
	(void)p;
	(void)m;
	messages++;
	return 0;
}

uint64_t arch_tsc(void)
{
	return 0; /* the notifications' tick count is not under test here */
}

void vdisk_submit(struct vdisk *vd, struct blk_req *r)
{
	(void)vd;
	assert_true(nsubmitted < SUBMITTED_MAX);
	submitted[nsubmitted++] = r;
	if (complete_at_once >= 0)
		r->done(r, (enum blk_status)complete_at_once);
}

uint64_t mm_alloc(uint64_t pages)
{
	if (allocs_left-- == 0)
		return 0;
	pages_out += (unsigned)pages;
	return (uint64_t)(uintptr_t)aligned_alloc(4096, pages * 4096);
}

void mm_free(uint64_t pa, uint64_t pages)
{
	pages_out -= (unsigned)pages;
	free((void *)(uintptr_t)pa);
}

/* ---- the parser */

static int setup_ram(void **state)
{
	(void)state;
	ram = aligned_alloc(4096, RAM);
	memset(ram, 0, RAM);
	return 0;
}

static int teardown_ram(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static void header_at(uint64_t at, uint32_t type, uint64_t sector)
{
	put_le32(ram + at, type);
	put_le32(ram + at + 4, 0);
	put_le64(ram + at + 8, sector);
}

static struct vq_buf rd(uint64_t offset, uint32_t len)
{
	return (struct vq_buf){ .offset = offset, .len = len };
}

static struct vq_buf wr(uint64_t offset, uint32_t len)
{
	return (struct vq_buf){ .offset = offset, .len = len, .write = 1 };
}

static enum vblk_verdict parse3(uint32_t type, uint64_t sector, struct vq_buf data)
{
	header_at(HDR, type, sector);
	buf[0] = rd(HDR, 16);
	buf[1] = data;
	buf[2] = wr(STATUS, 1);
	return vblk_parse(ram, buf, 3, &disk, &rq);
}

static void a_read_gives_its_sectors_and_segments(void **state)
{
	(void)state;
	assert_int_equal(parse3(VIRTIO_BLK_T_IN, 8, wr(DATA, 4096)), VBLK_SUBMIT);
	assert_int_equal(rq.op, BLK_READ);
	assert_int_equal(rq.sector, 8);
	assert_int_equal(rq.blocks, 8);
	assert_int_equal(rq.nseg, 1);
	assert_int_equal(rq.seg[0].offset, DATA);
	assert_int_equal(rq.seg[0].len, 4096);
	assert_int_equal(rq.status_at, STATUS);
	assert_int_equal(rq.written, 4097);
	assert_int_equal(parse3(VIRTIO_BLK_T_OUT, SECTORS - 1, rd(DATA, 512)), VBLK_SUBMIT); /* the last sector */
	assert_int_equal(rq.op, BLK_WRITE);
	assert_int_equal(rq.written, 1);
}

static void any_layout_header_data_and_status_share_buffers(void **state)
{
	(void)state;
	header_at(HDR, VIRTIO_BLK_T_IN, 3);
	buf[0] = rd(HDR, 8); /* the header in two pieces */
	buf[1] = rd(HDR + 8, 8);
	buf[2] = wr(DATA, 1024 + 1); /* data and status in one buffer */
	assert_int_equal(vblk_parse(ram, buf, 3, &disk, &rq), VBLK_SUBMIT);
	assert_int_equal(rq.sector, 3);
	assert_int_equal(rq.blocks, 2);
	assert_int_equal(rq.nseg, 1);
	assert_int_equal(rq.seg[0].len, 1024);
	assert_int_equal(rq.status_at, DATA + 1024);
	header_at(HDR, VIRTIO_BLK_T_OUT, 4);
	buf[0] = rd(HDR, 16 + 512); /* header and data in one buffer */
	buf[1] = wr(STATUS, 1);
	assert_int_equal(vblk_parse(ram, buf, 2, &disk, &rq), VBLK_SUBMIT);
	assert_int_equal(rq.seg[0].offset, HDR + 16);
	assert_int_equal(rq.seg[0].len, 512);
}

static void ranges_past_the_end_are_io_errors_without_overflow(void **state)
{
	(void)state;
	assert_int_equal(parse3(VIRTIO_BLK_T_IN, SECTORS, wr(DATA, 512)), VBLK_COMPLETE);
	assert_int_equal(rq.status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(parse3(VIRTIO_BLK_T_IN, SECTORS - 1, wr(DATA, 1024)), VBLK_COMPLETE);
	assert_int_equal(rq.status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(parse3(VIRTIO_BLK_T_OUT, 0xffffffffffffffffull, rd(DATA, 512)), VBLK_COMPLETE);
	assert_int_equal(rq.status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(parse3(VIRTIO_BLK_T_OUT, 0xfffffffffffffff8ull, rd(DATA, 4096)), VBLK_COMPLETE);
	assert_int_equal(rq.status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(parse3(VIRTIO_BLK_T_IN, SECTORS, wr(DATA, 0)), VBLK_COMPLETE); /* nothing to move: fine */
	assert_int_equal(rq.status, VIRTIO_BLK_S_OK);
}

static void odd_lengths_and_wrong_directions_are_io_errors(void **state)
{
	(void)state;
	assert_int_equal(parse3(VIRTIO_BLK_T_IN, 0, wr(DATA, 513)), VBLK_COMPLETE);
	assert_int_equal(rq.status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(parse3(VIRTIO_BLK_T_IN, 0, rd(DATA, 512)), VBLK_COMPLETE); /* data the device would read */
	assert_int_equal(rq.status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(parse3(VIRTIO_BLK_T_OUT, 0, wr(DATA, 512)), VBLK_COMPLETE);
	assert_int_equal(rq.status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(parse3(VIRTIO_BLK_T_FLUSH, 0, rd(DATA, 512)), VBLK_COMPLETE);
	assert_int_equal(rq.status, VIRTIO_BLK_S_IOERR);
	header_at(HDR, VIRTIO_BLK_T_IN, 0); /* a header short of 16 bytes */
	buf[0] = rd(HDR, 15);
	buf[1] = wr(STATUS, 1);
	assert_int_equal(vblk_parse(ram, buf, 2, &disk, &rq), VBLK_COMPLETE);
	assert_int_equal(rq.status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(rq.status_at, STATUS);
}

static void no_writable_byte_means_no_status(void **state)
{
	(void)state;
	header_at(HDR, VIRTIO_BLK_T_OUT, 0);
	buf[0] = rd(HDR, 16);
	buf[1] = rd(DATA, 512);
	assert_int_equal(vblk_parse(ram, buf, 2, &disk, &rq), VBLK_NO_STATUS);
	assert_int_equal(vblk_parse(ram, buf, 0, &disk, &rq), VBLK_NO_STATUS);
}

static void too_many_segments_are_an_io_error(void **state)
{
	unsigned i;

	(void)state;
	header_at(HDR, VIRTIO_BLK_T_IN, 0);
	buf[0] = rd(HDR, 16);
	for (i = 0; i <= VBLK_SEG_MAX; i++)
		buf[1 + i] = wr(DATA + 512 * i, 512);
	buf[VBLK_SEG_MAX + 2] = wr(STATUS, 1);
	assert_int_equal(vblk_parse(ram, buf, VBLK_SEG_MAX + 3, &disk, &rq), VBLK_COMPLETE);
	assert_int_equal(rq.status, VIRTIO_BLK_S_IOERR);
	buf[VBLK_SEG_MAX + 1] = wr(STATUS, 1); /* exactly SEG_MAX */
	assert_int_equal(vblk_parse(ram, buf, VBLK_SEG_MAX + 2, &disk, &rq), VBLK_SUBMIT);
	assert_int_equal(rq.nseg, VBLK_SEG_MAX);
}

static void read_only_disks_refuse_writes_and_unknown_types_are_unsupported(void **state)
{
	struct vblk_disk ro = disk;

	(void)state;
	ro.read_only = 1;
	header_at(HDR, VIRTIO_BLK_T_OUT, 0);
	buf[0] = rd(HDR, 16);
	buf[1] = rd(DATA, 512);
	buf[2] = wr(STATUS, 1);
	assert_int_equal(vblk_parse(ram, buf, 3, &ro, &rq), VBLK_COMPLETE);
	assert_int_equal(rq.status, VIRTIO_BLK_S_IOERR);
	buf[1] = wr(DATA, 512);
	header_at(HDR, VIRTIO_BLK_T_IN, 0);
	assert_int_equal(vblk_parse(ram, buf, 3, &ro, &rq), VBLK_SUBMIT); /* reads are fine */
	assert_int_equal(parse3(99, 0, wr(DATA, 512)), VBLK_COMPLETE);
	assert_int_equal(rq.status, VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(parse3(10, 0, wr(DATA, 512)), VBLK_COMPLETE); /* GET_LIFETIME: not offered */
	assert_int_equal(rq.status, VIRTIO_BLK_S_UNSUPP);
}

static void flush_and_get_id(void **state)
{
	(void)state;
	header_at(HDR, VIRTIO_BLK_T_FLUSH, 0);
	buf[0] = rd(HDR, 16);
	buf[1] = wr(STATUS, 1);
	assert_int_equal(vblk_parse(ram, buf, 2, &disk, &rq), VBLK_SUBMIT);
	assert_int_equal(rq.op, BLK_FLUSH);
	assert_int_equal(parse3(VIRTIO_BLK_T_GET_ID, 0, wr(DATA, 20)), VBLK_COMPLETE);
	assert_int_equal(rq.status, VIRTIO_BLK_S_OK);
	assert_int_equal(rq.nseg, 1);
	assert_int_equal(rq.seg[0].len, 20);
	assert_int_equal(parse3(VIRTIO_BLK_T_GET_ID, 0, wr(DATA, 4)), VBLK_COMPLETE); /* what fits */
	assert_int_equal(rq.seg[0].len, 4);
}

static enum vblk_verdict range(uint32_t type, const struct vblk_disk *d, uint64_t sector, uint32_t count,
			       uint32_t flags)
{
	header_at(HDR, type, 0);
	put_le64(ram + HDR + 16, sector);
	put_le32(ram + HDR + 24, count);
	put_le32(ram + HDR + 28, flags);
	buf[0] = rd(HDR, 32);
	buf[1] = wr(STATUS, 1);
	return vblk_parse(ram, buf, 2, d, &rq);
}

static void discard_and_write_zeroes_only_when_offered(void **state)
{
	struct vblk_disk d = disk;

	(void)state;
	assert_int_equal(range(VIRTIO_BLK_T_DISCARD, &d, 0, 8, 0), VBLK_COMPLETE);
	assert_int_equal(rq.status, VIRTIO_BLK_S_UNSUPP);
	d.discard = d.write_zeroes = 1;
	assert_int_equal(range(VIRTIO_BLK_T_DISCARD, &d, 16, 8, 0), VBLK_SUBMIT);
	assert_int_equal(rq.op, BLK_DISCARD);
	assert_int_equal(rq.sector, 16);
	assert_int_equal(rq.blocks, 8);
	assert_int_equal(range(VIRTIO_BLK_T_DISCARD, &d, 16, 8, 1), VBLK_COMPLETE); /* unmap: not for discard */
	assert_int_equal(rq.status, VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(range(VIRTIO_BLK_T_WRITE_ZEROES, &d, 16, 8, 1), VBLK_SUBMIT);
	assert_int_equal(rq.op, BLK_WRITE_ZEROES);
	assert_int_equal(range(VIRTIO_BLK_T_WRITE_ZEROES, &d, SECTORS - 4, 8, 0), VBLK_COMPLETE);
	assert_int_equal(rq.status, VIRTIO_BLK_S_IOERR);
	assert_int_equal(range(VIRTIO_BLK_T_WRITE_ZEROES, &d, 0xffffffffffffff00ull, 0x200, 0), VBLK_COMPLETE);
	assert_int_equal(rq.status, VIRTIO_BLK_S_IOERR);
	d.read_only = 1;
	assert_int_equal(range(VIRTIO_BLK_T_DISCARD, &d, 16, 8, 0), VBLK_COMPLETE);
	assert_int_equal(rq.status, VIRTIO_BLK_S_IOERR);
}

/* ---- the device, through the transport */

static int setup_device(void **state)
{
	(void)state;
	cfg = (struct cfg_partition){ .name = "t", .ndisks = 2 };
	vdisks[0] = (struct vdisk){ .dev = &host, .sectors = SECTORS, .source = "one" };
	vdisks[1] = (struct vdisk){ .dev = &host, .sectors = SECTORS, .source = "two", .read_only = 1 };
	ram = aligned_alloc(4096, RAM);
	memset(ram, 0, RAM);
	part = (struct partition){ .cfg = &cfg, .ram_size = RAM, .ram_pa = (uint64_t)(uintptr_t)ram };
	nsubmitted = messages = 0;
	allocs_left = ~0u;
	complete_at_once = -1;
	fake_pci_guest_reset();
	vdev_bus_init(&part.bus);
	assert_null(vpci_init(&part.pci, &part));
	assert_null(virtio_blk_attach(&part, vdisks));
	assert_null(vpci_start(&part.pci));
	return 0;
}

static int teardown_device(void **state)
{
	(void)state;
	virtio_blk_detach(&part);
	assert_int_equal(pages_out, 0);
	free(ram);
	return 0;
}

/* Requests of the first disk's pool not in flight. */
static unsigned pool_free(void)
{
	const struct vblk_req *r;
	unsigned n = 0;

	for (r = part.vblk[0].free; r; r = r->next_free)
		n++;
	return n;
}

static void common_out(uint64_t bar, unsigned reg, unsigned size, uint64_t v)
{
	vdev_mmio_access(&part, bar + reg, size, 1, &v);
}

static uint64_t bar_in(uint64_t gpa, unsigned size)
{
	uint64_t v = 0;

	vdev_mmio_access(&part, gpa, size, 0, &v);
	return v;
}

/* The driver's bring-up of the first disk as Linux does it, with features f; its queue at DESC/AVAIL/USED. */
static void bring_up(uint64_t f)
{
	common_out(BAR0, 0x14, 1, 3);
	common_out(BAR0, 0x08, 4, 0);
	common_out(BAR0, 0x0c, 4, (uint32_t)f);
	common_out(BAR0, 0x08, 4, 1);
	common_out(BAR0, 0x0c, 4, f >> 32);
	common_out(BAR0, 0x14, 1, 0x0b);
	common_out(BAR0, 0x16, 2, 0);
	common_out(BAR0, 0x20, 8, DESC);
	common_out(BAR0, 0x28, 8, AVAIL);
	common_out(BAR0, 0x30, 8, USED);
	common_out(BAR0, 0x1c, 2, 1);
	common_out(BAR0, 0x14, 1, 0x0f);
	assert_int_equal(bar_in(BAR0 + 0x14, 1), 0x0f);
}

static void put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = ram + DESC + 16 * i;

	put_le64(d, addr);
	put_le32(d + 8, len);
	put_le16(d + 12, flags);
	put_le16(d + 14, next);
}

/* Request number k: a header, 512 * sectors of data (written by the device for IN), a status; at descriptors 3k. */
static uint16_t request(unsigned k, uint32_t type, uint64_t sector, uint32_t sectors)
{
	uint16_t head = (uint16_t)(3 * k), idx = le16(ram + AVAIL + 2);
	uint16_t data_flags = (uint16_t)(VIRTQ_DESC_F_NEXT | (type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0));

	header_at(HDR + 32 * k, type, sector);
	ram[STATUS + k] = 0xff;
	put_desc(head, HDR + 32 * k, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(head + 1));
	put_desc(head + 1u, DATA + 0x10000ull * k, 512 * sectors, data_flags, (uint16_t)(head + 2));
	put_desc(head + 2u, STATUS + k, 1, VIRTQ_DESC_F_WRITE, 0);
	put_le16(ram + AVAIL + 4 + 2 * (idx % VBLK_QUEUE_SIZE), head);
	put_le16(ram + AVAIL + 2, (uint16_t)(idx + 1));
	return head;
}

static void kick(void)
{
	common_out(BAR0, VIRTIO_NOTIFY, 2, 0);
}

static uint16_t used_idx(void)
{
	return le16(ram + USED + 2);
}

static uint32_t used_id(unsigned i)
{
	return le32(ram + USED + 4 + 8 * i);
}

static uint32_t used_len(unsigned i)
{
	return le32(ram + USED + 8 + 8 * i);
}

static void the_config_space_describes_the_disk(void **state)
{
	uint64_t f;

	(void)state;
	assert_int_equal(bar_in(BAR0 + VIRTIO_DEVICE_CFG, 8), SECTORS);
	assert_int_equal(bar_in(BAR0 + VIRTIO_DEVICE_CFG + 0x0c, 4), VBLK_SEG_MAX);
	assert_int_equal(bar_in(BAR0 + VIRTIO_DEVICE_CFG + 0x14, 4), 512);
	common_out(BAR0, 0x00, 4, 0);
	f = bar_in(BAR0 + 0x04, 4);
	assert_true(f & VIRTIO_BLK_F_SEG_MAX);
	assert_true(f & VIRTIO_BLK_F_FLUSH);
	assert_true(f & VIRTIO_BLK_F_BLK_SIZE);
	assert_false(f & VIRTIO_BLK_F_RO);
	assert_false(f & VIRTIO_BLK_F_DISCARD); /* the host device has none */
	common_out(BAR0_SECOND, 0x00, 4, 0);
	assert_true(bar_in(BAR0_SECOND + 0x04, 4) & VIRTIO_BLK_F_RO);
	assert_int_equal(bar_in(PLATFORM_ECAM_BASE + ((PLATFORM_PCI_SLOT_DISKS + 1) << 15), 4), 0x10421af4);
}

static void requests_in_flight_complete_in_any_order_with_dma_addresses(void **state)
{
	uint16_t h0, h1, h2;

	(void)state;
	bring_up(VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_FLUSH);
	h0 = request(0, VIRTIO_BLK_T_IN, 0, 8);
	h1 = request(1, VIRTIO_BLK_T_OUT, 100, 1);
	h2 = request(2, VIRTIO_BLK_T_FLUSH, 0, 0);
	put_desc(h2, HDR + 64, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(h2 + 2)); /* no data */
	kick();
	assert_int_equal(nsubmitted, 3);
	assert_int_equal(pool_free(), VBLK_QUEUE_SIZE - 3);
	assert_int_equal(submitted[0]->op, BLK_READ);
	assert_int_equal(submitted[0]->lba, 0);
	assert_int_equal(submitted[0]->blocks, 8);
	assert_int_equal(submitted[0]->nseg, 1);
	assert_int_equal(submitted[0]->seg[0].pa, (uint64_t)(uintptr_t)ram + DATA);
	assert_int_equal(submitted[0]->seg[0].len, 4096);
	assert_int_equal(submitted[1]->op, BLK_WRITE);
	assert_int_equal(submitted[1]->lba, 100);
	assert_int_equal(submitted[2]->op, BLK_FLUSH);
	assert_int_equal(submitted[2]->blocks, 0);
	assert_int_equal(used_idx(), 0);
	submitted[1]->done(submitted[1], BLK_OK);
	submitted[2]->done(submitted[2], BLK_E_IO);
	submitted[0]->done(submitted[0], BLK_OK);
	assert_int_equal(used_idx(), 3);
	assert_int_equal(used_id(0), h1);
	assert_int_equal(used_len(0), 1);
	assert_int_equal(used_id(1), h2);
	assert_int_equal(used_id(2), h0);
	assert_int_equal(used_len(2), 4097);
	assert_int_equal(ram[STATUS + 0], VIRTIO_BLK_S_OK);
	assert_int_equal(ram[STATUS + 1], VIRTIO_BLK_S_OK);
	assert_int_equal(ram[STATUS + 2], VIRTIO_BLK_S_IOERR);
	assert_int_equal(pool_free(), VBLK_QUEUE_SIZE);
	assert_int_equal(lines[GSI], 1); /* MSI-X is off: INTA# */
}

/* EVENT_IDX's avail_event, after the used ring's entries. */
static uint16_t avail_event(void)
{
	return le16(ram + USED + 4 + 8 * VBLK_QUEUE_SIZE);
}

/*
 * With requests in flight the device asks for no notification: each
 * completion takes the chains added meanwhile. The last one asks again.
 */
static void a_busy_queue_is_taken_at_completions_without_notifications(void **state)
{
	(void)state;
	bring_up(VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX);
	request(0, VIRTIO_BLK_T_IN, 0, 1);
	kick();
	assert_int_equal(nsubmitted, 1);
	assert_int_equal(avail_event(), 0); /* not 1: the next chain needs no notification */
	request(1, VIRTIO_BLK_T_IN, 8, 1);
	request(2, VIRTIO_BLK_T_IN, 16, 1);
	submitted[0]->done(submitted[0], BLK_OK);
	assert_int_equal(nsubmitted, 3); /* taken by the completion, no kick */
	assert_int_equal(used_idx(), 1);
	assert_int_equal(avail_event(), 1); /* asked for as the last in flight ended, before those were taken */
	submitted[1]->done(submitted[1], BLK_OK);
	assert_int_equal(avail_event(), 1);
	submitted[2]->done(submitted[2], BLK_OK);
	assert_int_equal(avail_event(), 3); /* nothing in flight: the next chain is notified */
	assert_int_equal(used_idx(), 3);
	assert_int_equal(pool_free(), VBLK_QUEUE_SIZE);
	complete_at_once = BLK_OK; /* a completion from vdisk_submit itself nests no deeper */
	request(3, VIRTIO_BLK_T_IN, 0, 1);
	request(4, VIRTIO_BLK_T_IN, 8, 1);
	kick();
	assert_int_equal(nsubmitted, 5);
	assert_int_equal(used_idx(), 5);
	assert_int_equal(avail_event(), 5);
}

static void refusals_complete_without_the_block_layer(void **state)
{
	(void)state;
	bring_up(VIRTIO_F_VERSION_1);
	request(0, VIRTIO_BLK_T_IN, SECTORS - 1, 2);  /* past the end */
	request(1, 42, 0, 1);                          /* unknown */
	request(2, VIRTIO_BLK_T_OUT, 0, 1);
	put_desc(7, DATA, 512, VIRTQ_DESC_F_NEXT, 8);  /* request 2's data loops back */
	put_desc(8, DATA, 512, VIRTQ_DESC_F_NEXT, 7);
	request(3, VIRTIO_BLK_T_IN, 0, 1);
	kick();
	assert_int_equal(nsubmitted, 0);
	assert_int_equal(used_idx(), 2);
	assert_int_equal(ram[STATUS + 0], VIRTIO_BLK_S_IOERR);
	assert_int_equal(ram[STATUS + 1], VIRTIO_BLK_S_UNSUPP);
	/* The walker refused request 2: the device needs a reset, says so, and takes nothing more. */
	assert_int_equal(ram[STATUS + 2], 0xff);
	assert_int_equal(bar_in(BAR0 + 0x14, 1), 0x0f | VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(lines[GSI], 1);
	assert_int_equal(bar_in(BAR0 + VIRTIO_ISR, 1) & 2, 2); /* a configuration interrupt */
	assert_non_null(strstr(guest_line, "needs a reset"));
	kick();
	assert_int_equal(nsubmitted, 0);
	assert_int_equal(used_idx(), 2);
	common_out(BAR0, 0x14, 1, 0); /* after a reset, fine again */
	bring_up(VIRTIO_F_VERSION_1);
	put_le16(ram + AVAIL + 2, 0);
	memset(ram + USED, 0, 4);
	request(0, VIRTIO_BLK_T_IN, 0, 1);
	kick();
	assert_int_equal(nsubmitted, 1);
}

static void a_request_the_block_layer_refuses_at_once_is_an_io_error(void **state)
{
	(void)state;
	bring_up(VIRTIO_F_VERSION_1);
	complete_at_once = BLK_E_RANGE;
	request(0, VIRTIO_BLK_T_IN, 0, 1);
	kick();
	assert_int_equal(nsubmitted, 1);
	assert_int_equal(used_idx(), 1);
	assert_int_equal(ram[STATUS], VIRTIO_BLK_S_IOERR);
	assert_int_equal(used_len(0), 0);
}

static void completions_after_a_reset_go_nowhere(void **state)
{
	(void)state;
	bring_up(VIRTIO_F_VERSION_1);
	request(0, VIRTIO_BLK_T_IN, 0, 1);
	kick();
	common_out(BAR0, 0x14, 1, 0); /* reset */
	submitted[0]->done(submitted[0], BLK_OK);
	assert_int_equal(used_idx(), 0);
	assert_int_equal(ram[STATUS], 0xff);
	assert_int_equal(pool_free(), VBLK_QUEUE_SIZE);
}

/* More chains in flight than entries: the driver made a head available again while it was in flight. */
static void a_dry_pool_is_an_io_error(void **state)
{
	unsigned i;

	(void)state;
	bring_up(VIRTIO_F_VERSION_1);
	request(0, VIRTIO_BLK_T_IN, 0, 1);
	for (i = 1; i < VBLK_QUEUE_SIZE; i++) { /* the same chain again and again */
		uint16_t idx = le16(ram + AVAIL + 2);
		put_le16(ram + AVAIL + 4 + 2 * idx, 0);
		put_le16(ram + AVAIL + 2, (uint16_t)(idx + 1));
	}
	kick();
	assert_int_equal(nsubmitted, VBLK_QUEUE_SIZE);
	put_le16(ram + AVAIL + 4, 0);
	put_le16(ram + AVAIL + 2, VBLK_QUEUE_SIZE + 1);
	kick();
	assert_int_equal(nsubmitted, VBLK_QUEUE_SIZE);
	assert_int_equal(used_idx(), 1);
	assert_int_equal(ram[STATUS], VIRTIO_BLK_S_IOERR);
	assert_int_equal(pool_free(), 0);
	for (i = 0; i < VBLK_QUEUE_SIZE; i++)
		submitted[i]->done(submitted[i], BLK_OK);
	assert_int_equal(pool_free(), VBLK_QUEUE_SIZE);
}

static void get_id_answers_with_the_disk_source(void **state)
{
	(void)state;
	bring_up(VIRTIO_F_VERSION_1);
	request(0, VIRTIO_BLK_T_GET_ID, 0, 1);
	put_desc(1, DATA, 20, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	kick();
	assert_int_equal(nsubmitted, 0);
	assert_int_equal(ram[STATUS], VIRTIO_BLK_S_OK);
	assert_memory_equal(ram + DATA, "one", 4);
}

static void no_memory_for_a_pool_gives_the_others_back(void **state)
{
	(void)state;
	virtio_blk_detach(&part);
	allocs_left = 1;
	vdev_bus_init(&part.bus);
	assert_null(vpci_init(&part.pci, &part));
	assert_non_null(virtio_blk_attach(&part, vdisks));
	assert_int_equal(part.nvblk, 0);
	assert_int_equal(pages_out, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_read_gives_its_sectors_and_segments, setup_ram, teardown_ram),
		cmocka_unit_test_setup_teardown(any_layout_header_data_and_status_share_buffers, setup_ram,
						teardown_ram),
		cmocka_unit_test_setup_teardown(ranges_past_the_end_are_io_errors_without_overflow, setup_ram,
						teardown_ram),
		cmocka_unit_test_setup_teardown(odd_lengths_and_wrong_directions_are_io_errors, setup_ram, teardown_ram),
		cmocka_unit_test_setup_teardown(no_writable_byte_means_no_status, setup_ram, teardown_ram),
		cmocka_unit_test_setup_teardown(too_many_segments_are_an_io_error, setup_ram, teardown_ram),
		cmocka_unit_test_setup_teardown(read_only_disks_refuse_writes_and_unknown_types_are_unsupported,
						setup_ram, teardown_ram),
		cmocka_unit_test_setup_teardown(flush_and_get_id, setup_ram, teardown_ram),
		cmocka_unit_test_setup_teardown(discard_and_write_zeroes_only_when_offered, setup_ram, teardown_ram),
		cmocka_unit_test_setup_teardown(the_config_space_describes_the_disk, setup_device, teardown_device),
		cmocka_unit_test_setup_teardown(requests_in_flight_complete_in_any_order_with_dma_addresses,
						setup_device, teardown_device),
		cmocka_unit_test_setup_teardown(a_busy_queue_is_taken_at_completions_without_notifications,
						setup_device, teardown_device),
		cmocka_unit_test_setup_teardown(refusals_complete_without_the_block_layer, setup_device,
						teardown_device),
		cmocka_unit_test_setup_teardown(a_request_the_block_layer_refuses_at_once_is_an_io_error, setup_device,
						teardown_device),
		cmocka_unit_test_setup_teardown(completions_after_a_reset_go_nowhere, setup_device, teardown_device),
		cmocka_unit_test_setup_teardown(a_dry_pool_is_an_io_error, setup_device, teardown_device),
		cmocka_unit_test_setup_teardown(get_id_answers_with_the_disk_source, setup_device, teardown_device),
		cmocka_unit_test_setup_teardown(no_memory_for_a_pool_gives_the_others_back, setup_device,
						teardown_device),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
