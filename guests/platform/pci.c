/*
 * PCI (PCI Local Bus 3.0, 3.2.2.3.2; PCI Express Base, 7.2.2 for ECAM):
 * the host bridge at 00:00.0 through configuration mechanism #1 and
 * through the ECAM window of the MCFG; then each test device of
 * test_devices[] found on bus 0: its memory BAR sized, moved and put
 * back, and its MSI-X (or MSI) message delivered to the BSP's APIC.
 */
#include <stdint.h>

#include "platform.h"

#define PCI_COMMAND 0x04
#define PCI_STATUS_CAPS (1u << 20) /* in the dword at 0x04 */
#define PCI_CLASS 0x08
#define PCI_HEADER 0x0c
#define PCI_BAR0 0x10
#define PCI_CAPS 0x34
#define CMD_MEMORY 0x2
#define CMD_MASTER 0x4
#define CAP_MSI 0x05
#define CAP_MSIX 0x11
#define MSI_ADDRESS 0xfee00000u /* the interrupt message area (SDM Vol. 3A, 11.11.1) */
#define DEVHOLE_END 0xfec00000ull

/*
 * The test devices we know: how to recognise one behind its BAR and how
 * to make it raise its interrupt. Add a row for another device.
 */
struct test_device {
	uint16_t vendor, device;
	const char *name;
	unsigned bar;
	uint32_t id_offset, id_value;             /* a register that reads id_value */
	void (*raise)(uint64_t bar_base);         /* 0: it cannot be made to interrupt */
};

/* QEMU's edu device (docs/specs/edu.rst): identification 0x010000ed, 0x60 raises its MSI. */
static void edu_raise(uint64_t bar)
{
	mmio_write32(bar + 0x60, 1);
}

/* The hypervisor's test device (hv/vdev/pci_testdev.h): ID "HVTD", a doorbell write of N sends MSI-X entry N. */
static void hvtd_raise(uint64_t bar)
{
	mmio_write32(bar + 0x4, 0);
}

static const struct test_device test_devices[] = {
	{ 0x1234, 0x11e8, "qemu-edu", 0, 0x00, 0x010000ed, edu_raise },
	{ 0x1234, 0x4876, "hv-testdev", 0, 0x00, 0x44545648, hvtd_raise },
};

static uint32_t ecam_read(unsigned bdf, unsigned off)
{
	return mmio_read32(pf.ecam + ((uint64_t)bdf << 12) + off);
}

static void check_host_bridge(void)
{
	uint32_t id = pci_read(0, 0), class = pci_read(0, PCI_CLASS) >> 16, eid;

	report("pci_cf8", id != 0xffffffffu && class == 0x0600 ? PASS : FAIL,
	       "00:00.0 %04x:%04x class 0x%04x through 0xCF8/0xCFC", id & 0xffff, id >> 16, class);
	if (!pf.ecam) {
		report("pci_ecam", SKIP, "no MCFG table: no ECAM to compare");
		return;
	}
	if (pf.ecam >= (4ull << 30)) {
		report("pci_ecam", FAIL, "ECAM at 0x%llx, above the 4 GiB we map", (unsigned long long)pf.ecam);
		return;
	}
	eid = ecam_read(0, 0);
	report("pci_ecam", eid == id && ecam_read(0, PCI_CLASS) >> 16 == class ? PASS : FAIL,
	       "MCFG base 0x%llx buses %u-%u: 00:00.0 %04x:%04x class 0x%04x", (unsigned long long)pf.ecam,
	       pf.ecam_bus_start, pf.ecam_bus_end, eid & 0xffff, eid >> 16, ecam_read(0, PCI_CLASS) >> 16);
}

/* ---- a test device ---------------------------------------------------- */

/* The BAR's size from the all-ones write (PCI 3.0, 6.2.5.1), decoding off meanwhile. */
static uint64_t bar_size(unsigned bdf, unsigned bar, uint32_t *orig)
{
	unsigned off = PCI_BAR0 + 4 * bar;
	uint32_t cmd = pci_read(bdf, PCI_COMMAND), mask;

	*orig = pci_read(bdf, off);
	pci_write(bdf, PCI_COMMAND, cmd & ~3u);
	pci_write(bdf, off, 0xffffffffu);
	mask = pci_read(bdf, off);
	pci_write(bdf, off, *orig);
	pci_write(bdf, PCI_COMMAND, cmd);
	return (uint32_t)(~(mask & ~0xfu) + 1);
}

/* 1 if a memory BAR of bus 0 but the one moved (self's BAR self_bar) meets [base, base + size). */
static int bar_in_use(uint64_t base, uint64_t size, unsigned self, unsigned self_bar)
{
	unsigned bdf, b;
	uint32_t v;

	for (bdf = 0; bdf < 256; bdf++) {
		if ((pci_read(bdf, 0) & 0xffff) == 0xffff)
			continue;
		for (b = 0; b < 6; b++) {
			uint32_t at = pci_read(bdf, PCI_BAR0 + 4 * b) & ~0xfu;
			if ((bdf == self && b == self_bar) || !at || (pci_read(bdf, PCI_BAR0 + 4 * b) & 1))
				continue;
			if (at < base + size && at + bar_size(bdf, b, &v) > base)
				return 1;
		}
	}
	return 0;
}

/* 1 if [a, a + size) is below the APICs, clear of the memory map's ranges, the ECAM and other BARs. */
static int place_free(uint64_t a, uint64_t size, unsigned self, unsigned self_bar)
{
	uint64_t ecam_end = pf.ecam + ((uint64_t)pf.ecam_bus_end + 1 - pf.ecam_bus_start) * (1u << 20);
	unsigned i;

	if (a + size > DEVHOLE_END || (pf.ecam && a < ecam_end && a + size > pf.ecam))
		return 0;
	for (i = 0; i < pf.ram_count; i++)
		if (a < pf.ram[i].base + pf.ram[i].len && a + size > pf.ram[i].base)
			return 0;
	return !bar_in_use(a, size, self, self_bar);
}

/* The nearest place above or below base, aligned to size, that is free; 0 if none within 64 sizes. */
static uint64_t free_place(uint64_t base, uint64_t size, unsigned self, unsigned self_bar)
{
	uint64_t k;

	for (k = 1; k <= 64; k++) {
		if (place_free(base + k * size, size, self, self_bar))
			return base + k * size;
		if (base >= k * size && place_free(base - k * size, size, self, self_bar))
			return base - k * size;
	}
	return 0;
}

/* Moves the BAR to a free place and back: the device answers at the new base and not at the old. */
static void check_bar(const struct test_device *d, unsigned bdf, uint64_t *base)
{
	unsigned off = PCI_BAR0 + 4 * d->bar;
	uint32_t orig;
	uint64_t size = bar_size(bdf, d->bar, &orig), to;
	uint32_t before, at_new, at_old, back;

	*base = orig & ~0xfu;
	pci_write(bdf, PCI_COMMAND, pci_read(bdf, PCI_COMMAND) | CMD_MEMORY | CMD_MASTER);
	before = mmio_read32(*base + d->id_offset);
	to = free_place(*base, size, bdf, d->bar);
	if (!to) {
		report("pci_test_bar", FAIL, "%s BAR%u 0x%llx size 0x%llx: no free place to move it to", d->name, d->bar,
		       (unsigned long long)*base, (unsigned long long)size);
		return;
	}
	pci_write(bdf, off, (uint32_t)to | (orig & 0xfu));
	at_new = mmio_read32(to + d->id_offset);
	at_old = mmio_read32(*base + d->id_offset);
	pci_write(bdf, off, orig);
	back = mmio_read32(*base + d->id_offset);
	report("pci_test_bar", !(orig & 1) && before == d->id_value && at_new == d->id_value &&
				       at_old != d->id_value && back == d->id_value ? PASS : FAIL,
	       "%s at %02x:%02x.%x BAR%u 0x%llx size 0x%llx moved to 0x%llx: id 0x%x there, 0x%x at the old base, "
	       "0x%x back",
	       d->name, bdf >> 8, bdf >> 3 & 31, bdf & 7, d->bar, (unsigned long long)*base, (unsigned long long)size,
	       (unsigned long long)to, at_new, at_old, back);
}

static unsigned find_cap(unsigned bdf, unsigned id)
{
	unsigned p, n;

	if (!(pci_read(bdf, PCI_COMMAND) & PCI_STATUS_CAPS))
		return 0;
	for (p = pci_read(bdf, PCI_CAPS) & 0xfc, n = 0; p && n < 48; p = pci_read(bdf, p) >> 8 & 0xfc, n++)
		if ((pci_read(bdf, p) & 0xff) == id)
			return p;
	return 0;
}

/* MSI-X entry 0 (PCI 3.0, 6.8.2): address, data, unmasked; the function enabled, not masked. */
static int msix_setup(unsigned bdf, unsigned cap)
{
	uint32_t table = pci_read(bdf, cap + 4), bar = pci_read(bdf, PCI_BAR0 + 4 * (table & 7)) & ~0xfu;
	uint64_t entry = bar + (table & ~7u);

	mmio_write32(entry + 0, MSI_ADDRESS | lapic_id() << 12);
	mmio_write32(entry + 4, 0);
	mmio_write32(entry + 8, VEC_MSI);
	mmio_write32(entry + 12, 0);
	pci_write(bdf, cap, (pci_read(bdf, cap) | 1u << 31) & ~(1u << 30));
	return 1;
}

/* MSI (PCI 3.0, 6.8.1): one message, 32- or 64-bit address. */
static int msi_setup(unsigned bdf, unsigned cap)
{
	uint32_t ctl = pci_read(bdf, cap) >> 16;
	unsigned data = ctl & (1u << 7) ? cap + 12 : cap + 8;

	pci_write(bdf, cap + 4, MSI_ADDRESS | lapic_id() << 12);
	if (ctl & (1u << 7))
		pci_write(bdf, cap + 8, 0);
	pci_write(bdf, data, VEC_MSI);
	pci_write(bdf, cap, (pci_read(bdf, cap) & ~(0x70u << 16)) | 1u << 16);
	return 1;
}

static void check_interrupt(const struct test_device *d, unsigned bdf, uint64_t base)
{
	unsigned msix = find_cap(bdf, CAP_MSIX), msi = find_cap(bdf, CAP_MSI);
	int came;

	if (!d->raise || (!msix && !msi)) {
		report("pci_test_msi", SKIP, "%s: %s", d->name, d->raise ? "no MSI or MSI-X capability" : "no way to raise one");
		return;
	}
	if (msix)
		msix_setup(bdf, msix);
	else
		msi_setup(bdf, msi);
	watch_vector(VEC_MSI);
	d->raise(base);
	came = wait_irqs(VEC_MSI, 1, ms_ticks(100));
	report("pci_test_msi", came ? PASS : FAIL, "%s: %s message to apic %u vector 0x%x: %u taken", d->name,
	       msix ? "MSI-X" : "MSI", lapic_id(), VEC_MSI, irq_count[VEC_MSI]);
}

static const struct test_device *known(uint32_t id)
{
	unsigned i;

	for (i = 0; i < sizeof(test_devices) / sizeof(test_devices[0]); i++)
		if (test_devices[i].vendor == (id & 0xffff) && test_devices[i].device == id >> 16)
			return &test_devices[i];
	return 0;
}

void check_pci(void)
{
	const struct test_device *d = 0;
	unsigned bdf;
	uint64_t base;

	check_host_bridge();
	for (bdf = 0; bdf < 256 && !d; bdf++)
		d = known(pci_read(bdf, 0));
	if (!d) {
		report("pci_test_device", SKIP, "none of the %u known test devices on bus 0",
		       (unsigned)(sizeof(test_devices) / sizeof(test_devices[0])));
		return;
	}
	bdf--;
	check_bar(d, bdf, &base);
	check_interrupt(d, bdf, base);
}
