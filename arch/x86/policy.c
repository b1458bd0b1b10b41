#include "policy.h"

#include "hypercall.h"
#include "pvclock.h"

/* CPUID.1 ECX (Intel SDM Vol. 2A, Table 3-10). */
#define ECX1_DTES64 (1u << 2)
#define ECX1_MONITOR (1u << 3)
#define ECX1_DS_CPL (1u << 4)
#define ECX1_EST (1u << 7)
#define ECX1_TM2 (1u << 8)
#define ECX1_VMX (1u << 5)
#define ECX1_SMX (1u << 6)
#define ECX1_PDCM (1u << 15)
#define ECX1_X2APIC (1u << 21)
#define ECX1_TSC_DEADLINE (1u << 24)
#define ECX1_OSXSAVE (1u << 27)
#define EDX1_MCE (1u << 7)
#define EDX1_APIC (1u << 9)
#define EDX1_MCA (1u << 14)
#define EDX1_DS (1u << 21)
#define EDX1_ACPI (1u << 22) /* thermal monitor and clock control MSRs */
#define EDX1_TM (1u << 29)
#define EDX1_PBE (1u << 31)
#define ECX1_HYPERVISOR (1u << 31)
/* CPUID.(EAX=7,ECX=0) EBX (Intel SDM Vol. 2A, Table 3-8). */
#define EBX7_TSC_ADJUST (1u << 1)
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

/* A 12-byte signature in EBX, ECX, EDX, as hypervisors give theirs, and the range's last leaf in EAX. */
static struct cpuid_regs signature_leaf(const char *sig, uint32_t last)
{
	struct cpuid_regs r = { last, 0, 0, 0 };
	int i;

	for (i = 0; i < 4; i++) {
		r.ebx |= (uint32_t)(uint8_t)sig[i] << (8 * i);
		r.ecx |= (uint32_t)(uint8_t)sig[4 + i] << (8 * i);
		r.edx |= (uint32_t)(uint8_t)sig[8 + i] << (8 * i);
	}
	return r;
}

static struct cpuid_regs signature(void)
{
	return signature_leaf(HV_CPUID_SIGNATURE, HV_CPUID_MAX);
}

/* KVM's, for its paravirtual clock (pvclock.h): "KVMKVMKVM" and three NULs. */
static struct cpuid_regs pvclock_signature(void)
{
	return signature_leaf("KVMKVMKVM\0\0\0", PVCLOCK_CPUID_FEATURES);
}

static struct cpuid_regs leaf1(struct cpuid_regs r, const struct cpuid_guest *g)
{
	r.ecx &= ~(ECX1_MONITOR | ECX1_VMX | ECX1_SMX | ECX1_PDCM | ECX1_OSXSAVE);
	r.ecx |= ECX1_HYPERVISOR | (g->osxsave ? ECX1_OSXSAVE : 0);
	/* The local APIC is the hypervisor's, whatever the host's: x2APIC and the TSC-deadline
	 * timer always; the APIC bit follows IA32_APIC_BASE's enable (SDM Vol. 3A, 11.4.3). */
	r.ecx |= ECX1_X2APIC | ECX1_TSC_DEADLINE;
	r.edx = g->apic_enabled ? r.edx | EDX1_APIC : r.edx & ~EDX1_APIC;
	/* Machine checks, thermal monitoring, SpeedStep and the debug store are the host's:
	 * none of their MSRs is virtualized. */
	r.edx &= ~(EDX1_MCE | EDX1_MCA | EDX1_DS | EDX1_ACPI | EDX1_TM | EDX1_PBE);
	r.ecx &= ~(ECX1_DTES64 | ECX1_DS_CPL | ECX1_EST | ECX1_TM2);
	/* EBX: initial APIC ID in 31:24, logical processor count in 23:16. */
	r.ebx = (r.ebx & 0xffff) | (g->vcpu_id << 24) | ((g->vcpu_count & 0xff) << 16);
	return r;
}

/*
 * XSAVE's leaf (SDM Vol. 1, 13.2): no supervisor state component is
 * offered, IA32_XSS reading 0 and taking only 0 (msr_policy()): sub-leaf
 * 1 lists none in ECX and EDX (the IA32_XSS bits that may be set), and
 * each supervisor component's own sub-leaf is empty. XSAVES and XRSTORS
 * stay (EAX bit 3): with IA32_XSS 0 they handle the user components only.
 */
static struct cpuid_regs xsave_leaf(uint32_t subleaf, struct cpuid_regs host)
{
	struct cpuid_regs none = { 0, 0, 0, 0 };

	if (subleaf == 1) {
		host.ecx = 0;
		host.edx = 0;
	}
	return subleaf < 64 && (XSS_COMPONENTS >> subleaf & 1) ? none : host;
}

struct cpuid_regs cpuid_policy(uint32_t leaf, uint32_t subleaf, struct cpuid_regs host,
			       const struct cpuid_guest *g)
{
	struct cpuid_regs none = { 0, 0, 0, 0 };

	switch (leaf) {
	case 1:
		return leaf1(host, g);
	case 0xb:
	case 0x1f:
		/* Extended topology: EDX is the x2APIC ID of the CPU that runs CPUID (SDM Vol. 2A,
		 * CPUID), the vCPU's own, as in leaf 1, not that of the host CPU it runs on. */
		host.edx = g->vcpu_id;
		return host;
	case 0xd:
		return xsave_leaf(subleaf, host);
	case 7:
		if (subleaf == 0) {
			host.ebx |= EBX7_TSC_ADJUST; /* reads 0, takes only 0: msr_policy() */
			host.edx &= ~EDX7_CORE_CAPABILITIES; /* its MSR is the host's */
		}
		return host;
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
	case PVCLOCK_CPUID_BASE:
		return pvclock_signature();
	case PVCLOCK_CPUID_FEATURES:
		none.eax = PVCLOCK_FEATURES;
		return none;
	case 0x80000001:
		host.ecx &= ~(ECX81_SVM | ECX81_PERFCTR_CORE | ECX81_PERFCTR_NB | ECX81_PERFCTR_LLC);
		return host;
	case 0x80000008:
		host.ebx &= ~EBX88_VIRT_SSBD; /* a hypervisor's MSR (VIRT_SPEC_CTRL): not offered */
		return host;
	case 0x8000001e:
		/* AMD's extended APIC ID in EAX (APM Vol. 3, CPUID Fn8000_001E): the vCPU's too. */
		host.eax = g->vcpu_id;
		return host;
	case 0x80000007:
		/* The guest's TSC is the hypervisor's clock, constant-rate by its own premise
		 * (it measured the rate once): so invariant, whatever the host states. */
		host.edx |= CPUID_INVARIANT_TSC;
		return host;
	}
	if (leaf >= HV_CPUID_BASE && leaf <= HV_CPUID_RANGE_LAST)
		return none; /* the hypervisors' range is ours: what we do not offer is 0 */
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

/* A memory type MTRRs may name: UC, WC, WT, WP, WB (SDM Vol. 3A, Table 13-8). */
static int mtrr_type_valid(uint64_t type)
{
	return type == 0 || type == 1 || (type >= 4 && type <= 6);
}

/* Each of the 8 bytes of a fixed-range MTRR is a memory type (SDM Vol. 3A, 13.11.2.2). */
static int fixed_valid(uint64_t value)
{
	unsigned i;

	for (i = 0; i < 8; i++)
		if (!mtrr_type_valid((value >> (8 * i)) & 0xff))
			return 0;
	return 1;
}

/* The fixed-range MTRRs in their order: 64K_00000, 16K_80000, 16K_A0000, 4K_C0000 .. 4K_F8000. */
static int fixed_index(uint32_t msr)
{
	if (msr == 0x250)
		return 0;
	if (msr == 0x258 || msr == 0x259)
		return (int)(msr - 0x258 + 1);
	if (msr >= 0x268 && msr <= 0x26f)
		return (int)(msr - 0x268 + 3);
	return -1;
}

/*
 * Writes of an MTRR: reserved bits (above MAXPHYADDR, bits 11:8 of a
 * base, 10:0 of a mask, all but type, FE and E of the default type) or a
 * type the CPU lacks are #GP (SDM Vol. 3A, 13.11.2 and 13.11.2.3).
 */
static int mtrr_write_ok(uint32_t msr, uint64_t value, unsigned phys_bits)
{
	uint64_t above = phys_bits >= 64 ? 0 : ~0ull << phys_bits;

	if (msr == MSR_MTRR_DEF_TYPE)
		return !(value & ~0xcffull) && mtrr_type_valid(value & 0xff);
	if (fixed_index(msr) >= 0)
		return fixed_valid(value);
	if (msr & 1) /* a mask */
		return !(value & (above | 0x7ffull));
	return !(value & (above | 0xf00ull)) && mtrr_type_valid(value & 0xff);
}

/* The place of an MTRR the vCPU keeps, or NULL if msr is none. */
static uint64_t *mtrr_slot(uint32_t msr, struct vcpu_msrs *m)
{
	int fixed = fixed_index(msr);

	if (msr == MSR_MTRR_DEF_TYPE)
		return &m->mtrr_def_type;
	if (fixed >= 0)
		return &m->mtrr_fixed[fixed];
	if (msr >= 0x200 && msr < 0x200 + 2 * VCPU_MTRR_VARIABLE)
		return &m->mtrr_variable[msr - 0x200];
	return 0;
}

/*
 * MTRRs: MTRRCAP offers 8 variable ranges, the fixed ranges and
 * write-combining, and the rest is kept as the guest writes it; its RAM's
 * memory type is the nested tables' write-back whatever they say.
 */
static enum msr_action mtrr(uint32_t msr, int write, uint64_t *value, struct msr_state *s)
{
	uint64_t *slot = mtrr_slot(msr, s->kept);

	if (msr == MSR_MTRR_CAP) {
		*value = VCPU_MTRR_VARIABLE | (1u << 8) | (1u << 10); /* VCNT, FIX, WC */
		return write ? MSR_DENY : MSR_EMULATE;
	}
	if (!slot)
		return MSR_DENY;
	if (!write) {
		*value = *slot;
		return MSR_EMULATE;
	}
	if (!mtrr_write_ok(msr, *value, s->phys_bits))
		return MSR_DENY;
	*slot = *value;
	return MSR_EMULATE;
}

/*
 * IA32_MISC_ENABLE (Intel only): fast strings on, branch trace and PEBS
 * unavailable, nothing a guest may change; writing what it reads is
 * allowed, as Linux's read-modify-writes do (SDM Vol. 4, Table 2-2).
 */
#define MISC_ENABLE_VALUE ((1ull << 0) | (1ull << 11) | (1ull << 12))

static enum msr_action misc_enable(int write, uint64_t *value, const struct msr_state *s)
{
	if (!s->intel)
		return MSR_DENY;
	if (write)
		return *value == MISC_ENABLE_VALUE ? MSR_EMULATE : MSR_DENY;
	*value = MISC_ENABLE_VALUE;
	return MSR_EMULATE;
}

/*
 * IA32_BIOS_SIGN_ID (Intel only; SDM Vol. 3A, 10.11.7.1): the microcode
 * revision in bits 63:32, after the write of 0 a reader makes first. A
 * guest loads no microcode; it reads revision 1, as KVM's guests do, so
 * that Linux takes workarounds that old microcode needs rather than
 * trusting features the hypervisor does not virtualize (SPEC_CTRL).
 * Bits 63:32 are writable as on the CPU (the next read gives the revision
 * again, as after the CPUID that refreshes them); bits 31:0 are reserved
 * (SDM Vol. 4, Table 2-2): #GP.
 */
#define GUEST_MICROCODE_REVISION (1ull << 32)

static enum msr_action bios_sign_id(int write, uint64_t *value, const struct msr_state *s)
{
	if (!s->intel || (write && (uint32_t)*value))
		return MSR_DENY;
	*value = GUEST_MICROCODE_REVISION;
	return MSR_EMULATE;
}

/* TSC_AUX, where RDTSCP exists: 32 bits, the upper half reserved (SDM Vol. 4, Table 2-2). */
static enum msr_action tsc_aux(int write, uint64_t *value, struct msr_state *s)
{
	if (!s->rdtscp || (write && (*value >> 32)))
		return MSR_DENY;
	if (write)
		s->kept->tsc_aux = *value;
	else
		*value = s->kept->tsc_aux;
	return MSR_EMULATE;
}

/*
 * AMD's SYSCFG (APM Vol. 2, 7.9.1): its bits configure the host's memory
 * (SME, TOM2, the MTRRs' fixed-range extensions); the guest reads 0, none of
 * them, and may write back only that. Linux reads it at boot.
 */
static enum msr_action amd_syscfg(int write, uint64_t *value, const struct msr_state *s)
{
	if (s->intel || (write && *value))
		return MSR_DENY;
	*value = 0;
	return MSR_EMULATE;
}

/*
 * AMD's NB_CFG (BKDG for family 10h, MSRC001_001F) configures the host's
 * northbridge: the guest reads 0 and its writes are dropped. Linux sets
 * EnableCf8ExtCfg (bit 46) there; the virtual PCI bus's extended
 * configuration space is reached through ECAM instead (the MCFG says where).
 */
static enum msr_action amd_nb_cfg(int write, uint64_t *value, const struct msr_state *s)
{
	if (s->intel)
		return MSR_DENY;
	if (!write)
		*value = 0;
	return MSR_EMULATE;
}

/*
 * AMD's HWCR (APM Vol. 2, "Hardware Configuration Register"): TscFreqSel
 * (bit 24) reads 1, the TSC counting at the P0 rate (Linux warns of broken
 * firmware otherwise); the rest configures the host's core and reads 0. A
 * write may change nothing.
 */
#define HWCR_TSC_FREQ_SEL (1ull << 24)

static enum msr_action amd_hwcr(int write, uint64_t *value, const struct msr_state *s)
{
	if (s->intel || (write && *value != HWCR_TSC_FREQ_SEL))
		return MSR_DENY;
	*value = HWCR_TSC_FREQ_SEL;
	return MSR_EMULATE;
}

/*
 * IA32_SPEC_CTRL: the vCPU's own, taking the bits the CPU has (else #GP,
 * as the CPU gives); the caller loads it while the vCPU runs.
 */
static enum msr_action spec_ctrl(int write, uint64_t *value, struct msr_state *s)
{
	uint64_t bits = spec_ctrl_bits(s->spec);

	if (!bits || (write && (*value & ~bits)))
		return MSR_DENY;
	if (write)
		s->kept->spec_ctrl = *value;
	else
		*value = s->kept->spec_ctrl;
	return MSR_EMULATE;
}

/*
 * IA32_PRED_CMD and IA32_FLUSH_CMD take commands and cannot be read; a
 * write of the one command the CPU offers (or of 0) is done for the
 * guest by the caller, on the CPU, anything else is #GP.
 */
static enum msr_action command(int write, uint64_t value, uint64_t command_bit, int offered)
{
	return offered && write && !(value & ~command_bit) ? MSR_EMULATE : MSR_DENY;
}

/*
 * IA32_ARCH_CAPABILITIES, read-only, where CPUID.7:EDX[29] says so: the
 * host's bits that tell what the CPU is not affected by or does (RDCL_NO,
 * IBRS_ALL, RSBA, SKIP_L1DFL_VMENTRY, SSB_NO, MDS_NO, IF_PSCHANGE_MC_NO,
 * TAA_NO, SBDR_SSDP_NO, FBSDP_NO, PSDP_NO, FB_CLEAR, RRSBA, BHI_NO,
 * PBRSB_NO, GDS_NO, RFDS_NO, RFDS_CLEAR: SDM Vol. 4, Table 2-2), not
 * those that announce a control MSR a guest does not get (TSX_CTRL,
 * MISC_PACKAGE_CTRLS, FB_CLEAR_CTRL, GDS_CTRL, ...).
 */
#define ARCH_CAP_GUEST_BITS (0x17full | (7ull << 13) | (1ull << 17) | (3ull << 19) | (1ull << 24) | (7ull << 26))

static enum msr_action arch_capabilities(int write, uint64_t *value, const struct msr_state *s)
{
	if (write || !(s->spec->leaf7_edx & EDX7_ARCH_CAPABILITIES))
		return MSR_DENY;
	*value = s->spec->arch_caps & ARCH_CAP_GUEST_BITS;
	return MSR_EMULATE;
}

static int is_mtrr(uint32_t msr)
{
	return msr == MSR_MTRR_CAP || msr == MSR_MTRR_DEF_TYPE || fixed_index(msr) >= 0 ||
	       (msr >= 0x200 && msr < 0x200 + 2 * VCPU_MTRR_VARIABLE);
}

enum msr_action msr_policy(uint32_t msr, int write, uint64_t *value, struct msr_state *s)
{
	if (msr_passthrough(msr))
		return MSR_PASS;
	switch (msr) {
	case MSR_EFER:
		return efer(write, value, s);
	case MSR_PAT:
		return pat(write, value, s);
	case MSR_MISC_ENABLE:
		return misc_enable(write, value, s);
	case MSR_TSC_AUX:
		return tsc_aux(write, value, s);
	case MSR_BIOS_SIGN_ID:
		return bios_sign_id(write, value, s);
	case MSR_AMD_SYSCFG:
		return amd_syscfg(write, value, s);
	case MSR_AMD_NB_CFG:
		return amd_nb_cfg(write, value, s);
	case MSR_AMD_HWCR:
		return amd_hwcr(write, value, s);
	case MSR_SPEC_CTRL:
		return spec_ctrl(write, value, s);
	case MSR_PRED_CMD:
		return command(write, *value, PRED_CMD_IBPB, ibpb_offered(s->spec));
	case MSR_FLUSH_CMD:
		return command(write, *value, FLUSH_CMD_L1D, (s->spec->leaf7_edx & EDX7_L1D_FLUSH) != 0);
	case MSR_ARCH_CAPABILITIES:
		return arch_capabilities(write, value, s);
	case MSR_TSC:
		/* Read: emulated (QEMU's SVM returns 0 when it is passed through).
		 * Write: would move the host's TSC. */
		*value = write ? *value : s->tsc;
		return write ? MSR_DENY : MSR_EMULATE;
	case MSR_XSS:
		/* No supervisor state is offered (xsave_leaf()): 0, and a write of anything else is
		 * #GP, as for a bit the CPU does not support (SDM Vol. 4, IA32_XSS). It is the
		 * host's 0 the CPU's XSAVES uses: the hypervisor never sets it. */
		if (!s->xsaves || (write && *value))
			return MSR_DENY;
		*value = 0;
		return MSR_EMULATE;
	case MSR_TSC_ADJUST:
		/* A vCPU's TSC does not move (WRMSR 0x10 is #GP too): it reads 0 and takes only 0.
		 * Linux, seeing it with an invariant TSC, trusts the TSC without a watchdog. */
		if (write && *value)
			return MSR_DENY;
		*value = 0;
		return MSR_EMULATE;
	default:
		if (is_mtrr(msr))
			return mtrr(msr, write, value, s);
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
