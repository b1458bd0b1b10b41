/*
 * The side-channel mitigations mitigations.c decides, read from this CPU
 * once, logged, and applied: IBPB here on a switch of partition; the L1D
 * flush by the VT-x backend and VERW by the entry code, before each VM
 * entry, from the two flags below.
 */
#include "cpu.h"
#include "log.h"
#include "mitigations.h"
#include "percpu.h"

uint8_t flush_l1d_on_entry;
uint8_t clear_cpu_buffers_on_entry;
/* VERW's operand: the hypervisor's data segment (desc.c). The buffers are overwritten whatever VERW finds of it. */
const uint16_t verw_selector = 0x10;

static struct mitigation_caps caps;
static int ibpb_on_switch;

static void read_caps(void)
{
	struct cpuid_regs v = cpuid(0, 0), l7 = { 0, 0, 0, 0 };

	caps.intel = v.ebx == 0x756e6547 && v.edx == 0x49656e69 && v.ecx == 0x6c65746e; /* GenuineIntel */
	if (v.eax >= 7) {
		l7 = cpuid(7, 0);
		caps.leaf7_ebx = l7.ebx;
		caps.leaf7_edx = l7.edx;
		if (l7.eax >= 2) /* the last subleaf */
			caps.leaf72_edx = cpuid(7, 2).edx;
	}
	if (cpuid(0x80000000, 0).eax >= 0x80000008)
		caps.ext8_ebx = cpuid(0x80000008, 0).ebx;
	if (caps.leaf7_edx & EDX7_ARCH_CAPABILITIES)
		caps.arch_caps = rdmsr(MSR_ARCH_CAPABILITIES);
}

static void report(const char *name, const struct mitigation *m)
{
	log_info("side channels: %s: %s (%s)", name, mitigation_state_name(m->state), m->why);
}

void mitigations_init(void)
{
	struct mitigations m;

	read_caps();
	mitigations_decide(&caps, &m);
	log_info("side channels: CPUID.7 EBX %x EDX %x, CPUID.7.2 EDX %x, CPUID 0x80000008 EBX %x, "
		 "IA32_ARCH_CAPABILITIES %llx",
		 caps.leaf7_ebx, caps.leaf7_edx, caps.leaf72_edx, caps.ext8_ebx, (unsigned long long)caps.arch_caps);
	report("IBPB between partitions", &m.ibpb);
	report("L1D flush on VM entry", &m.l1d_flush);
	report("VERW on VM entry", &m.verw);
	ibpb_on_switch = m.ibpb.state == MITIGATION_APPLIED;
	flush_l1d_on_entry = m.l1d_flush.state == MITIGATION_APPLIED;
	clear_cpu_buffers_on_entry = m.verw.state == MITIGATION_APPLIED;
}

const struct mitigation_caps *mitigation_caps(void)
{
	return &caps;
}

/*
 * Partitions are told apart by their struct, one a configured partition
 * for the hypervisor's life: a restarted partition is the same guest
 * configuration, the same trust domain. The first vCPU on a CPU follows
 * only the hypervisor and firmware: no barrier.
 */
void mitigate_partition_switch(const void *partition)
{
	struct cpu *c = this_cpu();

	if (c->last_partition == partition)
		return;
	if (ibpb_on_switch && c->last_partition)
		wrmsr(MSR_PRED_CMD, PRED_CMD_IBPB);
	c->last_partition = partition;
}
