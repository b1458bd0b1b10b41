/*
 * The IDE driver against a fake PCI IDE function in compatibility mode:
 * two channels, a disk as each one's master, their registers answering
 * the driver's port I/O (tests/unit/port_io/cpu.h), the bus master
 * engine (SFF-8038i) copying between its PRD table's buffers and a RAM
 * disk per channel. Bring-up, data written and read back, and what a
 * channel that stops answering ends in: a hung device is reset and its
 * request times out; a bus master engine that does not stop when told
 * loses the function's bus mastering before the buffer is given back,
 * and both channels' disks fail with BLK_E_IO.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch.h"
#include "ata.h"
#include "block.h"
#include "cpu.h"
#include "fake_host_disk.h"
#include "lib/le.h"
#include "mm.h"

#define DISK_BLOCKS 1000u
#define CHANNELS 2
#define BM_BASE 0xc000

/* Register offsets (command block; bus master block) and bits of ATA/ATAPI-6 and SFF-8038i. */
enum { REG_DATA = 0, REG_ERROR = 1, REG_COUNT = 2, REG_LBA0 = 3, REG_DEVICE = 6, REG_STATUS = 7 };
enum { BM_COMMAND = 0, BM_STATUS = 2, BM_PRDT = 4 };
enum { BMC_START = 0x01, BMS_ACTIVE = 0x01, BMS_ERROR = 0x02, BMS_IRQ = 0x04, CTL_SRST = 0x04, DEV_SLAVE = 0x10 };
#define STATUS_READY 0x50 /* DRDY, DSC */
#define STATUS_BUSY 0xd0
#define STATUS_DATA 0x58  /* DRQ: IDENTIFY's data waits */

struct fake_pci fake_pci = { .dev = { .bus = 0, .dev = 1, .fn = 1, .class_code = 1, .subclass = 1, .prog_if = 0x80,
				      .bar = { [4] = { BM_BASE, 16, 1, 0, 0 } } } };

struct fake_channel {
	uint16_t cmd, ctrl, bm;
	uint8_t disk[DISK_BLOCKS * 512];
	uint8_t reg[8];    /* as written: count, LBA, device */
	uint8_t status, control, bm_command, bm_status;
	uint8_t pending;   /* a DMA command waiting for the engine */
	uint8_t identify[512];
	unsigned identify_at;
	uint32_t prdt;
	int hang;  /* the drive does not transfer, until a reset */
	int stuck; /* the bus master engine stays Active when Start is cleared */
	int leftover; /* its engine runs as the firmware left it, until Start is cleared */
	unsigned resets;
};

static struct fake_channel channel[CHANNELS] = {
	{ .cmd = 0x1f0, .ctrl = 0x3f6, .bm = BM_BASE },
	{ .cmd = 0x170, .ctrl = 0x376, .bm = BM_BASE + 8 },
};

/* The channel whose ports hold port, and the port's offset there; the function masters the bus only once
 * no engine runs as the firmware left it (its DMA would land in memory the hypervisor reuses). */
static struct fake_channel *channel_of(uint16_t port, unsigned *off)
{
	unsigned i;

	for (i = 0; i < CHANNELS; i++)
		assert_false(channel[i].leftover && fake_pci.command & HPCI_CMD_MASTER);
	for (i = 0; i < CHANNELS; i++) {
		struct fake_channel *c = &channel[i];

		if (port >= c->cmd && port < c->cmd + 8)
			*off = port - c->cmd;
		else if (port == c->ctrl)
			*off = 0x100;
		else if (port >= c->bm && port < c->bm + 8)
			*off = 0x200 + port - c->bm;
		else
			continue;
		return c;
	}
	fail_msg("port 0x%x is no channel's", port);
	return 0;
}

static int slave_selected(const struct fake_channel *c)
{
	return c->reg[REG_DEVICE] & DEV_SLAVE;
}

/* The engine's turn: the PRD table's regions copied to or from the disk, its bytes those of the command. */
static void dma(struct fake_channel *c)
{
	uint32_t lba = c->reg[REG_LBA0] | c->reg[REG_LBA0 + 1] << 8 | c->reg[REG_LBA0 + 2] << 16 |
		       (uint32_t)(c->reg[REG_DEVICE] & 0xf) << 24;
	uint32_t bytes = (c->reg[REG_COUNT] ? c->reg[REG_COUNT] : 256) * 512u, done = 0;
	const uint8_t *prd = (const uint8_t *)(uintptr_t)c->prdt;
	uint8_t *media = c->disk + lba * 512ull;

	assert_true(lba + bytes / 512 <= DISK_BLOCKS);
	for (;; prd += 8) {
		uint8_t *mem = (uint8_t *)(uintptr_t)le32(prd);
		uint32_t n = le16(prd + 4) ? le16(prd + 4) : 0x10000;

		if (c->pending == 0xc8)
			memcpy(mem, media + done, n);
		else
			memcpy(media + done, mem, n);
		done += n;
		if (le16(prd + 6) & 0x8000)
			break;
	}
	assert_int_equal(done, bytes);
	c->pending = 0;
	c->status = STATUS_READY;
	c->bm_status = (uint8_t)((c->bm_status & ~BMS_ACTIVE) | BMS_IRQ);
}

static void command(struct fake_channel *c, uint8_t op)
{
	if (slave_selected(c))
		return; /* no drive there */
	switch (op) {
	case 0xec: /* IDENTIFY DEVICE, by PIO */
		fake_ata_identify(c->identify, DISK_BLOCKS);
		c->identify_at = 0;
		c->status = STATUS_DATA;
		break;
	case 0xc8: /* READ DMA, WRITE DMA: an LBA28 disk */
	case 0xca:
		c->pending = op;
		c->status = STATUS_BUSY;
		break;
	case 0xe7: /* FLUSH CACHE */
		c->status = STATUS_READY;
		break;
	default:
		fail_msg("command 0x%x", op);
	}
}

static void bus_master_command(struct fake_channel *c, uint8_t v)
{
	if (v & BMC_START && !(c->bm_command & BMC_START)) {
		c->bm_status |= BMS_ACTIVE;
		if (c->pending && !c->hang)
			dma(c);
	} else if (!(v & BMC_START) && !c->stuck) {
		c->bm_status &= (uint8_t)~BMS_ACTIVE;
		c->leftover = 0;
	}
	c->bm_command = v;
}

static void device_control(struct fake_channel *c, uint8_t v)
{
	if (c->control & CTL_SRST && !(v & CTL_SRST)) { /* the reset ends: the drive is ready again */
		c->resets++;
		c->hang = 0;
		c->pending = 0;
		c->status = STATUS_READY;
	}
	c->control = v;
}

uint8_t inb(uint16_t port)
{
	unsigned off;
	struct fake_channel *c = channel_of(port, &off);

	switch (off) {
	case REG_STATUS:
	case 0x100:
		return slave_selected(c) ? 0 : c->status;
	case REG_ERROR:
		return 0;
	case 0x200 + BM_COMMAND:
		return c->bm_command;
	case 0x200 + BM_STATUS:
		return c->bm_status;
	default:
		return c->reg[off & 7];
	}
}

uint16_t inw(uint16_t port)
{
	unsigned off;
	struct fake_channel *c = channel_of(port, &off);
	uint16_t w;

	assert_int_equal(off, REG_DATA);
	assert_int_equal(c->status, STATUS_DATA);
	w = le16(c->identify + 2 * c->identify_at);
	if (++c->identify_at == 256)
		c->status = STATUS_READY;
	return w;
}

void outb(uint16_t port, uint8_t v)
{
	unsigned off;
	struct fake_channel *c = channel_of(port, &off);

	if (off == REG_STATUS)
		command(c, v);
	else if (off == 0x100)
		device_control(c, v);
	else if (off == 0x200 + BM_COMMAND)
		bus_master_command(c, v);
	else if (off == 0x200 + BM_STATUS) /* error and interrupt: write 1 to clear */
		c->bm_status = (uint8_t)((c->bm_status & ~(v & (BMS_ERROR | BMS_IRQ)) & 0x07) | (v & 0x60));
	else
		c->reg[off & 7] = v;
}

void outl(uint16_t port, uint32_t v)
{
	unsigned off;
	struct fake_channel *c = channel_of(port, &off);

	assert_int_equal(off, 0x200 + BM_PRDT);
	c->prdt = v;
}

/* The fake acts on each port access; between them there is nothing for it to do. */
void device_step(void)
{
}

void arch_delay_us(uint64_t us)
{
	now += us * 1000;
}

/* ---- requests */

static struct blk_dev *channel_disk[CHANNELS];
static uint8_t *buf; /* a page below 4 GiB, where the bus master reaches */

static int setup(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < CHANNELS; i++) {
		channel[i].status = STATUS_READY;
		channel[i].bm_command = BMC_START;
		channel[i].bm_status = BMS_ACTIVE;
		channel[i].leftover = 1;
	}
	buf = mm_ptr(mm_alloc(1));
	assert_int_equal(ata_init(), CHANNELS);
	for (i = 0; i < CHANNELS; i++)
		channel_disk[i] = blk_get(i);
	return 0;
}

static void a_disk_on_each_channel_is_identified(void **state)
{
	static const char *const names[CHANNELS] = { "ide0m", "ide1m" }; /* each channel's master */
	unsigned c;

	(void)state;
	assert_int_equal(blk_count(), CHANNELS);
	for (c = 0; c < CHANNELS; c++) {
		assert_string_equal(channel_disk[c]->name, names[c]);
		assert_string_equal(channel_disk[c]->model, "FAKE DISK");
		assert_int_equal(channel_disk[c]->blocks, DISK_BLOCKS);
		assert_int_equal(channel_disk[c]->queue_depth, 1);
	}
	assert_int_equal(fake_pci.command, HPCI_CMD_IO | HPCI_CMD_MASTER | HPCI_CMD_INTX_OFF);
}

/* One block's read or write of buf at lba on channel c, deadline ms away, run to its end; its status. */
static enum blk_status one_block(unsigned c, enum blk_op op, uint64_t lba, uint64_t ms)
{
	static struct blk_req r;
	struct done_log log;

	request(&r, &log, op, lba, 1);
	add_seg(&r, buf, 512);
	r.deadline = now + ms * MS;
	assert_int_equal(channel_disk[c]->ops->submit(channel_disk[c], &r), 0);
	disk = channel_disk[c];
	run_until_done(&log);
	return log.status;
}

static void read_ok(unsigned c, uint64_t lba)
{
	memset(buf, 0, 512);
	assert_int_equal(one_block(c, BLK_READ, lba, 1000), BLK_OK);
	assert_memory_equal(buf, channel[c].disk + lba * 512, 512);
}

static void data_round_trips_on_each_channel(void **state)
{
	unsigned c, i;

	(void)state;
	for (c = 0; c < CHANNELS; c++) {
		for (i = 0; i < 512; i++)
			buf[i] = (uint8_t)(i * 3 + c);
		assert_int_equal(one_block(c, BLK_WRITE, 20 + c, 1000), BLK_OK);
		for (i = 0; i < 512; i++)
			assert_int_equal(channel[c].disk[(20 + c) * 512 + i], (uint8_t)(i * 3 + c));
		read_ok(c, 20 + c);
	}
}

/* Whether the channel's engine may still move data: it is Active and the function masters the bus. */
static int dma_still_possible(unsigned c)
{
	return channel[c].bm_status & BMS_ACTIVE && fake_pci.command & HPCI_CMD_MASTER;
}

static void a_hung_drive_is_reset_and_its_request_times_out(void **state)
{
	unsigned resets = channel[0].resets;

	(void)state;
	channel[0].hang = 1;
	assert_int_equal(one_block(0, BLK_READ, 0, 10), BLK_E_TIMEOUT);
	assert_int_equal(channel[0].resets, resets + 1);
	assert_false(dma_still_possible(0)); /* the engine stopped when told */
	assert_true(fake_pci.command & HPCI_CMD_MASTER);
	read_ok(0, 1);
	read_ok(1, 1);
}

static void an_engine_that_does_not_stop_loses_bus_mastering(void **state)
{
	uint64_t start;

	(void)state;
	channel[0].hang = 1;
	channel[0].stuck = 1;
	assert_int_equal(one_block(0, BLK_READ, 0, 10), BLK_E_TIMEOUT);
	assert_true(channel[0].bm_status & BMS_ACTIVE);
	/* Bus mastering off before the request's buffer was given back. */
	assert_false(fake_pci.command & HPCI_CMD_MASTER);
	assert_false(dma_still_possible(0));
	/* Without DMA neither channel's disk moves data: both fail at once, not at a deadline. */
	start = now;
	assert_int_equal(one_block(0, BLK_READ, 0, 1000), BLK_E_IO);
	assert_int_equal(one_block(1, BLK_READ, 0, 1000), BLK_E_IO);
	assert_true(now - start < 10 * MS);
}

int main(void)
{
	/* In order: they share the one function ata_init found. */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_disk_on_each_channel_is_identified),
		cmocka_unit_test(data_round_trips_on_each_channel),
		cmocka_unit_test(a_hung_drive_is_reset_and_its_request_times_out),
		cmocka_unit_test(an_engine_that_does_not_stop_loses_bus_mastering),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
