/* A partition's device bus: what may be claimed, and where each guest access goes. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "partition.h"
#include "vdev/bus.h"
#include "vdev/platform.h"

#define RAM (16ull << 20)
#define APIC 0xfee00000ull
#define EVENTS_MAX 16

static char console[4096];
static size_t console_len;
static unsigned guest_lines;
static char guest_line[256];
static struct cfg_partition cfg = { .name = "t" };
static struct partition part;

/* A device that records each access and reads back tag + offset in each byte. */
struct recorder {
	uint8_t tag;
	unsigned n;
	struct event {
		int write;
		uint64_t offset, value;
		unsigned size;
	} ev[EVENTS_MAX];
};

static struct recorder a = { .tag = 0xa0 }, b = { .tag = 0xb0 };

static void record(struct recorder *r, int write, uint64_t offset, unsigned size, uint64_t value)
{
	assert_true(r->n < EVENTS_MAX);
	r->ev[r->n++] = (struct event){ .write = write, .offset = offset, .size = size, .value = value };
}

static void rec_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	struct recorder *r = dev;
	unsigned i;

	record(r, 0, offset, size, 0);
	*value = ~0ull; /* bits above the size must not reach the guest */
	for (i = 0; i < size; i++) {
		*value &= ~(0xffull << (8 * i));
		*value |= (uint64_t)(uint8_t)(r->tag + offset + i) << (8 * i);
	}
}

static void rec_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	record(dev, 1, offset, size, value);
}

static const struct vdev_ops rec_ops = { .read = rec_read, .write = rec_write };

static size_t sink(const char *text, size_t len, int wait)
{
	(void)wait;
	if (console_len + len >= sizeof(console))
		return len;
	memcpy(console + console_len, text, len);
	console_len += len;
	console[console_len] = 0;
	return len;
}

/* The hypervisor's rate-limited guest log (hv/partition.c), counted. */
void partition_log_guest(struct partition *p, enum log_level level, const char *f, ...)
{
	va_list ap;

	(void)p;
	(void)level;
	guest_lines++;
	va_start(ap, f);
	vsnprintf(guest_line, sizeof(guest_line), f, ap);
	va_end(ap);
}

static int reset(void **state)
{
	(void)state;
	console_len = 0;
	console[0] = 0;
	guest_lines = 0;
	guest_line[0] = 0;
	log_set_sink(sink);
	part = (struct partition){ .cfg = &cfg, .ram_size = RAM };
	vdev_bus_init(&part.bus);
	a.n = b.n = 0;
	return 0;
}

static uint64_t port_in(uint16_t port, unsigned size)
{
	uint64_t value = 0x0123456789abcdefull;

	vdev_port_access(&part, port, size, 0, &value);
	return value;
}

static uint64_t mmio_read(uint64_t gpa, unsigned size)
{
	uint64_t value = 0x0123456789abcdefull;

	vdev_mmio_access(&part, gpa, size, 0, &value);
	return value;
}

/* Refused, the table unchanged, and the reason both kept and logged. */
static void assert_refused(int r, const char *why)
{
	assert_int_equal(r, -1);
	assert_non_null(strstr(part.bus.refused, why));
	assert_non_null(strstr(console, "partition t: device range refused: "));
	assert_non_null(strstr(console, why));
	console_len = 0;
	console[0] = 0;
}

static void overlapping_claims_are_refused(void **state)
{
	(void)state;
	assert_int_equal(vdev_claim_ports(&part, 0x3f8, 8, &rec_ops, &a), 0);
	assert_refused(vdev_claim_ports(&part, 0x3f8, 8, &rec_ops, &b), "overlaps the claimed 0x3f8-0x3ff");
	assert_refused(vdev_claim_ports(&part, 0x3f0, 9, &rec_ops, &b), "ports 0x3f0-0x3f8: overlaps");
	assert_refused(vdev_claim_ports(&part, 0x3ff, 1, &rec_ops, &b), "ports 0x3ff-0x3ff: overlaps");
	assert_refused(vdev_claim_ports(&part, 0x300, 0x200, &rec_ops, &b), "overlaps");
	assert_int_equal(part.bus.count, 1);
	/* Neighbours on both sides fit. */
	assert_int_equal(vdev_claim_ports(&part, 0x3f0, 8, &rec_ops, &b), 0);
	assert_int_equal(vdev_claim_ports(&part, 0x400, 1, &rec_ops, &b), 0);
	/* MMIO and ports are two spaces: the same numbers do not clash. */
	assert_int_equal(vdev_claim_mmio(&part, APIC, 0x1000, &rec_ops, &a), 0);
	assert_refused(vdev_claim_mmio(&part, APIC + 0xfff, 0x10, &rec_ops, &b), "overlaps the claimed 0xfee00000-0xfee00fff");
	assert_int_equal(vdev_claim_mmio(&part, APIC + 0x1000, 0x10, &rec_ops, &b), 0);
	assert_int_equal(part.bus.count, 5);
}

/* Port 0x1000 and guest-physical 0x1000 are different places. */
static void ports_and_mmio_are_two_spaces(void **state)
{
	(void)state;
	part.ram_size = 0;
	assert_int_equal(vdev_claim_ports(&part, 0x1000, 16, &rec_ops, &a), 0);
	assert_int_equal(vdev_claim_mmio(&part, 0x1000, 16, &rec_ops, &b), 0);
	assert_int_equal(port_in(0x1004, 1), 0xa4);
	assert_int_equal(mmio_read(0x1004, 1), 0xb4);
	assert_int_equal(a.n, 1);
	assert_int_equal(b.n, 1);
}

static void empty_and_wrapping_claims_are_refused(void **state)
{
	(void)state;
	assert_refused(vdev_claim_ports(&part, 0x80, 0, &rec_ops, &a), "ports at 0x80: an empty range");
	assert_refused(vdev_claim_mmio(&part, APIC, 0, &rec_ops, &a), "MMIO at 0xfee00000: an empty range");
	assert_refused(vdev_claim_ports(&part, 0xffff, 2, &rec_ops, &a), "runs past the top");
	assert_refused(vdev_claim_ports(&part, 0x8000, 0xffff, &rec_ops, &a), "runs past the top");
	assert_refused(vdev_claim_mmio(&part, ~0ull - 0xf, 0x11, &rec_ops, &a), "runs past the top");
	assert_refused(vdev_claim_mmio(&part, APIC, ~0ull, &rec_ops, &a), "runs past the top");
	assert_int_equal(part.bus.count, 0);
	/* Ranges that end on the last port or byte are whole. */
	assert_int_equal(vdev_claim_ports(&part, 0xffff, 1, &rec_ops, &a), 0);
	assert_int_equal(vdev_claim_mmio(&part, ~0ull - 0xf, 0x10, &rec_ops, &a), 0);
}

static void mmio_over_ram_is_refused(void **state)
{
	(void)state;
	assert_refused(vdev_claim_mmio(&part, 0, 0x1000, &rec_ops, &a), "MMIO 0x0-0xfff: overlaps the partition's RAM");
	assert_refused(vdev_claim_mmio(&part, RAM - 0x1000, 0x2000, &rec_ops, &a), "overlaps the partition's RAM");
	assert_refused(vdev_claim_mmio(&part, RAM - 1, 1, &rec_ops, &a), "overlaps the partition's RAM");
	assert_int_equal(vdev_claim_mmio(&part, RAM, 0x1000, &rec_ops, &a), 0);
	/* Ports have nothing to do with RAM. */
	assert_int_equal(vdev_claim_ports(&part, 0, 0x10, &rec_ops, &a), 0);
}

/* 6 GiB: 3 GiB below the hole, 3 GiB from 4 GiB (platform.h). */
static void mmio_over_ram_above_4_gib_is_refused_and_the_hole_is_free(void **state)
{
	uint64_t gib = 1ull << 30;

	(void)state;
	part.ram_size = 6 * gib;
	assert_refused(vdev_claim_mmio(&part, 3 * gib - 0x1000, 0x1000, &rec_ops, &a), "overlaps the partition's RAM");
	assert_refused(vdev_claim_mmio(&part, 4 * gib, 0x1000, &rec_ops, &a), "overlaps the partition's RAM (up to 0x1c0000000)");
	assert_refused(vdev_claim_mmio(&part, 7 * gib - 1, 1, &rec_ops, &a), "overlaps the partition's RAM");
	assert_refused(vdev_claim_mmio(&part, 4 * gib - 0x1000, 0x2000, &rec_ops, &a), "overlaps the partition's RAM");
	assert_refused(vdev_claim_mmio(&part, 3 * gib, 8 * gib, &rec_ops, &a), "overlaps the partition's RAM");
	assert_int_equal(vdev_claim_mmio(&part, 3 * gib, gib, &rec_ops, &a), 0);
	assert_int_equal(vdev_claim_mmio(&part, 7 * gib, 0x1000, &rec_ops, &a), 0);
}

static void ram_offsets_follow_the_two_parts(void **state)
{
	uint64_t gib = 1ull << 30, off = 0;

	(void)state;
	assert_int_equal(platform_low_ram(16 << 20), 16 << 20);
	assert_int_equal(platform_high_ram(16 << 20), 0);
	assert_int_equal(platform_ram_top(16 << 20), 16 << 20);
	assert_int_equal(platform_ram_top(6 * gib), 7 * gib);
	assert_true(platform_ram_offset(6 * gib, 0x1000, 8, &off));
	assert_int_equal(off, 0x1000);
	assert_true(platform_ram_offset(6 * gib, 4 * gib + 0x10, 8, &off));
	assert_int_equal(off, 3 * gib + 0x10);
	assert_true(platform_ram_offset(6 * gib, 7 * gib - 8, 8, &off));
	assert_int_equal(off, 6 * gib - 8);
	assert_false(platform_ram_offset(6 * gib, 3 * gib - 8, 16, &off)); /* runs into the hole */
	assert_false(platform_ram_offset(6 * gib, 3 * gib, 1, &off));
	assert_false(platform_ram_offset(6 * gib, 7 * gib - 8, 9, &off));
	assert_false(platform_ram_offset(6 * gib, 4 * gib, ~0ull, &off));
	assert_false(platform_ram_offset(6 * gib, ~0ull, 2, &off)); /* wraps */
	assert_false(platform_ram_offset(6 * gib, 0, 0, &off));
	assert_false(platform_ram_offset(16 << 20, 4 * gib, 1, &off));
	assert_true(platform_is_ram(16 << 20, (16 << 20) - 1));
	assert_false(platform_is_ram(16 << 20, 16 << 20));
}

static void a_full_table_refuses_with_the_reason(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < VDEV_CLAIMS_MAX; i++)
		assert_int_equal(vdev_claim_ports(&part, (uint16_t)(0x1000 + i * 4), 4, &rec_ops, &a), 0);
	assert_refused(vdev_claim_mmio(&part, APIC, 0x1000, &rec_ops, &a), "the table is full (64 claims)");
	assert_int_equal(part.bus.count, VDEV_CLAIMS_MAX);
	/* A start empties it: a restart rebuilds the table rather than grows it. */
	vdev_bus_init(&part.bus);
	assert_int_equal(vdev_claim_ports(&part, 0x1000, 4, &rec_ops, &a), 0);
	assert_int_equal(part.bus.count, 1);
}

static void accesses_reach_the_device_at_their_offset_and_size(void **state)
{
	uint64_t value = 0xfeedfacecafebeefull;
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	unsigned i;

	(void)state;
	assert_int_equal(vdev_claim_ports(&part, 0x100, 16, &rec_ops, &a), 0);
	assert_int_equal(vdev_claim_mmio(&part, APIC, 0x1000, &rec_ops, &b), 0);
	assert_int_equal(port_in(0x104, 4), 0xa7a6a5a4);
	assert_int_equal(port_in(0x10f, 1), 0xaf);
	assert_int_equal(port_in(0x100, 2), 0xa1a0);
	vdev_port_access(&part, 0x10e, 2, 1, &value);
	assert_int_equal(a.n, 4);
	assert_int_equal(a.ev[3].write, 1);
	assert_int_equal(a.ev[3].offset, 0xe);
	assert_int_equal(a.ev[3].size, 2);
	assert_int_equal(a.ev[3].value, 0xbeef); /* only the bytes of the access */
	for (i = 0; i < 4; i++) {
		b.n = 0;
		mmio_read(APIC + 0x300, sizes[i]);
		assert_int_equal(b.n, 1); /* one access, whole, at its offset */
		assert_int_equal(b.ev[0].offset, 0x300);
		assert_int_equal(b.ev[0].size, sizes[i]);
	}
	assert_int_equal(mmio_read(APIC + 0xff8, 8), 0xafaeadacabaaa9a8ull);
	vdev_mmio_access(&part, APIC + 0xb0, 4, 1, &value);
	assert_int_equal(b.ev[b.n - 1].offset, 0xb0);
	assert_int_equal(b.ev[b.n - 1].value, 0xcafebeef);
	assert_int_equal(guest_lines, 0);
}

static void unclaimed_reads_are_all_ones_of_their_size(void **state)
{
	(void)state;
	assert_int_equal(vdev_claim_ports(&part, 0x100, 16, &rec_ops, &a), 0);
	assert_int_equal(port_in(0x80, 1), 0xff);
	assert_int_equal(port_in(0x80, 2), 0xffff);
	assert_int_equal(port_in(0x80, 4), 0xffffffff);
	assert_int_equal(mmio_read(RAM, 1), 0xff);
	assert_int_equal(mmio_read(RAM, 2), 0xffff);
	assert_int_equal(mmio_read(RAM, 4), 0xffffffff);
	assert_int_equal(mmio_read(RAM, 8), ~0ull);
	assert_int_equal(a.n, 0);
}

static void unclaimed_writes_vanish(void **state)
{
	uint64_t value = 0x1122334455667788ull;

	(void)state;
	assert_int_equal(vdev_claim_ports(&part, 0x100, 16, &rec_ops, &a), 0);
	assert_int_equal(vdev_claim_mmio(&part, APIC, 0x1000, &rec_ops, &b), 0);
	vdev_port_access(&part, 0xfc, 4, 1, &value);   /* ends just below the claim */
	vdev_port_access(&part, 0x110, 4, 1, &value);  /* starts just above it */
	vdev_mmio_access(&part, APIC - 8, 8, 1, &value);
	vdev_mmio_access(&part, APIC + 0x1000, 8, 1, &value);
	assert_int_equal(a.n, 0);
	assert_int_equal(b.n, 0);
	assert_int_equal(value, 0x1122334455667788ull);
}

/* The part of an access outside any claim floats high; each claimed byte reaches its device alone. */
static void straddling_accesses_split_into_bytes(void **state)
{
	uint64_t value = 0x44332211;

	(void)state;
	assert_int_equal(vdev_claim_ports(&part, 0x200, 4, &rec_ops, &a), 0);
	assert_int_equal(port_in(0x202, 4), 0xffffa3a2);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.ev[0].offset, 2);
	assert_int_equal(a.ev[0].size, 1);
	assert_int_equal(a.ev[1].offset, 3);
	assert_int_equal(port_in(0x1ff, 2), 0xa0ff); /* starts below the claim */
	/* Two claims side by side: each gets its own bytes. */
	assert_int_equal(vdev_claim_ports(&part, 0x204, 4, &rec_ops, &b), 0);
	assert_int_equal(port_in(0x202, 4), 0xb1b0a3a2);
	a.n = b.n = 0;
	vdev_port_access(&part, 0x203, 4, 1, &value);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.ev[0].offset, 3);
	assert_int_equal(a.ev[0].value, 0x11);
	assert_int_equal(b.n, 3);
	assert_int_equal(b.ev[0].offset, 0);
	assert_int_equal(b.ev[0].value, 0x22);
	assert_int_equal(b.ev[2].offset, 2);
	assert_int_equal(b.ev[2].value, 0x44);
	assert_int_equal(b.ev[2].size, 1);
	/* Past the last port there is nothing. */
	assert_int_equal(vdev_claim_ports(&part, 0xffff, 1, &rec_ops, &a), 0);
	assert_int_equal(port_in(0xffff, 2), 0xffa0);
}

static void mmio_straddles_and_the_top_of_the_space(void **state)
{
	(void)state;
	assert_int_equal(vdev_claim_mmio(&part, APIC, 0x1000, &rec_ops, &a), 0);
	assert_int_equal(mmio_read(APIC + 0xffc, 8), 0xffffffff9f9e9d9cull);
	assert_int_equal(guest_lines, 1); /* some of it was nobody's */
	/* An access at the very top does not wrap round to address 0. */
	part.ram_size = 0;
	assert_int_equal(vdev_claim_mmio(&part, 0, 0x10, &rec_ops, &b), 0);
	assert_int_equal(vdev_claim_mmio(&part, ~0ull - 3, 4, &rec_ops, &b), 0);
	assert_int_equal(mmio_read(~0ull - 3, 8), 0xffffffffb3b2b1b0ull);
	assert_int_equal(b.n, 4);
}

static void unclaimed_mmio_is_logged_once_per_start(void **state)
{
	(void)state;
	mmio_read(0xd0000000, 4);
	assert_int_equal(guest_lines, 1);
	assert_non_null(strstr(guest_line, "4-byte read of unclaimed MMIO at 0xd0000000"));
	mmio_read(0xd0000000, 4);
	mmio_read(0xe0000000, 8);
	assert_int_equal(guest_lines, 1);
	vdev_bus_init(&part.bus); /* the partition starts again */
	mmio_read(0xd0000000, 2);
	assert_int_equal(guest_lines, 2);
	/* Unclaimed ports are routine (probing): no log. */
	port_in(0x80, 1);
	assert_int_equal(guest_lines, 2);
}

/* A PCI BAR's decode: given back, moved, refused at its new place (the guest's doing: not on the console). */
static void released_ranges_read_all_ones_and_can_be_claimed_again(void **state)
{
	(void)state;
	assert_int_equal(vdev_claim_mmio(&part, 0xc0000000, 0x1000, &rec_ops, &a), 0);
	assert_int_equal(vdev_claim_ports(&part, 0xc000, 0x10, &rec_ops, &a), 0);
	assert_int_equal(vdev_release(&part, VDEV_MMIO, 0xc0000000, &b), -1);     /* not b's */
	assert_int_equal(vdev_release(&part, VDEV_MMIO, 0xc0000004, &a), -1);     /* not where it starts */
	assert_int_equal(vdev_release(&part, VDEV_PORTS, 0xc0000000, &a), -1);    /* the other space */
	assert_int_equal(mmio_read(0xc0000004, 1), 0xa4);
	assert_int_equal(vdev_release(&part, VDEV_MMIO, 0xc0000000, &a), 0);
	assert_int_equal(mmio_read(0xc0000004, 1), 0xff);
	assert_int_equal(port_in(0xc004, 1), 0xa4); /* the other claim of the same device stays */
	assert_int_equal(vdev_release(&part, VDEV_MMIO, 0xc0000000, &a), -1);
	assert_int_equal(vdev_claim_mmio(&part, 0xc0000000, 0x1000, &rec_ops, &b), 0);
	assert_int_equal(mmio_read(0xc0000004, 1), 0xb4);
	assert_int_equal(part.bus.count, 2);
}

static void moves_release_then_claim(void **state)
{
	struct vdev_range none = { 0, 0 }, x = { 0xc0000000, 0x1000 }, y = { 0xc0010000, 0x1000 };
	char why[VDEV_WHY_MAX] = "";

	(void)state;
	assert_int_equal(vdev_move(&part, VDEV_MMIO, none, x, &rec_ops, &a, why, sizeof(why)), 0);
	assert_int_equal(mmio_read(0xc0000004, 1), 0xa4);
	assert_int_equal(vdev_move(&part, VDEV_MMIO, x, y, &rec_ops, &a, why, sizeof(why)), 0);
	assert_int_equal(mmio_read(0xc0000004, 1), 0xff);
	assert_int_equal(mmio_read(0xc0010004, 1), 0xa4);
	assert_int_equal(part.bus.count, 1);
	/* Onto RAM: refused, the old place given back all the same, the reason to the caller only. */
	console_len = 0;
	console[0] = 0;
	assert_int_equal(vdev_move(&part, VDEV_MMIO, y, (struct vdev_range){ RAM - 0x1000, 0x1000 }, &rec_ops, &a, why,
				   sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "MMIO 0xfff000-0xffffff: overlaps the partition's RAM"));
	assert_int_equal(console_len, 0);
	assert_int_equal(part.bus.count, 0);
	assert_int_equal(mmio_read(0xc0010004, 1), 0xff);
	/* Onto another claim, and into a short buffer: cut, NUL-ended. */
	assert_int_equal(vdev_claim_mmio(&part, APIC, 0x1000, &rec_ops, &b), 0);
	assert_int_equal(vdev_move(&part, VDEV_MMIO, none, (struct vdev_range){ APIC, 0x10 }, &rec_ops, &a, why, 8), -1);
	assert_string_equal(why, "MMIO 0x");
	/* To nowhere: a release. */
	assert_int_equal(vdev_move(&part, VDEV_PORTS, none, (struct vdev_range){ 0xc000, 4 }, &rec_ops, &a, why,
				   sizeof(why)),
			 0);
	assert_int_equal(vdev_move(&part, VDEV_PORTS, (struct vdev_range){ 0xc000, 4 }, none, &rec_ops, &a, why,
				   sizeof(why)),
			 0);
	assert_int_equal(port_in(0xc000, 1), 0xff);
	assert_int_equal(part.bus.count, 1);
	/* A wrapping range is refused, not claimed. */
	assert_int_equal(vdev_move(&part, VDEV_PORTS, none, (struct vdev_range){ 0xfffc, 8 }, &rec_ops, &a, why,
				   sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "runs past the top"));
}

/* 0xCF8 answers 32-bit accesses only; a byte at 0xCF9 is another register (PC chipsets). */
static void a_register_of_one_size_lies_over_ordinary_ports(void **state)
{
	uint64_t value = 0x80000000;

	(void)state;
	assert_int_equal(vdev_claim_ports(&part, 0xcf9, 1, &rec_ops, &b), 0);
	assert_int_equal(vdev_claim_port_register(&part, 0xcf8, 4, &rec_ops, &a), 0);
	assert_int_equal(port_in(0xcf8, 4), 0xa3a2a1a0);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.ev[0].size, 4);
	vdev_port_access(&part, 0xcf8, 4, 1, &value);
	assert_int_equal(a.ev[1].value, 0x80000000);
	assert_int_equal(b.n, 0);
	/* Other sizes pass it by. */
	assert_int_equal(port_in(0xcf9, 1), 0xb0);
	assert_int_equal(port_in(0xcf8, 1), 0xff);
	assert_int_equal(port_in(0xcf8, 2), 0xb0ff);
	assert_int_equal(port_in(0xcfa, 2), 0xffff);
	assert_int_equal(port_in(0xcf9, 4), 0xffffffb0);
	assert_int_equal(a.n, 2);
	/* Never over another register; an ordinary claim fits under it whenever it comes. */
	assert_refused(vdev_claim_port_register(&part, 0xcfa, 2, &rec_ops, &b), "overlaps the claimed 0xcf8-0xcfb");
	assert_refused(vdev_claim_ports(&part, 0xcf9, 2, &rec_ops, &b), "overlaps the claimed 0xcf9-0xcf9");
	assert_int_equal(vdev_claim_ports(&part, 0xcfa, 2, &rec_ops, &b), 0);
	assert_int_equal(port_in(0xcfa, 2), 0xb1b0);
	assert_int_equal(port_in(0xcf8, 4), 0xa3a2a1a0);
}

/* Lookups are kept per place and size; two places of one slot, and each change of the table, are told apart. */
static void recent_lookups_follow_the_table(void **state)
{
	(void)state;
	assert_int_equal(vdev_claim_ports(&part, 0xc000, 8, &rec_ops, &a), 0);
	assert_int_equal(vdev_claim_ports(&part, 0xc008, 8, &rec_ops, &b), 0);
	assert_int_equal(port_in(0xc001, 1), 0xa1);
	assert_int_equal(port_in(0xc009, 1), 0xb1); /* the same slot, another place */
	assert_int_equal(port_in(0xc001, 1), 0xa1);
	assert_int_equal(port_in(0xc001, 2), 0xa2a1); /* another size */
	assert_int_equal(port_in(0xc001, 1), 0xa1);
	assert_int_equal(mmio_read(0xc001, 1), 0xff); /* another space */
	assert_int_equal(vdev_release(&part, VDEV_PORTS, 0xc008, &b), 0);
	assert_int_equal(port_in(0xc009, 1), 0xff);
	assert_int_equal(vdev_claim_ports(&part, 0xc008, 8, &rec_ops, &a), 0);
	assert_int_equal(port_in(0xc009, 1), 0xa1);
	assert_int_equal(vdev_claim_port_register(&part, 0xc008, 1, &rec_ops, &b), 0); /* a register over it */
	assert_int_equal(port_in(0xc008, 1), 0xb0);
}

/*
 * vCPUs read the bus while another moves a range (a BAR write): each
 * access finds the device whole at one place or nobody, and an access
 * made while no move was under way finds the table as the last move left
 * it, never the place a finished move gave back (recent_lookup() reads
 * without the lock).
 */
#define MOVES 5000
#define READERS 2
#define HERE 0xd000
#define THERE 0xe000

static uint64_t moves_done; /* odd while a move is under way; release after each change */
static unsigned torn, stale, checked, stop;

/* Reads tag + offset, as rec_read() does, without recording: several threads call it at once. */
static void tag_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	(void)size;
	*value = (uint8_t)(((struct recorder *)dev)->tag + offset);
}

static const struct vdev_ops tag_ops = { .read = tag_read, .write = rec_write };

static void *read_while_moving(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		uint64_t before = __atomic_load_n(&moves_done, __ATOMIC_ACQUIRE);
		uint64_t here = port_in(HERE + 1, 1), there = port_in(THERE + 1, 1);
		uint64_t after = __atomic_load_n(&moves_done, __ATOMIC_ACQUIRE);
		int at_here = before / 2 % 2 == 0; /* moves alternate: here, there, here ... */

		if ((here != 0xa1 && here != 0xff) || (there != 0xa1 && there != 0xff))
			__atomic_fetch_add(&torn, 1, __ATOMIC_RELAXED);
		if (before != after || before % 2)
			continue;
		__atomic_fetch_add(&checked, 1, __ATOMIC_RELAXED);
		if ((here == 0xa1) != at_here || (there == 0xa1) == at_here)
			__atomic_fetch_add(&stale, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

static void moves_are_seen_whole_and_at_once(void **state)
{
	struct vdev_range here = { HERE, 8 }, there = { THERE, 8 };
	pthread_t readers[READERS];
	char why[VDEV_WHY_MAX];
	unsigned i;

	(void)state;
	torn = stale = checked = stop = 0;
	moves_done = 0;
	assert_int_equal(vdev_claim_ports(&part, HERE, 8, &tag_ops, &a), 0);
	for (i = 0; i < READERS; i++)
		assert_int_equal(pthread_create(&readers[i], 0, read_while_moving, 0), 0);
	for (i = 0; i < MOVES; i++) {
		unsigned seen = __atomic_load_n(&checked, __ATOMIC_RELAXED);

		__atomic_store_n(&moves_done, 2 * i + 1, __ATOMIC_RELEASE);
		assert_int_equal(vdev_move(&part, VDEV_PORTS, i % 2 ? there : here, i % 2 ? here : there, &tag_ops, &a,
					   why, sizeof(why)),
				 0);
		__atomic_store_n(&moves_done, 2 * i + 2, __ATOMIC_RELEASE);
		while (__atomic_load_n(&checked, __ATOMIC_RELAXED) < seen + READERS) /* each place read between moves */
			__builtin_ia32_pause();
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < READERS; i++)
		pthread_join(readers[i], 0);
	assert_int_equal(torn, 0);
	assert_int_equal(stale, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(overlapping_claims_are_refused, reset),
		cmocka_unit_test_setup(ports_and_mmio_are_two_spaces, reset),
		cmocka_unit_test_setup(empty_and_wrapping_claims_are_refused, reset),
		cmocka_unit_test_setup(mmio_over_ram_is_refused, reset),
		cmocka_unit_test_setup(mmio_over_ram_above_4_gib_is_refused_and_the_hole_is_free, reset),
		cmocka_unit_test_setup(ram_offsets_follow_the_two_parts, reset),
		cmocka_unit_test_setup(a_full_table_refuses_with_the_reason, reset),
		cmocka_unit_test_setup(accesses_reach_the_device_at_their_offset_and_size, reset),
		cmocka_unit_test_setup(unclaimed_reads_are_all_ones_of_their_size, reset),
		cmocka_unit_test_setup(unclaimed_writes_vanish, reset),
		cmocka_unit_test_setup(straddling_accesses_split_into_bytes, reset),
		cmocka_unit_test_setup(mmio_straddles_and_the_top_of_the_space, reset),
		cmocka_unit_test_setup(unclaimed_mmio_is_logged_once_per_start, reset),
		cmocka_unit_test_setup(released_ranges_read_all_ones_and_can_be_claimed_again, reset),
		cmocka_unit_test_setup(moves_release_then_claim, reset),
		cmocka_unit_test_setup(a_register_of_one_size_lies_over_ordinary_ports, reset),
		cmocka_unit_test_setup(recent_lookups_follow_the_table, reset),
		cmocka_unit_test_setup(moves_are_seen_whole_and_at_once, reset),
	};

	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
