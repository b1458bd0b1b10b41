/* libFuzzer target: ELF checking and placement of arbitrary files. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "elf_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_image img;
	uint8_t *dest;

	if (elf_check(data, size, &img) || img.span > (1u << 24))
		return 0; /* refused, or too big to place in a fuzzing run */
	dest = aligned_alloc(4096, img.span);
	if (!dest)
		return 0;
	elf_place(data, &img, dest); /* may refuse; must never write outside dest */
	free(dest);
	return 0;
}
