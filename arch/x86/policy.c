#include "policy.h"

#include "hypercall.h"

/* CPUID.1 ECX (Intel SDM Vol. 2A, Table 3-10). */
#define ECX1_MONITOR (1u << 3)
#define ECX1_VMX (1u << 5)
#define ECX1_SMX (1u << 6)
#define ECX1_PDCM (1u << 15)
#define ECX1_X2APIC (1u << 21)
#define ECX1_TSC_DEADLINE (1u << 24)
#define ECX1_OSXSAVE (1u << 27)
#define EDX1_APIC (1u << 9)
#define ECX1_HYPERVISOR (1u << 31)
/* CPUID.80000001 ECX (AMD APM Vol. 3, E.4.2). */
#define ECX81_SVM (1u << 2)
#define ECX81_PERFCTR_CORE (1u << 23)
#define ECX81_PERFCTR_NB (1u << 24)
#define ECX81_PERFCTR_LLC (1u << 28)
/* CPUID.80000001 EDX (Intel SDM Vol. 2A, Table 3-8; AMD APM Vol. 3, E.4.2). */
#define EDX81_SYSCALL (1u << 11)
#define EDX81_NX (1u << 20)
#define EDX81_LM (1u << 29)

/* XCR0 state components (Intel SDM Vol. 1, 13.1 and 13.3). */
#define XCR0_X87 (1ull << 0)
#define XCR0_SSE (1ull << 1)
#define XCR0_AVX (1ull << 2)
#define XCR0_MPX (3ull << 3)     /* BNDREGS, BNDCSR */
#define XCR0_AVX512 (7ull << 5)  /* opmask, ZMM_Hi256, Hi16_ZMM */
#define XCR0_AMX (3ull << 17)    /* TILECFG, TILEDATA */
#define XCR0_RESERVED (1ull << 63)
/* Supervisor components, managed through IA32_XSS only: PT, PASID, CET_U, CET_S, HDC, UINTR, LBR, HWP. */
#define XSS_COMPONENTS ((1ull << 8) | (0x7full << 10))

static struct cpuid_regs signature(void)
{
	const char *sig = HV_CPUID_SIGNATURE;
	struct cpuid_regs r = { HV_CPUID_MAX, 0, 0, 0 };
	int i;

	for (i = 0; i < 4; i++) {
		r.ebx |= (uint32_t)(uint8_t)sig[i] << (8 * i);
		r.ecx |= (uint32_t)(uint8_t)sig[4 + i] << (8 * i);
		r.edx |= (uint32_t)(uint8_t)sig[8 + i] << (8 * i);
	}
	return r;
}

static struct cpuid_regs leaf1(struct cpuid_regs r, const struct cpuid_guest *g)
{
	r.ecx &= ~(ECX1_MONITOR | ECX1_VMX | ECX1_SMX | ECX1_PDCM | ECX1_OSXSAVE);
	r.ecx |= ECX1_HYPERVISOR | (g->osxsave ? ECX1_OSXSAVE : 0);
	/* The local APIC is the hypervisor's, whatever the host's: x2APIC and the TSC-deadline
	 * timer always; the APIC bit follows IA32_APIC_BASE's enable (SDM Vol. 3A, 11.4.3). */
	r.ecx |= ECX1_X2APIC | ECX1_TSC_DEADLINE;
	r.edx = g->apic_enabled ? r.edx | EDX1_APIC : r.edx & ~EDX1_APIC;
	/* EBX: initial APIC ID in 31:24, logical processor count in 23:16. */
	r.ebx = (r.ebx & 0xffff) | (g->vcpu_id << 24) | ((g->vcpu_count & 0xff) << 16);
	return r;
}

struct cpuid_regs cpuid_policy(uint32_t leaf, uint32_t subleaf, struct cpuid_regs host,
			       const struct cpuid_guest *g)
{
	struct cpuid_regs none = { 0, 0, 0, 0 };

	(void)subleaf;
	switch (leaf) {
	case 1:
		return leaf1(host, g);
	case 5:    /* MONITOR/MWAIT: hidden */
	case 6:    /* thermal and power management */
	case 0xa:  /* architectural performance monitoring */
	case 0x8000000a: /* SVM features */
		return none;
	case 0x15: /* TSC/crystal ratio: a wrong one is worse than none (EBX 0: not stated) */
		return g->tsc_leaf_agrees ? host : none;
	case HV_CPUID_BASE:
		return signature();
	case HV_CPUID_TIMING:
		none.eax = g->tsc_khz;
		none.ebx = g->apic_bus_khz;
		return none;
	case 0x80000001:
		host.ecx &= ~(ECX81_SVM | ECX81_PERFCTR_CORE | ECX81_PERFCTR_NB | ECX81_PERFCTR_LLC);
		return host;
	}
	if (leaf > HV_CPUID_BASE && leaf <= HV_CPUID_BASE + 0xff)
		return none; /* features (0x40000001) and the rest of our range: none yet */
	return host;
}

/* Context-switched by the CPU itself on VM entry and exit (VMCB save area / VMCS). */
int msr_passthrough(uint32_t msr)
{
	switch (msr) {
	case MSR_SYSENTER_CS:
	case MSR_SYSENTER_ESP:
	case MSR_SYSENTER_EIP:
	case MSR_STAR:
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_SFMASK:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
		return 1;
	default:
		return 0;
	}
}

uint64_t efer_guest_bits(uint32_t ext_features_edx)
{
	return ((ext_features_edx & EDX81_SYSCALL) ? EFER_SCE : 0) |
	       ((ext_features_edx & EDX81_LM) ? EFER_LME | EFER_LMA : 0) |
	       ((ext_features_edx & EDX81_NX) ? EFER_NXE : 0);
}

static enum msr_action efer(int write, uint64_t *value, struct msr_state *s)
{
	if (!write) {
		*value = s->efer;
		return MSR_EMULATE;
	}
	if (*value & ~s->efer_allowed)
		return MSR_DENY; /* reserved bits, and SVME: #GP (APM Vol. 2, 3.1.7) */
	/* Changing LME with paging on is #GP (Intel SDM Vol. 3A, 9.8.5; AMD APM Vol. 2, 3.1.7, 14.6.1). */
	if (((*value ^ s->efer) & EFER_LME) && (s->cr0 & CR0_PG))
		return MSR_DENY;
	s->efer = (*value & ~EFER_LMA) | (s->efer & EFER_LMA); /* LMA is the CPU's to set */
	return MSR_EMULATE;
}

/*
 * IA32_PAT: each vCPU's own, kept by the backend (QEMU's SVM, for one,
 * does not switch it). Each byte must name a memory type, 0, 1, 4, 5, 6
 * or 7, else WRMSR is #GP (SDM Vol. 3A, 13.12.2).
 */
static enum msr_action pat(int write, uint64_t *value, struct msr_state *s)
{
	unsigned i;

	if (!write) {
		*value = s->pat;
		return MSR_EMULATE;
	}
	for (i = 0; i < 8; i++) {
		uint8_t type = (uint8_t)(*value >> (8 * i));
		if (type > 7 || type == 2 || type == 3)
			return MSR_DENY;
	}
	s->pat = *value;
	return MSR_EMULATE;
}

enum msr_action msr_policy(uint32_t msr, int write, uint64_t *value, struct msr_state *s)
{
	if (msr_passthrough(msr))
		return MSR_PASS;
	switch (msr) {
	case 0xc0000080:
		return efer(write, value, s);
	case MSR_PAT:
		return pat(write, value, s);
	case MSR_TSC:
		/* Read: emulated (QEMU's SVM returns 0 when it is passed through).
		 * Write: would move the host's TSC. */
		*value = write ? *value : s->tsc;
		return write ? MSR_DENY : MSR_EMULATE;
	default:
		return MSR_DENY; /* unknown or host-sensitive: VM_CR, VM_HSAVE_PA, FEATURE_CONTROL... */
	}
}

static int all_or_none(uint64_t value, uint64_t bits)
{
	return (value & bits) == 0 || (value & bits) == bits;
}

int xcr0_valid(uint64_t xcr0, uint64_t supported)
{
	if (xcr0 & (~supported | XSS_COMPONENTS | XCR0_RESERVED))
		return 0;
	if (!(xcr0 & XCR0_X87))
		return 0; /* x87 state is always enabled */
	if ((xcr0 & XCR0_AVX) && !(xcr0 & XCR0_SSE))
		return 0;
	if (!all_or_none(xcr0, XCR0_MPX) || !all_or_none(xcr0, XCR0_AVX512) || !all_or_none(xcr0, XCR0_AMX))
		return 0;
	return !(xcr0 & XCR0_AVX512) || (xcr0 & XCR0_AVX); /* AVX-512 state needs AVX (and so SSE) */
}
