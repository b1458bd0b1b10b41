/*
 * QEMU's isa-debug-exit device as test kernels use it, with iobase=0xf4
 * (PLATFORM_DEBUG_EXIT_PORT) and its default of 2 ports: a write of value
 * V at either port stops the partition with status (V << 1) | 1, the exit
 * status QEMU itself ends with, given whole here (QEMU's process status
 * keeps its low 8 bits). Reads give 0, as QEMU's. Present only with
 * test_devices = yes.
 */
#ifndef HV_VDEV_DEBUG_EXIT_H
#define HV_VDEV_DEBUG_EXIT_H

#include <stdint.h>

#include "bus.h"

#define DEBUG_EXIT_PORTS 2

/* The status a write of value reports. */
uint64_t debug_exit_status(uint64_t value);

/* Its ports, for a claim of DEBUG_EXIT_PORTS ports from PLATFORM_DEBUG_EXIT_PORT (dev: the partition). */
extern const struct vdev_ops debug_exit_ops;

#endif
