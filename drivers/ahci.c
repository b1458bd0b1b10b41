/*
 * AHCI host controllers (Serial ATA AHCI 1.3.1, cited by section) and the
 * SATA disks behind them. Completions are found by poll(). Where the HBA
 * has MSI, its single message is routed to the host's disk vector and
 * GHC.IE and each port's PxIE (command completions and errors) are set, so
 * a completion wakes a CPU to poll at once; poll() clears PxIS and then the
 * port's IS bit, so the next completion signals again (10.7.2.2). Without
 * MSI the HBA's interrupts stay off (GHC.IE and every PxIE clear).
 *
 * The HBA masters the bus only after its reset (10.4.3), which stops the
 * engines a firmware may have left running on its own command lists and
 * received-FIS areas, in memory the hypervisor now hands out.
 *
 * Each port gets its command list, received-FIS area and one command
 * table per command slot in hypervisor memory. A request takes a slot;
 * one that the slot's table cannot describe in one command (more than
 * 65536 sectors, or more PRDT entries than the table holds) is moved in
 * several commands, one after another on that slot. Reads and writes
 * use native command queuing (READ/WRITE FPDMA QUEUED, the slot number as
 * tag) where the HBA (CAP.SNCQ) and the disk have it, else READ/WRITE DMA
 * EXT, which the HBA runs one after another; FLUSH CACHE (EXT) is never
 * queued, and queued and non-queued commands are never in the device
 * together (a non-queued command while queued ones are outstanding is an
 * error in SATA's NCQ protocol), so a flush waits for the queued commands
 * to end, and queued ones wait for the flush.
 *
 * A non-queued command's error (PxIS.TFES and the like) fails the slot
 * the HBA was running (PxCMD.CCS) with BLK_E_IO. An error while queued
 * commands are outstanding aborts them all in the device; which one
 * failed is not looked up (no READ LOG EXT): they are all issued again
 * non-queued, so that the bad one fails alone, and queuing resumes once
 * the port holds no request. A request past its deadline fails with
 * BLK_E_TIMEOUT. Either way the port is recovered (6.2.2.2: engine
 * stopped, COMRESET if the device stays busy or queues commands)
 * and the other requests it held are issued again. A port whose command
 * list engine does not stop even then takes the whole HBA through its
 * reset (10.4.3); an HBA that does not leave that reset loses its bus
 * mastering and fails every request (hba_recover() says why).
 */
#include "ahci.h"

#include "arch.h"
#include "ata_cmd.h"
#include "block.h"
#include "lib/fmt.h"
#include "lib/spinlock.h"
#include "log.h"
#include "mm.h"
#include "pci_host.h"
#include "pci_msi.h"

/* 3.1: generic host control */
#define HBA_CAP 0x00
#define HBA_GHC 0x04
#define HBA_IS 0x08
#define HBA_PI 0x0c
#define HBA_VS 0x10
#define HBA_CAP2 0x24
#define HBA_BOHC 0x28
#define CAP_S64A (1u << 31)
#define CAP_SNCQ (1u << 30)
#define CAP_SSS (1u << 27)
#define GHC_AE (1u << 31)
#define GHC_HR (1u << 0)
#define GHC_IE (1u << 1)
#define CAP2_BOH (1u << 0)
#define BOHC_BOS (1u << 0)
#define BOHC_OOS (1u << 1)
#define BOHC_BB (1u << 4)

/* 3.3: port registers */
#define PORT_BASE 0x100
#define PORT_STRIDE 0x80
#define PX_CLB 0x00
#define PX_FB 0x08
#define PX_IS 0x10
#define PX_IE 0x14
#define PX_CMD 0x18
#define PX_TFD 0x20
#define PX_SIG 0x24
#define PX_SSTS 0x28
#define PX_SCTL 0x2c
#define PX_SERR 0x30
#define PX_SACT 0x34
#define PX_CI 0x38
#define CMD_ST (1u << 0)
#define CMD_SUD (1u << 1)
#define CMD_POD (1u << 2)
#define CMD_FRE (1u << 4)
#define CMD_FR (1u << 14)
#define CMD_CR (1u << 15)
#define IS_ERRORS 0x7dc00010u /* TFES HBFS HBDS IFS OFS INFS UFS: 3.3.5 bits the HBA raises on an error */
#define IS_COMPLETIONS 0x0000000bu /* DHRS PSS SDBS: a command's ending FIS came (3.3.5) */
#define SSTS_DET_PRESENT 3    /* device present, PHY communication established */
#define SIG_ATA 0x00000101u
#define SIG_ATAPI 0xeb140101u
#define SIG_SEMB 0xc33c0101u
#define SIG_PM 0x96690101u

#define SLOTS_MAX 32
#define TABLE_BYTES 4096
#define TABLE_PRDT 0x80
#define PRDT_ENTRIES ((TABLE_BYTES - TABLE_PRDT) / 16)
#define PRDT_ENTRY_MAX (4u << 20) /* 4.2.3.3: DBC is 22 bits */
#define RFIS_OFFSET 1024          /* in the port's page, after the 1 KiB command list */
#define IDENTIFY_OFFSET 2048
#define PORTS_MAX 16              /* disks across all controllers */
#define HBAS_MAX 8

/* Bounds of the waits the specification sets (10.1.2, 10.4.2) and of the rest. */
#define STOP_MS 500
#define RESET_MS 1000
#define LINK_MS 200
#define READY_MS 2000
#define COMMAND_MS 2000
#define HANDOFF_MS 2000

struct slot {
	struct blk_req *req;
	uint64_t done;  /* bytes moved by earlier commands */
	uint64_t chunk; /* bytes of the command in flight */
};

struct ahci_hba {
	struct spinlock lock; /* its ports': an HBA reset (10.4.3) acts on every one of them */
	volatile uint8_t *abar;
	const struct hpci_dev *pci;
	uint32_t cap;
	enum blk_irq irq;
	struct ahci_disk *disk; /* its disks, one after another in disks[] */
	unsigned ndisks;
};

struct ahci_disk {
	struct blk_dev dev;
	struct ahci_hba *hba;
	volatile uint8_t *port; /* its port's registers */
	uint32_t port_bit;      /* in the HBA's IS and PI */
	uint8_t *page;          /* command list, received FIS, IDENTIFY buffer */
	uint64_t page_pa, tables_pa;
	uint64_t addr_limit;    /* 0, or 4 GiB without CAP.S64A */
	uint32_t nslots;
	uint32_t issued, queued; /* slots whose command the HBA holds; those of them queued (NCQ) */
	struct ata_identity id;
	uint8_t failed;
	uint8_t ncq;    /* reads and writes are queued */
	uint8_t serial; /* after a queued command's error: none queued until the port is idle */
	struct blk_finished finished; /* finished at submit: done() comes from the next poll (block.h) */
	struct slot slot[SLOTS_MAX];
	struct prd_entry scratch[PRDT_ENTRIES]; /* the PRDT being built, under the lock */
};

static struct ahci_disk disks[PORTS_MAX];
static struct ahci_hba hbas[HBAS_MAX];
static unsigned ndisks, nhbas;

static uint32_t rd(volatile uint8_t *base, unsigned reg)
{
	return *(volatile uint32_t *)(base + reg);
}

static void wr(volatile uint8_t *base, unsigned reg, uint32_t v)
{
	__asm__ volatile("" : : : "memory"); /* descriptors written before the doorbell */
	*(volatile uint32_t *)(base + reg) = v;
}

/* Waits until (reg & mask) == value or ms pass; 0, or -1 on time-out. */
static int wait_reg(volatile uint8_t *base, unsigned reg, uint32_t mask, uint32_t value, uint64_t ms)
{
	uint64_t end = blk_deadline_ms(ms);

	while ((rd(base, reg) & mask) != value) {
		if (arch_tsc() > end)
			return -1;
		arch_relax();
	}
	return 0;
}

/* ---- the HBA */

/* 10.6.3: take the HBA from the firmware when it supports the handoff. */
static void bios_handoff(volatile uint8_t *abar)
{
	if (!(rd(abar, HBA_CAP2) & CAP2_BOH))
		return;
	wr(abar, HBA_BOHC, rd(abar, HBA_BOHC) | BOHC_OOS);
	if (wait_reg(abar, HBA_BOHC, BOHC_BOS | BOHC_BB, 0, HANDOFF_MS))
		log_warn("ahci: the firmware kept ownership of the HBA (BOHC 0x%x); going on",
			 rd(abar, HBA_BOHC));
}

/* 10.4.3: HBA reset, then AHCI mode, and the HBA's interrupt where it has one (the ports' PxIE say which events signal). */
static int hba_reset(const struct ahci_hba *h)
{
	wr(h->abar, HBA_GHC, GHC_AE);
	wr(h->abar, HBA_GHC, GHC_AE | GHC_HR);
	if (wait_reg(h->abar, HBA_GHC, GHC_HR, 0, RESET_MS))
		return -1;
	wr(h->abar, HBA_GHC, h->irq != BLK_POLLED ? GHC_AE | GHC_IE : GHC_AE);
	return 0;
}

/* Spins up the ports (with staggered spin-up) and waits for their links; the ports without a device. */
static uint32_t ports_spin_up(volatile uint8_t *abar, uint32_t cap, uint32_t pi)
{
	unsigned port;
	uint64_t end = blk_deadline_ms(LINK_MS);
	uint32_t waiting = pi;

	for (port = 0; port < 32; port++)
		if (pi & 1u << port && cap & CAP_SSS) {
			volatile uint8_t *p = abar + PORT_BASE + PORT_STRIDE * port;
			wr(p, PX_CMD, rd(p, PX_CMD) | CMD_SUD | CMD_POD);
		}
	while (waiting && arch_tsc() < end) /* all ports at once: an empty one costs LINK_MS once */
		for (port = 0; port < 32; port++)
			if (waiting & 1u << port &&
			    (rd(abar + PORT_BASE + PORT_STRIDE * port, PX_SSTS) & 0xf) == SSTS_DET_PRESENT)
				waiting &= ~(1u << port);
	return waiting;
}

/* ---- a port */

/* 10.1.2: the command list and FIS receive engines stopped. */
static int port_stop(volatile uint8_t *port)
{
	uint32_t cmd = rd(port, PX_CMD);

	if (cmd & CMD_ST)
		wr(port, PX_CMD, cmd &= ~CMD_ST);
	if (wait_reg(port, PX_CMD, CMD_CR, 0, STOP_MS))
		return -1;
	if (cmd & CMD_FRE)
		wr(port, PX_CMD, cmd & ~CMD_FRE);
	return wait_reg(port, PX_CMD, CMD_FR, 0, STOP_MS);
}

/* 10.4.2: COMRESET, then the link back up. */
static int port_comreset(volatile uint8_t *port)
{
	wr(port, PX_SCTL, (rd(port, PX_SCTL) & ~0xfu) | 1);
	arch_delay_us(1000);
	wr(port, PX_SCTL, rd(port, PX_SCTL) & ~0xfu);
	if (wait_reg(port, PX_SSTS, 0xf, SSTS_DET_PRESENT, LINK_MS))
		return -1;
	wr(port, PX_SERR, ~0u);
	return 0;
}

static int device_ready(volatile uint8_t *port)
{
	return wait_reg(port, PX_TFD, ATA_SR_BSY | ATA_SR_DRQ, 0, READY_MS);
}

/* The device ready for commands, after a COMRESET if it is busy; 0, or -1 when it stays busy. */
static int device_ready_or_reset(volatile uint8_t *port)
{
	return device_ready(port) && (port_comreset(port) || device_ready(port)) ? -1 : 0;
}

/* The port's interrupt status bits cleared, then its bit in the HBA's IS: in that order, or it stays set (10.7.2.2). */
static void ack_port(const struct ahci_disk *d, uint32_t is)
{
	wr(d->port, PX_IS, is);
	if (d->dev.irq != BLK_POLLED)
		wr(d->hba->abar, HBA_IS, d->port_bit);
}

static void port_start(struct ahci_disk *d)
{
	wr(d->port, PX_SERR, ~0u);
	ack_port(d, ~0u);
	wr(d->port, PX_CMD, rd(d->port, PX_CMD) | CMD_FRE | CMD_ST);
}

/* The port's memory given to the HBA and FIS reception on (10.1.2), before its device is read. */
static void port_set_memory(struct ahci_disk *d)
{
	wr(d->port, PX_CLB, (uint32_t)d->page_pa);
	wr(d->port, PX_CLB + 4, (uint32_t)(d->page_pa >> 32));
	wr(d->port, PX_FB, (uint32_t)(d->page_pa + RFIS_OFFSET));
	wr(d->port, PX_FB + 4, (uint32_t)((d->page_pa + RFIS_OFFSET) >> 32));
	wr(d->port, PX_IE, d->dev.irq != BLK_POLLED ? IS_COMPLETIONS | IS_ERRORS : 0);
	wr(d->port, PX_CMD, rd(d->port, PX_CMD) | CMD_FRE);
}

/* ---- commands */

static uint8_t *table(struct ahci_disk *d, unsigned slot)
{
	return mm_ptr(d->tables_pa + (uint64_t)slot * TABLE_BYTES);
}

static void put_command(struct ahci_disk *d, unsigned slot, const struct ata_taskfile *tf, int write,
			const struct prd_entry *prd, uint32_t nprd, int queued)
{
	uint8_t *t = table(d, slot);
	uint32_t i;

	ata_fis_h2d(t, tf);
	for (i = 0; i < nprd; i++)
		ahci_prdt_encode(t + TABLE_PRDT + 16 * i, &prd[i]);
	ahci_cmd_header_encode(d->page + 32 * slot, write, nprd,
			       d->tables_pa + (uint64_t)slot * TABLE_BYTES);
	d->issued |= 1u << slot;
	if (queued) { /* 3.3.13: PxSACT set before the command is issued */
		d->queued |= 1u << slot;
		wr(d->port, PX_SACT, 1u << slot);
	}
	wr(d->port, PX_CI, 1u << slot);
}

static int uses_ncq(const struct ahci_disk *d, const struct blk_req *r)
{
	return d->ncq && !d->serial && r->op != BLK_FLUSH;
}

/* The next command of the slot's request; 0, or -1 when its segments cannot be described. */
static int issue(struct ahci_disk *d, unsigned slot)
{
	static const struct prd_limits lim = { PRDT_ENTRY_MAX, 0, PRDT_ENTRIES, 0 };
	struct prd_limits l = lim;
	struct slot *s = &d->slot[slot];
	struct blk_req *r = s->req;
	struct ata_taskfile tf;
	uint32_t n = 0, bs = d->dev.block_size;

	l.addr_limit = d->addr_limit;
	s->chunk = 0;
	if (r->op != BLK_FLUSH) {
		s->chunk = prd_build(r, s->done, (uint64_t)ata_max_blocks(d->id.lba48) * bs, bs, &l, d->scratch, &n);
		if (!s->chunk)
			return -1;
	}
	if (uses_ncq(d, r) ? ata_taskfile_build_ncq(&tf, r->op, r->lba + s->done / bs, (uint32_t)(s->chunk / bs), slot)
			   : ata_taskfile_build(&tf, r->op, r->lba + s->done / bs, (uint32_t)(s->chunk / bs),
						d->id.lba48, d->id.flush_ext))
		return -1;
	put_command(d, slot, &tf, r->op == BLK_WRITE, d->scratch, n, uses_ncq(d, r));
	return 0;
}

static void finish_slot(struct ahci_disk *d, unsigned slot, enum blk_status status, struct blk_finished *f)
{
	blk_finish(f, d->slot[slot].req, status);
	d->slot[slot].req = 0;
	d->issued &= ~(1u << slot);
	d->queued &= ~(1u << slot);
}

static void advance_slot(struct ahci_disk *d, unsigned slot, struct blk_finished *f)
{
	struct slot *s = &d->slot[slot];

	d->issued &= ~(1u << slot);
	d->queued &= ~(1u << slot);
	s->done += s->chunk;
	if (s->req->op == BLK_FLUSH || s->done >= (uint64_t)s->req->blocks * d->dev.block_size)
		finish_slot(d, slot, BLK_OK, f); /* else its next command waits for issue_waiting() */
}

/* Whether the slot's next command may go to the HBA now: queued and non-queued commands never mix. */
static int may_issue(const struct ahci_disk *d, const struct blk_req *r, int nonqueued_waiting)
{
	if (uses_ncq(d, r))
		return !nonqueued_waiting && !(d->issued & ~d->queued);
	return !d->queued;
}

/* Issues the held requests' next commands whose turn it is; with a failed port, fails them. */
static void issue_waiting(struct ahci_disk *d, struct blk_finished *f)
{
	uint32_t waiting = 0;
	int nonqueued_waiting = 0;
	unsigned i;

	for (i = 0; i < d->nslots; i++)
		if (d->slot[i].req && !(d->issued & 1u << i)) {
			waiting |= 1u << i;
			nonqueued_waiting |= !uses_ncq(d, d->slot[i].req);
		}
	if (!waiting && !d->issued)
		d->serial = 0; /* idle: queuing may resume */
	while (waiting) {
		i = (unsigned)__builtin_ctz(waiting);
		waiting &= waiting - 1;
		if (d->failed)
			finish_slot(d, i, BLK_E_IO, f);
		else if (may_issue(d, d->slot[i].req, nonqueued_waiting) && issue(d, i))
			finish_slot(d, i, BLK_E_IO, f); /* a segment the HBA cannot reach */
	}
}

/* Whether the port's command list engine still runs (PxCMD.CR, 10.1.2): its commands may still move data. */
static int engine_running(const struct ahci_disk *d)
{
	return (rd(d->port, PX_CMD) & CMD_CR) != 0;
}

/* A port the HBA reset stopped, given its memory again and started; 0, or -1 when its device stays busy. */
static int port_restart(struct ahci_disk *d)
{
	port_set_memory(d);
	if (device_ready_or_reset(d->port))
		return -1;
	port_start(d);
	return 0;
}

/*
 * A port whose command list engine does not stop, even after a COMRESET
 * (10.4.2), may still move data for the commands it held: failing them
 * would give their buffers back (to a guest, or with a stopped partition's
 * memory to another one) while DMA into them can still land. The HBA
 * reset (10.4.3) stops every port's engines; the other ports' commands in
 * flight end with it and are issued again from their start, as after a
 * port's own recovery, so their disks go on. Turning bus mastering off at
 * once would also stop those healthy ports, failing their disks for one
 * bad port; keeping the requests unfinished would hang the guest's I/O
 * and keep its partition's memory from ever being freed. An HBA that does
 * not leave its reset within the 1 s of 10.4.3 is hung, no port of it
 * works: it loses bus mastering (no more DMA at all, PCI 3.0 6.2.2) and
 * all its disks fail every request with BLK_E_IO.
 */
static void hba_recover(struct ahci_hba *h, const struct ahci_disk *stuck, struct blk_finished *f)
{
	uint32_t cmd = rd(stuck->port, PX_CMD), ports = 0;
	int hung = hba_reset(h) != 0;
	unsigned i;

	if (hung)
		hpci_disable(h->pci, HPCI_CMD_MASTER);
	log_error("%s: the port's command engine does not stop (PxCMD 0x%x); HBA reset: %s", stuck->dev.name, cmd,
		  hung ? "the HBA does not leave it, bus mastering off, its disks fail every request" : "done");
	for (i = 0; i < h->ndisks; i++)
		ports |= h->disk[i].port_bit;
	if (!hung)
		ports_spin_up(h->abar, h->cap, ports);
	for (i = 0; i < h->ndisks; i++) {
		struct ahci_disk *d = &h->disk[i];

		d->issued = d->queued = 0;
		if (!d->failed && (hung || port_restart(d))) {
			d->failed = 1;
			log_error("%s: the port does not come back after the HBA reset; its disk is failed", d->dev.name);
		}
		issue_waiting(d, f);
	}
}

/*
 * 6.2.2.2: stop, clear the errors, COMRESET a device that stays busy or
 * an engine that does not stop (10.4.2), start; an engine that still runs
 * then takes the HBA through its reset.
 */
static void recover(struct ahci_disk *d, struct blk_finished *f)
{
	int bad = port_stop(d->port);

	wr(d->port, PX_SERR, ~0u);
	wr(d->port, PX_IS, ~0u);
	/* A queuing disk may be left in its NCQ error state, which only READ LOG EXT or a reset ends. */
	if (bad || d->ncq || (rd(d->port, PX_TFD) & (ATA_SR_BSY | ATA_SR_DRQ))) {
		/* The device's first FIS after the reset reaches PxTFD once FIS reception is on again. */
		bad = port_comreset(d->port) || port_stop(d->port);
		if (!bad) {
			port_set_memory(d);
			bad = device_ready(d->port);
		}
	}
	d->issued = d->queued = 0;
	if (bad && engine_running(d)) {
		hba_recover(d->hba, d, f);
		return;
	}
	if (bad) {
		d->failed = 1;
		log_error("%s: the port does not recover (PxCMD 0x%x, PxTFD 0x%x); its disk is failed", d->dev.name,
			  rd(d->port, PX_CMD), rd(d->port, PX_TFD));
	} else {
		port_set_memory(d);
		port_start(d);
	}
	issue_waiting(d, f);
}

static void complete_finished(struct ahci_disk *d, struct blk_finished *f)
{
	uint32_t finished = d->issued & ~(rd(d->port, PX_CI) | rd(d->port, PX_SACT));

	while (finished) {
		unsigned slot = (unsigned)__builtin_ctz(finished);
		finished &= finished - 1;
		advance_slot(d, slot, f);
	}
}

static void handle_error(struct ahci_disk *d, uint32_t is, struct blk_finished *f)
{
	unsigned ccs;
	uint32_t pending;

	complete_finished(d, f); /* what ended before the error ended well */
	if (d->queued) {
		log_warn("%s: queued command error (PxIS 0x%x, PxTFD 0x%x, PxSACT 0x%x); its commands are issued "
			 "again one at a time", d->dev.name, is, rd(d->port, PX_TFD), rd(d->port, PX_SACT));
		d->serial = 1;
		recover(d, f);
		return;
	}
	ccs = rd(d->port, PX_CMD) >> 8 & 0x1f;
	pending = d->issued & rd(d->port, PX_CI);

	if (!(pending & 1u << ccs) && pending)
		ccs = (unsigned)__builtin_ctz(pending); /* CCS not kept: the lowest slot runs first */
	log_warn("%s: command error (PxIS 0x%x, PxTFD 0x%x, PxSERR 0x%x), slot %u failed", d->dev.name, is,
		 rd(d->port, PX_TFD), rd(d->port, PX_SERR), ccs);
	if (pending & 1u << ccs)
		finish_slot(d, ccs, BLK_E_IO, f);
	recover(d, f);
}

static void check_deadlines(struct ahci_disk *d, struct blk_finished *f)
{
	uint64_t now = arch_tsc();
	unsigned i;
	int late = 0;

	for (i = 0; i < d->nslots; i++)
		if (d->slot[i].req && now > d->slot[i].req->deadline) {
			log_warn("%s: request at LBA %llu timed out", d->dev.name,
				 (unsigned long long)d->slot[i].req->lba);
			late |= (int)(d->issued >> i & 1); /* one still waiting for its turn needs no recovery */
			finish_slot(d, i, BLK_E_TIMEOUT, f);
		}
	if (late && !d->failed)
		recover(d, f);
}

/* ---- blk_ops */

static int free_slot(const struct ahci_disk *d)
{
	unsigned i;

	for (i = 0; i < d->dev.queue_depth; i++)
		if (!d->slot[i].req)
			return (int)i;
	return -1;
}

/*
 * A request refused here, or that the port cannot issue (it failed, or a
 * segment lies beyond the HBA's reach), finishes at the next poll: the
 * submitter may hold its own lock while it submits, which done() takes.
 */
static int ahci_submit(struct blk_dev *dev, struct blk_req *r)
{
	struct ahci_disk *d = dev->priv;
	enum blk_status status = ata_check_request(dev, r);
	int slot;

	spin_lock(&d->hba->lock);
	slot = free_slot(d);
	if (slot < 0) {
		spin_unlock(&d->hba->lock);
		return -1;
	}
	d->slot[slot] = (struct slot){ r, 0, 0 };
	if (status != BLK_OK)
		finish_slot(d, (unsigned)slot, status, &d->finished);
	else
		issue_waiting(d, &d->finished);
	spin_unlock(&d->hba->lock);
	return 0;
}

static void ahci_poll(struct blk_dev *dev)
{
	struct ahci_disk *d = dev->priv;
	struct blk_finished f;
	uint32_t is;

	spin_lock(&d->hba->lock);
	f = d->finished;
	d->finished.head = 0;
	if (d->issued) {
		is = rd(d->port, PX_IS);
		if (is & ~IS_ERRORS)
			ack_port(d, is & ~IS_ERRORS); /* before PxCI is read: a completion after that signals again */
		if (is & IS_ERRORS)
			handle_error(d, is, &f);
		else
			complete_finished(d, &f);
		issue_waiting(d, &f);
	}
	check_deadlines(d, &f);
	spin_unlock(&d->hba->lock);
	blk_finish_all(&f);
}

static const struct blk_ops ahci_ops = { ahci_submit, ahci_poll };

/* ---- bring-up of a port */

/* IDENTIFY DEVICE on slot 0, waited for (bounded): the port is not shared yet. */
static const char *identify(struct ahci_disk *d)
{
	struct ata_taskfile tf = { .command = ATA_CMD_IDENTIFY };
	struct prd_entry prd = { d->page_pa + IDENTIFY_OFFSET, ATA_IDENTIFY_WORDS * 2 };
	uint16_t id[ATA_IDENTIFY_WORDS];
	unsigned i;

	put_command(d, 0, &tf, 0, &prd, 1, 0);
	d->issued = 0;
	if (wait_reg(d->port, PX_CI, 1, 0, COMMAND_MS))
		return "IDENTIFY DEVICE timed out";
	if (rd(d->port, PX_IS) & IS_ERRORS || rd(d->port, PX_TFD) & ATA_SR_ERR)
		return "IDENTIFY DEVICE failed";
	ack_port(d, rd(d->port, PX_IS)); /* waited for: its interrupt, if any, is spent */
	for (i = 0; i < ATA_IDENTIFY_WORDS; i++)
		id[i] = (uint16_t)(d->page[IDENTIFY_OFFSET + 2 * i] | d->page[IDENTIFY_OFFSET + 2 * i + 1] << 8);
	return ata_identify_parse(id, &d->id);
}

static const char *signature_name(uint32_t sig)
{
	switch (sig) {
	case SIG_ATAPI:
		return "an ATAPI device";
	case SIG_SEMB:
		return "an enclosure bridge";
	case SIG_PM:
		return "a port multiplier";
	default:
		return "a device of unknown signature";
	}
}

/* Memory for the port: a page (command list, FIS, IDENTIFY), then a command table per slot. */
static const char *port_memory(struct ahci_disk *d, uint32_t cap)
{
	d->nslots = (cap >> 8 & 0x1f) + 1;
	d->page_pa = mm_alloc(1);
	d->tables_pa = mm_alloc(d->nslots);
	if (!d->page_pa || !d->tables_pa)
		return "no memory for its command list";
	d->page = mm_ptr(d->page_pa);
	d->addr_limit = cap & CAP_S64A ? 0 : 1ull << 32;
	if (d->addr_limit && (d->page_pa >= d->addr_limit || d->tables_pa + d->nslots * TABLE_BYTES > d->addr_limit))
		return "its command memory is above 4 GiB and the HBA addresses 32 bits";
	return 0;
}

/* Why the device on this port is not used, or NULL once it is ready for commands. */
static const char *port_bring_up(struct ahci_disk *d, uint32_t cap)
{
	const char *why;
	uint32_t sig;

	if (port_stop(d->port))
		return "its engines do not stop";
	if ((why = port_memory(d, cap)) != 0)
		return why;
	port_set_memory(d);
	if (device_ready_or_reset(d->port))
		return "its device stays busy";
	sig = rd(d->port, PX_SIG);
	if (sig != SIG_ATA)
		return signature_name(sig);
	port_start(d);
	return identify(d);
}

static void log_disk(const struct ahci_disk *d, const char *where, unsigned port)
{
	const struct ata_identity *id = &d->id;

	log_info("%s: %s port %u: \"%s\", %llu blocks of %u bytes (%llu MiB), write cache %s, %s, %s, "
		 "queue depth %u, %s",
		 d->dev.name, where, port, id->model, (unsigned long long)id->sectors, id->sector_size,
		 (unsigned long long)(id->sectors * id->sector_size >> 20), id->write_cache ? "on" : "off",
		 id->lba48 ? "LBA48" : "LBA28", d->ncq ? "NCQ" : id->ncq ? "no NCQ (the HBA has none)" : "no NCQ",
		 d->dev.queue_depth, blk_irq_name(d->dev.irq));
}

static void attach_port(struct ahci_hba *h, unsigned hba, unsigned port, const char *where)
{
	struct ahci_disk *d = &disks[ndisks];
	const char *why;

	*d = (struct ahci_disk){ .hba = h, .port = h->abar + PORT_BASE + PORT_STRIDE * port, .port_bit = 1u << port,
				 .dev.irq = h->irq };
	why = port_bring_up(d, h->cap);
	if (why) {
		log_info("ahci%u: %s port %u: %s, skipped", hba, where, port, why);
		port_stop(d->port); /* the pages it may have got stay allocated: a few KiB, once */
		return;
	}
	fmt(d->dev.name, sizeof(d->dev.name), "ahci%up%u", hba, port);
	__builtin_memcpy(d->dev.model, d->id.model, sizeof(d->dev.model));
	d->dev.blocks = d->id.sectors;
	d->dev.block_size = d->id.sector_size;
	d->ncq = (h->cap & CAP_SNCQ) && d->id.ncq && d->id.lba48;
	d->dev.queue_depth = d->ncq && d->id.ncq_depth < d->nslots ? d->id.ncq_depth : d->nslots;
	d->dev.write_cache = d->id.write_cache;
	d->dev.ops = &ahci_ops;
	d->dev.priv = d;
	if (blk_register(&d->dev)) {
		log_warn("%s: the block device table is full; not used", d->dev.name);
		return;
	}
	log_disk(d, where, port);
	ndisks++;
	h->ndisks++;
}

/* The HBA of the PCI function p whose registers (ABAR) are mapped at abar, size bytes of them; the disks registered. */
static unsigned attach(const struct hpci_dev *p, volatile uint8_t *abar, uint64_t size, const char *where,
		       enum blk_irq irq, const char *mode)
{
	unsigned port, before = ndisks, hba = nhbas;
	struct ahci_hba *h;
	uint32_t cap, pi, vs, empty;

	if (nhbas == HBAS_MAX) {
		log_warn("ahci: %s: more than %u controllers; not used", where, HBAS_MAX);
		return 0;
	}
	h = &hbas[nhbas++];
	*h = (struct ahci_hba){ .abar = abar, .pci = p, .irq = irq, .disk = &disks[ndisks] };
	bios_handoff(abar);
	if (hba_reset(h)) {
		log_error("ahci%u: %s: the HBA does not leave reset; not used", hba, where);
		return 0;
	}
	hpci_enable(p, HPCI_CMD_MASTER); /* only now: the reset stopped what the firmware left running */
	h->cap = cap = rd(abar, HBA_CAP);
	pi = rd(abar, HBA_PI);
	vs = rd(abar, HBA_VS);
	log_info("ahci%u: %s: AHCI %u.%u.%u, %u ports (implemented 0x%x), %u command slots, %s-bit DMA, NCQ %s, %s",
		 hba, where, vs >> 16, vs >> 8 & 0xff, vs & 0xff, (cap & 0x1f) + 1, pi,
		 (cap >> 8 & 0x1f) + 1, cap & CAP_S64A ? "64" : "32", cap & (1u << 30) ? "yes" : "no", mode);
	for (port = 0; port < 32; port++)
		if (pi & 1u << port && PORT_BASE + PORT_STRIDE * (port + 1) > size) {
			log_warn("ahci%u: %s: port %u lies beyond its %llu-byte ABAR; left out", hba, where, port,
				 (unsigned long long)size);
			pi &= ~(1u << port);
		}
	empty = ports_spin_up(abar, cap, pi);
	if (empty)
		log_info("ahci%u: %s: no device on ports 0x%x", hba, where, empty);
	for (port = 0; port < 32 && ndisks < PORTS_MAX; port++)
		if (pi & ~empty & 1u << port)
			attach_port(h, hba, port, where);
	return ndisks - before;
}

#define PCI_CLASS_STORAGE 0x01
#define PCI_SUBCLASS_SATA 0x06
#define PCI_PROG_IF_AHCI 0x01
#define ABAR 5
#define ABAR_MIN (PORT_BASE + PORT_STRIDE) /* the generic registers and one port */

unsigned ahci_init(void)
{
	unsigned i = 0, n = 0;
	struct hpci_dev *p;

	while ((p = hpci_next(&i, PCI_CLASS_STORAGE, PCI_SUBCLASS_SATA, PCI_PROG_IF_AHCI)) != 0) {
		volatile void *abar = 0;
		char where[16], mode[HPCI_MODE_TEXT];
		enum blk_irq irq;

		fmt(where, sizeof(where), "%02x:%02x.%u", p->bus, p->dev, p->fn);
		if (p->bar[ABAR].size >= ABAR_MIN)
			abar = hpci_map_bar(p, ABAR);
		if (!abar) {
			log_warn("ahci: %s: no usable ABAR (BAR5); not used", where);
			continue;
		}
		hpci_enable(p, HPCI_CMD_MEM | HPCI_CMD_INTX_OFF);
		irq = hpci_route_disk_irq(p, HPCI_TAKE_MSI, mode, sizeof(mode));
		n += attach(p, abar, p->bar[ABAR].size, where, irq, mode);
	}
	return n;
}
