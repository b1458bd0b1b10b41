/* The operator's console on the serial line: a prompt and a few commands. */
#ifndef HV_CONSOLE_H
#define HV_CONSOLE_H

#include <stddef.h>

#define CONSOLE_LINE_MAX 128

struct console_io {
	void (*write)(const char *text, size_t len);
	int (*read)(void); /* waits for the next byte */
};

struct console_command {
	const char *name;
	const char *help;
	void (*run)(const char *args);
};

/* Prints text through the console's writer; for commands' output. */
void console_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Runs one command line: the first word picks the command, the rest is
 * its argument text. Unknown commands get a message naming "help".
 */
void console_execute(const struct console_command *commands, const char *line);

/* Reads lines forever, with echo and backspace, and runs them. */
void __attribute__((noreturn)) console_run(const struct console_io *io,
					   const struct console_command *commands);

void console_set_io(const struct console_io *io);

#endif
