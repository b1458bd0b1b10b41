/*
 * A vCPU's interrupts: its local APIC (vdev/vlapic.c) reached through the
 * xAPIC page, the x2APIC MSRs and IA32_TSC_DEADLINE; interrupt messages
 * between the vCPUs of one partition (irq_deliver() of vdev/irq.h); what
 * the vCPU is given at each VM entry; the APIC timers the scheduler
 * wakes vCPUs for.
 *
 * Locks: each APIC's own, then nothing; the scheduler's lock may be held
 * when an APIC's is taken, never the other way round.
 */
#ifndef HV_VCPU_IRQ_H
#define HV_VCPU_IRQ_H

#include <stdint.h>

#include "vcpu.h"

/* The APIC as after RESET, at each start of the partition. */
void vcpu_irq_reset(struct vcpu *v);

/* The APIC as after INIT: its ID and IA32_APIC_BASE kept. */
void vcpu_irq_init_signal(struct vcpu *v);

/*
 * On v's CPU, just before each entry: the interrupt it can take now, or a
 * window asked for. 1 if an interrupt or NMI still waits (held back, or
 * for the window), so that its next exit looks again.
 */
int vcpu_irq_inject(struct vcpu *v);

/*
 * On v's CPU: if v's HC_WAKE_AFTER time has come at its partition's time
 * now, its vector is due, and vcpu_irq_inject() gives it once the vCPU
 * can take it; 1 if it is due and can end v's HLT (interrupts were on).
 */
int vcpu_irq_wake_due(struct vcpu *v, uint64_t now);

/* On v's CPU: 1 if an interrupt waits that the vCPU could take (what ends its HLT). */
int vcpu_irq_pending(struct vcpu *v);

/* From any CPU, for a vCPU that sleeps (went to sleep on vcpu_irq_pending()'s 0): the same, at the TPR it had then. */
int vcpu_irq_wakes_sleeper(struct vcpu *v);

/* What v's APIC holds now, for the operator's 'info' (any CPU): vectors -1 when none. */
struct vcpu_irq_view {
	uint8_t tpr;
	int requested, in_service;
	int window; /* an interrupt window is open */
};
void vcpu_irq_view(struct vcpu *v, struct vcpu_irq_view *w);

/* On v's CPU, for the scheduler: fires v's APIC timer if due at its partition's time now; its next deadline (partition time), or 0. */
uint64_t vcpu_irq_timer(struct vcpu *v, uint64_t now);

/*
 * IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC MSRs (0x800-0x8FF):
 * 1 if msr is none of them, else 0 or -1 (#GP due). value: EDX:EAX.
 */
int vcpu_apic_msr(struct vcpu *v, int write, uint32_t msr, uint64_t *value);

/*
 * WRMSR of value to the x2APIC's EOI (MSR 0x80B), the MSR write guests
 * make most, straight to the EOI past vcpu_apic_msr()'s register paths;
 * 0 or -1 as vcpu_apic_msr().
 */
int vcpu_apic_eoi_msr(struct vcpu *v, uint64_t value);

/* A data access to gpa: 1 if it was to v's xAPIC page (and is done), else 0. */
int vcpu_apic_mmio(struct vcpu *v, uint64_t gpa, unsigned size, int write, uint64_t *value);

#endif
