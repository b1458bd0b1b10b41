/*
 * virtio-console (hv/vdev/virtio_console.c): rings written into a
 * partition's RAM as a driver writes them; what a transmit chain puts on
 * the partition's console stream (the UART's output ring), what the
 * operator's bytes fill in the receive chains; and hostile chains (a
 * device-writable buffer to send, a device-readable one to receive into,
 * buffers outside RAM, loops, chains too long, an available ring run
 * ahead), each given back and the device still serving the next good one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/le.h"
#include "fake_pci_guest.h"
#include "vdev/virtio_console.h"

#define RAM (1u << 20)
#define QSIZE 8
#define RXQ 0
#define TXQ 1
#define BUFS 0x10000 /* where the test's buffers start in RAM */
#define SLOT 14

static struct cfg_partition cfg;
static struct virtio_console con;
static struct vuart uart;
static char stream_ring[4096];
static uint8_t *ram;
static uint32_t next_buf;
static uint16_t avail[2];

/* Where the driver put queue q's rings in RAM. */
#define DESC(q) (0x1000u + 0x3000u * (q))
#define AVAIL(q) (DESC(q) + 0x1000u)
#define USED(q) (DESC(q) + 0x2000u)

int irq_deliver(struct partition *p, const struct irq_msg *m)
{
	(void)p;
	(void)m;
	fail_msg("an MSI without MSI-X enabled");
	return 0;
}

/* The device as Linux leaves it: both queues live, DRIVER_OK. */
static int setup(void **state)
{
	struct vq_ram r;
	unsigned q;

	(void)state;
	ram = aligned_alloc(4096, RAM);
	memset(ram, 0, RAM);
	next_buf = BUFS;
	avail[0] = avail[1] = 0;
	fake_pci_guest_reset();
	cfg = (struct cfg_partition){ .memory = RAM, .virtio_console = 1 };
	strcpy(cfg.name, "a");
	part = (struct partition){ .cfg = &cfg, .ram_size = RAM };
	vuart_init(&uart, 0, "a", stream_ring, sizeof(stream_ring));
	r = (struct vq_ram){ .base = ram, .pa = 0x80000000, .size = RAM };
	vdev_bus_init(&part.bus);
	assert_null(vpci_init(&part.pci, &part));
	assert_null(virtio_console_init(&con, &part, &r, &part.pci, SLOT, &uart));
	assert_null(vpci_start(&part.pci));
	for (q = 0; q < 2; q++) {
		assert_null(vq_setup(&con.v.q[q].vq, &r, QSIZE, DESC(q), AVAIL(q), USED(q), 0, 0));
		con.v.q[q].enabled = 1;
		con.v.q[q].size = QSIZE;
	}
	con.v.features = VIRTIO_F_VERSION_1;
	con.v.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		       VIRTIO_STATUS_DRIVER_OK;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static uint64_t alloc_buf(uint32_t len)
{
	uint64_t at = next_buf;

	next_buf += (len + 15) & ~15u;
	assert_true(next_buf <= RAM);
	return at;
}

struct piece {
	uint64_t addr;
	uint32_t len;
	uint16_t flags; /* VIRTQ_DESC_F_WRITE */
	int next;       /* the next descriptor's index; -1: the one after it (mod QSIZE) */
};

static void write_desc(unsigned q, unsigned i, const struct piece *p, int last)
{
	uint8_t *d = ram + DESC(q) + 16 * i;
	uint16_t next = (uint16_t)(p->next >= 0 ? p->next : (int)((i + 1) % QSIZE));

	put_le64(d, p->addr);
	put_le32(d + 8, p->len);
	put_le16(d + 12, (uint16_t)(p->flags | (last && p->next < 0 ? 0 : VIRTQ_DESC_F_NEXT)));
	put_le16(d + 14, next);
}

/* A chain of n descriptors from head, made available on queue q. */
static void post_chain(unsigned q, uint16_t head, const struct piece *p, unsigned n)
{
	uint8_t *a = ram + AVAIL(q);
	unsigned i;

	for (i = 0; i < n; i++)
		write_desc(q, (head + i) % QSIZE, &p[i], i + 1 == n);
	put_le16(a + 4 + 2 * (avail[q] % QSIZE), head);
	avail[q]++;
	put_le16(a + 2, avail[q]);
}

static uint16_t used_idx(unsigned q)
{
	return le16(ram + USED(q) + 2);
}

static void used_entry(unsigned q, unsigned i, uint32_t *id, uint32_t *len)
{
	const uint8_t *e = ram + USED(q) + 4 + 8 * (i % QSIZE);

	*id = le32(e);
	*len = le32(e + 4);
}

/* A device-readable buffer holding text. */
static struct piece text_piece(const char *text)
{
	struct piece p = { alloc_buf((uint32_t)strlen(text)), (uint32_t)strlen(text), 0, -1 };

	memcpy(ram + p.addr, text, strlen(text));
	return p;
}

static void kick_tx(void)
{
	con.v.type->notify(&con.v, TXQ);
}

/* What the console stream holds from its start, as a string. */
static const char *stream(void)
{
	static char out[sizeof(stream_ring) + 1];
	uint64_t cursor = 0;
	size_t n = vuart_read_output(&uart, &cursor, out, sizeof(stream_ring));

	out[n] = 0;
	return out;
}

/* The chain given back as used entry i, with len bytes written. */
static void assert_used(unsigned q, unsigned i, uint32_t head, uint32_t len)
{
	uint32_t id, n;

	used_entry(q, i, &id, &n);
	assert_int_equal(id, head);
	assert_int_equal(n, len);
}

/* ---- tests ------------------------------------------------------------- */

static void sent_bytes_join_the_console_stream(void **state)
{
	struct piece p[2] = { text_piece("hello "), text_piece("world\n") };

	(void)state;
	post_chain(TXQ, 0, p, 2);
	kick_tx();
	assert_string_equal(stream(), "hello world\n");
	assert_int_equal(used_idx(TXQ), 1);
	assert_used(TXQ, 0, 0, 0); /* the device wrote nothing */
	assert_true(line_calls >= 1);
	assert_int_equal(guest_lines, 0);
	assert_int_equal(con.v.lock.locked, 0);
	assert_int_equal(uart.lock.locked, 0);
	assert_int_equal(uart.len, 0); /* the line went to the log */
}

/* Each hostile chain goes back unsent; the good one after them is sent. */
static void hostile_chains_to_send_go_back_unsent(void **state)
{
	struct piece writable = text_piece("w"), outside = { RAM - 2, 4, 0, -1 }, wrap = { ~0ull - 1, 4, 0, -1 };
	struct piece loop = text_piece("loop"), big = { BUFS, VIRTIO_CONSOLE_CHAIN_MAX + 1, 0, -1 };
	struct piece good = text_piece("ok\n"), past = text_piece("p");
	unsigned i;

	(void)state;
	writable.flags = VIRTQ_DESC_F_WRITE;
	loop.next = 3;   /* descriptor 3 names itself */
	past.next = 100; /* past the table */
	assert_true(BUFS + (uint64_t)big.len <= RAM);
	post_chain(TXQ, 0, &writable, 1);
	post_chain(TXQ, 1, &outside, 1);
	post_chain(TXQ, 2, &wrap, 1);
	post_chain(TXQ, 3, &loop, 1);
	write_desc(TXQ, 3, &loop, 0);
	post_chain(TXQ, 4, &big, 1);
	post_chain(TXQ, 5, &past, 1);
	write_desc(TXQ, 5, &past, 0);
	post_chain(TXQ, 6, &good, 1);
	kick_tx();
	assert_string_equal(stream(), "ok\n");
	assert_int_equal(used_idx(TXQ), 7);
	for (i = 0; i < 7; i++)
		assert_used(TXQ, i, i, 0);
	assert_int_equal(guest_lines, 6);
	assert_false(con.v.status & VIRTIO_STATUS_NEEDS_RESET);
}

static void typed_bytes_fill_the_posted_chains_in_order(void **state)
{
	uint64_t a = alloc_buf(4), b = alloc_buf(4), c = alloc_buf(8);
	struct piece two[2] = { { a, 4, VIRTQ_DESC_F_WRITE, -1 }, { b, 4, VIRTQ_DESC_F_WRITE, -1 } };
	struct piece one = { c, 8, VIRTQ_DESC_F_WRITE, -1 };

	(void)state;
	assert_false(virtio_console_in_use(&con)); /* nothing sent through it yet: input goes to the UART */
	post_chain(TXQ, 0, &(struct piece){ alloc_buf(1), 1, 0, -1 }, 1);
	kick_tx();
	assert_true(virtio_console_in_use(&con));
	assert_int_equal(virtio_console_receive(&con, "x", 1), 0); /* nothing posted: the caller keeps it */
	post_chain(RXQ, 0, two, 2);
	post_chain(RXQ, 2, &one, 1);
	assert_int_equal(virtio_console_receive(&con, "0123456789", 10), 10);
	assert_memory_equal(ram + a, "0123", 4);
	assert_memory_equal(ram + b, "4567", 4);
	assert_memory_equal(ram + c, "89", 2);
	assert_int_equal(used_idx(RXQ), 2);
	assert_used(RXQ, 0, 0, 8);
	assert_used(RXQ, 1, 2, 2);
	assert_true(line_calls >= 1);
	assert_int_equal(virtio_console_receive(&con, "more", 4), 0); /* every chain used */
	assert_int_equal(con.v.lock.locked, 0);
}

static void hostile_chains_to_receive_into_go_back_empty(void **state)
{
	uint64_t ok = alloc_buf(8), ro = alloc_buf(8);
	struct piece readable = { ro, 8, 0, -1 }, outside = { RAM - 4, 8, VIRTQ_DESC_F_WRITE, -1 };
	struct piece order[2] = { { ok, 4, VIRTQ_DESC_F_WRITE, -1 }, { ro, 4, 0, -1 } };
	struct piece good = { ok, 8, VIRTQ_DESC_F_WRITE, -1 };

	(void)state;
	memset(ram + ro, 'r', 8);
	post_chain(RXQ, 0, &readable, 1);
	post_chain(RXQ, 1, &outside, 1);
	post_chain(RXQ, 2, order, 2);
	post_chain(RXQ, 4, &good, 1);
	assert_int_equal(virtio_console_receive(&con, "abc", 3), 3);
	assert_memory_equal(ram + ro, "rrrrrrrr", 8); /* the device never wrote what it may only read */
	assert_memory_equal(ram + ok, "abc", 3);
	assert_int_equal(used_idx(RXQ), 4);
	assert_used(RXQ, 0, 0, 0);
	assert_used(RXQ, 1, 1, 0);
	assert_used(RXQ, 2, 2, 0);
	assert_used(RXQ, 3, 4, 3);
	assert_int_equal(guest_lines, 3);
}

/* An available index run more than the queue ahead: the device needs a reset and takes nothing more. */
static void a_ring_run_ahead_needs_a_reset(void **state)
{
	struct piece p = text_piece("never\n");
	unsigned before;

	(void)state;
	post_chain(TXQ, 0, &p, 1);
	put_le16(ram + AVAIL(TXQ) + 2, QSIZE + 1);
	kick_tx();
	assert_string_equal(stream(), "");
	assert_true(con.v.status & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(used_idx(TXQ), 0);
	before = line_calls;
	post_chain(RXQ, 0, &(struct piece){ alloc_buf(4), 4, VIRTQ_DESC_F_WRITE, -1 }, 1);
	assert_false(virtio_console_in_use(&con));
	assert_int_equal(virtio_console_receive(&con, "x", 1), 0);
	assert_int_equal(used_idx(RXQ), 0);
	assert_int_equal(line_calls, before);
}

static void nothing_is_taken_before_driver_ok(void **state)
{
	struct piece p = text_piece("early\n");
	uint64_t v = 1;

	(void)state;
	con.v.status &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	post_chain(TXQ, 0, &p, 1);
	kick_tx();
	assert_string_equal(stream(), "");
	assert_false(virtio_console_in_use(&con));
	con.v.type->config_read(&con.v, 0, 4, &v);
	assert_int_equal(v, 0); /* no F_SIZE, no F_MULTIPORT: nothing to read */
	assert_int_equal(con.v.offered & 7, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(sent_bytes_join_the_console_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_chains_to_send_go_back_unsent, setup, teardown),
		cmocka_unit_test_setup_teardown(typed_bytes_fill_the_posted_chains_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_chains_to_receive_into_go_back_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(a_ring_run_ahead_needs_a_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(nothing_is_taken_before_driver_ok, setup, teardown),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
