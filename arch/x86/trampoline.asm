; Start-up code for the other CPUs (application processors, APs).
;
; A SIPI starts an AP in real mode at VECTOR:0000 (Intel SDM Vol. 3A,
; 9.4.4), so this code is copied to a page below 1 MiB and runs from
; there: real mode -> protected mode -> long mode on the hypervisor's own
; page tables -> ap_main(index) on the stack the boot CPU chose. Everything
; it needs is in the parameter block at its end, which the boot CPU fills
; in; addresses inside the page are offsets from its start, rebased at run
; time (EBX holds the page's linear address).

bits 16
default abs

section .rodata
global trampoline_start
global trampoline_end
global trampoline_params

trampoline_start:
	cli
	mov ax, cs
	mov ds, ax
	xor ebx, ebx
	mov bx, ax
	shl ebx, 4				; linear address of this page
	lgdt [gdtr - trampoline_start]
	; From INIT, CR0 has CD and NW set (SDM Vol. 3A, 10.1.1, Table 10-1):
	; only PE now, caching on; the full CR0 comes with paging below.
	mov eax, 0x11				; PE, ET
	mov cr0, eax
	jmp far dword [far32 - trampoline_start]

bits 32
protected:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, cr4
	or eax, 0x20				; PAE
	mov cr4, eax
	mov eax, [ebx + p_cr3 - trampoline_start]
	mov cr3, eax
	mov ecx, 0xc0000080			; EFER: as the boot CPU has it (LME, NXE)
	mov eax, [ebx + p_efer - trampoline_start]
	xor edx, edx
	wrmsr
	mov eax, [ebx + p_cr0 - trampoline_start]
	mov cr0, eax				; the boot CPU's CR0 with PG: long mode is active now
	jmp far dword [ebx + far64 - trampoline_start]

bits 64
long_mode:
	mov rsp, [rbx + p_stack - trampoline_start]
	mov edi, [rbx + p_index - trampoline_start]
	jmp [rbx + p_entry - trampoline_start]

align 8
gdt:
	dq 0
	dq 0x00cf9a000000ffff			; 0x08: 32-bit code
	dq 0x00cf92000000ffff			; 0x10: data
	dq 0x00af9a000000ffff			; 0x18: 64-bit code
gdtr:
	dw gdtr - gdt - 1
	dd 0					; patched: linear address of gdt
far32:
	dd 0					; patched: linear address of protected
	dw 0x08
far64:
	dd 0					; patched: linear address of long_mode
	dw 0x18

; struct trampoline_params (smp.c)
align 8
trampoline_params:
p_cr3:	dd 0
p_efer:	dd 0
p_cr0:	dd 0
	dd 0
p_stack: dq 0
p_entry: dq 0
p_index: dd 0
	dd 0
p_offsets:					; where the boot CPU patches, from the start
	dd gdtr + 2 - trampoline_start, gdt - trampoline_start
	dd far32 - trampoline_start, protected - trampoline_start
	dd far64 - trampoline_start, long_mode - trampoline_start
trampoline_end:

section .note.GNU-stack noalloc noexec nowrite progbits
