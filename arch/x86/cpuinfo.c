/*
 * The start-up report of what this CPU offers. Every feature is read from
 * CPUID or a capability MSR; nothing is assumed from the vendor or model.
 */
#include <stdint.h>

#include "arch.h"
#include "cpu.h"
#include "log.h"

#define FEATURE_CONTROL_LOCKED (1ull << 0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)
#define VM_CR_SVMDIS (1ull << 4)

static const char *yes_no(uint64_t bit)
{
	return bit ? "yes" : "no";
}

static void report_model(void)
{
	struct cpuid_regs v = cpuid(0, 0), f = cpuid(1, 0);
	char vendor[13], brand[49] = "";
	uint32_t family = (f.eax >> 8) & 0xf, model = (f.eax >> 4) & 0xf;
	uint32_t *b = (uint32_t *)brand;
	unsigned i;

	*(uint32_t *)&vendor[0] = v.ebx;
	*(uint32_t *)&vendor[4] = v.edx;
	*(uint32_t *)&vendor[8] = v.ecx;
	vendor[12] = 0;
	/* Extended family and model, as CPUID leaf 1 EAX defines them (SDM Vol. 2A, CPUID). */
	if (family == 0xf)
		family += (f.eax >> 20) & 0xff;
	if (family == 0x6 || family >= 0xf)
		model |= ((f.eax >> 16) & 0xf) << 4;
	if (cpuid(0x80000000, 0).eax >= 0x80000004) {
		for (i = 0; i < 3; i++) {
			struct cpuid_regs r = cpuid(0x80000002 + i, 0);
			b[i * 4] = r.eax;
			b[i * 4 + 1] = r.ebx;
			b[i * 4 + 2] = r.ecx;
			b[i * 4 + 3] = r.edx;
		}
		brand[48] = 0;
	}
	log_info("cpu: %s family 0x%x model 0x%x stepping %u: %s", vendor, family, model, f.eax & 0xf,
		 brand[0] ? brand : "(no brand string)");
}

/* Allowed-1 settings are the high 32 bits of a VMX control MSR (SDM Vol. 3D, A.3). */
static int vmx_allows(uint32_t msr, int bit)
{
	return (rdmsr(msr) >> 32 >> bit) & 1;
}

static void report_vmx(void)
{
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL), ept_cap = 0;
	/* Bit 55 of IA32_VMX_BASIC: the TRUE_* control MSRs exist (SDM Vol. 3D, A.1). */
	uint32_t pin_msr = (rdmsr(MSR_IA32_VMX_BASIC) >> 55 & 1) ? MSR_IA32_VMX_TRUE_PINBASED_CTLS
								 : MSR_IA32_VMX_PINBASED_CTLS;
	int secondary = vmx_allows(MSR_IA32_VMX_PROCBASED_CTLS, 31);
	int ept = secondary && vmx_allows(MSR_IA32_VMX_PROCBASED_CTLS2, 1);

	if ((fc & FEATURE_CONTROL_LOCKED) && !(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		log_warn("VT-x: present but disabled by the firmware (IA32_FEATURE_CONTROL locked)");
		return;
	}
	if (ept)
		ept_cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	log_info("VT-x: EPT %s (2M pages %s, 1G pages %s), VPID %s, unrestricted guest %s, "
		 "preemption timer %s",
		 yes_no(ept), yes_no(ept_cap >> 16 & 1), yes_no(ept_cap >> 17 & 1),
		 yes_no(secondary && vmx_allows(MSR_IA32_VMX_PROCBASED_CTLS2, 5)),
		 yes_no(secondary && vmx_allows(MSR_IA32_VMX_PROCBASED_CTLS2, 7)),
		 yes_no(vmx_allows(pin_msr, 6)));
}

/* CPUID 0x8000000A (AMD APM Vol. 3, E.4.9 "SVM Revision and Feature Identification"). */
static void report_svm(void)
{
	struct cpuid_regs s;

	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
		log_warn("AMD-V: present but disabled by the firmware (VM_CR.SVMDIS)");
		return;
	}
	s = cpuid(0x8000000a, 0);
	log_info("AMD-V: SVM revision %u, %u ASIDs, NPT %s, NRIP save %s, decode assists %s, "
		 "VMCB clean bits %s, flush by ASID %s",
		 s.eax & 0xff, s.ebx, yes_no(s.edx & 1), yes_no(s.edx >> 3 & 1), yes_no(s.edx >> 7 & 1),
		 yes_no(s.edx >> 5 & 1), yes_no(s.edx >> 6 & 1));
}

void arch_report_cpu(void)
{
	uint32_t max_ext = cpuid(0x80000000, 0).eax;

	report_model();
	if (cpuid(1, 0).ecx >> 5 & 1)
		report_vmx();
	else if (max_ext >= 0x8000000a && (cpuid(0x80000001, 0).ecx >> 2 & 1))
		report_svm();
	else
		log_warn("no hardware virtualization: neither VT-x nor AMD-V is offered by this CPU");
}

unsigned arch_phys_addr_bits(void)
{
	/* CPUID 0x80000008 EAX[7:0]; without that leaf, 36 (SDM Vol. 3A, 4.1.4). */
	if (cpuid(0x80000000, 0).eax >= 0x80000008)
		return cpuid(0x80000008, 0).eax & 0xff;
	return 36;
}
