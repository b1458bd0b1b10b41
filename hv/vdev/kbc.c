#include "kbc.h"

#include "partition.h"

/* Status: the system flag (its self-test passed at power-on) and the keyboard not inhibited; both buffers empty. */
#define STATUS_SYSTEM 0x04
#define STATUS_NOT_INHIBITED 0x10

/* Pulse output port: the low nibble's clear bits name the lines pulsed; bit 0 is the reset line. */
#define PULSE_OUTPUT_PORT 0xf0
#define RESET_LINE 0x01

static void data_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	(void)dev;
	(void)offset;
	(void)size;
	*value = 0; /* nothing was ever in the output buffer */
}

static void ignore_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	(void)dev;
	(void)offset;
	(void)size;
	(void)value;
}

static void status_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	(void)dev;
	(void)offset;
	(void)size;
	*value = STATUS_SYSTEM | STATUS_NOT_INHIBITED;
}

static void command_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	uint8_t command = (uint8_t)value;

	(void)offset;
	(void)size;
	if ((command & PULSE_OUTPUT_PORT) == PULSE_OUTPUT_PORT && !(command & RESET_LINE))
		partition_reset(dev, "reset by the keyboard controller (command 0x%02X)", command);
}

const struct vdev_ops vkbc_data_ops = { .read = data_read, .write = ignore_write };
const struct vdev_ops vkbc_command_ops = { .read = status_read, .write = command_write };
