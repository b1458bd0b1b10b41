/* Instruction decoder: lengths and operand shapes of known encodings,
 * refusal of invalid, truncated and over-long input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"

struct sample {
	const char *text;
	enum cpu_mode mode;
	unsigned length; /* 0: must be refused */
	uint8_t bytes[16];
	size_t n;
};

#define S64(text, len, ...) { text, MODE_64, len, { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }) }
#define S32(text, len, ...) { text, MODE_32, len, { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }) }
#define S16(text, len, ...) { text, MODE_16, len, { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }) }

static const struct sample samples[] = {
	S64("cpuid", 2, 0x0f, 0xa2),
	S64("cpuid with redundant prefixes", 4, 0x2e, 0x66, 0x0f, 0xa2),
	S64("rdmsr", 2, 0x0f, 0x32),
	S64("wrmsr", 2, 0x0f, 0x30),
	S64("hlt", 1, 0xf4),
	S64("vmmcall", 3, 0x0f, 0x01, 0xd9),
	S64("vmcall", 3, 0x0f, 0x01, 0xc1),
	S64("xsetbv", 3, 0x0f, 0x01, 0xd1),
	S64("wbinvd", 2, 0x0f, 0x09),
	S64("out dx, al", 1, 0xee),
	S64("out 0x80, al", 2, 0xe6, 0x80),
	S64("rep outsb", 2, 0xf3, 0x6e),
	S64("mov eax, [rip+0x1234]", 6, 0x8b, 0x05, 0x34, 0x12, 0x00, 0x00),
	S64("mov rax, [rsp+8]", 5, 0x48, 0x8b, 0x44, 0x24, 0x08),
	S64("mov [rbx+rcx*4+0x12345678], edx", 7, 0x89, 0x94, 0x8b, 0x78, 0x56, 0x34, 0x12),
	S64("mov eax, [disp32] via SIB", 7, 0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12),
	S64("mov dword [rax], imm32", 6, 0xc7, 0x00, 0x78, 0x56, 0x34, 0x12),
	S64("mov word [rax], imm16", 5, 0x66, 0xc7, 0x00, 0x34, 0x12),
	S64("mov qword [rdi], imm32 (66 and REX.W: REX.W wins)", 8, 0x66, 0x48, 0xc7, 0x07, 1, 2, 3, 4),
	S64("add rax, imm32 (66 and REX.W)", 7, 0x66, 0x48, 0x05, 1, 2, 3, 4),
	S64("movabs rax, imm64", 10, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8),
	S64("mov eax, imm32", 5, 0xb8, 1, 2, 3, 4),
	S64("mov al, [moffs64]", 9, 0xa0, 1, 2, 3, 4, 5, 6, 7, 8),
	S64("mov al, [moffs32]", 6, 0x67, 0xa0, 1, 2, 3, 4),
	S64("test byte [rax], 1", 3, 0xf6, 0x00, 0x01),
	S64("not byte [rax]", 2, 0xf6, 0x10),
	S64("test dword [rax], imm32", 6, 0xf7, 0x00, 1, 2, 3, 4),
	S64("je rel32", 6, 0x0f, 0x84, 1, 2, 3, 4),
	S64("jmp rel8", 2, 0xeb, 0xfe),
	S64("call rel32", 5, 0xe8, 1, 2, 3, 4),
	S64("pshufd xmm0, xmm1, 0x1b", 5, 0x66, 0x0f, 0x70, 0xc1, 0x1b),
	S64("invept rax, [rcx]", 5, 0x66, 0x0f, 0x38, 0x80, 0x01),
	S64("roundsd xmm0, xmm1, 4", 6, 0x66, 0x0f, 0x3a, 0x0b, 0xc1, 0x04),
	S64("enter 0x10, 0", 4, 0xc8, 0x10, 0x00, 0x00),
	S64("ret imm16", 3, 0xc2, 0x08, 0x00),
	S64("lock add [rax], eax", 3, 0xf0, 0x01, 0x00),
	S64("rep movsb", 2, 0xf3, 0xa4),
	S64("REX voided by a later prefix", 3, 0x48, 0x66, 0x90),
	S64("ud2", 2, 0x0f, 0x0b),
	S64("movzx eax, byte [rbp-1]", 4, 0x0f, 0xb6, 0x45, 0xff),
	S64("shld eax, ebx, 4", 4, 0x0f, 0xa4, 0xd8, 0x04),
	S64("bt eax, 3", 4, 0x0f, 0xba, 0xe0, 0x03),
	S64("push imm8", 2, 0x6a, 0x10),
	S64("imul eax, [rbx], imm32", 6, 0x69, 0x03, 1, 2, 3, 4),
	S32("inc eax (32-bit)", 1, 0x40),
	S32("mov eax, [bp+0x10] (16-bit addressing)", 4, 0x67, 0x8b, 0x46, 0x10),
	S32("mov eax, [disp16]", 5, 0x67, 0x8b, 0x06, 0x34, 0x12),
	S32("mov eax, [disp32] (32-bit)", 6, 0x8b, 0x05, 1, 2, 3, 4),
	S32("aam 10", 2, 0xd4, 0x0a),
	S32("push es", 1, 0x06),
	S32("bound eax, [ebx]", 2, 0x62, 0x03),
	S32("je rel16 (66)", 5, 0x66, 0x0f, 0x84, 0x34, 0x12),
	S16("cpuid (16-bit)", 2, 0x0f, 0xa2),
	S16("rdmsr (16-bit)", 2, 0x0f, 0x32),
	S16("vmmcall (16-bit)", 3, 0x0f, 0x01, 0xd9),
	S16("hlt (16-bit)", 1, 0xf4),
	S16("out dx, al (16-bit)", 1, 0xee),
	S16("inc ax, not REX", 1, 0x40),
	S16("push es", 1, 0x06),
	S16("aad 10", 2, 0xd5, 0x0a),
	S16("mov ax, imm16", 3, 0xb8, 0x34, 0x12),
	S16("mov eax, imm32 (66)", 6, 0x66, 0xb8, 1, 2, 3, 4),
	S16("push imm16", 3, 0x68, 0x34, 0x12),
	S16("test ax, imm16", 3, 0xa9, 0x34, 0x12),
	S16("mov ax, [bx+si]", 2, 0x8b, 0x00),
	S16("mov ax, [bp+0x10]", 3, 0x8b, 0x46, 0x10),
	S16("mov ax, [bx+di+0x1234]", 4, 0x8b, 0x81, 0x34, 0x12),
	S16("mov ax, [disp16]", 4, 0x8b, 0x06, 0x34, 0x12),
	S16("mov ax, [esp+8] (67: 32-bit addressing, SIB)", 5, 0x67, 0x8b, 0x44, 0x24, 0x08),
	S16("mov eax, [disp32] (66 67)", 8, 0x66, 0x67, 0x8b, 0x05, 1, 2, 3, 4),
	S16("mov word [bx], imm16", 4, 0xc7, 0x07, 0x34, 0x12),
	S16("mov dword [bx], imm32 (66)", 7, 0x66, 0xc7, 0x07, 1, 2, 3, 4),
	S16("imul ax, [bx], imm16", 4, 0x69, 0x07, 0x34, 0x12),
	S16("mov al, [moffs16]", 3, 0xa0, 0x34, 0x12),
	S16("mov al, [moffs32] (67)", 6, 0x67, 0xa0, 1, 2, 3, 4),
	S16("jmp rel16", 3, 0xe9, 0x34, 0x12),
	S16("call rel32 (66)", 6, 0x66, 0xe8, 1, 2, 3, 4),
	S16("je rel16", 4, 0x0f, 0x84, 0x34, 0x12),
	S16("je rel32 (66)", 7, 0x66, 0x0f, 0x84, 1, 2, 3, 4),
	S16("bound ax, [bx]", 2, 0x62, 0x07),
	S16("enter 0x10, 0", 4, 0xc8, 0x10, 0x00, 0x00),
	S16("movzx ax, byte [bp-1]", 4, 0x0f, 0xb6, 0x46, 0xff),
	S16("o32 retf", 2, 0x66, 0xcb),
	S16("truncated disp16", 0, 0x8b, 0x06, 0x34),
	S16("truncated imm16", 0, 0xb8, 0x34),
	S64("push es is invalid in 64-bit mode", 0, 0x06),
	S64("VEX is not decoded", 0, 0xc5, 0xf8, 0x77),
	S64("0F FF is invalid", 0, 0x0f, 0xff),
	S64("truncated displacement", 0, 0x8b, 0x05, 0x34),
	S64("truncated immediate", 0, 0xb8, 1, 2),
	S64("prefixes only", 0, 0x66, 0x66, 0x66),
	S64("longer than 15 bytes", 0, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	    0x66, 0x66, 0x66, 0x0f, 0xa2),
	S64("empty", 0),
};

static void known_encodings(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct insn in;
		int r = insn_decode(samples[i].bytes, samples[i].n, samples[i].mode, &in);
		if (samples[i].length == 0 && r == 0)
			fail_msg("%s: accepted with length %u", samples[i].text, in.length);
		if (samples[i].length && (r != 0 || in.length != samples[i].length))
			fail_msg("%s: got %s length %u, want %u", samples[i].text, r ? "refused" : "",
				 r ? 0 : in.length, samples[i].length);
	}
}

static void operand_shapes(void **state)
{
	static const uint8_t mov[] = { 0x48, 0x89, 0x94, 0x8b, 0xf0, 0xff, 0xff, 0xff };
	static const uint8_t imm[] = { 0x66, 0xc7, 0x00, 0x34, 0x12 };
	struct insn in;

	(void)state;
	assert_int_equal(insn_decode(mov, sizeof(mov), MODE_64, &in), 0);
	assert_int_equal(in.rex, 0x48);
	assert_int_equal(in.opcode, 0x89);
	assert_int_equal(in.map, 0);
	assert_true(in.has_modrm);
	assert_int_equal(in.modrm, 0x94);
	assert_int_equal(in.disp, -16);
	assert_int_equal(insn_decode(imm, sizeof(imm), MODE_64, &in), 0);
	assert_true(in.opsize16);
	assert_int_equal(in.imm_size, 2);
	assert_int_equal(in.imm, 0x1234);
}

/* Every prefix of a valid instruction is refused, never over-read. */
static void no_read_past_the_end(void **state)
{
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct insn in;
		for (n = 0; samples[i].length && n < samples[i].length; n++)
			assert_int_not_equal(insn_decode(samples[i].bytes, n, samples[i].mode, &in), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_encodings),
		cmocka_unit_test(operand_shapes),
		cmocka_unit_test(no_read_past_the_end),
	};

	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
