/* The AHCI (SATA) host controller driver: each SATA disk behind it as a block device. */
#ifndef DRIVERS_AHCI_H
#define DRIVERS_AHCI_H

#include <stdint.h>

/*
 * Takes over each AHCI controller among the host's PCI devices (class
 * 01:06:01; after hpci_init): resets it, starts each implemented port with
 * a SATA disk behind it, identifies the disk and registers it
 * (blk_register) as "ahci<N>p<port>". ATAPI devices, port multipliers and
 * empty ports are logged and skipped. Returns the disks registered.
 */
unsigned ahci_init(void);

#endif
