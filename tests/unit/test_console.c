/* The console's command parser: dispatch, arguments, unknown commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "console.h"

static char out[1024];
static size_t out_len;
static const char *last_args;
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
	last_args = args;
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
	last_args = NULL;
	runs = 0;
	input = NULL;
	console_set_io(&io);
	return 0;
}

static void runs_the_named_command_with_its_arguments(void **state)
{
	(void)state;
	console_execute(commands, "  show   log 3");
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
	console_start(&io, commands);
	assert_string_equal(out, "hv> ");
	input = "shoX\x7fw a";
	console_poll(); /* returns when nothing more waits: the line is not complete */
	assert_int_equal(runs, 0);
	assert_string_equal(out, "hv> shoX\b \bw a");
	input = "b\r";
	console_poll();
	assert_int_equal(runs, 1);
	assert_string_equal(last_args, "ab");
	assert_string_equal(out, "hv> shoX\b \bw ab\nhv> ");
}

static void control_bytes_and_overlong_lines_are_dropped(void **state)
{
	char longline[CONSOLE_LINE_MAX + 40];

	(void)state;
	console_start(&io, commands);
	memset(longline, 'a', sizeof(longline) - 2);
	memcpy(longline, "show ", 5);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = 0;
	input = "\x01\x1b";
	console_poll();
	assert_string_equal(out, "hv> ");
	input = longline;
	console_poll();
	assert_int_equal(runs, 1);
	assert_int_equal(strlen(last_args), CONSOLE_LINE_MAX - 1 - 5); /* kept what fits */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(runs_the_named_command_with_its_arguments, reset),
		cmocka_unit_test_setup(prefixes_do_not_match, reset),
		cmocka_unit_test_setup(empty_lines_do_nothing, reset),
		cmocka_unit_test_setup(help_lists_every_command, reset),
		cmocka_unit_test_setup(typed_lines_are_echoed_edited_and_run, reset),
		cmocka_unit_test_setup(control_bytes_and_overlong_lines_are_dropped, reset),
	};

	return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}
