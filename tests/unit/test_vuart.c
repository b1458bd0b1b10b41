/* A partition's UART: what reaches the console, and register behaviour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "vdev/irq.h"
#include "vdev/uart.h"

static char console[2048];
static size_t console_len;
static struct vuart u;
static struct partition *fake_part = (struct partition *)&u; /* any non-NULL address: the line is recorded */
static int irq4, irq4_changes;

/* The model's one way out to the interrupt controllers. */
void irq_set_isa(struct partition *p, unsigned irq, int level)
{
	assert_ptr_equal(p, fake_part);
	assert_int_equal(irq, 4);
	assert_int_not_equal(level, irq4); /* only changes are passed on */
	irq4 = level;
	irq4_changes++;
}

static size_t sink(const char *text, size_t len, int wait)
{
	(void)wait;
	memcpy(console + console_len, text, len);
	console_len += len;
	console[console_len] = 0;
	return len;
}

static char ring[4096]; /* its console_buffer */

static int reset(void **state)
{
	(void)state;
	console_len = 0;
	console[0] = 0;
	log_set_sink(sink);
	log_mute_guests(0);
	vuart_init(&u, fake_part, "guest", ring, sizeof(ring));
	irq4 = irq4_changes = 0;
	return 0;
}

static void out(unsigned offset, uint8_t v)
{
	vuart_ops.write(&u, offset, 1, v);
}

static uint64_t in_sized(unsigned offset, unsigned size)
{
	uint64_t value = 0xdeadbeefdeadbeefull;

	vuart_ops.read(&u, offset, size, &value);
	return value;
}

static uint8_t in(unsigned offset)
{
	uint64_t value = in_sized(offset, 1);

	assert_true(value <= 0xff);
	return (uint8_t)value;
}

static void say(const char *s)
{
	while (*s)
		out(0, (uint8_t)*s++);
}

static void lines_reach_the_console_with_the_partition_name(void **state)
{
	(void)state;
	say("hello\r\nworld");
	assert_string_equal(console, "hv: [guest] hello\n");
	vuart_flush(&u); /* a partial line shows when the partition stops */
	assert_string_equal(console, "hv: [guest] hello\nhv: [guest] world\n");
	vuart_flush(&u);
	assert_string_equal(console, "hv: [guest] hello\nhv: [guest] world\n");
}

static void control_bytes_cannot_drive_the_terminal(void **state)
{
	(void)state;
	say("a\033[2Jb\tc\x7f\n");
	assert_string_equal(console, "hv: [guest] a?[2Jb\tc?\n");
}

static void long_lines_are_split_not_lost(void **state)
{
	char line[400];

	(void)state;
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = 0;
	say(line);
	say("\n");
	/* Every byte arrives, over several console lines. */
	assert_int_equal(console_len, (sizeof(line) - 1) + 3 * strlen("hv: [guest] \n"));
}

static void registers(void **state)
{
	(void)state;
	assert_int_equal(in(5) & 0x60, 0x60); /* transmitter always empty */
	out(7, 0xa5);
	assert_int_equal(in(7), 0xa5); /* scratch */
	out(3, 0x80);                  /* DLAB */
	out(0, 0x01);
	out(1, 0x00);
	assert_int_equal(in(0), 0x01); /* divisor latch, not transmitted */
	assert_int_equal(in(3), 0x80);
	out(3, 0x03);
	assert_int_equal(console_len, 0);
	assert_int_equal(in(2) & 1, 1); /* no interrupt pending */
	assert_int_equal(in(0), 0);     /* nothing received */
	out(1, 0xff);
	assert_int_equal(in(1), 0x0f);  /* IER keeps its defined bits only */
}

/* IIR bits 7:6 say a 16550A's FIFOs are on: how Linux's 8250 driver tells the chip. */
static void fifo_control_shows_a_16550a(void **state)
{
	(void)state;
	assert_int_equal(in(2) & 0xc0, 0);
	out(2, 0xc7); /* enable, clear both, trigger 14 */
	assert_int_equal(in(2), 0xc1);
	out(2, 0x00);
	assert_int_equal(in(2), 0x01);
}

static void received_bytes_come_in_order_and_overrun_is_reported(void **state)
{
	char many[VUART_RX_FIFO + 5];

	(void)state;
	assert_int_equal(vuart_receive(&u, "ab", 2), 2);
	assert_int_equal(in(5) & 1, 1); /* data ready */
	assert_int_equal(in(0), 'a');
	assert_int_equal(in(0), 'b');
	assert_int_equal(in(5) & 1, 0);
	memset(many, 'x', sizeof(many));
	assert_int_equal(vuart_receive(&u, many, sizeof(many)), VUART_RX_FIFO); /* what it takes */
	u.rx_count = VUART_RX_FIFO;
	vuart_ops.write(&u, 0, 1, 0); /* nothing: THR */
	out(4, 0x10);                 /* loopback: a byte sent to a full FIFO is an overrun */
	out(0, 'y');
	assert_int_equal(in(5) & 0x02, 0x02);
	assert_int_equal(in(5) & 0x02, 0); /* reading LSR clears it */
}

/* IRQ 4 rises with a pending interrupt only while OUT2 is set, as on a PC. */
static void receive_interrupts_follow_ier_and_out2(void **state)
{
	(void)state;
	out(1, 0x01); /* received data */
	vuart_receive(&u, "k", 1);
	assert_int_equal(irq4, 0);    /* OUT2 off */
	assert_int_equal(in(2) & 0x0f, 0x04); /* without FIFOs, each byte is data available */
	out(4, 0x08);                 /* OUT2 */
	assert_int_equal(irq4, 1);
	assert_int_equal(in(0), 'k');
	assert_int_equal(irq4, 0);    /* read: nothing pending */
	out(2, 0x81);                 /* FIFO on, trigger 8 */
	vuart_receive(&u, "1", 1);
	assert_int_equal(in(2) & 0x0f, 0x0c); /* below the trigger: the character timeout, at once */
	vuart_receive(&u, "2345678", 7);
	assert_int_equal(in(2) & 0x0f, 0x04); /* at the trigger: received data available */
	assert_int_equal(irq4, 1);
	out(1, 0x00);
	assert_int_equal(irq4, 0);    /* masked in IER */
}

/* What 'info' shows of it is what the guest would read and what the line is. */
static void the_view_shows_the_interrupt_side(void **state)
{
	struct vuart_view w;

	(void)state;
	out(1, 0x01);
	out(4, 0x08);
	out(2, 0x81);
	vuart_receive(&u, "ab", 2);
	vuart_view(&u, &w);
	assert_int_equal(w.ier, 0x01);
	assert_int_equal(w.mcr, 0x08);
	assert_int_equal(w.iir, 0x0c);
	assert_int_equal(w.line, 1);
	assert_int_equal(w.rx_count, 2);
	in(0);
	in(0);
	vuart_view(&u, &w);
	assert_int_equal(w.iir, 0x01);
	assert_int_equal(w.line, 0);
	assert_int_equal(w.rx_count, 0);
}

/* THRE: raised when enabled with THR empty and after each byte; reading IIR that shows it clears it. */
static void transmitter_empty_interrupt_as_the_8250_driver_expects(void **state)
{
	(void)state;
	out(4, 0x08);
	out(1, 0x02);
	assert_int_equal(irq4, 1);
	assert_int_equal(in(2) & 0x0f, 0x02);
	assert_int_equal(irq4, 0);
	assert_int_equal(in(2) & 0x0f, 0x01);
	out(0, 'z');
	assert_int_equal(irq4, 1);
	out(1, 0x00);
	assert_int_equal(irq4, 0);
	out(1, 0x02);
	assert_int_equal(irq4, 1); /* enabling it again with THR empty raises it again */
	/* Received data outranks THRE. */
	vuart_receive(&u, "r", 1);
	out(1, 0x03);
	assert_int_equal(in(2) & 0x0f, 0x04);
}

/* Loopback: bytes come back, the modem lines show the MCR's, with delta bits; Linux's probe reads 0x90. */
static void loopback_loops_bytes_and_modem_lines(void **state)
{
	(void)state;
	assert_int_equal(in(6), 0xb0);
	out(4, 0x1a); /* LOOP, OUT2, RTS */
	assert_int_equal(in(6) & 0xf0, 0x90);
	out(0, 'q');
	assert_int_equal(in(0), 'q');
	assert_int_equal(console_len, 0); /* nothing left the chip */
	out(4, 0x10);
	assert_int_equal(in(6), 0x09); /* CTS and DCD fell: DCTS, DDCD */
	assert_int_equal(in(6), 0x00);
	out(4, 0x14);                  /* OUT1: RI rises */
	out(4, 0x10);                  /* and falls: trailing edge */
	assert_int_equal(in(6) & 0x04, 0x04);
	out(1, 0x08);
	out(4, 0x11);                  /* DTR: DDSR, a modem status interrupt (no line in loopback) */
	assert_int_equal(in(2) & 0x0f, 0x00);
	assert_int_equal(irq4, 0);
}

static void output_is_kept_raw_for_an_attach_and_lines_are_not_shown_while_attached(void **state)
{
	char buf[64];
	uint64_t cursor = 0;
	size_t n;

	(void)state;
	say("one\r\n");
	vuart_attach(&u, 1);
	say("two\r\n");
	vuart_attach(&u, 0);
	assert_string_equal(console, "hv: [guest] one\n");
	n = vuart_read_output(&u, &cursor, buf, sizeof(buf));
	assert_int_equal(n, 10);
	assert_memory_equal(buf, "one\r\ntwo\r\n", 10);
	assert_int_equal(vuart_read_output(&u, &cursor, buf, sizeof(buf)), 0);
	/* A reader left behind resumes at the oldest byte kept, counting what it lost. */
	u.out_head += 3 * sizeof(ring);
	vuart_read_output(&u, &cursor, buf, 1);
	assert_int_equal(cursor, u.out_head - sizeof(ring) + 1);
	assert_int_equal(u.out_missed, 2 * sizeof(ring));
}

/*
 * An attach starts at the oldest byte kept: the output that went before it
 * is not lost. Its partition started again (the UART reset, its output
 * kept): the reader goes on from where it was, through the last run's
 * output into the new run's, losing nothing.
 */
static void an_attached_reader_counts_only_what_it_lost(void **state)
{
	char buf[64];
	uint64_t cursor;
	size_t i;

	(void)state;
	vuart_attach(&u, 1); /* no log lines: the ring alone */
	for (i = 0; i < sizeof(ring) + 100; i++)
		out(0, 'x');
	cursor = vuart_output_start(&u);
	assert_int_equal(cursor, 100);
	assert_int_equal(vuart_read_output(&u, &cursor, buf, sizeof(buf)), sizeof(buf));
	assert_int_equal(u.out_missed, 0);
	say("bye\r\n");
	vuart_reset(&u);
	say("new\r\n");
	while (vuart_read_output(&u, &cursor, buf, sizeof(buf)) == sizeof(buf))
		;
	assert_int_equal(cursor, sizeof(ring) + 110);
	assert_memory_equal(buf + (sizeof(ring) + 110 - 100) % sizeof(buf) - 10, "bye\r\nnew\r\n", 10);
	assert_int_equal(u.out_missed, 0);
	assert_true(u.attached);
}

/* A reset is as at power-on: registers, FIFO and interrupt cleared; the output ring and the attach kept. */
static void a_reset_clears_the_registers_and_keeps_the_output(void **state)
{
	char buf[16];
	uint64_t cursor = 0;

	(void)state;
	out(1, 0x01); /* IER: received data */
	out(4, 0x08); /* MCR: OUT2, the line to the interrupt controller */
	vuart_receive(&u, "ab", 2);
	assert_int_equal(irq4, 1);
	say("kept\r\n");
	vuart_attach(&u, 1);
	vuart_reset(&u);
	assert_int_equal(irq4, 0);
	assert_int_equal(in(1), 0);
	assert_int_equal(in(4), 0);
	assert_int_equal(in(5) & 1, 0); /* no data ready */
	assert_int_equal(vuart_read_output(&u, &cursor, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "kept\r\n", 6);
	assert_true(u.attached);
}

/* A guest that wrote more than its console_buffer: the newest bytes are kept, in order. */
static void a_full_ring_keeps_the_newest_output(void **state)
{
	char buf[sizeof(ring)];
	uint64_t cursor = 0;
	size_t i;

	(void)state;
	vuart_attach(&u, 1); /* no log lines: the ring alone */
	for (i = 0; i < sizeof(ring) + 100; i++)
		out(0, (uint8_t)('a' + i % 26));
	assert_int_equal(vuart_read_output(&u, &cursor, buf, sizeof(buf)), sizeof(ring));
	assert_int_equal(buf[0], 'a' + 100 % 26);
	assert_int_equal(buf[sizeof(ring) - 1], 'a' + (sizeof(ring) + 99) % 26);
	assert_int_equal(cursor, sizeof(ring) + 100);
}

/* A partition that got no memory for its buffer: output goes on, live, and nothing is read back. */
static void without_a_ring_output_is_not_kept(void **state)
{
	char buf[16];
	uint64_t cursor = 0;

	(void)state;
	vuart_init(&u, fake_part, "guest", NULL, 4096);
	say("lost\r\n");
	assert_string_equal(console, "hv: [guest] lost\n");
	assert_int_equal(vuart_read_output(&u, &cursor, buf, sizeof(buf)), 0);
}

static void muted_guest_lines_are_kept_but_not_shown(void **state)
{
	char buf[256];
	uint64_t cursor = 0;
	size_t n;

	(void)state;
	log_mute_guests(1);
	say("quiet\n");
	log_mute_guests(0);
	assert_int_equal(console_len, 0);
	while ((n = log_read(&cursor, buf, sizeof(buf) - 1)) > 0)
		buf[n] = 0;
	assert_non_null(strstr(buf, "hv: [guest] quiet\n"));
}

/* An 8-bit device: a wide access covers consecutive registers, the low byte first. */
static void wide_accesses_reach_consecutive_registers(void **state)
{
	(void)state;
	vuart_ops.write(&u, 6, 2, 0x5a00);           /* MSR (read-only), then the scratch register */
	assert_int_equal(in(7), 0x5a);
	assert_int_equal(in_sized(5, 2), 0xb060);    /* LSR, MSR */
	assert_int_equal(in_sized(4, 4), 0x5ab06000); /* MCR, LSR, MSR, SCR */
	vuart_ops.write(&u, 0, 2, 'o' << 8 | 'k');   /* THR, then IER */
	vuart_ops.write(&u, 0, 1, '\n');
	assert_string_equal(console, "hv: [guest] k\n");
	assert_int_equal(in(1), 'o' & 0x0f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(lines_reach_the_console_with_the_partition_name, reset),
		cmocka_unit_test_setup(control_bytes_cannot_drive_the_terminal, reset),
		cmocka_unit_test_setup(long_lines_are_split_not_lost, reset),
		cmocka_unit_test_setup(registers, reset),
		cmocka_unit_test_setup(wide_accesses_reach_consecutive_registers, reset),
		cmocka_unit_test_setup(fifo_control_shows_a_16550a, reset),
		cmocka_unit_test_setup(received_bytes_come_in_order_and_overrun_is_reported, reset),
		cmocka_unit_test_setup(receive_interrupts_follow_ier_and_out2, reset),
		cmocka_unit_test_setup(the_view_shows_the_interrupt_side, reset),
		cmocka_unit_test_setup(transmitter_empty_interrupt_as_the_8250_driver_expects, reset),
		cmocka_unit_test_setup(loopback_loops_bytes_and_modem_lines, reset),
		cmocka_unit_test_setup(output_is_kept_raw_for_an_attach_and_lines_are_not_shown_while_attached, reset),
		cmocka_unit_test_setup(an_attached_reader_counts_only_what_it_lost, reset),
		cmocka_unit_test_setup(a_reset_clears_the_registers_and_keeps_the_output, reset),
		cmocka_unit_test_setup(muted_guest_lines_are_kept_but_not_shown, reset),
		cmocka_unit_test_setup(a_full_ring_keeps_the_newest_output, reset),
		cmocka_unit_test_setup(without_a_ring_output_is_not_kept, reset),
	};

	return cmocka_run_group_tests_name("vuart", tests, NULL, NULL);
}
