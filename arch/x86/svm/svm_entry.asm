; One guest run on AMD-V (APM Vol. 2, 15.5 VMRUN, 15.6 #VMEXIT).
;
; void svm_run_guest(uint64_t vmcb_pa, uint64_t *gprs, uint64_t host_vmcb_pa)
;
; VMRUN saves and restores only RAX, RSP, RIP, RFLAGS and the control
; registers; the other general registers are ours to switch, from gprs[]
; in x86 encoding order (RAX and RSP there are ignored: they live in the
; VMCB). VMLOAD/VMSAVE switch the state VMRUN leaves alone (FS, GS, TR,
; LDTR, KernelGSbase, STAR/LSTAR/CSTAR/SFMASK, SYSENTER): the guest's in
; its VMCB, the host's in host_vmcb. GIF is clear across the switch, so
; nothing interrupts us with half of each state loaded.

bits 64
default rel

section .text
global svm_run_guest
svm_run_guest:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	push rdx		; host_vmcb_pa
	push rsi		; gprs
	push rdi		; vmcb_pa

	clgi
	mov rax, rdi
	vmload			; [rax]
	mov rcx, [rsi + 1*8]
	mov rdx, [rsi + 2*8]
	mov rbx, [rsi + 3*8]
	mov rbp, [rsi + 5*8]
	mov rdi, [rsi + 7*8]
	mov r8,  [rsi + 8*8]
	mov r9,  [rsi + 9*8]
	mov r10, [rsi + 10*8]
	mov r11, [rsi + 11*8]
	mov r12, [rsi + 12*8]
	mov r13, [rsi + 13*8]
	mov r14, [rsi + 14*8]
	mov r15, [rsi + 15*8]
	mov rsi, [rsi + 6*8]
	vmrun			; [rax]; RAX (the VMCB address) comes back on #VMEXIT
	vmsave			; [rax]

	mov rax, [rsp + 8]	; gprs
	mov [rax + 1*8], rcx
	mov [rax + 2*8], rdx
	mov [rax + 3*8], rbx
	mov [rax + 5*8], rbp
	mov [rax + 6*8], rsi
	mov [rax + 7*8], rdi
	mov [rax + 8*8], r8
	mov [rax + 9*8], r9
	mov [rax + 10*8], r10
	mov [rax + 11*8], r11
	mov [rax + 12*8], r12
	mov [rax + 13*8], r13
	mov [rax + 14*8], r14
	mov [rax + 15*8], r15

	pop rdi
	pop rsi
	pop rax			; host_vmcb_pa
	vmload			; [rax]
	stgi
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
