/*
 * A model of the few VT100 terminal features the line editor may use:
 * printable text, CR, LF, backspace, bell, CSI K and CSI n C / D. Tests
 * feed it what the editor writes and ask what the terminal would show.
 */
#ifndef TEST_VT_SCREEN_H
#define TEST_VT_SCREEN_H

#include <stddef.h>

#define VT_COLUMNS 1024

struct vt_screen {
	char row[VT_COLUMNS + 1];   /* the cursor's row, NUL-ended */
	char above[VT_COLUMNS + 1]; /* the row before it */
	size_t col;
	int bells, rows;            /* rows: how many LFs */
	int bad;                    /* it got a byte or sequence outside the set above */
	int esc;                    /* 0; 1 after ESC; 2 in CSI */
	size_t arg;
};

void vt_reset(struct vt_screen *s);
void vt_feed(struct vt_screen *s, const char *bytes, size_t len);

/* 1 when the cursor's row is exactly prompt + line with the cursor `cursor` characters into the line. */
int vt_shows(const struct vt_screen *s, const char *prompt, const char *line, size_t cursor);

#endif
