#include "pvclock.h"

#include "arch.h"
#include "lib/muldiv.h"
#include "partition.h"
#include "walltime.h"

#define NS_PER_S 1000000000ull
#define MSR_ENABLE 1ull /* bit 0 of MSR_PVCLOCK_SYSTEM_TIME */
#define PAGE 4096ull

void pvclock_scale(uint64_t hz, uint32_t *mul, int8_t *shift)
{
	int s;

	/* mul = 10^9 * 2^(32 - s) / hz halves with each step of s: the first that fits. */
	for (s = -31; s < 32; s++) {
		uint64_t m = mul_div(NS_PER_S, 1ull << (32 - s), hz ? hz : 1);

		if (m < (1ull << 32)) {
			*mul = (uint32_t)m;
			*shift = (int8_t)s;
			return;
		}
	}
	*mul = ~0u; /* below 1 Hz: nothing real */
	*shift = 31;
}

uint64_t pvclock_ns(uint64_t ticks, uint32_t mul, int8_t shift)
{
	ticks = shift < 0 ? ticks >> -shift : ticks << shift;
	return (uint64_t)(((unsigned __int128)ticks * mul) >> 32);
}

/* The guest's bytes [gpa, gpa + len) in one page of its RAM, or NULL. */
static void *guest_struct(struct partition *p, uint64_t gpa, uint64_t len)
{
	if ((gpa & 3) || (gpa & (PAGE - 1)) + len > PAGE)
		return 0;
	return partition_ram(p, gpa, len);
}

/* The version goes odd, the fields are written, then it goes even: a guest reading meanwhile retries. */
static void write_time_info(volatile struct pvclock_time_info *t)
{
	uint32_t mul;
	int8_t shift;

	pvclock_scale(arch_tsc_hz(), &mul, &shift);
	t->version = t->version | 1;
	__asm__ volatile("" ::: "memory");
	t->tsc_timestamp = 0; /* the guest's TSC 0 is its time 0 */
	t->system_time = 0;
	t->tsc_to_system_mul = mul;
	t->tsc_shift = shift;
	t->flags = PVCLOCK_TSC_STABLE;
	__asm__ volatile("" ::: "memory");
	t->version = t->version + 1;
}

/*
 * struct pvclock_wall_clock: the wall-clock time at the guest's time 0,
 * when its TSC was 0. The guest's time stands still while it is paused,
 * and so does its wall clock, as its RTC's (vdev/rtc.c).
 */
static void write_wall_clock(volatile uint32_t *w, const struct partition *p)
{
	uint64_t ns = walltime_unix_ns(p->clock.tsc_zero);

	w[0] = w[0] | 1;
	__asm__ volatile("" ::: "memory");
	w[1] = (uint32_t)(ns / NS_PER_S);
	w[2] = (uint32_t)(ns % NS_PER_S);
	__asm__ volatile("" ::: "memory");
	w[0] = w[0] + 1;
}

int vcpu_pvclock_msr(struct vcpu *v, int write, uint32_t msr, uint64_t *value)
{
	uint64_t *kept;
	void *at;

	if (msr == MSR_PVCLOCK_WALL_CLOCK)
		kept = &v->msrs.pvclock_wall_clock;
	else if (msr == MSR_PVCLOCK_SYSTEM_TIME)
		kept = &v->msrs.pvclock_system_time;
	else
		return 1;
	if (!write) {
		*value = *kept;
		return 0;
	}
	*kept = *value;
	if (msr == MSR_PVCLOCK_SYSTEM_TIME && !(*value & MSR_ENABLE))
		return 0; /* the guest stopped using it */
	at = guest_struct(v->part, *value & ~MSR_ENABLE,
			  msr == MSR_PVCLOCK_SYSTEM_TIME ? sizeof(struct pvclock_time_info) : 3 * sizeof(uint32_t));
	if (!at) {
		/* As KVM does: the write is taken, nothing is written where the guest has no such RAM. */
		partition_log_guest(v->part, LOG_WARN, "paravirtual clock at 0x%llx: not in its RAM, not written",
				    (unsigned long long)*value);
		return 0;
	}
	if (msr == MSR_PVCLOCK_SYSTEM_TIME)
		write_time_info(at);
	else
		write_wall_clock(at, v->part);
	return 0;
}
