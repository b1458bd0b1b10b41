#include "mmio_emul.h"

#include "guest_walk.h"

#define FLAG_CF (1ull << 0)
#define FLAG_PF (1ull << 2)
#define FLAG_AF (1ull << 4)
#define FLAG_ZF (1ull << 6)
#define FLAG_SF (1ull << 7)
#define FLAG_DF (1ull << 10)
#define FLAG_OF (1ull << 11)
#define ARITH_FLAGS (FLAG_CF | FLAG_PF | FLAG_AF | FLAG_ZF | FLAG_SF | FLAG_OF)

#define REG_AX 0
#define REG_CX 1
#define REG_SI 6
#define REG_DI 7

#define PAGE_SIZE 4096u

enum alu { ALU_OR, ALU_AND, ALU_XOR, ALU_CMP, ALU_TEST };

struct emul {
	struct mmio_cpu *cpu;
	const struct mmio_bus *bus;
	const struct insn *in;
	uint64_t gpa;
	int again; /* a REP string instruction with iterations left: RIP stays */
};

static uint64_t mask_of(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static unsigned operand_size(const struct emul *e, int byte_op)
{
	return byte_op ? 1 : insn_operand_size(e->cpu->mode, e->in);
}

/* ModRM.reg with REX.R. */
static unsigned reg_field(const struct insn *in)
{
	return ((in->modrm >> 3) & 7) | (in->rex & 4 ? 8 : 0);
}

/* Without a REX prefix, byte registers 4-7 are AH, CH, DH, BH (SDM Vol. 2A, 3.1.1.1). */
static int high_byte(const struct insn *in, unsigned n, unsigned size)
{
	return size == 1 && !in->rex && n >= 4 && n < 8;
}

static uint64_t get_reg(const struct emul *e, unsigned n, unsigned size)
{
	if (high_byte(e->in, n, size))
		return (e->cpu->gpr[n - 4] >> 8) & 0xff;
	return e->cpu->gpr[n] & mask_of(size);
}

/* A 32-bit write zero-extends to 64 bits; 8- and 16-bit ones merge (SDM Vol. 1, 3.4.1.1). */
static void set_reg(struct emul *e, unsigned n, unsigned size, uint64_t value)
{
	uint64_t *r = &e->cpu->gpr[n];

	if (high_byte(e->in, n, size)) {
		r = &e->cpu->gpr[n - 4];
		*r = (*r & ~0xff00ull) | (value & 0xff) << 8;
	} else if (size == 4) {
		*r = (uint32_t)value;
	} else {
		*r = (*r & ~mask_of(size)) | (value & mask_of(size));
	}
}

static enum mmio_result access(const struct emul *e, uint64_t gpa, unsigned size, int write, uint64_t *value)
{
	if ((gpa & (PAGE_SIZE - 1)) + size > PAGE_SIZE)
		return MMIO_CROSSES_PAGE;
	if (!write)
		*value = 0;
	if (e->bus->access(e->bus->ctx, gpa, size, write, value))
		return MMIO_ACCESS_FAILED;
	*value &= mask_of(size);
	return MMIO_DONE;
}

static enum mmio_result load(const struct emul *e, unsigned size, uint64_t *value)
{
	return access(e, e->gpa, size, 0, value);
}

static enum mmio_result store(const struct emul *e, unsigned size, uint64_t value)
{
	return access(e, e->gpa, size, 1, &value);
}

static int parity_even(uint64_t v)
{
	uint8_t b = (uint8_t)v;

	b ^= b >> 4;
	b ^= b >> 2;
	b ^= b >> 1;
	return !(b & 1);
}

/* ZF, SF and PF (of the low byte only) of a result. */
static uint64_t result_flags(uint64_t r, unsigned size)
{
	r &= mask_of(size);
	return (r ? 0 : FLAG_ZF) | ((r >> (8 * size - 1)) & 1 ? FLAG_SF : 0) | (parity_even(r) ? FLAG_PF : 0);
}

/* CMP's flags are SUB's: CF the borrow, AF the borrow out of bit 3, OF a signed overflow. */
static uint64_t subtract_flags(uint64_t a, uint64_t b, unsigned size)
{
	uint64_t m = mask_of(size), r = (a - b) & m, sign = 1ull << (8 * size - 1);

	a &= m;
	b &= m;
	return result_flags(r, size) | (a < b ? FLAG_CF : 0) | ((a ^ b ^ r) & 0x10 ? FLAG_AF : 0) |
	       ((a ^ b) & (a ^ r) & sign ? FLAG_OF : 0);
}

/* Sets the arithmetic flags; returns the result, which CMP and TEST do not write. */
static uint64_t alu(struct emul *e, enum alu op, uint64_t a, uint64_t b, unsigned size)
{
	uint64_t r = op == ALU_OR ? a | b : op == ALU_XOR ? a ^ b : op == ALU_CMP ? a - b : a & b;
	uint64_t f = op == ALU_CMP ? subtract_flags(a, b, size) : result_flags(r, size);

	e->cpu->rflags = (e->cpu->rflags & ~ARITH_FLAGS) | f;
	return r & mask_of(size);
}

static int writes_result(enum alu op)
{
	return op != ALU_CMP && op != ALU_TEST;
}

/* op r/m, r (to_reg 0) or op r, r/m (to_reg 1). */
static enum mmio_result alu_with_reg(struct emul *e, enum alu op, int byte_op, int to_reg)
{
	unsigned size = operand_size(e, byte_op), n = reg_field(e->in);
	uint64_t m, r, reg = get_reg(e, n, size);
	enum mmio_result res = load(e, size, &m);

	if (res != MMIO_DONE)
		return res;
	r = to_reg ? alu(e, op, reg, m, size) : alu(e, op, m, reg, size);
	if (!writes_result(op))
		return MMIO_DONE;
	if (to_reg) {
		set_reg(e, n, size, r);
		return MMIO_DONE;
	}
	return store(e, size, r);
}

/* The immediate, sign-extended to the operand size (SDM Vol. 2A, 2.2.1.5 for 64 bits). */
static uint64_t immediate(const struct emul *e, unsigned size)
{
	return (uint64_t)insn_sign_extend(e->in->imm, e->in->imm_size) & mask_of(size);
}

static enum mmio_result alu_with_imm(struct emul *e, enum alu op, int byte_op)
{
	unsigned size = operand_size(e, byte_op);
	uint64_t m, r;
	enum mmio_result res = load(e, size, &m);

	if (res != MMIO_DONE)
		return res;
	r = alu(e, op, m, immediate(e, size), size);
	return writes_result(op) ? store(e, size, r) : MMIO_DONE;
}

/* 80, 81, 83: ADD, OR, ADC, SBB, AND, SUB, XOR, CMP by ModRM.reg; OR, AND, XOR and CMP are done. */
static enum mmio_result group1(struct emul *e)
{
	static const int ops[8] = { -1, ALU_OR, -1, -1, ALU_AND, -1, ALU_XOR, ALU_CMP };
	int op = ops[(e->in->modrm >> 3) & 7];

	if (op < 0)
		return MMIO_UNSUPPORTED;
	return alu_with_imm(e, (enum alu)op, e->in->opcode == 0x80);
}

static enum mmio_result mov_store_reg(struct emul *e, int byte_op)
{
	unsigned size = operand_size(e, byte_op);

	return store(e, size, get_reg(e, reg_field(e->in), size));
}

/* Loads size bytes into a register of dest_size bytes, zero- or sign-extended. */
static enum mmio_result mov_load(struct emul *e, unsigned n, unsigned size, unsigned dest_size, int sign)
{
	uint64_t m;
	enum mmio_result res = load(e, size, &m);

	if (res != MMIO_DONE)
		return res;
	set_reg(e, n, dest_size, sign ? (uint64_t)insn_sign_extend(m, size) : m);
	return MMIO_DONE;
}

/* MOV AL/eAX with moffs (A0-A3): the operand is the faulting address. */
static enum mmio_result mov_moffs(struct emul *e)
{
	unsigned size = operand_size(e, !(e->in->opcode & 1));

	if (e->in->opcode & 2)
		return store(e, size, get_reg(e, REG_AX, size));
	return mov_load(e, REG_AX, size, size, 0);
}

static enum mmio_seg segment_of(uint8_t prefix, enum mmio_seg fallback)
{
	switch (prefix) {
	case 0x26: return SEG_ES;
	case 0x2e: return SEG_CS;
	case 0x36: return SEG_SS;
	case 0x3e: return SEG_DS;
	case 0x64: return SEG_FS;
	case 0x65: return SEG_GS;
	default: return fallback;
	}
}

/* One string access at seg:offset, routed by the caller by its guest-physical address. */
static enum mmio_result string_access(const struct emul *e, enum mmio_seg seg, uint64_t offset, unsigned size,
				      int write, uint64_t *value)
{
	uint64_t gpa;

	if (e->bus->translate(e->bus->ctx, seg, offset, size, write, &gpa))
		return MMIO_ACCESS_FAILED;
	return access(e, gpa, size, write, value);
}

/* RSI or RDI moved by one element, at the address size. */
static void string_step(struct emul *e, unsigned n, unsigned asize, unsigned size)
{
	uint64_t r = e->cpu->gpr[n];

	set_reg(e, n, asize, e->cpu->rflags & FLAG_DF ? r - size : r + size);
}

/* STOS (AA, AB) and MOVS (A4, A5): one iteration (see mmio_emul.h). */
static enum mmio_result string_op(struct emul *e)
{
	unsigned size = operand_size(e, !(e->in->opcode & 1)), asize = insn_address_size(e->cpu->mode, e->in);
	uint64_t amask = mask_of(asize), count = e->cpu->gpr[REG_CX] & amask, value;
	int movs = e->in->opcode < 0xaa;
	enum mmio_result res;

	if (e->in->rep && count == 0)
		return MMIO_DONE; /* no iteration at all */
	value = get_reg(e, REG_AX, size);
	if (movs) {
		res = string_access(e, segment_of(e->in->seg, SEG_DS), e->cpu->gpr[REG_SI] & amask, size, 0, &value);
		if (res != MMIO_DONE)
			return res;
	}
	/* The destination is always ES:rDI: no override (SDM Vol. 2B, STOS and MOVS). */
	res = string_access(e, SEG_ES, e->cpu->gpr[REG_DI] & amask, size, 1, &value);
	if (res != MMIO_DONE)
		return res;
	if (movs)
		string_step(e, REG_SI, asize, size);
	string_step(e, REG_DI, asize, size);
	if (e->in->rep) {
		set_reg(e, REG_CX, asize, count - 1);
		e->again = count - 1 != 0;
	}
	return MMIO_DONE;
}

static int is_string(uint8_t op)
{
	return op == 0xa4 || op == 0xa5 || op == 0xaa || op == 0xab;
}

/* LOCK is legal only on a read-modify-write of memory (SDM Vol. 2B, LOCK): here OR, AND, XOR. */
static int lock_allowed(const struct insn *in)
{
	unsigned reg = (in->modrm >> 3) & 7;

	if (in->map != 0)
		return 0;
	if (in->opcode == 0x08 || in->opcode == 0x09 || in->opcode == 0x20 || in->opcode == 0x21 ||
	    in->opcode == 0x30 || in->opcode == 0x31)
		return 1;
	return (in->opcode == 0x80 || in->opcode == 0x81 || in->opcode == 0x83) &&
	       (reg == 1 || reg == 4 || reg == 6);
}

/* The forms with a ModRM operand: it must be memory, or nothing faulted. */
static enum mmio_result modrm_one_byte(struct emul *e)
{
	uint8_t op = e->in->opcode;
	enum alu kind = op < 0x10 ? ALU_OR : op < 0x30 ? ALU_AND : op < 0x38 ? ALU_XOR : ALU_CMP;
	unsigned size;

	switch (op) {
	case 0x08: case 0x09: case 0x0a: case 0x0b:
	case 0x20: case 0x21: case 0x22: case 0x23:
	case 0x30: case 0x31: case 0x32: case 0x33:
	case 0x38: case 0x39: case 0x3a: case 0x3b:
		return alu_with_reg(e, kind, !(op & 1), (op & 2) != 0);
	case 0x84: case 0x85:
		return alu_with_reg(e, ALU_TEST, op == 0x84, 0);
	case 0x80: case 0x81: case 0x83:
		return group1(e);
	case 0xf6: case 0xf7:
		return (e->in->modrm >> 3) & 7 ? MMIO_UNSUPPORTED : alu_with_imm(e, ALU_TEST, op == 0xf6);
	case 0x88: case 0x89:
		return mov_store_reg(e, op == 0x88);
	case 0x8a: case 0x8b:
		size = operand_size(e, op == 0x8a);
		return mov_load(e, reg_field(e->in), size, size, 0);
	case 0xc6: case 0xc7:
		if ((e->in->modrm >> 3) & 7)
			return MMIO_UNSUPPORTED;
		return store(e, operand_size(e, op == 0xc6), immediate(e, operand_size(e, op == 0xc6)));
	case 0x63: /* MOVSXD in 64-bit mode, ARPL elsewhere */
		if (e->cpu->mode != MODE_64)
			return MMIO_UNSUPPORTED;
		return mov_load(e, reg_field(e->in), operand_size(e, 0) == 8 ? 4 : operand_size(e, 0),
				operand_size(e, 0), 1);
	default:
		return MMIO_UNSUPPORTED;
	}
}

/* MOVZX and MOVSX (0F B6, B7, BE, BF): from a byte or a word. */
static enum mmio_result modrm_two_byte(struct emul *e)
{
	uint8_t op = e->in->opcode;

	if (op != 0xb6 && op != 0xb7 && op != 0xbe && op != 0xbf)
		return MMIO_UNSUPPORTED;
	return mov_load(e, reg_field(e->in), op & 1 ? 2 : 1, operand_size(e, 0), op >= 0xbe);
}

static enum mmio_result dispatch(struct emul *e)
{
	const struct insn *in = e->in;

	if (in->map == 0 && is_string(in->opcode))
		return in->lock ? MMIO_UNSUPPORTED : string_op(e);
	if (in->rep || (in->lock && !lock_allowed(in)))
		return MMIO_UNSUPPORTED; /* F2/F3 make other instructions of some; LOCK elsewhere is #UD */
	if (in->map == 0 && in->opcode >= 0xa0 && in->opcode <= 0xa3)
		return mov_moffs(e);
	if (!in->has_modrm || in->modrm >> 6 == 3)
		return MMIO_UNSUPPORTED; /* no memory operand: it cannot have faulted */
	if (in->map == 0)
		return modrm_one_byte(e);
	return in->map == 1 ? modrm_two_byte(e) : MMIO_UNSUPPORTED;
}

enum mmio_result mmio_emulate_insn(struct mmio_cpu *cpu, const struct insn *in, uint64_t gpa,
				   const struct mmio_bus *bus)
{
	struct emul e = { cpu, bus, in, gpa, 0 };
	enum mmio_result r = dispatch(&e);

	if (r == MMIO_DONE && !e.again)
		cpu->rip = guest_rip_advance(cpu->mode, cpu->rip, in->length);
	return r;
}

enum mmio_result mmio_emulate(struct mmio_cpu *cpu, const uint8_t *bytes, size_t len, uint64_t gpa,
			      const struct mmio_bus *bus)
{
	struct insn in;

	if (insn_decode(bytes, len, cpu->mode, &in))
		return MMIO_UNDECODABLE;
	return mmio_emulate_insn(cpu, &in, gpa, bus);
}

const char *mmio_result_name(enum mmio_result r)
{
	switch (r) {
	case MMIO_DONE: return "emulated";
	case MMIO_UNDECODABLE: return "not a valid instruction of at most 15 bytes";
	case MMIO_UNSUPPORTED: return "an instruction not emulated on MMIO";
	case MMIO_CROSSES_PAGE: return "an access crossing a page boundary";
	case MMIO_ACCESS_FAILED: return "an operand the hypervisor cannot reach";
	}
	return "?";
}
