#include "partition.h"

#include <stdarg.h>

#include "arch.h"
#include "elf_load.h"
#include "guest_boot.h"
#include "gpt.h"
#include "hypercall.h"
#include "kernel.h"
#include "lib/fmt.h"
#include "lib/muldiv.h"
#include "lib/str.h"
#include "log.h"
#include "mm.h"
#include "net.h"
#include "scheduler.h"
#include "vcpu_irq.h"
#include "vdev/acpi_tables.h"
#include "vdev/clock.h"
#include "vdev/debug_exit.h"
#include "vdev/kbc.h"
#include "vdev/platform.h"
#include "walltime.h"

void partition_init(struct partition *p, const struct cfg_partition *cfg, const struct boot_info *bi,
		    const struct vcpu_ops *ops)
{
	uint64_t ring = mm_alloc(cfg->console_buffer / PAGE_SIZE);

	*p = (struct partition){ .cfg = cfg, .bi = bi, .ops = ops, .state = PART_STOPPED };
	p->console_buffer = ring ? mm_ptr(ring) : 0; /* kept for good: the output of its last run stays */
	vuart_init(&p->uart, p, cfg->name, p->console_buffer, cfg->console_buffer);
	if (!ring)
		log_warn("partition %s: no memory for its %llu KiB console buffer: 'console' shows live output only",
			 cfg->name, (unsigned long long)(cfg->console_buffer >> 10));
}

/* Its virtual disks closed; 1 while a host device still holds a request into its memory. */
static int close_disks(struct partition *p)
{
	int busy = 0;
	uint32_t i;

	for (i = 0; i < CFG_DISKS_MAX; i++) {
		vdisk_close(&p->disks[i]);
		busy |= vdisk_busy(&p->disks[i]);
	}
	return busy;
}

/*
 * Its memory back, unless a host device still holds a request into it:
 * then -1, and nothing freed. The switches forget its frames before its
 * memory goes (with the scheduler's lock held: see vswitch.h).
 */
static int release_memory(struct partition *p)
{
	uint32_t i;

	if (close_disks(p))
		return -1;
	virtio_blk_detach(p); /* the requests the devices held lived there */
	for (i = 0; i < p->cfg->nnets; i++)
		virtio_net_detach(&p->nets[i]);
	if (p->space)
		p->ops->space_destroy(p->space);
	if (p->ram_pa)
		mm_free(p->ram_pa, p->ram_size / PAGE_SIZE);
	p->space = 0;
	p->ram_pa = 0;
	return 0;
}

void *partition_ram(struct partition *p, uint64_t gpa, uint64_t len)
{
	return p->ops->ram(p->space, gpa, len);
}

/* partition_ram for what takes a context: 0, or -1 if not all RAM. */
static int ram_ready(void *p, uint64_t gpa, uint64_t len)
{
	return partition_ram(p, gpa, len) ? 0 : -1;
}

/* ram_ready for a range the loader then writes in full. */
static int ram_overwritten(void *p, uint64_t gpa, uint64_t len)
{
	struct partition *part = p;

	return part->ops->ram_overwritten(part->space, gpa, len) ? 0 : -1;
}

struct vq_ram partition_vq_ram(struct partition *p)
{
	return (struct vq_ram){ mm_ptr(p->ram_pa), p->ram_pa, p->ram_size, ram_ready, p };
}

/*
 * All of p's RAM zeroed now, for the Multiboot loader, which may write
 * anywhere in it (test kernels in small partitions); 0 or -1.
 */
static int all_ram_ready(struct partition *p)
{
	uint64_t low = platform_low_ram(p->ram_size), high = platform_high_ram(p->ram_size);

	return ram_ready(p, 0, low) || (high && ram_ready(p, PLATFORM_HIGH_RAM_BASE, high)) ? -1 : 0;
}

/* A bzImage where it fits, with its initrd and command line; NULL or why not. */
static const char *load_bzimage(struct partition *p, const uint8_t *file, uint64_t rsdp, struct vcpu_boot *boot)
{
	const struct cfg_partition *cfg = p->cfg;
	const struct boot_module *initrd = cfg->initrd[0] ? boot_module_find(p->bi, cfg->initrd) : 0;
	struct guest_bzimage k = { .file = file, .img = &p->kernel.bz, .cmdline = cfg->cmdline, .rsdp = rsdp,
				   .ready = ram_ready, .overwritten = ram_overwritten, .ctx = p };
	struct bzimage_layout *l = &p->kernel.place;
	const char *why;

	if (cfg->initrd[0] && !initrd)
		return "its initrd is not on the boot medium";
	if (initrd) {
		k.initrd = (const uint8_t *)(uintptr_t)initrd->base;
		k.initrd_size = initrd->size;
	}
	why = guest_boot_bzimage(mm_ptr(p->ram_pa), p->ram_size, &k, l, boot);
	if (why)
		return why;
	log_info("partition %s: bzImage at 0x%llx (%s), %llu MiB to decompress in", cfg->name,
		 (unsigned long long)l->kernel,
		 l->preferred ? "at or above its preferred address" : "the lowest aligned address from 1 MiB",
		 (unsigned long long)((l->span + (1 << 20) - 1) >> 20));
	if (initrd)
		log_info("partition %s: initrd %s, %llu KiB at 0x%llx", cfg->name, cfg->initrd,
			 (unsigned long long)(l->initrd_size >> 10), (unsigned long long)l->initrd);
	return 0;
}

/* A Multiboot kernel, its modules above it, then its command line and information; NULL or why not. */
static const char *load_multiboot(struct partition *p, const uint8_t *file, struct vcpu_boot *boot)
{
	const struct cfg_partition *cfg = p->cfg;
	struct multiboot_layout *l = &p->kernel.mb_layout;
	struct e820_entry map[GUEST_E820_MAX];
	struct multiboot_boot b;
	unsigned i;

	kernel_multiboot_boot(cfg, map, guest_boot_e820(p->ram_size, map), &b);
	for (i = 0; i < b.nmodules; i++) {
		const struct boot_module *m = boot_module_find(p->bi, cfg->modules[i].file);
		if (!m)
			return "a module is not on the boot medium";
		b.modules[i].data = (const uint8_t *)(uintptr_t)m->base;
		b.modules[i].size = m->size;
	}
	if (all_ram_ready(p))
		return "no memory for its guest-physical tables";
	if (multiboot_load(mm_ptr(p->ram_pa), file, &p->kernel.mb, &b, l, boot))
		return l->why;
	log_info("partition %s: Multiboot kernel (%s) at 0x%x-0x%x, %u module%s, information at 0x%x", cfg->name,
		 p->kernel.mb.aout ? "a.out kludge" : "ELF32", p->kernel.mb.start, p->kernel.mb.end, b.nmodules,
		 b.nmodules == 1 ? "" : "s", l->info);
	return 0;
}

/*
 * The kernel placed and vCPU 0's boot state written: an ELF executable at its link address, a bzImage where
 * it fits, a Multiboot kernel where its header says.
 */
static const char *load_kernel(struct partition *p, const struct boot_module *m, uint64_t rsdp,
			       struct vcpu_boot *boot)
{
	const uint8_t *file = (const uint8_t *)(uintptr_t)m->base;
	struct kernel_image *k = &p->kernel;
	uint8_t *ram = mm_ptr(p->ram_pa);
	const char *why = kernel_check(file, m->size, platform_low_ram(p->ram_size), k);

	if (!why)
		why = kernel_check_config(k, p->cfg);
	if (why)
		return why;
	if (k->format == KERNEL_BZIMAGE)
		return load_bzimage(p, file, rsdp, boot);
	if (k->format == KERNEL_MULTIBOOT)
		return load_multiboot(p, file, boot);
	if (ram_ready(p, 0, GUEST_KERNEL_MIN) || ram_ready(p, k->elf.base, k->elf.span))
		return "no memory for its guest-physical tables"; /* the boot structures below 1 MiB, the image */
	why = elf_place(file, &k->elf, ram + k->elf.base);
	if (!why && guest_boot_setup(ram, p->ram_size, p->cfg->cmdline, k->elf.base + k->elf.entry, rsdp, boot))
		why = "no room for the boot structures";
	return why;
}

static void init_vcpus(struct partition *p)
{
	const struct cfg_partition *cfg = p->cfg;
	unsigned i;

	for (i = 0; i < cfg->vcpus && i < CFG_VCPUS_MAX; i++) {
		struct vcpu *v = &p->vcpus[i];
		/* Application processors wait for a STARTUP IPI, as after the firmware's INIT (SDM Vol. 3A, 10.4). */
		*v = (struct vcpu){ .part = p, .ops = p->ops, .id = i, .wake_vector = -1, .wait_for_sipi = i > 0 };
		v->se = (struct sched_entity){ .share = cfg->share, .affinity = cfg->affinity[i],
					       .exclusive = cfg->exclusive, .runnable = 1 };
		vcpu_irq_reset(v);
	}
}

/* A virtio-net function for each net line, on its port. */
static const char *attach_nets(struct partition *p)
{
	const struct vq_ram ram = partition_vq_ram(p);
	const char *why = 0;
	struct vswitch *sw;
	uint32_t i;

	for (i = 0; !why && i < p->cfg->nnets; i++) {
		struct vsw_port *port = net_port(p->cfg, i, &sw);
		why = port ? virtio_net_init(&p->nets[i], p, &ram, &p->pci, PLATFORM_PCI_SLOT_NETS + i, sw, port)
			   : "its network port is on no switch";
	}
	return why;
}

/* Its PCI functions registered, then placed as firmware leaves them; NULL or why not. */
static const char *attach_pci(struct partition *p)
{
	const char *why = vpci_init(&p->pci, p);

	if (!why && p->cfg->test_devices)
		why = pci_testdev_init(&p->testdev, &p->pci);
	if (!why)
		why = virtio_blk_attach(p, p->disks);
	if (!why)
		why = attach_nets(p);
	if (!why && p->cfg->virtio_console) {
		const struct vq_ram ram = partition_vq_ram(p);
		why = virtio_console_init(&p->vconsole, p, &ram, &p->pci, PLATFORM_PCI_SLOT_CONSOLE, &p->uart);
	}
	return why ? why : vpci_start(&p->pci);
}

/* What QEMU's test kernels use: its debug-exit port and fw_cfg; NULL or why not. */
static const char *attach_test_devices(struct partition *p)
{
	fw_cfg_init(&p->fw_cfg, p->ram_size, (uint16_t)p->cfg->vcpus);
	if (vdev_claim_ports(p, PLATFORM_FW_CFG_PORT, FW_CFG_PORTS, &fw_cfg_ops, &p->fw_cfg) ||
	    vdev_claim_ports(p, PLATFORM_DEBUG_EXIT_PORT, DEBUG_EXIT_PORTS, &debug_exit_ops, p))
		return p->bus.refused;
	return 0;
}

/* Its devices, afresh, their ranges claimed on an emptied bus; NULL or why not. */
static const char *attach_devices(struct partition *p)
{
	const char *why;

	vdev_bus_init(&p->bus);
	vuart_reset(&p->uart);
	vioapic_reset(&p->ioapic, platform_ioapic_id(p->cfg->vcpus));
	acpi_pm_reset(&p->pm, arch_tsc_hz());
	vreset_init(&p->reset);
	vpic_reset(&p->pic);
	vpit_reset(&p->pit, arch_tsc_hz(), partition_time(p));
	if (p->warm)
		vrtc_reset_pin(&p->rtc);
	else
		vrtc_reset(&p->rtc, walltime_unix_ns(partition_time(p)));
	if (vdev_claim_ports(p, VUART_BASE, VUART_PORTS, &vuart_ops, &p->uart) ||
	    vdev_claim_mmio(p, PLATFORM_IOAPIC_BASE, VIOAPIC_MMIO_SIZE, &vioapic_ops, p) ||
	    vdev_claim_ports(p, PLATFORM_ACPI_PM_PORT, ACPI_PM_PORTS, &acpi_pm_ops, p) ||
	    vdev_claim_ports(p, PLATFORM_RESET_PORT, 1, &vreset_ops, p) ||
	    vdev_claim_ports(p, PLATFORM_KBC_PORT, 1, &vkbc_data_ops, p) ||
	    vdev_claim_ports(p, VKBC_COMMAND_PORT, 1, &vkbc_command_ops, p) ||
	    vdev_claim_ports(p, PLATFORM_PIC1_PORT, VPIC_PORTS, &vpic_master_ops, p) ||
	    vdev_claim_ports(p, PLATFORM_PIC2_PORT, VPIC_PORTS, &vpic_slave_ops, p) ||
	    vdev_claim_ports(p, PLATFORM_ELCR_PORT, VPIC_PORTS, &vpic_elcr_ops, p) ||
	    vdev_claim_ports(p, PLATFORM_PIT_PORT, VPIT_PORTS, &vpit_ops, p) ||
	    vdev_claim_ports(p, PLATFORM_PORT61, 1, &vpit_port61_ops, p) ||
	    vdev_claim_ports(p, PLATFORM_RTC_PORT, VRTC_PORTS, &vrtc_ops, p))
		return p->bus.refused;
	if (vdev_add_timer(p, acpi_pm_poll, p) || vdev_add_timer(p, vpit_timer, p) ||
	    vdev_add_timer(p, vrtc_timer, p))
		return "its device timers do not fit in the table";
	why = p->cfg->test_devices ? attach_test_devices(p) : 0;
	return why ? why : attach_pci(p);
}

/* The ACPI tables, where a guest looks for them (below 1 MiB: always RAM); the RSDP's address, 0 if none. */
static uint64_t write_acpi_tables(struct partition *p)
{
	uint8_t *bios = partition_ram(p, PLATFORM_BIOS_BASE, PLATFORM_BIOS_SIZE);

	return bios ? acpi_tables_build(bios, PLATFORM_BIOS_SIZE, p->cfg->vcpus) : 0;
}

/* RAM below the hole at 0, the rest at 4 GiB (platform.h), mapped as it is first touched; 0 or -1. */
static int map_ram(struct partition *p)
{
	uint64_t low = platform_low_ram(p->ram_size), high = platform_high_ram(p->ram_size);

	if (p->ops->add_ram(p->space, 0, p->ram_pa, low))
		return -1;
	return high ? p->ops->add_ram(p->space, PLATFORM_HIGH_RAM_BASE, p->ram_pa + low, high) : 0;
}

/* Its virtual disks, as hv.cfg names them; NULL or why not. */
static const char *open_disks(struct partition *p)
{
	const struct cfg_partition *cfg = p->cfg;
	uint32_t i;

	for (i = 0; i < cfg->ndisks && i < CFG_DISKS_MAX; i++) {
		const char *why = vdisk_open(&p->disks[i], &cfg->disks[i], cfg->name);
		if (why) {
			fmt(p->start_why, sizeof(p->start_why), "disk %s (%s line %u): %s", p->disks[i].source,
			    CONFIG_FILE, cfg->disks[i].line, why);
			return p->start_why;
		}
	}
	return 0;
}

/*
 * Memory (zeroed 2 MiB at a time as it is first touched, arch/x86/space.h:
 * nothing of a previous owner, and no wait to zero it all), tables, kernel
 * and boot state; NULL or why not.
 */
static const char *build(struct partition *p)
{
	const struct boot_module *kernel = boot_module_find(p->bi, p->cfg->kernel);
	uint64_t rsdp;
	const char *why;

	p->ram_size = p->cfg->memory;
	p->ram_pa = mm_alloc_unzeroed(p->ram_size / PAGE_SIZE);
	if (!p->ram_pa)
		return "not enough free memory";
	p->space = p->ops->space_create();
	if (!p->space || map_ram(p))
		return "no memory for its guest-physical tables";
	why = open_disks(p);
	if (!why)
		why = attach_devices(p);
	if (why)
		return why;
	if (!kernel)
		return "its kernel is not on the boot medium";
	init_vcpus(p);
	rsdp = write_acpi_tables(p);
	if (!rsdp)
		return "its ACPI tables do not fit";
	return load_kernel(p, kernel, rsdp, &p->vcpus[0].boot);
}

/* Guest-caused lines: a burst of 10, then one a second. */
#define GUEST_LOG_BURST 10

static const char *start(struct partition *p)
{
	const char *why;
	uint32_t i;

	ratelimit_init(&p->log_limit, GUEST_LOG_BURST, arch_tsc_hz(), arch_tsc());
	str_copy(p->last_stop, sizeof(p->last_stop), p->stop_reason, str_len(p->stop_reason));
	p->stop_reason[0] = 0;
	p->gone = (struct part_stats){ 0 };
	p->off_deadline = 0;
	p->device_deadline = 0;
	p->device_moved = 1; /* a first poll tells the devices' first deadlines */
	part_clock_start(&p->clock, arch_tsc()); /* no pause of its last run counts: its devices start now */
	why = build(p);
	part_clock_start(&p->clock, arch_tsc()); /* built: its TSC starts at 0 now */
	scheduler_lock();
	if (!why)
		why = scheduler_add(&p->vcpus[0]);
	if (why) {
		scheduler_unlock();
		release_memory(p);
		log_error("partition %s: not started: %s", p->cfg->name, why);
		return why;
	}
	p->live = 1;
	p->cpu = p->vcpus[0].se.cpu;
	p->state = PART_RUNNING;
	scheduler_unlock();
	for (i = 0; i < p->cfg->nnets; i++)
		virtio_net_attach(&p->nets[i]);
	log_info("partition %s: started on cpu %u, %llu MiB at 0x%llx, entry 0x%llx", p->cfg->name, p->cpu,
		 (unsigned long long)(p->ram_size >> 20), (unsigned long long)p->ram_pa,
		 (unsigned long long)p->vcpus[0].boot.rip);
	return 0;
}

/* With the scheduler lock held: every started vCPU held or released, and its CPU told. */
static void hold_all(struct partition *p, int hold)
{
	unsigned i;

	for (i = 0; i < p->cfg->vcpus; i++)
		if (p->vcpus[i].started)
			scheduler_hold(&p->vcpus[i], hold);
}

static void kick_all(struct partition *p)
{
	unsigned i;

	for (i = 0; i < p->cfg->vcpus; i++)
		if (p->vcpus[i].started)
			scheduler_kick(&p->vcpus[i]);
}

/* With the scheduler lock held. */
static void begin_stop(struct partition *p, const char *f, va_list ap)
{
	fmt_v(p->stop_reason, sizeof(p->stop_reason), f, ap);
	p->state = PART_STOPPING;
	kick_all(p); /* each CPU retires the vCPUs it holds */
}

static void begin_stop_f(struct partition *p, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void begin_stop_f(struct partition *p, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	begin_stop(p, f, ap);
	va_end(ap);
}

/*
 * With the scheduler lock held, before its vCPUs are held or released:
 * its time stops or goes on. At the resume each vCPU's TSC offset moves
 * back by the pause's length before it runs again (the backends load
 * part_clock_tsc_offset() as a slice starts: the pause's kick ended the
 * slice under way). Returns the pause's ms, 0 at the pause.
 */
static uint64_t pause_clock(struct partition *p, int pause)
{
	if (pause) {
		part_clock_pause(&p->clock, arch_tsc());
		return 0;
	}
	return mul_div(part_clock_resume(&p->clock, arch_tsc()), 1000, arch_tsc_hz());
}

const char *partition_request(struct partition *p, enum part_op op)
{
	enum part_state next;
	const char *why;
	uint64_t paused_ms = 0;

	scheduler_lock();
	why = part_transition(p->state, op, &next);
	if (why || (next == PART_RUNNING && p->state == PART_STOPPED)) {
		scheduler_unlock();
		if (why)
			return why;
		p->warm = 0; /* the operator's start is a cold one */
		return start(p); /* it takes the lock once the memory is ready */
	}
	if (next == PART_STOPPING) {
		p->off_deadline = 0; /* forced: no power-button stop waits any more */
		p->restart = op == PART_RESTART;
		p->warm = 0; /* the operator's restart is a cold one */
		begin_stop_f(p, "stopped by the operator%s", p->restart ? " (restart)" : "");
	} else {
		p->state = next;
		paused_ms = pause_clock(p, next == PART_PAUSED);
		hold_all(p, next == PART_PAUSED);
	}
	scheduler_unlock();
	if (op == PART_RESUME)
		log_info("partition %s: %s after %llu ms paused, its clocks and timers as they stood", p->cfg->name,
			 part_state_name(next), (unsigned long long)paused_ms);
	else
		log_info("partition %s: %s", p->cfg->name, part_state_name(next));
	return 0;
}

/* With the scheduler lock held: its memory is back; it is stopped. */
static void finish_stop(struct partition *p)
{
	char held_back[48] = "";
	uint64_t suppressed;

	vuart_flush(&p->uart);
	p->state = PART_STOPPED;
	suppressed = ratelimit_take_suppressed(&p->log_limit);
	if (suppressed)
		fmt(held_back, sizeof(held_back), "; %llu similar lines suppressed", (unsigned long long)suppressed);
	log_info("partition %s: stopped: %s (%llu exits%s)", p->cfg->name, p->stop_reason,
		 (unsigned long long)p->gone.exits, held_back);
}

const char *partition_power_off(struct partition *p, unsigned timeout_s, int restart, int *forced)
{
	enum part_state next;
	const char *why;

	*forced = p->state == PART_PAUSED || timeout_s == 0;
	if (*forced || p->state == PART_STOPPED)
		return partition_request(p, restart ? PART_RESTART : PART_STOP);
	if (p->off_deadline && p->state == PART_RUNNING)
		return "its power button was pressed already; 'stop -f' forces it off now";
	why = part_transition(p->state, PART_STOP, &next);
	if (why)
		return why;
	p->off_timeout = timeout_s;
	p->off_restart = restart;
	p->off_deadline = arch_tsc() + timeout_s * arch_tsc_hz();
	acpi_pm_power_button(p);
	log_info("partition %s: power button pressed (%s); forced off in %u s unless it powers off", p->cfg->name,
		 restart ? "restart" : "stop", timeout_s);
	return 0;
}

unsigned partition_off_pending(const struct partition *p)
{
	uint64_t now = arch_tsc();

	if (!p->off_deadline || p->state != PART_RUNNING)
		return 0;
	return now >= p->off_deadline ? 1 : (unsigned)((p->off_deadline - now) / arch_tsc_hz()) + 1;
}

/* A power-button stop: done when the guest powered off, else forced at its deadline. */
static void poll_power_off(struct partition *p)
{
	int stopped_by_guest;

	scheduler_lock();
	stopped_by_guest = p->state != PART_RUNNING && p->state != PART_PAUSED;
	if (stopped_by_guest || arch_tsc() >= p->off_deadline) {
		p->restart = p->off_restart;
		p->warm = 0;
		p->off_deadline = 0;
		if (!stopped_by_guest)
			begin_stop_f(p, "forced off: still running %u s after its power button", p->off_timeout);
	}
	scheduler_unlock();
	if (!stopped_by_guest && !p->off_deadline)
		log_warn("partition %s: forced off: still running %u s after its power button was pressed%s",
			 p->cfg->name, p->off_timeout, p->restart ? " (restart)" : "");
}

void partition_poll(struct partition *p)
{
	if (p->draining) {
		scheduler_lock();
		if (release_memory(p) == 0) {
			p->draining = 0;
			finish_stop(p);
		}
		scheduler_unlock();
	}
	if (p->off_deadline)
		poll_power_off(p);
	if (p->restart && p->state == PART_STOPPED) {
		p->restart = 0;
		start(p);
	}
}

static void stop_by_guest(struct partition *p, int restart, const char *f, va_list ap)
{
	scheduler_lock();
	if (p->state == PART_RUNNING || p->state == PART_PAUSED) {
		p->restart = p->warm = restart;
		begin_stop(p, f, ap);
	}
	scheduler_unlock();
}

void partition_stop(struct partition *p, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	stop_by_guest(p, 0, f, ap);
	va_end(ap);
}

void partition_reset(struct partition *p, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	stop_by_guest(p, 1, f, ap);
	va_end(ap);
}

/* With the scheduler lock held: v, never started, starts at boot; NULL or why not. */
static const char *start_vcpu_at(struct vcpu *v, const struct vcpu_boot *boot)
{
	const char *why;

	v->boot = *boot;
	v->wait_for_sipi = 0;
	why = scheduler_add(v);
	if (!why)
		v->part->live++;
	return why;
}

/* The guest asked for it, as often as it likes (a STARTUP IPI storm): rate-limited. */
static void log_vcpu_start(struct vcpu *v, const char *why, const char *how)
{
	if (why)
		partition_log_guest(v->part, LOG_WARN, "vCPU %u not started: %s", v->id, why);
	else
		partition_log_guest(v->part, LOG_INFO, "vCPU %u started on cpu %u%s", v->id, v->se.cpu, how);
}

int64_t partition_start_vcpu(struct partition *p, uint64_t index, uint64_t rip, uint64_t rsp)
{
	struct vcpu_boot boot;
	struct vcpu *v;
	const char *why;

	if (index == 0 || index >= p->cfg->vcpus)
		return HC_E_INVALID;
	v = &p->vcpus[index];
	scheduler_lock();
	if (v->started || p->state != PART_RUNNING) {
		scheduler_unlock();
		return HC_E_STATE;
	}
	boot = p->vcpus[0].boot;
	boot.rip = rip;
	boot.rsp = rsp;
	boot.rsi = index; /* the new vCPU learns its number */
	why = start_vcpu_at(v, &boot);
	scheduler_unlock();
	log_vcpu_start(v, why, "");
	return why ? HC_E_STATE : 0;
}

void partition_init_signal(struct vcpu *v)
{
	if (v->id == 0) {
		partition_reset(v->part, "INIT to vCPU 0: the machine starts again");
		return;
	}
	scheduler_lock();
	if (v->started && !v->wait_for_sipi)
		v->init_pending = 1; /* its own CPU resets it (scheduler.c) */
	scheduler_unlock();
	scheduler_wake(v);
}

void partition_startup_signal(struct vcpu *v, uint8_t vector)
{
	const struct vcpu_boot boot = { .mode = BOOT_REAL, .code_selector = (uint16_t)(vector << 8),
					.gdt_limit = 0xffff };
	const char *why = 0;
	int started;

	scheduler_lock();
	if (!v->wait_for_sipi || v->init_pending || v->part->state != PART_RUNNING) {
		scheduler_unlock();
		return; /* not waiting for one: ignored, as by the CPU */
	}
	started = v->started;
	if (started) {
		v->boot = boot; /* it was reset by an INIT; its CPU creates its state afresh */
		v->wait_for_sipi = 0;
	} else {
		why = start_vcpu_at(v, &boot);
	}
	scheduler_unlock();
	if (started)
		scheduler_wake(v);
	log_vcpu_start(v, why, " (STARTUP IPI)");
}

void partition_vcpu_init_reset(struct vcpu *v)
{
	if (v->arch)
		v->ops->destroy(v);
	v->arch = 0;
	if (v->fpu_pa)
		mm_free(v->fpu_pa, arch_guest_fpu_pages());
	v->fpu_pa = 0;
	vcpu_irq_init_signal(v);
	v->wait_for_sipi = 1;
	v->init_pending = 0;
}

int partition_all_halted(struct partition *p)
{
	int halted = 1;
	unsigned i;

	scheduler_lock();
	for (i = 0; i < p->cfg->vcpus && halted; i++) {
		const struct vcpu *v = &p->vcpus[i];
		halted = !v->started || v->wait_for_sipi || (v->halted_if_off && !v->apic.nmi_pending);
	}
	scheduler_unlock();
	return halted;
}

void partition_log_guest(struct partition *p, enum log_level level, const char *f, ...)
{
	char text[LOG_LINE_MAX], held_back[48] = "";
	uint64_t suppressed;
	va_list ap;

	if (!log_enabled(level) || !ratelimit_pass(&p->log_limit, arch_tsc(), &suppressed))
		return;
	va_start(ap, f);
	fmt_v(text, sizeof(text), f, ap);
	va_end(ap);
	if (suppressed)
		fmt(held_back, sizeof(held_back), " (%llu similar lines suppressed)", (unsigned long long)suppressed);
	log_msg(level, "partition %s: %s%s", p->cfg->name, text, held_back);
}

/* Adds v's counters to s. */
static void add_vcpu_stats(struct part_stats *s, const struct vcpu *v)
{
	unsigned r;

	s->cpu_ns += v->se.ran_ns;
	s->exits += vcpu_exits(v);
	s->injected += v->injected;
	for (r = 0; r < EXIT_REASONS; r++)
		s->exits_by[r] += v->exits_by[r];
}

void partition_stats(const struct partition *p, struct part_stats *s)
{
	unsigned i;

	scheduler_lock(); /* a retiring vCPU moves its figures into the partition's */
	*s = p->gone;
	for (i = 0; i < p->cfg->vcpus; i++)
		if (p->vcpus[i].started)
			add_vcpu_stats(s, &p->vcpus[i]);
	scheduler_unlock();
}

uint64_t hv_start_tsc;

int partition_vcpu_create(struct vcpu *v)
{
	uint64_t pages = arch_guest_fpu_pages();

	v->fpu_pa = mm_alloc(pages);
	if (!v->fpu_pa || v->ops->create(v, v->part->space, &v->boot)) {
		partition_stop(v->part, "no memory for vCPU %u", v->id);
		return -1;
	}
	arch_guest_fpu_init(mm_ptr(v->fpu_pa)); /* starts with the initial state: nothing of another guest */
	if (v->id == 0) /* make bench's figure: under QEMU -icount, TSC ticks are instructions */
		log_info("partition %s: its first instruction comes %llu TSC ticks after the hypervisor's start",
			 v->part->cfg->name, (unsigned long long)(arch_tsc() - hv_start_tsc));
	return 0;
}

/* With the scheduler lock held, on v's CPU, v out of its run queue. */
void partition_vcpu_retire(struct vcpu *v)
{
	struct partition *p = v->part;

	if (v->arch)
		v->ops->destroy(v);
	if (v->fpu_pa)
		mm_free(v->fpu_pa, arch_guest_fpu_pages());
	v->fpu_pa = 0;
	v->started = 0;
	add_vcpu_stats(&p->gone, v);
	if (--p->live)
		return;
	if (release_memory(p)) {
		p->draining = 1; /* CPU 0 finishes the stop once the disks' devices let go (partition_poll) */
		return;
	}
	finish_stop(p);
}
