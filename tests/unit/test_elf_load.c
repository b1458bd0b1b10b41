/* The loader's ELF placement: a good image is placed and relocated; a
 * damaged one is refused with a reason, never placed out of bounds. */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "elf_load.h"

#define FILE_SIZE 0x410
#define BSS 0x2000
#define OFF_DYN 0x200
#define OFF_RELA 0x300
#define OFF_TARGET 0x400

static uint8_t file[FILE_SIZE];

static Elf64_Ehdr *eh(void) { return (Elf64_Ehdr *)file; }
static Elf64_Phdr *ph(int i) { return (Elf64_Phdr *)(file + sizeof(Elf64_Ehdr)) + i; }
static Elf64_Dyn *dyn(void) { return (Elf64_Dyn *)(file + OFF_DYN); }
static Elf64_Rela *rela(void) { return (Elf64_Rela *)(file + OFF_RELA); }

/* A minimal static PIE: one load segment with .bss, a dynamic section, two relocations. */
static int build(void **state)
{
	(void)state;
	memset(file, 0, sizeof(file));
	memcpy(eh()->e_ident, ELFMAG, SELFMAG);
	eh()->e_ident[EI_CLASS] = ELFCLASS64;
	eh()->e_ident[EI_DATA] = ELFDATA2LSB;
	eh()->e_type = ET_DYN;
	eh()->e_machine = EM_X86_64;
	eh()->e_entry = 0x100;
	eh()->e_phoff = sizeof(Elf64_Ehdr);
	eh()->e_phentsize = sizeof(Elf64_Phdr);
	eh()->e_phnum = 2;
	*ph(0) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_filesz = FILE_SIZE, .p_memsz = FILE_SIZE + BSS };
	*ph(1) = (Elf64_Phdr){ .p_type = PT_DYNAMIC, .p_offset = OFF_DYN, .p_vaddr = OFF_DYN,
			       .p_filesz = 4 * sizeof(Elf64_Dyn), .p_memsz = 4 * sizeof(Elf64_Dyn) };
	dyn()[0] = (Elf64_Dyn){ DT_RELA, { OFF_RELA } };
	dyn()[1] = (Elf64_Dyn){ DT_RELASZ, { 2 * sizeof(Elf64_Rela) } };
	dyn()[2] = (Elf64_Dyn){ DT_RELAENT, { sizeof(Elf64_Rela) } };
	rela()[0] = (Elf64_Rela){ OFF_TARGET, ELF64_R_INFO(0, R_X86_64_RELATIVE), 0x123 };
	rela()[1] = (Elf64_Rela){ OFF_TARGET + 8, ELF64_R_INFO(0, R_X86_64_RELATIVE), 0x10 };
	file[0x100] = 0xc3;
	return 0;
}

static const char *place(uint8_t **dest)
{
	struct elf_image img;
	const char *err = elf_check(file, sizeof(file), &img);

	if (err)
		return err;
	*dest = aligned_alloc(4096, img.span);
	memset(*dest, 0xee, img.span);
	return elf_place(file, &img, *dest);
}

static void good_image_is_placed_and_relocated(void **state)
{
	struct elf_image img;
	uint8_t *dest = NULL;
	uint64_t v, i;

	(void)state;
	assert_null(elf_check(file, sizeof(file), &img));
	assert_int_equal(img.span, 0x3000);
	assert_int_equal(img.entry, 0x100);
	assert_null(place(&dest));
	assert_int_equal(dest[0x100], 0xc3);
	memcpy(&v, dest + OFF_TARGET, 8);
	assert_int_equal(v, (uint64_t)(uintptr_t)dest + 0x123);
	memcpy(&v, dest + OFF_TARGET + 8, 8);
	assert_int_equal(v, (uint64_t)(uintptr_t)dest + 0x10);
	for (i = FILE_SIZE; i < img.span; i++)
		assert_int_equal(dest[i], 0); /* .bss and the page's tail are zeroed */
	free(dest);
}

static void expect_refused(const char *fragment)
{
	uint8_t *dest = NULL;
	const char *err = place(&dest);

	free(dest);
	if (!err || !strstr(err, fragment))
		fail_msg("expected a refusal containing '%s', got '%s'", fragment, err ? err : "(accepted)");
}

static void damaged_headers_are_refused(void **state)
{
	(void)state;
	file[1] = 'X';
	expect_refused("not an ELF file");
	build(NULL);
	eh()->e_ident[EI_CLASS] = ELFCLASS32;
	expect_refused("ELF64");
	build(NULL);
	eh()->e_machine = EM_AARCH64;
	expect_refused("x86-64");
	build(NULL);
	eh()->e_type = ET_REL;
	expect_refused("neither an executable");
	build(NULL);
	ph(0)->p_vaddr = 0x1000;
	expect_refused("not linked at 0");
	build(NULL);
	eh()->e_phoff = FILE_SIZE - 8;
	expect_refused("program headers lie outside");
	build(NULL);
	eh()->e_phoff = UINT64_MAX - 8;
	expect_refused("program headers lie outside");
	build(NULL);
	eh()->e_phnum = 0;
	expect_refused("program header");
	build(NULL);
	eh()->e_entry = 0x3000;
	expect_refused("entry point");
}

static void damaged_segments_are_refused(void **state)
{
	(void)state;
	ph(0)->p_filesz = ph(0)->p_memsz + 1;
	expect_refused("file size exceeds");
	build(NULL);
	ph(0)->p_offset = 8;
	expect_refused("outside the file");
	build(NULL);
	ph(0)->p_vaddr = UINT64_MAX - 0x100;
	expect_refused("outside the allowed image size");
	build(NULL);
	ph(0)->p_memsz = ELF_IMAGE_MAX + 1;
	expect_refused("outside the allowed image size");
	build(NULL);
	eh()->e_type = ET_EXEC;
	ph(1)->p_type = PT_LOAD;
	ph(1)->p_vaddr = ELF_IMAGE_MAX;
	expect_refused("outside the allowed image size");
	build(NULL);
	ph(0)->p_type = PT_NOTE;
	expect_refused("no loadable segment");
}

static void damaged_relocations_are_refused(void **state)
{
	(void)state;
	rela()[1].r_info = ELF64_R_INFO(1, R_X86_64_64);
	expect_refused("unsupported relocation type");
	build(NULL);
	rela()[1].r_offset = 0x3000 - 4;
	expect_refused("relocation target outside");
	build(NULL);
	dyn()[0].d_un.d_ptr = 0x2ff8;
	expect_refused("relocation table outside");
	build(NULL);
	dyn()[1].d_un.d_val = UINT64_MAX - 7;
	expect_refused("relocation table outside");
	build(NULL);
	dyn()[2].d_un.d_val = 16;
	expect_refused("relocation entry size");
	build(NULL);
	ph(1)->p_vaddr = 0x2ff0;
	expect_refused("dynamic section outside");
	build(NULL);
	dyn()[2].d_tag = DT_JMPREL;
	expect_refused("only RELA RELATIVE");
}

/* An executable linked at 1 MiB: placed by offset from its base, not relocated. */
static void fixed_image_is_placed_at_its_base(void **state)
{
	struct elf_image img;
	uint8_t *dest;
	uint64_t v;

	(void)state;
	eh()->e_type = ET_EXEC;
	ph(0)->p_vaddr = 0x100000;
	ph(1)->p_vaddr += 0x100000;
	eh()->e_entry = 0x100100;
	assert_null(elf_check(file, sizeof(file), &img));
	assert_int_equal(img.base, 0x100000);
	assert_int_equal(img.entry, 0x100);
	assert_false(img.relocatable);
	dest = aligned_alloc(4096, img.span);
	assert_null(elf_place(file, &img, dest));
	assert_int_equal(dest[0x100], 0xc3);
	memcpy(&v, dest + OFF_TARGET, 8);
	assert_int_equal(v, 0); /* not relocated */
	free(dest);
}

static void every_truncation_is_refused(void **state)
{
	struct elf_image img;
	uint64_t size;

	(void)state;
	for (size = 0; size < FILE_SIZE; size++)
		assert_non_null(elf_check(file, size, &img));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(good_image_is_placed_and_relocated, build),
		cmocka_unit_test_setup(damaged_headers_are_refused, build),
		cmocka_unit_test_setup(damaged_segments_are_refused, build),
		cmocka_unit_test_setup(damaged_relocations_are_refused, build),
		cmocka_unit_test_setup(fixed_image_is_placed_at_its_base, build),
		cmocka_unit_test_setup(every_truncation_is_refused, build),
	};

	return cmocka_run_group_tests_name("elf_load", tests, NULL, NULL);
}
