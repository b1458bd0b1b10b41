/*
 * A partition's PCI segment 0 (PCI Local Bus Specification 3.0, "PCI";
 * PCI Express Base Specification 3.0, 7.2.2 for ECAM): bus 0, 32 devices
 * of 8 functions, whose configuration spaces two mechanisms reach alike:
 *
 *   - configuration mechanism #1 (PCI 3.0, 3.2.2.3.2): CONFIG_ADDRESS, a
 *     32-bit register at 0xCF8 (enable bit 31, bus 23:16, device 15:11,
 *     function 10:8, register 7:2) that only 32-bit accesses reach (others
 *     go to whatever else decodes those ports, such as the reset register
 *     at 0xCF9, or to nobody); CONFIG_DATA at 0xCFC-0xCFF, any size at any
 *     offset within the dword, all-ones and ignored while bit 31 is clear;
 *   - ECAM at PLATFORM_ECAM_BASE: 1 MiB per bus, 4 KiB per function, for
 *     PLATFORM_ECAM_BUSES buses; the extended part (0x100-0xFFF) reads 0
 *     and ignores writes, as no device has an extended capability.
 *
 * Functions nobody registered, and buses other than 0, read all-ones.
 * The host bridge sits at 00:00.0 with an Intel Q35 (82G33 DRAM
 * controller) identity, 8086:29C0, class 0x0600.
 *
 * A device is a struct pci_dev inside the device's own struct, set up
 * before the partition runs with pci_dev_init(), pci_add_bar(),
 * pci_add_capability(), pci_add_msi() and pci_add_msix(), then put at a
 * device/function with pci_register(). Its type-0 header holds what
 * pci_identity says; read-only fields stay whatever is written, status's
 * error bits are write-1-to-clear. A BAR is an I/O, 32-bit or 64-bit
 * memory range whose size is a power of two, served by the vdev_ops the
 * device gives for it: when the guest writes the BAR (all-ones reads back
 * its size) or switches the command register's I/O or memory decode, the
 * range is given back and claimed again on the partition's bus. A range
 * that would lie over RAM, another claim (the I/O APIC, ECAM, the ports
 * of other devices) or the local APICs' page is not decoded, said through
 * the partition's rate-limited guest log; the BAR keeps what the guest
 * wrote, and decodes once written or switched on again somewhere free.
 *
 * Interrupts: pci_notify(dev, vector) sends MSI-X table entry `vector` if
 * MSI-X is on, else MSI message `vector` (folded onto the messages the
 * guest enabled), else asserts the function's INTx pin, which stays
 * asserted until pci_set_intx(dev, 0). MSI and MSI-X need the command
 * register's bus-master bit; a masked vector (MSI-X's function mask or
 * the entry's, an MSI per-vector mask) sets its pending bit and is sent
 * once unmasked. Messages are decoded by irq_msi_decode() and given to
 * irq_deliver(): one that names no vCPU of the partition, or is not an
 * interrupt message at all, is dropped and logged (rate-limited), never
 * delivered elsewhere. INTx pin P (1 = INTA#) of device S reaches the
 * I/O APIC's GSI 16 + (S + P - 1) % 8 (pci_intx_gsi(), which the ACPI
 * _PRT must describe); functions sharing a GSI are wired-OR.
 *
 * At the partition's start the hypervisor plays the firmware
 * (vpci_start()): it gives each BAR a naturally aligned address, memory
 * BARs (64-bit ones too) in [PLATFORM_MMIO_BASE, PLATFORM_ECAM_BASE), I/O
 * BARs from PCI_IO_BASE, turns on I/O and memory decoding and bus
 * mastering, and writes the GSI in the interrupt line register; Linux
 * keeps what firmware assigned.
 *
 * Locks: the segment's lock covers every function's configuration space,
 * MSI and MSI-X state and INTx; it is taken after a device's own lock and
 * before the bus's and the I/O APIC's. MSI and MSI-X messages go to the
 * local APICs after it is dropped. pci.c never calls a device's code while
 * holding it, so a device may call pci_notify() and pci_set_intx() under
 * its own lock.
 */
#ifndef HV_VDEV_PCI_H
#define HV_VDEV_PCI_H

#include <stdint.h>

#include "bus.h"
#include "lib/spinlock.h"
#include "platform.h"

#define PCI_SLOTS 32
#define PCI_FUNCTIONS (PCI_SLOTS * 8) /* of bus 0; devfn: device << 3 | function */
#define PCI_HEADER_SPACE 256           /* the PCI-compatible part of a 4 KiB config space */
#define PCI_BARS 6
#define PCI_MSIX_VECTORS_MAX 128
#define PCI_MSIX_BAR_SIZE 0x1000 /* an MSI-X BAR: the table at 0, the PBA at PCI_MSIX_PBA */
#define PCI_MSIX_PBA 0x800
#define PCI_IO_BASE 0xc000 /* the firmware's I/O BARs: 0xC000-0xFFFF */

enum pci_bar_kind {
	PCI_BAR_NONE,
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64,
	PCI_BAR_UPPER, /* the upper half of the 64-bit BAR below it */
};

struct pci_bar {
	enum pci_bar_kind kind;
	uint64_t size;
	const struct vdev_ops *ops; /* offsets from the BAR's address */
	void *dev;
	struct vdev_range held;     /* what it holds on the partition's bus */
	struct vdev_range asked;    /* the decode last asked for: held, or refused */
};

/* An MSI-X table entry (PCI 3.0, 6.8.2.6-9); after reset masked. */
struct pci_msix_entry {
	uint32_t address_lo, address_hi, data, control;
	uint8_t pending;
};

struct pci_identity {
	uint16_t vendor, device, subsystem_vendor, subsystem;
	uint32_t class_code; /* base class, subclass, programming interface: 0xBBSSPP */
	uint8_t revision;
	uint8_t intx_pin;    /* 0: none; 1-4: INTA#-INTD# */
};

struct vpci;

struct pci_dev {
	struct vpci *pci; /* from pci_register() on */
	uint8_t devfn;
	uint8_t config[PCI_HEADER_SPACE];
	uint8_t wmask[PCI_HEADER_SPACE]; /* bits a write sets */
	uint8_t w1c[PCI_HEADER_SPACE];   /* bits a 1 written clears */
	uint8_t cap_next, cap_last;      /* where the next capability goes (0: full), the last one */
	uint8_t msi, msix;               /* their capabilities, 0: none */
	struct pci_bar bar[PCI_BARS];
	struct pci_msix_entry *msix_table;
	unsigned msix_count;
	int intx_level;                  /* the device's: asserted or not */
	int intx_line;                   /* counted as asserting its GSI */
};

struct vpci {
	struct spinlock lock;
	struct partition *part;
	uint32_t address;                /* CONFIG_ADDRESS */
	struct pci_dev *fn[PCI_FUNCTIONS];
	uint8_t gsi_asserted[PLATFORM_PCI_GSIS]; /* functions asserting GSI PLATFORM_PCI_GSI_BASE + i */
	struct pci_dev host_bridge;
};

/* ---- the segment of a partition */

/* At each start, before its devices register: the host bridge, the ports and ECAM claimed; NULL or why not. */
const char *vpci_init(struct vpci *pci, struct partition *p);
/* Once its devices have registered: BARs placed and decoded, as firmware leaves them; NULL or why not. */
const char *vpci_start(struct vpci *pci);

/* ---- a device's function: set up, then registered */

void pci_dev_init(struct pci_dev *d, const struct pci_identity *id);
/*
 * BAR index (a 64-bit one takes index + 1 too) of size bytes, a power of
 * two (I/O: 4-256; memory: from 16, 32-bit: up to 2 GiB), served by ops
 * with dev; prefetchable for memory only. 0, or -1 if it cannot be.
 */
int pci_add_bar(struct pci_dev *d, unsigned index, enum pci_bar_kind kind, int prefetchable, uint64_t size,
		const struct vdev_ops *ops, void *dev);
/* A capability with id and body (after its ID and next pointer), read-only; its offset, or 0 if it does not fit. */
unsigned pci_add_capability(struct pci_dev *d, uint8_t id, const uint8_t *body, unsigned len);
/* MSI with vectors messages (1, 2, 4 ... 32), 64-bit addresses or not, per-vector masks or not; 0 or -1. */
int pci_add_msi(struct pci_dev *d, unsigned vectors, int addr64, int maskable);
/* MSI-X with count (1-PCI_MSIX_VECTORS_MAX) entries in table, served in BAR index (32-bit memory, PCI_MSIX_BAR_SIZE); 0 or -1. */
int pci_add_msix(struct pci_dev *d, unsigned index, struct pci_msix_entry *table, unsigned count);
/* At device slot, function fn of bus 0; NULL or why not. */
const char *pci_register(struct vpci *pci, struct pci_dev *d, unsigned slot, unsigned fn);

/* ---- a device's interrupts */

enum pci_notify_result {
	PCI_NOTIFY_SENT,    /* an MSI or MSI-X message reached the partition's local APICs */
	PCI_NOTIFY_PENDING, /* masked: its pending bit is set */
	PCI_NOTIFY_INTX,    /* neither is on: the INTx pin is asserted */
	PCI_NOTIFY_DROPPED, /* no bus mastering, no such vector, no INTx pin, or a message to nowhere (logged) */
};

enum pci_notify_result pci_notify(struct pci_dev *d, unsigned vector);
/* The function's INTx pin, 1 asserted; the line stays low while disabled in the command register or MSI(-X) is on. */
void pci_set_intx(struct pci_dev *d, int level);
/* The GSI of device slot's pin (1 = INTA#): 16 + (slot + pin - 1) % 8. */
unsigned pci_intx_gsi(unsigned slot, unsigned pin);

#endif
