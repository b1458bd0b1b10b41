/*
 * Message signalled interrupts of the host's PCI devices: the MSI and
 * MSI-X capabilities read (PCI Local Bus Spec 3.0, 6.8.1 and 6.8.2), the
 * message an x86 CPU takes (Intel SDM Vol. 3A, 11.11), and the routing of
 * a disk controller's completions to the host's disk vector.
 */
#ifndef DRIVERS_PCI_MSI_H
#define DRIVERS_PCI_MSI_H

#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "pci_host.h"

/* Capability offsets (6.8.1, 6.8.2). */
#define HPCI_MSI_CONTROL 0x02
#define HPCI_MSI_ADDRESS 0x04
#define HPCI_MSIX_TABLE 0x04
#define HPCI_MSIX_PBA 0x08

#define HPCI_MSI_ENABLE (1u << 0)
#define HPCI_MSI_MME_MASK (7u << 4) /* multiple message enable: 0, one vector */
#define HPCI_MSI_64BIT (1u << 7)
#define HPCI_MSI_PER_VECTOR_MASK (1u << 8)
#define HPCI_MSIX_FUNCTION_MASK (1u << 14)
#define HPCI_MSIX_ENABLE (1u << 15)
#define HPCI_MSIX_ENTRY_SIZE 16
#define HPCI_MSIX_ENTRY_MASKED (1u << 0) /* vector control */

struct hpci_msi_msg {
	uint64_t address;
	uint32_t data;
};

struct hpci_msi_info {
	uint8_t is64;            /* a 64-bit message address */
	uint8_t per_vector_mask; /* mask bits present */
	uint8_t data_off, mask_off; /* in the capability */
};

struct hpci_msix_info {
	uint16_t vectors;  /* table entries */
	uint8_t table_bar, pba_bar;
	uint32_t table_off, pba_off; /* in their BARs */
};

/*
 * The message that interrupts the CPU with this local APIC ID at vector:
 * fixed delivery, edge-triggered, physical destination mode (SDM 11.11.1,
 * 11.11.2). -1 for an ID above 255, which no message reaches without
 * interrupt remapping.
 */
int hpci_msi_compose(uint32_t apic_id, uint8_t vector, struct hpci_msi_msg *m);

/* The capabilities' fields; -1 when the device has none. */
int hpci_msi_info(const struct hpci_dev *d, struct hpci_msi_info *info);
int hpci_msix_info(const struct hpci_dev *d, struct hpci_msix_info *info);

/* One MSI vector carrying m, unmasked, MSI on; -1 without the capability. */
int hpci_msi_route(const struct hpci_dev *d, const struct hpci_msi_msg *m);
/* Table entry 0 carrying m, unmasked, MSI-X on (the other entries stay masked); NULL, or why not. */
const char *hpci_msix_route(const struct hpci_dev *d, const struct hpci_msi_msg *m);

/* The kinds of message a driver takes (bits), in the order it prefers them: MSI-X first. */
#define HPCI_TAKE_MSIX (1u << 0)
#define HPCI_TAKE_MSI (1u << 1)

/*
 * Routes the controller's completions to the host's disk vector on CPU 0:
 * by MSI-X entry 0 or a single MSI vector, of those take allows. Returns
 * BLK_MSIX, BLK_MSI or BLK_POLLED; mode names it for the boot log ("MSI-X",
 * "MSI", or "polled (why)").
 */
#define HPCI_MODE_TEXT 96
enum blk_irq hpci_route_disk_irq(const struct hpci_dev *d, unsigned take, char *mode, size_t size);

#endif
