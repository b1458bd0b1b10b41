/* libFuzzer target: a guest driving a virtio-blk device through its PCI
 * transport at will: common configuration reads and writes, notifications,
 * its RAM (rings, descriptors, headers) rewritten between them, MSI-X table
 * writes, resets, completions of the block layer in any order with any
 * status, and partition restarts. Each 8 bytes of input are one step. The
 * block layer sees only requests inside the disk whose segments lie in the
 * partition's RAM and add up to their sectors; no request is lost (once all
 * are completed, the device's pool is whole); ASan watches every access. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

#include "lib/le.h"
#include "mm.h"
#include "partition.h"
#include "vdev/virtio_blk.h"

/* RAM as partition.c gives devices it, without its zeroing on first touch (tests/unit/test_space.c has that). */
struct vq_ram partition_vq_ram(struct partition *p)
{
	return (struct vq_ram){ mm_ptr(p->ram_pa), p->ram_pa, p->ram_size, 0, 0 };
}

#define RAM (64u << 10)
#define SECTORS 64
#define BAR0 0xc0000000ull
#define BAR1 0xc0004000ull
#define PENDING_MAX (2 * VBLK_QUEUE_SIZE)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cfg_partition cfg = { .name = "fuzz", .ndisks = 1 };
static struct partition part;
static struct blk_dev host = { .name = "ram0", .block_size = 512 };
static struct vdisk disks[1];
static uint8_t *ram;
static struct blk_req *pending[PENDING_MAX];
static unsigned npending, at_once;

int irq_deliver(struct partition *p, const struct irq_msg *m)
{
	(void)m;
	return p == &part ? 0 : -1;
}

/* Each partition start takes the request pool's pages and each restart gives
 * them back. Fresh allocations every time cost more than the device itself
 * (the kernel faults in and zeroes new pages behind ASan's quarantine), so the
 * freed pool is kept, poisoned, and handed out again zeroed: an access after
 * mm_free() is still reported, as ASan would for any freed block. */
static void *spare;
static uint64_t spare_pages;

uint64_t mm_alloc(uint64_t pages)
{
	void *p = spare;

	if (!p || spare_pages != pages)
		return (uint64_t)(uintptr_t)calloc(pages, 4096);
	spare = 0;
	ASAN_UNPOISON_MEMORY_REGION(p, pages * 4096);
	memset(p, 0, pages * 4096);
	return (uint64_t)(uintptr_t)p;
}

void mm_free(uint64_t pa, uint64_t pages)
{
	if (spare)
		ASAN_UNPOISON_MEMORY_REGION(spare, spare_pages * 4096);
	free(spare);
	spare = (void *)(uintptr_t)pa;
	spare_pages = pages;
	ASAN_POISON_MEMORY_REGION(spare, pages * 4096);
}

static void check_submitted(const struct blk_req *r)
{
	uint64_t bytes = 0, base = (uint64_t)(uintptr_t)ram;
	unsigned i;

	if (r->nseg > BLK_SEG_MAX || !r->done)
		abort();
	for (i = 0; i < r->nseg; i++) {
		if (!r->seg[i].len || r->seg[i].pa < base || r->seg[i].pa - base >= RAM ||
		    r->seg[i].len > RAM - (r->seg[i].pa - base))
			abort();
		bytes += r->seg[i].len;
	}
	if (r->op == BLK_FLUSH)
		return;
	if (!r->blocks || r->lba > SECTORS || r->blocks > SECTORS - r->lba)
		abort();
	if ((r->op == BLK_READ || r->op == BLK_WRITE) && bytes != (uint64_t)r->blocks * BLK_SECTOR)
		abort();
}

uint64_t arch_tsc(void)
{
	return 0; /* the notifications' tick count is not fuzzed */
}

void vdisk_submit(struct vdisk *vd, struct blk_req *r)
{
	if (vd != &disks[0] || npending == PENDING_MAX)
		abort(); /* more than a pool's worth at once */
	check_submitted(r);
	if (at_once) {
		r->done(r, BLK_OK);
		return;
	}
	pending[npending++] = r;
}

static void complete(unsigned i, enum blk_status s)
{
	struct blk_req *r = pending[i];

	pending[i] = pending[--npending];
	r->done(r, s);
}

static unsigned pool_free(void)
{
	const struct vblk_req *r;
	unsigned n = 0;

	for (r = part.vblk[0].free; r; r = r->next_free)
		n++;
	return n;
}

/* The partition (re)started: what the block layer held is dropped, as vdisk_close() does, then the device anew. */
static void start(void)
{
	npending = 0;
	virtio_blk_detach(&part);
	memset(ram, 0, RAM);
	/* The device reads only these of its partition, and the bus, the PCI
	 * segment and the disk's device are set up whole below: zeroing the rest
	 * of struct partition (over 170 KiB) at each start is needless work. */
	part.cfg = &cfg;
	part.ram_size = RAM;
	part.ram_pa = (uint64_t)(uintptr_t)ram;
	disks[0] = (struct vdisk){ .dev = &host, .sectors = SECTORS, .source = "fuzz" };
	vdev_bus_init(&part.bus);
	if (vpci_init(&part.pci, &part) || virtio_blk_attach(&part, disks) || vpci_start(&part.pci))
		abort();
}

static void mmio(uint64_t gpa, unsigned size, int write, uint64_t value)
{
	vdev_mmio_access(&part, gpa, size, write, &value);
}

/* A driver's bring-up with features f, the queue at 0x1000/0x2000/0x3000 (of 8 entries or more). */
static void bring_up(uint32_t f, unsigned size_log2)
{
	mmio(BAR0 + 0x14, 1, 1, 0);
	mmio(BAR0 + 0x14, 1, 1, 3);
	mmio(BAR0 + 0x08, 4, 1, 0);
	mmio(BAR0 + 0x0c, 4, 1, f);
	mmio(BAR0 + 0x08, 4, 1, 1);
	mmio(BAR0 + 0x0c, 4, 1, 1); /* VERSION_1 */
	mmio(BAR0 + 0x14, 1, 1, 0x0b);
	mmio(BAR0 + 0x16, 2, 1, 0);
	mmio(BAR0 + 0x18, 2, 1, 1u << size_log2);
	mmio(BAR0 + 0x20, 8, 1, 0x1000);
	mmio(BAR0 + 0x28, 8, 1, 0x2000);
	mmio(BAR0 + 0x30, 8, 1, 0x3000);
	mmio(BAR0 + 0x1c, 2, 1, 1);
	mmio(BAR0 + 0x14, 1, 1, 0x0f);
}

static const unsigned sizes[] = { 1, 2, 4, 8 };

static void step(const uint8_t *s)
{
	uint16_t at = (uint16_t)(s[1] | s[2] << 8);
	uint32_t v = le32(s + 3);
	unsigned size = sizes[(s[0] >> 4) & 3];

	switch (s[0] & 15) {
	case 0: mmio(BAR0 + at % 0x40, size, 1, v); break;                  /* common configuration */
	case 1: mmio(BAR0 + at % 0x4000, size, 0, 0); break;                 /* any read, the ISR's too */
	case 2: mmio(BAR0 + VIRTIO_NOTIFY + at % 8, size, 1, v); break;
	case 3: put_le32(ram + (at * 4u) % RAM, v); break;                   /* the guest's memory */
	case 4: put_le16(ram + 0x1000 + (at * 2u) % 0x3000, (uint16_t)v); break; /* its rings, mostly */
	case 5: bring_up(v, 3 + s[7] % 5); break;
	case 6: if (npending) complete(v % npending, (enum blk_status)(s[7] % 6)); break;
	case 7: mmio(BAR1 + at % 0x1000, 4, 1, v); break;                    /* MSI-X table */
	case 8: mmio(PLATFORM_ECAM_BASE + (PLATFORM_PCI_SLOT_DISKS << 15) + at % 0x100, size, 1, v); break;
	case 9: at_once = v & 1; break;
	case 10: start(); break;
	default: put_le64(ram + 0x1000 + (at * 8u) % 0x1000, (uint64_t)v << 8 | s[7]); break; /* descriptors */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ram)
		ram = aligned_alloc(4096, RAM);
	at_once = 0;
	start();
	for (; size >= 8; data += 8, size -= 8)
		step(data);
	while (npending)
		complete(npending - 1, BLK_OK);
	if (pool_free() != VBLK_QUEUE_SIZE)
		abort(); /* a request lost */
	return 0;
}
