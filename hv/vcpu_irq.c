#include "vcpu_irq.h"

#include "arch.h"
#include "partition.h"
#include "scheduler.h"
#include "vdev/irq.h"
#include "vdev/pic.h"
#include "vdev/vlapic.h"

#define MSR_APIC_BASE 0x1b
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_X2APIC_FIRST 0x800
#define MSR_X2APIC_LAST 0x8ff
#define APIC_PAGE 0x1000ull

void vcpu_irq_reset(struct vcpu *v)
{
	vlapic_reset(&v->apic, v->id, arch_tsc_hz());
	v->irq_window = 0;
}

void vcpu_irq_init_signal(struct vcpu *v)
{
	spin_lock(&v->apic.lock);
	vlapic_init_signal(&v->apic);
	spin_unlock(&v->apic.lock);
	v->irq_window = 0;
	v->halted_if_off = 0;
}

/* CR8 is TPR bits 7:4 (SDM Vol. 3A, 10.8.6.1): a MOV to CR8 the CPU did alone shows in the TPR here. */
static void sync_tpr_from_cr8(struct vcpu *v)
{
	uint8_t cr8 = (uint8_t)v->ops->get_reg(v, REG_CR8);

	if (v->apic.tpr >> 4 != cr8)
		v->apic.tpr = (uint8_t)(cr8 << 4);
}

/* The vCPU whose APIC should take a lowest-priority message: the lowest TPR (SDM Vol. 3A, 11.6.2.4). */
static struct vcpu *lowest_priority(struct partition *p, const struct irq_msg *m)
{
	struct vcpu *best = 0;
	unsigned i;

	for (i = 0; i < p->cfg->vcpus; i++) {
		struct vcpu *v = &p->vcpus[i];
		if (vlapic_matches(&v->apic, m) && (!best || v->apic.tpr < best->apic.tpr))
			best = v;
	}
	return best;
}

static void accept(struct vcpu *v, const struct irq_msg *m)
{
	spin_lock(&v->apic.lock);
	vlapic_accept(&v->apic, m);
	spin_unlock(&v->apic.lock);
	scheduler_wake(v); /* a sleeper wakes; a vCPU running elsewhere exits and looks */
}

/* There is no SMM to enter, and ExtINT comes from the PIC alone: such messages go nowhere, said once a second. */
static int refused_mode(struct partition *p, const struct irq_msg *m)
{
	if (m->mode != IRQ_SMI && m->mode != IRQ_EXTINT)
		return 0;
	partition_log_guest(p, LOG_WARN, "interrupt message with delivery mode %u not delivered", m->mode);
	return 1;
}

/*
 * INIT and STARTUP are not interrupts: they reset a vCPU and start it in
 * real mode (SDM Vol. 3A, 10.4 and 11.6.1); the partition does both.
 */
static void signal_vcpu(struct vcpu *v, const struct irq_msg *m)
{
	if (m->mode == IRQ_INIT)
		partition_init_signal(v);
	else if (m->mode == IRQ_STARTUP)
		partition_startup_signal(v, m->vector);
	else
		accept(v, m);
}

int irq_deliver(struct partition *p, const struct irq_msg *m)
{
	unsigned i, hits = 0;

	if (refused_mode(p, m))
		return -1;
	if (m->mode == IRQ_LOWEST) {
		struct vcpu *v = lowest_priority(p, m);
		if (!v)
			return -1;
		accept(v, m);
		return 0;
	}
	for (i = 0; i < p->cfg->vcpus; i++) {
		if (vlapic_matches(&p->vcpus[i].apic, m)) {
			signal_vcpu(&p->vcpus[i], m);
			hits++;
		}
	}
	return hits ? 0 : -1;
}

/* An IPI from v's ICR: a shorthand names v or the partition's vCPUs, never beyond. */
static void send_ipi(struct vcpu *v, const struct vlapic_effects *fx)
{
	struct partition *p = v->part;
	unsigned i;

	if (fx->shorthand == SH_NONE) {
		irq_deliver(p, &fx->msg);
		return;
	}
	if (refused_mode(p, &fx->msg))
		return;
	for (i = 0; i < p->cfg->vcpus; i++) {
		struct vcpu *to = &p->vcpus[i];
		if ((fx->shorthand == SH_SELF && to != v) || (fx->shorthand == SH_OTHERS && to == v))
			continue;
		if (vlapic_enabled(&to->apic))
			signal_vcpu(to, &fx->msg);
	}
}

/* What a register write asked for, done once the APIC's lock is dropped. */
static void apply(struct vcpu *v, const struct vlapic_effects *fx)
{
	v->attention = 1; /* a request, its LINT0 or its timer may have changed: the exit looks */
	if (fx->send)
		send_ipi(v, fx);
	if (fx->eoi_vector >= 0)
		irq_eoi(v->part, (uint8_t)fx->eoi_vector);
	if (fx->timer_changed)
		v->timer_changed = 1; /* the slice ends, so that the scheduler arms the new deadline */
}

/* The 8259 pair's INTR is wired to vCPU 0's LINT0 alone, as on a PC. */
static int extint_pending(struct vcpu *v)
{
	return v->id == 0 && vlapic_takes_extint(&v->apic) && pic_output(v->part);
}

/*
 * ExtINT: the vector comes from the 8259's acknowledge cycle, past the
 * APIC's priorities (SDM Vol. 3A, 11.5.1); 1 if it waits for a window.
 * With the APIC's lock held (the PIC's is taken inside it, never around it).
 */
static int inject_extint(struct vcpu *v)
{
	if (!extint_pending(v))
		return 0;
	if (v->ops->can_inject(v, EVENT_INTERRUPT)) {
		v->ops->inject(v, EVENT_INTERRUPT, (uint8_t)pic_intack(v->part), 0, 0);
		v->injected++;
		return 0;
	}
	return 1;
}

int vcpu_irq_wake_due(struct vcpu *v, uint64_t now)
{
	if (v->wake_vector < 0)
		return 0; /* none, due or not: the usual case, first */
	if (now >= v->wake_at)
		v->wake_due = v->irq_window = 1; /* the window's flag: vcpu_irq_inject() looks, and tests no more */
	return v->wake_due && !v->halted_if_off;
}

/*
 * HC_WAKE_AFTER's vector: no APIC's (its handler sends no EOI), so it
 * passes the TPR as ExtINT does, but it waits for RFLAGS.IF, a shadow or
 * an event already going in like any interrupt; 1 if it waits.
 */
static int inject_wake(struct vcpu *v)
{
	if (!v->wake_due)
		return 0;
	if (!v->ops->can_inject(v, EVENT_INTERRUPT))
		return 1;
	v->ops->inject(v, EVENT_INTERRUPT, (uint8_t)v->wake_vector, 0, 0);
	v->injected++;
	v->wake_due = 0;
	v->wake_vector = -1;
	return 0;
}

/*
 * Out of line, so that vcpu_irq_inject()'s usual case (nothing pending,
 * before each entry) sets up no frame for this.
 */
static void __attribute__((noinline)) inject_pending(struct vcpu *v)
{
	struct vlapic *a = &v->apic;
	unsigned window;
	int vector, tpr_blind_waits;

	spin_lock(&a->lock);
	sync_tpr_from_cr8(v);
	if (a->nmi_pending && v->ops->can_inject(v, EVENT_NMI)) {
		a->nmi_pending = 0;
		v->ops->inject(v, EVENT_NMI, 2, 0, 0);
		v->injected++;
	}
	tpr_blind_waits = inject_extint(v); /* after the NMI, before the APIC's own: the PIC's INTR has its own pin */
	tpr_blind_waits |= inject_wake(v);
	vector = vlapic_deliverable(a);
	if (vector >= 0 && v->ops->can_inject(v, EVENT_INTERRUPT)) {
		vlapic_take(a, (uint8_t)vector);
		v->ops->inject(v, EVENT_INTERRUPT, (uint8_t)vector, 0, 0);
		v->injected++;
	}
	window = tpr_blind_waits ? 15 : vlapic_waiting_class(a); /* ExtINT and the wake-up ignore the TPR */
	spin_unlock(&a->lock);
	if (window || v->irq_window)
		v->ops->interrupt_window(v, window);
	v->irq_window = window != 0;
}

static int waits(struct vcpu *v)
{
	return v->apic.irr_words || v->apic.nmi_pending || v->irq_window || extint_pending(v);
}

int vcpu_irq_inject(struct vcpu *v)
{
	v->halted_if_off = 0; /* it runs: whatever ended its HLT came */
	if (!waits(v))
		return 0;
	inject_pending(v);
	return waits(v);
}

/*
 * A vCPU waiting for a STARTUP IPI takes nothing else; one with an INIT
 * to act on must run, as must one a STARTUP IPI gave a fresh start (it
 * has no state yet); HLT with interrupts off ends only with an NMI. On
 * its own CPU the TPR is read from CR8 first, always, so that it is the
 * one the vCPU went to sleep with if it does; from another CPU the
 * backend is not touched (VT-x would load the vCPU's VMCS there while it
 * is active on its own CPU, Intel SDM Vol. 3C, 25.1), and the APIC's TPR
 * is that one.
 */
static int takes_interrupt(struct vcpu *v, int on_its_cpu)
{
	int pending;

	if (v->init_pending || (!v->arch && !v->wait_for_sipi))
		return 1;
	if (!v->halted_if_off && extint_pending(v))
		return 1;
	if (v->wait_for_sipi || (!on_its_cpu && !v->apic.irr_words && !v->apic.nmi_pending))
		return 0;
	spin_lock(&v->apic.lock);
	if (on_its_cpu)
		sync_tpr_from_cr8(v);
	pending = v->apic.nmi_pending || (!v->halted_if_off && vlapic_deliverable(&v->apic) >= 0);
	spin_unlock(&v->apic.lock);
	return pending;
}

int vcpu_irq_pending(struct vcpu *v)
{
	return takes_interrupt(v, 1);
}

int vcpu_irq_wakes_sleeper(struct vcpu *v)
{
	return takes_interrupt(v, 0);
}

void vcpu_irq_view(struct vcpu *v, struct vcpu_irq_view *w)
{
	spin_lock(&v->apic.lock);
	w->tpr = v->apic.tpr;
	w->requested = vlapic_highest_irr(&v->apic);
	w->in_service = vlapic_highest_isr(&v->apic);
	spin_unlock(&v->apic.lock);
	w->window = v->irq_window;
}

uint64_t vcpu_irq_timer(struct vcpu *v, uint64_t now)
{
	uint64_t next;

	if (!v->apic.deadline)
		return 0;
	spin_lock(&v->apic.lock);
	next = vlapic_timer_poll(&v->apic, now);
	spin_unlock(&v->apic.lock);
	return next;
}

/* The APIC's TPR written: CR8 follows (SDM Vol. 3A, 10.8.6.1). */
static void sync_cr8_from_tpr(struct vcpu *v)
{
	v->ops->set_reg(v, REG_CR8, v->apic.tpr >> 4);
}

/* Of the registers, only the timer's look at the time (vlapic.h, `now`). */
static int is_timer_register(unsigned offset)
{
	return offset == APIC_TIMER_INITIAL || offset == APIC_TIMER_CURRENT || offset == APIC_TIMER_DIVIDE;
}

/*
 * A register access by offset, in the view (x2APIC or xAPIC) the vCPU
 * uses; 0 or -1. The partition's time is read for the timer's registers
 * alone, and the TPR brought up to the guest's own MOV to CR8 for reads
 * alone (of the TPR, the PPR): no write depends on it. An EOI, the access
 * a guest makes most, needs neither.
 */
static int register_access(struct vcpu *v, unsigned offset, int x2apic, int write, uint64_t *value)
{
	struct vlapic_effects fx;
	uint64_t now = is_timer_register(offset) ? partition_time(v->part) : 0;
	int r;

	spin_lock(&v->apic.lock);
	if (!write)
		sync_tpr_from_cr8(v);
	if (write)
		r = vlapic_write(&v->apic, offset, x2apic, now, *value, &fx);
	else
		r = vlapic_read(&v->apic, offset, x2apic, now, value);
	if (write && offset == APIC_TPR)
		sync_cr8_from_tpr(v);
	spin_unlock(&v->apic.lock);
	if (write && r == 0)
		apply(v, &fx);
	return r;
}

/*
 * A write keeps the TPR unless it disables the APIC, whose TPR is 0 again
 * (SDM Vol. 3A, 11.4.3): CR8 follows the APIC's TPR after it, so that
 * TPR is first brought up to the guest's own MOV to CR8 (no exit: V_TPR
 * on AMD-V, the virtual-APIC page's VTPR with VT-x's TPR shadow).
 */
static int base_msr(struct vcpu *v, int write, uint64_t *value)
{
	int r = 0;

	spin_lock(&v->apic.lock);
	if (write) {
		sync_tpr_from_cr8(v);
		r = vlapic_set_base(&v->apic, *value, arch_phys_addr_bits());
	} else {
		*value = v->apic.base;
	}
	if (write && r == 0)
		sync_cr8_from_tpr(v);
	spin_unlock(&v->apic.lock);
	v->attention = 1; /* the APIC may be on or off now, and take the PIC's ExtINT or not */
	return r;
}

static int deadline_msr(struct vcpu *v, int write, uint64_t *value)
{
	struct vlapic_effects fx = { .eoi_vector = -1 };

	spin_lock(&v->apic.lock);
	if (write)
		vlapic_set_tsc_deadline(&v->apic, *value, partition_time(v->part),
					part_clock_guest_offset(&v->part->clock), &fx);
	else
		*value = vlapic_tsc_deadline(&v->apic);
	spin_unlock(&v->apic.lock);
	apply(v, &fx);
	return 0;
}

int vcpu_apic_eoi_msr(struct vcpu *v, uint64_t value)
{
	int level_vector;

	if (!vlapic_x2apic(&v->apic) || value)
		return -1; /* as register_access() refuses it: x2APIC mode only, and a non-zero EOI is #GP */
	spin_lock(&v->apic.lock);
	level_vector = vlapic_eoi(&v->apic);
	spin_unlock(&v->apic.lock);
	if (level_vector >= 0)
		irq_eoi(v->part, (uint8_t)level_vector);
	return 0;
}

int vcpu_apic_msr(struct vcpu *v, int write, uint32_t msr, uint64_t *value)
{
	if (msr == MSR_APIC_BASE)
		return base_msr(v, write, value);
	if (msr == MSR_TSC_DEADLINE)
		return deadline_msr(v, write, value);
	if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST)
		return 1;
	if (!vlapic_x2apic(&v->apic))
		return -1; /* the x2APIC MSRs exist only in x2APIC mode (SDM Vol. 3A, 11.12.1.2) */
	return register_access(v, (msr - MSR_X2APIC_FIRST) << 4, 1, write, value);
}

/*
 * The xAPIC page: 32-bit registers on 16-byte boundaries (SDM Vol. 3A,
 * 11.4.1). A narrower read gets the bytes it covers; writes other than a
 * dword at a register's start have no defined effect and are dropped.
 */
int vcpu_apic_mmio(struct vcpu *v, uint64_t gpa, unsigned size, int write, uint64_t *value)
{
	uint64_t base = v->apic.base & ~(APIC_PAGE - 1);
	unsigned offset = (unsigned)(gpa - base);
	uint64_t reg;

	if (gpa < base || gpa - base >= APIC_PAGE || !vlapic_enabled(&v->apic) || vlapic_x2apic(&v->apic))
		return 0; /* the range first: other devices' accesses, far more often, are out at once */
	if (write) {
		if (size == 4 && !(offset & 0xf))
			register_access(v, offset, 0, 1, value);
		else
			partition_log_guest(v->part, LOG_WARN, "APIC write of %u bytes at offset 0x%x dropped", size,
					    offset);
		return 1;
	}
	reg = 0;
	if ((offset & 0xf) < 4) /* bytes 4-15 of each 16 are reserved */
		register_access(v, offset & ~0xfu, 0, 0, &reg);
	reg >>= 8 * (offset & 3);
	*value = size >= 4 ? reg : reg & ((1ull << (8 * size)) - 1);
	return 1;
}
