#ifndef ARCH_X86_EXCEPTIONS_H
#define ARCH_X86_EXCEPTIONS_H

#include <stdint.h>

/* What entry.asm's exception_common leaves on the stack, lowest first. */
struct exception_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* The image range, so that reports can give offsets into hv.elf. */
void exceptions_set_image(uint64_t base, uint64_t size);

void __attribute__((noreturn)) exception_dispatch(struct exception_frame *f);

#endif
