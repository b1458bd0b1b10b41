/*
 * The console's command parser: dispatch, unknown commands, the line
 * editor's lines run, and every command of the real table (commands.h)
 * with every kind of argument error it can meet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "commands.h"
#include "console.h"
#include "line_edit.h"

static char out[8192];
static size_t out_len;
static char last_args[LINE_EDIT_MAX]; /* a copy: the console's own is gone once the command returns */
static int runs;

static void capture(const char *text, size_t len)
{
	memcpy(out + out_len, text, len);
	out_len += len;
	out[out_len] = 0;
}

static size_t line_room = SIZE_MAX; /* bytes the line takes without waiting, per call */
static unsigned waited_writes;

static size_t capture_now(const char *text, size_t len)
{
	size_t n = len < line_room ? len : line_room;

	capture(text, n);
	return n;
}

static const char *input; /* bytes the operator types, consumed by read_input */

static int read_input(void)
{
	return input && *input ? (unsigned char)*input++ : -1;
}

static size_t input_waiting(void)
{
	return input ? strlen(input) : 0;
}

static int input_holds(uint8_t byte)
{
	return input && strchr(input, byte) != NULL;
}

static const struct console_args *last; /* valid while the command runs */
static const struct console_command *last_cmd;
static int last_forced;
static uint64_t last_timeout;

/* Records what a command was given: its words, as one line, and its options. */
static void record(const struct console_args *a)
{
	size_t n = 0;
	unsigned i;

	last = a;
	last_cmd = a->cmd;
	last_args[0] = 0;
	for (i = 0; i < a->nargs; i++)
		n += (size_t)snprintf(last_args + n, sizeof(last_args) - n, "%s%s", i ? " " : "", a->arg[i]);
	last_forced = console_flag(a, 'f');
	last_timeout = console_number(a, 't', 30);
	runs++;
}

static void cmd_show(const struct console_args *a)
{
	record(a);
}

static const struct console_command commands[] = {
	{ "show", "show a thing", "show [ARG...]", NULL, "show log 3", { { 0 } }, ARG_TEXT, 0, 2, cmd_show },
	{ "shower", "a longer name sharing a prefix", "shower", NULL, "shower", { { 0 } }, ARG_TEXT, 0, 2, cmd_show },
	{ 0 },
};

/* The real commands' functions (hv/commands.c), here only recording. */
#define STUB(name) void cmd_##name(const struct console_args *a) { record(a); }
STUB(list) STUB(info) STUB(start) STUB(stop) STUB(restart) STUB(pause) STUB(resume) STUB(console) STUB(log)
STUB(stats) STUB(cpus) STUB(mem) STUB(disks) STUB(diskbench) STUB(net) STUB(config) STUB(version) STUB(reboot) STUB(poweroff)

static void capture_waiting(const char *text, size_t len)
{
	waited_writes++;
	capture(text, len);
}

static const struct console_io io = { capture_waiting, capture_now, read_input, input_waiting, input_holds };

static const char *partition(size_t index)
{
	static const char *const names[] = { "web", "db", NULL };

	return index < 2 ? names[index] : NULL;
}

static int reset(void **state)
{
	(void)state;
	out_len = 0;
	out[0] = 0;
	line_room = SIZE_MAX;
	waited_writes = 0;
	last_args[0] = 0;
	last_cmd = NULL;
	runs = 0;
	input = NULL;
	console_start(&io, commands, partition);
	out_len = 0;
	out[0] = 0;
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
	assert_string_equal(out, "error: unknown command 'sho'; 'help' lists the commands\n");
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
	assert_non_null(strstr(out, "help       list the commands, or show one command's usage"));
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
	input = "\x1d";
	console_poll();
	assert_int_equal(detaches, 1); /* the tests after this one find the prompt */
}

/* A pasted line of 2000 bytes, four times what the console holds, waits in the line's ring and arrives whole. */
static void a_long_paste_waits_in_the_receive_ring(void **state)
{
	static char paste[2000 + 1];
	unsigned i;

	(void)state;
	for (i = 0; i < 2000; i++)
		paste[i] = (char)('A' + i % 26);
	attach_with(16);
	input = paste;
	for (i = 0; i < 200 && taken_n < 2000; i++)
		console_poll();
	assert_int_equal(taken_n, 2000);
	assert_memory_equal(taken, paste, 2000);
	input = "\x1d";
	console_poll();
	assert_int_equal(detaches, 1);
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
	input = "\x1d";
	console_poll();
	assert_int_equal(detaches, 2);
}

/* A guest with much to say: its output from a cursor, as hv/vdev/uart.c's ring gives it. */
static char said[3000];
static size_t said_cursor;

static size_t guest_says(void *ctx, char *buf, size_t size)
{
	size_t n = sizeof(said) - said_cursor;

	(void)ctx;
	if (n > size)
		n = size;
	memcpy(buf, said + said_cursor, n);
	said_cursor += n;
	return n;
}

/*
 * The guest's output goes out only as fast as the line takes it without
 * waiting (CPU 0 must never spin on a line that does not drain): nothing
 * is lost or reordered, a line that takes nothing gets nothing, and the
 * escape still works meanwhile.
 */
static void guest_output_goes_as_fast_as_the_line_takes_it(void **state)
{
	static const struct console_attach talker = { guest_takes, guest_says, guest_detached, NULL };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(said); i++)
		said[i] = (char)('A' + i % 26);
	said_cursor = 0;
	console_start(&io, commands, NULL);
	console_attach(&talker);
	detaches = 0;
	out_len = 0;
	waited_writes = 0;
	line_room = 0; /* a far end that does not read */
	for (i = 0; i < 20; i++)
		console_poll();
	assert_int_equal(out_len, 0);
	line_room = 7; /* a slow one */
	for (i = 0; i < 10; i++) {
		size_t before = out_len;
		console_poll();
		assert_true(out_len - before <= 7 * 4); /* a few tries per turn, none waited for */
	}
	line_room = SIZE_MAX;
	while (out_len < sizeof(said))
		console_poll();
	assert_int_equal(out_len, sizeof(said));
	assert_memory_equal(out, said, sizeof(said));
	assert_int_equal(waited_writes, 0);
	line_room = 0;
	input = "\x1d";
	console_poll();
	assert_int_equal(detaches, 1);
}

/* ---- the real table */

static void run_real(const char *line)
{
	out_len = 0;
	out[0] = 0;
	runs = 0;
	last_cmd = NULL;
	console_execute(console_commands, line);
}

/* The line is refused with this message and the command's usage, and nothing runs. */
static void assert_refused(const char *line, const char *message)
{
	run_real(line);
	if (runs || strncmp(out, "error: ", 7) || !strstr(out, message))
		fail_msg("'%s': expected \"error: %s\", got \"%s\" (%d runs)", line, message, out, runs);
}

static void every_command_has_help_with_usage_and_an_example_that_runs(void **state)
{
	const struct console_command *c;
	char line[64];

	(void)state;
	for (c = console_commands; c->name; c++) {
		snprintf(line, sizeof(line), "help %s", c->name);
		run_real(line);
		assert_int_equal(runs, 0);
		assert_true(strncmp(out, "usage: ", 7) == 0);
		assert_non_null(strstr(out, c->usage));
		assert_non_null(strstr(out, c->summary));
		assert_non_null(strstr(out, c->example));
		assert_true(strncmp(c->example, c->name, strlen(c->name)) == 0);
		run_real(c->example);
		if (runs != 1 || last_cmd != c)
			fail_msg("the example '%s' of %s does not run it: %s", c->example, c->name, out);
		assert_int_equal(out_len, 0);
	}
	run_real("help help");
	assert_non_null(strstr(out, "usage: help [COMMAND]\n"));
	run_real("help");
	for (c = console_commands; c->name; c++)
		assert_non_null(strstr(out, c->name));
}

static void help_shows_options_with_their_ranges(void **state)
{
	(void)state;
	run_real("help stop");
	assert_non_null(strstr(out, "usage: stop [-f] [-t SECONDS] NAME\n"));
	assert_non_null(strstr(out, "  -f           force it off at once"));
	assert_non_null(strstr(out, "  -t SECONDS   how long the guest has to power off (default 30) (1 to 3600)\n"));
	assert_non_null(strstr(out, "example: stop -t 60 web\n"));
	assert_refused("help frob", "help: no command named 'frob'; 'help' lists them\n");
	assert_refused("help stop start", "help: too many arguments: 'start'\nusage: help [COMMAND]");
}

static void every_command_refuses_unknown_options_and_extra_words(void **state)
{
	const struct console_command *c;
	char line[128], message[128];
	unsigned i;

	(void)state;
	for (c = console_commands; c->name; c++) {
		snprintf(line, sizeof(line), "%s -Z", c->name);
		snprintf(message, sizeof(message), "%s: unknown option '-Z'\nusage: %s ('help %s' says more)\n", c->name,
			 c->usage, c->name);
		assert_refused(line, message);
		/* As many words as it takes, then one more. */
		snprintf(line, sizeof(line), "%s", c->name);
		for (i = 0; i <= c->max_args; i++)
			strcat(line, c->arg == ARG_PARTITION ? " web" : c->arg == ARG_LEVEL ? " warn" : " x");
		snprintf(message, sizeof(message), "%s: too many arguments: '%s'\n", c->name,
			 c->arg == ARG_PARTITION ? "web" : c->arg == ARG_LEVEL ? "warn" : "x");
		assert_refused(line, message);
	}
}

static void commands_of_a_partition_need_one_that_exists(void **state)
{
	const struct console_command *c;
	char line[128], message[160];

	(void)state;
	for (c = console_commands; c->name; c++) {
		if (c->arg != ARG_PARTITION)
			continue;
		snprintf(line, sizeof(line), "%s nosuch", c->name);
		snprintf(message, sizeof(message), "%s: no partition named 'nosuch'; 'list' shows them\n", c->name);
		assert_refused(line, message);
		if (c->min_args == 0)
			continue;
		snprintf(message, sizeof(message), "%s: missing the partition's NAME\nusage: %s", c->name, c->usage);
		assert_refused(c->name, message);
		snprintf(line, sizeof(line), "%s  db ", c->name);
		run_real(line);
		assert_int_equal(runs, 1);
		assert_string_equal(last_args, "db");
	}
}

/* Each numeric option: missing, not a number, below, above, overflowing; then in range, before or after NAME. */
static void numeric_options_are_checked(void **state)
{
	const struct console_command *c;
	const struct console_option *o;
	char line[160], message[160];
	const char *const bad[] = { "abc", "1x", "-1", "99999999999999999999999", "" };
	unsigned i;

	(void)state;
	for (c = console_commands; c->name; c++) {
		for (o = c->options; o->letter; o++) {
			const char *tail = c->min_args ? " web" : "";
			if (!o->value)
				continue;
			snprintf(line, sizeof(line), "%s -%c", c->name, o->letter);
			snprintf(message, sizeof(message), "%s: -%c needs a value (%s)\n", c->name, o->letter, o->value);
			assert_refused(line, message);
			for (i = 0; i < 4; i++) {
				snprintf(line, sizeof(line), "%s -%c %s%s", c->name, o->letter, bad[i], tail);
				snprintf(message, sizeof(message), "%s: -%c: '%s' is not a number from %llu to %llu\n", c->name,
					 o->letter, bad[i], (unsigned long long)o->min, (unsigned long long)o->max);
				assert_refused(line, message);
			}
			snprintf(line, sizeof(line), "%s -%c %llu%s", c->name, o->letter, (unsigned long long)o->min - 1, tail);
			snprintf(message, sizeof(message), "is not a number from %llu to", (unsigned long long)o->min);
			assert_refused(line, message);
			snprintf(line, sizeof(line), "%s -%c %llu%s", c->name, o->letter, (unsigned long long)o->max + 1, tail);
			assert_refused(line, message);
			snprintf(line, sizeof(line), "%s%s -%c%llu", c->name, tail, o->letter, (unsigned long long)o->max);
			run_real(line);
			assert_int_equal(runs, 1);
			assert_int_equal(console_number(last, o->letter, 0), o->max);
		}
	}
}

static void stop_takes_its_options_anywhere(void **state)
{
	(void)state;
	run_real("stop web");
	assert_int_equal(runs, 1);
	assert_false(last_forced);
	assert_int_equal(last_timeout, 30); /* the default the command gives */
	run_real("stop -t 5 web");
	assert_int_equal(last_timeout, 5);
	run_real("restart web -f");
	assert_true(last_forced);
	assert_string_equal(last_args, "web");
	assert_refused("stop -fx web", "stop: unknown option '-fx'\n");
	assert_refused("stop -- web", "stop: unknown option '--'\n");
	run_real("list -j");
	assert_int_equal(runs, 1);
	assert_true(console_flag(last, 'j'));
	assert_false(console_flag(last, 'f')); /* not one of its options */
}

static void log_takes_a_level_and_a_count(void **state)
{
	(void)state;
	run_real("log -n 20 warn");
	assert_int_equal(runs, 1);
	assert_string_equal(last_args, "warn");
	assert_int_equal(console_number(last, 'n', 0), 20);
	assert_refused("log loud", "log: 'loud' is not a log level: error, warn, info or debug\n");
	assert_refused("log -n 0", "log: -n: '0' is not a number from 1 to 100000\n");
}

static void a_line_of_too_many_words_is_refused(void **state)
{
	(void)state;
	assert_refused("stop a b c d e f g h i j k", "stop: too many words\nusage: stop");
	assert_refused("version \x01", "version: too many arguments");
}

static int answered;

static void yes(void)
{
	answered++;
}

static void cmd_ask(const struct console_args *a)
{
	(void)a;
	console_confirm("really?", yes);
}

static const struct console_command asking[] = {
	{ "ask", "asks", "ask", NULL, "ask", { { 0 } }, ARG_TEXT, 0, 0, cmd_ask },
	{ 0 },
};

static void a_question_takes_the_next_line_as_its_answer(void **state)
{
	(void)state;
	answered = 0;
	console_start(&io, asking, NULL);
	input = "ask\r";
	console_poll();
	assert_non_null(strstr(out, "ask\nreally? [y/N] "));
	input = "ask\r"; /* an answer, not a command */
	console_poll();
	assert_int_equal(answered, 0);
	assert_non_null(strstr(out, "really? [y/N] ask\nerror: not done\nhv> "));
	input = "ask\ryes\r";
	console_poll();
	assert_int_equal(answered, 1);
	input = "ask\r\r";
	console_poll();
	assert_int_equal(answered, 1); /* Enter alone: no */
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
		cmocka_unit_test_setup(a_long_paste_waits_in_the_receive_ring, reset),
		cmocka_unit_test_setup(guest_output_goes_as_fast_as_the_line_takes_it, reset),
		cmocka_unit_test_setup(escape_works_while_the_guest_takes_nothing, reset),
		cmocka_unit_test_setup(every_command_has_help_with_usage_and_an_example_that_runs, reset),
		cmocka_unit_test_setup(help_shows_options_with_their_ranges, reset),
		cmocka_unit_test_setup(every_command_refuses_unknown_options_and_extra_words, reset),
		cmocka_unit_test_setup(commands_of_a_partition_need_one_that_exists, reset),
		cmocka_unit_test_setup(numeric_options_are_checked, reset),
		cmocka_unit_test_setup(stop_takes_its_options_anywhere, reset),
		cmocka_unit_test_setup(log_takes_a_level_and_a_count, reset),
		cmocka_unit_test_setup(a_line_of_too_many_words_is_refused, reset),
		cmocka_unit_test_setup(a_question_takes_the_next_line_as_its_answer, reset),
	};

	return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}
