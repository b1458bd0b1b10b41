/*
 * Per-CPU data. Each CPU's GS base points at its struct cpu, whose first
 * field points at itself, so this_cpu() is a single load from %gs:0.
 */
#ifndef ARCH_X86_PERCPU_H
#define ARCH_X86_PERCPU_H

#include <stdint.h>

#define CPUS_MAX 64

struct cpu {
	struct cpu *self;       /* at %gs:0 */
	unsigned index;         /* 0: the boot CPU */
	uint32_t apic_id;
	volatile int online;
	/* the virtualization backend's state on this CPU */
	uint64_t virt_region_pa; /* VMXON region, or the SVM host save area */
	uint64_t host_state_pa;  /* SVM: host state for VMLOAD after each exit */
	uint64_t current_vmcs;   /* VMX: the VMCS VMPTRLD made current */
	void *syscall_msrs_owner; /* VMX: the vCPU whose SYSCALL MSRs are loaded */
	const void *last_partition; /* whose vCPU ran here last (mitigate.c) */
};

extern struct cpu cpus[CPUS_MAX];

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;

	__asm__ volatile("mov %%gs:0, %0" : "=r"(c));
	return c;
}

/* Descriptor tables of CPU index (its own GDT, TSS and IST stacks; the IDT is shared). */
void cpu_tables_load(unsigned index);

#endif
