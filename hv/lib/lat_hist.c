/* Latency histograms of log2 buckets (lat_hist.h). */
#include "lat_hist.h"

unsigned lat_bucket(uint64_t us)
{
	unsigned b = 0;

	while (b < LAT_BUCKETS - 1 && us > (1ull << b))
		b++;
	return b;
}

void lat_hist_add(struct lat_hist *h, uint64_t us)
{
	h->count[lat_bucket(us)]++;
}

uint64_t lat_percentile_us(const struct lat_hist *h, unsigned pct)
{
	uint64_t total = 0, below = 0;
	unsigned b;

	for (b = 0; b < LAT_BUCKETS; b++)
		total += h->count[b];
	/* At least pct% of total, rounded up: 100 * below >= pct * total. */
	for (b = 0; b < LAT_BUCKETS && total; b++) {
		below += h->count[b];
		if (below && (unsigned __int128)below * 100 >= (unsigned __int128)total * pct)
			return b == LAT_BUCKETS - 1 ? LAT_OPEN : 1ull << b;
	}
	return 0;
}
