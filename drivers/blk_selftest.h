/*
 * The host block devices' data path proved at boot, before any virtual
 * disk uses it: each device's first two blocks are read through its
 * blk_ops (LBA 1 holds a GPT header on a GPT disk), and the one device
 * hv.cfg names with disk_selftest gets its last block written, flushed,
 * read back and compared (a test aid for scratch disks: that block's
 * contents are lost).
 */
#ifndef DRIVERS_BLK_SELFTEST_H
#define DRIVERS_BLK_SELFTEST_H

#include "block.h"

/* Submits r, polls until it completes (r->deadline is set from timeout_ms); its status. */
enum blk_status blk_run_sync(struct blk_dev *d, struct blk_req *r, uint64_t timeout_ms);

/* After the storage drivers' init; selftest_name "" (or NULL) writes nothing. */
void blk_boot_check(const char *selftest_name);

#endif
