; Platform test kernel entry. A Multiboot (v1) loader enters _start in
; 32-bit protected mode with paging off, EAX = 0x2BADB002, EBX = the
; information structure (Multiboot Specification 0.6.96, 3.2). We build
; nothing at run time: the page tables identity-map the first 4 GiB with
; 2 MiB pages (the top 1 GiB uncached, where devices live) and are data.
; The C code runs in 64-bit mode; call32() returns to 32-bit protected
; mode with paging off for a function, as Multiboot kernels run.

%include "regs.inc"

MB_MAGIC    equ 0x1badb002
MB_FLAGS    equ 0x00000003		; modules page-aligned, memory information wanted
CODE32      equ 0x08
DATA        equ 0x10
CODE64      equ 0x18
MSR_EFER    equ 0xc0000080
EFER_LME    equ 1 << 8
CR0_PG      equ 1 << 31
CR4_PAE     equ 1 << 5
PTE_FLAGS   equ 0x03			; present, writable
PDE_2M      equ 0x83			; present, writable, 2 MiB page
PDE_UC      equ 0x18			; PCD | PWT

section .multiboot progbits alloc noexec nowrite align=4
	dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

section .data
align 4096
pml4:
	dq pdpt + PTE_FLAGS
	times 511 dq 0
pdpt:
%assign g 0
%rep 4
	dq pd + g * 4096 + PTE_FLAGS
%assign g g + 1
%endrep
	times 508 dq 0
pd:
%assign i 0
%rep 2048
%if i >= 1536
	dq (i << 21) | PDE_2M | PDE_UC
%else
	dq (i << 21) | PDE_2M
%endif
%assign i i + 1
%endrep

align 16
global gdt
gdt:
	dq 0
	dq 0x00cf9a000000ffff		; 0x08: 32-bit code, flat
	dq 0x00cf92000000ffff		; 0x10: data, flat
	dq 0x00af9a000000ffff		; 0x18: 64-bit code
gdt_end:
gdtr:
	dw gdt_end - gdt - 1
	dq gdt

global mb_magic, mb_info, ap_stack, ap_reached_protected
mb_magic: dd 0
mb_info: dd 0
ap_stack: dq 0				; the AP's stack top, set before its SIPI
ap_reached_protected: dd 0
saved_rsp: dq 0

section .bss
align 16
stack: resb 16384
stack_top:

section .text
bits 32
extern platform_main
extern ap_main
extern trap_dispatch

; From 32-bit protected mode with paging off to 64-bit mode at %1.
%macro enter_long_mode 1
	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov eax, pml4
	mov cr3, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	wrmsr
	mov eax, cr0
	or eax, CR0_PG
	mov cr0, eax
	jmp CODE64:%1
%endmacro

global _start
_start:
	cli
	mov esp, stack_top
	mov [mb_magic], eax
	mov [mb_info], ebx
	lgdt [gdtr]
	mov ax, DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
	enter_long_mode .long

bits 64
.long:
	mov rsp, stack_top
	mov edi, [mb_magic]
	mov esi, [mb_info]
	call platform_main
.hang:
	cli
	hlt
	jmp .hang

; The second vCPU, from the real-mode trampoline, in 32-bit protected mode.
bits 32
global ap_protected
ap_protected:
	mov ax, DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov dword [ap_reached_protected], 1
	enter_long_mode .long
bits 64
.long:
	mov rsp, [ap_stack]
	call ap_main
	jmp _start.hang

; The real-mode trampoline, copied to a page below 1 MiB whose number is
; the STARTUP IPI's vector: the vCPU starts at CS = vector << 8, IP = 0
; (Intel SDM Vol. 3A, 9.4.4.1). It notes its CS where it runs, then
; reaches protected mode with our GDT.
bits 16
global trampoline, trampoline_end, trampoline_cs
trampoline:
	cli
	mov ax, cs
	mov ds, ax
	mov [trampoline_cs - trampoline], ax
	o32 lgdt [trampoline_gdtr - trampoline]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp dword CODE32:ap_protected
align 4
trampoline_cs: dw 0
trampoline_gdtr:
	dw gdt_end - gdt - 1
	dd gdt
trampoline_end:

; void call32(uint32_t fn, uint32_t arg): runs fn(arg) (cdecl) in 32-bit
; protected mode with paging off, interrupts off; back in 64-bit mode
; after. Leaving long mode: Intel SDM Vol. 3A, 10.8.5.4.
bits 64
global call32
call32:
	push_callee_saved
	pushfq
	cli
	mov [saved_rsp], rsp
	push CODE32
	lea rax, [.compat]
	push rax
	o64 retf
bits 32
.compat:
	mov eax, cr0
	and eax, ~CR0_PG
	mov cr0, eax
	mov ecx, MSR_EFER
	rdmsr
	and eax, ~EFER_LME
	wrmsr
	mov ax, DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
	push esi
	call edi
	add esp, 4
	enter_long_mode .back
bits 64
.back:
	mov ax, DATA
	mov ss, ax
	mov rsp, [saved_rsp]
	popfq
	pop_callee_saved
	ret

; form_regs load|store, BASE, r|e: RAX RCX RSI RDI RBX (or their low
; halves) to or from their slots in struct form_regs at BASE (mmio.c).
%macro form_regs 3
%assign slot 0
%rep 5
%if slot = 0
%define reg %{3}ax
%elif slot = 1
%define reg %{3}cx
%elif slot = 2
%define reg %{3}si
%elif slot = 3
%define reg %{3}di
%else
%define reg %{3}bx
%endif
%ifidni %1, load
	mov reg, [%2 + slot * 8]
%else
	mov [%2 + slot * 8], reg
%endif
%assign slot slot + 1
%endrep
%endmacro

; void run_form64(struct form_regs *r): loads RAX RCX RSI RDI RBX and
; RFLAGS from r, calls r->code, stores them back.
global run_form64
run_form64:
	push_callee_saved
	mov rbp, rdi
	form_regs load, rbp, r
	push qword [rbp + 40]
	popfq
	call [rbp + 48]
	pushfq
	pop qword [rbp + 40]
	form_regs store, rbp, r
	cld
	pop_callee_saved
	ret

; The same for 32-bit code, through call32: the low halves only.
bits 32
global run_form32
run_form32:
	push ebp
	push ebx
	push esi
	push edi
	mov ebp, [esp + 20]
	form_regs load, ebp, e
	push dword [ebp + 40]
	popfd
	call [ebp + 48]
	pushfd
	pop dword [ebp + 40]
	form_regs store, ebp, e
	cld
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

bits 64
define_trap_stubs 256, trap_common

; Frame: the general registers, vector, error, rip, cs, rflags, rsp, ss.
trap_common:
	guest_trap_common trap_dispatch

section .data
global trap_stubs
align 8
trap_stubs:
	trap_stub_table 256

section .note.GNU-stack noalloc noexec nowrite progbits
