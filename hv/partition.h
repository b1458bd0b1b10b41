/*
 * A guest partition: its memory, address space, vCPUs and devices, and
 * its life: started, paused, resumed, stopped and restarted through
 * partition_request(), which the console and the boot call. Requests come
 * from one CPU at a time (the boot CPU, which runs the console); guests
 * stop their own partition from any CPU through partition_stop().
 */
#ifndef HV_PARTITION_H
#define HV_PARTITION_H

#include <stdint.h>

#include "arch.h"
#include "blk.h"
#include "boot_info.h"
#include "config.h"
#include "kernel.h"
#include "lifecycle.h"
#include "log.h"
#include "part_clock.h"
#include "ratelimit.h"
#include "vcpu.h"
#include "vdev/acpi_pm.h"
#include "vdev/bus.h"
#include "vdev/fw_cfg.h"
#include "vdev/ioapic.h"
#include "vdev/pci.h"
#include "vdev/pci_testdev.h"
#include "vdev/reset.h"
#include "vdev/pic.h"
#include "vdev/pit.h"
#include "vdev/rtc.h"
#include "vdev/uart.h"
#include "vdev/virtio_blk.h"
#include "vdev/virtio_console.h"
#include "vdev/virtio_net.h"

#define STOP_REASON_MAX 160

/* A partition's counters since its start. */
struct part_stats {
	uint64_t cpu_ns, exits, injected;
	uint64_t exits_by[EXIT_REASONS];
};

struct partition {
	const struct cfg_partition *cfg;
	const struct boot_info *bi;
	const struct vcpu_ops *ops;
	struct guest_space *space;
	uint64_t ram_pa, ram_size;
	struct kernel_image kernel;    /* as checked and placed at its last start */
	struct part_clock clock;       /* its time, which stands still while it is paused */
	uint64_t device_deadline;      /* partition time its device timers are due at, 0: none (vdev/clock.h) */
	volatile int device_moved;     /* a guest moved a device's deadline: poll them again */
	struct vcpu vcpus[CFG_VCPUS_MAX];
	unsigned live;                 /* vCPUs in a run queue */
	struct vdev_bus bus;           /* the port and MMIO ranges of its devices */
	struct vuart uart;
	char *console_buffer;          /* its UART's output ring, cfg->console_buffer bytes; NULL: none */
	struct vioapic ioapic;
	struct vpci pci;
	struct pci_testdev testdev;    /* with test_devices only */
	struct acpi_pm pm;             /* ACPI PM1a event and control, PM timer */
	struct vreset reset;           /* port 0xCF9 */
	struct vpic pic;
	struct vpit pit;
	struct vrtc rtc;
	struct fw_cfg fw_cfg;          /* with test_devices = yes */
	struct vdisk disks[CFG_DISKS_MAX]; /* its `disk =` lines, in order, open while it runs */
	int draining;                  /* stopped but for requests a host device holds into its memory */
	char start_why[STOP_REASON_MAX]; /* why its last start failed, when the reason is made up */
	struct virtio_blk vblk[CFG_DISKS_MAX]; /* a virtio-blk device a disk line */
	unsigned nvblk;                /* with their request pools */
	struct virtio_net nets[CFG_NETS_MAX]; /* one a net line: its ports on the switches */
	struct virtio_console vconsole; /* with virtio_console = yes: its output joins the UART's stream */
	volatile enum part_state state;
	int restart;                   /* start again once stopped */
	int warm;                      /* that start is the guest's own reset: its CMOS RAM and clock stay */
	unsigned cpu;                  /* where vCPU 0 runs or ran */
	struct part_stats gone;        /* of its vCPUs gone, for the statistics */
	uint64_t off_deadline;         /* host TSC at which a stop by the power button is forced; 0: none */
	unsigned off_timeout;          /* that stop's seconds */
	int off_restart;               /* that stop is a restart's */
	char stop_reason[STOP_REASON_MAX];
	char last_stop[STOP_REASON_MAX]; /* why its run before this one ended, while it runs again */
	struct ratelimit log_limit;    /* of the lines its guest causes */
};

/* Its time now (part_clock.h): what its devices and timers read. */
static inline uint64_t partition_time(const struct partition *p)
{
	return part_clock_now(&p->clock, arch_tsc());
}

/* Binds p to its configuration; it starts stopped. */
void partition_init(struct partition *p, const struct cfg_partition *cfg, const struct boot_info *bi,
		    const struct vcpu_ops *ops);

/* Does op to p: NULL, or why it is refused (nothing changed then). */
const char *partition_request(struct partition *p, enum part_op op);

/*
 * The operator's stop (or restart, with restart set) that asks first: the
 * guest's ACPI power button is pressed, and if p is still running
 * timeout_s seconds later, partition_poll() forces it off, logging why.
 * A paused partition, which cannot hear the button, is forced off at once.
 * NULL, or why it is refused; *forced tells which it was.
 */
const char *partition_power_off(struct partition *p, unsigned timeout_s, int restart, int *forced);

/* Seconds left before a stop by the power button is forced; 0 if none waits. */
unsigned partition_off_pending(const struct partition *p);

/*
 * From the console's turn (CPU 0, never waiting): forces off a partition
 * whose power-button stop timed out, and starts p again if a restart
 * waits for its stop to finish.
 */
void partition_poll(struct partition *p);

/* Stops p because of what a guest did, saying why; the first reason stays. */
void partition_stop(struct partition *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The guest reset its machine (a reset port, the keyboard controller, the
 * FADT's reset register): p stops, saying why, and starts again from
 * scratch, as the operator's restart does. Other partitions are untouched.
 */
void partition_reset(struct partition *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Logs a line a guest can cause as often as it likes (a refused
 * instruction or MSR), as "partition NAME: ...": rate-limited per
 * partition, the next line out saying how many were held back.
 */
void partition_log_guest(struct partition *p, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Guest SMP: starts vCPU index (not yet started) at rip with stack rsp; 0 or an HC_E* code. */
int64_t partition_start_vcpu(struct partition *p, uint64_t index, uint64_t rip, uint64_t rsp);

/*
 * INIT and STARTUP IPIs (SDM Vol. 3A, 10.4): an INIT resets a started
 * application processor, which then waits for a STARTUP IPI, as do those
 * never started; a STARTUP IPI starts a waiting one in real mode at
 * vector * 4 KiB. INIT to vCPU 0 (whose reset would run firmware we do
 * not have) resets the partition.
 */
void partition_init_signal(struct vcpu *v);
void partition_startup_signal(struct vcpu *v, uint8_t vector);
/* On v's CPU: v's state is dropped, as by INIT; it waits for a STARTUP IPI. */
void partition_vcpu_init_reset(struct vcpu *v);

/* 1 if no vCPU of p can run again by itself: each halted with interrupts off, waiting for SIPI or never started. */
int partition_all_halted(struct partition *p);

/* The counters of all its vCPUs since it started. */
void partition_stats(const struct partition *p, struct part_stats *s);
/*
 * The hypervisor's pointer to [gpa, gpa + len) of p's RAM, each 2 MiB of it
 * zeroed first if no one touched it yet (arch/x86/space.h); NULL if not all
 * RAM. Whatever the hypervisor reads or writes there goes through here.
 */
void *partition_ram(struct partition *p, uint64_t gpa, uint64_t len);
/* p's RAM as its devices see it, each buffer through partition_ram. */
struct vq_ram partition_vq_ram(struct partition *p);

/*
 * For the scheduler, on the vCPU's own CPU: creates its backend state
 * (0, or -1 and the partition stops), and tears it down once its
 * partition stops; the last vCPU gone gives the memory back.
 */
int partition_vcpu_create(struct vcpu *v);

/* The host's TSC when hv_main began: partitions' first instructions are logged against it. */
extern uint64_t hv_start_tsc;
void partition_vcpu_retire(struct vcpu *v);

#endif
