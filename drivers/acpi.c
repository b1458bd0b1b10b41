/*
 * Finding ACPI tables (ACPI 6.5, 5.2.5 RSDP, 5.2.8 XSDT, 5.2.12 MADT: CPUs,
 * I/O APICs and ISA interrupt overrides) and
 * the Serial Port Console Redirection table (Microsoft SPCR spec), the
 * PCI Express memory-mapped configuration table (PCI Firmware Specification
 * 3.2, 4.1.2 "MCFG Table Description"), the FADT's reset register and PM1
 * control blocks (5.2.9) with the DSDT's \_S5 sleep type (7.4.2 "\_Sx
 * System States"), and the HPET description table (IA-PC HPET
 * Specification 1.0a, 3.2.4). Each
 * table's checksum and length are checked before any field is read.
 */
#include "acpi.h"

#include "lib/le.h"
#include "lib/str.h"
#include "log.h"

#define TABLE_MAX_LEN (1u << 20)

struct __attribute__((packed)) rsdp {
	char signature[8];
	uint8_t checksum;
	char oem[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum;
	uint8_t reserved[3];
};

struct __attribute__((packed)) sdt_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem[6];
	char oem_table[8];
	uint32_t oem_revision;
	uint32_t creator;
	uint32_t creator_revision;
};

struct __attribute__((packed)) gas {
	uint8_t space; /* 0 memory, 1 I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
};

struct __attribute__((packed)) spcr {
	struct sdt_header h;
	uint8_t interface_type;
	uint8_t reserved[3];
	struct gas base;
	uint8_t interrupt_type;
	uint8_t irq;
	uint32_t gsi;
	uint8_t baud_code;
};

static const struct sdt_header *root;
static int root_is_xsdt;

static uint8_t sum(const void *p, uint32_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *b++);
	return s;
}

static int table_ok(const struct sdt_header *h)
{
	return h && h->length >= sizeof(*h) && h->length <= TABLE_MAX_LEN && sum(h, h->length) == 0;
}

int acpi_init(uint64_t rsdp_addr)
{
	const struct rsdp *r = (const struct rsdp *)(uintptr_t)rsdp_addr;

	if (!r || !str_eq_n(r->signature, 8, "RSD PTR ") || sum(r, 20) != 0) {
		log_warn("acpi: no valid RSDP; CPUs and console are not described");
		return -1;
	}
	root_is_xsdt = r->revision >= 2 && r->xsdt && sum(r, sizeof(*r)) == 0;
	root = (const struct sdt_header *)(uintptr_t)(root_is_xsdt ? r->xsdt : r->rsdt);
	if (!table_ok(root)) {
		log_warn("acpi: the %s fails its checksum", root_is_xsdt ? "XSDT" : "RSDT");
		root = 0;
		return -1;
	}
	return 0;
}

static const struct sdt_header *find_table(const char *sig)
{
	uint32_t entry = root_is_xsdt ? 8 : 4, n, i;
	const uint8_t *entries;

	if (!root)
		return 0;
	n = (root->length - (uint32_t)sizeof(*root)) / entry;
	entries = (const uint8_t *)(root + 1);
	for (i = 0; i < n; i++) {
		uint64_t addr = 0;
		const struct sdt_header *t;
		/* Entries are unaligned in the XSDT: copy byte by byte. */
		for (uint32_t b = 0; b < entry; b++)
			addr |= (uint64_t)entries[i * entry + b] << (8 * b);
		t = (const struct sdt_header *)(uintptr_t)addr;
		if (t && str_eq_n(t->signature, 4, sig) && table_ok(t))
			return t;
	}
	return 0;
}

static void add_cpu(struct acpi_cpus *cpus, uint32_t apic_id, uint32_t flags)
{
	/* Flags bit 0: enabled; bit 1: online capable (ACPI 6.5, Table 5.23). */
	if (!(flags & 3))
		return;
	if (cpus->count < ACPI_CPUS_MAX)
		cpus->apic_id[cpus->count] = apic_id;
	cpus->count++;
}

/* Calls fn on each of the MADT's interrupt controller structures (ACPI 6.5, 5.2.12) that fits in it. */
static void madt_walk(const void *madt, uint32_t len, void (*fn)(const uint8_t *e, void *ctx), void *ctx)
{
	const uint8_t *p = (const uint8_t *)madt + sizeof(struct sdt_header) + 8; /* local APIC address, flags */
	const uint8_t *end = (const uint8_t *)madt + len;

	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		fn(p, ctx);
		p += p[1];
	}
}

static void take_cpu(const uint8_t *p, void *cpus)
{
	if (p[0] == 0 && p[1] >= 8) /* processor local APIC */
		add_cpu(cpus, p[3], p[4] | (uint32_t)p[5] << 8);
	else if (p[0] == 9 && p[1] >= 16) /* processor local x2APIC */
		add_cpu(cpus, le32(p + 4), le32(p + 8));
}

int acpi_read_cpus(struct acpi_cpus *cpus)
{
	const struct sdt_header *madt = find_table("APIC");

	cpus->count = 0;
	if (!madt)
		return -1;
	madt_walk(madt, madt->length, take_cpu, cpus);
	return 0;
}

/*
 * I/O APIC structure (type 1, 12 bytes: ID, address, GSI base; ACPI 6.5,
 * 5.2.12.3) and Interrupt Source Override (type 2, 10 bytes: bus 0 = ISA,
 * source IRQ, GSI, MPS INTI flags; 5.2.12.5).
 */
static void take_irq_entry(const uint8_t *p, void *ctx)
{
	struct acpi_irq_routing *r = ctx;

	if (p[0] == 1 && p[1] >= 12 && r->nioapics < ACPI_IOAPICS_MAX)
		r->ioapic[r->nioapics++] = (struct acpi_ioapic){ p[2], le32(p + 4), le32(p + 8) };
	else if (p[0] == 2 && p[1] >= 10 && p[2] == 0 && r->noverrides < ACPI_OVERRIDES_MAX)
		r->override[r->noverrides++] = (struct acpi_override){ p[3], le32(p + 4), le16(p + 8) };
}

int acpi_parse_irq_routing(const void *madt, uint32_t len, struct acpi_irq_routing *r)
{
	*r = (struct acpi_irq_routing){ 0 };
	if (len < sizeof(struct sdt_header) + 8)
		return -1;
	madt_walk(madt, len, take_irq_entry, r);
	return r->nioapics ? 0 : -1;
}

int acpi_read_irq_routing(struct acpi_irq_routing *r)
{
	const struct sdt_header *madt = find_table("APIC");

	*r = (struct acpi_irq_routing){ 0 };
	return madt ? acpi_parse_irq_routing(madt, madt->length, r) : -1;
}

/* MPS INTI flags (ACPI 6.5, 5.2.12.5): 0 "conforms to the bus", which for ISA is active high and edge. */
#define INTI_POLARITY(f) ((f) & 3)
#define INTI_TRIGGER(f) ((f) >> 2 & 3)
#define INTI_ACTIVE_LOW 3
#define INTI_LEVEL 3

struct acpi_irq_route acpi_isa_irq_route(const struct acpi_irq_routing *r, uint8_t irq)
{
	struct acpi_irq_route route = { irq, 0, 0 };
	uint32_t i;

	for (i = 0; i < r->noverrides; i++) {
		const struct acpi_override *o = &r->override[i];
		if (o->isa_irq != irq)
			continue;
		route.gsi = o->gsi;
		route.active_low = INTI_POLARITY(o->flags) == INTI_ACTIVE_LOW;
		route.level = INTI_TRIGGER(o->flags) == INTI_LEVEL;
	}
	return route;
}

/* FADT field offsets (ACPI 6.5, Table 5.9). */
#define FADT_DSDT 40
#define FADT_SMI_CMD 48
#define FADT_ACPI_ENABLE 52
#define FADT_PM1A_CNT 64
#define FADT_PM1B_CNT 68
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_X_DSDT 140
#define FADT_FLAG_RESET_REG_SUP (1u << 10)
#define AML_NAME_OP 0x08
#define AML_PACKAGE_OP 0x12
#define AML_BYTE_PREFIX 0x0a

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* An AML integer of a package (ACPI 6.5, 20.2.3): ZeroOp, OneOp or BytePrefix n; -1 if another. */
static int aml_byte(const uint8_t *p, const uint8_t *end, const uint8_t **next)
{
	if (p < end && (*p == 0 || *p == 1)) {
		*next = p + 1;
		return *p;
	}
	if (p + 1 < end && *p == AML_BYTE_PREFIX) {
		*next = p + 2;
		return p[1];
	}
	return -1;
}

/*
 * Name(_S5_, Package(){SLP_TYPa, SLP_TYPb, ...}) anywhere in the DSDT:
 * NameOp, the name (maybe after a root prefix '\'), PackageOp, a
 * PkgLength whose lead byte's bits 7:6 count the bytes after it, the
 * element count, then the integers.
 */
static int find_s5(const struct sdt_header *dsdt, struct acpi_power *pw)
{
	const uint8_t *p = (const uint8_t *)dsdt + sizeof(*dsdt), *end = (const uint8_t *)dsdt + dsdt->length;
	int a, b;

	for (; p + 4 < end; p++) {
		if (!str_eq_n((const char *)p, 4, "_S5_") || (p[-1] != AML_NAME_OP && p[-1] != '\\'))
			continue;
		p += 4;
		if (p + 2 >= end || *p != AML_PACKAGE_OP)
			return 0;
		p += 1 + 1 + (p[1] >> 6) + 1; /* PackageOp, PkgLength, NumElements */
		a = aml_byte(p, end, &p);
		b = a < 0 ? -1 : aml_byte(p, end, &p);
		if (b < 0)
			return 0;
		pw->s5_typ_a = (uint8_t)a;
		pw->s5_typ_b = (uint8_t)b;
		return 1;
	}
	return 0;
}

static const struct sdt_header *fadt_dsdt(const uint8_t *f, uint32_t len)
{
	uint64_t addr = rd32(f + FADT_DSDT);
	const struct sdt_header *dsdt;

	if (len >= FADT_X_DSDT + 8 && rd32(f + FADT_X_DSDT) | rd32(f + FADT_X_DSDT + 4))
		addr = rd32(f + FADT_X_DSDT) | (uint64_t)rd32(f + FADT_X_DSDT + 4) << 32;
	dsdt = (const struct sdt_header *)(uintptr_t)addr;
	return addr && str_eq_n(dsdt->signature, 4, "DSDT") && table_ok(dsdt) ? dsdt : 0;
}

int acpi_read_power(struct acpi_power *pw)
{
	const struct sdt_header *h = find_table("FACP");
	const uint8_t *f = (const uint8_t *)h;
	const struct sdt_header *dsdt;

	*pw = (struct acpi_power){ 0 };
	if (!h || h->length < FADT_PM1B_CNT + 4)
		return -1;
	pw->smi_cmd = (uint16_t)rd32(f + FADT_SMI_CMD);
	pw->acpi_enable = f[FADT_ACPI_ENABLE];
	pw->pm1a_cnt = (uint16_t)rd32(f + FADT_PM1A_CNT);
	pw->pm1b_cnt = (uint16_t)rd32(f + FADT_PM1B_CNT);
	if (h->length >= FADT_RESET_VALUE + 1 && (rd32(f + FADT_FLAGS) & FADT_FLAG_RESET_REG_SUP)) {
		const struct gas *g = (const struct gas *)(f + FADT_RESET_REG);
		pw->reset_supported = g->space <= 1 && g->address;
		pw->reset_mmio = g->space == 0;
		pw->reset_addr = g->address;
		pw->reset_value = f[FADT_RESET_VALUE];
	}
	dsdt = fadt_dsdt(f, h->length);
	pw->s5_found = dsdt && find_s5(dsdt, pw);
	return 0;
}

static uint32_t spcr_baud(uint8_t code)
{
	switch (code) {
	case 3: return 9600;
	case 4: return 19200;
	case 6: return 57600;
	case 7: return 115200;
	default: return 0;
	}
}

int acpi_read_console(struct acpi_console *con)
{
	const struct spcr *s = (const struct spcr *)find_table("SPCR");

	if (!s || s->h.length < sizeof(*s))
		return -1;
	/* Interface types 0 (16550) and 0x12 (16550 with GAS-described registers). */
	if (s->interface_type != 0 && s->interface_type != 0x12)
		return -1;
	if (s->base.space > 1 || !s->base.address)
		return -1;
	con->mmio = s->base.space == 0;
	con->base = s->base.address;
	con->reg_shift = s->base.bit_width == 32 ? 2 : 0;
	con->baud = spcr_baud(s->baud_code);
	return 0;
}

/* PCI Firmware Spec 3.2, Table 4-3: an allocation structure, 16 bytes each after 8 reserved. */
#define MCFG_ENTRIES 44
#define MCFG_ENTRY_LEN 16
#define ECAM_BUS_SHIFT 20
#define ECAM_ADDR_LIMIT (1ull << 52) /* the architectural physical-address limit */

static int ecam_ok(const struct acpi_ecam *e)
{
	/* Bus 0's window need not exist, but the base is where it would be. */
	return e->base && !(e->base & ((1ull << ECAM_BUS_SHIFT) - 1)) && e->bus_start <= e->bus_end &&
	       e->base < ECAM_ADDR_LIMIT - ((uint64_t)(e->bus_end + 1) << ECAM_BUS_SHIFT);
}

int acpi_parse_mcfg(const void *table, uint32_t len, struct acpi_mcfg *mcfg)
{
	const uint8_t *t = table;
	uint32_t off;

	mcfg->count = 0;
	if (len < MCFG_ENTRIES || le32(t + 4) < MCFG_ENTRIES)
		return -1;
	if (le32(t + 4) < len)
		len = le32(t + 4);
	for (off = MCFG_ENTRIES; len - off >= MCFG_ENTRY_LEN; off += MCFG_ENTRY_LEN) {
		struct acpi_ecam e = { le64(t + off), le16(t + off + 8), t[off + 10], t[off + 11] };

		if (!ecam_ok(&e))
			log_warn("acpi: MCFG entry for segment %u buses %u-%u at 0x%llx is unusable; left out",
				 e.segment, e.bus_start, e.bus_end, (unsigned long long)e.base);
		else if (mcfg->count < ACPI_MCFG_MAX)
			mcfg->ecam[mcfg->count++] = e;
	}
	return mcfg->count ? 0 : -1;
}

int acpi_read_mcfg(struct acpi_mcfg *mcfg)
{
	const struct sdt_header *t = find_table("MCFG");

	mcfg->count = 0;
	return t ? acpi_parse_mcfg(t, t->length, mcfg) : -1;
}

/*
 * IA-PC HPET Specification 1.0a, 3.2.4, Table 3: after the header, the
 * event timer block ID (4 bytes), the registers' base address as a GAS
 * (12 bytes, at 40), the HPET number, the minimum clock tick and the page
 * protection: 56 bytes.
 */
#define HPET_TABLE_BASE 40
#define HPET_TABLE_LEN 56
#define GAS_SPACE_MEMORY 0

int acpi_parse_hpet(const void *table, uint32_t len, uint64_t *base)
{
	const uint8_t *t = table;
	const struct gas *g = (const struct gas *)(t + HPET_TABLE_BASE);

	*base = 0;
	if (len < HPET_TABLE_LEN || le32(t + 4) < HPET_TABLE_LEN)
		return -1;
	if (g->space != GAS_SPACE_MEMORY || !g->address) {
		log_warn("acpi: the HPET table's registers are not in memory (address space %u, address 0x%llx): "
			 "not used", g->space, (unsigned long long)g->address);
		return -1;
	}
	*base = g->address;
	return 0;
}

int acpi_read_hpet(uint64_t *base)
{
	const struct sdt_header *t = find_table("HPET");

	*base = 0;
	return t ? acpi_parse_hpet(t, t->length, base) : -1;
}
