/*
 * The hypervisor's driver of a virtio-blk disk (virtio 1.2, 5.2) on PCI,
 * for a host that is itself a virtual machine: each virtio-blk function the
 * host PCI scan found (1AF4:1042, or the transitional 1AF4:1001 when it has
 * the modern interface's capabilities) is registered as a block device
 * (drivers/block.h) named vblk<n>. Not the partitions' virtio-blk device,
 * which is hv/vdev/virtio_blk.h.
 */
#ifndef DRIVERS_VIRTIO_BLK_HOST_H
#define DRIVERS_VIRTIO_BLK_HOST_H

/* After hpci_init(); logs each device, the features negotiated and its disk, or why one is left out. */
void virtio_blk_host_init(void);

#endif
