/*
 * What a guest sees of the CPU: CPUID results filtered from the host's,
 * and an allow/emulate/deny decision for each MSR. Pure functions of
 * their inputs, so they are unit tested on the host.
 */
#ifndef ARCH_X86_POLICY_H
#define ARCH_X86_POLICY_H

#include <stdint.h>

#include "cpu.h"
#include "mitigations.h"
#include "vcpu.h"

#define HV_CPUID_BASE 0x40000000u
#define HV_CPUID_TIMING 0x40000010u /* the de-facto leaf: EAX TSC kHz, EBX LAPIC bus kHz */
#define HV_CPUID_MAX HV_CPUID_TIMING
#define HV_CPUID_RANGE_LAST 0x4fffffffu /* reserved for hypervisors (SDM Vol. 2A, CPUID) */

/* Guest state a few CPUID bits mirror. */
struct cpuid_guest {
	unsigned vcpu_id;
	unsigned vcpu_count;
	int osxsave; /* guest CR4.OSXSAVE; read by leaf 1 alone, as apic_enabled is (arch_guest_cpuid() relies on it) */
	uint32_t tsc_khz; /* the TSC rate the hypervisor uses */
	int tsc_leaf_agrees; /* the host's CPUID 0x15 states that same rate */
	int apic_enabled; /* the vCPU's IA32_APIC_BASE global enable */
	uint32_t apic_bus_khz; /* its local APIC timer's input clock */
};

/*
 * The guest's CPUID(leaf, subleaf) given the host's answer to the same
 * question: the hypervisor bit and signature leaves are added; VMX, SVM,
 * SMX, MONITOR/MWAIT, performance counters and power management hidden,
 * and CORE_CAPABILITIES and VIRT_SSBD, whose MSRs guests do not get.
 * The TSC rate is told at HV_CPUID_TIMING, and at 0x15 only when the
 * host's leaf states the rate in use; the invariant-TSC bit (0x80000007
 * EDX bit 8) is the host's, so guests need not calibrate.
 */
struct cpuid_regs cpuid_policy(uint32_t leaf, uint32_t subleaf, struct cpuid_regs host,
			       const struct cpuid_guest *g);

enum msr_action {
	MSR_PASS,    /* the guest's own copy, kept by the CPU (VMCB/VMCS) */
	MSR_EMULATE, /* the hypervisor answers */
	MSR_DENY,    /* #GP to the guest */
};

struct vcpu_msrs;

struct msr_state {
	uint64_t efer; /* as the guest sees it: no SVME */
	uint64_t efer_allowed; /* bits the guest may set: efer_guest_bits() */
	uint64_t tsc;  /* the guest's TSC now */
	uint64_t cr0;  /* the guest's: LME is fixed while CR0.PG is set */
	uint64_t pat;  /* the vCPU's IA32_PAT */
	struct vcpu_msrs *kept; /* the MSRs the hypervisor keeps for the vCPU */
	unsigned phys_bits;     /* MAXPHYADDR: MTRR bits above it are reserved */
	int intel;              /* IA32_MISC_ENABLE exists on Intel CPUs only */
	int rdtscp;             /* TSC_AUX exists with RDTSCP (CPUID 0x80000001 EDX bit 27) */
	int xsaves;             /* IA32_XSS exists with XSAVES (CPUID.(EAX=0DH,ECX=1) EAX bit 3) */
	const struct mitigation_caps *spec; /* SPEC_CTRL, PRED_CMD, FLUSH_CMD, ARCH_CAPABILITIES */
};

/* EFER bits a guest may set, given CPUID.80000001 EDX: SCE, LME, LMA and NXE where offered. */
uint64_t efer_guest_bits(uint32_t ext_features_edx);

/*
 * Decides a guest RDMSR (write = 0) or WRMSR. For MSR_EMULATE reads,
 * *value is the answer; for writes, the new state is in *s.
 */
enum msr_action msr_policy(uint32_t msr, int write, uint64_t *value, struct msr_state *s);

/* Whether the CPU may run guest reads and writes of msr without an exit. */
int msr_passthrough(uint32_t msr);

/*
 * Whether XSETBV may load xcr0 into XCR0, given the components the CPU
 * supports there (CPUID.(EAX=0DH,ECX=0) EDX:EAX): the rules of Intel SDM
 * Vol. 1, 13.3 and the #GP conditions of XSETBV (Vol. 2D).
 */
int xcr0_valid(uint64_t xcr0, uint64_t supported);

#define MSR_TSC 0x10
#define MSR_TSC_ADJUST 0x3b
#define MSR_BIOS_SIGN_ID 0x8b
#define MSR_APIC_BASE 0x1b
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_PAT 0x277
#define PAT_DEFAULT 0x0007040600070406ull /* at reset (SDM Vol. 3A, 13.12.4) */
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_EFER 0xc0000080
#define MSR_TSC_AUX 0xc0000103
#define MSR_VM_HSAVE_PA 0xc0010117
#define MSR_AMD_SYSCFG 0xc0010010
#define MSR_AMD_HWCR 0xc0010015
#define MSR_AMD_NB_CFG 0xc001001f
#define MSR_MTRR_CAP 0xfe
#define MSR_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_XSS 0xda0

#define CR0_PG (1ull << 31)

#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define EFER_SVME (1ull << 12)

#endif
