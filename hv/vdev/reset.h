/*
 * The reset control register at port 0xCF9 (Intel ICH and PCH datasheets,
 * "Reset Control Register (RST_CNT)"; PIIX4's is the same): a write with
 * RST_CPU (bit 2) set resets the machine, hard or soft as SYS_RST (bit 1)
 * says. The FADT's reset register names it with the value 0x06. Either
 * reset starts the partition again from scratch, as the operator's
 * restart does: there is no firmware to run a soft one. SYS_RST and
 * FULL_RST (bit 3) read back; RST_CPU reads 0.
 *
 * Port 0xCF9 lies among the PCI configuration ports (0xCF8-0xCFF): only
 * a dword access at 0xCF8 is CONFIG_ADDRESS, a byte at 0xCF9 is this
 * register (PCI Local Bus Specification 3.0, 3.2.2.3.2). A PCI host that
 * claims 0xCF8-0xCFB hands such bytes to vreset_ops instead of this claim.
 */
#ifndef HV_VDEV_RESET_H
#define HV_VDEV_RESET_H

#include <stdint.h>

#include "bus.h"

struct vreset {
	volatile uint8_t control; /* one byte, stored whole: no lock needed */
};

void vreset_init(struct vreset *r);

/* Its register, for a claim of PLATFORM_RESET_PORT alone (dev: the partition, whose `reset` it is). */
extern const struct vdev_ops vreset_ops;

#endif
