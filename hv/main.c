/*
 * Start-up of the hypervisor: console, banner, memory, configuration,
 * then the operator's console.
 */
#include <stdint.h>

#include "acpi.h"
#include "ahci.h"
#include "arch.h"
#include "ata.h"
#include "blk.h"
#include "blk_selftest.h"
#include "boot_info.h"
#include "cmos_rtc.h"
#include "commands.h"
#include "config.h"
#include "console.h"
#include "diskbench.h"
#include "disks.h"
#include "lib/date.h"
#include "lib/fmt.h"
#include "lib/spinlock.h"
#include "lib/str.h"
#include "log.h"
#include "mm.h"
#include "net.h"
#include "nvme.h"
#include "partition.h"
#include "pci_host.h"
#include "pmem.h"
#include "scheduler.h"
#include "uart16550.h"
#include "vcpu.h"
#include "virtio_blk_host.h"
#include "walltime.h"

#ifndef HV_VERSION
#error "HV_VERSION must be defined by the build"
#endif

#define COM1 0x3f8
#define DEFAULT_BAUD 115200
#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define EXCLUDE_MAX (BOOT_MODULES_MAX + 3)

void __attribute__((noreturn)) hv_main(struct boot_info *bi);

/*
 * A string only the hypervisor's image holds: the isolation test's guest
 * (guests/selftest/isolation.c) searches all of its RAM for it, and must
 * never find it. Kept though nothing reads it.
 */
extern const char hv_image_marker[];
__attribute__((used)) const char hv_image_marker[] = "HV-IMAGE-MARKER-pfc4b90d";

static struct uart uart;
static struct hv_config config;
static struct cfg_errors config_errors;
static int config_ok;
static struct pmem pmem;
static struct acpi_cpus cpus;
static struct partition partitions[CFG_PARTITIONS_MAX];
static unsigned cpus_online;
static int storage_later; /* the host's disks are probed once the partitions started at boot run */
static const struct vcpu_ops *vcpu_ops; /* NULL: no partition can run */

/*
 * make bench's breakdown of the start-up: the TSC at the end of each step
 * of hv_main up to the partitions' start (under QEMU -icount, TSC ticks are
 * instructions).
 */
#define STEPS_MAX 12
static struct startup_step {
	const char *name;
	uint64_t tsc;
} steps[STEPS_MAX];
static unsigned nsteps;

static void step_done(const char *name)
{
	if (nsteps < STEPS_MAX)
		steps[nsteps++] = (struct startup_step){ name, arch_tsc() };
}

static void log_steps(void)
{
	char line[LOG_LINE_MAX];
	uint64_t since = hv_start_tsc;
	size_t n = (size_t)fmt(line, sizeof(line), "start-up, TSC ticks a step:");
	unsigned i;

	for (i = 0; i < nsteps && n < sizeof(line); i++) {
		n += (size_t)fmt(line + n, sizeof(line) - n, "%s %s %llu", i ? "," : "", steps[i].name,
				 (unsigned long long)(steps[i].tsc - since));
		since = steps[i].tsc;
	}
	log_info("%s", line);
}

/*
 * The log's serial line (log.h serializes its callers). CPU 0 runs the
 * console and takes its receive interrupt: while it waits for the line,
 * it drains the receiver itself.
 */
static size_t uart_sink(const char *text, size_t len, int wait)
{
	return wait ? uart_write(&uart, text, len, arch_cpu_index() == 0) : uart_try_write(&uart, text, len);
}

static int uart_byte(void)
{
	return uart_read(&uart);
}

static size_t uart_waiting(void)
{
	return uart_rx_waiting(&uart);
}

static int uart_holds(uint8_t byte)
{
	return uart_rx_holds(&uart, byte);
}

static void uart_interrupt(void)
{
	uart_rx_interrupt(&uart);
}

#define COM2 0x2f8
#define COM1_IRQ 4
#define COM2_IRQ 3

/* The console UART's ISA IRQ, or -1 with why set. */
static int console_isa_irq(const char **why)
{
	if (!uart.present) {
		*why = "no UART answered";
		return -1;
	}
	if (uart.mmio || (uart.base != COM1 && uart.base != COM2)) {
		*why = "the console UART's interrupt is not known: only COM1's and COM2's are";
		return -1;
	}
	return uart.base == COM1 ? COM1_IRQ : COM2_IRQ;
}

/*
 * The console UART's receive side on its interrupt, routed through the
 * I/O APIC from the ISA IRQ of COM1 or COM2 as the MADT's overrides place
 * it; else polled at each console turn (every 10 ms at most), where a
 * burst longer than the UART's 16-byte FIFO may lose bytes. Every other
 * I/O APIC pin is masked: the hypervisor handles no other device's
 * interrupt.
 */
static void start_console_rx(void)
{
	static struct acpi_irq_routing routing;
	struct acpi_irq_route route;
	const char *why = "no I/O APIC in the ACPI MADT";
	int irq = -1, vector = -1;

	if (acpi_read_irq_routing(&routing) == 0) {
		why = "the I/O APICs' registers could not be mapped";
		if (arch_mask_host_irqs(&routing) == 0)
			irq = console_isa_irq(&why);
	}
	if (irq >= 0) {
		route = acpi_isa_irq_route(&routing, (uint8_t)irq);
		vector = arch_route_console_irq(&routing, &route, uart_interrupt, &why);
	}
	if (vector < 0) {
		log_info("console rx: polled (%s)", why);
		return;
	}
	uart_enable_rx_interrupts(&uart);
	log_info("console rx: irq %d vector 0x%x (gsi %u, %s, active %s)", irq, (unsigned)vector, route.gsi,
		 route.level ? "level" : "edge", route.active_low ? "low" : "high");
}

/* Why a 16550 cannot be at this physical address, or NULL. */
static const char *mmio_console_refused(const struct boot_info *bi, uint64_t addr)
{
	unsigned bits = arch_phys_addr_bits();
	uint64_t end = addr + CFG_MMIO_CONSOLE_BYTES; /* no overflow: the parser keeps addr below 2^52 */
	uint32_t i;

	if (bits < 64 && end > (1ull << bits))
		return "beyond this CPU's physical address width";
	for (i = 0; i < bi->nregions; i++) {
		const struct mem_region *r = &bi->regions[i];
		if ((r->type == MEM_FREE || r->type == MEM_LOADED) && addr < r->base + r->size && end > r->base)
			return "inside RAM the memory map calls usable";
	}
	return 0;
}

/* hv.cfg picks the console; else the firmware's SPCR; else COM1. */
static void start_console(const struct boot_info *bi)
{
	const struct cfg_console *c = &config.console;
	struct acpi_console spcr = { 0, COM1, 0, 0 };
	uint32_t baud = config_ok && c->baud ? c->baud : DEFAULT_BAUD;
	int configured = config_ok && c->kind != CONSOLE_AUTO;
	const char *why = configured && c->kind == CONSOLE_MMIO ? mmio_console_refused(bi, c->address) : 0;

	if (why) {
		/* Logged before the console exists: shown once it does. */
		log_warn("console mmio:0x%llx refused: %s (%u-bit physical addresses); using the default console",
			 (unsigned long long)c->address, why, arch_phys_addr_bits());
		configured = 0;
	}
	if (configured)
		uart_init(&uart, c->kind == CONSOLE_MMIO, c->address, 2, baud);
	else if (acpi_read_console(&spcr) == 0)
		uart_init(&uart, spcr.mmio, spcr.base, spcr.reg_shift,
			  config_ok && c->baud ? c->baud : spcr.baud ? spcr.baud : DEFAULT_BAUD);
	else
		uart_init(&uart, 0, COM1, 0, baud);
	log_set_sink(uart_sink);
}


/* Every file a partition names must have been read by the loader. */
static void check_file(void *bi, const struct cfg_partition *part, const char *key, const char *name,
		       uint32_t line)
{
	(void)part;
	if (!boot_module_find(bi, name))
		cfg_add_error(&config_errors, line, "%s '%s' is not on the boot medium", key, name);
}

static void read_config(const struct boot_info *bi)
{
	const struct boot_module *m = boot_module_find(bi, CONFIG_FILE);

	if (!m) {
		cfg_add_error(&config_errors, 0, "file not found on the boot medium");
		return;
	}
	config_ok = cfg_parse((const char *)(uintptr_t)m->base, m->size, &config, &config_errors) == 0;
	if (config_ok) {
		cfg_each_file(&config, check_file, (void *)bi);
		config_ok = config_errors.count == 0;
	}
	if (config_ok)
		log_set_level((enum log_level)config.log_level);
}

static uint64_t memory_top(const struct boot_info *bi)
{
	uint64_t top = 4 * GIB; /* device ranges below 4 GiB are not all in the map */
	uint32_t i;

	for (i = 0; i < bi->nregions; i++)
		if (bi->regions[i].base + bi->regions[i].size > top)
			top = bi->regions[i].base + bi->regions[i].size;
	return top;
}

static void init_memory(const struct boot_info *bi, uint64_t mapped_top)
{
	struct pmem_range exclude[EXCLUDE_MAX];
	size_t n = 0;
	uint32_t i, nregions = 0;
	uint64_t bytes, bitmap;

	exclude[n++] = (struct pmem_range){ bi->hv_base, bi->hv_size };
	exclude[n++] = (struct pmem_range){ (uint64_t)(uintptr_t)bi, bi->self_size };
	for (i = 0; i < bi->nmodules && i < BOOT_MODULES_MAX; i++)
		exclude[n++] = (struct pmem_range){ bi->modules[i].base, bi->modules[i].size };
	while (nregions < bi->nregions && bi->regions[nregions].base < mapped_top)
		nregions++;
	bytes = pmem_bitmap_bytes(bi->regions, nregions);
	bitmap = pmem_place_bitmap(bi->regions, nregions, bytes, exclude, n);
	if (!bitmap) {
		log_error("no room for the page allocator's %llu KiB bitmap; stopping",
			  (unsigned long long)(bytes >> 10));
		log_flush();
		arch_halt();
	}
	exclude[n++] = (struct pmem_range){ bitmap, bytes };
	pmem_init(&pmem, (uint64_t *)(uintptr_t)bitmap, bi->regions, nregions, exclude, n);
}

static void report_memory(const struct boot_info *bi)
{
	uint64_t ram = 0;
	uint32_t i;

	for (i = 0; i < bi->nregions; i++)
		if (bi->regions[i].type == MEM_FREE || bi->regions[i].type == MEM_LOADED)
			ram += bi->regions[i].size;
	log_info("memory: %llu MiB RAM, %llu MiB free for partitions, hypervisor at 0x%llx (%llu KiB)",
		 (unsigned long long)(ram / MIB), (unsigned long long)(pmem.free_pages * PAGE_SIZE / MIB),
		 (unsigned long long)bi->hv_base, (unsigned long long)(bi->hv_size >> 10));
}

static void report_cpus(void)
{
	char ids[11 * ACPI_CPUS_MAX + 1];
	size_t n = 0;
	uint32_t i;

	if (acpi_read_cpus(&cpus)) {
		log_warn("cpus: no ACPI MADT; only the boot CPU is known");
		return;
	}
	ids[0] = 0;
	for (i = 0; i < cpus.count && i < ACPI_CPUS_MAX && n < sizeof(ids); i++)
		n += (size_t)fmt(ids + n, sizeof(ids) - n, " %u", cpus.apic_id[i]);
	log_info("cpus: %u in the ACPI MADT, APIC IDs%s", cpus.count, ids);
}

/* The host's storage controllers and disks (after hpci_init), each disk's first blocks read to prove the path. */
static void init_storage(void)
{
	nvme_init();
	ahci_init();
	ata_init();
	virtio_blk_host_init();
	blk_boot_check(config_ok ? config.disk_selftest : 0);
}

/*
 * Whether the host's disks can wait until the partitions started at boot
 * run: when one starts at boot and none names a disk (nor is a disk to be
 * tested at boot), none needs them. Probing waits on the hardware (an AHCI
 * port without a device for its link, 200 ms): under QEMU, 196 million
 * instructions a partition without disks waited for before its first.
 */
static int storage_can_wait(void)
{
	int starts = 0;
	uint32_t i;

	if (!config_ok || config.disk_selftest[0])
		return 0;
	for (i = 0; i < config.npartitions; i++) {
		if (config.partitions[i].ndisks)
			return 0;
		starts |= config.partitions[i].autostart;
	}
	return starts;
}

/* Whether a partition started at boot is still to run its first instruction. */
static int boot_partition_waits(void)
{
	uint32_t i;

	for (i = 0; i < config.npartitions; i++)
		if (partitions[i].state == PART_RUNNING && !__atomic_load_n(&partitions[i].vcpus[0].arch, __ATOMIC_ACQUIRE))
			return 1;
	return 0;
}

/* At CPU 0's turn: the host's disks probed once no partition started at boot waits for its CPU. */
static void probe_storage_later(void)
{
	if (!storage_later || boot_partition_waits())
		return;
	storage_later = 0;
	init_storage();
	disks_scan();
}

/* The wall clock the partitions' RTCs show: the host RTC's, else 2000-01-01 with a warning. */
static void start_walltime(void)
{
	int64_t seconds;
	uint64_t tsc;
	const char *why = cmos_rtc_read(&seconds, &tsc);
	struct date d;
	char when[48];

	if (!why && walltime_init(seconds, tsc))
		why = "its year is before 1970 or after 2499";
	if (why) {
		seconds = WALLTIME_FALLBACK;
		walltime_init(seconds, arch_tsc());
	}
	date_from_unix(seconds, &d);
	fmt(when, sizeof(when), "%04lld-%02u-%02u %02u:%02u:%02u UTC", (long long)d.year, d.month, d.day, d.hour,
	    d.minute, d.second);
	if (why)
		log_warn("time: the host RTC tells no time (%s); counting from %s", why, when);
	else
		log_info("time: %s (host RTC)", when);
}

/* Virtualization on the boot CPU, then the other CPUs, each turning it on too. */
static const struct vcpu_ops *start_cpus(const struct boot_info *bi)
{
	const struct vcpu_ops *ops = arch_vcpu_ops();

	if (!ops)
		log_warn("neither VT-x nor AMD-V: partitions cannot run");
	else if (ops->cpu_enable())
		ops = 0;
	cpus_online = arch_start_cpus(bi, cpus.apic_id, cpus.count < ACPI_CPUS_MAX ? cpus.count : ACPI_CPUS_MAX,
				      ops ? ops->cpu_enable : 0);
	log_info("cpus: %u of %u online%s%s", cpus_online, cpus.count ? cpus.count : 1,
		 ops ? ", virtualization enabled on each: " : "", ops ? ops->name : "");
	return ops;
}

/* The host's disks as the drivers found them, and the config's disks on them. */
static void check_disks(void)
{
	disks_scan();
	if (!config_ok)
		return;
	disks_check_config(&config, &config_errors);
	config_ok = config_errors.count == 0;
}

static void report_nets(const struct cfg_partition *p)
{
	uint32_t i;

	for (i = 0; i < p->nnets; i++) {
		const uint8_t *m = p->nets[i].mac;
		log_info("    net %s.%u: switch %s, mac %02x:%02x:%02x:%02x:%02x:%02x", p->name, i, p->nets[i].sw,
			 m[0], m[1], m[2], m[3], m[4], m[5]);
	}
}

static void report_config(void)
{
	uint32_t i;

	if (!config_ok) {
		for (i = 0; i < config_errors.count && i < CFG_ERRORS_MAX; i++) {
			const struct cfg_error *e = &config_errors.list[i];
			if (e->line)
				log_error("%s:%u: %s", CONFIG_FILE, e->line, e->text);
			else
				log_error("%s: %s", CONFIG_FILE, e->text); /* the file as a whole */
		}
		if (config_errors.count > CFG_ERRORS_MAX)
			log_error("%s: ... and %u more errors", CONFIG_FILE, config_errors.count - CFG_ERRORS_MAX);
		log_error("configuration refused: no partition is started");
		return;
	}
	log_info("config: %s accepted, %u partitions", CONFIG_FILE, config.npartitions);
	for (i = 0; i < config.npartitions; i++) {
		const struct cfg_partition *p = &config.partitions[i];
		log_info("  partition %s: %llu MiB, %u vCPUs, kernel %s, %u disks, autostart %s", p->name,
			 (unsigned long long)(p->memory / MIB), p->vcpus, p->kernel, p->ndisks,
			 p->autostart ? "yes" : "no");
		report_nets(p);
	}
}

/* Exclusive partitions first: an "any CPU" partition must not take their CPUs before them. */
static void start_autostart(void)
{
	uint32_t i;
	int exclusive;

	for (exclusive = 1; exclusive >= 0; exclusive--)
		for (i = 0; i < config.npartitions; i++)
			if (config.partitions[i].autostart && config.partitions[i].exclusive == exclusive)
				partition_request(&partitions[i], PART_START);
}

static void init_partitions(const struct boot_info *bi, const struct vcpu_ops *ops)
{
	uint32_t i;

	if (!config_ok || config.npartitions == 0)
		return;
	if (!ops) {
		log_error("no usable VT-x or AMD-V: no partition can run");
		return;
	}
	for (i = 0; i < config.npartitions; i++)
		partition_init(&partitions[i], &config.partitions[i], bi, ops);
	start_autostart();
}

static void start_commands(void)
{
	const struct hv_system s = { config_ok ? &config : 0, vcpu_ops ? partitions : 0, "no usable VT-x or AMD-V",
				     &pmem, cpus_online, &uart };

	commands_init(&s);
}

/* For Tab completion: the configured partitions' names. */
static const char *partition_name(size_t index)
{
	return config_ok && index < config.npartitions ? config.partitions[index].name : 0;
}

/* CPU 0's turn between time slices: the operator's input, and restarts that wait. */
static void poll_console(void)
{
	uint32_t i;

	log_pump();
	probe_storage_later();
	console_poll();
	net_poll();
	diskbench_poll();
	for (i = 0; vcpu_ops && config_ok && i < config.npartitions; i++)
		partition_poll(&partitions[i]);
}

void hv_main(struct boot_info *bi)
{
	static const struct console_io io = { log_console_write, log_console_try_write, uart_byte, uart_waiting,
					      uart_holds };
	const struct vcpu_ops *ops;

	hv_start_tsc = arch_tsc();
	if (!bi || bi->magic != BOOT_INFO_MAGIC || bi->version != BOOT_INFO_VERSION) {
		uart_init(&uart, 0, COM1, 0, DEFAULT_BAUD);
		uart_write(&uart, "hv: loader and hypervisor versions differ; stopping\n", 52, 0);
		arch_halt();
	}
	arch_early_init(bi->hv_base, bi->hv_size);
	arch_quiesce_interrupts();
	acpi_init(bi->acpi_rsdp);
	read_config(bi);
	start_console(bi);
	log_flush(); /* what was logged before the console existed */
	log_info("version %s starting", HV_VERSION);
	arch_report_cpu();
	arch_guest_cpu_init();
	step_done("console and cpu");
	init_memory(bi, arch_paging_init(memory_top(bi)));
	mm_init(&pmem);
	report_memory(bi);
	step_done("memory");
	report_cpus();
	start_console_rx();
	step_done("acpi");
	arch_tsc_hz(); /* measured here, where the first wait would: a step of its own */
	step_done("tsc rate");
	/*
	 * The host's PCI functions are found and their BARs sized before the
	 * other CPUs run, even when the disks' drivers start later: sizing turns
	 * each function's decoding off and on, so a CPU that used one meanwhile
	 * (a PCI UART as console) would miss it; and under QEMU 7.2's TCG each
	 * such change of the memory map flushes every vCPU's TLB from the
	 * changing vCPU's thread, racing the vCPUs that run (QEMU 8.1 moved the
	 * flush onto each vCPU's thread): it killed QEMU under running partitions.
	 */
	hpci_init();
	step_done("pci");
	storage_later = storage_can_wait();
	if (!storage_later)
		init_storage();
	step_done(storage_later ? "disks (later)" : "disks");
	start_walltime();
	ops = start_cpus(bi);
	step_done("cpus");
	blk_init(bi);
	if (!storage_later) {
		check_disks();
		step_done("disk scan");
	}
	report_config();
	if (config_ok)
		net_init(&config);
	vcpu_ops = ops;
	scheduler_init(cpus_online, poll_console);
	init_partitions(bi, ops);
	step_done("partitions");
	log_steps();
	log_info("console ready on the serial line; type 'help'");
	start_commands();
	/*
	 * The boot log in full before the prompt: the console's first write
	 * would otherwise show only the last LOG_CONSOLE_BACKLOG bytes of it
	 * on a line slower than the boot (Bochs' UART).
	 */
	log_flush();
	console_start(&io, console_commands, partition_name);
	arch_cpus_enter(scheduler_main);
}
