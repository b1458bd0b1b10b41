#include "kernel.h"

static const char *check_elf(const uint8_t *file, uint64_t size, uint64_t low_ram, struct elf_image *img)
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

/* Its init_size in the RAM a partition has above 1 MiB below the hole, before any initrd. */
static const char *check_bzimage(const uint8_t *file, uint64_t size, uint64_t low_ram, struct kernel_image *k)
{
	struct e820_entry ram = { GUEST_KERNEL_MIN, low_ram > GUEST_KERNEL_MIN ? low_ram - GUEST_KERNEL_MIN : 0,
				  E820_RAM };
	const char *why = bzimage_check(file, size, &k->bz);

	return why ? why : bzimage_place(&k->bz, &ram, 1, 0, 0, &k->place);
}

const char *kernel_check(const uint8_t *file, uint64_t size, uint64_t low_ram, struct kernel_image *k)
{
	k->format = bzimage_recognise(file, size) ? KERNEL_BZIMAGE : KERNEL_ELF;
	if (k->format == KERNEL_BZIMAGE)
		return check_bzimage(file, size, low_ram, k);
	return check_elf(file, size, low_ram, &k->elf);
}
