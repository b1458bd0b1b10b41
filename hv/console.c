#include "console.h"

#include <stdarg.h>

#include "lib/fmt.h"
#include "lib/str.h"

static const struct console_io *out;

void console_set_io(const struct console_io *io)
{
	out = io;
}

void console_print(const char *f, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, f);
	n = fmt_v(buf, sizeof(buf), f, ap);
	va_end(ap);
	if (out)
		out->write(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void show_help(const struct console_command *commands)
{
	const struct console_command *c;

	for (c = commands; c->name; c++)
		console_print("  %-10s %s\n", c->name, c->help);
	console_print("  %-10s %s\n", "help", "list the commands");
}

void console_execute(const struct console_command *commands, const char *line)
{
	const struct console_command *c;
	size_t word, args;

	while (*line == ' ')
		line++;
	for (word = 0; line[word] && line[word] != ' '; word++)
		;
	if (word == 0)
		return;
	for (args = word; line[args] == ' '; args++)
		;
	if (str_eq_n(line, word, "help")) {
		show_help(commands);
		return;
	}
	for (c = commands; c->name; c++) {
		if (str_eq_n(line, word, c->name)) {
			c->run(line + args);
			return;
		}
	}
	console_print("unknown command '%.*s'; 'help' lists the commands\n", (int)word, line);
}

/* Takes one byte of input; returns 1 when the line is complete. */
static int edit_line(char *line, size_t *len, int c)
{
	if (c == '\r' || c == '\n') {
		console_print("\n");
		line[*len] = 0;
		return 1;
	}
	if ((c == 0x7f || c == '\b') && *len) {
		(*len)--;
		console_print("\b \b");
	} else if (c >= 0x20 && c < 0x7f && *len + 1 < CONSOLE_LINE_MAX) {
		line[(*len)++] = (char)c;
		console_print("%c", c);
	}
	return 0;
}

static const struct console_command *command_table;
static char typed[CONSOLE_LINE_MAX]; /* the line being typed */
static size_t typed_len;

void console_start(const struct console_io *io, const struct console_command *commands)
{
	console_set_io(io);
	command_table = commands;
	typed_len = 0;
	console_print("hv> ");
}

void console_poll(void)
{
	int c;

	while (out && (c = out->read()) >= 0) {
		if (!edit_line(typed, &typed_len, c))
			continue;
		console_execute(command_table, typed);
		typed_len = 0;
		console_print("hv> ");
	}
}
