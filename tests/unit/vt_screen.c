#include "vt_screen.h"

#include <string.h>

void vt_reset(struct vt_screen *s)
{
	memset(s, 0, sizeof(*s));
}

static void newline(struct vt_screen *s)
{
	memcpy(s->above, s->row, sizeof(s->row));
	memset(s->row, 0, sizeof(s->row));
	s->col = 0;
	s->rows++;
}

static void put_char(struct vt_screen *s, char c)
{
	size_t len = strlen(s->row);

	if (s->col >= VT_COLUMNS) {
		s->bad = 1;
		return;
	}
	while (len < s->col)
		s->row[len++] = ' ';
	s->row[s->col++] = c;
}

static void csi_final(struct vt_screen *s, char c)
{
	size_t n = s->arg ? s->arg : 1;

	s->esc = 0;
	if (c == 'K')
		memset(s->row + s->col, 0, sizeof(s->row) - s->col);
	else if (c == 'C')
		s->col = s->col + n < VT_COLUMNS ? s->col + n : VT_COLUMNS - 1;
	else if (c == 'D')
		s->col = n < s->col ? s->col - n : 0;
	else
		s->bad = 1;
}

static void feed_byte(struct vt_screen *s, char c)
{
	if (s->esc == 1) {
		s->esc = c == '[' ? 2 : 0;
		s->arg = 0;
		s->bad |= c != '[';
	} else if (s->esc == 2) {
		if (c >= '0' && c <= '9' && s->arg < 100000)
			s->arg = s->arg * 10 + (size_t)(c - '0');
		else
			csi_final(s, c);
	} else if (c == 0x1b) {
		s->esc = 1;
	} else if (c == '\r') {
		s->col = 0;
	} else if (c == '\n') {
		newline(s);
	} else if (c == '\b') {
		s->col -= s->col > 0;
	} else if (c == '\a') {
		s->bells++;
	} else if (c >= 0x20 && c < 0x7f) {
		put_char(s, c);
	} else {
		s->bad = 1;
	}
}

void vt_feed(struct vt_screen *s, const char *bytes, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		feed_byte(s, bytes[i]);
}

int vt_shows(const struct vt_screen *s, const char *prompt, const char *line, size_t cursor)
{
	size_t p = strlen(prompt);

	return !s->bad && s->esc == 0 && strncmp(s->row, prompt, p) == 0 && strcmp(s->row + p, line) == 0 &&
	       s->col == p + cursor;
}
