/*
 * A RAM disk: a file from the boot medium copied into the hypervisor's own
 * memory (never a guest's), behind the block-device interface like any
 * host disk. It has no interrupt: submit() moves the data at once and
 * poll() completes what submit() took, as the interface wants done()
 * called from poll() alone.
 */
#ifndef DRIVERS_RAMDISK_H
#define DRIVERS_RAMDISK_H

#include <stdint.h>

#include "block.h"

#define RAMDISKS_MAX 128 /* every disk of every partition */
#define RAMDISK_QUEUE_DEPTH 64

/* A RAM disk holding a copy of size bytes of data, zero-padded to whole sectors; NULL when memory is short. */
struct blk_dev *ramdisk_create(const uint8_t *data, uint64_t size);

/* Completes what it still holds, then gives its memory back. */
void ramdisk_destroy(struct blk_dev *d);

#endif
