/* The console's command parser: dispatch, arguments, unknown commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "console.h"
#include "line_edit.h"

static char out[1024];
static size_t out_len;
static char last_args[LINE_EDIT_MAX]; /* a copy: the console's own is gone once the command returns */
static int runs;

static void capture(const char *text, size_t len)
{
	memcpy(out + out_len, text, len);
	out_len += len;
	out[out_len] = 0;
}

static const char *input; /* bytes the operator types, consumed by read_input */

static int read_input(void)
{
	return input && *input ? (unsigned char)*input++ : -1;
}

static void cmd_show(const char *args)
{
	snprintf(last_args, sizeof(last_args), "%s", args);
	runs++;
}

static const struct console_command commands[] = {
	{ "show", "show a thing", cmd_show },
	{ "shower", "a longer name sharing a prefix", cmd_show },
	{ NULL, NULL, NULL },
};

static const struct console_io io = { capture, read_input };

static int reset(void **state)
{
	(void)state;
	out_len = 0;
	out[0] = 0;
	last_args[0] = 0;
	runs = 0;
	input = NULL;
	console_set_io(&io);
	return 0;
}

static void runs_the_named_command_with_its_arguments(void **state)
{
	(void)state;
	console_execute(commands, "  show   log 3  ");
	assert_int_equal(runs, 1);
	assert_string_equal(last_args, "log 3");
	assert_int_equal(out_len, 0);
}

static void prefixes_do_not_match(void **state)
{
	(void)state;
	console_execute(commands, "sho");
	assert_int_equal(runs, 0);
	assert_string_equal(out, "unknown command 'sho'; 'help' lists the commands\n");
}

static void empty_lines_do_nothing(void **state)
{
	(void)state;
	console_execute(commands, "");
	console_execute(commands, "    ");
	assert_int_equal(runs, 0);
	assert_int_equal(out_len, 0);
}

static void help_lists_every_command(void **state)
{
	(void)state;
	console_execute(commands, "help");
	assert_non_null(strstr(out, "show       show a thing\n"));
	assert_non_null(strstr(out, "shower     a longer name"));
	assert_non_null(strstr(out, "help       list the commands\n"));
}

static void typed_lines_are_echoed_edited_and_run(void **state)
{
	(void)state;
	console_start(&io, commands, NULL);
	assert_string_equal(out, "hv> ");
	input = "shoX\x7fw a";
	console_poll(); /* returns when nothing more waits: the line is not complete */
	assert_int_equal(runs, 0);
	assert_string_equal(out, "hv> shoX\b\x1b[Kw a");
	input = "b\r";
	console_poll();
	assert_int_equal(runs, 1);
	assert_string_equal(last_args, "ab");
	assert_string_equal(out, "hv> shoX\b\x1b[Kw ab\nhv> ");
}

static void control_bytes_are_dropped_and_overlong_lines_refused(void **state)
{
	char longline[LINE_EDIT_MAX + 40];

	(void)state;
	console_start(&io, commands, NULL);
	memset(longline, 'a', sizeof(longline) - 2);
	memcpy(longline, "show ", 5);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = 0;
	input = "\x04\x80";
	console_poll();
	assert_string_equal(out, "hv> ");
	input = longline;
	console_poll();
	assert_int_equal(runs, 0); /* not a cut-down command */
	assert_non_null(strstr(out, "\nline too long (max 127)\nhv> "));
	input = "show 1\r";
	console_poll();
	assert_int_equal(runs, 1);
	assert_string_equal(last_args, "1");
}

static const char *partition(size_t index)
{
	static const char *const names[] = { "web", "db", NULL };

	return index < 2 ? names[index] : NULL;
}

static void tab_completes_commands_and_partition_names(void **state)
{
	(void)state;
	console_start(&io, commands, partition);
	input = "he\td\t\r";
	console_poll();
	assert_memory_equal(out, "hv> help db \n", 13);
	out_len = 0;
	input = "sh\t";
	console_poll();
	assert_non_null(strstr(out, "\nshow  shower\n"));
	input = " w\t\r";
	console_poll();
	assert_int_equal(runs, 1);
	assert_string_equal(last_args, "web"); /* Tab's trailing space is no part of it */
}

/* An attached guest whose receive FIFO takes `room` bytes a poll. */
static char taken[2048];
static size_t taken_n, room;
static int detaches;

static size_t guest_takes(void *ctx, const char *bytes, size_t n)
{
	(void)ctx;
	if (n > room)
		n = room;
	memcpy(taken + taken_n, bytes, n);
	taken_n += n;
	return n;
}

static size_t guest_says_nothing(void *ctx, char *buf, size_t size)
{
	(void)ctx;
	(void)buf;
	(void)size;
	return 0;
}

static void guest_detached(void *ctx)
{
	(void)ctx;
	detaches++;
}

static const struct console_attach guest = { guest_takes, guest_says_nothing, guest_detached, NULL };

static void attach_with(size_t fifo)
{
	console_start(&io, commands, NULL);
	console_attach(&guest);
	taken_n = 0;
	detaches = 0;
	room = fifo;
}

/* A terminal's burst longer than the guest's FIFO reaches it whole and in order, as it drains. */
static void attached_input_waits_for_the_guest_to_take_it(void **state)
{
	char burst[300 + 1];
	unsigned i;

	(void)state;
	for (i = 0; i < 300; i++)
		burst[i] = (char)('a' + i % 26);
	burst[300] = 0;
	attach_with(16);
	input = burst;
	for (i = 0; i < 40; i++)
		console_poll();
	assert_int_equal(taken_n, 300);
	assert_memory_equal(taken, burst, 300);
	assert_int_equal(detaches, 0);
}

/* A guest that takes nothing: the escape still returns; past what is held, bytes are lost. */
static void escape_works_while_the_guest_takes_nothing(void **state)
{
	static char flood[CONSOLE_HELD + 200 + 2];

	(void)state;
	memset(flood, 'x', CONSOLE_HELD + 200);
	flood[CONSOLE_HELD + 200] = CONSOLE_ESCAPE;
	attach_with(0);
	input = flood;
	while (*input)
		console_poll();
	assert_int_equal(detaches, 1);
	assert_int_equal(taken_n, 0);
	console_attach(&guest); /* attached again, nothing of the old burst is left */
	room = 64;
	console_poll();
	assert_int_equal(taken_n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(runs_the_named_command_with_its_arguments, reset),
		cmocka_unit_test_setup(prefixes_do_not_match, reset),
		cmocka_unit_test_setup(empty_lines_do_nothing, reset),
		cmocka_unit_test_setup(help_lists_every_command, reset),
		cmocka_unit_test_setup(typed_lines_are_echoed_edited_and_run, reset),
		cmocka_unit_test_setup(control_bytes_are_dropped_and_overlong_lines_refused, reset),
		cmocka_unit_test_setup(tab_completes_commands_and_partition_names, reset),
		cmocka_unit_test_setup(attached_input_waits_for_the_guest_to_take_it, reset),
		cmocka_unit_test_setup(escape_works_while_the_guest_takes_nothing, reset),
	};

	return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}
