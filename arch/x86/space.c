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

/*
 * A reused ID may still tag TLB entries of its previous space on any CPU:
 * harmless, as each vCPU flushes its space's ID on its CPU before its
 * first run (generation). Sharing a live ID is not, so once the IDs are
 * all held, new spaces share only the overflow ID and flush it always.
 */
static void take_tag(struct guest_space *s, struct tag_pool *tags, const char *owner)
{
	s->tags = tags;
	s->tag = tags ? tag_pool_get(tags) : 0;
	s->flush_every_entry = tags && tag_pool_is_overflow(tags, s->tag);
	if (s->flush_every_entry)
		log_info("partition %s: all %u %ss are in use: it runs with a TLB flush on every VM entry",
			 owner, tags->size - 1, tags->kind);
}

int space_init(struct guest_space *s, const struct gpt_format *fmt, uint64_t page_sizes,
	       struct tag_pool *tags, const char *owner)
{
	s->generation = 1; /* vCPUs start at 0: each flushes before its first run */
	s->linear_hpa = s->linear_size = 0;
	s->tags = 0;
	if (gpt_init(&s->gpt, fmt, &space_memory, page_sizes))
		return -1;
	take_tag(s, tags, owner);
	return 0;
}

void space_fini(struct guest_space *s)
{
	gpt_destroy(&s->gpt);
	if (s->tags && tag_pool_put(s->tags, s->tag))
		log_error("%s %u given back twice (a hypervisor bug)", s->tags->kind, s->tag);
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

/* A guest's page-table page, read through this space: the table walker's view. */
static void *guest_table(void *ctx, uint64_t gpa)
{
	return space_ptr(ctx, gpa & ~0xfffull, 4096);
}

int space_read_virtual(const struct guest_space *s, int paging, uint64_t cr3, uint64_t gva,
		       uint8_t *buf, unsigned len)
{
	struct gpt_memory guest_mem = { 0, 0, guest_table, (void *)s };
	struct gpt guest = { &gpt_format_npt, &guest_mem, cr3 & 0x000ffffffffff000ull, 0 };
	unsigned done = 0, chunk, i;

	while (done < len) {
		uint64_t gpa = gva + done;
		struct gpt_walk w;
		const uint8_t *p;
		if (paging && gpt_translate(&guest, gva + done, &w))
			return -1;
		if (paging)
			gpa = w.pa;
		chunk = 4096 - (unsigned)(gpa & 0xfff); /* one guest page at a time */
		if (chunk > len - done)
			chunk = len - done;
		p = space_ptr(s, gpa, chunk);
		if (!p)
			return -1;
		for (i = 0; i < chunk; i++)
			buf[done + i] = p[i];
		done += chunk;
	}
	return 0;
}
