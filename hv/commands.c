/*
 * What the operator's commands do (their table: command_table.c). Figures
 * shared with running CPUs are copied under the scheduler's lock and
 * printed after it is let go: the serial line is slow, and no CPU waits
 * for it.
 */
#include "commands.h"

#include <stdarg.h>

#include "arch.h"
#include "config_print.h"
#include "blk.h"
#include "diskbench.h"
#include "disks.h"
#include "host_power.h"
#include "lib/fmt.h"
#include "lib/muldiv.h"
#include "lib/str.h"
#include "log.h"
#include "mm.h"
#include "net.h"
#include "partition.h"
#include "pmem.h"
#include "scheduler.h"
#include "uart16550.h"
#include "vcpu_irq.h"
#include "vdev/irq.h"
#include "vdev/virtio_blk.h"

#define MIB (1ull << 20)
#define NS_PER_MS 1000000ull
#define JSON_LINE_MAX 1024

static struct hv_system sys;

void commands_init(const struct hv_system *s)
{
	sys = *s;
}

static uint32_t partition_count(void)
{
	return sys.config && sys.partitions ? sys.config->npartitions : 0;
}

/* The partition named (the console checked that one is), or NULL if none can run. */
static struct partition *find_partition(const char *name)
{
	uint32_t i;

	for (i = 0; i < partition_count(); i++)
		if (str_eq(sys.config->partitions[i].name, name))
			return &sys.partitions[i];
	return 0;
}

/* 0, or -1 with the reason no partition is there printed. */
static int refuse_without_partitions(void)
{
	if (!sys.config)
		console_error("no partitions: the configuration was refused (see 'log')\n");
	else if (!sys.partitions)
		console_error("no partition can run: %s (see 'log')\n", sys.why_none);
	return sys.config && sys.partitions ? 0 : -1;
}

/* ---- figures of a partition */

struct snapshot {
	enum part_state state;
	unsigned ncpus;                 /* vCPUs started */
	int cpu[CFG_VCPUS_MAX];         /* each vCPU's CPU, -1: not started */
	uint64_t uptime_ms;             /* part_clock_uptime(): its pauses left out; 0 stopped */
	struct part_stats stats;
};

static void take_snapshot(const struct partition *p, struct snapshot *s)
{
	uint64_t uptime;
	unsigned i;

	partition_stats(p, &s->stats);
	scheduler_lock();
	s->state = p->state;
	s->ncpus = 0;
	for (i = 0; i < p->cfg->vcpus && i < CFG_VCPUS_MAX; i++) {
		s->cpu[i] = p->vcpus[i].started ? (int)p->vcpus[i].se.cpu : -1;
		s->ncpus += p->vcpus[i].started;
	}
	/* Under the lock: a pause or a resume moves its clock (part_clock.h). */
	uptime = s->state == PART_STOPPED ? 0 : part_clock_uptime(&p->clock, arch_tsc());
	scheduler_unlock();
	s->uptime_ms = mul_div(uptime, 1000, arch_tsc_hz());
}

/* "0,1,-" : the CPU of each vCPU, '-' for one not started. */
static void cpus_text(char *buf, size_t size, const struct partition *p, const struct snapshot *s)
{
	size_t n = 0;
	unsigned i;

	buf[0] = 0;
	for (i = 0; i < p->cfg->vcpus && n < size; i++) {
		if (s->cpu[i] < 0)
			n += (size_t)fmt(buf + n, size - n, "%s-", i ? "," : "");
		else
			n += (size_t)fmt(buf + n, size - n, "%s%d", i ? "," : "", s->cpu[i]);
	}
}

/* Never started since boot: no figures to show. */
static int never_ran(const struct partition *p)
{
	return p->state == PART_STOPPED && !p->stop_reason[0];
}

/* ---- JSON lines (README: "Machine-readable output") */

struct json {
	char buf[JSON_LINE_MAX];
	size_t n;
};

static void __attribute__((format(printf, 2, 3))) json_add(struct json *j, const char *f, ...)
{
	va_list ap;

	if (j->n >= sizeof(j->buf))
		return;
	va_start(ap, f);
	j->n += (size_t)fmt_v(j->buf + j->n, sizeof(j->buf) - j->n, f, ap);
	va_end(ap);
}

/* ,"key":"text" with the text escaped as JSON wants (RFC 8259, 7). */
static void json_string(struct json *j, const char *key, const char *text)
{
	json_add(j, "%s\"%s\":\"", j->n > 1 ? "," : "", key);
	for (; *text; text++) {
		unsigned char c = (unsigned char)*text;
		if (c == '"' || c == '\\')
			json_add(j, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			json_add(j, "\\u%04x", c);
		else
			json_add(j, "%c", c);
	}
	json_add(j, "\"");
}

static void json_number(struct json *j, const char *key, uint64_t v)
{
	json_add(j, "%s\"%s\":%llu", j->n > 1 ? "," : "", key, (unsigned long long)v);
}

/* What j holds so far, for a line longer than one buffer. */
static void json_put(struct json *j)
{
	if (j->n >= sizeof(j->buf))
		j->n = sizeof(j->buf) - 1;
	console_put(j->buf, j->n);
}

static void json_end(struct json *j)
{
	json_add(j, "}\n");
	json_put(j);
}

/* ---- list */

static void list_json(const struct partition *p)
{
	struct json j = { "{", 1 };
	struct snapshot s;
	unsigned i;

	take_snapshot(p, &s);
	json_string(&j, "name", p->cfg->name);
	json_string(&j, "state", part_state_name(s.state));
	json_number(&j, "vcpus", p->cfg->vcpus);
	json_add(&j, ",\"cpus\":[");
	for (i = 0; i < p->cfg->vcpus; i++)
		json_add(&j, s.cpu[i] < 0 ? "%snull" : "%s%d", i ? "," : "", s.cpu[i]);
	json_add(&j, "]");
	json_number(&j, "memory_mib", p->cfg->memory / MIB);
	json_number(&j, "share", p->cfg->share);
	json_number(&j, "uptime_ms", s.uptime_ms);
	json_number(&j, "cpu_ms", s.stats.cpu_ns / NS_PER_MS);
	json_number(&j, "exits", s.stats.exits);
	json_string(&j, "last_stop", s.state == PART_STOPPED ? p->stop_reason : p->last_stop);
	json_end(&j);
}

static void list_text(const struct partition *p)
{
	char cpus[4 * CFG_VCPUS_MAX];
	struct snapshot s;

	if (never_ran(p)) {
		console_print("  %-16s not running%s\n", p->cfg->name,
			      p->cfg->autostart ? " (could not start: see 'log')" : " (autostart no)");
		return;
	}
	take_snapshot(p, &s);
	console_print("  %-16s %s on cpu %u, cpu_ms %llu, exits %llu%s%s\n", p->cfg->name, part_state_name(s.state),
		      p->cpu, (unsigned long long)(s.stats.cpu_ns / NS_PER_MS), (unsigned long long)s.stats.exits,
		      s.state == PART_STOPPED ? ": " : "", s.state == PART_STOPPED ? p->stop_reason : "");
	cpus_text(cpus, sizeof(cpus), p, &s);
	console_print("  %-16s vcpus %u on cpus %s, memory %llu MiB, share %u, uptime %llu s\n", "", p->cfg->vcpus,
		      s.ncpus ? cpus : "-", (unsigned long long)(p->cfg->memory / MIB), p->cfg->share,
		      (unsigned long long)(s.uptime_ms / 1000));
	if (s.state != PART_STOPPED && p->last_stop[0])
		console_print("  %-16s last stop: %s\n", "", p->last_stop);
}

void cmd_list(const struct console_args *a)
{
	uint32_t i;

	if (refuse_without_partitions())
		return;
	for (i = 0; i < partition_count(); i++) {
		if (console_flag(a, 'j'))
			list_json(&sys.partitions[i]);
		else
			list_text(&sys.partitions[i]);
	}
}

/* ---- info */

static void put_text(void *ctx, const char *text, size_t len)
{
	(void)ctx;
	console_put(text, len);
}

static const char *kernel_format_name(const struct partition *p)
{
	static const char *const names[] = { "ELF64", "Linux bzImage", "Multiboot" };

	return (unsigned)p->kernel.format < 3 ? names[p->kernel.format] : "?";
}

static void info_state(const struct partition *p)
{
	char cpus[4 * CFG_VCPUS_MAX];
	struct snapshot s;
	unsigned wait;

	take_snapshot(p, &s);
	cpus_text(cpus, sizeof(cpus), p, &s);
	console_print("state: %s\n", never_ran(p) ? "not started since boot" : part_state_name(s.state));
	if (s.state != PART_STOPPED) {
		console_print("vcpus started: %u of %u, on cpus %s\n", s.ncpus, p->cfg->vcpus, cpus);
		console_print("memory: %llu MiB at host 0x%llx\n", (unsigned long long)(p->ram_size / MIB),
			      (unsigned long long)p->ram_pa);
		console_print("kernel: %s, entry 0x%llx\n", kernel_format_name(p), (unsigned long long)p->vcpus[0].boot.rip);
		console_print("uptime: %llu.%03llu s\n", (unsigned long long)(s.uptime_ms / 1000),
			      (unsigned long long)(s.uptime_ms % 1000));
	}
	wait = partition_off_pending(p);
	if (wait)
		console_print("power button pressed: forced off in %u s unless it powers off\n", wait);
	console_print("cpu time: %llu ms, exits %llu, interrupts injected %llu\n",
		      (unsigned long long)(s.stats.cpu_ns / NS_PER_MS), (unsigned long long)s.stats.exits,
		      (unsigned long long)s.stats.injected);
	console_print("console: %llu bytes written by the guest over its runs, the last %llu KiB kept\n",
		      (unsigned long long)p->uart.out_head, (unsigned long long)(p->uart.out_size >> 10));
	if (s.state == PART_STOPPED && p->stop_reason[0])
		console_print("stopped: %s\n", p->stop_reason);
	else if (p->last_stop[0])
		console_print("last stop: %s\n", p->last_stop);
}

/* "0x34", or "-" for none. */
static const char *vector_text(char *buf, size_t size, int vector)
{
	if (vector < 0)
		return "-";
	fmt(buf, size, "0x%02x", (unsigned)vector);
	return buf;
}

static const char *vcpu_state_text(const struct vcpu *v)
{
	if (v->se.held)
		return "paused";
	if (v->wait_for_sipi)
		return "waiting for a STARTUP IPI";
	return v->se.runnable ? "runnable" : "halted";
}

/* Each started vCPU: where it runs, whether it can, and what its APIC holds (for a guest that seems stuck). */
static void info_vcpus(struct partition *p)
{
	char irr[8], isr[8];
	unsigned i;

	for (i = 0; i < p->cfg->vcpus; i++) {
		struct vcpu *v = &p->vcpus[i];
		struct vcpu_irq_view w;
		const char *state;
		if (!v->started)
			continue;
		scheduler_lock();
		state = vcpu_state_text(v);
		scheduler_unlock();
		vcpu_irq_view(v, &w);
		console_print("vcpu %u: cpu %u, %s, exits %llu, injected %llu; apic: tpr 0x%02x, requested %s, "
			      "in service %s%s\n", i, v->se.cpu, state, (unsigned long long)vcpu_exits(v),
			      (unsigned long long)v->injected, w.tpr, vector_text(irr, sizeof(irr), w.requested),
			      vector_text(isr, sizeof(isr), w.in_service), w.window ? ", window open" : "");
	}
}

/* Its UART's interrupt side and the I/O APIC pin it drives. */
static void info_uart(struct partition *p)
{
	struct vuart_view u;
	struct irq_pin_view pin;

	vuart_view(&p->uart, &u);
	irq_pin_view(p, VUART_IRQ, &pin);
	console_print("uart: ier 0x%02x, mcr 0x%02x, iir 0x%x, irq %s, %u bytes received not read; "
		      "I/O APIC pin %u: vector 0x%02x, %s%s, line %s\n", u.ier, u.mcr, u.iir, u.line ? "high" : "low",
		      u.rx_count, VUART_IRQ, pin.vector, pin.level ? "level" : "edge", pin.masked ? ", masked" : "",
		      pin.asserted ? "high" : "low");
}

void cmd_info(const struct console_args *a)
{
	struct partition *p = find_partition(a->arg[0]);

	if (refuse_without_partitions())
		return;
	console_print("partition %s (hv.cfg line %u)\n", p->cfg->name, p->cfg->line);
	info_state(p);
	if (p->state != PART_STOPPED) {
		info_vcpus(p);
		info_uart(p);
	}
	console_print("configuration:\n");
	cfg_print_partition(p->cfg, put_text, 0);
}

/* ---- start, stop, restart, pause, resume */

/* The partition the confirmed diskbench runs on. */
static struct partition *bench_partition;

/* Starting p would let its guest write where the bench writes. */
static const char *bench_holds(const struct partition *p)
{
	return diskbench_running() && p == bench_partition ? "its disk is under 'diskbench' (see 'log')" : 0;
}

static void request(const char *name, enum part_op op, const char *done)
{
	struct partition *p = find_partition(name);
	const char *why;

	if (refuse_without_partitions())
		return;
	why = op == PART_START ? bench_holds(p) : 0;
	if (!why)
		why = partition_request(p, op);
	if (why)
		console_error("%s: refused: %s\n", name, why);
	else
		console_print("%s: %s\n", name, done);
}

void cmd_start(const struct console_args *a)
{
	request(a->arg[0], PART_START, "started");
}

void cmd_pause(const struct console_args *a)
{
	request(a->arg[0], PART_PAUSE, "paused");
}

void cmd_resume(const struct console_args *a)
{
	request(a->arg[0], PART_RESUME, "resumed");
}

static void power_off(const struct console_args *a, int restart)
{
	struct partition *p = find_partition(a->arg[0]);
	unsigned timeout = (unsigned)console_number(a, 't', STOP_TIMEOUT_DEFAULT);
	enum part_state was;
	const char *why;
	int forced;

	if (refuse_without_partitions())
		return;
	was = p->state;
	why = restart ? bench_holds(p) : 0;
	if (!why)
		why = partition_power_off(p, console_flag(a, 'f') ? 0 : timeout, restart, &forced);
	if (why)
		console_error("%s: refused: %s\n", p->cfg->name, why);
	else if (forced || was == PART_STOPPED)
		console_print("%s: %s\n", p->cfg->name, restart ? "restarting" : "stopping");
	else
		console_print("%s: power button pressed; forced off in %u s unless it powers off ('stop -f %s' now)\n",
			      p->cfg->name, timeout, p->cfg->name);
}

void cmd_stop(const struct console_args *a)
{
	power_off(a, 0);
}

void cmd_restart(const struct console_args *a)
{
	power_off(a, 1);
}

/* ---- console: the operator at a partition's UART */

static struct attached_guest {
	struct partition *p;
	uint64_t cursor; /* in its output ring */
} guest;

/*
 * What the guest takes now: its virtio-console's receive buffers when that
 * is its console, else its UART's receive FIFO; a stopped partition's
 * bytes are dropped.
 */
static size_t guest_input(void *ctx, const char *bytes, size_t n)
{
	struct partition *p = ((struct attached_guest *)ctx)->p;

	if (p->state != PART_RUNNING && p->state != PART_PAUSED)
		return n;
	if (p->cfg->virtio_console && virtio_console_in_use(&p->vconsole))
		return virtio_console_receive(&p->vconsole, bytes, n);
	return vuart_receive(&p->uart, bytes, n);
}

static size_t guest_output(void *ctx, char *buf, size_t size)
{
	struct attached_guest *g = ctx;

	return vuart_read_output(&g->p->uart, &g->cursor, buf, size);
}

static void guest_detached(void *ctx)
{
	struct attached_guest *g = ctx;

	vuart_attach(&g->p->uart, 0);
	log_mute_guests(0);
	console_print("\r\n[back at the hypervisor console; 'console %s' attaches again]", g->p->cfg->name);
}

void cmd_console(const struct console_args *a)
{
	static const struct console_attach attach = { guest_input, guest_output, guest_detached, &guest };
	struct partition *p = find_partition(a->arg[0]);

	if (refuse_without_partitions())
		return;
	guest = (struct attached_guest){ .p = p, .cursor = vuart_output_start(&p->uart) };
	console_print("[attached to %s: its recent output, then live; Ctrl-] returns to the hv> prompt]\r\n",
		      p->cfg->name);
	vuart_attach(&p->uart, 1);
	log_mute_guests(1); /* the other guests' lines wait in 'log' */
	console_attach(&attach);
}

/* ---- log */

/* Lines at level or more severe from the start; how many. */
static uint64_t count_lines(enum log_level level)
{
	char line[LOG_LINE_MAX + 1];
	uint64_t cursor = 0, n = 0;

	while (log_read_line(&cursor, line, sizeof(line)))
		n += log_line_level(line) <= level;
	return n;
}

void cmd_log(const struct console_args *a)
{
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	enum log_level level = LOG_DEBUG, l;
	char line[LOG_LINE_MAX + 1];
	uint64_t cursor = 0, skip = 0, total;
	size_t n;

	for (l = LOG_ERROR; a->nargs && l <= LOG_DEBUG; l++)
		if (str_eq(a->arg[0], levels[l]))
			level = l;
	if (console_flag(a, 'n')) {
		total = count_lines(level);
		skip = total > console_number(a, 'n', 0) ? total - console_number(a, 'n', 0) : 0;
	}
	while ((n = log_read_line(&cursor, line, sizeof(line))) > 0) {
		if (log_line_level(line) > level)
			continue;
		if (skip) {
			skip--;
			continue;
		}
		console_put(line, n);
	}
}

/* ---- stats */

static const char *const exit_names[EXIT_REASONS] = {
	[EXIT_CPUID] = "cpuid", [EXIT_MSR_READ] = "rdmsr", [EXIT_MSR_WRITE] = "wrmsr", [EXIT_IO] = "io",
	[EXIT_MEMORY] = "mmio", [EXIT_MEMORY_MISCONFIG] = "misconfig", [EXIT_HLT] = "hlt",
	[EXIT_HYPERCALL] = "hypercall", [EXIT_XSETBV] = "xsetbv", [EXIT_CACHE_FLUSH] = "cache_flush",
	[EXIT_FORBIDDEN_INSN] = "forbidden_insn", [EXIT_RDPMC] = "rdpmc", [EXIT_GUEST_EXCEPTION] = "exception",
	[EXIT_SHUTDOWN] = "shutdown", [EXIT_INTERRUPT] = "interrupt", [EXIT_SLICE_END] = "slice_end",
	[EXIT_NMI] = "nmi", [EXIT_INTERRUPT_WINDOW] = "irq_window", [EXIT_ENTRY_FAILED] = "entry_failed",
	[EXIT_STATE_LOST] = "state_lost",
	[EXIT_UNKNOWN] = "unknown",
};

/* What the running partitions were given and configured: shares and CPU time, for percentages. */
struct totals {
	uint64_t share, cpu_ns;
};

static void running_totals(struct totals *t)
{
	struct part_stats s;
	uint32_t i;

	*t = (struct totals){ 0 };
	for (i = 0; i < partition_count(); i++) {
		const struct partition *p = &sys.partitions[i];
		if (p->state == PART_STOPPED)
			continue;
		partition_stats(p, &s);
		t->share += p->cfg->share;
		t->cpu_ns += s.cpu_ns;
	}
}

/* Per mille of part in whole, 0 if whole is 0. */
static uint64_t permille(uint64_t part, uint64_t whole)
{
	return whole ? mul_div(part, 1000, whole) : 0;
}

static const unsigned disk_percentiles[] = { 50, 90, 99 };

#define NPERCENTILES (sizeof(disk_percentiles) / sizeof(disk_percentiles[0]))

/* A copy of the disks hv.cfg gives p that it opened, with their counters (the console's: one command at a time). */
static struct vdisk opened[CFG_DISKS_MAX];

static unsigned copy_opened_disks(const struct partition *p)
{
	unsigned i, n = 0;

	for (i = 0; i < p->cfg->ndisks && i < CFG_DISKS_MAX; i++)
		if (p->disks[i].source[0])
			vdisk_counters(&p->disks[i], &opened[n++]);
	return n;
}

/* ,"disks":[...]} ending the partition's line, a disk at a time: the whole is too long for one buffer. */
static void disks_json(const struct partition *p)
{
	unsigned n = copy_opened_disks(p), i, k;

	console_print(",\"disks\":[");
	for (i = 0; i < n; i++) {
		struct json j = { "{", 1 };
		json_string(&j, "source", opened[i].source);
		json_number(&j, "requests", opened[i].requests);
		json_number(&j, "read_kib", opened[i].bytes_read / 1024);
		json_number(&j, "written_kib", opened[i].bytes_written / 1024);
		json_number(&j, "errors", opened[i].errors);
		for (k = 0; k < NPERCENTILES; k++) {
			uint64_t us = lat_percentile_us(&opened[i].latency, disk_percentiles[k]);
			json_add(&j, ",\"latency_p%u_us\":", disk_percentiles[k]);
			json_add(&j, us && us != LAT_OPEN ? "%llu" : "null", (unsigned long long)us);
		}
		json_add(&j, "}%s", i + 1 < n ? "," : "");
		json_put(&j);
	}
	console_print("]}\n");
}

/* sep " p50 <= 512 us": the bound of its bucket; "-" when no request was timed (all refused at once). */
static size_t percentile_text(char *buf, size_t size, const char *sep, const struct lat_hist *h, unsigned pct)
{
	uint64_t us = lat_percentile_us(h, pct);

	if (!us)
		return (size_t)fmt(buf, size, "%s p%u -", sep, pct);
	if (us == LAT_OPEN)
		return (size_t)fmt(buf, size, "%s p%u > %llu us", sep, pct, 1ull << (LAT_BUCKETS - 2));
	return (size_t)fmt(buf, size, "%s p%u <= %llu us", sep, pct, (unsigned long long)us);
}

static void disk_text(const struct vdisk *vd)
{
	char lat[128];
	size_t n = 0;
	unsigned k;

	if (!vd->requests) {
		console_print("  disk %s: no requests\n", vd->source);
		return;
	}
	for (k = 0; k < NPERCENTILES && n < sizeof(lat); k++)
		n += percentile_text(lat + n, sizeof(lat) - n, k ? "," : "", &vd->latency, disk_percentiles[k]);
	console_print("  disk %s: %llu requests, %llu KiB read, %llu KiB written, %llu errors, latency%s\n", vd->source,
		      (unsigned long long)vd->requests, (unsigned long long)(vd->bytes_read / 1024),
		      (unsigned long long)(vd->bytes_written / 1024), (unsigned long long)vd->errors, lat);
}

static void disks_text(const struct partition *p)
{
	unsigned n = copy_opened_disks(p), i;

	for (i = 0; i < n; i++)
		disk_text(&opened[i]);
}

static void stats_json(const struct partition *p, const struct snapshot *s, const struct totals *t)
{
	struct json j = { "{", 1 };
	unsigned r;

	json_string(&j, "name", p->cfg->name);
	json_string(&j, "state", part_state_name(s->state));
	json_number(&j, "uptime_ms", s->uptime_ms);
	json_number(&j, "cpu_ms", s->stats.cpu_ns / NS_PER_MS);
	json_number(&j, "share", p->cfg->share);
	json_number(&j, "share_configured_permille", s->state == PART_STOPPED ? 0 : permille(p->cfg->share, t->share));
	json_number(&j, "share_used_permille", s->state == PART_STOPPED ? 0 : permille(s->stats.cpu_ns, t->cpu_ns));
	json_number(&j, "exits", s->stats.exits);
	json_add(&j, ",\"exits_by_reason\":{");
	for (r = 0; r < EXIT_REASONS; r++)
		json_add(&j, "%s\"%s\":%llu", r ? "," : "", exit_names[r], (unsigned long long)s->stats.exits_by[r]);
	json_add(&j, "}");
	json_number(&j, "interrupts_injected", s->stats.injected);
	json_number(&j, "console_bytes", p->uart.out_head);
	json_number(&j, "console_bytes_dropped", p->uart.out_missed);
	json_put(&j);
	disks_json(p);
}

static void stats_text(const struct partition *p, const struct snapshot *s, const struct totals *t)
{
	uint64_t busy = permille(s->stats.cpu_ns / NS_PER_MS, s->uptime_ms * (s->ncpus ? s->ncpus : 1));
	char by[512];
	size_t n = 0;
	unsigned r;

	console_print("%s: %s, uptime %llu s, cpu %llu ms (%llu.%llu%% of its %u vCPUs' time)\n", p->cfg->name,
		      part_state_name(s->state), (unsigned long long)(s->uptime_ms / 1000),
		      (unsigned long long)(s->stats.cpu_ns / NS_PER_MS), (unsigned long long)(busy / 10),
		      (unsigned long long)(busy % 10), s->ncpus);
	if (s->state != PART_STOPPED) {
		uint64_t cfg = permille(p->cfg->share, t->share), used = permille(s->stats.cpu_ns, t->cpu_ns);
		console_print("  share %u: configured %llu.%llu%%, used %llu.%llu%% of the running partitions' CPU time\n",
			      p->cfg->share, (unsigned long long)(cfg / 10), (unsigned long long)(cfg % 10),
			      (unsigned long long)(used / 10), (unsigned long long)(used % 10));
	}
	by[0] = 0;
	for (r = 0; r < EXIT_REASONS && n < sizeof(by); r++)
		if (s->stats.exits_by[r])
			n += (size_t)fmt(by + n, sizeof(by) - n, " %s %llu", exit_names[r],
					 (unsigned long long)s->stats.exits_by[r]);
	console_print("  exits %llu:", (unsigned long long)s->stats.exits);
	console_put(by, str_len(by));
	console_print("\n  interrupts injected %llu, console output %llu bytes (%llu dropped: an attached line could "
		      "not take them)\n", (unsigned long long)s->stats.injected, (unsigned long long)p->uart.out_head,
		      (unsigned long long)p->uart.out_missed);
	disks_text(p);
}

static void stats_one(const struct partition *p, int json, const struct totals *t)
{
	struct snapshot s;

	take_snapshot(p, &s);
	if (json)
		stats_json(p, &s, t);
	else
		stats_text(p, &s, t);
}

void cmd_stats(const struct console_args *a)
{
	int json = console_flag(a, 'j');
	struct totals t;
	uint32_t i;

	if (a->nargs == 0 || !refuse_without_partitions()) {
		running_totals(&t);
		for (i = 0; i < partition_count(); i++)
			if ((a->nargs && find_partition(a->arg[0]) == &sys.partitions[i]) ||
			    (!a->nargs && !never_ran(&sys.partitions[i])))
				stats_one(&sys.partitions[i], json, &t);
	}
	if (a->nargs)
		return;
	disks_show_faults(json);
	if (json)
		console_print("{\"console\":{\"log_bytes_dropped\":%llu,\"line_bytes_dropped\":%llu,"
			      "\"input_bytes_dropped\":%llu,\"input_overruns\":%llu}}\n",
			      (unsigned long long)log_dropped(), (unsigned long long)log_line_dropped(),
			      (unsigned long long)sys.console_uart->rx.dropped,
			      (unsigned long long)sys.console_uart->rx_overruns);
	else
		console_print("console: %llu bytes of log dropped (the serial line could not take them; 'log' has them), "
			      "%llu bytes dropped by a stalled line; input: %llu bytes dropped (receive ring full), "
			      "%llu UART overruns\n", (unsigned long long)log_dropped(),
			      (unsigned long long)log_line_dropped(), (unsigned long long)sys.console_uart->rx.dropped,
			      (unsigned long long)sys.console_uart->rx_overruns);
}

/* ---- cpus */

static void cpu_line(unsigned cpu, uint64_t now)
{
	char runs[256];
	uint64_t since, idle = scheduler_idle_ticks(cpu, &since), pm = permille(idle, now - since);
	size_t n = 0;
	uint32_t i;
	unsigned v;

	runs[0] = 0;
	for (i = 0; i < partition_count() && n < sizeof(runs); i++) {
		const struct partition *p = &sys.partitions[i];
		struct snapshot s;
		take_snapshot(p, &s);
		for (v = 0; v < p->cfg->vcpus && n < sizeof(runs); v++)
			if (s.cpu[v] == (int)cpu)
				n += (size_t)fmt(runs + n, sizeof(runs) - n, " %s/%u%s", p->cfg->name, v,
						 p->cfg->exclusive ? " (exclusive)" : "");
	}
	console_print("  cpu %-3u idle %3llu.%llu%%  %s%s%s\n", cpu, (unsigned long long)(pm / 10),
		      (unsigned long long)(pm % 10), cpu == 0 ? "console" : "", n ? (cpu == 0 ? ", vCPUs:" : "vCPUs:") : "",
		      runs);
}

void cmd_cpus(const struct console_args *a)
{
	uint64_t now = arch_tsc();
	unsigned cpu;

	(void)a;
	console_print("  %u CPUs online; idle since start-up\n", sys.cpus_online);
	for (cpu = 0; cpu < sys.cpus_online; cpu++)
		cpu_line(cpu, now);
}

/* ---- the rest */

/* The page counts too: a leak of a few pages (a partition's restart that
 * keeps a table) shows there, not in MiB; `make soak` compares them. */
void cmd_mem(const struct console_args *a)
{
	uint64_t free = mm_free_pages(), managed = sys.pmem->total_free;

	(void)a;
	console_print("free %llu MiB of %llu MiB managed; pages: %llu free of %llu\n",
		      (unsigned long long)(free * PAGE_SIZE / MIB), (unsigned long long)(managed * PAGE_SIZE / MIB),
		      (unsigned long long)free, (unsigned long long)managed);
}

void cmd_disks(const struct console_args *a)
{
	(void)a;
	disks_show();
	console_print("block path: %llu TSC ticks in virtio-blk notifications, %llu in disk polls that completed "
		      "requests\n", (unsigned long long)virtio_blk_notify_ticks(), (unsigned long long)blk_poll_ticks());
}

static void run_diskbench(void)
{
	struct partition *p = bench_partition;
	const char *why = 0;

	if (p->state != PART_STOPPED)
		why = "it is not stopped: the bench writes over its first disk";
	else if (!p->cfg->ndisks)
		why = "it has no disk";
	else
		why = diskbench_start(&p->cfg->disks[0], p->cfg->name);
	if (why)
		console_error("%s: refused: %s\n", p->cfg->name, why);
	else
		console_print("%s: diskbench started; its figures go to the log\n", p->cfg->name);
}

void cmd_diskbench(const struct console_args *a)
{
	if (refuse_without_partitions())
		return;
	bench_partition = find_partition(a->arg[0]);
	if (console_flag(a, 'y'))
		run_diskbench();
	else
		console_confirm("the bench writes over the disk's first 16 MiB; go on?", run_diskbench);
}

void cmd_net(const struct console_args *a)
{
	(void)a;
	if (!sys.config)
		console_error("no switches: the configuration was refused (see 'log')\n");
	else
		net_show();
}

void cmd_config(const struct console_args *a)
{
	(void)a;
	if (!sys.config) {
		console_error("the configuration was refused (see 'log'): none is in effect\n");
		return;
	}
	cfg_print(sys.config, put_text, 0);
}

void cmd_version(const struct console_args *a)
{
	(void)a;
	console_print("hv %s\n", HV_VERSION);
}

static void reboot_now(void)
{
	log_warn("host: reboot asked for at the console");
	host_reset();
}

static void poweroff_now(void)
{
	const char *why;

	log_warn("host: power-off asked for at the console");
	why = host_poweroff();
	log_error("host: cannot power off: %s", why);
	console_error("cannot power off: %s\n", why);
}

void cmd_reboot(const struct console_args *a)
{
	if (console_flag(a, 'y'))
		reboot_now();
	else
		console_confirm("reboot the host? every partition ends at once", reboot_now);
}

void cmd_poweroff(const struct console_args *a)
{
	if (console_flag(a, 'y'))
		poweroff_now();
	else
		console_confirm("power the host off? every partition ends at once", poweroff_now);
}
