/* libFuzzer target: the MMIO emulator checked against the host CPU. The
 * input picks one of the memory forms the emulator claims (MOV, MOVZX,
 * MOVSX, MOVSXD, OR, AND, XOR, CMP, TEST: register, immediate and group
 * forms), its prefixes (66, REX.W, REX.R, a bare REX), its register
 * operand, immediate, register values, memory value and arithmetic flags.
 * The same instruction, with [rdi] as its memory operand, runs on the
 * host between a stub that loads and saves the registers and flags; the
 * emulator runs it with the memory behind its bus callback. The
 * registers, the memory and the six arithmetic flags must agree, and RIP
 * must move by the instruction's length. Strings and moffs forms stay
 * with fuzz_mmio: their operands are not [rdi]. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mmio_emul.h"

#define FAULT_GPA 0xfee00100ull
#define ARITH_FLAGS 0x8d5ull /* CF, PF, AF, ZF, SF, OF */
#define HOST_REGS 8          /* RAX, RCX, RDX, RBX, R8-R11: what the stub loads */
#define MODRM_RDI 0x07       /* mod 00, r/m 111: [rdi] */

enum imm_kind { IMM_NONE, IMM_8, IMM_Z }; /* IMM_Z: 16 or 32 bits by operand size */

struct form {
	uint8_t op[2];
	uint8_t op_len;
	int8_t digit;     /* the ModRM reg field of a group form, or -1: a register operand */
	uint8_t byte_reg; /* the register operand is 8-bit (AH..BH possible without REX) */
	enum imm_kind imm;
};

static const struct form forms[] = {
	{ { 0x88 }, 1, -1, 1, IMM_NONE }, { { 0x89 }, 1, -1, 0, IMM_NONE }, { { 0x8a }, 1, -1, 1, IMM_NONE },
	{ { 0x8b }, 1, -1, 0, IMM_NONE }, { { 0xc6 }, 1, 0, 0, IMM_8 },     { { 0xc7 }, 1, 0, 0, IMM_Z },
	{ { 0x0f, 0xb6 }, 2, -1, 0, IMM_NONE }, { { 0x0f, 0xb7 }, 2, -1, 0, IMM_NONE },
	{ { 0x0f, 0xbe }, 2, -1, 0, IMM_NONE }, { { 0x0f, 0xbf }, 2, -1, 0, IMM_NONE },
	{ { 0x63 }, 1, -1, 0, IMM_NONE },
	{ { 0x08 }, 1, -1, 1, IMM_NONE }, { { 0x09 }, 1, -1, 0, IMM_NONE }, { { 0x0a }, 1, -1, 1, IMM_NONE },
	{ { 0x0b }, 1, -1, 0, IMM_NONE }, { { 0x20 }, 1, -1, 1, IMM_NONE }, { { 0x21 }, 1, -1, 0, IMM_NONE },
	{ { 0x22 }, 1, -1, 1, IMM_NONE }, { { 0x23 }, 1, -1, 0, IMM_NONE }, { { 0x30 }, 1, -1, 1, IMM_NONE },
	{ { 0x31 }, 1, -1, 0, IMM_NONE }, { { 0x32 }, 1, -1, 1, IMM_NONE }, { { 0x33 }, 1, -1, 0, IMM_NONE },
	{ { 0x38 }, 1, -1, 1, IMM_NONE }, { { 0x39 }, 1, -1, 0, IMM_NONE }, { { 0x3a }, 1, -1, 1, IMM_NONE },
	{ { 0x3b }, 1, -1, 0, IMM_NONE }, { { 0x84 }, 1, -1, 1, IMM_NONE }, { { 0x85 }, 1, -1, 0, IMM_NONE },
	{ { 0x80 }, 1, 1, 0, IMM_8 }, { { 0x80 }, 1, 4, 0, IMM_8 }, { { 0x80 }, 1, 6, 0, IMM_8 },
	{ { 0x80 }, 1, 7, 0, IMM_8 }, { { 0x81 }, 1, 1, 0, IMM_Z }, { { 0x81 }, 1, 4, 0, IMM_Z },
	{ { 0x81 }, 1, 6, 0, IMM_Z }, { { 0x81 }, 1, 7, 0, IMM_Z }, { { 0x83 }, 1, 1, 0, IMM_8 },
	{ { 0x83 }, 1, 4, 0, IMM_8 }, { { 0x83 }, 1, 6, 0, IMM_8 }, { { 0x83 }, 1, 7, 0, IMM_8 },
	{ { 0xf6 }, 1, 0, 0, IMM_8 }, { { 0xf7 }, 1, 0, 0, IMM_Z },
};

/* What the input sets, in this order. */
struct diff_case {
	uint8_t form, prefixes, reg;
	uint8_t imm[4];
	uint8_t flags;
	uint64_t regs[HOST_REGS];
	uint64_t memory;
};

enum { PREFIX_66 = 1, PREFIX_REX_W = 2, PREFIX_REX_R = 4, PREFIX_REX = 8 };

/*
 * void run(uint64_t *memory (rdi), uint64_t *state (rsi)): state[0..7] are
 * RAX, RCX, RDX, RBX, R8-R11 and state[8] RFLAGS, loaded before the
 * instruction and saved after it. MOVs and POP leave the flags alone.
 */
static const uint8_t stub_head[] = {
	0x53,                   /* push rbx */
	0x56,                   /* push rsi */
	0xff, 0x76, 0x40,       /* push qword [rsi+0x40] */
	0x9d,                   /* popfq */
	0x48, 0x8b, 0x06,       /* mov rax, [rsi] */
	0x48, 0x8b, 0x4e, 0x08, /* mov rcx, [rsi+8] */
	0x48, 0x8b, 0x56, 0x10, /* mov rdx, [rsi+0x10] */
	0x48, 0x8b, 0x5e, 0x18, /* mov rbx, [rsi+0x18] */
	0x4c, 0x8b, 0x46, 0x20, /* mov r8, [rsi+0x20] */
	0x4c, 0x8b, 0x4e, 0x28, /* mov r9, [rsi+0x28] */
	0x4c, 0x8b, 0x56, 0x30, /* mov r10, [rsi+0x30] */
	0x4c, 0x8b, 0x5e, 0x38, /* mov r11, [rsi+0x38] */
};

static const uint8_t stub_tail[] = {
	0x9c,                         /* pushfq */
	0x48, 0x8b, 0x74, 0x24, 0x08, /* mov rsi, [rsp+8] */
	0x48, 0x89, 0x06,             /* mov [rsi], rax */
	0x48, 0x89, 0x4e, 0x08,       /* mov [rsi+8], rcx */
	0x48, 0x89, 0x56, 0x10,       /* mov [rsi+0x10], rdx */
	0x48, 0x89, 0x5e, 0x18,       /* mov [rsi+0x18], rbx */
	0x4c, 0x89, 0x46, 0x20,       /* mov [rsi+0x20], r8 */
	0x4c, 0x89, 0x4e, 0x28,       /* mov [rsi+0x28], r9 */
	0x4c, 0x89, 0x56, 0x30,       /* mov [rsi+0x30], r10 */
	0x4c, 0x89, 0x5e, 0x38,       /* mov [rsi+0x38], r11 */
	0x8f, 0x46, 0x40,             /* pop qword [rsi+0x40] */
	0x5e,                         /* pop rsi */
	0x5b,                         /* pop rbx */
	0xc3,                         /* ret */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int bus_access(void *ctx, uint64_t gpa, unsigned size, int write, uint64_t *value)
{
	uint64_t *memory = ctx;

	if (gpa != FAULT_GPA || size > 8)
		abort(); /* a ModRM form reaches only the faulting address */
	if (write)
		memcpy(memory, value, size);
	else {
		*value = 0;
		memcpy(value, memory, size);
	}
	return 0;
}

static int bus_translate(void *ctx, enum mmio_seg seg, uint64_t offset, unsigned size, int write, uint64_t *gpa)
{
	(void)ctx, (void)seg, (void)offset, (void)size, (void)write, (void)gpa;
	abort(); /* no string instruction is generated */
}

/* The instruction's bytes for the case; returns their count. */
static size_t encode(const struct diff_case *c, uint8_t *out)
{
	const struct form *f = &forms[c->form % (sizeof(forms) / sizeof(forms[0]))];
	int rex = c->prefixes & (PREFIX_REX | PREFIX_REX_W | PREFIX_REX_R);
	int wide = c->prefixes & PREFIX_REX_W;
	unsigned reg = f->digit >= 0 ? (unsigned)f->digit : c->reg & (f->byte_reg && !rex ? 7 : 3);
	size_t n = 0, imm = 0;

	if (c->prefixes & PREFIX_66)
		out[n++] = 0x66;
	if (rex)
		out[n++] = (uint8_t)(0x40 | (wide ? 8 : 0) | (f->digit < 0 && (c->prefixes & PREFIX_REX_R) ? 4 : 0));
	memcpy(out + n, f->op, f->op_len);
	n += f->op_len;
	out[n++] = (uint8_t)(reg << 3 | MODRM_RDI);
	if (f->imm == IMM_8)
		imm = 1;
	else if (f->imm == IMM_Z)
		imm = (c->prefixes & PREFIX_66) && !wide ? 2 : 4;
	memcpy(out + n, c->imm, imm);
	return n + imm;
}

/* The host's run of the instruction, in an executable page written once per input. */
static void run_on_host(const uint8_t *insn, size_t len, uint64_t *memory, uint64_t *state)
{
	static uint8_t *page;
	size_t n = 0;

	if (!page) {
		page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (page == MAP_FAILED)
			abort();
	}
	memcpy(page, stub_head, sizeof(stub_head));
	n = sizeof(stub_head);
	memcpy(page + n, insn, len);
	n += len;
	memcpy(page + n, stub_tail, sizeof(stub_tail));
	__builtin___clear_cache((char *)page, (char *)page + n + sizeof(stub_tail));
	((void (*)(uint64_t *, uint64_t *))(void *)page)(memory, state);
}

/* The emulator's register file for the host's eight registers: RAX-RBX and R8-R11. */
static void load_emulator(struct mmio_cpu *cpu, uint64_t *gpr, const struct diff_case *c)
{
	unsigned i;

	memset(gpr, 0, 16 * sizeof(*gpr));
	cpu->gpr = gpr;
	for (i = 0; i < 4; i++) {
		cpu->gpr[i] = c->regs[i];
		cpu->gpr[8 + i] = c->regs[4 + i];
	}
	cpu->rip = 0x1000;
	cpu->rflags = 2 | (c->flags & ARITH_FLAGS);
	cpu->mode = MODE_64;
}

/* A disagreement: the instruction and both sides, for the crash report. */
static void mismatch(const uint8_t *insn, size_t len, const struct mmio_cpu *cpu, const uint64_t *state,
		     uint64_t emulated_memory, uint64_t host_memory)
{
	size_t i;

	fprintf(stderr, "instruction:");
	for (i = 0; i < len; i++)
		fprintf(stderr, " %02x", insn[i]);
	fprintf(stderr, "\n%-9s %16s %16s\n", "", "emulator", "host");
	for (i = 0; i < 4; i++) {
		fprintf(stderr, "reg %-5zu %016llx %016llx\n", i, (unsigned long long)cpu->gpr[i], (unsigned long long)state[i]);
		fprintf(stderr, "reg %-5zu %016llx %016llx\n", i + 8, (unsigned long long)cpu->gpr[8 + i],
			(unsigned long long)state[4 + i]);
	}
	fprintf(stderr, "memory    %016llx %016llx\nflags     %016llx %016llx\n", (unsigned long long)emulated_memory,
		(unsigned long long)host_memory, (unsigned long long)(cpu->rflags & ARITH_FLAGS),
		(unsigned long long)(state[HOST_REGS] & ARITH_FLAGS));
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t state[HOST_REGS + 1], host_memory, emulated_memory;
	const struct mmio_bus bus = { bus_access, bus_translate, &emulated_memory };
	struct diff_case c;
	struct mmio_cpu cpu;
	uint64_t gpr[16];
	uint8_t insn[16];
	size_t len;
	unsigned i;

	if (size < sizeof(c))
		return 0;
	memcpy(&c, data, sizeof(c));
	len = encode(&c, insn);
	memcpy(state, c.regs, sizeof(c.regs));
	state[HOST_REGS] = 2 | (c.flags & ARITH_FLAGS);
	host_memory = emulated_memory = c.memory;
	run_on_host(insn, len, &host_memory, state);

	load_emulator(&cpu, gpr, &c);
	if (mmio_emulate(&cpu, insn, len, FAULT_GPA, &bus) != MMIO_DONE || cpu.rip != 0x1000 + len)
		mismatch(insn, len, &cpu, state, emulated_memory, host_memory);
	for (i = 0; i < 4; i++)
		if (cpu.gpr[i] != state[i] || cpu.gpr[8 + i] != state[4 + i])
			mismatch(insn, len, &cpu, state, emulated_memory, host_memory);
	if (emulated_memory != host_memory || (cpu.rflags & ARITH_FLAGS) != (state[HOST_REGS] & ARITH_FLAGS))
		mismatch(insn, len, &cpu, state, emulated_memory, host_memory);
	return 0;
}
