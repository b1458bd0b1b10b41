#include "lifecycle.h"

struct rule {
	enum part_state next;
	const char *refusal; /* NULL: allowed */
};

static const struct rule rules[4][5] = {
	[PART_STOPPED] = {
		[PART_START] = { PART_RUNNING, 0 },
		[PART_STOP] = { PART_STOPPED, "it is not running" },
		[PART_PAUSE] = { PART_STOPPED, "it is not running" },
		[PART_RESUME] = { PART_STOPPED, "it is not running" },
		[PART_RESTART] = { PART_RUNNING, 0 },
	},
	[PART_RUNNING] = {
		[PART_START] = { PART_RUNNING, "it is running already" },
		[PART_STOP] = { PART_STOPPING, 0 },
		[PART_PAUSE] = { PART_PAUSED, 0 },
		[PART_RESUME] = { PART_RUNNING, "it is not paused" },
		[PART_RESTART] = { PART_STOPPING, 0 },
	},
	[PART_PAUSED] = {
		[PART_START] = { PART_PAUSED, "it is paused; resume it, or restart it" },
		[PART_STOP] = { PART_STOPPING, 0 },
		[PART_PAUSE] = { PART_PAUSED, "it is paused already" },
		[PART_RESUME] = { PART_RUNNING, 0 },
		[PART_RESTART] = { PART_STOPPING, 0 },
	},
	[PART_STOPPING] = {
		[PART_START] = { PART_STOPPING, "it is still stopping; try again in a moment" },
		[PART_STOP] = { PART_STOPPING, "it is stopping already" },
		[PART_PAUSE] = { PART_STOPPING, "it is stopping" },
		[PART_RESUME] = { PART_STOPPING, "it is stopping" },
		[PART_RESTART] = { PART_STOPPING, "it is still stopping; try again in a moment" },
	},
};

const char *part_transition(enum part_state s, enum part_op op, enum part_state *next)
{
	if ((unsigned)s > PART_STOPPING || (unsigned)op > PART_RESTART)
		return "no such state or operation";
	*next = rules[s][op].next;
	return rules[s][op].refusal;
}

const char *part_state_name(enum part_state s)
{
	static const char *const names[] = { "stopped", "running", "paused", "stopping" };

	return (unsigned)s <= PART_STOPPING ? names[s] : "?";
}
