/* Multiboot kernels: a.out-kludge and ELF32 kernels found, checked and
 * loaded with their modules, command line, information structure and
 * memory map; damaged headers and files refused with their reason; the
 * format a partition's kernel is taken for. */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guest_boot.h"
#include "kernel.h"
#include "multiboot.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define FILE_MAX 0x4000
#define RAM_BYTES (8 * MIB) /* what the tests write into: every layout here ends below it */
#define POISON 0xaa
#define FLAGS_INFO 0x24du /* MEM, CMDLINE, MODS, MMAP, BOOT_LOADER_NAME */

static uint8_t file[FILE_MAX];
static size_t file_size;
static uint8_t *ram;
static struct multiboot_kernel k;
static struct multiboot_layout layout;
static struct vcpu_boot boot;
static struct e820_entry map[GUEST_E820_MAX];

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void fill_pattern(size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to; i++)
		file[i] = (uint8_t)(i * 7 + 1);
}

/* magic, flags, checksum at offset at; sum: what the three add up to (0 for a good header). */
static void put_header(size_t at, uint32_t flags, uint32_t sum)
{
	wr32(file + at, MULTIBOOT_HEADER_MAGIC);
	wr32(file + at + 4, flags);
	wr32(file + at + 8, sum - MULTIBOOT_HEADER_MAGIC - flags);
}

struct aout {
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* A flat kernel of size bytes with an a.out-kludge header at offset at. */
static void aout_kernel(size_t size, size_t at, uint32_t extra_flags, struct aout a)
{
	memset(file, 0, sizeof(file));
	fill_pattern(0, size);
	file_size = size;
	put_header(at, 0x10003 | extra_flags, 0);
	wr32(file + at + 12, a.header_addr);
	wr32(file + at + 16, a.load_addr);
	wr32(file + at + 20, a.load_end_addr);
	wr32(file + at + 24, a.bss_end_addr);
	wr32(file + at + 28, a.entry_addr);
}

/* The usual one: 0x2000 bytes, header at 0x40, loaded at 1 MiB with 0x3000 bytes of bss. */
static const struct aout usual = { 0x100040, 0x100000, 0x102000, 0x105000, 0x100080 };

static Elf32_Ehdr *eh32(void) { return (Elf32_Ehdr *)file; }
static Elf32_Phdr *ph32(int i) { return (Elf32_Phdr *)(file + sizeof(Elf32_Ehdr)) + i; }

/*
 * An ELF32 executable linked for the upper half (vaddr 0xC0000000 + paddr):
 * text of 0x1000 bytes at file offset 0x1000 for 2 MiB, data 0x800 bytes
 * from offset 0x2000 with 0x2000 bytes of memory at 2 MiB + 0x4000; the
 * Multiboot header at the start of the text.
 */
static void elf_kernel(void)
{
	memset(file, 0, sizeof(file));
	fill_pattern(0x1000, 0x2800);
	file_size = 0x2800;
	memcpy(eh32()->e_ident, ELFMAG, SELFMAG);
	eh32()->e_ident[EI_CLASS] = ELFCLASS32;
	eh32()->e_ident[EI_DATA] = ELFDATA2LSB;
	eh32()->e_type = ET_EXEC;
	eh32()->e_machine = EM_386;
	eh32()->e_entry = 0xc0200010;
	eh32()->e_phoff = sizeof(Elf32_Ehdr);
	eh32()->e_phentsize = sizeof(Elf32_Phdr);
	eh32()->e_phnum = 3;
	*ph32(0) = (Elf32_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000, .p_vaddr = 0xc0200000, .p_paddr = 0x200000,
				 .p_filesz = 0x1000, .p_memsz = 0x1000 };
	*ph32(1) = (Elf32_Phdr){ .p_type = PT_NOTE, .p_offset = 0x10, .p_vaddr = 0x10, .p_filesz = 8, .p_memsz = 8 };
	*ph32(2) = (Elf32_Phdr){ .p_type = PT_LOAD, .p_offset = 0x2000, .p_vaddr = 0xc0204000, .p_paddr = 0x204000,
				 .p_filesz = 0x800, .p_memsz = 0x2000 };
	put_header(0x1000, 0x3, 0);
}

/* On an exact-size copy of the file: a read past its end is AddressSanitizer's to catch. */
static const char *check(uint64_t low_ram)
{
	uint8_t *exact = malloc(file_size);
	const char *why;

	assert_non_null(exact);
	memcpy(exact, file, file_size);
	why = multiboot_check(exact, file_size, low_ram, &k);
	free(exact);
	return why;
}

static void expect_refused(uint64_t low_ram, const char *fragment)
{
	const char *why = check(low_ram);

	if (!why || !strstr(why, fragment))
		fail_msg("expected a refusal with '%s', got '%s'", fragment, why ? why : "(accepted)");
}

/* The kernel's own format check, as the hypervisor and hvcfg make it. */
static void expect_kernel_refused(const char *fragment)
{
	static struct kernel_image img;
	const char *why = kernel_check(file, file_size, 16 * MIB, &img);

	if (!why || !strstr(why, fragment))
		fail_msg("expected a refusal with '%s', got '%s'", fragment, why ? why : "(accepted)");
}

static const uint8_t mod1[] = "first module\n";
static uint8_t mod2[0x1001];

/* What a partition of ram_size bytes gives its kernel: two modules, a command line, its map. */
static struct multiboot_boot boot_for(uint64_t ram_size)
{
	struct multiboot_boot b = {
		.kernel_name = "k.bin",
		.cmdline = "hello world",
		.nmodules = 2,
		.modules = { { mod1, sizeof(mod1) - 1, "mod1 a b" }, { mod2, sizeof(mod2), "mod2" } },
		.map = map,
	};

	memset(mod2, 0x5a, sizeof(mod2));
	b.map_entries = guest_boot_e820(ram_size, map);
	return b;
}

static const char *load(uint64_t ram_size, const struct multiboot_boot *b)
{
	const char *why = check(ram_size < 3 * GIB ? ram_size : 3 * GIB);

	if (why)
		return why;
	return multiboot_load(ram, file, &k, b, &layout, &boot);
}

static int setup(void **state)
{
	(void)state;
	ram = malloc(RAM_BYTES);
	assert_non_null(ram);
	memset(ram, POISON, RAM_BYTES);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static void assert_untouched(uint64_t from, uint64_t to)
{
	uint64_t i;

	for (i = from; i < to; i++)
		if (ram[i] != POISON)
			fail_msg("byte 0x%llx was written", (unsigned long long)i);
}

static void assert_zero(uint64_t from, uint64_t to)
{
	uint64_t i;

	for (i = from; i < to; i++)
		if (ram[i])
			fail_msg("byte 0x%llx is 0x%x, not 0", (unsigned long long)i, ram[i]);
}

/* The information structure's fields the tests read. */
static const uint8_t *info(void)
{
	return ram + boot.rbx;
}

static void assert_boot_state(uint32_t entry)
{
	const uint8_t *gdt = ram + layout.gdt;

	assert_int_equal(boot.mode, BOOT_PROTECTED);
	assert_int_equal(boot.rip, entry);
	assert_int_equal(boot.rax, MULTIBOOT_BOOT_MAGIC);
	assert_int_equal(boot.rbx, layout.info);
	assert_int_equal(boot.gdt_base, layout.gdt);
	assert_int_equal(boot.gdt_limit, 23);
	assert_int_equal(boot.code_selector, 0x08);
	assert_int_equal(boot.data_selector, 0x10);
	/* Flat 32-bit code (not the Linux GDT's 64-bit one) and data behind the selectors. */
	assert_int_equal(rd64(gdt), 0);
	assert_int_equal(rd64(gdt + 0x08), 0x00cf9b000000ffffull);
	assert_int_equal(rd64(gdt + 0x10), 0x00cf93000000ffffull);
}

/* The modules page-aligned above the kernel, their strings, the command line and the loader's name. */
static void assert_modules_and_strings(uint32_t kernel_end)
{
	const uint8_t *mods = ram + rd32(info() + 24);
	uint32_t m0 = rd32(mods), m1 = rd32(mods + 16);

	assert_int_equal(rd32(info() + 20), 2);
	assert_int_equal(m0, (kernel_end + 0xfff) & ~0xfffu);
	assert_int_equal(rd32(mods + 4), m0 + sizeof(mod1) - 1);
	assert_memory_equal(ram + m0, mod1, sizeof(mod1) - 1);
	assert_int_equal(m1, (m0 + sizeof(mod1) - 1 + 0xfff) & ~0xfffu);
	assert_int_equal(rd32(mods + 16 + 4), m1 + sizeof(mod2));
	assert_memory_equal(ram + m1, mod2, sizeof(mod2));
	assert_zero(m0 + sizeof(mod1) - 1, m1); /* padding up to the next page */
	assert_string_equal((const char *)ram + rd32(mods + 8), "mod1 a b");
	assert_string_equal((const char *)ram + rd32(mods + 16 + 8), "mod2");
	assert_int_equal(rd32(mods + 12), 0);
	assert_string_equal((const char *)ram + rd32(info() + 16), "k.bin hello world");
	assert_string_equal((const char *)ram + rd32(info() + 64), "hv");
	/* Strings, then the information, all above the last module. */
	assert_true(rd32(info() + 16) >= m1 + sizeof(mod2));
	assert_true(layout.info > rd32(info() + 64));
}

/* The size of the mmap's RAM range at addr; 0 if there is none. */
static uint64_t mmap_ram_at(uint64_t addr)
{
	const uint8_t *m = ram + rd32(info() + 48);
	unsigned i;

	for (i = 0; i < rd32(info() + 44) / 24; i++, m += 24)
		if (rd64(m + 4) == addr && rd32(m + 20) == E820_RAM)
			return rd64(m + 12);
	return 0;
}

/* The mmap: the partition's e820 map, entry for entry, and nothing else: low RAM to 3 GiB at most, the rest at 4 GiB. */
static void assert_mmap(unsigned entries, uint64_t ram_size)
{
	const uint8_t *m = ram + rd32(info() + 48);
	uint64_t low = ram_size < 3 * GIB ? ram_size : 3 * GIB;
	unsigned i;

	assert_int_equal(mmap_ram_at(0), 0x9fc00);
	assert_int_equal(mmap_ram_at(MIB), low - MIB);
	assert_int_equal(mmap_ram_at(4 * GIB), ram_size - low);

	assert_int_equal(rd32(info() + 44), 24 * entries);
	for (i = 0; i < entries; i++, m += 24) {
		assert_int_equal(rd32(m), 20);
		assert_int_equal(rd64(m + 4), map[i].addr);
		assert_int_equal(rd64(m + 12), map[i].size);
		assert_int_equal(rd32(m + 20), map[i].type);
	}
}

static void aout_kernel_loads(void **state)
{
	struct multiboot_boot b = boot_for(16 * MIB);

	(void)state;
	aout_kernel(0x2400, 0x40, 0, usual);
	assert_null(load(16 * MIB, &b));
	assert_true(k.aout);
	assert_int_equal(k.start, 0x100000);
	assert_int_equal(k.end, 0x105000);
	assert_int_equal(k.offset, 0);
	assert_int_equal(k.load_size, 0x2000); /* load_end_addr, not the end of the file */
	assert_memory_equal(ram + 0x100000, file, 0x2000);
	assert_zero(0x102000, 0x105000); /* the bss */
	assert_boot_state(0x100080);
	assert_int_equal(rd32(info()), FLAGS_INFO);
	assert_int_equal(rd32(info() + 4), 639);   /* 0x9FC00 bytes from 0 */
	assert_int_equal(rd32(info() + 8), 15360); /* 15 MiB from 1 MiB */
	assert_modules_and_strings(0x105000);
	assert_mmap(b.map_entries, 16 * MIB);
	/* Nothing written outside the kernel and what follows it. */
	assert_untouched(0, 0x100000);
	assert_untouched(layout.end, RAM_BYTES);
	assert_true(layout.end <= 16 * MIB);
}

static void aout_kernel_without_load_end_takes_the_rest_of_the_file(void **state)
{
	struct multiboot_boot b = boot_for(16 * MIB);
	struct aout a = usual;

	(void)state;
	/* The header at 0x1040 of the file, the image starting 0x1000 bytes in. */
	a.load_end_addr = 0;
	a.bss_end_addr = 0;
	aout_kernel(0x2400, 0x1040, 0, a);
	assert_null(load(16 * MIB, &b));
	assert_int_equal(k.offset, 0x1000);
	assert_int_equal(k.load_size, 0x1400);
	assert_int_equal(k.end, 0x101400);
	assert_memory_equal(ram + 0x100000, file + 0x1000, 0x1400);
}

static void elf32_kernel_loads_at_physical_addresses(void **state)
{
	struct multiboot_boot b = boot_for(16 * MIB);

	(void)state;
	elf_kernel();
	assert_null(load(16 * MIB, &b));
	assert_false(k.aout);
	assert_int_equal(k.start, 0x200000);
	assert_int_equal(k.end, 0x206000);
	assert_memory_equal(ram + 0x200000, file + 0x1000, 0x1000);
	assert_zero(0x201000, 0x204000); /* the gap between the segments */
	assert_memory_equal(ram + 0x204000, file + 0x2000, 0x800);
	assert_zero(0x204800, 0x206000); /* the data segment's bss */
	assert_boot_state(0x200010);     /* e_entry through its segment: a physical address */
	assert_modules_and_strings(0x206000);
	assert_mmap(b.map_entries, 16 * MIB);
	assert_untouched(0, 0x200000);
	assert_untouched(layout.end, RAM_BYTES);
}

/* ld -Ttext=0x100000 puts the ELF headers in a segment of their own below 1 MiB: left out, as nothing reads it. */
static void elf32_headers_segment_below_1_mib(void **state)
{
	struct multiboot_boot b = boot_for(16 * MIB);
	const uint32_t headers = sizeof(Elf32_Ehdr) + 3 * sizeof(Elf32_Phdr);

	(void)state;
	elf_kernel();
	*ph32(1) = (Elf32_Phdr){ .p_type = PT_LOAD, .p_vaddr = 0xc00ff000, .p_paddr = 0xff000, .p_filesz = headers,
				 .p_memsz = headers };
	assert_null(load(16 * MIB, &b));
	assert_int_equal(k.start, 0x200000);
	assert_memory_equal(ram + 0x200000, file + 0x1000, 0x1000);
	assert_boot_state(0x200010);
	assert_modules_and_strings(0x206000);
	assert_untouched(0, 0x200000); /* the ACPI tables' area below 1 MiB included */
	/* Anything more below 1 MiB is refused. */
	ph32(1)->p_filesz = ph32(1)->p_memsz = headers + 1;
	expect_refused(16 * MIB, "ELF32 segment 1 at 0xff000 lies below 1 MiB");
	ph32(1)->p_filesz = headers;
	ph32(1)->p_paddr = 0xfff80; /* running into 1 MiB */
	expect_refused(16 * MIB, "ELF32 segment 1 at 0xfff80 lies below 1 MiB");
}

/* A partition above 3 GiB: low RAM stops at the hole, the rest is at 4 GiB; mem_upper stops at the hole. */
static void info_of_a_partition_above_3_gib(void **state)
{
	struct multiboot_boot b = boot_for(6 * GIB);

	(void)state;
	aout_kernel(0x2400, 0x40, 0, usual);
	assert_null(load(6 * GIB, &b));
	assert_int_equal(rd32(info() + 4), 639);
	assert_int_equal(rd32(info() + 8), (3 * GIB - MIB) / 1024);
	assert_mmap(b.map_entries, 6 * GIB);
	assert_modules_and_strings(0x105000);
	assert_int_equal(layout.ram_end, 3 * GIB);
}

static void info_of_a_partition_of_exactly_3_gib(void **state)
{
	struct multiboot_boot b = boot_for(3 * GIB);

	(void)state;
	aout_kernel(0x2400, 0x40, 0, usual);
	assert_null(load(3 * GIB, &b));
	assert_int_equal(rd32(info() + 8), (3 * GIB - MIB) / 1024);
	assert_mmap(b.map_entries, 3 * GIB);
}

static void header_search(void **state)
{
	(void)state;
	aout_kernel(0x2400, 0x40, 0, usual);
	assert_int_equal(multiboot_find(file, file_size), 0x40);
	/* The last place a header may start: its 12 bytes end at 8 KiB. */
	memset(file, 0, sizeof(file));
	file_size = 0x3000;
	put_header(MULTIBOOT_SEARCH - 12, 0x3, 0);
	assert_int_equal(multiboot_find(file, file_size), MULTIBOOT_SEARCH - 12);
	memset(file, 0, sizeof(file));
	put_header(MULTIBOOT_SEARCH - 8, 0x3, 0);
	assert_int_equal(multiboot_find(file, file_size), -1);
	/* A file shorter than the search reads nothing past its end. */
	file_size = 16;
	memset(file, 0, sizeof(file));
	put_header(8, 0x3, 0);
	assert_int_equal(multiboot_find(file, file_size), -1);
}

static void misplaced_and_damaged_headers_are_refused_with_their_reason(void **state)
{
	(void)state;
	memset(file, 0, sizeof(file));
	file_size = 0x3000;
	put_header(0x40, 0x3, 1);
	assert_int_equal(multiboot_find(file, file_size), -1);
	expect_kernel_refused("its Multiboot header at offset 0x40 has a bad checksum (magic, flags and checksum sum "
			      "to 0x1)");
	memset(file, 0, sizeof(file));
	put_header(0x2000, 0x3, 0);
	expect_kernel_refused("its Multiboot header at offset 0x2000 lies past the first 8 KiB, where loaders look");
	memset(file, 0, sizeof(file));
	put_header(0x41, 0x3, 0);
	expect_kernel_refused("its Multiboot header at offset 0x41 is not 4-byte aligned");
	memset(file, 0, sizeof(file));
	memcpy(file, "just some text\n", 15);
	expect_kernel_refused("not an ELF64 executable, a Multiboot kernel or a Linux bzImage");
}

static void required_flags_are_refused(void **state)
{
	(void)state;
	aout_kernel(0x2400, 0x40, 0x4, usual);
	expect_refused(16 * MIB, "requires video mode (flag 2)");
	aout_kernel(0x2400, 0x40, 0x20, usual);
	expect_refused(16 * MIB, "requires flag 5, which Multiboot 0.6.96 does not define");
	aout_kernel(0x2400, 0x40, 0x8000, usual);
	expect_refused(16 * MIB, "requires flag 15");
	aout_kernel(0x2400, 0x40, 0x80000000u, usual); /* bits 16-31 are optional: ignored */
	assert_null(check(16 * MIB));
}

/* The usual kernel with one field changed (header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr). */
static const struct {
	struct aout a;
	uint64_t low_ram;
	const char *why;
} bad_aout[] = {
	{ { 0x100040, 0x100080, 0x102000, 0x105000, 0x100080 }, 16 * MIB,
	  "a.out kludge: load_addr 0x100080 lies above header_addr 0x100040" },
	{ { 0x100080, 0x100000, 0x102000, 0x105000, 0x100080 }, 16 * MIB,
	  "a.out kludge: load_addr 0x100000 would start the image 64 bytes before the file" },
	{ { 0x100040, 0x100000, 0xffff0, 0x105000, 0x100080 }, 16 * MIB,
	  "load_end_addr 0xffff0 lies below load_addr 0x100000" },
	{ { 0x100040, 0x100000, 0x103000, 0x105000, 0x100080 }, 16 * MIB,
	  "load_end_addr 0x103000 asks for 3072 bytes past the end of the file" },
	{ { 0x100040, 0x100000, 0xffffffff, 0, 0x100080 }, 16 * MIB, "past the end of the file" },
	{ { 0x100040, 0x100000, 0x102000, 0x101000, 0x100080 }, 16 * MIB,
	  "bss_end_addr 0x101000 lies below the end of the loaded image 0x102000" },
	{ { 0x100040, 0x100000, 0x102000, 0x105000, 0x102000 }, 16 * MIB,
	  "entry_addr 0x102000 lies outside the image loaded at 0x100000-0x102000" },
	/* The header is not in what is loaded. */
	{ { 0x100040, 0x100000, 0x100020, 0x105000, 0x100010 }, 16 * MIB,
	  "the header at 0x100040 is not inside the image loaded at 0x100000-0x100020" },
	{ { 0x8040, 0x8000, 0x9000, 0, 0x8040 }, 16 * MIB, "the kernel at 0x8000 lies below 1 MiB" },
	/* Too large for the partition: its bss runs past 16 MiB, or to 4 GiB. */
	{ { 0x100040, 0x100000, 0x102000, 0x1000001, 0x100080 }, 16 * MIB,
	  "the kernel (0x100000-0x1000001) does not fit in the partition's RAM from 1 MiB to 0x1000000" },
	{ { 0x100040, 0x100000, 0x102000, 0xffffffff, 0x100080 }, 3 * GIB, "does not fit" },
};

static void bad_aout_addresses_are_refused(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(bad_aout) / sizeof(bad_aout[0]); i++) {
		aout_kernel(0x2400, 0x40, 0, bad_aout[i].a);
		expect_refused(bad_aout[i].low_ram, bad_aout[i].why);
	}
	/* The header's address fields cut off by the end of the file, and by the 8 KiB limit. */
	aout_kernel(0x40 + 20, 0x40, 0, usual);
	expect_refused(16 * MIB, "a.out kludge addresses run past the end of the file");
	aout_kernel(0x2400, MULTIBOOT_SEARCH - 12, 0, usual);
	expect_refused(16 * MIB, "a.out kludge addresses run past the first 8 KiB");
}

static void bad_elf32_kernels_are_refused(void **state)
{
	(void)state;
	elf_kernel();
	ph32(2)->p_filesz = 0x801; /* one byte past the end of the file */
	expect_refused(16 * MIB, "ELF32 segment 2: its 0x801 bytes at offset 0x2000 lie past the end of the file");
	elf_kernel();
	ph32(2)->p_offset = 0xfffffff0;
	expect_refused(16 * MIB, "lie past the end of the file");
	elf_kernel();
	ph32(0)->p_filesz = 0x1001;
	expect_refused(16 * MIB, "ELF32 segment 0: p_filesz 0x1001 exceeds p_memsz 0x1000");
	elf_kernel();
	ph32(2)->p_paddr = 0x200800;
	expect_refused(16 * MIB, "ELF32 segments 0 and 2 overlap at 0x200800");
	elf_kernel();
	ph32(0)->p_paddr = 0x9f000;
	expect_refused(16 * MIB, "ELF32 segment 0 at 0x9f000 lies below 1 MiB");
	elf_kernel();
	ph32(2)->p_memsz = 0xfffff000; /* too large for the partition */
	expect_refused(16 * MIB, "ELF32 segment 2 (0x204000-0x100203000) does not fit in the partition's RAM");
	elf_kernel();
	eh32()->e_entry = 0xc0206000;
	expect_refused(16 * MIB, "its ELF32 entry point 0xc0206000 lies in none of its loadable segments");
	elf_kernel();
	eh32()->e_phoff = 0x27f0; /* 3 headers from 16 bytes before the end */
	expect_refused(16 * MIB, "program headers are missing, of a bad size, or outside the file");
	elf_kernel();
	eh32()->e_type = ET_DYN;
	expect_refused(16 * MIB, "must be an executable (ELF type 3, not 2)");
	elf_kernel();
	eh32()->e_machine = EM_X86_64;
	expect_refused(16 * MIB, "little-endian ELF32 file for i386 (this one: class 1, data 1, machine 62)");
	elf_kernel();
	ph32(0)->p_type = PT_NULL;
	ph32(2)->p_type = PT_NULL;
	expect_refused(16 * MIB, "no loadable segment");
	elf_kernel();
	eh32()->e_ident[EI_CLASS] = ELFCLASS64; /* an ELF64 kernel with a Multiboot header and no a.out kludge */
	expect_refused(16 * MIB, "ELF64 with a Multiboot header but no a.out kludge (flag 16)");
	elf_kernel();
	file[0] = 0;
	expect_refused(16 * MIB, "no a.out kludge (flag 16) in its Multiboot header, and not an ELF file");
}

/* What cannot go above the kernel: a module larger than the RAM left, or no room left for the information. */
static void modules_and_information_that_do_not_fit_are_refused(void **state)
{
	struct multiboot_boot b = boot_for(16 * MIB);
	struct aout a = usual;

	(void)state;
	aout_kernel(0x2400, 0x40, 0, usual);
	assert_null(check(16 * MIB));
	b.modules[1].size = 15 * MIB;
	assert_non_null(multiboot_place(&k, &b, &layout));
	assert_string_equal(layout.why, "module 1 (15360 KiB) does not fit above the kernel: the partition's RAM ends "
					"at 0x1000000");
	b.modules[1].size = UINT64_MAX; /* hostile sizes do not wrap */
	assert_non_null(multiboot_place(&k, &b, &layout));
	b.modules[1].size = 16 * MIB - 0x106000; /* exactly the rest: no room for the strings */
	assert_non_null(multiboot_place(&k, &b, &layout));
	assert_non_null(strstr(layout.why, "no room above the kernel and its modules for the Multiboot information"));
	/* The kernel's bss reaches the end of RAM: the information would overlap nothing but has no room. */
	a.bss_end_addr = 16 * MIB;
	aout_kernel(0x2400, 0x40, 0, a);
	b = boot_for(16 * MIB);
	b.nmodules = 0;
	assert_null(check(16 * MIB));
	assert_non_null(multiboot_place(&k, &b, &layout));
	assert_non_null(strstr(layout.why, "no room above the kernel"));
	b.nmodules = MULTIBOOT_MODULES_MAX + 1;
	assert_non_null(multiboot_place(&k, &b, &layout));
	assert_non_null(strstr(layout.why, "more than 8 modules"));
}

/* A minimal ELF64 executable: one segment at 1 MiB. */
static void elf64_kernel(void)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)file;
	Elf64_Phdr *ph = (Elf64_Phdr *)(file + sizeof(*eh));

	memset(file, 0, sizeof(file));
	file_size = 0x2000;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_entry = 0x100000;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	*ph = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000, .p_vaddr = 0x100000, .p_paddr = 0x100000,
			    .p_filesz = 0x1000, .p_memsz = 0x1000 };
}

static void formats_are_told_apart(void **state)
{
	static struct kernel_image img;
	static struct cfg_partition cfg;

	(void)state;
	elf64_kernel();
	assert_null(kernel_check(file, file_size, 16 * MIB, &img));
	assert_int_equal(img.format, KERNEL_ELF);
	assert_null(kernel_check_config(&img, &cfg));
	cfg.nmodules = 1;
	assert_string_equal(kernel_check_config(&img, &cfg), "modules are for Multiboot kernels, and this kernel is not one");
	/* An ELF64 file with a Multiboot header is a Multiboot kernel: with the a.out kludge it loads. */
	put_header(0x1000, 0x10003, 0);
	wr32(file + 0x1000 + 12, 0x100000);
	wr32(file + 0x1000 + 16, 0x100000);
	wr32(file + 0x1000 + 20, 0x101000);
	wr32(file + 0x1000 + 24, 0);
	wr32(file + 0x1000 + 28, 0x100020);
	assert_null(kernel_check(file, file_size, 16 * MIB, &img));
	assert_int_equal(img.format, KERNEL_MULTIBOOT);
	assert_int_equal(img.mb.entry, 0x100020);
	assert_null(kernel_check_config(&img, &cfg));
	strcpy(cfg.initrd, "initrd.img");
	assert_string_equal(kernel_check_config(&img, &cfg),
			    "a Multiboot kernel takes no initrd: name its files as modules (module = FILE ARGS)");
	/* Without the kludge it would be entered as ELF32: refused, as QEMU refuses it. */
	put_header(0x1000, 0x3, 0);
	expect_kernel_refused("ELF64 with a Multiboot header but no a.out kludge");
	/* A bad checksum does not make a Multiboot kernel of an ELF64 executable. */
	put_header(0x1000, 0x3, 5);
	assert_null(kernel_check(file, file_size, 16 * MIB, &img));
	assert_int_equal(img.format, KERNEL_ELF);
	elf_kernel();
	assert_null(kernel_check(file, file_size, 16 * MIB, &img));
	assert_int_equal(img.format, KERNEL_MULTIBOOT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(aout_kernel_loads, setup, teardown),
		cmocka_unit_test_setup_teardown(aout_kernel_without_load_end_takes_the_rest_of_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(elf32_kernel_loads_at_physical_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(elf32_headers_segment_below_1_mib, setup, teardown),
		cmocka_unit_test_setup_teardown(info_of_a_partition_above_3_gib, setup, teardown),
		cmocka_unit_test_setup_teardown(info_of_a_partition_of_exactly_3_gib, setup, teardown),
		cmocka_unit_test(header_search),
		cmocka_unit_test(misplaced_and_damaged_headers_are_refused_with_their_reason),
		cmocka_unit_test(required_flags_are_refused),
		cmocka_unit_test(bad_aout_addresses_are_refused),
		cmocka_unit_test(bad_elf32_kernels_are_refused),
		cmocka_unit_test(modules_and_information_that_do_not_fit_are_refused),
		cmocka_unit_test(formats_are_told_apart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
