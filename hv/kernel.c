#include "kernel.h"

const char *kernel_check(const uint8_t *file, uint64_t size, uint64_t low_ram, struct elf_image *img)
{
	const char *why = elf_check(file, size, img);

	if (why)
		return why;
	if (img->relocatable)
		return "the kernel is position-independent; an executable is expected";
	if (img->base < GUEST_KERNEL_MIN || img->span > low_ram || img->base > low_ram - img->span)
		return "the kernel does not fit in the partition's memory above 1 MiB";
	return 0;
}
