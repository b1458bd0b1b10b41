/*
 * A partition's PCI segment, driven as a guest drives it: through ports
 * 0xCF8/0xCFC and ECAM on the partition's bus, BARs, MSI and MSI-X; the
 * test device; and the decoding of MSI messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_pci_guest.h"
#include "partition.h"
#include "vdev/irq.h"
#include "vdev/pci.h"
#include "vdev/pci_testdev.h"
#include "vdev/platform.h"

#define RAM (256ull << 20)
#define MSGS_MAX 64
#define ECAM(bus, dev, fn, reg) (PLATFORM_ECAM_BASE + ((uint64_t)(bus) << 20) + ((dev) << 15) + ((fn) << 12) + (reg))
#define TD 1 /* the test device's slot */

/* Where vpci_start() puts the test device's BARs: memory in order from PLATFORM_MMIO_BASE, I/O from 0xC000. */
#define BAR0_AT 0xc0000000ull
#define BAR1_AT 0xc0001000ull
#define BAR4_AT 0xc0002000ull
#define BAR2_AT 0xc000

static struct cfg_partition cfg = { .name = "t" };
static struct irq_msg msgs[MSGS_MAX];
static unsigned nmsgs;
static unsigned pci_lines; /* of the guest log's lines, those about PCI */

/* ---- the hypervisor around the segment (fake_pci_guest.c has the log and the I/O APIC's lines): the local APICs */

/* Two vCPUs, APIC IDs 0 and 1, logical IDs bits 0 and 1 (flat). */
int irq_deliver(struct partition *p, const struct irq_msg *m)
{
	assert_ptr_equal(p, &part);
	if (m->logical ? !(m->dest & 3) : m->dest > 1 && m->dest != 0xff)
		return -1;
	assert_true(nmsgs < MSGS_MAX);
	msgs[nmsgs++] = *m;
	return 0;
}

static void start(int test_devices)
{
	cfg.test_devices = test_devices;
	part = (struct partition){ .cfg = &cfg, .ram_size = RAM };
	vdev_bus_init(&part.bus);
	assert_null(vpci_init(&part.pci, &part));
	if (test_devices)
		assert_null(pci_testdev_init(&part.testdev, &part.pci));
	assert_null(vpci_start(&part.pci));
}

static void count_pci_line(const char *line)
{
	pci_lines += strncmp(line, "PCI ", 4) == 0;
}

static int reset(void **state)
{
	(void)state;
	nmsgs = pci_lines = 0;
	fake_pci_guest_reset();
	on_guest_line = count_pci_line;
	start(1);
	return 0;
}

/* ---- the guest's accesses */

static uint32_t cf8(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

/* Mechanism #1: the address, then CONFIG_DATA at the register's byte. */
static uint64_t cfg_in(unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size)
{
	port_out(0xcf8, 4, cf8(bus, dev, fn, reg));
	return port_in((uint16_t)(0xcfc + (reg & 3)), size);
}

static void cfg_out(unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size, uint64_t v)
{
	port_out(0xcf8, 4, cf8(bus, dev, fn, reg));
	port_out((uint16_t)(0xcfc + (reg & 3)), size, v);
}

/* Of the test device, by ECAM. */
static uint32_t td_in(unsigned reg)
{
	return (uint32_t)mmio_in(ECAM(0, TD, 0, reg), 4);
}

static void td_out(unsigned reg, unsigned size, uint64_t v)
{
	mmio_out(ECAM(0, TD, 0, reg), size, v);
}

/* The offset of the capability with id, walking the list from 0x34. */
static unsigned find_cap(unsigned dev, uint8_t id)
{
	unsigned at = (unsigned)cfg_in(0, dev, 0, 0x34, 1), hops = 0;

	while (at && hops++ < 48) {
		assert_int_equal(at % 4, 0);
		assert_true(at >= 0x40);
		if (cfg_in(0, dev, 0, at, 1) == id)
			return at;
		at = (unsigned)cfg_in(0, dev, 0, at + 1, 1);
	}
	return 0;
}

/* ---- configuration mechanisms */

static void both_mechanisms_read_the_host_bridge_alike(void **state)
{
	static const unsigned sizes[] = { 1, 2, 4 };
	unsigned reg, s;

	(void)state;
	assert_int_equal(cfg_in(0, 0, 0, 0x00, 4), 0x29c08086);
	assert_int_equal(cfg_in(0, 0, 0, 0x08, 4), 0x06000000);
	assert_int_equal(cfg_in(0, 0, 0, 0x0e, 1), 0x00); /* header type 0, one function */
	assert_int_equal(mmio_in(ECAM(0, 0, 0, 0), 4), 0x29c08086);
	for (reg = 0; reg < 0x100; reg++) {
		for (s = 0; s < 3; s++) {
			unsigned size = sizes[s];
			uint64_t by_ecam = mmio_in(ECAM(0, 0, 0, reg), size);

			if ((reg & 3) + size <= 4)
				assert_int_equal(cfg_in(0, 0, 0, reg, size), by_ecam);
		}
	}
	/* The device ID from any byte of CONFIG_DATA, and across dwords by ECAM. */
	assert_int_equal(cfg_in(0, 0, 0, 2, 2), 0x29c0);
	assert_int_equal(cfg_in(0, 0, 0, 1, 2), 0xc080);
	assert_int_equal(cfg_in(0, 0, 0, 3, 1), 0x29);
	assert_int_equal(mmio_in(ECAM(0, 0, 0, 3), 2), 0x0429); /* device high byte, command low byte */
	assert_int_equal(mmio_in(ECAM(0, 0, 0, 0), 8), 0x0000000429c08086ull); /* bus mastering from firmware */
	assert_int_equal(mmio_in(ECAM(0, 0, 0, 6), 4), 0x00000000);
}

static void config_data_past_the_dword_runs_off_the_ports(void **state)
{
	(void)state;
	port_out(0xcf8, 4, cf8(0, 0, 0, 0));
	/* 0xCFE-0xD01: two bytes of the device ID, then ports nobody has. */
	assert_int_equal(port_in(0xcfe, 4), 0xffff29c0);
	assert_int_equal(port_in(0xcff, 2), 0xff29);
}

static void config_address_takes_32_bit_accesses_only(void **state)
{
	(void)state;
	port_out(0xcf8, 4, 0xffffffff);
	assert_int_equal(port_in(0xcf8, 4), 0x80fffffc); /* reserved bits read 0 */
	port_out(0xcf8, 4, cf8(0, 0, 0, 0));
	port_out(0xcf8, 1, 0x7f); /* not to the register: nobody's */
	port_out(0xcf8, 2, 0x0000);
	port_out(0xcfa, 2, 0xffff);
	assert_int_equal(port_in(0xcf8, 4), 0x80000000);
	assert_int_equal(port_in(0xcf8, 1), 0xff);
	assert_int_equal(port_in(0xcf8, 2), 0xffff);
	assert_int_equal(port_in(0xcfc, 4), 0x29c08086);
}

static void config_data_is_nobody_without_the_enable_bit(void **state)
{
	(void)state;
	port_out(0xcf8, 4, cf8(0, TD, 0, 0) & 0x7fffffff);
	assert_int_equal(port_in(0xcfc, 4), 0xffffffff);
	port_out(0xcf8, 4, cf8(0, TD, 0, 4) & 0x7fffffff);
	port_out(0xcfc, 2, 0); /* would switch decoding off */
	assert_int_equal(td_in(4) & 0xffff, 0x0007);
	assert_int_equal(mmio_in(BAR0_AT, 4), TESTDEV_ID);
}

static void unpopulated_functions_read_all_ones(void **state)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	unsigned s;

	(void)state;
	assert_int_equal(cfg_in(0, 2, 0, 0, 4), 0xffffffff);
	assert_int_equal(cfg_in(0, 0, 1, 0, 4), 0xffffffff);
	assert_int_equal(cfg_in(0, 31, 7, 0x3c, 4), 0xffffffff);
	assert_int_equal(cfg_in(1, 0, 0, 0, 4), 0xffffffff);
	assert_int_equal(cfg_in(255, 0, 0, 0, 2), 0xffff);
	for (s = 0; s < 4; s++) {
		uint64_t ones = sizes[s] == 8 ? ~0ull : (1ull << (8 * sizes[s])) - 1;
		assert_int_equal(mmio_in(ECAM(0, 5, 3, 0x10), sizes[s]), ones);
		assert_int_equal(mmio_in(ECAM(PLATFORM_ECAM_BUSES - 1, 31, 7, 0xff8), sizes[s]), ones);
		assert_int_equal(mmio_in(ECAM(0, 0, 1, 0x100), sizes[s]), ones);
	}
	/* Writes there vanish. */
	cfg_out(0, 2, 0, 4, 4, 0xffffffff);
	mmio_out(ECAM(3, 0, 0, 4), 4, 0xffffffff);
	assert_int_equal(cfg_in(0, 2, 0, 0, 4), 0xffffffff);
	assert_int_equal(pci_lines, 0);
}

static void the_extended_space_of_a_function_reads_zero(void **state)
{
	(void)state;
	assert_int_equal(mmio_in(ECAM(0, TD, 0, 0x100), 4), 0);
	assert_int_equal(mmio_in(ECAM(0, TD, 0, 0xff8), 8), 0);
	mmio_out(ECAM(0, TD, 0, 0x100), 4, 0x12345678);
	assert_int_equal(mmio_in(ECAM(0, TD, 0, 0x100), 4), 0);
	/* An access across the end of a function's 4 KiB: the next function's bytes (nobody's). */
	assert_int_equal(mmio_in(ECAM(0, TD, 0, 0xffc), 8), 0xffffffff00000000ull);
	assert_int_equal(mmio_in(ECAM(0, 0, 0, 0xfff), 2), 0xff00); /* 00:00.1 is nobody */
	assert_int_equal(mmio_in(ECAM(0, 0, 7, 0xfff), 2), 0x34ff); /* 00:01.0 the test device, 1234:4876 */
}

static void read_only_fields_stay(void **state)
{
	static const unsigned ro[] = { 0x00, 0x08, 0x0e, 0x28, 0x2c, 0x30, 0x34, 0x3d };
	uint32_t before[8];
	unsigned i;

	(void)state;
	for (i = 0; i < 8; i++)
		before[i] = td_in(ro[i] & ~3u);
	for (i = 0; i < 8; i++)
		td_out(ro[i], 1, 0xff);
	for (i = 0; i < 8; i++)
		cfg_out(0, TD, 0, ro[i] & ~3u, 4, ~before[i] & 0xffffffff);
	for (i = 0; i < 8; i++)
		if (ro[i] != 0x30 && (ro[i] & ~3u) != 0x0c && (ro[i] & ~3u) != 0x3c)
			assert_int_equal(td_in(ro[i] & ~3u), before[i]);
	assert_int_equal(td_in(0x00), 0x48761234);
	assert_int_equal(td_in(0x08), 0xff000001);
	assert_int_equal(td_in(0x2c), 0x00011234);
	assert_int_equal(td_in(0x30), 0); /* no expansion ROM: its BAR sizes to nothing */
	assert_int_equal(cfg_in(0, TD, 0, 0x3d, 1), 1);
	/* Cache line size, latency timer and interrupt line are the guest's. */
	td_out(0x0c, 2, 0x4010);
	td_out(0x3c, 1, 0x0b);
	assert_int_equal(td_in(0x0c) & 0xffff, 0x4010);
	assert_int_equal(cfg_in(0, TD, 0, 0x3c, 1), 0x0b);
}

static void command_and_status_bits(void **state)
{
	(void)state;
	td_out(0x04, 2, 0xffff);
	assert_int_equal(td_in(0x04) & 0xffff, 0x0547);
	/* Status: capabilities read-only, the error bits write-1-to-clear (none set), nothing set by writes. */
	td_out(0x06, 2, 0xffff);
	assert_int_equal(td_in(0x04) >> 16, 0x0010);
	td_out(0x04, 4, 0x00000006);
	assert_int_equal(td_in(0x04), 0x00100006);
	/* The host bridge has no capabilities. */
	assert_int_equal(cfg_in(0, 0, 0, 0x06, 2), 0x0000);
	assert_int_equal(cfg_in(0, 0, 0, 0x34, 1), 0);
}

/* ---- BARs */

static void firmware_places_and_enables_every_bar(void **state)
{
	(void)state;
	assert_int_equal(td_in(0x10), BAR0_AT);
	assert_int_equal(td_in(0x14), BAR1_AT);
	assert_int_equal(td_in(0x18), BAR2_AT | 1);
	assert_int_equal(td_in(0x1c), 0);
	assert_int_equal(td_in(0x20), BAR4_AT | 0xc); /* 64-bit, prefetchable */
	assert_int_equal(td_in(0x24), 0);
	assert_int_equal(td_in(0x04) & 0xffff, 0x0007); /* I/O, memory, bus master */
	assert_int_equal(cfg_in(0, TD, 0, 0x3c, 1), 17);
	assert_int_equal(mmio_in(BAR0_AT, 4), TESTDEV_ID);
	assert_int_equal(mmio_in(BAR4_AT, 4), TESTDEV_ID);
	assert_int_equal(port_in(BAR2_AT, 4), TESTDEV_ID);
	assert_int_equal(pci_intx_gsi(1, 1), 17);
	assert_int_equal(pci_intx_gsi(7, 2), 16);
	assert_int_equal(pci_intx_gsi(31, 4), 18);
}

static void bars_size_by_all_ones(void **state)
{
	(void)state;
	td_out(0x04, 2, 0x0004); /* decoding off while sizing, as Linux does */
	for (unsigned reg = 0x10; reg <= 0x24; reg += 4)
		td_out(reg, 4, 0xffffffff);
	assert_int_equal(td_in(0x10), 0xfffff000);
	assert_int_equal(td_in(0x14), 0xfffff000);
	assert_int_equal(td_in(0x18), 0x0000fff1); /* 16 ports; 16-bit I/O decode */
	assert_int_equal(td_in(0x1c), 0);
	assert_int_equal(td_in(0x20), 0xfffff00c);
	assert_int_equal(td_in(0x24), 0xffffffff);
	assert_int_equal(pci_lines, 0); /* nothing decoded meanwhile */
	assert_int_equal(mmio_in(BAR0_AT, 4), 0xffffffff);
	/* Restored and switched on: where they were. */
	td_out(0x10, 4, BAR0_AT);
	td_out(0x14, 4, BAR1_AT);
	td_out(0x18, 4, BAR2_AT);
	td_out(0x20, 4, BAR4_AT);
	td_out(0x24, 4, 0);
	td_out(0x04, 2, 0x0007);
	assert_int_equal(mmio_in(BAR0_AT + 8, 4), 0xffffffff); /* RESULT before any doorbell */
	assert_int_equal(port_in(BAR2_AT, 4), TESTDEV_ID);
	assert_int_equal(mmio_in(BAR4_AT, 4), TESTDEV_ID);
	assert_int_equal(pci_lines, 0);
}

static void bars_move_when_written(void **state)
{
	(void)state;
	td_out(0x10, 4, 0xd0000000);
	assert_int_equal(mmio_in(BAR0_AT, 4), 0xffffffff);
	assert_int_equal(mmio_in(0xd0000000, 4), TESTDEV_ID);
	td_out(0x18, 4, 0xd000);
	assert_int_equal(port_in(BAR2_AT, 4), 0xffffffff);
	assert_int_equal(port_in(0xd000, 4), TESTDEV_ID);
	/* A 64-bit BAR above 4 GiB: the high half, then the low one; each half moves it. */
	td_out(0x24, 4, 0x8);
	assert_int_equal(mmio_in(0x800000000ull + BAR4_AT, 4), TESTDEV_ID);
	td_out(0x20, 4, 0x10000000);
	assert_int_equal(mmio_in(0x810000000ull, 4), TESTDEV_ID);
	assert_int_equal(mmio_in(0x800000000ull + BAR4_AT, 4), 0xffffffff);
	assert_int_equal(td_in(0x20), 0x1000000c);
	/* Byte writes move it too: the address bits below the size stay 0. */
	td_out(0x11, 1, 0x2f);
	assert_int_equal(td_in(0x10), 0xd0002000);
	assert_int_equal(mmio_in(0xd0002000, 4), TESTDEV_ID);
	assert_int_equal(pci_lines, 0);
}

static void decoding_follows_the_command_register(void **state)
{
	(void)state;
	td_out(0x04, 2, 0x0005); /* memory off */
	assert_int_equal(mmio_in(BAR0_AT, 4), 0xffffffff);
	assert_int_equal(mmio_in(BAR4_AT, 4), 0xffffffff);
	assert_int_equal(port_in(BAR2_AT, 4), TESTDEV_ID);
	/* Moved while off: decoded at its new place once switched on. */
	td_out(0x10, 4, 0xd0000000);
	assert_int_equal(mmio_in(0xd0000000, 4), 0xffffffff);
	td_out(0x04, 2, 0x0006); /* memory on, I/O off */
	assert_int_equal(mmio_in(0xd0000000, 4), TESTDEV_ID);
	assert_int_equal(mmio_in(BAR0_AT, 4), 0xffffffff);
	assert_int_equal(port_in(BAR2_AT, 4), 0xffffffff);
	td_out(0x04, 2, 0x0007);
	assert_int_equal(port_in(BAR2_AT, 4), TESTDEV_ID);
}

static void assert_refused(const char *why)
{
	assert_true(pci_lines > 0);
	assert_non_null(strstr(guest_line, why));
	pci_lines = 0;
	guest_line[0] = 0;
}

static void bars_over_ram_apics_ecam_or_claims_are_not_decoded(void **state)
{
	(void)state;
	td_out(0x10, 4, 0x00100000);
	assert_refused("PCI 00:01.0 BAR0 at 0x100000 not decoded: MMIO 0x100000-0x100fff: overlaps the partition's RAM");
	assert_int_equal(td_in(0x10), 0x00100000); /* the register keeps what was written */
	assert_int_equal(mmio_in(BAR0_AT, 4), 0xffffffff);
	td_out(0x10, 4, (uint32_t)PLATFORM_LAPIC_BASE);
	assert_refused("BAR0 at 0xfee00000 not decoded: over the local APICs' page");
	td_out(0x10, 4, (uint32_t)PLATFORM_ECAM_BASE + 0x5000);
	assert_refused("overlaps the claimed 0xe0000000-0xe0ffffff");
	td_out(0x10, 4, (uint32_t)BAR1_AT);
	assert_refused("BAR0 at 0xc0001000 not decoded: MMIO 0xc0001000-0xc0001fff: overlaps the claimed 0xc0001000");
	assert_int_equal(mmio_in(BAR1_AT, 4), 0); /* the MSI-X table stays: entry 0's address */
	/* A 64-bit BAR over RAM above 4 GiB, in a partition that has some. */
	part.ram_size = 6ull << 30;
	td_out(0x20, 4, 0x10000000);
	td_out(0x24, 4, 0x1);
	assert_refused("BAR4 at 0x110000000 not decoded: MMIO 0x110000000-0x110000fff: overlaps the partition's RAM");
	/* I/O over the configuration ports. */
	td_out(0x18, 4, 0xcf0);
	assert_refused("BAR2 at 0xcf0 not decoded: ports 0xcf0-0xcff: overlaps the claimed 0xcfc-0xcff");
	/* Said once: unrelated writes do not try (nor log) again. */
	td_out(0x0c, 1, 0x10);
	td_out(0x04, 2, 0x0007);
	assert_int_equal(pci_lines, 0);
	/* Moved somewhere free, it decodes again. */
	td_out(0x10, 4, 0xd0000000);
	td_out(0x20, 4, BAR4_AT);
	td_out(0x24, 4, 0x0);
	td_out(0x18, 4, 0xd000);
	assert_int_equal(pci_lines, 0);
	assert_int_equal(mmio_in(0xd0000000, 4), TESTDEV_ID);
	assert_int_equal(mmio_in(BAR4_AT, 4), TESTDEV_ID);
	assert_int_equal(port_in(0xd000, 4), TESTDEV_ID);
}

static void bars_are_checked_when_added(void **state)
{
	struct pci_dev d;
	static const struct pci_identity id = { .vendor = 0x1234 };

	(void)state;
	pci_dev_init(&d, &id);
	assert_int_equal(pci_add_bar(&d, 0, PCI_BAR_IO, 0, 2, 0, 0), -1);
	assert_int_equal(pci_add_bar(&d, 0, PCI_BAR_IO, 0, 512, 0, 0), -1);
	assert_int_equal(pci_add_bar(&d, 0, PCI_BAR_IO, 0, 12, 0, 0), -1);
	assert_int_equal(pci_add_bar(&d, 0, PCI_BAR_IO, 1, 16, 0, 0), -1);
	assert_int_equal(pci_add_bar(&d, 0, PCI_BAR_MEM32, 0, 8, 0, 0), -1);
	assert_int_equal(pci_add_bar(&d, 0, PCI_BAR_MEM32, 0, 1ull << 32, 0, 0), -1);
	assert_int_equal(pci_add_bar(&d, 0, PCI_BAR_MEM32, 0, 0, 0, 0), -1);
	assert_int_equal(pci_add_bar(&d, 5, PCI_BAR_MEM64, 0, 4096, 0, 0), -1);
	assert_int_equal(pci_add_bar(&d, 6, PCI_BAR_MEM32, 0, 4096, 0, 0), -1);
	assert_int_equal(pci_add_bar(&d, 0, PCI_BAR_UPPER, 0, 4096, 0, 0), -1);
	assert_int_equal(pci_add_bar(&d, 1, PCI_BAR_MEM32, 0, 4096, 0, 0), 0);
	assert_int_equal(pci_add_bar(&d, 0, PCI_BAR_MEM64, 0, 4096, 0, 0), -1); /* index 1 is taken */
	assert_int_equal(pci_add_bar(&d, 1, PCI_BAR_IO, 0, 16, 0, 0), -1);
	assert_int_equal(pci_add_bar(&d, 2, PCI_BAR_MEM64, 1, 1ull << 34, 0, 0), 0);
	assert_int_equal(pci_add_bar(&d, 3, PCI_BAR_MEM32, 0, 4096, 0, 0), -1);
	/* An 16 GiB BAR: the low dword's address bits are all below its size. */
	assert_int_equal(d.wmask[0x18], 0);
	assert_int_equal(d.wmask[0x1c], 0xfc);
}

static void firmware_refuses_what_does_not_fit(void **state)
{
	static const struct pci_identity id = { .vendor = 0x1234, .device = 1 };
	static struct pci_dev many[12];
	unsigned i, b;

	(void)state;
	start(0);
	for (i = 0; i < 12; i++) {
		pci_dev_init(&many[i], &id);
		for (b = 0; b < 6; b++)
			assert_int_equal(pci_add_bar(&many[i], b, PCI_BAR_IO, 0, 256, 0, 0), 0);
		assert_null(pci_register(&part.pci, &many[i], 2 + i, 0));
	}
	assert_string_equal(vpci_start(&part.pci), "its PCI I/O BARs do not fit in 0xC000-0xFFFF");
	start(0);
	for (i = 0; i < 3; i++) {
		pci_dev_init(&many[i], &id);
		assert_int_equal(pci_add_bar(&many[i], 0, PCI_BAR_MEM64, 0, 256ull << 20, 0, 0), 0);
		assert_null(pci_register(&part.pci, &many[i], 2 + i, 0));
	}
	assert_string_equal(vpci_start(&part.pci), "its PCI memory BARs do not fit below the ECAM window");
}

/* ---- registration */

static void functions_register_once_and_say_multifunction(void **state)
{
	static const struct pci_identity id = { .vendor = 0x1234, .device = 2 };
	static struct pci_dev f0, f2, other;

	(void)state;
	pci_dev_init(&f0, &id);
	pci_dev_init(&f2, &id);
	pci_dev_init(&other, &id);
	assert_non_null(pci_register(&part.pci, &other, 0, 0));
	assert_non_null(pci_register(&part.pci, &other, TD, 0));
	assert_non_null(pci_register(&part.pci, &other, 32, 0));
	assert_non_null(pci_register(&part.pci, &other, 3, 8));
	assert_null(pci_register(&part.pci, &f2, 3, 2));
	assert_null(pci_register(&part.pci, &f0, 3, 0));
	assert_int_equal(cfg_in(0, 3, 0, 0x0e, 1), 0x80);
	assert_int_equal(cfg_in(0, 3, 2, 0x00, 4), 0x00021234);
	assert_int_equal(cfg_in(0, 3, 1, 0x00, 4), 0xffffffff);
	assert_int_equal(cfg_in(0, TD, 0, 0x0e, 1), 0x00);
}

/* ---- capabilities */

static void capabilities_form_a_list(void **state)
{
	static const struct pci_identity id = { .vendor = 0x1234, .device = 3 };
	static struct pci_dev d;
	static const uint8_t body[0xbf] = { 14, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 };
	unsigned at, n = 0, last = 0;

	(void)state;
	assert_int_equal(cfg_in(0, TD, 0, 0x06, 2) & 0x10, 0x10);
	assert_int_not_equal(find_cap(TD, 0x05), 0);
	assert_int_not_equal(find_cap(TD, 0x11), 0);
	assert_int_equal(find_cap(TD, 0x09), 0);
	/* Fill a function with vendor capabilities: each dword aligned, each linked, read-only. */
	pci_dev_init(&d, &id);
	while ((at = pci_add_capability(&d, 0x09, body, 14)) != 0) {
		assert_true(at > last);
		last = at;
		n++;
	}
	assert_int_equal(n, (0x100 - 0x40) / 16);
	assert_int_equal(pci_add_msi(&d, 1, 0, 0), -1); /* no room left */
	assert_null(pci_register(&part.pci, &d, 4, 0));
	for (at = (unsigned)cfg_in(0, 4, 0, 0x34, 1), n = 0; at; at = (unsigned)cfg_in(0, 4, 0, at + 1, 1), n++) {
		assert_int_equal(cfg_in(0, 4, 0, at, 4), 0x010e0009u | (at + 16 < 0x100 ? (at + 16) << 8 : 0));
		cfg_out(0, 4, 0, at + 2, 2, 0xffff);
		assert_int_equal(cfg_in(0, 4, 0, at + 2, 2), 0x010e);
	}
	assert_int_equal(n, (0x100 - 0x40) / 16);
	/* A body too big for what is left. */
	pci_dev_init(&d, &id);
	assert_int_equal(pci_add_capability(&d, 0x09, body, 0xbf), 0);
	assert_int_equal(pci_add_capability(&d, 0x09, body, 0xbe), 0x40);
	assert_int_equal(pci_add_capability(&d, 0x09, body, 0), 0);
}

/* ---- interrupts */

/* MSI at its capability: 64-bit address to APIC ID dest, data vector. */
static void program_msi(unsigned dest, uint16_t data, uint16_t control)
{
	unsigned c = find_cap(TD, 0x05);

	td_out(c + 4, 4, 0xfee00000u | dest << 12);
	td_out(c + 8, 4, 0);
	td_out(c + 12, 2, data);
	td_out(c + 2, 2, control);
}

static uint32_t doorbell(uint32_t n)
{
	mmio_out(BAR0_AT + TESTDEV_REG_DOORBELL, 4, n);
	return (uint32_t)mmio_in(BAR0_AT + TESTDEV_REG_RESULT, 4);
}

static void msi_messages_carry_their_number(void **state)
{
	unsigned c;

	(void)state;
	c = find_cap(TD, 0x05);
	assert_int_equal(td_in(c) >> 16, 0x0184); /* 4 messages capable, 64-bit, per-vector masks */
	program_msi(1, 0x40, 0x0001);
	assert_int_equal(doorbell(0), PCI_NOTIFY_SENT);
	assert_int_equal(nmsgs, 1);
	assert_int_equal(msgs[0].vector, 0x40);
	assert_int_equal(msgs[0].dest, 1);
	assert_int_equal(msgs[0].mode, IRQ_FIXED);
	assert_int_equal(msgs[0].logical, 0);
	assert_int_equal(line_calls, 0);
	/* One message enabled: every event comes as it. */
	assert_int_equal(doorbell(3), PCI_NOTIFY_SENT);
	assert_int_equal(msgs[1].vector, 0x40);
	/* Four: the low bits of the data say which; more fold onto them. */
	td_out(c + 2, 2, 0x0021);
	assert_int_equal(doorbell(3), PCI_NOTIFY_SENT);
	assert_int_equal(msgs[2].vector, 0x43);
	assert_int_equal(doorbell(5), PCI_NOTIFY_SENT);
	assert_int_equal(msgs[3].vector, 0x41);
	/* Asking for more than it is capable of: it reads as the most it can. */
	td_out(c + 2, 2, 0x0071);
	assert_int_equal((td_in(c) >> 20) & 7, 2);
	/* The address's low bits and the capable fields are read-only. */
	td_out(c + 4, 4, 0xfee00003);
	assert_int_equal(td_in(c + 4), 0xfee00000);
	td_out(c + 2, 2, 0xffff);
	assert_int_equal(td_in(c) >> 16, 0x01a5);
}

static void msi_masked_messages_wait_pending(void **state)
{
	unsigned c;

	(void)state;
	c = find_cap(TD, 0x05);
	program_msi(0, 0x60, 0x0021);
	td_out(c + 0x10, 4, 0xffffffff);
	assert_int_equal(td_in(c + 0x10), 0xf); /* 4 vectors, 4 mask bits */
	assert_int_equal(doorbell(1), PCI_NOTIFY_PENDING);
	assert_int_equal(doorbell(2), PCI_NOTIFY_PENDING);
	assert_int_equal(nmsgs, 0);
	assert_int_equal(td_in(c + 0x14), 0x6);
	td_out(c + 0x14, 4, 0); /* pending bits are read-only */
	assert_int_equal(td_in(c + 0x14), 0x6);
	td_out(c + 0x10, 4, 0xd); /* unmask vector 1 */
	assert_int_equal(nmsgs, 1);
	assert_int_equal(msgs[0].vector, 0x61);
	assert_int_equal(td_in(c + 0x14), 0x4);
	td_out(c + 0x10, 4, 0);
	assert_int_equal(nmsgs, 2);
	assert_int_equal(msgs[1].vector, 0x62);
	assert_int_equal(td_in(c + 0x14), 0);
}

/* 32-bit MSI without masks: data right after the address, nothing after the data (PCI 3.0, 6.8.1). */
static void msi_with_32_bit_addresses(void **state)
{
	static const struct pci_identity id = { .vendor = 0x1234, .device = 6 };
	static struct pci_dev d;
	unsigned c;

	(void)state;
	pci_dev_init(&d, &id);
	assert_int_equal(pci_add_msi(&d, 3, 0, 0), -1);
	assert_int_equal(pci_add_msi(&d, 64, 0, 0), -1);
	assert_int_equal(pci_add_msi(&d, 2, 0, 0), 0);
	assert_int_equal(pci_add_msi(&d, 2, 0, 0), -1); /* one MSI capability */
	assert_null(pci_register(&part.pci, &d, 5, 0));
	c = find_cap(5, 0x05);
	assert_int_equal(c, 0x40);
	assert_int_equal(cfg_in(0, 5, 0, c, 4), 0x00020005); /* 2 messages capable, 32-bit, no masks */
	assert_int_equal(cfg_in(0, 5, 0, 0x06, 2), 0x0010);
	cfg_out(0, 5, 0, c + 4, 4, 0xfee01000);
	cfg_out(0, 5, 0, c + 8, 4, 0xffff0070); /* the data is 16 bits; past it, nothing */
	assert_int_equal(cfg_in(0, 5, 0, c + 8, 4), 0x0070);
	assert_int_equal(cfg_in(0, 5, 0, c + 12, 4), 0);
	cfg_out(0, 5, 0, c + 2, 2, 0x0011);
	assert_int_equal(pci_notify(&d, 1), PCI_NOTIFY_DROPPED); /* registered after the firmware ran: no bus master */
	cfg_out(0, 5, 0, 0x04, 2, 0x0004);
	assert_int_equal(pci_notify(&d, 1), PCI_NOTIFY_SENT);
	assert_int_equal(msgs[0].vector, 0x71);
	assert_int_equal(msgs[0].dest, 1);
}

static uint64_t msix_entry(unsigned v, unsigned field)
{
	return mmio_in(BAR1_AT + 16 * v + 4 * field, 4);
}

static void program_msix(unsigned v, unsigned dest, uint32_t data, uint32_t control)
{
	mmio_out(BAR1_AT + 16 * v, 8, 0xfee00000u | dest << 12); /* address, both halves */
	mmio_out(BAR1_AT + 16 * v + 8, 4, data);
	mmio_out(BAR1_AT + 16 * v + 12, 4, control);
}

static uint64_t pba(void)
{
	return mmio_in(BAR1_AT + PCI_MSIX_PBA, 8);
}

static void msix_entries_and_their_masks(void **state)
{
	unsigned c, v;

	(void)state;
	c = find_cap(TD, 0x11);
	assert_int_equal(td_in(c) >> 16, TESTDEV_MSIX_VECTORS - 1);
	assert_int_equal(td_in(c + 4), 1);                  /* table in BAR1 at 0 */
	assert_int_equal(td_in(c + 8), PCI_MSIX_PBA | 1);   /* PBA in BAR1 */
	for (v = 0; v < TESTDEV_MSIX_VECTORS; v++)
		assert_int_equal(msix_entry(v, 3), 1); /* masked after reset */
	/* Enabled with the function masked: events wait, pending. */
	td_out(c + 2, 2, 0xc000);
	program_msix(2, 1, 0x51, 0);
	assert_int_equal(doorbell(2), PCI_NOTIFY_PENDING);
	assert_int_equal(pba(), 0x4);
	assert_int_equal(nmsgs, 0);
	td_out(c + 2, 2, 0x8000);
	assert_int_equal(nmsgs, 1);
	assert_int_equal(msgs[0].vector, 0x51);
	assert_int_equal(msgs[0].dest, 1);
	assert_int_equal(pba(), 0);
	assert_int_equal(doorbell(2), PCI_NOTIFY_SENT);
	/* The entry's own mask. */
	program_msix(5, 0, 0x55, 1);
	assert_int_equal(doorbell(5), PCI_NOTIFY_PENDING);
	assert_int_equal(doorbell(5), PCI_NOTIFY_PENDING);
	assert_int_equal(pba(), 0x20);
	assert_int_equal(mmio_in(BAR1_AT + PCI_MSIX_PBA, 1), 0x20);
	mmio_out(BAR1_AT + PCI_MSIX_PBA, 8, 0); /* read-only */
	assert_int_equal(pba(), 0x20);
	mmio_out(BAR1_AT + 16 * 5 + 12, 4, 0xfffffffe); /* reserved bits stay 0, unmasked */
	assert_int_equal(msix_entry(5, 3), 0);
	assert_int_equal(nmsgs, 3); /* once, however many events it held */
	assert_int_equal(msgs[2].vector, 0x55);
	/* No such entry. */
	assert_int_equal(doorbell(TESTDEV_MSIX_VECTORS), PCI_NOTIFY_DROPPED);
	assert_int_equal(doorbell(0xffffffff), PCI_NOTIFY_DROPPED);
	/* MSI-X is used before MSI. */
	program_msi(0, 0x40, 0x0001);
	assert_int_equal(doorbell(2), PCI_NOTIFY_SENT);
	assert_int_equal(msgs[nmsgs - 1].vector, 0x51);
}

static void msix_table_accesses(void **state)
{
	(void)state;
	mmio_out(BAR1_AT + 16, 8, 0x12345678fee0100full);
	assert_int_equal(msix_entry(1, 0), 0xfee0100c); /* bits 1:0 stay 0 */
	assert_int_equal(msix_entry(1, 1), 0x12345678);
	assert_int_equal(mmio_in(BAR1_AT + 16, 8), 0x12345678fee0100cull);
	assert_int_equal(mmio_in(BAR1_AT + 17, 2), 0xe010);
	/* Bytes, words and misaligned writes are not taken. */
	mmio_out(BAR1_AT + 16, 1, 0);
	mmio_out(BAR1_AT + 16, 2, 0);
	mmio_out(BAR1_AT + 18, 4, 0);
	mmio_out(BAR1_AT + 20, 8, 0);
	assert_int_equal(mmio_in(BAR1_AT + 16, 8), 0x12345678fee0100cull);
	/* Past the table and between it and the PBA: zero, writes vanish. */
	mmio_out(BAR1_AT + 16 * TESTDEV_MSIX_VECTORS, 4, 0xffffffff);
	assert_int_equal(mmio_in(BAR1_AT + 16 * TESTDEV_MSIX_VECTORS, 4), 0);
	assert_int_equal(mmio_in(BAR1_AT + PCI_MSIX_PBA + 8, 8), 0);
	assert_int_equal(mmio_in(BAR1_AT + 0xff8, 8), 0);
}

static void messages_to_no_vcpu_are_dropped(void **state)
{
	unsigned c = find_cap(TD, 0x11);

	(void)state;
	td_out(c + 2, 2, 0x8000);
	program_msix(0, 7, 0x30, 0);
	assert_int_equal(doorbell(0), PCI_NOTIFY_DROPPED);
	assert_int_equal(nmsgs, 0);
	assert_non_null(strstr(guest_line, "PCI 00:01.0 MSI-X vector 0: address 0xfee07000 data 0x30 reaches no vCPU "
					   "of the partition: dropped"));
	/* Not an interrupt message at all: a write elsewhere is nothing here. */
	mmio_out(BAR1_AT, 8, 0xfed00000);
	assert_int_equal(doorbell(0), PCI_NOTIFY_DROPPED);
	assert_non_null(strstr(guest_line, "address 0xfed00000 data 0x30 is no interrupt message"));
	mmio_out(BAR1_AT, 8, 0x1fee00000ull);
	assert_int_equal(doorbell(0), PCI_NOTIFY_DROPPED);
	/* A reserved delivery mode. */
	program_msix(0, 0, 0x330, 0);
	assert_int_equal(doorbell(0), PCI_NOTIFY_DROPPED);
	/* No bus mastering: no message, and none later. */
	program_msix(0, 0, 0x30, 0);
	td_out(0x04, 2, 0x0003);
	assert_int_equal(doorbell(0), PCI_NOTIFY_DROPPED);
	td_out(0x04, 2, 0x0007);
	assert_int_equal(nmsgs, 0);
	assert_int_equal(doorbell(0), PCI_NOTIFY_SENT);
	assert_int_equal(nmsgs, 1);
}

static void intx_when_neither_msi_is_on(void **state)
{
	(void)state;
	assert_int_equal(doorbell(0), PCI_NOTIFY_INTX);
	assert_int_equal(lines[17], 1);
	assert_int_equal(td_in(0x04) >> 16 & 0x08, 0x08); /* interrupt status */
	assert_int_equal(mmio_in(BAR0_AT + TESTDEV_REG_INTX, 4), 1);
	assert_int_equal(doorbell(1), PCI_NOTIFY_INTX);
	assert_int_equal(line_calls, 1);
	/* Interrupt disable: the pin lets go, the status still shows it. */
	td_out(0x04, 2, 0x0407);
	assert_int_equal(lines[17], 0);
	assert_int_equal(td_in(0x04) >> 16 & 0x08, 0x08);
	td_out(0x04, 2, 0x0007);
	assert_int_equal(lines[17], 1);
	/* Deasserted by the device. */
	mmio_out(BAR0_AT + TESTDEV_REG_INTX, 4, 0);
	assert_int_equal(lines[17], 0);
	assert_int_equal(td_in(0x04) >> 16 & 0x08, 0);
	assert_int_equal(mmio_in(BAR0_AT + TESTDEV_REG_INTX, 4), 0);
	/* MSI on: the pin is not used. */
	assert_int_equal(doorbell(0), PCI_NOTIFY_INTX);
	program_msi(0, 0x40, 0x0001);
	assert_int_equal(lines[17], 0);
	assert_int_equal(nmsgs, 0);
}

static void functions_sharing_a_gsi_are_wired_or(void **state)
{
	static const struct pci_identity id = { .vendor = 0x1234, .device = 4, .intx_pin = 1 };
	static struct pci_dev other, pinless;

	(void)state;
	pci_dev_init(&other, &id);
	assert_null(pci_register(&part.pci, &other, 9, 0)); /* (9 + 1 - 1) % 8 = 1: GSI 17 as the test device */
	pci_set_intx(&other, 1);
	assert_int_equal(doorbell(0), PCI_NOTIFY_INTX);
	assert_int_equal(lines[17], 1);
	assert_int_equal(line_calls, 1);
	pci_set_intx(&other, 0);
	assert_int_equal(lines[17], 1);
	mmio_out(BAR0_AT + TESTDEV_REG_INTX, 4, 0);
	assert_int_equal(lines[17], 0);
	pci_set_intx(&other, 0);
	assert_int_equal(line_calls, 2);
	/* A function without a pin has no INTx. */
	pci_dev_init(&pinless, &(struct pci_identity){ .vendor = 0x1234 });
	assert_null(pci_register(&part.pci, &pinless, 10, 0));
	assert_int_equal(pci_notify(&pinless, 0), PCI_NOTIFY_DROPPED);
	pci_set_intx(&pinless, 1);
	assert_int_equal(line_calls, 2);
}

/* ---- the test device's memory */

static void scratch_takes_every_size_at_every_offset(void **state)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	unsigned s, off;

	(void)state;
	assert_int_equal(mmio_in(BAR0_AT + TESTDEV_SCRATCH, 8), 0);
	for (s = 0; s < 4; s++) {
		for (off = TESTDEV_SCRATCH; off + sizes[s] <= 0x1000; off += 7) {
			uint64_t v = 0x0102030405060708ull * (off | 1), mask = sizes[s] == 8 ? ~0ull : (1ull << (8 * sizes[s])) - 1;
			mmio_out(BAR0_AT + off, sizes[s], v);
			assert_int_equal(mmio_in(BAR0_AT + off, sizes[s]), v & mask);
			assert_int_equal(mmio_in(BAR4_AT + off, sizes[s]), v & mask); /* one memory, two BARs */
		}
	}
	mmio_out(BAR0_AT + 0xff8, 8, 0x1122334455667788ull);
	assert_int_equal(mmio_in(BAR0_AT + 0xffc, 4), 0x11223344);
	assert_int_equal(mmio_in(BAR4_AT + 0xffe, 8), 0xffffffffffff1122ull); /* past the BAR: nobody's */
	/* Registers take dwords only. */
	assert_int_equal(mmio_in(BAR0_AT, 2), 0);
	assert_int_equal(mmio_in(BAR0_AT + 1, 4), 0);
	assert_int_equal(mmio_in(BAR0_AT + 0x10, 4), 0);
	mmio_out(BAR0_AT + TESTDEV_REG_DOORBELL, 2, 0);
	assert_int_equal(mmio_in(BAR0_AT + TESTDEV_REG_RESULT, 4), 0xffffffff);
	assert_int_equal(port_in(BAR2_AT + 8, 4), 0xffffffff);
	port_out(BAR2_AT + 4, 4, 0);
	assert_int_equal(port_in(BAR2_AT + 8, 4), PCI_NOTIFY_INTX);
}

static void no_test_device_without_test_devices(void **state)
{
	(void)state;
	start(0);
	assert_int_equal(cfg_in(0, TD, 0, 0, 4), 0xffffffff);
	assert_int_equal(mmio_in(BAR0_AT, 4), 0xffffffff);
	assert_int_equal(cfg_in(0, 0, 0, 0, 4), 0x29c08086);
	/* A restart finds the segment as new. */
	cfg_out(0, 0, 0, 0x3c, 1, 0x55);
	start(1);
	assert_int_equal(cfg_in(0, 0, 0, 0x3c, 1), 0);
	assert_int_equal(mmio_in(BAR0_AT, 4), TESTDEV_ID);
}

/* ---- MSI encodings (SDM Vol. 3A, 11.11.1-2) */

static void msi_encodings_decode_as_the_sdm_says(void **state)
{
	static const struct {
		uint64_t address;
		uint32_t data;
		int ok;
		struct irq_msg m;
	} cases[] = {
		{ 0xfee00000, 0x0030, 0, { .vector = 0x30, .mode = IRQ_FIXED } },
		{ 0xfee01000, 0x00ff, 0, { .vector = 0xff, .mode = IRQ_FIXED, .dest = 1 } },
		{ 0xfeeff000, 0x0041, 0, { .vector = 0x41, .mode = IRQ_FIXED, .dest = 0xff } },
		{ 0xfee03004, 0x0031, 0, { .vector = 0x31, .mode = IRQ_FIXED, .logical = 1, .dest = 3 } },
		{ 0xfee03008, 0x0031, 0, { .vector = 0x31, .mode = IRQ_LOWEST, .dest = 3 } },   /* hint: lowest priority */
		{ 0xfee0300c, 0x0031, 0, { .vector = 0x31, .mode = IRQ_LOWEST, .logical = 1, .dest = 3 } },
		{ 0xfee00008, 0x0402, 0, { .vector = 0x02, .mode = IRQ_NMI } },                   /* a hint leaves NMI be */
		{ 0xfee00000, 0x0100, 0, { .vector = 0x00, .mode = IRQ_LOWEST } },
		{ 0xfee00000, 0x0200, 0, { .mode = IRQ_SMI } },
		{ 0xfee00000, 0x0500, 0, { .mode = IRQ_INIT } },
		{ 0xfee00000, 0x0700, 0, { .mode = IRQ_EXTINT } },
		{ 0xfee00000, 0x8030, 0, { .vector = 0x30, .mode = IRQ_FIXED, .level = 1 } },
		{ 0xfee00000, 0xffff4030, 0, { .vector = 0x30, .mode = IRQ_FIXED } },            /* data's other bits */
		{ 0xfeefffff, 0x0030, 0, { .vector = 0x30, .mode = IRQ_LOWEST, .logical = 1, .dest = 0xff } },
		{ 0xfee00000, 0x0300, -1, { 0 } }, /* reserved delivery modes */
		{ 0xfee00000, 0x0600, -1, { 0 } },
		{ 0xfed00000, 0x0030, -1, { 0 } }, /* not the interrupt range */
		{ 0xfef00000, 0x0030, -1, { 0 } },
		{ 0x00000000, 0x0030, -1, { 0 } },
		{ 0x1fee00000ull, 0x0030, -1, { 0 } },
		{ ~0ull, 0x0030, -1, { 0 } },
	};
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct irq_msg m = { .vector = 0x99 };
		int r = irq_msi_decode(cases[i].address, cases[i].data, &m);

		assert_int_equal(r, cases[i].ok);
		if (r)
			continue;
		assert_int_equal(m.vector, cases[i].m.vector);
		assert_int_equal(m.mode, cases[i].m.mode);
		assert_int_equal(m.logical, cases[i].m.logical);
		assert_int_equal(m.level, cases[i].m.level);
		assert_int_equal(m.dest, cases[i].m.dest);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(both_mechanisms_read_the_host_bridge_alike, reset),
		cmocka_unit_test_setup(config_data_past_the_dword_runs_off_the_ports, reset),
		cmocka_unit_test_setup(config_address_takes_32_bit_accesses_only, reset),
		cmocka_unit_test_setup(config_data_is_nobody_without_the_enable_bit, reset),
		cmocka_unit_test_setup(unpopulated_functions_read_all_ones, reset),
		cmocka_unit_test_setup(the_extended_space_of_a_function_reads_zero, reset),
		cmocka_unit_test_setup(read_only_fields_stay, reset),
		cmocka_unit_test_setup(command_and_status_bits, reset),
		cmocka_unit_test_setup(firmware_places_and_enables_every_bar, reset),
		cmocka_unit_test_setup(bars_size_by_all_ones, reset),
		cmocka_unit_test_setup(bars_move_when_written, reset),
		cmocka_unit_test_setup(decoding_follows_the_command_register, reset),
		cmocka_unit_test_setup(bars_over_ram_apics_ecam_or_claims_are_not_decoded, reset),
		cmocka_unit_test_setup(bars_are_checked_when_added, reset),
		cmocka_unit_test_setup(firmware_refuses_what_does_not_fit, reset),
		cmocka_unit_test_setup(functions_register_once_and_say_multifunction, reset),
		cmocka_unit_test_setup(capabilities_form_a_list, reset),
		cmocka_unit_test_setup(msi_messages_carry_their_number, reset),
		cmocka_unit_test_setup(msi_masked_messages_wait_pending, reset),
		cmocka_unit_test_setup(msi_with_32_bit_addresses, reset),
		cmocka_unit_test_setup(msix_entries_and_their_masks, reset),
		cmocka_unit_test_setup(msix_table_accesses, reset),
		cmocka_unit_test_setup(messages_to_no_vcpu_are_dropped, reset),
		cmocka_unit_test_setup(intx_when_neither_msi_is_on, reset),
		cmocka_unit_test_setup(functions_sharing_a_gsi_are_wired_or, reset),
		cmocka_unit_test_setup(scratch_takes_every_size_at_every_offset, reset),
		cmocka_unit_test_setup(no_test_device_without_test_devices, reset),
		cmocka_unit_test_setup(msi_encodings_decode_as_the_sdm_says, reset),
	};

	return cmocka_run_group_tests_name("pci", tests, NULL, NULL);
}
