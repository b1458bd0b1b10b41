/*
 * What the tests of host storage drivers share: a simulated clock (a
 * 1 GHz TSC), page allocation below 4 GiB, and requests submitted to
 * the driver's disk and polled, the fake device running between polls,
 * until they complete. Each test defines device_step() itself: its fake
 * device's turn.
 */
#ifndef TESTS_UNIT_FAKE_HOST_DISK_H
#define TESTS_UNIT_FAKE_HOST_DISK_H

#include <stdint.h>

#include "block.h"
#include "pci_host.h"

#define MS 1000000ull /* fake TSC ticks: 1 GHz */
#define PAGE 4096u

extern uint64_t now;          /* the TSC; the driver's waits (arch_relax) advance it by MS */
extern struct blk_dev *disk;  /* the disk under test */

/*
 * The controller's PCI function, which each test defines: hpci_next()
 * finds it by its class, subclass and programming interface, once;
 * hpci_enable() and hpci_disable() keep its command register;
 * hpci_map_bar() maps its BAR number bar at regs.
 */
struct fake_pci {
	struct hpci_dev dev;
	uint16_t command;
	unsigned bar;
	void *regs;
};
extern struct fake_pci fake_pci;

/* The fake device's turn: in each arch_relax() and between polls. */
void device_step(void);

/* IDENTIFY DEVICE data (little-endian words) of an LBA28 disk with DMA, model "FAKE DISK". */
void fake_ata_identify(uint8_t out[512], uint32_t sectors);

/* What a request's done() was called with. */
struct done_log {
	int calls;
	enum blk_status status;
};

/* r, empty, with a deadline 1 s away, done() noting into log. */
void request(struct blk_req *r, struct done_log *log, enum blk_op op, uint64_t lba, uint32_t blocks);
void add_seg(struct blk_req *r, void *p, uint32_t len);
/* Polls, the device running between polls, until done or 5 s of simulated time; done() exactly once. */
void run_until_done(const struct done_log *log);

#endif
