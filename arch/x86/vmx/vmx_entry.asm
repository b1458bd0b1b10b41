; One guest run on VT-x (Intel SDM Vol. 3C, 26 VM entries, 28 VM exits).
;
; int vmx_run_guest(uint64_t *gprs, int launched)
;
; Returns 0 after a VM exit, 1 when VMLAUNCH/VMRESUME itself failed (then
; the VM-instruction error field says why). gprs[] holds the guest's
; general registers in x86 encoding order; RSP is the VMCS's. A VM exit
; lands at vmx_exit_stub (HOST_RIP) on the stack pointer saved in HOST_RSP
; here, where the gprs pointer waits on top.

bits 64
default rel

HOST_RSP equ 0x6c14

section .text
global vmx_run_guest
global vmx_exit_stub
vmx_run_guest:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	push rdi		; gprs, found again by the exit stub
	mov rax, HOST_RSP
	vmwrite rax, rsp

	cmp esi, 0		; flags survive the loads below (MOV changes none)
	mov rax, [rdi + 0*8]
	mov rcx, [rdi + 1*8]
	mov rdx, [rdi + 2*8]
	mov rbx, [rdi + 3*8]
	mov rbp, [rdi + 5*8]
	mov rsi, [rdi + 6*8]
	mov r8,  [rdi + 8*8]
	mov r9,  [rdi + 9*8]
	mov r10, [rdi + 10*8]
	mov r11, [rdi + 11*8]
	mov r12, [rdi + 12*8]
	mov r13, [rdi + 13*8]
	mov r14, [rdi + 14*8]
	mov r15, [rdi + 15*8]
	mov rdi, [rdi + 7*8]
	jne .resume
	vmlaunch
	jmp .failed
.resume:
	vmresume
.failed:			; only reached when the instruction failed
	pop rdi
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	mov eax, 1
	ret

vmx_exit_stub:
	push rdi		; the guest's
	mov rdi, [rsp + 8]	; gprs
	mov [rdi + 0*8], rax
	mov [rdi + 1*8], rcx
	mov [rdi + 2*8], rdx
	mov [rdi + 3*8], rbx
	mov [rdi + 5*8], rbp
	mov [rdi + 6*8], rsi
	mov [rdi + 8*8], r8
	mov [rdi + 9*8], r9
	mov [rdi + 10*8], r10
	mov [rdi + 11*8], r11
	mov [rdi + 12*8], r12
	mov [rdi + 13*8], r13
	mov [rdi + 14*8], r14
	mov [rdi + 15*8], r15
	pop rax
	mov [rdi + 7*8], rax
	pop rdi
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	xor eax, eax
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
