/*
 * A latency histogram of log2 buckets of microseconds: bucket 0 counts
 * latencies of at most 1 us, bucket i those over 2^(i-1) and at most 2^i
 * us, and the last bucket everything over 2^(LAT_BUCKETS-2) us (33.5 s,
 * past the block layer's 30 s deadline). A percentile is known only to a
 * bucket, so it is given as that bucket's upper bound.
 */
#ifndef HV_LIB_LAT_HIST_H
#define HV_LIB_LAT_HIST_H

#include <stdint.h>

#define LAT_BUCKETS 27
#define LAT_OPEN ~0ull /* the bound of the last bucket's percentiles: over 2^(LAT_BUCKETS-2) us */

struct lat_hist {
	uint64_t count[LAT_BUCKETS];
};

/* The bucket a latency of us microseconds falls in. */
unsigned lat_bucket(uint64_t us);

void lat_hist_add(struct lat_hist *h, uint64_t us);

/*
 * The upper bound in us of the bucket holding the pct-th percentile (1 to
 * 100; the smallest bucket with at least pct% of the count at or below it),
 * LAT_OPEN for the last bucket, 0 for an empty histogram.
 */
uint64_t lat_percentile_us(const struct lat_hist *h, unsigned pct);

#endif
