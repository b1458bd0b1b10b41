#include "fmt.h"

#include <stdint.h>

struct out {
	char *buf;
	size_t size;
	size_t len;
};

struct spec {
	int left;
	char pad;
	int width;
	int precision; /* -1: none */
	int size;      /* 0 int, 1 long, 2 long long, 3 size_t */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_padded(struct out *o, const struct spec *s, const char *str, int n)
{
	int i;

	for (i = n; !s->left && i < s->width; i++)
		put(o, s->pad);
	for (i = 0; i < n; i++)
		put(o, str[i]);
	for (i = n; s->left && i < s->width; i++)
		put(o, ' ');
}

static void put_number(struct out *o, const struct spec *s, uint64_t v, int neg, unsigned base, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, i;

	do {
		tmp[sizeof(tmp) - 1 - n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg && s->pad == '0') {
		struct spec rest = *s;
		put(o, '-');
		rest.width = s->width > 0 ? s->width - 1 : 0;
		put_padded(o, &rest, tmp + sizeof(tmp) - n, n);
		return;
	}
	if (neg)
		tmp[sizeof(tmp) - 1 - n++] = '-';
	i = (int)sizeof(tmp) - n;
	put_padded(o, s, tmp + i, n);
}

static uint64_t arg_unsigned(const struct spec *s, va_list *ap)
{
	switch (s->size) {
	case 1: return va_arg(*ap, unsigned long);
	case 2: return va_arg(*ap, unsigned long long);
	case 3: return va_arg(*ap, size_t);
	default: return va_arg(*ap, unsigned int);
	}
}

static int64_t arg_signed(const struct spec *s, va_list *ap)
{
	switch (s->size) {
	case 1: return va_arg(*ap, long);
	case 2: return va_arg(*ap, long long);
	case 3: return (int64_t)va_arg(*ap, size_t);
	default: return va_arg(*ap, int);
	}
}

static const char *parse_spec(const char *f, struct spec *s, va_list *ap)
{
	s->left = 0;
	s->pad = ' ';
	s->width = 0;
	s->precision = -1;
	s->size = 0;
	for (;; f++) {
		if (*f == '-')
			s->left = 1;
		else if (*f == '0')
			s->pad = '0';
		else
			break;
	}
	if (*f == '*') {
		s->width = va_arg(*ap, int);
		f++;
		if (s->width < 0) {
			s->left = 1;
			s->width = -s->width;
		}
	}
	while (*f >= '0' && *f <= '9')
		s->width = s->width * 10 + (*f++ - '0');
	if (*f == '.' && f[1] == '*') {
		s->precision = va_arg(*ap, int);
		f += 2;
		if (s->precision < 0)
			s->precision = -1;
	} else if (*f == '.') {
		s->precision = 0;
		while (*++f >= '0' && *f <= '9')
			s->precision = s->precision * 10 + (*f - '0');
	}
	if (s->left)
		s->pad = ' ';
	for (; *f == 'l' && s->size < 2; f++)
		s->size++;
	if (*f == 'z') {
		s->size = 3;
		f++;
	}
	return f;
}

static void put_string(struct out *o, const struct spec *s, const char *str)
{
	int n = 0;

	if (!str)
		str = "(null)";
	/* The precision first: a counted string need not be NUL-ended. */
	while ((s->precision < 0 || n < s->precision) && str[n])
		n++;
	put_padded(o, s, str, n);
}

static void convert(struct out *o, const struct spec *s, char conv, va_list *ap)
{
	int64_t sv;
	char c;

	switch (conv) {
	case 'c':
		c = (char)va_arg(*ap, int);
		put_padded(o, s, &c, 1);
		break;
	case 's':
		put_string(o, s, va_arg(*ap, const char *));
		break;
	case 'd':
	case 'i':
		sv = arg_signed(s, ap);
		put_number(o, s, sv < 0 ? 0 - (uint64_t)sv : (uint64_t)sv, sv < 0, 10, 0);
		break;
	case 'u':
		put_number(o, s, arg_unsigned(s, ap), 0, 10, 0);
		break;
	case 'x':
	case 'X':
		put_number(o, s, arg_unsigned(s, ap), 0, 16, conv == 'X');
		break;
	case 'p':
		put(o, '0');
		put(o, 'x');
		put_number(o, s, (uint64_t)(uintptr_t)va_arg(*ap, void *), 0, 16, 0);
		break;
	default: /* '%' and anything unknown are printed as they stand */
		put(o, conv);
		break;
	}
}

int fmt_v(char *buf, size_t size, const char *f, va_list ap)
{
	struct out o = { buf, size, 0 };
	struct spec s;
	va_list aq;

	va_copy(aq, ap);
	while (*f) {
		if (*f != '%') {
			put(&o, *f++);
			continue;
		}
		f = parse_spec(f + 1, &s, &aq);
		if (!*f)
			break;
		convert(&o, &s, *f++, &aq);
	}
	va_end(aq);
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = fmt_v(buf, size, f, ap);
	va_end(ap);
	return n;
}
