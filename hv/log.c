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
static log_sink_fn console_sink;
static struct spinlock lock; /* one line at a time, whichever CPU logs it */
static enum log_level max_level = LOG_INFO;
static volatile int guests_muted;

/* The new line is sent what the log holds and no line has taken yet: the lines logged before it existed too. */
void log_set_sink(log_sink_fn sink)
{
	spin_lock(&lock);
	console_sink = sink;
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

/* Oldest position a reader may start from: the first line start kept whole. */
static uint64_t oldest_line(void)
{
	uint64_t pos;

	if (ring_head <= LOG_RING_SIZE)
		return 0;
	for (pos = ring_head - LOG_RING_SIZE; pos < ring_head; pos++)
		if (ring[pos % LOG_RING_SIZE] == '\n')
			return pos + 1;
	return ring_head;
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
	console_sink(note, (size_t)n, 1);
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
	if (ring_head - sent > LOG_RING_SIZE) {
		uint64_t resume = oldest_line();
		lost += resume - sent;
		sent = resume;
	}
	while (sent < ring_head) {
		size_t n = line_chunk(sent), taken;
		int line_start = sent == 0 || ring[(sent - 1) % LOG_RING_SIZE] == '\n';
		if (line_start && ring[sent % LOG_RING_SIZE] == UNSHOWN) {
			while (n && ring[(sent + n - 1) % LOG_RING_SIZE] != '\n' && sent + n < ring_head)
				n += line_chunk(sent + n);
			sent += n;
			continue;
		}
		if (line_start && lost) {
			if (wait == WAIT_NEVER)
				return; /* the console's turn says it */
			report_lost();
		}
		taken = console_sink(ring + sent % LOG_RING_SIZE, n, wait == WAIT_ALL);
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
	drain(WAIT_ALL);
	if (console_sink)
		console_sink(text, len, 1);
	spin_unlock(&lock);
}

static void log_line(enum log_level level, int shown, const char *f, va_list ap)
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
	if (!shown) {
		line[0] = UNSHOWN;
		text = line;
		n++;
	}
	spin_lock(&lock);
	ring_append(text, n);
	drain(WAIT_NEVER);
	spin_unlock(&lock);
}

void log_msg(enum log_level level, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	log_line(level, 1, f, ap);
	va_end(ap);
}

void log_guest(int shown, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	log_line(LOG_INFO, shown && !guests_muted, f, ap);
	va_end(ap);
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
