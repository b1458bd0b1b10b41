/*
 * The PCI test device, for the platform's end-to-end tests: present only
 * in a partition whose hv.cfg says `test_devices = yes`, at 00:01.0.
 *
 * Identity: vendor 0x1234, device 0x4876 (this hypervisor's own; QEMU's
 * pci-testdev 1b36:0005 has another register layout, which test kernels
 * such as kvm-unit-tests' drive, so its identity is not borrowed),
 * subsystem 1234:0001, revision 1, class 0xFF0000 (no class), INTA#
 * (GSI 16 + (1 + 1 - 1) % 8 = 17).
 *
 * BAR0, 32-bit memory, 4 KiB:
 *   0x000  ID        read-only, 0x44545648 ("HVTD")
 *   0x004  DOORBELL  a write of N calls pci_notify(N): MSI-X entry N if
 *                    MSI-X is on, else MSI message N (folded onto those
 *                    enabled), else INTA# asserted; reads 0
 *   0x008  RESULT    what the last doorbell did: 0 sent, 1 pending (masked),
 *                    2 INTA# asserted, 3 dropped (no bus mastering, no
 *                    such MSI-X entry, or a message naming no vCPU);
 *                    0xFFFFFFFF before the first
 *   0x00C  INTX      reads 1 while INTA# is asserted; a write deasserts it
 *   0x010-0x7FF      read 0, writes ignored
 *   0x800-0xFFF      SCRATCH: 2 KiB that read back what was written, by
 *                    accesses of any size at any offset (zero at start)
 *   The registers below 0x800 take 32-bit accesses at their offsets;
 *   other accesses there read 0 and are ignored.
 * BAR1, 32-bit memory, 4 KiB: the MSI-X table (8 entries) at 0, its PBA at 0x800.
 * BAR2, I/O, 16 ports: BAR0's 0x000-0x00F.
 * BAR4, 64-bit prefetchable memory, 4 KiB: the same registers and scratch as BAR0.
 * Capabilities: MSI (64-bit, 4 messages, per-vector masking), MSI-X.
 */
#ifndef HV_VDEV_PCI_TESTDEV_H
#define HV_VDEV_PCI_TESTDEV_H

#include <stdint.h>

#include "lib/spinlock.h"
#include "pci.h"

#define TESTDEV_SLOT 1
#define TESTDEV_ID 0x44545648u
#define TESTDEV_MSIX_VECTORS 8
#define TESTDEV_SCRATCH 0x800
#define TESTDEV_SCRATCH_SIZE 0x800

enum testdev_reg { TESTDEV_REG_ID = 0x0, TESTDEV_REG_DOORBELL = 0x4, TESTDEV_REG_RESULT = 0x8, TESTDEV_REG_INTX = 0xc };

struct pci_testdev {
	struct pci_dev pci;
	struct pci_msix_entry msix[TESTDEV_MSIX_VECTORS];
	struct spinlock lock; /* of the scratch area */
	uint32_t result;      /* RESULT */
	uint8_t scratch[TESTDEV_SCRATCH_SIZE];
};

/* Set up afresh and registered at 00:01.0 on pci; NULL or why not. */
const char *pci_testdev_init(struct pci_testdev *t, struct vpci *pci);

#endif
