/*
 * The second vCPU: started by INIT-SIPI-SIPI (Intel SDM Vol. 3A, 9.4.4)
 * in real mode at the STARTUP IPI's vector, through our trampoline to
 * protected and then long mode; then IPIs both ways. mode=ipi-storm
 * turns the same into a flood of INITs, STARTUPs and IPIs at its own
 * vCPUs, which must stay contained in the partition.
 */
#include <stdint.h>

#include "platform.h"

#define PAGE 4096u
#define LOW_MEMORY_END 0xa0000u
#define ROUND_TRIPS 10
#define STORM_ROUNDS 20000

void ap_main(void);
void load_idt(void);

static uint8_t ap_stack_area[16384] __attribute__((aligned(16)));
static volatile uint32_t ap_alive, ap_apic_id, bsp_apic_id;
static uint32_t trampoline_page;

/* The first page of available RAM (Multiboot map) from 4 KiB up to 640 KiB: the SIPI vector is its number. */
static uint32_t find_trampoline_page(void)
{
	uint64_t p;
	unsigned i;

	for (i = 0; i < pf.ram_count; i++) {
		if (pf.ram[i].type != 1)
			continue;
		p = (pf.ram[i].base + PAGE - 1) & ~(uint64_t)(PAGE - 1);
		if (p < PAGE)
			p = PAGE;
		if (p + PAGE <= pf.ram[i].base + pf.ram[i].len && p + PAGE <= LOW_MEMORY_END)
			return (uint32_t)p;
	}
	return 0;
}

void ap_main(void)
{
	load_idt();
	lapic_enable();
	ap_apic_id = lapic_id();
	__atomic_store_n(&ap_alive, 1, __ATOMIC_RELEASE);
	for (;;)
		__asm__ volatile("sti; hlt");
}

/* On the AP: each IPI from the BSP is answered with one to the BSP. */
static void answer_bsp(void)
{
	send_ipi(bsp_apic_id, ICR_FIXED | VEC_TO_BSP);
}

static uint32_t other_cpu(void)
{
	unsigned i;

	for (i = 0; i < pf.cpus; i++)
		if (pf.apic_id[i] != bsp_apic_id)
			return pf.apic_id[i];
	return bsp_apic_id;
}

/* INIT, then STARTUP twice if need be (SDM 9.4.4.1); 1 once the AP runs ap_main. */
static int start_ap(uint32_t ap, uint64_t *took)
{
	uint8_t *page = (uint8_t *)(uintptr_t)trampoline_page;
	uint32_t vector = trampoline_page >> 12, i;
	uint64_t t0 = rdtsc();

	for (i = 0; i < (uint32_t)(trampoline_end - trampoline); i++)
		page[i] = trampoline[i];
	ap_stack = (uint64_t)(uintptr_t)(ap_stack_area + sizeof(ap_stack_area));
	ap_alive = 0;
	ap_reached_protected = 0;
	send_ipi(ap, ICR_INIT | ICR_ASSERT | (1u << 15));
	send_ipi(ap, ICR_INIT | (1u << 15)); /* de-assert */
	delay(ms_ticks(10));
	for (i = 0; i < 2 && !ap_alive; i++) {
		send_ipi(ap, ICR_STARTUP | vector);
		delay(ms_ticks(1));
	}
	while (!__atomic_load_n(&ap_alive, __ATOMIC_ACQUIRE) && rdtsc() - t0 < ms_ticks(1000))
		__asm__ volatile("pause");
	*took = rdtsc() - t0;
	return ap_alive;
}

static int bring_up(uint32_t *ap)
{
	uint64_t took;
	uint16_t cs;
	int up;

	bsp_apic_id = lapic_id();
	*ap = other_cpu();
	trampoline_page = find_trampoline_page();
	if (pf.cpus < 2 || *ap == bsp_apic_id || !trampoline_page) {
		report("smp_startup", SKIP, "MADT lists %u CPU(s); trampoline page 0x%x", pf.cpus, trampoline_page);
		return 0;
	}
	up = start_ap(*ap, &took);
	cs = *(volatile uint16_t *)(uintptr_t)(trampoline_page + (uint32_t)(trampoline_cs - trampoline));
	report("smp_startup", up && cs == trampoline_page >> 4 && ap_reached_protected && ap_apic_id == *ap ? PASS : FAIL,
	       "apic %u -> %u: vector 0x%x real_mode_cs=0x%x protected=%u running=%u ap_apic_id=%u took_us=%llu",
	       bsp_apic_id, *ap, trampoline_page >> 12, cs, ap_reached_protected, ap_alive, ap_apic_id,
	       (unsigned long long)(took * 1000000 / pf.tsc_hz));
	return up;
}

void check_smp(void)
{
	uint32_t ap, i, answered = 0;
	uint64_t t0, total;
	int shorthand;

	if (!bring_up(&ap))
		return;
	set_irq_hook(VEC_TO_AP, answer_bsp);
	watch_vector(VEC_TO_BSP);
	t0 = rdtsc();
	for (i = 0; i < ROUND_TRIPS; i++) {
		send_ipi(ap, ICR_FIXED | VEC_TO_AP);
		answered += (unsigned)wait_irqs(VEC_TO_BSP, i + 1, ms_ticks(100));
	}
	total = rdtsc() - t0;
	send_ipi(0, ICR_OTHERS | ICR_FIXED | VEC_TO_AP);
	shorthand = wait_irqs(VEC_TO_BSP, ROUND_TRIPS + 1, ms_ticks(100));
	report("ipi", answered == ROUND_TRIPS && shorthand && irq_count[VEC_TO_AP] == ROUND_TRIPS + 1 ? PASS : FAIL,
	       "bsp %u <-> ap %u: %u/%u round trips, mean_us=%llu; all-but-self shorthand answered=%d taken_by_ap=%u",
	       bsp_apic_id, ap, answered, ROUND_TRIPS, (unsigned long long)(total * 1000000 / pf.tsc_hz / ROUND_TRIPS),
	       shorthand, irq_count[VEC_TO_AP]);
}

/* Hostile: INIT and STARTUP at the AP and fixed IPIs at everyone including itself, as fast as it can. */
void ipi_storm(void)
{
	uint32_t ap, i, vector;
	uint64_t t0;

	if (!bring_up(&ap))
		return;
	vector = trampoline_page >> 12;
	watch_vector(VEC_STORM);
	t0 = rdtsc();
	for (i = 0; i < STORM_ROUNDS; i++) {
		send_ipi(ap, ICR_INIT | ICR_ASSERT);
		send_ipi(ap, ICR_STARTUP | vector);
		send_ipi(0, ICR_ALL | ICR_FIXED | VEC_STORM);
		__asm__ volatile("sti; nop; cli");
	}
	report("ipi_storm", irq_count[VEC_STORM] > 0 ? PASS : FAIL,
	       "%u rounds of INIT, STARTUP and all-including-self IPIs in %llu ms; %u taken by its vCPUs", STORM_ROUNDS,
	       (unsigned long long)((rdtsc() - t0) * 1000 / pf.tsc_hz), irq_count[VEC_STORM]);
}
