#include "console.h"

#include <stdarg.h>

#include "lib/byte_ring.h"
#include "lib/fmt.h"
#include "lib/str.h"
#include "line_edit.h"

#define PROMPT "hv> "
#define CONFIRM_PROMPT_MAX 96
#define KEYS_PER_POLL 64 /* attached: the operator's bytes read a turn */
#define RX_KEEP (BYTE_RING_SIZE / 2) /* attached: bytes left in the receive ring for a guest that reads */

static const struct console_io *out;

void console_set_io(const struct console_io *io)
{
	out = io;
}

/* prefix, then the text (a line's worth: what does not fit is cut). */
static void print_v(const char *prefix, const char *f, va_list ap)
{
	char buf[256];
	size_t n = str_len(prefix);

	str_copy(buf, sizeof(buf), prefix, n);
	n += (size_t)fmt_v(buf + n, sizeof(buf) - n, f, ap);
	if (out)
		out->write(buf, n < sizeof(buf) ? n : sizeof(buf) - 1);
}

void console_print(const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	print_v("", f, ap);
	va_end(ap);
}

void console_error(const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	print_v("error: ", f, ap);
	va_end(ap);
}

void console_put(const char *text, size_t len)
{
	if (out)
		out->write(text, len);
}

static const struct console_command *command_table;
static console_name_fn *partition_name;

/* 'help' is built in: it needs the whole table. */
static const struct console_command help_command = {
	"help", "list the commands, or show one command's usage, options and an example",
	"help [COMMAND]", 0, "help stop", { { 0 } }, ARG_COMMAND, 0, 1, 0,
};

static const struct console_command *find_command(const struct console_command *commands, const char *name,
						  size_t len)
{
	const struct console_command *c;

	for (c = commands; c && c->name; c++)
		if (str_eq_n(name, len, c->name))
			return c;
	return str_eq_n(name, len, help_command.name) ? &help_command : 0;
}

static const struct console_option *find_option(const struct console_command *c, char letter)
{
	const struct console_option *o;

	for (o = c->options; o->letter; o++)
		if (o->letter == letter)
			return o;
	return 0;
}

int console_flag(const struct console_args *a, char letter)
{
	const struct console_option *o = find_option(a->cmd, letter);

	return o && a->given[o - a->cmd->options];
}

uint64_t console_number(const struct console_args *a, char letter, uint64_t dflt)
{
	const struct console_option *o = find_option(a->cmd, letter);

	return o && a->given[o - a->cmd->options] ? a->value[o - a->cmd->options] : dflt;
}

static void show_options(const struct console_command *c)
{
	const struct console_option *o;
	char name[24];

	if (c->options[0].letter)
		console_print("options:\n");
	for (o = c->options; o->letter; o++) {
		fmt(name, sizeof(name), "-%c %s", o->letter, o->value ? o->value : "");
		console_print("  %-12s %s", name, o->help);
		if (o->value)
			console_print(" (%llu to %llu)", (unsigned long long)o->min, (unsigned long long)o->max);
		console_print("\n");
	}
}

static void show_command_help(const struct console_command *c)
{
	console_print("usage: %s\n%s\n", c->usage, c->summary);
	if (c->details)
		console_print("%s\n", c->details);
	show_options(c);
	console_print("example: %s\n", c->example);
}

static void show_help(const struct console_command *commands, const struct console_args *a)
{
	const struct console_command *c;

	if (a->nargs) {
		show_command_help(find_command(commands, a->arg[0], str_len(a->arg[0])));
		return;
	}
	for (c = commands; c->name; c++)
		console_print("  %-10s %s\n", c->name, c->summary);
	console_print("  %-10s %s\n", help_command.name, help_command.summary);
}

/* A decimal number from min to max; 0, or -1 if the text is not one. */
static int parse_number(const char *text, const struct console_option *o, uint64_t *value)
{
	uint64_t v = 0;

	if (!*text)
		return -1;
	for (; *text; text++) {
		if (*text < '0' || *text > '9' || v > (o->max - (uint64_t)(*text - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*text - '0');
	}
	if (v < o->min)
		return -1;
	*value = v;
	return 0;
}

static int is_level(const char *w)
{
	return str_eq(w, "error") || str_eq(w, "warn") || str_eq(w, "info") || str_eq(w, "debug");
}

static int is_partition(const char *w)
{
	const char *name;
	size_t i;

	for (i = 0; partition_name && (name = partition_name(i)) != 0; i++)
		if (str_eq(name, w))
			return 1;
	return 0;
}

/* Why word is not an argument of kind, printed; 0 if it is one. */
static int refuse_arg(const struct console_command *commands, const struct console_command *c, const char *w)
{
	switch (c->arg) {
	case ARG_PARTITION:
		if (is_partition(w))
			return 0;
		console_error("%s: no partition named '%s'; 'list' shows them\n", c->name, w);
		return -1;
	case ARG_COMMAND:
		if (find_command(commands, w, str_len(w)))
			return 0;
		console_error("%s: no command named '%s'; 'help' lists them\n", c->name, w);
		return -1;
	case ARG_LEVEL:
		if (is_level(w))
			return 0;
		console_error("%s: '%s' is not a log level: error, warn, info or debug\n", c->name, w);
		return -1;
	default:
		return 0;
	}
}

static int usage_error(const struct console_command *c)
{
	console_print("usage: %s ('help %s' says more)\n", c->usage, c->name);
	return -1;
}

/* Option word w (and its value, the next word, if it takes one); the words it used, or -1 printed. */
static int take_option(struct console_args *a, char *w, char *next)
{
	const struct console_command *c = a->cmd;
	const struct console_option *o = find_option(c, w[1]);
	char *value = w + 2;

	if (!o || (!o->value && *value)) {
		console_error("%s: unknown option '%s'\n", c->name, w);
		return usage_error(c);
	}
	a->given[o - c->options] = 1;
	if (!o->value)
		return 1;
	if (!*value && !next) {
		console_error("%s: -%c needs a value (%s)\n", c->name, o->letter, o->value);
		return usage_error(c);
	}
	if (!*value)
		value = next;
	if (parse_number(value, o, &a->value[o - c->options])) {
		console_error("%s: -%c: '%s' is not a number from %llu to %llu\n", c->name, o->letter, value,
			      (unsigned long long)o->min, (unsigned long long)o->max);
		return -1;
	}
	return value == next ? 2 : 1;
}

/* The words after the command's name, checked; 0, or -1 with the reason printed. */
static int parse_args(const struct console_command *commands, struct console_args *a, char **w, size_t n)
{
	const struct console_command *c = a->cmd;
	size_t i = 0;
	int used;

	while (i < n) {
		if (w[i][0] == '-' && w[i][1]) {
			used = take_option(a, w[i], i + 1 < n ? w[i + 1] : 0);
			if (used < 0)
				return -1;
			i += (size_t)used;
			continue;
		}
		if (a->nargs == c->max_args) {
			console_error("%s: too many arguments: '%s'\n", c->name, w[i]);
			return usage_error(c);
		}
		if (refuse_arg(commands, c, w[i]))
			return -1;
		a->arg[a->nargs++] = w[i++];
	}
	if (a->nargs < c->min_args) {
		console_error("%s: missing %s\n", c->name, c->arg == ARG_PARTITION ? "the partition's NAME" : "an argument");
		return usage_error(c);
	}
	return 0;
}

/* Cuts a copy of the line into words at its spaces; the number of words. */
static size_t split_words(char *line, char **w, size_t max)
{
	size_t n = 0;

	while (*line) {
		while (*line == ' ')
			*line++ = 0;
		if (!*line)
			break;
		if (n == max)
			return max + 1;
		w[n++] = line;
		while (*line && *line != ' ')
			line++;
	}
	return n;
}

#define WORDS_MAX (1 + 2 * CONSOLE_OPTIONS_MAX + CONSOLE_ARGS_MAX)

void console_execute(const struct console_command *commands, const char *typed)
{
	static struct console_args a;
	char *w[WORDS_MAX];
	size_t n;

	a = (struct console_args){ 0 };
	str_copy(a.words, sizeof(a.words), typed, str_len(typed));
	n = split_words(a.words, w, WORDS_MAX);
	if (n == 0)
		return;
	a.cmd = find_command(commands, w[0], str_len(w[0]));
	if (!a.cmd) {
		console_error("unknown command '%s'; 'help' lists the commands\n", w[0]);
		return;
	}
	if (n > WORDS_MAX) {
		console_error("%s: too many words\n", a.cmd->name);
		usage_error(a.cmd);
		return;
	}
	if (parse_args(commands, &a, w + 1, n - 1))
		return;
	if (a.cmd == &help_command)
		show_help(commands, &a);
	else
		a.cmd->run(&a);
}

static struct line_edit editor;

static void write_out(void *ctx, const char *text, size_t len)
{
	(void)ctx;
	console_put(text, len);
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
	line_edit_init(&editor, &ops, PROMPT);
	line_edit_start(&editor);
}

static const struct console_attach *attached;

/* The attached guest's output taken from it that the line has not taken yet: shown[shown_off..shown_n). */
static char shown[64];
static size_t shown_n, shown_off;

void console_attach(const struct console_attach *a)
{
	attached = a;
	shown_n = shown_off = 0;
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
 * A few lines' worth of the guest's output per turn, and only what the line
 * takes without waiting: CPU 0 runs vCPUs too, and a line that does not
 * drain (a slow terminal, a far end that does not read) must not hold it;
 * the guest's output waits in its ring meanwhile. Writing it with waits
 * here once held CPU 0 on the UART while a terminal that was typing did not
 * read, the 64 KiB an attach shows first coming at once.
 */
static void show_guest_output(void)
{
	unsigned turns;

	for (turns = 0; turns < 4; turns++) {
		if (shown_off == shown_n) {
			shown_n = attached->output(attached->ctx, shown, sizeof(shown));
			shown_off = 0;
		}
		if (shown_n == 0)
			return;
		shown_off += out->try_write(shown + shown_off, shown_n - shown_off);
		if (shown_off < shown_n)
			return; /* the line is busy */
	}
}

/*
 * Whether to leave the operator's bytes in the line's receive ring: the
 * held bytes are full, the guest is reading (the ring is less than half
 * full), and the escape is not among them. Past that, a guest that does
 * not read its UART loses what is typed, as on a serial line, and the
 * escape is looked for all the same.
 */
static int leave_in_ring(void)
{
	return held_n == sizeof(held) && out->waiting() < RX_KEEP && !out->holds(CONSOLE_ESCAPE);
}

/* Attached: keystrokes to the guest until the escape, then its output to the terminal. */
static void poll_attached(void)
{
	size_t n;
	int c;

	feed_guest();
	for (n = 0; n < KEYS_PER_POLL && !leave_in_ring() && (c = out->read()) >= 0; n++) {
		if (c == CONSOLE_ESCAPE) {
			detach();
			return;
		}
		if (held_n < sizeof(held))
			held[held_n++] = (char)c;
	}
	feed_guest();
	show_guest_output();
}

static void (*confirmed)(void); /* a question waits for its answer: what "yes" does */
static char confirm_prompt[CONFIRM_PROMPT_MAX];

void console_confirm(const char *question, void (*yes)(void))
{
	fmt(confirm_prompt, sizeof(confirm_prompt), "%s [y/N] ", question);
	confirmed = yes;
}

static void answer(const char *line)
{
	void (*yes)(void) = confirmed;

	confirmed = 0;
	editor.prompt = PROMPT;
	while (*line == ' ')
		line++;
	if (str_eq(line, "y") || str_eq(line, "yes"))
		yes();
	else
		console_error("not done\n");
}

static void run_line(const char *line)
{
	if (confirmed)
		answer(line);
	else
		console_execute(command_table, line);
	if (confirmed)
		editor.prompt = confirm_prompt;
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
		run_line(line);
		if (attached)
			return; /* the command attached to a guest: no prompt */
		line_edit_start(&editor);
	}
}
