/*
 * libFuzzer target: the console's line editor fed arbitrary keystrokes.
 * The line stays printable ASCII within its buffer, the cursor within the
 * line, and a VT100 terminal fed the editor's output shows exactly the
 * prompt and the line, the cursor in place, after every byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "line_edit.h"
#include "../unit/vt_screen.h"

#define PROMPT "hv> "

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct line_edit editor;
static struct vt_screen screen;

static void show(void *ctx, const char *text, size_t len)
{
	(void)ctx;
	vt_feed(&screen, text, len);
}

static const char *candidate(void *ctx, size_t word, size_t index)
{
	static const char *const commands[] = { "list", "log", "start", "stop", NULL };
	static const char *const names[] = {
		"alpha", "alpine", "\x7f\xff", "",
		"a-partition-name-long-enough-that-completing-it-twice-or-more-overflows-the-editor-line-buffer",
		NULL,
	};

	(void)ctx;
	return word == 0 ? commands[index] : names[index];
}

static const struct line_edit_ops ops = { show, candidate, NULL };

static void check_line(const char *line)
{
	size_t i, len = strlen(line);

	if (len >= LINE_EDIT_MAX)
		abort();
	for (i = 0; i < len; i++)
		if (line[i] < 0x20 || line[i] >= 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line;
	size_t i;

	vt_reset(&screen);
	line_edit_init(&editor, &ops, PROMPT);
	line_edit_start(&editor);
	for (i = 0; i < size; i++) {
		line = line_edit_key(&editor, data[i]);
		if (line) {
			check_line(line);
			line_edit_start(&editor);
		}
		check_line(editor.line);
		if (editor.len != strlen(editor.line) || editor.cursor > editor.len ||
		    !vt_shows(&screen, PROMPT, editor.line, editor.cursor))
			abort();
	}
	return 0;
}
