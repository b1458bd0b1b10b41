#include "space.h"

#include "log.h"
#include "mm.h"

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
	s->linear_hpa = s->linear_size = 0;
	return gpt_init(&s->gpt, fmt, &space_memory, page_sizes);
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

int space_map(struct guest_space *s, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned perms,
	      int uncached)
{
	int r = gpt_map(&s->gpt, gpa, hpa, size, perms, uncached ? GPT_MEM_UC : GPT_MEM_WB);

	s->generation++;
	if (r == 0 && gpa == 0 && !uncached && perms == GPT_RWX && !s->linear_size) {
		s->linear_hpa = hpa;
		s->linear_size = size;
	}
	return r;
}

int space_unmap(struct guest_space *s, uint64_t gpa, uint64_t size)
{
	s->generation++;
	if (gpa < s->linear_size)
		s->linear_size = 0; /* no longer one piece: walk the tables */
	return gpt_unmap(&s->gpt, gpa, size);
}

void *space_ptr(const struct guest_space *s, uint64_t gpa, uint64_t len)
{
	struct gpt_walk w;

	if (len && gpa < s->linear_size && len <= s->linear_size - gpa)
		return mm_ptr(s->linear_hpa + gpa);
	if (len == 0 || gpt_translate(&s->gpt, gpa, &w) || !(w.perms & GPT_READ))
		return 0;
	if ((gpa & (w.page_size - 1)) + len > w.page_size)
		return 0; /* crosses into a page that may map elsewhere */
	return mm_ptr(w.pa);
}

/* A guest's page-table entry, read through this space: the guest walker's reader. */
static int read_guest_entry(void *ctx, uint64_t gpa, unsigned size, uint64_t *entry)
{
	const void *p = space_ptr(ctx, gpa, size);

	if (!p)
		return -1;
	*entry = size == 8 ? *(const uint64_t *)p : *(const uint32_t *)p; /* entries are aligned */
	return 0;
}

enum guest_walk_result space_translate_virtual(const struct guest_space *s, const struct guest_mode *g,
					       uint64_t linear, unsigned access, uint64_t *gpa)
{
	const struct guest_reader reader = { read_guest_entry, (void *)s };
	struct guest_translation t;
	enum guest_walk_result r = guest_translate(g, &reader, linear, access, &t);

	*gpa = t.gpa;
	return r;
}

enum guest_walk_result space_read_virtual(const struct guest_space *s, const struct guest_mode *g,
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
		p = space_ptr(s, gpa, chunk);
		if (!p)
			return GUEST_WALK_OUTSIDE_RAM;
		for (i = 0; i < chunk; i++)
			buf[done + i] = p[i];
		done += chunk;
	}
	return GUEST_WALK_OK;
}

enum guest_walk_result space_read_code(const struct guest_space *s, const struct guest_mode *g, uint64_t rip,
				       uint8_t *bytes, unsigned *n, enum cpu_mode *mode)
{
	unsigned access = GUEST_ACCESS_FETCH | (g->cpl == 3 ? GUEST_ACCESS_USER : 0);
	uint64_t linear, next_page;
	enum guest_walk_result r;

	*mode = guest_code_address(g, rip, &linear);
	*n = 4096 - (unsigned)(linear & 0xfff);
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
