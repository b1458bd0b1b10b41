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
	struct guest_mode g;
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

static void refuse(struct vcpu *v, const struct vcpu_exit *e, const uint8_t *bytes, unsigned n,
		   enum cpu_mode mode, const char *why)
{
	char text[BYTES_TEXT];

	bytes_text(text, bytes, n, mode);
	partition_stop(v->part, "MMIO %s of 0x%llx at rip 0x%llx: %s (bytes %s)",
		       e->u.mem.access == GPT_WRITE ? "write" : "read", (unsigned long long)e->u.mem.gpa,
		       (unsigned long long)v->ops->get_reg(v, REG_RIP), why, text);
}

int arch_guest_mmio(struct vcpu *v, const struct vcpu_exit *e)
{
	struct mmio_context m = { .v = v, .p = v->part };
	const struct mmio_bus bus = { bus_access, translate, &m };
	struct mmio_cpu cpu;
	uint8_t bytes[INSN_MAX];
	enum guest_walk_result w;
	enum mmio_result r;
	unsigned i, n;

	v->ops->guest_mode(v, &m.g);
	cpu.rip = v->ops->get_reg(v, REG_RIP);
	w = space_read_code(m.p->space, &m.g, cpu.rip, bytes, &n, &m.mode);
	if (w == GUEST_WALK_OUTSIDE_RAM && code_above_ram(&m, cpu.rip))
		return MMIO_NOT_DATA;
	if (w != GUEST_WALK_OK) {
		refuse(v, e, bytes, 0, m.mode, fetch_failure(w));
		return -1;
	}
	for (i = 0; i < REG_GPRS; i++)
		cpu.gpr[i] = v->gprs[i];
	cpu.rflags = m.g.rflags;
	cpu.mode = m.mode;
	r = mmio_emulate(&cpu, bytes, n, e->u.mem.gpa, &bus);
	if (r != MMIO_DONE) {
		refuse(v, e, bytes, n, m.mode,
		       r == MMIO_UNDECODABLE && n < INSN_MAX ? "the instruction crosses into an unmapped page"
							    : mmio_result_name(r));
		return -1;
	}
	for (i = 0; i < REG_GPRS; i++)
		v->gprs[i] = cpu.gpr[i];
	v->ops->set_reg(v, REG_RFLAGS, cpu.rflags);
	v->ops->emulated(v, cpu.rip);
	return 0;
}
