/*
 * The host's disks as hv.cfg names them: each registered block device's
 * GPT read and logged at boot, `disk = part:NAME` and `disk = guid:GUID`
 * (with offset= and size=, a sub-range of the partition) resolved to an
 * extent, the whole config's extents checked against each other, and the
 * console's `disks` report.
 */
#ifndef HV_DISKS_H
#define HV_DISKS_H

#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "config.h"
#include "lib/gpt_disk.h"

struct disk_extent {
	struct blk_dev *dev;
	const struct gpt_part *part;
	uint64_t first;   /* the device's LBA */
	uint64_t sectors; /* BLK_SECTOR units */
};

/* Reads and logs the GPT of each block device registered since the last call (drivers register them first). */
void disks_scan(void);

/* The extent cfg names; NULL, or why not (in why, of size bytes). */
const char *disks_resolve(const struct cfg_disk *cfg, struct disk_extent *e, char *why, size_t size);

/*
 * Every part: and guid: disk of the config resolved, as the partitions
 * will open them: an error at its line for one that names no partition,
 * names more than one, or whose range overlaps another disk's where either
 * is writable (read-only disks may share a range). With no error, logs
 * which host range each partition's disk uses.
 */
void disks_check_config(const struct hv_config *cfg, struct cfg_errors *errs);

/* Logs a RAM disk's GPT, if it holds one (a demo image with partitions). */
void disks_log_ramdisk(const char *owner, struct blk_dev *d);

/* The console's `disks`: host disks, their partitions and who uses them, each virtual disk's counts. */
void disks_show(void);

/*
 * The console's `stats`: each device virtual disks are open on, its faults
 * (hv/blk.h's blk_faults), a line of text or, with json, a line
 * {"host_disk":{...}}.
 */
void disks_show_faults(int json);

#endif
