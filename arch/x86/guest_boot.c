#include "guest_boot.h"

#include "control_regs.h"
#include "lib/le.h"
#include "lib/str.h"
#include "vdev/platform.h"

/* Guest-physical layout below 1 MiB (the same places other VMMs use). */
#define GDT_GPA 0x500ull
#define BOOT_PARAMS_GPA 0x7000ull
#define PML4_GPA 0x9000ull
#define PDPT_GPA 0xa000ull
#define PD_GPA 0xb000ull /* four page directories: the first 4 GiB */
#define CMDLINE_GPA 0x20000ull
#define CMDLINE_MAX 0x10000ull
#define LOW_RAM_END 0x9fc00ull /* below it: conventional memory for the e820 map */

/* The setup header an ELF kernel lacks, in its boot_params (Documentation/arch/x86/boot.rst). */
#define BP_HDR_BOOT_FLAG 0x1fe
#define BP_HDR_HEADER 0x202
#define BP_HDR_VERSION 0x206
#define BP_HDR_CMDLINE_SIZE 0x238

#define PTE_P 1ull
#define PTE_RW 2ull
#define PTE_PS 0x80ull

static void write_gdt(uint8_t *ram)
{
	put_le64(ram + GDT_GPA + 0x00, 0);
	put_le64(ram + GDT_GPA + 0x08, 0);
	put_le64(ram + GDT_GPA + 0x10, 0x00af9b000000ffffull); /* 64-bit code, accessed */
	put_le64(ram + GDT_GPA + 0x18, 0x00cf93000000ffffull); /* data, accessed */
}

/* An identity map of the first 4 GiB with 2 MiB pages. */
static void write_page_tables(uint8_t *ram)
{
	uint64_t i;

	put_le64(ram + PML4_GPA, PDPT_GPA | PTE_P | PTE_RW);
	for (i = 0; i < 4; i++)
		put_le64(ram + PDPT_GPA + i * 8, (PD_GPA + i * 0x1000) | PTE_P | PTE_RW);
	for (i = 0; i < 4 * 512; i++)
		put_le64(ram + PD_GPA + i * 8, (i << 21) | PTE_P | PTE_RW | PTE_PS);
}

/*
 * RAM, the ACPI tables' area (type 3: the guest may reclaim it once it has
 * read them) and the PCI configuration space (reserved: Linux takes the
 * MCFG's ECAM only where the map reserves it).
 */
unsigned guest_boot_e820(uint64_t ram_size, struct e820_entry *map)
{
	unsigned n = 0;

	map[n++] = (struct e820_entry){ 0, LOW_RAM_END, E820_RAM };
	map[n++] = (struct e820_entry){ PLATFORM_BIOS_BASE, PLATFORM_BIOS_SIZE, E820_ACPI };
	if (platform_low_ram(ram_size) > GUEST_KERNEL_MIN)
		map[n++] = (struct e820_entry){ GUEST_KERNEL_MIN, platform_low_ram(ram_size) - GUEST_KERNEL_MIN,
						E820_RAM };
	map[n++] = (struct e820_entry){ PLATFORM_ECAM_BASE, PLATFORM_ECAM_BUSES * (1ull << 20), E820_RESERVED };
	if (platform_high_ram(ram_size))
		map[n++] = (struct e820_entry){ PLATFORM_HIGH_RAM_BASE, platform_high_ram(ram_size), E820_RAM };
	return n;
}

/* What the loader tells every kernel: the command line where write_boot_state put it, the e820 map, the RSDP. */
static struct boot_params_loader loader_fields(uint64_t ram_size, uint64_t rsdp, struct e820_entry *map)
{
	return (struct boot_params_loader){ .cmdline = CMDLINE_GPA, .e820 = map,
					    .e820_entries = guest_boot_e820(ram_size, map), .acpi_rsdp = rsdp };
}

/* An ELF kernel has no setup header: boot_params gets the fields a kernel looks for. */
static void write_boot_params(uint8_t *ram, uint64_t ram_size, uint64_t rsdp, uint32_t cmdline_len)
{
	uint8_t *bp = ram + BOOT_PARAMS_GPA;
	struct e820_entry map[GUEST_E820_MAX];
	struct boot_params_loader f = loader_fields(ram_size, rsdp, map);

	put_le16(bp + BP_HDR_BOOT_FLAG, 0xaa55);
	put_le32(bp + BP_HDR_HEADER, 0x53726448); /* "HdrS" */
	put_le16(bp + BP_HDR_VERSION, 0x020f);
	put_le32(bp + BP_HDR_CMDLINE_SIZE, cmdline_len);
	boot_params_fill(bp, &f);
}

uint64_t guest_boot_cr0(enum vcpu_boot_mode mode)
{
	return mode == BOOT_LONG ? CR0_BOOT : mode == BOOT_PROTECTED ? CR0_ET | CR0_PE : CR0_ET;
}

void guest_boot_registers(struct vcpu *v, const struct vcpu_boot *boot)
{
	unsigned i;

	for (i = 0; i < REG_GPRS; i++)
		v->gprs[i] = 0;
	v->gprs[REG_RAX] = boot->rax;
	v->gprs[REG_RBX] = boot->rbx;
	v->gprs[REG_RSI] = boot->rsi;
	v->gprs[REG_RSP] = boot->rsp;
}

/* GDT, page tables and command line below 1 MiB, and the vCPU's state at entry (RSI: boot_params). */
static void write_boot_state(uint8_t *ram, const char *cmdline, size_t len, uint64_t entry,
			     struct vcpu_boot *boot)
{
	write_gdt(ram);
	write_page_tables(ram);
	str_copy((char *)ram + CMDLINE_GPA, CMDLINE_MAX, cmdline, len);
	*boot = (struct vcpu_boot){
		.rip = entry,
		.rsi = BOOT_PARAMS_GPA,
		.cr3 = PML4_GPA,
		.gdt_base = GDT_GPA,
		.gdt_limit = 0x1f,
		.code_selector = 0x10,
		.data_selector = 0x18,
	};
}

int guest_boot_setup(uint8_t *ram, uint64_t ram_size, const char *cmdline, uint64_t entry, uint64_t rsdp,
		     struct vcpu_boot *boot)
{
	size_t len = str_len(cmdline);

	if (len >= CMDLINE_MAX || ram_size <= GUEST_KERNEL_MIN)
		return -1;
	write_boot_state(ram, cmdline, len, entry, boot);
	write_boot_params(ram, ram_size, rsdp, (uint32_t)len);
	return 0;
}

/*
 * What the loader writes made ready: the boot structures' first MiB, then
 * the kernel and the initrd, which it copies in whole (bzimage_load); 1,
 * or 0.
 */
static int written_ready(const struct guest_bzimage *k, const struct bzimage_layout *l)
{
	if (!k->ready)
		return 1;
	return !k->ready(k->ctx, 0, GUEST_KERNEL_MIN) && !k->overwritten(k->ctx, l->kernel, k->img->kernel_size) &&
	       (!l->initrd_size || !k->overwritten(k->ctx, l->initrd, l->initrd_size));
}

const char *guest_boot_bzimage(uint8_t *ram, uint64_t ram_size, const struct guest_bzimage *k,
			       struct bzimage_layout *l, struct vcpu_boot *boot)
{
	struct e820_entry map[GUEST_E820_MAX];
	struct boot_params_loader f = loader_fields(ram_size, k->rsdp, map);
	size_t len = str_len(k->cmdline);
	const char *why;

	if (len >= CMDLINE_MAX)
		return "the command line does not fit below 1 MiB";
	why = bzimage_place(k->img, map, f.e820_entries, k->initrd_size, len, l);
	if (!why && !written_ready(k, l))
		why = "no memory to make its first MiB, kernel and initrd ready";
	if (!why)
		why = bzimage_load(ram, ram_size, k->file, k->img, l, k->initrd);
	if (why)
		return why;
	write_boot_state(ram, k->cmdline, len, l->kernel + BZIMAGE_ENTRY_64, boot);
	f.initrd = l->initrd;
	f.initrd_size = l->initrd_size;
	bzimage_boot_params(ram + BOOT_PARAMS_GPA, k->file, k->img, l, &f);
	return 0;
}
