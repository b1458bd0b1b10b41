/* The disk bench's patterns and figures (diskbench_plan.h). */
#include "diskbench_plan.h"

#include "lib/muldiv.h"

#define NS_PER_S 1000000000ull

const struct db_pattern db_patterns[] = {
	{ "seq_read", BLK_READ, 1, DB_BS_MAX, DB_SEQ_BYTES / DB_BS_MAX, 0 },
	{ "seq_write", BLK_WRITE, 1, DB_BS_MAX, DB_SEQ_BYTES / DB_BS_MAX, 0 },
	{ "rand_read", BLK_READ, 1, 4096, 1024, 1 },
	{ "rand_read", BLK_READ, DB_QD_MAX, 4096, 4096, 1 },
};
const unsigned db_npatterns = sizeof(db_patterns) / sizeof(db_patterns[0]);

static uint64_t xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

uint64_t db_sector(const struct db_pattern *p, uint64_t index, uint64_t *rng, uint64_t disk_sectors)
{
	uint64_t per_request = p->bs / BLK_SECTOR;

	if (!p->random)
		return index * per_request;
	return xorshift64(rng) % (disk_sectors / per_request) * per_request;
}

uint64_t db_kib_per_s(uint64_t requests, uint32_t bs, uint64_t ns)
{
	return mul_div(requests * bs, NS_PER_S, (ns ? ns : 1) * 1024);
}

uint64_t db_iops(uint64_t requests, uint64_t ns)
{
	return mul_div(requests, NS_PER_S, ns ? ns : 1);
}
