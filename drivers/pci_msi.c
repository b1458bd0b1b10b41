/* MSI and MSI-X of the host's PCI devices (pci_msi.h). */
#include "pci_msi.h"

#include "arch.h"
#include "lib/fmt.h"

#define MSI_ADDRESS_BASE 0xfee00000u /* SDM Vol. 3A, 11.11.1: bits 31:20 are 0FEEH */
#define MSI_DEST_SHIFT 12
#define MSIX_TABLE_ADDR_LO 0x0
#define MSIX_TABLE_ADDR_HI 0x4
#define MSIX_TABLE_DATA 0x8
#define MSIX_TABLE_CONTROL 0xc

int hpci_msi_compose(uint32_t apic_id, uint8_t vector, struct hpci_msi_msg *m)
{
	if (apic_id > 0xff)
		return -1;
	/* Redirection hint and destination mode 0: physical, to that one CPU (11.11.1). */
	m->address = MSI_ADDRESS_BASE | apic_id << MSI_DEST_SHIFT;
	/* Delivery mode 000 (fixed), trigger mode 0 (edge), level ignored (11.11.2). */
	m->data = vector;
	return 0;
}

int hpci_msi_info(const struct hpci_dev *d, struct hpci_msi_info *info)
{
	uint16_t control;

	if (!d->msi_cap)
		return -1;
	control = hpci_read16(d, (uint16_t)(d->msi_cap + HPCI_MSI_CONTROL));
	info->is64 = (control & HPCI_MSI_64BIT) != 0;
	info->per_vector_mask = (control & HPCI_MSI_PER_VECTOR_MASK) != 0;
	/* The upper address dword, when there is one, moves the data and mask bits down by 4 (6.8.1). */
	info->data_off = info->is64 ? 0x0c : 0x08;
	info->mask_off = info->is64 ? 0x10 : 0x0c;
	return 0;
}

int hpci_msix_info(const struct hpci_dev *d, struct hpci_msix_info *info)
{
	uint32_t table, pba;

	if (!d->msix_cap)
		return -1;
	info->vectors = (uint16_t)((hpci_read16(d, (uint16_t)(d->msix_cap + HPCI_MSI_CONTROL)) & 0x7ff) + 1);
	table = hpci_read32(d, (uint16_t)(d->msix_cap + HPCI_MSIX_TABLE));
	pba = hpci_read32(d, (uint16_t)(d->msix_cap + HPCI_MSIX_PBA));
	info->table_bar = table & 7;
	info->table_off = table & ~7u;
	info->pba_bar = pba & 7;
	info->pba_off = pba & ~7u;
	return 0;
}

int hpci_msi_route(const struct hpci_dev *d, const struct hpci_msi_msg *m)
{
	struct hpci_msi_info info;
	uint16_t cap = d->msi_cap, control;

	if (hpci_msi_info(d, &info))
		return -1;
	control = hpci_read16(d, (uint16_t)(cap + HPCI_MSI_CONTROL));
	hpci_write16(d, (uint16_t)(cap + HPCI_MSI_CONTROL), (uint16_t)(control & ~(HPCI_MSI_ENABLE | HPCI_MSI_MME_MASK)));
	hpci_write32(d, (uint16_t)(cap + HPCI_MSI_ADDRESS), (uint32_t)m->address);
	if (info.is64)
		hpci_write32(d, (uint16_t)(cap + HPCI_MSI_ADDRESS + 4), (uint32_t)(m->address >> 32));
	hpci_write16(d, (uint16_t)(cap + info.data_off), (uint16_t)m->data);
	if (info.per_vector_mask)
		hpci_write32(d, (uint16_t)(cap + info.mask_off),
			     hpci_read32(d, (uint16_t)(cap + info.mask_off)) & ~1u); /* vector 0 unmasked */
	hpci_enable(d, HPCI_CMD_INTX_OFF);
	hpci_write16(d, (uint16_t)(cap + HPCI_MSI_CONTROL),
		     (uint16_t)((control & ~HPCI_MSI_MME_MASK) | HPCI_MSI_ENABLE));
	return 0;
}

const char *hpci_msix_route(const struct hpci_dev *d, const struct hpci_msi_msg *m)
{
	struct hpci_msix_info info;
	uint16_t control_at = (uint16_t)(d->msix_cap + HPCI_MSI_CONTROL), control;
	volatile uint8_t *table;
	volatile uint32_t *entry;

	if (hpci_msix_info(d, &info))
		return "no MSI-X capability";
	if (info.table_bar >= HPCI_BARS || d->bar[info.table_bar].size < (uint64_t)info.table_off + HPCI_MSIX_ENTRY_SIZE)
		return "its MSI-X table lies outside its BAR";
	table = hpci_map_bar(d, info.table_bar);
	if (!table)
		return "its MSI-X table's BAR cannot be mapped";
	control = hpci_read16(d, control_at);
	/* The function masked while entry 0 changes, so no half-written message goes out (6.8.2.9). */
	hpci_write16(d, control_at, (uint16_t)(control | HPCI_MSIX_ENABLE | HPCI_MSIX_FUNCTION_MASK));
	entry = (volatile uint32_t *)(table + info.table_off);
	entry[MSIX_TABLE_CONTROL / 4] = HPCI_MSIX_ENTRY_MASKED;
	entry[MSIX_TABLE_ADDR_LO / 4] = (uint32_t)m->address;
	entry[MSIX_TABLE_ADDR_HI / 4] = (uint32_t)(m->address >> 32);
	entry[MSIX_TABLE_DATA / 4] = m->data;
	entry[MSIX_TABLE_CONTROL / 4] = 0;
	hpci_enable(d, HPCI_CMD_INTX_OFF);
	hpci_write16(d, control_at, (uint16_t)((control | HPCI_MSIX_ENABLE) & ~HPCI_MSIX_FUNCTION_MASK));
	return 0;
}

enum blk_irq hpci_route_disk_irq(const struct hpci_dev *d, unsigned take, char *mode, size_t size)
{
	const char *why = "no MSI capability";
	struct hpci_msi_msg m;
	uint32_t apic_id;
	uint8_t vector;

	arch_disk_irq_target(&vector, &apic_id);
	if (hpci_msi_compose(apic_id, vector, &m)) {
		fmt(mode, size, "polled (CPU 0's APIC ID %u is above 255: no message reaches it)", apic_id);
		return BLK_POLLED;
	}
	if (take & HPCI_TAKE_MSIX) {
		why = hpci_msix_route(d, &m);
		if (!why) {
			fmt(mode, size, "MSI-X");
			return BLK_MSIX;
		}
	}
	if (take & HPCI_TAKE_MSI) {
		if (hpci_msi_route(d, &m) == 0) {
			fmt(mode, size, "MSI");
			return BLK_MSI;
		}
		why = take & HPCI_TAKE_MSIX ? "neither MSI-X nor MSI" : "no MSI capability";
	}
	fmt(mode, size, "polled (%s)", why);
	return BLK_POLLED;
}
