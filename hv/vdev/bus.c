/* The claim table of a partition's devices and the dispatch of guest accesses; the rules are in bus.h. */
#include "bus.h"

#include <stdarg.h>

#include "clock.h"
#include "lib/fmt.h"
#include "lib/str.h"
#include "log.h"
#include "partition.h"
#include "platform.h"

#define PORT_LAST 0xffffull /* 64 Ki ports (SDM Vol. 1, "I/O Port Addressing") */

void vdev_bus_init(struct vdev_bus *bus)
{
	*bus = (struct vdev_bus){ .changes = 1 }; /* no recent lookup is of it yet */
}

static const char *space_name(enum vdev_space space)
{
	return space == VDEV_PORTS ? "ports" : "MMIO";
}

/* With the bus lock held: keeps why a claim is refused in bus.refused; -1. */
static int refuse(struct partition *p, const char *f, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct partition *p, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	fmt_v(p->bus.refused, sizeof(p->bus.refused), f, ap);
	va_end(ap);
	return -1;
}

/* A register of one access size may lie over ordinary claims, never over another register (bus.h). */
static const struct vdev_claim *overlapping(const struct vdev_bus *bus, enum vdev_space space, uint64_t first,
					    uint64_t last, unsigned only_size)
{
	unsigned i;

	for (i = 0; i < bus->count; i++) {
		const struct vdev_claim *c = &bus->claims[i];

		if (c->space == space && !c->only_size == !only_size && first <= c->last && c->first <= last)
			return c;
	}
	return 0;
}

/* Whether [first, last] meets either part of the partition's RAM (platform.h). */
static int overlaps_ram(uint64_t ram_size, uint64_t first, uint64_t last)
{
	uint64_t high = platform_high_ram(ram_size);

	return first < platform_low_ram(ram_size) ||
	       (high && last >= PLATFORM_HIGH_RAM_BASE && first <= PLATFORM_HIGH_RAM_BASE + high - 1);
}

static uint64_t top_of(enum vdev_space space)
{
	return space == VDEV_PORTS ? PORT_LAST : ~0ull;
}

/* With the bus lock held: one change more of the table, which recent_lookup() reads without the lock. */
static void count_change(struct vdev_bus *bus)
{
	__atomic_store_n(&bus->changes, bus->changes + 1, __ATOMIC_RELAXED);
}

/* With the bus lock held: 0 and the range added, or -1 and why not kept in bus.refused. */
static int add(struct partition *p, enum vdev_space space, uint64_t first, uint64_t size, unsigned only_size,
	       const struct vdev_ops *ops, void *dev)
{
	struct vdev_bus *bus = &p->bus;
	uint64_t last = first + size - 1;
	const char *name = space_name(space);
	const struct vdev_claim *other;

	if (size == 0)
		return refuse(p, "%s at 0x%llx: an empty range", name, (unsigned long long)first);
	if (last < first || last > top_of(space))
		return refuse(p, "%s 0x%llx + 0x%llx: runs past the top of the address space", name,
			      (unsigned long long)first, (unsigned long long)size);
	if (space == VDEV_MMIO && overlaps_ram(p->ram_size, first, last))
		return refuse(p, "MMIO 0x%llx-0x%llx: overlaps the partition's RAM (up to 0x%llx)",
			      (unsigned long long)first, (unsigned long long)last,
			      (unsigned long long)platform_ram_top(p->ram_size));
	other = overlapping(bus, space, first, last, only_size);
	if (other)
		return refuse(p, "%s 0x%llx-0x%llx: overlaps the claimed 0x%llx-0x%llx", name,
			      (unsigned long long)first, (unsigned long long)last, (unsigned long long)other->first,
			      (unsigned long long)other->last);
	if (bus->count == VDEV_CLAIMS_MAX)
		return refuse(p, "%s 0x%llx-0x%llx: the table is full (%u claims)", name, (unsigned long long)first,
			      (unsigned long long)last, VDEV_CLAIMS_MAX);
	count_change(bus);
	bus->claims[bus->count++] = (struct vdev_claim){ .first = first, .last = last, .space = space,
							 .only_size = only_size, .ops = ops, .dev = dev };
	return 0;
}

/* The partition's own devices, at its start: a refusal is the hypervisor's to report. */
static int claim(struct partition *p, enum vdev_space space, uint64_t first, uint64_t size, unsigned only_size,
		 const struct vdev_ops *ops, void *dev)
{
	int r;

	spin_lock(&p->bus.lock);
	r = add(p, space, first, size, only_size, ops, dev);
	if (r)
		log_error("partition %s: device range refused: %s", p->cfg->name, p->bus.refused);
	spin_unlock(&p->bus.lock);
	return r;
}

int vdev_claim_ports(struct partition *p, uint16_t base, uint16_t count, const struct vdev_ops *ops, void *dev)
{
	return claim(p, VDEV_PORTS, base, count, 0, ops, dev);
}

int vdev_claim_port_register(struct partition *p, uint16_t port, unsigned size, const struct vdev_ops *ops,
			     void *dev)
{
	return claim(p, VDEV_PORTS, port, size, size, ops, dev);
}

int vdev_claim_mmio(struct partition *p, uint64_t gpa, uint64_t size, const struct vdev_ops *ops, void *dev)
{
	return claim(p, VDEV_MMIO, gpa, size, 0, ops, dev);
}

/* With the bus lock held: 0 and dev's claim at first gone, or -1 if it holds none there. */
static int drop(struct vdev_bus *bus, enum vdev_space space, uint64_t first, const void *dev)
{
	unsigned i;

	for (i = 0; i < bus->count; i++) {
		struct vdev_claim *c = &bus->claims[i];

		if (c->space == space && c->first == first && c->dev == dev) {
			*c = bus->claims[--bus->count]; /* the table has no order */
			count_change(bus);
			return 0;
		}
	}
	return -1;
}

int vdev_release(struct partition *p, enum vdev_space space, uint64_t first, const void *dev)
{
	int r;

	spin_lock(&p->bus.lock);
	r = drop(&p->bus, space, first, dev);
	spin_unlock(&p->bus.lock);
	return r;
}

int vdev_move(struct partition *p, enum vdev_space space, struct vdev_range from, struct vdev_range to,
	      const struct vdev_ops *ops, void *dev, char *why, unsigned why_size)
{
	int r = 0;

	spin_lock(&p->bus.lock);
	if (from.size)
		drop(&p->bus, space, from.first, dev);
	if (to.size)
		r = add(p, space, to.first, to.size, 0, ops, dev);
	if (r)
		str_copy(why, why_size, p->bus.refused, str_len(p->bus.refused));
	spin_unlock(&p->bus.lock);
	return r;
}

/* With the bus lock held: the claim an access of size bytes at addr reaches first, as lookup() says; 0 if none. */
static const struct vdev_claim *scan(const struct vdev_bus *bus, enum vdev_space space, uint64_t addr,
				     unsigned size)
{
	const struct vdev_claim *found = 0;
	unsigned i;

	for (i = 0; i < bus->count; i++) {
		const struct vdev_claim *c = &bus->claims[i];

		if (c->space != space)
			continue;
		if (c->only_size && c->first == addr && c->only_size == size)
			return c;
		if (!c->only_size && c->first <= addr && addr <= c->last)
			found = c;
	}
	return found;
}

/* What an access needs of the claim it reaches: ops 0 when there is none. */
struct target {
	const struct vdev_ops *ops;
	void *dev;
	uint64_t first, last;
};

#define RELAXED_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define RELAXED_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* With the bus lock held, the only writers': r's seq odd around the new answer, as recent_lookup() reads it. */
static void remember(struct vdev_bus *bus, struct vdev_recent *r, enum vdev_space space, uint64_t addr,
		     unsigned size, const struct target *t)
{
	uint64_t seq = r->seq;

	RELAXED_STORE(r->seq, seq + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE); /* the odd seq seen before any field it guards */
	RELAXED_STORE(r->changes, bus->changes);
	RELAXED_STORE(r->addr, addr);
	RELAXED_STORE(r->space, space);
	RELAXED_STORE(r->size, size);
	RELAXED_STORE(r->ops, t->ops);
	RELAXED_STORE(r->dev, t->dev);
	RELAXED_STORE(r->first, t->first);
	RELAXED_STORE(r->last, t->last);
	__atomic_store_n(&r->seq, seq + 2, __ATOMIC_RELEASE);
}

/* The table's answer, under the lock, kept in r for the next access of the same place and size. */
static __attribute__((noinline)) void table_lookup(struct vdev_bus *bus, struct vdev_recent *r,
						   enum vdev_space space, uint64_t addr, unsigned size,
						   struct target *t)
{
	const struct vdev_claim *c;

	spin_lock(&bus->lock);
	c = scan(bus, space, addr, size);
	*t = c ? (struct target){ c->ops, c->dev, c->first, c->last } : (struct target){ 0 };
	remember(bus, r, space, addr, size, t);
	spin_unlock(&bus->lock);
}

/*
 * r's answer for an access of size bytes at addr, without the bus lock:
 * 1, or 0 when r holds another place's or is out of date.
 *
 * Why this is safe. r is written only under the bus lock (remember()),
 * its seq odd meanwhile; a read that finds seq even and the same before
 * and after its fields (the fence keeps the field loads before the
 * second) read one whole answer, never parts of two (the seqlock of
 * Linux's seqcount_t). That answer is the table's at change count
 * r->changes. The count is raised, under the lock, by every change of
 * the table (add(), drop()) before that change's hold of the lock ends,
 * and a count is never used twice in one start of the partition
 * (vdev_bus_init() empties r too). So when bus->changes still equals
 * r->changes, no change has been made since the answer was the table's:
 * the answer is what a lookup under the lock would give now, and the
 * access takes effect, like a locked lookup, at that load. A change made
 * before this access began (its unlock ordered before the access, as a
 * vCPU's own BAR write before its next access, or another vCPU's that
 * the guest waited for) raised the count first, so this load sees the
 * new count and the table is read under the lock instead: a claim
 * released or moved is never reached after its release is done. A
 * change still under way may be passed by, as a locked lookup taken just
 * before it would have (bus.h: the device outlives it).
 */
static inline __attribute__((always_inline)) int recent_lookup(const struct vdev_bus *bus,
							       const struct vdev_recent *r, enum vdev_space space,
							       uint64_t addr, unsigned size, struct target *t)
{
	uint64_t seq = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
	uint64_t changes = RELAXED_LOAD(r->changes);

	if (RELAXED_LOAD(r->addr) != addr || RELAXED_LOAD(r->space) != space || RELAXED_LOAD(r->size) != size)
		return 0;
	*t = (struct target){ RELAXED_LOAD(r->ops), RELAXED_LOAD(r->dev), RELAXED_LOAD(r->first),
			      RELAXED_LOAD(r->last) };
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return !(seq & 1) && RELAXED_LOAD(r->seq) == seq &&
	       changes == __atomic_load_n(&bus->changes, __ATOMIC_ACQUIRE);
}

/*
 * The claim an access of size bytes at addr reaches first (see bus.h): a
 * register of exactly that place and size, else the ordinary claim
 * holding addr; 0 (t->ops 0) when there is none, else 1. A recent answer
 * for the same place and size if it is still good, else the table's.
 */
static inline __attribute__((always_inline)) int lookup(struct vdev_bus *bus, enum vdev_space space,
							 uint64_t addr, unsigned size, struct target *t)
{
	struct vdev_recent *r = &bus->recent[addr % VDEV_RECENT];

	if (!recent_lookup(bus, r, space, addr, size, t))
		table_lookup(bus, r, space, addr, size, t);
	return t->ops != 0;
}

static uint64_t all_ones(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static inline __attribute__((always_inline)) void call(const struct target *t, uint64_t addr, unsigned size,
						       int is_write, uint64_t *value)
{
	if (is_write) {
		t->ops->write(t->dev, addr - t->first, size, *value & all_ones(size));
		return;
	}
	*value = all_ones(size);
	t->ops->read(t->dev, addr - t->first, size, value);
	*value &= all_ones(size);
}

/* An access no one claim holds whole, byte by byte (bus.h); returns how many of its bytes nobody claimed. */
static __attribute__((noinline)) unsigned split(struct vdev_bus *bus, enum vdev_space space, uint64_t addr,
						unsigned size, int is_write, uint64_t *value)
{
	uint64_t assembled = 0;
	struct target t;
	unsigned i, unclaimed = 0;

	for (i = 0; i < size; i++) {
		uint64_t byte = *value >> (8 * i);

		/* A byte past the top of the space (the address wrapped) is nobody's. */
		if (addr + i >= addr && lookup(bus, space, addr + i, 1, &t)) {
			call(&t, addr + i, 1, is_write, &byte);
		} else {
			byte = 0xff;
			unclaimed++;
		}
		assembled |= (byte & 0xff) << (8 * i);
	}
	if (!is_write)
		*value = assembled;
	return unclaimed;
}

/*
 * An access that a recent answer still good (recent_lookup()) sends whole
 * to one claim, made: 1; else 0, and nothing done. Inlined in the two
 * entry points, so that the common case keeps the claim in registers and
 * calls nothing but the device.
 */
static inline __attribute__((always_inline)) int recent_access(struct vdev_bus *bus, enum vdev_space space,
							       uint64_t addr, unsigned size, int is_write,
							       uint64_t *value)
{
	struct target t;

	if (!recent_lookup(bus, &bus->recent[addr % VDEV_RECENT], space, addr, size, &t) || !t.ops ||
	    size - 1 > t.last - addr)
		return 0;
	call(&t, addr, size, is_write, value);
	return 1;
}

/* Dispatches an access as bus.h says; returns how many of its bytes nobody claimed. */
static __attribute__((noinline)) unsigned dispatch(struct vdev_bus *bus, enum vdev_space space, uint64_t addr,
						   unsigned size, int is_write, uint64_t *value)
{
	struct target t;

	if (lookup(bus, space, addr, size, &t) && size - 1 <= t.last - addr) {
		call(&t, addr, size, is_write, value);
		return 0;
	}
	return split(bus, space, addr, size, is_write, value);
}

void vdev_port_access(struct partition *p, uint16_t port, unsigned size, int is_write, uint64_t *value)
{
	if (!recent_access(&p->bus, VDEV_PORTS, port, size, is_write, value))
		dispatch(&p->bus, VDEV_PORTS, port, size, is_write, value);
}

/* An MMIO access recent_access() did not make; unclaimed bytes are logged, once per start. */
static __attribute__((noinline)) void mmio_dispatch(struct partition *p, uint64_t gpa, unsigned size, int is_write,
						    uint64_t *value)
{
	if (dispatch(&p->bus, VDEV_MMIO, gpa, size, is_write, value) == 0 ||
	    __atomic_exchange_n(&p->bus.unclaimed_mmio_logged, 1, __ATOMIC_RELAXED))
		return;
	partition_log_guest(p, LOG_WARN,
			    "%u-byte %s of unclaimed MMIO at 0x%llx: reads all-ones, writes vanish (said once)", size,
			    is_write ? "write" : "read", (unsigned long long)gpa);
}

void vdev_mmio_access(struct partition *p, uint64_t gpa, unsigned size, int is_write, uint64_t *value)
{
	if (!recent_access(&p->bus, VDEV_MMIO, gpa, size, is_write, value))
		mmio_dispatch(p, gpa, size, is_write, value);
}

int vdev_add_timer(struct partition *p, vdev_poll_fn *poll, void *dev)
{
	struct vdev_bus *bus = &p->bus;

	if (bus->timer_count == VDEV_TIMERS_MAX) {
		log_error("partition %s: device timer refused: the table is full (%u timers)", p->cfg->name,
			  VDEV_TIMERS_MAX);
		return -1;
	}
	bus->timers[bus->timer_count++] = (struct vdev_timer){ poll, dev };
	return 0;
}

uint64_t vdev_poll_timers(struct partition *p, uint64_t now)
{
	uint64_t next = 0;
	unsigned i;

	for (i = 0; i < p->bus.timer_count; i++) {
		uint64_t t = p->bus.timers[i].poll(p->bus.timers[i].dev, now);
		if (t && (!next || t < next))
			next = t;
	}
	return next;
}
