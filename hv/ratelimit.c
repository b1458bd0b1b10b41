#include "ratelimit.h"

void ratelimit_init(struct ratelimit *r, uint32_t burst, uint64_t interval, uint64_t now)
{
	r->lock.locked = 0;
	r->burst = burst;
	r->tokens = burst;
	r->interval = interval ? interval : 1;
	r->earned_at = now;
	r->suppressed = 0;
}

/* The TSCs of two CPUs may differ a little: a clock behind earned_at earns nothing. */
static void earn(struct ratelimit *r, uint64_t now)
{
	uint64_t earned;

	if (now <= r->earned_at)
		return;
	earned = (now - r->earned_at) / r->interval;
	if (earned >= r->burst - r->tokens) {
		r->tokens = r->burst;
		r->earned_at = now;
	} else {
		r->tokens += (uint32_t)earned;
		r->earned_at += earned * r->interval;
	}
}

int ratelimit_pass(struct ratelimit *r, uint64_t now, uint64_t *suppressed)
{
	int pass;

	spin_lock(&r->lock);
	earn(r, now);
	pass = r->tokens > 0;
	if (pass) {
		r->tokens--;
		*suppressed = r->suppressed;
		r->suppressed = 0;
	} else {
		r->suppressed++;
	}
	spin_unlock(&r->lock);
	return pass;
}

uint64_t ratelimit_take_suppressed(struct ratelimit *r)
{
	uint64_t n;

	spin_lock(&r->lock);
	n = r->suppressed;
	r->suppressed = 0;
	spin_unlock(&r->lock);
	return n;
}
