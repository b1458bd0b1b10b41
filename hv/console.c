#include "console.h"

#include <stdarg.h>

#include "lib/fmt.h"
#include "lib/str.h"
#include "line_edit.h"

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

void console_execute(const struct console_command *commands, const char *typed)
{
	const struct console_command *c;
	char line[LINE_EDIT_MAX];
	size_t word, args, len;

	while (*typed == ' ')
		typed++;
	/* Without the spaces at its end, such as the one Tab completion leaves. */
	for (len = str_len(typed); len && typed[len - 1] == ' '; len--)
		;
	str_copy(line, sizeof(line), typed, len);
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

static const struct console_command *command_table;
static console_name_fn *partition_name;
static struct line_edit editor;

static void write_out(void *ctx, const char *text, size_t len)
{
	(void)ctx;
	if (out)
		out->write(text, len);
}

/* Tab's candidates: the commands for the first word, partition names for the others. */
static const char *candidate(void *ctx, size_t word, size_t index)
{
	size_t n;

	(void)ctx;
	if (word > 0)
		return partition_name ? partition_name(index) : 0;
	for (n = 0; command_table[n].name; n++)
		if (n == index)
			return command_table[n].name;
	return index == n ? "help" : 0;
}

void console_start(const struct console_io *io, const struct console_command *commands,
		   console_name_fn *names)
{
	static const struct line_edit_ops ops = { write_out, candidate, 0 };

	console_set_io(io);
	command_table = commands;
	partition_name = names;
	line_edit_init(&editor, &ops, "hv> ");
	line_edit_start(&editor);
}

static const struct console_attach *attached;

void console_attach(const struct console_attach *a)
{
	attached = a;
}

/* The operator's bytes the attached guest has not taken yet, oldest first. */
static char held[CONSOLE_HELD];
static size_t held_n;

static void feed_guest(void)
{
	size_t taken = held_n ? attached->input(attached->ctx, held, held_n) : 0;

	if (taken > held_n)
		taken = held_n;
	held_n -= taken;
	__builtin_memmove(held, held + taken, held_n);
}

static void detach(void)
{
	feed_guest();
	held_n = 0; /* what the guest never took goes with the attach */
	attached->detached(attached->ctx);
	attached = 0;
	console_print("\r\n");
	line_edit_start(&editor);
}

/*
 * Attached: keystrokes to the guest until the escape, then its output to
 * the terminal. The escape is looked for even while the guest takes
 * nothing: past what is held, the bytes of a guest that does not read its
 * UART are lost, as on a serial line.
 */
static void poll_attached(void)
{
	char buf[64];
	size_t n;
	int c;

	feed_guest();
	for (n = 0; n < sizeof(buf) && (c = out->read()) >= 0; n++) {
		if (c == CONSOLE_ESCAPE) {
			detach();
			return;
		}
		if (held_n < sizeof(held))
			held[held_n++] = (char)c;
	}
	feed_guest();
	/* A few lines' worth per turn: CPU 0 runs guests too, and the serial line is slow. */
	for (c = 0; c < 4 && (n = attached->output(attached->ctx, buf, sizeof(buf))) > 0; c++)
		out->write(buf, n);
}

void console_poll(void)
{
	const char *line;
	int c;

	if (out && attached) {
		poll_attached();
		return;
	}
	while (out && (c = out->read()) >= 0) {
		line = line_edit_key(&editor, c);
		if (!line)
			continue;
		console_execute(command_table, line);
		if (attached)
			return; /* the command attached to a guest: no prompt */
		line_edit_start(&editor);
	}
}
