#include "line_edit.h"

#include "lib/fmt.h"
#include "lib/str.h"

#define CTRL(c) ((c) & 0x1f)
#define ESC 0x1b
#define DEL 0x7f

static int printable(int c)
{
	return c >= 0x20 && c < DEL;
}

static void put(struct line_edit *e, const char *text, size_t len)
{
	if (len)
		e->ops->write(e->ops->ctx, text, len);
}

static void put_str(struct line_edit *e, const char *text)
{
	put(e, text, str_len(text));
}

static void bell(struct line_edit *e)
{
	put(e, "\a", 1);
}

/* One column is a backspace; more are CSI n D, as short as VT100 allows. */
static void move_left(struct line_edit *e, size_t n)
{
	char seq[24];

	if (n == 1)
		put(e, "\b", 1);
	else if (n > 1)
		put(e, seq, (size_t)fmt(seq, sizeof(seq), "\x1b[%zuD", n));
}

static void move_right(struct line_edit *e, size_t n)
{
	char seq[24];

	if (n)
		put(e, seq, (size_t)fmt(seq, sizeof(seq), "\x1b[%zuC", n));
}

/*
 * Shows the line from `from` on, the terminal's cursor being at `from`,
 * then puts the cursor back where the editor has it. `erased` says the
 * line got shorter, so what is left beyond its end must be cleared.
 */
static void show_tail(struct line_edit *e, size_t from, int erased)
{
	put(e, e->line + from, e->len - from);
	if (erased)
		put_str(e, "\x1b[K");
	move_left(e, e->len - e->cursor);
}

/* The whole line again, prompt first: after a listing, or when it changed whole. */
static void redraw(struct line_edit *e)
{
	put(e, "\r", 1);
	put_str(e, e->prompt);
	show_tail(e, 0, 1);
}

static void move_to(struct line_edit *e, size_t pos)
{
	if (pos < e->cursor)
		move_left(e, e->cursor - pos);
	else
		move_right(e, pos - e->cursor);
	e->cursor = pos;
}

/*
 * Puts text in at the cursor without showing it. The first text that
 * finds no room rings the bell; the rest of a long paste rings no more.
 */
static void add(struct line_edit *e, const char *text, size_t n)
{
	size_t room = LINE_EDIT_MAX - 1 - e->len;

	if (n > room) {
		n = room;
		if (!e->too_long)
			bell(e);
		e->too_long = 1;
	}
	__builtin_memmove(e->line + e->cursor + n, e->line + e->cursor, e->len - e->cursor + 1);
	__builtin_memcpy(e->line + e->cursor, text, n);
	e->len += n;
	e->cursor += n;
}

static void insert(struct line_edit *e, const char *text, size_t n)
{
	size_t at = e->cursor;

	add(e, text, n);
	show_tail(e, at, 0);
}

/* Removes [from, to) of the line; the cursor is within it. */
static void erase(struct line_edit *e, size_t from, size_t to)
{
	if (from >= to)
		return;
	move_left(e, e->cursor - from);
	__builtin_memmove(e->line + from, e->line + to, e->len - to + 1);
	e->len -= to - from;
	e->cursor = from;
	if (!e->len)
		e->too_long = 0; /* nothing is left of what did not fit */
	show_tail(e, from, 1);
}

/* Where the word before pos starts, spaces after it skipped. */
static size_t word_before(const struct line_edit *e, size_t pos)
{
	while (pos && e->line[pos - 1] == ' ')
		pos--;
	while (pos && e->line[pos - 1] != ' ')
		pos--;
	return pos;
}

static void replace_line(struct line_edit *e, const char *text)
{
	str_copy(e->line, sizeof(e->line), text, str_len(text));
	e->len = e->cursor = str_len(e->line);
	redraw(e);
}

static const char *history_line(const struct line_edit *e, size_t k)
{
	return e->history[(e->history_next + LINE_EDIT_HISTORY - k) % LINE_EDIT_HISTORY];
}

static int blank(const char *s)
{
	while (*s == ' ')
		s++;
	return !*s;
}

static void remember(struct line_edit *e)
{
	if (blank(e->line) || (e->history_count && str_eq(history_line(e, 1), e->line)))
		return;
	str_copy(e->history[e->history_next], LINE_EDIT_MAX, e->line, e->len);
	e->history_next = (e->history_next + 1) % LINE_EDIT_HISTORY;
	if (e->history_count < LINE_EDIT_HISTORY)
		e->history_count++;
}

/* Shows history line k (0: the line being typed); the history itself is never edited. */
static void recall(struct line_edit *e, size_t k)
{
	if (e->recalled == 0) {
		str_copy(e->draft, sizeof(e->draft), e->line, e->len);
		e->draft_too_long = e->too_long;
	}
	e->recalled = k;
	e->too_long = k ? 0 : e->draft_too_long;
	replace_line(e, k ? history_line(e, k) : e->draft);
}

static void older(struct line_edit *e)
{
	if (e->recalled < e->history_count)
		recall(e, e->recalled + 1);
	else
		bell(e);
}

static void newer(struct line_edit *e)
{
	if (e->recalled > 0)
		recall(e, e->recalled - 1);
	else
		bell(e);
}

/* A candidate fits when it is printable text that starts with the prefix. */
static int candidate_fits(const char *c, const char *prefix, size_t len)
{
	size_t i;

	for (i = 0; c[i]; i++)
		if (i >= LINE_EDIT_MAX || !printable(c[i]))
			return 0;
	return i >= len && __builtin_memcmp(c, prefix, len) == 0;
}

static size_t count_words(const char *s, size_t len)
{
	size_t i, words = 0;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && (i == 0 || s[i - 1] == ' '))
			words++;
	return words;
}

struct matches {
	const char *first;
	size_t count, common; /* how many fit, and the length all of them share */
};

/* Goes through the candidates for a word; lists those that fit when `show`. */
static struct matches find_matches(struct line_edit *e, size_t word, const char *prefix, size_t len,
				   int show)
{
	struct matches m = { 0, 0, 0 };
	const char *c;
	size_t i, n;

	for (i = 0; (c = e->ops->candidate(e->ops->ctx, word, i)); i++) {
		if (!candidate_fits(c, prefix, len))
			continue;
		if (show) {
			put_str(e, m.count ? "  " : "\n");
			put_str(e, c);
		}
		if (m.count++ == 0) {
			m.first = c;
			m.common = str_len(c);
		}
		for (n = 0; n < m.common && c[n] == m.first[n]; n++)
			;
		m.common = n;
	}
	return m;
}

/*
 * Tab: one fitting candidate completes the word (and a space follows);
 * several are listed, and the line comes back with what they share.
 */
static void complete(struct line_edit *e)
{
	size_t start = e->cursor, len;
	struct matches m;

	while (start && e->line[start - 1] != ' ')
		start--;
	len = e->cursor - start;
	m = find_matches(e, count_words(e->line, start), e->line + start, len, 0);
	if (m.count == 0) {
		bell(e);
	} else if (m.count == 1) {
		insert(e, m.first + len, m.common - len);
		if (e->line[e->cursor] != ' ')
			insert(e, " ", 1);
	} else {
		find_matches(e, count_words(e->line, start), e->line + start, len, 1);
		put(e, "\n", 1);
		add(e, m.first + len, m.common - len);
		redraw(e);
	}
}

static void begin(struct line_edit *e)
{
	e->len = e->cursor = 0;
	e->line[0] = 0;
	e->too_long = 0;
	e->recalled = 0;
	e->escape = ESC_NONE;
}

void line_edit_start(struct line_edit *e)
{
	begin(e);
	put_str(e, e->prompt);
}

void line_edit_init(struct line_edit *e, const struct line_edit_ops *ops, const char *prompt)
{
	e->ops = ops;
	e->prompt = prompt;
	e->history_count = e->history_next = 0;
	e->after_cr = 0;
	begin(e);
}

static const char *enter(struct line_edit *e)
{
	char msg[48];

	put(e, "\n", 1);
	if (e->too_long) {
		put(e, msg, (size_t)fmt(msg, sizeof(msg), "line too long (max %d)\n", LINE_EDIT_MAX - 1));
		line_edit_start(e);
		return 0;
	}
	remember(e);
	return e->line;
}

static void letter_key(struct line_edit *e, int c)
{
	switch (c) {
	case 'A': older(e); break;
	case 'B': newer(e); break;
	case 'C': move_to(e, e->cursor < e->len ? e->cursor + 1 : e->len); break;
	case 'D': move_to(e, e->cursor ? e->cursor - 1 : 0); break;
	case 'H': move_to(e, 0); break;
	case 'F': move_to(e, e->len); break;
	default: break; /* keys the editor has no use for */
	}
}

/* CSI n ~ keys: the VT220 editing keypad, which is where xterm and the Linux console send Home, End, Delete. */
static void tilde_key(struct line_edit *e)
{
	size_t i, n = 0;

	for (i = 0; i < e->nparams && e->params[i] >= '0' && e->params[i] <= '9' && n < 100; i++)
		n = n * 10 + (size_t)(e->params[i] - '0');
	if (n == 1 || n == 7)
		move_to(e, 0);
	else if (n == 4 || n == 8)
		move_to(e, e->len);
	else if (n == 3 && e->cursor < e->len)
		erase(e, e->cursor, e->cursor + 1);
}

/*
 * Takes a byte while an escape sequence is open; returns 0 when the byte
 * cannot belong to it: the sequence is then dropped and the byte taken
 * as it comes, so that a broken sequence eats no text after it.
 */
static int continue_escape(struct line_edit *e, int c)
{
	enum line_edit_escape state = e->escape;

	e->escape = ESC_NONE;
	if (state == ESC_START && (c == '[' || c == 'O')) {
		e->escape = c == '[' ? ESC_CSI : ESC_SS3;
		e->nparams = 0;
		return 1;
	}
	if (state == ESC_CSI && c >= 0x20 && c <= 0x3f) {
		if (e->nparams < LINE_EDIT_ESC_MAX)
			e->params[e->nparams] = (char)c;
		if (e->nparams <= LINE_EDIT_ESC_MAX)
			e->nparams++;
		e->escape = ESC_CSI;
		return 1;
	}
	if (state == ESC_START || c < 0x40 || c > 0x7e)
		return 0;
	if (e->nparams > LINE_EDIT_ESC_MAX)
		return 1; /* too long to be a key: dropped whole */
	if (state == ESC_CSI && c == '~')
		tilde_key(e);
	else
		letter_key(e, c);
	return 1;
}

static void control_key(struct line_edit *e, int c)
{
	switch (c) {
	case CTRL('A'): move_to(e, 0); break;
	case CTRL('B'): letter_key(e, 'D'); break;
	case CTRL('C'):
		put_str(e, "^C\n");
		line_edit_start(e);
		break;
	case CTRL('E'): move_to(e, e->len); break;
	case CTRL('F'): letter_key(e, 'C'); break;
	case '\b':
	case DEL:
		if (e->cursor)
			erase(e, e->cursor - 1, e->cursor);
		break;
	case '\t':
		if (e->ops->candidate)
			complete(e);
		break;
	case CTRL('K'): erase(e, e->cursor, e->len); break;
	case CTRL('L'): redraw(e); break;
	case CTRL('N'): newer(e); break;
	case CTRL('P'): older(e); break;
	case CTRL('U'): erase(e, 0, e->cursor); break;
	case CTRL('W'): erase(e, word_before(e, e->cursor), e->cursor); break;
	case ESC:
		e->escape = ESC_START;
		e->nparams = 0;
		break;
	default: break; /* stray control bytes and bytes past ASCII do nothing */
	}
}

const char *line_edit_key(struct line_edit *e, int byte)
{
	int c = byte & 0xff, after_cr = e->after_cr;
	char ch = (char)c;

	e->after_cr = c == '\r';
	if (e->escape != ESC_NONE && continue_escape(e, c))
		return 0;
	if (c == '\n' && after_cr)
		return 0; /* CR LF is one Enter */
	if (c == '\r' || c == '\n')
		return enter(e);
	if (printable(c))
		insert(e, &ch, 1);
	else
		control_key(e, c);
	return 0;
}
