/*
 * Not an attack: the healthy partition of the suite where Linux is too
 * slow to boot (Bochs). It prints the lines the Linux partition's shell
 * workloads print: CPU-RATE (loop iterations in a window of 3 s of its
 * TSC) and DISK-OK (a block of pseudo-random data written to its RAM
 * disk, then every block written so far read back against its checksum);
 * DISK-BAD names a block that came back changed.
 */
#include <stdint.h>

#include "attack.h"
#include "hypercall.h"
#include "vdev/virtio_spec.h"

#define SLOTS 16
#define SLOT_SECTORS (sizeof(vblk_data) / 512)
#define WINDOW_S 3

static uint64_t sums[SLOTS];

/* FNV-1a of a block. */
static uint64_t checksum(const uint8_t *p, unsigned len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* Writes slot with new data and keeps its checksum; then reads back each slot written so far. */
static void disk_round(unsigned round)
{
	unsigned slot = round % SLOTS, i, written = round < SLOTS ? round + 1 : SLOTS;
	int status;

	for (i = 0; i < sizeof(vblk_data); i += 8)
		*(uint64_t *)(uintptr_t)(vblk_data + i) = random64();
	sums[slot] = checksum(vblk_data, sizeof(vblk_data));
	status = vblk_request(&disk, VIRTIO_BLK_T_OUT, (uint64_t)slot * SLOT_SECTORS, (uint64_t)(uintptr_t)vblk_data,
			      sizeof(vblk_data));
	for (i = 0; i < written && status == 0; i++) {
		status = vblk_request(&disk, VIRTIO_BLK_T_IN, (uint64_t)i * SLOT_SECTORS, (uint64_t)(uintptr_t)vblk_data,
				      sizeof(vblk_data));
		if (status == 0 && checksum(vblk_data, sizeof(vblk_data)) != sums[i]) {
			print("DISK-BAD %u\n", i);
			return;
		}
	}
	if (status != 0)
		print("DISK-BAD %u status %d\n", i, status);
	else
		print("DISK-OK %u %016llx verified=%u\n", slot, (unsigned long long)sums[slot], written);
}

/* Loop iterations in WINDOW_S seconds of the TSC, whose rate the hypervisor tells. */
static uint64_t cpu_window(uint64_t window)
{
	uint64_t t0 = rdtsc(), n = 0;

	while (rdtsc() - t0 < window)
		n++;
	return n;
}

static void workload(void)
{
	uint64_t window = tsc_ms(1000 * WINDOW_S);
	unsigned round;

	open_disk(0);
	for (round = 0;; round++) {
		print("CPU-RATE %llu\n", (unsigned long long)(cpu_window(window) / WINDOW_S));
		disk_round(round);
	}
}

const struct attack workloads[] = {
	{ "workload", workload },
	{ 0, 0 },
};
