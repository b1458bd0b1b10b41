/*
 * Guest-physical translation tables: EPT (Intel SDM Vol. 3C, 29.3.2) and
 * AMD nested page tables (APM Vol. 2, 15.25.5) from one table-driven
 * builder and walker. Both are 4-level radix trees of 512 entries with
 * 2 MiB and 1 GiB leaves; they differ only in their entry bits, which
 * struct gpt_format describes. A guest's own page tables, in all their
 * modes, are walked by guest_walk.c.
 */
#ifndef ARCH_X86_GPT_H
#define ARCH_X86_GPT_H

#include <stdint.h>

#define GPT_READ 1u
#define GPT_WRITE 2u
#define GPT_EXEC 4u
#define GPT_RWX (GPT_READ | GPT_WRITE | GPT_EXEC)

#define GPT_4K (1ull << 12)
#define GPT_2M (1ull << 21)
#define GPT_1G (1ull << 30)

enum gpt_memtype { GPT_MEM_WB, GPT_MEM_UC };

struct gpt_format {
	const char *name;
	uint64_t (*leaf)(uint64_t addr, unsigned perms, enum gpt_memtype type, int large);
	uint64_t table;                   /* bits of an entry pointing to a table */
	unsigned (*perms)(uint64_t entry); /* 0: not present */
	enum gpt_memtype (*type)(uint64_t leaf);
	uint64_t large;                   /* page-size bit in a level 1 or 2 entry */
};

extern const struct gpt_format gpt_format_ept;
extern const struct gpt_format gpt_format_npt;

/* Where table pages come from, and how their physical addresses are read. */
struct gpt_memory {
	void *(*alloc)(void *ctx, uint64_t *pa); /* a zeroed 4 KiB page, or NULL */
	void (*free)(void *ctx, uint64_t pa);
	void *(*ptr)(void *ctx, uint64_t pa);    /* NULL if pa is not readable */
	void *ctx;
};

struct gpt {
	const struct gpt_format *fmt;
	const struct gpt_memory *mem;
	uint64_t root;       /* physical address of the top table */
	uint64_t page_sizes; /* GPT_2M | GPT_1G where the CPU offers them */
};

int gpt_init(struct gpt *t, const struct gpt_format *fmt, const struct gpt_memory *mem,
	     uint64_t page_sizes);
/* Frees every table page, the root included. */
void gpt_destroy(struct gpt *t);

/*
 * Maps [gpa, gpa+size) to [hpa, hpa+size) with the largest pages the
 * alignment and page_sizes allow. 4 KiB aligned; refuses (-1, nothing
 * changed) to map over an existing mapping or past 2^48.
 */
int gpt_map(struct gpt *t, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned perms,
	    enum gpt_memtype type);
/* Removes mappings in [gpa, gpa+size), splitting large pages at the edges. */
int gpt_unmap(struct gpt *t, uint64_t gpa, uint64_t size);

struct gpt_walk {
	uint64_t pa;        /* translation of the address walked */
	uint64_t page_size;
	unsigned perms;     /* of the leaf, ANDed with the tables' above it */
};

/* 0 and *w filled if addr is mapped; -1 if not (or a table is unreadable). */
int gpt_translate(const struct gpt *t, uint64_t addr, struct gpt_walk *w);

#endif
