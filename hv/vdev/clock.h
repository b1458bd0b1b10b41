/*
 * Time for devices. A device with deadlines (the PIT, the RTC's periodic
 * and alarm interrupts) registers a poll function when the partition
 * starts, with its claims: poll(dev, now) fires what has come due at host
 * TSC value now (raising its line through irq.h) and returns its next
 * deadline in host TSC ticks, 0 if none. Periods missed while the partition did not run (paused, or
 * its CPU busy) come as one interrupt, not a storm, and the next deadline
 * stays on the period's grid. The CPU that runs the partition's vCPU 0
 * calls the polls when a deadline comes, outside every lock but the
 * device's own. A guest access that moves a deadline calls
 * vdev_deadline_changed() so that that CPU re-arms its timer.
 */
#ifndef HV_VDEV_CLOCK_H
#define HV_VDEV_CLOCK_H

#include <stdint.h>

struct partition;

typedef uint64_t vdev_poll_fn(void *dev, uint64_t now);

/* 0, or -1 (logged) when the partition's table of timers is full. */
int vdev_add_timer(struct partition *p, vdev_poll_fn *poll, void *dev);

/* Calls every poll; the earliest deadline they return, 0 if none. */
uint64_t vdev_poll_timers(struct partition *p, uint64_t now);

void vdev_deadline_changed(struct partition *p);

#endif
