; A Multiboot (v1) test kernel for the end-to-end tests, built the way test
; kernels for QEMU are: as an ELF32 executable, or with -DAOUT as a flat
; binary whose header carries the a.out kludge's addresses. It prints on
; COM1 what its loader gave it (Multiboot Specification 0.6.96, 3.3):
;
;   MB magic 0x2badb002
;   MB cmdline 'CMDLINE'
;   MB mods N
;   MB mod I 'STRING' size S aligned yes|no: CONTENTS (at most 48 bytes, '.' for others than ASCII)
;   MB mem lower L upper U
;   MB mmap N entries
;   MB mmap BASE LENGTH TYPE (16 hex digits each, the type in decimal)
;   MB loader 'NAME'
;   MB fw_cfg cpus N ram_mib M (QEMU's fw_cfg at 0x510), or MB fw_cfg none
;   MB exit V
;
; then writes V (from "exit=V" in its command line, else 0) to QEMU's
; isa-debug-exit port 0xF4 and halts with interrupts off.

bits 32

MB_MAGIC	equ 0x1badb002
MB_BOOT_MAGIC	equ 0x2badb002
%ifdef AOUT
MB_FLAGS	equ 0x00010003		; page-aligned modules, memory information, the a.out kludge
%else
MB_FLAGS	equ 0x00000003
%endif
INFO_CMDLINE	equ 1 << 2
INFO_MODS	equ 1 << 3
INFO_MMAP	equ 1 << 6
INFO_LOADER	equ 1 << 9
COM1		equ 0x3f8
LSR_THRE	equ 0x20
EXIT_PORT	equ 0xf4
FW_CFG_PORT	equ 0x510		; the selector; the data port follows it
FW_CFG_SIGNATURE equ 0x00
FW_CFG_RAM_SIZE	equ 0x03
FW_CFG_NB_CPUS	equ 0x05
CONTENTS_MAX	equ 48

%ifdef AOUT
	org 0x100000
%endif

section .text
header:
	dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
%ifdef AOUT
	dd header			; header_addr
	dd header			; load_addr: the image starts with the header
	dd image_end			; load_end_addr
	dd bss_end			; bss_end_addr
	dd start			; entry_addr
%endif

global start
start:
	mov esp, stack_top
	mov [info], ebx
	mov [magic], eax
	mov esi, s_magic
	call puts
	mov eax, [magic]
	call put_hex32
	call newline
	call print_cmdline
	call print_mods
	call print_memory
	call print_mmap
	call print_loader
	call print_fw_cfg
	mov esi, s_exit
	call puts
	mov eax, [exit_value]
	call put_dec
	call newline
	mov eax, [exit_value]
	out EXIT_PORT, al
.halt:
	cli
	hlt
	jmp .halt

; ---- what the loader gave

print_cmdline:
	mov ebx, [info]
	test dword [ebx], INFO_CMDLINE
	jz .done
	mov esi, s_cmdline
	call puts
	mov esi, [ebx + 16]
	call puts
	call put_quote_newline
	mov esi, [ebx + 16]
	call find_exit
.done:
	ret

print_mods:
	mov ebx, [info]
	test dword [ebx], INFO_MODS
	jz .done
	mov esi, s_mods
	call puts
	mov eax, [ebx + 20]
	call put_dec
	call newline
	mov ecx, [ebx + 20]
	mov edi, [ebx + 24]
	xor edx, edx
.next:
	cmp edx, ecx
	je .done
	call print_mod
	add edi, 16
	inc edx
	jmp .next
.done:
	ret

; Module EDX, its entry at EDI.
print_mod:
	pushad
	mov esi, s_mod
	call puts
	mov eax, edx
	call put_dec
	mov esi, s_quote_open
	call puts
	mov esi, [edi + 8]
	call puts
	mov esi, s_size
	call puts
	mov eax, [edi + 4]
	sub eax, [edi]
	call put_dec
	mov esi, s_aligned
	call puts
	mov esi, s_yes
	test dword [edi], 0xfff
	jz .aligned
	mov esi, s_no
.aligned:
	call puts
	mov esi, s_colon
	call puts
	mov esi, [edi]
	mov ecx, [edi + 4]
	sub ecx, esi
	cmp ecx, CONTENTS_MAX
	jbe .contents
	mov ecx, CONTENTS_MAX
.contents:
	jecxz .end
	lodsb
	cmp al, 0x20
	jb .dot
	cmp al, 0x7e
	jbe .put
.dot:
	mov al, '.'
.put:
	call putc
	dec ecx
	jmp .contents
.end:
	call newline
	popad
	ret

print_memory:
	mov ebx, [info]
	mov esi, s_mem
	call puts
	mov eax, [ebx + 4]
	call put_dec
	mov esi, s_upper
	call puts
	mov eax, [ebx + 8]
	call put_dec
	call newline
	ret

print_mmap:
	mov ebx, [info]
	test dword [ebx], INFO_MMAP
	jz .done
	; Entries first counted, then printed: each is its size field (4 bytes) plus that size.
	mov edi, [ebx + 48]
	mov ecx, edi
	add ecx, [ebx + 44]
	xor edx, edx
.count:
	cmp edi, ecx
	jae .counted
	inc edx
	add edi, [edi]
	add edi, 4
	jmp .count
.counted:
	mov esi, s_mmap
	call puts
	mov eax, edx
	call put_dec
	mov esi, s_entries
	call puts
	mov edi, [ebx + 48]
.entry:
	cmp edi, ecx
	jae .done
	mov esi, s_mmap
	call puts
	mov eax, [edi + 8]
	call put_hex32
	mov eax, [edi + 4]
	call put_hex32_digits
	mov al, ' '
	call putc
	mov eax, [edi + 16]
	call put_hex32
	mov eax, [edi + 12]
	call put_hex32_digits
	mov al, ' '
	call putc
	mov eax, [edi + 20]
	call put_dec
	call newline
	add edi, [edi]
	add edi, 4
	jmp .entry
.done:
	ret

print_loader:
	mov ebx, [info]
	test dword [ebx], INFO_LOADER
	jz .done
	mov esi, s_loader
	call puts
	mov esi, [ebx + 64]
	call puts
	call put_quote_newline
.done:
	ret

print_fw_cfg:
	mov esi, s_fw_cfg
	call puts
	mov ax, FW_CFG_SIGNATURE
	mov ecx, 4
	call fw_cfg_read
	cmp dword [fw_value], 'QEMU'
	jne .none
	mov esi, s_cpus
	call puts
	mov ax, FW_CFG_NB_CPUS
	mov ecx, 2
	call fw_cfg_read
	mov eax, [fw_value]
	call put_dec
	mov esi, s_ram_mib
	call puts
	mov ax, FW_CFG_RAM_SIZE
	mov ecx, 8
	call fw_cfg_read
	mov eax, [fw_value]
	mov edx, [fw_value + 4]
	shrd eax, edx, 20
	call put_dec
	call newline
	ret
.none:
	mov esi, s_none
	call puts
	ret

; The first ECX bytes (1 to 8) of fw_cfg item AX, little-endian, into fw_value.
fw_cfg_read:
	pushad
	mov dx, FW_CFG_PORT
	out dx, ax
	inc dx
	mov dword [fw_value], 0
	mov dword [fw_value + 4], 0
	mov edi, fw_value
.byte:
	in al, dx
	stosb
	loop .byte
	popad
	ret

; "exit=DIGITS" at the start of the string at ESI or after a space: its value into exit_value.
find_exit:
	mov edi, esi
.scan:
	cmp byte [esi], 0
	je .done
	cmp esi, edi
	je .try
	cmp byte [esi - 1], ' '
	jne .skip
.try:
	cmp dword [esi], 'exit'
	jne .skip
	cmp byte [esi + 4], '='
	jne .skip
	add esi, 5
	xor eax, eax
.digit:
	movzx edx, byte [esi]
	sub edx, '0'
	cmp edx, 9
	ja .store
	imul eax, eax, 10
	add eax, edx
	inc esi
	jmp .digit
.store:
	mov [exit_value], eax
	ret
.skip:
	inc esi
	jmp .scan
.done:
	ret

; ---- output on COM1, each byte once the transmitter is empty

putc:
	push edx
	push eax
	mov dx, COM1 + 5
.wait:
	in al, dx
	test al, LSR_THRE
	jz .wait
	pop eax
	mov dx, COM1
	out dx, al
	pop edx
	ret

; The NUL-ended string at ESI.
puts:
	push esi
	push eax
.next:
	lodsb
	test al, al
	jz .done
	call putc
	jmp .next
.done:
	pop eax
	pop esi
	ret

newline:
	push eax
	mov al, 10
	call putc
	pop eax
	ret

put_quote_newline:
	push eax
	mov al, "'"
	call putc
	call newline
	pop eax
	ret

; EAX as 0x and 8 hex digits; put_hex32_digits without the 0x.
put_hex32:
	push esi
	mov esi, s_0x
	call puts
	pop esi
put_hex32_digits:
	pushad
	mov ecx, 8
.digit:
	rol eax, 4
	mov edx, eax
	and edx, 0xf
	push eax
	mov al, [hex_digits + edx]
	call putc
	pop eax
	loop .digit
	popad
	ret

; EAX in decimal.
put_dec:
	pushad
	mov ecx, 10
	xor ebx, ebx
.divide:
	xor edx, edx
	div ecx
	push edx
	inc ebx
	test eax, eax
	jnz .divide
.print:
	pop eax
	add al, '0'
	call putc
	dec ebx
	jnz .print
	popad
	ret

s_magic:	db "MB magic ", 0
s_cmdline:	db "MB cmdline '", 0
s_mods:		db "MB mods ", 0
s_mod:		db "MB mod ", 0
s_quote_open:	db " '", 0
s_size:		db "' size ", 0
s_aligned:	db " aligned ", 0
s_yes:		db "yes", 0
s_no:		db "no", 0
s_colon:	db ": ", 0
s_mem:		db "MB mem lower ", 0
s_upper:	db " upper ", 0
s_mmap:		db "MB mmap ", 0
s_entries:	db " entries", 10, 0
s_loader:	db "MB loader '", 0
s_exit:		db "MB exit ", 0
s_fw_cfg:	db "MB fw_cfg ", 0
s_cpus:		db "cpus ", 0
s_ram_mib:	db " ram_mib ", 0
s_none:		db "none", 10, 0
s_0x:		db "0x", 0
hex_digits:	db "0123456789abcdef"
image_end:

section .bss
alignb 16
info:		resd 1
magic:		resd 1
exit_value:	resd 1
fw_value:	resq 1
stack:		resb 4096
stack_top:
bss_end:
