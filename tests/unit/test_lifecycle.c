/* The partition state machine: every state against every operation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lifecycle.h"

static void allowed(enum part_state from, enum part_op op, enum part_state want)
{
	enum part_state next = (enum part_state)-1;
	const char *why = part_transition(from, op, &next);

	if (why)
		fail_msg("%s, op %d: refused (%s)", part_state_name(from), op, why);
	assert_int_equal(next, want);
}

static void refused(enum part_state from, enum part_op op, const char *reason)
{
	enum part_state next;
	const char *why = part_transition(from, op, &next);

	assert_non_null(why);
	if (!strstr(why, reason))
		fail_msg("%s, op %d: '%s' does not say '%s'", part_state_name(from), op, why, reason);
	assert_int_equal(next, from); /* a refused operation changes nothing */
}

static void the_legal_paths(void **state)
{
	(void)state;
	allowed(PART_STOPPED, PART_START, PART_RUNNING);
	allowed(PART_STOPPED, PART_RESTART, PART_RUNNING);
	allowed(PART_RUNNING, PART_PAUSE, PART_PAUSED);
	allowed(PART_PAUSED, PART_RESUME, PART_RUNNING);
	allowed(PART_RUNNING, PART_STOP, PART_STOPPING);
	allowed(PART_PAUSED, PART_STOP, PART_STOPPING);
	allowed(PART_RUNNING, PART_RESTART, PART_STOPPING);
	allowed(PART_PAUSED, PART_RESTART, PART_STOPPING);
}

static void the_illegal_transitions_say_why(void **state)
{
	(void)state;
	refused(PART_STOPPED, PART_STOP, "not running");
	refused(PART_STOPPED, PART_PAUSE, "not running");
	refused(PART_STOPPED, PART_RESUME, "not running");
	refused(PART_RUNNING, PART_START, "running already");
	refused(PART_RUNNING, PART_RESUME, "not paused");
	refused(PART_PAUSED, PART_START, "paused");
	refused(PART_PAUSED, PART_PAUSE, "paused already");
	refused(PART_STOPPING, PART_START, "stopping");
	refused(PART_STOPPING, PART_STOP, "stopping already");
	refused(PART_STOPPING, PART_PAUSE, "stopping");
	refused(PART_STOPPING, PART_RESUME, "stopping");
	refused(PART_STOPPING, PART_RESTART, "stopping");
}

static void out_of_range_is_refused(void **state)
{
	enum part_state next;

	(void)state;
	assert_non_null(part_transition((enum part_state)7, PART_START, &next));
	assert_non_null(part_transition(PART_STOPPED, (enum part_op)9, &next));
	assert_string_equal(part_state_name((enum part_state)7), "?");
	assert_string_equal(part_state_name(PART_PAUSED), "paused");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_legal_paths),
		cmocka_unit_test(the_illegal_transitions_say_why),
		cmocka_unit_test(out_of_range_is_refused),
	};

	return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
