#include "config_print.h"

#include <stdarg.h>

#include "lib/fmt.h"

struct printer {
	cfg_put_fn *put;
	void *ctx;
};

static void __attribute__((format(printf, 2, 3))) line(struct printer *pr, const char *f, ...)
{
	char buf[CFG_LINE_MAX + 2];
	va_list ap;
	int n;

	va_start(ap, f);
	n = fmt_v(buf, sizeof(buf), f, ap);
	va_end(ap);
	pr->put(pr->ctx, buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* A value that may hold '#': each written \# so that none starts a comment (the parser's escape). */
static void escaped(struct printer *pr, const char *key, const char *value)
{
	char buf[2 * CFG_CMDLINE_MAX];
	size_t n = 0;

	for (; *value && n + 2 < sizeof(buf); value++) {
		if (*value == '#')
			buf[n++] = '\\';
		buf[n++] = *value;
	}
	buf[n] = 0;
	line(pr, "%s = %s\n", key, buf);
}

/* The largest of T, G, M, K that divides bytes. */
/* bytes in the largest unit that holds it whole, as parse_size() reads it back: "64M", "1536K", "512". */
static void size_text(char *buf, size_t size, uint64_t bytes)
{
	static const char units[] = "KMGT";
	int u;

	for (u = 3; u >= 0; u--) {
		unsigned shift = 10 * (unsigned)(u + 1);
		if (bytes && bytes % (1ull << shift) == 0) {
			fmt(buf, size, "%llu%c", (unsigned long long)(bytes >> shift), units[u]);
			return;
		}
	}
	fmt(buf, size, "%llu", (unsigned long long)bytes);
}

static void size_value(struct printer *pr, const char *key, uint64_t bytes)
{
	char text[24];

	size_text(text, sizeof(text), bytes);
	line(pr, "%s = %s\n", key, text);
}

/* A CPU mask as the list "0-3,6". */
static void cpu_list(char *buf, size_t size, uint64_t mask)
{
	size_t n = 0;
	unsigned cpu = 0, last;

	buf[0] = 0;
	while (cpu < CFG_VCPUS_MAX && n < size) {
		if (!(mask & (1ull << cpu))) {
			cpu++;
			continue;
		}
		for (last = cpu; last + 1 < CFG_VCPUS_MAX && (mask & (1ull << (last + 1))); last++)
			;
		n += (size_t)fmt(buf + n, size - n, last == cpu ? "%s%u" : "%s%u-%u", n ? "," : "", cpu, last);
		cpu = last + 1;
	}
}

static void hypervisor_section(struct printer *pr, const struct hv_config *cfg)
{
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	const struct cfg_console *c = &cfg->console;

	line(pr, "[hypervisor]\n");
	if (c->kind == CONSOLE_AUTO)
		line(pr, "console = auto\n");
	else
		line(pr, "console = %s:0x%llx\n", c->kind == CONSOLE_IO ? "io" : "mmio", (unsigned long long)c->address);
	if (c->baud)
		line(pr, "baud = %u\n", c->baud);
	line(pr, "log_level = %s\n", levels[cfg->log_level & 3]);
	if (cfg->disk_selftest[0])
		line(pr, "disk_selftest = %s\n", cfg->disk_selftest);
}

/* cpus for all vCPUs when they agree, else cpus.N for each. */
static void cpus_keys(struct printer *pr, const struct cfg_partition *p)
{
	char list[4 * CFG_VCPUS_MAX];
	uint32_t i, same = 1;

	for (i = 1; i < p->vcpus; i++)
		same &= p->affinity[i] == p->affinity[0];
	for (i = 0; i < (same ? 1 : p->vcpus); i++) {
		if (!p->affinity[i])
			continue; /* any CPU: the default */
		cpu_list(list, sizeof(list), p->affinity[i]);
		if (same)
			line(pr, "cpus = %s\n", list);
		else
			line(pr, "cpus.%u = %s\n", i, list);
	}
}

static void disk_keys(struct printer *pr, const struct cfg_partition *p)
{
	static const char *const kinds[] = { "part", "guid", "ramdisk" };
	uint32_t i;

	for (i = 0; i < p->ndisks; i++) {
		const struct cfg_disk *d = &p->disks[i];
		char offset[40] = "", size[40] = "", text[24];

		if (d->offset) {
			size_text(text, sizeof(text), d->offset);
			fmt(offset, sizeof(offset), " offset=%s", text);
		}
		if (d->size) {
			size_text(text, sizeof(text), d->size);
			fmt(size, sizeof(size), " size=%s", text);
		}
		line(pr, "disk = %s:%s %s%s%s\n", kinds[d->kind % 3], d->source, d->read_only ? "ro" : "rw", offset, size);
	}
}

/* Each port with its MAC, derived or given: read back, it is the same port. */
static void net_keys(struct printer *pr, const struct cfg_partition *p)
{
	uint32_t i;

	for (i = 0; i < p->nnets; i++) {
		const uint8_t *m = p->nets[i].mac;

		line(pr, "net = %s mac=%02x:%02x:%02x:%02x:%02x:%02x\n", p->nets[i].sw, m[0], m[1], m[2], m[3], m[4],
		     m[5]);
	}
}

static void partition_section(struct printer *pr, const struct cfg_partition *p)
{
	uint32_t i;

	line(pr, "[partition %s]\n", p->name);
	size_value(pr, "memory", p->memory);
	line(pr, "vcpus = %u\n", p->vcpus);
	cpus_keys(pr, p);
	if (!p->exclusive)
		line(pr, "share = %u\n", p->share); /* refused with exclusive = yes */
	line(pr, "exclusive = %s\n", p->exclusive ? "yes" : "no");
	line(pr, "autostart = %s\n", p->autostart ? "yes" : "no");
	line(pr, "kernel = %s\n", p->kernel);
	if (p->initrd[0])
		line(pr, "initrd = %s\n", p->initrd);
	if (p->cmdline[0])
		escaped(pr, "cmdline", p->cmdline);
	disk_keys(pr, p);
	net_keys(pr, p);
	for (i = 0; i < p->nmodules; i++)
		escaped(pr, "module", p->modules[i].string);
	line(pr, "test_devices = %s\n", p->test_devices ? "yes" : "no");
	size_value(pr, "console_buffer", p->console_buffer);
	line(pr, "virtio_console = %s\n", p->virtio_console ? "yes" : "no");
}

void cfg_print_partition(const struct cfg_partition *p, cfg_put_fn *put, void *ctx)
{
	struct printer pr = { put, ctx };

	partition_section(&pr, p);
}

void cfg_print(const struct hv_config *cfg, cfg_put_fn *put, void *ctx)
{
	struct printer pr = { put, ctx };
	uint32_t i;

	hypervisor_section(&pr, cfg);
	for (i = 0; i < cfg->nswitches && i < CFG_SWITCHES_MAX; i++)
		line(&pr, "\n[switch %s]\n", cfg->switches[i].name);
	for (i = 0; i < cfg->npartitions && i < CFG_PARTITIONS_MAX; i++) {
		line(&pr, "\n");
		partition_section(&pr, &cfg->partitions[i]);
	}
}
