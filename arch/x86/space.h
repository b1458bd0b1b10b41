/* A guest-physical address space, as both x86 backends keep it. */
#ifndef ARCH_X86_SPACE_H
#define ARCH_X86_SPACE_H

#include <stdint.h>

#include "gpt.h"
#include "guest_walk.h"
#include "lib/spinlock.h"
#include "tag_pool.h"

/*
 * Guest RAM is zeroed and mapped a 2 MiB chunk at a time, on its first
 * touch: by the guest (a nested-page fault) or by the hypervisor
 * (space_ram). A partition starts without waiting for all of its memory
 * to be zeroed, and no byte a previous owner left is ever mapped or read.
 */
#define SPACE_CHUNK (2ull << 20)
#define SPACE_RAM_RANGES 2 /* below the MMIO hole and from 4 GiB */
struct space_ram {
	uint64_t gpa, hpa, size;
	uint8_t *ready;   /* a byte per chunk: 1 once zeroed and mapped (set under fill_lock) */
	uint64_t ready_pa;
};

struct guest_space {
	struct gpt gpt;  /* EPT or NPT tables */
	/*
	 * Bumped by each change of the tables: a vCPU whose last flush was of
	 * an older generation flushes its TLB entries of this space on its CPU
	 * before it runs again (each vCPU on its own CPU: TLBs are per CPU).
	 */
	uint32_t generation;
	struct space_ram ram[SPACE_RAM_RANGES];
	unsigned ram_ranges;
	struct spinlock fill_lock; /* one vCPU or device zeroes and maps a chunk, the others wait for it */
};

/* Table pages come from the hypervisor's page allocator. */
extern const struct gpt_memory space_memory;

/* Empty tables. */
int space_init(struct guest_space *s, const struct gpt_format *fmt, uint64_t page_sizes);
/* The tables and what space_add_ram kept. */
void space_destroy(struct guest_space *s);

/*
 * [gpa, gpa + size) is RAM at hpa (2 MiB aligned both), not yet zeroed:
 * mapped read, write and execute chunk by chunk on first touch; 0 or -1.
 */
int space_add_ram(struct guest_space *s, uint64_t gpa, uint64_t hpa, uint64_t size);
/*
 * Host pointer to [gpa, gpa + len) of RAM, every chunk of it zeroed and
 * mapped first; NULL if it is not all in one range of RAM (or no memory for
 * the tables). Every access of the hypervisor's to guest RAM goes through
 * here; a nested-page fault in RAM resolves here.
 */
void *space_ram(struct guest_space *s, uint64_t gpa, uint64_t len);
/*
 * The same for a range the caller overwrites in full before any vCPU of
 * the space runs (a kernel or initrd copied in at start-up): only what
 * lies outside it is zeroed in the chunks it makes ready, since zeroing
 * the rest would be overwritten at once.
 */
void *space_ram_overwritten(struct guest_space *s, uint64_t gpa, uint64_t len);

/* A vCPU's VPID or ASID: the TLB entries it makes are its own. */
struct vcpu_tag {
	uint32_t id;            /* 0: none (VT-x without VPID) */
	struct tag_pool *pool;  /* where id came from; NULL: none */
	int flush_every_entry;  /* id is the pool's shared overflow ID */
};

/* An ID from pool (NULL: id 0) for a vCPU of partition owner; says so when they ran out. */
void vcpu_tag_take(struct vcpu_tag *t, struct tag_pool *pool, const char *owner);
void vcpu_tag_give_back(struct vcpu_tag *t);

/*
 * Reads len bytes of guest memory at a linear address for an access, through
 * the guest's own paging in the mode g describes, then this space's tables.
 * GUEST_WALK_OK, or why not: the first byte that cannot be read says.
 */
enum guest_walk_result space_read_virtual(struct guest_space *s, const struct guest_mode *g,
					  uint64_t linear, unsigned access, uint8_t *buf, unsigned len);

/* The guest-physical address of a linear one, through the guest's paging in the mode g describes. */
enum guest_walk_result space_translate_virtual(struct guest_space *s, const struct guest_mode *g,
					       uint64_t linear, unsigned access, uint64_t *gpa);

/*
 * A vCPU's translations of the pages its code last exited from, kept for
 * space_read_code: per page, the linear page, the registers and the
 * tables' generation the walk depended on, and each guest page-table
 * entry it read, where that entry is and what it held. One is used only
 * while all of them are unchanged: a CR3 or paging-mode change, a remap of
 * any level (with or without an INVLPG, which does not exit), and a change
 * of this space's tables each fail the check, so a stale translation is
 * never used. The check costs a few dozen instructions; the walk it saves,
 * several hundred.
 */
#define CODE_CACHE_ENTRIES 5 /* a 5-level walk */
struct code_page {
	const uint8_t *page; /* the code page's bytes; NULL: nothing cached */
	uint64_t linear_page, cr0, cr3, cr4, efer;
	unsigned access;
	uint32_t generation;
	unsigned entries;
	/*
	 * The aligned 8-byte word that holds each entry read (a 4-byte entry
	 * of 32-bit paging with its neighbour: a change of either fails the
	 * check, never a stale one passes), and what it held; the slots past
	 * the walk's entries name space_no_entry, which never changes. The
	 * check is then one fixed run of loads, with no branch per entry.
	 */
	const volatile uint64_t *where[CODE_CACHE_ENTRIES];
	uint64_t value[CODE_CACHE_ENTRIES];
};
extern const uint64_t space_no_entry;

/*
 * A guest's exits that need their instruction read come from a few places
 * in turn (a Linux guest's virtio kick and its xAPIC EOI, one block
 * request after another): one page cached missed at each.
 */
/*
 * A decoded instruction, kept with a copy of the code cache way its bytes
 * were read through: a guest polling a device register exits from the
 * same instruction each time. It is used again only at the same linear
 * address in the same decode mode, while that way is still current (CR0,
 * CR3, CR4, EFER, the CPL's access, the nested tables' generation, each
 * guest page-table entry of the walk) and the bytes there are still the
 * ones decoded: a rewritten byte, a mode switch or a remap sends the
 * instruction back to the decoder. A decoding depends on nothing else.
 */
struct kept_insn {
	struct code_page page; /* page.page NULL: nothing kept */
	uint64_t linear;
	enum cpu_mode mode;
	uint64_t bytes[2], mask[2]; /* bytes 0-7 and 7-14 as words, and which of each word's are the instruction's */
	struct insn in;
};

#define CODE_CACHE_PAGES 4
struct code_cache {
	struct code_page way[CODE_CACHE_PAGES];
	unsigned next; /* the way the next walk fills, round robin */
	unsigned last; /* the way that hit or was filled last: looked at first */
	struct kept_insn decoded; /* the emulator's last instruction (arch/x86/guest_mmio.c) */
};

/*
 * The instruction at CS:RIP as the CPU fetched it, and its code's mode:
 * INSN_MAX bytes in *n, or fewer when it ends its page and the next cannot
 * be read (the decoder then finds it truncated if it goes on there).
 * GUEST_WALK_OK, or why the byte at RIP cannot be read. Through g->code_cache when
 * it holds RIP's page and the instruction cannot run past it.
 */
enum guest_walk_result space_read_code(struct guest_space *s, const struct guest_mode *g, uint64_t rip,
				       uint8_t *bytes, unsigned *n, enum cpu_mode *mode);

/*
 * The entry of g's code cache that space_read_code just read the code at
 * linear from, or NULL when the read did not go through the cache (an
 * instruction that may cross its page, a walk that failed).
 */
const struct code_page *space_code_page_of(const struct guest_mode *g, uint64_t linear);

/*
 * Whether the walk c recorded still gives its page: this space's tables
 * are of the same generation and each guest page-table entry it read holds
 * what it held. The registers it depended on are the caller's to compare.
 * Inline: AMD-V's kept step checks it on every exit it steps over.
 */
static inline int space_code_walk_unchanged(const struct guest_space *s, const struct code_page *c)
{
	_Static_assert(CODE_CACHE_ENTRIES == 5, "one term per entry: no loop counter to pay");
	return ((c->generation ^ s->generation) | (*c->where[0] ^ c->value[0]) | (*c->where[1] ^ c->value[1]) |
		(*c->where[2] ^ c->value[2]) | (*c->where[3] ^ c->value[3]) | (*c->where[4] ^ c->value[4])) == 0;
}

/*
 * The instruction k keeps, when it is the one at CS:RIP now (struct
 * kept_insn) with *mode its code's mode; else NULL, and the caller reads
 * and decodes the bytes at RIP.
 */
const struct insn *space_kept_insn(struct guest_space *s, const struct guest_mode *g, const struct kept_insn *k,
				   uint64_t rip, enum cpu_mode *mode);

/*
 * Keeps in k the instruction in, decoded in mode from the bytes at CS:RIP
 * space_read_code just read; nothing when they did not come through the
 * code cache.
 */
void space_keep_insn(struct kept_insn *k, const struct guest_mode *g, uint64_t rip, const uint8_t *bytes,
		     const struct insn *in, enum cpu_mode mode);

#endif
