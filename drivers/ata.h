/* The ATA/IDE driver with bus-master DMA: the disks of a PCI IDE controller's channels as block devices. */
#ifndef DRIVERS_ATA_H
#define DRIVERS_ATA_H

#include <stdint.h>

/* A channel's I/O ports: its command block, its control block's alternate status register, its bus master block. */
struct ata_channel_ports {
	uint16_t cmd;  /* 0x1f0 / 0x170 in compatibility mode, else BAR0 / BAR2 */
	uint16_t ctrl; /* 0x3f6 / 0x376, else BAR1 / BAR3 + 2 */
	uint16_t bm;   /* BAR4, + 8 for the secondary channel */
};

/*
 * Takes over one channel: resets it, identifies master and slave and
 * registers each ATA disk (blk_register) as "ide<N>m" or "ide<N>s", N
 * counting channels. ATAPI devices and empty positions are logged and
 * skipped. The controller's PCI function has I/O decoding and bus
 * mastering on. `where` names it in the log. Returns the disks registered.
 */
unsigned ata_attach_channel(const struct ata_channel_ports *ports, const char *where);

#endif
