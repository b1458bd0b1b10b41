#include "multiboot.h"

#include <elf.h>
#include <stdarg.h>
#include <stddef.h>

#include "lib/fmt.h"
#include "lib/le.h"
#include "lib/str.h"

/* The header (spec 3.1.2): magic, flags, checksum, then the a.out kludge's five addresses. */
#define HDR_FLAGS 4
#define HDR_CHECKSUM 8
#define HDR_HEADER_ADDR 12
#define HDR_LOAD_ADDR 16
#define HDR_LOAD_END_ADDR 20
#define HDR_BSS_END_ADDR 24
#define HDR_ENTRY_ADDR 28
#define HDR_SIZE 12
#define HDR_AOUT_SIZE 32

/* Header flags (spec 3.1.2): bits 0-15 are requirements a loader must meet or refuse. */
#define FLAG_PAGE_ALIGN 0x1      /* modules on pages: always so here */
#define FLAG_MEMORY_INFO 0x2     /* mem_lower, mem_upper and the mmap: always given here */
#define FLAG_VIDEO_MODE 0x4
#define FLAGS_REQUIRED 0xffffu
#define FLAGS_KNOWN (FLAG_PAGE_ALIGN | FLAG_MEMORY_INFO)
#define FLAG_AOUT_KLUDGE 0x10000

/* The information structure (spec 3.3), as QEMU writes it: 88 bytes, through the VBE fields. */
#define INFO_FLAGS 0
#define INFO_MEM_LOWER 4
#define INFO_MEM_UPPER 8
#define INFO_CMDLINE 16
#define INFO_MODS_COUNT 20
#define INFO_MODS_ADDR 24
#define INFO_MMAP_LENGTH 44
#define INFO_MMAP_ADDR 48
#define INFO_BOOT_LOADER_NAME 64
#define INFO_SIZE 88
#define INFO_HAS_MEMORY (1u << 0)
#define INFO_HAS_CMDLINE (1u << 2)
#define INFO_HAS_MODS (1u << 3)
#define INFO_HAS_MMAP (1u << 6)
#define INFO_HAS_LOADER_NAME (1u << 9)
#define MOD_SIZE 16    /* mod_start, mod_end, string, reserved */
#define MMAP_SIZE 24   /* size (of the rest: 20), base_addr, length, type */
#define GDT_SIZE 24    /* null, code, data */
#define LOADER_NAME "hv"

#define PAGE 0x1000ull
#define KIB 1024u
#define LOW_MEMORY_MAX (640 * KIB) /* mem_lower counts at most the PC's 640 KiB */

static const char *refuse(char *why, const char *f, ...) __attribute__((format(printf, 2, 3)));
static const char *refuse(char *why, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	fmt_v(why, MULTIBOOT_WHY_MAX, f, ap);
	va_end(ap);
	return why;
}

static uint64_t align_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) & ~(to - 1);
}

/* ---- the header ------------------------------------------------------- */

/* A magic at offset at whose flags and checksum sum to 0 with it. */
static int header_at(const uint8_t *file, uint64_t size, uint64_t at)
{
	return at + HDR_SIZE <= size && le32(file + at) == MULTIBOOT_HEADER_MAGIC &&
	       (uint32_t)(MULTIBOOT_HEADER_MAGIC + le32(file + at + HDR_FLAGS) + le32(file + at + HDR_CHECKSUM)) == 0;
}

int64_t multiboot_find(const uint8_t *file, uint64_t size)
{
	uint64_t at;

	for (at = 0; at + HDR_SIZE <= MULTIBOOT_SEARCH; at += 4)
		if (header_at(file, size, at))
			return (int64_t)at;
	return -1;
}

const char *multiboot_near_miss(const uint8_t *file, uint64_t size, char *why)
{
	uint64_t at;

	for (at = 0; at + HDR_SIZE <= size; at++) {
		int searched = at + HDR_SIZE <= MULTIBOOT_SEARCH, valid = header_at(file, size, at);
		if (le32(file + at) != MULTIBOOT_HEADER_MAGIC)
			continue;
		if (!valid && searched && at % 4 == 0)
			return refuse(why, "its Multiboot header at offset 0x%llx has a bad checksum (magic, flags "
				      "and checksum sum to 0x%x)", (unsigned long long)at,
				      (uint32_t)(MULTIBOOT_HEADER_MAGIC + le32(file + at + HDR_FLAGS) +
						 le32(file + at + HDR_CHECKSUM)));
		if (valid && searched && at % 4)
			return refuse(why, "its Multiboot header at offset 0x%llx is not 4-byte aligned, as loaders "
				      "need it", (unsigned long long)at);
		if (valid && !searched)
			return refuse(why, "its Multiboot header at offset 0x%llx lies past the first 8 KiB, where "
				      "loaders look for it", (unsigned long long)at);
	}
	return 0;
}

/* Bits 0-15 the kernel requires and this loader cannot give: refused, as the spec asks (3.1.2). */
static const char *check_flags(struct multiboot_kernel *k)
{
	uint32_t unknown = k->flags & FLAGS_REQUIRED & ~FLAGS_KNOWN;
	unsigned bit = 0;

	if (k->flags & FLAG_VIDEO_MODE)
		return refuse(k->why, "its Multiboot header requires video mode (flag 2): a partition has no display");
	if (!unknown)
		return 0;
	while (!(unknown >> bit & 1))
		bit++;
	return refuse(k->why, "its Multiboot header requires flag %u, which Multiboot 0.6.96 does not define",
		      bit);
}

/* [start, end) in the partition's RAM from 1 MiB to low_ram. */
static const char *check_in_ram(struct multiboot_kernel *k, uint64_t start, uint64_t end, uint64_t low_ram,
				const char *what)
{
	if (start < MULTIBOOT_KERNEL_MIN)
		return refuse(k->why, "%s at 0x%llx lies below 1 MiB (the PC's conventional memory and BIOS): "
			      "Multiboot kernels load from 1 MiB up", what, (unsigned long long)start);
	if (end > low_ram)
		return refuse(k->why, "%s (0x%llx-0x%llx) does not fit in the partition's RAM from 1 MiB to 0x%llx",
			      what, (unsigned long long)start, (unsigned long long)end, (unsigned long long)low_ram);
	return 0;
}

/* ---- the a.out kludge: addresses from the header (spec 3.1.3) ---------- */

static const char *check_aout(const uint8_t *file, uint64_t size, uint64_t low_ram, struct multiboot_kernel *k)
{
	const uint8_t *h = file + k->header;
	uint64_t header_addr, load, load_end, bss_end, entry, end;

	if (k->header + HDR_AOUT_SIZE > size || k->header + HDR_AOUT_SIZE > MULTIBOOT_SEARCH)
		return refuse(k->why, "its Multiboot header's a.out kludge addresses run past %s",
			      k->header + HDR_AOUT_SIZE > size ? "the end of the file" : "the first 8 KiB");
	header_addr = le32(h + HDR_HEADER_ADDR);
	load = le32(h + HDR_LOAD_ADDR);
	load_end = le32(h + HDR_LOAD_END_ADDR);
	bss_end = le32(h + HDR_BSS_END_ADDR);
	entry = le32(h + HDR_ENTRY_ADDR);
	if (header_addr < load)
		return refuse(k->why, "a.out kludge: load_addr 0x%llx lies above header_addr 0x%llx",
			      (unsigned long long)load, (unsigned long long)header_addr);
	if (header_addr - load > k->header)
		return refuse(k->why, "a.out kludge: load_addr 0x%llx would start the image %llu bytes before the file",
			      (unsigned long long)load, (unsigned long long)(header_addr - load - k->header));
	k->offset = k->header - (header_addr - load);
	if (load_end && load_end < load)
		return refuse(k->why, "a.out kludge: load_end_addr 0x%llx lies below load_addr 0x%llx",
			      (unsigned long long)load_end, (unsigned long long)load);
	k->load_size = load_end ? load_end - load : size - k->offset;
	if (k->load_size > size - k->offset)
		return refuse(k->why, "a.out kludge: load_end_addr 0x%llx asks for %llu bytes past the end of the file",
			      (unsigned long long)load_end, (unsigned long long)(k->load_size - (size - k->offset)));
	if (header_addr + HDR_AOUT_SIZE > load + k->load_size)
		return refuse(k->why, "a.out kludge: the header at 0x%llx is not inside the image loaded at "
			      "0x%llx-0x%llx", (unsigned long long)header_addr, (unsigned long long)load,
			      (unsigned long long)(load + k->load_size));
	if (bss_end && bss_end < load + k->load_size)
		return refuse(k->why, "a.out kludge: bss_end_addr 0x%llx lies below the end of the loaded image 0x%llx",
			      (unsigned long long)bss_end, (unsigned long long)(load + k->load_size));
	end = bss_end ? bss_end : load + k->load_size;
	if (entry < load || entry >= load + k->load_size)
		return refuse(k->why, "a.out kludge: entry_addr 0x%llx lies outside the image loaded at 0x%llx-0x%llx",
			      (unsigned long long)entry, (unsigned long long)load,
			      (unsigned long long)(load + k->load_size));
	if (check_in_ram(k, load, end, low_ram, "the kernel"))
		return k->why;
	k->start = (uint32_t)load;
	k->end = (uint32_t)end;
	k->entry = (uint32_t)entry;
	return 0;
}

/* ---- ELF32 executables: loadable segments at their physical addresses --- */

struct segment {
	uint64_t offset, filesz, vaddr, paddr, memsz;
};

static uint64_t phdr_at(const uint8_t *file, unsigned i)
{
	return le32(file + offsetof(Elf32_Ehdr, e_phoff)) + (uint64_t)i * sizeof(Elf32_Phdr);
}

static unsigned phnum(const uint8_t *file)
{
	return le16(file + offsetof(Elf32_Ehdr, e_phnum));
}

/*
 * A segment of nothing but the file's ELF and program headers below 1 MiB,
 * as `ld -Ttext=0x100000` puts one in the page below the text. QEMU loads
 * it into its BIOS area; nothing reads it, and a partition's ACPI tables
 * are there (0xE0000-0xFFFFF): it is left out.
 */
static int headers_below_1mib(const uint8_t *file, const struct segment *s)
{
	return s->offset == 0 && s->filesz == s->memsz && s->filesz <= phdr_at(file, phnum(file)) &&
	       s->paddr + s->memsz <= MULTIBOOT_KERNEL_MIN;
}

/* Program header i, if it is a segment to load (with memory); the caller checked the table lies in the file. */
static int loadable(const uint8_t *file, unsigned i, struct segment *s)
{
	const uint8_t *ph = file + phdr_at(file, i);

	*s = (struct segment){ le32(ph + offsetof(Elf32_Phdr, p_offset)), le32(ph + offsetof(Elf32_Phdr, p_filesz)),
			       le32(ph + offsetof(Elf32_Phdr, p_vaddr)), le32(ph + offsetof(Elf32_Phdr, p_paddr)),
			       le32(ph + offsetof(Elf32_Phdr, p_memsz)) };
	return le32(ph + offsetof(Elf32_Phdr, p_type)) == PT_LOAD && s->memsz && !headers_below_1mib(file, s);
}

static const char *check_elf_header(const uint8_t *file, uint64_t size, struct multiboot_kernel *k)
{
	uint16_t type, machine;

	if (size < sizeof(Elf32_Ehdr) || file[EI_MAG0] != ELFMAG0 || file[EI_MAG1] != ELFMAG1 ||
	    file[EI_MAG2] != ELFMAG2 || file[EI_MAG3] != ELFMAG3)
		return refuse(k->why, "no a.out kludge (flag 16) in its Multiboot header, and not an ELF file: "
			      "no load address");
	if (file[EI_CLASS] == ELFCLASS64)
		return refuse(k->why, "ELF64 with a Multiboot header but no a.out kludge (flag 16): Multiboot "
			      "loads ELF32 only, as QEMU does");
	type = le16(file + offsetof(Elf32_Ehdr, e_type));
	machine = le16(file + offsetof(Elf32_Ehdr, e_machine));
	if (file[EI_CLASS] != ELFCLASS32 || file[EI_DATA] != ELFDATA2LSB || machine != EM_386)
		return refuse(k->why, "a Multiboot ELF kernel must be a little-endian ELF32 file for i386 "
			      "(this one: class %u, data %u, machine %u)", file[EI_CLASS], file[EI_DATA], machine);
	if (type != ET_EXEC)
		return refuse(k->why, "a Multiboot ELF kernel must be an executable (ELF type %u, not 2)", type);
	if (le16(file + offsetof(Elf32_Ehdr, e_phentsize)) != sizeof(Elf32_Phdr) || phnum(file) == 0 ||
	    phdr_at(file, phnum(file)) > size)
		return refuse(k->why, "its ELF32 program headers are missing, of a bad size, or outside the file");
	return 0;
}

static const char *check_segment(const struct segment *s, unsigned i, uint64_t size, uint64_t low_ram,
				 struct multiboot_kernel *k)
{
	char what[32];

	if (s->filesz > s->memsz)
		return refuse(k->why, "ELF32 segment %u: p_filesz 0x%llx exceeds p_memsz 0x%llx", i,
			      (unsigned long long)s->filesz, (unsigned long long)s->memsz);
	if (s->offset > size || s->filesz > size - s->offset)
		return refuse(k->why, "ELF32 segment %u: its 0x%llx bytes at offset 0x%llx lie past the end of the file",
			      i, (unsigned long long)s->filesz, (unsigned long long)s->offset);
	fmt(what, sizeof(what), "ELF32 segment %u", i);
	return check_in_ram(k, s->paddr, s->paddr + s->memsz, low_ram, what);
}

/* Segments placed over one another: QEMU refuses them too (its ROM regions may not overlap). */
static const char *check_overlap(const uint8_t *file, unsigned i, const struct segment *s, struct multiboot_kernel *k)
{
	struct segment o;
	unsigned j;

	for (j = 0; j < i; j++)
		if (loadable(file, j, &o) && o.paddr < s->paddr + s->memsz && s->paddr < o.paddr + o.memsz)
			return refuse(k->why, "ELF32 segments %u and %u overlap at 0x%llx", j, i,
				      (unsigned long long)(s->paddr > o.paddr ? s->paddr : o.paddr));
	return 0;
}

/* e_entry is a virtual address: the segment holding it says where it is loaded, as GRUB takes it. */
static const char *set_entry(const uint8_t *file, struct multiboot_kernel *k)
{
	uint64_t entry = le32(file + offsetof(Elf32_Ehdr, e_entry));
	struct segment s;
	unsigned i;

	for (i = 0; i < phnum(file); i++) {
		if (loadable(file, i, &s) && entry >= s.vaddr && entry - s.vaddr < s.memsz) {
			k->entry = (uint32_t)(entry - s.vaddr + s.paddr);
			return 0;
		}
	}
	return refuse(k->why, "its ELF32 entry point 0x%llx lies in none of its loadable segments",
		      (unsigned long long)entry);
}

static const char *check_elf(const uint8_t *file, uint64_t size, uint64_t low_ram, struct multiboot_kernel *k)
{
	uint64_t start = UINT64_MAX, end = 0;
	unsigned i, count = 0;
	struct segment s;

	if (check_elf_header(file, size, k))
		return k->why;
	for (i = 0; i < phnum(file); i++) {
		if (!loadable(file, i, &s))
			continue;
		if (++count > MULTIBOOT_SEGMENTS_MAX)
			return refuse(k->why, "more than %u loadable ELF32 segments", MULTIBOOT_SEGMENTS_MAX);
		if (check_segment(&s, i, size, low_ram, k) || check_overlap(file, i, &s, k))
			return k->why;
		start = s.paddr < start ? s.paddr : start;
		end = s.paddr + s.memsz > end ? s.paddr + s.memsz : end;
	}
	if (!count)
		return refuse(k->why, "its ELF32 file has no loadable segment");
	k->start = (uint32_t)start;
	k->end = (uint32_t)end;
	return set_entry(file, k);
}

const char *multiboot_check(const uint8_t *file, uint64_t size, uint64_t low_ram, struct multiboot_kernel *k)
{
	int64_t at = multiboot_find(file, size);

	*k = (struct multiboot_kernel){ 0 };
	if (at < 0)
		return refuse(k->why, "no Multiboot header in its first %u bytes", MULTIBOOT_SEARCH);
	k->header = (uint32_t)at;
	k->flags = le32(file + at + HDR_FLAGS);
	k->aout = (k->flags & FLAG_AOUT_KLUDGE) != 0;
	if (check_flags(k))
		return k->why;
	return k->aout ? check_aout(file, size, low_ram, k) : check_elf(file, size, low_ram, k);
}

/* ---- placement -------------------------------------------------------- */

/* The RAM entry of the map that holds addr, or NULL. */
static const struct e820_entry *ram_holding(const struct multiboot_boot *b, uint64_t addr)
{
	unsigned i;

	for (i = 0; i < b->map_entries; i++)
		if (b->map[i].type == E820_RAM && addr >= b->map[i].addr && addr - b->map[i].addr < b->map[i].size)
			return &b->map[i];
	return 0;
}

/* Takes bytes at *at, aligned to align, below limit: their address, or 0 when they do not fit. */
static uint64_t take(uint64_t *at, uint64_t bytes, uint64_t align, uint64_t limit)
{
	uint64_t start = align_up(*at, align);

	if (start > limit || bytes > limit - start)
		return 0;
	*at = start + bytes;
	return start;
}

static uint64_t strings_size(const struct multiboot_boot *b)
{
	uint64_t n = str_len(b->kernel_name) + 1 + str_len(b->cmdline) + 1 + sizeof(LOADER_NAME);
	unsigned i;

	for (i = 0; i < b->nmodules; i++)
		n += str_len(b->modules[i].string) + 1;
	return n;
}

const char *multiboot_place(const struct multiboot_kernel *k, const struct multiboot_boot *b,
			    struct multiboot_layout *l)
{
	const struct e820_entry *ram = ram_holding(b, k->start);
	uint64_t at = k->end, limit;
	unsigned i;

	*l = (struct multiboot_layout){ 0 };
	if (b->nmodules > MULTIBOOT_MODULES_MAX || b->map_entries > MULTIBOOT_MAP_MAX)
		return refuse(l->why, "more than %u modules or %u memory map entries", MULTIBOOT_MODULES_MAX,
			      MULTIBOOT_MAP_MAX);
	if (!ram || k->end - ram->addr > ram->size)
		return refuse(l->why, "the kernel (0x%x-0x%x) is not in one RAM range of the partition's memory map",
			      k->start, k->end);
	l->ram_end = limit = ram->addr + ram->size;
	for (i = 0; i < b->nmodules; i++) {
		l->modules[i] = (uint32_t)take(&at, b->modules[i].size, PAGE, limit);
		if (!l->modules[i])
			return refuse(l->why, "module %u (%llu KiB) does not fit above the kernel: the partition's RAM "
				      "ends at 0x%llx", i, (unsigned long long)(b->modules[i].size >> 10),
				      (unsigned long long)limit);
	}
	l->strings = (uint32_t)take(&at, strings_size(b), 1, limit);
	l->info = (uint32_t)take(&at, INFO_SIZE, 8, limit);
	l->mods = (uint32_t)take(&at, (uint64_t)MOD_SIZE * b->nmodules, 8, limit);
	l->mmap = (uint32_t)take(&at, (uint64_t)MMAP_SIZE * b->map_entries, 8, limit);
	l->gdt = (uint32_t)take(&at, GDT_SIZE, 8, limit);
	if (!l->strings || !l->info || !l->mods || !l->mmap || !l->gdt)
		return refuse(l->why, "no room above the kernel and its modules for the Multiboot information (RAM "
			      "ends at 0x%llx)", (unsigned long long)limit);
	l->end = (uint32_t)at;
	return 0;
}

/* ---- loading ---------------------------------------------------------- */

static void copy(uint8_t *ram, uint64_t gpa, const uint8_t *src, uint64_t n)
{
	__builtin_memcpy(ram + gpa, src, n);
}

static void load_kernel(uint8_t *ram, const uint8_t *file, const struct multiboot_kernel *k)
{
	struct segment s;
	unsigned i;

	__builtin_memset(ram + k->start, 0, k->end - k->start); /* the bss, and gaps between segments */
	if (k->aout) {
		copy(ram, k->start, file + k->offset, k->load_size);
		return;
	}
	for (i = 0; i < phnum(file); i++)
		if (loadable(file, i, &s))
			copy(ram, s.paddr, file + s.offset, s.filesz);
}

/* Its NUL-ended string at *at, which moves past it; returns its address. */
static uint32_t put_string(uint8_t *ram, uint32_t *at, const char *s)
{
	uint32_t start = *at;
	size_t n = str_len(s);

	copy(ram, *at, (const uint8_t *)s, n);
	*at += (uint32_t)n;
	return start;
}

static void put_char(uint8_t *ram, uint32_t *at, char c)
{
	ram[(*at)++] = (uint8_t)c;
}

/* The command line, then each module's string, then the loader's name; the modules' list points at them. */
static void write_strings(uint8_t *ram, const struct multiboot_boot *b, const struct multiboot_layout *l)
{
	uint8_t *info = ram + l->info;
	uint32_t at = l->strings;
	unsigned i;

	put_le32(info + INFO_CMDLINE, put_string(ram, &at, b->kernel_name));
	put_char(ram, &at, ' ');
	put_string(ram, &at, b->cmdline);
	put_char(ram, &at, 0);
	for (i = 0; i < b->nmodules; i++) {
		put_le32(ram + l->mods + i * MOD_SIZE + 8, put_string(ram, &at, b->modules[i].string));
		put_char(ram, &at, 0);
	}
	put_le32(info + INFO_BOOT_LOADER_NAME, put_string(ram, &at, LOADER_NAME));
	put_char(ram, &at, 0);
}

static void write_modules(uint8_t *ram, const struct multiboot_boot *b, const struct multiboot_layout *l)
{
	unsigned i;

	for (i = 0; i < b->nmodules; i++) {
		uint8_t *m = ram + l->mods + i * MOD_SIZE;
		if (b->modules[i].data)
			copy(ram, l->modules[i], b->modules[i].data, b->modules[i].size);
		put_le32(m, l->modules[i]);
		put_le32(m + 4, (uint32_t)(l->modules[i] + b->modules[i].size));
	}
}

/* mem_lower: RAM from 0, at most 640 KiB; mem_upper: RAM from 1 MiB up to the first hole (spec 3.3). */
static void write_memory(uint8_t *ram, const struct multiboot_boot *b, const struct multiboot_layout *l)
{
	const struct e820_entry *low = ram_holding(b, 0), *upper = ram_holding(b, MULTIBOOT_KERNEL_MIN);
	uint8_t *info = ram + l->info;
	unsigned i;

	if (low && low->addr == 0)
		put_le32(info + INFO_MEM_LOWER, (uint32_t)((low->size < LOW_MEMORY_MAX ? low->size : LOW_MEMORY_MAX) / KIB));
	if (upper && upper->addr == MULTIBOOT_KERNEL_MIN)
		put_le32(info + INFO_MEM_UPPER, (uint32_t)(upper->size / KIB));
	for (i = 0; i < b->map_entries; i++) {
		uint8_t *e = ram + l->mmap + i * MMAP_SIZE;
		put_le32(e, MMAP_SIZE - 4);
		put_le64(e + 4, b->map[i].addr);
		put_le64(e + 12, b->map[i].size);
		put_le32(e + 20, b->map[i].type); /* e820's types are Multiboot's (spec 3.3, mmap) */
	}
	put_le32(info + INFO_MMAP_LENGTH, MMAP_SIZE * b->map_entries);
	put_le32(info + INFO_MMAP_ADDR, l->mmap);
}

/* Flat 4 GiB segments: 32-bit code (D, G, type 0xb: execute/read, accessed) and data (type 3). */
static void write_gdt(uint8_t *ram, const struct multiboot_layout *l)
{
	put_le64(ram + l->gdt, 0);
	put_le64(ram + l->gdt + MULTIBOOT_CODE_SELECTOR, 0x00cf9b000000ffffull);
	put_le64(ram + l->gdt + MULTIBOOT_DATA_SELECTOR, 0x00cf93000000ffffull);
}

const char *multiboot_load(uint8_t *ram, const uint8_t *file, const struct multiboot_kernel *k,
			   const struct multiboot_boot *b, struct multiboot_layout *l, struct vcpu_boot *boot)
{
	if (multiboot_place(k, b, l))
		return l->why;
	load_kernel(ram, file, k);
	__builtin_memset(ram + k->end, 0, l->end - k->end);
	write_modules(ram, b, l);
	write_strings(ram, b, l);
	put_le32(ram + l->info + INFO_FLAGS,
		 INFO_HAS_MEMORY | INFO_HAS_CMDLINE | INFO_HAS_MODS | INFO_HAS_MMAP | INFO_HAS_LOADER_NAME);
	put_le32(ram + l->info + INFO_MODS_COUNT, b->nmodules);
	put_le32(ram + l->info + INFO_MODS_ADDR, l->mods);
	write_memory(ram, b, l);
	write_gdt(ram, l);
	/* Machine state at entry (spec 3.2): RFLAGS.IF clear, as every boot state here starts. */
	*boot = (struct vcpu_boot){
		.mode = BOOT_PROTECTED,
		.rip = k->entry,
		.rax = MULTIBOOT_BOOT_MAGIC,
		.rbx = l->info,
		.gdt_base = l->gdt,
		.gdt_limit = GDT_SIZE - 1,
		.code_selector = MULTIBOOT_CODE_SELECTOR,
		.data_selector = MULTIBOOT_DATA_SELECTOR,
	};
	return 0;
}
