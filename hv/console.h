/* The operator's console on the serial line: a prompt and a few commands. */
#ifndef HV_CONSOLE_H
#define HV_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "line_edit.h"

struct console_io {
	void (*write)(const char *text, size_t len);
	/* What the line takes now, after what waits before it; never waits. Returns the bytes of text taken. */
	size_t (*try_write)(const char *text, size_t len);
	int (*read)(void); /* the next byte received, or -1 if none is waiting */
	size_t (*waiting)(void);  /* bytes received and not read yet */
	int (*holds)(uint8_t byte); /* whether byte is among them */
};

#define CONSOLE_OPTIONS_MAX 3
#define CONSOLE_ARGS_MAX 2

/* An option: a letter alone (a flag) or a letter and a number from min to max. */
struct console_option {
	char letter;            /* 0: no more options */
	const char *value;      /* the value's name in the usage (SECONDS); NULL: a flag */
	uint64_t min, max;
	const char *help;
};

/* What a command's words after its options are: checked before it runs. */
enum console_arg_kind {
	ARG_TEXT,      /* anything */
	ARG_PARTITION, /* a partition's name (console_start's names) */
	ARG_COMMAND,   /* a command's name */
	ARG_LEVEL,     /* a log level: error, warn, info or debug */
};

struct console_args;

struct console_command {
	const char *name;
	const char *summary;    /* one line, for 'help' */
	const char *usage;      /* "stop [-f] [-t SECONDS] NAME" */
	const char *details;    /* for 'help NAME': what it does, in full; may be NULL */
	const char *example;
	struct console_option options[CONSOLE_OPTIONS_MAX + 1];
	enum console_arg_kind arg;
	unsigned min_args, max_args; /* at most CONSOLE_ARGS_MAX */
	void (*run)(const struct console_args *a);
};

/* A command line as checked against its command's table entry. */
struct console_args {
	const struct console_command *cmd;
	unsigned nargs;
	const char *arg[CONSOLE_ARGS_MAX];
	int given[CONSOLE_OPTIONS_MAX];     /* per option of cmd, in its order */
	uint64_t value[CONSOLE_OPTIONS_MAX];
	char words[LINE_EDIT_MAX];          /* the line, cut into words that arg[] points into */
};

/* Whether option letter was given. */
int console_flag(const struct console_args *a, char letter);
/* Option letter's number, or dflt if it was not given. */
uint64_t console_number(const struct console_args *a, char letter, uint64_t dflt);

/* Prints text through the console's writer; for commands' output. */
void console_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A refusal: the line is "error: " and the message, the mark scripts
 * (tools/hvctl) take a refused command by.
 */
void console_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Text of any length, as it is. */
void console_put(const char *text, size_t len);

/*
 * Runs one command line (as long as the line editor's at most): the first
 * word picks the command; its options and arguments are checked against
 * its table entry, and a line that does not fit gets a message with the
 * command's usage instead of a run. "help" and "help COMMAND" are built
 * in. Unknown commands get a message naming "help".
 */
void console_execute(const struct console_command *commands, const char *line);

/*
 * Asks question with "[y/N]"; the operator's next line answers it: yes()
 * runs on "y" or "yes", anything else is a "not done".
 */
void console_confirm(const char *question, void (*yes)(void));

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
 * written out at each poll, as much as the line takes without waiting (the
 * rest waits for the next poll, the guest's further output in its ring).
 * input() says how many bytes the guest took; the console holds the rest
 * (CONSOLE_HELD of them) for the next poll, as a terminal's burst comes
 * faster than a guest's receive FIFO drains; past those, what was typed
 * waits in the line's receive ring (a pasted line of a few KiB arrives
 * whole) until the ring is half full or the escape is among its bytes.
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
