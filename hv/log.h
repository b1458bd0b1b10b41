/*
 * The hypervisor's log: leveled lines kept in a ring buffer that the
 * console can show later, and written to the console sink as they come.
 */
#ifndef HV_LOG_H
#define HV_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

#define LOG_RING_SIZE (64 * 1024)
#define LOG_LINE_MAX 256

typedef void (*log_sink_fn)(const char *text, size_t len);

void log_set_sink(log_sink_fn sink);
/* Lines above this level are dropped; the default is LOG_INFO. */
void log_set_level(enum log_level level);
/* Whether a line of this level would be kept. */
int log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A line a guest printed, at info level: kept like any other, and shown
 * on the console if shown is set and guest lines are not muted (while the
 * operator is attached to one guest, that guest's lines come to the
 * terminal raw and the others' wait in the log).
 */
void log_guest(int shown, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_mute_guests(int mute);

/*
 * Copies log text from *cursor (a count of bytes ever logged) into buf and
 * advances *cursor. A reader that fell behind the ring resumes at the
 * oldest whole line still kept. Returns the bytes copied.
 */
size_t log_read(uint64_t *cursor, char *buf, size_t size);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
