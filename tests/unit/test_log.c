/* Log formatting, levels and the ring buffer the console reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/fmt.h"
#include "log.h"

static char sunk[LOG_RING_SIZE + 1]; /* room for all a ring can hold, and its end */
static size_t sunk_len;

static size_t sink(const char *text, size_t len, int wait)
{
	(void)wait;
	memcpy(sunk + sunk_len, text, len);
	sunk_len += len;
	sunk[sunk_len] = 0;
	return len;
}

/* A slow serial line: takes `room` bytes at most until waited on. */
static size_t room;

static size_t slow_sink(const char *text, size_t len, int wait)
{
	size_t n = wait || len < room ? len : room;

	if (!wait)
		room -= n;
	memcpy(sunk + sunk_len, text, n);
	sunk_len += n;
	sunk[sunk_len] = 0;
	return n;
}

/* A stalled line: its far end reads nothing; waited on, it drops what it cannot send. */
static size_t stalled_sink(const char *text, size_t len, int wait)
{
	(void)text;
	(void)len;
	(void)wait;
	return 0;
}

static size_t discard(const char *text, size_t len, int wait)
{
	(void)text;
	(void)wait;
	return len;
}

static int reset(void **state)
{
	(void)state;
	sunk_len = 0;
	sunk[0] = 0;
	log_set_sink(sink);
	log_set_level(LOG_INFO);
	return 0;
}

static void format_matches_c_printf(void **state)
{
	char buf[128], ref[128];

	(void)state;
#define SAME(...)                                                   \
	do {                                                        \
		int n = fmt(buf, sizeof(buf), __VA_ARGS__);         \
		int m = snprintf(ref, sizeof(ref), __VA_ARGS__);    \
		assert_string_equal(buf, ref);                      \
		assert_int_equal(n, m);                             \
	} while (0)
	SAME("%d %d %u %x %X", 42, -7, 4000000000u, 255, 255);
	SAME("%ld %lld %lu %llx", -1L, -9223372036854775807LL - 1, 18446744073709551615UL, 0xdeadbeefcafeULL);
	SAME("%zu %zx", (size_t)12345, (size_t)0xabc);
	SAME("[%5d] [%-5d] [%05d] [%05d]", 42, 42, 42, -42);
	SAME("[%8s] [%-8s] [%.3s] [%.*s] [%*d]", "ab", "ab", "abcdef", 2, "xyz", 6, 9);
	SAME("%c%c %% %s", 'h', 'v', "end");
	SAME("%016llx %02x", 0x1234ULL, 7);
	SAME("%s", "");
#undef SAME
}

static void format_truncates_and_reports_full_length(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(fmt(buf, sizeof(buf), "%s-%d", "abcdef", 1234), 11);
	assert_string_equal(buf, "abcdef-");
	assert_int_equal(fmt(buf, 1, "xyz"), 3);
	assert_string_equal(buf, "");
	assert_int_equal(fmt(NULL, 0, "%d", 100), 3);
	{
		const char *volatile nothing = NULL; /* hidden from the format checker */
		fmt(buf, sizeof(buf), "%s", nothing);
	}
	assert_string_equal(buf, "(null)");
}

/* %.*s of a counted string that fills its buffer exactly reads no byte past it. */
static void precision_bounds_the_string_read(void **state)
{
	char *exact = malloc(3), buf[8];

	(void)state;
	assert_non_null(exact);
	memcpy(exact, "abc", 3); /* no NUL: AddressSanitizer reports a read of exact[3] */
	assert_int_equal(fmt(buf, sizeof(buf), "[%.*s]", 3, exact), 5);
	assert_string_equal(buf, "[abc]");
	free(exact);
}

static void lines_carry_level_prefix(void **state)
{
	(void)state;
	log_info("memory %d MiB", 512);
	log_warn("odd %s", "thing");
	log_error("bad");
	assert_string_equal(sunk, "hv: memory 512 MiB\nhv: warning: odd thing\nhv: error: bad\n");
}

static void levels_filter(void **state)
{
	(void)state;
	log_debug("hidden");
	assert_int_equal(sunk_len, 0);
	log_set_level(LOG_DEBUG);
	log_debug("shown");
	assert_string_equal(sunk, "hv: debug: shown\n");
	log_set_level(LOG_ERROR);
	log_warn("hidden");
	log_error("e");
	assert_string_equal(sunk, "hv: debug: shown\nhv: error: e\n");
}

static void long_lines_are_cut_visibly(void **state)
{
	char big[600];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	log_info("%s", big);
	assert_int_equal(sunk_len, LOG_LINE_MAX - 1);
	assert_string_equal(sunk + sunk_len - 4, "...\n");
}

static void ring_reads_what_was_logged(void **state)
{
	uint64_t cursor = 0, mark;
	char buf[LOG_RING_SIZE];
	size_t n;

	(void)state;
	while (log_read(&cursor, buf, sizeof(buf)))
		; /* skip what earlier tests logged */
	mark = cursor;
	log_info("one");
	log_info("two");
	n = log_read(&cursor, buf, sizeof(buf));
	assert_int_equal(n, strlen("hv: one\nhv: two\n"));
	assert_memory_equal(buf, "hv: one\nhv: two\n", n);
	assert_int_equal(log_read(&cursor, buf, sizeof(buf)), 0);
	/* Small reads continue where they stopped. */
	cursor = mark;
	assert_int_equal(log_read(&cursor, buf, 3), 3);
	assert_memory_equal(buf, "hv:", 3);
	assert_int_equal(log_read(&cursor, buf, 5), 5);
	assert_memory_equal(buf, " one\n", 5);
}

/* A busy line takes what it can; the rest follows in order when the console pumps, never cut by other output. */
static void a_slow_line_gets_the_rest_later_in_order(void **state)
{
	(void)state;
	log_set_sink(slow_sink);
	room = 10;
	log_info("first line");
	log_info("second");
	assert_string_equal(sunk, "hv: first ");
	room = 5;
	log_pump();
	assert_string_equal(sunk, "hv: first line\n");
	log_console_write("hv> ", 4); /* the console's own output waits for the lines before it */
	assert_string_equal(sunk, "hv: first line\nhv: second\nhv> ");
	room = 0;
	log_info("third");
	assert_string_equal(sunk, "hv: first line\nhv: second\nhv> ");
	log_flush();
	assert_string_equal(sunk, "hv: first line\nhv: second\nhv> hv: third\n");
}

/* An attached guest's output: only what the line takes now, after the lines before it, never waiting. */
static void console_try_write_never_waits_and_keeps_the_order(void **state)
{
	(void)state;
	log_set_sink(slow_sink);
	room = 3;
	log_info("busy");
	assert_int_equal(log_console_try_write("abc", 3), 0); /* the line is busy with the log's line */
	assert_string_equal(sunk, "hv:");
	room = 100;
	assert_int_equal(log_console_try_write("abc", 3), 3);
	assert_string_equal(sunk, "hv: busy\nabc");
	room = 1;
	assert_int_equal(log_console_try_write("xyz", 3), 1);
	assert_string_equal(sunk, "hv: busy\nabcx");
	log_set_sink(0);
	assert_int_equal(log_console_try_write("yz", 2), 2); /* no line: nothing waits for it */
}

/*
 * The hypervisor's lines while a guest is attached: each on a line of its
 * own, never inside the guest's (a stop as the kernel prints its last).
 */
static void a_log_line_never_splits_an_attached_guests_line(void **state)
{
	(void)state;
	assert_int_equal(log_console_try_write("[ 25.97", 7), 7);
	log_info("partition x: stopped");
	assert_string_equal(sunk, "[ 25.97\nhv: partition x: stopped\n");
	assert_int_equal(log_console_try_write("49] bye\r\n", 9), 9);
	log_info("next");
	assert_string_equal(sunk, "[ 25.97\nhv: partition x: stopped\n49] bye\r\nhv: next\n");
	log_console_write("hv> ", 4);
	log_info("after the prompt, as before");
	assert_string_equal(sunk + strlen(sunk) - 36, "hv> hv: after the prompt, as before\n");
}

/* Unshown lines (a muted guest's) are kept for 'log' but skipped on the line. */
static void unshown_lines_are_kept_not_sent(void **state)
{
	char buf[LOG_RING_SIZE];
	uint64_t cursor;
	size_t n;

	(void)state;
	log_info("mark");
	cursor = 0;
	while (log_read(&cursor, buf, sizeof(buf)) > 0)
		;
	log_mute_guests(1);
	log_guest(0, 1, "[g] muted");
	log_mute_guests(0);
	log_guest(0, 0, "[g] attached");
	log_guest(0, 1, "[g] shown");
	assert_null(strstr(sunk, "muted"));
	assert_null(strstr(sunk, "attached"));
	assert_non_null(strstr(sunk, "hv: [g] shown\n"));
	n = log_read(&cursor, buf, sizeof(buf) - 1);
	buf[n] = 0;
	assert_string_equal(buf, "hv: [g] muted\nhv: [g] attached\nhv: [g] shown\n");
}

/* A line a whole ring behind resumes at the oldest line kept and says how much it missed. */
static void a_line_that_falls_a_ring_behind_says_so(void **state)
{
	int i;

	(void)state;
	log_set_sink(slow_sink);
	room = 0;
	for (i = 0; i < 5000; i++)
		log_info("line %04d", i);
	sunk_len = 0;
	sunk[0] = 0;
	room = 100;
	log_pump();
	assert_non_null(strstr(sunk, "hv: (the console fell behind: "));
	assert_non_null(strstr(sunk, " bytes of log not shown; 'log' has them)\nhv: line "));
	log_set_sink(discard);
	log_flush(); /* drained, so that later tests start afresh */
}

/*
 * The console's own output waits behind LOG_CONSOLE_BACKLOG bytes of log
 * at most (a flooding guest's): the older unsent lines are left out,
 * said and counted, and the newest lines come before the console's text.
 */
static void console_output_skips_a_backlog_it_would_wait_behind(void **state)
{
	uint64_t dropped = log_dropped(), cursor = 0;
	char line[LOG_LINE_MAX + 1];
	int i;

	(void)state;
	log_set_sink(slow_sink);
	room = 0;
	for (i = 0; i < 400; i++)
		log_info("flood %04d", i); /* 15 bytes each: 6000 */
	assert_int_equal(sunk_len, 0);
	log_console_write("hv> ", 4);
	assert_non_null(strstr(sunk, "hv: (the console fell behind: "));
	assert_non_null(strstr(sunk, "hv: flood 0399\nhv> "));
	assert_null(strstr(sunk, "hv: flood 0000"));
	assert_true(sunk_len < LOG_CONSOLE_BACKLOG + 200);
	assert_true(log_dropped() - dropped > 6000 - LOG_CONSOLE_BACKLOG - 15);
	assert_true(log_dropped() - dropped <= 6000 - LOG_CONSOLE_BACKLOG + 15);
	/* 'log' has them all. */
	while (log_read_line(&cursor, line, sizeof(line)) && strcmp(line, "hv: flood 0000\n"))
		;
	assert_string_equal(line, "hv: flood 0000\n");
	log_set_sink(discard);
	log_flush();
}

static void line_levels_are_read_back(void **state)
{
	(void)state;
	assert_int_equal(log_line_level("hv: error: x\n"), LOG_ERROR);
	assert_int_equal(log_line_level("hv: warning: x\n"), LOG_WARN);
	assert_int_equal(log_line_level("hv: [guest] hv: error: not mine\n"), LOG_INFO);
	assert_int_equal(log_line_level("hv: debug: x\n"), LOG_DEBUG);
	assert_int_equal(log_line_level("hv"), LOG_INFO);
	assert_int_equal(log_line_level(""), LOG_INFO);
}

static void reader_behind_the_ring_resumes_at_a_whole_line(void **state)
{
	uint64_t cursor = 0;
	static char buf[LOG_RING_SIZE + 1];
	size_t n;
	int i;

	(void)state;
	log_set_sink(NULL);
	for (i = 0; i < 5000; i++)
		log_info("line %04d", i);
	n = log_read(&cursor, buf, sizeof(buf));
	assert_true(n <= LOG_RING_SIZE);
	assert_true(n > LOG_RING_SIZE - 32);
	assert_memory_equal(buf, "hv: line ", 9);
	assert_memory_equal(buf + n - 14, "hv: line 4999\n", 14);
}

/*
 * What a stalled line drops is counted, the console's answers and log lines
 * alike; what it merely could not take yet is not (the log keeps it, and
 * log_dropped() counts what it never sends).
 */
static void bytes_a_stalled_line_drops_are_counted(void **state)
{
	uint64_t before;

	(void)state;
	log_set_sink(discard);
	log_flush(); /* what earlier tests left unsent */
	before = log_line_dropped();
	log_set_sink(stalled_sink);
	log_info("kept"); /* not waited on: the line takes nothing, the log keeps it */
	assert_int_equal(log_line_dropped(), before);
	assert_int_equal(log_console_try_write("abc", 3), 0);
	assert_int_equal(log_line_dropped(), before);
	log_console_write("hv> ", 4); /* waits: "hv: kept\n" and the prompt are dropped by the line */
	assert_int_equal(log_line_dropped() - before, 9 + 4);
	log_set_sink(slow_sink);
	room = 0;
	log_console_write("ok\n", 3); /* a slow line that takes all when waited on drops nothing */
	assert_int_equal(log_line_dropped() - before, 13);
	assert_string_equal(sunk, "ok\n");
	log_set_sink(discard);
}

/*
 * A guest that floods faster than the line sends gets LOG_GUEST_BUDGET
 * bytes of it at most; the rest is dropped, so that another guest's line
 * after two rings' worth of the flood still reaches the line; the
 * flooder's next line once the line took its share says what was dropped.
 */
static void a_flooding_guest_keeps_to_its_share_of_the_line(void **state)
{
	struct log_budget flooder = { .owner = "flood" }, quiet = { .owner = "quiet" };
	int i;

	(void)state;
	log_set_sink(slow_sink);
	room = 0;
	log_guest(&quiet, 1, "[quiet] before");
	for (i = 0; i < 2 * LOG_RING_SIZE / 32; i++)
		log_guest(&flooder, 1, "[flood] line %05d of the flood", i); /* 36 bytes each */
	log_guest(&quiet, 1, "[quiet] after");
	room = LOG_RING_SIZE;
	log_pump();
	assert_non_null(strstr(sunk, "hv: [quiet] before\n"));
	assert_non_null(strstr(sunk, "hv: [quiet] after\n"));
	assert_null(strstr(sunk, "fell behind"));
	assert_in_range(strlen(sunk), 2 * 19, LOG_GUEST_BUDGET + 2 * 19);
	log_guest(&flooder, 1, "[flood] the end");
	log_pump();
	assert_non_null(strstr(sunk, "hv: [flood] the end\nhv: partition flood: "));
	assert_non_null(strstr(sunk, " lines dropped: over its share of the console\n"));
	log_set_sink(discard);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(format_matches_c_printf),
		cmocka_unit_test(format_truncates_and_reports_full_length),
		cmocka_unit_test(precision_bounds_the_string_read),
		cmocka_unit_test_setup(lines_carry_level_prefix, reset),
		cmocka_unit_test_setup(levels_filter, reset),
		cmocka_unit_test_setup(long_lines_are_cut_visibly, reset),
		cmocka_unit_test_setup(ring_reads_what_was_logged, reset),
		cmocka_unit_test_setup(a_slow_line_gets_the_rest_later_in_order, reset),
		cmocka_unit_test_setup(console_try_write_never_waits_and_keeps_the_order, reset),
		cmocka_unit_test_setup(a_log_line_never_splits_an_attached_guests_line, reset),
		cmocka_unit_test_setup(unshown_lines_are_kept_not_sent, reset),
		cmocka_unit_test_setup(a_line_that_falls_a_ring_behind_says_so, reset),
		cmocka_unit_test_setup(console_output_skips_a_backlog_it_would_wait_behind, reset),
		cmocka_unit_test_setup(line_levels_are_read_back, reset),
		cmocka_unit_test_setup(reader_behind_the_ring_resumes_at_a_whole_line, reset),
		cmocka_unit_test_setup(bytes_a_stalled_line_drops_are_counted, reset),
		cmocka_unit_test_setup(a_flooding_guest_keeps_to_its_share_of_the_line, reset),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
