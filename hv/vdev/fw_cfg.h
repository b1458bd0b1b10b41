/*
 * QEMU's firmware configuration device (QEMU docs/specs/fw_cfg.rst), its
 * traditional interface at 0x510 as on QEMU's PCs, for test kernels that
 * ask it how many CPUs and how much RAM they have. Present only with
 * test_devices = yes. A 16-bit write to the selector port (0x510) picks an
 * item and rewinds it; each byte read of the data port (0x511, and 0x510
 * as well: QEMU's PC puts both on one register pair) gives the item's next
 * byte, 0 past its end. Items: 0x0000 the signature "QEMU", 0x0001 the
 * feature bits (bit 0, the traditional interface; no DMA), 0x0003 the RAM
 * size (64-bit little-endian), 0x0005 the number of CPUs and 0x000f the
 * most CPUs (16-bit little-endian: the partition's vCPUs, whose APIC IDs
 * are 0 to N-1), 0x0019 the file directory (a big-endian count of 0
 * files). Any other item, and every architecture-specific one (bit 15),
 * reads 0; bit 14 (the write channel, ignored since QEMU 2.4) is ignored.
 * Writes of data are ignored, as QEMU 2.4 and later ignore them; reads of
 * 2 or 4 bytes, which QEMU does not accept, give all-ones.
 */
#ifndef HV_VDEV_FW_CFG_H
#define HV_VDEV_FW_CFG_H

#include <stdint.h>

#include "bus.h"
#include "lib/spinlock.h"

#define FW_CFG_PORTS 2

struct fw_cfg {
	struct spinlock lock; /* of all below: vCPUs of one partition run on several CPUs */
	uint16_t selector;
	uint32_t offset;      /* of the selected item's next byte */
	uint64_t ram_size;
	uint16_t cpus;
};

/* What it tells: the partition's RAM in bytes, its vCPUs. */
void fw_cfg_init(struct fw_cfg *f, uint64_t ram_size, uint16_t cpus);

/* Its ports, for a claim of FW_CFG_PORTS ports from PLATFORM_FW_CFG_PORT (dev: the struct fw_cfg). */
extern const struct vdev_ops fw_cfg_ops;

#endif
