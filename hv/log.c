#include "log.h"

#include "lib/fmt.h"
#include "lib/spinlock.h"
#include "lib/str.h"

static const char *const level_prefix[] = { "hv: error: ", "hv: warning: ", "hv: ", "hv: debug: " };

static char ring[LOG_RING_SIZE];
static uint64_t ring_head; /* bytes ever written; ring[head % size] is next */
static log_sink_fn console_sink;
static struct spinlock lock; /* one line at a time, whichever CPU logs it */
static enum log_level max_level = LOG_INFO;
static volatile int guests_muted;

void log_set_sink(log_sink_fn sink)
{
	console_sink = sink;
}

void log_set_level(enum log_level level)
{
	max_level = level;
}

int log_enabled(enum log_level level)
{
	return level <= max_level;
}

static void ring_append(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		ring[(ring_head + i) % LOG_RING_SIZE] = text[i];
	ring_head += len;
}

void log_mute_guests(int mute)
{
	guests_muted = mute;
}

static void log_line(enum log_level level, int shown, const char *f, va_list ap)
{
	static const char cut[] = "...\n";
	char line[LOG_LINE_MAX];
	size_t n = (size_t)fmt(line, sizeof(line), "%s", level_prefix[level]);

	if (!log_enabled(level))
		return;
	n += (size_t)fmt_v(line + n, sizeof(line) - n, f, ap);
	if (n + 2 > sizeof(line)) { /* too long: mark the cut instead of losing the newline */
		n = sizeof(line) - sizeof(cut);
		str_copy(line + n, sizeof(cut), cut, sizeof(cut) - 1);
		n += sizeof(cut) - 1;
	} else {
		line[n++] = '\n';
	}
	spin_lock(&lock);
	ring_append(line, n);
	if (console_sink && shown)
		console_sink(line, n);
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

size_t log_read(uint64_t *cursor, char *buf, size_t size)
{
	size_t n = 0;

	spin_lock(&lock);
	if (*cursor > ring_head || ring_head - *cursor > LOG_RING_SIZE)
		*cursor = oldest_line();
	while (*cursor < ring_head && n < size)
		buf[n++] = ring[(*cursor)++ % LOG_RING_SIZE];
	spin_unlock(&lock);
	return n;
}
