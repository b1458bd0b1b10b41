/*
 * Placing the hypervisor image: a static position-independent ELF64.
 *
 * Pure computation over bytes, no firmware calls, so the same code is unit
 * tested and fuzzed on the host. The file is not trusted: every offset,
 * size and relocation is checked before use.
 */
#ifndef BOOT_ELF_LOAD_H
#define BOOT_ELF_LOAD_H

#include <stdint.h>

/* Largest image accepted; the hypervisor is far smaller. */
#define ELF_IMAGE_MAX (64ull << 20)

struct elf_image {
	uint64_t span;  /* bytes from load base to the end of the last segment */
	uint64_t entry; /* entry point, offset from the load base */
};

/* Validates the file; NULL on success, else the reason it is refused. */
const char *elf_check(const uint8_t *file, uint64_t size, struct elf_image *img);

/*
 * Copies the segments of a file elf_check() accepted to dest (img->span
 * bytes, zero-filled by this call) and applies its relocations for a load
 * at address dest. NULL on success, else the reason.
 */
const char *elf_place(const uint8_t *file, const struct elf_image *img, uint8_t *dest);

#endif
