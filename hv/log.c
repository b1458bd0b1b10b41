#include "log.h"

#include "lib/fmt.h"
#include "lib/spinlock.h"
#include "lib/str.h"

static const char *const level_prefix[] = { "hv: error: ", "hv: warning: ", "hv: ", "hv: debug: " };

/* A line that is kept but not sent to the console starts with this byte, which readers never see. */
#define UNSHOWN '\001'

static char ring[LOG_RING_SIZE];
static uint64_t ring_head; /* bytes ever written; ring[head % size] is next */
static uint64_t sent;      /* bytes of the ring the console's line has taken */
static uint64_t lost;      /* bytes the line fell too far behind to send */
static uint64_t lost_total;
static uint64_t line_dropped; /* bytes the sink dropped, its line stalled */
static log_sink_fn console_sink;
static struct spinlock lock; /* one line at a time, whichever CPU logs it */
static enum log_level max_level = LOG_INFO;
static volatile int guests_muted;
/* An attached guest's output left the line inside one of its lines: a log line starts a new one. */
static int guest_mid_line;

/* The new line is sent what the log holds and no line has taken yet: the lines logged before it existed too. */
void log_set_sink(log_sink_fn sink)
{
	spin_lock(&lock);
	console_sink = sink;
	guest_mid_line = 0;
	spin_unlock(&lock);
}

void log_set_level(enum log_level level)
{
	max_level = level;
}

int log_enabled(enum log_level level)
{
	return level <= max_level;
}

void log_mute_guests(int mute)
{
	guests_muted = mute;
}

static void ring_append(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		ring[(ring_head + i) % LOG_RING_SIZE] = text[i];
	ring_head += len;
}

/* With the lock held: text to the line; with wait all of it goes, what a stalled line dropped counted. */
static size_t sink(const char *text, size_t len, int wait)
{
	size_t out = console_sink(text, len, wait);

	if (!wait)
		return out;
	line_dropped += len - (out < len ? out : len);
	return len;
}

/* The first line start at or after pos (pos itself if a line starts there), or the ring's head. */
static uint64_t line_start_from(uint64_t pos)
{
	if (pos == 0 || ring[(pos - 1) % LOG_RING_SIZE] == '\n')
		return pos;
	for (; pos < ring_head; pos++)
		if (ring[pos % LOG_RING_SIZE] == '\n')
			return pos + 1;
	return ring_head;
}

/* Oldest position a reader may start from: the first line start kept whole. */
static uint64_t oldest_line(void)
{
	if (ring_head <= LOG_RING_SIZE)
		return 0;
	/* The byte before the ring's oldest is overwritten: a line starts only after a newline within it. */
	return line_start_from(ring_head - LOG_RING_SIZE + 1);
}

/* With the lock held: the line skips the unsent lines before pos, counting them as not shown. */
static void skip_unsent(uint64_t pos)
{
	lost += pos - sent;
	lost_total += pos - sent;
	sent = pos;
}

/* The bytes from pos to the end of its line (or of what is written), not wrapping the ring. */
static size_t line_chunk(uint64_t pos)
{
	size_t start = (size_t)(pos % LOG_RING_SIZE), n = 0;

	while (pos + n < ring_head && start + n < LOG_RING_SIZE)
		if (ring[start + n++] == '\n')
			break;
	return n;
}

/* With the lock held, at a line's start: says how much the line could not show. */
static void report_lost(void)
{
	char note[96];
	int n = fmt(note, sizeof(note), "hv: (the console fell behind: %llu bytes of log not shown; 'log' has them)\n",
		    (unsigned long long)lost);

	lost = 0;
	sink(note, (size_t)n, 1);
}

/*
 * How long drain() may wait for the line: not at all (a CPU that logs),
 * for the note of what was lost only (the console's turn), or for all.
 */
enum drain_wait { WAIT_NEVER, WAIT_FOR_NOTE, WAIT_ALL };

/*
 * With the lock held: sends the ring's unsent bytes, a line's worth at a
 * time, skipping lines kept unshown; without wait, only what the line
 * takes now. A line that fell a whole ring behind skips to the oldest
 * line kept, and says so.
 */
static void drain(enum drain_wait wait)
{
	if (!console_sink)
		return;
	if (ring_head - sent > LOG_RING_SIZE)
		skip_unsent(oldest_line());
	while (sent < ring_head) {
		size_t n = line_chunk(sent), taken;
		int line_start = sent == 0 || ring[(sent - 1) % LOG_RING_SIZE] == '\n';
		if (line_start && ring[sent % LOG_RING_SIZE] == UNSHOWN) {
			while (n && ring[(sent + n - 1) % LOG_RING_SIZE] != '\n' && sent + n < ring_head)
				n += line_chunk(sent + n);
			sent += n;
			continue;
		}
		if (line_start && guest_mid_line) {
			if (!sink("\n", 1, wait == WAIT_ALL))
				return; /* the line is busy */
			guest_mid_line = 0;
		}
		if (line_start && lost) {
			if (wait == WAIT_NEVER)
				return; /* the console's turn says it */
			report_lost();
		}
		taken = sink(ring + sent % LOG_RING_SIZE, n, wait == WAIT_ALL);
		sent += taken;
		if (taken < n)
			return; /* the line is busy: the rest goes later */
	}
}

void log_pump(void)
{
	spin_lock(&lock);
	drain(WAIT_FOR_NOTE);
	spin_unlock(&lock);
}

void log_flush(void)
{
	spin_lock(&lock);
	drain(WAIT_ALL);
	spin_unlock(&lock);
}

void log_console_write(const char *text, size_t len)
{
	spin_lock(&lock);
	/*
	 * The operator waits for this: behind a backlog a flooding guest made,
	 * the line shows the last lines only, and says how much it left out.
	 */
	if (console_sink && ring_head - sent > LOG_CONSOLE_BACKLOG)
		skip_unsent(line_start_from(ring_head - LOG_CONSOLE_BACKLOG));
	drain(WAIT_ALL);
	guest_mid_line = 0; /* the console's own output takes the line over */
	if (console_sink)
		sink(text, len, 1);
	spin_unlock(&lock);
}

size_t log_console_try_write(const char *text, size_t len)
{
	size_t taken = len; /* no line: nothing waits */

	spin_lock(&lock);
	if (console_sink) {
		drain(WAIT_NEVER);
		taken = sent == ring_head ? sink(text, len, 0) : 0;
		if (taken)
			guest_mid_line = text[taken - 1] != '\n';
	}
	spin_unlock(&lock);
	return taken;
}

/* With the lock held: whether a guest's line of n bytes is in its share of the line, counted if so. */
static int within_budget(struct log_budget *b, size_t n)
{
	if (!b || !console_sink)
		return 1;
	if (sent >= b->shown_end)
		b->pending = 0; /* the line took all it logged */
	if (b->pending + n > LOG_GUEST_BUDGET) {
		b->dropped++;
		return 0;
	}
	b->pending += (uint32_t)n;
	return 1;
}

/* With the lock held: after a guest's line, how many of its lines were dropped before it. */
static void note_dropped(struct log_budget *b)
{
	char note[128];
	int n;

	if (b->dropped) {
		n = fmt(note, sizeof(note), "hv: partition %s: %u lines dropped: over its share of the console\n",
			b->owner, b->dropped);
		b->dropped = 0;
		ring_append(note, (size_t)n);
	}
	b->shown_end = ring_head;
}

static void log_line(struct log_budget *budget, enum log_level level, int shown, const char *f, va_list ap)
{
	static const char cut[] = "...\n";
	char line[LOG_LINE_MAX + 1];
	char *text = line + 1; /* line[0]: room for the unshown mark */
	size_t n = (size_t)fmt(text, LOG_LINE_MAX, "%s", level_prefix[level]);

	if (!log_enabled(level))
		return;
	n += (size_t)fmt_v(text + n, LOG_LINE_MAX - n, f, ap);
	if (n + 2 > LOG_LINE_MAX) { /* too long: mark the cut instead of losing the newline */
		n = LOG_LINE_MAX - sizeof(cut);
		str_copy(text + n, sizeof(cut), cut, sizeof(cut) - 1);
		n += sizeof(cut) - 1;
	} else {
		text[n++] = '\n';
	}
	spin_lock(&lock);
	if (!within_budget(budget, n)) {
		spin_unlock(&lock);
		return;
	}
	if (!shown) {
		line[0] = UNSHOWN;
		text = line;
		n++;
	}
	ring_append(text, n);
	if (budget)
		note_dropped(budget);
	drain(WAIT_NEVER);
	spin_unlock(&lock);
}

void log_msg(enum log_level level, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	log_line(0, level, 1, f, ap);
	va_end(ap);
}

void log_guest(struct log_budget *budget, int shown, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	log_line(budget, LOG_INFO, shown && !guests_muted, f, ap);
	va_end(ap);
}

uint64_t log_dropped(void)
{
	return lost_total;
}

uint64_t log_line_dropped(void)
{
	return line_dropped;
}

size_t log_read_line(uint64_t *cursor, char *line, size_t size)
{
	size_t n = 0;
	char c = 0;

	spin_lock(&lock);
	if (*cursor > ring_head || ring_head - *cursor > LOG_RING_SIZE)
		*cursor = oldest_line();
	while (*cursor < ring_head && c != '\n') {
		c = ring[(*cursor)++ % LOG_RING_SIZE];
		if (c != UNSHOWN && n + 1 < size)
			line[n++] = c;
	}
	spin_unlock(&lock);
	line[n] = 0;
	return n;
}

enum log_level log_line_level(const char *line)
{
	int level;

	/* The longer prefixes first: "hv: " begins every line. */
	for (level = LOG_DEBUG; level >= LOG_ERROR; level--)
		if (level != LOG_INFO && str_eq_n(line, str_len(level_prefix[level]), level_prefix[level]))
			return (enum log_level)level;
	return LOG_INFO;
}

size_t log_read(uint64_t *cursor, char *buf, size_t size)
{
	size_t n = 0;

	spin_lock(&lock);
	if (*cursor > ring_head || ring_head - *cursor > LOG_RING_SIZE)
		*cursor = oldest_line();
	while (*cursor < ring_head && n < size) {
		char c = ring[(*cursor)++ % LOG_RING_SIZE];
		if (c != UNSHOWN)
			buf[n++] = c;
	}
	spin_unlock(&lock);
	return n;
}
