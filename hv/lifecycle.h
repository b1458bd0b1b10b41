/*
 * The states of a partition and the operations that move it between
 * them: one table, checked before anything is done, so that an operation
 * that makes no sense in a state is refused with the reason.
 *
 *   stopped --start--> running --pause--> paused --resume--> running
 *   running, paused --stop--> stopping --(last vCPU gone)--> stopped
 *   restart: stop (if not stopped), then start
 */
#ifndef HV_LIFECYCLE_H
#define HV_LIFECYCLE_H

enum part_state { PART_STOPPED, PART_RUNNING, PART_PAUSED, PART_STOPPING };
enum part_op { PART_START, PART_STOP, PART_PAUSE, PART_RESUME, PART_RESTART };

/* The state op leads to from state s in *next; NULL, or why op is refused. */
const char *part_transition(enum part_state s, enum part_op op, enum part_state *next);

const char *part_state_name(enum part_state s);

#endif
