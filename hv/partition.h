/* A guest partition: its memory, address space, vCPU and devices. */
#ifndef HV_PARTITION_H
#define HV_PARTITION_H

#include <stdint.h>

#include "boot_info.h"
#include "config.h"
#include "vcpu.h"
#include "vdev/uart.h"

#define STOP_REASON_MAX 160

struct partition {
	const struct cfg_partition *cfg;
	const struct vcpu_ops *ops;
	struct guest_space *space;
	uint64_t ram_pa, ram_size;
	struct vcpu vcpu;
	struct vuart uart;
	int running;
	unsigned cpu;          /* where it runs or ran */
	uint64_t exits;
	char stop_reason[STOP_REASON_MAX];
};

/* Takes memory, loads the kernel, creates the vCPU; 0 or -1 (reason logged). */
int partition_start(struct partition *p, const struct cfg_partition *cfg, const struct boot_info *bi,
		    const struct vcpu_ops *ops);
/* Runs the partition's vCPU until the partition stops. */
void partition_run(struct partition *p);
/* Stops it, says why, and gives its memory back, zeroed on the next start. */
void partition_stop(struct partition *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
