/* What the attack guest's files share. */
#ifndef GUESTS_ATTACK_ATTACK_H
#define GUESTS_ATTACK_ATTACK_H

#include <stdint.h>

#include "common/guest.h"

/* One outcome line: ATTACK <name> <detail>; the e2e test reads it. */
extern const char *attack_name;
#define outcome(f, ...) print("ATTACK %s " f "\n", attack_name, ##__VA_ARGS__)

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
