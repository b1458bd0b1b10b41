/*
 * The host's PCI devices, as the storage drivers see them: found once at
 * boot through ECAM (the ACPI MCFG's windows) or, without an MCFG, through
 * configuration mechanism #1 (ports 0xCF8/0xCFC), with their BARs sized
 * and their MSI and MSI-X capabilities located. Segment 0 only. Names
 * start with hpci_ ("host PCI"), apart from the guests' hv/vdev/pci.h.
 */
#ifndef DRIVERS_PCI_HOST_H
#define DRIVERS_PCI_HOST_H

#include <stdint.h>

#define HPCI_HOST_DEVS_MAX 128
#define HPCI_BARS 6

/* Configuration space header (PCI Local Bus Spec 3.0, 6.1). */
#define HPCI_CFG_VENDOR 0x00
#define HPCI_CFG_COMMAND 0x04
#define HPCI_CFG_STATUS 0x06
#define HPCI_CFG_CLASS_REV 0x08
#define HPCI_CFG_HEADER_TYPE 0x0e
#define HPCI_CFG_BAR0 0x10
#define HPCI_CFG_CAP_PTR 0x34
#define HPCI_CFG_INT_LINE 0x3c

#define HPCI_CMD_IO (1u << 0)
#define HPCI_CMD_MEM (1u << 1)
#define HPCI_CMD_MASTER (1u << 2)
#define HPCI_CMD_INTX_OFF (1u << 10)
#define HPCI_STATUS_CAPS (1u << 4)

#define HPCI_CAP_MSI 0x05
#define HPCI_CAP_MSIX 0x11

struct hpci_bar {
	uint64_t base;    /* bus address (memory, as the firmware assigned it) or I/O port */
	uint64_t size;    /* bytes; 0: no BAR here (absent, or what it reported makes no sense) */
	uint8_t io;       /* I/O space */
	uint8_t is64;     /* a 64-bit memory BAR (the next slot is its upper half) */
	uint8_t prefetch;
};

struct hpci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint8_t class_code, subclass, prog_if, revision;
	uint8_t header_type; /* bit 7 (multi-function) cleared */
	uint8_t irq_pin;     /* 0: none, 1..4: INTA..INTD */
	uint8_t msi_cap;     /* config offsets of the capabilities; 0: absent */
	uint8_t msix_cap;
	struct hpci_bar bar[HPCI_BARS];
};

/*
 * How configuration space is reached; width 1, 2 or 4 bytes, naturally
 * aligned offset. A read of a function that does not exist returns all ones.
 */
struct hpci_cfg_access {
	uint32_t (*read)(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned width);
	void (*write)(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned width, uint32_t v);
};

/* Finds the host's devices (ECAM from the MCFG, else port I/O) and logs the storage controllers. */
void hpci_init(void);
/* The same over a given access method and bus range; what hpci_init and the unit tests run. */
void hpci_scan(const struct hpci_cfg_access *cfg, uint8_t bus_first, uint8_t bus_last);

unsigned hpci_count(void);
struct hpci_dev *hpci_get(unsigned index);
/* The next device after *index (start at 0) of this class and subclass (prog_if < 0: any); NULL at the end. */
struct hpci_dev *hpci_next(unsigned *index, uint8_t class_code, uint8_t subclass, int prog_if);

uint8_t hpci_read8(const struct hpci_dev *d, uint16_t off);
uint16_t hpci_read16(const struct hpci_dev *d, uint16_t off);
uint32_t hpci_read32(const struct hpci_dev *d, uint16_t off);
void hpci_write8(const struct hpci_dev *d, uint16_t off, uint8_t v);
void hpci_write16(const struct hpci_dev *d, uint16_t off, uint16_t v);
void hpci_write32(const struct hpci_dev *d, uint16_t off, uint32_t v);

/* Sets bits (HPCI_CMD_*) in the command register: decoding, bus mastering, INTx off. */
void hpci_enable(const struct hpci_dev *d, uint16_t command_bits);
/*
 * Clears them. Without HPCI_CMD_MASTER the function can no longer read or
 * write memory, message interrupts included (PCI Local Bus Spec 3.0,
 * 6.2.2): what a driver does to a device that may still be running
 * commands into buffers it has given back.
 */
void hpci_disable(const struct hpci_dev *d, uint16_t command_bits);
/* The config offset of the first capability with this ID; 0 when there is none. */
uint8_t hpci_find_cap(const struct hpci_dev *d, uint8_t cap_id);
/* The same for the next one in the list after the capability at after (0: from the list's start). */
uint8_t hpci_next_cap(const struct hpci_dev *d, uint8_t cap_id, uint8_t after);
/* A memory BAR mapped uncacheable; NULL for an I/O or absent BAR or when it cannot be mapped. */
volatile void *hpci_map_bar(const struct hpci_dev *d, unsigned bar);

/*
 * Pure BAR decoding: orig is what the BAR held, probe what it read after
 * all ones were written (for a 64-bit BAR, [1] is the upper dword's; has_upper
 * says whether a slot for it exists). Returns the slots used, 1 or 2.
 */
unsigned hpci_bar_decode(const uint32_t orig[2], const uint32_t probe[2], int has_upper, struct hpci_bar *bar);

#endif
