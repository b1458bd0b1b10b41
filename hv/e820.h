/*
 * A PC's memory map as the BIOS reports it through INT 15h, E820h (ACPI
 * 6.5, 15.1 "INT 15H, E820H - Query System Address Map"): what the boot
 * protocols hand a guest, boot_params' e820 table and Multiboot's mmap
 * alike (the two number their types the same way).
 */
#ifndef HV_E820_H
#define HV_E820_H

#include <stdint.h>

enum e820_type { E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3, E820_NVS = 4 };

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* enum e820_type */
};

#endif
