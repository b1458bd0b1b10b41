#include "kernel.h"

const char *kernel_check(const uint8_t *file, uint64_t size, uint64_t ram_size, struct elf_image *img)
{
	const char *why = elf_check(file, size, img);

	if (why)
		return why;
	if (img->relocatable)
		return "the kernel is position-independent; an executable is expected";
	if (img->base < GUEST_KERNEL_MIN || img->span > ram_size || img->base > ram_size - img->span)
		return "the kernel does not fit in the partition's memory above 1 MiB";
	return 0;
}
