#include "cpu.h"
#include "vcpu.h"

extern const struct vcpu_ops svm_ops, vmx_ops;

/* CPUID.1:ECX.VMX (bit 5) or CPUID.80000001:ECX.SVM (bit 2). */
const struct vcpu_ops *arch_vcpu_ops(void)
{
	if (cpuid(1, 0).ecx >> 5 & 1)
		return &vmx_ops;
	if (cpuid(0x80000000, 0).eax >= 0x8000000a && (cpuid(0x80000001, 0).ecx >> 2 & 1))
		return &svm_ops;
	return 0;
}
