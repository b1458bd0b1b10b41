#include "str.h"

size_t str_len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

int str_eq_n(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++)
		if (b[i] != a[i] || !b[i])
			return 0;
	return b[alen] == 0;
}

int str_copy(char *dst, size_t size, const char *src, size_t len)
{
	size_t n = len < size ? len : size - 1, i;

	for (i = 0; i < n; i++)
		dst[i] = src[i];
	dst[n] = 0;
	return n == len ? 0 : -1;
}
