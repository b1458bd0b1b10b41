#include "decode.h"

/*
 * Immediate kinds for the one-byte map: b = 8 bits, z = 16/32 (operand
 * size), w = 16, v = 16/32/64 (B8-BF with REX.W), e = 16 then 8 (ENTER),
 * a = address-sized moffs (A0-A3), x = invalid in the modes we decode.
 */
enum { I_NONE, I_B, I_Z, I_W, I_V, I_E, I_A, I_X };

#define M 0x80 /* ORed into an entry: the opcode has a ModRM byte */

static const uint8_t one_byte[256] = {
	/* 00 */ M, M, M, M, I_B, I_Z, I_X, I_X, M, M, M, M, I_B, I_Z, I_X, 0,
	/* 10 */ M, M, M, M, I_B, I_Z, I_X, I_X, M, M, M, M, I_B, I_Z, I_X, I_X,
	/* 20 */ M, M, M, M, I_B, I_Z, 0, I_X, M, M, M, M, I_B, I_Z, 0, I_X,
	/* 30 */ M, M, M, M, I_B, I_Z, 0, I_X, M, M, M, M, I_B, I_Z, 0, I_X,
	/* 40 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 50 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 60 */ I_X, I_X, I_X, M, 0, 0, 0, 0, I_Z, M | I_Z, I_B, M | I_B, 0, 0, 0, 0,
	/* 70 */ I_B, I_B, I_B, I_B, I_B, I_B, I_B, I_B, I_B, I_B, I_B, I_B, I_B, I_B, I_B, I_B,
	/* 80 */ M | I_B, M | I_Z, I_X, M | I_B, M, M, M, M, M, M, M, M, M, M, M, M,
	/* 90 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, I_X, 0, 0, 0, 0, 0,
	/* A0 */ I_A, I_A, I_A, I_A, 0, 0, 0, 0, I_B, I_Z, 0, 0, 0, 0, 0, 0,
	/* B0 */ I_B, I_B, I_B, I_B, I_B, I_B, I_B, I_B, I_V, I_V, I_V, I_V, I_V, I_V, I_V, I_V,
	/* C0 */ M | I_B, M | I_B, I_W, 0, I_X, I_X, M | I_B, M | I_Z, I_E, 0, I_W, 0, 0, I_B, I_X, 0,
	/* D0 */ M, M, M, M, I_X, I_X, I_X, 0, M, M, M, M, M, M, M, M,
	/* E0 */ I_B, I_B, I_B, I_B, I_B, I_B, I_B, I_B, I_Z, I_Z, I_X, I_B, 0, 0, 0, 0,
	/* F0 */ 0, 0, 0, 0, 0, 0, M, M, 0, 0, 0, 0, 0, 0, M, M,
};

/* Outside 64-bit mode these differ: 40-4F are INC/DEC, 06/07 etc. are valid. */
static int valid_outside_64(uint8_t op)
{
	return op == 0x06 || op == 0x07 || op == 0x0e || op == 0x16 || op == 0x17 || op == 0x1e ||
	       op == 0x1f || op == 0x27 || op == 0x2f || op == 0x37 || op == 0x3f || op == 0x60 ||
	       op == 0x61 || op == 0x9a || op == 0xce || op == 0xd4 || op == 0xd5 || op == 0xea;
}

/* Two-byte (0F xx) opcodes without a ModRM byte. */
static int two_byte_no_modrm(uint8_t op)
{
	return (op >= 0x05 && op <= 0x09) || op == 0x0b || op == 0x0e || (op >= 0x30 && op <= 0x37) ||
	       op == 0x77 || (op >= 0x80 && op <= 0x8f) || op == 0xa0 || op == 0xa1 || op == 0xa2 ||
	       op == 0xa8 || op == 0xa9 || op == 0xaa || (op >= 0xc8 && op <= 0xcf);
}

static int two_byte_invalid(uint8_t op)
{
	return op == 0x04 || op == 0x0a || op == 0x0c || op == 0x24 || op == 0x25 || op == 0x26 ||
	       op == 0x27 || op == 0x36 || op == 0x39 || op == 0x3b || op == 0x3c || op == 0x3d ||
	       op == 0x3e || op == 0x3f || op == 0xff;
}

/* Intel CPUs ignore 66 on a Jcc in 64-bit mode (SDM Vol. 2A, Jcc): no exit decodes one. */
static unsigned two_byte_imm(uint8_t op, int short_operands)
{
	if ((op >= 0x70 && op <= 0x73) || op == 0xa4 || op == 0xac || op == 0xba || op == 0xc2 ||
	    (op >= 0xc4 && op <= 0xc6) || op == 0x0f)
		return 1;
	if (op >= 0x80 && op <= 0x8f)
		return short_operands ? 2 : 4; /* Jcc rel16/rel32 */
	return 0;
}

struct cursor {
	const uint8_t *p;
	size_t len, at;
};

static int next(struct cursor *c, uint8_t *b)
{
	if (c->at >= c->len || c->at >= INSN_MAX)
		return -1;
	*b = c->p[c->at++];
	return 0;
}

static int take(struct cursor *c, unsigned n, uint64_t *v)
{
	unsigned i;
	uint8_t b;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (next(c, &b))
			return -1;
		*v |= (uint64_t)b << (8 * i);
	}
	return 0;
}

/*
 * Default sizes: 16 bits in 16-bit mode, 32 elsewhere; 66 (operands) and
 * 67 (addresses) switch between 16 and 32, and in 64-bit mode 67 gives
 * 32-bit addresses (SDM Vol. 2A, 2.2.1 and Table 3-4).
 */
static int operand16(enum cpu_mode mode, const struct insn *in)
{
	return (mode == MODE_16) != (in->opsize16 != 0);
}

unsigned insn_operand_size(enum cpu_mode mode, const struct insn *in)
{
	if (in->rex & 8)
		return 8; /* REX.W wins over 66 (SDM Vol. 2A, 2.2.1.2) */
	return operand16(mode, in) ? 2 : 4;
}

unsigned insn_address_size(enum cpu_mode mode, const struct insn *in)
{
	if (mode == MODE_64)
		return in->addr_short ? 4 : 8;
	return (mode == MODE_16) != (in->addr_short != 0) ? 2 : 4;
}

int64_t insn_sign_extend(uint64_t v, unsigned bytes)
{
	unsigned shift = 64 - 8 * bytes;

	return bytes ? (int64_t)(v << shift) >> shift : 0;
}

static int prefixes(struct cursor *c, enum cpu_mode mode, struct insn *in, uint8_t *op)
{
	for (;;) {
		if (next(c, op))
			return -1;
		switch (*op) {
		case 0x66: in->opsize16 = 1; in->rex = 0; continue;
		case 0x67: in->addr_short = 1; in->rex = 0; continue;
		case 0xf2: case 0xf3: in->rep = *op; in->rex = 0; continue;
		case 0xf0: in->lock = 1; in->rex = 0; continue;
		case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65: in->seg = *op; in->rex = 0; continue;
		}
		/* REX counts only right before the opcode; a later prefix voids it. */
		if (mode == MODE_64 && (*op & 0xf0) == 0x40) {
			in->rex = *op;
			continue;
		}
		return 0;
	}
}

/* 16-bit addressing (SDM Vol. 2A, Table 2-1). */
static unsigned disp_size16(uint8_t modrm)
{
	unsigned mod = modrm >> 6, rm = modrm & 7;

	return mod == 1 ? 1 : mod == 2 || (mod == 0 && rm == 6) ? 2 : 0;
}

static int modrm_operand(struct cursor *c, enum cpu_mode mode, struct insn *in)
{
	unsigned mod, rm, disp = 0;
	uint64_t sib, d;

	if (next(c, &in->modrm))
		return -1;
	in->has_modrm = 1;
	mod = in->modrm >> 6;
	rm = in->modrm & 7;
	if (insn_address_size(mode, in) == 2) {
		disp = disp_size16(in->modrm);
	} else if (mod != 3) {
		if (rm == 4) {
			if (take(c, 1, &sib))
				return -1;
			if (mod == 0 && (sib & 7) == 5)
				disp = 4;
		}
		if (mod == 0 && rm == 5)
			disp = 4; /* RIP-relative in 64-bit mode, absolute in 32-bit */
		else if (mod == 1)
			disp = 1;
		else if (mod == 2)
			disp = 4;
	}
	if (take(c, disp, &d))
		return -1;
	in->disp = insn_sign_extend(d, disp);
	return 0;
}

static unsigned imm_size(uint8_t kind, enum cpu_mode mode, const struct insn *in)
{
	switch (kind) {
	case I_B: return 1;
	case I_W: return 2;
	case I_E: return 3;
	case I_Z: return insn_operand_size(mode, in) == 2 ? 2 : 4; /* REX.W over 66: imm32 */
	case I_V: return insn_operand_size(mode, in);
	case I_A: return insn_address_size(mode, in);
	default: return 0;
	}
}

static int one_byte_opcode(struct cursor *c, enum cpu_mode mode, struct insn *in)
{
	uint8_t entry = one_byte[in->opcode], kind = entry & 0x7f;

	if (mode != MODE_64 && valid_outside_64(in->opcode)) {
		if (in->opcode == 0x9a || in->opcode == 0xea)
			kind = I_X; /* far pointers: not decoded */
		else
			kind = in->opcode == 0xd4 || in->opcode == 0xd5 ? I_B : I_NONE; /* AAM, AAD */
	}
	if (mode != MODE_64 && in->opcode == 0x62) {
		entry = M; /* BOUND */
		kind = I_NONE;
	}
	if (kind == I_X || (mode == MODE_64 && (in->opcode == 0xc4 || in->opcode == 0xc5)))
		return -1; /* invalid, or VEX: not needed for exits we decode */
	if ((entry & M) && modrm_operand(c, mode, in))
		return -1;
	/* F6/F7 /0 and /1 (TEST) take an immediate; the others of the group do not. */
	if ((in->opcode == 0xf6 || in->opcode == 0xf7) && ((in->modrm >> 3) & 7) < 2)
		kind = in->opcode == 0xf6 ? I_B : I_Z;
	in->imm_size = imm_size(kind, mode, in);
	return take(c, in->imm_size, &in->imm);
}

static int escaped_opcode(struct cursor *c, enum cpu_mode mode, struct insn *in)
{
	uint8_t op;

	if (next(c, &op))
		return -1;
	if (op == 0x38 || op == 0x3a) {
		in->map = op == 0x38 ? 2 : 3;
		if (next(c, &in->opcode) || modrm_operand(c, mode, in))
			return -1;
		in->imm_size = in->map == 3 ? 1 : 0;
		return take(c, in->imm_size, &in->imm);
	}
	in->map = 1;
	in->opcode = op;
	if (two_byte_invalid(op))
		return -1;
	if (!two_byte_no_modrm(op) && modrm_operand(c, mode, in))
		return -1;
	in->imm_size = two_byte_imm(op, mode != MODE_64 && operand16(mode, in));
	return take(c, in->imm_size, &in->imm);
}

int insn_decode(const uint8_t *bytes, size_t len, enum cpu_mode mode, struct insn *in)
{
	struct cursor c = { bytes, len, 0 };
	struct insn zero = { 0 };

	*in = zero;
	if (prefixes(&c, mode, in, &in->opcode))
		return -1;
	if (in->opcode == 0x0f ? escaped_opcode(&c, mode, in) : one_byte_opcode(&c, mode, in))
		return -1;
	in->length = (unsigned)c.at;
	return 0;
}
