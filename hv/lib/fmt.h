/* printf-style formatting for the hypervisor, which has no libc. */
#ifndef HV_FMT_H
#define HV_FMT_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Supports %c %s %d %i %u %x %X %p %%, the flags '-' and '0', a width and
 * a precision for %s (either may be '*'), and the length modifiers l, ll and z. Writes at most
 * size bytes including the NUL; returns the length the whole output would
 * have had, as C's vsnprintf does.
 */
int fmt_v(char *buf, size_t size, const char *fmt, va_list ap);
int fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
