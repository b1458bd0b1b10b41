/*
 * The local APIC of each CPU (Intel SDM Vol. 3A, chapter 11): IPIs, EOI
 * and the timer the scheduler arms. Registers are reached through the
 * x2APIC MSRs or the xAPIC page, whichever mode the firmware left on.
 *
 * The timer runs in TSC-deadline mode where CPUID.1:ECX[24] offers it
 * (11.5.4.1); else one-shot, its count converted from TSC ticks with a
 * ratio measured once against the TSC.
 */
#include "lapic.h"

#include "arch.h"
#include "cpu.h"
#include "log.h"
#include "percpu.h"
#include "tsc_rate.h"

#define X2APIC_ENABLED (1ull << 10)
#define X2APIC_MSR_BASE 0x800
#define MSR_TSC_DEADLINE 0x6e0
#define REG_ID 0x20
#define REG_TPR 0x80
#define REG_EOI 0xb0
#define REG_SVR 0x0f0
#define REG_ICR_LOW 0x300
#define REG_ICR_HIGH 0x310
#define REG_LVT_TIMER 0x320
#define REG_TIMER_INITIAL 0x380
#define REG_TIMER_CURRENT 0x390
#define REG_TIMER_DIVIDE 0x3e0
#define SVR_ENABLE (1u << 8)
#define LVT_MASKED (1u << 16)
#define LVT_TSC_DEADLINE (2u << 17)
#define DIVIDE_BY_1 0xb
#define ICR_PENDING (1u << 12)
#define ICR_FIXED 0x00004000u /* fixed delivery, level assert */
/*
 * The APIC timer's rate is measured as the TSC's is (tsc.c): each read of
 * its count bracketed by two RDTSCs, until the bound on the error those
 * brackets and one count leave is 0.1 % (CALIBRATION_PPM), so a time
 * slice ends within a microsecond of when it should. Under QEMU (a count
 * a nanosecond, reads a few instructions wide) that takes tens of
 * microseconds, not the 1 ms of a fixed window; every partition waits for
 * it. A CPU whose reads are too slow to get there in CALIBRATION_MAX_US
 * gets the rate over that long, within a microsecond of each end.
 */
#define CALIBRATION_PPM 1000
#define CALIBRATION_MAX_US 1000
#define CALIBRATION_COUNT 0xffffffffu

static int tsc_deadline;
static uint64_t apic_ticks_per_mtsc; /* one-shot mode: APIC timer counts per 1000 TSC ticks */
static volatile unsigned timer_interrupts; /* for the start-up check of the timer */
static uint64_t disk_irqs;                 /* disk completion interrupts taken */

static int x2apic(void)
{
	return (rdmsr(MSR_IA32_APIC_BASE) & X2APIC_ENABLED) != 0;
}

static volatile uint32_t *xapic(unsigned reg)
{
	return (volatile uint32_t *)(uintptr_t)((rdmsr(MSR_IA32_APIC_BASE) & ~0xfffull) + reg);
}

/* x2APIC MSR n is xAPIC register n << 4 (SDM Vol. 3A, 11.12.1.2). */
static uint32_t lapic_read(unsigned reg)
{
	return x2apic() ? (uint32_t)rdmsr(X2APIC_MSR_BASE + (reg >> 4)) : *xapic(reg);
}

static void lapic_write(unsigned reg, uint32_t value)
{
	if (x2apic())
		wrmsr(X2APIC_MSR_BASE + (reg >> 4), value);
	else
		*xapic(reg) = value;
}

uint32_t lapic_id(void)
{
	return x2apic() ? lapic_read(REG_ID) : lapic_read(REG_ID) >> 24;
}

void lapic_send_ipi(uint32_t apic_id, uint32_t icr)
{
	if (x2apic()) {
		/*
		 * A WRMSR to an x2APIC register is not serializing: the IPI may
		 * go before earlier stores are globally visible, and a woken CPU
		 * find its run queue as it was (SDM Vol. 3A, 11.12.3). MFENCE;
		 * LFENCE, as the SDM advises, orders them first. The xAPIC's
		 * store to the ICR is a store, which follows the earlier ones.
		 */
		__asm__ volatile("mfence; lfence" ::: "memory");
		wrmsr(X2APIC_MSR_BASE + (REG_ICR_LOW >> 4), ((uint64_t)apic_id << 32) | icr);
		return;
	}
	*xapic(REG_ICR_HIGH) = apic_id << 24;
	*xapic(REG_ICR_LOW) = icr;
	while (*xapic(REG_ICR_LOW) & ICR_PENDING)
		cpu_relax();
}

void lapic_eoi(void)
{
	lapic_write(REG_EOI, 0);
}

/* The timer's count since it was loaded with CALIBRATION_COUNT, placed at the middle of its TSC bracket. */
static struct clock_point timer_read(void)
{
	uint64_t t0 = arch_tsc(), t1;
	uint32_t left = lapic_read(REG_TIMER_CURRENT);

	t1 = arch_tsc();
	return (struct clock_point){ t0 + (t1 - t0) / 2, t1 - t0, CALIBRATION_COUNT - left };
}

/*
 * The APIC timer's count rate against the TSC, with the timer masked. The
 * bound takes the count's tick as the unit (period 1): one tick of it
 * over the count, whatever its length.
 */
static void calibrate(void)
{
	uint64_t max = arch_tsc_hz() / 1000000 * CALIBRATION_MAX_US;
	struct clock_point start, end;

	lapic_write(REG_TIMER_DIVIDE, DIVIDE_BY_1);
	lapic_write(REG_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	lapic_write(REG_TIMER_INITIAL, CALIBRATION_COUNT);
	start = timer_read();
	do
		end = timer_read();
	while (tsc_rate_error_ppm(&start, &end, 1) > CALIBRATION_PPM && end.tsc - start.tsc < max);
	lapic_write(REG_TIMER_INITIAL, 0);
	apic_ticks_per_mtsc = end.tsc > start.tsc ? (end.count - start.count) * 1000 / (end.tsc - start.tsc) : 0;
	if (!apic_ticks_per_mtsc)
		apic_ticks_per_mtsc = 1;
	log_info("timer: local APIC one-shot, %llu kHz", (unsigned long long)(apic_ticks_per_mtsc *
		 (arch_tsc_hz() / 1000) / 1000));
}

/*
 * Arms the timer 100 us ahead and waits up to 20 ms for its interrupt. A
 * TSC-deadline timer that compares against something other than the TSC
 * (as some emulators' do once the TSC was written) fails this and is not
 * used; a one-shot timer that fails it leaves the scheduler without
 * slices, which is reported.
 */
static int timer_fires(void)
{
	uint64_t hz = arch_tsc_hz(), start = arch_tsc();
	unsigned before = timer_interrupts;

	lapic_cpu_init();
	arch_timer_arm(start + hz / 10000);
	while (timer_interrupts == before && arch_tsc() - start < hz / 50)
		arch_take_interrupts();
	arch_timer_arm(0);
	return timer_interrupts != before;
}

void lapic_timer_init(void)
{
	tsc_deadline = (cpuid(1, 0).ecx >> 24) & 1;
	if (tsc_deadline && timer_fires()) {
		log_info("timer: local APIC in TSC-deadline mode");
		return;
	}
	if (tsc_deadline)
		log_warn("timer: the TSC-deadline timer did not fire when due; using one-shot mode");
	tsc_deadline = 0;
	calibrate();
	if (!timer_fires())
		log_error("timer: the local APIC timer does not interrupt: partitions sharing a CPU "
			  "will not be time-sliced");
}

void lapic_cpu_init(void)
{
	/* Software-enabled, spurious vector ours; TPR 0: every vector is delivered. */
	lapic_write(REG_SVR, SVR_ENABLE | VEC_SPURIOUS);
	lapic_write(REG_TPR, 0);
	lapic_write(REG_TIMER_DIVIDE, DIVIDE_BY_1);
	lapic_write(REG_LVT_TIMER, VEC_TIMER | (tsc_deadline ? LVT_TSC_DEADLINE : 0));
}

void arch_timer_arm(uint64_t deadline)
{
	uint64_t now, count;

	if (tsc_deadline) {
		wrmsr(MSR_TSC_DEADLINE, deadline); /* 0 disarms (SDM Vol. 3A, 11.5.4.1) */
		return;
	}
	if (!deadline) {
		lapic_write(REG_TIMER_INITIAL, 0);
		return;
	}
	now = arch_tsc();
	count = deadline > now ? (deadline - now) * apic_ticks_per_mtsc / 1000 : 1;
	lapic_write(REG_TIMER_INITIAL, count == 0 ? 1 : count > 0xffffffffu ? 0xffffffffu : (uint32_t)count);
}

void arch_kick(unsigned index)
{
	if (index < CPUS_MAX && cpus[index].online && index != arch_cpu_index())
		lapic_send_ipi(cpus[index].apic_id, ICR_FIXED | VEC_KICK);
}

void lapic_kick_self(void)
{
	lapic_send_ipi(lapic_id(), ICR_FIXED | VEC_KICK);
}

/*
 * Every controller's message goes to CPU 0. Each controller has one queue
 * for all CPUs, so no single CPU submits its requests, and a destination
 * that followed the submitter would cost a table write per request. CPU 0
 * is always online, and whichever CPU the message wakes (idle in HLT, or
 * out of its guest by the external-interrupt exit) polls every disk in its
 * scheduler loop, waking the vCPUs whose requests completed wherever they
 * run. The drivers start on the boot CPU, which is CPU 0.
 */
void arch_disk_irq_target(uint8_t *vector, uint32_t *apic_id)
{
	*vector = VEC_DISK;
	*apic_id = lapic_id();
}

uint64_t arch_disk_irqs(void)
{
	return __atomic_load_n(&disk_irqs, __ATOMIC_RELAXED);
}

/* Called by the interrupt stubs (entry.asm) with the vector taken. */
void interrupt_dispatch(uint64_t vector);
void interrupt_dispatch(uint64_t vector)
{
	if (vector == VEC_TIMER)
		timer_interrupts++;
	if (vector == VEC_DISK)
		__atomic_fetch_add(&disk_irqs, 1, __ATOMIC_RELAXED);
	if (vector == VEC_CONSOLE)
		host_irq_console();
	/* After the handler: a level-triggered line has dropped by now (11.8.5);
	 * a spurious interrupt is not in service: no EOI (11.9). */
	if (vector != VEC_SPURIOUS)
		lapic_eoi();
}

void arch_take_interrupts(void)
{
	__asm__ volatile("sti; nop; cli" ::: "memory");
}

void arch_wait_for_interrupt(void)
{
	/* STI's one-instruction shadow covers HLT: no wake-up is lost between them. */
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}
