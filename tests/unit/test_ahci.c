/*
 * The AHCI driver against a fake HBA with two ports: registers in a
 * buffer, command lists, tables and PRDTs in host memory, commands run
 * against a RAM disk per port on a simulated clock. Bring-up, data
 * written and read back, and what a port that stops answering ends in:
 * a hung device is reset and its late request times out; a port whose
 * command engine does not stop takes the HBA through its reset, with the
 * other port's request issued again; an HBA that does not leave its
 * reset loses its bus mastering before any buffer is given back, and its
 * disks fail with BLK_E_IO.
 *
 * The fake reads the registers between the driver's accesses, so it
 * takes PxIS and PxSERR (write 1 to clear) as written whenever they
 * differ from what it last put there; it sets no completion bits in
 * PxIS (the driver finds completions in PxCI), so an ack never writes
 * back what the fake put there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ahci.h"
#include "arch.h"
#include "block.h"
#include "fake_host_disk.h"
#include "lib/le.h"
#include "pci_host.h"

#define DISK_BLOCKS 1000u
#define PORTS 2
#define SLOTS 4

/* AHCI 1.3.1, 3.1 and 3.3: the registers the fake acts on, and their bits. */
enum { HBA_CAP = 0x00, HBA_GHC = 0x04, HBA_PI = 0x0c, HBA_VS = 0x10, GHC_HR = 1 };
enum { PX_CLB = 0x00, PX_IS = 0x10, PX_CMD = 0x18, PX_TFD = 0x20, PX_SIG = 0x24, PX_SSTS = 0x28, PX_SCTL = 0x2c,
       PX_SERR = 0x30, PX_SACT = 0x34, PX_CI = 0x38 };
enum { CMD_ST = 1u, CMD_FRE = 1u << 4, CMD_FR = 1u << 14, CMD_CR = 1u << 15 };
#define TFD_READY 0x50u /* DRDY, DSC */
#define TFD_BUSY 0xd0u

static uint8_t regs[0x100 + 0x80 * PORTS] __attribute__((aligned(PAGE)));
struct fake_pci fake_pci = { .dev = { .bus = 0, .dev = 4, .class_code = 1, .subclass = 6, .prog_if = 1,
				      .bar = { [5] = { 0xfebf0000, sizeof(regs), 0, 0, 0 } } },
			     .bar = 5, .regs = regs };

/* ---- the fake HBA */

struct fake_port {
	uint8_t disk[DISK_BLOCKS * 512];
	int hang;       /* its device does not answer commands, until a reset */
	int stuck;      /* its command engine keeps running once started (PxCMD.CR), until an HBA reset */
	int comreset;   /* PxSCTL.DET was 1 */
	uint32_t is, serr; /* what the fake last put in PxIS, PxSERR */
	unsigned comresets;
};

static struct {
	struct fake_port port[PORTS];
	int hung; /* GHC.HR is never cleared */
	int leftover; /* port 0's engines run as the firmware left them, until the HBA's reset */
	unsigned hba_resets;
} hba;

static uint8_t *port_regs(unsigned p)
{
	return regs + 0x100 + 0x80 * p;
}

static uint32_t preg(unsigned p, unsigned off)
{
	return le32(port_regs(p) + off);
}

static void set_preg(unsigned p, unsigned off, uint32_t v)
{
	put_le32(port_regs(p) + off, v);
}

static void device_reset(unsigned p)
{
	hba.port[p].hang = 0;
	set_preg(p, PX_SSTS, 3);
	set_preg(p, PX_TFD, TFD_READY);
	set_preg(p, PX_SIG, 0x101);
}

/* 10.4.3: the registers that are not HwInit back to their reset values; PxCLB and PxFB kept. */
static void hba_reset(void)
{
	unsigned p;

	hba.hba_resets++;
	hba.leftover = 0;
	put_le32(regs + HBA_GHC, 0);
	for (p = 0; p < PORTS; p++) {
		set_preg(p, PX_IS, hba.port[p].is = 0);
		set_preg(p, PX_SERR, hba.port[p].serr = 0);
		set_preg(p, PX_CMD, 0);
		set_preg(p, PX_SCTL, 0);
		set_preg(p, PX_SACT, 0);
		set_preg(p, PX_CI, 0);
		hba.port[p].stuck = 0;
		device_reset(p);
	}
}

/* The command in slot s of port p: its PRDT copied to or from the disk; the bytes moved. */
static void run_command(unsigned p, unsigned s)
{
	const uint8_t *header = (const uint8_t *)(uintptr_t)(le64(port_regs(p) + PX_CLB) + 32 * s);
	const uint8_t *table = (const uint8_t *)(uintptr_t)le64(header + 8);
	uint32_t prdtl = le32(header) >> 16, i, done = 0, bytes;
	uint8_t command = table[2];
	uint32_t lba = table[4] | table[5] << 8 | table[6] << 16 | (uint32_t)(table[7] & 0xf) << 24;
	uint8_t *media;

	if (command == 0xe7)
		return;
	if (command == 0xec) {
		fake_ata_identify((uint8_t *)(uintptr_t)le64(table + 0x80), DISK_BLOCKS);
		return;
	}
	assert_true(command == 0xc8 || command == 0xca); /* READ DMA, WRITE DMA: an LBA28 disk */
	bytes = (table[12] ? table[12] : 256) * 512u;
	assert_true(lba + bytes / 512 <= DISK_BLOCKS);
	media = hba.port[p].disk + lba * 512ull;
	for (i = 0; i < prdtl; i++) {
		const uint8_t *e = table + 0x80 + 16 * i;
		uint8_t *mem = (uint8_t *)(uintptr_t)le64(e);
		uint32_t n = (le32(e + 12) & 0x3fffff) + 1;

		if (command == 0xc8)
			memcpy(mem, media + done, n);
		else
			memcpy(media + done, mem, n);
		done += n;
	}
	assert_int_equal(done, bytes);
}

/* Write 1 to clear: a value other than the fake's last is the driver's write. */
static void clear_written(unsigned p, unsigned off, uint32_t *last)
{
	uint32_t v = preg(p, off);

	if (v != *last)
		set_preg(p, off, *last &= ~v);
}

static void link_step(unsigned p)
{
	struct fake_port *f = &hba.port[p];

	if ((preg(p, PX_SCTL) & 0xf) == 1) {
		f->comreset = 1;
		set_preg(p, PX_SSTS, 0);
	} else if (f->comreset) {
		f->comreset = 0;
		f->comresets++;
		device_reset(p);
	}
}

/* PxCMD.CR follows ST, and FR follows FRE (10.1.2), except for a stuck engine; a stopped engine clears PxCI. */
static void engine_step(unsigned p)
{
	uint32_t cmd = preg(p, PX_CMD), running = cmd & CMD_ST || (hba.port[p].stuck && cmd & CMD_CR);

	cmd = (cmd & ~(CMD_CR | CMD_FR)) | (running ? CMD_CR : 0) | (cmd & CMD_FRE ? CMD_FR : 0);
	set_preg(p, PX_CMD, cmd);
	if (!running)
		set_preg(p, PX_CI, 0);
}

static void commands_step(unsigned p)
{
	uint32_t ci = preg(p, PX_CI);
	unsigned s;

	if (!(preg(p, PX_CMD) & CMD_CR) || !ci)
		return;
	if (hba.port[p].hang || hba.port[p].stuck) {
		set_preg(p, PX_TFD, TFD_BUSY);
		return;
	}
	for (s = 0; s < SLOTS; s++)
		if (ci & 1u << s)
			run_command(p, s);
	set_preg(p, PX_CI, 0);
}

void device_step(void)
{
	unsigned p;

	assert_false(hba.leftover && fake_pci.command & HPCI_CMD_MASTER); /* its DMA would land in reused memory */
	if (le32(regs + HBA_GHC) & GHC_HR) {
		if (!hba.hung)
			hba_reset();
		return;
	}
	for (p = 0; p < PORTS; p++) {
		clear_written(p, PX_IS, &hba.port[p].is);
		clear_written(p, PX_SERR, &hba.port[p].serr);
		link_step(p);
		engine_step(p);
		commands_step(p);
	}
}

void arch_delay_us(uint64_t us)
{
	now += us * 1000;
	device_step();
}

/* ---- requests */

static struct blk_dev *port_disk[PORTS];

static int setup(void **state)
{
	unsigned p;

	(void)state;
	put_le32(regs + HBA_CAP, 1u << 31 | (SLOTS - 1) << 8 | (PORTS - 1)); /* 64-bit DMA, no NCQ, no SSS */
	put_le32(regs + HBA_PI, (1u << PORTS) - 1);
	put_le32(regs + HBA_VS, 0x10301);
	for (p = 0; p < PORTS; p++)
		device_reset(p);
	set_preg(0, PX_CMD, CMD_ST | CMD_CR | CMD_FRE | CMD_FR);
	hba.leftover = 1;
	assert_int_equal(ahci_init(), PORTS);
	for (p = 0; p < PORTS; p++)
		port_disk[p] = blk_get(p);
	return 0;
}

static void both_ports_are_identified(void **state)
{
	(void)state;
	assert_int_equal(blk_count(), PORTS);
	assert_string_equal(port_disk[0]->name, "ahci0p0");
	assert_string_equal(port_disk[1]->name, "ahci0p1");
	assert_string_equal(port_disk[1]->model, "FAKE DISK");
	assert_int_equal(port_disk[0]->blocks, DISK_BLOCKS);
	assert_int_equal(port_disk[0]->queue_depth, SLOTS);
	assert_int_equal(fake_pci.command, HPCI_CMD_MEM | HPCI_CMD_MASTER | HPCI_CMD_INTX_OFF);
}

/* Submits one block's read or write of buf at lba on port p, deadline ms away; done() notes into log. */
static void submit(unsigned p, struct blk_req *r, struct done_log *log, enum blk_op op, uint64_t lba, uint8_t *buf,
		   uint64_t ms)
{
	request(r, log, op, lba, 1);
	add_seg(r, buf, 512);
	r->deadline = now + ms * MS;
	assert_int_equal(port_disk[p]->ops->submit(port_disk[p], r), 0);
}

/* Runs port p's request to its end; its status. */
static enum blk_status finish_on(unsigned p, const struct done_log *log)
{
	disk = port_disk[p];
	run_until_done(log);
	return log->status;
}

static void read_ok(unsigned p, uint64_t lba)
{
	static uint8_t buf[512] __attribute__((aligned(PAGE)));
	static struct blk_req r;
	struct done_log log;

	memset(buf, 0, sizeof(buf));
	submit(p, &r, &log, BLK_READ, lba, buf, 1000);
	assert_int_equal(finish_on(p, &log), BLK_OK);
	assert_memory_equal(buf, hba.port[p].disk + lba * 512, 512);
}

static void data_round_trips_on_each_port(void **state)
{
	static uint8_t buf[512] __attribute__((aligned(PAGE)));
	static struct blk_req r;
	struct done_log log;
	unsigned p, i;

	(void)state;
	for (p = 0; p < PORTS; p++) {
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)(i * 7 + p);
		submit(p, &r, &log, BLK_WRITE, 10 + p, buf, 1000);
		assert_int_equal(finish_on(p, &log), BLK_OK);
		assert_memory_equal(hba.port[p].disk + (10 + p) * 512, buf, 512);
		read_ok(p, 10 + p);
	}
}

/* Whether DMA for a command the port held may still come: its engine runs and the HBA masters the bus. */
static int dma_still_possible(unsigned p)
{
	return preg(p, PX_CMD) & CMD_CR && fake_pci.command & HPCI_CMD_MASTER;
}

static void a_hung_device_is_reset_and_its_request_times_out(void **state)
{
	static uint8_t buf[512] __attribute__((aligned(PAGE)));
	static struct blk_req r;
	struct done_log log;
	unsigned comresets = hba.port[0].comresets, resets = hba.hba_resets;

	(void)state;
	hba.port[0].hang = 1;
	submit(0, &r, &log, BLK_READ, 0, buf, 10);
	now += 20 * MS;
	assert_int_equal(finish_on(0, &log), BLK_E_TIMEOUT);
	assert_int_equal(hba.port[0].comresets, comresets + 1);
	assert_int_equal(hba.hba_resets, resets); /* its engine stopped: the port's own recovery sufficed */
	assert_false(dma_still_possible(0));
	assert_true(fake_pci.command & HPCI_CMD_MASTER);
	read_ok(0, 1);
}

static void an_engine_that_does_not_stop_takes_the_hba_through_its_reset(void **state)
{
	static uint8_t buf[PORTS][512] __attribute__((aligned(PAGE)));
	static struct blk_req r[PORTS];
	struct done_log log[PORTS];
	unsigned resets = hba.hba_resets;

	(void)state;
	hba.port[0].stuck = 1;
	hba.port[1].hang = 1; /* its request is in flight when the HBA is reset */
	memset(hba.port[1].disk + 5 * 512, 0x5a, 512);
	submit(0, &r[0], &log[0], BLK_READ, 0, buf[0], 10);
	submit(1, &r[1], &log[1], BLK_READ, 5, buf[1], 3000);
	device_step();
	assert_true(preg(1, PX_CI)); /* held by the HBA */
	now += 20 * MS;
	assert_int_equal(finish_on(0, &log[0]), BLK_E_TIMEOUT);
	assert_int_equal(hba.hba_resets, resets + 1);
	assert_false(dma_still_possible(0));
	assert_true(fake_pci.command & HPCI_CMD_MASTER); /* the HBA came back: the other port keeps working */
	/* The other port's request, ended by the reset, was issued again and completes. */
	assert_int_equal(log[1].calls, 0);
	assert_int_equal(finish_on(1, &log[1]), BLK_OK);
	assert_memory_equal(buf[1], hba.port[1].disk + 5 * 512, 512);
	read_ok(0, 2);
	read_ok(1, 3);
}

static void an_hba_that_does_not_leave_its_reset_loses_bus_mastering(void **state)
{
	static uint8_t buf[PORTS][512] __attribute__((aligned(PAGE)));
	static struct blk_req r[PORTS];
	struct done_log log[PORTS];
	unsigned p;

	(void)state;
	hba.port[0].stuck = 1;
	hba.port[1].hang = 1;
	hba.hung = 1;
	submit(0, &r[0], &log[0], BLK_READ, 0, buf[0], 10);
	submit(1, &r[1], &log[1], BLK_READ, 0, buf[1], 3000);
	now += 20 * MS;
	assert_int_equal(finish_on(0, &log[0]), BLK_E_TIMEOUT);
	/* Bus mastering off before the request's buffer was given back. */
	assert_false(fake_pci.command & HPCI_CMD_MASTER);
	assert_false(dma_still_possible(0));
	assert_int_equal(finish_on(1, &log[1]), BLK_E_IO);
	for (p = 0; p < PORTS; p++) {
		submit(p, &r[p], &log[p], BLK_READ, 0, buf[p], 1000);
		assert_int_equal(finish_on(p, &log[p]), BLK_E_IO);
	}
}

int main(void)
{
	/* In order: they share the one HBA ahci_init found. */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(both_ports_are_identified),
		cmocka_unit_test(data_round_trips_on_each_port),
		cmocka_unit_test(a_hung_device_is_reset_and_its_request_times_out),
		cmocka_unit_test(an_engine_that_does_not_stop_takes_the_hba_through_its_reset),
		cmocka_unit_test(an_hba_that_does_not_leave_its_reset_loses_bus_mastering),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
