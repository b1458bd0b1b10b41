/*
 * The state the Linux x86 boot protocol's 64-bit entry expects
 * (Documentation/arch/x86/boot.rst, "64-bit BOOT PROTOCOL"): long mode,
 * an identity map, a GDT with __BOOT_CS 0x10 and __BOOT_DS 0x18, RSI
 * pointing at boot_params with an e820 map and the command line.
 *
 * Everything lives in guest RAM below 1 MiB, where the kernel is not.
 */
#ifndef ARCH_X86_GUEST_BOOT_H
#define ARCH_X86_GUEST_BOOT_H

#include <stdint.h>

#include "bzimage.h"
#include "kernel.h"
#include "vcpu.h"

/* Entries guest_boot_e820 may write. */
#define GUEST_E820_MAX 16

/* CR0 at a start: the boot protocol's in 64-bit mode, PE (and ET) alone in 32-bit mode, ET alone in real mode. */
uint64_t guest_boot_cr0(enum vcpu_boot_mode mode);

/* The general registers a vCPU starts with: its boot state's, the rest zero as after INIT. */
void guest_boot_registers(struct vcpu *v, const struct vcpu_boot *boot);

/*
 * Writes the boot structures into ram (the partition's memory, ram_size
 * bytes laid out as vdev/platform.h says; the structures lie in its first
 * MiB), with rsdp (the ACPI RSDP's address, 0: none) in boot_params, and
 * fills boot for a start at entry. -1 if the command line does not fit.
 */
int guest_boot_setup(uint8_t *ram, uint64_t ram_size, const char *cmdline, uint64_t entry, uint64_t rsdp,
		     struct vcpu_boot *boot);

/*
 * The e820 map of a partition with ram_size bytes (vdev/platform.h's
 * layout) into map (GUEST_E820_MAX entries); returns how many. Every
 * kernel gets it, whatever its format: in boot_params, or as Multiboot's
 * mmap.
 */
unsigned guest_boot_e820(uint64_t ram_size, struct e820_entry *map);

/* A bzImage to start, and what goes with it. */
struct guest_bzimage {
	const uint8_t *file;         /* the whole file, which bzimage_check accepted into img */
	const struct bzimage *img;
	const uint8_t *initrd;       /* its contents, initrd_size bytes; initrd_size 0: none */
	uint64_t initrd_size;
	uint64_t rsdp;               /* the ACPI RSDP's address; 0: none */
	const char *cmdline;
	/* Makes [gpa, gpa + len) of ram ready to be written (partition_ram); 0, or -1. NULL: all of it is. */
	int (*ready)(void *ctx, uint64_t gpa, uint64_t len);
	/* The same for a range the loader writes in full (the kernel, the initrd): nothing in it is zeroed. */
	int (*overwritten)(void *ctx, uint64_t gpa, uint64_t len);
	void *ctx;
};

/*
 * As guest_boot_setup, for a bzImage entered at its 64-bit entry: the
 * kernel and the initrd placed in the e820 map's RAM (l says where) and
 * copied into ram, boot_params built from the kernel's setup header.
 * NULL, or the reason it cannot start (a string in l, or a constant).
 */
const char *guest_boot_bzimage(uint8_t *ram, uint64_t ram_size, const struct guest_bzimage *k,
			       struct bzimage_layout *l, struct vcpu_boot *boot);

#endif
