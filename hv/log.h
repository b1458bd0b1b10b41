/*
 * The hypervisor's log: leveled lines kept in a ring buffer that the
 * console can show later, and written to the console's serial line from
 * that ring as fast as the line takes them: a CPU that logs never waits
 * for the line (it sends what the UART takes at once, and CPU 0's console
 * turn sends the rest), so a guest that prints much is not slowed by a
 * slow line. A line written out is never cut by another: everything the
 * console writes goes through here, in order.
 */
#ifndef HV_LOG_H
#define HV_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

#define LOG_RING_SIZE (64 * 1024)
#define LOG_LINE_MAX 256
/* Log bytes the console's own output waits behind at most: the rest are dropped (counted; 'log' has them). */
#define LOG_CONSOLE_BACKLOG 2048

/*
 * The serial line: takes what it can take now and returns how much; with
 * wait, takes it all however long that takes, but for the bytes a stalled
 * line (a far end that does not read) drops: then it returns the bytes
 * that went out.
 */
typedef size_t (*log_sink_fn)(const char *text, size_t len, int wait);

void log_set_sink(log_sink_fn sink);
/* Sends what the line takes now of the lines not yet sent; never waits. */
void log_pump(void);
/* Sends every line not yet sent, waiting for the line as long as it takes. */
void log_flush(void);
/* The console's own output (a prompt, a command's answer): after every line logged before it, never in the log. */
void log_console_write(const char *text, size_t len);
/* As log_console_write, but only what the line takes now, never waiting; the bytes of text taken. */
size_t log_console_try_write(const char *text, size_t len);
/* Lines above this level are dropped; the default is LOG_INFO. */
void log_set_level(enum log_level level);
/* Whether a line of this level would be kept. */
int log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * One guest's share of the console's line: its lines past
 * LOG_GUEST_BUDGET bytes that the line has not taken yet are dropped
 * (counted), so that a guest flooding its UART faster than the line
 * sends can fill neither the line nor the ring, and cannot push the other
 * guests' lines out of the ring before the line takes them. Once the
 * line has taken its lines, the next one says how many were dropped.
 */
#define LOG_GUEST_BUDGET (16 * 1024) /* a quarter of the ring: far above a burst of ordinary output */
struct log_budget {
	const char *owner;
	uint64_t shown_end; /* the log's position after its last line */
	uint32_t pending;   /* bytes of its lines logged since the line last took all of them */
	uint32_t dropped;   /* its lines dropped since */
};

/*
 * A line a guest printed, at info level: dropped if over its budget (0:
 * none), else kept like any other, and shown on the console if shown is
 * set and guest lines are not muted (while the operator is attached to
 * one guest, that guest's lines come to the terminal raw and the others'
 * wait in the log).
 */
void log_guest(struct log_budget *budget, int shown, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void log_mute_guests(int mute);

/*
 * Copies log text from *cursor (a count of bytes ever logged) into buf and
 * advances *cursor. A reader that fell behind the ring resumes at the
 * oldest whole line still kept. Returns the bytes copied.
 */
size_t log_read(uint64_t *cursor, char *buf, size_t size);

/* As log_read, one whole line (cut at size - 1 bytes), NUL-ended; its length, 0 at the end. */
size_t log_read_line(uint64_t *cursor, char *line, size_t size);

/* The level of a line as the log wrote it (guest lines are info). */
enum log_level log_line_level(const char *line);

/* Bytes of log the console's line could not take since start-up (the log kept them). */
uint64_t log_dropped(void);
/* Bytes the console's line dropped since start-up, stalled: the console's answers and log lines alike. */
uint64_t log_line_dropped(void);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
