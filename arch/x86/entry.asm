; Hypervisor entry and exception stubs.
;
; The loader calls hv_entry(boot_info) with the System V ABI, interrupts
; off, on the firmware's stack and page tables. We move to our own stack
; at once: the firmware's stack lies in memory the allocator will reuse.

bits 64
default rel

section .bss
align 16
boot_stack:
	resb 32768
boot_stack_top:

section .text

extern hv_main
extern exception_dispatch

global hv_entry
hv_entry:
	lea rsp, [boot_stack_top]
	xor ebp, ebp
	call hv_main		; never returns
.hang:
	cli
	hlt
	jmp .hang

; The CPU pushes an error code for vectors 8, 10-14, 17, 21, 29 and 30
; (Intel SDM Vol. 3A, 6.13 "Error Code"); the others get a 0 pushed so that
; every frame has the same layout.
%macro stub 1
exception_stub_%1:
%if (%1 = 8) || (%1 >= 10 && %1 <= 14) || (%1 = 17) || (%1 = 21) || (%1 = 29) || (%1 = 30)
%else
	push 0
%endif
	push %1
	jmp exception_common
%endmacro

%assign v 0
%rep 32
	stub v
%assign v v + 1
%endrep

; Saves the general registers in the order of struct exception_frame.
exception_common:
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
	and rsp, -16
	call exception_dispatch	; reports and stops this CPU
.hang:
	cli
	hlt
	jmp .hang

section .data
global exception_stubs
align 8
exception_stubs:
%assign v 0
%rep 32
	dq exception_stub_ %+ v
%assign v v + 1
%endrep

section .note.GNU-stack noalloc noexec nowrite progbits
