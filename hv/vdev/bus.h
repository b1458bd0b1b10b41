/*
 * A partition's device bus: one table of the port-I/O and guest-physical
 * MMIO ranges its devices claimed, and the dispatch of guest accesses to
 * them. Each device is one file in hv/vdev/ that claims its ranges when
 * the partition starts (vdev_bus_init() empties the table first, so a
 * restart rebuilds it rather than grows it).
 *
 * Accesses. A port access has size 1, 2 or 4, an MMIO access 1, 2, 4 or
 * 8; value holds the low `size` bytes, little-endian. An access that lies
 * wholly inside one claim reaches that device once, at its offset from
 * the claim's base, with its full size. An access that does not (it runs
 * past the end of a claim, or covers two claims, or a claim and nothing)
 * is split into byte accesses, dispatched one by one, as an ISA bus
 * splits a wide cycle for a narrow device: a byte inside a claim reaches
 * that device as a size-1 access at its offset; a byte that nobody
 * claimed reads 0xFF and its write vanishes. Such an access is not
 * atomic. Unclaimed ports read all-ones and ignore writes, as on a real
 * bus; so does unclaimed MMIO, which is also logged, once per partition
 * start, through the partition's rate-limited guest log.
 *
 * Concurrency. The vCPUs of a partition run on several host CPUs at once,
 * so the callbacks of one device can run at the same time on several
 * CPUs: each device serialises its own state with a spin lock in its own
 * struct (see uart.c), one lock whatever number of ranges it claimed. The
 * bus lock guards only the table: a lookup takes what it needs of the
 * claim it found (under the lock from the table, or without it from a
 * recent lookup of the same place, good only while the table is as it
 * was then) and calls the device holding no lock, so a callback may
 * itself claim ranges (as PCI's BAR writes do). Claims may therefore be made
 * while vCPUs run; a device struct, though, must live as long as its
 * partition can run, since an access that raced with a change of the
 * table may still reach the device by the old decode (as if it had come
 * just before the change). Moving a range (a PCI BAR) is a release and a
 * claim, both under one hold of the bus lock (vdev_move()), so that no
 * access finds the device at both places.
 *
 * Registers of one access size. A chipset decodes some ports by the size
 * of the access as well as by its address: on a PC, 0xCF8 is PCI's
 * CONFIG_ADDRESS for a 32-bit access only, while a byte at 0xCF9 is the
 * reset control register. vdev_claim_port_register() claims such a
 * register: an access of exactly its size at its first port reaches it
 * whole; any other access passes it by, to the ordinary claims of those
 * ports or to nobody. Such a claim may lie over ordinary claims, never
 * over another of its kind.
 */
#ifndef HV_VDEV_BUS_H
#define HV_VDEV_BUS_H

#include <stdint.h>

#include "lib/spinlock.h"

struct partition;

struct vdev_ops {
	/* offset from the range's base; size 1, 2, 4 or 8; reads fill *value */
	void (*read)(void *dev, uint64_t offset, unsigned size, uint64_t *value);
	void (*write)(void *dev, uint64_t offset, unsigned size, uint64_t value);
};

/* Claims a partition may hold: ports and MMIO together. */
#define VDEV_CLAIMS_MAX 64
#define VDEV_WHY_MAX 120

enum vdev_space { VDEV_PORTS, VDEV_MMIO };

struct vdev_claim {
	uint64_t first, last; /* inclusive: a range may end at the top of its space */
	enum vdev_space space;
	unsigned only_size;   /* a register of one access size (see above), else 0 */
	const struct vdev_ops *ops;
	void *dev;
};

/* Devices with deadlines (clock.h). */
#define VDEV_TIMERS_MAX 4

struct vdev_timer {
	uint64_t (*poll)(void *dev, uint64_t now);
	void *dev;
};

/*
 * A lookup's answer, kept for the next access of the same place and size:
 * guests poll a few registers over and over (a UART's status, an EOI).
 * Good while the table is as it was (changes). Written under the bus
 * lock, read without it: seq is odd while it is being written (bus.c,
 * recent_lookup(), says why such a read is safe).
 */
#define VDEV_RECENT 8
struct vdev_recent {
	uint64_t seq;
	uint64_t changes; /* the table's, when this was looked up; 0: empty */
	uint64_t addr;
	enum vdev_space space;
	unsigned size;
	const struct vdev_ops *ops; /* of the claim found; 0: none */
	void *dev;
	uint64_t first, last;
};

struct vdev_bus {
	struct spinlock lock; /* of the table, not of the devices */
	unsigned count;
	struct vdev_claim claims[VDEV_CLAIMS_MAX];
	uint64_t changes; /* each claim added or dropped counts one; read without the lock by recent_lookup() */
	struct vdev_recent recent[VDEV_RECENT]; /* by address */
	unsigned timer_count; /* set up at start, before any vCPU runs: read without the lock */
	struct vdev_timer timers[VDEV_TIMERS_MAX];
	int unclaimed_mmio_logged;
	char refused[VDEV_WHY_MAX]; /* why the last claim was refused */
};

/* An empty table, at each start of the partition. */
void vdev_bus_init(struct vdev_bus *bus);

/* 0, or -1 (logged with the reason) when the range overlaps a claimed one, wraps, is empty, or (MMIO) overlaps the partition's RAM */
int vdev_claim_ports(struct partition *p, uint16_t base, uint16_t count, const struct vdev_ops *ops, void *dev);
int vdev_claim_mmio(struct partition *p, uint64_t gpa, uint64_t size, const struct vdev_ops *ops, void *dev);

/* A register that answers only `size`-byte accesses at port (see above); 0 or -1 as vdev_claim_ports(). */
int vdev_claim_port_register(struct partition *p, uint16_t port, unsigned size, const struct vdev_ops *ops,
			     void *dev);

/* A range of a space; size 0: none. */
struct vdev_range {
	uint64_t first, size;
};

/* Gives back dev's claim that starts at first; 0, or -1 if dev holds none there. */
int vdev_release(struct partition *p, enum vdev_space space, uint64_t first, const void *dev);

/*
 * Where a guest made dev decode (a PCI BAR written, its decoding switched
 * on): under one hold of the bus lock, dev's claim at from.first is given
 * back (if from.size), then `to` claimed (if to.size). 0, or -1 when `to`
 * is refused for a reason of vdev_claim_mmio() or vdev_claim_ports(): the
 * old range stays given back and the reason is copied to why (why_size
 * bytes with its NUL), not logged, since a guest can cause it at will.
 */
int vdev_move(struct partition *p, enum vdev_space space, struct vdev_range from, struct vdev_range to,
	      const struct vdev_ops *ops, void *dev, char *why, unsigned why_size);
/*
 * An ISA device's registers are a byte wide: a wider access reaches
 * consecutive ports, the low byte first, as an ISA bus splits the cycle.
 * For such a device's callbacks, with its lock held around the whole access.
 */
typedef uint8_t vdev_in_fn(void *dev, uint16_t port);
typedef void vdev_out_fn(void *dev, uint16_t port, uint8_t value);

static inline uint64_t vdev_in_bytes(vdev_in_fn *in, void *dev, uint16_t port, unsigned size)
{
	uint64_t value = 0;
	unsigned i;

	for (i = 0; i < size; i++)
		value |= (uint64_t)in(dev, (uint16_t)(port + i)) << (8 * i);
	return value;
}

static inline void vdev_out_bytes(vdev_out_fn *out, void *dev, uint16_t port, unsigned size, uint64_t value)
{
	unsigned i;

	for (i = 0; i < size; i++)
		out(dev, (uint16_t)(port + i), (uint8_t)(value >> (8 * i)));
}

/* A guest access; unclaimed: reads give all-ones of the size, writes vanish */
void vdev_port_access(struct partition *p, uint16_t port, unsigned size, int is_write, uint64_t *value);
void vdev_mmio_access(struct partition *p, uint64_t gpa, unsigned size, int is_write, uint64_t *value);

#endif
