/*
 * The hypervisor's NVMe driver: each NVMe controller the host PCI scan
 * found (class 01.08.02) is reset and enabled, and each of its active
 * namespaces registered as a block device (drivers/block.h) named
 * nvme<controller>n<nsid>.
 */
#ifndef DRIVERS_NVME_H
#define DRIVERS_NVME_H

/* After hpci_init(); logs each controller and namespace, or why one is left out. */
void nvme_init(void);

#endif
