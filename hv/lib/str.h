/* String helpers shared by the hypervisor and its host tools. */
#ifndef HV_STR_H
#define HV_STR_H

#include <stddef.h>
#include <stdint.h>

size_t str_len(const char *s);
int str_eq(const char *a, const char *b);
/* Compares a counted string (not NUL-ended) with a C string. */
int str_eq_n(const char *a, size_t alen, const char *b);
/* Copies at most size-1 bytes and always NUL-ends; returns 0 if it all fit. */
int str_copy(char *dst, size_t size, const char *src, size_t len);

#endif
