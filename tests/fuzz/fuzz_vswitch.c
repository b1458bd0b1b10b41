/* libFuzzer target: the virtual switches' forwarding table and queues.
 * Two switches of three ports each; each 4 bytes of input send a frame
 * (any destination, spoofed or not, any length), forward with a budget,
 * let time pass, attach or detach a port, or change what a port's device
 * answers; a frame may ask for its checksum to be completed, its field
 * anywhere. Throughout: a frame reaches only ports of its sender's switch,
 * never its sender, only from the sender's own MAC; a unicast frame to a
 * learned address reaches that port alone; a spoofed frame is refused, as is one whose checksum field is
 * outside it or in its Ethernet header, and a receiver's checksum reads inside the frame; each accepted frame is handed
 * back once (or forgotten with its detached port); no queue holds more
 * than VSW_QUEUE_LEN frames; the table never names a port it lacks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vswitch.h"

#define SWITCHES 2
#define PORTS 3
#define FRAME_BYTES 2048

struct slot {
	int busy;
	uint8_t data[FRAME_BYTES];
	struct vsw_seg segs[2];
};

struct dev {
	int sw, port;
	enum vsw_rx_result answer;
	struct slot slots[VSW_QUEUE_LEN];
};

static struct vswitch sws[SWITCHES];
static struct dev devs[SWITCHES][PORTS];
static int attached[SWITCHES][PORTS];
static uint64_t now;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

/* The port whose MAC a frame comes from, among all switches' (they are unique). */
static const struct dev *sender_of(const uint8_t *src)
{
	int s, p;

	for (s = 0; s < SWITCHES; s++)
		for (p = 0; p < PORTS; p++)
			if (memcmp(src, sws[s].ports[p].mac, VSW_MAC_LEN) == 0)
				return &devs[s][p];
	return NULL;
}

static enum vsw_rx_result deliver(void *opaque, const struct vsw_frame *f)
{
	struct dev *to = opaque;
	const struct dev *from;
	uint8_t h[VSW_ETH_HEADER];
	int learned = -1;
	uint32_t w;

	check(vsw_frame_read(f, 0, h, sizeof(h)) == sizeof(h));
	from = sender_of(h + VSW_MAC_LEN);
	check(from && from->sw == to->sw && from->port != to->port);
	/* Called under the switch's lock: its table is read directly. */
	for (w = 0; !(h[0] & 1) && w < VSW_FDB_WAYS * VSW_FDB_BUCKETS; w++) {
		const struct vsw_fdb_entry *e = &sws[to->sw].fdb[0][0] + w;
		if (e->valid && now - e->seen_ns < VSW_AGE_NS && memcmp(e->mac, h, VSW_MAC_LEN) == 0)
			learned = e->port;
	}
	check(learned < 0 || learned == to->port);
	if (f->csum_partial) {
		uint8_t csum[2];
		check(f->csum_start >= VSW_ETH_HEADER && f->csum_start + f->csum_offset + 2u <= f->len);
		vsw_frame_csum(f, csum);
	}
	return to->answer;
}

static void tx_done(void *opaque, void *cookie)
{
	struct dev *d = opaque;
	struct slot *sl = cookie;

	check(sl >= d->slots && sl < d->slots + VSW_QUEUE_LEN && sl->busy);
	sl->busy = 0;
}

static void kick(void *opaque)
{
	const struct dev *d = opaque;

	check(sws[d->sw].lock.locked == 0);
}

static const struct vsw_port_ops ops = { deliver, tx_done, kick };

/* Only the busy marks: a frame's bytes are all written by send() before the
 * switch sees them, and clearing 64 KiB per device per input would cost
 * more than the switch's work. */
static void forget_slots(struct dev *d)
{
	int i;

	for (i = 0; i < VSW_QUEUE_LEN; i++)
		d->slots[i].busy = 0;
}

static void setup(void)
{
	uint8_t mac[VSW_MAC_LEN] = { 2, 0, 0, 0, 0, 0 };
	int s, p;

	now = 0;
	for (s = 0; s < SWITCHES; s++) {
		vsw_init(&sws[s], s ? "b" : "a");
		for (p = 0; p < PORTS; p++) {
			mac[5] = (uint8_t)(s * PORTS + p);
			devs[s][p].sw = s;
			devs[s][p].port = p;
			devs[s][p].answer = VSW_RX_OK;
			forget_slots(&devs[s][p]);
			vsw_attach(&sws[s], vsw_add_port(&sws[s], "p", mac), &ops, &devs[s][p]);
			attached[s][p] = 1;
		}
	}
}

static struct slot *free_slot(struct dev *d)
{
	int i;

	for (i = 0; i < VSW_QUEUE_LEN; i++)
		if (!d->slots[i].busy)
			return &d->slots[i];
	return NULL;
}

/*
 * arg: bits 0-2 the destination, bit 3 spoofed, bits 4-7 the length and split;
 * csum: bit 0 a checksum to complete, the rest where it starts; extra: where its field is from there.
 */
static void send(int s, int p, uint8_t arg, uint8_t extra, uint8_t csum)
{
	static const uint8_t group[VSW_MAC_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct dev *d = &devs[s][p];
	struct slot *sl = free_slot(d), spare;
	uint32_t dst = arg & 7, len = (uint32_t)(arg >> 4) * 100 + extra % 100;
	struct vsw_frame f;
	int r, bad_csum;

	if (!sl)
		sl = &spare; /* the switch must refuse it: its queue is full */
	memset(sl->data, extra, sizeof(sl->data));
	if (dst < SWITCHES * PORTS)
		memcpy(sl->data, sws[dst / PORTS].ports[dst % PORTS].mac, VSW_MAC_LEN);
	else if (dst == 6)
		memcpy(sl->data, group, VSW_MAC_LEN);
	memcpy(sl->data + 6, sws[s].ports[p].mac, VSW_MAC_LEN);
	if (arg & 8)
		sl->data[11] ^= 0x80;
	sl->segs[0] = (struct vsw_seg){ sl->data, len < extra ? len : extra };
	sl->segs[1] = (struct vsw_seg){ sl->data + sl->segs[0].len, len - sl->segs[0].len };
	f = (struct vsw_frame){ .segs = sl->segs, .nsegs = 2, .len = len, .cookie = sl, .csum_partial = csum & 1,
				.csum_start = (uint16_t)((csum >> 1) * 3), .csum_offset = extra };
	bad_csum = f.csum_partial && (f.csum_start < VSW_ETH_HEADER || f.csum_start + f.csum_offset + 2u > len);
	r = vsw_send(&sws[s], &sws[s].ports[p], &f);
	check(!bad_csum || r == VSW_DROP_MALFORMED);
	check(sl != &spare || r == VSW_DROP_QUEUE_FULL || r == VSW_DROP_SPOOFED || r == VSW_DROP_MALFORMED ||
	      r == VSW_DROP_LINK_DOWN);
	check((r == VSW_DROP_SPOOFED) == ((arg & 8) && len >= VSW_ETH_HEADER && !bad_csum));
	if (!r)
		sl->busy = 1;
}

static void toggle(int s, int p)
{
	if (attached[s][p]) {
		vsw_detach(&sws[s], &sws[s].ports[p]);
		forget_slots(&devs[s][p]); /* never handed back */
	} else {
		vsw_attach(&sws[s], &sws[s].ports[p], &ops, &devs[s][p]);
	}
	attached[s][p] = !attached[s][p];
}

static void check_table(void)
{
	int s, w;

	for (s = 0; s < SWITCHES; s++) {
		check(sws[s].lock.locked == 0);
		for (w = 0; w < VSW_FDB_WAYS * VSW_FDB_BUCKETS; w++) {
			const struct vsw_fdb_entry *e = &sws[s].fdb[0][0] + w;
			check(!e->valid || (e->port < PORTS && attached[s][e->port] &&
					    memcmp(e->mac, sws[s].ports[e->port].mac, VSW_MAC_LEN) == 0));
		}
		for (w = 0; w < PORTS; w++)
			check(sws[s].ports[w].count <= VSW_QUEUE_LEN);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i;

	setup();
	for (i = 0; i + 4 <= size; i += 4) {
		int s = (data[i + 1] >> 4) % SWITCHES, p = (data[i + 1] & 0xf) % PORTS;
		switch (data[i] % 5) {
		case 0:
			send(s, p, data[i + 2], data[i + 3], (uint8_t)(data[i] / 5));
			break;
		case 1:
			vsw_forward(&sws[s], now, data[i + 2] % 8);
			break;
		case 2:
			now += (uint64_t)data[i + 2] * 10000000000ull;
			break;
		case 3:
			toggle(s, p);
			break;
		default:
			devs[s][p].answer = (enum vsw_rx_result[]){ VSW_RX_OK, VSW_RX_NO_BUFFER, VSW_RX_TOO_BIG,
								    VSW_RX_DOWN }[data[i + 2] % 4];
		}
		check_table();
	}
	return 0;
}
