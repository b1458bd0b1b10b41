/*
 * What the hypervisor core asks of the architecture layer. The x86
 * implementation lives in arch/x86/; hv/ includes nothing from there.
 */
#ifndef HV_ARCH_H
#define HV_ARCH_H

#include <stdint.h>

/* Descriptor tables and exception handlers for the boot CPU. */
void arch_early_init(uint64_t image_base, uint64_t image_size);

/*
 * Switches to the hypervisor's own identity-mapped page tables covering
 * [0, top). Returns the top actually mapped, which may be lower.
 */
uint64_t arch_paging_init(uint64_t top);

/* Logs CPU vendor, model and the virtualization features found. */
void arch_report_cpu(void);

void __attribute__((noreturn)) arch_halt(void);

/* Tells the CPU we are spinning (PAUSE on x86). */
void arch_relax(void);

/* The time-stamp counter, its frequency, and a busy wait measured by it. */
uint64_t arch_tsc(void);
uint64_t arch_tsc_hz(void);
void arch_delay_us(uint64_t us);

/*
 * Starts every other CPU of apic_ids[] (the MADT's), each of which calls
 * enable_virtualization (if not NULL) and then waits. Returns the CPUs
 * online, the boot CPU included.
 */
struct boot_info;
unsigned arch_start_cpus(const struct boot_info *bi, const uint32_t *apic_ids, unsigned n,
			 int (*enable_virtualization)(void));

/*
 * Hands fn(arg) to the idle CPU index (1 and up: not the boot CPU), which
 * runs it and becomes idle again. -1 if that CPU is offline or busy.
 * CPUs are numbered as they came up: 0 is the boot CPU, then MADT order.
 */
int arch_run_on(unsigned index, void (*fn)(void *), void *arg);

/* The number of the CPU running the caller. */
unsigned arch_cpu_index(void);

/* Masks the interrupt sources the firmware may have left running. */
void arch_quiesce_interrupts(void);

/*
 * The guest CPU's view, the same for every backend (arch/x86/guest_cpu.c):
 * CPUID answers through the policy, MSR accesses (0, or -1: #GP due),
 * XSETBV validation (0, or -1: #GP due). Registers are the vCPU's.
 */
struct vcpu;
void arch_guest_cpuid(struct vcpu *v);
int arch_guest_msr(struct vcpu *v, int write, uint32_t msr);
int arch_guest_xsetbv(struct vcpu *v);
/* Initial FPU/SSE/AVX state and XCR0 on this CPU, for a partition starting on it. */
void arch_guest_fpu_reset(void);

#endif
