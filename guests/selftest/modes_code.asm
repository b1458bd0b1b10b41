; Code for the mode checks (modes.c): decoded exits run from a kernel-half
; alias of this image, and from code segments whose base is not zero.

bits 64
default rel

RESUMED equ 0x600dc0de		; what the code after CPUID leaves in ESI

section .rodata
global compat_resumed
compat_resumed:
	dd RESUMED

section .text

; uint64_t decoded_exits(uint32_t leaf, uint32_t regs[4], uint64_t *efer)
; CPUID and RDMSR of EFER: exits whose length the hypervisor may have to
; decode. Returns the address it ran at: which alias ran.
global decoded_exits
decoded_exits:
	push rbx
	mov r8, rsi
	mov r9, rdx
	mov eax, edi
	xor ecx, ecx
	cpuid
	mov [r8], eax
	mov [r8 + 4], ebx
	mov [r8 + 8], ecx
	mov [r8 + 12], edx
	mov ecx, 0xc0000080
	rdmsr
	mov [r9], eax
	mov [r9 + 4], edx
	lea rax, [rel $]
	pop rbx
	ret

; uint32_t far_cpuid(const struct far_pointer *to, uint32_t leaf, uint32_t regs[4])
; Far-calls (m16:32) code that runs CPUID and far-returns; returns its ESI.
global far_cpuid
far_cpuid:
	push rbx
	push rdx
	mov eax, esi
	xor ecx, ecx
	xor esi, esi
	call far dword [rdi]
	pop r8
	mov [r8], eax
	mov [r8 + 4], ebx
	mov [r8 + 8], ecx
	mov [r8 + 12], edx
	mov eax, esi
	pop rbx
	ret

; The EIP both segments' code runs at. A decoder that reads at EIP rather
; than at CS.base + EIP finds MOV eAX, imm here (5 or 3 bytes, where CPUID
; is 2) and resumes the guest at the wrong byte.
align 4096
global compat_eip
compat_eip:
	times 64 db 0xb8

; CS.base + EIP: a 32-bit code segment's base is compat32_code - compat_eip.
align 4096
global compat32_code
compat32_code:
bits 32
	cpuid
	mov esi, RESUMED
	retf
bits 64

; The same in a 16-bit code segment (its EIP above 64 KiB: the segment is
; 4 GiB, and this code neither jumps nor calls, which would truncate EIP).
align 4096
global compat16_code
compat16_code:
bits 16
	cpuid
	mov esi, RESUMED
	o32 retf
bits 64

section .note.GNU-stack noalloc noexec nowrite progbits
