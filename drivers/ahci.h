/* The AHCI (SATA) host controller driver: each SATA disk behind it as a block device. */
#ifndef DRIVERS_AHCI_H
#define DRIVERS_AHCI_H

#include <stdint.h>

/*
 * Takes over the HBA whose registers (ABAR, BAR5) are mapped uncached at
 * abar: resets it, starts each implemented port with a SATA disk behind
 * it, identifies the disk and registers it (blk_register) as
 * "ahci<N>p<port>". ATAPI devices, port multipliers and empty ports are
 * logged and skipped. `where` names the controller in the log. Returns
 * the disks registered.
 */
unsigned ahci_attach(volatile void *abar, const char *where);

#endif
