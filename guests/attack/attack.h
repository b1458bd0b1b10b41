/* What the attack guest's files share. */
#ifndef GUESTS_ATTACK_ATTACK_H
#define GUESTS_ATTACK_ATTACK_H

#include <stdint.h>

#include "common/guest.h"

/* One outcome line: ATTACK <name> <detail>; the e2e test reads it. */
extern const char *attack_name;
#define outcome(f, ...) print("ATTACK %s " f "\n", attack_name, ##__VA_ARGS__)

/* An attack by its name on the command line; each file's table ends with a null name. */
struct attack {
	const char *name;
	void (*run)(void);
};
extern const struct attack queue_attacks[], device_attacks[], interrupt_attacks[], cpu_attacks[], event_attacks[],
	workloads[];
/* Halts with interrupts taken for `ticks` of TSC: ours come in, and vCPU 1 (on the same CPU) runs meanwhile. */
void halt_for(uint64_t ticks);
/* TSC ticks in ms milliseconds, at the rate the hypervisor states (Bochs' TSC runs some 30 times slower than QEMU's). */
uint64_t tsc_ms(uint64_t ms);

/* attack.c's, for the attacks in the other files (queues.c, devices.c, interrupts.c, cpu.c, events.c,
 * workload.c). */
extern uint64_t ram_end; /* the top of our RAM: every guest-physical address from here on is none of ours */
/* The local APIC's registers in its xAPIC page (Intel SDM Vol. 3A, Table 11-1). */
#define LAPIC 0xfee00000ull
#define LAPIC_ID 0x20
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define STORM_VECTOR 0x50
#define TIMER_VECTOR 0x51
#define IOAPIC_VECTOR 0x52
#define MSIX_VECTOR 0x53
/* Interrupts of vectors STORM_VECTOR to MSIX_VECTOR each vCPU took; x2apic_mode: ours is in x2APIC mode. */
extern volatile uint32_t storm_irqs[2];
extern volatile int x2apic_mode;
void lapic_write(unsigned reg, uint32_t v);
uint32_t lapic_read(unsigned reg);
/* Starts vCPU 1 on job (0, or the hypercall's error); take_interrupts is a job that takes them forever. */
int64_t start_vcpu1(void (*job)(void));
void take_interrupts(void);
uint64_t random64(void);
/* Disk `index`, brought up with one queue, or the attack ends; refused(status): see attack.c. */
extern struct vblk disk;
void open_disk(unsigned index);
int refused(int status);

/*
 * virtio.c: a virtio-blk-pci driver that polls, built to be misused: the
 * attacks write its descriptor table and rings themselves.
 */
#define VQ_SIZE 16
struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
#define VQ_F_NEXT 1
#define VQ_F_WRITE 2
#define VQ_F_INDIRECT 4

struct vblk {
	unsigned bdf;
	uint64_t bar, common, notify, device;
	uint64_t capacity;
	int read_only;
	volatile struct vq_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[VQ_SIZE] */
	volatile uint16_t *used;  /* flags, idx, then (id, len) pairs as 32-bit words */
	uint16_t avail_idx, used_seen;
};

/* Feature bits 31:0 that vblk_reinit accepts besides VIRTIO_F_VERSION_1 (INDIRECT_DESC, EVENT_IDX): 0 by default. */
extern uint32_t vblk_features;
/* The index-th virtio-blk device on bus 0 (0, 1, ...), reset and brought up with one queue; 0 if none. */
int vblk_open(struct vblk *b, unsigned index);
/* Resets the device and brings it up again, its queue empty. */
int vblk_reinit(struct vblk *b);
uint8_t vblk_status(const struct vblk *b);
#define VBLK_NEEDS_RESET 0x40
/* Puts head on the available ring and notifies. */
void vblk_submit(struct vblk *b, uint16_t head);
/* Waits a bounded time for the used ring to move: 1 if it did. */
int vblk_wait(struct vblk *b);
/*
 * A well-formed request: header (type, sector) in desc 0, data (len bytes
 * at gpa, device-writable for a read) in desc 1 unless len is 0, status in
 * the last; returns the status byte, or -1 if the device answered nothing.
 */
int vblk_request(struct vblk *b, uint32_t type, uint64_t sector, uint64_t gpa, uint32_t len);
/* The request buffers vblk_request uses: header, status, a 4 KiB data page. */
extern uint8_t vblk_header[16], vblk_status_byte[1];
extern uint8_t vblk_data[4096];
/* Lays out the header and status descriptors at 0 and last; data descriptors are the caller's. */
void vblk_header_desc(struct vblk *b, uint32_t type, uint64_t sector, uint16_t next);
void vblk_status_desc(struct vblk *b, uint16_t i);
void common_write16(const struct vblk *b, unsigned off, uint16_t v);
void common_write64(const struct vblk *b, unsigned off, uint64_t v);

#endif
