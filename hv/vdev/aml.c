/* The ACPI table and AML byte writer (aml.h). Section numbers are ACPI 6.4's. */
#include "aml.h"

/* Opcodes (20.3, 20.2.3). */
#define ZERO_OP 0x00
#define ONE_OP 0x01
#define NAME_OP 0x08
#define BYTE_PREFIX 0x0a
#define WORD_PREFIX 0x0b
#define DWORD_PREFIX 0x0c
#define QWORD_PREFIX 0x0e
#define SCOPE_OP 0x10
#define BUFFER_OP 0x11
#define PACKAGE_OP 0x12
#define DUAL_NAME_PREFIX 0x2e
#define MULTI_NAME_PREFIX 0x2f
#define EXT_OP_PREFIX 0x5b
#define DEVICE_OP 0x82

/* Resource descriptor tags (6.4.2, 6.4.3). */
#define RES_IRQ_NO_FLAGS 0x22
#define RES_IO 0x47
#define RES_END 0x79
#define RES_DWORD_SPACE 0x87
#define RES_WORD_SPACE 0x88
#define RES_QWORD_SPACE 0x8a

#define NAME_SEG 4

void aml_init(struct aml *a, uint8_t *buf, size_t size)
{
	*a = (struct aml){ .buf = buf, .size = size };
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->full || n > a->size - a->len) {
		a->full = 1;
		return;
	}
	__builtin_memcpy(a->buf + a->len, p, n);
	a->len += n;
}

/* Inserts n bytes at offset start, moving what follows. */
static void insert(struct aml *a, size_t start, const uint8_t *p, size_t n)
{
	if (a->full || n > a->size - a->len) {
		a->full = 1;
		return;
	}
	__builtin_memmove(a->buf + start + n, a->buf + start, a->len - start);
	__builtin_memcpy(a->buf + start, p, n);
	a->len += n;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void append_le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t b[8];

	put_le(b, v, n);
	aml_bytes(a, b, n);
}

void aml_u8(struct aml *a, uint8_t v)
{
	append_le(a, v, 1);
}

void aml_u16(struct aml *a, uint16_t v)
{
	append_le(a, v, 2);
}

void aml_u32(struct aml *a, uint32_t v)
{
	append_le(a, v, 4);
}

void aml_u64(struct aml *a, uint64_t v)
{
	append_le(a, v, 8);
}

size_t aml_reserve(struct aml *a, size_t n)
{
	size_t at = a->len;

	if (a->full || n > a->size - a->len) {
		a->full = 1;
		return at;
	}
	__builtin_memset(a->buf + a->len, 0, n);
	a->len += n;
	return at;
}

void aml_align(struct aml *a, size_t align)
{
	aml_reserve(a, (align - a->len % align) % align);
}

void aml_poke(struct aml *a, size_t offset, uint64_t v, unsigned n)
{
	if (n <= 8 && offset <= a->len && n <= a->len - offset)
		put_le(a->buf + offset, v, n);
}

/* Integer encodings (20.2.3): the shortest that holds v; its length. */
static unsigned encode_integer(uint64_t v, uint8_t out[9])
{
	unsigned n;

	if (v <= ONE_OP) {
		out[0] = (uint8_t)v; /* ZeroOp, OneOp */
		return 1;
	}
	n = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffu ? 4 : 8;
	out[0] = n == 1 ? BYTE_PREFIX : n == 2 ? WORD_PREFIX : n == 4 ? DWORD_PREFIX : QWORD_PREFIX;
	put_le(out + 1, v, n);
	return n + 1;
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t b[9];

	aml_bytes(a, b, encode_integer(v, b));
}

/*
 * PkgLength (20.2.4) of a body of len bytes: it counts itself. One byte
 * holds up to 63; else the lead byte's bits 7-6 say how many bytes follow
 * and its bits 3-0 hold the low nibble; four bytes hold 28 bits. Its
 * length, 0 if too long.
 */
static unsigned encode_pkg_length(size_t len, uint8_t out[4])
{
	unsigned n, i;

	if (len + 1 <= 0x3f) {
		out[0] = (uint8_t)(len + 1);
		return 1;
	}
	for (n = 2; n <= 4; n++) {
		size_t total = len + n;
		if (total >= 1ull << (4 + 8 * (n - 1)))
			continue;
		out[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
		for (i = 1; i < n; i++)
			out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
		return n;
	}
	return 0;
}

static int seg_char(char c, int first)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* One segment of up to 4 characters, padded with '_'; the rest of the path after it. */
static const char *name_seg(struct aml *a, const char *s)
{
	uint8_t seg[NAME_SEG] = { '_', '_', '_', '_' };
	unsigned i;

	for (i = 0; s[i] && s[i] != '.'; i++) {
		if (i == NAME_SEG || !seg_char(s[i], i == 0)) {
			a->full = 1;
			return s + i;
		}
		seg[i] = (uint8_t)s[i];
	}
	if (i == 0)
		a->full = 1;
	aml_bytes(a, seg, NAME_SEG);
	return s[i] == '.' ? s + i + 1 : s + i;
}

/* NameString (20.2.2): prefixes, then NullName, a segment, DualNamePath or MultiNamePath. */
void aml_name(struct aml *a, const char *path)
{
	unsigned segs = 1, i;
	const char *s;

	while (*path == '\\' || *path == '^')
		aml_u8(a, (uint8_t)*path++);
	if (!*path) {
		aml_u8(a, 0); /* NullName */
		return;
	}
	for (s = path; *s; s++)
		segs += *s == '.';
	if (segs > 0xff) {
		a->full = 1;
		return;
	}
	if (segs == 2)
		aml_u8(a, DUAL_NAME_PREFIX);
	else if (segs > 2) {
		aml_u8(a, MULTI_NAME_PREFIX);
		aml_u8(a, (uint8_t)segs);
	}
	for (i = 0; i < segs && !a->full; i++)
		path = name_seg(a, path);
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/*
 * ASL's EISAID (19.6): three letters of five bits each (A is 1), then four
 * hex digits, stored big-endian in a DWord: "PNP0A03" is 0x030AD041.
 */
void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t vendor = 0, product = 0;
	unsigned i;

	for (i = 0; i < 7; i++) {
		int ok = i < 3 ? id[i] >= 'A' && id[i] <= 'Z' : hex_digit(id[i]) >= 0;
		if (!ok) {
			a->full = 1;
			return;
		}
		if (i < 3)
			vendor = vendor << 5 | (uint32_t)(id[i] - 'A' + 1);
		else
			product = product << 4 | (uint32_t)hex_digit(id[i]);
	}
	if (id[7]) {
		a->full = 1;
		return;
	}
	aml_u8(a, DWORD_PREFIX);
	aml_u8(a, (uint8_t)(vendor >> 8));
	aml_u8(a, (uint8_t)vendor);
	aml_u8(a, (uint8_t)(product >> 8));
	aml_u8(a, (uint8_t)product);
}

void aml_name_decl(struct aml *a, const char *path)
{
	aml_u8(a, NAME_OP);
	aml_name(a, path);
}

static void open_object(struct aml *a, int buffer)
{
	if (a->depth == AML_DEPTH_MAX) {
		a->full = 1;
		return;
	}
	a->open[a->depth++] = (struct aml_open){ .start = a->len, .buffer = buffer };
}

void aml_close(struct aml *a)
{
	uint8_t head[4 + 9], size[9];
	unsigned size_len = 0, n;
	struct aml_open o;

	if (a->full || a->depth == 0) {
		a->full = 1;
		return;
	}
	o = a->open[--a->depth];
	if (o.buffer)
		size_len = encode_integer(a->len - o.start, size); /* BufferSize: the bytes that follow it */
	n = encode_pkg_length(a->len - o.start + size_len, head);
	if (n == 0) {
		a->full = 1;
		return;
	}
	__builtin_memcpy(head + n, size, size_len);
	insert(a, o.start, head, n + size_len);
}

void aml_scope_open(struct aml *a, const char *path)
{
	aml_u8(a, SCOPE_OP);
	open_object(a, 0);
	aml_name(a, path);
}

void aml_device_open(struct aml *a, const char *path)
{
	aml_u8(a, EXT_OP_PREFIX);
	aml_u8(a, DEVICE_OP);
	open_object(a, 0);
	aml_name(a, path);
}

void aml_package_open(struct aml *a, uint8_t elements)
{
	aml_u8(a, PACKAGE_OP);
	open_object(a, 0);
	aml_u8(a, elements);
}

void aml_buffer_open(struct aml *a)
{
	aml_u8(a, BUFFER_OP);
	open_object(a, 1);
}

/* I/O port descriptor (6.4.2.5), 16-bit decode. */
void aml_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t length)
{
	aml_u8(a, RES_IO);
	aml_u8(a, 1); /* decodes 16 address bits */
	aml_u16(a, min);
	aml_u16(a, max);
	aml_u8(a, align);
	aml_u8(a, length);
}

/* IRQ descriptor without its information byte (6.4.2.1): edge, active high. */
void aml_irq(struct aml *a, unsigned irq)
{
	if (irq >= 16) {
		a->full = 1;
		return;
	}
	aml_u8(a, RES_IRQ_NO_FLAGS);
	aml_u16(a, (uint16_t)(1u << irq));
}

/* General flags (6.4.3.5.1-3). */
#define SPACE_CONSUMER 0x01
#define SPACE_MIN_FIXED 0x04
#define SPACE_MAX_FIXED 0x08
/* Type-specific flags (6.4.3.5.5): memory read/write and non-cacheable; I/O of the entire range. */
#define MEMORY_READ_WRITE 0x01
#define IO_ENTIRE_RANGE 0x03

void aml_address_space(struct aml *a, const struct aml_range *r)
{
	unsigned n = r->bytes;
	uint8_t tag = n == 2 ? RES_WORD_SPACE : n == 4 ? RES_DWORD_SPACE : RES_QWORD_SPACE;
	uint64_t limit = n == 8 ? ~0ull : (1ull << (8 * n)) - 1;

	if ((n != 2 && n != 4 && n != 8) || r->max < r->min || r->max > limit || r->max - r->min == ~0ull) {
		a->full = 1;
		return;
	}
	aml_u8(a, tag);
	aml_u16(a, (uint16_t)(3 + 5 * n)); /* the bytes after this field */
	aml_u8(a, (uint8_t)r->space);
	aml_u8(a, SPACE_MIN_FIXED | SPACE_MAX_FIXED | (r->consumer ? SPACE_CONSUMER : 0));
	aml_u8(a, r->space == AML_MEMORY ? MEMORY_READ_WRITE : r->space == AML_IO ? IO_ENTIRE_RANGE : 0);
	append_le(a, 0, n);      /* granularity */
	append_le(a, r->min, n);
	append_le(a, r->max, n);
	append_le(a, 0, n);      /* translation offset */
	append_le(a, r->max - r->min + 1, n);
}

/* End tag (6.4.2.9): a checksum of 0 counts as correct. */
void aml_resource_end(struct aml *a)
{
	aml_u8(a, RES_END);
	aml_u8(a, 0);
	aml_close(a);
}
