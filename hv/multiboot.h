/*
 * Multiboot (version 1) kernels, loaded the way QEMU's -kernel and
 * -initrd load them (Multiboot Specification 0.6.96; QEMU's
 * hw/i386/multiboot.c): the header in the file's first 8 KiB, the kernel
 * placed by the a.out kludge's addresses or by its ELF32 segments, its
 * modules page-aligned above it, then the command line and module
 * strings, then the information structure with a memory map, entered in
 * 32-bit protected mode with paging off.
 *
 * Pure computation over bytes, no partition and no allocator: the
 * hypervisor, `hvcfg check`, the unit tests and the fuzzer share it. The
 * file is not trusted: every field is checked before it is used,
 * overflow-safe.
 */
#ifndef HV_MULTIBOOT_H
#define HV_MULTIBOOT_H

#include <stdint.h>

#include "e820.h"
#include "vcpu.h"

#define MULTIBOOT_SEARCH 8192             /* the header lies in the file's first 8 KiB (spec 3.1.1) */
#define MULTIBOOT_HEADER_MAGIC 0x1badb002
#define MULTIBOOT_BOOT_MAGIC 0x2badb002   /* in EAX at entry (spec 3.2) */
#define MULTIBOOT_MODULES_MAX 8
#define MULTIBOOT_MAP_MAX 128             /* memory map entries the information may carry */
#define MULTIBOOT_SEGMENTS_MAX 64         /* loadable ELF32 segments of a kernel */
#define MULTIBOOT_KERNEL_MIN 0x100000u    /* kernels load at or above 1 MiB */
#define MULTIBOOT_WHY_MAX 160

/* The flat segments of the GDT the loader writes (the spec leaves GDTR to the kernel). */
#define MULTIBOOT_CODE_SELECTOR 0x08
#define MULTIBOOT_DATA_SELECTOR 0x10

/* What multiboot_check found in a file. */
struct multiboot_kernel {
	uint32_t header;       /* the header's offset in the file */
	uint32_t flags;
	int aout;              /* flag 16: the a.out kludge's addresses, else ELF32 segments */
	uint32_t start, end;   /* guest-physical: its first byte, and the end of its bss */
	uint32_t entry;
	uint64_t offset, load_size; /* a.out kludge: file[offset, offset + load_size) goes to start */
	char why[MULTIBOOT_WHY_MAX]; /* multiboot_check's reason when it refuses */
};

/*
 * The offset of the file's Multiboot header: its magic on a 4-byte
 * boundary in the first 8 KiB, followed by flags and a checksum that sum
 * to 0 with it, as loaders search for it; -1 if there is none.
 */
int64_t multiboot_find(const uint8_t *file, uint64_t size);

/*
 * For a file without a header multiboot_find accepts: a header that is
 * there but where no loader looks (off a 4-byte boundary, past the first
 * 8 KiB) or with a bad checksum, described in why (MULTIBOOT_WHY_MAX
 * bytes); NULL when there is nothing like one.
 */
const char *multiboot_near_miss(const uint8_t *file, uint64_t size, char *why);

/*
 * Checks a Multiboot kernel: the flags it requires, then the a.out
 * kludge's addresses or its ELF32 executable's loadable segments, inside
 * the file and inside the partition's RAM from 1 MiB to low_ram (a segment
 * of the file's headers alone below 1 MiB, as `ld -Ttext` makes one, is
 * left out). NULL with k filled, or the reason (in k->why).
 */
const char *multiboot_check(const uint8_t *file, uint64_t size, uint64_t low_ram, struct multiboot_kernel *k);

struct multiboot_module {
	const uint8_t *data;   /* its contents; NULL to place it only */
	uint64_t size;
	const char *string;    /* what the kernel is told with it */
};

/* What a kernel is given besides itself. */
struct multiboot_boot {
	const char *kernel_name; /* its command line is "NAME CMDLINE", as QEMU's -kernel and -append make it */
	const char *cmdline;
	unsigned nmodules;       /* at most MULTIBOOT_MODULES_MAX */
	struct multiboot_module modules[MULTIBOOT_MODULES_MAX];
	const struct e820_entry *map; /* the partition's memory map: the mmap's entries */
	unsigned map_entries;    /* at most MULTIBOOT_MAP_MAX */
};

/* Where a kernel's companions go, in guest-physical memory. */
struct multiboot_layout {
	uint32_t modules[MULTIBOOT_MODULES_MAX]; /* each module's first byte, on a page */
	uint32_t strings;      /* the command line, each module's string, the loader's name */
	uint32_t info;         /* the information structure, then the module list, the mmap, the GDT */
	uint32_t mods, mmap, gdt;
	uint32_t end;          /* past all of it */
	uint64_t ram_end;      /* the end of the RAM range it all lies in */
	char why[MULTIBOOT_WHY_MAX]; /* multiboot_place's reason when it refuses */
};

/*
 * Places the modules, the strings and the information structure above a
 * kernel multiboot_check accepted, in the RAM range of b->map the kernel
 * lies in. NULL with l filled, or the reason (in l->why).
 */
const char *multiboot_place(const struct multiboot_kernel *k, const struct multiboot_boot *b,
			    struct multiboot_layout *l);

/*
 * Places as multiboot_place does, then writes it all into ram (the
 * partition's memory; guest-physical address A below 4 GiB at ram + A,
 * written from k->start to l->end only: the kernel with its bss zeroed,
 * the modules, strings, information structure and GDT) and fills boot for
 * the entry: 32-bit protected mode, paging and interrupts off, EAX the
 * boot magic, EBX the information structure. NULL, or the reason.
 */
const char *multiboot_load(uint8_t *ram, const uint8_t *file, const struct multiboot_kernel *k,
			   const struct multiboot_boot *b, struct multiboot_layout *l, struct vcpu_boot *boot);

#endif
