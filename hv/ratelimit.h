/*
 * A token bucket for log lines a guest can cause as often as it likes: a
 * burst of lines, then one per interval of the clock the caller passes
 * (the TSC), counting the lines it held back so that the next line out
 * can say how many. Any CPU may use one limiter.
 */
#ifndef HV_RATELIMIT_H
#define HV_RATELIMIT_H

#include <stdint.h>

#include "lib/spinlock.h"

struct ratelimit {
	struct spinlock lock;
	uint32_t burst;      /* lines that may go out back to back */
	uint32_t tokens;     /* lines that may go out now */
	uint64_t interval;   /* clock ticks that earn one more line */
	uint64_t earned_at;  /* clock up to which tokens were earned */
	uint64_t suppressed; /* lines held back since the last one out */
};

/* A full bucket at now; interval 0 counts as 1. */
void ratelimit_init(struct ratelimit *r, uint32_t burst, uint64_t interval, uint64_t now);

/*
 * Whether a line may go out at now. If so, *suppressed is the count of
 * lines held back since the last one that went out, and the count starts
 * again; if not, this line is counted.
 */
int ratelimit_pass(struct ratelimit *r, uint64_t now, uint64_t *suppressed);

/* The lines held back since the last one out, for a final report; the count starts again. */
uint64_t ratelimit_take_suppressed(struct ratelimit *r);

#endif
