; Self-test guest entry. The hypervisor starts us the way the Linux boot
; protocol's 64-bit entry does (Documentation/arch/x86/boot.rst, "64-bit
; BOOT PROTOCOL"): long mode, paging on with an identity map, interrupts
; off, RSI = the boot_params ("zero page") address, no stack.

bits 64
default rel

%include "regs.inc"

section .bss
align 16
stack:
	resb 16384
stack_top:

section .text
extern selftest_main
extern trap_dispatch

global _start
_start:
	lea rsp, [stack_top]
	mov rdi, rsi
	call selftest_main
.hang:
	cli
	hlt
	jmp .hang

define_trap_stubs 33, trap_common

; Frame: the general registers, vector, error, rip, cs, rflags, rsp, ss (struct trap_frame).
trap_common:
	push_gprs
	mov rdi, rsp
	mov rbx, rsp
	and rsp, -16
	call trap_dispatch
	mov rsp, rbx
	pop_gprs
	add rsp, 16
	iretq

section .data
global trap_stubs
align 8
trap_stubs:
	trap_stub_table 33

section .note.GNU-stack noalloc noexec nowrite progbits
