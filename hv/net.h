/*
 * The machine's virtual switches, as hv.cfg declares them, with a port for
 * each `net` line of each partition (hv/vswitch.h). They live as long as
 * the hypervisor: a stopped partition's ports stay, with no device on them.
 */
#ifndef HV_NET_H
#define HV_NET_H

#include <stdint.h>

#include "config.h"
#include "vswitch.h"

/* The switches and ports of an accepted config. */
void net_init(const struct hv_config *cfg);

/* Port index of partition p (its index-th net line), and the switch it is on. */
struct vsw_port *net_port(const struct cfg_partition *p, uint32_t index, struct vswitch **sw);

/* The switches' clock: nanoseconds since an arbitrary start, monotonic. */
uint64_t net_now_ns(void);

/* The TSC now, where a device's work for the switches starts (net_spent). */
uint64_t net_ticks(void);
/* Adds the TSC ticks since start to the hypervisor's time on the switches' work, which `net` shows. */
void net_spent(uint64_t start);

/* Forwards what waits in the switches' queues (CPU 0, between time slices). */
void net_poll(void);

/* The console's `net`: switches, ports, MACs, counters. */
void net_show(void);

#endif
