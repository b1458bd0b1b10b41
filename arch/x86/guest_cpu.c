/* The guest CPU as every backend presents it: CPUID, MSRs, XSETBV. */
#include "arch.h"
#include "cpu.h"
#include "mitigations.h"
#include "pmem.h"
#include "partition.h"
#include "policy.h"
#include "pvclock.h"
#include "tsc_rate.h"
#include "vcpu.h"
#include "vcpu_irq.h"

#define CR4_OSXSAVE (1ull << 18)
#define XCR0_X87 1ull

static void set_edx_eax(struct vcpu *v, uint64_t value)
{
	v->gprs[REG_RAX] = (uint32_t)value;
	v->gprs[REG_RDX] = value >> 32;
}

static void set_cpuid_registers(struct vcpu *v, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	v->gprs[REG_RAX] = eax;
	v->gprs[REG_RBX] = ebx;
	v->gprs[REG_RCX] = ecx;
	v->gprs[REG_RDX] = edx;
}

static uint64_t edx_eax(const struct vcpu *v)
{
	return (v->gprs[REG_RDX] << 32) | (uint32_t)v->gprs[REG_RAX];
}

/* The guest's own state (its CR4, its APIC) is read only for leaf 1, the one whose answer shows it (policy.c). */
static struct cpuid_regs guest_cpuid(struct vcpu *v, uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_guest g = {
		.vcpu_id = v->id,
		.vcpu_count = v->part->cfg->vcpus,
		.osxsave = leaf == 1 && (v->ops->get_reg(v, REG_CR4) & CR4_OSXSAVE) != 0,
		.tsc_khz = (uint32_t)(arch_tsc_hz() / 1000),
		.tsc_leaf_agrees = tsc_rate_is_announced(),
		.apic_enabled = leaf == 1 && vlapic_enabled(&v->apic),
		.apic_bus_khz = (uint32_t)(VLAPIC_BUS_HZ / 1000),
	};

	return cpuid_policy(leaf, subleaf, cpuid(leaf, subleaf), &g);
}

/*
 * Whether the guest's answer for leaf is the same every time: not for
 * leaf 1 (the guest's CR4.OSXSAVE and APIC enable), 0xd (the sizes for
 * the XCR0 loaded now), 0xb, 0x1f and 0x8000001e (the topology IDs of
 * the host CPU it runs on; SDM Vol. 2A, CPUID).
 */
static int answer_kept(uint32_t leaf)
{
	return leaf != 1 && leaf != 0xb && leaf != 0x1f && leaf != 0xd && leaf != 0x8000001e;
}

/*
 * The answer worked out (the host's CPUID, the policy), and kept in kept
 * where it is the same every time. Out of line: the way of a kept answer
 * then sets up no frame for this one's call.
 */
static __attribute__((noinline)) void answer_afresh(struct vcpu *v, uint32_t leaf, uint32_t subleaf,
						     struct vcpu_cpuid_answer *kept)
{
	struct cpuid_regs r = guest_cpuid(v, leaf, subleaf);

	set_cpuid_registers(v, r.eax, r.ebx, r.ecx, r.edx);
	if (answer_kept(leaf))
		*kept = (struct vcpu_cpuid_answer){ leaf, subleaf, 1, { r.eax, r.ebx, r.ecx, r.edx } };
}

void arch_guest_cpuid(struct vcpu *v)
{
	uint32_t leaf = (uint32_t)v->gprs[REG_RAX], subleaf = (uint32_t)v->gprs[REG_RCX];
	struct vcpu_cpuid_answer *kept = &v->cpuid_kept[(leaf + subleaf) % VCPU_CPUID_KEPT];

	if (!kept->valid || kept->leaf != leaf || kept->subleaf != subleaf)
		answer_afresh(v, leaf, subleaf, kept);
	else
		set_cpuid_registers(v, kept->regs[0], kept->regs[1], kept->regs[2], kept->regs[3]);
}

#define EDX81_RDTSCP (1u << 27)

/*
 * What the MSR policy needs of the host CPU, read once at start-up: CPUID's
 * answers do not change, and each CPUID is serializing (an exit of its own
 * where the host is itself a guest), too dear for every MSR exit.
 */
static struct {
	uint64_t efer_allowed; /* efer_guest_bits() of CPUID 0x80000001 EDX */
	unsigned phys_bits;
	int intel;  /* "GenuineIntel" in CPUID 0's EBX, EDX, ECX */
	int rdtscp; /* CPUID 0x80000001 EDX bit 27 */
	int xsaves; /* and with it IA32_XSS: CPUID.(EAX=0DH,ECX=1) EAX bit 3 (SDM Vol. 1, 13.2) */
	const struct mitigation_caps *spec; /* IA32_SPEC_CTRL, PRED_CMD, FLUSH_CMD, ARCH_CAPABILITIES */
	uint64_t spec_ctrl_bits; /* spec_ctrl_bits(spec) */
} host;

void arch_guest_cpu_init(void)
{
	uint32_t ext_edx = cpuid(0x80000001, 0).edx;

	host.efer_allowed = efer_guest_bits(ext_edx);
	host.phys_bits = arch_phys_addr_bits();
	host.intel = cpuid(0, 0).ebx == 0x756e6547;
	host.rdtscp = (ext_edx & EDX81_RDTSCP) != 0;
	host.xsaves = cpuid(0, 0).eax >= 0xd && ((cpuid(0xd, 1).eax >> 3) & 1);
	mitigations_init();
	host.spec = mitigation_caps();
	host.spec_ctrl_bits = spec_ctrl_bits(host.spec);
}

/*
 * RDTSCP reads TSC_AUX without an exit: the CPU holds the running vCPU's.
 * IA32_SPEC_CTRL is the running vCPU's too, and stays while the hypervisor
 * runs: each of its bits only restricts speculation, and the hypervisor
 * sets none of its own.
 */
static void load_msrs(const struct vcpu *v)
{
	if (host.rdtscp)
		wrmsr(MSR_TSC_AUX, v->msrs.tsc_aux);
	if (host.spec_ctrl_bits)
		wrmsr(MSR_SPEC_CTRL, v->msrs.spec_ctrl);
}

void arch_guest_switch_to(const struct vcpu *v)
{
	load_msrs(v);
	mitigate_partition_switch(v->part);
}

/* An emulated write's new state, where the vCPU keeps it, or the command it gave the CPU. */
static void commit_write(struct vcpu *v, uint32_t msr, uint64_t value, const struct msr_state *s)
{
	if (msr == MSR_PAT)
		v->ops->set_reg(v, REG_PAT, s->pat);
	else if (msr == MSR_EFER)
		v->ops->set_reg(v, REG_EFER, s->efer);
	else if (msr == MSR_TSC_AUX || msr == MSR_SPEC_CTRL)
		load_msrs(v); /* it runs on this CPU */
	else if (msr == MSR_PRED_CMD && (value & PRED_CMD_IBPB))
		wrmsr(MSR_PRED_CMD, PRED_CMD_IBPB); /* the guest's barrier, between its own tasks */
	else if (msr == MSR_FLUSH_CMD && (value & FLUSH_CMD_L1D))
		wrmsr(MSR_FLUSH_CMD, FLUSH_CMD_L1D);
}

/* The MSRs of neither the local APIC nor the paravirtual clock: the policy's. */
static int policy_msr(struct vcpu *v, int write, uint32_t msr, uint64_t value)
{
	struct msr_state s = { v->ops->get_reg(v, REG_EFER), host.efer_allowed,
			       arch_tsc() + part_clock_tsc_offset(&v->part->clock), v->ops->get_reg(v, REG_CR0), v->ops->get_reg(v, REG_PAT),
			       &v->msrs, host.phys_bits, host.intel, host.rdtscp, host.xsaves, host.spec };

	switch (msr_policy(msr, write, &value, &s)) {
	case MSR_EMULATE:
		if (write)
			commit_write(v, msr, value, &s);
		else
			set_edx_eax(v, value);
		return 0;
	case MSR_PASS:
		partition_log_guest(v->part, LOG_ERROR, "MSR 0x%x exited although the CPU switches it", msr);
		return -1;
	case MSR_DENY:
		break;
	}
	partition_log_guest(v->part, LOG_DEBUG, "%s of MSR 0x%x denied: #GP", write ? "write" : "read", msr);
	return -1;
}

#define MSR_X2APIC_EOI 0x80b

/* The local APIC's MSRs first: the x2APIC's timer writes are common exits. */
static __attribute__((noinline)) int other_msr(struct vcpu *v, int write, uint32_t msr)
{
	uint64_t value = write ? edx_eax(v) : 0;
	int hv = vcpu_apic_msr(v, write, msr, &value);

	if (hv == 1)
		hv = vcpu_pvclock_msr(v, write, msr, &value);
	if (hv == 1)
		return policy_msr(v, write, msr, value);
	if (hv == 0 && !write)
		set_edx_eax(v, value);
	return hv;
}

/* The x2APIC's EOI, the commonest MSR exit, first: out of other_msr()'s way, it sets up no frame for it. */
int arch_guest_msr(struct vcpu *v, int write, uint32_t msr)
{
	if (write && msr == MSR_X2APIC_EOI)
		return vcpu_apic_eoi_msr(v, edx_eax(v));
	return other_msr(v, write, msr);
}

/* Vectors of the faults XSETBV raises (Intel SDM Vol. 2D, XSETBV). */
#define VEC_UD 6
#define VEC_GP 13

int arch_guest_xsetbv(struct vcpu *v)
{
	struct cpuid_regs x = cpuid(0xd, 0);
	uint64_t supported = ((uint64_t)x.edx << 32) | x.eax, xcr0 = edx_eax(v);

	if (!(v->ops->get_reg(v, REG_CR4) & CR4_OSXSAVE))
		return VEC_UD;
	if ((uint32_t)v->gprs[REG_RCX] != 0 || !xcr0_valid(xcr0, supported))
		return VEC_GP;
	/* The hypervisor keeps no extended state of its own: the guest's XCR0 stays loaded. */
	if (!(read_cr4() & CR4_OSXSAVE))
		write_cr4(read_cr4() | CR4_OSXSAVE); /* XSETBV is #UD without it */
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)xcr0), "d"((uint32_t)(xcr0 >> 32)));
	return 0;
}

/*
 * Each vCPU's extended state (x87, SSE, AVX ...) and XCR0 are its own: the
 * scheduler switches them when another vCPU is to run on the CPU. XSAVE
 * and XRSTOR cover every component the CPU supports (XCR0 is set to all
 * of them for the switch), so nothing of one guest stays for the next.
 *
 * A fresh image is the initial state: XRSTOR of an image whose XSTATE_BV
 * is 0 puts every component in its initial configuration (Intel SDM Vol.
 * 1, 13.8.1); MXCSR, which it loads from the image anyway, gets its reset
 * value. The vCPU's XCR0 waits in bytes 464-511 of the legacy region,
 * which the processor never writes (SDM Vol. 1, 10.5.1, table 10-2).
 * Without XSAVE, FXSAVE and FXRSTOR switch x87 and SSE the same way.
 */
#define MXCSR_RESET 0x1f80
#define FCW_RESET 0x37f
#define IMAGE_MXCSR 24
#define IMAGE_XCR0 464

static struct {
	int known, xsave;
	uint64_t all;   /* every component the CPU supports */
	uint32_t bytes; /* of an XSAVE image with all of them */
} xs;

static void learn_xsave(void)
{
	struct cpuid_regs x;

	if (xs.known)
		return;
	xs.xsave = cpuid(1, 0).ecx >> 26 & 1;
	x = cpuid(0xd, 0);
	xs.all = xs.xsave ? ((uint64_t)x.edx << 32) | x.eax : 0;
	xs.bytes = xs.xsave ? x.ecx : 512;
	xs.known = 1;
}

static void set_xcr0(uint64_t value)
{
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
}

static uint64_t get_xcr0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

uint64_t arch_guest_fpu_pages(void)
{
	learn_xsave();
	return (xs.bytes + PAGE_SIZE - 1) / PAGE_SIZE;
}

void arch_guest_fpu_init(void *image)
{
	uint8_t *b = image;

	learn_xsave();
	*(uint32_t *)(b + IMAGE_MXCSR) = MXCSR_RESET;
	if (!xs.xsave)
		*(uint16_t *)b = FCW_RESET; /* FXRSTOR loads x87 from the image as it is */
	*(uint64_t *)(b + IMAGE_XCR0) = XCR0_X87; /* as after reset, until the guest's XSETBV */
}

void arch_guest_fpu_switch(void *save, const void *load)
{
	uint32_t lo, hi;

	learn_xsave();
	lo = (uint32_t)xs.all;
	hi = (uint32_t)(xs.all >> 32);
	if (!xs.xsave) {
		if (save)
			__asm__ volatile("fxsave64 %0" : "=m"(*(uint8_t(*)[512])save));
		__asm__ volatile("fxrstor64 %0" : : "m"(*(const uint8_t(*)[512])load));
		return;
	}
	if (!(read_cr4() & CR4_OSXSAVE))
		write_cr4(read_cr4() | CR4_OSXSAVE); /* XSETBV is #UD without it */
	if (save)
		*(uint64_t *)((uint8_t *)save + IMAGE_XCR0) = get_xcr0();
	set_xcr0(xs.all);
	if (save)
		__asm__ volatile("xsave64 (%0)" : : "r"(save), "a"(lo), "d"(hi) : "memory");
	__asm__ volatile("xrstor64 (%0)" : : "r"(load), "a"(lo), "d"(hi) : "memory");
	set_xcr0(*(const uint64_t *)((const uint8_t *)load + IMAGE_XCR0));
}
