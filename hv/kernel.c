#include "kernel.h"

#include <elf.h>

_Static_assert(CFG_MODULES_MAX <= MULTIBOOT_MODULES_MAX, "a Multiboot kernel takes every module a config names");

static int is_elf64(const uint8_t *file, uint64_t size)
{
	return size > EI_CLASS && file[EI_MAG0] == ELFMAG0 && file[EI_MAG1] == ELFMAG1 && file[EI_MAG2] == ELFMAG2 &&
	       file[EI_MAG3] == ELFMAG3 && file[EI_CLASS] == ELFCLASS64;
}

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

/* A file of no known format: what is amiss when it nearly is a Multiboot kernel, else the formats known. */
static const char *refuse_unknown(const uint8_t *file, uint64_t size, struct kernel_image *k)
{
	const char *near = multiboot_near_miss(file, size, k->why);

	return near ? near : "not an ELF64 executable, a Multiboot kernel or a Linux bzImage";
}

/*
 * In QEMU's order: a Linux setup header first, then a Multiboot header.
 * A file with a Multiboot header is a Multiboot kernel even when it also
 * is an ELF64 executable: QEMU's -kernel takes it as Multiboot too, and
 * the header says how the kernel wants to start (32-bit protected mode,
 * the information structure in EBX); the ELF64 entry point of such a
 * kernel is its 32-bit Multiboot entry, which the 64-bit protocol would
 * enter in the wrong mode.
 */
const char *kernel_check(const uint8_t *file, uint64_t size, uint64_t low_ram, struct kernel_image *k)
{
	if (bzimage_recognise(file, size)) {
		k->format = KERNEL_BZIMAGE;
		return check_bzimage(file, size, low_ram, k);
	}
	if (multiboot_find(file, size) >= 0) {
		k->format = KERNEL_MULTIBOOT;
		return multiboot_check(file, size, low_ram, &k->mb);
	}
	k->format = KERNEL_ELF;
	if (is_elf64(file, size))
		return check_elf(file, size, low_ram, &k->elf);
	return refuse_unknown(file, size, k);
}

const char *kernel_check_config(const struct kernel_image *k, const struct cfg_partition *cfg)
{
	if (k->format == KERNEL_MULTIBOOT && cfg->initrd[0])
		return "a Multiboot kernel takes no initrd: name its files as modules (module = FILE ARGS)";
	if (k->format != KERNEL_MULTIBOOT && cfg->nmodules)
		return "modules are for Multiboot kernels, and this kernel is not one";
	return 0;
}

void kernel_multiboot_boot(const struct cfg_partition *cfg, const struct e820_entry *map, unsigned entries,
			   struct multiboot_boot *b)
{
	unsigned i;

	*b = (struct multiboot_boot){ .kernel_name = cfg->kernel, .cmdline = cfg->cmdline, .nmodules = cfg->nmodules,
				      .map = map, .map_entries = entries };
	for (i = 0; i < cfg->nmodules && i < CFG_MODULES_MAX; i++)
		b->modules[i].string = cfg->modules[i].string;
}
