/* Address-space IDs: never two live holders of one ID, except the overflow ID's flushing holders. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "tag_pool.h"

static struct tag_pool pool;

/* Takes every unique ID of a pool of size IDs: 1 to size-1, each once, then the overflow ID. */
static void drain(uint32_t size)
{
	uint8_t *seen = calloc(size + 1, 1);
	uint32_t i, id;

	assert_non_null(seen);
	assert_int_equal(tag_pool_init(&pool, size, "test"), 0);
	for (i = 1; i < size; i++) {
		id = tag_pool_get(&pool);
		assert_in_range(id, 1, size - 1);
		assert_false(seen[id]);
		assert_false(tag_pool_is_overflow(&pool, id));
		seen[id] = 1;
	}
	for (i = 0; i < 3; i++) { /* exhausted: the overflow ID, as often as asked */
		id = tag_pool_get(&pool);
		assert_int_equal(id, size);
		assert_true(tag_pool_is_overflow(&pool, id));
	}
	free(seen);
}

static void unique_until_exhausted_then_overflow(void **state)
{
	(void)state;
	drain(2);
	drain(16);
	drain(TAG_POOL_MAX);
}

static void pool_of_one_is_all_overflow(void **state)
{
	(void)state;
	assert_int_equal(tag_pool_init(&pool, 1, "test"), 0);
	assert_int_equal(tag_pool_get(&pool), 1);
	assert_true(tag_pool_is_overflow(&pool, 1));
}

static void freed_ids_are_reused(void **state)
{
	(void)state;
	drain(16);
	assert_int_equal(tag_pool_put(&pool, 7), 0);
	assert_int_equal(tag_pool_put(&pool, 3), 0);
	assert_int_equal(tag_pool_get(&pool), 3);
	assert_int_equal(tag_pool_get(&pool), 7);
	assert_int_equal(tag_pool_get(&pool), 16);
	drain(TAG_POOL_MAX);
	assert_int_equal(tag_pool_put(&pool, 40000), 0); /* past the full words before it */
	assert_int_equal(tag_pool_get(&pool), 40000);
	assert_int_equal(tag_pool_get(&pool), TAG_POOL_MAX);
}

static void double_and_foreign_frees_are_refused(void **state)
{
	uint32_t id;

	(void)state;
	assert_int_equal(tag_pool_init(&pool, 16, "test"), 0);
	id = tag_pool_get(&pool);
	assert_int_equal(tag_pool_put(&pool, id), 0);
	assert_int_equal(tag_pool_put(&pool, id), -1);
	assert_int_equal(tag_pool_put(&pool, 5), -1);  /* never handed out */
	assert_int_equal(tag_pool_put(&pool, 0), -1);  /* the host's */
	assert_int_equal(tag_pool_put(&pool, 17), -1); /* outside the pool */
	assert_int_equal(tag_pool_put(&pool, 0xffffffffu), -1);
	assert_int_equal(tag_pool_put(&pool, 16), 0);  /* the overflow ID: nothing to give back */
	assert_int_equal(tag_pool_get(&pool), id);     /* the refused frees changed nothing */
	assert_int_equal(tag_pool_get(&pool), id + 1);
}

static void sizes_out_of_range_are_refused(void **state)
{
	(void)state;
	assert_int_equal(tag_pool_init(&pool, 0, "test"), -1);
	assert_int_equal(tag_pool_init(&pool, TAG_POOL_MAX + 1, "test"), -1);
}

/* CPUs taking and giving back IDs at once: no ID is ever held twice. */
#define THREADS 4
#define ROUNDS 20000
static int holders[17];

static void *churn(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < ROUNDS; i++) {
		uint32_t id = tag_pool_get(&pool);
		if (tag_pool_is_overflow(&pool, id))
			continue;
		if (__atomic_add_fetch(&holders[id], 1, __ATOMIC_SEQ_CST) != 1)
			return (void *)1;
		__atomic_sub_fetch(&holders[id], 1, __ATOMIC_SEQ_CST);
		if (tag_pool_put(&pool, id))
			return (void *)1;
	}
	return 0;
}

static void concurrent_holders_never_share(void **state)
{
	pthread_t t[THREADS];
	void *failed;
	int i;

	(void)state;
	assert_int_equal(tag_pool_init(&pool, 3, "test"), 0); /* 2 unique IDs for 4 threads */
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], 0, churn, 0), 0);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], &failed), 0);
		assert_null(failed);
	}
	assert_int_equal(tag_pool_get(&pool), 1); /* all given back */
	assert_int_equal(tag_pool_get(&pool), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unique_until_exhausted_then_overflow),
		cmocka_unit_test(pool_of_one_is_all_overflow),
		cmocka_unit_test(freed_ids_are_reused),
		cmocka_unit_test(double_and_foreign_frees_are_refused),
		cmocka_unit_test(sizes_out_of_range_are_refused),
		cmocka_unit_test(concurrent_holders_never_share),
	};

	return cmocka_run_group_tests_name("tag_pool", tests, NULL, NULL);
}
