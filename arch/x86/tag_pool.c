#include "tag_pool.h"

int tag_pool_init(struct tag_pool *p, uint32_t size, const char *kind)
{
	unsigned i;

	if (size == 0 || size > TAG_POOL_MAX)
		return -1;
	p->lock.locked = 0;
	p->size = size;
	p->kind = kind;
	for (i = 0; i < sizeof(p->held) / sizeof(p->held[0]); i++)
		p->held[i] = 0;
	return 0;
}

static int held(const struct tag_pool *p, uint32_t id)
{
	return (p->held[id / 64] >> (id % 64)) & 1;
}

/* The lowest free ID below the overflow ID, or the overflow ID. */
static uint32_t lowest_free(const struct tag_pool *p)
{
	uint32_t id;

	for (id = 1; id < p->size; id++) {
		if (p->held[id / 64] == ~0ull)
			id |= 63; /* a full word: skip it */
		else if (!held(p, id))
			return id;
	}
	return p->size;
}

uint32_t tag_pool_get(struct tag_pool *p)
{
	uint32_t id;

	spin_lock(&p->lock);
	id = lowest_free(p);
	if (id != p->size)
		p->held[id / 64] |= 1ull << (id % 64);
	spin_unlock(&p->lock);
	return id;
}

int tag_pool_is_overflow(const struct tag_pool *p, uint32_t id)
{
	return id == p->size;
}

int tag_pool_put(struct tag_pool *p, uint32_t id)
{
	int r = 0;

	if (id == p->size)
		return 0;
	spin_lock(&p->lock);
	if (id == 0 || id > p->size || !held(p, id))
		r = -1;
	else
		p->held[id / 64] &= ~(1ull << (id % 64));
	spin_unlock(&p->lock);
	return r;
}
