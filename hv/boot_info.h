/*
 * The one structure the loader hands to the hypervisor.
 *
 * Everything the hypervisor learns from the firmware travels here, in a
 * firmware-neutral form: nothing in hv/ depends on UEFI. The loader fills
 * it after the last GetMemoryMap and before jumping to hv_entry().
 */
#ifndef HV_BOOT_INFO_H
#define HV_BOOT_INFO_H

#include <stdint.h>

#include "config.h"

#define BOOT_INFO_MAGIC 0x4f464e49544f4f42ull /* "BOOTINFO" */
#define BOOT_INFO_VERSION 2

enum mem_type {
	MEM_FREE = 1,        /* conventional RAM, free once boot services exit */
	MEM_RESERVED,        /* firmware, MMIO, unusable or unknown */
	MEM_ACPI_RECLAIM,    /* ACPI tables: kept, the hypervisor reads them */
	MEM_ACPI_NVS,
	MEM_LOADED,          /* loader, hypervisor image, boot_info, modules */
	MEM_RUNTIME,         /* UEFI runtime services code and data */
	MEM_BAD,
};

struct mem_region {
	uint64_t base;
	uint64_t size;
	uint32_t type; /* enum mem_type */
	uint32_t reserved;
};

#define BOOT_MODULE_NAME_MAX CFG_FILE_MAX
#define CONFIG_FILE "hv.cfg"
#define BOOT_MODULES_MAX (1 + CFG_FILES_MAX) /* hv.cfg and every file it can name */

/* A file the loader read from the boot medium (hv.cfg, guest images). */
struct boot_module {
	uint64_t base;
	uint64_t size;
	char name[BOOT_MODULE_NAME_MAX]; /* as named on the medium, NUL-ended */
};

struct boot_info {
	uint64_t magic;
	uint32_t version;
	uint32_t size; /* bytes, including regions[] */
	uint64_t hv_base; /* physical range of the loaded hypervisor image */
	uint64_t hv_size;
	uint64_t self_size; /* bytes allocated for this structure */
	uint64_t acpi_rsdp; /* physical address, 0 if the firmware gave none */
	uint32_t nmodules;
	uint32_t nregions;
	uint32_t max_regions;
	uint32_t reserved;
	struct boot_module modules[BOOT_MODULES_MAX];
	struct mem_region regions[]; /* sorted by base, non-overlapping */
};

/* The module the loader read under this name, or 0 (used by loader and hypervisor). */
static inline const struct boot_module *boot_module_find(const struct boot_info *bi, const char *name)
{
	uint32_t i, c;

	for (i = 0; i < bi->nmodules && i < BOOT_MODULES_MAX; i++) {
		const char *m = bi->modules[i].name;
		for (c = 0; m[c] && m[c] == name[c]; c++)
			;
		if (m[c] == name[c])
			return &bi->modules[i];
	}
	return 0;
}

#endif
