#include "gpt.h"

#define ENTRIES 512
#define ADDR_MASK 0x000ffffffffff000ull
#define LEVELS 4
#define VA_LIMIT (1ull << 48)

/* ---- entry formats ---------------------------------------------------- */

/* EPT: bits 0-2 read/write/execute, 3-5 memory type (6 WB, 0 UC), 7 large. */
static uint64_t ept_leaf(uint64_t addr, unsigned perms, enum gpt_memtype type, int large)
{
	return addr | (perms & GPT_RWX) | ((type == GPT_MEM_WB ? 6ull : 0ull) << 3) |
	       (large ? 1ull << 7 : 0);
}

static unsigned ept_perms(uint64_t e)
{
	return (unsigned)(e & GPT_RWX);
}

static enum gpt_memtype ept_type(uint64_t e)
{
	return ((e >> 3) & 7) == 6 ? GPT_MEM_WB : GPT_MEM_UC;
}

/*
 * Nested (and guest) page tables use the x86-64 format: P, R/W, U/S, PWT,
 * PCD, PS, NX. Nested walks count as user accesses (APM Vol. 2, 15.25.5),
 * so U/S is set everywhere. UC is PAT index 3 (PCD and PWT set).
 */
static uint64_t npt_leaf(uint64_t addr, unsigned perms, enum gpt_memtype type, int large)
{
	if (!(perms & GPT_READ))
		return 0; /* the format cannot express a mapping without read */
	return addr | 1 | (perms & GPT_WRITE ? 2 : 0) | 4 | (type == GPT_MEM_UC ? 0x18 : 0) |
	       (large ? 1ull << 7 : 0) | (perms & GPT_EXEC ? 0 : 1ull << 63);
}

static unsigned x86_perms(uint64_t e)
{
	if (!(e & 1))
		return 0;
	return GPT_READ | (e & 2 ? GPT_WRITE : 0) | (e >> 63 ? 0 : GPT_EXEC);
}

static enum gpt_memtype x86_type(uint64_t e)
{
	return (e & 0x18) == 0x18 ? GPT_MEM_UC : GPT_MEM_WB;
}

const struct gpt_format gpt_format_ept = { "EPT", ept_leaf, 0x7, ept_perms, ept_type, 1ull << 7 };
const struct gpt_format gpt_format_npt = { "NPT", npt_leaf, 0x7, x86_perms, x86_type, 1ull << 7 };

/* ---- helpers ---------------------------------------------------------- */

static uint64_t level_size(int level)
{
	return GPT_4K << (9 * level); /* level 0: 4 KiB ... level 3: 512 GiB */
}

static unsigned index_at(uint64_t addr, int level)
{
	return (unsigned)(addr >> (12 + 9 * level)) & (ENTRIES - 1);
}

static uint64_t *table_at(const struct gpt *t, uint64_t pa)
{
	return t->mem->ptr(t->mem->ctx, pa & ADDR_MASK);
}

static int is_leaf(const struct gpt *t, uint64_t e, int level)
{
	return level == 0 || (level <= 2 && (e & t->fmt->large));
}

static uint64_t new_table(struct gpt *t)
{
	uint64_t pa = 0;

	return t->mem->alloc(t->mem->ctx, &pa) ? pa : 0;
}

int gpt_init(struct gpt *t, const struct gpt_format *fmt, const struct gpt_memory *mem,
	     uint64_t page_sizes)
{
	t->fmt = fmt;
	t->mem = mem;
	t->page_sizes = page_sizes & (GPT_2M | GPT_1G);
	t->root = new_table(t);
	return t->root ? 0 : -1;
}

static void free_tree(struct gpt *t, uint64_t pa, int level)
{
	uint64_t *table = table_at(t, pa);
	unsigned i;

	for (i = 0; level > 0 && i < ENTRIES; i++)
		if (t->fmt->perms(table[i]) && !is_leaf(t, table[i], level))
			free_tree(t, table[i] & ADDR_MASK, level - 1);
	t->mem->free(t->mem->ctx, pa);
}

void gpt_destroy(struct gpt *t)
{
	if (t->root)
		free_tree(t, t->root, LEVELS - 1);
	t->root = 0;
}

/*
 * The walk of addr (below VA_LIMIT): its leaf entry, or 0 where an entry on
 * the way is not present; *level is where the walk stopped, *perms what
 * every entry on the way allows.
 */
static uint64_t walk(const struct gpt *t, uint64_t addr, int *level, unsigned *perms)
{
	uint64_t *table = table_at(t, t->root), e;

	for (*level = LEVELS - 1, *perms = GPT_RWX;; --*level, table = table_at(t, e)) {
		e = table[index_at(addr, *level)];
		*perms &= t->fmt->perms(e);
		if (!t->fmt->perms(e))
			return 0;
		if (is_leaf(t, e, *level))
			return e;
	}
}

/* ---- map -------------------------------------------------------------- */

/* The largest leaf level usable at gpa/hpa for at most size bytes. */
static int leaf_level(const struct gpt *t, uint64_t gpa, uint64_t hpa, uint64_t size)
{
	int level;

	for (level = 2; level > 0; level--) {
		uint64_t s = level_size(level);
		if ((t->page_sizes & s) && !((gpa | hpa) & (s - 1)) && size >= s)
			return level;
	}
	return 0;
}

/*
 * Is any part of [gpa, gpa+size) mapped? A not-present entry at a level
 * leaves that level's whole span unmapped: the scan skips it, so a chunk of
 * 2 MiB costs a walk or two, not one per 4 KiB page.
 */
static int any_mapped(const struct gpt *t, uint64_t gpa, uint64_t size)
{
	uint64_t end = gpa + size, span;
	unsigned perms;
	int level;

	for (; gpa < end; gpa = (gpa & ~(span - 1)) + span) {
		if (walk(t, gpa, &level, &perms))
			return 1;
		span = level_size(level);
	}
	return 0;
}

/* The table below entry e at level, allocating it if absent; NULL on failure. */
static uint64_t *descend(struct gpt *t, uint64_t *e)
{
	uint64_t pa;

	if (!t->fmt->perms(*e)) {
		pa = new_table(t);
		if (!pa)
			return 0;
		*e = pa | t->fmt->table;
	}
	return table_at(t, *e);
}

static int map_one(struct gpt *t, uint64_t gpa, uint64_t hpa, int leaf, unsigned perms,
		   enum gpt_memtype type)
{
	uint64_t *table = table_at(t, t->root);
	int level;

	for (level = LEVELS - 1; level > leaf; level--) {
		table = descend(t, &table[index_at(gpa, level)]);
		if (!table)
			return -1;
	}
	table[index_at(gpa, leaf)] = t->fmt->leaf(hpa, perms, type, leaf > 0);
	return 0;
}

int gpt_map(struct gpt *t, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned perms,
	    enum gpt_memtype type)
{
	uint64_t done = 0;
	int leaf;

	if (((gpa | hpa | size) & (GPT_4K - 1)) || size == 0 || gpa >= VA_LIMIT ||
	    size > VA_LIMIT - gpa || hpa > ADDR_MASK - size + 1 || !t->fmt->leaf(0, perms, type, 0))
		return -1;
	if (any_mapped(t, gpa, size))
		return -1;
	while (done < size) {
		leaf = leaf_level(t, gpa + done, hpa + done, size - done);
		if (map_one(t, gpa + done, hpa + done, leaf, perms, type)) {
			gpt_unmap(t, gpa, done);
			return -1;
		}
		done += level_size(leaf);
	}
	return 0;
}

/* ---- unmap ------------------------------------------------------------ */

/* Replaces a large leaf by a table of the next level down mapping the same. */
static int split(struct gpt *t, uint64_t *e, int level)
{
	uint64_t pa = new_table(t), base = *e & ADDR_MASK & ~(level_size(level) - 1);
	unsigned perms = t->fmt->perms(*e), i;
	enum gpt_memtype type = t->fmt->type(*e);
	uint64_t *table;

	if (!pa)
		return -1;
	table = table_at(t, pa);
	for (i = 0; i < ENTRIES; i++)
		table[i] = t->fmt->leaf(base + i * level_size(level - 1), perms, type, level - 1 > 0);
	*e = pa | t->fmt->table;
	return 0;
}

static int unmap_range(struct gpt *t, uint64_t table_pa, int level, uint64_t gpa, uint64_t end)
{
	uint64_t *table = table_at(t, table_pa);

	while (gpa < end) {
		uint64_t size = level_size(level), next = (gpa & ~(size - 1)) + size;
		uint64_t *e = &table[index_at(gpa, level)];
		uint64_t stop = next < end ? next : end;

		if (t->fmt->perms(*e)) {
			int whole = !(gpa & (size - 1)) && stop == next;
			if (is_leaf(t, *e, level) && whole)
				*e = 0;
			else if (is_leaf(t, *e, level) && split(t, e, level))
				return -1;
			if (*e && unmap_range(t, *e & ADDR_MASK, level - 1, gpa, stop))
				return -1;
		}
		gpa = next;
	}
	return 0;
}

int gpt_unmap(struct gpt *t, uint64_t gpa, uint64_t size)
{
	if (((gpa | size) & (GPT_4K - 1)) || gpa >= VA_LIMIT || size > VA_LIMIT - gpa)
		return -1;
	return size ? unmap_range(t, t->root, LEVELS - 1, gpa, gpa + size) : 0;
}

/* ---- walk ------------------------------------------------------------- */

int gpt_translate(const struct gpt *t, uint64_t addr, struct gpt_walk *w)
{
	unsigned perms;
	uint64_t e;
	int level;

	if (addr >= VA_LIMIT)
		return -1;
	e = walk(t, addr, &level, &perms);
	if (!e)
		return -1;
	w->page_size = level_size(level);
	w->pa = (e & ADDR_MASK & ~(w->page_size - 1)) | (addr & (w->page_size - 1));
	w->perms = perms;
	return 0;
}
