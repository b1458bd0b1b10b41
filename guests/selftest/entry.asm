; Self-test guest entry. The hypervisor starts us the way the Linux boot
; protocol's 64-bit entry does (Documentation/arch/x86/boot.rst, "64-bit
; BOOT PROTOCOL"): long mode, paging on with an identity map, interrupts
; off, RSI = the boot_params ("zero page") address, no stack.

bits 64
default rel

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

; Vectors that push an error code (Intel SDM Vol. 3A, 6.13).
%macro trap 1
trap_%1:
%if (%1 = 8) || (%1 >= 10 && %1 <= 14) || (%1 = 17) || (%1 = 21) || (%1 = 29) || (%1 = 30)
%else
	push 0
%endif
	push %1
	jmp trap_common
%endmacro

%assign v 0
%rep 33
	trap v
%assign v v + 1
%endrep

; Frame: r15..rax, vector, error, rip, cs, rflags, rsp, ss (struct trap_frame).
trap_common:
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push rbp
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
	mov rdi, rsp
	mov rbx, rsp
	and rsp, -16
	call trap_dispatch
	mov rsp, rbx
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rbp
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	add rsp, 16
	iretq

section .data
global trap_stubs
align 8
trap_stubs:
%assign v 0
%rep 33
	dq trap_ %+ v
%assign v v + 1
%endrep

section .note.GNU-stack noalloc noexec nowrite progbits
