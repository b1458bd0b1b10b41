/* The simulated machine of the host storage drivers' tests; see fake_host_disk.h. */
#include "fake_host_disk.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "arch.h"
#include "lib/le.h"
#include "mm.h"
#include "pci_msi.h"

uint64_t now;
struct blk_dev *disk;

uint64_t arch_tsc(void)
{
	return now;
}

uint64_t arch_tsc_hz(void)
{
	return 1000 * MS;
}

struct hpci_dev *hpci_next(unsigned *index, uint8_t class_code, uint8_t subclass, int prog_if)
{
	const struct hpci_dev *d = &fake_pci.dev;

	if (class_code != d->class_code || subclass != d->subclass || (prog_if >= 0 && prog_if != d->prog_if))
		return 0;
	return (*index)++ == 0 ? &fake_pci.dev : 0;
}

void hpci_enable(const struct hpci_dev *d, uint16_t bits)
{
	assert_ptr_equal(d, &fake_pci.dev);
	fake_pci.command |= bits;
	device_step(); /* a device may master the bus the moment it is let */
}

void hpci_disable(const struct hpci_dev *d, uint16_t bits)
{
	assert_ptr_equal(d, &fake_pci.dev);
	fake_pci.command &= (uint16_t)~bits;
}

volatile void *hpci_map_bar(const struct hpci_dev *d, unsigned bar)
{
	assert_ptr_equal(d, &fake_pci.dev);
	return bar == fake_pci.bar ? fake_pci.regs : 0;
}

/* The fake controllers have no MSI or MSI-X: their drivers poll. */
enum blk_irq hpci_route_disk_irq(const struct hpci_dev *d, unsigned take, char *mode, size_t size)
{
	(void)d;
	(void)take;
	snprintf(mode, size, "polled (no MSI-X capability)");
	return BLK_POLLED;
}

/* The driver's waits: time passes and the device gets its turn. */
void arch_relax(void)
{
	now += MS;
	device_step();
}

/* Zeroed pages below 4 GiB (MAP_32BIT: below 2 GiB), where every controller reaches: IDE's bus master addresses 32 bits. */
uint64_t mm_alloc(uint64_t pages)
{
	void *p = mmap(0, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

	assert_true(p != MAP_FAILED);
	return (uint64_t)(uintptr_t)p;
}

void mm_free(uint64_t pa, uint64_t pages)
{
	munmap((void *)(uintptr_t)pa, pages * PAGE);
}

void fake_ata_identify(uint8_t out[512], uint32_t sectors)
{
	static const char model[] = "AFEKD SI K"; /* "FAKE DISK": two characters a word, the first in the high byte */
	uint16_t id[256] = { 0 };
	unsigned i;

	for (i = 27; i < 47; i++)
		id[i] = 0x2020; /* the model, padded with spaces */
	memcpy(&id[27], model, sizeof(model) - 1);
	id[49] = 0x300; /* LBA, DMA */
	id[60] = (uint16_t)sectors;
	id[61] = (uint16_t)(sectors >> 16);
	for (i = 0; i < 256; i++)
		put_le16(out + 2 * i, id[i]);
}

static void on_done(struct blk_req *r, enum blk_status status)
{
	struct done_log *log = r->owner;

	log->calls++;
	log->status = status;
}

void request(struct blk_req *r, struct done_log *log, enum blk_op op, uint64_t lba, uint32_t blocks)
{
	memset(r, 0, sizeof(*r));
	memset(log, 0, sizeof(*log));
	r->op = op;
	r->lba = lba;
	r->blocks = blocks;
	r->deadline = now + 1000 * MS;
	r->done = on_done;
	r->owner = log;
}

void add_seg(struct blk_req *r, void *p, uint32_t len)
{
	r->seg[r->nseg++] = (struct blk_seg){ (uint64_t)(uintptr_t)p, len };
}

void run_until_done(const struct done_log *log)
{
	uint64_t end = now + 5000 * MS;

	while (!log->calls && now < end) {
		device_step();
		disk->ops->poll(disk);
		now += MS;
	}
	assert_int_equal(log->calls, 1);
}
