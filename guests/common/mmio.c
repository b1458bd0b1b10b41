/*
 * Guest-physical addresses above RAM, where devices live: the hypervisor
 * emulates each instruction form guests use on MMIO registers. Nothing
 * is claimed there, so reads give all-ones of their size and writes
 * vanish, as on a bus without a device. An instruction on all-ones must
 * leave the registers and flags that it leaves when it runs natively on
 * RAM holding all-ones.
 */
#include <stdint.h>

#include "guest.h"
#include "lib/str.h"

#define ONES 0xffffffffffffffffull
#define SEED 0x1122334455667788ull
#define ARITH_FLAGS 0x8d5ull /* OF SF ZF AF PF CF */

static uint64_t ram_cell[2] __attribute__((aligned(16)));

/* One instruction on memory at RBX, RAX in and out, from RFLAGS 0x2; returns the RFLAGS it left. */
#define MEM_OP(name, insn)                                                                          \
	static uint64_t name(uintptr_t addr, uint64_t *rax)                                         \
	{                                                                                           \
		uint64_t flags, a = *rax;                                                           \
		__asm__ volatile("pushfq; pushq $2; popfq\n\t" insn "\n\tpushfq; popq %0; popfq"   \
				 : "=&r"(flags), "+a"(a) : "b"(addr) : "memory", "cc");             \
		*rax = a;                                                                           \
		return flags;                                                                       \
	}

MEM_OP(ld8, "movb (%%rbx), %%al")
MEM_OP(ld16, "movw (%%rbx), %%ax")
MEM_OP(ld32, "movl (%%rbx), %%eax")
MEM_OP(ld64, "movq (%%rbx), %%rax")
MEM_OP(zx8, "movzbl (%%rbx), %%eax")
MEM_OP(zx16, "movzwq (%%rbx), %%rax")
MEM_OP(sx8, "movsbl (%%rbx), %%eax")
MEM_OP(sx8w, "movsbw (%%rbx), %%ax")
MEM_OP(sx16, "movswq (%%rbx), %%rax")
MEM_OP(sx32, "movslq (%%rbx), %%rax")
MEM_OP(cmp8, "cmpb $0x7f, (%%rbx)")
MEM_OP(cmp32, "cmpl $-1, (%%rbx)")
MEM_OP(cmp64r, "cmpq %%rax, (%%rbx)")
MEM_OP(cmp16m, "cmpw (%%rbx), %%ax")
MEM_OP(test8, "testb $0x80, (%%rbx)")
MEM_OP(test32r, "testl %%eax, (%%rbx)")
MEM_OP(test64, "testq $-1, (%%rbx)")
MEM_OP(and32r, "andl %%eax, (%%rbx)")
MEM_OP(and8m, "andb (%%rbx), %%al")
MEM_OP(and32i, "andl $0xff, (%%rbx)")
MEM_OP(or16i, "orw $1, (%%rbx)")
MEM_OP(or64m, "orq (%%rbx), %%rax")
MEM_OP(xor8i, "xorb $0xff, (%%rbx)")
MEM_OP(xor32m, "xorl (%%rbx), %%eax")
MEM_OP(lock_or, "lock orl %%eax, (%%rbx)")
MEM_OP(lock_and, "lock andq $-16, (%%rbx)")
MEM_OP(lock_xor, "lock xorb %%al, (%%rbx)")
MEM_OP(st8, "movb %%al, (%%rbx)")
MEM_OP(st16i, "movw $0x1234, (%%rbx)")
MEM_OP(st32, "movl %%eax, (%%rbx)")
MEM_OP(st64i, "movq $-2, (%%rbx)")

struct mem_op {
	const char *name;
	uint64_t (*run)(uintptr_t addr, uint64_t *rax);
	uint64_t want; /* RAX after, from SEED */
};

static const struct mem_op reads[] = {
	{ "mov8", ld8, 0x11223344556677ffull },   { "mov16", ld16, 0x112233445566ffffull },
	{ "mov32", ld32, 0xffffffffull },         { "mov64", ld64, ONES },
};

static const struct mem_op extends[] = {
	{ "movzx8", zx8, 0xffull },     { "movzx16", zx16, 0xffffull },
	{ "movsx8", sx8, 0xffffffffull }, { "movsx8_16", sx8w, 0x112233445566ffffull },
	{ "movsx16", sx16, ONES },       { "movsxd", sx32, ONES },
};

static const struct mem_op alu_ops[] = {
	{ "cmp8", cmp8, 0 },     { "cmp32", cmp32, 0 },   { "cmp64r", cmp64r, 0 },     { "cmp16m", cmp16m, 0 },
	{ "test8", test8, 0 },   { "test32r", test32r, 0 }, { "test64", test64, 0 },   { "and32r", and32r, 0 },
	{ "and8m", and8m, 0 },   { "and32i", and32i, 0 }, { "or16i", or16i, 0 },       { "or64m", or64m, 0 },
	{ "xor8i", xor8i, 0 },   { "xor32m", xor32m, 0 }, { "lock_or", lock_or, 0 },   { "lock_and", lock_and, 0 },
	{ "lock_xor", lock_xor, 0 },
};

static const struct mem_op stores[] = {
	{ "mov8", st8, 0 }, { "mov16i", st16i, 0 }, { "mov32", st32, 0 }, { "mov64i", st64i, 0 },
};

/* Runs bytes (then RET) with RAX and RBX given; returns RAX. */
static uint64_t run_code(const uint8_t *bytes, unsigned n, uint64_t rax, uint64_t rbx)
{
	static uint8_t code[32] __attribute__((aligned(16)));
	unsigned i;

	for (i = 0; i < n && i < sizeof(code) - 1; i++)
		code[i] = bytes[i];
	code[i] = 0xc3;
	__asm__ volatile("call *%2" : "+a"(rax) : "b"(rbx), "d"(code) : "memory", "cc");
	return rax;
}

/* MOV with moffs (A0-A3): the address is in the instruction. */
static uint64_t moffs(uint8_t opcode, int rex_w, uint64_t addr, uint64_t rax)
{
	uint8_t b[10];
	unsigned n = 0, i;

	if (rex_w)
		b[n++] = 0x48;
	b[n++] = opcode;
	for (i = 0; i < 8; i++)
		b[n++] = (uint8_t)(addr >> (8 * i));
	return run_code(b, n, rax, 0);
}

static unsigned check_values(const struct mem_op *ops, unsigned n, uintptr_t mmio, const char **bad)
{
	unsigned i, ok = 0;

	for (i = 0; i < n; i++) {
		uint64_t rax = SEED;
		ops[i].run(mmio, &rax);
		if (rax == ops[i].want)
			ok++;
		else if (!*bad)
			*bad = ops[i].name;
	}
	return ok;
}

static void check_reads(uintptr_t mmio)
{
	const char *bad = 0;
	unsigned ok = check_values(reads, 4, mmio, &bad);
	uint64_t a0 = moffs(0xa0, 0, mmio, SEED), a1 = moffs(0xa1, 0, mmio, SEED), a1w = moffs(0xa1, 1, mmio, SEED);

	report("mmio_read", ok == 4 && a0 == 0x11223344556677ffull && a1 == 0xffffffffull && a1w == ONES,
	       "0x%llx: %u/4 sizes all-ones (bad: %s) moffs 0x%llx 0x%llx 0x%llx", (unsigned long long)mmio, ok,
	       bad ? bad : "none", (unsigned long long)a0, (unsigned long long)a1, (unsigned long long)a1w);
}

static void check_extends(uintptr_t mmio)
{
	const char *bad = 0;
	unsigned n = sizeof(extends) / sizeof(extends[0]), ok = check_values(extends, n, mmio, &bad);

	report("mmio_movzx_movsx", ok == n, "%u of %u right (first bad %s)", ok, n, bad ? bad : "none");
}

/* Flags and RAX as the instruction leaves them natively on RAM holding all-ones. */
static void check_alu(uintptr_t mmio)
{
	unsigned n = sizeof(alu_ops) / sizeof(alu_ops[0]), i, ok = 0;
	uint64_t bad_flags = 0, want_flags = 0;
	const char *bad = 0;

	for (i = 0; i < n; i++) {
		uint64_t on_ram = SEED, on_mmio = SEED, f_ram, f_mmio;
		ram_cell[0] = ONES;
		f_ram = alu_ops[i].run((uintptr_t)ram_cell, &on_ram) & ARITH_FLAGS;
		f_mmio = alu_ops[i].run(mmio, &on_mmio) & ARITH_FLAGS;
		if (f_ram == f_mmio && on_ram == on_mmio) {
			ok++;
		} else if (!bad) {
			bad = alu_ops[i].name;
			bad_flags = f_mmio;
			want_flags = f_ram;
		}
	}
	report("mmio_alu_flags", ok == n, "%u of %u as on RAM (first bad %s: flags 0x%llx, want 0x%llx)", ok, n,
	       bad ? bad : "none", (unsigned long long)bad_flags, (unsigned long long)want_flags);
}

static void check_writes_vanish(uintptr_t mmio)
{
	unsigned n = sizeof(stores) / sizeof(stores[0]), i, ok = 0;
	uint64_t after = 0;

	for (i = 0; i < n; i++) {
		uint64_t rax = 0;
		stores[i].run(mmio, &rax);
		ld64(mmio, &after);
		ok += after == ONES;
	}
	moffs(0xa2, 0, mmio, 0);
	moffs(0xa3, 1, mmio, 0);
	ld64(mmio, &after);
	ok += after == ONES;
	report("mmio_write_vanish", ok == n + 1, "%u of %u writes vanished", ok, n + 1);
}

static uint64_t buffer[8] __attribute__((aligned(64)));

/* REP STOS and MOVS, one side RAM for MOVS: the counts and pointers end where the CPU leaves them. */
static void check_strings(uintptr_t mmio)
{
	uint64_t rdi = mmio, rcx = 4, rsi, rdi2 = mmio + 0x100, rcx2 = 3;
	uint64_t rsi3 = mmio, rdi3 = (uintptr_t)buffer, rcx3 = 4, rsi4 = (uintptr_t)buffer, rdi4 = mmio + 8, rcx4 = 5;
	uint64_t after = 0;
	int stos, stos_down, movs_in, movs_out;

	__asm__ volatile("rep stosl" : "+D"(rdi), "+c"(rcx) : "a"(0) : "memory");
	stos = rdi == mmio + 16 && rcx == 0;
	__asm__ volatile("std; rep stosb; cld" : "+D"(rdi2), "+c"(rcx2) : "a"(0) : "memory");
	stos_down = rdi2 == mmio + 0xfd && rcx2 == 0;
	__asm__ volatile("rep movsq" : "+S"(rsi3), "+D"(rdi3), "+c"(rcx3) : : "memory");
	movs_in = rsi3 == mmio + 32 && rdi3 == (uintptr_t)(buffer + 4) && rcx3 == 0 && buffer[0] == ONES &&
		  buffer[3] == ONES && buffer[4] == 0;
	rsi = rsi4;
	__asm__ volatile("rep movsb" : "+S"(rsi4), "+D"(rdi4), "+c"(rcx4) : : "memory");
	movs_out = rsi4 == rsi + 5 && rdi4 == mmio + 13 && rcx4 == 0;
	ld64(mmio, &after);
	report("mmio_string", stos && stos_down && movs_in && movs_out && after == ONES,
	       "rep_stosd=%s std_rep_stosb=%s rep_movsq_in=%s rep_movsb_out=%s rdi=0x%llx rcx=%llu rsi=0x%llx "
	       "still_ones=%d",
	       stos ? "ok" : "bad", stos_down ? "ok" : "bad", movs_in ? "ok" : "bad", movs_out ? "ok" : "bad",
	       (unsigned long long)rdi3, (unsigned long long)rcx3, (unsigned long long)rsi3, after == ONES);
}

/* The longest instruction there is, 15 bytes (13 DS prefixes, MOV EAX, [RBX]), emulated whole. */
static const uint8_t long_mov[] = { 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e,
				    0x8b, 0x03 };

static void check_long_instruction(uintptr_t mmio)
{
	uint64_t rax = run_code(long_mov, sizeof(long_mov), SEED, mmio);

	report("mmio_long_insn", rax == 0xffffffffull, "15 bytes: eax=0x%llx", (unsigned long long)rax);
}

/* With RFLAGS.TF, an emulated MMIO access ends in one #DB trap, as on RAM; so does each REP iteration. */
static unsigned stepped_traps(uintptr_t addr)
{
	uint64_t a = 0, rdi = addr + 0x40, rcx = 3;

	db_count_start();
	__asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq\n\t"
			 "nop; movl (%%rbx), %%eax; rep stosb; nop\n\t"
			 "pushfq; andq $~0x100, (%%rsp); popfq"
			 : "+a"(a), "+D"(rdi), "+c"(rcx) : "b"(addr) : "memory", "cc");
	return db_count_stop();
}

static void check_single_step(uintptr_t mmio)
{
	static uint8_t ram[128] __attribute__((aligned(64)));
	unsigned on_ram = stepped_traps((uintptr_t)ram), on_mmio = stepped_traps(mmio);

	report("mmio_single_step", on_ram >= 4 && on_mmio == on_ram, "traps_ram=%u traps_mmio=%u", on_ram, on_mmio);
}

/* The first page above RAM: check_ram() has mapped it (map_ram). */
void check_mmio(uint64_t top)
{
	uintptr_t mmio = (uintptr_t)((top + PAGE - 1) & ~(PAGE - 1));

	check_reads(mmio);
	check_extends(mmio);
	check_alu(mmio);
	check_writes_vanish(mmio);
	check_strings(mmio);
	check_long_instruction(mmio);
	check_single_step(mmio);
}

/* ---- hostile ---------------------------------------------------------- */

#define PML4_HOSTILE 2 /* linear 1 TiB: nothing else there */
#define HOSTILE_LINEAR (2ull << 39)

static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));
static uint64_t pt[512] __attribute__((aligned(4096)));
static uint8_t code_page[4096] __attribute__((aligned(4096)));

static void set_pml4(uint64_t entry)
{
	uint64_t cr3;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	((volatile uint64_t *)(uintptr_t)(cr3 & ~0xfffull))[PML4_HOSTILE] = entry;
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

/* A page-table walk that reaches above RAM: PML4 entry 2 points at a "PDPT" there. */
static void tables_outside_ram(uint64_t mmio)
{
	uint32_t v;

	set_pml4(mmio | PTE_P | PTE_RW);
	v = *(volatile uint32_t *)(uintptr_t)HOSTILE_LINEAR;
	report("mmio_tables", 0, "a read through tables above RAM returned 0x%x", v);
}

/*
 * MOV EAX, [RBX] (8B 03) whose second byte is on the next page, which the
 * guest maps above RAM: the instruction itself crosses into memory no RAM
 * backs.
 */
static void crossing_instruction(uint64_t mmio)
{
	uint64_t rax = 0;

	pt[0] = (uint64_t)(uintptr_t)code_page | PTE_P | PTE_RW;
	pt[1] = mmio | PTE_P | PTE_RW;
	pd[0] = (uint64_t)(uintptr_t)pt | PTE_P | PTE_RW;
	pdpt[0] = (uint64_t)(uintptr_t)pd | PTE_P | PTE_RW;
	set_pml4((uint64_t)(uintptr_t)pdpt | PTE_P | PTE_RW);
	code_page[4095] = 0x8b;
	__asm__ volatile("call *%1" : "+a"(rax) : "r"(HOSTILE_LINEAR + 4095), "b"(mmio) : "memory", "cc");
	report("mmio_cross_page", 0, "the crossing instruction ran: eax=0x%llx", (unsigned long long)rax);
}

/* 16 bytes (14 prefixes): longer than any instruction; the CPU raises #GP before any access. */
static void too_long(uint64_t mmio)
{
	uint8_t b[16];
	unsigned i;
	int gp;

	for (i = 0; i < 14; i++)
		b[i] = 0x3e;
	b[14] = 0x8b;
	b[15] = 0x03;
	expect_fault(VEC_GP, 16);
	run_code(b, 16, 0, mmio);
	gp = fault_taken(VEC_GP);
	report("mmio_too_long", gp, "16 bytes on MMIO: %s", gp ? "#GP" : "no fault");
	hypercall_exit(gp ? 0 : 1);
}

void hostile_mmio(const char *mode, uint64_t top)
{
	uint64_t mmio = (top + PAGE - 1) & ~(PAGE - 1);

	if (!str_eq_n(mode, 5, "mmio-"))
		return;
	map_ram(top);
	if (str_eq(mode, "mmio-unsupported"))
		__asm__ volatile("addl $1, (%%rbx)" : : "b"(mmio) : "memory", "cc"); /* ADD is not emulated */
	else if (str_eq(mode, "mmio-tables"))
		tables_outside_ram(mmio);
	else if (str_eq(mode, "mmio-cross-page"))
		crossing_instruction(mmio);
	else if (str_eq(mode, "mmio-prefixes"))
		too_long(mmio);
}
