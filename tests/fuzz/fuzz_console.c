/*
 * libFuzzer target: the console fed arbitrary bytes, its lines checked
 * against the real command table (hv/command_table.c). A command runs only
 * with what its entry allows: its argument count, arguments that are
 * words of the line (partition names among the partitions), option
 * values within their ranges; every other line is refused with a message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "console.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *input;
static size_t input_left;

static void discard(const char *text, size_t len)
{
	(void)text;
	(void)len;
}

static size_t discard_now(const char *text, size_t len)
{
	(void)text;
	return len;
}

static int read_input(void)
{
	if (!input_left)
		return -1;
	input_left--;
	return *input++;
}

static size_t input_waiting(void)
{
	return input_left;
}

static int input_holds(uint8_t byte)
{
	return memchr(input, byte, input_left) != NULL;
}

static const char *partition(size_t index)
{
	static const char *const names[] = { "web", "db", NULL };

	return index < 2 ? names[index] : NULL;
}

static int is_partition(const char *w)
{
	return strcmp(w, "web") == 0 || strcmp(w, "db") == 0;
}

static void check(const struct console_args *a)
{
	const struct console_command *c = a->cmd;
	const struct console_option *o;
	unsigned i;

	if (!c || a->nargs < c->min_args || a->nargs > c->max_args)
		abort();
	for (i = 0; i < a->nargs; i++)
		if (!a->arg[i][0] || strchr(a->arg[i], ' ') || (c->arg == ARG_PARTITION && !is_partition(a->arg[i])))
			abort();
	for (o = c->options; o->letter; o++)
		if (o->value && console_flag(a, o->letter) &&
		    (console_number(a, o->letter, 0) < o->min || console_number(a, o->letter, 0) > o->max))
			abort();
}

#define CHECK(name) void cmd_##name(const struct console_args *a) { check(a); }
CHECK(list) CHECK(info) CHECK(start) CHECK(stop) CHECK(restart) CHECK(pause) CHECK(resume) CHECK(console)
CHECK(log) CHECK(stats) CHECK(cpus) CHECK(mem) CHECK(disks) CHECK(diskbench) CHECK(net) CHECK(config) CHECK(version) CHECK(reboot)
CHECK(poweroff)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct console_io io = { discard, discard_now, read_input, input_waiting, input_holds };

	input = data;
	input_left = size;
	console_start(&io, console_commands, partition);
	console_poll();
	return 0;
}
