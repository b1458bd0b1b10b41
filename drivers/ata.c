/*
 * ATA disks on IDE channels (ATA8-ACS, ATA/ATAPI-6 for the register
 * protocols) with bus-master DMA (SFF-8038i, "Programming Interface for
 * Bus Master IDE Controller"), polled: the device's interrupt is
 * disabled (nIEN) and poll() reads the alternate status register.
 *
 * A channel runs one command at a time for its two devices: requests wait
 * in the channel's queue, each disk holding at most one (queue_depth 1).
 * A request the PRD table or one command cannot hold (PRDs may not cross
 * 64 KiB; READ DMA EXT moves at most 65536 sectors) is moved in several
 * commands. Bus-master DMA addresses 32 bits: a segment above 4 GiB fails
 * the request with BLK_E_IO (no bounce buffer here). A device error fails
 * the request with BLK_E_IO, a request past its deadline with
 * BLK_E_TIMEOUT; either way the channel's bus master engine is stopped
 * and the channel reset (SRST), and a channel whose devices stay busy
 * after it is failed, never waited on again. An engine that does not
 * stop takes the bus mastering of its PCI function away (recover() says
 * why), and every disk of the function fails from then on.
 */
#include "ata.h"

#include "arch.h"
#include "ata_cmd.h"
#include "block.h"
#include "cpu.h"
#include "lib/fmt.h"
#include "lib/spinlock.h"
#include "log.h"
#include "mm.h"
#include "pci_host.h"

/* Command block registers (offsets from cmd). */
#define REG_DATA 0
#define REG_ERROR 1
#define REG_COUNT 2
#define REG_LBA0 3
#define REG_LBA1 4
#define REG_LBA2 5
#define REG_DEVICE 6
#define REG_STATUS 7 /* read: status (clears INTRQ); write: command */
/* Device control (written at ctrl, where the alternate status is read). */
#define CTL_NIEN 0x02
#define CTL_SRST 0x04
#define DEV_OBSOLETE 0xa0 /* bits 7 and 5, set by convention */
#define DEV_SLAVE 0x10
/* Bus master registers (offsets from bm). */
#define BM_COMMAND 0
#define BM_STATUS 2
#define BM_PRDT 4
#define BMC_START 0x01
#define BMC_TO_MEMORY 0x08 /* a read from the disk */
#define BMS_ACTIVE 0x01
#define BMS_ERROR 0x02
#define BMS_IRQ 0x04
#define BMS_DRIVES_DMA 0x60 /* the firmware's notes of which drives do DMA: kept */

#define PRD_ENTRIES 512 /* one page: the table may not cross 64 KiB */
#define PRD_MAX 0x10000u
#define CHANNELS_MAX 4
#define RESET_MS 2000
#define IDENTIFY_MS 2000
/* ATAPI's signature in the LBA mid/high registers after a refused IDENTIFY DEVICE (ATA8-ACS 9.12). */
#define ATAPI_SIG_MID 0x14
#define ATAPI_SIG_HIGH 0xeb

/* A channel's I/O ports: its command block, its control block's alternate status register, its bus master block. */
struct ata_channel_ports {
	uint16_t cmd;  /* 0x1f0 / 0x170 in compatibility mode, else BAR0 / BAR2 */
	uint16_t ctrl; /* 0x3f6 / 0x376, else BAR1 / BAR3 + 2 */
	uint16_t bm;   /* BAR4, + 8 for the secondary channel */
};

struct ide_channel;

/* A PCI IDE function: its channels share its bus mastering. */
struct ide_function {
	const struct hpci_dev *pci;
	uint8_t dma_off; /* bus mastering taken away: its disks fail every request */
};

struct ide_disk {
	struct blk_dev dev;
	struct ide_channel *ch;
	uint8_t slave;
	uint8_t holding; /* a request queued or running */
	struct ata_identity id;
};

struct ide_channel {
	struct ata_channel_ports io;
	struct ide_function *fn;
	struct spinlock lock;
	struct ide_disk disk[2];
	uint8_t *prdt;
	uint64_t prdt_pa;
	struct blk_req *waiting, **waiting_tail;
	struct blk_req *active;  /* the request whose command runs */
	uint64_t done, chunk;    /* its bytes moved by earlier commands, by this one */
	uint8_t failed;
	struct prd_entry scratch[PRD_ENTRIES];
};

static struct ide_channel channels[CHANNELS_MAX];
static struct ide_function functions[CHANNELS_MAX];
static unsigned nchannels, nfunctions;

static uint8_t alt_status(const struct ide_channel *ch)
{
	return inb(ch->io.ctrl);
}

/* ATA's 400 ns after a device select or a command, before the status means anything. */
static void settle(const struct ide_channel *ch)
{
	unsigned i;

	for (i = 0; i < 4; i++)
		(void)alt_status(ch);
}

/* Waits for BSY to clear, at most ms; the status, or -1 on time-out. A floating bus reads 0xff: no device. */
static int wait_not_busy(const struct ide_channel *ch, uint64_t ms)
{
	uint64_t end = blk_deadline_ms(ms);
	uint8_t s;

	while ((s = alt_status(ch)) & ATA_SR_BSY) {
		if (s == 0xff || arch_tsc() > end)
			return -1;
		arch_relax();
	}
	return s;
}

static void select_device(const struct ide_channel *ch, uint8_t device, int slave)
{
	outb((uint16_t)(ch->io.cmd + REG_DEVICE), (uint8_t)(DEV_OBSOLETE | device | (slave ? DEV_SLAVE : 0)));
	settle(ch);
}

/* Software reset of both devices (ATA/ATAPI-6 9.2); 0, or -1 when they stay busy. */
static int channel_reset(struct ide_channel *ch)
{
	outb(ch->io.ctrl, CTL_NIEN | CTL_SRST);
	arch_delay_us(5);
	outb(ch->io.ctrl, CTL_NIEN);
	arch_delay_us(2000);
	return wait_not_busy(ch, RESET_MS) < 0 ? -1 : 0;
}

/* The bus master's error and interrupt bits cleared (written as ones). */
static void clear_bm_status(const struct ide_channel *ch)
{
	uint16_t port = (uint16_t)(ch->io.bm + BM_STATUS);

	outb(port, (uint8_t)((inb(port) & BMS_DRIVES_DMA) | BMS_ERROR | BMS_IRQ));
}

static void stop_dma(const struct ide_channel *ch)
{
	outb((uint16_t)(ch->io.bm + BM_COMMAND), inb((uint16_t)(ch->io.bm + BM_COMMAND)) & ~BMC_START);
	clear_bm_status(ch);
}

/* ---- commands */

/* Writes tf to the device selected with tf->device, and issues it. */
static void write_taskfile(const struct ide_channel *ch, const struct ata_taskfile *tf)
{
	uint16_t c = ch->io.cmd;

	if (tf->lba48) { /* the "previous" halves first: each register is a two-byte FIFO */
		outb((uint16_t)(c + REG_COUNT), (uint8_t)(tf->count >> 8));
		outb((uint16_t)(c + REG_LBA0), (uint8_t)(tf->lba >> 24));
		outb((uint16_t)(c + REG_LBA1), (uint8_t)(tf->lba >> 32));
		outb((uint16_t)(c + REG_LBA2), (uint8_t)(tf->lba >> 40));
	}
	outb((uint16_t)(c + REG_COUNT), (uint8_t)tf->count);
	outb((uint16_t)(c + REG_LBA0), (uint8_t)tf->lba);
	outb((uint16_t)(c + REG_LBA1), (uint8_t)(tf->lba >> 8));
	outb((uint16_t)(c + REG_LBA2), (uint8_t)(tf->lba >> 16));
	outb((uint16_t)(c + REG_STATUS), tf->command);
	settle(ch);
}

/* The PRD table of the active request's next command; its bytes, 0 when its segments cannot be described. */
static uint64_t put_prdt(struct ide_channel *ch, const struct ide_disk *d)
{
	static const struct prd_limits lim = { PRD_MAX, PRD_MAX, PRD_ENTRIES, 1ull << 32 };
	uint32_t bs = d->dev.block_size, n, i;
	uint64_t bytes = prd_build(ch->active, ch->done, (uint64_t)ata_max_blocks(d->id.lba48) * bs, bs, &lim,
				   ch->scratch, &n);

	for (i = 0; i < n; i++)
		ide_prd_encode(ch->prdt + 8 * i, &ch->scratch[i], i + 1 == n);
	return bytes;
}

/* The active request's next command; 0, or -1 when it cannot be issued. */
static int issue(struct ide_channel *ch)
{
	struct blk_req *r = ch->active;
	struct ide_disk *d = r->driver[1] ? &ch->disk[1] : &ch->disk[0];
	uint32_t bs = d->dev.block_size;
	struct ata_taskfile tf;
	uint8_t direction = r->op == BLK_READ ? BMC_TO_MEMORY : 0;

	ch->chunk = r->op == BLK_FLUSH ? 0 : put_prdt(ch, d);
	if (r->op != BLK_FLUSH && !ch->chunk)
		return -1;
	if (ata_taskfile_build(&tf, r->op, r->lba + ch->done / bs, (uint32_t)(ch->chunk / bs), d->id.lba48,
			       d->id.flush_ext))
		return -1;
	select_device(ch, tf.device, d->slave);
	if (alt_status(ch) & (ATA_SR_BSY | ATA_SR_DRQ))
		return -1;
	if (r->op != BLK_FLUSH) {
		outl((uint16_t)(ch->io.bm + BM_PRDT), (uint32_t)ch->prdt_pa);
		outb((uint16_t)(ch->io.bm + BM_COMMAND), direction);
		clear_bm_status(ch);
	}
	write_taskfile(ch, &tf);
	if (r->op != BLK_FLUSH)
		outb((uint16_t)(ch->io.bm + BM_COMMAND), direction | BMC_START);
	return 0;
}

static struct ide_disk *disk_of(struct ide_channel *ch, const struct blk_req *r)
{
	return &ch->disk[r->driver[1] ? 1 : 0];
}

static void finish(struct ide_channel *ch, struct blk_req *r, enum blk_status status, struct blk_finished *f)
{
	disk_of(ch, r)->holding = 0;
	blk_finish(f, r, status);
}

/*
 * Clearing Start stops the channel's bus master engine, which clears its
 * Active bit (SFF-8038i, the Bus Master IDE Command and Status
 * registers): an engine that still reads Active may still move data into
 * the buffers of the request being failed, which go back to their owner.
 * Nothing else stops it: SRST resets the drives, not the controller's
 * engine, and a PCI IDE function has no reset of its own. So the function
 * loses its bus mastering (PCI 3.0, 6.2.2), which both its channels'
 * engines share: the other channel's disks fail every request too, as
 * this driver moves no data without DMA. Keeping the request unfinished
 * instead would hang the guest's I/O and keep its partition's memory
 * from ever being freed.
 */
static void stop_dma_or_bus_mastering(struct ide_channel *ch)
{
	stop_dma(ch);
	if (!(inb((uint16_t)(ch->io.bm + BM_STATUS)) & BMS_ACTIVE))
		return;
	hpci_disable(ch->fn->pci, HPCI_CMD_MASTER);
	__atomic_store_n(&ch->fn->dma_off, 1, __ATOMIC_RELEASE);
	log_error("ide: channel at 0x%x: its bus master engine does not stop; bus mastering off, the disks of "
		  "both channels fail every request", ch->io.cmd);
}

static int no_dma(const struct ide_channel *ch)
{
	return ch->failed || __atomic_load_n(&ch->fn->dma_off, __ATOMIC_ACQUIRE);
}

/* Resets the channel after an error or a time-out; a channel that stays busy is failed. */
static void recover(struct ide_channel *ch)
{
	stop_dma_or_bus_mastering(ch);
	if (channel_reset(ch)) {
		ch->failed = 1;
		log_error("ide: channel at 0x%x stays busy after a reset; its disks are failed", ch->io.cmd);
	}
}

static void fail_active(struct ide_channel *ch, enum blk_status status, struct blk_finished *f)
{
	struct blk_req *r = ch->active;

	ch->active = 0;
	finish(ch, r, status, f);
	recover(ch);
}

/* Starts waiting requests until one runs: those past their deadline or impossible to issue are failed. */
static void start_next(struct ide_channel *ch, struct blk_finished *f)
{
	while (!ch->active && ch->waiting) {
		struct blk_req *r = ch->waiting;

		ch->waiting = r->next;
		if (no_dma(ch))
			finish(ch, r, BLK_E_IO, f);
		else if (arch_tsc() > r->deadline)
			finish(ch, r, BLK_E_TIMEOUT, f);
		else {
			ch->active = r;
			ch->done = 0;
			if (issue(ch))
				fail_active(ch, BLK_E_IO, f);
		}
	}
}

/* The active command ended: its errors, or the request's next command or its end. */
static void command_ended(struct ide_channel *ch, struct blk_finished *f)
{
	struct blk_req *r = ch->active;
	uint8_t bms = inb((uint16_t)(ch->io.bm + BM_STATUS)), status;

	stop_dma(ch);
	status = inb((uint16_t)(ch->io.cmd + REG_STATUS));
	if (status & (ATA_SR_ERR | ATA_SR_DF) || (r->op != BLK_FLUSH && bms & BMS_ERROR)) {
		log_warn("%s: command error at LBA %llu (status 0x%x, error 0x%x, bus master 0x%x)",
			 disk_of(ch, r)->dev.name, (unsigned long long)r->lba, status,
			 inb((uint16_t)(ch->io.cmd + REG_ERROR)), bms);
		fail_active(ch, BLK_E_IO, f);
		return;
	}
	ch->done += ch->chunk;
	if (r->op == BLK_FLUSH || ch->done >= (uint64_t)r->blocks * disk_of(ch, r)->dev.block_size) {
		ch->active = 0;
		finish(ch, r, BLK_OK, f);
	} else if (issue(ch)) {
		fail_active(ch, BLK_E_IO, f);
	}
}

static void poll_active(struct ide_channel *ch, struct blk_finished *f)
{
	if (!(alt_status(ch) & (ATA_SR_BSY | ATA_SR_DRQ))) {
		command_ended(ch, f);
	} else if (arch_tsc() > ch->active->deadline) {
		log_warn("%s: request at LBA %llu timed out", disk_of(ch, ch->active)->dev.name,
			 (unsigned long long)ch->active->lba);
		fail_active(ch, BLK_E_TIMEOUT, f);
	}
}

/* ---- blk_ops */

static int ata_submit(struct blk_dev *dev, struct blk_req *r)
{
	struct ide_disk *d = dev->priv;
	struct ide_channel *ch = d->ch;
	struct blk_finished f = { 0 };
	enum blk_status status = ata_check_request(dev, r);

	spin_lock(&ch->lock);
	if (d->holding) {
		spin_unlock(&ch->lock);
		return -1;
	}
	d->holding = 1;
	r->driver[1] = d->slave;
	if (status != BLK_OK) {
		finish(ch, r, status, &f);
	} else {
		r->next = 0;
		*ch->waiting_tail = r;
		ch->waiting_tail = &r->next;
		start_next(ch, &f);
	}
	if (!ch->waiting)
		ch->waiting_tail = &ch->waiting;
	spin_unlock(&ch->lock);
	blk_finish_all(&f);
	return 0;
}

static void ata_poll(struct blk_dev *dev)
{
	struct ide_disk *d = dev->priv;
	struct ide_channel *ch = d->ch;
	struct blk_finished f = { 0 };

	spin_lock(&ch->lock);
	if (ch->active)
		poll_active(ch, &f);
	start_next(ch, &f);
	if (!ch->waiting)
		ch->waiting_tail = &ch->waiting;
	spin_unlock(&ch->lock);
	blk_finish_all(&f);
}

static const struct blk_ops ata_ops = { ata_submit, ata_poll };

/* ---- bring-up */

/* IDENTIFY DEVICE by PIO, waited for (bounded); NULL, or why the position is not used. */
static const char *identify(struct ide_channel *ch, struct ide_disk *d)
{
	uint16_t id[ATA_IDENTIFY_WORDS];
	unsigned i;
	int s;

	select_device(ch, 0, d->slave);
	if (alt_status(ch) == 0 || alt_status(ch) == 0xff)
		return "empty";
	outb((uint16_t)(ch->io.cmd + REG_STATUS), ATA_CMD_IDENTIFY);
	settle(ch);
	s = wait_not_busy(ch, IDENTIFY_MS);
	if (s <= 0)
		return s == 0 ? "empty" : "no answer to IDENTIFY DEVICE";
	if (s & ATA_SR_ERR) {
		if (inb((uint16_t)(ch->io.cmd + REG_LBA1)) == ATAPI_SIG_MID &&
		    inb((uint16_t)(ch->io.cmd + REG_LBA2)) == ATAPI_SIG_HIGH)
			return "an ATAPI device";
		return "IDENTIFY DEVICE refused";
	}
	if (!(s & ATA_SR_DRQ))
		return "IDENTIFY DEVICE sent no data";
	for (i = 0; i < ATA_IDENTIFY_WORDS; i++)
		id[i] = inw((uint16_t)(ch->io.cmd + REG_DATA));
	(void)inb((uint16_t)(ch->io.cmd + REG_STATUS));
	return ata_identify_parse(id, &d->id);
}

static void register_disk(struct ide_channel *ch, struct ide_disk *d, unsigned index, const char *where)
{
	const struct ata_identity *id = &d->id;

	fmt(d->dev.name, sizeof(d->dev.name), "ide%u%c", index, d->slave ? 's' : 'm');
	__builtin_memcpy(d->dev.model, id->model, sizeof(d->dev.model));
	d->dev.blocks = id->sectors;
	d->dev.block_size = id->sector_size;
	d->dev.queue_depth = 1;
	d->dev.write_cache = id->write_cache;
	d->dev.ops = &ata_ops;
	d->dev.priv = d;
	d->ch = ch;
	if (blk_register(&d->dev)) {
		log_warn("%s: the block device table is full; not used", d->dev.name);
		return;
	}
	log_info("%s: %s channel 0x%x %s: \"%s\", %llu blocks of %u bytes (%llu MiB), write cache %s, %s, "
		 "bus-master DMA, polled (IDE has no MSI)",
		 d->dev.name, where, ch->io.cmd, d->slave ? "slave" : "master", id->model,
		 (unsigned long long)id->sectors, id->sector_size,
		 (unsigned long long)(id->sectors * id->sector_size >> 20), id->write_cache ? "on" : "off",
		 id->lba48 ? "LBA48" : "LBA28");
}

/* Takes over one channel of the function fn; the disks registered. */
static unsigned attach_channel(struct ide_function *fn, const struct ata_channel_ports *ports, const char *where)
{
	struct ide_channel *ch;
	unsigned index = nchannels, n = 0, i;

	if (nchannels == CHANNELS_MAX) {
		log_warn("ide: %s: more than %u channels; not used", where, CHANNELS_MAX);
		return 0;
	}
	ch = &channels[nchannels++];
	*ch = (struct ide_channel){ .io = *ports, .fn = fn };
	ch->waiting_tail = &ch->waiting;
	stop_dma(ch);
	if (alt_status(ch) == 0xff || channel_reset(ch)) {
		log_info("ide%u: %s channel 0x%x: no devices (status 0x%x)", index, where, ports->cmd, alt_status(ch));
		return 0;
	}
	ch->prdt_pa = mm_alloc(1);
	if (!ch->prdt_pa || ch->prdt_pa >= 1ull << 32) {
		log_error("ide%u: %s: no memory below 4 GiB for its PRD table", index, where);
		return 0;
	}
	ch->prdt = mm_ptr(ch->prdt_pa);
	for (i = 0; i < 2; i++) {
		struct ide_disk *d = &ch->disk[i];
		const char *why;

		d->slave = (uint8_t)i;
		why = identify(ch, d);
		if (why) {
			log_info("ide%u: %s channel 0x%x %s: %s, skipped", index, where, ports->cmd,
				 i ? "slave" : "master", why);
			continue;
		}
		register_disk(ch, d, index, where);
		n++;
	}
	return n;
}

/* ---- the PCI function (PCI IDE Controller Specification 1.0, 2.1: the programming interface byte) */

#define PCI_CLASS_STORAGE 0x01
#define PCI_SUBCLASS_IDE 0x01
#define BM_BAR 4
#define BM_BYTES 16

static const struct ata_channel_ports legacy[2] = { { 0x1f0, 0x3f6, 0 }, { 0x170, 0x376, 0 } };

/* The ports of channel ch (0 primary, 1 secondary): legacy in compatibility mode, else its BARs; 0 if unusable. */
static int channel_ports(const struct hpci_dev *p, unsigned ch, struct ata_channel_ports *out)
{
	const struct hpci_bar *cmd = &p->bar[2 * ch], *ctrl = &p->bar[2 * ch + 1];

	*out = legacy[ch];
	out->bm = (uint16_t)(p->bar[BM_BAR].base + 8 * ch);
	if (!(p->prog_if & 1u << (2 * ch)))
		return 0;
	if (!cmd->io || cmd->size < 8 || !ctrl->io || ctrl->size < 4 || cmd->base > 0xfff8 || ctrl->base > 0xfffc)
		return -1;
	out->cmd = (uint16_t)cmd->base;
	out->ctrl = (uint16_t)(ctrl->base + 2);
	return 0;
}

unsigned ata_init(void)
{
	unsigned i = 0, n = 0, ch, disks;
	struct hpci_dev *p;

	while ((p = hpci_next(&i, PCI_CLASS_STORAGE, PCI_SUBCLASS_IDE, -1)) != 0) {
		const struct hpci_bar *bm = &p->bar[BM_BAR];
		struct ide_function *fn;
		char where[16];

		fmt(where, sizeof(where), "%02x:%02x.%u", p->bus, p->dev, p->fn);
		if (!bm->io || bm->size < BM_BYTES || bm->base > 0x10000 - BM_BYTES) {
			log_info("ide: %s: no bus master I/O BAR (BAR4); not used (no PIO transfers here)", where);
			continue;
		}
		if (nfunctions == CHANNELS_MAX) {
			log_warn("ide: %s: more than %u controllers; not used", where, CHANNELS_MAX);
			continue;
		}
		fn = &functions[nfunctions++];
		fn->pci = p;
		hpci_enable(p, HPCI_CMD_IO | HPCI_CMD_INTX_OFF);
		for (ch = 0, disks = 0; ch < 2; ch++) {
			struct ata_channel_ports ports;

			if (channel_ports(p, ch, &ports))
				log_warn("ide: %s: %s channel in native mode without usable I/O BARs; left out", where,
					 ch ? "secondary" : "primary");
			else
				disks += attach_channel(fn, &ports, where);
		}
		if (disks) /* only now: each channel's bus master engine, as the firmware left it, is stopped */
			hpci_enable(p, HPCI_CMD_MASTER);
		n += disks;
	}
	return n;
}
