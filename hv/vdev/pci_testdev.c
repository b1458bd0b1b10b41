/* The PCI test device; its registers are in pci_testdev.h. */
#include "pci_testdev.h"

#define BAR_SIZE 0x1000
#define PORTS 16

static uint32_t read_register(struct pci_testdev *t, uint64_t offset)
{
	switch (offset) {
	case TESTDEV_REG_ID: return TESTDEV_ID;
	case TESTDEV_REG_RESULT: return __atomic_load_n(&t->result, __ATOMIC_RELAXED);
	case TESTDEV_REG_INTX: return (uint32_t)__atomic_load_n(&t->pci.intx_level, __ATOMIC_RELAXED);
	default: return 0;
	}
}

static void write_register(struct pci_testdev *t, uint64_t offset, uint32_t value)
{
	if (offset == TESTDEV_REG_DOORBELL)
		__atomic_store_n(&t->result, (uint32_t)pci_notify(&t->pci, value), __ATOMIC_RELAXED);
	else if (offset == TESTDEV_REG_INTX)
		pci_set_intx(&t->pci, 0);
}

/* The bus keeps an access inside the BAR, so offset + size stays within the scratch area. */
static void testdev_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	struct pci_testdev *t = dev;
	uint64_t v = 0;
	unsigned i;

	if (offset < TESTDEV_SCRATCH) {
		*value = size == 4 && offset % 4 == 0 ? read_register(t, offset) : 0;
		return;
	}
	spin_lock(&t->lock);
	for (i = 0; i < size; i++)
		v |= (uint64_t)t->scratch[offset - TESTDEV_SCRATCH + i] << (8 * i);
	spin_unlock(&t->lock);
	*value = v;
}

static void testdev_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct pci_testdev *t = dev;
	unsigned i;

	if (offset < TESTDEV_SCRATCH) {
		if (size == 4 && offset % 4 == 0)
			write_register(t, offset, (uint32_t)value);
		return;
	}
	spin_lock(&t->lock);
	for (i = 0; i < size; i++)
		t->scratch[offset - TESTDEV_SCRATCH + i] = (uint8_t)(value >> (8 * i));
	spin_unlock(&t->lock);
}

/* BAR0, BAR2 and BAR4 alike. */
static const struct vdev_ops testdev_ops = { testdev_read, testdev_write };

static const struct pci_identity identity = {
	.vendor = 0x1234, .device = 0x4876, .subsystem_vendor = 0x1234, .subsystem = 0x0001,
	.class_code = 0xff0000, .revision = 1, .intx_pin = 1,
};

const char *pci_testdev_init(struct pci_testdev *t, struct vpci *pci)
{
	*t = (struct pci_testdev){ .result = ~0u };
	pci_dev_init(&t->pci, &identity);
	if (pci_add_bar(&t->pci, 0, PCI_BAR_MEM32, 0, BAR_SIZE, &testdev_ops, t) ||
	    pci_add_msix(&t->pci, 1, t->msix, TESTDEV_MSIX_VECTORS) ||
	    pci_add_bar(&t->pci, 2, PCI_BAR_IO, 0, PORTS, &testdev_ops, t) ||
	    pci_add_bar(&t->pci, 4, PCI_BAR_MEM64, 1, BAR_SIZE, &testdev_ops, t) || pci_add_msi(&t->pci, 4, 1, 1))
		return "the PCI test device does not fit its header"; /* cannot happen: its layout is fixed */
	return pci_register(pci, &t->pci, TESTDEV_SLOT, 0);
}
