/*
 * VMCS control values computed from the VMX capability MSRs (Intel SDM
 * Vol. 3D, appendix A): every control is what we want, ORed with what the
 * CPU requires (allowed-0 settings, bits 31:0) and masked by what it
 * allows (allowed-1 settings, bits 63:32). The TRUE_* MSRs replace the
 * others when IA32_VMX_BASIC bit 55 says they exist. Pure: unit tested
 * with values read from real CPUs.
 */
#ifndef ARCH_X86_VMX_CONTROLS_H
#define ARCH_X86_VMX_CONTROLS_H

#include <stdint.h>

/* The capability MSRs, IA32_VMX_BASIC (0x480) to IA32_VMX_TRUE_ENTRY_CTLS (0x490). */
struct vmx_caps {
	uint64_t basic, pinbased, procbased, exit, entry, misc;
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	uint64_t procbased2, ept_vpid;
	uint64_t true_pinbased, true_procbased, true_exit, true_entry;
};

struct vmx_controls {
	uint32_t pinbased, procbased, procbased2, exit, entry;
	int ept_2m, ept_1g, vpid, unrestricted, preemption_timer;
	int timer_saved; /* each exit leaves the preemption timer's count left in its field */
	int tpr_shadow;  /* MOV CR8 uses the virtual-APIC page; else it exits */
	int pat_in_vmcs; /* IA32_PAT loaded and saved by entry and exit; else switched by hand */
	uint64_t invept_types;  /* bit 1: single-context, bit 2: all-context */
	uint64_t invvpid_types; /* bit 1: single-context, 2: all-context, 3: single-context but globals */
};

/*
 * Fills c with the controls this hypervisor runs guests with. Returns NULL,
 * or the name of a feature it needs and the CPU lacks.
 */
const char *vmx_compute_controls(const struct vmx_caps *caps, struct vmx_controls *c);

/* CR0 and CR4 bits fixed in VMX operation: value | fixed0, & fixed1 (SDM Vol. 3D, A.7, A.8). */
uint64_t vmx_fix_cr0(const struct vmx_caps *caps, uint64_t cr0, int unrestricted);
uint64_t vmx_fix_cr4(const struct vmx_caps *caps, uint64_t cr4);

/* Pin-based controls */
#define PIN_EXTERNAL_INTERRUPT (1u << 0)
#define PIN_NMI (1u << 3)
#define PIN_VIRTUAL_NMIS (1u << 5)
#define PIN_PREEMPTION_TIMER (1u << 6)
/* Primary processor-based controls */
#define PROC_INTERRUPT_WINDOW (1u << 2)
#define PROC_TSC_OFFSETTING (1u << 3)
#define PROC_HLT (1u << 7)
#define PROC_MWAIT (1u << 10)
#define PROC_RDPMC (1u << 11)
#define PROC_CR3_LOAD (1u << 15)
#define PROC_CR3_STORE (1u << 16)
#define PROC_CR8_LOAD (1u << 19)
#define PROC_CR8_STORE (1u << 20)
#define PROC_TPR_SHADOW (1u << 21)
#define PROC_UNCONDITIONAL_IO (1u << 24)
#define PROC_MSR_BITMAPS (1u << 28)
#define PROC_MONITOR (1u << 29)
#define PROC_SECONDARY (1u << 31)
/* Secondary processor-based controls */
#define PROC2_EPT (1u << 1)
#define PROC2_RDTSCP (1u << 3)
#define PROC2_VPID (1u << 5)
#define PROC2_WBINVD (1u << 6)
#define PROC2_UNRESTRICTED (1u << 7)
#define PROC2_INVPCID (1u << 12)
#define PROC2_XSAVES (1u << 20)
/* VM-exit controls */
#define EXIT_HOST_64 (1u << 9)
#define EXIT_ACK_INTERRUPT (1u << 15)
#define EXIT_SAVE_PAT (1u << 18)
#define EXIT_LOAD_PAT (1u << 19)
#define EXIT_SAVE_EFER (1u << 20)
#define EXIT_LOAD_EFER (1u << 21)
#define EXIT_SAVE_PREEMPTION_TIMER (1u << 22)
/* VM-entry controls */
#define ENTRY_IA32E_GUEST (1u << 9)
#define ENTRY_LOAD_PAT (1u << 14)
#define ENTRY_LOAD_EFER (1u << 15)

#endif
