/*
 * A vCPU's local APIC (Intel SDM Vol. 3A, chapter 11 "Advanced
 * Programmable Interrupt Controller"): its registers by xAPIC offset, as
 * both the xAPIC page and the x2APIC MSRs (0x800 + offset / 16) reach
 * them; interrupt acceptance, priorities and EOI; the timer in one-shot,
 * periodic and TSC-deadline modes; the ICR's interrupt messages.
 *
 * Pure: no partition, no scheduler, no clock of its own. Time comes in as
 * `now`, its partition's time (hv/part_clock.h: the host's TSC less the
 * time it spent paused, counting at the TSC's rate); what a write asks of the rest of the
 * hypervisor (an IPI to send, a level-triggered EOI to broadcast, a timer
 * to re-arm) goes out in struct vlapic_effects. The caller holds `lock`
 * around every call on one APIC (hv/vcpu_irq.c).
 */
#ifndef HV_VDEV_VLAPIC_H
#define HV_VDEV_VLAPIC_H

#include <stdint.h>

#include "irq.h"
#include "lib/spinlock.h"

/* The timer's input clock, stated to guests at CPUID 0x40000010 EBX (in kHz). */
#define VLAPIC_BUS_HZ 100000000ull

/* Register offsets in the xAPIC page (SDM Vol. 3A, Table 11-1). */
#define APIC_ID 0x20
#define APIC_VERSION 0x30
#define APIC_TPR 0x80
#define APIC_APR 0x90
#define APIC_PPR 0xa0
#define APIC_EOI 0xb0
#define APIC_RRD 0xc0
#define APIC_LDR 0xd0
#define APIC_DFR 0xe0
#define APIC_SVR 0xf0
#define APIC_ISR 0x100
#define APIC_TMR 0x180
#define APIC_IRR 0x200
#define APIC_ESR 0x280
#define APIC_ICR 0x300
#define APIC_ICR_HIGH 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_ERROR 0x370
#define APIC_TIMER_INITIAL 0x380
#define APIC_TIMER_CURRENT 0x390
#define APIC_TIMER_DIVIDE 0x3e0
#define APIC_SELF_IPI 0x3f0 /* x2APIC only */

/* IA32_APIC_BASE (SDM Vol. 3A, 11.4.4 and 11.12.1). */
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_X2APIC (1ull << 10)
#define APIC_BASE_ENABLE (1ull << 11)

#define VLAPIC_LVTS 6 /* timer, thermal, performance, LINT0, LINT1, error: no CMCI */

enum vlapic_shorthand { SH_NONE, SH_SELF, SH_ALL, SH_OTHERS };

struct vlapic {
	struct spinlock lock;
	uint32_t id;            /* the vCPU's index */
	uint64_t tsc_hz;        /* the rate `now` counts at: the host TSC's */
	uint64_t base;          /* IA32_APIC_BASE */
	uint8_t tpr;
	uint32_t ldr, dfr, svr;
	uint32_t esr, esr_pending; /* errors shown, and gathered since the last ESR write */
	uint64_t icr;           /* as it reads back: destination in 63:56 (xAPIC) or 63:32 (x2APIC) */
	uint32_t lvt[VLAPIC_LVTS];
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t timer_initial, timer_divide;
	uint32_t count_at_start; /* the current count at timer_start */
	uint64_t timer_start;   /* partition time (hv/part_clock.h) */
	uint64_t deadline;      /* partition time the timer fires at; 0: not armed */
	uint64_t tsc_deadline;  /* IA32_TSC_DEADLINE as the guest wrote it, 0 once fired */
	volatile uint32_t irr_words; /* bit n: irr[n] is not empty; read without the lock */
	uint32_t isr_words;     /* bit n: isr[n] is not empty: an EOI finds its vector without a scan */
	volatile int nmi_pending;
};

/* What a register write asks of the hypervisor. */
struct vlapic_effects {
	int send;               /* an IPI: msg to shorthand's (or msg.dest's) APICs */
	struct irq_msg msg;
	enum vlapic_shorthand shorthand;
	int eoi_vector;         /* a level-triggered vector ended: EOI broadcast; -1: none */
	int timer_changed;      /* deadline moved: the caller re-arms its host timer */
};

/* The state after power-up or RESET (SDM Vol. 3A, 11.4.7.1); APIC ID = id. */
void vlapic_reset(struct vlapic *a, uint32_t id, uint64_t tsc_hz);

/* INIT: the registers as after RESET but for the APIC ID and IA32_APIC_BASE (SDM Vol. 3A, 11.4.7.3). */
void vlapic_init_signal(struct vlapic *a);

static inline int vlapic_x2apic(const struct vlapic *a)
{
	return (a->base & APIC_BASE_X2APIC) != 0;
}

/*
 * 1 if the 8259's INTR reaches the CPU through this APIC: LINT0 unmasked
 * in ExtINT mode (virtual wire, SDM Vol. 3A, 11.5.1), or the APIC globally
 * disabled, when LINT0 is the CPU's INTR pin itself (11.4.3).
 */
int vlapic_takes_extint(const struct vlapic *a);
int vlapic_enabled(const struct vlapic *a); /* IA32_APIC_BASE global enable */

/*
 * A register read or write at an xAPIC offset. x2apic selects the MSR
 * view: 64-bit ICR, no DFR or ICR_HIGH, SELF IPI. Returns 0, or -1 when
 * the access is one the MSR view refuses with #GP (reserved, read-only
 * written, write-only read); the xAPIC view never refuses (reserved
 * registers read 0, writes vanish).
 */
int vlapic_read(struct vlapic *a, unsigned offset, int x2apic, uint64_t now, uint64_t *value);
int vlapic_write(struct vlapic *a, unsigned offset, int x2apic, uint64_t now, uint64_t value,
		 struct vlapic_effects *fx);

/* EOI: the highest in-service vector ends; returns it if level-triggered (for the I/O APIC), else -1. */
int vlapic_eoi(struct vlapic *a);

/* IA32_APIC_BASE: 0, or -1 for a value or transition the CPU refuses (#GP). phys_bits: MAXPHYADDR. */
int vlapic_set_base(struct vlapic *a, uint64_t value, unsigned phys_bits);

/* IA32_TSC_DEADLINE, in guest TSC units (guest = now + tsc_offset). */
uint64_t vlapic_tsc_deadline(const struct vlapic *a);
void vlapic_set_tsc_deadline(struct vlapic *a, uint64_t value, uint64_t now, uint64_t tsc_offset,
			     struct vlapic_effects *fx);

/* 1 if m's destination names this APIC (SDM Vol. 3A, 11.6.2). */
int vlapic_matches(const struct vlapic *a, const struct irq_msg *m);

/* A FIXED or LOWEST message's vector arrives (SDM Vol. 3A, 11.8.3); an NMI sets nmi_pending. */
void vlapic_accept(struct vlapic *a, const struct irq_msg *m);

/* The timer, at now: fires it if due. Returns its deadline (0: not armed). */
uint64_t vlapic_timer_poll(struct vlapic *a, uint64_t now);

/* The highest requested vector, the highest in service, -1 if none; the processor priority (SDM Vol. 3A, 11.8.3.1). */
int vlapic_highest_irr(const struct vlapic *a);
int vlapic_highest_isr(const struct vlapic *a);
uint8_t vlapic_ppr(const struct vlapic *a);

/* The interrupt the vCPU can be given now: the highest request above PPR, or -1. */
int vlapic_deliverable(const struct vlapic *a);

/*
 * The priority class (vector / 16) of the highest request when what holds
 * it back is the vCPU (its RFLAGS.IF, an interrupt shadow, its TPR)
 * rather than a vector in service, whose EOI the hypervisor sees; 0: none.
 * The backend's interrupt window opens for it.
 */
unsigned vlapic_waiting_class(const struct vlapic *a);

/* The CPU takes vector: its request becomes in service (SDM Vol. 3A, 11.8.4). */
void vlapic_take(struct vlapic *a, uint8_t vector);

#endif
