/* A partition's UART: what reaches the console, and register behaviour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "vdev/uart.h"

static char console[2048];
static size_t console_len;
static struct vuart u;

static void sink(const char *text, size_t len)
{
	memcpy(console + console_len, text, len);
	console_len += len;
	console[console_len] = 0;
}

static int reset(void **state)
{
	(void)state;
	console_len = 0;
	console[0] = 0;
	log_set_sink(sink);
	vuart_init(&u, "guest");
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
	};

	return cmocka_run_group_tests_name("vuart", tests, NULL, NULL);
}
