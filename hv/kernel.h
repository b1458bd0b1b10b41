/*
 * What a partition's kernel must be. The hypervisor checks it before it
 * places the kernel, and `hvcfg check` with the same code before a boot.
 */
#ifndef HV_KERNEL_H
#define HV_KERNEL_H

#include <stdint.h>

#include "elf_load.h"

#define GUEST_KERNEL_MIN 0x100000ull /* images start at or above 1 MiB */

/*
 * An ELF executable whose segments lie in [GUEST_KERNEL_MIN, low_ram), the
 * partition's RAM below the hole (vdev/platform.h), as it is placed at its
 * link address: NULL, with img filled, or the reason.
 */
const char *kernel_check(const uint8_t *file, uint64_t size, uint64_t low_ram, struct elf_image *img);

#endif
