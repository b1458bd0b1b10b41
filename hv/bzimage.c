#include "bzimage.h"

#include "kernel.h"
#include "lib/fmt.h"
#include "lib/le.h"
#include "vdev/platform.h"

/* Setup header fields, as offsets in the file and in boot_params alike (boot.rst). */
#define HDR_START 0x1f1
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_NEEDED_END 0x264    /* through init_size: every field this loader reads */
#define HDR_ROOM_END 0x290      /* edd_mbr_sig_buffer follows the header's room in boot_params */

/* boot_params outside the setup header (zero-page.rst). */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define E820_ENTRY_SIZE 20

#define BOOT_FLAG 0xaa55
#define MAGIC_HDRS 0x53726448 /* "HdrS" */
#define PROTOCOL_MIN 0x020c   /* 2.12: xloadflags, and the ext_* fields for addresses above 4 GiB */
#define SECTOR 512
#define LOADED_HIGH 0x01      /* loadflags: the protected-mode kernel runs from 1 MiB up: a bzImage */
#define XLF_KERNEL_64 0x01    /* xloadflags: the 64-bit entry at +0x200 */
#define XLF_CAN_BE_LOADED_ABOVE_4G 0x02
/*
 * No boot loader ID is registered for this hypervisor (boot.rst,
 * type_of_loader): 0xFF says "undefined" rather than pass for another loader.
 */
#define LOADER_UNDEFINED 0xff

#define PAGE 0x1000ull
#define FOUR_GIB 0x100000000ull
#define MIB 0x100000ull

int bzimage_recognise(const uint8_t *file, uint64_t size)
{
	return size >= HDR_MAGIC + 4 && le16(file + HDR_BOOT_FLAG) == BOOT_FLAG &&
	       le32(file + HDR_MAGIC) == MAGIC_HDRS;
}

static const char *refuse(char *why, const char *f, ...) __attribute__((format(printf, 2, 3)));
static const char *refuse(char *why, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	fmt_v(why, BZIMAGE_WHY_MAX, f, ap);
	va_end(ap);
	return why;
}

/* The layout of the file: setup sectors, header length, protected-mode kernel. */
static const char *check_extent(const uint8_t *file, uint64_t size, struct bzimage *img)
{
	uint64_t sects = file[HDR_SETUP_SECTS] ? file[HDR_SETUP_SECTS] : 4; /* 0 means 4 (boot.rst) */

	img->setup_size = (sects + 1) * SECTOR; /* the boot sector, then the setup sectors */
	if (size < img->setup_size)
		return refuse(img->why, "truncated: %llu bytes, fewer than the %llu of setup code its header claims",
			      (unsigned long long)size, (unsigned long long)img->setup_size);
	/* The jump at 0x200 skips the header: its end is 0x202 plus the jump's byte. */
	img->header_end = HDR_MAGIC + file[HDR_JUMP + 1];
	if (img->header_end < HDR_NEEDED_END || img->header_end > HDR_ROOM_END)
		return refuse(img->why, "its setup header ends at 0x%x (the jump at 0x200): outside "
			      "0x%x-0x%x, damaged", img->header_end, HDR_NEEDED_END, HDR_ROOM_END);
	img->kernel_size = (uint64_t)le32(file + HDR_SYSSIZE) * 16;
	if (img->kernel_size == 0)
		return refuse(img->why, "its header gives no protected-mode kernel (syssize 0)");
	if (img->kernel_size > size - img->setup_size)
		return refuse(img->why, "truncated: %llu bytes of its %llu-byte protected-mode kernel",
			      (unsigned long long)(size - img->setup_size), (unsigned long long)img->kernel_size);
	return 0;
}

/* What the kernel says of itself: protocol, entry, relocation, memory. */
static const char *check_protocol(const uint8_t *file, struct bzimage *img)
{
	uint32_t align = le32(file + HDR_KERNEL_ALIGNMENT);

	img->version = le16(file + HDR_VERSION);
	if (img->version < PROTOCOL_MIN)
		return refuse(img->why, "boot protocol %u.%02u: 2.12 or later is needed (Linux 3.8 and later)",
			      img->version >> 8, img->version & 0xff);
	if (!(file[HDR_LOADFLAGS] & LOADED_HIGH))
		return refuse(img->why, "a zImage (LOADED_HIGH clear in loadflags), not a bzImage");
	img->xloadflags = le16(file + HDR_XLOADFLAGS);
	if (!(img->xloadflags & XLF_KERNEL_64))
		return refuse(img->why, "no 64-bit entry point (XLF_KERNEL_64 clear in xloadflags): a 32-bit kernel?");
	if (!file[HDR_RELOCATABLE])
		return refuse(img->why, "not relocatable (relocatable_kernel is 0)");
	if (align == 0 || (align & (align - 1)))
		return refuse(img->why, "kernel_alignment 0x%x is not a power of two", align);
	img->alignment = align;
	img->init_size = le32(file + HDR_INIT_SIZE);
	if (img->init_size == 0)
		return refuse(img->why, "its init_size is 0: the header is damaged");
	img->pref_address = le64(file + HDR_PREF_ADDRESS);
	img->initrd_max = img->xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G ? FOUR_GIB - 1
								       : le32(file + HDR_INITRD_ADDR_MAX);
	img->cmdline_max = le32(file + HDR_CMDLINE_SIZE);
	return 0;
}

const char *bzimage_check(const uint8_t *file, uint64_t size, struct bzimage *img)
{
	const char *why;

	*img = (struct bzimage){ 0 };
	if (size < HDR_MAGIC + 4)
		return refuse(img->why, "%llu bytes: too short for a Linux setup header", (unsigned long long)size);
	if (le16(file + HDR_BOOT_FLAG) != BOOT_FLAG)
		return refuse(img->why, "no boot flag 0xAA55 at 0x1fe: not a Linux bzImage");
	if (le32(file + HDR_MAGIC) != MAGIC_HDRS)
		return refuse(img->why, "no \"HdrS\" at 0x202: not a Linux bzImage (or one older than protocol 2.00)");
	why = check_extent(file, size, img);
	return why ? why : check_protocol(file, img);
}

static uint64_t align_down(uint64_t x, uint64_t align)
{
	return x & ~(align - 1);
}

/* [*lo, *hi): the part of a RAM entry at or above floor and below limit; 0 if empty or not RAM. */
static int ram_window(const struct e820_entry *e, uint64_t floor, uint64_t limit, uint64_t *lo, uint64_t *hi)
{
	if (e->type != E820_RAM || e->size > ~0ull - e->addr)
		return 0;
	*lo = e->addr > floor ? e->addr : floor;
	*hi = e->addr + e->size < limit ? e->addr + e->size : limit;
	return *lo < *hi;
}

/* The lowest address at or above floor, aligned, with span bytes of one RAM entry below 4 GiB; 0 if none. */
static uint64_t lowest_fit(const struct e820_entry *map, unsigned entries, uint64_t floor, uint64_t align,
			   uint64_t span)
{
	uint64_t best = 0, lo, hi, at;
	unsigned i;

	for (i = 0; i < entries; i++) {
		if (!ram_window(&map[i], floor, FOUR_GIB, &lo, &hi))
			continue;
		at = align_down(lo + align - 1, align); /* lo < 4 GiB, align <= 2^31: no overflow */
		if (at < hi && hi - at >= span && (!best || at < best))
			best = at;
	}
	return best;
}

/* The highest page-aligned address in [lo, hi) where size bytes end by hi; 0 if none. */
static uint64_t highest_in(uint64_t lo, uint64_t hi, uint64_t size)
{
	uint64_t at;

	if (hi <= lo || hi - lo < size)
		return 0;
	at = align_down(hi - size, PAGE);
	return at >= lo ? at : 0;
}

/* The highest page-aligned place for size bytes in one RAM entry from 1 MiB to limit, off the kernel's span. */
static uint64_t highest_fit(const struct e820_entry *map, unsigned entries, uint64_t limit, uint64_t size,
			    const struct bzimage_layout *l)
{
	uint64_t best = 0, lo, hi, at;
	unsigned i;

	for (i = 0; i < entries; i++) {
		if (!ram_window(&map[i], GUEST_KERNEL_MIN, limit, &lo, &hi))
			continue;
		if (l->kernel < hi && l->kernel + l->span > lo) { /* the kernel cuts the window in two */
			at = highest_in(l->kernel + l->span, hi, size);
			if (!at)
				at = highest_in(lo, l->kernel, size);
		} else {
			at = highest_in(lo, hi, size);
		}
		if (at > best)
			best = at;
	}
	return best;
}

static uint64_t mib_up(uint64_t bytes)
{
	return (bytes + MIB - 1) / MIB;
}

static const char *place_kernel(const struct bzimage *img, const struct e820_entry *map, unsigned entries,
				struct bzimage_layout *l)
{
	uint64_t span = img->init_size > img->kernel_size ? img->init_size : img->kernel_size;

	l->span = (span + PAGE - 1) & ~(PAGE - 1);
	if (img->pref_address >= GUEST_KERNEL_MIN && img->pref_address < FOUR_GIB)
		l->kernel = lowest_fit(map, entries, img->pref_address, img->alignment, l->span);
	l->preferred = l->kernel != 0;
	if (!l->kernel)
		l->kernel = lowest_fit(map, entries, GUEST_KERNEL_MIN, img->alignment, l->span);
	if (!l->kernel)
		return refuse(l->why, "the partition's memory is too small for the kernel: it needs %llu MiB "
			      "above 1 MiB (init_size)", (unsigned long long)mib_up(l->span));
	return 0;
}

static const char *place_initrd(const struct bzimage *img, const struct e820_entry *map, unsigned entries,
				uint64_t size, struct bzimage_layout *l)
{
	/* initrd_max is the highest byte it may occupy; below the hole all the same (low RAM only). */
	uint64_t limit = img->initrd_max < FOUR_GIB - 1 ? img->initrd_max + 1 : FOUR_GIB;

	l->initrd_size = size;
	if (!size)
		return 0;
	l->initrd = highest_fit(map, entries, limit, size, l);
	if (!l->initrd)
		return refuse(l->why, "no room for the initrd (%llu KiB) below 0x%llx beside the kernel's %llu MiB",
			      (unsigned long long)((size + 1023) / 1024), (unsigned long long)limit,
			      (unsigned long long)mib_up(l->span));
	return 0;
}

const char *bzimage_place(const struct bzimage *img, const struct e820_entry *map, unsigned entries,
			  uint64_t initrd_size, uint64_t cmdline_len, struct bzimage_layout *l)
{
	const char *why;

	*l = (struct bzimage_layout){ 0 };
	if (cmdline_len > img->cmdline_max)
		return refuse(l->why, "the command line is %llu bytes; this kernel takes at most %u (cmdline_size)",
			      (unsigned long long)cmdline_len, img->cmdline_max);
	why = place_kernel(img, map, entries, l);
	return why ? why : place_initrd(img, map, entries, initrd_size, l);
}

const char *bzimage_load(uint8_t *ram, uint64_t ram_size, const uint8_t *file, const struct bzimage *img,
			 const struct bzimage_layout *l, const uint8_t *initrd)
{
	uint64_t kernel, at = 0;

	if (!platform_ram_offset(ram_size, l->kernel, l->span, &kernel) ||
	    (l->initrd_size && !platform_ram_offset(ram_size, l->initrd, l->initrd_size, &at)))
		return "the kernel or the initrd was placed outside the partition's RAM";
	__builtin_memcpy(ram + kernel, file + img->setup_size, img->kernel_size);
	if (l->initrd_size)
		__builtin_memcpy(ram + at, initrd, l->initrd_size);
	return 0;
}

void boot_params_fill(uint8_t *bp, const struct boot_params_loader *f)
{
	unsigned i, n = f->e820_entries < E820_MAX ? f->e820_entries : E820_MAX;

	bp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	put_le32(bp + HDR_CMD_LINE_PTR, (uint32_t)f->cmdline);
	put_le32(bp + BP_EXT_CMD_LINE_PTR, (uint32_t)(f->cmdline >> 32));
	put_le32(bp + HDR_RAMDISK_IMAGE, (uint32_t)f->initrd);
	put_le32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(f->initrd >> 32));
	put_le32(bp + HDR_RAMDISK_SIZE, (uint32_t)f->initrd_size);
	put_le32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(f->initrd_size >> 32));
	put_le64(bp + BP_ACPI_RSDP_ADDR, f->acpi_rsdp);
	for (i = 0; i < n; i++) {
		uint8_t *e = bp + BP_E820_TABLE + i * E820_ENTRY_SIZE;
		put_le64(e, f->e820[i].addr);
		put_le64(e + 8, f->e820[i].size);
		put_le32(e + 16, f->e820[i].type);
	}
	bp[BP_E820_ENTRIES] = (uint8_t)n;
}

/*
 * loadflags stay as the kernel has them: LOADED_HIGH is its own, and
 * CAN_USE_HEAP with heap_end_ptr concerns the real-mode setup code, which
 * the 64-bit entry does not run.
 */
void bzimage_boot_params(uint8_t *bp, const uint8_t *file, const struct bzimage *img,
			 const struct bzimage_layout *l, const struct boot_params_loader *f)
{
	__builtin_memset(bp, 0, BOOT_PARAMS_SIZE);
	__builtin_memcpy(bp + HDR_START, file + HDR_START, img->header_end - HDR_START);
	put_le32(bp + HDR_CODE32_START, (uint32_t)l->kernel); /* a relocated kernel's load address (boot.rst) */
	boot_params_fill(bp, f);
}
