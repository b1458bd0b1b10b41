#include "config.h"

#include <stdarg.h>

#include "lib/bits.h"
#include "lib/fmt.h"
#include "lib/str.h"
#include "log.h"

_Static_assert(CFG_LINE_MAX >= sizeof("cmdline = ") - 1 + CFG_CMDLINE_MAX - 1 + sizeof("  # ") - 1,
	       "a line must hold the longest command line with its key");

struct text {
	const char *p;
	size_t n;
};

enum section { SEC_NONE, SEC_HYPERVISOR, SEC_PARTITION, SEC_SWITCH, SEC_UNKNOWN };

struct parser {
	struct hv_config *cfg;
	struct cfg_errors *errs;
	uint32_t line;
	enum section section;
	int hypervisor_seen;
	struct cfg_partition *part;
	struct cfg_switch *sw;   /* the [switch NAME] being read */
	uint32_t keys_seen;      /* bit per key table entry, for duplicates */
	uint32_t keys_refused;   /* bit per key table entry whose value was refused */
	uint64_t cpus;           /* the section's cpus list */
	uint64_t vcpu_cpus_seen; /* bit per vCPU with its own cpus.N */
	uint32_t vcpu_cpus_line[CFG_VCPUS_MAX];
};

struct key {
	const char *name;
	enum section section;
	int repeats;
	void (*set)(struct parser *ps, struct text value, uint32_t index);
};

/* Bytes outside printable ASCII as \xNN: an error quotes the file's bytes, and the console would show them raw. */
static void escape_text(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	for (; *src && n + 1 < size; src++) {
		unsigned char c = (unsigned char)*src;
		if (c >= 0x20 && c < 0x7f)
			dst[n++] = *src;
		else if (n + sizeof("\\xNN") <= size)
			n += (size_t)fmt(dst + n, size - n, "\\x%02x", c);
		else
			break;
	}
	dst[n] = 0;
}

/*
 * Keeps the list in line order and, past CFG_ERRORS_MAX, the errors of the
 * lowest lines: some are found only when a section or the file ends, and
 * may be on its first line.
 */
static void add_error_v(struct cfg_errors *e, uint32_t line, const char *f, va_list ap)
{
	uint32_t kept = e->count < CFG_ERRORS_MAX ? e->count : CFG_ERRORS_MAX, at = kept, i;
	char text[CFG_ERROR_TEXT];

	e->count++;
	while (at > 0 && e->list[at - 1].line > line)
		at--;
	if (at == CFG_ERRORS_MAX)
		return;
	for (i = kept < CFG_ERRORS_MAX ? kept : CFG_ERRORS_MAX - 1; i > at; i--)
		e->list[i] = e->list[i - 1];
	fmt_v(text, sizeof(text), f, ap);
	e->list[at].line = line;
	escape_text(e->list[at].text, sizeof(e->list[at].text), text);
}

void cfg_add_error(struct cfg_errors *errs, uint32_t line, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	add_error_v(errs, line, f, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 3, 4)))
error_at(struct parser *ps, uint32_t line, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	add_error_v(ps->errs, line, f, ap);
	va_end(ap);
}

#define error(ps, ...) error_at(ps, (ps)->line, __VA_ARGS__)

/* ---- scalar values ---------------------------------------------------- */

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

static struct text trim(struct text t)
{
	while (t.n && is_space(t.p[0])) {
		t.p++;
		t.n--;
	}
	while (t.n && is_space(t.p[t.n - 1]))
		t.n--;
	return t;
}

static int digit_value(char c, unsigned base)
{
	unsigned v;

	if (c >= '0' && c <= '9')
		v = (unsigned)(c - '0');
	else if (c >= 'a' && c <= 'f')
		v = (unsigned)(c - 'a' + 10);
	else if (c >= 'A' && c <= 'F')
		v = (unsigned)(c - 'A' + 10);
	else
		return -1;
	return v < base ? (int)v : -1;
}

/* Decimal or 0x-prefixed hex, the whole text, no overflow; 0 on success. */
static int parse_u64(struct text t, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;
	size_t i = 0;
	int d;

	if (t.n > 2 && t.p[0] == '0' && (t.p[1] == 'x' || t.p[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == t.n)
		return -1;
	for (; i < t.n; i++) {
		d = digit_value(t.p[i], base);
		if (d < 0 || v > (UINT64_MAX - (uint64_t)d) / base)
			return -1;
		v = v * base + (uint64_t)d;
	}
	*out = v;
	return 0;
}

/* A number with an optional K, M, G or T suffix (powers of 1024). */
static int parse_size(struct text t, uint64_t *out)
{
	static const char suffixes[] = "KMGT";
	unsigned shift = 0, i;

	for (i = 0; t.n && suffixes[i]; i++) {
		char c = t.p[t.n - 1];
		if (c == suffixes[i] || c == suffixes[i] + ('a' - 'A')) {
			shift = 10 * (i + 1);
			t.n--;
			break;
		}
	}
	if (parse_u64(t, out) || *out > (UINT64_MAX >> shift))
		return -1;
	*out <<= shift;
	return 0;
}

static int parse_bool(struct text t, int *out)
{
	if (str_eq_n(t.p, t.n, "yes") || str_eq_n(t.p, t.n, "true") || str_eq_n(t.p, t.n, "on"))
		*out = 1;
	else if (str_eq_n(t.p, t.n, "no") || str_eq_n(t.p, t.n, "false") || str_eq_n(t.p, t.n, "off"))
		*out = 0;
	else
		return -1;
	return 0;
}

/*
 * "0-3,6": host CPU numbers below CFG_VCPUS_MAX; 0 on success, -1 when it is
 * not such a list, 1 with *twice set when a CPU is named twice (a likely typo).
 */
static int parse_cpu_list(struct text t, uint64_t *mask, uint64_t *twice)
{
	size_t i = 0, start;
	uint64_t lo, hi;

	*mask = 0;
	while (i <= t.n) {
		struct text item;
		size_t dash = 0;
		for (start = i; i < t.n && t.p[i] != ','; i++)
			if (t.p[i] == '-')
				dash = i;
		item = trim((struct text){ t.p + start, i - start });
		if (!dash) {
			if (parse_u64(item, &lo))
				return -1;
			hi = lo;
		} else if (parse_u64(trim((struct text){ t.p + start, dash - start }), &lo) ||
			   parse_u64(trim((struct text){ t.p + dash + 1, i - dash - 1 }), &hi)) {
			return -1;
		}
		if (lo > hi || hi >= CFG_VCPUS_MAX)
			return -1;
		for (; lo <= hi; lo++) {
			if (*mask & (1ull << lo)) {
				*twice = lo;
				return 1;
			}
			*mask |= 1ull << lo;
		}
		i++;
	}
	return 0;
}

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

/* Names and file names: letters, digits, '-', '_', '.', not empty, short. */
static int copy_name(struct parser *ps, const char *what, struct text t, char *dst, size_t size)
{
	size_t i;

	if (t.n == 0 || t.n >= size) {
		error(ps, "%s must be 1 to %u characters", what, (unsigned)size - 1);
		return -1;
	}
	if (str_eq_n(t.p, t.n, ".") || str_eq_n(t.p, t.n, "..")) {
		error(ps, "%s '%.*s' names a directory", what, (int)t.n, t.p);
		return -1;
	}
	for (i = 0; i < t.n; i++) {
		if (!is_name_char(t.p[i])) {
			error(ps, "%s '%.*s' may hold only letters, digits, '-', '_' and '.'", what,
			      (int)t.n, t.p);
			return -1;
		}
	}
	str_copy(dst, size, t.p, t.n);
	return 0;
}

/* ---- [hypervisor] keys ------------------------------------------------ */

#define UART_DIVISOR_MAX 0xffff

static const struct {
	const char *name;
	uint64_t port;
} com_ports[] = { { "com1", 0x3f8 }, { "com2", 0x2f8 }, { "com3", 0x3e8 }, { "com4", 0x2e8 } };

static void set_mmio_console(struct parser *ps, struct text v, uint64_t addr)
{
	if (addr > CFG_MMIO_TOP - CFG_MMIO_CONSOLE_BYTES) {
		error(ps, "console '%.*s': above 2^52, beyond any x86-64 physical address", (int)v.n, v.p);
		return;
	}
	ps->cfg->console.kind = CONSOLE_MMIO;
	ps->cfg->console.address = addr;
}

static void set_console(struct parser *ps, struct text v, uint32_t index)
{
	struct cfg_console *c = &ps->cfg->console;
	uint64_t addr;
	unsigned i;

	(void)index;
	if (str_eq_n(v.p, v.n, "auto")) {
		c->kind = CONSOLE_AUTO;
		return;
	}
	for (i = 0; i < sizeof(com_ports) / sizeof(com_ports[0]); i++) {
		if (str_eq_n(v.p, v.n, com_ports[i].name)) {
			c->kind = CONSOLE_IO;
			c->address = com_ports[i].port;
			return;
		}
	}
	if (v.n > 3 && str_eq_n(v.p, 3, "io:") && !parse_u64((struct text){ v.p + 3, v.n - 3 }, &addr) &&
	    addr > 0 && addr <= 0xfff8) {
		c->kind = CONSOLE_IO;
		c->address = addr;
	} else if (v.n > 5 && str_eq_n(v.p, 5, "mmio:") &&
		   !parse_u64((struct text){ v.p + 5, v.n - 5 }, &addr) && addr && !(addr & 3)) {
		set_mmio_console(ps, v, addr);
	} else {
		error(ps, "console '%.*s': expected auto, com1-com4, io:PORT or mmio:ADDRESS", (int)v.n, v.p);
	}
}

static void set_baud(struct parser *ps, struct text v, uint32_t index)
{
	uint64_t baud;

	(void)index;
	/* The 16550 divides 115200 (1.8432 MHz / 16) by its 16-bit divisor latch. */
	if (parse_u64(v, &baud) || baud == 0 || baud > 115200 || 115200 % baud)
		error(ps, "baud '%.*s': expected a divisor of 115200, such as 9600 or 115200", (int)v.n, v.p);
	else if (115200 / baud > UART_DIVISOR_MAX)
		error(ps, "baud '%.*s': its divisor %llu does not fit the UART's 16-bit divisor latch; "
		      "the lowest speed is 2", (int)v.n, v.p, (unsigned long long)(115200 / baud));
	else
		ps->cfg->console.baud = (uint32_t)baud;
}

static void set_log_level(struct parser *ps, struct text v, uint32_t index)
{
	/* In the order of enum log_level. */
	static const char *const names[] = { "error", "warn", "info", "debug" };
	int level;

	(void)index;
	for (level = LOG_ERROR; level <= LOG_DEBUG; level++) {
		if (str_eq_n(v.p, v.n, names[level])) {
			ps->cfg->log_level = level;
			return;
		}
	}
	error(ps, "log_level '%.*s': expected error, warn, info or debug", (int)v.n, v.p);
}

/* A test aid: the host disk named (nvme0n1, ...) gets its last block written at boot. */
static void set_disk_selftest(struct parser *ps, struct text v, uint32_t index)
{
	(void)index;
	copy_name(ps, "disk_selftest", v, ps->cfg->disk_selftest, sizeof(ps->cfg->disk_selftest));
}

/* ---- [partition NAME] keys -------------------------------------------- */

static void set_memory(struct parser *ps, struct text v, uint32_t index)
{
	uint64_t bytes;

	(void)index;
	if (parse_size(v, &bytes))
		error(ps, "memory '%.*s': expected a size such as 512M or 2G", (int)v.n, v.p);
	else if (bytes == 0 || bytes % CFG_MEMORY_ALIGN || bytes > CFG_MEMORY_MAX)
		error(ps, "memory '%.*s': must be a non-zero multiple of 2M, at most 1T", (int)v.n, v.p);
	else
		ps->part->memory = bytes;
}

/* A whole number from 1 to max. */
static void set_count(struct parser *ps, const char *key, struct text v, uint32_t max, uint32_t *out)
{
	uint64_t n;

	if (parse_u64(v, &n) || n == 0 || n > max)
		error(ps, "%s '%.*s': expected a number from 1 to %u", key, (int)v.n, v.p, max);
	else
		*out = (uint32_t)n;
}

static void set_vcpus(struct parser *ps, struct text v, uint32_t index)
{
	(void)index;
	set_count(ps, "vcpus", v, CFG_VCPUS_MAX, &ps->part->vcpus);
}

static void set_cpus(struct parser *ps, struct text v, uint32_t index)
{
	uint64_t mask, twice;
	uint32_t i;
	int bad = parse_cpu_list(v, &mask, &twice);

	if (bad < 0) {
		error(ps, "cpus '%.*s': expected host CPU numbers below %d, such as 0-3,6", (int)v.n, v.p,
		      CFG_VCPUS_MAX);
		return;
	}
	if (bad) {
		error(ps, "cpus '%.*s': CPU %llu is named twice", (int)v.n, v.p, (unsigned long long)twice);
		return;
	}
	if (index != UINT32_MAX) {
		ps->part->affinity[index] = mask;
		ps->vcpu_cpus_seen |= 1ull << index;
		ps->vcpu_cpus_line[index] = ps->line;
		return;
	}
	ps->cpus = mask;
	for (i = 0; i < CFG_VCPUS_MAX; i++)
		if (!(ps->vcpu_cpus_seen & (1ull << i)))
			ps->part->affinity[i] = mask;
}

static void set_share(struct parser *ps, struct text v, uint32_t index)
{
	(void)index;
	set_count(ps, "share", v, CFG_SHARE_MAX, &ps->part->share);
}

static void set_flag(struct parser *ps, const char *key, struct text v, int *out)
{
	if (parse_bool(v, out))
		error(ps, "%s '%.*s': expected yes or no", key, (int)v.n, v.p);
}

static void set_exclusive(struct parser *ps, struct text v, uint32_t index)
{
	(void)index;
	set_flag(ps, "exclusive", v, &ps->part->exclusive);
}

static void set_autostart(struct parser *ps, struct text v, uint32_t index)
{
	(void)index;
	set_flag(ps, "autostart", v, &ps->part->autostart);
}

static void set_kernel(struct parser *ps, struct text v, uint32_t index)
{
	(void)index;
	copy_name(ps, "kernel", v, ps->part->kernel, sizeof(ps->part->kernel));
	ps->part->kernel_line = ps->line;
}

static void set_initrd(struct parser *ps, struct text v, uint32_t index)
{
	(void)index;
	copy_name(ps, "initrd", v, ps->part->initrd, sizeof(ps->part->initrd));
	ps->part->initrd_line = ps->line;
}

/* Copies v with each \# as a plain '#' (a " #" would start a comment); 0 if it all fit. */
static int copy_unescaped(char *dst, size_t size, struct text v)
{
	size_t i, n = 0;

	for (i = 0; i < v.n; i++) {
		if (v.p[i] == '\\' && i + 1 < v.n && v.p[i + 1] == '#')
			i++;
		if (n + 1 == size) {
			dst[n] = 0;
			return -1;
		}
		dst[n++] = v.p[i];
	}
	dst[n] = 0;
	return 0;
}

static void set_cmdline(struct parser *ps, struct text v, uint32_t index)
{
	(void)index;
	if (copy_unescaped(ps->part->cmdline, sizeof(ps->part->cmdline), v))
		error(ps, "cmdline longer than %d bytes", CFG_CMDLINE_MAX - 1);
}

/* "FILE [ARGS]": the file is read from the boot medium, the whole text is the module's string. */
static void set_module(struct parser *ps, struct text v, uint32_t index)
{
	struct cfg_module *m = &ps->part->modules[ps->part->nmodules];
	struct text file = v;
	size_t i;

	(void)index;
	if (ps->part->nmodules == CFG_MODULES_MAX) {
		error(ps, "more than %d modules", CFG_MODULES_MAX);
		return;
	}
	for (i = 0; i < v.n && !is_space(v.p[i]); i++)
		;
	file.n = i;
	if (copy_name(ps, "module", file, m->file, sizeof(m->file)))
		return;
	if (copy_unescaped(m->string, sizeof(m->string), v)) {
		error(ps, "module '%s': its file name and arguments are longer than %d bytes", m->file,
		      CFG_MODULE_STRING_MAX - 1);
		return;
	}
	m->line = ps->line;
	ps->part->nmodules++;
}

static void set_console_buffer(struct parser *ps, struct text v, uint32_t index)
{
	uint64_t bytes;

	(void)index;
	if (parse_size(v, &bytes) || bytes < CFG_CONSOLE_BUFFER_MIN || bytes > CFG_CONSOLE_BUFFER_MAX ||
	    bytes % CFG_CONSOLE_BUFFER_MIN)
		error(ps, "console_buffer '%.*s': expected a multiple of 4K from 4K to 16M, such as 64K", (int)v.n,
		      v.p);
	else
		ps->part->console_buffer = bytes;
}

static void set_test_devices(struct parser *ps, struct text v, uint32_t index)
{
	(void)index;
	set_flag(ps, "test_devices", v, &ps->part->test_devices);
}

static void set_virtio_console(struct parser *ps, struct text v, uint32_t index)
{
	(void)index;
	set_flag(ps, "virtio_console", v, &ps->part->virtio_console);
}

static int is_guid(struct text t)
{
	size_t i;

	if (t.n != 36)
		return 0;
	for (i = 0; i < t.n; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? t.p[i] != '-' : digit_value(t.p[i], 16) < 0)
			return 0;
	}
	return 1;
}

/* The next word of *rest, which moves past it and the blanks after it. */
static struct text next_word(struct text *rest)
{
	struct text w = *rest;
	size_t i;

	for (i = 0; i < rest->n && !is_space(rest->p[i]); i++)
		;
	w.n = i;
	*rest = trim((struct text){ rest->p + i, rest->n - i });
	return w;
}

/* "offset=SIZE" or "size=SIZE": whole sectors; 0, or -1 with the error given. */
static int set_disk_range(struct parser *ps, struct text w, size_t key, uint64_t *out)
{
	struct text v = { w.p + key, w.n - key };

	if (parse_size(v, out) || *out % CFG_SECTOR) {
		error(ps, "disk %.*s: expected a multiple of 512 bytes such as 64M", (int)w.n, w.p);
		return -1;
	}
	if (*out == 0 && w.p[0] == 's') {
		error(ps, "disk %.*s: a sub-range has a size", (int)w.n, w.p);
		return -1;
	}
	return 0;
}

/* After the source: ro or rw, offset=SIZE and size=SIZE (a sub-range of a GPT partition); 0 or -1. */
static int set_disk_options(struct parser *ps, struct text rest, struct cfg_disk *d)
{
	while (rest.n) {
		struct text w = next_word(&rest);
		int r = 0;

		if (str_eq_n(w.p, w.n, "ro") || str_eq_n(w.p, w.n, "rw"))
			d->read_only = w.p[1] == 'o';
		else if (w.n > 7 && str_eq_n(w.p, 7, "offset="))
			r = set_disk_range(ps, w, 7, &d->offset);
		else if (w.n > 5 && str_eq_n(w.p, 5, "size="))
			r = set_disk_range(ps, w, 5, &d->size);
		else
			error(ps, "disk option '%.*s': expected ro, rw, offset=SIZE or size=SIZE", (int)w.n, w.p), r = -1;
		if (r)
			return -1;
	}
	if (d->kind == DISK_RAMDISK && (d->offset || d->size)) {
		error(ps, "disk offset= and size= are for part: and guid: disks");
		return -1;
	}
	return 0;
}

/* "part:NAME", "guid:GUID" or "ramdisk:FILE", then set_disk_options' words. */
static void set_disk(struct parser *ps, struct text v, uint32_t index)
{
	struct cfg_disk *d = &ps->part->disks[ps->part->ndisks];
	struct text rest = v, src = next_word(&rest);

	(void)index;
	if (ps->part->ndisks == CFG_DISKS_MAX) {
		error(ps, "more than %d disks", CFG_DISKS_MAX);
		return;
	}
	*d = (struct cfg_disk){ .line = ps->line };
	if (src.n > 5 && str_eq_n(src.p, 5, "part:")) {
		d->kind = DISK_GPT_NAME;
		src = (struct text){ src.p + 5, src.n - 5 };
	} else if (src.n > 5 && str_eq_n(src.p, 5, "guid:") && is_guid((struct text){ src.p + 5, src.n - 5 })) {
		d->kind = DISK_GPT_GUID;
		src = (struct text){ src.p + 5, src.n - 5 };
	} else if (src.n > 8 && str_eq_n(src.p, 8, "ramdisk:")) {
		d->kind = DISK_RAMDISK;
		src = (struct text){ src.p + 8, src.n - 8 };
	} else {
		error(ps, "disk '%.*s': expected part:NAME, guid:GUID or ramdisk:FILE", (int)src.n, src.p);
		return;
	}
	if (set_disk_options(ps, rest, d) == 0 && copy_name(ps, "disk source", src, d->source, sizeof(d->source)) == 0)
		ps->part->ndisks++;
}

static int parse_hex_byte(const char *p, uint8_t *out)
{
	int hi = digit_value(p[0], 16), lo = digit_value(p[1], 16);

	if (hi < 0 || lo < 0)
		return -1;
	*out = (uint8_t)(hi << 4 | lo);
	return 0;
}

/* "XX:XX:XX:XX:XX:XX", a unicast address other than zero; 0 on success. */
static int parse_mac(struct text t, uint8_t mac[CFG_MAC_LEN])
{
	uint32_t i, any = 0;

	if (t.n != 3 * CFG_MAC_LEN - 1)
		return -1;
	for (i = 0; i < CFG_MAC_LEN; i++) {
		if ((i && t.p[3 * i - 1] != ':') || parse_hex_byte(t.p + 3 * i, &mac[i]))
			return -1;
		any |= mac[i];
	}
	/* IEEE 802-2014 8.2: bit 0 of the first octet marks a group address, which no port can own. */
	return any && !(mac[0] & 1) ? 0 : -1;
}

void cfg_port_name(const struct cfg_partition *p, uint32_t index, char name[CFG_PORT_NAME_MAX])
{
	fmt(name, CFG_PORT_NAME_MAX, "%s.%u", p->name, index);
}

/*
 * A locally administered unicast address (IEEE 802-2014 8.2: first octet
 * 0x02) from an FNV-1a hash of the port's name: the same on every boot, and
 * a partition keeps its address whatever other partitions are configured.
 */
static void derive_mac(const struct cfg_partition *p, uint32_t index, uint8_t mac[CFG_MAC_LEN])
{
	char name[CFG_PORT_NAME_MAX];
	uint64_t h = 14695981039346656037ull;
	uint32_t i;

	cfg_port_name(p, index, name);
	for (i = 0; name[i]; i++)
		h = (h ^ (uint8_t)name[i]) * 1099511628211ull;
	mac[0] = 0x02;
	for (i = 1; i < CFG_MAC_LEN; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
}

/* "SWITCH [mac=XX:XX:XX:XX:XX:XX]"; the switch is looked up once the whole file is read. */
static void set_net(struct parser *ps, struct text v, uint32_t index)
{
	struct cfg_net *n = &ps->part->nets[ps->part->nnets];
	struct text sw = v, opt = { v.p + v.n, 0 };
	size_t i;

	(void)index;
	if (ps->part->nnets == CFG_NETS_MAX) {
		error(ps, "more than %d net ports", CFG_NETS_MAX);
		return;
	}
	for (i = 0; i < v.n && !is_space(v.p[i]); i++)
		;
	sw.n = i;
	opt = trim((struct text){ v.p + i, v.n - i });
	if (opt.n && (opt.n < 4 || !str_eq_n(opt.p, 4, "mac=") ||
		      parse_mac((struct text){ opt.p + 4, opt.n - 4 }, n->mac))) {
		error(ps, "net '%.*s': expected SWITCH, then optionally mac=XX:XX:XX:XX:XX:XX with a unicast "
		      "address", (int)v.n, v.p);
		return;
	}
	if (copy_name(ps, "switch name", sw, n->sw, sizeof(n->sw)))
		return;
	if (!opt.n)
		derive_mac(ps->part, ps->part->nnets, n->mac);
	n->line = ps->line;
	ps->part->nnets++;
}

static const struct key keys[] = {
	{ "console", SEC_HYPERVISOR, 0, set_console },
	{ "baud", SEC_HYPERVISOR, 0, set_baud },
	{ "log_level", SEC_HYPERVISOR, 0, set_log_level },
	{ "disk_selftest", SEC_HYPERVISOR, 0, set_disk_selftest },
	{ "memory", SEC_PARTITION, 0, set_memory },
	{ "vcpus", SEC_PARTITION, 0, set_vcpus },
	{ "cpus", SEC_PARTITION, 0, set_cpus },
	{ "share", SEC_PARTITION, 0, set_share },
	{ "exclusive", SEC_PARTITION, 0, set_exclusive },
	{ "autostart", SEC_PARTITION, 0, set_autostart },
	{ "kernel", SEC_PARTITION, 0, set_kernel },
	{ "initrd", SEC_PARTITION, 0, set_initrd },
	{ "cmdline", SEC_PARTITION, 0, set_cmdline },
	{ "disk", SEC_PARTITION, 1, set_disk },
	{ "module", SEC_PARTITION, 1, set_module },
	{ "test_devices", SEC_PARTITION, 0, set_test_devices },
	{ "net", SEC_PARTITION, 1, set_net },
	{ "console_buffer", SEC_PARTITION, 0, set_console_buffer },
	{ "virtio_console", SEC_PARTITION, 0, set_virtio_console },
};

/* The bit of the key in keys_seen and keys_refused. */
static uint32_t key_bit(const char *name)
{
	uint32_t k;

	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (str_eq(keys[k].name, name))
			return 1u << k;
	return 0;
}

void cfg_each_file(const struct hv_config *cfg, cfg_file_fn *fn, void *ctx)
{
	uint32_t p, d, m;

	for (p = 0; p < cfg->npartitions; p++) {
		const struct cfg_partition *part = &cfg->partitions[p];
		fn(ctx, part, "kernel", part->kernel, part->kernel_line);
		if (part->initrd[0])
			fn(ctx, part, "initrd", part->initrd, part->initrd_line);
		for (d = 0; d < part->ndisks; d++)
			if (part->disks[d].kind == DISK_RAMDISK)
				fn(ctx, part, "ramdisk", part->disks[d].source, part->disks[d].line);
		for (m = 0; m < part->nmodules; m++)
			fn(ctx, part, "module", part->modules[m].file, part->modules[m].line);
	}
}

static int key_seen(const struct parser *ps, const char *name)
{
	return (ps->keys_seen & key_bit(name)) != 0;
}

/* ---- checks once a partition is complete ------------------------------ */

/* With exclusive = yes, vCPU i without cpus.N takes the i-th CPU of cpus. */
static void spread_exclusive(struct parser *ps, struct cfg_partition *p)
{
	uint64_t all = 0, taken = 0;
	uint32_t i;

	for (i = 0; i < p->vcpus; i++) {
		if (!(ps->vcpu_cpus_seen & (1ull << i)))
			all = p->affinity[i];
	}
	for (i = 0; i < p->vcpus; i++) {
		if (ps->vcpu_cpus_seen & (1ull << i))
			continue;
		p->affinity[i] = (all & ~taken) & (0 - (all & ~taken)); /* lowest CPU left */
		taken |= p->affinity[i];
	}
}

static void check_exclusive(struct parser *ps, struct cfg_partition *p)
{
	uint64_t used = 0, named = ps->cpus;
	uint32_t i;

	if (key_seen(ps, "share"))
		error_at(ps, p->line, "partition '%s': share has no meaning with exclusive = yes", p->name);
	spread_exclusive(ps, p);
	for (i = 0; i < p->vcpus; i++) {
		if (bits_count(p->affinity[i]) != 1) {
			error_at(ps, p->line,
				 "partition '%s': exclusive = yes needs one host CPU for each of its %u vCPUs in cpus",
				 p->name, p->vcpus);
			return;
		}
		if (used & p->affinity[i]) {
			error_at(ps, p->line, "partition '%s': two vCPUs cannot own the same CPU", p->name);
			return;
		}
		used |= p->affinity[i];
	}
	/* A CPU listed but owned by no vCPU would be neither protected nor used. */
	for (i = 0; i < p->vcpus; i++)
		if (ps->vcpu_cpus_seen >> i & 1)
			named |= p->affinity[i];
	if (named != used)
		error_at(ps, p->line, "partition '%s': exclusive = yes: cpus names %d CPUs for its %u vCPUs; "
			 "name exactly one for each", p->name, bits_count(named), p->vcpus);
}

/* Each cpus.N beyond the partition's vCPUs, on its own line; returns how many. */
static uint32_t check_vcpu_cpus(struct parser *ps, const struct cfg_partition *p)
{
	uint32_t i, n = 0;

	for (i = p->vcpus; i < CFG_VCPUS_MAX; i++) {
		if (ps->vcpu_cpus_seen >> i & 1) {
			error_at(ps, ps->vcpu_cpus_line[i], "partition '%s': cpus.%u names a vCPU beyond its %u vCPUs",
				 p->name, i, p->vcpus);
			n++;
		}
	}
	return n;
}

static void finish_partition(struct parser *ps)
{
	struct cfg_partition *p = ps->part;

	if (!p)
		return;
	/* A key that was given but refused has been reported already. */
	if (!key_seen(ps, "memory"))
		error_at(ps, p->line, "partition '%s' has no memory size", p->name);
	if (!key_seen(ps, "kernel"))
		error_at(ps, p->line, "partition '%s' has no kernel", p->name);
	/* With its vCPU count or a CPU set refused, what follows would only repeat that error. */
	if (ps->keys_refused & (key_bit("vcpus") | key_bit("cpus")))
		return;
	if (check_vcpu_cpus(ps, p) == 0 && p->exclusive)
		check_exclusive(ps, p);
}

static uint64_t exclusive_cpus(const struct cfg_partition *p)
{
	uint64_t mask = 0;
	uint32_t i;

	for (i = 0; p->exclusive && i < p->vcpus; i++)
		mask |= p->affinity[i];
	return mask;
}

/* A CPU owned exclusively cannot be in any other partition's CPU set. */
static void check_cpu_ownership(struct parser *ps)
{
	struct hv_config *cfg = ps->cfg;
	uint32_t a, b, i;

	for (a = 0; a < cfg->npartitions; a++) {
		uint64_t owned = exclusive_cpus(&cfg->partitions[a]);
		for (b = 0; owned && b < cfg->npartitions; b++) {
			struct cfg_partition *other = &cfg->partitions[b];
			for (i = 0; a != b && i < other->vcpus; i++) {
				if (other->affinity[i] & owned) {
					error_at(ps, b > a ? other->line : cfg->partitions[a].line,
						 "partitions '%s' and '%s' both claim a CPU that '%s' owns exclusively",
						 cfg->partitions[a].name, other->name, cfg->partitions[a].name);
					break;
				}
			}
		}
	}
}

/* ---- ports, once every switch is known -------------------------------- */

static int find_switch(const struct hv_config *cfg, const char *name)
{
	uint32_t i;

	for (i = 0; i < cfg->nswitches; i++)
		if (str_eq(cfg->switches[i].name, name))
			return (int)i;
	return -1;
}

/* The first port before n on n's switch with n's MAC, or NULL. */
static const struct cfg_net *same_mac_before(const struct hv_config *cfg, const struct cfg_net *n,
					     const struct cfg_partition **owner)
{
	uint32_t p, i;

	for (p = 0; p < cfg->npartitions; p++) {
		for (i = 0; i < cfg->partitions[p].nnets; i++) {
			const struct cfg_net *o = &cfg->partitions[p].nets[i];
			if (o == n)
				return NULL;
			if (o->switch_index == n->switch_index && !__builtin_memcmp(o->mac, n->mac, CFG_MAC_LEN)) {
				*owner = &cfg->partitions[p];
				return o;
			}
		}
	}
	return NULL;
}

/* Each net names a declared switch, no switch has too many ports, no two of its ports one MAC. */
static void check_nets(struct parser *ps)
{
	struct hv_config *cfg = ps->cfg;
	uint32_t ports[CFG_SWITCHES_MAX] = { 0 }, p, i;

	for (p = 0; p < cfg->npartitions; p++) {
		for (i = 0; i < cfg->partitions[p].nnets; i++) {
			struct cfg_net *n = &cfg->partitions[p].nets[i];
			const struct cfg_partition *owner;
			const struct cfg_net *other;
			int sw = find_switch(cfg, n->sw);
			if (sw < 0) {
				error_at(ps, n->line, "net '%s': no [switch %s] in this file", n->sw, n->sw);
				n->switch_index = UINT32_MAX;
				continue;
			}
			n->switch_index = (uint32_t)sw;
			if (++ports[sw] > CFG_SWITCH_PORTS_MAX)
				error_at(ps, n->line, "switch '%s' has more than %d ports", n->sw, CFG_SWITCH_PORTS_MAX);
			other = same_mac_before(cfg, n, &owner);
			if (other)
				error_at(ps, n->line, "net '%s': MAC %02x:%02x:%02x:%02x:%02x:%02x is also that of "
					 "partition '%s' (line %u) on this switch", n->sw, n->mac[0], n->mac[1], n->mac[2],
					 n->mac[3], n->mac[4], n->mac[5], owner->name, other->line);
		}
	}
}

/* ---- lines ------------------------------------------------------------ */

static void start_partition(struct parser *ps, struct text name)
{
	struct hv_config *cfg = ps->cfg;
	struct cfg_partition *p;
	uint32_t i;

	if (cfg->npartitions == CFG_PARTITIONS_MAX) {
		error(ps, "more than %d partitions", CFG_PARTITIONS_MAX);
		return;
	}
	p = &cfg->partitions[cfg->npartitions];
	if (copy_name(ps, "partition name", name, p->name, sizeof(p->name)))
		return;
	for (i = 0; i < cfg->npartitions; i++) {
		if (str_eq(cfg->partitions[i].name, p->name)) {
			error(ps, "partition '%s' is already defined on line %u", p->name,
			      cfg->partitions[i].line);
			return;
		}
	}
	p->line = ps->line;
	p->vcpus = 1;
	p->share = CFG_SHARE_DEFAULT;
	p->autostart = 1;
	p->console_buffer = CFG_CONSOLE_BUFFER_DEFAULT;
	cfg->npartitions++;
	ps->part = p;
	ps->section = SEC_PARTITION;
}

static void start_switch(struct parser *ps, struct text name)
{
	struct hv_config *cfg = ps->cfg;
	struct cfg_switch *sw;
	uint32_t i;

	if (cfg->nswitches == CFG_SWITCHES_MAX) {
		error(ps, "more than %d switches", CFG_SWITCHES_MAX);
		return;
	}
	sw = &cfg->switches[cfg->nswitches];
	if (copy_name(ps, "switch name", name, sw->name, sizeof(sw->name)))
		return;
	for (i = 0; i < cfg->nswitches; i++) {
		if (str_eq(cfg->switches[i].name, sw->name)) {
			error(ps, "switch '%s' is already defined on line %u", sw->name, cfg->switches[i].line);
			return;
		}
	}
	sw->line = ps->line;
	cfg->nswitches++;
	ps->sw = sw;
	ps->section = SEC_SWITCH;
}

/* Ends the section being read; until a good header, keys are not read. */
static void leave_section(struct parser *ps)
{
	finish_partition(ps);
	ps->part = NULL;
	ps->sw = NULL;
	ps->keys_seen = 0;
	ps->keys_refused = 0;
	ps->vcpu_cpus_seen = 0;
	ps->cpus = 0;
	ps->section = SEC_UNKNOWN;
}

static void parse_section(struct parser *ps, struct text t)
{
	struct text inner;
	size_t i;

	leave_section(ps);
	if (t.p[t.n - 1] != ']') {
		error(ps, "section header without a closing ']'");
		return;
	}
	inner = trim((struct text){ t.p + 1, t.n - 2 });
	if (str_eq_n(inner.p, inner.n, "hypervisor")) {
		ps->section = SEC_HYPERVISOR;
		if (ps->hypervisor_seen++)
			error(ps, "[hypervisor] appears twice");
		return;
	}
	for (i = 0; i < inner.n && !is_space(inner.p[i]); i++)
		;
	if (str_eq_n(inner.p, i, "partition") && i < inner.n) {
		start_partition(ps, trim((struct text){ inner.p + i, inner.n - i }));
		return;
	}
	if (str_eq_n(inner.p, i, "switch") && i < inner.n) {
		start_switch(ps, trim((struct text){ inner.p + i, inner.n - i }));
		return;
	}
	error(ps, "unknown section '[%.*s]': expected [hypervisor], [partition NAME] or [switch NAME]",
	      (int)inner.n, inner.p);
}

static void report_misplaced(struct parser *ps, struct text key, const char *known)
{
	if (ps->section == SEC_HYPERVISOR)
		error(ps, "%s key '%.*s' in [hypervisor]", known ? "misplaced" : "unknown", (int)key.n, key.p);
	else if (ps->section == SEC_SWITCH)
		error(ps, "%s key '%.*s' in [switch %s] (a switch takes no keys)", known ? "misplaced" : "unknown",
		      (int)key.n, key.p, ps->sw->name);
	else
		error(ps, "%s key '%.*s' in [partition %s]", known ? "misplaced" : "unknown", (int)key.n,
		      key.p, ps->part->name);
}

/* "cpus.3" -> name "cpus", index 3; a plain key gets UINT32_MAX. */
static int split_index(struct parser *ps, struct text *key, uint32_t *index)
{
	uint64_t n;
	size_t i;

	*index = UINT32_MAX;
	for (i = 0; i < key->n && key->p[i] != '.'; i++)
		;
	if (i == key->n)
		return 0;
	if (!str_eq_n(key->p, i, "cpus") || parse_u64((struct text){ key->p + i + 1, key->n - i - 1 }, &n) ||
	    n >= CFG_VCPUS_MAX) {
		error(ps, "unknown key '%.*s' (only cpus.N takes an index, N below %d)", (int)key->n, key->p,
		      CFG_VCPUS_MAX);
		return -1;
	}
	key->n = i;
	*index = (uint32_t)n;
	return 0;
}

static void apply_key(struct parser *ps, struct text key, struct text value)
{
	uint32_t index, k;

	if (split_index(ps, &key, &index))
		return;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (!str_eq_n(key.p, key.n, keys[k].name))
			continue;
		if (keys[k].section != ps->section) {
			report_misplaced(ps, key, keys[k].name);
		} else if (index != UINT32_MAX && (ps->vcpu_cpus_seen & (1ull << index))) {
			error(ps, "cpus.%u is set twice in this section", index);
		} else if (index == UINT32_MAX && !keys[k].repeats && (ps->keys_seen & (1u << k))) {
			error(ps, "key '%s' is set twice in this section", keys[k].name);
		} else {
			uint32_t errors_before = ps->errs->count;
			if (index == UINT32_MAX)
				ps->keys_seen |= 1u << k;
			if (value.n == 0 && keys[k].set != set_cmdline)
				error(ps, "key '%s' has no value", keys[k].name);
			else
				keys[k].set(ps, value, index);
			if (ps->errs->count != errors_before)
				ps->keys_refused |= 1u << k;
		}
		return;
	}
	report_misplaced(ps, key, NULL);
}

static void parse_assignment(struct parser *ps, struct text t)
{
	size_t eq;

	for (eq = 0; eq < t.n && t.p[eq] != '='; eq++)
		;
	if (eq == t.n) {
		error(ps, "expected 'key = value' or a [section] header");
		return;
	}
	if (ps->section == SEC_NONE) {
		error(ps, "'%.*s' comes before any [section]", (int)eq, t.p);
		return;
	}
	if (ps->section == SEC_UNKNOWN)
		return; /* the bad header was reported; do not repeat for each key */
	apply_key(ps, trim((struct text){ t.p, eq }), trim((struct text){ t.p + eq + 1, t.n - eq - 1 }));
}

/* A line too long or with control characters, reported; 0 if it is readable. */
static int refuse_line(struct parser *ps, struct text t)
{
	size_t i;

	if (t.n > CFG_LINE_MAX) {
		error(ps, "line longer than %d bytes", CFG_LINE_MAX);
		return -1;
	}
	for (i = 0; i < t.n; i++) {
		unsigned char c = (unsigned char)t.p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			error(ps, "control character 0x%02x in column %u", c, (unsigned)i + 1);
			return -1;
		}
	}
	return 0;
}

/* As in most INI dialects: a '#' that starts the line or follows a space or tab starts a comment. */
static struct text strip_comment(struct text t)
{
	size_t i;

	for (i = 0; i < t.n; i++) {
		if (t.p[i] == '#' && (i == 0 || is_space(t.p[i - 1]))) {
			t.n = i;
			break;
		}
	}
	return t;
}

static void parse_line(struct parser *ps, struct text t)
{
	if (t.n && t.p[t.n - 1] == '\r')
		t.n--;
	if (refuse_line(ps, t)) {
		/* A refused header still ends the section before it, whose keys these are not. */
		if (trim(t).n && trim(t).p[0] == '[')
			leave_section(ps);
		return;
	}
	t = trim(strip_comment(t));
	if (t.n == 0)
		return;
	if (t.p[0] == '[')
		parse_section(ps, t);
	else
		parse_assignment(ps, t);
}

static void set_defaults(struct hv_config *cfg)
{
	__builtin_memset(cfg, 0, sizeof(*cfg));
	cfg->console.kind = CONSOLE_AUTO;
	cfg->log_level = LOG_INFO;
}

uint32_t cfg_parse(const char *text, size_t len, struct hv_config *cfg, struct cfg_errors *errs)
{
	struct parser ps = { .cfg = cfg, .errs = errs, .section = SEC_NONE };
	size_t start = 0, i;

	set_defaults(cfg);
	errs->count = 0;
	/* A UTF-8 byte order mark, which some editors write at the start of a file. */
	if (len >= 3 && str_eq_n(text, 3, "\xef\xbb\xbf")) {
		text += 3;
		len -= 3;
	}
	for (i = 0; i <= len; i++) {
		if (i < len && text[i] != '\n')
			continue;
		ps.line++;
		parse_line(&ps, (struct text){ text + start, i - start });
		start = i + 1;
	}
	finish_partition(&ps);
	check_cpu_ownership(&ps);
	check_nets(&ps);
	return errs->count;
}
