/*
 * Placing ELF64 images: the hypervisor (static position-independent,
 * ET_DYN, relocated where the firmware had room) and guest images such as
 * the self-test guest (ET_EXEC, at the addresses they were linked for).
 *
 * Pure computation over bytes, no firmware calls, so the same code is unit
 * tested on the host and used by the loader and the hypervisor alike. The
 * file is not trusted: every offset, size and relocation is checked.
 */
#ifndef BOOT_ELF_LOAD_H
#define BOOT_ELF_LOAD_H

#include <stdint.h>

/* Largest image accepted; the hypervisor is far smaller. */
#define ELF_IMAGE_MAX (64ull << 20)

struct elf_image {
	uint64_t base;  /* lowest segment address, page aligned (0 for ET_DYN) */
	uint64_t span;  /* bytes from base to the end of the last segment */
	uint64_t entry; /* entry point, offset from base */
	int relocatable; /* ET_DYN: may be placed anywhere */
};

/* Validates the file; NULL on success, else the reason it is refused. */
const char *elf_check(const uint8_t *file, uint64_t size, struct elf_image *img);

/*
 * Copies the segments of a file elf_check() accepted to dest (img->span
 * bytes, zero-filled by this call), segment at address A to dest + A -
 * base. A relocatable image is relocated for running at dest; a fixed one
 * must run at base. NULL on success, else the reason.
 */
const char *elf_place(const uint8_t *file, const struct elf_image *img, uint8_t *dest);

#endif
