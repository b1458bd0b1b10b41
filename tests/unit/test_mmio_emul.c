/* MMIO instruction emulator: a table of encodings with the registers,
 * flags, bus accesses and RIP each must leave, in 16-, 32- and 64-bit
 * code, and the forms it must refuse without touching the bus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mmio_emul.h"

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

#define G 0xfee00010ull            /* the faulting address of ModRM and moffs forms */
#define D 0x8899aabbccddeeffull    /* what the fake device reads as */
#define START_RIP 0x1000ull
#define FLAGS_IN 0x2ull            /* bit 1 is always set */
#define CF 0x1ull
#define PF 0x4ull
#define AF 0x10ull
#define ZF 0x40ull
#define SF 0x80ull
#define DF 0x400ull
#define OF 0x800ull

/* Every register starts as 0xa0a0...a0NN, NN its number, unless a case sets it. */
static uint64_t initial(unsigned n)
{
	return 0xa0a0a0a0a0a0a000ull | n;
}

struct reg_value {
	unsigned reg1; /* register number + 1; 0 ends the list */
	uint64_t value;
};

struct access {
	uint64_t gpa;
	unsigned size;
	int write;
	uint64_t value; /* written (reads are not compared) */
};

struct mcase {
	const char *text;
	enum cpu_mode mode;
	uint8_t bytes[20];
	size_t n;
	uint64_t gpa;              /* 0: G */
	uint64_t device;           /* what reads return */
	uint64_t flags_in;         /* 0: FLAGS_IN */
	struct reg_value set[3];   /* registers before */
	enum mmio_result result;
	unsigned advance;          /* of RIP when emulated; 0 with MMIO_DONE: RIP stays (REP) */
	struct reg_value want[3];  /* registers that change; all others must not */
	uint64_t flags;            /* RFLAGS after; 0: unchanged */
	struct access acc[2];
	unsigned nacc;
	int bus_fails;
};

#define B(...) .bytes = { __VA_ARGS__ }, .n = sizeof((uint8_t[]){ __VA_ARGS__ })
#define R(r, v) { (r) + 1, (v) }
#define W(a, s, v) { (a), (s), 1, (v) }
#define RD(a, s) { (a), (s), 0, 0 }
#define ONE(x) .acc = { x }, .nacc = 1
#define TWO(x, y) .acc = { x, y }, .nacc = 2

static const struct mcase cases[] = {
	/* MOV stores from registers */
	{ "mov [rax], cl", MODE_64, B(0x88, 0x08), .advance = 2, ONE(W(G, 1, 0x01)) },
	{ "mov [rax], ch", MODE_64, B(0x88, 0x28), .advance = 2, ONE(W(G, 1, 0xa0)) },
	{ "mov [rax], bpl (REX: not CH)", MODE_64, B(0x40, 0x88, 0x28), .advance = 3, ONE(W(G, 1, 0x05)) },
	{ "mov [rax], r8b", MODE_64, B(0x44, 0x88, 0x00), .advance = 3, ONE(W(G, 1, 0x08)) },
	{ "mov [rax], ecx", MODE_64, B(0x89, 0x08), .advance = 2, ONE(W(G, 4, 0xa0a0a001)) },
	{ "mov [rax], cx", MODE_64, B(0x66, 0x89, 0x08), .advance = 3, ONE(W(G, 2, 0xa001)) },
	{ "mov [rax], rcx", MODE_64, B(0x48, 0x89, 0x08), .advance = 3, ONE(W(G, 8, 0xa0a0a0a0a0a0a001)) },
	{ "mov [rax], r15", MODE_64, B(0x4c, 0x89, 0x38), .advance = 3, ONE(W(G, 8, 0xa0a0a0a0a0a0a00f)) },
	{ "mov [r9], r10d (REX.B, REX.R)", MODE_64, B(0x45, 0x89, 0x11), .advance = 3, ONE(W(G, 4, 0xa0a0a00a)) },
	{ "mov [disp32], ecx via SIB", MODE_64, B(0x89, 0x0c, 0x25, 0x10, 0x00, 0xe0, 0xfe), .advance = 7,
	  ONE(W(G, 4, 0xa0a0a001)) },
	{ "mov [rip+0], ecx", MODE_64, B(0x89, 0x0d, 0, 0, 0, 0), .advance = 6, ONE(W(G, 4, 0xa0a0a001)) },
	{ "mov [rax+0x10], edx", MODE_64, B(0x89, 0x50, 0x10), .advance = 3, ONE(W(G, 4, 0xa0a0a002)) },
	{ "mov [rbx+rsi*4+0x100], eax (REX.X)", MODE_64, B(0x42, 0x89, 0x84, 0xb3, 0, 1, 0, 0), .advance = 8,
	  ONE(W(G, 4, 0xa0a0a000)) },
	{ "mov fs:[rax], ecx (the override changes no gpa)", MODE_64, B(0x64, 0x89, 0x08), .advance = 3,
	  ONE(W(G, 4, 0xa0a0a001)) },
	/* MOV loads */
	{ "mov cl, [rax]", MODE_64, B(0x8a, 0x08), .device = D, .advance = 2, .want = { R(RCX, 0xa0a0a0a0a0a0a0ff) },
	  ONE(RD(G, 1)) },
	{ "mov ch, [rax]", MODE_64, B(0x8a, 0x28), .device = D, .advance = 2, .want = { R(RCX, 0xa0a0a0a0a0a0ff01) },
	  ONE(RD(G, 1)) },
	{ "mov sil, [rax]", MODE_64, B(0x40, 0x8a, 0x30), .device = D, .advance = 3,
	  .want = { R(RSI, 0xa0a0a0a0a0a0a0ff) }, ONE(RD(G, 1)) },
	{ "mov ecx, [rax] zero-extends", MODE_64, B(0x8b, 0x08), .device = D, .advance = 2,
	  .want = { R(RCX, 0xccddeeff) }, ONE(RD(G, 4)) },
	{ "mov cx, [rax] merges", MODE_64, B(0x66, 0x8b, 0x08), .device = D, .advance = 3,
	  .want = { R(RCX, 0xa0a0a0a0a0a0eeff) }, ONE(RD(G, 2)) },
	{ "mov rcx, [rax]", MODE_64, B(0x48, 0x8b, 0x08), .device = D, .advance = 3, .want = { R(RCX, D) },
	  ONE(RD(G, 8)) },
	{ "mov r11, [rax]", MODE_64, B(0x4c, 0x8b, 0x18), .device = D, .advance = 3, .want = { R(R11, D) },
	  ONE(RD(G, 8)) },
	{ "mov r12d, [rax]", MODE_64, B(0x44, 0x8b, 0x20), .device = D, .advance = 3,
	  .want = { R(R12, 0xccddeeff) }, ONE(RD(G, 4)) },
	{ "rex.w 66 mov: 64 bits win", MODE_64, B(0x66, 0x48, 0x8b, 0x08), .device = D, .advance = 4,
	  .want = { R(RCX, D) }, ONE(RD(G, 8)) },
	/* MOV immediates */
	{ "mov byte [rax], 0x5a", MODE_64, B(0xc6, 0x00, 0x5a), .advance = 3, ONE(W(G, 1, 0x5a)) },
	{ "mov dword [rax], 0x12345678", MODE_64, B(0xc7, 0x00, 0x78, 0x56, 0x34, 0x12), .advance = 6,
	  ONE(W(G, 4, 0x12345678)) },
	{ "mov word [rax], 0x1234", MODE_64, B(0x66, 0xc7, 0x00, 0x34, 0x12), .advance = 5, ONE(W(G, 2, 0x1234)) },
	{ "mov qword [rax], -0x80000000 sign-extends", MODE_64, B(0x48, 0xc7, 0x00, 0, 0, 0, 0x80), .advance = 7,
	  ONE(W(G, 8, 0xffffffff80000000)) },
	/* MOVZX, MOVSX, MOVSXD */
	{ "movzx ecx, byte [rax]", MODE_64, B(0x0f, 0xb6, 0x08), .device = D, .advance = 3, .want = { R(RCX, 0xff) },
	  ONE(RD(G, 1)) },
	{ "movzx ecx, word [rax]", MODE_64, B(0x0f, 0xb7, 0x08), .device = D, .advance = 3,
	  .want = { R(RCX, 0xeeff) }, ONE(RD(G, 2)) },
	{ "movzx rcx, byte [rax]", MODE_64, B(0x48, 0x0f, 0xb6, 0x08), .device = D, .advance = 4,
	  .want = { R(RCX, 0xff) }, ONE(RD(G, 1)) },
	{ "movzx cx, byte [rax]", MODE_64, B(0x66, 0x0f, 0xb6, 0x08), .device = D, .advance = 4,
	  .want = { R(RCX, 0xa0a0a0a0a0a000ff) }, ONE(RD(G, 1)) },
	{ "movsx ecx, byte [rax] negative", MODE_64, B(0x0f, 0xbe, 0x08), .device = D, .advance = 3,
	  .want = { R(RCX, 0xffffffff) }, ONE(RD(G, 1)) },
	{ "movsx ecx, byte [rax] positive", MODE_64, B(0x0f, 0xbe, 0x08), .device = 0x7f, .advance = 3,
	  .want = { R(RCX, 0x7f) }, ONE(RD(G, 1)) },
	{ "movsx rcx, word [rax]", MODE_64, B(0x48, 0x0f, 0xbf, 0x08), .device = D, .advance = 4,
	  .want = { R(RCX, 0xffffffffffffeeff) }, ONE(RD(G, 2)) },
	{ "movsxd rcx, dword [rax]", MODE_64, B(0x48, 0x63, 0x08), .device = D, .advance = 3,
	  .want = { R(RCX, 0xffffffffccddeeff) }, ONE(RD(G, 4)) },
	/* moffs */
	{ "mov al, [moffs64]", MODE_64, B(0xa0, 0x10, 0, 0xe0, 0xfe, 0, 0, 0, 0), .device = D, .advance = 9,
	  .want = { R(RAX, 0xa0a0a0a0a0a0a0ff) }, ONE(RD(G, 1)) },
	{ "mov eax, [moffs64]", MODE_64, B(0xa1, 0x10, 0, 0xe0, 0xfe, 0, 0, 0, 0), .device = D, .advance = 9,
	  .want = { R(RAX, 0xccddeeff) }, ONE(RD(G, 4)) },
	{ "mov rax, [moffs64]", MODE_64, B(0x48, 0xa1, 0x10, 0, 0xe0, 0xfe, 0, 0, 0, 0), .device = D, .advance = 10,
	  .want = { R(RAX, D) }, ONE(RD(G, 8)) },
	{ "mov [moffs64], al", MODE_64, B(0xa2, 0x10, 0, 0xe0, 0xfe, 0, 0, 0, 0), .advance = 9, ONE(W(G, 1, 0x00)) },
	{ "mov [moffs32], eax (addr32)", MODE_64, B(0x67, 0xa3, 0x10, 0, 0xe0, 0xfe), .advance = 6,
	  ONE(W(G, 4, 0xa0a0a000)) },
	{ "mov [moffs32], eax (32-bit code)", MODE_32, B(0xa3, 0x10, 0, 0xe0, 0xfe), .advance = 5,
	  ONE(W(G, 4, 0xa0a0a000)) },
	{ "mov [moffs16], ax (16-bit code)", MODE_16, B(0xa3, 0x10, 0), .advance = 3, ONE(W(G, 2, 0xa000)) },
	/* OR, AND, XOR */
	{ "or [rax], ecx", MODE_64, B(0x09, 0x08), .device = 0, .advance = 2, .flags = FLAGS_IN | SF,
	  TWO(RD(G, 4), W(G, 4, 0xa0a0a001)) },
	{ "lock or [rax], ecx", MODE_64, B(0xf0, 0x09, 0x08), .device = 0, .advance = 3, .flags = FLAGS_IN | SF,
	  TWO(RD(G, 4), W(G, 4, 0xa0a0a001)) },
	{ "or ecx, [rax] clears CF OF AF", MODE_64, B(0x0b, 0x08), .device = 0, .flags_in = FLAGS_IN | CF | OF | AF,
	  .advance = 2, .want = { R(RCX, 0xa0a0a001) }, .flags = FLAGS_IN | SF, ONE(RD(G, 4)) },
	{ "or byte [rax], 1", MODE_64, B(0x80, 0x08, 0x01), .device = 0xff, .advance = 3, .flags = FLAGS_IN | SF | PF,
	  TWO(RD(G, 1), W(G, 1, 0xff)) },
	{ "and [rax], ecx", MODE_64, B(0x21, 0x08), .device = 0xffffffff, .advance = 2, .flags = FLAGS_IN | SF,
	  TWO(RD(G, 4), W(G, 4, 0xa0a0a001)) },
	{ "and dword [rax], 0 (imm8)", MODE_64, B(0x83, 0x20, 0x00), .device = 0xffffffff, .advance = 3,
	  .flags = FLAGS_IN | ZF | PF, TWO(RD(G, 4), W(G, 4, 0)) },
	{ "and dword [rax], 0xff (imm32)", MODE_64, B(0x81, 0x20, 0xff, 0, 0, 0), .device = D, .advance = 6,
	  .flags = FLAGS_IN | PF, TWO(RD(G, 4), W(G, 4, 0xff)) },
	{ "and qword [rax], -16", MODE_64, B(0x48, 0x83, 0x20, 0xf0), .device = D, .advance = 4,
	  .flags = FLAGS_IN | SF | PF, TWO(RD(G, 8), W(G, 8, 0x8899aabbccddeef0)) },
	{ "lock and [rax], edx", MODE_64, B(0xf0, 0x21, 0x10), .device = 0xffffffff, .advance = 3,
	  .flags = FLAGS_IN | SF, TWO(RD(G, 4), W(G, 4, 0xa0a0a002)) },
	{ "and al, [rax]", MODE_64, B(0x22, 0x00), .device = 0xff, .set = { R(RAX, 0x1234) }, .advance = 2,
	  .want = { R(RAX, 0x1234) }, .flags = FLAGS_IN, ONE(RD(G, 1)) },
	{ "xor [rax], ecx", MODE_64, B(0x31, 0x08), .device = 0xa0a0a001, .advance = 2, .flags = FLAGS_IN | ZF | PF,
	  TWO(RD(G, 4), W(G, 4, 0)) },
	{ "xor word [rax], -1", MODE_64, B(0x66, 0x83, 0x30, 0xff), .device = 0x1234, .advance = 4,
	  .flags = FLAGS_IN | SF, TWO(RD(G, 2), W(G, 2, 0xedcb)) },
	{ "xor cl, [rax]", MODE_64, B(0x32, 0x08), .device = 0xff, .advance = 2, .want = { R(RCX, 0xa0a0a0a0a0a0a0fe) },
	  .flags = FLAGS_IN | SF, ONE(RD(G, 1)) },
	{ "lock xor dword [rax], 1", MODE_64, B(0xf0, 0x83, 0x30, 0x01), .device = 0, .advance = 4,
	  .flags = FLAGS_IN, TWO(RD(G, 4), W(G, 4, 1)) },
	/* CMP: never writes */
	{ "cmp [rax], ecx borrow", MODE_64, B(0x39, 0x08), .device = 0, .advance = 2, .flags = FLAGS_IN | CF | PF | AF,
	  ONE(RD(G, 4)) },
	{ "cmp ecx, [rax] equal", MODE_64, B(0x3b, 0x08), .device = 0xa0a0a001, .advance = 2,
	  .flags = FLAGS_IN | ZF | PF, ONE(RD(G, 4)) },
	{ "cmp byte [rax], 0x80 overflow", MODE_64, B(0x80, 0x38, 0x80), .device = 0x7f, .advance = 3,
	  .flags = FLAGS_IN | CF | PF | SF | OF, ONE(RD(G, 1)) },
	{ "cmp dword [rax], -1 all-ones", MODE_64, B(0x83, 0x38, 0xff), .device = 0xffffffff, .advance = 3,
	  .flags = FLAGS_IN | ZF | PF, ONE(RD(G, 4)) },
	{ "cmp [rax], rcx", MODE_64, B(0x48, 0x39, 0x08), .device = D, .advance = 3, .flags = FLAGS_IN | CF | SF,
	  ONE(RD(G, 8)) },
	{ "cmp cl, [rax] half borrow", MODE_64, B(0x3a, 0x08), .device = 0x02, .advance = 2,
	  .flags = FLAGS_IN | CF | SF | AF | PF, ONE(RD(G, 1)) },
	{ "cmp word [rax], 0x8000 (imm16)", MODE_64, B(0x66, 0x81, 0x38, 0x00, 0x80), .device = 0x0001,
	  .advance = 5, .flags = FLAGS_IN | CF | SF | OF, ONE(RD(G, 2)) },
	/* TEST: never writes */
	{ "test [rax], ecx", MODE_64, B(0x85, 0x08), .device = 0xffffffff, .advance = 2, .flags = FLAGS_IN | SF,
	  ONE(RD(G, 4)) },
	{ "test byte [rax], 1", MODE_64, B(0xf6, 0x00, 0x01), .device = 0xfe, .advance = 3, .flags = FLAGS_IN | ZF | PF,
	  ONE(RD(G, 1)) },
	{ "test dword [rax], 0x80000000", MODE_64, B(0xf7, 0x00, 0, 0, 0, 0x80), .device = 0xffffffff, .advance = 6,
	  .flags = FLAGS_IN | SF | PF, ONE(RD(G, 4)) },
	{ "test [rax], ah", MODE_64, B(0x84, 0x20), .device = 0x5f, .flags_in = FLAGS_IN | CF | OF, .advance = 2,
	  .flags = FLAGS_IN | ZF | PF, ONE(RD(G, 1)) },
	{ "test qword [rax], -1", MODE_64, B(0x48, 0xf7, 0x00, 0xff, 0xff, 0xff, 0xff), .device = D, .advance = 7,
	  .flags = FLAGS_IN | SF | PF, ONE(RD(G, 8)) },
	/* STOS and MOVS: the fake translates seg:offset to offset + 0x100000 * seg (ES and DS: 0) */
	{ "stosb", MODE_64, B(0xaa), .set = { R(RDI, 0xfee00000) }, .advance = 1, .want = { R(RDI, 0xfee00001) },
	  ONE(W(0xfee00000, 1, 0x00)) },
	{ "rep stosd: one iteration, RIP stays", MODE_64, B(0xf3, 0xab), .set = { R(RDI, 0xfee00000), R(RCX, 3) },
	  .want = { R(RDI, 0xfee00004), R(RCX, 2) }, ONE(W(0xfee00000, 4, 0xa0a0a000)) },
	{ "rep stosq: the last iteration", MODE_64, B(0xf3, 0x48, 0xab), .set = { R(RDI, 0xfee00008), R(RCX, 1) },
	  .advance = 3, .want = { R(RDI, 0xfee00010), R(RCX, 0) }, ONE(W(0xfee00008, 8, 0xa0a0a0a0a0a0a000)) },
	{ "rep stosb with RCX 0: nothing", MODE_64, B(0xf3, 0xaa), .set = { R(RCX, 0) }, .advance = 2 },
	{ "std; stosd goes down", MODE_64, B(0xab), .flags_in = FLAGS_IN | DF, .set = { R(RDI, 0xfee00010) },
	  .advance = 1, .want = { R(RDI, 0xfee0000c) }, ONE(W(0xfee00010, 4, 0xa0a0a000)) },
	{ "fs stosb: the destination is always ES", MODE_64, B(0x64, 0xaa), .set = { R(RDI, 0xfee00000) },
	  .advance = 2, .want = { R(RDI, 0xfee00001) }, ONE(W(0xfee00000, 1, 0x00)) },
	{ "movsd RAM to MMIO", MODE_64, B(0xa5), .device = D, .set = { R(RSI, 0x1000), R(RDI, 0xfee00000) },
	  .advance = 1, .want = { R(RSI, 0x1004), R(RDI, 0xfee00004) },
	  TWO(RD(0x1000, 4), W(0xfee00000, 4, 0xccddeeff)) },
	{ "rep movsb MMIO to RAM", MODE_64, B(0xf3, 0xa4), .device = D,
	  .set = { R(RSI, 0xfee00000), R(RDI, 0x2000), R(RCX, 2) }, .want = { R(RSI, 0xfee00001), R(RDI, 0x2001), R(RCX, 1) },
	  TWO(RD(0xfee00000, 1), W(0x2000, 1, 0xff)) },
	{ "std; movsw goes down", MODE_64, B(0x66, 0xa5), .device = D, .flags_in = FLAGS_IN | DF,
	  .set = { R(RSI, 0x1002), R(RDI, 0xfee00002) }, .advance = 2, .want = { R(RSI, 0x1000), R(RDI, 0xfee00000) },
	  TWO(RD(0x1002, 2), W(0xfee00002, 2, 0xeeff)) },
	{ "fs movsb: the source takes the override", MODE_64, B(0x64, 0xa4), .device = D,
	  .set = { R(RSI, 0x10), R(RDI, 0xfee00000) }, .advance = 2, .want = { R(RSI, 0x11), R(RDI, 0xfee00001) },
	  TWO(RD(0x400010, 1), W(0xfee00000, 1, 0xff)) },
	{ "addr32 rep stosd: ECX and EDI, zero-extended", MODE_64, B(0x67, 0xf3, 0xab),
	  .set = { R(RDI, 0x12345678fee00000), R(RCX, 0xffffffff00000002) }, .want = { R(RDI, 0xfee00004), R(RCX, 1) },
	  ONE(W(0xfee00000, 4, 0xa0a0a000)) },
	{ "rep stosb in 16-bit code: CX and DI merge", MODE_16, B(0xf3, 0xaa),
	  .set = { R(RDI, 0x1234fffe), R(RCX, 0xabcd0001) }, .advance = 2, .want = { R(RDI, 0x1234ffff), R(RCX, 0xabcd0000) },
	  ONE(W(0xfffe, 1, 0x00)) },
	{ "rep movsd in 32-bit code", MODE_32, B(0xf3, 0xa5), .device = D,
	  .set = { R(RSI, 0xfee00000), R(RDI, 0x3000), R(RCX, 5) }, .want = { R(RSI, 0xfee00004), R(RDI, 0x3004), R(RCX, 4) },
	  TWO(RD(0xfee00000, 4), W(0x3000, 4, 0xccddeeff)) },
	/* 32-bit and 16-bit code */
	{ "mov [eax], ecx (32-bit)", MODE_32, B(0x89, 0x08), .advance = 2, ONE(W(G, 4, 0xa0a0a001)) },
	{ "mov [eax], cx (32-bit, 66)", MODE_32, B(0x66, 0x89, 0x08), .advance = 3, ONE(W(G, 2, 0xa001)) },
	{ "movzx ecx, byte [eax] (32-bit)", MODE_32, B(0x0f, 0xb6, 0x08), .device = D, .advance = 3,
	  .want = { R(RCX, 0xff) }, ONE(RD(G, 1)) },
	{ "mov [bx], eax (32-bit, addr16)", MODE_32, B(0x67, 0x89, 0x07), .advance = 3, ONE(W(G, 4, 0xa0a0a000)) },
	{ "and [eax], ecx (32-bit)", MODE_32, B(0x21, 0x08), .device = 0xffffffff, .advance = 2, .flags = FLAGS_IN | SF,
	  TWO(RD(G, 4), W(G, 4, 0xa0a0a001)) },
	{ "mov [bx], ax (16-bit)", MODE_16, B(0x89, 0x07), .advance = 2, ONE(W(G, 2, 0xa000)) },
	{ "mov [bx], eax (16-bit, 66)", MODE_16, B(0x66, 0x89, 0x07), .advance = 3, ONE(W(G, 4, 0xa0a0a000)) },
	{ "mov ax, [bx] (16-bit)", MODE_16, B(0x8b, 0x07), .device = D, .advance = 2,
	  .want = { R(RAX, 0xa0a0a0a0a0a0eeff) }, ONE(RD(G, 2)) },
	{ "mov byte [bp+si+4], 7 (16-bit)", MODE_16, B(0xc6, 0x42, 0x04, 0x07), .advance = 4, ONE(W(G, 1, 7)) },
	{ "mov [0x10], ax (16-bit, disp16)", MODE_16, B(0x89, 0x06, 0x10, 0x00), .advance = 4, ONE(W(G, 2, 0xa000)) },
	{ "cmp word [bx], 0 (16-bit)", MODE_16, B(0x83, 0x3f, 0x00), .device = 0xffff, .advance = 3,
	  .flags = FLAGS_IN | SF | PF, ONE(RD(G, 2)) },
	{ "mov [eax], ecx (16-bit, addr32)", MODE_16, B(0x67, 0x66, 0x89, 0x08), .advance = 4,
	  ONE(W(G, 4, 0xa0a0a001)) },
	{ "13 prefixes: 15 bytes are still an instruction", MODE_64,
	  B(0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x89, 0x08), .advance = 15,
	  ONE(W(G, 4, 0xa0a0a001)) },
	/* refused, without a bus access */
	{ "14 prefixes: 16 bytes", MODE_64,
	  B(0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x89, 0x08),
	  .result = MMIO_UNDECODABLE },
	{ "truncated ModRM", MODE_64, B(0x89), .result = MMIO_UNDECODABLE },
	{ "truncated immediate", MODE_64, B(0xc7, 0x00, 0x78, 0x56), .result = MMIO_UNDECODABLE },
	{ "truncated moffs", MODE_64, B(0xa1, 0x10, 0, 0xe0, 0xfe), .result = MMIO_UNDECODABLE },
	{ "prefixes only", MODE_64, B(0x66, 0xf0), .result = MMIO_UNDECODABLE },
	{ "VEX in 64-bit mode", MODE_64, B(0xc5, 0xf9, 0x6f, 0x00), .result = MMIO_UNDECODABLE },
	{ "add [rax], ecx", MODE_64, B(0x01, 0x08), .result = MMIO_UNSUPPORTED },
	{ "add dword [rax], 1", MODE_64, B(0x83, 0x00, 0x01), .result = MMIO_UNSUPPORTED },
	{ "sub byte [rax], 1", MODE_64, B(0x80, 0x28, 0x01), .result = MMIO_UNSUPPORTED },
	{ "inc dword [rax]", MODE_64, B(0xff, 0x00), .result = MMIO_UNSUPPORTED },
	{ "not byte [rax]", MODE_64, B(0xf6, 0x10), .result = MMIO_UNSUPPORTED },
	{ "test alias f6 /1", MODE_64, B(0xf6, 0x08, 0x01), .result = MMIO_UNSUPPORTED },
	{ "mov c7 /1", MODE_64, B(0xc7, 0x08, 0, 0, 0, 0), .result = MMIO_UNSUPPORTED },
	{ "mov ecx, eax: no memory operand", MODE_64, B(0x89, 0xc1), .result = MMIO_UNSUPPORTED },
	{ "lock mov", MODE_64, B(0xf0, 0x89, 0x08), .result = MMIO_UNSUPPORTED },
	{ "lock cmp", MODE_64, B(0xf0, 0x39, 0x08), .result = MMIO_UNSUPPORTED },
	{ "lock or ecx, [rax]: a register destination", MODE_64, B(0xf0, 0x0b, 0x08), .result = MMIO_UNSUPPORTED },
	{ "lock stosb", MODE_64, B(0xf0, 0xaa), .result = MMIO_UNSUPPORTED },
	{ "rep mov", MODE_64, B(0xf3, 0x89, 0x08), .result = MMIO_UNSUPPORTED },
	{ "movups xmm0, [rax]", MODE_64, B(0x0f, 0x10, 0x00), .result = MMIO_UNSUPPORTED },
	{ "xchg [rax], ecx", MODE_64, B(0x87, 0x08), .result = MMIO_UNSUPPORTED },
	{ "pop qword [rax]", MODE_64, B(0x8f, 0x00), .result = MMIO_UNSUPPORTED },
	{ "lodsb", MODE_64, B(0xac), .result = MMIO_UNSUPPORTED },
	{ "arpl outside 64-bit mode", MODE_32, B(0x63, 0x08), .result = MMIO_UNSUPPORTED },
	{ "48 is DEC EAX in 32-bit code, not REX.W", MODE_32, B(0x48, 0x89, 0x08), .result = MMIO_UNSUPPORTED },
	{ "an access crossing a page", MODE_64, B(0x89, 0x08), .gpa = 0xfee00ffe, .result = MMIO_CROSSES_PAGE },
	{ "the bus refuses", MODE_64, B(0x8b, 0x08), .bus_fails = 1, .result = MMIO_ACCESS_FAILED, ONE(RD(G, 4)) },
};

/* ---- the fake bus ---- */

static struct {
	const struct mcase *c;
	struct access seen[4];
	unsigned n;
} bus_log;

static int fake_access(void *ctx, uint64_t gpa, unsigned size, int write, uint64_t *value)
{
	(void)ctx;
	if (bus_log.n < 4)
		bus_log.seen[bus_log.n] = (struct access){ gpa, size, write, write ? *value : 0 };
	bus_log.n++;
	if (bus_log.c->bus_fails)
		return -1;
	if (!write)
		*value = bus_log.c->device & (size == 8 ? ~0ull : (1ull << (8 * size)) - 1);
	return 0;
}

static int fake_translate(void *ctx, enum mmio_seg seg, uint64_t offset, unsigned size, int write, uint64_t *gpa)
{
	(void)ctx;
	(void)size;
	(void)write;
	*gpa = offset + (seg == SEG_ES || seg == SEG_DS ? 0 : 0x100000ull * seg);
	return 0;
}

static const struct mmio_bus fake_bus = { fake_access, fake_translate, 0 };

static void run_case(const struct mcase *c)
{
	uint64_t gpr[16], want[16];
	struct mmio_cpu cpu = { .gpr = gpr, .rip = START_RIP, .rflags = c->flags_in ? c->flags_in : FLAGS_IN,
				.mode = c->mode };
	enum mmio_result r;
	unsigned i;

	for (i = 0; i < 16; i++)
		cpu.gpr[i] = initial(i);
	for (i = 0; i < 3 && c->set[i].reg1; i++)
		cpu.gpr[c->set[i].reg1 - 1] = c->set[i].value;
	memcpy(want, cpu.gpr, sizeof(want));
	for (i = 0; i < 3 && c->want[i].reg1; i++)
		want[c->want[i].reg1 - 1] = c->want[i].value;
	bus_log.c = c;
	bus_log.n = 0;
	r = mmio_emulate(&cpu, c->bytes, c->n, c->gpa ? c->gpa : G, &fake_bus);
	if (r != c->result)
		fail_msg("%s: result %s, want %s", c->text, mmio_result_name(r), mmio_result_name(c->result));
	if (bus_log.n != c->nacc)
		fail_msg("%s: %u bus accesses, want %u", c->text, bus_log.n, c->nacc);
	for (i = 0; i < c->nacc; i++) {
		const struct access *s = &bus_log.seen[i], *w = &c->acc[i];
		if (s->gpa != w->gpa || s->size != w->size || s->write != w->write || s->value != w->value)
			fail_msg("%s: access %u: %s 0x%llx size %u value 0x%llx, want %s 0x%llx size %u value 0x%llx",
				 c->text, i, s->write ? "write" : "read", (unsigned long long)s->gpa, s->size,
				 (unsigned long long)s->value, w->write ? "write" : "read", (unsigned long long)w->gpa,
				 w->size, (unsigned long long)w->value);
	}
	if (r != MMIO_DONE)
		return;
	for (i = 0; i < 16; i++)
		if (cpu.gpr[i] != want[i])
			fail_msg("%s: register %u is 0x%llx, want 0x%llx", c->text, i, (unsigned long long)cpu.gpr[i],
				 (unsigned long long)want[i]);
	if (cpu.rip != START_RIP + c->advance)
		fail_msg("%s: RIP advanced by %llu, want %u", c->text, (unsigned long long)(cpu.rip - START_RIP),
			 c->advance);
	if (cpu.rflags != (c->flags ? c->flags : c->flags_in ? c->flags_in : FLAGS_IN))
		fail_msg("%s: RFLAGS 0x%llx, want 0x%llx", c->text, (unsigned long long)cpu.rflags,
			 (unsigned long long)(c->flags ? c->flags : c->flags_in ? c->flags_in : FLAGS_IN));
}

static void encodings(void **state)
{
	size_t i;

	(void)state;
	assert_true(sizeof(cases) / sizeof(cases[0]) >= 60);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

/* A refusal leaves the registers alone: the caller stops the partition with them as they were. */
static void refusal_changes_nothing(void **state)
{
	static const uint8_t add[] = { 0x01, 0x08 };
	uint64_t gpr[16] = { 0 }, gpr_before[16];
	struct mmio_cpu cpu = { .gpr = gpr, .rip = START_RIP, .rflags = FLAGS_IN, .mode = MODE_64 };
	struct mmio_cpu before;

	(void)state;
	gpr[RCX] = 5;
	before = cpu;
	memcpy(gpr_before, gpr, sizeof(gpr));
	bus_log.c = &cases[0];
	bus_log.n = 0;
	assert_int_equal(mmio_emulate(&cpu, add, sizeof(add), G, &fake_bus), MMIO_UNSUPPORTED);
	assert_memory_equal(&cpu, &before, sizeof(cpu));
	assert_memory_equal(gpr, gpr_before, sizeof(gpr));
}

/* EIP wraps at 4 GiB outside 64-bit mode. */
static void eip_wraps(void **state)
{
	static const uint8_t mov[] = { 0x89, 0x08 };
	uint64_t gpr[16] = { 0 };
	struct mmio_cpu cpu = { .gpr = gpr, .rip = 0xffffffffull, .rflags = FLAGS_IN, .mode = MODE_32 };

	(void)state;
	bus_log.c = &cases[0];
	bus_log.n = 0;
	assert_int_equal(mmio_emulate(&cpu, mov, sizeof(mov), G, &fake_bus), MMIO_DONE);
	assert_int_equal(cpu.rip, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encodings),
		cmocka_unit_test(refusal_changes_nothing),
		cmocka_unit_test(eip_wraps),
	};

	return cmocka_run_group_tests_name("mmio_emul", tests, NULL, NULL);
}
