/*
 * Bringing up the CPUs the ACPI MADT lists: INIT, then two SIPIs at the
 * trampoline page (Intel SDM Vol. 3A, 10.4.4.1, "Typical BSP Initialization
 * Sequence"); each AP loads its own tables, turns virtualization on and
 * reports. A CPU that does not come up in time is reported and left out.
 */
#include "arch.h"
#include "boot_info.h"
#include "control_regs.h"
#include "cpu.h"
#include "lapic.h"
#include "log.h"
#include "percpu.h"

#define AP_STACK_SIZE 16384
#define ICR_INIT 0x00004500u       /* INIT, level assert */
#define ICR_STARTUP 0x00004600u    /* start-up IPI; low byte: the vector (page number) */
#define START_TIMEOUT_US 200000
#define INIT_DELAY_US 10000

struct trampoline_params {
	uint32_t cr3, efer, cr0, reserved0;
	uint64_t stack, entry;
	uint32_t index, reserved;
	uint32_t patch[6]; /* (where, what) pairs: page + where = page base + what */
};

extern const uint8_t trampoline_start[], trampoline_end[], trampoline_params[];
void ap_main(unsigned index);

static uint8_t ap_stacks[CPUS_MAX][AP_STACK_SIZE] __attribute__((aligned(16)));
static int (*ap_enable)(void);
static volatile int ap_virt_failed;
static void (*volatile ap_entry)(void);

/* A free page below 1 MiB: the SIPI vector names it by page number. */
static uint64_t low_page(const struct boot_info *bi)
{
	uint32_t i;

	for (i = 0; i < bi->nregions; i++) {
		const struct mem_region *r = &bi->regions[i];
		uint64_t base = (r->base + 0xfff) & ~0xfffull;
		if (base < 0x1000)
			base = 0x1000; /* page 0 holds the real-mode interrupt table */
		if (r->type == MEM_FREE && base + 0x1000 <= r->base + r->size && base + 0x1000 <= 0x100000)
			return base;
	}
	return 0;
}

static struct trampoline_params *install(uint64_t page)
{
	uint8_t *dst = (uint8_t *)(uintptr_t)page;
	struct trampoline_params *p = (struct trampoline_params *)(dst + (trampoline_params - trampoline_start));
	unsigned i;

	for (i = 0; i < (unsigned)(trampoline_end - trampoline_start); i++)
		dst[i] = trampoline_start[i];
	for (i = 0; i < 6; i += 2)
		*(uint32_t *)(dst + p->patch[i]) = (uint32_t)page + p->patch[i + 1];
	p->cr3 = (uint32_t)read_cr3();
	p->efer = (uint32_t)(rdmsr(MSR_EFER) & ((1u << 8) | (1u << 11))); /* LME, NXE */
	/* The boot CPU's PG, WP, NE ...; never CD or NW, which an AP has from INIT. */
	p->cr0 = (uint32_t)(read_cr0() & ~(CR0_CD | CR0_NW));
	p->entry = (uint64_t)(uintptr_t)ap_main;
	return p;
}

static int wait_online(unsigned index, uint64_t us)
{
	uint64_t end = arch_tsc() + arch_tsc_hz() * us / 1000000;

	while (!__atomic_load_n(&cpus[index].online, __ATOMIC_ACQUIRE))
		if (arch_tsc() > end)
			return -1;
		else
			cpu_relax();
	return 0;
}

/*
 * The INIT of the sequence to every AP at once, and its 10 ms delay once
 * (SDM Vol. 3A, 10.4.4.1, whose BSP broadcasts it): an AP waits for its
 * STARTUP IPI from then on, so each need not wait 10 ms of its own.
 */
static void init_all(const uint32_t *apic_ids, unsigned n, uint32_t self)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (apic_ids[i] != self)
			lapic_send_ipi(apic_ids[i], ICR_INIT);
	arch_delay_us(INIT_DELAY_US);
}

static int start_one(struct trampoline_params *p, uint64_t page, unsigned index, uint32_t apic_id)
{
	p->index = index;
	p->stack = (uint64_t)(uintptr_t)(ap_stacks[index] + AP_STACK_SIZE);
	lapic_send_ipi(apic_id, ICR_STARTUP | (uint32_t)(page >> 12));
	if (wait_online(index, 200) == 0)
		return 0;
	lapic_send_ipi(apic_id, ICR_STARTUP | (uint32_t)(page >> 12)); /* the second SIPI of the sequence */
	return wait_online(index, START_TIMEOUT_US);
}

/* An AP halts until the boot CPU hands it its main loop (arch_cpus_enter). */
static void __attribute__((noreturn)) wait_for_main(void)
{
	void (*fn)(void);

	while (!(fn = __atomic_load_n(&ap_entry, __ATOMIC_ACQUIRE)))
		arch_wait_for_interrupt();
	fn();
	arch_halt();
}

void arch_cpus_enter(void (*fn)(void))
{
	unsigned i;

	__atomic_store_n(&ap_entry, fn, __ATOMIC_RELEASE);
	for (i = 1; i < CPUS_MAX; i++)
		arch_kick(i);
	fn();
	arch_halt();
}

unsigned arch_cpu_index(void)
{
	return this_cpu()->index;
}

void ap_main(unsigned index)
{
	cpu_tables_load(index);
	cpus[index].apic_id = lapic_id();
	arch_quiesce_interrupts();
	lapic_cpu_init();
	if (ap_enable && ap_enable())
		ap_virt_failed = 1;
	__atomic_store_n(&cpus[index].online, 1, __ATOMIC_RELEASE);
	wait_for_main();
}

unsigned arch_start_cpus(const struct boot_info *bi, const uint32_t *apic_ids, unsigned n,
			 int (*enable_virtualization)(void))
{
	uint64_t page = low_page(bi);
	struct trampoline_params *p;
	unsigned i, index = 1, online = 1;
	uint32_t self = lapic_id();

	cpus[0].apic_id = self;
	cpus[0].online = 1;
	lapic_timer_init(); /* and this CPU's local APIC */
	if (n > CPUS_MAX)
		n = CPUS_MAX;
	if (n > 1 && (!page || read_cr3() >= (1ull << 32))) {
		log_error("cpus: no page below 1 MiB (or page tables above 4 GiB) to start the others from; "
			  "only the boot CPU runs");
		return 1;
	}
	ap_enable = enable_virtualization;
	p = n > 1 ? install(page) : 0;
	if (p)
		init_all(apic_ids, n, self);
	for (i = 0; i < n; i++) {
		if (apic_ids[i] == self)
			continue;
		ap_virt_failed = 0;
		if (start_one(p, page, index, apic_ids[i])) {
			log_error("cpu (APIC ID %u) did not start within %u ms; left out", apic_ids[i],
				  START_TIMEOUT_US / 1000);
			continue;
		}
		log_info("cpu %u (APIC ID %u) online%s", index, apic_ids[i],
			 ap_virt_failed ? ", but without virtualization" : "");
		index++;
		online++;
	}
	return online;
}
