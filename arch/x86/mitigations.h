/*
 * Side-channel mitigations between partitions: which ones this CPU needs
 * and offers, decided once at start-up from what it enumerates (pure, unit
 * tested), and their application on a switch of partition and on VM entry
 * (mitigate.c).
 */
#ifndef ARCH_X86_MITIGATIONS_H
#define ARCH_X86_MITIGATIONS_H

#include <stdint.h>

/* CPUID.(EAX=7,ECX=0):EDX (Intel SDM Vol. 2A, Table 3-8; Intel's "Speculative Execution Side Channel Mitigations"). */
#define EDX7_MD_CLEAR (1u << 10)
#define EDX7_IBRS_IBPB (1u << 26)
#define EDX7_STIBP (1u << 27)
#define EDX7_L1D_FLUSH (1u << 28)
#define EDX7_ARCH_CAPABILITIES (1u << 29)
#define EDX7_CORE_CAPABILITIES (1u << 30)
#define EDX7_SSBD (1u << 31)
/* CPUID.(EAX=7,ECX=0):EBX: TSX's RTM, for TSX Asynchronous Abort. */
#define EBX7_RTM (1u << 11)
/* CPUID.(EAX=7,ECX=2):EDX: further IA32_SPEC_CTRL controls. */
#define EDX72_PSFD (1u << 0)
#define EDX72_IPRED_CTRL (1u << 1)
#define EDX72_RRSBA_CTRL (1u << 2)
#define EDX72_DDPD_U (1u << 3)
#define EDX72_BHI_CTRL (1u << 4)
/* CPUID 0x80000008 EBX (AMD APM Vol. 3, E.4.7; AMD's "Indirect Branch Control Extension"). */
#define EBX88_IBPB (1u << 12)
#define EBX88_IBRS (1u << 14)
#define EBX88_STIBP (1u << 15)
#define EBX88_SSBD (1u << 24)
#define EBX88_VIRT_SSBD (1u << 25)
#define EBX88_PSFD (1u << 28)

/* IA32_ARCH_CAPABILITIES (MSR 0x10a; SDM Vol. 4, Table 2-2). */
#define ARCH_CAP_RDCL_NO (1ull << 0)
#define ARCH_CAP_SKIP_L1DFL_VMENTRY (1ull << 3)
#define ARCH_CAP_MDS_NO (1ull << 5)
#define ARCH_CAP_TAA_NO (1ull << 8)

#define MSR_SPEC_CTRL 0x48
#define MSR_PRED_CMD 0x49
#define PRED_CMD_IBPB 1ull
#define MSR_ARCH_CAPABILITIES 0x10a
#define MSR_FLUSH_CMD 0x10b
#define FLUSH_CMD_L1D 1ull

/* What the CPU enumerates; 0 for a leaf or MSR it lacks. */
struct mitigation_caps {
	int intel;           /* "GenuineIntel": L1TF and MDS are Intel's (AMD's CPUs are not affected) */
	uint32_t leaf7_ebx;  /* CPUID.(EAX=7,ECX=0) */
	uint32_t leaf7_edx;
	uint32_t leaf72_edx; /* CPUID.(EAX=7,ECX=2) */
	uint32_t ext8_ebx;   /* CPUID 0x80000008 */
	uint64_t arch_caps;  /* IA32_ARCH_CAPABILITIES, read only where CPUID.7:EDX[29] says it exists */
};

enum mitigation_state { MITIGATION_APPLIED, MITIGATION_NOT_NEEDED, MITIGATION_NOT_AVAILABLE };

struct mitigation {
	enum mitigation_state state;
	const char *why; /* when and why applied, why not needed, or what is missing */
};

struct mitigations {
	struct mitigation ibpb;      /* on a switch of partition on a CPU */
	struct mitigation l1d_flush; /* before every VM entry (VT-x) */
	struct mitigation verw;      /* buffer clearing before every VM entry */
};

void mitigations_decide(const struct mitigation_caps *c, struct mitigations *m);

/* "applied", "not needed", "not available". */
const char *mitigation_state_name(enum mitigation_state s);

/* Whether the CPU has IA32_PRED_CMD's IBPB. */
int ibpb_offered(const struct mitigation_caps *c);

/* The IA32_SPEC_CTRL bits the CPU implements (0: it has no such MSR). */
uint64_t spec_ctrl_bits(const struct mitigation_caps *c);

/* ---- applied on the CPU (mitigate.c) ---- */

/* Reads this CPU's capabilities, decides and logs each mitigation: call once, before any guest runs. */
void mitigations_init(void);
/* What the CPU enumerated, as mitigations_init() read it: the guests' MSR policy needs it too. */
const struct mitigation_caps *mitigation_caps(void);

/* A vCPU of partition is to run on this CPU: the barrier between partitions if it is not the last one's. */
void mitigate_partition_switch(const void *partition);

/*
 * Read at each VM entry: the L1D flush (the VT-x backend writes
 * IA32_FLUSH_CMD) and VERW (the entry code, svm_entry.asm and
 * vmx_entry.asm, by the symbol's name).
 */
extern uint8_t flush_l1d_on_entry;
extern uint8_t clear_cpu_buffers_on_entry;

#endif
