/*
 * Platform test kernel: a freestanding Multiboot kernel that checks the
 * virtual PC it runs on the way an operating system finds it (ACPI from
 * the RSDP, then the devices the tables name), and prints one line per
 * check on COM1:
 *
 *     PLATFORM <check> PASS|FAIL|SKIP <detail>
 *     PLATFORM summary N passed M failed K skipped
 *
 * then writes 0 (all passed) or 1 to the debug-exit port 0xF4. It is
 * developed against QEMU's own PC (q35 and pc), the reference behaviour.
 * The Multiboot command line picks a mode: none runs the checks;
 * mode=poweroff (ACPI S5), mode=power-button (S5 once the ACPI power
 * button is pressed), mode=reset-cf9, mode=reset-kbc, mode=reset-fadt
 * (the reset, then, booted again, a PASS and the summary), mode=exit N
 * (writes N to port 0xF4 at once), mode=ipi-storm.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/fmt.h"
#include "lib/str.h"
#include "platform.h"

#define MB_BOOT_MAGIC 0x2badb002
#define MB_INFO_MEMORY (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MMAP (1u << 6)
#define COM1 0x3f8
#define UART_LSR 5
#define LSR_THRE 0x20
#define DEBUG_EXIT_PORT 0xf4 /* isa-debug-exit: QEMU ends with status (V << 1) | 1 */
#define PIC1 0x20
#define PIC2 0xa0
#define PIC_EOI 0x20
#define MIB (1ull << 20)

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code, rip, cs, rflags, rsp, ss;
};

/* The Multiboot information structure (Multiboot Specification 0.6.96, 3.3). */
struct __attribute__((packed)) mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4], mmap_length, mmap_addr;
};

struct __attribute__((packed)) mb_mmap {
	uint32_t size;
	uint64_t base, len;
	uint32_t type;
};

void platform_main(uint32_t magic, uint32_t info);
void trap_dispatch(struct trap_frame *f);
extern const uint64_t trap_stubs[256];

struct platform pf;
volatile uint32_t irq_count[256];
volatile uint64_t irq_stamp[STAMPS];
static volatile unsigned watched = 256;
static void (*irq_hook[256])(void);
static uint64_t idt[512] __attribute__((aligned(16)));
static unsigned passed, failed, skipped;

/* ---- output ----------------------------------------------------------- */

static void serial_init(void)
{
	outb(COM1 + 1, 0x00); /* no UART interrupts */
	outb(COM1 + 3, 0x80); /* divisor latch: 115200 baud */
	outb(COM1 + 0, 0x01);
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0xc7); /* FIFOs on, cleared */
}

static void put(const char *s)
{
	for (; *s; s++) {
		while (!(inb(COM1 + UART_LSR) & LSR_THRE))
			;
		outb(COM1, (uint8_t)*s);
	}
}

void print(const char *f, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, f);
	fmt_v(line, sizeof(line), f, ap);
	va_end(ap);
	put(line);
}

void report(const char *name, int result, const char *f, ...)
{
	static const char *const words[] = { "FAIL", "PASS", "SKIP" };
	char detail[200];
	va_list ap;

	va_start(ap, f);
	fmt_v(detail, sizeof(detail), f, ap);
	va_end(ap);
	print("PLATFORM %s %s %s\n", name, words[result], detail);
	if (result == PASS)
		passed++;
	else if (result == SKIP)
		skipped++;
	else
		failed++;
}

static void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* The summary, then the exit port; where there is none, we halt. */
void finish(void)
{
	print("PLATFORM summary %u passed %u failed %u skipped\n", passed, failed, skipped);
	outb(DEBUG_EXIT_PORT, failed ? 1 : 0);
	halt_forever();
	__builtin_unreachable();
}

/* ---- time ------------------------------------------------------------- */

uint64_t ms_ticks(uint64_t ms)
{
	return pf.tsc_hz * ms / 1000;
}

void delay(uint64_t ticks)
{
	uint64_t t0 = rdtsc();

	while (rdtsc() - t0 < ticks)
		__asm__ volatile("pause");
}

unsigned per_mille_off(uint64_t measured, uint64_t expected)
{
	uint64_t d = measured > expected ? measured - expected : expected - measured;

	if (!measured || !expected)
		return ~0u;
	return d / expected >= 1000 ? 999999 : (unsigned)(d * 1000 / expected);
}

uint64_t median(uint64_t *v, unsigned n)
{
	unsigned i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n ? v[n / 2] : 0;
}

/* ---- interrupts ------------------------------------------------------- */

static void set_gate(unsigned v, uint64_t handler)
{
	idt[v * 2] = (handler & 0xffff) | (0x18ull << 16) | (0x8eull << 40) | ((handler >> 16 & 0xffff) << 48);
	idt[v * 2 + 1] = handler >> 32;
}

void load_idt(void);
void load_idt(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };

	__asm__ volatile("lidt %0" : : "m"(idtr));
}

static void install_idt(void)
{
	unsigned v;

	for (v = 0; v < 256; v++)
		set_gate(v, trap_stubs[v]);
	load_idt();
}

void watch_vector(unsigned vector)
{
	watched = 256;
	irq_count[vector] = 0;
	watched = vector;
}

void set_irq_hook(unsigned vector, void (*hook)(void))
{
	irq_hook[vector] = hook;
}

static void eoi(unsigned vector)
{
	if (vector >= VEC_PIC_BASE && vector < VEC_PIC_BASE + 16) {
		if (vector >= VEC_PIC_BASE + 8)
			outb(PIC2, PIC_EOI);
		outb(PIC1, PIC_EOI);
	} else if (vector != VEC_SPURIOUS) {
		lapic_eoi();
	}
}

void trap_dispatch(struct trap_frame *f)
{
	unsigned v = (unsigned)f->vector;
	uint32_t n;

	if (v < 32 && v != 2) {
		report("exception", FAIL, "vector %u error 0x%llx at rip 0x%llx", v,
		       (unsigned long long)f->error_code, (unsigned long long)f->rip);
		finish();
	}
	n = __atomic_fetch_add(&irq_count[v], 1, __ATOMIC_RELAXED);
	if (v == watched && n < STAMPS)
		irq_stamp[n] = rdtsc();
	if (irq_hook[v])
		irq_hook[v]();
	if (v != 2)
		eoi(v);
}

/*
 * The typical period of the next n + 1 interrupts at vector: each gap
 * divided by the whole periods it spans (a tick the emulator lost makes
 * a gap of two), then the median. 0 if fewer than half came, or if not a
 * quarter of the gaps were single periods (so that a device at twice the
 * period does not pass).
 */
static uint64_t median_gap(unsigned vector, uint32_t n, uint64_t want, uint64_t ticks)
{
	uint64_t periods[STAMPS];
	uint32_t got, i, m = 0, singles = 0;

	watch_vector(vector);
	wait_irqs(vector, n + 1, ticks);
	got = irq_count[vector] < n + 1 ? irq_count[vector] : n + 1;
	for (i = 1; i < got; i++) {
		uint64_t gap = irq_stamp[i] - irq_stamp[i - 1], k = (gap + want / 2) / want;
		if (k)
			periods[m++] = gap / k;
		singles += k == 1;
	}
	return got >= n / 2 && singles * 4 >= m ? median(periods, m) : 0;
}

uint64_t typical_gap(unsigned vector, uint32_t n, uint64_t want, unsigned tolerance, unsigned *attempts)
{
	uint64_t gap = 0;

	for (*attempts = 1;; ++*attempts) {
		gap = median_gap(vector, n, want, 4 * n * want + ms_ticks(200));
		if (per_mille_off(gap, want) <= tolerance || *attempts == ATTEMPTS)
			return gap;
	}
}

int wait_irqs(unsigned vector, uint32_t n, uint64_t ticks)
{
	uint64_t t0 = rdtsc();
	int done;

	__asm__ volatile("sti");
	while (!(done = irq_count[vector] >= n) && rdtsc() - t0 < ticks)
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	return done || irq_count[vector] >= n;
}

/* ---- Multiboot -------------------------------------------------------- */

/* Keeps the command line and the memory map: the SIPI trampoline may land where they were. */
static void take_boot_info(const struct mb_info *mb)
{
	uint32_t off;

	if (mb->flags & MB_INFO_CMDLINE)
		str_copy(pf.cmdline, sizeof(pf.cmdline), (const char *)(uintptr_t)mb->cmdline,
			 str_len((const char *)(uintptr_t)mb->cmdline));
	if (!(mb->flags & MB_INFO_MMAP))
		return;
	for (off = 0; off + sizeof(struct mb_mmap) <= mb->mmap_length && pf.ram_count < MAX_RAM_RANGES;) {
		const struct mb_mmap *e = (const struct mb_mmap *)(uintptr_t)(mb->mmap_addr + off);
		pf.ram[pf.ram_count].base = e->base;
		pf.ram[pf.ram_count].len = e->len;
		pf.ram[pf.ram_count++].type = e->type;
		off += e->size + 4;
	}
}

static void check_multiboot(uint32_t magic, const struct mb_info *mb)
{
	uint64_t ram = 0;
	unsigned i;

	for (i = 0; i < pf.ram_count; i++)
		if (pf.ram[i].type == 1)
			ram += pf.ram[i].len;
	report("multiboot", magic == MB_BOOT_MAGIC && pf.ram_count && (mb->flags & MB_INFO_MEMORY) ? PASS : FAIL,
	       "magic=0x%x flags=0x%x mem_lower=%uK mem_upper=%uK mmap_ranges=%u available=%lluK cmdline='%s'",
	       magic, mb->flags, mb->mem_lower, mb->mem_upper, pf.ram_count, (unsigned long long)(ram >> 10),
	       pf.cmdline);
}

/* The value of key=VALUE among the command line's words (the first word is the kernel's name on QEMU). */
static const char *cmdline_value(const char *key)
{
	const char *s = pf.cmdline;
	size_t n = str_len(key);

	for (; *s; s++)
		if ((s == pf.cmdline || s[-1] == ' ') && str_eq_n(s, n, key) && s[n] == '=')
			return s + n + 1;
	return 0;
}

/* 1 if the mode word at m is name (ended by a space or the end). */
static int mode_is(const char *m, const char *name)
{
	size_t n = str_len(name);

	return str_eq_n(m, n, name) && (m[n] == ' ' || m[n] == 0);
}

static unsigned parse_uint(const char *s)
{
	unsigned v = 0;

	while (*s == ' ')
		s++;
	while (*s >= '0' && *s <= '9' && v < 100000000)
		v = v * 10 + (unsigned)(*s++ - '0');
	return v;
}

/* ---- the modes -------------------------------------------------------- */

static void run_checks(void)
{
	check_acpi();
	check_tsc_rate();
	check_pit_calibration();
	check_rtc_time();
	check_fw_cfg();
	check_pci();
	check_pic();
	check_ioapic_pit();
	check_ioapic_rtc();
	check_smp();
	check_mmio();
	check_lapic_timers(); /* last: it leaves the APIC in x2APIC mode where there is one */
}

static void run_mode(const char *m)
{
	if (mode_is(m, "poweroff")) {
		acpi_poweroff();
	} else if (mode_is(m, "power-button")) {
		acpi_power_button();
	} else if (mode_is(m, "reset-cf9") || mode_is(m, "reset-kbc") || mode_is(m, "reset-fadt")) {
		reset_by(m + 6);
	} else if (mode_is(m, "exit")) {
		unsigned v = parse_uint(m + 4);
		print("PLATFORM exit writing %u to port 0x%x\n", v & 0xff, DEBUG_EXIT_PORT);
		outb(DEBUG_EXIT_PORT, (uint8_t)v);
		report("exit", FAIL, "still running after writing %u to port 0x%x", v & 0xff, DEBUG_EXIT_PORT);
	} else if (mode_is(m, "ipi-storm")) {
		ipi_storm();
	} else {
		report("mode", FAIL, "unknown mode '%s'", m);
	}
}

void platform_main(uint32_t magic, uint32_t info)
{
	const struct mb_info *mb = (const struct mb_info *)(uintptr_t)info;
	const char *mode;

	serial_init();
	install_idt();
	take_boot_info(mb);
	print("PLATFORM boot\n");
	check_multiboot(magic, mb);
	pic_init();
	acpi_discover();
	measure_rates();
	lapic_enable();
	mode = cmdline_value("mode");
	if (mode)
		run_mode(mode);
	else
		run_checks();
	finish();
}
