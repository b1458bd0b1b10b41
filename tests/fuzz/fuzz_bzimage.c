/*
 * libFuzzer target: bzImage setup headers checked, then the kernel and an
 * initrd placed, copied and described in boot_params for an 8 MiB
 * partition, as the hypervisor does at a partition's start. Whatever the
 * header says, nothing is read or written outside the file, the RAM and
 * the boot_params page.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "bzimage.h"

#define RAM_SIZE (8u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct e820_entry map[] = {
		{ 0, 0x9fc00, E820_RAM },
		{ 0x100000, RAM_SIZE - 0x100000, E820_RAM },
		{ 0x400000, 0x1000, E820_ACPI },
	};
	static uint8_t *ram;
	static uint8_t bp[BOOT_PARAMS_SIZE];
	struct bzimage img;
	struct bzimage_layout l;
	/* The file's last bytes stand for the initrd and the command line's length. */
	uint64_t initrd_size = size > 2 ? data[size - 1] * 16u : 0, cmdline_len = size > 2 ? data[size - 2] * 9u : 0;
	struct boot_params_loader f = { .cmdline = 0x20000, .e820 = map, .e820_entries = 3 };

	if (!ram && !(ram = malloc(RAM_SIZE)))
		return 0;
	if (bzimage_check(data, size, &img) || initrd_size > size)
		return 0;
	if (bzimage_place(&img, map, 3, initrd_size, cmdline_len, &l))
		return 0;
	if (bzimage_load(ram, RAM_SIZE, data, &img, &l, data))
		__builtin_trap(); /* placed where the map has no RAM */
	f.initrd = l.initrd;
	f.initrd_size = l.initrd_size;
	bzimage_boot_params(bp, data, &img, &l, &f);
	return 0;
}
