/*
 * Address-space IDs (AMD-V ASIDs, VT-x VPIDs) from a free set, so that no
 * two live address spaces share the TLB entries of one ID. IDs 1 to size
 * are the pool's (0 is the host's); the last one, size, is never handed
 * out alone: once the others are all held, every further space gets it
 * and must flush its TLB entries on each VM entry. Any CPU may take and
 * give back IDs.
 */
#ifndef ARCH_X86_TAG_POOL_H
#define ARCH_X86_TAG_POOL_H

#include <stdint.h>

#include "lib/spinlock.h"

#define TAG_POOL_MAX 65535u /* VPIDs are 16 bits wide */

struct tag_pool {
	struct spinlock lock;
	uint32_t size;
	const char *kind; /* "ASID", "VPID": for messages */
	uint64_t held[(TAG_POOL_MAX + 63) / 64]; /* bit i: ID i is held */
};

/* IDs 1 to size; -1 if size is 0 or above TAG_POOL_MAX. */
int tag_pool_init(struct tag_pool *p, uint32_t size, const char *kind);

/* A free ID, now held; once none is left, the overflow ID. */
uint32_t tag_pool_get(struct tag_pool *p);

/* Whether id is the shared one, whose holders flush on every VM entry. */
int tag_pool_is_overflow(const struct tag_pool *p, uint32_t id);

/* Gives id back: 0, or -1 (nothing changed) if it was not held. The overflow ID needs no giving back. */
int tag_pool_put(struct tag_pool *p, uint32_t id);

#endif
