/*
 * QEMU's fw_cfg (docs/specs/fw_cfg.rst): the selector at 0x510, data at
 * 0x511. Its signature, its CPU count against the MADT's, its RAM size
 * against the Multiboot memory map.
 */
#include <stdint.h>

#include "platform.h"

#define FW_CFG_SELECTOR 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_RAM_SIZE 0x03
#define FW_CFG_NB_CPUS 0x05
#define MIB (1ull << 20)
#define SLACK (2 * MIB) /* the legacy hole and the firmware's reservations a map leaves out */

static uint64_t fw_cfg_read(uint16_t key, unsigned bytes)
{
	uint64_t v = 0;
	unsigned i;

	outw(FW_CFG_SELECTOR, key);
	for (i = 0; i < bytes; i++)
		v |= (uint64_t)inb(FW_CFG_DATA) << (8 * i);
	return v;
}

/* RAM the map describes: available, ACPI reclaimable and NVS ranges. */
static uint64_t mapped_ram(void)
{
	uint64_t sum = 0;
	unsigned i;

	for (i = 0; i < pf.ram_count; i++)
		if (pf.ram[i].type == 1 || pf.ram[i].type == 3 || pf.ram[i].type == 4)
			sum += pf.ram[i].len;
	return sum;
}

void check_fw_cfg(void)
{
	uint32_t sig = (uint32_t)fw_cfg_read(FW_CFG_SIGNATURE, 4);
	uint64_t ram, mapped = mapped_ram();
	unsigned cpus;

	if (sig != 0x554d4551) { /* "QEMU" */
		report("fw_cfg", SKIP, "no fw_cfg at 0x510: signature 0x%08x", sig);
		return;
	}
	cpus = (unsigned)fw_cfg_read(FW_CFG_NB_CPUS, 2);
	ram = fw_cfg_read(FW_CFG_RAM_SIZE, 8);
	report("fw_cfg", cpus == pf.cpus && mapped <= ram && mapped + SLACK >= ram ? PASS : FAIL,
	       "signature QEMU cpus=%u madt_cpus=%u ram_mib=%llu mmap_ram_kib=%llu", cpus, pf.cpus,
	       (unsigned long long)(ram / MIB), (unsigned long long)(mapped >> 10));
}
