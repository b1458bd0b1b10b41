/*
 * What a partition's kernel must be. The hypervisor checks it before it
 * places the kernel, and `hvcfg check` with the same code before a boot.
 */
#ifndef HV_KERNEL_H
#define HV_KERNEL_H

#include <stdint.h>

#include "bzimage.h"
#include "config.h"
#include "elf_load.h"
#include "multiboot.h"

#define GUEST_KERNEL_MIN 0x100000ull /* images start at or above 1 MiB */

/* The boot protocols a kernel can start by. */
enum kernel_format { KERNEL_ELF, KERNEL_BZIMAGE, KERNEL_MULTIBOOT };

struct kernel_image {
	enum kernel_format format;
	struct elf_image elf;               /* KERNEL_ELF: an ELF64 executable, the Linux 64-bit entry */
	struct bzimage bz;                  /* KERNEL_BZIMAGE: what its setup header says */
	struct bzimage_layout place;        /* KERNEL_BZIMAGE: where it goes (kernel_check: without initrd) */
	struct multiboot_kernel mb;         /* KERNEL_MULTIBOOT */
	struct multiboot_layout mb_layout;  /* KERNEL_MULTIBOOT: its modules and information, once placed */
	char why[MULTIBOOT_WHY_MAX];        /* the reason a file of no known format is refused */
};

/*
 * Recognises the file's format and checks it: a Linux bzImage (its boot
 * flag and "HdrS") that bzimage_check accepts and whose init_size fits in
 * the partition's RAM from 1 MiB to low_ram; else a Multiboot kernel
 * (multiboot_check); else an ELF64 executable whose segments lie in
 * [GUEST_KERNEL_MIN, low_ram), the partition's RAM below the hole
 * (vdev/platform.h), as it is placed at its link address. NULL with k
 * filled, or the reason (which may live in k).
 */
const char *kernel_check(const uint8_t *file, uint64_t size, uint64_t low_ram, struct kernel_image *k);

/* What the partition's config hands its kernel that the kernel's format has no use for: NULL or why. */
const char *kernel_check_config(const struct kernel_image *k, const struct cfg_partition *cfg);

/*
 * What a partition's Multiboot kernel is given: its command line and its
 * modules' strings from cfg, the memory map (entries of map). Each
 * module's data and size are the caller's to fill.
 */
void kernel_multiboot_boot(const struct cfg_partition *cfg, const struct e820_entry *map, unsigned entries,
			   struct multiboot_boot *b);

#endif
