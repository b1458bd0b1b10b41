/*
 * The console's line editor: keystroke bytes in, the edited line and the
 * bytes that show it on a VT100 terminal out. It does no I/O of its own:
 * what it shows goes through ops->write, so it runs on the host too.
 */
#ifndef HV_LINE_EDIT_H
#define HV_LINE_EDIT_H

#include <stddef.h>

#define LINE_EDIT_MAX 128      /* a line with its NUL */
#define LINE_EDIT_HISTORY 32   /* lines kept for Up/Down */
#define LINE_EDIT_ESC_MAX 16   /* parameter bytes of a CSI sequence kept; longer ones are dropped */

struct line_edit_ops {
	void (*write)(void *ctx, const char *text, size_t len);
	/*
	 * Tab completion: the index-th candidate for the word numbered `word`
	 * (0 is the command), or NULL past the last. May be NULL.
	 */
	const char *(*candidate)(void *ctx, size_t word, size_t index);
	void *ctx;
};

enum line_edit_escape { ESC_NONE, ESC_START, ESC_CSI, ESC_SS3 };

struct line_edit {
	const struct line_edit_ops *ops;
	const char *prompt;
	char line[LINE_EDIT_MAX]; /* printable ASCII, NUL-ended */
	size_t len, cursor;
	int too_long;             /* input was refused for want of room since the line was last empty */
	int after_cr;             /* the last byte was CR: an LF now ends no second line */
	enum line_edit_escape escape;
	char params[LINE_EDIT_ESC_MAX];
	size_t nparams;           /* may exceed LINE_EDIT_ESC_MAX: then the sequence is dropped */
	char history[LINE_EDIT_HISTORY][LINE_EDIT_MAX];
	size_t history_count, history_next;
	size_t recalled;          /* 0: the line being typed; k: the k-th latest history line */
	char draft[LINE_EDIT_MAX]; /* the line being typed, kept while history is shown */
	int draft_too_long;
};

void line_edit_init(struct line_edit *e, const struct line_edit_ops *ops, const char *prompt);

/* Shows the prompt and starts an empty line. */
void line_edit_start(struct line_edit *e);

/*
 * Takes one byte of input. Returns the line when Enter ends it (the
 * caller runs it, then calls line_edit_start for the next one), else NULL.
 */
const char *line_edit_key(struct line_edit *e, int byte);

#endif
