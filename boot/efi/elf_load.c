#include "elf_load.h"

#include <elf.h>
#include <stddef.h>

static int range_in(uint64_t off, uint64_t len, uint64_t limit)
{
	return off <= limit && len <= limit - off;
}

static const Elf64_Phdr *phdr(const uint8_t *file, unsigned i)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file;
	return (const Elf64_Phdr *)(file + eh->e_phoff + (uint64_t)i * sizeof(Elf64_Phdr));
}

static const char *check_header(const uint8_t *file, uint64_t size)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file;

	if (size < sizeof(*eh))
		return "file shorter than an ELF header";
	if (eh->e_ident[EI_MAG0] != ELFMAG0 || eh->e_ident[EI_MAG1] != ELFMAG1 ||
	    eh->e_ident[EI_MAG2] != ELFMAG2 || eh->e_ident[EI_MAG3] != ELFMAG3)
		return "not an ELF file";
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return "not a little-endian ELF64 file";
	if (eh->e_machine != EM_X86_64)
		return "not an x86-64 image";
	if (eh->e_type != ET_DYN && eh->e_type != ET_EXEC)
		return "neither an executable nor a position-independent image";
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0)
		return "bad program header size or count";
	if (!range_in(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), size))
		return "program headers lie outside the file";
	return NULL;
}

static const char *check_segment(const Elf64_Phdr *ph, uint64_t size, uint64_t *low, uint64_t *high)
{
	if (ph->p_filesz > ph->p_memsz)
		return "segment file size exceeds its memory size";
	if (!range_in(ph->p_offset, ph->p_filesz, size))
		return "segment data lies outside the file";
	if (ph->p_memsz > UINT64_MAX - ph->p_vaddr)
		return "segment lies outside the allowed image size";
	if (ph->p_vaddr < *low)
		*low = ph->p_vaddr & ~0xfffull;
	if (ph->p_vaddr + ph->p_memsz > *high)
		*high = ph->p_vaddr + ph->p_memsz;
	return NULL;
}

const char *elf_check(const uint8_t *file, uint64_t size, struct elf_image *img)
{
	const char *err = check_header(file, size);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file;
	uint64_t low = UINT64_MAX, high = 0;
	unsigned i;

	if (err)
		return err;
	for (i = 0; i < eh->e_phnum; i++) {
		if (phdr(file, i)->p_type != PT_LOAD)
			continue;
		err = check_segment(phdr(file, i), size, &low, &high);
		if (err)
			return err;
	}
	if (high == 0)
		return "no loadable segment";
	if (eh->e_type == ET_DYN && low != 0)
		return "position-independent image not linked at 0";
	if (high - low > ELF_IMAGE_MAX)
		return "segments lie outside the allowed image size";
	if (eh->e_entry < low || eh->e_entry >= high)
		return "entry point outside the image";
	img->base = low;
	img->span = (high - low + 0xfff) & ~0xfffull;
	img->entry = eh->e_entry - low;
	img->relocatable = eh->e_type == ET_DYN;
	return NULL;
}

/* Finds DT_RELA/DT_RELASZ in the placed image's dynamic section. */
static const char *find_rela(const Elf64_Phdr *dyn, const struct elf_image *img,
			     const uint8_t *dest, uint64_t *rela, uint64_t *relasz)
{
	uint64_t n = dyn->p_memsz / sizeof(Elf64_Dyn), i;
	const Elf64_Dyn *d;

	if (!range_in(dyn->p_vaddr, dyn->p_memsz, img->span) || (dyn->p_vaddr & 7))
		return "dynamic section outside the image";
	d = (const Elf64_Dyn *)(dest + dyn->p_vaddr);
	for (i = 0; i < n && d[i].d_tag != DT_NULL; i++) {
		if (d[i].d_tag == DT_RELA)
			*rela = d[i].d_un.d_ptr;
		else if (d[i].d_tag == DT_RELASZ)
			*relasz = d[i].d_un.d_val;
		else if (d[i].d_tag == DT_RELAENT && d[i].d_un.d_val != sizeof(Elf64_Rela))
			return "unexpected relocation entry size";
		else if (d[i].d_tag == DT_REL || d[i].d_tag == DT_JMPREL)
			return "unsupported relocation table (only RELA RELATIVE)";
	}
	return NULL;
}

static const char *relocate(const Elf64_Phdr *dyn, const struct elf_image *img, uint8_t *dest)
{
	uint64_t rela = 0, relasz = 0, i;
	const char *err = find_rela(dyn, img, dest, &rela, &relasz);
	const Elf64_Rela *r;

	if (err)
		return err;
	if (!range_in(rela, relasz, img->span) || (rela & 7) || relasz % sizeof(Elf64_Rela))
		return "relocation table outside the image";
	r = (const Elf64_Rela *)(dest + rela);
	for (i = 0; i < relasz / sizeof(Elf64_Rela); i++) {
		if (ELF64_R_TYPE(r[i].r_info) != R_X86_64_RELATIVE)
			return "unsupported relocation type (only R_X86_64_RELATIVE)";
		if (!range_in(r[i].r_offset, 8, img->span))
			return "relocation target outside the image";
		*(uint64_t *)(dest + r[i].r_offset) = (uint64_t)(uintptr_t)dest + (uint64_t)r[i].r_addend;
	}
	return NULL;
}

const char *elf_place(const uint8_t *file, const struct elf_image *img, uint8_t *dest)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file;
	const Elf64_Phdr *dyn = NULL;
	uint64_t b;
	unsigned i;

	for (b = 0; b < img->span; b++)
		dest[b] = 0;
	for (i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = phdr(file, i);
		if (ph->p_type == PT_DYNAMIC)
			dyn = ph;
		if (ph->p_type != PT_LOAD)
			continue;
		for (b = 0; b < ph->p_filesz; b++)
			dest[ph->p_vaddr - img->base + b] = file[ph->p_offset + b];
	}
	if (!img->relocatable)
		return NULL; /* runs where it was linked: nothing to relocate */
	return dyn ? relocate(dyn, img, dest) : NULL;
}
