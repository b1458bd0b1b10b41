/* The guest CPU as every backend presents it: CPUID, MSRs, XSETBV. */
#include "arch.h"
#include "cpu.h"
#include "log.h"
#include "partition.h"
#include "policy.h"
#include "vcpu.h"

#define CR4_OSXSAVE (1ull << 18)
#define XCR0_X87 1ull
#define XCR0_SSE 2ull
#define XCR0_AVX 4ull
#define XCR0_AVX512 0xe0ull

static void set_edx_eax(struct vcpu *v, uint64_t value)
{
	v->gprs[REG_RAX] = (uint32_t)value;
	v->gprs[REG_RDX] = value >> 32;
}

static uint64_t edx_eax(const struct vcpu *v)
{
	return (v->gprs[REG_RDX] << 32) | (uint32_t)v->gprs[REG_RAX];
}

void arch_guest_cpuid(struct vcpu *v)
{
	uint32_t leaf = (uint32_t)v->gprs[REG_RAX], subleaf = (uint32_t)v->gprs[REG_RCX];
	struct cpuid_guest g = {
		.vcpu_id = v->id,
		.vcpu_count = v->part->cfg->vcpus,
		.osxsave = (v->ops->get_reg(v, REG_CR4) & CR4_OSXSAVE) != 0,
	};
	struct cpuid_regs r = cpuid_policy(leaf, subleaf, cpuid(leaf, subleaf), &g);

	v->gprs[REG_RAX] = r.eax;
	v->gprs[REG_RBX] = r.ebx;
	v->gprs[REG_RCX] = r.ecx;
	v->gprs[REG_RDX] = r.edx;
}

int arch_guest_msr(struct vcpu *v, int write, uint32_t msr)
{
	struct msr_state s = { v->ops->get_reg(v, REG_EFER), EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE,
			       arch_tsc() };
	uint64_t value = write ? edx_eax(v) : 0;

	switch (msr_policy(msr, write, &value, &s)) {
	case MSR_EMULATE:
		if (write)
			v->ops->set_reg(v, REG_EFER, s.efer); /* EFER is the only write emulated */
		else
			set_edx_eax(v, value);
		return 0;
	case MSR_PASS:
		log_error("partition %s: MSR 0x%x exited although the CPU switches it", v->part->cfg->name,
			  msr);
		return -1;
	case MSR_DENY:
		break;
	}
	log_debug("partition %s: %s of MSR 0x%x denied: #GP", v->part->cfg->name,
		  write ? "write" : "read", msr);
	return -1;
}

/* XCR0 rules of Intel SDM Vol. 1, 13.3: x87 always; AVX needs SSE; AVX-512 all or none, with AVX. */
int arch_guest_xsetbv(struct vcpu *v)
{
	struct cpuid_regs x = cpuid(0xd, 0);
	uint64_t supported = ((uint64_t)x.edx << 32) | x.eax, xcr0 = edx_eax(v);

	if ((uint32_t)v->gprs[REG_RCX] != 0 || !(v->ops->get_reg(v, REG_CR4) & CR4_OSXSAVE))
		return -1;
	if ((xcr0 & ~supported) || !(xcr0 & XCR0_X87) || ((xcr0 & XCR0_AVX) && !(xcr0 & XCR0_SSE)))
		return -1;
	if ((xcr0 & XCR0_AVX512) && ((xcr0 & XCR0_AVX512) != XCR0_AVX512 || !(xcr0 & XCR0_AVX)))
		return -1;
	/* The hypervisor keeps no extended state of its own: the guest's XCR0 stays loaded. */
	if (!(read_cr4() & CR4_OSXSAVE))
		write_cr4(read_cr4() | CR4_OSXSAVE); /* XSETBV is #UD without it */
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)xcr0), "d"((uint32_t)(xcr0 >> 32)));
	return 0;
}

/*
 * What a partition finds in the FPU, SSE and AVX registers when it starts:
 * their initial state, never what the previous guest on this CPU left.
 * XRSTOR of an area whose XSTATE_BV is 0 puts every component in RFBM in
 * its initial configuration (Intel SDM Vol. 1, 13.8.1); MXCSR, which it
 * loads from the area, gets its reset value.
 */
#define XSAVE_AREA_MAX 4096
#define MXCSR_RESET 0x1f80
#define FCW_RESET 0x37f

void arch_guest_fpu_reset(void)
{
	static uint8_t area[XSAVE_AREA_MAX] __attribute__((aligned(64)));
	struct cpuid_regs x;
	uint64_t all;

	*(uint32_t *)(area + 24) = MXCSR_RESET;
	if (!(cpuid(1, 0).ecx >> 26 & 1) || cpuid(0xd, 0).ecx > XSAVE_AREA_MAX) {
		*(uint16_t *)area = FCW_RESET; /* FXRSTOR: x87 and SSE only */
		__asm__ volatile("fxrstor %0" : : "m"(*(uint8_t(*)[512])area));
		return;
	}
	if (!(read_cr4() & CR4_OSXSAVE))
		write_cr4(read_cr4() | CR4_OSXSAVE);
	x = cpuid(0xd, 0);
	all = ((uint64_t)x.edx << 32) | x.eax;
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)all), "d"((uint32_t)(all >> 32)));
	__asm__ volatile("xrstor %0" : : "m"(*(uint8_t(*)[XSAVE_AREA_MAX])area), "a"((uint32_t)all),
			 "d"((uint32_t)(all >> 32)));
	/* XCR0 as after reset: x87 only, until the guest's XSETBV. */
	__asm__ volatile("xsetbv" : : "c"(0), "a"(1), "d"(0));
}
