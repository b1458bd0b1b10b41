/*
 * MMIO emulation, instruction form by form, on registers that read back
 * what is written: the I/O APIC's IOREGSEL (its 8-bit index; wider
 * accesses read the upper bytes as 0, writes of them vanish) and one
 * redirection entry through IOWIN, masked (32-bit accesses only; 82093AA
 * datasheet, 3.0). Each form runs once on RAM laid out the same and once
 * on the register: the registers, the arithmetic flags and the value
 * left must agree. Every form runs in 64-bit mode, and those without
 * REX.W again in 32-bit protected mode with paging off, where Multiboot
 * kernels live.
 */
#include <stdint.h>

#include "lib/fmt.h"
#include "lib/str.h"
#include "platform.h"

#define ARITH_FLAGS 0x8d5ull /* OF SF ZF AF PF CF */
#define IOREGSEL 0x00
#define IOWIN 0x10
#define RTE_MASKED_EDGE 0x000100a5u

/* The block entry.asm's run_form64/run_form32 load and store. */
struct form_regs {
	uint64_t rax, rcx, rsi, rdi, rbx, rflags, code;
};

void run_form64(struct form_regs *r);
void run_form32(void);

enum where { AT_RBX, STR_IN, STR_OUT, STOS, MOFFS };
enum target { SEL, WIN, WIN_HIGH };

struct form {
	const char *group, *name;
	const char *code;
	uint8_t len, where, target, only64;
	uint32_t init;          /* the register's value before */
	uint64_t rax, rcx;      /* for STR_OUT, rax is what the RAM side holds */
	int8_t offset;          /* the pointer's distance from the register */
};

#define CODE(s) .code = s, .len = sizeof(s) - 1
#define SELF(g, n, c, ...) { .group = g, .name = n, CODE(c), .init = 0x5a, __VA_ARGS__ }
#define RTE(n, c, ...) { .group = "rte", .name = n, CODE(c), .target = WIN, .init = RTE_MASKED_EDGE, __VA_ARGS__ }
#define RAX 0x1111111111111111ull

/* SELF and RTE give defaults that a row may override. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
static const struct form forms[] = {
	SELF("mov", "st8", "\x88\x03", .rax = 0x1111111111111133ull),
	SELF("mov", "st16", "\x66\x89\x03", .rax = 0x1111111111110034ull),
	SELF("mov", "st32", "\x89\x03", .rax = 0x1111111100000035ull),
	SELF("mov", "st64", "\x48\x89\x03", .rax = 0x36, .only64 = 1),
	SELF("mov", "st8_imm", "\xc6\x03\x37"),
	SELF("mov", "st16_imm", "\x66\xc7\x03\x38\x00"),
	SELF("mov", "st32_imm", "\xc7\x03\x39\x00\x00\x00"),
	SELF("mov", "st64_imm", "\x48\xc7\x03\x3a\x00\x00\x00", .only64 = 1),
	SELF("mov", "ld8", "\x8a\x03", .rax = RAX),
	SELF("mov", "ld16", "\x66\x8b\x03", .rax = RAX),
	SELF("mov", "ld32", "\x8b\x03", .rax = RAX),
	SELF("mov", "ld64", "\x48\x8b\x03", .rax = RAX, .only64 = 1),
	SELF("mov", "ld32_ecx_disp8", "\x8b\x4b\x10", .rcx = RAX, .offset = -0x10),
	SELF("mov", "ld32_sib", "\x8b\x04\x0b", .rax = RAX, .rcx = 0),
	SELF("movx", "movzx8", "\x0f\xb6\x03", .rax = RAX, .init = 0x85),
	SELF("movx", "movzx16", "\x0f\xb7\x03", .rax = RAX, .init = 0x85),
	SELF("movx", "movsx8", "\x0f\xbe\x03", .rax = RAX, .init = 0x85),
	SELF("movx", "movsx16", "\x0f\xbf\x03", .rax = RAX, .init = 0x85),
	SELF("movx", "movsx8_16", "\x66\x0f\xbe\x03", .rax = RAX, .init = 0x85),
	SELF("movx", "movzx8_64", "\x48\x0f\xb6\x03", .rax = RAX, .init = 0x85, .only64 = 1),
	SELF("movx", "movsx8_64", "\x48\x0f\xbe\x03", .rax = RAX, .init = 0x85, .only64 = 1),
	SELF("movx", "movsxd", "\x48\x63\x03", .rax = RAX, .init = 0x85, .only64 = 1),
	SELF("moffs", "ld8", "\xa0", .where = MOFFS, .rax = RAX),
	SELF("moffs", "ld16", "\x66\xa1", .where = MOFFS, .rax = RAX),
	SELF("moffs", "ld32", "\xa1", .where = MOFFS, .rax = RAX),
	SELF("moffs", "ld64", "\x48\xa1", .where = MOFFS, .rax = RAX, .only64 = 1),
	SELF("moffs", "st8", "\xa2", .where = MOFFS, .rax = 0x3b),
	SELF("moffs", "st16", "\x66\xa3", .where = MOFFS, .rax = 0x3c),
	SELF("moffs", "st32", "\xa3", .where = MOFFS, .rax = 0x3d),
	SELF("moffs", "st64", "\x48\xa3", .where = MOFFS, .rax = 0x3e, .only64 = 1),
	SELF("string", "stosb", "\xaa", .where = STOS, .rax = 0x41),
	SELF("string", "stosw", "\x66\xab", .where = STOS, .rax = 0x42),
	SELF("string", "stosd", "\xab", .where = STOS, .rax = 0x43),
	SELF("string", "stosq", "\x48\xab", .where = STOS, .rax = 0x44, .only64 = 1),
	SELF("string", "rep_stosb", "\xf3\xaa", .where = STOS, .rax = 0x45, .rcx = 4),
	SELF("string", "std_rep_stosb", "\xfd\xf3\xaa\xfc", .where = STOS, .rax = 0x46, .rcx = 4, .offset = 3),
	SELF("string", "rep_stosd", "\xf3\xab", .where = STOS, .rax = 0x47, .rcx = 1),
	SELF("string", "movsb_in", "\xa4", .where = STR_IN),
	SELF("string", "movsw_in", "\x66\xa5", .where = STR_IN),
	SELF("string", "movsd_in", "\xa5", .where = STR_IN),
	SELF("string", "movsq_in", "\x48\xa5", .where = STR_IN, .only64 = 1),
	SELF("string", "rep_movsb_in", "\xf3\xa4", .where = STR_IN, .rcx = 4),
	SELF("string", "movsb_out", "\xa4", .where = STR_OUT, .rax = 0x48),
	SELF("string", "movsd_out", "\xa5", .where = STR_OUT, .rax = 0x49),
	SELF("string", "movsq_out", "\x48\xa5", .where = STR_OUT, .rax = 0x4a, .only64 = 1),
	SELF("string", "rep_movsb_out", "\xf3\xa4", .where = STR_OUT, .rax = 0x4b, .rcx = 4),
	SELF("alu", "or8_imm", "\x80\x0b\x21"),
	SELF("alu", "and8_imm", "\x80\x23\x0f"),
	SELF("alu", "and8_zero", "\x80\x23\x00"),
	SELF("alu", "xor8_imm", "\x80\x33\xff"),
	SELF("alu", "xor8_sign", "\x80\x33\x80"),
	SELF("alu", "or32_reg", "\x09\x03", .rax = 0x01),
	SELF("alu", "and32_reg", "\x21\x03", .rax = 0xf0),
	SELF("alu", "xor16_reg", "\x66\x31\x03", .rax = 0x0f),
	SELF("alu", "or64_reg", "\x48\x09\x03", .rax = 0x80, .only64 = 1),
	SELF("alu", "and16_imm", "\x66\x81\x23\xf0\x00"),
	SELF("alu", "xor32_imm", "\x81\x33\xff\x00\x00\x00"),
	SELF("alu", "or32_imm8", "\x83\x0b\x04"),
	SELF("alu", "and_to_reg", "\x23\x03", .rax = 0x0f),
	SELF("alu", "or_to_reg", "\x0b\x03", .rax = 0x100),
	SELF("alu", "xor_to_reg", "\x33\x03", .rax = 0x5a),
	SELF("alu", "lock_or", "\xf0\x09\x03", .rax = 0x20),
	SELF("alu", "lock_and_imm8", "\xf0\x83\x23\x0f"),
	SELF("test_cmp", "test8_imm", "\xf6\x03\x40"),
	SELF("test_cmp", "test8_zero", "\xf6\x03\x80"),
	SELF("test_cmp", "test32_reg", "\x85\x03", .rax = 0xa5),
	SELF("test_cmp", "test32_imm", "\xf7\x03\x02\x00\x00\x00"),
	SELF("test_cmp", "test64_reg", "\x48\x85\x03", .rax = ~0ull, .only64 = 1),
	SELF("test_cmp", "cmp8_equal", "\x80\x3b\x5a"),
	SELF("test_cmp", "cmp8_below", "\x80\x3b\x60"),
	SELF("test_cmp", "cmp8_overflow", "\x80\x3b\x10", .init = 0x85),
	SELF("test_cmp", "cmp32_imm8", "\x83\x3b\x10"),
	SELF("test_cmp", "cmp32_mem_reg", "\x39\x03", .rax = 0x5a),
	SELF("test_cmp", "cmp32_reg_mem", "\x3b\x03", .rax = 0x10),
	SELF("test_cmp", "cmp16_imm", "\x66\x81\x3b\x00\x01"),
	SELF("test_cmp", "cmp8_reg", "\x38\x03", .rax = 0xff),
	SELF("test_cmp", "cmp64_reg", "\x48\x39\x03", .rax = 0x5b, .only64 = 1),
	RTE("st32", "\x89\x03", .rax = 0x0001805a),
	RTE("ld32", "\x8b\x03", .rax = RAX),
	RTE("or32_imm", "\x81\x0b\x00\x80\x00\x00"),
	RTE("and32_imm", "\x81\x23\xf0\xff\xff\xff"),
	RTE("xor32_imm8", "\x83\x33\x0f"),
	RTE("test32_imm", "\xf7\x03\x00\x00\x01\x00"),
	RTE("cmp32_imm", "\x81\x3b\xa5\x00\x01\x00"),
	RTE("stosd", "\xab", .where = STOS, .rax = 0x000100b6),
	RTE("movsd_in", "\xa5", .where = STR_IN),
	RTE("movsd_out", "\xa5", .where = STR_OUT, .rax = 0x000100c7),
	RTE("moffs_ld32", "\xa1", .where = MOFFS, .rax = RAX),
	RTE("moffs_st32", "\xa3", .where = MOFFS, .rax = 0x000100d8),
	RTE("dest_st32", "\x89\x03", .target = WIN_HIGH, .init = 0x12000000, .rax = 0xab000000),
	RTE("dest_or32", "\x81\x0b\x00\x00\x00\xcd", .target = WIN_HIGH, .init = 0x12000000),
};
#pragma GCC diagnostic pop

static const char *const groups[] = { "mov", "movx", "moffs", "string", "alu", "test_cmp", "rte" };

static uint64_t ram_cell[2] __attribute__((aligned(16)));
static uint64_t scratch[2] __attribute__((aligned(16)));
static uint8_t code_buf[32] __attribute__((aligned(16)));
static unsigned rte_index;

/* What the run left: the registers (pointers as distances from where they started) and the value. */
struct outcome {
	struct form_regs r;
	uint64_t value, scratch;
};

static uint32_t width_mask(const struct form *f)
{
	return f->target == SEL ? 0xff : 0xffffffffu;
}

static uint64_t prepare(const struct form *f, int on_mmio)
{
	unsigned reg = rte_index + (f->target == WIN_HIGH);

	ram_cell[0] = f->init;
	ram_cell[1] = 0;
	scratch[0] = f->where == STR_OUT ? f->rax : 0;
	scratch[1] = 0;
	if (!on_mmio)
		return (uintptr_t)ram_cell;
	if (f->target == SEL) {
		mmio_write32(pf.ioapic_addr + IOREGSEL, f->init);
		return pf.ioapic_addr + IOREGSEL;
	}
	ioapic_write(reg, f->init);
	return pf.ioapic_addr + IOWIN;
}

static void build_code(const struct form *f, int bits, uint64_t target)
{
	unsigned n = f->len, i;

	for (i = 0; i < n; i++)
		code_buf[i] = (uint8_t)f->code[i];
	if (f->where == MOFFS)
		for (i = 0; i < (unsigned)bits / 8; i++)
			code_buf[n++] = (uint8_t)(target >> (8 * i));
	code_buf[n] = 0xc3; /* RET */
}

static void run(const struct form *f, int bits, int on_mmio, struct outcome *o)
{
	uint64_t target = prepare(f, on_mmio), at = target + (uint64_t)(int64_t)f->offset, buf = (uintptr_t)scratch;
	struct form_regs *r = &o->r;

	build_code(f, bits, target);
	*r = (struct form_regs){ .rax = f->where == STR_OUT ? 0 : f->rax, .rcx = f->rcx, .rflags = 2,
				 .code = (uintptr_t)code_buf };
	r->rbx = f->where == AT_RBX ? at : 0;
	r->rsi = f->where == STR_IN ? at : f->where == STR_OUT ? buf : 0;
	r->rdi = f->where == STR_IN ? buf : f->where == STR_OUT || f->where == STOS ? at : 0;
	if (bits == 64)
		run_form64(r);
	else
		call32((uint32_t)(uintptr_t)run_form32, (uint32_t)(uintptr_t)r);
	r->rbx -= f->where == AT_RBX ? target : 0;
	r->rsi -= f->where == STR_IN ? target : f->where == STR_OUT ? buf : 0;
	r->rdi -= f->where == STR_IN ? buf : f->where == STR_OUT || f->where == STOS ? target : 0;
	r->rflags &= ARITH_FLAGS;
	o->scratch = scratch[0];
	if (!on_mmio)
		o->value = ram_cell[0] & width_mask(f);
	else if (f->target == SEL)
		o->value = mmio_read32(pf.ioapic_addr + IOREGSEL) & 0xff;
	else
		o->value = ioapic_read(rte_index + (f->target == WIN_HIGH));
}

/* 1 if the form did on MMIO what it did on RAM; else 0, with what differed in why. */
static int same(const struct form *f, int bits, char *why, unsigned size)
{
	struct outcome ram, mmio;
	const struct form_regs *a = &ram.r, *b = &mmio.r;

	run(f, bits, 0, &ram);
	run(f, bits, 1, &mmio);
	if (a->rax == b->rax && a->rcx == b->rcx && a->rsi == b->rsi && a->rdi == b->rdi && a->rbx == b->rbx &&
	    a->rflags == b->rflags && ram.value == mmio.value && ram.scratch == mmio.scratch)
		return 1;
	fmt(why, size, "%s: value 0x%llx/0x%llx rax 0x%llx/0x%llx flags 0x%llx/0x%llx rcx %llu/%llu (mmio/ram)",
	    f->name, (unsigned long long)mmio.value, (unsigned long long)ram.value, (unsigned long long)b->rax,
	    (unsigned long long)a->rax, (unsigned long long)b->rflags, (unsigned long long)a->rflags,
	    (unsigned long long)b->rcx, (unsigned long long)a->rcx);
	return 0;
}

static void check_group(const char *group, int bits)
{
	unsigned i, n = 0, ok = 0;
	char name[32], why[160] = "";

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (!str_eq(forms[i].group, group) || (bits == 32 && forms[i].only64))
			continue;
		n++;
		ok += (unsigned)same(&forms[i], bits, why, why[0] ? 0 : sizeof(why));
	}
	fmt(name, sizeof(name), "mmio%d_%s", bits, group);
	report(name, ok == n ? PASS : FAIL, "%u/%u forms as on RAM at 0x%llx%s%s", ok, n,
	       (unsigned long long)pf.ioapic_addr, why[0] ? "; first bad " : "", why);
}

void check_mmio(void)
{
	unsigned g, max_pin;
	uint32_t low, high;

	if (!pf.ioapic_addr) {
		report("mmio", FAIL, "no I/O APIC in the MADT to test on");
		return;
	}
	max_pin = ioapic_read(1) >> 16 & 0xff;
	rte_index = 0x10 + 2 * max_pin; /* the last pin: no ISA interrupt uses it */
	low = ioapic_read(rte_index);
	high = ioapic_read(rte_index + 1);
	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		check_group(groups[g], 64);
		check_group(groups[g], 32);
	}
	ioapic_write(rte_index + 1, high);
	ioapic_write(rte_index, low);
}
