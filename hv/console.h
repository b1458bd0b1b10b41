/* The operator's console on the serial line: a prompt and a few commands. */
#ifndef HV_CONSOLE_H
#define HV_CONSOLE_H

#include <stddef.h>

struct console_io {
	void (*write)(const char *text, size_t len);
	int (*read)(void); /* the next byte received, or -1 if none is waiting */
};

struct console_command {
	const char *name;
	const char *help;
	void (*run)(const char *args);
};

/* Prints text through the console's writer; for commands' output. */
void console_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Runs one command line (as long as the line editor's at most): the first
 * word picks the command, the rest, less the spaces at its end, is its
 * argument text. Unknown commands get a message naming "help".
 */
void console_execute(const struct console_command *commands, const char *line);

/* The index-th name, or NULL past the last. */
typedef const char *console_name_fn(size_t index);

/*
 * Takes io, the commands and the partitions' names (for Tab; may be
 * NULL), and shows the prompt.
 */
void console_start(const struct console_io *io, const struct console_command *commands,
		   console_name_fn *names);

/*
 * Attached to a guest: the operator's bytes go to input() (all of them,
 * control bytes included) but for CONSOLE_ESCAPE, which ends the attach
 * (detached() is called, the prompt comes back); what output() yields is
 * written out at each poll. input() says how many bytes the guest took;
 * the console holds the rest (CONSOLE_HELD of them) for the next poll, as
 * a terminal's burst comes faster than a guest's receive FIFO drains.
 */
#define CONSOLE_ESCAPE 0x1d /* Ctrl-] */
#define CONSOLE_HELD 512
struct console_attach {
	size_t (*input)(void *ctx, const char *bytes, size_t n);
	size_t (*output)(void *ctx, char *buf, size_t size);
	void (*detached)(void *ctx);
	void *ctx;
};
void console_attach(const struct console_attach *a);

/* Takes the bytes waiting through the line editor (or to the attached guest), running each line completed; never waits. */
void console_poll(void);

void console_set_io(const struct console_io *io);

#endif
