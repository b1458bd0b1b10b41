; One guest run on VT-x (Intel SDM Vol. 3C, 26 VM entries, 28 VM exits).
;
; int vmx_run_guest(uint64_t *gprs, int launched)
;
; Called only from run_guest() in vmx.c, whose inline assembly tells the
; compiler which general registers are lost: all but RSP, RDI (gprs,
; given back) and the four kept here (push_kept). Not a System V call:
; R14 and R15 are left to vmx_run's prologue, once a run.
;
; Returns 0 after a VM exit, 1 when VMLAUNCH/VMRESUME itself failed (then
; the VM-instruction error field says why). gprs[] holds the guest's
; general registers in x86 encoding order; RSP is the VMCS's. A VM exit
; lands at vmx_exit_stub (HOST_RIP) on the stack pointer saved in HOST_RSP
; here, where the gprs pointer waits on top; the exit leaves RFLAGS 2, so
; DF is clear (SDM Vol. 3C, 28.5.3).

bits 64
default rel

%include "regs.inc"

HOST_RSP equ 0x6c14

extern clear_cpu_buffers_on_entry
extern verw_selector

section .text
global vmx_run_guest
global vmx_exit_stub
vmx_run_guest:
	push_kept
	push rdi		; gprs, found again by the exit stub
	mov rax, HOST_RSP
	vmwrite rax, rsp
	clear_cpu_buffers_if_asked	; before the test of launched: it changes ZF

	cmp esi, 0		; flags survive the loads below (MOV changes none)
	mov rax, [rdi + 0*8]
	guest_gprs load, rdi
	mov rdi, [rdi + 7*8]
	jne .resume
	vmlaunch
	jmp .failed
.resume:
	vmresume
.failed:			; only reached when the instruction failed
	pop rdi
	pop_kept
	mov eax, 1
	ret

vmx_exit_stub:
	push rdi		; the guest's
	mov rdi, [rsp + 8]	; gprs
	mov [rdi + 0*8], rax
	guest_gprs store, rdi
	pop rax
	mov [rdi + 7*8], rax
	pop rdi
	pop_kept
	xor eax, eax
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
