/*
 * What a partition's kernel must be. The hypervisor checks it before it
 * places the kernel, and `hvcfg check` with the same code before a boot.
 */
#ifndef HV_KERNEL_H
#define HV_KERNEL_H

#include <stdint.h>

#include "bzimage.h"
#include "elf_load.h"

#define GUEST_KERNEL_MIN 0x100000ull /* images start at or above 1 MiB */

enum kernel_format { KERNEL_ELF, KERNEL_BZIMAGE };

struct kernel_image {
	enum kernel_format format;
	struct elf_image elf;         /* KERNEL_ELF */
	struct bzimage bz;            /* KERNEL_BZIMAGE: what its setup header says */
	struct bzimage_layout place;  /* KERNEL_BZIMAGE: where it goes (kernel_check: without initrd) */
};

/*
 * A Linux bzImage (recognised by its boot flag and "HdrS") that
 * bzimage_check accepts and whose init_size fits in the partition's RAM
 * from 1 MiB to low_ram; else an ELF executable whose segments lie in
 * [GUEST_KERNEL_MIN, low_ram), the partition's RAM below the hole
 * (vdev/platform.h), as it is placed at its link address. NULL with k
 * filled, or the reason (which may live in k).
 */
const char *kernel_check(const uint8_t *file, uint64_t size, uint64_t low_ram, struct kernel_image *k);

#endif
