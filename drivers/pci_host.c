/*
 * Host PCI enumeration. Configuration space is reached through ECAM (PCI
 * Express Base Spec 5.0, 7.2.2: bus << 20 | device << 15 | function << 12
 * | offset from the MCFG's base) or, where the firmware gives no MCFG,
 * through configuration mechanism #1 (PCI Local Bus Spec 3.0, 3.2.2.3.2),
 * which reaches the first 256 bytes only.
 *
 * Every bus of the window is probed by brute force, all 32 devices and
 * their functions: it finds what sits behind bridges without following
 * them, and costs a few thousand reads once at boot.
 */
#include "pci_host.h"

#include "acpi.h"
#include "arch.h"
#include "cpu.h"
#include "lib/fmt.h"
#include "lib/spinlock.h"
#include "log.h"

#define HPCI_DEVICES 32
#define HPCI_FUNCTIONS 8
#define ECAM_BUS_SHIFT 20
#define CF8_ENABLE 0x80000000u
#define PORT_CONFIG_ADDRESS 0xcf8
#define PORT_CONFIG_DATA 0xcfc
#define PORT_CONFIG_BYTES 256
#define IO_SPACE_END 0x10000u
#define CAP_HOPS_MAX ((256 - 0x40) / 4) /* a looping list ends after as many capabilities as fit */
#define HEADER_MULTI_FUNCTION 0x80
#define CLASS_STORAGE 0x01

static struct hpci_dev devs[HPCI_HOST_DEVS_MAX];
static unsigned ndevs, nlost;
static const struct hpci_cfg_access *access;

/* ---- the two access methods ---- */

static volatile uint8_t *ecam;
static uint8_t ecam_bus_first, ecam_bus_last;

static volatile void *ecam_at(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	uint64_t at = (uint64_t)bus << ECAM_BUS_SHIFT | (uint64_t)dev << 15 | (uint64_t)fn << 12 | off;

	if (bus < ecam_bus_first || bus > ecam_bus_last)
		return 0;
	return ecam + at;
}

static uint32_t ecam_read(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned width)
{
	volatile void *p = ecam_at(bus, dev, fn, off);

	if (!p)
		return ~0u;
	if (width == 1)
		return *(volatile uint8_t *)p;
	if (width == 2)
		return *(volatile uint16_t *)p;
	return *(volatile uint32_t *)p;
}

static void ecam_write(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned width, uint32_t v)
{
	volatile void *p = ecam_at(bus, dev, fn, off);

	if (!p)
		return;
	if (width == 1)
		*(volatile uint8_t *)p = (uint8_t)v;
	else if (width == 2)
		*(volatile uint16_t *)p = (uint16_t)v;
	else
		*(volatile uint32_t *)p = v;
}

static const struct hpci_cfg_access ecam_access = { ecam_read, ecam_write };

/* The address and data ports are one pair for the whole machine. */
static struct spinlock port_lock;

static uint16_t port_select(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	outl(PORT_CONFIG_ADDRESS, CF8_ENABLE | (uint32_t)bus << 16 | (uint32_t)dev << 11 | (uint32_t)fn << 8 |
					  (off & 0xfcu));
	return (uint16_t)(PORT_CONFIG_DATA + (off & 3));
}

static uint32_t port_read(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned width)
{
	uint32_t v;
	uint16_t port;

	if (off >= PORT_CONFIG_BYTES)
		return ~0u;
	spin_lock(&port_lock);
	port = port_select(bus, dev, fn, off);
	v = width == 1 ? inb(port) : width == 2 ? inw(port) : inl(port);
	spin_unlock(&port_lock);
	return v;
}

static void port_write(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned width, uint32_t v)
{
	uint16_t port;

	if (off >= PORT_CONFIG_BYTES)
		return;
	spin_lock(&port_lock);
	port = port_select(bus, dev, fn, off);
	if (width == 1)
		outb(port, (uint8_t)v);
	else if (width == 2)
		outw(port, (uint16_t)v);
	else
		outl(port, v);
	spin_unlock(&port_lock);
}

static const struct hpci_cfg_access port_access = { port_read, port_write };

/* ---- configuration space of one device ---- */

uint8_t hpci_read8(const struct hpci_dev *d, uint16_t off)
{
	return (uint8_t)access->read(d->bus, d->dev, d->fn, off, 1);
}

uint16_t hpci_read16(const struct hpci_dev *d, uint16_t off)
{
	return (uint16_t)access->read(d->bus, d->dev, d->fn, off, 2);
}

uint32_t hpci_read32(const struct hpci_dev *d, uint16_t off)
{
	return access->read(d->bus, d->dev, d->fn, off, 4);
}

void hpci_write8(const struct hpci_dev *d, uint16_t off, uint8_t v)
{
	access->write(d->bus, d->dev, d->fn, off, 1, v);
}

void hpci_write16(const struct hpci_dev *d, uint16_t off, uint16_t v)
{
	access->write(d->bus, d->dev, d->fn, off, 2, v);
}

void hpci_write32(const struct hpci_dev *d, uint16_t off, uint32_t v)
{
	access->write(d->bus, d->dev, d->fn, off, 4, v);
}

void hpci_enable(const struct hpci_dev *d, uint16_t command_bits)
{
	hpci_write16(d, HPCI_CFG_COMMAND, (uint16_t)(hpci_read16(d, HPCI_CFG_COMMAND) | command_bits));
}

void hpci_disable(const struct hpci_dev *d, uint16_t command_bits)
{
	hpci_write16(d, HPCI_CFG_COMMAND, (uint16_t)(hpci_read16(d, HPCI_CFG_COMMAND) & ~command_bits));
}

uint8_t hpci_next_cap(const struct hpci_dev *d, uint8_t cap_id, uint8_t after)
{
	unsigned hops;
	uint8_t at;

	if (!(hpci_read16(d, HPCI_CFG_STATUS) & HPCI_STATUS_CAPS))
		return 0;
	/* The bottom two bits of each pointer are reserved (PCI 3.0, 6.7). */
	at = hpci_read8(d, after ? (uint16_t)(after + 1) : HPCI_CFG_CAP_PTR) & 0xfc;
	for (hops = 0; at >= 0x40 && hops < CAP_HOPS_MAX; hops++) {
		if (hpci_read8(d, at) == cap_id)
			return at;
		at = hpci_read8(d, (uint16_t)(at + 1)) & 0xfc;
	}
	return 0;
}

uint8_t hpci_find_cap(const struct hpci_dev *d, uint8_t cap_id)
{
	return hpci_next_cap(d, cap_id, 0);
}

/* ---- BARs (PCI Local Bus Spec 3.0, 6.2.5.1) ---- */

/* mask: the address bits the BAR implements; a size that is not a power of two is no BAR. */
static void set_size(struct hpci_bar *bar, uint64_t orig, uint64_t mask)
{
	uint64_t size = ~mask + 1;

	bar->base = orig & mask;
	bar->size = size && !(size & (size - 1)) ? size : 0;
}

static void decode_io(uint32_t orig, uint32_t probe, struct hpci_bar *bar)
{
	uint32_t mask = probe & ~3u;

	bar->io = 1;
	if (!mask)
		return;
	/* A device decoding 16 address bits reads 0 in the upper half. */
	if (!(mask & 0xffff0000u))
		mask |= 0xffff0000u;
	set_size(bar, orig, 0xffffffff00000000ull | mask);
	if (bar->base + bar->size > IO_SPACE_END)
		bar->size = 0;
}

unsigned hpci_bar_decode(const uint32_t orig[2], const uint32_t probe[2], int has_upper, struct hpci_bar *bar)
{
	unsigned type = orig[0] >> 1 & 3;

	*bar = (struct hpci_bar){ 0 };
	if (orig[0] & 1) {
		decode_io(orig[0], probe[0], bar);
		return 1;
	}
	bar->prefetch = (uint8_t)(orig[0] >> 3 & 1);
	if (type == 2) { /* 64-bit: the upper half is the next slot */
		uint64_t mask = (uint64_t)probe[1] << 32 | (probe[0] & ~0xfu);

		if (!has_upper)
			return 1;
		bar->is64 = 1;
		if (mask)
			set_size(bar, (uint64_t)orig[1] << 32 | orig[0], mask);
		return 2;
	}
	/* Type 1 (below 1 MiB, PCI 2.x) is a 32-bit BAR too; type 3 is reserved. */
	if (type != 3 && (probe[0] & ~0xfu))
		set_size(bar, orig[0], 0xffffffff00000000ull | (probe[0] & ~0xfu));
	return 1;
}

static uint32_t probe_dword(const struct hpci_dev *d, uint16_t off, uint32_t *orig)
{
	uint32_t probe;

	*orig = hpci_read32(d, off);
	hpci_write32(d, off, ~0u);
	probe = hpci_read32(d, off);
	hpci_write32(d, off, *orig);
	return probe;
}

/* Decoding is off while a BAR holds all ones, lest it claim addresses it should not. */
static void size_bars(struct hpci_dev *d, unsigned nbars)
{
	uint16_t command = hpci_read16(d, HPCI_CFG_COMMAND);
	unsigned i = 0;

	hpci_write16(d, HPCI_CFG_COMMAND, (uint16_t)(command & ~(HPCI_CMD_IO | HPCI_CMD_MEM)));
	while (i < nbars) {
		uint32_t orig[2] = { 0, 0 }, probe[2] = { 0, 0 };
		uint16_t off = (uint16_t)(HPCI_CFG_BAR0 + 4 * i);
		int has_upper = i + 1 < nbars;

		probe[0] = probe_dword(d, off, &orig[0]);
		if (!(orig[0] & 1) && (orig[0] >> 1 & 3) == 2 && has_upper)
			probe[1] = probe_dword(d, (uint16_t)(off + 4), &orig[1]);
		i += hpci_bar_decode(orig, probe, has_upper, &d->bar[i]);
	}
	hpci_write16(d, HPCI_CFG_COMMAND, command);
}

volatile void *hpci_map_bar(const struct hpci_dev *d, unsigned bar)
{
	const struct hpci_bar *b = bar < HPCI_BARS ? &d->bar[bar] : 0;

	if (!b || b->io || !b->size || !b->base)
		return 0;
	return arch_map_device(b->base, b->size);
}

/* ---- enumeration ---- */

static unsigned bar_slots(uint8_t header_type)
{
	return header_type == 0 ? 6 : header_type == 1 ? 2 : 0; /* endpoint, PCI-to-PCI bridge */
}

static void add_device(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t header_type)
{
	struct hpci_dev *d;
	uint32_t class_rev;

	if (ndevs == HPCI_HOST_DEVS_MAX) {
		nlost++;
		return;
	}
	d = &devs[ndevs++];
	*d = (struct hpci_dev){ .bus = bus, .dev = dev, .fn = fn };
	d->vendor = hpci_read16(d, HPCI_CFG_VENDOR);
	d->device = hpci_read16(d, HPCI_CFG_VENDOR + 2);
	class_rev = hpci_read32(d, HPCI_CFG_CLASS_REV);
	d->class_code = (uint8_t)(class_rev >> 24);
	d->subclass = (uint8_t)(class_rev >> 16);
	d->prog_if = (uint8_t)(class_rev >> 8);
	d->revision = (uint8_t)class_rev;
	d->header_type = header_type & 0x7f;
	d->irq_pin = hpci_read8(d, HPCI_CFG_INT_LINE + 1);
	d->msi_cap = hpci_find_cap(d, HPCI_CAP_MSI);
	d->msix_cap = hpci_find_cap(d, HPCI_CAP_MSIX);
	size_bars(d, bar_slots(d->header_type));
}

static void scan_slot(uint8_t bus, uint8_t dev)
{
	uint8_t fn, nfn = 1;

	for (fn = 0; fn < nfn; fn++) {
		uint8_t header_type;

		if ((uint16_t)access->read(bus, dev, fn, HPCI_CFG_VENDOR, 2) == 0xffff)
			continue;
		header_type = (uint8_t)access->read(bus, dev, fn, HPCI_CFG_HEADER_TYPE, 1);
		if (fn == 0 && (header_type & HEADER_MULTI_FUNCTION))
			nfn = HPCI_FUNCTIONS;
		add_device(bus, dev, fn, header_type);
	}
}

void hpci_scan(const struct hpci_cfg_access *cfg, uint8_t bus_first, uint8_t bus_last)
{
	unsigned bus, dev;

	access = cfg;
	ndevs = nlost = 0;
	for (bus = bus_first; bus <= bus_last; bus++)
		for (dev = 0; dev < HPCI_DEVICES; dev++)
			scan_slot((uint8_t)bus, (uint8_t)dev);
}

unsigned hpci_count(void)
{
	return ndevs;
}

struct hpci_dev *hpci_get(unsigned index)
{
	return index < ndevs ? &devs[index] : 0;
}

struct hpci_dev *hpci_next(unsigned *index, uint8_t class_code, uint8_t subclass, int prog_if)
{
	while (*index < ndevs) {
		struct hpci_dev *d = &devs[(*index)++];

		if (d->class_code == class_code && d->subclass == subclass && (prog_if < 0 || d->prog_if == prog_if))
			return d;
	}
	return 0;
}

/* ---- the boot log ---- */

static const char *storage_kind(const struct hpci_dev *d)
{
	if (d->vendor == 0x1af4 && (d->device == 0x1001 || d->device == 0x1042))
		return "virtio-blk";
	switch (d->subclass) {
	case 0x01: return "IDE";
	case 0x05: return "ATA";
	case 0x06: return d->prog_if == 0x01 ? "SATA AHCI" : "SATA";
	case 0x08: return d->prog_if == 0x02 ? "NVMe" : "NVM";
	default: return "storage";
	}
}

/* The first memory BAR, else the first I/O BAR: where its registers are. */
static void describe_registers(const struct hpci_dev *d, char *out, size_t size)
{
	const struct hpci_bar *b = 0;
	unsigned i;

	for (i = 0; i < HPCI_BARS; i++)
		if (d->bar[i].size && (!b || (b->io && !d->bar[i].io)))
			b = &d->bar[i];
	if (!b)
		fmt(out, size, "no BARs");
	else if (b->io)
		fmt(out, size, "I/O 0x%llx (%llu bytes)", (unsigned long long)b->base, (unsigned long long)b->size);
	else
		fmt(out, size, "memory 0x%llx (%llu KiB)", (unsigned long long)b->base,
		    (unsigned long long)(b->size >> 10));
}

static void log_storage(const struct hpci_dev *d)
{
	char registers[48];

	describe_registers(d, registers, sizeof(registers));
	log_info("pci: %02x:%02x.%u %04x:%04x class %02x.%02x.%02x %s%s%s, %s", d->bus, d->dev, d->fn, d->vendor,
		 d->device, d->class_code, d->subclass, d->prog_if, storage_kind(d), d->msix_cap ? ", MSI-X" : "",
		 d->msi_cap ? ", MSI" : "", registers);
}

/* ECAM for segment 0, when the MCFG has a window for it that can be mapped. */
static int use_ecam(uint8_t *bus_first, uint8_t *bus_last)
{
	struct acpi_mcfg mcfg;
	const struct acpi_ecam *e = 0;
	uint32_t i;

	if (acpi_read_mcfg(&mcfg))
		return -1;
	for (i = 0; i < mcfg.count && !e; i++)
		if (mcfg.ecam[i].segment == 0)
			e = &mcfg.ecam[i];
	if (!e)
		return -1;
	if (!arch_map_device(e->base + ((uint64_t)e->bus_start << ECAM_BUS_SHIFT),
			     (uint64_t)(e->bus_end - e->bus_start + 1) << ECAM_BUS_SHIFT))
		return -1;
	ecam = (volatile uint8_t *)(uintptr_t)e->base;
	*bus_first = ecam_bus_first = e->bus_start;
	*bus_last = ecam_bus_last = e->bus_end;
	log_info("pci: ECAM at 0x%llx, buses %u-%u (ACPI MCFG)", (unsigned long long)e->base, e->bus_start,
		 e->bus_end);
	return 0;
}

void hpci_init(void)
{
	uint8_t first = 0, last = 255;
	unsigned i, storage = 0;

	if (use_ecam(&first, &last) == 0) {
		hpci_scan(&ecam_access, first, last);
	} else {
		log_info("pci: no usable ACPI MCFG; configuration mechanism #1 (ports 0xcf8/0xcfc), 256 bytes a function");
		hpci_scan(&port_access, 0, 255);
	}
	for (i = 0; i < ndevs; i++)
		if (devs[i].class_code == CLASS_STORAGE) {
			log_storage(&devs[i]);
			storage++;
		}
	log_info("pci: %u functions, %u of them storage controllers", ndevs, storage);
	if (nlost)
		log_warn("pci: %u more functions past the table's %u are ignored", nlost, HPCI_HOST_DEVS_MAX);
}
