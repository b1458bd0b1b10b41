/* libFuzzer target: a guest's configuration, BAR and port accesses to a
 * partition's PCI segment (the host bridge, the test device and a function
 * with a 32-bit MSI and an I/O BAR), with device events between them.
 * Each 7 bytes of input are one access or event. After each: no claim on the bus
 * lies over RAM or the local APICs' page, each GSI the segment drives is
 * asserted exactly while some function asserts it, and no message reaches
 * a vCPU the partition does not have. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "partition.h"
#include "vdev/irq.h"
#include "vdev/pci.h"
#include "vdev/pci_testdev.h"
#include "vdev/platform.h"

#define RAM (64ull << 20)
#define VCPUS 2

static struct cfg_partition cfg = { .name = "fuzz", .test_devices = 1 };
static struct partition part;
static struct pci_dev other;
static int lines[IRQ_GSIS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void partition_log_guest(struct partition *p, enum log_level level, const char *f, ...)
{
	(void)p;
	(void)level;
	(void)f;
}

void irq_set_line(struct partition *p, unsigned gsi, int level)
{
	if (p != &part || gsi >= IRQ_GSIS || lines[gsi] == level)
		abort(); /* a line is told only of changes */
	lines[gsi] = level;
}

/* PCI lines are GSIs 16-23: an ISA line (the 8259 pair's) is never the PCI segment's to raise. */
void pic_set_irq(struct partition *p, unsigned irq, int level)
{
	(void)p;
	(void)irq;
	(void)level;
	abort();
}

int irq_deliver(struct partition *p, const struct irq_msg *m)
{
	if (p != &part)
		abort();
	return m->logical ? ((m->dest & 3) ? 0 : -1) : (m->dest < VCPUS || m->dest == 0xff ? 0 : -1);
}

static void port_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	(void)dev;
	(void)size;
	*value = offset;
}

static void port_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	(void)dev;
	(void)offset;
	(void)size;
	(void)value;
}

static const struct vdev_ops ports = { port_read, port_write };

static void start(void)
{
	static const struct pci_identity id = { .vendor = 0x1234, .device = 0x5, .intx_pin = 2 };

	/* The segment reads only these of its partition, and the bus, the segment
	 * and the test device are set up whole below: zeroing the rest of
	 * struct partition (over 170 KiB) at each start is needless work. */
	part.cfg = &cfg;
	part.ram_size = RAM;
	for (unsigned i = 0; i < IRQ_GSIS; i++)
		lines[i] = 0;
	vdev_bus_init(&part.bus);
	pci_dev_init(&other, &id);
	if (vpci_init(&part.pci, &part) || pci_testdev_init(&part.testdev, &part.pci) ||
	    pci_add_bar(&other, 0, PCI_BAR_IO, 0, 64, &ports, &other) || pci_add_msi(&other, 2, 0, 0) ||
	    pci_register(&part.pci, &other, 9, 3) || vpci_start(&part.pci))
		abort();
}

static void check(void)
{
	unsigned i, n[8] = { 0 };

	for (i = 0; i < part.bus.count; i++) {
		const struct vdev_claim *c = &part.bus.claims[i];
		if (c->space == VDEV_MMIO && (platform_is_ram(RAM, c->first) || platform_is_ram(RAM, c->last) ||
					      (c->first < PLATFORM_LAPIC_BASE + 0x1000 && c->last >= PLATFORM_LAPIC_BASE)))
			abort();
	}
	for (i = 0; i < PCI_FUNCTIONS; i++) {
		const struct pci_dev *d = part.pci.fn[i];
		if (d && d->intx_line)
			n[pci_intx_gsi(i >> 3, d->config[0x3d]) - 16]++;
	}
	for (i = 0; i < 8; i++)
		if (n[i] != part.pci.gsi_asserted[i] || lines[16 + i] != (n[i] > 0))
			abort();
}

static const unsigned sizes[] = { 1, 2, 4, 8 };

/* op: kind, size and write bits; at: an address's low bits; v: the value, and where in a window. */
static void access(uint8_t op, uint16_t at, uint32_t v)
{
	uint64_t value = v, windows[4] = { PLATFORM_MMIO_BASE, 0xd0000000ull, PLATFORM_ECAM_BASE, (uint64_t)v << 12 };
	unsigned size = sizes[(op >> 3) & 3], write = (op >> 5) & 1;

	switch (op & 7) {
	case 0: /* CONFIG_ADDRESS, mostly enabled */
		value = v | (op & 0x40 ? 0 : 0x80000000u);
		vdev_port_access(&part, PLATFORM_PCI_CONFIG_PORT, 4, 1, &value);
		break;
	case 1:
		vdev_port_access(&part, (uint16_t)(PLATFORM_PCI_CONFIG_PORT + (at & 7)), size > 4 ? 4 : size, write,
				 &value);
		break;
	case 2: /* ECAM, mostly bus 0 */
		vdev_mmio_access(&part, PLATFORM_ECAM_BASE + ((uint64_t)(op & 0x40 ? at >> 8 : 0) << 20) + (v & 0xfffff),
				 size, write, &value);
		break;
	case 3:
		vdev_mmio_access(&part, windows[at & 3] + (at >> 2), size, write, &value);
		break;
	case 4:
		vdev_port_access(&part, at, size > 4 ? 4 : size, write, &value);
		break;
	case 5:
		pci_notify(op & 0x40 ? &other : &part.testdev.pci, v & 0x1f);
		break;
	case 6:
		pci_set_intx(op & 0x40 ? &other : &part.testdev.pci, v & 1);
		break;
	default:
		start(); /* the partition restarts */
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	start();
	for (; size >= 7; data += 7, size -= 7) {
		access(data[0], (uint16_t)(data[1] | data[2] << 8),
		       (uint32_t)data[3] | (uint32_t)data[4] << 8 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 24);
		check();
	}
	return 0;
}
