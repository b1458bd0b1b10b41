/* libFuzzer target: a split virtqueue whose rings, descriptors and indirect
 * tables a guest wrote at will into a 64 KiB partition. The first 8 bytes
 * choose the queue's size, features and ring addresses; the rest fills RAM.
 * Every chain the device takes is walked, parsed as a virtio-blk request
 * and given back. The walker may read only inside RAM (ASan watches), and
 * each buffer it returns must lie in RAM, be non-empty, and come with
 * device-readable ones first; a request for the block layer must lie
 * within its disk, its data add up to its sectors, within RAM. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mm.h"
#include "partition.h"
#include "vdev/virtio_blk.h"
#include "vdev/virtqueue.h"

#define RAM (64u << 10)
#define BUFS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* virtio_blk.c's partition glue and transport, never reached from the parser. */
void partition_log_guest(struct partition *p, enum log_level level, const char *f, ...)
{
	(void)p;
	(void)level;
	(void)f;
}

void irq_set_line(struct partition *p, unsigned gsi, int level)
{
	(void)p;
	(void)gsi;
	(void)level;
}

void pic_set_irq(struct partition *p, unsigned irq, int level)
{
	(void)p;
	(void)irq;
	(void)level;
}

int irq_deliver(struct partition *p, const struct irq_msg *m)
{
	(void)p;
	(void)m;
	return 0;
}

void vdisk_submit(struct vdisk *vd, struct blk_req *r)
{
	(void)vd;
	(void)r;
	abort();
}

uint64_t mm_alloc(uint64_t pages)
{
	(void)pages;
	abort();
}

void mm_free(uint64_t pa, uint64_t pages)
{
	(void)pa;
	(void)pages;
	abort();
}

static void check_request(const struct vblk_disk *disk, const struct vblk_request *rq)
{
	uint64_t bytes = 0;
	unsigned i;

	if (rq->status_at >= RAM || rq->nseg > VBLK_SEG_MAX)
		abort();
	for (i = 0; i < rq->nseg; i++) {
		if (!rq->seg[i].len || rq->seg[i].offset >= RAM || rq->seg[i].len > RAM - rq->seg[i].offset)
			abort();
		bytes += rq->seg[i].len;
	}
	if (rq->op == BLK_FLUSH)
		return;
	if (rq->sector > disk->sectors || rq->blocks > disk->sectors - rq->sector || !rq->blocks)
		abort();
	if ((rq->op == BLK_READ || rq->op == BLK_WRITE) && bytes != (uint64_t)rq->blocks * BLK_SECTOR)
		abort();
	if (rq->op != BLK_READ && disk->read_only)
		abort();
}

static void check_chain(const struct vq_buf *buf, unsigned n)
{
	unsigned i;
	int writing = 0;

	if (n > BUFS)
		abort();
	for (i = 0; i < n; i++) {
		if (!buf[i].len || buf[i].offset >= RAM || buf[i].len > RAM - buf[i].offset)
			abort();
		if (writing && !buf[i].write)
			abort();
		writing = buf[i].write;
	}
}

static void run(struct virtqueue *q, const struct vq_ram *r, const struct vblk_disk *disk)
{
	static struct vblk_request rq;
	struct vq_buf buf[BUFS];
	unsigned taken = 0, n;
	uint16_t head;

	while (vq_next(q, &head) == VQ_HEAD) {
		if (++taken > q->size)
			abort(); /* the available index does not move: at most a ring's worth */
		if (vq_chain(q, r, head, buf, BUFS, &n) == VQ_CHAIN_OK) {
			check_chain(buf, n);
			if (vblk_parse(r->base, buf, n, disk, &rq) == VBLK_SUBMIT)
				check_request(disk, &rq);
		}
		vq_push(q, head, n);
		vq_should_interrupt(q);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	struct vblk_disk disk;
	uint64_t sectors;
	struct vq_ram r;
	struct virtqueue q;
	size_t i;

	if (size < 8)
		return 0;
	if (!ram)
		ram = aligned_alloc(4096, RAM);
	memset(ram, 0, RAM);
	for (i = 8; i < size; i++)
		ram[(i - 8) % RAM] = data[i];
	r = (struct vq_ram){ .base = ram, .pa = 0x100000, .size = RAM };
	/* Addresses in 2-byte steps: misaligned and out-of-RAM ones come too. */
	if (vq_setup(&q, &r, 1u << (data[0] % 10), (uint64_t)(data[2] | data[3] << 8) * 2,
		     (uint64_t)(data[4] | data[5] << 8) * 2, (uint64_t)(data[6] | data[7] << 8) * 2, data[1] & 1,
		     data[1] & 2))
		return 0;
	/* A disk of 0 to 2^16 - 1 or of 2^64 - 2^16 and more sectors, read-only or not, with or without discard. */
	sectors = (uint64_t)(data[2] | data[3] << 8);
	disk = (struct vblk_disk){ .sectors = data[1] & 4 ? ~sectors : sectors, .read_only = (data[1] >> 3) & 1,
				   .discard = (data[1] >> 4) & 1, .write_zeroes = (data[1] >> 5) & 1 };
	run(&q, &r, &disk);
	return 0;
}
