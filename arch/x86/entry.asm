; Hypervisor entry and exception stubs.
;
; The loader calls hv_entry(boot_info) with the System V ABI, interrupts
; off, on the firmware's stack and page tables. We move to our own stack
; at once: the firmware's stack lies in memory the allocator will reuse.

bits 64
default rel

%include "regs.inc"

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

define_trap_stubs 32, exception_common

; Saves the general registers in the order of struct exception_frame.
exception_common:
	push_gprs
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
	trap_stub_table 32

section .note.GNU-stack noalloc noexec nowrite progbits
