/*
 * The console's `diskbench NAME`: the hypervisor's own I/O, through the
 * block layer a guest's virtio-blk requests take (vdisk_submit, the fair
 * queue, the host driver), on the extent of a stopped partition's first
 * disk, with the patterns of diskbench_plan.h. What it writes is lost.
 *
 * Nothing waits for it: the command queues the first requests and
 * returns; each completion, on whichever CPU polls the disks, sends the
 * next request; CPU 0's console turn (diskbench_poll) logs a pattern's
 * figures once its last request is done and starts the next. It waits
 * for its completions as a guest's requests do: an interrupt-driven
 * device's interrupt wakes CPU 0 (scheduler.c), a polled one's poll
 * finds them; the partitions keep their time slices meanwhile.
 */
#ifndef HV_DISKBENCH_H
#define HV_DISKBENCH_H

struct cfg_disk;

/* Starts the bench on the extent cfg names, for partition owner; NULL, or why not. */
const char *diskbench_start(const struct cfg_disk *cfg, const char *owner);

/* 1 while a bench runs. */
int diskbench_running(void);

/* CPU 0's console turn: a finished pattern's figures, the next pattern, the end. */
void diskbench_poll(void);

#endif
