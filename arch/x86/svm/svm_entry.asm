; One guest run on AMD-V (APM Vol. 2, 15.5 VMRUN, 15.6 #VMEXIT).
;
; svm_run_guest: RDI the guest's VMCB, RSI gprs, RDX the host's state
; (host_vmcb_pa) for VMLOAD after the exit.
;
; Called only from run_guest() in svm.c, whose inline assembly tells the
; compiler which general registers are lost: all but RSP and the four kept
; here (push_kept). Not a System V call: R14 and R15 are left to svm_run's
; prologue, once a run.
;
; VMRUN saves and restores only RAX, RSP, RIP, RFLAGS and the control
; registers; the other general registers are ours to switch, from gprs[]
; in x86 encoding order (RAX and RSP there are ignored: they live in the
; VMCB). VMLOAD/VMSAVE switch the state VMRUN leaves alone (FS, GS, TR,
; LDTR, KernelGSbase, STAR/LSTAR/CSTAR/SFMASK, SYSENTER): the guest's in
; its VMCB, the host's in host_vmcb. GIF is clear across the switch, so
; nothing interrupts us with half of each state loaded.
;
; With V_INTR_MASKING the host's RFLAGS.IF, saved by VMRUN, decides whether
; a physical interrupt ends the guest's run (APM 15.21.1): IF is set for
; VMRUN so that the host's timer and kicks do, and cleared again before
; STGI, so that the host takes them only where it asks.

bits 64
default rel

%include "regs.inc"

extern clear_cpu_buffers_on_entry
extern verw_selector

section .text
global svm_run_guest
global svm_vmrun_return
svm_run_guest:
	push_kept
	push rdx		; host_vmcb_pa
	push rsi		; gprs

	clgi
	mov rax, rdi
	vmload			; [rax]
	guest_gprs load, rsi
	mov rsi, [rsi + 6*8]
	clear_cpu_buffers_if_asked	; the guest's RFLAGS are the VMCB's: ours are free
	sti			; GIF=0: nothing is taken before VMRUN
	vmrun			; [rax]; RAX (the VMCB address) comes back on #VMEXIT
svm_vmrun_return:
	vmsave			; [rax]

	pop rax			; gprs
	guest_gprs store, rax

	pop rax			; host_vmcb_pa
	vmload			; [rax]
	cli
	stgi
	pop_kept
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
