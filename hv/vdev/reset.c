#include "reset.h"

#include "partition.h"

#define SYS_RST 0x02
#define RST_CPU 0x04
#define FULL_RST 0x08

void vreset_init(struct vreset *r)
{
	r->control = 0;
}

static void port_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	struct partition *p = dev;

	(void)offset;
	(void)size; /* one port: the bus hands it bytes alone */
	*value = p->reset.control;
}

static void port_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct partition *p = dev;
	uint8_t v = (uint8_t)value;

	(void)offset;
	(void)size;
	p->reset.control = v & (SYS_RST | FULL_RST);
	if (v & RST_CPU)
		partition_reset(p, "reset through port 0xCF9 (0x%02x)", v);
}

const struct vdev_ops vreset_ops = { .read = port_read, .write = port_write };
