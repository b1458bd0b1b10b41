/* libFuzzer target: the MMIO instruction emulator on arbitrary bytes,
 * registers, flags and modes. Every bus access must be of 1, 2, 4 or 8
 * bytes within one page, at most two per instruction (a read and a
 * write); ModRM and moffs forms touch only the faulting address; an
 * instruction that is emulated moves RIP by at most 15 bytes (or not at
 * all: a REP with iterations left), and a refusal changes nothing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mmio_emul.h"

#define FAULT_GPA 0xfee00ffcull /* 8-byte accesses would cross: they must be refused */

/* The registers as struct mmio_cpu held them before it pointed at a vCPU's: the corpus keeps its meaning. */
struct fuzz_state {
	uint64_t gpr[16], rip, rflags;
	unsigned mode;
	uint64_t device, translated;
	uint8_t fail_mask;
};

struct fuzz_bus {
	const struct fuzz_state *s;
	unsigned accesses, translations;
	int string;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_access(void *ctx, uint64_t gpa, unsigned size, int write, uint64_t *value)
{
	struct fuzz_bus *b = ctx;

	if ((size != 1 && size != 2 && size != 4 && size != 8) || (gpa & 0xfff) + size > 0x1000)
		abort();
	if (++b->accesses > 2)
		abort();
	if (!b->string && gpa != FAULT_GPA)
		abort(); /* a one-operand form reaches only the faulting address */
	if (b->s->fail_mask & (1u << b->accesses))
		return -1;
	if (!write)
		*value = b->s->device;
	return 0;
}

static int fuzz_translate(void *ctx, enum mmio_seg seg, uint64_t offset, unsigned size, int write, uint64_t *gpa)
{
	struct fuzz_bus *b = ctx;

	(void)write;
	if (seg > SEG_GS || (size != 1 && size != 2 && size != 4 && size != 8) || ++b->translations > 2)
		abort();
	b->string = 1;
	if (b->s->fail_mask & (0x10u << b->translations))
		return -1;
	*gpa = offset + b->s->translated;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_state s;
	struct fuzz_bus b = { &s, 0, 0, 0 };
	const struct mmio_bus bus = { fuzz_access, fuzz_translate, &b };
	struct mmio_cpu cpu, before;
	uint64_t gpr_before[16];
	enum mmio_result r;
	uint8_t *bytes;
	size_t n;

	if (size < sizeof(s))
		return 0;
	memcpy(&s, data, sizeof(s));
	cpu = (struct mmio_cpu){ s.gpr, s.rip, s.rflags, (enum cpu_mode)(s.mode % 3) };
	before = cpu;
	memcpy(gpr_before, s.gpr, sizeof(gpr_before));
	n = size - sizeof(s);
	bytes = malloc(n ? n : 1); /* an exact-size copy: reading past it is caught */
	if (!bytes)
		return 0;
	memcpy(bytes, data + sizeof(s), n);
	r = mmio_emulate(&cpu, bytes, n, FAULT_GPA, &bus);
	free(bytes);
	if (r == MMIO_DONE) {
		uint64_t moved = cpu.rip - before.rip;
		if (before.mode != MODE_64)
			moved = (uint32_t)moved;
		if (moved > 15 || (moved == 0 && !b.string))
			abort();
	} else if (r == MMIO_UNSUPPORTED || r == MMIO_UNDECODABLE) {
		if (memcmp(&cpu, &before, sizeof(before)) || memcmp(s.gpr, gpr_before, sizeof(gpr_before)) || b.accesses)
			abort();
	}
	return 0;
}
