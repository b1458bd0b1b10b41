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

/*
 * Identity-maps device memory [pa, pa + size) uncacheable, wherever it
 * lies (RAM's write-back map included, at 2 MiB granularity). Returns the
 * pointer to pa, or NULL when the range is past the physical address
 * width or the page-table pool is spent. Safe to call again for a range
 * already mapped. Only this CPU's TLB is flushed: call it before the
 * other CPUs start, as the drivers' init does.
 */
volatile void *arch_map_device(uint64_t pa, uint64_t size);

/*
 * Host disk controllers signal completions with MSI or MSI-X messages at
 * one host vector: the vector and the local APIC ID of the CPU they go to
 * (call it on CPU 0, as the drivers' init does), and how many have come.
 * The interrupt itself only wakes its CPU, whose scheduler loop then polls
 * the disks.
 */
void arch_disk_irq_target(uint8_t *vector, uint32_t *apic_id);
uint64_t arch_disk_irqs(void);

/* Logs CPU vendor, model and the virtualization features found. */
void arch_report_cpu(void);
/*
 * Reads once what the guests' MSR policy and the side-channel mitigations
 * need of the host CPU, and logs which mitigations apply (mitigations.c).
 */
void arch_guest_cpu_init(void);

/* The width of physical addresses on this CPU, in bits. */
unsigned arch_phys_addr_bits(void);

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
 * online, the boot CPU included. CPUs are numbered as they came up: 0 is
 * the boot CPU, then MADT order.
 */
struct boot_info;
unsigned arch_start_cpus(const struct boot_info *bi, const uint32_t *apic_ids, unsigned n,
			 int (*enable_virtualization)(void));

/* Every online CPU, the caller's last, runs fn, which does not return. */
void __attribute__((noreturn)) arch_cpus_enter(void (*fn)(void));

/* The number of the CPU running the caller. */
unsigned arch_cpu_index(void);

/*
 * The host runs with interrupts off; they are taken only where it asks.
 * A timer or kick that arrives while a guest runs makes it exit
 * (EXIT_INTERRUPT); the host then takes it here.
 */
void arch_take_interrupts(void);
/* Sleeps until an interrupt: the timer or a kick. */
void arch_wait_for_interrupt(void);
/*
 * This CPU's timer interrupts at TSC value deadline, 0 disarming it. It may
 * fire early (one-shot mode counts at most 2^32 APIC ticks): callers look
 * at the time again.
 */
void arch_timer_arm(uint64_t deadline);
/* Interrupts CPU index so that it looks at its run queue again. */
void arch_kick(unsigned index);

/* Masks the interrupt sources the firmware may have left running. */
void arch_quiesce_interrupts(void);

struct acpi_irq_routing;
struct acpi_irq_route;
/*
 * Maps r's I/O APICs and masks every pin: the hypervisor owns none of
 * their devices' interrupts yet. 0, or -1 if one could not be mapped.
 */
int arch_mask_host_irqs(const struct acpi_irq_routing *r);
/*
 * Routes the interrupt at route to the boot CPU, handler running on it at
 * each (with interrupts off, when the host takes them). Its vector, or -1
 * with why set and nothing changed.
 */
int arch_route_console_irq(const struct acpi_irq_routing *r, const struct acpi_irq_route *route,
			   void (*handler)(void), const char **why);

/*
 * The guest CPU's view, the same for every backend (arch/x86/guest_cpu.c):
 * CPUID answers through the policy, MSR accesses (0, or -1: #GP due),
 * XSETBV (0, or the vector of the fault due: #UD or #GP). Registers are
 * the vCPU's.
 */
struct vcpu;
void arch_guest_cpuid(struct vcpu *v);
int arch_guest_msr(struct vcpu *v, int write, uint32_t msr);
int arch_guest_xsetbv(struct vcpu *v);
/*
 * A vCPU's extended state (FPU, SSE, AVX ... and XCR0) while it is not on
 * the CPU: an image of arch_guest_fpu_pages() zeroed pages, which
 * arch_guest_fpu_init() turns into the initial state. The switch saves the
 * CPU's state into save (if not NULL) and loads load's.
 */
/*
 * A read or write of guest-physical memory above the partition's RAM by
 * an instruction (arch/x86/guest_mmio.c): emulated against the device
 * bus. 0: done; -1: the partition stopped, saying why; MMIO_NOT_DATA:
 * the instruction itself is not in RAM (a fetch the CPU reported as a read).
 */
#define MMIO_NOT_DATA 1
struct vcpu_exit;
int arch_guest_mmio(struct vcpu *v, const struct vcpu_exit *e);
uint64_t arch_guest_fpu_pages(void);
/*
 * v is to run on this CPU after another vCPU: the MSRs the CPU does not
 * switch for guests (TSC_AUX, SPEC_CTRL) loaded with v's, and the barrier
 * between partitions where the last vCPU here was another partition's.
 */
void arch_guest_switch_to(const struct vcpu *v);
void arch_guest_fpu_init(void *image);
void arch_guest_fpu_switch(void *save, const void *load);

#endif
