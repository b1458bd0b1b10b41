/*
 * Linux bzImage kernels, started at their 64-bit entry point as the x86
 * boot protocol describes it (Documentation/arch/x86/boot.rst, "64-bit
 * BOOT PROTOCOL"; boot_params in Documentation/arch/x86/zero-page.rst).
 *
 * Pure computation over bytes, no partition and no allocator: the setup
 * header is checked, the protected-mode kernel and the initrd are placed
 * in a memory map the caller gives, and boot_params is written. The
 * hypervisor, `hvcfg check` and the unit tests share it. The file is not
 * trusted: every field is checked before it is used, overflow-safe.
 */
#ifndef HV_BZIMAGE_H
#define HV_BZIMAGE_H

#include <stdint.h>

#include "e820.h"

/* boot_params, the "zero page": one page, given to the kernel in RSI. */
#define BOOT_PARAMS_SIZE 4096

/* The 64-bit entry, startup_64, from the start of the protected-mode kernel. */
#define BZIMAGE_ENTRY_64 0x200

/* boot_params' e820 table: 128 entries of 20 bytes at 0x2d0 (zero-page.rst). */
#define E820_MAX 128

#define BZIMAGE_WHY_MAX 160

/* What a bzImage's setup header tells its loader (boot.rst, "The Real-Mode Kernel Header"). */
struct bzimage {
	uint64_t setup_size;   /* the real-mode part: (setup_sects + 1) sectors of 512 bytes */
	uint64_t kernel_size;  /* the protected-mode kernel after it: syssize paragraphs */
	uint64_t init_size;    /* bytes it needs from its load address until it reads the memory map */
	uint64_t alignment;    /* kernel_alignment, a power of two */
	uint64_t pref_address; /* where it would rather be loaded; 0: no preference */
	uint64_t initrd_max;   /* the highest byte an initrd may occupy */
	uint32_t cmdline_max;  /* cmdline_size: command-line bytes it takes, without the NUL */
	uint32_t header_end;   /* the setup header is file[0x1f1, header_end) */
	uint16_t version;      /* boot protocol version, 0x020c for 2.12 */
	uint16_t xloadflags;
	char why[BZIMAGE_WHY_MAX]; /* bzimage_check's reason when it refuses */
};

/*
 * 1 if the file presents itself as a Linux kernel with a setup header (the
 * boot flag 0xAA55 at 0x1fe and "HdrS" at 0x202), whether or not
 * bzimage_check then accepts it; 0 for anything else.
 */
int bzimage_recognise(const uint8_t *file, uint64_t size);

/*
 * Checks the setup header of a bzImage to be entered at its 64-bit entry:
 * NULL with img filled, or the reason it is refused (a string in img).
 */
const char *bzimage_check(const uint8_t *file, uint64_t size, struct bzimage *img);

/* Where a kernel bzimage_check accepted goes in guest-physical memory. */
struct bzimage_layout {
	uint64_t kernel;      /* the protected-mode kernel, aligned to kernel_alignment */
	uint64_t span;        /* bytes from there it uses before it reads the memory map */
	int preferred;        /* 1: at or above pref_address; 0: the lowest aligned address from 1 MiB */
	uint64_t initrd;      /* 0 without an initrd */
	uint64_t initrd_size;
	char why[BZIMAGE_WHY_MAX]; /* bzimage_place's reason when it refuses */
};

/*
 * Places the kernel (init_size bytes free from its address: it decompresses
 * in place) and an initrd of initrd_size bytes (0: none) in the RAM entries
 * of map (the partition's e820 map) at or above 1 MiB, where the boot
 * structures are not, and below 4 GiB, the part of RAM the boot state's
 * identity map covers; and checks that a command line of cmdline_len bytes
 * fits the kernel's cmdline_size. NULL with l filled, or the reason (a
 * string in l).
 */
const char *bzimage_place(const struct bzimage *img, const struct e820_entry *map, unsigned entries,
			  uint64_t initrd_size, uint64_t cmdline_len, struct bzimage_layout *l);

/*
 * Copies the protected-mode kernel and the initrd where l says into ram,
 * the partition's memory (ram_size bytes laid out as vdev/platform.h
 * says). NULL, or the reason when l does not lie in that RAM.
 */
const char *bzimage_load(uint8_t *ram, uint64_t ram_size, const uint8_t *file, const struct bzimage *img,
			 const struct bzimage_layout *l, const uint8_t *initrd);

/* The boot_params fields a loader fills, whatever kernel it starts. */
struct boot_params_loader {
	uint64_t cmdline;      /* guest-physical address of the NUL-ended command line */
	uint64_t initrd;       /* 0, with initrd_size 0: none */
	uint64_t initrd_size;
	uint64_t acpi_rsdp;    /* 0: none */
	const struct e820_entry *e820;
	unsigned e820_entries; /* at most E820_MAX are written */
};

/* Writes them into bp, a boot_params page, leaving the rest as it is. */
void boot_params_fill(uint8_t *bp, const struct boot_params_loader *f);

/*
 * Writes bp (BOOT_PARAMS_SIZE bytes) for a kernel bzimage_check accepted
 * and bzimage_place placed: zeroed, the setup header copied from the
 * file, the kernel's address in code32_start, then boot_params_fill.
 */
void bzimage_boot_params(uint8_t *bp, const uint8_t *file, const struct bzimage *img,
			 const struct bzimage_layout *l, const struct boot_params_loader *f);

#endif
