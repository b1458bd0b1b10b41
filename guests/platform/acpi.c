/*
 * ACPI as an OS finds it (ACPI 6.5, 5.2): the RSDP in the EBDA or in
 * 0xE0000-0xFFFFF, the XSDT (or the RSDT), each table's length and
 * checksum, the FADT's PM ports, reset register and DSDT, the MADT's
 * APICs and overrides, the MCFG's ECAM. Also what the tables are for:
 * S5 power-off (SLP_TYP from the DSDT's \_S5 package) and the resets.
 */
#include <stdint.h>

#include "lib/fmt.h"
#include "lib/str.h"
#include "platform.h"

#define HDR 36 /* the common table header */
#define FADT_FACS 36
#define FADT_DSDT 40
#define FADT_SCI 46
#define FADT_SMI_CMD 48
#define FADT_ACPI_ENABLE 52
#define FADT_PM1A_EVT 56
#define FADT_PM1A_CNT 64
#define FADT_PM1B_CNT 68
#define FADT_PM_TMR 76
#define FADT_CENTURY 108
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_X_FACS 132
#define FADT_X_DSDT 140
#define FADT_X_PM_TMR 208
#define FLAG_TMR_VAL_EXT (1u << 8)
#define FLAG_RESET_REG_SUP (1u << 10)
#define FLAG_HW_REDUCED (1u << 20)
#define GAS_MEMORY 0
#define GAS_IO 1
#define GAS_PCI 2
#define SCI_EN 1
#define SLP_EN (1u << 13)
#define MAX_TABLES 32

static char table_names[MAX_TABLES * 5];
static unsigned table_count, bad_tables;
static char first_bad[48];

/* A physical address as a pointer the compiler knows nothing about (it has no object there). */
static const volatile void *phys(uint64_t a)
{
	__asm__("" : "+r"(a));
	return (const volatile void *)(uintptr_t)a;
}

static uint8_t rd8(uint64_t a) { return *(const volatile uint8_t *)phys(a); }
static uint16_t rd16(uint64_t a) { return *(const volatile uint16_t *)phys(a); }
static uint32_t rd32(uint64_t a) { return *(const volatile uint32_t *)phys(a); }
static uint64_t rd64(uint64_t a) { return *(const volatile uint64_t *)phys(a); }

static uint8_t sum(uint64_t a, uint32_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + rd8(a++));
	return s;
}

static int sig_is(uint64_t a, const char *sig)
{
	return rd32(a) == *(const uint32_t *)sig;
}

/* The RSDP: 16-byte aligned, "RSD PTR ", its first 20 bytes summing to 0 (ACPI 6.5, 5.2.5.1). */
static uint64_t find_rsdp_in(uint64_t start, uint64_t end)
{
	uint64_t a;

	for (a = start; a + 20 <= end; a += 16)
		if (rd32(a) == 0x20445352 && rd32(a + 4) == 0x20525450 && sum(a, 20) == 0)
			return a;
	return 0;
}

static uint64_t find_rsdp(void)
{
	uint64_t ebda = (uint64_t)rd16(0x40e) << 4, a = 0;

	if (ebda >= 0x80000 && ebda < 0xa0000)
		a = find_rsdp_in(ebda, ebda + 1024);
	return a ? a : find_rsdp_in(0xe0000, 0x100000);
}

/* Length and checksum of the table at a; records it under its signature. */
static int table_ok(uint64_t a, const char *what)
{
	uint32_t len = rd32(a + 4);
	int ok = len >= HDR && len < (16u << 20) && sum(a, len) == 0;

	if (table_count < MAX_TABLES) {
		str_copy(table_names + table_count * 5, 5, (const char *)(uintptr_t)a, 4);
		table_names[table_count * 5 + 4] = ',';
		table_count++;
	}
	if (!ok && !bad_tables++)
		fmt(first_bad, sizeof(first_bad), "%s at 0x%llx len %u", what, (unsigned long long)a, len);
	return ok;
}

static void note_table(uint64_t a)
{
	if (!table_ok(a, "table"))
		return;
	if (sig_is(a, "FACP"))
		pf.fadt = a;
	else if (sig_is(a, "APIC"))
		pf.madt = a;
	else if (sig_is(a, "MCFG"))
		pf.mcfg = a;
}

/* ---- MADT (ACPI 6.5, 5.2.12) ------------------------------------------ */

static void add_cpu(uint32_t apic_id, uint32_t flags)
{
	if ((flags & 1) && pf.cpus < MAX_CPUS)
		pf.apic_id[pf.cpus++] = apic_id;
}

static void parse_madt(uint64_t m)
{
	uint64_t e = m + 44, end = m + rd32(m + 4);
	unsigned irq;

	for (irq = 0; irq < 16; irq++)
		pf.irq_gsi[irq] = irq;
	pf.lapic_addr = rd32(m + 36);
	for (; e + 2 <= end && rd8(e + 1) >= 2; e += rd8(e + 1)) {
		switch (rd8(e)) {
		case 0: add_cpu(rd8(e + 3), rd32(e + 4)); break;
		case 1:
			if (!pf.ioapic_addr) {
				pf.ioapic_addr = rd32(e + 4);
				pf.ioapic_gsi_base = rd32(e + 8);
			}
			break;
		case 2:
			if (rd8(e + 3) < 16) {
				pf.irq_gsi[rd8(e + 3)] = rd32(e + 4);
				pf.irq_flags[rd8(e + 3)] = rd16(e + 8);
			}
			break;
		case 5: pf.lapic_addr = rd64(e + 4); break;
		case 9: add_cpu(rd32(e + 4), rd32(e + 8)); break;
		}
	}
}

/* ---- FADT (ACPI 6.5, 5.2.9) ------------------------------------------- */

static uint64_t fadt_addr(uint32_t off32, uint32_t off64)
{
	uint32_t len = rd32(pf.fadt + 4);

	if (len >= off64 + 8 && rd64(pf.fadt + off64))
		return rd64(pf.fadt + off64);
	return rd32(pf.fadt + off32);
}

static void parse_fadt(void)
{
	uint64_t f = pf.fadt;
	uint32_t len = rd32(f + 4), flags = len > FADT_FLAGS ? rd32(f + FADT_FLAGS) : 0;

	pf.dsdt = fadt_addr(FADT_DSDT, FADT_X_DSDT);
	pf.facs = fadt_addr(FADT_FACS, FADT_X_FACS);
	pf.sci = rd16(f + FADT_SCI);
	pf.smi_cmd = (uint16_t)rd32(f + FADT_SMI_CMD);
	pf.acpi_enable = rd8(f + FADT_ACPI_ENABLE);
	pf.pm1a_evt = (uint16_t)rd32(f + FADT_PM1A_EVT);
	pf.pm1a_cnt = (uint16_t)rd32(f + FADT_PM1A_CNT);
	pf.pm1b_cnt = (uint16_t)rd32(f + FADT_PM1B_CNT);
	pf.pm_timer = (uint16_t)rd32(f + FADT_PM_TMR);
	if (!pf.pm_timer && len >= FADT_X_PM_TMR + 12 && rd8(f + FADT_X_PM_TMR) == GAS_IO)
		pf.pm_timer = (uint16_t)rd64(f + FADT_X_PM_TMR + 4);
	pf.pm_timer_32 = (flags & FLAG_TMR_VAL_EXT) != 0;
	pf.century = len > FADT_CENTURY ? rd8(f + FADT_CENTURY) : 0;
	if (len > FADT_RESET_VALUE && (flags & FLAG_RESET_REG_SUP)) {
		pf.reset_space = rd8(f + FADT_RESET_REG);
		pf.reset_addr = rd64(f + FADT_RESET_REG + 4);
		pf.reset_value = rd8(f + FADT_RESET_VALUE);
		pf.reset_reg_ok = pf.reset_space <= GAS_PCI;
	}
}

void acpi_discover(void)
{
	uint64_t root;
	uint32_t i, n, width;

	pf.rsdp = find_rsdp();
	if (!pf.rsdp)
		return;
	if (rd8(pf.rsdp + 15) >= 2 && rd64(pf.rsdp + 24)) {
		root = rd64(pf.rsdp + 24);
		width = 8;
	} else {
		root = rd32(pf.rsdp + 16);
		width = 4;
	}
	if (!table_ok(root, "root"))
		return;
	n = (rd32(root + 4) - HDR) / width;
	for (i = 0; i < n; i++)
		note_table(width == 8 ? rd64(root + HDR + i * 8) : rd32(root + HDR + i * 4));
	if (pf.fadt)
		parse_fadt();
	if (pf.dsdt)
		table_ok(pf.dsdt, "DSDT");
	if (pf.madt)
		parse_madt(pf.madt);
	if (pf.mcfg && rd32(pf.mcfg + 4) >= 44 + 16) {
		pf.ecam = rd64(pf.mcfg + 44);
		pf.ecam_bus_start = rd8(pf.mcfg + 44 + 10);
		pf.ecam_bus_end = rd8(pf.mcfg + 44 + 11);
	}
}

/* ---- the checks ------------------------------------------------------- */

static int facs_ok(void)
{
	return pf.facs && sig_is(pf.facs, "FACS") && rd32(pf.facs + 4) >= 64;
}

void check_acpi(void)
{
	uint64_t root = rd8(pf.rsdp + 15) >= 2 ? rd64(pf.rsdp + 24) : 0;
	uint32_t flags;

	if (!pf.rsdp) {
		report("acpi_rsdp", FAIL, "no RSDP in the EBDA or 0xE0000-0xFFFFF");
		return;
	}
	report("acpi_rsdp", rd8(pf.rsdp + 15) < 2 || sum(pf.rsdp, rd32(pf.rsdp + 20)) == 0 ? PASS : FAIL,
	       "at 0x%llx revision %u root %s", (unsigned long long)pf.rsdp, rd8(pf.rsdp + 15),
	       root ? "XSDT" : "RSDT");
	if (table_count)
		table_names[table_count * 5 - 1] = 0;
	report("acpi_tables", !bad_tables && pf.fadt && pf.madt && pf.dsdt && facs_ok() ? PASS : FAIL,
	       "%u tables (%s) dsdt_len=%u facs=%s bad=%u%s%s", table_count, table_names,
	       pf.dsdt ? rd32(pf.dsdt + 4) : 0, facs_ok() ? "ok" : "bad", bad_tables, bad_tables ? " first " : "",
	       first_bad);
	report("acpi_madt", pf.madt && pf.cpus && pf.ioapic_addr && pf.lapic_addr ? PASS : FAIL,
	       "cpus=%u apic_ids=%u,%u lapic=0x%llx ioapic=0x%llx gsi_base=%u irq0->gsi%u irq8->gsi%u irq9->gsi%u",
	       pf.cpus, pf.apic_id[0], pf.apic_id[1], (unsigned long long)pf.lapic_addr,
	       (unsigned long long)pf.ioapic_addr, pf.ioapic_gsi_base, pf.irq_gsi[0], pf.irq_gsi[8], pf.irq_gsi[9]);
	flags = pf.fadt ? rd32(pf.fadt + FADT_FLAGS) : 0;
	report("acpi_fadt", pf.fadt && pf.pm_timer && pf.pm1a_cnt && !(flags & FLAG_HW_REDUCED) ? PASS : FAIL,
	       "rev=%u pm_timer=0x%x (%s bits) pm1a_cnt=0x%x sci=%u smi_cmd=0x%x reset=%s:0x%llx=0x%x",
	       pf.fadt ? rd8(pf.fadt + 8) : 0, pf.pm_timer, pf.pm_timer_32 ? "32" : "24", pf.pm1a_cnt, pf.sci,
	       pf.smi_cmd, pf.reset_reg_ok ? (pf.reset_space == GAS_IO ? "io" : "mem") : "none",
	       (unsigned long long)pf.reset_addr, pf.reset_value);
}

/* ---- S5 --------------------------------------------------------------- */

/* An AML integer (ACPI 6.5, 20.2.3): Zero, One, BytePrefix; else the byte itself, as firmwares have it. */
static uint8_t aml_small_int(uint64_t *p)
{
	uint8_t op = rd8((*p)++);

	if (op == 0x0a)
		return rd8((*p)++);
	return op == 0x01 ? 1 : op;
}

/*
 * Name(_S5_, Package(){SLP_TYPa, SLP_TYPb, ...}) in the DSDT: NameOp
 * 0x08, the name, PackageOp 0x12, a PkgLength (its lead byte's bits 7:6
 * count the bytes that follow it), NumElements, the integers.
 */
static int find_s5(uint8_t *typ_a, uint8_t *typ_b)
{
	uint64_t p, end = pf.dsdt + rd32(pf.dsdt + 4);

	for (p = pf.dsdt + HDR; p + 8 < end; p++) {
		if (!sig_is(p, "_S5_") || (rd8(p - 1) != 0x08 && !(rd8(p - 1) == '\\' && rd8(p - 2) == 0x08)))
			continue;
		p += 4;
		if (rd8(p++) != 0x12)
			return 0;
		p += 1 + (rd8(p) >> 6) + 1; /* PkgLength, NumElements */
		*typ_a = aml_small_int(&p);
		*typ_b = aml_small_int(&p);
		return 1;
	}
	return 0;
}

void acpi_poweroff(void)
{
	uint8_t a = 0, b = 0;
	int found = pf.dsdt && find_s5(&a, &b);

	if (!found || !pf.pm1a_cnt) {
		report("poweroff", FAIL, "no \\_S5 in the DSDT or no PM1a control block (pm1a_cnt=0x%x)", pf.pm1a_cnt);
		return;
	}
	if (!(inw(pf.pm1a_cnt) & SCI_EN) && pf.smi_cmd && pf.acpi_enable) {
		outb(pf.smi_cmd, pf.acpi_enable); /* to ACPI mode (ACPI 6.5, 16.3.1) */
		delay(ms_ticks(10));
	}
	print("PLATFORM poweroff SLP_TYPa=%u SLP_TYPb=%u pm1a_cnt=0x%x pm1b_cnt=0x%x\n", a, b, pf.pm1a_cnt,
	      pf.pm1b_cnt);
	outw(pf.pm1a_cnt, (uint16_t)((inw(pf.pm1a_cnt) & ~(7u << 10)) | (uint16_t)((a & 7) << 10) | SLP_EN));
	if (pf.pm1b_cnt)
		outw(pf.pm1b_cnt, (uint16_t)(((b & 7) << 10) | SLP_EN));
	delay(ms_ticks(1000));
	report("poweroff", FAIL, "still running 1 s after SLP_EN with SLP_TYP %u", a);
}

/*
 * The fixed power button (ACPI 6.5, 4.8.3.1.1 "Power Button"): PWRBTN_EN
 * set in PM1_EN (the event block's second half), PWRBTN_STS polled in
 * PM1_STS and cleared by writing it 1, then the power-off an OS does.
 */
#define PM1_PWRBTN 0x0100

void acpi_power_button(void)
{
	uint16_t en;

	if (!pf.pm1a_evt) {
		report("power-button", FAIL, "no PM1a event block in the FADT");
		return;
	}
	en = (uint16_t)(pf.pm1a_evt + 2);
	outw(en, (uint16_t)(inw(en) | PM1_PWRBTN));
	print("PLATFORM power-button waiting (pm1a_evt=0x%x)\n", pf.pm1a_evt);
	while (!(inw(pf.pm1a_evt) & PM1_PWRBTN))
		delay(ms_ticks(10));
	outw(pf.pm1a_evt, PM1_PWRBTN);
	print("PLATFORM power-button pressed\n");
	acpi_poweroff();
}

/* ---- resets ----------------------------------------------------------- */

static void reset_fadt(void)
{
	uint64_t a = pf.reset_addr;

	if (!pf.reset_reg_ok) {
		report("reset", FAIL, "the FADT has no reset register (RESET_REG_SUP clear or an unknown space)");
		return;
	}
	print("PLATFORM reset fadt space %u address 0x%llx value 0x%x\n", pf.reset_space, (unsigned long long)a,
	      pf.reset_value);
	if (pf.reset_space == GAS_IO)
		outb((uint16_t)a, pf.reset_value);
	else if (pf.reset_space == GAS_MEMORY)
		*(volatile uint8_t *)(uintptr_t)a = pf.reset_value;
	else { /* PCI configuration space of bus 0: device, function, offset (ACPI 6.5, 5.2.3.2) */
		outl(0xcf8, 0x80000000u | (uint32_t)(a >> 32 & 0x1f) << 11 | (uint32_t)(a >> 16 & 7) << 8 |
				    (uint32_t)(a & 0xfc));
		outb((uint16_t)(0xcfc + (a & 3)), pf.reset_value);
	}
}

static void kbc_wait_input_empty(void)
{
	uint64_t t0 = rdtsc();

	while ((inb(0x64) & 2) && rdtsc() - t0 < ms_ticks(100))
		;
}

/*
 * CMOS RAM outlives a reset, as on a PC: the boot after the reset finds the
 * mark the one before left, and passes. A byte no firmware uses.
 */
#define CMOS_RESET_MARK 0x7e
#define RESET_MARKED 0xa5

/* how: "cf9" (the reset control register), "kbc" (8042 command 0xFE, pulse reset) or "fadt". */
void reset_by(const char *how)
{
	if (rtc_read(CMOS_RESET_MARK) == RESET_MARKED) {
		rtc_write(CMOS_RESET_MARK, 0);
		report("reset", PASS, "booted again after the %.4s reset, CMOS RAM kept", how);
		return;
	}
	rtc_write(CMOS_RESET_MARK, RESET_MARKED);
	if (str_eq_n(how, 3, "cf9")) {
		print("PLATFORM reset cf9\n");
		outb(0xcf9, 0x02); /* the system reset bit first, then the CPU reset that acts on it */
		outb(0xcf9, 0x06);
	} else if (str_eq_n(how, 3, "kbc")) {
		print("PLATFORM reset kbc\n");
		kbc_wait_input_empty();
		outb(0x64, 0xfe);
	} else {
		reset_fadt();
	}
	delay(ms_ticks(1000));
	report("reset", FAIL, "still running 1 s after the %.4s reset", how);
}
