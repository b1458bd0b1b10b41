#include "arch.h"
#include "cpu.h"

void arch_halt(void)
{
	cpu_halt_forever();
}

void arch_relax(void)
{
	cpu_relax();
}

uint64_t arch_tsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/*
 * The firmware may leave the 8259 PICs and the local APIC timer running;
 * nothing of ours handles their interrupts yet, so mask them at the source.
 */
void arch_quiesce_interrupts(void)
{
	uint64_t apic_base = rdmsr(MSR_IA32_APIC_BASE);
	volatile uint32_t *lvt_timer = (volatile uint32_t *)(uintptr_t)((apic_base & ~0xfffull) + 0x320);

	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	if (apic_base & APIC_BASE_ENABLED)
		*lvt_timer |= 1u << 16; /* LVT mask bit (Intel SDM Vol. 3A, 11.5.1) */
}
