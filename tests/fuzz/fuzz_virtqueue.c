/* libFuzzer target: a split virtqueue whose rings, descriptors and indirect
 * tables a guest wrote at will into a 64 KiB partition. The first 8 bytes
 * choose the queue's size, features and ring addresses; the rest fills RAM.
 * Every chain the device takes is walked and given back. The walker may
 * read only inside RAM (ASan watches), and each buffer it returns must lie
 * in RAM, be non-empty, and come with device-readable ones first. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vdev/virtqueue.h"

#define RAM (64u << 10)
#define BUFS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

static void run(struct virtqueue *q, const struct vq_ram *r)
{
	struct vq_buf buf[BUFS];
	unsigned taken = 0, n;
	uint16_t head;

	while (vq_next(q, &head) == VQ_HEAD) {
		if (++taken > q->size)
			abort(); /* the available index does not move: at most a ring's worth */
		if (vq_chain(q, r, head, buf, BUFS, &n) == VQ_CHAIN_OK)
			check_chain(buf, n);
		vq_push(q, head, n);
		vq_should_interrupt(q);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
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
	run(&q, &r);
	return 0;
}
