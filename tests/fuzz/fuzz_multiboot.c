/* libFuzzer target: Multiboot header search, kernel checks and loading of arbitrary files. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "multiboot.h"

#define LOW_RAM (4u << 20) /* a partition of 4 MiB: the kernel and all it is given lie below */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct e820_entry map[] = { { 0, 0x9fc00, E820_RAM }, { 0x100000, LOW_RAM - 0x100000, E820_RAM } };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	static const uint8_t module[] = "module contents";
	struct multiboot_boot b = {
		.kernel_name = "fuzz.elf", .cmdline = "a b c", .nmodules = 2,
		.modules = { { module, sizeof(module), "m1 x" }, { data, size, "m2" } },
		.map = map, .map_entries = 2,
	};
	struct multiboot_kernel k;
	struct multiboot_layout l;
	struct vcpu_boot boot;
	char why[MULTIBOOT_WHY_MAX];

	if (!ram && !(ram = malloc(LOW_RAM)))
		return 0;
	if (multiboot_check(data, size, LOW_RAM, &k)) {
		multiboot_near_miss(data, size, why);
		return 0;
	}
	/* Accepted: everything it writes lies in [k.start, l.end), inside the partition's 4 MiB. */
	if (!multiboot_load(ram, data, &k, &b, &l, &boot) &&
	    (l.end > LOW_RAM || k.start < 0x100000 || boot.rip < k.start || boot.rip >= k.end))
		abort();
	return 0;
}
