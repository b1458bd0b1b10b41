/*
 * The guest's own address translation, as its CPU does it: the linear
 * address and decode mode of the instruction at CS:RIP (Intel SDM Vol. 3A,
 * 3.4; AMD APM Vol. 2, 4.5) and the walk of the guest's page tables in each
 * paging mode (SDM Vol. 3A, chapter 4; APM Vol. 2, chapter 5). Pure
 * computation over a reader of guest-physical memory, so host-tested.
 */
#ifndef ARCH_X86_GUEST_WALK_H
#define ARCH_X86_GUEST_WALK_H

#include <stdint.h>

#include "decode.h"

struct code_cache;

/* The registers that decide how the guest forms and translates addresses. */
struct guest_mode {
	uint64_t cr0, cr3, cr4, efer, rflags;
	uint64_t cs_base;
	uint8_t cs_long;      /* CS.L */
	uint8_t cs_default32; /* CS.D/B */
	uint8_t cpl;
	uint64_t seg_base[6]; /* ES, CS, SS, DS, FS, GS (Sreg order): for data operands, read when one needs them */
	struct code_cache *code_cache; /* the vCPU's (arch/x86/space.h); NULL: none */
};

/* SDM Vol. 3A, 4.1.1 */
enum guest_paging { GUEST_PAGING_NONE, GUEST_PAGING_32, GUEST_PAGING_PAE, GUEST_PAGING_4LEVEL,
		    GUEST_PAGING_5LEVEL };

/* An access: a read unless WRITE or FETCH, by supervisor code unless USER (CPL 3). */
#define GUEST_ACCESS_READ 0u
#define GUEST_ACCESS_WRITE 1u
#define GUEST_ACCESS_FETCH 2u
#define GUEST_ACCESS_USER 4u

/* The page-fault error code (SDM Vol. 3A, 4.7). */
#define PF_PRESENT 0x1u
#define PF_WRITE 0x2u
#define PF_USER 0x4u
#define PF_RESERVED 0x8u
#define PF_FETCH 0x10u

enum guest_walk_result {
	GUEST_WALK_OK,
	GUEST_WALK_NOT_CANONICAL, /* the CPU would raise #GP(0) */
	GUEST_WALK_PAGE_FAULT,    /* the CPU would raise #PF with pf_error */
	GUEST_WALK_OUTSIDE_RAM,   /* a table (or the page) is not in the partition's RAM */
};

struct guest_translation {
	uint64_t gpa;
	uint64_t page_size;
	/* The leaf's rights, combined over every level of the walk. */
	uint8_t writable, user, no_execute;
	uint32_t pf_error; /* with GUEST_WALK_PAGE_FAULT */
};

/* Reads a 4- or 8-byte table entry at gpa; -1 when it is outside the partition's RAM. */
struct guest_reader {
	int (*read)(void *ctx, uint64_t gpa, unsigned size, uint64_t *entry);
	void *ctx;
};

enum guest_paging guest_paging_mode(const struct guest_mode *g);

/*
 * Translates linear to guest-physical for the access given. Outside
 * 4-level and 5-level paging linear addresses have 32 bits: higher bits
 * are dropped, as the CPU's 32-bit address arithmetic wraps.
 */
enum guest_walk_result guest_translate(const struct guest_mode *g, const struct guest_reader *mem,
				       uint64_t linear, unsigned access, struct guest_translation *t);

/* The decode mode of the code at CS:RIP, and the linear address of its byte at rip. */
enum cpu_mode guest_code_address(const struct guest_mode *g, uint64_t rip, uint64_t *linear);

/* The RIP length bytes past rip in code of that mode. */
uint64_t guest_rip_advance(enum cpu_mode mode, uint64_t rip, unsigned length);

#endif
