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
extern interrupt_dispatch

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

; The host's own interrupts (lapic.h): the vector, then the registers a
; called C function may change, as exception_common saves them.
%macro interrupt_stub 1
interrupt_stub_%1:
	push %1
	jmp interrupt_common
%endmacro

interrupt_stub 0xf0
interrupt_stub 0xf1
interrupt_stub 0xf2
interrupt_stub 0xf3
interrupt_stub 0xff

interrupt_common:
	push_gprs
	mov rdi, [rsp + 15*8]	; the vector
	mov rbx, rsp
	and rsp, -16
	call interrupt_dispatch
	mov rsp, rbx
	pop_gprs
	add rsp, 8
	iretq

section .data
global exception_stubs
align 8
exception_stubs:
	trap_stub_table 32

global interrupt_stubs		; in the order of HOST_VECTORS
interrupt_stubs:
	dq interrupt_stub_0xf0, interrupt_stub_0xf1, interrupt_stub_0xf2, interrupt_stub_0xf3, interrupt_stub_0xff

section .note.GNU-stack noalloc noexec nowrite progbits
