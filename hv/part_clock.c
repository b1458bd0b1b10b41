#include "part_clock.h"

void part_clock_start(struct part_clock *c, uint64_t host)
{
	*c = (struct part_clock){ .tsc_zero = host };
}

uint64_t part_clock_guest_offset(const struct part_clock *c)
{
	return 0 - c->tsc_zero; /* modulo 2^64, as the CPU adds its offset */
}

uint64_t part_clock_uptime(const struct part_clock *c, uint64_t host)
{
	uint64_t now = part_clock_now(c, host);

	return now > c->tsc_zero ? now - c->tsc_zero : 0;
}

uint64_t part_clock_tsc_offset(const struct part_clock *c)
{
	return 0 - c->tsc_zero - c->paused_ticks;
}

void part_clock_pause(struct part_clock *c, uint64_t host)
{
	if (c->paused)
		return;
	c->paused_at = host;
	c->paused = 1;
}

void part_clock_ran_until(struct part_clock *c, uint64_t host)
{
	if (c->paused && host > c->paused_at)
		c->paused_at = host;
}

uint64_t part_clock_resume(struct part_clock *c, uint64_t host)
{
	uint64_t paused;

	if (!c->paused)
		return 0;
	/* Another CPU's TSC may be a little behind the one that paused: never a negative pause. */
	paused = host > c->paused_at ? host - c->paused_at : 0;
	c->paused_ticks += paused;
	c->paused = 0;
	return paused;
}
