; The test guests' entry (selftest, attack). The hypervisor starts us the way the Linux boot
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

global fpu_at_entry
align 16
fpu_at_entry:			; XMM0-15, then MXCSR and the x87 control word
	resb 16 * 16 + 8

section .text
extern guest_main
extern guest_ap_main
extern trap_dispatch

global _start
_start:
	lea rsp, [stack_top]
	mov rax, cr4
	or rax, (1 << 9) | (1 << 10)	; OSFXSR, OSXMMEXCPT: SSE instructions usable
	mov cr4, rax
	lea rax, [fpu_at_entry]		; before anything touches them
%assign n 0
%rep 16
	movdqu [rax + n * 16], xmm %+ n
%assign n n + 1
%endrep
	stmxcsr [rax + 256]
	fnstcw [rax + 260]
	mov rdi, rsi
	call guest_main
.hang:
	cli
	hlt
	jmp .hang

; vCPU 1 and up (HC_VCPU_START): RSP is the stack we gave, RSI our index.
global ap_entry
ap_entry:
	mov rdi, rsi
	call guest_ap_main
	jmp _start.hang

define_trap_stubs 0x60, trap_common

; Frame: the general registers, vector, error, rip, cs, rflags, rsp, ss (struct trap_frame).
trap_common:
	guest_trap_common trap_dispatch

; void fpu_dirty(void): leaves a pattern in every XMM register, MXCSR and FCW.
global fpu_dirty
fpu_dirty:
	mov rax, 0x5a5a5a5a5a5a5a5a
	movq xmm0, rax
%assign n 1
%rep 15
	movdqa xmm %+ n, xmm0
%assign n n + 1
%endrep
	push 0x9f80			; MXCSR with flush-to-zero
	ldmxcsr [rsp]
	mov word [rsp], 0x27f		; FCW with 53-bit precision
	fldcw [rsp]
	add rsp, 8
	ret

; void run_user(void (*fn)(void), void *stack): runs fn at CPL 3 (selectors
; USER_CS and USER_DS of runtime.c's GDT) with RFLAGS.AC set, on stack. It
; returns when trap_dispatch() sends the #UD that fn ends with to user_return.
USER_CS equ 0x2b
USER_DS equ 0x23
global run_user
global user_return
run_user:
	push_callee_saved
	mov [kernel_rsp], rsp
	push USER_DS
	push rsi
	pushfq
	or qword [rsp], 1 << 18		; AC: with CR0.AM, misaligned accesses at CPL 3 are #AC
	push USER_CS
	push rdi
	iretq
user_return:
	mov rsp, [kernel_rsp]
	pop_callee_saved
	ret

; At CPL 3: a misaligned read (#AC), then UD2 to return to CPL 0.
global user_misaligned_read
user_misaligned_read:
	mov eax, [rsp + 1]		; 4 bytes: 8B 44 24 01
	ud2

section .data
kernel_rsp:
	dq 0
global trap_stubs
align 8
trap_stubs:
	trap_stub_table 0x60

section .note.GNU-stack noalloc noexec nowrite progbits
