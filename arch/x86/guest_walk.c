#include "guest_walk.h"

#define CR0_PE (1ull << 0)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define CR4_SMEP (1ull << 20)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define RFLAGS_VM (1ull << 17)

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_PS (1ull << 7)
#define PTE_XD (1ull << 63)
#define ADDR_64 0x000ffffffffff000ull /* bits 51:12: MAXPHYADDR is at most 52 */
#define ADDR_32 0xfffff000ull
#define PAGE_4K 0x1000ull

/* Level 0 maps 4 KiB pages; level n tables cover n more index fields. */
struct paging_format {
	unsigned levels;     /* tables in a walk */
	unsigned entry_size; /* bytes */
	unsigned index_bits; /* linear-address bits that index one table */
	uint64_t table_mask; /* the next table's address in an entry */
	unsigned large;      /* bit n: an entry of level n with PS set maps a page */
};

/* SDM Vol. 3A, 4.3 (32-bit), 4.4 (PAE: the top level holds the 4 PDPTEs), 4.5 (4- and 5-level). */
static const struct paging_format formats[] = {
	[GUEST_PAGING_32] = { 2, 4, 10, ADDR_32, 1u << 1 },
	[GUEST_PAGING_PAE] = { 3, 8, 9, ADDR_64, 1u << 1 },
	[GUEST_PAGING_4LEVEL] = { 4, 8, 9, ADDR_64, 1u << 1 | 1u << 2 },
	[GUEST_PAGING_5LEVEL] = { 5, 8, 9, ADDR_64, 1u << 1 | 1u << 2 },
};

enum guest_paging guest_paging_mode(const struct guest_mode *g)
{
	if (!(g->cr0 & CR0_PG))
		return GUEST_PAGING_NONE;
	if (!(g->cr4 & CR4_PAE))
		return GUEST_PAGING_32;
	if (!(g->efer & EFER_LMA))
		return GUEST_PAGING_PAE;
	return g->cr4 & CR4_LA57 ? GUEST_PAGING_5LEVEL : GUEST_PAGING_4LEVEL;
}

/* Bits 63:47 (63:56 with 5-level paging) copy the top translated bit (SDM Vol. 1, 3.3.7.1). */
static int canonical(uint64_t linear, unsigned bits)
{
	unsigned shift = 64 - bits;

	return (uint64_t)((int64_t)(linear << shift) >> shift) == linear;
}

static uint64_t root_table(enum guest_paging mode, uint64_t cr3)
{
	if (mode == GUEST_PAGING_32)
		return cr3 & ADDR_32;
	return mode == GUEST_PAGING_PAE ? cr3 & 0xffffffe0ull : cr3 & ADDR_64;
}

/*
 * Bits that must be zero in a present entry (SDM Vol. 3A, Tables 4-4 to
 * 4-20): XD without EFER.NXE, the PAE PDPTE's 2:1 and 8:5 (which also has
 * no XD), PS in a PML4E or PML5E, and a large page's bits below its address
 * (PAT at bit 12 excepted; a 4 MiB page's bit 21). Bits above MAXPHYADDR are
 * not checked: an address beyond the partition's RAM is refused anyway.
 */
static uint64_t reserved_bits(enum guest_paging mode, const struct guest_mode *g, unsigned level,
			      uint64_t entry, uint64_t page_size)
{
	uint64_t r = 0;

	if (mode == GUEST_PAGING_32)
		return page_size > PAGE_4K ? entry & 1ull << 21 : 0;
	if (!(g->efer & EFER_NXE))
		r |= PTE_XD;
	if (mode == GUEST_PAGING_PAE && level == 2)
		r |= PTE_XD | 0x1e6;
	if (level >= 3)
		r |= PTE_PS;
	if (page_size > PAGE_4K)
		r |= (page_size - 1) & ~0x1fffull;
	return entry & r;
}

/* A 4 MiB page's bits 39:32 are in bits 20:13 of its PDE (PSE-36, SDM Vol. 3A, 4.3). */
static uint64_t page_frame(const struct paging_format *f, uint64_t entry, uint64_t page_size)
{
	if (f->entry_size == 4 && page_size > PAGE_4K)
		return (entry & 0xffc00000ull) | ((entry >> 13) & 0xff) << 32;
	return entry & f->table_mask & ~(page_size - 1);
}

/* The I/D bit is reported only where execute-disable or SMEP is on (SDM Vol. 3A, 4.7). */
static enum guest_walk_result page_fault(const struct guest_mode *g, unsigned access, uint32_t cause,
					 struct guest_translation *t)
{
	int fetch_reported = (g->cr4 & CR4_SMEP) || ((g->cr4 & CR4_PAE) && (g->efer & EFER_NXE));

	t->pf_error = cause | (access & GUEST_ACCESS_WRITE ? PF_WRITE : 0) |
		      (access & GUEST_ACCESS_USER ? PF_USER : 0) |
		      (access & GUEST_ACCESS_FETCH && fetch_reported ? PF_FETCH : 0);
	return GUEST_WALK_PAGE_FAULT;
}

/*
 * SDM Vol. 3A, 4.6.1. SMEP and SMAP are not applied: a decoded
 * instruction was already fetched by the CPU, which applied them.
 */
static int access_allowed(const struct guest_mode *g, unsigned access, const struct guest_translation *t)
{
	int user = (access & GUEST_ACCESS_USER) != 0;

	if (user && !t->user)
		return 0;
	if ((access & GUEST_ACCESS_WRITE) && !t->writable && (user || (g->cr0 & CR0_WP)))
		return 0;
	return !((access & GUEST_ACCESS_FETCH) && t->no_execute);
}

/* The rights an entry grants; a PAE PDPTE has none of these bits. */
static void combine_rights(enum guest_paging mode, unsigned level, uint64_t entry, const struct guest_mode *g,
			   struct guest_translation *t)
{
	if (mode == GUEST_PAGING_PAE && level == 2)
		return;
	t->writable &= (entry & PTE_RW) != 0;
	t->user &= (entry & PTE_US) != 0;
	if (mode != GUEST_PAGING_32 && (g->efer & EFER_NXE))
		t->no_execute |= (entry & PTE_XD) != 0;
}

/*
 * The walk sets no accessed or dirty bits: it is a read-only look for
 * decoding, at code the CPU itself fetched, setting them as it went.
 */
static enum guest_walk_result walk(enum guest_paging mode, const struct guest_mode *g,
				   const struct guest_reader *mem, uint64_t linear, unsigned access,
				   struct guest_translation *t)
{
	const struct paging_format *f = &formats[mode];
	unsigned large = f->large & (mode == GUEST_PAGING_32 && !(g->cr4 & CR4_PSE) ? 0 : ~0u);
	uint64_t table = root_table(mode, g->cr3), entry;
	unsigned level = f->levels;

	while (level--) {
		unsigned shift = 12 + level * f->index_bits;
		uint64_t index = (linear >> shift) & ((1ull << f->index_bits) - 1);
		int leaf;

		if (mem->read(mem->ctx, table + index * f->entry_size, f->entry_size, &entry))
			return GUEST_WALK_OUTSIDE_RAM;
		if (!(entry & PTE_P))
			return page_fault(g, access, 0, t);
		leaf = level == 0 || ((large >> level & 1) && (entry & PTE_PS));
		t->page_size = leaf ? 1ull << shift : PAGE_4K;
		if (reserved_bits(mode, g, level, entry, t->page_size))
			return page_fault(g, access, PF_PRESENT | PF_RESERVED, t);
		combine_rights(mode, level, entry, g, t);
		if (leaf) {
			t->gpa = page_frame(f, entry, t->page_size) | (linear & (t->page_size - 1));
			break;
		}
		table = entry & f->table_mask;
	}
	return access_allowed(g, access, t) ? GUEST_WALK_OK : page_fault(g, access, PF_PRESENT, t);
}

enum guest_walk_result guest_translate(const struct guest_mode *g, const struct guest_reader *mem,
				       uint64_t linear, unsigned access, struct guest_translation *t)
{
	enum guest_paging mode = guest_paging_mode(g);

	*t = (struct guest_translation){ .writable = 1, .user = 1, .page_size = PAGE_4K };
	if (mode == GUEST_PAGING_4LEVEL || mode == GUEST_PAGING_5LEVEL) {
		if (!canonical(linear, mode == GUEST_PAGING_5LEVEL ? 57 : 48))
			return GUEST_WALK_NOT_CANONICAL;
	} else {
		linear = (uint32_t)linear;
	}
	if (mode == GUEST_PAGING_NONE) {
		t->gpa = linear;
		return GUEST_WALK_OK;
	}
	return walk(mode, g, mem, linear, access, t);
}

/*
 * SDM Vol. 3A, 3.4.4 and 5.2; APM Vol. 2, 4.5: in 64-bit mode the CS base
 * is 0; elsewhere linear = (CS.base + EIP) mod 2^32, and the default size
 * is CS.D's, but always 16 bits in real and virtual-8086 mode.
 */
enum cpu_mode guest_code_address(const struct guest_mode *g, uint64_t rip, uint64_t *linear)
{
	if ((g->efer & EFER_LMA) && g->cs_long) {
		*linear = rip;
		return MODE_64;
	}
	*linear = (uint32_t)(g->cs_base + (uint32_t)rip);
	if (!(g->cr0 & CR0_PE) || (g->rflags & RFLAGS_VM))
		return MODE_16;
	return g->cs_default32 ? MODE_32 : MODE_16;
}

/*
 * Outside 64-bit mode the instruction pointer is EIP, 32 bits, in 16-bit
 * code too: IP does not wrap at 64 KiB, code past a segment's limit
 * faults instead (SDM Vol. 3B, Architecture Compatibility, "Segment
 * Wraparound").
 */
uint64_t guest_rip_advance(enum cpu_mode mode, uint64_t rip, unsigned length)
{
	return mode == MODE_64 ? rip + length : (uint32_t)(rip + length);
}
