/*
 * A guest's read or write of guest-physical memory above its RAM, for
 * every backend: the instruction at CS:RIP is read through the guest's
 * own paging, emulated (mmio_emul.c) against the partition's device bus,
 * and its registers, RFLAGS and RIP written back. What cannot be done
 * stops the partition, with the instruction's bytes, its RIP and why.
 */
#include "arch.h"
#include "gpt.h"
#include "lib/fmt.h"
#include "mmio_emul.h"
#include "partition.h"
#include "space.h"
#include "vcpu.h"
#include "vcpu_irq.h"
#include "vdev/bus.h"
#include "vdev/platform.h"

#define PAGE_SIZE 4096u
#define BYTES_TEXT (INSN_MAX * 3 + 1)

struct mmio_context {
	struct vcpu *v;
	struct partition *p;
	struct guest_mode g; /* its segment bases read on a string instruction's first translation */
	int have_segment_bases;
	enum cpu_mode mode;
};

/* RAM is read and written in place, the rest through the bus; x86 is little-endian on both sides. */
static int bus_access(void *ctx, uint64_t gpa, unsigned size, int write, uint64_t *value)
{
	struct mmio_context *m = ctx;
	uint8_t *ram;

	if (!write)
		*value = 0;
	if (!platform_is_ram(m->p->ram_size, gpa)) {
		if (!vcpu_apic_mmio(m->v, gpa, size, write, value)) /* each vCPU its own APIC at one address */
			vdev_mmio_access(m->p, gpa, size, write, value);
		return 0;
	}
	ram = space_ram(m->p->space, gpa, size);
	if (!ram || size > sizeof(*value))
		return -1;
	if (write)
		__builtin_memcpy(ram, value, size);
	else
		__builtin_memcpy(value, ram, size);
	return 0;
}

/*
 * seg:offset as the guest's CPU forms it (SDM Vol. 3A, 3.4.4): in 64-bit
 * mode only FS and GS have a base; elsewhere the sum wraps at 4 GiB.
 * Segment limits are not checked: the CPU checked them before it faulted.
 */
static int translate(void *ctx, enum mmio_seg seg, uint64_t offset, unsigned size, int write, uint64_t *gpa)
{
	struct mmio_context *m = ctx;
	unsigned access = (write ? GUEST_ACCESS_WRITE : GUEST_ACCESS_READ) | (m->g.cpl == 3 ? GUEST_ACCESS_USER : 0);
	uint64_t linear;

	if (!m->have_segment_bases) {
		m->v->ops->segment_bases(m->v, &m->g);
		m->have_segment_bases = 1;
	}
	if (m->mode == MODE_64)
		linear = offset + (seg == SEG_FS || seg == SEG_GS ? m->g.seg_base[seg] : 0);
	else
		linear = (uint32_t)(offset + m->g.seg_base[seg]);
	if ((linear & (PAGE_SIZE - 1)) + size > PAGE_SIZE)
		return -1; /* two guest pages, which may lie anywhere */
	return space_translate_virtual(m->p->space, &m->g, linear, access, gpa) == GUEST_WALK_OK ? 0 : -1;
}

/* Whether the code at CS:rip is itself above RAM: it faulted on its own fetch. */
static int code_above_ram(const struct mmio_context *m, uint64_t rip)
{
	uint64_t linear, gpa;

	guest_code_address(&m->g, rip, &linear);
	return space_translate_virtual(m->p->space, &m->g, linear, GUEST_ACCESS_FETCH, &gpa) == GUEST_WALK_OK &&
	       !platform_is_ram(m->p->ram_size, gpa);
}

static const char *fetch_failure(enum guest_walk_result r)
{
	switch (r) {
	case GUEST_WALK_NOT_CANONICAL: return "RIP is not canonical";
	case GUEST_WALK_PAGE_FAULT: return "its page is no longer mapped";
	case GUEST_WALK_OUTSIDE_RAM: return "its page tables point outside the partition's RAM";
	case GUEST_WALK_OK: break;
	}
	return "?";
}

/* The instruction's bytes in hex: its length if it decodes, else all that were read. */
static void bytes_text(char *text, const uint8_t *bytes, unsigned n, enum cpu_mode mode)
{
	struct insn in;
	unsigned i, len = 0;

	if (insn_decode(bytes, n, mode, &in) == 0)
		n = in.length;
	text[0] = 0;
	for (i = 0; i < n; i++)
		len += (unsigned)fmt(text + len, BYTES_TEXT - len, i ? " %02x" : "%02x", bytes[i]);
}

/* Stops the partition, with the bytes at CS:RIP read again for the message (none when they cannot be). */
static void refuse(const struct mmio_context *m, const struct vcpu_exit *e, uint64_t rip, const char *why)
{
	char text[BYTES_TEXT];
	uint8_t bytes[INSN_MAX];
	enum cpu_mode mode;
	unsigned n;

	if (space_read_code(m->p->space, &m->g, rip, bytes, &n, &mode) != GUEST_WALK_OK)
		n = 0;
	bytes_text(text, bytes, n, mode);
	partition_stop(m->p, "MMIO %s of 0x%llx at rip 0x%llx: %s (bytes %s)",
		       e->u.mem.access == GPT_WRITE ? "write" : "read", (unsigned long long)e->u.mem.gpa,
		       (unsigned long long)rip, why, text);
}

/*
 * The instruction at CS:RIP read through the guest's paging and decoded,
 * then kept for the next exit from it (space.h, struct kept_insn): 0;
 * MMIO_NOT_DATA; or -1, the partition stopped.
 */
static int read_and_decode(struct mmio_context *m, const struct vcpu_exit *e, uint64_t rip, struct insn *in)
{
	uint8_t bytes[INSN_MAX];
	enum guest_walk_result w;
	unsigned n;

	w = space_read_code(m->p->space, &m->g, rip, bytes, &n, &m->mode);
	if (w == GUEST_WALK_OUTSIDE_RAM && code_above_ram(m, rip))
		return MMIO_NOT_DATA;
	if (w != GUEST_WALK_OK) {
		refuse(m, e, rip, fetch_failure(w));
		return -1;
	}
	if (insn_decode(bytes, n, m->mode, in)) {
		refuse(m, e, rip, n < INSN_MAX ? "the instruction crosses into an unmapped page"
					      : mmio_result_name(MMIO_UNDECODABLE));
		return -1;
	}
	if (m->g.code_cache)
		space_keep_insn(&m->g.code_cache->decoded, &m->g, rip, bytes, in, m->mode);
	return 0;
}

/*
 * The emulator works on the vCPU's own registers; RFLAGS is written back
 * only when it changed (a MOV changes no flag).
 */
int arch_guest_mmio(struct vcpu *v, const struct vcpu_exit *e)
{
	struct mmio_context m; /* set field by field: an initializer would zero all of it first (g is large) */
	const struct mmio_bus bus = { bus_access, translate, &m };
	struct mmio_cpu cpu = { .gpr = v->gprs };
	const struct insn *in = 0;
	struct insn decoded;
	enum mmio_result r;
	int read;

	m.v = v;
	m.p = v->part;
	m.have_segment_bases = 0;
	v->ops->guest_mode(v, &m.g);
	cpu.rip = v->ops->get_reg(v, REG_RIP);
	if (m.g.code_cache)
		in = space_kept_insn(m.p->space, &m.g, &m.g.code_cache->decoded, cpu.rip, &m.mode);
	if (!in) {
		read = read_and_decode(&m, e, cpu.rip, &decoded);
		if (read)
			return read;
		in = &decoded;
	}
	cpu.rflags = m.g.rflags;
	cpu.mode = m.mode;
	r = mmio_emulate_insn(&cpu, in, e->u.mem.gpa, &bus);
	if (r != MMIO_DONE) {
		refuse(&m, e, v->ops->get_reg(v, REG_RIP), mmio_result_name(r));
		return -1;
	}
	if (cpu.rflags != m.g.rflags)
		v->ops->set_reg(v, REG_RFLAGS, cpu.rflags);
	v->ops->emulated(v, cpu.rip);
	return 0;
}
