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

#endif
