/* The VMCB (AMD APM Vol. 2, Appendix B, Tables B-1 and B-2). */
#ifndef ARCH_X86_SVM_VMCB_H
#define ARCH_X86_SVM_VMCB_H

#include <stddef.h>
#include <stdint.h>

struct vmcb_segment {
	uint16_t selector;
	uint16_t attrib; /* type 3:0, S 4, DPL 6:5, P 7, AVL 8, L 9, D/B 10, G 11 */
	uint32_t limit;
	uint64_t base;
};

struct vmcb {
	/* control area, 0x000 */
	uint32_t intercept_cr;
	uint32_t intercept_dr;
	uint32_t intercept_exceptions;
	uint32_t intercept_misc1;
	uint32_t intercept_misc2;
	uint32_t intercept_misc3;
	uint8_t reserved1[0x3c - 0x18];
	uint16_t pause_filter_threshold;
	uint16_t pause_filter_count;
	uint64_t iopm_base_pa;      /* 0x040 */
	uint64_t msrpm_base_pa;     /* 0x048 */
	uint64_t tsc_offset;        /* 0x050 */
	uint32_t guest_asid;        /* 0x058 */
	uint8_t tlb_control;        /* 0x05c */
	uint8_t reserved2[3];
	uint64_t v_intr;            /* 0x060 */
	uint64_t interrupt_shadow;  /* 0x068 */
	uint64_t exit_code;         /* 0x070 */
	uint64_t exit_info1;        /* 0x078 */
	uint64_t exit_info2;        /* 0x080 */
	uint64_t exit_int_info;     /* 0x088 */
	uint64_t np_enable;         /* 0x090 */
	uint64_t avic_apic_bar;     /* 0x098 */
	uint64_t ghcb_pa;           /* 0x0a0 */
	uint64_t event_inject;      /* 0x0a8 */
	uint64_t n_cr3;             /* 0x0b0 */
	uint64_t virt_ext;          /* 0x0b8 */
	uint32_t clean_bits;        /* 0x0c0 */
	uint32_t reserved3;
	uint64_t next_rip;          /* 0x0c8 */
	uint8_t insn_len;           /* 0x0d0 */
	uint8_t insn_bytes[15];
	uint8_t reserved4[0x400 - 0xe0];
	/* state save area, 0x400 */
	struct vmcb_segment es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr;
	uint8_t reserved5[0x4cb - 0x4a0];
	uint8_t cpl;                /* 0x4cb */
	uint32_t reserved6;
	uint64_t efer;              /* 0x4d0 */
	uint8_t reserved7[0x548 - 0x4d8];
	uint64_t cr4;               /* 0x548 */
	uint64_t cr3;
	uint64_t cr0;
	uint64_t dr7;
	uint64_t dr6;
	uint64_t rflags;
	uint64_t rip;               /* 0x578 */
	uint8_t reserved8[0x5d8 - 0x580];
	uint64_t rsp;               /* 0x5d8 */
	uint8_t reserved9[0x5f8 - 0x5e0];
	uint64_t rax;               /* 0x5f8 */
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t cr2;               /* 0x640 */
	uint8_t reserved10[0x668 - 0x648];
	uint64_t g_pat;             /* 0x668 */
	uint8_t reserved11[0x1000 - 0x670];
};

_Static_assert(offsetof(struct vmcb, iopm_base_pa) == 0x40, "VMCB layout");
_Static_assert(offsetof(struct vmcb, exit_code) == 0x70, "VMCB layout");
_Static_assert(offsetof(struct vmcb, n_cr3) == 0xb0, "VMCB layout");
_Static_assert(offsetof(struct vmcb, next_rip) == 0xc8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, es) == 0x400, "VMCB layout");
_Static_assert(offsetof(struct vmcb, tr) == 0x490, "VMCB layout");
_Static_assert(offsetof(struct vmcb, efer) == 0x4d0, "VMCB layout");
_Static_assert(offsetof(struct vmcb, cr4) == 0x548, "VMCB layout");
_Static_assert(offsetof(struct vmcb, rip) == 0x578, "VMCB layout");
_Static_assert(offsetof(struct vmcb, rsp) == 0x5d8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, rax) == 0x5f8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, cr2) == 0x640, "VMCB layout");
_Static_assert(offsetof(struct vmcb, g_pat) == 0x668, "VMCB layout");
_Static_assert(sizeof(struct vmcb) == 0x1000, "VMCB layout");

/* Intercept bits (APM Vol. 2, Table B-1). */
#define INTERCEPT_CR8_WRITE (1u << 24) /* intercept_cr: writes of CR0-15 in bits 16-31 */
#define MISC1_INTR (1u << 0)
#define MISC1_NMI (1u << 1)
#define MISC1_VINTR (1u << 4)
#define MISC1_INIT (1u << 3)
#define MISC1_RDPMC (1u << 15)
#define MISC1_CPUID (1u << 18)
#define MISC1_IRET (1u << 20)
#define MISC1_INVD (1u << 22)
#define MISC1_HLT (1u << 24)
#define MISC1_INVLPGA (1u << 26)
#define MISC1_IOIO (1u << 27)
#define MISC1_MSR (1u << 28)
#define MISC1_SHUTDOWN (1u << 31)
#define MISC2_VMRUN (1u << 0)
#define MISC2_VMMCALL (1u << 1)
#define MISC2_VMLOAD (1u << 2)
#define MISC2_VMSAVE (1u << 3)
#define MISC2_STGI (1u << 4)
#define MISC2_CLGI (1u << 5)
#define MISC2_SKINIT (1u << 6)
#define MISC2_WBINVD (1u << 9)
#define MISC2_MONITOR (1u << 10)
#define MISC2_MWAIT (1u << 11)
#define MISC2_MWAIT_ARMED (1u << 12)
#define MISC2_XSETBV (1u << 13)

/* Exit codes (APM Vol. 2, Appendix C). */
#define VMEXIT_EXCEPTION_DB 0x41 /* 0x40 + vector */
#define VMEXIT_EXCEPTION_AC 0x51
#define VMEXIT_RDPMC 0x6f
#define VMEXIT_CR8_WRITE 0x18 /* 0x10 + CR number */
#define VMEXIT_VINTR 0x64
#define VMEXIT_INTR 0x60
#define VMEXIT_NMI 0x61
#define VMEXIT_INIT 0x63
#define VMEXIT_CPUID 0x72
#define VMEXIT_IRET 0x74
#define VMEXIT_INVD 0x76
#define VMEXIT_HLT 0x78
#define VMEXIT_INVLPGA 0x7a
#define VMEXIT_IOIO 0x7b
#define VMEXIT_MSR 0x7c
#define VMEXIT_SHUTDOWN 0x7f
#define VMEXIT_VMRUN 0x80
#define VMEXIT_VMMCALL 0x81
#define VMEXIT_VMLOAD 0x82
#define VMEXIT_VMSAVE 0x83
#define VMEXIT_STGI 0x84
#define VMEXIT_CLGI 0x85
#define VMEXIT_SKINIT 0x86
#define VMEXIT_WBINVD 0x89
#define VMEXIT_MONITOR 0x8a
#define VMEXIT_MWAIT 0x8b
#define VMEXIT_MWAIT_ARMED 0x8c
#define VMEXIT_XSETBV 0x8d
#define VMEXIT_NPF 0x400
#define VMEXIT_INVALID 0xffffffffu /* QEMU reports only the low 32 bits */

#define EVENT_VALID (1ull << 31)
#define EVENT_HAS_ERROR (1ull << 11)
#define EVENT_TYPE_MASK (7ull << 8)
#define EVENT_TYPE_INTR 0ull
#define EVENT_TYPE_NMI (2ull << 8)
#define EVENT_TYPE_EXCEPTION (3ull << 8)
#define EVENT_TYPE_SOFT (4ull << 8) /* INTn */

#define V_TPR_MASK 0xfull
#define V_IRQ (1ull << 8)
#define V_INTR_PRIO_SHIFT 16
#define V_INTR_PRIO_MASK (0xfull << V_INTR_PRIO_SHIFT)
#define V_IGN_TPR (1ull << 20)
#define V_INTR_MASKING (1ull << 24)

#endif
