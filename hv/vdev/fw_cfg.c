#include "fw_cfg.h"

#include "lib/le.h"

/* Item keys (QEMU include/standard-headers/linux/qemu_fw_cfg.h). */
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_ID 0x0001
#define FW_CFG_RAM_SIZE 0x0003
#define FW_CFG_NB_CPUS 0x0005
#define FW_CFG_MAX_CPUS 0x000f
#define FW_CFG_FILE_DIR 0x0019
#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ARCH_LOCAL 0x8000
#define FW_CFG_VERSION 0x01 /* FW_CFG_ID bit 0: the traditional interface */

#define ITEM_MAX 8

enum { SELECTOR, DATA };

void fw_cfg_init(struct fw_cfg *f, uint64_t ram_size, uint16_t cpus)
{
	*f = (struct fw_cfg){ .ram_size = ram_size, .cpus = cpus };
}

/* The selected item's bytes into item (ITEM_MAX); returns how many there are. */
static unsigned item_bytes(const struct fw_cfg *f, uint8_t *item)
{
	if (f->selector & FW_CFG_ARCH_LOCAL)
		return 0; /* x86's own items (ACPI, SMBIOS, e820 tables) are firmware's: none here */
	switch (f->selector & ~FW_CFG_WRITE_CHANNEL) {
	case FW_CFG_SIGNATURE:
		put_le32(item, 0x554d4551); /* "QEMU" */
		return 4;
	case FW_CFG_ID:
		put_le32(item, FW_CFG_VERSION);
		return 4;
	case FW_CFG_RAM_SIZE:
		put_le64(item, f->ram_size);
		return 8;
	case FW_CFG_NB_CPUS:
	case FW_CFG_MAX_CPUS:
		put_le16(item, f->cpus);
		return 2;
	case FW_CFG_FILE_DIR:
		put_le32(item, 0); /* the count of files, big-endian: none */
		return 4;
	default:
		return 0;
	}
}

static uint8_t next_byte(struct fw_cfg *f)
{
	uint8_t item[ITEM_MAX];
	unsigned n = item_bytes(f, item);

	if (f->offset >= n)
		return 0;
	return item[f->offset++];
}

static void port_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	struct fw_cfg *f = dev;

	(void)offset;
	if (size != 1) {
		*value = ~0ull;
		return;
	}
	spin_lock(&f->lock);
	*value = next_byte(f);
	spin_unlock(&f->lock);
}

static void port_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct fw_cfg *f = dev;

	if (offset != SELECTOR || size != 2)
		return; /* a data write: ignored */
	spin_lock(&f->lock);
	f->selector = (uint16_t)value;
	f->offset = 0;
	spin_unlock(&f->lock);
}

const struct vdev_ops fw_cfg_ops = { port_read, port_write };
