#include "guest_boot.h"

#include "control_regs.h"
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

/* boot_params fields (Documentation/arch/x86/zero-page.rst). */
#define BP_ACPI_RSDP_ADDR 0x070 /* boot protocol 2.14 */
#define BP_E820_ENTRIES 0x1e8
#define BP_HDR_BOOT_FLAG 0x1fe
#define BP_HDR_HEADER 0x202
#define BP_HDR_VERSION 0x206
#define BP_HDR_TYPE_OF_LOADER 0x210
#define BP_HDR_CMD_LINE_PTR 0x228
#define BP_HDR_CMDLINE_SIZE 0x238
#define BP_E820_TABLE 0x2d0
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
#define ECAM_SIZE (PLATFORM_ECAM_BUSES * (1ull << 20))

#define PTE_P 1ull
#define PTE_RW 2ull
#define PTE_PS 0x80ull

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static void write_gdt(uint8_t *ram)
{
	put64(ram + GDT_GPA + 0x00, 0);
	put64(ram + GDT_GPA + 0x08, 0);
	put64(ram + GDT_GPA + 0x10, 0x00af9b000000ffffull); /* 64-bit code, accessed */
	put64(ram + GDT_GPA + 0x18, 0x00cf93000000ffffull); /* data, accessed */
}

/* An identity map of the first 4 GiB with 2 MiB pages. */
static void write_page_tables(uint8_t *ram)
{
	uint64_t i;

	put64(ram + PML4_GPA, PDPT_GPA | PTE_P | PTE_RW);
	for (i = 0; i < 4; i++)
		put64(ram + PDPT_GPA + i * 8, (PD_GPA + i * 0x1000) | PTE_P | PTE_RW);
	for (i = 0; i < 4 * 512; i++)
		put64(ram + PD_GPA + i * 8, (i << 21) | PTE_P | PTE_RW | PTE_PS);
}

static void add_e820(uint8_t *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	uint8_t n = bp[BP_E820_ENTRIES];
	uint8_t *e = bp + BP_E820_TABLE + n * 20;

	put64(e, addr);
	put64(e + 8, size);
	put32(e + 16, type);
	bp[BP_E820_ENTRIES] = (uint8_t)(n + 1);
}

static void write_boot_params(uint8_t *ram, uint64_t ram_size, uint32_t cmdline_len)
{
	uint8_t *bp = ram + BOOT_PARAMS_GPA;

	put16(bp + BP_HDR_BOOT_FLAG, 0xaa55);
	put32(bp + BP_HDR_HEADER, 0x53726448); /* "HdrS" */
	put16(bp + BP_HDR_VERSION, 0x020f);
	bp[BP_HDR_TYPE_OF_LOADER] = 0xff;      /* undefined loader */
	put32(bp + BP_HDR_CMD_LINE_PTR, (uint32_t)CMDLINE_GPA);
	put32(bp + BP_HDR_CMDLINE_SIZE, cmdline_len);
	add_e820(bp, 0, LOW_RAM_END, E820_RAM);
	add_e820(bp, PLATFORM_BIOS_BASE, PLATFORM_BIOS_SIZE, E820_ACPI); /* the ACPI tables */
	add_e820(bp, GUEST_KERNEL_MIN, platform_low_ram(ram_size) - GUEST_KERNEL_MIN, E820_RAM);
	add_e820(bp, PLATFORM_ECAM_BASE, ECAM_SIZE, E820_RESERVED); /* so that Linux takes the MCFG's ECAM */
	if (platform_high_ram(ram_size))
		add_e820(bp, PLATFORM_HIGH_RAM_BASE, platform_high_ram(ram_size), E820_RAM);
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

int guest_boot_setup(uint8_t *ram, uint64_t ram_size, const char *cmdline, uint64_t entry,
		     struct vcpu_boot *boot)
{
	size_t len = str_len(cmdline);

	if (len >= CMDLINE_MAX || ram_size <= GUEST_KERNEL_MIN)
		return -1;
	write_gdt(ram);
	write_page_tables(ram);
	str_copy((char *)ram + CMDLINE_GPA, CMDLINE_MAX, cmdline, len);
	write_boot_params(ram, ram_size, (uint32_t)len);
	*boot = (struct vcpu_boot){
		.rip = entry,
		.rsi = BOOT_PARAMS_GPA,
		.cr3 = PML4_GPA,
		.gdt_base = GDT_GPA,
		.gdt_limit = 0x1f,
		.code_selector = 0x10,
		.data_selector = 0x18,
	};
	return 0;
}

void guest_boot_set_rsdp(uint8_t *ram, uint64_t rsdp)
{
	put64(ram + BOOT_PARAMS_GPA + BP_ACPI_RSDP_ADDR, rsdp);
}
