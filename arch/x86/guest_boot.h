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

#include "kernel.h"
#include "vcpu.h"

/*
 * Writes the boot structures into ram (the partition's memory, ram_size
 * bytes laid out as vdev/platform.h says; the structures lie in its first
 * MiB) and fills boot for a start at entry. -1 if the command line does
 * not fit.
 */
/* CR0 at a start: the boot protocol's in 64-bit mode, PE (and ET) alone in 32-bit mode, ET alone in real mode. */
uint64_t guest_boot_cr0(enum vcpu_boot_mode mode);

/* The general registers a vCPU starts with: its boot state's, the rest zero as after INIT. */
void guest_boot_registers(struct vcpu *v, const struct vcpu_boot *boot);

int guest_boot_setup(uint8_t *ram, uint64_t ram_size, const char *cmdline, uint64_t entry,
		     struct vcpu_boot *boot);

/* After guest_boot_setup(): tells the guest where its ACPI RSDP is (boot_params.acpi_rsdp_addr). */
void guest_boot_set_rsdp(uint8_t *ram, uint64_t rsdp);

#endif
