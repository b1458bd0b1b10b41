/* The table of the host's block devices, filled by the storage drivers at boot. */
#include "block.h"

static struct blk_dev *devs[BLK_DEVS_MAX];
static unsigned ndevs;

int blk_register(struct blk_dev *d)
{
	if (ndevs == BLK_DEVS_MAX)
		return -1;
	devs[ndevs++] = d;
	return 0;
}

unsigned blk_count(void)
{
	return ndevs;
}

struct blk_dev *blk_get(unsigned index)
{
	return index < ndevs ? devs[index] : 0;
}
