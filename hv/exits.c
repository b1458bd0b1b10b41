/*
 * What the hypervisor does about each exit, for both backends. A guest
 * that does something it may not is stopped with the reason on the
 * console, or gets the fault a real CPU would give it; an exit this file
 * does not know stops the partition: nothing is skipped silently.
 */
#include "arch.h"
#include "gpt.h"
#include "hypercall.h"
#include "log.h"
#include "partition.h"
#include "scheduler.h"
#include "vcpu.h"
#include "vcpu_irq.h"
#include "vdev/platform.h"

#define VEC_UD 6
#define VEC_GP 13
#define RFLAGS_IF (1ull << 9)
#define WAKE_VECTOR_MIN 32 /* below: exceptions */
#define WAKE_SECONDS_MAX 60 /* the host CPU waits that long at most for one guest */
/* The handlers both exit paths share: a call cost the AMD-V round trip 15 instructions. */
#define ALWAYS_INLINE inline __attribute__((always_inline))

static uint64_t rip(struct vcpu *v)
{
	return v->ops->get_reg(v, REG_RIP);
}

static void inject_fault(struct vcpu *v, uint8_t vector)
{
	v->ops->inject(v, EVENT_EXCEPTION, vector, vector == VEC_GP, 0);
}

/*
 * Steps over the exiting instruction; a guest whose code we cannot read
 * stops. Code at a RIP the CPU could not fetch from gets its #GP(0).
 */
static int skip(struct vcpu *v, const struct vcpu_exit *e)
{
	int r = v->ops->skip_instruction(v, e);

	if (r == SKIP_NOT_CANONICAL)
		inject_fault(v, VEC_GP);
	if (r == 0 || r == SKIP_NOT_CANONICAL)
		return 0;
	partition_stop(v->part, "cannot decode the instruction at rip 0x%llx", (unsigned long long)rip(v));
	return -1;
}

/*
 * The partition's UART, claimed at its fixed ports for the partition's
 * life (partition.c), is reached without the bus's claim table: console
 * output is the port I/O guests do most. An access reaching past its
 * ports goes through the bus.
 */
static int is_uart(uint16_t port, unsigned size)
{
	return port >= VUART_BASE && port + size <= VUART_BASE + VUART_PORTS;
}

/* Its value in a register, not through memory: what an OUT's exit has to keep across the call is nothing. */
static void port_write(struct partition *p, uint16_t port, unsigned size, uint64_t value)
{
	if (is_uart(port, size))
		vuart_ops.write(&p->uart, port - VUART_BASE, size, value);
	else
		vdev_port_access(p, port, size, 1, &value);
}

/* Unclaimed: all-ones. */
static uint64_t port_read(struct partition *p, uint16_t port, unsigned size)
{
	uint64_t value;

	if (is_uart(port, size))
		vuart_ops.read(&p->uart, port - VUART_BASE, size, &value);
	else
		vdev_port_access(p, port, size, 0, &value);
	return value;
}

static uint32_t io_mask(unsigned size)
{
	return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static ALWAYS_INLINE void port_io(struct vcpu *v, const struct vcpu_exit *e)
{
	uint32_t mask = io_mask(e->u.io.size);
	uint16_t port = e->u.io.port;
	uint64_t value;

	if (e->u.io.string) {
		partition_stop(v->part, "string port I/O (INS/OUTS) on port 0x%x is not emulated", port);
		return;
	}
	if (!e->u.io.in) {
		port_write(v->part, port, e->u.io.size, v->gprs[REG_RAX] & mask);
		return;
	}
	value = port_read(v->part, port, e->u.io.size);
	/* A 32-bit register write zero-extends to 64 bits; 8 and 16-bit ones merge (SDM Vol. 1, 3.4.1.1). */
	if (e->u.io.size == 4)
		v->gprs[REG_RAX] = value;
	else
		v->gprs[REG_RAX] = (v->gprs[REG_RAX] & ~(uint64_t)mask) | (value & mask);
}

static __attribute__((noinline)) int64_t hypercall_exit(struct vcpu *v, uint64_t status)
{
	partition_stop(v->part, "exited with status %lld", (long long)status);
	return 0;
}

static __attribute__((noinline)) int64_t wake_after(struct vcpu *v, uint64_t ticks, uint64_t vector)
{
	if (vector < WAKE_VECTOR_MIN || vector > 255 || ticks > arch_tsc_hz() * WAKE_SECONDS_MAX)
		return HC_E_INVALID;
	v->wake_at = partition_time(v->part) + ticks;
	v->wake_vector = (int)vector;
	v->wake_due = 0;
	return 0;
}

/* The calls out of line, so that the answers given at once set up no frame for them. */
static ALWAYS_INLINE int64_t hypercall(struct vcpu *v)
{
	uint64_t a0 = v->gprs[REG_RDI], a1 = v->gprs[REG_RSI], a2 = v->gprs[REG_RDX];

	switch (v->gprs[REG_RAX]) {
	case HC_VERSION:
		return HC_ABI_VERSION;
	case HC_ECHO:
		return (int64_t)(a0 ^ HC_ECHO_XOR);
	case HC_EXIT:
		return hypercall_exit(v, a0);
	case HC_WAKE_AFTER:
		return wake_after(v, a0, a1);
	case HC_VCPU_START:
		return partition_start_vcpu(v->part, a0, a1, a2);
	default:
		return HC_E_UNKNOWN;
	}
}

/*
 * HLT: the vCPU waits for its next event, using no CPU time meanwhile:
 * an interrupt its local APIC can give it, or a HC_WAKE_AFTER timer; a
 * vCPU with neither sleeps until one comes or its partition stops. With
 * interrupts off only an NMI or INIT ends it (as Linux's other CPUs wait
 * while one of them reboots); once no vCPU of the partition can run again,
 * it is stopped, and told why. Returns -1 when the vCPU sleeps.
 */
static int halt(struct vcpu *v, const struct vcpu_exit *e)
{
	if (skip(v, e))
		return -1;
	if (!(v->ops->get_reg(v, REG_RFLAGS) & RFLAGS_IF)) {
		v->halted_if_off = 1;
		if (partition_all_halted(v->part)) {
			partition_stop(v->part, "every vCPU halted with interrupts disabled (the last, vCPU %u, at rip "
				       "0x%llx): nothing can wake it", v->id, (unsigned long long)rip(v));
			return -1;
		}
	} else if (vcpu_irq_wake_due(v, partition_time(v->part))) {
		return 0;
	}
	return scheduler_block(v); /* unless an interrupt came meanwhile */
}

static const char *access_name(unsigned access)
{
	return access == GPT_WRITE ? "write" : access == GPT_EXEC ? "instruction fetch" : "read";
}

/*
 * In RAM, the first touch of a 2 MiB chunk (or a second vCPU's, while the
 * first zeroed it): zeroed and mapped, the guest goes on (an event it was
 * delivering goes in again). Outside RAM is where devices are: an
 * instruction's read or write there is emulated. Fetching code from there,
 * or a page-table walk or an event's delivery reaching there, stops the
 * partition, as does anything below.
 */
static int memory(struct vcpu *v, const struct vcpu_exit *e)
{
	unsigned access = e->u.mem.access;
	int by_instruction = access != GPT_EXEC && !e->u.mem.table_walk && !e->u.mem.in_delivery;

	if (platform_is_ram(v->part->ram_size, e->u.mem.gpa) && partition_ram(v->part, e->u.mem.gpa, 1))
		return 0;
	if (by_instruction && !platform_is_ram(v->part->ram_size, e->u.mem.gpa)) {
		int r = arch_guest_mmio(v, e);
		if (r != MMIO_NOT_DATA)
			return r;
		access = GPT_EXEC;
	}
	partition_stop(v->part, "%s of unmapped guest-physical address 0x%llx at rip 0x%llx%s", access_name(access),
		       (unsigned long long)e->u.mem.gpa, (unsigned long long)rip(v),
		       e->u.mem.table_walk ? " (a guest page-table entry)"
		       : e->u.mem.in_delivery ? " (delivering an event)" : "");
	return -1;
}

static int xsetbv(struct vcpu *v, const struct vcpu_exit *e)
{
	int fault = arch_guest_xsetbv(v);

	if (fault == 0)
		return skip(v, e);
	inject_fault(v, (uint8_t)fault);
	return 0;
}

/* RDMSR or WRMSR: 1 if done, 0 if the guest gets #GP. */
static ALWAYS_INLINE int msr(struct vcpu *v, const struct vcpu_exit *e)
{
	if (arch_guest_msr(v, e->reason == EXIT_MSR_WRITE, e->u.msr) == 0)
		return 1;
	inject_fault(v, VEC_GP);
	return 0;
}

/*
 * The fast path's handlers, one function each, so that its dispatch is
 * tail calls and sets up no frame of its own: the frame that held all
 * four cost the VT-x round trip 8 (hypercall) to 11 (CPUID) instructions.
 */
static __attribute__((noinline)) int cpuid_done(struct vcpu *v)
{
	arch_guest_cpuid(v);
	return 1;
}

static __attribute__((noinline)) int msr_done(struct vcpu *v, const struct vcpu_exit *e)
{
	return msr(v, e);
}

static __attribute__((noinline)) int port_io_done(struct vcpu *v, const struct vcpu_exit *e)
{
	port_io(v, e);
	return 1;
}

/* An OUT, what guests do most (console output): nothing kept across the device's call. */
static __attribute__((noinline)) int port_out_done(struct vcpu *v, const struct vcpu_exit *e)
{
	port_write(v->part, e->u.io.port, e->u.io.size, v->gprs[REG_RAX] & io_mask(e->u.io.size));
	return 1;
}

static __attribute__((noinline)) int hypercall_done(struct vcpu *v)
{
	v->gprs[REG_RAX] = (uint64_t)hypercall(v);
	return 1;
}

int vcpu_instruction_exit(struct vcpu *v, const struct vcpu_exit *e)
{
	switch (e->reason) {
	case EXIT_CPUID:
		return cpuid_done(v);
	case EXIT_MSR_READ:
	case EXIT_MSR_WRITE:
		return msr_done(v, e);
	case EXIT_IO:
		if (!e->u.io.in && !e->u.io.string)
			return port_out_done(v, e);
		return port_io_done(v, e);
	default: /* EXIT_HYPERCALL */
		return hypercall_done(v);
	}
}

uint64_t vcpu_exits(const struct vcpu *v)
{
	uint64_t sum = 0;
	unsigned r;

	for (r = 0; r < EXIT_REASONS; r++)
		sum += v->exits_by[r];
	return sum;
}

int vcpu_handle_exit(struct vcpu *v, const struct vcpu_exit *e)
{
	struct partition *p = v->part;

	switch (e->reason) {
	case EXIT_CPUID:
		arch_guest_cpuid(v);
		return skip(v, e);
	case EXIT_MSR_READ:
	case EXIT_MSR_WRITE:
		if (msr(v, e))
			skip(v, e);
		return 0;
	case EXIT_IO:
		port_io(v, e);
		skip(v, e);
		return 0;
	case EXIT_HYPERCALL:
		if (skip(v, e) == 0)
			v->gprs[REG_RAX] = (uint64_t)hypercall(v);
		return 0;
	case EXIT_HLT:
		return halt(v, e);
	case EXIT_XSETBV:
		return xsetbv(v, e);
	case EXIT_CACHE_FLUSH:
		return skip(v, e); /* guest RAM is write-back and coherent: nothing to flush */
	case EXIT_FORBIDDEN_INSN:
		partition_log_guest(p, LOG_WARN, "%s at rip 0x%llx: #UD injected", e->u.insn,
				    (unsigned long long)rip(v));
		inject_fault(v, VEC_UD);
		return 0;
	case EXIT_RDPMC:
		inject_fault(v, VEC_GP); /* no counter is offered: every index is invalid */
		return 0;
	case EXIT_GUEST_EXCEPTION:
		return 0; /* the exit only let the host in; the backend delivers the exception */
	case EXIT_INTERRUPT:
	case EXIT_NMI:
	case EXIT_SLICE_END:
		return 0; /* the host's own event; the guest just runs on */
	case EXIT_INTERRUPT_WINDOW:
		return 0; /* the next entry gives it the interrupt that waited */
	case EXIT_MEMORY:
		return memory(v, e);
	case EXIT_MEMORY_MISCONFIG:
		partition_stop(p, "malformed EPT entry for 0x%llx (a hypervisor bug)",
			       (unsigned long long)e->u.mem.gpa);
		return -1;
	case EXIT_SHUTDOWN:
		partition_stop(p, "triple fault (shutdown) at rip 0x%llx", (unsigned long long)rip(v));
		return -1;
	case EXIT_ENTRY_FAILED:
		partition_stop(p, "VM entry failed (exit code 0x%llx): %s", (unsigned long long)e->raw,
			       e->u.failure);
		return -1;
	case EXIT_STATE_LOST:
		partition_stop(p, "the CPU handed back the host's state as the guest's at exit 0x%llx: the "
			       "guest's state is lost (a defect of the CPU or emulator, not of the guest)",
			       (unsigned long long)e->raw);
		return -1;
	case EXIT_UNKNOWN:
		break;
	}
	partition_stop(p, "unknown exit, raw code 0x%llx, at rip 0x%llx", (unsigned long long)e->raw,
		       (unsigned long long)rip(v));
	return -1;
}
