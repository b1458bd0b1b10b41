/*
 * Decoded exits in the modes a hypervisor that decodes instruction lengths
 * itself (AMD-V without NRIP save) must read the guest's code in: at a
 * kernel-half address, where Linux runs, and in compatibility-mode code
 * segments whose base is not zero (Intel SDM Vol. 3A, 3.4 and 5.2), with
 * 32-bit and with 16-bit default sizes. Each must resume at the next
 * instruction with the hypervisor's result, also after the code's page was
 * remapped between two exits (a hypervisor that kept the old translation
 * would step by the old instruction's length).
 */
#include <stdint.h>

#include "selftest.h"

#define KERNEL_HALF 0xffff800000000000ull /* PML4 entry 256 */
#define PML4_KERNEL_HALF 256
#define HV_LEAF 0x40000000 /* answered by the hypervisor itself */
#define GDT_ENTRIES 16

/* Code segment descriptor flags (SDM Vol. 3A, 3.4.5): G, D/B. */
#define DESC_G 0x8u
#define DESC_DB 0x4u

struct __attribute__((packed)) far_pointer {
	uint32_t offset;
	uint16_t selector;
};

struct __attribute__((packed)) table_register {
	uint16_t limit;
	uint64_t base;
};

/* modes_code.asm */
uint64_t decoded_exits(uint32_t leaf, uint32_t regs[4], uint64_t *efer);
uint32_t far_cpuid(const struct far_pointer *to, uint32_t leaf, uint32_t regs[4]);
extern const uint8_t compat_eip[], compat32_code[], compat16_code[];
extern const uint32_t compat_resumed;

static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));

static int same_regs(const uint32_t a[4], const uint32_t b[4])
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static void load_cr3(uint64_t cr3)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

/* The identity map aliased at the kernel half: the boot tables are identity-mapped guest RAM. */
static void check_kernel_half(void)
{
	uint64_t (*alias)(uint32_t, uint32_t *, uint64_t *) =
		(uint64_t (*)(uint32_t, uint32_t *, uint64_t *))((uintptr_t)decoded_exits + KERNEL_HALF);
	uint32_t low[4], high[4] = { 0 };
	uint64_t cr3, low_efer, high_efer = 0, ran_at;
	volatile uint64_t *pml4;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	pml4 = (volatile uint64_t *)(uintptr_t)(cr3 & ~0xfffull);
	pml4[PML4_KERNEL_HALF] = pml4[0];
	load_cr3(cr3);
	decoded_exits(HV_LEAF, low, &low_efer);
	ran_at = alias(HV_LEAF, high, &high_efer);
	pml4[PML4_KERNEL_HALF] = 0;
	load_cr3(cr3);
	report("kernel_half", ran_at >= KERNEL_HALF && same_regs(low, high) && low_efer == high_efer,
	       "ran_at=0x%llx cpuid_eax=0x%x want 0x%x efer=0x%llx want 0x%llx", (unsigned long long)ran_at,
	       high[0], low[0], (unsigned long long)high_efer, (unsigned long long)low_efer);
}

static uint64_t code_descriptor(uint32_t base, unsigned flags)
{
	return 0xffffull | (uint64_t)(base & 0xffffff) << 16 | 0x9bull << 40 | 0xfull << 48 |
	       (uint64_t)flags << 52 | (uint64_t)(base >> 24) << 56; /* limit 4 GiB, code, P, DPL 0 */
}

/* CPUID through a code segment whose CS.base + EIP is where the code is; returns its ESI. */
static uint32_t cpuid_in_segment(uint16_t selector, uint32_t regs[4])
{
	struct far_pointer to = { (uint32_t)(uintptr_t)compat_eip, selector };

	return far_cpuid(&to, HV_LEAF, regs);
}

/* Our own GDT: the boot GDT's entries, then a 32-bit and a 16-bit code segment with bases. */
static void check_compat_code(void)
{
	struct table_register boot_gdt, ours = { 0, (uint64_t)(uintptr_t)gdt };
	uint32_t base32 = (uint32_t)((uintptr_t)compat32_code - (uintptr_t)compat_eip);
	uint32_t base16 = (uint32_t)((uintptr_t)compat16_code - (uintptr_t)compat_eip);
	uint32_t native[4], r32[4] = { 0 }, r16[4] = { 0 }, esi32, esi16;
	uint64_t efer;
	unsigned n, i;

	__asm__ volatile("sgdt %0" : "=m"(boot_gdt));
	n = (boot_gdt.limit + 1u) / 8;
	if (n > GDT_ENTRIES - 2) {
		report("compat_code", 0, "the boot GDT has %u entries: no room for ours", n);
		return;
	}
	for (i = 0; i < n; i++)
		gdt[i] = ((const uint64_t *)(uintptr_t)boot_gdt.base)[i];
	gdt[n] = code_descriptor(base32, DESC_G | DESC_DB);
	gdt[n + 1] = code_descriptor(base16, DESC_G);
	ours.limit = (uint16_t)((n + 2) * 8 - 1);
	__asm__ volatile("lgdt %0" : : "m"(ours) : "memory");
	decoded_exits(HV_LEAF, native, &efer);
	esi32 = cpuid_in_segment((uint16_t)(n * 8), r32);
	esi16 = cpuid_in_segment((uint16_t)((n + 1) * 8), r16);
	__asm__ volatile("lgdt %0" : : "m"(boot_gdt) : "memory");
	report("compat_code", same_regs(native, r32) && same_regs(native, r16) && esi32 == compat_resumed &&
				      esi16 == compat_resumed,
	       "base32=0x%x base16=0x%x eip=0x%llx cpuid_eax=0x%x/0x%x want 0x%x resumed=0x%x/0x%x",
	       base32, base16, (unsigned long long)(uintptr_t)compat_eip, r32[0], r16[0], native[0], esi32,
	       esi16);
}

#define PTE_P 1ull
#define PTE_RW 2ull
#define BAD_RESUME 0xbad

/*
 * Two frames for one code page at KERNEL_HALF. Old: CPUID with an
 * operand-size prefix (3 bytes), RET. New: CPUID (2 bytes), RET, and at
 * offset 3, MOV EAX, BAD_RESUME; RET: where a step of 3 (the old
 * instruction's length) would land.
 */
static uint8_t old_code[4096] __attribute__((aligned(4096))) = { 0x66, 0x0f, 0xa2, 0xc3 };
static uint8_t new_code[4096] __attribute__((aligned(4096))) = { 0x0f, 0xa2, 0xc3, 0xb8, 0xad, 0x0b, 0, 0, 0xc3 };
static uint64_t remap_pdpt[512] __attribute__((aligned(4096)));
static uint64_t remap_pd[512] __attribute__((aligned(4096)));
static uint64_t remap_pt[512] __attribute__((aligned(4096)));

static uint32_t cpuid_eax_at(uint64_t code, uint32_t leaf)
{
	uint32_t eax = leaf, ecx = 0;

	__asm__ volatile("call *%2" : "+a"(eax), "+c"(ecx) : "r"(code) : "rbx", "rdx", "memory");
	return eax;
}

/* Maps page (its frame) alone at KERNEL_HALF, or (NULL) unmaps it, with the TLB flushed. */
static void map_kernel_half(const void *page)
{
	uint64_t cr3;
	volatile uint64_t *pml4;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	pml4 = (volatile uint64_t *)(uintptr_t)(cr3 & ~0xfffull);
	remap_pdpt[0] = (uint64_t)(uintptr_t)remap_pd | PTE_P | PTE_RW;
	remap_pd[0] = (uint64_t)(uintptr_t)remap_pt | PTE_P | PTE_RW;
	remap_pt[0] = (uint64_t)(uintptr_t)page | PTE_P | PTE_RW;
	pml4[PML4_KERNEL_HALF] = page ? (uint64_t)(uintptr_t)remap_pdpt | PTE_P | PTE_RW : 0;
	load_cr3(cr3);
}

static void check_remapped_code(void)
{
	uint32_t want[4], before, after;

	cpuid(0, want);
	map_kernel_half(old_code);
	before = cpuid_eax_at(KERNEL_HALF, 0);
	remap_pt[0] = (uint64_t)(uintptr_t)new_code | PTE_P | PTE_RW;
	__asm__ volatile("invlpg (%0)" : : "r"(KERNEL_HALF) : "memory"); /* no exit: the hypervisor is not told */
	after = cpuid_eax_at(KERNEL_HALF, 0);
	map_kernel_half(0);
	report("remapped_code", before == want[0] && after == want[0],
	       "cpuid eax 0x%x before the remap, 0x%x after (0x%x: resumed at the old length), want 0x%x", before,
	       after, BAD_RESUME, want[0]);
}

/*
 * One code page at KERNEL_HALF, rewritten in place between two CPUIDs at
 * the same address, its mapping unchanged: the old instruction's bytes,
 * then the new's over them (a JIT, a patched kernel). A hypervisor that
 * kept the old length for the address would resume the second at
 * BAD_RESUME.
 */
static uint8_t rewritten_code[4096] __attribute__((aligned(4096)));

static void check_rewritten_code(void)
{
	uint32_t want[4], before, after;
	unsigned i;

	cpuid(0, want);
	for (i = 0; i < sizeof(rewritten_code); i++)
		rewritten_code[i] = old_code[i];
	map_kernel_half(rewritten_code);
	before = cpuid_eax_at(KERNEL_HALF, 0);
	for (i = 0; i < sizeof(rewritten_code); i++)
		rewritten_code[i] = new_code[i];
	after = cpuid_eax_at(KERNEL_HALF, 0);
	map_kernel_half(0);
	report("rewritten_code", before == want[0] && after == want[0],
	       "cpuid eax 0x%x before the rewrite, 0x%x after (0x%x: resumed at the old length), want 0x%x", before,
	       after, BAD_RESUME, want[0]);
}

/*
 * The same for an MMIO read the hypervisor decodes and keeps decoded for
 * the next exit from its address: MOV EAX, [RDX]; RET, run twice, then
 * rewritten in place to MOV ECX, [RDX]; RET (one byte changed, the length
 * kept). A hypervisor that reused the old decoding would load EAX again.
 * RDX is the I/O APIC's window on its version register.
 */
static const uint8_t load_eax[] = { 0x8b, 0x02, 0xc3 };
static const uint8_t load_ecx[] = { 0x8b, 0x0a, 0xc3 };

/* EAX and ECX as the code at KERNEL_HALF leaves them, each BAD_RESUME before. */
static void mmio_load_at_kernel_half(uint32_t regs[2])
{
	uint32_t eax = BAD_RESUME, ecx = BAD_RESUME;

	__asm__ volatile("call *%2" : "+a"(eax), "+c"(ecx) : "r"(KERNEL_HALF), "d"(IOAPIC_BASE + IOAPIC_WINDOW)
			 : "memory");
	regs[0] = eax;
	regs[1] = ecx;
}

static void check_rewritten_mmio_code(void)
{
	uint32_t version, first[2], again[2], after[2];
	unsigned i;

	mmio_write32(IOAPIC_BASE, 1);
	version = mmio_read32(IOAPIC_BASE + IOAPIC_WINDOW);
	for (i = 0; i < sizeof(load_eax); i++)
		rewritten_code[i] = load_eax[i];
	map_kernel_half(rewritten_code);
	mmio_load_at_kernel_half(first);
	mmio_load_at_kernel_half(again);
	for (i = 0; i < sizeof(load_ecx); i++)
		rewritten_code[i] = load_ecx[i];
	mmio_load_at_kernel_half(after);
	map_kernel_half(0);
	mmio_write32(IOAPIC_BASE, 0); /* the ID register selected again, as the bench reads it */
	report("rewritten_mmio_code",
	       version != BAD_RESUME && first[0] == version && first[1] == BAD_RESUME && again[0] == version &&
		       again[1] == BAD_RESUME && after[0] == BAD_RESUME && after[1] == version,
	       "eax, ecx 0x%x, 0x%x then 0x%x, 0x%x, after the rewrite 0x%x, 0x%x; want 0x%x in eax twice, then in ecx",
	       first[0], first[1], again[0], again[1], after[0], after[1], version);
}

void check_modes(void)
{
	check_kernel_half();
	check_compat_code();
	check_remapped_code();
	check_rewritten_code();
	check_rewritten_mmio_code();
}
