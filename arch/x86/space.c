#include "space.h"

#include "log.h"
#include "mm.h"

/* Pages for a byte per chunk of r. */
static uint64_t ready_pages(const struct space_ram *r)
{
	uint64_t chunks = (r->size + SPACE_CHUNK - 1) / SPACE_CHUNK;

	return (chunks + PAGE_SIZE - 1) / PAGE_SIZE;
}

static void *page_alloc(void *ctx, uint64_t *pa)
{
	(void)ctx;
	*pa = mm_alloc(1);
	return *pa ? mm_ptr(*pa) : 0;
}

static void page_free(void *ctx, uint64_t pa)
{
	(void)ctx;
	mm_free(pa, 1);
}

static void *host_ptr(void *ctx, uint64_t pa)
{
	(void)ctx;
	return mm_ptr(pa);
}

const struct gpt_memory space_memory = { page_alloc, page_free, host_ptr, 0 };

int space_init(struct guest_space *s, const struct gpt_format *fmt, uint64_t page_sizes)
{
	s->generation = 1; /* vCPUs start at 0: each flushes before its first run */
	s->ram_ranges = 0;
	s->fill_lock = (struct spinlock){ 0 };
	return gpt_init(&s->gpt, fmt, &space_memory, page_sizes);
}

void space_destroy(struct guest_space *s)
{
	unsigned i;

	for (i = 0; i < s->ram_ranges; i++)
		mm_free(s->ram[i].ready_pa, ready_pages(&s->ram[i]));
	s->ram_ranges = 0;
	gpt_destroy(&s->gpt);
}

int space_add_ram(struct guest_space *s, uint64_t gpa, uint64_t hpa, uint64_t size)
{
	struct space_ram *r = &s->ram[s->ram_ranges];

	if (s->ram_ranges == SPACE_RAM_RANGES || ((gpa | hpa) & (SPACE_CHUNK - 1)) || !size)
		return -1;
	*r = (struct space_ram){ .gpa = gpa, .hpa = hpa, .size = size };
	r->ready_pa = mm_alloc(ready_pages(r)); /* zeroed: no chunk ready */
	if (!r->ready_pa)
		return -1;
	r->ready = mm_ptr(r->ready_pa);
	s->ram_ranges++;
	return 0;
}

/* [at, end) of r's RAM zeroed, but for the bytes of [keep, keep_end) in it. */
static void zero_outside(const struct space_ram *r, uint64_t at, uint64_t end, uint64_t keep, uint64_t keep_end)
{
	uint64_t lo = keep < at ? at : keep > end ? end : keep;
	uint64_t hi = keep_end < lo ? lo : keep_end > end ? end : keep_end;

	mm_zero(r->hpa + at, lo - at);
	mm_zero(r->hpa + hi, end - hi);
}

/*
 * Chunk i of r zeroed (but for [keep, keep_end) of r, which the caller
 * overwrites before any vCPU runs), then mapped, unless another CPU did it meanwhile;
 * 0, or -1 if there is no memory for the tables. A not-present entry made
 * present needs no flush on VT-x (the EPT violation it caused invalidated
 * what the CPU held for the address: SDM Vol. 3C, 29.4.3.1); the generation
 * bump flushes all the same on both backends (APM Vol. 2, 15.16), before a
 * vCPU next runs: a handful of times per 2 MiB of guest RAM, once.
 */
static int fill_chunk(struct guest_space *s, struct space_ram *r, uint64_t i, uint64_t keep, uint64_t keep_end)
{
	uint64_t at = i * SPACE_CHUNK, len = r->size - at < SPACE_CHUNK ? r->size - at : SPACE_CHUNK;
	int failed = 0;

	spin_lock(&s->fill_lock);
	if (!r->ready[i]) {
		zero_outside(r, at, at + len, keep, keep_end);
		failed = gpt_map(&s->gpt, r->gpa + at, r->hpa + at, len, GPT_RWX, GPT_MEM_WB);
		if (!failed) {
			s->generation++;
			__atomic_store_n(&r->ready[i], 1, __ATOMIC_RELEASE); /* after the zeroes: they are seen first */
		}
	}
	spin_unlock(&s->fill_lock);
	return failed;
}

/* Whether chunks first..last of r are all ready. */
static int chunks_ready(const struct space_ram *r, uint64_t first, uint64_t last)
{
	for (; first <= last; first++)
		if (!__atomic_load_n(&r->ready[first], __ATOMIC_ACQUIRE))
			return 0;
	return 1;
}

/*
 * ram_ready's chunks first..last of r made ready; [off, off + len) of r
 * as the hypervisor sees it, or NULL. Out of line, called last: the
 * ready chunks' path (every buffer a virtqueue request names) then saves
 * no registers for it.
 */
static __attribute__((noinline)) void *fill_chunks(struct guest_space *s, struct space_ram *r, uint64_t off,
						    uint64_t len, int overwritten)
{
	uint64_t i;

	for (i = off / SPACE_CHUNK; i <= (off + len - 1) / SPACE_CHUNK; i++)
		if (!__atomic_load_n(&r->ready[i], __ATOMIC_ACQUIRE) &&
		    fill_chunk(s, r, i, off, overwritten ? off + len : off))
			return 0;
	return mm_ptr(r->hpa + off);
}

/* space_ram, the bytes of [gpa, gpa + len) themselves left as they are in chunks made ready when overwritten. */
static void *ram_ready(struct guest_space *s, uint64_t gpa, uint64_t len, int overwritten)
{
	unsigned k;

	for (k = 0; len && k < s->ram_ranges; k++) {
		struct space_ram *r = &s->ram[k];
		uint64_t off = gpa - r->gpa;
		if (gpa < r->gpa || off >= r->size || len > r->size - off)
			continue;
		if (!chunks_ready(r, off / SPACE_CHUNK, (off + len - 1) / SPACE_CHUNK))
			return fill_chunks(s, r, off, len, overwritten);
		return mm_ptr(r->hpa + off);
	}
	return 0;
}

void *space_ram(struct guest_space *s, uint64_t gpa, uint64_t len)
{
	return ram_ready(s, gpa, len, 0);
}

void *space_ram_overwritten(struct guest_space *s, uint64_t gpa, uint64_t len)
{
	return ram_ready(s, gpa, len, 1);
}

/*
 * A reused ID may still tag TLB entries of its previous holder on any CPU:
 * harmless, as each vCPU flushes its ID on its CPU before its first run
 * (generation). Sharing a live ID is not, not even between two vCPUs of
 * one partition (their guest page tables differ), so once the IDs are all
 * held, new vCPUs share only the overflow ID and flush it always.
 */
void vcpu_tag_take(struct vcpu_tag *t, struct tag_pool *pool, const char *owner)
{
	t->pool = pool;
	t->id = pool ? tag_pool_get(pool) : 0;
	t->flush_every_entry = pool && tag_pool_is_overflow(pool, t->id);
	if (t->flush_every_entry)
		log_info("partition %s: all %u %ss are in use: a vCPU runs with a TLB flush on every VM entry",
			 owner, pool->size - 1, pool->kind);
}

void vcpu_tag_give_back(struct vcpu_tag *t)
{
	if (t->pool && tag_pool_put(t->pool, t->id))
		log_error("%s %u given back twice (a hypervisor bug)", t->pool->kind, t->id);
	t->pool = 0;
}

/* Where the guest walker reads entries: this space, and the cache that records them, if any. */
struct entry_reader {
	struct guest_space *s;
	struct code_page *record;
};

/* What a code_page's slots past its walk's entries read (space.h): it never changes. */
const uint64_t space_no_entry = 0;

/* A guest's page-table entry, read through this space: the guest walker's reader. */
static int read_guest_entry(void *ctx, uint64_t gpa, unsigned size, uint64_t *entry)
{
	struct entry_reader *r = ctx;
	const void *p = space_ram(r->s, gpa, size);
	struct code_page *c = r->record;

	if (!p)
		return -1;
	*entry = size == 8 ? *(const uint64_t *)p : *(const uint32_t *)p; /* entries are aligned */
	if (!c)
		return 0;
	if (c->entries < CODE_CACHE_ENTRIES) {
		c->where[c->entries] = (const volatile uint64_t *)((uintptr_t)p & ~(uintptr_t)7);
		c->value[c->entries] = *c->where[c->entries];
	}
	c->entries++; /* past CODE_CACHE_ENTRIES: more than it can recheck, fill_code_cache() keeps none */
	return 0;
}

static enum guest_walk_result translate(struct guest_space *s, const struct guest_mode *g, uint64_t linear,
					unsigned access, struct code_page *record, uint64_t *gpa)
{
	struct entry_reader r = { s, record };
	const struct guest_reader reader = { read_guest_entry, &r };
	struct guest_translation t;
	enum guest_walk_result result = guest_translate(g, &reader, linear, access, &t);

	*gpa = t.gpa;
	return result;
}

enum guest_walk_result space_translate_virtual(struct guest_space *s, const struct guest_mode *g,
					       uint64_t linear, unsigned access, uint64_t *gpa)
{
	return translate(s, g, linear, access, 0, gpa);
}

enum guest_walk_result space_read_virtual(struct guest_space *s, const struct guest_mode *g,
					  uint64_t linear, unsigned access, uint8_t *buf, unsigned len)
{
	unsigned done = 0, chunk, i;

	while (done < len) {
		uint64_t gpa;
		enum guest_walk_result r = space_translate_virtual(s, g, linear + done, access, &gpa);
		const uint8_t *p;
		if (r != GUEST_WALK_OK)
			return r;
		chunk = 4096 - (unsigned)(gpa & 0xfff); /* one guest page at a time */
		if (chunk > len - done)
			chunk = len - done;
		p = space_ram(s, gpa, chunk);
		if (!p)
			return GUEST_WALK_OUTSIDE_RAM;
		for (i = 0; i < chunk; i++)
			buf[done + i] = p[i];
		done += chunk;
	}
	return GUEST_WALK_OK;
}

/* Whether c holds linear_page as a walk of it would give it now. */
static int code_page_current(const struct code_page *c, struct guest_space *s, const struct guest_mode *g,
			     uint64_t linear_page, unsigned access)
{
	return c->page && c->linear_page == linear_page && c->cr3 == g->cr3 && c->cr0 == g->cr0 &&
	       c->cr4 == g->cr4 && c->efer == g->efer && c->access == access && space_code_walk_unchanged(s, c);
}

/* The cached code page, from any way, if it is still what a walk of linear_page would give now, else NULL. */
static const uint8_t *cached_code_page(struct guest_space *s, const struct guest_mode *g,
				       uint64_t linear_page, unsigned access)
{
	struct code_cache *cache = g->code_cache;
	unsigned i;

	for (i = 0; i < CODE_CACHE_PAGES; i++)
		if (code_page_current(&cache->way[i], s, g, linear_page, access)) {
			cache->last = i;
			return cache->way[i].page;
		}
	return 0;
}

/* Walks to linear_page afresh, recording the walk in the next way of the cache; the page's bytes, or NULL. */
static const uint8_t *fill_code_cache(struct guest_space *s, const struct guest_mode *g,
				      uint64_t linear_page, unsigned access)
{
	struct code_cache *cache = g->code_cache;
	struct code_page *c = &cache->way[cache->next];
	uint64_t gpa;
	unsigned i;

	cache->last = cache->next;
	cache->next = (cache->next + 1) % CODE_CACHE_PAGES;
	c->page = 0;
	c->entries = 0;
	for (i = 0; i < CODE_CACHE_ENTRIES; i++) {
		c->where[i] = &space_no_entry;
		c->value[i] = space_no_entry;
	}
	if (translate(s, g, linear_page, access, c, &gpa) != GUEST_WALK_OK || c->entries > CODE_CACHE_ENTRIES)
		return 0;
	c->linear_page = linear_page;
	c->cr0 = g->cr0;
	c->cr3 = g->cr3;
	c->cr4 = g->cr4;
	c->efer = g->efer;
	c->access = access;
	c->generation = s->generation;
	c->page = space_ram(s, gpa, 4096);
	return c->page;
}

/*
 * space_read_code past the way that hit last: the other ways, then a walk,
 * kept in the cache where the instruction cannot run past its page, else a
 * read of both pages as they are now. Never inlined: the path through the
 * last way, taken on nearly every exit, then saves no registers for this.
 */
static __attribute__((noinline)) enum guest_walk_result
read_code_elsewhere(struct guest_space *s, const struct guest_mode *g, uint64_t rip, uint64_t linear,
		    unsigned access, uint8_t *bytes, unsigned *n)
{
	unsigned offset = (unsigned)(linear & 0xfff);
	const uint8_t *page = 0;
	enum guest_walk_result r;
	uint64_t next_page;

	if (g->code_cache && offset <= 4096 - INSN_MAX) {
		page = cached_code_page(s, g, linear - offset, access);
		if (!page)
			page = fill_code_cache(s, g, linear - offset, access);
	}
	if (page) {
		__builtin_memcpy(bytes, page + offset, INSN_MAX);
		*n = INSN_MAX;
		return GUEST_WALK_OK;
	}
	*n = 4096 - offset;
	if (*n > INSN_MAX)
		*n = INSN_MAX;
	r = space_read_virtual(s, g, linear, access, bytes, *n);
	if (r != GUEST_WALK_OK)
		return r;
	/* The page of RIP is mapped (the CPU ran from it); the next may not be. */
	guest_code_address(g, rip + *n, &next_page);
	if (*n < INSN_MAX && space_read_virtual(s, g, next_page, access, bytes + *n, INSN_MAX - *n) == GUEST_WALK_OK)
		*n = INSN_MAX;
	return GUEST_WALK_OK;
}

static unsigned fetch_access(const struct guest_mode *g)
{
	return GUEST_ACCESS_FETCH | (g->cpl == 3 ? GUEST_ACCESS_USER : 0);
}

/*
 * The way that hit last is looked at first, on its own: a guest's exits
 * come from one page many times in a row (a polling loop, a burst of
 * kicks), and its check is then the whole cost of a read.
 */
enum guest_walk_result space_read_code(struct guest_space *s, const struct guest_mode *g, uint64_t rip,
				       uint8_t *bytes, unsigned *n, enum cpu_mode *mode)
{
	unsigned access = fetch_access(g), offset;
	uint64_t linear;
	const struct code_page *last;

	*mode = guest_code_address(g, rip, &linear);
	offset = (unsigned)(linear & 0xfff);
	if (!g->code_cache || offset > 4096 - INSN_MAX)
		return read_code_elsewhere(s, g, rip, linear, access, bytes, n);
	last = &g->code_cache->way[g->code_cache->last];
	if (!code_page_current(last, s, g, linear - offset, access))
		return read_code_elsewhere(s, g, rip, linear, access, bytes, n);
	__builtin_memcpy(bytes, last->page + offset, INSN_MAX); /* a constant size: a few moves, inline */
	*n = INSN_MAX;
	return GUEST_WALK_OK;
}

const struct code_page *space_code_page_of(const struct guest_mode *g, uint64_t linear)
{
	const struct code_page *c;

	if (!g->code_cache || (linear & 0xfff) > 4096 - INSN_MAX)
		return 0;
	c = &g->code_cache->way[g->code_cache->last];
	return c->page && c->linear_page == (linear & ~0xfffull) ? c : 0;
}

/* An instruction's bytes as two words, 0-7 and 7-14: both inside a page the code cache keeps it in. */
static void insn_words(const uint8_t *at, uint64_t words[2])
{
	__builtin_memcpy(&words[0], at, sizeof(words[0]));
	__builtin_memcpy(&words[1], at + INSN_MAX - sizeof(words[1]), sizeof(words[1]));
}

/* The low n bytes of a word, n up to 8. */
static uint64_t low_bytes(unsigned n)
{
	return n >= 8 ? ~0ull : (1ull << (8 * n)) - 1;
}

const struct insn *space_kept_insn(struct guest_space *s, const struct guest_mode *g, const struct kept_insn *k,
				   uint64_t rip, enum cpu_mode *mode)
{
	uint64_t linear, now[2];

	*mode = guest_code_address(g, rip, &linear);
	if (*mode != k->mode || linear != k->linear ||
	    !code_page_current(&k->page, s, g, linear & ~0xfffull, fetch_access(g)))
		return 0;
	insn_words(k->page.page + (linear & 0xfff), now);
	return ((now[0] ^ k->bytes[0]) & k->mask[0]) == 0 && ((now[1] ^ k->bytes[1]) & k->mask[1]) == 0 ? &k->in
													: 0;
}

void space_keep_insn(struct kept_insn *k, const struct guest_mode *g, uint64_t rip, const uint8_t *bytes,
		     const struct insn *in, enum cpu_mode mode)
{
	const unsigned second = INSN_MAX - sizeof(k->bytes[1]); /* the second word's first byte */
	const struct code_page *page;
	uint64_t linear;

	guest_code_address(g, rip, &linear);
	page = space_code_page_of(g, linear);
	k->page.page = 0;
	if (!page)
		return;
	k->page = *page;
	k->linear = linear;
	k->mode = mode;
	k->in = *in;
	k->mask[0] = low_bytes(in->length);
	k->mask[1] = in->length > second ? low_bytes(in->length - second) : 0;
	insn_words(bytes, k->bytes);
	k->bytes[0] &= k->mask[0];
	k->bytes[1] &= k->mask[1];
}
