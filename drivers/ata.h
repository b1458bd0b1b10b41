/* The ATA/IDE driver with bus-master DMA: the disks of a PCI IDE controller's channels as block devices. */
#ifndef DRIVERS_ATA_H
#define DRIVERS_ATA_H

#include <stdint.h>

/*
 * Takes over the channels of each PCI IDE controller among the host's PCI
 * devices (class 01:01; after hpci_init) that has a bus master (BAR4):
 * resets each channel, identifies master and slave and registers each ATA
 * disk (blk_register) as "ide<N>m" or "ide<N>s", N counting channels.
 * ATAPI devices and empty positions are logged and skipped. Returns the
 * disks registered.
 */
unsigned ata_init(void);

#endif
