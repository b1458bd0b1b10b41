#include "debug_exit.h"

#include "partition.h"
#include "platform.h"

uint64_t debug_exit_status(uint64_t value)
{
	return value << 1 | 1;
}

static void port_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	(void)dev, (void)offset, (void)size;
	*value = 0;
}

static void port_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	(void)offset, (void)size;
	partition_stop(dev, "exited through port 0x%x with status %llu", PLATFORM_DEBUG_EXIT_PORT,
		       (unsigned long long)debug_exit_status(value));
}

const struct vdev_ops debug_exit_ops = { port_read, port_write };
