/*
 * The patterns of the `diskbench` console command (hv/diskbench.c), the
 * same as the guest's blkbench (guests/linux/blkbench.c) runs on its
 * virtual disk, so that `make bench` can set one against the other:
 * sequential read and write of 16 MiB in 128 KiB requests, one at a time
 * (the write ends with a flush, as blkbench's fsync), and 4 KiB reads at
 * random 4 KiB-aligned offsets at queue depth 1 and 32. The random offsets
 * come from xorshift64 seeded with 1 in both programs: the same blocks.
 * Pure: unit tested on the host.
 */
#ifndef HV_DISKBENCH_PLAN_H
#define HV_DISKBENCH_PLAN_H

#include <stdint.h>

#include "block.h"

#define DB_QD_MAX 32u
#define DB_BS_MAX (128u << 10)
#define DB_SEQ_BYTES (16u << 20) /* the smallest disk it runs on */

struct db_pattern {
	const char *name; /* as blkbench prints it */
	enum blk_op op;
	uint32_t qd, bs, requests;
	uint8_t random;
};

extern const struct db_pattern db_patterns[];
extern const unsigned db_npatterns;

/* Request index's first sector of a disk of disk_sectors (>= DB_SEQ_BYTES); random ones draw from *rng. */
uint64_t db_sector(const struct db_pattern *p, uint64_t index, uint64_t *rng, uint64_t disk_sectors);

/* KiB per second and requests per second of requests of bs bytes taken in ns (0 counts as 1). */
uint64_t db_kib_per_s(uint64_t requests, uint32_t bs, uint64_t ns);
uint64_t db_iops(uint64_t requests, uint64_t ns);

#endif
