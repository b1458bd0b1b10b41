/*
 * The virtual switch (hv/vswitch.c): learning, aging, unicast to the
 * learned port, flooding to the other ports of the same switch only, the
 * fixed source MAC, bounded queues with their drop counters, and the
 * fairness of its round robin against a flooding port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vswitch.h"

#define DEVS 6
#define GOT_MAX 512
#define SEC 1000000000ull

/* A fake device per port: what it received and what it was told is sent. */
struct fake_dev {
	int id;
	enum vsw_rx_result answer;
	uint32_t got, done, kicks;
	int from[GOT_MAX]; /* the sending device's id, read from the frame's payload */
};

static struct vswitch sw_a, sw_b;
static struct fake_dev devs[DEVS];
static struct vsw_port *ports[DEVS];
static int done_order[GOT_MAX];
static uint32_t done_count;

static enum vsw_rx_result fake_deliver(void *dev, const struct vsw_frame *f)
{
	struct fake_dev *d = dev;
	uint8_t id = 0xff;

	if (d->answer != VSW_RX_OK)
		return d->answer;
	assert_int_equal(vsw_frame_read(f, VSW_ETH_HEADER, &id, 1), 1);
	if (d->got < GOT_MAX)
		d->from[d->got] = id;
	d->got++;
	return VSW_RX_OK;
}

static void fake_tx_done(void *dev, void *cookie)
{
	struct fake_dev *d = dev;

	assert_ptr_equal(cookie, d);
	d->done++;
	if (done_count < GOT_MAX)
		done_order[done_count++] = d->id;
}

static struct vswitch *sw_of(int i);

/* Interrupts are raised with the switch's lock dropped. */
static void fake_kick(void *dev)
{
	struct fake_dev *d = dev;

	assert_int_equal(sw_of(d->id)->lock.locked, 0);
	d->kicks++;
}

static const struct vsw_port_ops fake_ops = { fake_deliver, fake_tx_done, fake_kick };

static void mac_of(int i, uint8_t mac[VSW_MAC_LEN])
{
	static const uint8_t base[VSW_MAC_LEN] = { 0x02, 0, 0, 0, 0, 0 };

	memcpy(mac, base, VSW_MAC_LEN);
	mac[5] = (uint8_t)(0x10 + i);
}

/* Ports 0-3 on switch a, 4-5 on switch b; all attached. */
static int setup(void **state)
{
	uint8_t mac[VSW_MAC_LEN];
	char name[16];
	int i;

	(void)state;
	vsw_init(&sw_a, "a");
	vsw_init(&sw_b, "b");
	done_count = 0;
	for (i = 0; i < DEVS; i++) {
		struct vswitch *sw = i < 4 ? &sw_a : &sw_b;
		mac_of(i, mac);
		snprintf(name, sizeof(name), "p.%d", i);
		devs[i] = (struct fake_dev){ .id = i, .answer = VSW_RX_OK };
		ports[i] = vsw_add_port(sw, name, mac);
		assert_non_null(ports[i]);
		vsw_attach(sw, ports[i], &fake_ops, &devs[i]);
	}
	return 0;
}

static struct vswitch *sw_of(int i)
{
	return i < 4 ? &sw_a : &sw_b;
}

/* A frame in two segments (header apart from payload, as a virtio-net driver may post it). */
struct test_frame {
	uint8_t header[VSW_ETH_HEADER];
	uint8_t payload[VSW_QUANTUM];
	struct vsw_seg segs[2];
	struct vsw_frame f;
};

static void build(struct test_frame *t, int from, const uint8_t dst[VSW_MAC_LEN], uint32_t payload)
{
	memcpy(t->header, dst, VSW_MAC_LEN);
	mac_of(from, t->header + VSW_MAC_LEN);
	t->header[12] = 0x08;
	t->header[13] = 0x00;
	memset(t->payload, from, sizeof(t->payload));
	t->segs[0] = (struct vsw_seg){ t->header, VSW_ETH_HEADER };
	t->segs[1] = (struct vsw_seg){ t->payload, payload };
	t->f = (struct vsw_frame){ .segs = t->segs, .nsegs = 2, .len = VSW_ETH_HEADER + payload, .cookie = &devs[from] };
}

static const uint8_t broadcast[VSW_MAC_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Sends one frame from port `from` to dst and forwards it at time now. */
static int send_at(int from, const uint8_t dst[VSW_MAC_LEN], uint64_t now)
{
	struct test_frame t;
	int r;

	build(&t, from, dst, 8);
	r = vsw_send(sw_of(from), ports[from], &t.f);
	vsw_forward(sw_of(from), now, 100);
	return r;
}

static int send_to_port(int from, int to, uint64_t now)
{
	uint8_t dst[VSW_MAC_LEN];

	mac_of(to, dst);
	return send_at(from, dst, now);
}

static struct vsw_counters counters(int i)
{
	struct vsw_counters c;

	vsw_port_counters(sw_of(i), ports[i], &c);
	return c;
}

static void unknown_unicast_floods_to_the_other_ports_of_its_switch(void **state)
{
	(void)state;
	assert_int_equal(send_to_port(0, 2, 0), 0);
	assert_int_equal(devs[0].got, 0); /* never back to the sender */
	assert_int_equal(devs[1].got, 1);
	assert_int_equal(devs[2].got, 1);
	assert_int_equal(devs[3].got, 1);
	assert_int_equal(devs[4].got + devs[5].got, 0); /* never to another switch */
	assert_int_equal(devs[0].done, 1);
	assert_int_equal(devs[0].kicks, 1); /* for its tx_done */
	assert_int_equal(devs[1].kicks, 1);
	assert_int_equal(devs[4].kicks, 0);
}

static void learned_unicast_goes_to_its_port_only(void **state)
{
	(void)state;
	send_to_port(2, 0, 0); /* port 2 learned */
	assert_int_equal(vsw_lookup(&sw_a, ports[2]->mac, 1), 2);
	send_to_port(0, 2, 1);
	assert_int_equal(devs[2].got, 1);
	assert_int_equal(devs[1].got, 1); /* port 2's flood only */
	assert_int_equal(devs[3].got, 1);
	assert_int_equal(devs[2].from[0], 0);
	assert_int_equal(counters(0).tx_frames, 1);
	assert_int_equal(counters(0).tx_bytes, VSW_ETH_HEADER + 8);
	assert_int_equal(counters(2).rx_frames, 1);
	assert_int_equal(counters(2).rx_bytes, VSW_ETH_HEADER + 8);
}

static void broadcast_and_multicast_flood_even_when_learned(void **state)
{
	static const uint8_t multicast[VSW_MAC_LEN] = { 0x33, 0x33, 0, 0, 0, 1 };

	(void)state;
	send_to_port(1, 0, 0);
	send_at(0, broadcast, 0);
	send_at(0, multicast, 0);
	assert_int_equal(devs[1].got, 2);
	assert_int_equal(devs[2].got, 3);
	assert_int_equal(devs[3].got, 3);
	assert_int_equal(devs[4].got + devs[5].got, 0);
}

static void switches_are_isolated_even_for_a_known_address(void **state)
{
	(void)state;
	send_to_port(0, 1, 0);           /* switch a learns port 0 */
	send_to_port(4, 0, 0);           /* to port 0's MAC from switch b */
	assert_int_equal(devs[0].got, 0);
	assert_int_equal(devs[5].got, 1); /* flooded on b: a's table is not b's */
	assert_int_equal(vsw_lookup(&sw_b, ports[0]->mac, 0), -1);
}

static void entries_age_out_after_300_seconds(void **state)
{
	(void)state;
	send_to_port(2, 0, 10 * SEC);
	assert_int_equal(vsw_lookup(&sw_a, ports[2]->mac, 10 * SEC + VSW_AGE_NS - 1), 2);
	assert_int_equal(vsw_lookup(&sw_a, ports[2]->mac, 10 * SEC + VSW_AGE_NS), -1);
	send_to_port(0, 2, 10 * SEC + VSW_AGE_NS);
	assert_int_equal(devs[1].got, 2); /* flooded again */
	send_to_port(2, 0, 10 * SEC + VSW_AGE_NS); /* relearned, with a new age */
	assert_int_equal(vsw_lookup(&sw_a, ports[2]->mac, 10 * SEC + 2 * VSW_AGE_NS - 1), 2);
}

static void a_detached_port_is_forgotten_and_down(void **state)
{
	(void)state;
	send_to_port(2, 0, 0);
	vsw_detach(&sw_a, ports[2]);
	assert_int_equal(vsw_lookup(&sw_a, ports[2]->mac, 0), -1);
	send_to_port(0, 2, 0);
	assert_int_equal(devs[2].got, 0);
	assert_int_equal(counters(2).drops[VSW_DROP_LINK_DOWN], 1);
	assert_int_equal(send_to_port(2, 0, 0), VSW_DROP_LINK_DOWN);
}

static void a_spoofed_source_is_dropped_and_counted(void **state)
{
	struct test_frame t;
	uint8_t dst[VSW_MAC_LEN];

	(void)state;
	mac_of(1, dst);
	build(&t, 0, dst, 8);
	t.header[VSW_MAC_LEN + 5] = 0x11; /* port 1's address, from port 0 */
	assert_int_equal(vsw_send(&sw_a, ports[0], &t.f), VSW_DROP_SPOOFED);
	vsw_forward(&sw_a, 0, 100);
	assert_int_equal(devs[1].got, 0);
	assert_int_equal(devs[0].done, 0); /* refused at once: no tx_done */
	assert_int_equal(counters(0).drops[VSW_DROP_SPOOFED], 1);
	assert_int_equal(counters(0).tx_frames, 0);
	assert_int_equal(vsw_lookup(&sw_a, ports[1]->mac, 0), -1); /* nothing learned from it */
}

static void malformed_frames_are_refused(void **state)
{
	struct test_frame t;
	struct vsw_seg one;

	(void)state;
	build(&t, 0, broadcast, 0);
	t.f.len = VSW_ETH_HEADER - 1;
	t.segs[0].len = VSW_ETH_HEADER - 1;
	assert_int_equal(vsw_send(&sw_a, ports[0], &t.f), VSW_DROP_MALFORMED);
	build(&t, 0, broadcast, 0);
	t.f.len = VSW_FRAME_MAX + 1;
	assert_int_equal(vsw_send(&sw_a, ports[0], &t.f), VSW_DROP_MALFORMED);
	/* A length that its segments do not hold. */
	build(&t, 0, broadcast, 0);
	one = (struct vsw_seg){ t.header, 8 };
	t.f.segs = &one;
	t.f.nsegs = 1;
	assert_int_equal(vsw_send(&sw_a, ports[0], &t.f), VSW_DROP_MALFORMED);
	/* Zero segments. */
	t.f.nsegs = 0;
	assert_int_equal(vsw_send(&sw_a, ports[0], &t.f), VSW_DROP_MALFORMED);
	assert_int_equal(counters(0).drops[VSW_DROP_MALFORMED], 4);
	vsw_forward(&sw_a, 0, 100);
	assert_int_equal(devs[1].got, 0);
}

/* A checksum field that is not inside the frame, or lies in its addresses, never enters the switch. */
static void a_checksum_field_outside_the_frame_or_in_its_header_is_refused(void **state)
{
	static const struct { uint16_t start, offset; enum vsw_drop why; } cases[] = {
		{ VSW_ETH_HEADER - 1, 0, VSW_DROP_MALFORMED },      /* its first byte in the EtherType */
		{ 0, VSW_MAC_LEN, VSW_DROP_MALFORMED },             /* start in the header, field on the source MAC */
		{ VSW_ETH_HEADER, 19, VSW_DROP_MALFORMED },         /* one byte past the end of 20 */
		{ VSW_ETH_HEADER + 20, 0, VSW_DROP_MALFORMED },     /* start at the end */
		{ 0xffff, 0xffff, VSW_DROP_MALFORMED },             /* would wrap a 16-bit sum */
		{ VSW_ETH_HEADER + 1, 0xfffe, VSW_DROP_MALFORMED }, /* would wrap a 16-bit sum to inside */
		{ VSW_ETH_HEADER, 18, VSW_DROP_NONE },              /* the last two bytes */
	};
	struct test_frame t;
	unsigned i, refused = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		build(&t, 0, broadcast, 20);
		t.f.csum_partial = 1;
		t.f.csum_start = cases[i].start;
		t.f.csum_offset = cases[i].offset;
		assert_int_equal(vsw_send(&sw_a, ports[0], &t.f), cases[i].why);
		refused += cases[i].why != VSW_DROP_NONE;
		vsw_forward(&sw_a, 0, 100);
	}
	assert_int_equal(counters(0).drops[VSW_DROP_MALFORMED], refused);
	assert_int_equal(devs[1].got, 1);
}

/* The checksum of bytes given as payload after a 14-byte header, the frame cut at cut (0: not cut). */
static uint16_t csum_of(const uint8_t *payload, uint32_t n, uint32_t field, uint32_t cut)
{
	uint8_t frame[VSW_ETH_HEADER + 64] = { 0 }, out[2];
	struct vsw_seg segs[3];
	struct vsw_frame f = { .segs = segs, .len = VSW_ETH_HEADER + n, .csum_partial = 1,
			       .csum_start = VSW_ETH_HEADER, .csum_offset = (uint16_t)field };

	assert_true(n <= 64 && cut < f.len);
	memcpy(frame + VSW_ETH_HEADER, payload, n);
	segs[0] = (struct vsw_seg){ frame, cut ? cut : f.len };
	segs[1] = (struct vsw_seg){ frame + segs[0].len, 0 }; /* an empty segment changes nothing */
	segs[2] = (struct vsw_seg){ frame + segs[0].len, f.len - segs[0].len };
	f.nsegs = 3;
	vsw_frame_csum(&f, out);
	return (uint16_t)(out[0] << 8 | out[1]);
}

/* RFC 1071's example (its sum ddf2), whatever the cuts; odd lengths pad; a zero goes out as ffff. */
static void the_checksum_is_rfc1071s_across_any_cut(void **state)
{
	static const uint8_t rfc[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7, 0, 0 };
	static const uint8_t ones[] = { 0xff, 0xff, 0, 0 }, odd[] = { 0, 0, 0x01 };
	uint32_t cut;

	(void)state;
	for (cut = 0; cut < VSW_ETH_HEADER + sizeof(rfc); cut++)
		assert_int_equal(csum_of(rfc, sizeof(rfc), 8, cut), 0x220d);
	assert_int_equal(csum_of(ones, sizeof(ones), 2, 0), 0xffff);
	for (cut = 0; cut < VSW_ETH_HEADER + sizeof(odd); cut++)
		assert_int_equal(csum_of(odd, sizeof(odd), 0, cut), 0xfeff);
}

static void receivers_without_room_lose_the_frame_not_the_sender(void **state)
{
	(void)state;
	devs[1].answer = VSW_RX_NO_BUFFER;
	devs[2].answer = VSW_RX_TOO_BIG;
	send_at(0, broadcast, 0);
	assert_int_equal(devs[3].got, 1);
	assert_int_equal(devs[0].done, 1);
	assert_int_equal(counters(1).drops[VSW_DROP_NO_BUFFER], 1);
	assert_int_equal(counters(2).drops[VSW_DROP_TOO_BIG], 1);
	assert_int_equal(counters(1).rx_frames, 0);
}

static void a_full_queue_drops_and_counts(void **state)
{
	struct test_frame t[VSW_QUEUE_LEN + 1];
	int i;

	(void)state;
	for (i = 0; i <= VSW_QUEUE_LEN; i++) {
		build(&t[i], 0, broadcast, 8);
		assert_int_equal(vsw_send(&sw_a, ports[0], &t[i].f), i < VSW_QUEUE_LEN ? 0 : VSW_DROP_QUEUE_FULL);
	}
	assert_int_equal(counters(0).drops[VSW_DROP_QUEUE_FULL], 1);
	assert_int_equal(vsw_forward(&sw_a, 0, 10), 10); /* the budget bounds the work */
	assert_int_equal(vsw_forward(&sw_a, 0, 1000), VSW_QUEUE_LEN - 10);
	assert_int_equal(devs[0].done, VSW_QUEUE_LEN);
	assert_int_equal(devs[1].got, VSW_QUEUE_LEN);
}

/* Port 0 fills its queue with big frames; port 1's few small ones are not served after them all. */
static void a_flooding_port_gets_its_share_only(void **state)
{
	static uint8_t big[VSW_FRAME_MAX];
	struct test_frame small[4];
	struct vsw_seg big_seg = { big, VSW_FRAME_MAX };
	struct vsw_frame f = { .segs = &big_seg, .nsegs = 1, .len = VSW_FRAME_MAX, .cookie = &devs[0] };
	uint32_t i, smalls_done = 0, big_before_last_small = 0;

	(void)state;
	memcpy(big, broadcast, VSW_MAC_LEN);
	mac_of(0, big + VSW_MAC_LEN);
	for (i = 0; i < VSW_QUEUE_LEN; i++)
		assert_int_equal(vsw_send(&sw_a, ports[0], &f), 0);
	for (i = 0; i < 4; i++) {
		build(&small[i], 1, broadcast, 8);
		assert_int_equal(vsw_send(&sw_a, ports[1], &small[i].f), 0);
	}
	while (vsw_forward(&sw_a, 0, 1)) /* one at a time: a budget cut must not add credit */
		;
	for (i = 0; i < done_count; i++) {
		if (done_order[i] == 1 && ++smalls_done == 4)
			break;
		big_before_last_small += done_order[i] == 0;
	}
	/* Byte fairness: the 4 small frames take one round; a big one needs 17 rounds' credit. */
	assert_int_equal(smalls_done, 4);
	assert_int_equal(big_before_last_small, 0);
	assert_int_equal(devs[0].done, VSW_QUEUE_LEN);
}

/* Equal frames from two busy ports alternate. */
static void busy_ports_take_turns(void **state)
{
	struct test_frame t[2][8];
	int i, p;

	(void)state;
	for (i = 0; i < 8; i++)
		for (p = 0; p < 2; p++) {
			build(&t[p][i], p, broadcast, VSW_QUANTUM - VSW_ETH_HEADER); /* one a round */
		}
	for (i = 0; i < 8; i++)
		for (p = 0; p < 2; p++)
			assert_int_equal(vsw_send(&sw_a, ports[p], &t[p][i].f), 0);
	while (vsw_forward(&sw_a, 0, 1))
		;
	assert_int_equal(done_count, 16);
	for (i = 0; i + 1 < 16; i++)
		assert_int_not_equal(done_order[i], done_order[i + 1]);
}

static void drop_names_and_port_limits(void **state)
{
	uint8_t mac[VSW_MAC_LEN] = { 2, 0, 0, 0, 0, 0x99 };
	uint32_t i;

	(void)state;
	assert_string_equal(vsw_drop_name(VSW_DROP_SPOOFED), "spoofed");
	assert_string_equal(vsw_drop_name(VSW_DROP_NO_BUFFER), "no_buffer");
	assert_string_equal(vsw_drop_name(VSW_DROP_REASONS), "?");
	assert_string_equal(vsw_drop_name(VSW_DROP_NONE), "?");
	for (i = sw_b.nports; i < VSW_PORTS_MAX; i++)
		assert_non_null(vsw_add_port(&sw_b, "x", mac));
	assert_null(vsw_add_port(&sw_b, "x", mac));
	assert_int_equal(sw_a.lock.locked, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(unknown_unicast_floods_to_the_other_ports_of_its_switch, setup),
		cmocka_unit_test_setup(learned_unicast_goes_to_its_port_only, setup),
		cmocka_unit_test_setup(broadcast_and_multicast_flood_even_when_learned, setup),
		cmocka_unit_test_setup(switches_are_isolated_even_for_a_known_address, setup),
		cmocka_unit_test_setup(entries_age_out_after_300_seconds, setup),
		cmocka_unit_test_setup(a_detached_port_is_forgotten_and_down, setup),
		cmocka_unit_test_setup(a_spoofed_source_is_dropped_and_counted, setup),
		cmocka_unit_test_setup(malformed_frames_are_refused, setup),
		cmocka_unit_test_setup(a_checksum_field_outside_the_frame_or_in_its_header_is_refused, setup),
		cmocka_unit_test_setup(the_checksum_is_rfc1071s_across_any_cut, setup),
		cmocka_unit_test_setup(receivers_without_room_lose_the_frame_not_the_sender, setup),
		cmocka_unit_test_setup(a_full_queue_drops_and_counts, setup),
		cmocka_unit_test_setup(a_flooding_port_gets_its_share_only, setup),
		cmocka_unit_test_setup(busy_ports_take_turns, setup),
		cmocka_unit_test_setup(drop_names_and_port_limits, setup),
	};

	return cmocka_run_group_tests_name("vswitch", tests, NULL, NULL);
}
