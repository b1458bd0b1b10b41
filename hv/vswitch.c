#include "vswitch.h"

#include "lib/str.h"

static const char *const drop_names[VSW_DROP_REASONS] = {
	[VSW_DROP_SPOOFED] = "spoofed",       [VSW_DROP_MALFORMED] = "malformed",
	[VSW_DROP_BAD_CHAIN] = "bad_chain",   [VSW_DROP_QUEUE_FULL] = "queue_full",
	[VSW_DROP_NO_BUFFER] = "no_buffer",   [VSW_DROP_TOO_BIG] = "too_big",
	[VSW_DROP_LINK_DOWN] = "link_down",
};

const char *vsw_drop_name(enum vsw_drop why)
{
	return why > VSW_DROP_NONE && why < VSW_DROP_REASONS ? drop_names[why] : "?";
}

void vsw_init(struct vswitch *sw, const char *name)
{
	__builtin_memset(sw, 0, sizeof(*sw));
	str_copy(sw->name, sizeof(sw->name), name, str_len(name));
}

struct vsw_port *vsw_add_port(struct vswitch *sw, const char *name, const uint8_t mac[VSW_MAC_LEN])
{
	struct vsw_port *port;

	if (sw->nports == VSW_PORTS_MAX)
		return 0;
	port = &sw->ports[sw->nports++];
	str_copy(port->name, sizeof(port->name), name, str_len(name));
	__builtin_memcpy(port->mac, mac, VSW_MAC_LEN);
	return port;
}

static uint32_t port_index(const struct vswitch *sw, const struct vsw_port *port)
{
	return (uint32_t)(port - sw->ports);
}

/* ---- the forwarding table --------------------------------------------- */

static int mac_eq(const uint8_t *a, const uint8_t *b)
{
	return __builtin_memcmp(a, b, VSW_MAC_LEN) == 0;
}

/* FNV-1a: the low bits of a MAC are the ones that differ within a vendor's range. */
static struct vsw_fdb_entry *fdb_bucket(struct vswitch *sw, const uint8_t *mac)
{
	uint32_t h = 2166136261u, i;

	for (i = 0; i < VSW_MAC_LEN; i++)
		h = (h ^ mac[i]) * 16777619u;
	return sw->fdb[h % VSW_FDB_BUCKETS];
}

static int fdb_fresh(const struct vsw_fdb_entry *e, uint64_t now_ns)
{
	return e->valid && now_ns - e->seen_ns < VSW_AGE_NS;
}

/* The entry for mac, else a free or aged-out way, else the one seen longest ago. */
static struct vsw_fdb_entry *fdb_slot(struct vswitch *sw, const uint8_t *mac, uint64_t now_ns)
{
	struct vsw_fdb_entry *b = fdb_bucket(sw, mac), *victim = &b[0];
	uint32_t i;

	for (i = 0; i < VSW_FDB_WAYS; i++)
		if (b[i].valid && mac_eq(b[i].mac, mac))
			return &b[i];
	for (i = 0; i < VSW_FDB_WAYS; i++) {
		if (!fdb_fresh(&b[i], now_ns))
			return &b[i];
		if (b[i].seen_ns < victim->seen_ns)
			victim = &b[i];
	}
	return victim;
}

static void fdb_learn(struct vswitch *sw, const uint8_t *mac, uint32_t port, uint64_t now_ns)
{
	struct vsw_fdb_entry *e = fdb_slot(sw, mac, now_ns);

	__builtin_memcpy(e->mac, mac, VSW_MAC_LEN);
	e->port = (uint8_t)port;
	e->valid = 1;
	e->seen_ns = now_ns;
}

static int fdb_find(struct vswitch *sw, const uint8_t *mac, uint64_t now_ns)
{
	struct vsw_fdb_entry *b = fdb_bucket(sw, mac);
	uint32_t i;

	for (i = 0; i < VSW_FDB_WAYS; i++)
		if (fdb_fresh(&b[i], now_ns) && mac_eq(b[i].mac, mac))
			return b[i].port;
	return -1;
}

static void fdb_forget_port(struct vswitch *sw, uint32_t port)
{
	uint32_t b, w;

	for (b = 0; b < VSW_FDB_BUCKETS; b++)
		for (w = 0; w < VSW_FDB_WAYS; w++)
			if (sw->fdb[b][w].port == port)
				sw->fdb[b][w].valid = 0;
}

int vsw_lookup(struct vswitch *sw, const uint8_t mac[VSW_MAC_LEN], uint64_t now_ns)
{
	int port;

	spin_lock(&sw->lock);
	port = fdb_find(sw, mac, now_ns);
	spin_unlock(&sw->lock);
	return port;
}

/* ---- ports ------------------------------------------------------------- */

static void drop_queue(struct vsw_port *port)
{
	port->head = 0;
	port->count = 0;
	port->deficit = 0;
}

void vsw_attach(struct vswitch *sw, struct vsw_port *port, const struct vsw_port_ops *ops, void *dev)
{
	spin_lock(&sw->lock);
	drop_queue(port);
	port->ops = ops;
	port->dev = dev;
	spin_unlock(&sw->lock);
}

/* Its queued frames point into memory that is about to be freed: they are forgotten, not completed. */
void vsw_detach(struct vswitch *sw, struct vsw_port *port)
{
	spin_lock(&sw->lock);
	drop_queue(port);
	port->ops = 0;
	port->dev = 0;
	fdb_forget_port(sw, port_index(sw, port));
	spin_unlock(&sw->lock);
}

void vsw_count_drop(struct vswitch *sw, struct vsw_port *port, enum vsw_drop why)
{
	spin_lock(&sw->lock);
	port->stats.drops[why]++;
	spin_unlock(&sw->lock);
}

void vsw_port_counters(struct vswitch *sw, const struct vsw_port *port, struct vsw_counters *out)
{
	spin_lock(&sw->lock);
	*out = port->stats;
	spin_unlock(&sw->lock);
}

uint32_t vsw_frame_read(const struct vsw_frame *f, uint32_t off, uint8_t *buf, uint32_t n)
{
	uint32_t i, done = 0;

	for (i = 0; i < f->nsegs && done < n; i++) {
		const struct vsw_seg *s = &f->segs[i];
		uint32_t take;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		take = s->len - off < n - done ? s->len - off : n - done;
		__builtin_memcpy(buf + done, s->data + off, take);
		done += take;
		off = 0;
	}
	return done;
}

/* The sum of the bytes from off to the end as big-endian 16-bit words (RFC 1071), unfolded. */
static uint64_t frame_sum(const struct vsw_frame *f, uint32_t off)
{
	uint64_t sum = 0;
	uint32_t i, at = 0; /* at: bytes summed so far; an odd count puts the next byte low */

	for (i = 0; i < f->nsegs; i++) {
		const struct vsw_seg *s = &f->segs[i];
		uint32_t b = off < s->len ? off : s->len;
		off -= b;
		if (at & 1 && b < s->len) {
			sum += s->data[b++];
			at++;
		}
		for (; b + 1 < s->len; b += 2, at += 2)
			sum += (uint32_t)s->data[b] << 8 | s->data[b + 1];
		if (b < s->len) {
			sum += (uint32_t)s->data[b] << 8;
			at++;
		}
	}
	return sum;
}

void vsw_frame_csum(const struct vsw_frame *f, uint8_t out[2])
{
	uint64_t sum = frame_sum(f, f->csum_start);
	uint16_t csum;

	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	csum = (uint16_t)~sum;
	csum = csum ? csum : 0xffff;
	out[0] = (uint8_t)(csum >> 8);
	out[1] = (uint8_t)csum;
}

/* A checksum to complete lies in the frame, past its Ethernet header (no overflow: 16-bit terms). */
static int csum_field_inside(const struct vsw_frame *f)
{
	return !f->csum_partial ||
	       (f->csum_start >= VSW_ETH_HEADER && (uint32_t)f->csum_start + f->csum_offset + 2 <= f->len);
}

/* Why the frame cannot enter the switch, or VSW_DROP_NONE. */
static enum vsw_drop refuse_frame(const struct vsw_port *port, const struct vsw_frame *f)
{
	uint8_t src[VSW_MAC_LEN];

	if (f->len < VSW_ETH_HEADER || f->len > VSW_FRAME_MAX || !csum_field_inside(f) ||
	    vsw_frame_read(f, VSW_MAC_LEN, src, VSW_MAC_LEN) != VSW_MAC_LEN)
		return VSW_DROP_MALFORMED;
	if (!mac_eq(src, port->mac))
		return VSW_DROP_SPOOFED;
	if (!port->ops)
		return VSW_DROP_LINK_DOWN;
	if (port->count == VSW_QUEUE_LEN)
		return VSW_DROP_QUEUE_FULL;
	return VSW_DROP_NONE;
}

enum vsw_drop vsw_send(struct vswitch *sw, struct vsw_port *port, const struct vsw_frame *f)
{
	enum vsw_drop why;

	spin_lock(&sw->lock);
	why = refuse_frame(port, f);
	if (why != VSW_DROP_NONE)
		port->stats.drops[why]++;
	else
		port->queue[(port->head + port->count++) % VSW_QUEUE_LEN] = *f;
	spin_unlock(&sw->lock);
	return why;
}

/* ---- forwarding -------------------------------------------------------- */

/* Ports whose devices are owed a kick, as a bit per port index. */
typedef uint32_t vsw_touched;
_Static_assert(VSW_PORTS_MAX <= 32, "a bit per port");

static void deliver(struct vswitch *sw, struct vsw_port *to, const struct vsw_frame *f, vsw_touched *touched)
{
	enum vsw_rx_result r = to->ops ? to->ops->deliver(to->dev, f) : VSW_RX_DOWN;

	if (to->ops)
		*touched |= 1u << port_index(sw, to);

	if (r == VSW_RX_OK) {
		to->stats.rx_frames++;
		to->stats.rx_bytes += f->len;
	} else {
		to->stats.drops[r]++;
	}
}

/* Learns the source, then unicasts to a learned port or floods to the others. */
static void switch_frame(struct vswitch *sw, uint32_t from, const struct vsw_frame *f, uint64_t now_ns,
			 vsw_touched *touched)
{
	uint8_t dst[VSW_MAC_LEN];
	uint32_t i;
	int to = -1;

	vsw_frame_read(f, 0, dst, VSW_MAC_LEN); /* refuse_frame saw a whole header */
	fdb_learn(sw, sw->ports[from].mac, from, now_ns);
	sw->ports[from].stats.tx_frames++;
	sw->ports[from].stats.tx_bytes += f->len;
	if (!(dst[0] & 1)) /* IEEE 802-2014 8.2: the I/G bit marks group addresses */
		to = fdb_find(sw, dst, now_ns);
	if (to >= 0) {
		if ((uint32_t)to != from)
			deliver(sw, &sw->ports[to], f, touched);
		return;
	}
	for (i = 0; i < sw->nports; i++)
		if (i != from)
			deliver(sw, &sw->ports[i], f, touched);
}

static struct vsw_frame dequeue(struct vsw_port *port)
{
	struct vsw_frame f = port->queue[port->head];

	port->head = (port->head + 1) % VSW_QUEUE_LEN;
	port->count--;
	port->deficit -= f.len < port->deficit ? f.len : port->deficit;
	if (!port->count)
		port->deficit = 0; /* an idle port saves no credit (deficit round robin) */
	return f;
}

/*
 * One port's turn: a quantum more credit, then frames while it lasts.
 * Returns 1 when the turn is over, 0 when the budget ran out in the middle
 * of it (the next call resumes it without new credit).
 */
static int serve_port(struct vswitch *sw, uint32_t i, uint64_t now_ns, uint32_t budget, uint32_t *done,
		      vsw_touched *touched)
{
	struct vsw_port *port = &sw->ports[i];

	if (!sw->mid_turn) {
		if (!port->count)
			return 1;
		port->deficit += VSW_QUANTUM;
	}
	sw->mid_turn = 0;
	while (port->count && port->queue[port->head].len <= port->deficit) {
		struct vsw_frame f;
		if (*done == budget) {
			sw->mid_turn = 1;
			return 0;
		}
		f = dequeue(port);
		switch_frame(sw, i, &f, now_ns, touched);
		port->ops->tx_done(port->dev, f.cookie);
		*touched |= 1u << i;
		(*done)++;
	}
	return 1;
}

static int any_queued(const struct vswitch *sw)
{
	uint32_t i;

	for (i = 0; i < sw->nports; i++)
		if (sw->ports[i].count)
			return 1;
	return 0;
}

/*
 * A device is detached and its partition's memory freed only after its
 * partition stopped; a kick that comes after that raises an interrupt no
 * vCPU takes, and the device's state stays in place until its next start.
 */
static void kick_touched(const struct vsw_port_ops **ops, void **devs, vsw_touched touched)
{
	uint32_t i;

	for (i = 0; touched; i++, touched >>= 1)
		if (touched & 1)
			ops[i]->kick(devs[i]);
}

uint32_t vsw_forward(struct vswitch *sw, uint64_t now_ns, uint32_t budget)
{
	const struct vsw_port_ops *ops[VSW_PORTS_MAX];
	void *devs[VSW_PORTS_MAX];
	vsw_touched touched = 0;
	uint32_t done = 0, i;

	spin_lock(&sw->lock);
	while (done < budget && any_queued(sw)) {
		if (serve_port(sw, sw->next, now_ns, budget, &done, &touched))
			sw->next = (sw->next + 1) % sw->nports;
	}
	for (i = 0; i < sw->nports; i++) {
		ops[i] = sw->ports[i].ops;
		devs[i] = sw->ports[i].dev;
	}
	spin_unlock(&sw->lock);
	kick_touched(ops, devs, touched);
	return done;
}
