/*
 * The paravirtual clock Linux reads under KVM, offered by this hypervisor
 * too (KVM's documented guest ABI: Documentation/virt/kvm/x86/msr.rst and
 * cpuid.rst): its CPUID leaves at 0x40000100 (where a guest scans for them,
 * our own signature staying at 0x40000000) name the clock source features
 * only, and two MSRs point the hypervisor at guest structures it fills in.
 * The guest so learns the TSC's rate from the hypervisor instead of
 * calibrating it against the PIT, and the wall-clock time at its start.
 *
 * Every vCPU of a partition sees one TSC (one offset, one rate), so the
 * structures are written once, when the guest names them, and stay true.
 */
#ifndef HV_PVCLOCK_H
#define HV_PVCLOCK_H

#include <stdint.h>

#define PVCLOCK_CPUID_BASE 0x40000100u /* "KVMKVMKVM\0\0\0", EAX the last leaf */
#define PVCLOCK_CPUID_FEATURES 0x40000101u
#define PVCLOCK_FEATURES ((1u << 3) | (1u << 24)) /* CLOCKSOURCE2, CLOCKSOURCE_STABLE_BIT */
#define MSR_PVCLOCK_WALL_CLOCK 0x4b564d00u
#define MSR_PVCLOCK_SYSTEM_TIME 0x4b564d01u

/* struct pvclock_vcpu_time_info, as the ABI lays it out (32 bytes). */
struct pvclock_time_info {
	uint32_t version; /* odd while the hypervisor writes */
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time; /* ns at tsc_timestamp */
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
};

#define PVCLOCK_TSC_STABLE 1u /* every vCPU's clock agrees */

/*
 * ns = ((tsc << shift, or >> -shift) * mul) >> 32, the ABI's scaling, for a
 * TSC of hz ticks per second: mul in [2^31, 2^32) for the most precision.
 */
void pvclock_scale(uint64_t hz, uint32_t *mul, int8_t *shift);
/* ns for ticks, scaled as the guest does. */
uint64_t pvclock_ns(uint64_t ticks, uint32_t mul, int8_t shift);

struct vcpu;
/* The two MSRs: 1 not one of them, 0 done (reads in *value), -1 #GP. */
int vcpu_pvclock_msr(struct vcpu *v, int write, uint32_t msr, uint64_t *value);

#endif
