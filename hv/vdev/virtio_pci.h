/*
 * The virtio 1.x ("modern") PCI transport (virtio 1.2, 4.1), which every
 * virtio device type of a partition plugs into: virtio-blk, virtio-net,
 * virtio-console.
 *
 * The function: vendor 0x1AF4, device 0x1040 + the virtio device ID,
 * revision 1 (4.1.2.1: no legacy interface), subsystem 1AF4:0040 + the
 * device ID, INTA#.
 *   BAR0, 32-bit memory, 16 KiB, the regions its vendor-specific
 *   capabilities (4.1.4) name:
 *     0x0000  common configuration (4.1.4.3), 0x38 bytes
 *     0x1000  ISR status (4.1.4.5), 1 byte: read, it clears and INTA# drops
 *     0x2000  device-specific configuration (the type's config_read/write)
 *     0x3000  notifications (4.1.4.4): queue i at 0x3000 + 4 * i
 *             (queue_notify_off = i, notify_off_multiplier = 4)
 *   BAR1, 32-bit memory: the MSI-X table and PBA (pci.h).
 * A region's fields answer accesses of their own width at their offsets
 * (64-bit fields also as two 32-bit halves, 4.1.3.1); other accesses read
 * 0 and are ignored, as are writes to read-only fields.
 *
 * Features: the type's, plus VIRTIO_F_VERSION_1 (required of the driver:
 * without it FEATURES_OK is refused), VIRTIO_F_RING_EVENT_IDX and
 * VIRTIO_F_INDIRECT_DESC. Setting FEATURES_OK with a bit not offered, or
 * without VERSION_1, leaves FEATURES_OK clear (3.1.1); driver features are
 * fixed from FEATURES_OK on. Status bits accumulate until a reset (writing
 * 0); DRIVER_OK without FEATURES_OK is refused, DEVICE_NEEDS_RESET is the
 * device's alone. A queue is enabled only after FEATURES_OK, and only with
 * a power-of-two size up to the type's and rings inside the partition's
 * RAM (virtqueue.h): otherwise queue_enable stays 0, logged. Its size and
 * addresses are fixed while it is enabled.
 *
 * Interrupts: a queue's or the configuration's MSI-X vector (NO_VECTOR
 * 0xFFFF: none; a vector the table does not have reads back as NO_VECTOR,
 * 4.1.5.1.2), else INTA# with the ISR's bit 0 (queue) or 1 (configuration).
 *
 * A ring the guest made unreadable (virtqueue.h's VQ_BROKEN) sets
 * DEVICE_NEEDS_RESET with a configuration interrupt (2.1.1); the device
 * then takes nothing more until a reset.
 *
 * Not offered: the PCI configuration access capability (4.1.4.9), which
 * Linux and other drivers do not use.
 *
 * Locks: v->lock covers the transport's registers and the queues. The
 * type's config_read, config_write and reset are called with it held (they
 * must not call out); notify is called without it, and the type takes it
 * around its queue work (virtio_next(), virtio_chain(), virtio_push()).
 */
#ifndef HV_VDEV_VIRTIO_PCI_H
#define HV_VDEV_VIRTIO_PCI_H

#include <stdint.h>

#include "lib/spinlock.h"
#include "pci.h"
#include "virtio_spec.h"
#include "virtqueue.h"

#define VIRTIO_QUEUES_MAX 8
#define VIRTIO_MSIX_VECTORS (VIRTIO_QUEUES_MAX + 1)
#define VIRTIO_BAR_SIZE 0x4000
#define VIRTIO_COMMON 0x0000
#define VIRTIO_ISR 0x1000
#define VIRTIO_DEVICE_CFG 0x2000
#define VIRTIO_NOTIFY 0x3000
#define VIRTIO_NOTIFY_MULTIPLIER 4

struct virtio_pci;

/* A virtio device type: what it offers and how it answers. */
struct virtio_type {
	uint16_t device_id;   /* 5: 1 network, 2 block */
	uint32_t class_code;  /* PCI class */
	uint64_t features;    /* its own bits, at the time of virtio_pci_init() */
	unsigned queues;      /* 1 - VIRTIO_QUEUES_MAX */
	unsigned queue_size;  /* the largest it takes, a power of two */
	unsigned config_size; /* of its configuration structure, up to 0x1000 */
	/* Its configuration structure: offset + size within config_size; lock held. */
	void (*config_read)(struct virtio_pci *v, unsigned offset, unsigned size, uint64_t *value);
	/* NULL: nothing of it is the driver's to write (writes ignored). */
	void (*config_write)(struct virtio_pci *v, unsigned offset, unsigned size, uint64_t value);
	/* The driver notified queue (enabled, DRIVER_OK); without the lock. */
	void (*notify)(struct virtio_pci *v, unsigned queue);
	/* Back to its initial state, the queues gone; lock held. */
	void (*reset)(struct virtio_pci *v);
};

struct virtio_queue {
	uint16_t size, vector;
	uint16_t enabled;
	uint64_t desc, driver, device; /* as the driver wrote them */
	struct virtqueue vq;
};

struct virtio_pci {
	struct pci_dev pci;
	struct pci_msix_entry msix[VIRTIO_MSIX_VECTORS];
	struct spinlock lock;
	const struct virtio_type *type;
	void *dev;              /* the type's device */
	struct partition *part;
	struct vq_ram ram;
	uint64_t offered, features; /* offered to and accepted from the driver */
	uint32_t device_feature_select, driver_feature_select;
	uint16_t config_vector, queue_select;
	uint8_t status, isr, config_generation;
	uint32_t resets;        /* device resets so far: a request taken before one is not given back after it */
	uint32_t due;           /* interrupts left to raise once the lock is dropped: VIRTIO_DUE_* */
	struct virtio_queue q[VIRTIO_QUEUES_MAX];
};

/*
 * v set up afresh for type's device dev in partition p (whose RAM is ram),
 * registered at slot (function 0) of pci; NULL or why not.
 */
const char *virtio_pci_init(struct virtio_pci *v, const struct virtio_type *type, void *dev, struct partition *p,
			    const struct vq_ram *ram, struct vpci *pci, unsigned slot);

/* 1 if the driver accepted feature bit(s) f. */
int virtio_has(const struct virtio_pci *v, uint64_t f);

/* The driver set DRIVER_OK and the device does not need a reset: it takes requests. */
int virtio_driver_ready(const struct virtio_pci *v);

/* ---- for the type's notify and completions, with v->lock held */

/*
 * The next chain of an enabled queue, as vq_next(); VQ_BROKEN also sets
 * DEVICE_NEEDS_RESET, which the type then announces with
 * virtio_config_changed() once it has dropped the lock.
 */
enum vq_next virtio_next(struct virtio_pci *v, unsigned queue, uint16_t *head);
/*
 * The device stops taking requests until a reset (DEVICE_NEEDS_RESET, 2.1.1),
 * logged with why; the type announces it with virtio_config_changed() once
 * it has dropped the lock.
 */
void virtio_needs_reset(struct virtio_pci *v, const char *why);
/* The chain at head, as vq_chain(); a refusal is logged (rate-limited). */
enum vq_chain_result virtio_chain(struct virtio_pci *v, unsigned queue, uint16_t head, struct vq_buf *buf,
				  unsigned max, unsigned *n);
/* Gives the chain at head back with len bytes written; 1 if the driver wants an interrupt for it now. */
int virtio_push(struct virtio_pci *v, unsigned queue, uint16_t head, uint32_t len);

/*
 * Interrupts that fall due under the lock wait in v->due until
 * virtio_raise_due(): bit q for queue q, VIRTIO_DUE_CONFIG for the
 * configuration (a ring that needs a reset).
 */
#define VIRTIO_DUE_QUEUE(q) (1u << (q))
#define VIRTIO_DUE_CONFIG (1u << VIRTIO_QUEUES_MAX)
/* virtio_push(), its interrupt, if the driver wants one, due. */
void virtio_give_back(struct virtio_pci *v, unsigned queue, uint16_t head, uint32_t len);
/* virtio_next(): 1 with the head of queue's next chain, else 0; a broken ring's reset falls due. */
int virtio_next_head(struct virtio_pci *v, unsigned queue, uint16_t *head);

/* ---- interrupts: without v->lock */

/* The queue's interrupt (after virtio_push() said so). */
void virtio_interrupt(struct virtio_pci *v, unsigned queue);
/* The configuration changed (the type's structure, or DEVICE_NEEDS_RESET). */
void virtio_config_changed(struct virtio_pci *v);
/* The interrupts v->due holds, raised (and cleared: it takes the lock to do so). */
void virtio_raise_due(struct virtio_pci *v);

/* Its BAR0 (dev: the struct virtio_pci). */
extern const struct vdev_ops virtio_pci_ops;

#endif
