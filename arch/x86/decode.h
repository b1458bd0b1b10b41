/*
 * x86 instruction decoder: prefixes, opcode, ModRM/SIB, displacement and
 * immediate, enough to know an instruction's length and its operands'
 * shape (Intel SDM Vol. 2A, chapter 2; opcode maps in Vol. 2D, appendix A).
 * It needs no NRIP save or decode assists, which QEMU's SVM lacks. Input
 * is guest memory and never trusted: it reads at most len bytes.
 */
#ifndef ARCH_X86_DECODE_H
#define ARCH_X86_DECODE_H

#include <stddef.h>
#include <stdint.h>

#define INSN_MAX 15 /* longer is #GP on real CPUs */

/* The code's default sizes: CS.L, else CS.D/B (SDM Vol. 3A, 3.4.5). */
enum cpu_mode { MODE_16, MODE_32, MODE_64 };

struct insn {
	unsigned length;
	unsigned map;       /* 0: one-byte, 1: 0F, 2: 0F 38, 3: 0F 3A */
	uint8_t opcode;
	uint8_t modrm;      /* valid when has_modrm */
	uint8_t has_modrm;
	uint8_t rex;        /* 0 when none */
	uint8_t opsize16;   /* 66 prefix: the other operand size (16, or 32 in 16-bit mode) */
	uint8_t addr_short; /* 67 prefix: the other address size (32 in 64-bit mode) */
	uint8_t rep;        /* F2 or F3, 0 when none */
	uint8_t lock;
	uint8_t seg;        /* the last segment-override prefix (26, 2E, 36, 3E, 64, 65); 0 when none */
	int64_t disp;
	uint64_t imm;
	unsigned imm_size;
};

/* 0 and *in filled when the bytes start a valid instruction; -1 if not. */
int insn_decode(const uint8_t *bytes, size_t len, enum cpu_mode mode, struct insn *in);

/* The operand size in bytes (2, 4 or 8) of a decoded instruction that is not a byte operation. */
unsigned insn_operand_size(enum cpu_mode mode, const struct insn *in);

/* The address size in bytes (2, 4 or 8): of the ModRM operand, moffs, and string registers. */
unsigned insn_address_size(enum cpu_mode mode, const struct insn *in);

/* v's low bytes (0 to 8) as a signed number. */
int64_t insn_sign_extend(uint64_t v, unsigned bytes);

#endif
