/*
 * bzImage kernels: the setup header of Debian's kernel accepted, damaged and
 * truncated ones refused with their reason, the kernel and the initrd placed
 * at the edges of a partition's RAM, boot_params and the vCPU's entry state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bzimage.h"
#include "bzimage_fixture.h"
#include "guest_boot.h"
#include "lib/le.h"

#define MIB 0x100000ull
#define GIB 0x40000000ull
#define PAGE 0x1000ull

/* Debian's kernel: 39 setup sectors after the boot sector, then syssize paragraphs. */
#define DEBIAN_SETUP (40 * 512)
#define DEBIAN_KERNEL (0x7d820ull * 16)
#define DEBIAN_INIT_SIZE 0x3f98000ull
#define DEBIAN_PREF (16 * MIB)

static uint8_t *file;
static size_t file_size;

/* A whole file: the fixture's first KiB, the rest of the setup zero, a protected-mode kernel of pattern bytes. */
static void make_file(size_t setup, size_t kernel)
{
	size_t i;

	free(file);
	file_size = setup + kernel;
	file = calloc(1, file_size);
	memcpy(file, debian_6_1_head, sizeof(debian_6_1_head));
	for (i = setup; i < file_size; i++)
		file[i] = (uint8_t)(i * 7 + 3);
}

static int debian(void **state)
{
	(void)state;
	make_file(DEBIAN_SETUP, DEBIAN_KERNEL);
	return 0;
}

/* The same header made small: one setup sector, a 4 KiB kernel needing 512 KiB, 4 KiB aligned, preferring 1 MiB. */
static int tiny(void **state)
{
	(void)state;
	make_file(1024, 4096);
	file[0x1f1] = 1;
	put_le32(file + 0x1f4, 4096 / 16);
	put_le32(file + 0x230, 0x1000);
	put_le64(file + 0x258, MIB);
	put_le32(file + 0x260, 0x80000);
	return 0;
}

static int release(void **state)
{
	(void)state;
	free(file);
	file = NULL;
	return 0;
}

static void expect_refused(size_t size, const char *reason)
{
	struct bzimage img;
	const char *why = bzimage_check(file, size, &img);

	assert_non_null(why);
	assert_string_equal(why, reason);
}

static void debian_header_is_accepted_as_it_says(void **state)
{
	struct bzimage img;

	(void)state;
	assert_true(bzimage_recognise(file, file_size));
	assert_null(bzimage_check(file, file_size, &img));
	assert_int_equal(img.setup_size, DEBIAN_SETUP);
	assert_int_equal(img.kernel_size, DEBIAN_KERNEL);
	assert_int_equal(img.init_size, DEBIAN_INIT_SIZE);
	assert_int_equal(img.alignment, 2 * MIB);
	assert_int_equal(img.pref_address, DEBIAN_PREF);
	assert_int_equal(img.initrd_max, 4 * GIB - 1); /* XLF_CAN_BE_LOADED_ABOVE_4G lifts initrd_addr_max */
	assert_int_equal(img.cmdline_max, 2047);
	assert_int_equal(img.version, 0x020f);
	assert_int_equal(img.header_end, 0x26c);
	/* A signed kernel carries its signature after syssize's end: accepted, not loaded. */
	assert_null(bzimage_check(file, file_size, &img));
}

static void truncated_files_are_refused(void **state)
{
	struct bzimage img;

	(void)state;
	expect_refused(sizeof(debian_6_1_head),
		       "truncated: 1024 bytes, fewer than the 20480 of setup code its header claims");
	expect_refused(DEBIAN_SETUP - 1, "truncated: 20479 bytes, fewer than the 20480 of setup code its header claims");
	expect_refused(file_size - 1, "truncated: 8225279 bytes of its 8225280-byte protected-mode kernel");
	expect_refused(DEBIAN_SETUP, "truncated: 0 bytes of its 8225280-byte protected-mode kernel");
	expect_refused(0x205, "517 bytes: too short for a Linux setup header");
	expect_refused(0, "0 bytes: too short for a Linux setup header");
	assert_false(bzimage_recognise(file, 0x205));
	assert_true(bzimage_recognise(file, 0x206));
	assert_null(bzimage_check(file, file_size, &img));
}

static void setup_sects_zero_means_four(void **state)
{
	struct bzimage img;

	(void)state;
	file[0x1f1] = 0;
	put_le32(file + 0x1f4, 0x100);
	assert_null(bzimage_check(file, 5 * 512 + 0x1000, &img));
	assert_int_equal(img.setup_size, 5 * 512);
	expect_refused(5 * 512 - 1, "truncated: 2559 bytes, fewer than the 2560 of setup code its header claims");
}

static void damaged_headers_are_refused_with_their_reason(void **state)
{
	(void)state;
	file[0x1fe] = 0;
	expect_refused(file_size, "no boot flag 0xAA55 at 0x1fe: not a Linux bzImage");
	assert_false(bzimage_recognise(file, file_size));
	debian(NULL);
	file[0x205] = 't';
	expect_refused(file_size, "no \"HdrS\" at 0x202: not a Linux bzImage (or one older than protocol 2.00)");
	assert_false(bzimage_recognise(file, file_size));
	debian(NULL);
	put_le16(file + 0x206, 0x020b);
	expect_refused(file_size, "boot protocol 2.11: 2.12 or later is needed (Linux 3.8 and later)");
	debian(NULL);
	file[0x211] &= (uint8_t)~1;
	expect_refused(file_size, "a zImage (LOADED_HIGH clear in loadflags), not a bzImage");
	debian(NULL);
	put_le16(file + 0x236, 0x7e);
	expect_refused(file_size, "no 64-bit entry point (XLF_KERNEL_64 clear in xloadflags): a 32-bit kernel?");
	debian(NULL);
	file[0x234] = 0;
	expect_refused(file_size, "not relocatable (relocatable_kernel is 0)");
	debian(NULL);
	put_le32(file + 0x230, 0x300000);
	expect_refused(file_size, "kernel_alignment 0x300000 is not a power of two");
	put_le32(file + 0x230, 0);
	expect_refused(file_size, "kernel_alignment 0x0 is not a power of two");
	debian(NULL);
	put_le32(file + 0x260, 0);
	expect_refused(file_size, "its init_size is 0: the header is damaged");
	debian(NULL);
	put_le32(file + 0x1f4, 0);
	expect_refused(file_size, "its header gives no protected-mode kernel (syssize 0)");
	put_le32(file + 0x1f4, 0xffffffff); /* 64 GiB: more than any file */
	expect_refused(file_size, "truncated: 8225280 bytes of its 68719476720-byte protected-mode kernel");
}

/* The jump at 0x200 gives the header's length: it must cover init_size and stay in boot_params' room for it. */
static void header_length_is_bounded(void **state)
{
	struct bzimage img;

	(void)state;
	file[0x201] = 0x61;
	expect_refused(file_size, "its setup header ends at 0x263 (the jump at 0x200): outside 0x264-0x290, damaged");
	file[0x201] = 0x8f;
	expect_refused(file_size, "its setup header ends at 0x291 (the jump at 0x200): outside 0x264-0x290, damaged");
	file[0x201] = 0x8e;
	assert_null(bzimage_check(file, file_size, &img));
	assert_int_equal(img.header_end, 0x290);
}

static const char *place(uint64_t ram_size, uint64_t initrd_size, struct bzimage_layout *l)
{
	struct e820_entry map[GUEST_E820_MAX];
	struct bzimage img;

	assert_null(bzimage_check(file, file_size, &img));
	return bzimage_place(&img, map, guest_boot_e820(ram_size, map), initrd_size, 0, l);
}

static void kernel_goes_to_its_preferred_address_when_it_fits(void **state)
{
	struct bzimage_layout l;

	(void)state;
	assert_null(place(128 * MIB, 0, &l));
	assert_int_equal(l.kernel, DEBIAN_PREF);
	assert_true(l.preferred);
	assert_int_equal(l.span, DEBIAN_INIT_SIZE);
	assert_int_equal(l.initrd, 0);
	/* 16 MiB + init_size is just above 79 MiB: 80 MiB holds it there, 78 MiB does not. */
	assert_null(place(80 * MIB, 0, &l));
	assert_int_equal(l.kernel, DEBIAN_PREF);
	assert_null(place(78 * MIB, 0, &l));
	assert_int_equal(l.kernel, 2 * MIB); /* the lowest 2 MiB boundary from 1 MiB */
	assert_false(l.preferred);
}

static void kernel_too_big_for_the_partition_is_refused(void **state)
{
	struct bzimage_layout l;

	(void)state;
	assert_null(place(66 * MIB, 0, &l)); /* 2 MiB + 63.6 MiB */
	assert_int_equal(l.kernel, 2 * MIB);
	assert_string_equal(place(64 * MIB, 0, &l),
			    "the partition's memory is too small for the kernel: it needs 64 MiB above 1 MiB (init_size)");
	assert_non_null(place(2 * MIB, 0, &l));
}

/* 128 MiB: the kernel spans [16 MiB, 0x4f98000); above it 0x3068000 bytes are free, below it 15 MiB. */
static void initrd_goes_high_and_refused_one_page_too_big(void **state)
{
	struct bzimage_layout l;
	uint64_t above = 128 * MIB - (DEBIAN_PREF + DEBIAN_INIT_SIZE);

	(void)state;
	assert_null(place(128 * MIB, 10 * MIB, &l));
	assert_int_equal(l.initrd, 118 * MIB);
	assert_int_equal(l.initrd_size, 10 * MIB);
	assert_null(place(128 * MIB, 10 * MIB + 1, &l));
	assert_int_equal(l.initrd, 118 * MIB - PAGE); /* page aligned, below the top */
	assert_null(place(128 * MIB, above, &l));
	assert_int_equal(l.initrd, DEBIAN_PREF + DEBIAN_INIT_SIZE); /* just fits, right after the kernel */
	assert_string_equal(place(128 * MIB, above + PAGE, &l),
			    "no room for the initrd (49572 KiB) below 0x100000000 beside the kernel's 64 MiB");
}

static void initrd_stays_below_initrd_addr_max(void **state)
{
	struct bzimage_layout l;

	(void)state;
	put_le16(file + 0x236, 0x7d);          /* not XLF_CAN_BE_LOADED_ABOVE_4G: initrd_addr_max counts */
	put_le32(file + 0x22c, 32 * MIB - 1);  /* below the kernel's end: only [1 MiB, 16 MiB) is left */
	assert_null(place(128 * MIB, 8 * MIB, &l));
	assert_int_equal(l.initrd, 8 * MIB);
	assert_null(place(128 * MIB, 15 * MIB, &l));
	assert_int_equal(l.initrd, MIB);
	assert_non_null(place(128 * MIB, 15 * MIB + PAGE, &l));
	put_le32(file + 0x22c, 0x7fffffff);    /* Debian's own: 2 GiB, in a 6 GiB partition */
	assert_null(place(6 * GIB, 100 * MIB, &l));
	assert_int_equal(l.initrd, 2 * GIB - 100 * MIB);
}

/* Above 3 GiB of RAM the initrd goes to the top of the RAM below the hole, never above 4 GiB. */
static void large_partition_keeps_everything_below_the_hole(void **state)
{
	struct e820_entry map[GUEST_E820_MAX];
	struct bzimage_layout l;

	(void)state;
	assert_int_equal(guest_boot_e820(6 * GIB, map), 5);
	assert_int_equal(map[0].addr, 0);
	assert_int_equal(map[0].size, 0x9fc00);
	assert_int_equal(map[1].addr, 0xe0000); /* the ACPI tables */
	assert_int_equal(map[1].size, 0x20000);
	assert_int_equal(map[1].type, E820_ACPI);
	assert_int_equal(map[2].addr, MIB);
	assert_int_equal(map[2].size, 3 * GIB - MIB);
	assert_int_equal(map[3].addr, 0xe0000000ull); /* ECAM: reserved, so that Linux takes it */
	assert_int_equal(map[3].size, 16 * MIB);
	assert_int_equal(map[3].type, E820_RESERVED);
	assert_int_equal(map[4].addr, 4 * GIB);
	assert_int_equal(map[4].size, 3 * GIB);
	assert_int_equal(map[4].type, E820_RAM);
	assert_null(place(6 * GIB, 300 * MIB, &l));
	assert_int_equal(l.kernel, DEBIAN_PREF);
	assert_int_equal(l.initrd, 3 * GIB - 300 * MIB);
	assert_string_equal(place(6 * GIB, 3 * GIB, &l),
			    "no room for the initrd (3145728 KiB) below 0x100000000 beside the kernel's 64 MiB");
	assert_int_equal(guest_boot_e820(3 * GIB, map), 4);
	assert_int_equal(map[2].size, 3 * GIB - MIB);
	assert_int_equal(guest_boot_e820(512 * MIB, map), 4);
	assert_int_equal(map[2].size, 511 * MIB);
}

static void tiny_partitions_at_their_edges(void **state)
{
	struct bzimage_layout l;

	(void)state;
	assert_null(place(2 * MIB, 0, &l));
	assert_int_equal(l.kernel, MIB);
	assert_true(l.preferred);
	assert_int_equal(l.span, 0x80000);
	assert_null(place(2 * MIB, 0x80000, &l)); /* [1.5 MiB, 2 MiB): exactly what is left */
	assert_int_equal(l.initrd, MIB + 0x80000);
	assert_non_null(place(2 * MIB, 0x80000 + PAGE, &l));
	put_le32(file + 0x260, 0x100001); /* a byte more than the RAM above 1 MiB */
	assert_non_null(place(2 * MIB, 0, &l));
}

static void command_line_length_follows_cmdline_size(void **state)
{
	struct e820_entry map[GUEST_E820_MAX];
	struct bzimage_layout l;
	struct bzimage img;
	unsigned n = guest_boot_e820(128 * MIB, map);

	(void)state;
	assert_null(bzimage_check(file, file_size, &img));
	assert_null(bzimage_place(&img, map, n, 0, 2047, &l));
	assert_string_equal(bzimage_place(&img, map, n, 0, 2048, &l),
			    "the command line is 2048 bytes; this kernel takes at most 2047 (cmdline_size)");
}

/* Entries the caller got wrong (wrapping, not RAM) are never used. */
static void only_sound_ram_entries_are_used(void **state)
{
	struct e820_entry map[] = {
		{ 0xfffffffffff00000ull, 0x200000, E820_RAM },
		{ MIB, 511 * MIB, E820_ACPI },
		{ 256 * MIB, 128 * MIB, E820_RAM },
	};
	struct bzimage_layout l;
	struct bzimage img;

	(void)state;
	assert_null(bzimage_check(file, file_size, &img));
	assert_null(bzimage_place(&img, map, 3, 8 * MIB, 0, &l));
	assert_int_equal(l.kernel, 256 * MIB);
	assert_true(l.preferred);
	assert_int_equal(l.initrd, 376 * MIB);
}

struct booted {
	uint8_t *ram;
	uint64_t ram_size;
	uint8_t initrd[3 * 4096 + 5];
	struct bzimage img;
	struct bzimage_layout l;
	struct vcpu_boot boot;
};

static const char *boot_debian(struct booted *b, uint64_t ram_size, const char *cmdline)
{
	struct guest_bzimage k = { .file = file, .img = &b->img, .initrd = b->initrd,
				   .initrd_size = sizeof(b->initrd), .cmdline = cmdline, .rsdp = 0xe0000 };
	size_t i;

	for (i = 0; i < sizeof(b->initrd); i++)
		b->initrd[i] = (uint8_t)(i ^ 0x5a);
	b->ram_size = ram_size;
	b->ram = calloc(1, ram_size);
	assert_null(bzimage_check(file, file_size, &b->img));
	return guest_boot_bzimage(b->ram, ram_size, &k, &b->l, &b->boot);
}

static void boot_params_carry_the_header_and_the_loader_fields(void **state)
{
	struct booted b;
	const uint8_t *bp;
	const char *cmdline = "console=ttyS0 root=/dev/vda1";
	unsigned i;

	(void)state;
	assert_null(boot_debian(&b, 128 * MIB, cmdline));
	bp = b.ram + b.boot.rsi;
	assert_int_equal(b.boot.rsi, 0x7000);
	for (i = 0; i < 0x1f1; i++) /* zeroed below the header: the sentinel at 0x1ef too */
		if (i != 0x1e8 && !(i >= 0x70 && i < 0x78))
			assert_int_equal(bp[i], 0);
	for (i = 0x1f1; i < 0x26c; i++) /* the kernel's own header, but for what a loader writes */
		if (i != 0x210 && !(i >= 0x214 && i < 0x220) && !(i >= 0x228 && i < 0x22c))
			assert_int_equal(bp[i], debian_6_1_head[i]);
	for (i = 0x26c; i < 0x2d0; i++)
		assert_int_equal(bp[i], 0);
	assert_int_equal(bp[0x210], 0xff);                 /* type_of_loader: undefined */
	assert_int_equal(bp[0x211], 0x01);                 /* loadflags: LOADED_HIGH, as the kernel has it */
	assert_int_equal(le32(bp + 0x214), DEBIAN_PREF);   /* code32_start: where the kernel is */
	assert_int_equal(le32(bp + 0x218), b.l.initrd);    /* ramdisk_image */
	assert_int_equal(le32(bp + 0x21c), sizeof(b.initrd));
	assert_int_equal(le32(bp + 0x0c0), 0);             /* ext_ramdisk_image */
	assert_int_equal(le32(bp + 0x0c4), 0);
	assert_int_equal(le32(bp + 0x0c8), 0);             /* ext_cmd_line_ptr */
	assert_int_equal(le64(bp + 0x070), 0xe0000);       /* acpi_rsdp_addr */
	assert_string_equal((const char *)b.ram + le32(bp + 0x228), cmdline);
	assert_int_equal(bp[0x1e8], 4);
	assert_int_equal(le64(bp + 0x2d0), 0);
	assert_int_equal(le64(bp + 0x2d8), 0x9fc00);
	assert_int_equal(le32(bp + 0x2e0), E820_RAM);
	assert_int_equal(le64(bp + 0x2e4 + 20), MIB);
	assert_int_equal(le64(bp + 0x2ec + 20), 127 * MIB);
	assert_int_equal(le32(bp + 0x2f4 + 20), E820_RAM);
	free(b.ram);
}

static void kernel_and_initrd_are_copied_and_entered_at_startup_64(void **state)
{
	struct booted b;

	(void)state;
	assert_null(boot_debian(&b, 128 * MIB, ""));
	assert_memory_equal(b.ram + DEBIAN_PREF, file + DEBIAN_SETUP, DEBIAN_KERNEL);
	assert_int_equal(b.l.initrd, 128 * MIB - 4 * PAGE);
	assert_memory_equal(b.ram + b.l.initrd, b.initrd, sizeof(b.initrd));
	assert_int_equal(b.boot.mode, BOOT_LONG);
	assert_int_equal(b.boot.rip, DEBIAN_PREF + 0x200);
	assert_int_equal(b.boot.code_selector, 0x10);
	assert_int_equal(b.boot.data_selector, 0x18);
	assert_int_equal(le64(b.ram + b.boot.gdt_base + 0x10), 0x00af9b000000ffffull); /* __BOOT_CS: 64-bit code */
	assert_int_equal(le64(b.ram + b.boot.gdt_base + 0x18), 0x00cf93000000ffffull); /* __BOOT_DS: flat data */
	/* The identity map reaches the initrd's last page: PML4 -> PDPT -> PD entry of its 2 MiB page. */
	assert_int_equal(le64(b.ram + b.boot.cr3) & ~0xfffull, 0xa000);
	assert_int_equal(le64(b.ram + 0xb000 + (b.l.initrd >> 21) * 8), ((b.l.initrd >> 21) << 21) | 0x83);
	free(b.ram);
}

static void refusals_at_start_leave_the_reason(void **state)
{
	struct booted b;
	char cmdline[2100];

	(void)state;
	memset(cmdline, 'a', sizeof(cmdline) - 1);
	cmdline[sizeof(cmdline) - 1] = 0;
	assert_string_equal(boot_debian(&b, 128 * MIB, cmdline),
			    "the command line is 2099 bytes; this kernel takes at most 2047 (cmdline_size)");
	free(b.ram);
	assert_string_equal(boot_debian(&b, 64 * MIB, ""),
			    "the partition's memory is too small for the kernel: it needs 64 MiB above 1 MiB (init_size)");
	free(b.ram);
}

/* A layout that does not lie in the partition's RAM is never copied. */
static void load_outside_ram_is_refused(void **state)
{
	struct bzimage_layout l = { .kernel = 126 * MIB, .span = 4 * MIB };
	struct bzimage img;
	uint8_t ram[16];

	(void)state;
	assert_null(bzimage_check(file, file_size, &img));
	assert_string_equal(bzimage_load(ram, 128 * MIB, file, &img, &l, NULL),
			    "the kernel or the initrd was placed outside the partition's RAM");
	l = (struct bzimage_layout){ .kernel = 16 * MIB, .span = 4 * MIB, .initrd = 3 * GIB - PAGE,
				     .initrd_size = 2 * PAGE };
	assert_string_equal(bzimage_load(ram, 6 * GIB, file, &img, &l, NULL),
			    "the kernel or the initrd was placed outside the partition's RAM");
}

/* Addresses above 4 GiB put their high halves in the ext_ fields; the e820 table holds at most 128 entries. */
static void boot_params_fill_splits_addresses_and_bounds_e820(void **state)
{
	static struct e820_entry map[200];
	struct boot_params_loader f = { .cmdline = 0x200000000ull, .initrd = 0x123456000ull,
					.initrd_size = 0x100001000ull, .acpi_rsdp = 0xe0000, .e820 = map,
					.e820_entries = 200 };
	uint8_t bp[BOOT_PARAMS_SIZE + 16];
	unsigned i;

	(void)state;
	for (i = 0; i < 200; i++)
		map[i] = (struct e820_entry){ i * 2 * MIB, MIB, E820_RAM };
	memset(bp, 0xee, sizeof(bp));
	boot_params_fill(bp, &f);
	assert_int_equal(le32(bp + 0x228), 0);
	assert_int_equal(le32(bp + 0x0c8), 2);
	assert_int_equal(le32(bp + 0x218), 0x23456000);
	assert_int_equal(le32(bp + 0x0c0), 1);
	assert_int_equal(le32(bp + 0x21c), 0x1000);
	assert_int_equal(le32(bp + 0x0c4), 1);
	assert_int_equal(le64(bp + 0x070), 0xe0000);
	assert_int_equal(bp[0x1e8], E820_MAX);
	assert_int_equal(le64(bp + 0x2d0 + 127 * 20), 127 * 2 * MIB);
	assert_int_equal(bp[0x2d0 + 128 * 20], 0xee); /* nothing past the table's 0xa00 bytes */
}

/* The ELF path's boot_params get the same e820 map. */
static void elf_boot_params_share_the_e820_map(void **state)
{
	uint8_t *ram = calloc(1, MIB);
	struct vcpu_boot boot;
	const uint8_t *bp;

	(void)state;
	assert_int_equal(guest_boot_setup(ram, 6 * GIB, "x", 0x100000, 0xe0000, &boot), 0);
	bp = ram + boot.rsi;
	assert_int_equal(le16(bp + 0x1fe), 0xaa55);
	assert_int_equal(le32(bp + 0x202), 0x53726448);
	assert_int_equal(bp[0x210], 0xff);
	assert_int_equal(le32(bp + 0x238), 1);
	assert_int_equal(bp[0x1e8], 5);
	assert_int_equal(le64(bp + 0x2d0 + 4 * 20), 4 * GIB);
	assert_int_equal(le64(bp + 0x2d0 + 4 * 20 + 8), 3 * GIB);
	assert_int_equal(le64(bp + 0x070), 0xe0000); /* acpi_rsdp_addr */
	assert_string_equal((const char *)ram + le32(bp + 0x228), "x");
	assert_int_equal(boot.rip, 0x100000);
	free(ram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(debian_header_is_accepted_as_it_says, debian, release),
		cmocka_unit_test_setup_teardown(truncated_files_are_refused, debian, release),
		cmocka_unit_test_setup_teardown(setup_sects_zero_means_four, tiny, release),
		cmocka_unit_test_setup_teardown(damaged_headers_are_refused_with_their_reason, debian, release),
		cmocka_unit_test_setup_teardown(header_length_is_bounded, debian, release),
		cmocka_unit_test_setup_teardown(kernel_goes_to_its_preferred_address_when_it_fits, debian, release),
		cmocka_unit_test_setup_teardown(kernel_too_big_for_the_partition_is_refused, debian, release),
		cmocka_unit_test_setup_teardown(initrd_goes_high_and_refused_one_page_too_big, debian, release),
		cmocka_unit_test_setup_teardown(initrd_stays_below_initrd_addr_max, debian, release),
		cmocka_unit_test_setup_teardown(large_partition_keeps_everything_below_the_hole, debian, release),
		cmocka_unit_test_setup_teardown(tiny_partitions_at_their_edges, tiny, release),
		cmocka_unit_test_setup_teardown(command_line_length_follows_cmdline_size, debian, release),
		cmocka_unit_test_setup_teardown(only_sound_ram_entries_are_used, debian, release),
		cmocka_unit_test_setup_teardown(boot_params_carry_the_header_and_the_loader_fields, debian, release),
		cmocka_unit_test_setup_teardown(kernel_and_initrd_are_copied_and_entered_at_startup_64, debian, release),
		cmocka_unit_test_setup_teardown(refusals_at_start_leave_the_reason, debian, release),
		cmocka_unit_test_setup_teardown(load_outside_ram_is_refused, debian, release),
		cmocka_unit_test(boot_params_fill_splits_addresses_and_bounds_e820),
		cmocka_unit_test(elf_boot_params_share_the_e820_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
