/*
 * Attacks on the interrupt controllers: the I/O APIC's redirection
 * entries with reserved bits, aimed nowhere and level-triggered; the
 * local APIC's read-only registers, reserved delivery modes, NMI and
 * self-IPI storms, in its xAPIC page and as x2APIC MSRs.
 */
#include <stdint.h>

#include "attack.h"
#include "hypercall.h"

#define IOAPIC 0xfec00000ull
#define IOWIN 0x10
#define IOAPIC_VERSION 0x01
#define RTE_LOW(pin) (0x10 + 2 * (pin))
#define RTE_MASKED (1u << 16)
#define RTE_LEVEL (1u << 15)
#define PIT_PIN 2 /* the PIT's IRQ 0 reaches I/O APIC pin 2 (the MADT's override) */
#define IRQ_WAIT tsc_ms(100) /* a hundred PIT periods */

static uint32_t ioapic_read(unsigned reg)
{
	mmio_write32(IOAPIC, reg);
	return mmio_read32(IOAPIC + IOWIN);
}

static void ioapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(IOAPIC, reg);
	mmio_write32(IOAPIC + IOWIN, v);
}

/* The PIT's channel 0 as a rate generator of about 1 kHz (82C54 mode 2). */
static void pit_periodic(void)
{
	outb(0x43, 0x34);
	outb(0x40, 1193 & 0xff);
	outb(0x40, 1193 >> 8);
}

/* Interrupts vCPU 0 took while the PIT's pin had this redirection entry. */
static uint32_t pit_interrupts(uint32_t low, uint32_t high)
{
	uint32_t before = storm_irqs[0];

	ioapic_write(RTE_LOW(PIT_PIN) + 1, high);
	ioapic_write(RTE_LOW(PIT_PIN), low);
	halt_for(IRQ_WAIT);
	ioapic_write(RTE_LOW(PIT_PIN), RTE_MASKED);
	return storm_irqs[0] - before;
}

/*
 * The version register written; a redirection entry written all ones
 * (reserved bits, delivery status and remote IRR stay as they were: 82093AA,
 * 3.2.4); a register past the last entry; then the PIT's pin aimed at an
 * APIC ID that does not exist, as an SMI (refused, logged), at us edge-
 * and level-triggered (a storm while the line stays high), and an EOI of
 * a vector no entry has.
 */
static void ioapic_abuse(void)
{
	uint32_t version, low, high, past, nobody, smi, edge, level;

	lapic_write(LAPIC_SVR, 0x1ff);
	ioapic_write(IOAPIC_VERSION, ~0u);
	version = ioapic_read(IOAPIC_VERSION);
	ioapic_write(RTE_LOW(PIT_PIN), ~0u);
	ioapic_write(RTE_LOW(PIT_PIN) + 1, ~0u);
	low = ioapic_read(RTE_LOW(PIT_PIN));
	high = ioapic_read(RTE_LOW(PIT_PIN) + 1);
	ioapic_write(RTE_LOW(PIT_PIN), RTE_MASKED);
	past = ioapic_read(RTE_LOW(24));
	pit_periodic();
	nobody = pit_interrupts(IOAPIC_VECTOR, 0x7fu << 24);
	smi = pit_interrupts(0x200 | IOAPIC_VECTOR, 0);
	edge = pit_interrupts(IOAPIC_VECTOR, 0);
	level = pit_interrupts(RTE_LEVEL | IOAPIC_VECTOR, 0);
	mmio_write32(IOAPIC + 0x40, 0x99); /* EOI register (version 0x20) */
	outcome("version=0x%08x rte_all_ones=0x%08x:0x%08x past_last=0x%08x to_apic_7f=%u smi=%u edge_to_self=%u "
		"level_to_self=%u", version, low, high, past, nobody, smi, edge, level);
	hypercall_exit(0);
}

/* ---- the local APIC ----------------------------------------------------------- */

#define LAPIC_VERSION 0x30
#define LAPIC_PPR 0xa0
#define LAPIC_ISR 0x100
#define LAPIC_TMR 0x180
#define LAPIC_IRR 0x200
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_TIMER_CURRENT 0x390
#define ICR_SELF (1u << 18)
#define ICR_ALL (2u << 18)
#define ICR_NMI (4u << 8)
#define SELF_IPIS 10000
#define VEC_NMI 2

static const unsigned read_only[] = { LAPIC_ID, LAPIC_VERSION, LAPIC_PPR, LAPIC_ISR, LAPIC_TMR, LAPIC_IRR,
				      LAPIC_TIMER_CURRENT };
#define READ_ONLY (sizeof(read_only) / sizeof(read_only[0]))

static uint32_t self_ipi_storm(void (*send)(void))
{
	uint32_t before = storm_irqs[0];
	unsigned i;

	__asm__ volatile("sti");
	for (i = 0; i < SELF_IPIS; i++)
		send();
	__asm__ volatile("nop; cli");
	return storm_irqs[0] - before;
}

static void xapic_self_ipi(void)
{
	lapic_write(LAPIC_ICR_LOW, ICR_SELF | STORM_VECTOR);
}

/* Fixed interrupts this ICR value brought vCPU 0. */
static uint32_t icr_interrupts(uint32_t high, uint32_t low)
{
	uint32_t before = storm_irqs[0];

	lapic_write(LAPIC_ICR_HIGH, high);
	lapic_write(LAPIC_ICR_LOW, low);
	__asm__ volatile("sti; nop; nop; cli");
	return storm_irqs[0] - before;
}

static uint32_t read_esr(void)
{
	lapic_write(LAPIC_ESR, 0);
	return lapic_read(LAPIC_ESR);
}

/*
 * xAPIC (SDM Vol. 3A, 11.4-11.6): writes to its read-only registers; the
 * timer's LVT with an NMI delivery mode (it has none) and LINT0's; ICR
 * commands with the reserved delivery mode 3, an SMI, INIT level
 * de-assert to all (for the 82489DX only: nothing), a fixed IPI to an APIC
 * ID that does not exist and of the illegal vector 3, two NMIs to all
 * including self, one after the other's handler returned (its IRET ends
 * the blocking of NMIs the first one's delivery began, SDM Vol. 3A,
 * 6.7.1); 10,000 self-IPIs.
 */
static void lapic_abuse(void)
{
	uint32_t before[READ_ONLY], timer_lvt, lint0, mode3, smi, nobody, esr, self;
	unsigned i, kept = 0;
	int nmi;

	lapic_write(LAPIC_SVR, 0x1ff);
	for (i = 0; i < READ_ONLY; i++)
		before[i] = lapic_read(read_only[i]);
	for (i = 0; i < READ_ONLY; i++)
		lapic_write(read_only[i], ~0u);
	for (i = 0; i < READ_ONLY; i++)
		kept += lapic_read(read_only[i]) == before[i];
	lapic_write(LAPIC_LVT_TIMER, RTE_MASKED | ICR_NMI | TIMER_VECTOR);
	timer_lvt = lapic_read(LAPIC_LVT_TIMER);
	lapic_write(LAPIC_LVT_LINT0, RTE_MASKED | ICR_NMI);
	lint0 = lapic_read(LAPIC_LVT_LINT0);
	mode3 = icr_interrupts(0, ICR_SELF | 0x300 | STORM_VECTOR);
	smi = icr_interrupts(0, 0x200 | STORM_VECTOR);
	icr_interrupts(0, ICR_ALL | (1u << 15) | 0x500); /* INIT, level-triggered, de-assert */
	nobody = icr_interrupts(0x7fu << 24, STORM_VECTOR);
	read_esr();
	icr_interrupts(0, 3);
	esr = read_esr();
	for (i = 0, nmi = 0; i < 2; i++) {
		expect_fault(VEC_NMI, 0); /* an interrupt: its RIP is past the write already */
		lapic_write(LAPIC_ICR_LOW, ICR_ALL | ICR_NMI);
		nmi += fault_taken(VEC_NMI);
	}
	self = self_ipi_storm(xapic_self_ipi);
	outcome("read_only_kept=%u/%u lvt_timer=0x%x lint0=0x%x mode3=%u smi=%u init_deassert_survived=1", kept,
		(unsigned)READ_ONLY, timer_lvt, lint0, mode3, smi);
	outcome("to_apic_7f=%u esr=0x%x nmi_all=%d self_ipis=%u/%u", nobody, esr, nmi, self, SELF_IPIS);
	hypercall_exit(0);
}

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_X2APIC (1ull << 10)
#define X2APIC_ID 0x802
#define X2APIC_VERSION 0x803
#define X2APIC_TPR 0x808
#define X2APIC_PPR 0x80a
#define X2APIC_EOI 0x80b
#define X2APIC_LDR 0x80d
#define X2APIC_SVR 0x80f
#define X2APIC_ISR 0x810
#define X2APIC_IRR 0x820
#define X2APIC_ICR 0x830
#define X2APIC_TIMER_CURRENT 0x839
#define X2APIC_SELF_IPI 0x83f

static void x2apic_self_ipi(void)
{
	wrmsr(X2APIC_SELF_IPI, STORM_VECTOR);
}

static unsigned count_faults(const uint32_t *msrs, unsigned n, int write, const uint64_t *values)
{
	unsigned i, gp = 0;
	uint64_t v;

	for (i = 0; i < n; i++)
		gp += (unsigned)(write ? wrmsr_faults(msrs[i], values ? values[i] : 0) : rdmsr_faults(msrs[i], &v));
	return gp;
}

/*
 * x2APIC (SDM Vol. 3A, 11.12): #GP for writes to its read-only registers,
 * reads of its write-only ones, both of reserved MSRs, and reserved bits
 * (TPR and SVR bits 63:32, an EOI of non-zero, ICR bit 13, a self-IPI
 * vector past 255); 10,000 self-IPIs through SELF IPI; an SMI; leaving
 * x2APIC mode for xAPIC mode but through disabled (#GP), then through it.
 */
static void x2apic_abuse(void)
{
	static const uint32_t read_only_msrs[] = { X2APIC_ID, X2APIC_VERSION, X2APIC_PPR, X2APIC_LDR, X2APIC_ISR,
						   X2APIC_IRR, X2APIC_TIMER_CURRENT };
	static const uint32_t write_only_msrs[] = { X2APIC_EOI, X2APIC_SELF_IPI };
	static const uint32_t reserved_msrs[] = { 0x804, 0x831, 0x8ff };
	static const uint32_t bits_msrs[] = { X2APIC_TPR, X2APIC_SVR, X2APIC_EOI, X2APIC_ICR, X2APIC_SELF_IPI };
	static const uint64_t bits_values[] = { 1ull << 32, 0x1ffull | 1ull << 32, 1, 1u << 13 | STORM_VECTOR, 0x100 };
	uint64_t base = rdmsr(MSR_APIC_BASE);
	unsigned ro, wo, reserved, bits, smi;
	uint32_t v[4], self;
	int direct, via_disabled;

	cpuid(1, v);
	if (!(v[2] & (1u << 21))) {
		outcome("no x2APIC offered");
		hypercall_exit(1);
	}
	wrmsr(MSR_APIC_BASE, base | APIC_BASE_X2APIC);
	x2apic_mode = 1;
	wrmsr(X2APIC_SVR, 0x1ff);
	ro = count_faults(read_only_msrs, 7, 1, 0);
	wo = count_faults(write_only_msrs, 2, 0, 0);
	reserved = count_faults(reserved_msrs, 3, 0, 0) + count_faults(reserved_msrs, 3, 1, 0);
	bits = count_faults(bits_msrs, 5, 1, bits_values);
	self = self_ipi_storm(x2apic_self_ipi);
	smi = storm_irqs[0];
	wrmsr(X2APIC_ICR, ICR_SELF | 0x200 | STORM_VECTOR); /* one 64-bit ICR: no ICR_HIGH in x2APIC mode */
	__asm__ volatile("sti; nop; nop; cli");
	smi = storm_irqs[0] - smi;
	direct = wrmsr_faults(MSR_APIC_BASE, base & ~APIC_BASE_X2APIC);
	via_disabled = wrmsr_faults(MSR_APIC_BASE, base & ~(APIC_BASE_X2APIC | APIC_BASE_ENABLE)) ||
		       wrmsr_faults(MSR_APIC_BASE, base);
	x2apic_mode = 0;
	outcome("read_only_write_gp=%u/7 write_only_read_gp=%u/2 reserved_gp=%u/6 reserved_bits_gp=%u/5", ro, wo,
		reserved, bits);
	outcome("self_ipis=%u/%u smi=%u to_xapic_direct=%s via_disabled=%s xapic_id=0x%x", self, SELF_IPIS, smi,
		direct ? "gp" : "ok", via_disabled ? "gp" : "ok", lapic_read(LAPIC_ID));
	hypercall_exit(0);
}

const struct attack interrupt_attacks[] = {
	{ "ioapic-abuse", ioapic_abuse },
	{ "lapic-abuse", lapic_abuse },
	{ "x2apic-abuse", x2apic_abuse },
	{ 0, 0 },
};
