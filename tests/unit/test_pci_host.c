/*
 * Host PCI enumeration: the ACPI MCFG parser with hostile tables, BAR
 * decoding of what devices report (odd, reserved and impossible values
 * included), and a scan over a fake configuration space that sizes BARs the
 * way hardware answers, with a looping capability list; MSI and MSI-X:
 * the message composed, the capabilities read and programmed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "acpi.h"
#include "arch.h"
#include "lib/le.h"
#include "pci_host.h"
#include "pci_msi.h"

volatile void *arch_map_device(uint64_t pa, uint64_t size)
{
	(void)size;
	return (volatile void *)(uintptr_t)pa;
}

static uint32_t cpu0_apic_id;

void arch_disk_irq_target(uint8_t *vector, uint32_t *apic_id)
{
	*vector = 0xf2;
	*apic_id = cpu0_apic_id;
}

/* ---- MCFG ---- */

static uint8_t table[256];

static uint32_t mcfg_with(unsigned entries)
{
	uint32_t len = 44 + 16 * entries;

	memset(table, 0, sizeof(table));
	memcpy(table, "MCFG", 4);
	put_le32(table + 4, len);
	return len;
}

static void set_entry(unsigned i, uint64_t base, uint16_t segment, uint8_t first, uint8_t last)
{
	uint8_t *e = table + 44 + 16 * i;

	put_le64(e, base);
	put_le16(e + 8, segment);
	e[10] = first;
	e[11] = last;
}

static void mcfg_entry_is_read(void **state)
{
	struct acpi_mcfg m;
	uint32_t len = mcfg_with(1);

	(void)state;
	set_entry(0, 0xb0000000, 0, 0, 255);
	assert_int_equal(acpi_parse_mcfg(table, len, &m), 0);
	assert_int_equal(m.count, 1);
	assert_int_equal(m.ecam[0].base, 0xb0000000);
	assert_int_equal(m.ecam[0].segment, 0);
	assert_int_equal(m.ecam[0].bus_start, 0);
	assert_int_equal(m.ecam[0].bus_end, 255);
}

static void mcfg_bad_entries_are_left_out(void **state)
{
	struct acpi_mcfg m;
	uint32_t len = mcfg_with(6);

	(void)state;
	set_entry(0, 0, 0, 0, 255);                         /* no base */
	set_entry(1, 0xb0000800, 0, 0, 255);                /* not 1 MiB aligned */
	set_entry(2, 0xb0000000, 0, 9, 3);                  /* buses backwards */
	set_entry(3, (1ull << 52) - (1ull << 20), 0, 0, 0); /* past the physical limit */
	set_entry(4, 0xfff0000000000000ull, 0, 0, 255);     /* would wrap */
	set_entry(5, 0xe0000000, 1, 16, 31);                /* the one usable entry */
	assert_int_equal(acpi_parse_mcfg(table, len, &m), 0);
	assert_int_equal(m.count, 1);
	assert_int_equal(m.ecam[0].base, 0xe0000000);
	assert_int_equal(m.ecam[0].segment, 1);
	assert_int_equal(m.ecam[0].bus_start, 16);
}

static void mcfg_lengths_are_bounded(void **state)
{
	struct acpi_mcfg m;
	uint32_t len = mcfg_with(1);

	(void)state;
	set_entry(0, 0xb0000000, 0, 0, 255);
	/* The header claims more than the caller has: only what the caller has is read. */
	put_le32(table + 4, 0xffffffffu);
	assert_int_equal(acpi_parse_mcfg(table, len, &m), 0);
	assert_int_equal(m.count, 1);
	/* A table whose own length ends mid-entry: that entry is not read. */
	put_le32(table + 4, len - 1);
	assert_int_equal(acpi_parse_mcfg(table, len, &m), -1);
	assert_int_equal(m.count, 0);
	/* Shorter than the header and its reserved bytes. */
	put_le32(table + 4, 10);
	assert_int_equal(acpi_parse_mcfg(table, len, &m), -1);
	assert_int_equal(acpi_parse_mcfg(table, 43, &m), -1);
	/* No entries at all. */
	len = mcfg_with(0);
	assert_int_equal(acpi_parse_mcfg(table, len, &m), -1);
}

static void mcfg_keeps_at_most_its_table(void **state)
{
	struct acpi_mcfg m;
	uint32_t len = mcfg_with(12), i;

	(void)state;
	for (i = 0; i < 12; i++)
		set_entry(i, 0xb0000000 + (uint64_t)i * (256u << 20), 0, 0, 255);
	assert_int_equal(acpi_parse_mcfg(table, len, &m), 0);
	assert_int_equal(m.count, ACPI_MCFG_MAX);
	assert_int_equal(m.ecam[ACPI_MCFG_MAX - 1].base, 0xb0000000 + (uint64_t)(ACPI_MCFG_MAX - 1) * (256u << 20));
}

/* ---- BAR decoding ---- */

static unsigned decode(uint32_t orig0, uint32_t orig1, uint32_t probe0, uint32_t probe1, int has_upper,
		       struct hpci_bar *b)
{
	const uint32_t orig[2] = { orig0, orig1 }, probe[2] = { probe0, probe1 };

	return hpci_bar_decode(orig, probe, has_upper, b);
}

static void bar_memory_32(void **state)
{
	struct hpci_bar b;

	(void)state;
	assert_int_equal(decode(0xfebf0008, 0, 0xffffc008, 0, 1, &b), 1);
	assert_int_equal(b.base, 0xfebf0000);
	assert_int_equal(b.size, 16384);
	assert_false(b.io);
	assert_false(b.is64);
	assert_true(b.prefetch);
	/* Type 1 (below 1 MiB, PCI 2.x) decodes as 32 bits. */
	assert_int_equal(decode(0x000d0002, 0, 0xffff0002, 0, 1, &b), 1);
	assert_int_equal(b.base, 0xd0000);
	assert_int_equal(b.size, 65536);
}

static void bar_memory_64(void **state)
{
	struct hpci_bar b;

	(void)state;
	assert_int_equal(decode(0x00000004, 0x00000080, 0xffffc004, 0xffffffff, 1, &b), 2);
	assert_true(b.is64);
	assert_int_equal(b.base, 0x8000000000ull);
	assert_int_equal(b.size, 16384);
	/* Larger than 4 GiB: the size's bits are in the upper dword. */
	assert_int_equal(decode(0x0000000c, 0x00000100, 0x0000000c, 0xffffff00, 1, &b), 2);
	assert_int_equal(b.base, 0x10000000000ull);
	assert_int_equal(b.size, 1ull << 40);
	/* The upper half in a slot that does not exist: no BAR, one slot used. */
	assert_int_equal(decode(0xfebf0004, 0, 0xffffc004, 0, 0, &b), 1);
	assert_int_equal(b.size, 0);
}

static void bar_io(void **state)
{
	struct hpci_bar b;

	(void)state;
	/* A 16-bit decoder reads zeros above bit 15. */
	assert_int_equal(decode(0xc041, 0, 0x0000ffc1, 0, 1, &b), 1);
	assert_true(b.io);
	assert_int_equal(b.base, 0xc040);
	assert_int_equal(b.size, 64);
	assert_int_equal(decode(0xc001, 0, 0xfffffff9, 0, 1, &b), 1);
	assert_int_equal(b.base, 0xc000);
	assert_int_equal(b.size, 8);
	/* An I/O range past port 0xffff is no BAR on x86. */
	assert_int_equal(decode(0x10001, 0, 0xffffff01, 0, 1, &b), 1);
	assert_int_equal(b.size, 0);
}

static void bar_nonsense_is_no_bar(void **state)
{
	struct hpci_bar b;

	(void)state;
	assert_int_equal(decode(0, 0, 0, 0, 1, &b), 1);                   /* not implemented */
	assert_int_equal(b.size, 0);
	assert_int_equal(decode(0xfe000000, 0, 0xff0ff000, 0, 1, &b), 1); /* holes in the mask */
	assert_int_equal(b.size, 0);
	assert_int_equal(decode(0xfe000006, 0, 0xfffff006, 0, 1, &b), 1); /* type 3: reserved */
	assert_int_equal(b.size, 0);
	assert_int_equal(decode(0x4, 0, 0x4, 0, 1, &b), 2);               /* 64-bit, nothing implemented */
	assert_int_equal(b.size, 0);
	assert_int_equal(decode(0x1, 0, 0x1, 0, 1, &b), 1);               /* I/O, nothing implemented */
	assert_int_equal(b.size, 0);
}

/* ---- a fake configuration space ---- */

struct fake_fn {
	uint8_t bus, dev, fn;
	uint8_t cfg[256];
	uint32_t bar_mask[HPCI_BARS]; /* writable bits of each BAR dword */
	int sized_while_decoding;
};

static struct fake_fn fakes[8];
static unsigned nfakes;

static struct fake_fn *fake_find(uint8_t bus, uint8_t dev, uint8_t fn)
{
	unsigned i;

	for (i = 0; i < nfakes; i++)
		if (fakes[i].bus == bus && fakes[i].dev == dev && fakes[i].fn == fn)
			return &fakes[i];
	return 0;
}

static uint32_t fake_read(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned width)
{
	struct fake_fn *f = fake_find(bus, dev, fn);
	uint32_t v = 0;

	assert_true(off + width <= 256 && off % width == 0);
	if (!f)
		return width == 4 ? ~0u : (1u << (8 * width)) - 1;
	memcpy(&v, f->cfg + off, width);
	return v;
}

static void fake_write(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned width, uint32_t v)
{
	struct fake_fn *f = fake_find(bus, dev, fn);
	unsigned bar = (off - HPCI_CFG_BAR0) / 4;

	assert_true(off + width <= 256 && off % width == 0);
	if (!f)
		return;
	if (off >= HPCI_CFG_BAR0 && off < HPCI_CFG_BAR0 + 4 * HPCI_BARS) {
		uint32_t old = le32(f->cfg + off);

		assert_int_equal(width, 4);
		if (v == ~0u && (f->cfg[HPCI_CFG_COMMAND] & (HPCI_CMD_IO | HPCI_CMD_MEM)))
			f->sized_while_decoding = 1;
		put_le32(f->cfg + off, (v & f->bar_mask[bar]) | (old & ~f->bar_mask[bar]));
		return;
	}
	memcpy(f->cfg + off, &v, width);
}

static const struct hpci_cfg_access fake_access = { fake_read, fake_write };

static struct fake_fn *fake_add(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t vendor, uint16_t device,
				uint32_t class_rev, uint8_t header_type)
{
	struct fake_fn *f = &fakes[nfakes++];

	memset(f, 0, sizeof(*f));
	f->bus = bus;
	f->dev = dev;
	f->fn = fn;
	put_le16(f->cfg + HPCI_CFG_VENDOR, vendor);
	put_le16(f->cfg + HPCI_CFG_VENDOR + 2, device);
	put_le32(f->cfg + HPCI_CFG_CLASS_REV, class_rev);
	f->cfg[HPCI_CFG_HEADER_TYPE] = header_type;
	put_le16(f->cfg + HPCI_CFG_COMMAND, HPCI_CMD_MEM | HPCI_CMD_IO);
	return f;
}

static void fake_bar(struct fake_fn *f, unsigned i, uint32_t value, uint32_t mask)
{
	put_le32(f->cfg + HPCI_CFG_BAR0 + 4 * i, value);
	f->bar_mask[i] = mask;
}

static void fake_caps(struct fake_fn *f, const uint8_t *list, unsigned n, uint8_t last_next)
{
	unsigned i;

	f->cfg[HPCI_CFG_STATUS] |= HPCI_STATUS_CAPS;
	f->cfg[HPCI_CFG_CAP_PTR] = list[0];
	for (i = 0; i < n; i++) {
		f->cfg[list[i]] = list[i] == 0x40 ? HPCI_CAP_MSI : list[i] == 0x70 ? HPCI_CAP_MSIX : 0x09;
		f->cfg[list[i] + 1] = i + 1 < n ? list[i + 1] : last_next;
	}
}

static void build_fake_machine(void)
{
	static const uint8_t nvme_caps[] = { 0x60, 0x70 }, looping[] = { 0x50, 0x40, 0x44 };
	struct fake_fn *f;

	nfakes = 0;
	fake_add(0, 0, 0, 0x8086, 0x29c0, 0x06000002, 0); /* host bridge */
	f = fake_add(0, 3, 0, 0x1b36, 0x0010, 0x01080202, 0); /* NVMe, 64-bit BAR0 */
	fake_bar(f, 0, 0xfebd0004, 0xffffc000);
	fake_bar(f, 1, 0, 0xffffffff);
	fake_bar(f, 4, 0xc001, 0xffe0);
	fake_caps(f, nvme_caps, 2, 0);
	f = fake_add(0, 0x1f, 0, 0x8086, 0x2918, 0x06010002, 0x80); /* multi-function ISA bridge */
	f = fake_add(0, 0x1f, 2, 0x8086, 0x2922, 0x01060102, 0);    /* AHCI as function 2 */
	fake_bar(f, 5, 0xfebd1000, 0xfffff000);
	fake_caps(f, looping, 3, 0x50); /* the last points back at the first */
}

static void scan_finds_functions_and_sizes_bars(void **state)
{
	struct hpci_dev *nvme, *ahci;

	(void)state;
	build_fake_machine();
	hpci_scan(&fake_access, 0, 255);
	assert_int_equal(hpci_count(), 4);
	nvme = hpci_get(1);
	assert_int_equal(nvme->dev, 3);
	assert_int_equal(nvme->vendor, 0x1b36);
	assert_int_equal(nvme->class_code, 0x01);
	assert_int_equal(nvme->subclass, 0x08);
	assert_int_equal(nvme->prog_if, 0x02);
	assert_true(nvme->bar[0].is64);
	assert_int_equal(nvme->bar[0].base, 0xfebd0000);
	assert_int_equal(nvme->bar[0].size, 16384);
	assert_int_equal(nvme->bar[1].size, 0); /* the upper half is no BAR of its own */
	assert_true(nvme->bar[4].io);
	assert_int_equal(nvme->bar[4].base, 0xc000);
	assert_int_equal(nvme->bar[4].size, 32);
	assert_int_equal(nvme->msix_cap, 0x70);
	assert_int_equal(nvme->msi_cap, 0);
	/* Sizing restored each BAR and the command register, and never sized a decoding BAR. */
	assert_int_equal(le32(fakes[1].cfg + HPCI_CFG_BAR0), 0xfebd0004);
	assert_int_equal(le16(fakes[1].cfg + HPCI_CFG_COMMAND), HPCI_CMD_MEM | HPCI_CMD_IO);
	assert_false(fakes[1].sized_while_decoding);
	ahci = hpci_get(3);
	assert_int_equal(ahci->dev, 0x1f);
	assert_int_equal(ahci->fn, 2);
	assert_int_equal(ahci->bar[5].base, 0xfebd1000);
	assert_int_equal(ahci->bar[5].size, 4096);
	assert_int_equal(ahci->msi_cap, 0x40);
	/* The loop holds no MSI-X: the walk ends all the same. */
	assert_int_equal(ahci->msix_cap, 0);
}

static void single_function_devices_are_not_probed_past_function_0(void **state)
{
	(void)state;
	build_fake_machine();
	/* Some devices answer on every function number; header bit 7 says which are real. */
	fake_add(0, 3, 1, 0x1b36, 0x0010, 0x01080202, 0);
	hpci_scan(&fake_access, 0, 255);
	assert_int_equal(hpci_count(), 4);
}

static void next_filters_by_class(void **state)
{
	unsigned at = 0;
	struct hpci_dev *d;

	(void)state;
	build_fake_machine();
	hpci_scan(&fake_access, 0, 0);
	d = hpci_next(&at, 0x01, 0x08, 0x02);
	assert_non_null(d);
	assert_int_equal(d->dev, 3);
	assert_null(hpci_next(&at, 0x01, 0x08, 0x02));
	at = 0;
	d = hpci_next(&at, 0x01, 0x06, -1);
	assert_non_null(d);
	assert_int_equal(d->fn, 2);
	assert_null(hpci_get(4));
}

static void enable_and_map(void **state)
{
	struct hpci_dev *nvme;

	(void)state;
	build_fake_machine();
	hpci_scan(&fake_access, 0, 255);
	nvme = hpci_get(1);
	hpci_enable(nvme, HPCI_CMD_MASTER | HPCI_CMD_INTX_OFF);
	assert_int_equal(le16(fakes[1].cfg + HPCI_CFG_COMMAND),
			 HPCI_CMD_MEM | HPCI_CMD_IO | HPCI_CMD_MASTER | HPCI_CMD_INTX_OFF);
	assert_ptr_equal(hpci_map_bar(nvme, 0), (volatile void *)0xfebd0000);
	assert_null(hpci_map_bar(nvme, 1)); /* the upper half */
	assert_null(hpci_map_bar(nvme, 4)); /* I/O */
	assert_null(hpci_map_bar(nvme, 6));
	hpci_disable(nvme, HPCI_CMD_MASTER); /* the others stay */
	assert_int_equal(le16(fakes[1].cfg + HPCI_CFG_COMMAND), HPCI_CMD_MEM | HPCI_CMD_IO | HPCI_CMD_INTX_OFF);
}

/* ---- MSI and MSI-X ---- */

static void msi_message_is_fixed_edge_physical(void **state)
{
	struct hpci_msi_msg m;

	(void)state;
	assert_int_equal(hpci_msi_compose(3, 0xf2, &m), 0);
	assert_int_equal(m.address, 0xfee03000); /* destination ID in bits 19:12, RH = DM = 0 */
	assert_int_equal(m.data, 0xf2);         /* fixed delivery, edge */
	assert_int_equal(hpci_msi_compose(255, 0x30, &m), 0);
	assert_int_equal(m.address, 0xfeeff000);
	assert_int_equal(hpci_msi_compose(256, 0xf2, &m), -1); /* an x2APIC ID no message reaches */
}

static uint8_t msix_bar[16384] __attribute__((aligned(16384)));

/* An NVMe function with only an MSI-X capability at 0x70, its table and PBA in 64-bit BAR 0 (msix_bar). */
static struct hpci_dev *fake_msix_device(uint32_t table_bir, uint32_t pba_bir)
{
	static const uint8_t caps[] = { 0x70 };
	uint64_t base = (uint64_t)(uintptr_t)msix_bar;
	struct fake_fn *f;

	nfakes = 0;
	f = fake_add(0, 3, 0, 0x1b36, 0x0010, 0x01080202, 0);
	fake_bar(f, 0, (uint32_t)base | 4, 0xffffc000);
	fake_bar(f, 1, (uint32_t)(base >> 32), 0xffffffff);
	fake_caps(f, caps, 1, 0);
	put_le16(f->cfg + 0x70 + HPCI_MSI_CONTROL, 63); /* 64 entries */
	put_le32(f->cfg + 0x70 + HPCI_MSIX_TABLE, table_bir);
	put_le32(f->cfg + 0x70 + HPCI_MSIX_PBA, pba_bir);
	hpci_scan(&fake_access, 0, 0);
	return hpci_get(0);
}

static void msix_capability_read_and_entry_0_routed(void **state)
{
	struct hpci_msix_info info;
	struct hpci_dev *d = fake_msix_device(0x2000, 0x3000 | 0);
	char mode[HPCI_MODE_TEXT];
	unsigned i;

	(void)state;
	assert_int_equal(hpci_msix_info(d, &info), 0);
	assert_int_equal(info.vectors, 64);
	assert_int_equal(info.table_bar, 0);
	assert_int_equal(info.table_off, 0x2000);
	assert_int_equal(info.pba_off, 0x3000);
	for (i = 0; i < 64; i++)
		put_le32(msix_bar + 0x2000 + 16 * i + 12, HPCI_MSIX_ENTRY_MASKED); /* as after reset */
	cpu0_apic_id = 2;
	assert_int_equal(hpci_route_disk_irq(d, HPCI_TAKE_MSIX, mode, sizeof(mode)), BLK_MSIX);
	assert_string_equal(mode, "MSI-X");
	assert_int_equal(le32(msix_bar + 0x2000), 0xfee02000);
	assert_int_equal(le32(msix_bar + 0x2004), 0);
	assert_int_equal(le32(msix_bar + 0x2008), 0xf2);
	assert_int_equal(le32(msix_bar + 0x200c), 0);                      /* entry 0 unmasked */
	assert_int_equal(le32(msix_bar + 0x201c), HPCI_MSIX_ENTRY_MASKED); /* entry 1 untouched */
	assert_int_equal(le16(fakes[0].cfg + 0x70 + HPCI_MSI_CONTROL), HPCI_MSIX_ENABLE | 63); /* function unmasked */
	assert_true(le16(fakes[0].cfg + HPCI_CFG_COMMAND) & HPCI_CMD_INTX_OFF);
	cpu0_apic_id = 0;
}

static void msix_table_outside_its_bar_is_refused(void **state)
{
	struct hpci_dev *d = fake_msix_device(0x4000, 0x3000); /* the BAR is 16 KiB */
	char mode[HPCI_MODE_TEXT];

	(void)state;
	assert_int_equal(hpci_route_disk_irq(d, HPCI_TAKE_MSIX | HPCI_TAKE_MSI, mode, sizeof(mode)), BLK_POLLED);
	assert_string_equal(mode, "polled (neither MSI-X nor MSI)");
	assert_int_equal(hpci_route_disk_irq(d, HPCI_TAKE_MSIX, mode, sizeof(mode)), BLK_POLLED);
	assert_string_equal(mode, "polled (its MSI-X table lies outside its BAR)");
	assert_false(le16(fakes[0].cfg + 0x70 + HPCI_MSI_CONTROL) & HPCI_MSIX_ENABLE);
}

/* An AHCI function with only an MSI capability at 0x40 whose message control is control. */
static struct hpci_dev *fake_msi_device(uint16_t control)
{
	static const uint8_t caps[] = { 0x40 };
	struct fake_fn *f;

	nfakes = 0;
	f = fake_add(0, 0x1f, 0, 0x8086, 0x2922, 0x01060102, 0);
	fake_caps(f, caps, 1, 0);
	put_le16(f->cfg + 0x40 + HPCI_MSI_CONTROL, control);
	memset(f->cfg + 0x44, 0xee, 0x14); /* what firmware may have left */
	hpci_scan(&fake_access, 0, 0);
	return hpci_get(0);
}

static void msi_32_bit_with_mask_bits(void **state)
{
	/* 32-bit address, per-vector masking, 4 vectors capable and 2 enabled by someone before. */
	struct hpci_dev *d = fake_msi_device(HPCI_MSI_PER_VECTOR_MASK | 2u << 1 | 1u << 4);
	char mode[HPCI_MODE_TEXT];

	(void)state;
	cpu0_apic_id = 1;
	assert_int_equal(hpci_route_disk_irq(d, HPCI_TAKE_MSI, mode, sizeof(mode)), BLK_MSI);
	assert_string_equal(mode, "MSI");
	assert_int_equal(le32(fakes[0].cfg + 0x44), 0xfee01000);
	assert_int_equal(le16(fakes[0].cfg + 0x48), 0xf2);       /* data right after the address */
	assert_int_equal(le32(fakes[0].cfg + 0x4c), 0xeeeeeeee & ~1u); /* vector 0 unmasked, the rest left */
	/* Enabled with one vector (MME 0), what it can do kept. */
	assert_int_equal(le16(fakes[0].cfg + 0x40 + HPCI_MSI_CONTROL), HPCI_MSI_PER_VECTOR_MASK | 2u << 1 | HPCI_MSI_ENABLE);
	assert_true(le16(fakes[0].cfg + HPCI_CFG_COMMAND) & HPCI_CMD_INTX_OFF);
	cpu0_apic_id = 0;
}

static void msi_64_bit_without_mask_bits(void **state)
{
	struct hpci_dev *d = fake_msi_device(HPCI_MSI_64BIT);
	struct hpci_msi_info info;
	char mode[HPCI_MODE_TEXT];

	(void)state;
	assert_int_equal(hpci_msi_info(d, &info), 0);
	assert_true(info.is64);
	assert_false(info.per_vector_mask);
	assert_int_equal(hpci_route_disk_irq(d, HPCI_TAKE_MSIX | HPCI_TAKE_MSI, mode, sizeof(mode)), BLK_MSI);
	assert_int_equal(le32(fakes[0].cfg + 0x44), 0xfee00000);
	assert_int_equal(le32(fakes[0].cfg + 0x48), 0);    /* upper address */
	assert_int_equal(le16(fakes[0].cfg + 0x4c), 0xf2); /* data after it */
	assert_int_equal(le32(fakes[0].cfg + 0x50), 0xeeeeeeee); /* no mask bits: not written */
	assert_int_equal(le16(fakes[0].cfg + 0x40 + HPCI_MSI_CONTROL), HPCI_MSI_64BIT | HPCI_MSI_ENABLE);
}

static void without_capabilities_or_reachable_cpu_polled(void **state)
{
	struct hpci_dev *d = fake_msi_device(0);
	char mode[HPCI_MODE_TEXT];

	(void)state;
	assert_int_equal(hpci_route_disk_irq(d, HPCI_TAKE_MSIX, mode, sizeof(mode)), BLK_POLLED);
	assert_string_equal(mode, "polled (no MSI-X capability)");
	cpu0_apic_id = 300;
	assert_int_equal(hpci_route_disk_irq(d, HPCI_TAKE_MSI, mode, sizeof(mode)), BLK_POLLED);
	assert_string_equal(mode, "polled (CPU 0's APIC ID 300 is above 255: no message reaches it)");
	assert_false(le16(fakes[0].cfg + 0x40 + HPCI_MSI_CONTROL) & HPCI_MSI_ENABLE);
	cpu0_apic_id = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mcfg_entry_is_read),
		cmocka_unit_test(mcfg_bad_entries_are_left_out),
		cmocka_unit_test(mcfg_lengths_are_bounded),
		cmocka_unit_test(mcfg_keeps_at_most_its_table),
		cmocka_unit_test(bar_memory_32),
		cmocka_unit_test(bar_memory_64),
		cmocka_unit_test(bar_io),
		cmocka_unit_test(bar_nonsense_is_no_bar),
		cmocka_unit_test(scan_finds_functions_and_sizes_bars),
		cmocka_unit_test(single_function_devices_are_not_probed_past_function_0),
		cmocka_unit_test(next_filters_by_class),
		cmocka_unit_test(enable_and_map),
		cmocka_unit_test(msi_message_is_fixed_edge_physical),
		cmocka_unit_test(msix_capability_read_and_entry_0_routed),
		cmocka_unit_test(msix_table_outside_its_bar_is_refused),
		cmocka_unit_test(msi_32_bit_with_mask_bits),
		cmocka_unit_test(msi_64_bit_without_mask_bits),
		cmocka_unit_test(without_capabilities_or_reachable_cpu_polled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
