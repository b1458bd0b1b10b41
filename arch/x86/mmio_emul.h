/*
 * Emulation of the instructions guests use on memory-mapped device
 * registers, for both backends: after a nested-page fault on an address
 * no RAM backs, the instruction at CS:RIP is decoded (decode.c) and done
 * here, the device access going through a callback. Pure computation, so
 * host-tested and fuzzed; bytes and registers are the guest's, never
 * trusted.
 *
 * Done: MOV (88, 89, 8A, 8B, C6 /0, C7 /0, moffs A0-A3), MOVZX and MOVSX
 * (0F B6, B7, BE, BF), MOVSXD (63, 64-bit mode), OR, AND, XOR, CMP (08-0B,
 * 20-23, 30-33, 38-3B and the 80, 81, 83 groups' /1, /4, /6, /7), TEST (84,
 * 85, F6 /0, F7 /0), STOS and MOVS (AA, AB, A4, A5) with or without REP.
 * Flags as the CPU sets them (SDM Vol. 2 for each instruction): CMP as a
 * subtraction; OR, AND, XOR and TEST clear CF and OF and, as Intel and AMD
 * processors do for this undefined flag, AF.
 *
 * A ModRM or moffs operand is the faulting guest-physical address (the
 * SDM and APM report the address of the access that faulted). A string
 * instruction has two, at ES:RDI and (MOVS) at seg:RSI, either of which
 * may be RAM: the caller translates them and routes each access by its
 * address. One iteration is done per call; under REP, RCX counts down and
 * RIP stays on the instruction until RCX reaches 0, so that the guest runs
 * it again (natively if it has moved on to RAM), as the CPU itself
 * resumes an interrupted REP. RSI and RDI move by the operand size, down
 * with RFLAGS.DF, and the counter and pointers are the address size's:
 * CX/SI/DI, ECX/ESI/EDI (zero-extended) or RCX/RSI/RDI.
 */
#ifndef ARCH_X86_MMIO_EMUL_H
#define ARCH_X86_MMIO_EMUL_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

/* Segment registers in encoding order (SDM Vol. 2A, 3.1.1.3, Sreg). */
enum mmio_seg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS };

/* gpr: the vCPU's own RAX..R15 in encoding order, read and written in place (no copies on the way). */
struct mmio_cpu {
	uint64_t *gpr;
	uint64_t rip, rflags;
	enum cpu_mode mode;
};

struct mmio_bus {
	/*
	 * An access of 1, 2, 4 or 8 bytes at gpa, never crossing a 4 KiB page;
	 * a read returns value in the low bytes. 0, or -1 when it cannot be done.
	 */
	int (*access)(void *ctx, uint64_t gpa, unsigned size, int write, uint64_t *value);
	/* String operands: the guest-physical address of seg:offset for size bytes; 0 or -1. */
	int (*translate)(void *ctx, enum mmio_seg seg, uint64_t offset, unsigned size, int write,
			 uint64_t *gpa);
	void *ctx;
};

enum mmio_result {
	MMIO_DONE,          /* emulated: registers, RFLAGS and RIP updated */
	MMIO_UNDECODABLE,   /* not an instruction: invalid, truncated or longer than 15 bytes */
	MMIO_UNSUPPORTED,   /* an instruction or form not emulated on memory */
	MMIO_CROSSES_PAGE,  /* the access spans two pages */
	MMIO_ACCESS_FAILED, /* the bus or a translation refused */
};

/* Emulates the instruction in bytes[0..len) that faulted on gpa, updating cpu. */
enum mmio_result mmio_emulate(struct mmio_cpu *cpu, const uint8_t *bytes, size_t len, uint64_t gpa,
			      const struct mmio_bus *bus);
/* The same for an instruction decoded already, in cpu->mode (a kept one: arch/x86/space.h). */
enum mmio_result mmio_emulate_insn(struct mmio_cpu *cpu, const struct insn *in, uint64_t gpa,
				   const struct mmio_bus *bus);

/* Why, in words, for a partition's stop reason. */
const char *mmio_result_name(enum mmio_result r);

#endif
