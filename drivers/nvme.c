/*
 * NVMe host driver (NVM Express Base Spec 1.4; section numbers below are
 * that document's).
 *
 * One admin queue and one I/O queue pair per controller, shared by every
 * CPU and namespace under the controller's spin lock. Completions are
 * found by poll() (blk_ops.poll); where the controller has MSI-X, the I/O
 * completion queue is created with interrupts on its entry 0, shared with
 * the admin queue (whose commands are few and waited for), so a
 * completion wakes a CPU to poll at once. A block request becomes one or more commands (the
 * PRP rules, MDTS and the 16-bit block count split it, nvme_prp.c); it
 * completes when its last command does.
 *
 * A command still outstanding at its request's deadline ends the wait:
 * the controller is disabled and enabled again (a Controller Level Reset,
 * 7.3.1: every command outstanding is ended, the queues deleted, and its
 * DMA stopped once CSTS.RDY reads 0), requests past their deadline
 * complete with BLK_E_TIMEOUT and the others are issued again from their
 * start, in slots the reset emptied. The Abort command (5.1) is not
 * tried first: it is best effort, and a controller that does not
 * complete a read need not complete an Abort either. A controller that
 * does not come back is marked failed, its bus mastering is turned off
 * (it may still be running the commands its reset was to end), and it
 * fails every request with BLK_E_IO. Every wait for the controller is
 * bounded by CAP.TO.
 */
#include "nvme.h"

#include "arch.h"
#include "block.h"
#include "lib/fmt.h"
#include "lib/le.h"
#include "lib/spinlock.h"
#include "log.h"
#include "mm.h"
#include "nvme_prp.h"
#include "pci_host.h"
#include "pci_msi.h"

#define NVME_CTRLS_MAX 4
#define NVME_NS_MAX 4
#define ADMIN_DEPTH 16
#define IO_DEPTH_MAX 64 /* 64-byte entries: the I/O submission queue is one page */
#define ADMIN_TIMEOUT_MS 5000
#define TO_UNIT_MS 500 /* CAP.TO's unit (3.1.1) */
/*
 * How often a poll looks for commands past their deadline (seconds away,
 * blk.h): the walk over every slot cost a poll some 300 instructions, the
 * most of a 4 KiB request's completion.
 */
#define DEADLINE_CHECK_MS 10

/* Controller registers (3.1). */
#define REG_CAP 0x00
#define REG_VS 0x08
#define REG_INTMS 0x0c
#define REG_CC 0x14
#define REG_CSTS 0x1c
#define REG_AQA 0x24
#define REG_ASQ 0x28
#define REG_ACQ 0x30
#define REG_DOORBELLS 0x1000

#define CC_EN (1u << 0)
#define CC_IOSQES (6u << 16) /* 2^6 = 64-byte submission entries */
#define CC_IOCQES (4u << 20) /* 2^4 = 16-byte completion entries */
#define CSTS_RDY (1u << 0)
#define CSTS_CFS (1u << 1)

/* Opcodes: admin (5), NVM command set (6). */
#define ADMIN_CREATE_SQ 0x01
#define ADMIN_CREATE_CQ 0x05
#define ADMIN_IDENTIFY 0x06
#define ADMIN_SET_FEATURES 0x09
#define FEATURE_QUEUES 0x07
#define NVM_FLUSH 0x00
#define NVM_WRITE 0x01
#define NVM_READ 0x02
#define CNS_NAMESPACE 0x00
#define CNS_CONTROLLER 0x01
#define CNS_ACTIVE_NSIDS 0x02
#define QUEUE_CONTIGUOUS 1u
#define CQ_INTERRUPTS (1u << 1) /* IEN; the interrupt vector (MSI-X entry) in bits 31:16 */

struct sqe {
	uint32_t cdw0; /* opcode, command ID << 16 (PRPs: PSDT 0) */
	uint32_t nsid;
	uint32_t reserved[2];
	uint64_t mptr, prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct cqe {
	uint32_t dw0, dw1;
	uint16_t sq_head, sq_id, cid;
	uint16_t status; /* bit 0: phase; 15:1 status field (4.6.1) */
};

struct queue {
	struct sqe *sq;
	volatile struct cqe *cq;
	uint64_t sq_pa, cq_pa;
	uint16_t depth, sq_tail, cq_head;
	uint16_t phase;
	volatile uint32_t *sq_doorbell, *cq_doorbell;
};

struct nvme_ctrl;

struct nvme_ns {
	struct blk_dev dev;
	struct nvme_ctrl *c;
	uint32_t nsid;
};

struct slot {
	struct blk_req *req; /* the request this command is part of; NULL: free */
	uint64_t *prp_list;
	uint64_t prp_list_pa;
};

struct nvme_ctrl {
	const struct hpci_dev *pci;
	volatile uint8_t *regs;
	unsigned index;
	uint64_t cap;
	uint64_t ready_ticks; /* CAP.TO in TSC ticks */
	uint32_t max_transfer; /* bytes one command may carry */
	struct spinlock lock;
	struct queue admin, io;
	struct slot slot[IO_DEPTH_MAX];
	uint16_t nslots;
	uint32_t inflight;   /* requests accepted and not yet finished */
	struct blk_pending pending; /* accepted, not every command issued */
	struct blk_req *finished; /* done() due, called outside the lock */
	int failed;
	uint64_t deadline_check; /* host TSC from which a poll looks at the deadlines again */
	uint8_t *identify;   /* a page for Identify data */
	char model[BLK_MODEL_MAX];
	uint8_t write_cache;
	enum blk_irq irq;
	char irq_mode[HPCI_MODE_TEXT];
	struct nvme_ns ns[NVME_NS_MAX];
};

static struct nvme_ctrl ctrls[NVME_CTRLS_MAX];
static unsigned nctrls;

/* ---- registers and time ---- */

static uint32_t reg_read(const struct nvme_ctrl *c, uint32_t off)
{
	return *(volatile uint32_t *)(c->regs + off);
}

static void reg_write(const struct nvme_ctrl *c, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(c->regs + off) = v;
}

/* 64-bit registers as two dwords, low first (3.1: "may be accessed as two 32-bit accesses"). */
static void reg_write64(const struct nvme_ctrl *c, uint32_t off, uint64_t v)
{
	reg_write(c, off, (uint32_t)v);
	reg_write(c, off + 4, (uint32_t)(v >> 32));
}

static uint64_t ms_ticks(uint64_t ms)
{
	return arch_tsc_hz() / 1000 * ms;
}

/* Waits, at most CAP.TO, for CSTS.RDY to equal ready; 0, or -1 on timeout or a fatal status. */
static int wait_ready(const struct nvme_ctrl *c, uint32_t ready)
{
	uint64_t end = arch_tsc() + c->ready_ticks;

	for (;;) {
		uint32_t csts = reg_read(c, REG_CSTS);

		if (csts == ~0u || (ready && (csts & CSTS_CFS)))
			return -1; /* gone from the bus, or a fatal error (3.1.6) */
		if ((csts & CSTS_RDY) == ready)
			return 0;
		if (arch_tsc() > end)
			return -1;
		arch_relax();
	}
}

/* ---- queues (4.1) ---- */

static int queue_alloc(struct queue *q, uint16_t depth)
{
	q->sq_pa = mm_alloc(1);
	q->cq_pa = mm_alloc(1);
	if (!q->sq_pa || !q->cq_pa)
		return -1;
	q->sq = mm_ptr(q->sq_pa);
	q->cq = mm_ptr(q->cq_pa);
	q->depth = depth;
	return 0;
}

/* Empty queues, as after their creation: the controller's heads and tails start at 0, phase 1. */
static void queue_reset(const struct nvme_ctrl *c, struct queue *q, unsigned qid)
{
	uint32_t stride = 4u << (c->cap >> 32 & 0xf); /* CAP.DSTRD */

	__builtin_memset((void *)q->cq, 0, q->depth * sizeof(struct cqe));
	q->sq_tail = q->cq_head = 0;
	q->phase = 1;
	q->sq_doorbell = (volatile uint32_t *)(c->regs + REG_DOORBELLS + (2 * qid) * stride);
	q->cq_doorbell = (volatile uint32_t *)(c->regs + REG_DOORBELLS + (2 * qid + 1) * stride);
}

static void queue_push(struct queue *q, const struct sqe *e)
{
	q->sq[q->sq_tail] = *e;
	q->sq_tail = (uint16_t)((q->sq_tail + 1) % q->depth);
}

/* Tells the controller of the entries pushed; the entries are written before the doorbell (x86 keeps stores in order). */
static void queue_ring(struct queue *q)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
	*q->sq_doorbell = q->sq_tail;
}

/* The next completion the controller posted, or NULL; its phase tag says it is new (4.6). */
static const volatile struct cqe *queue_peek(const struct queue *q)
{
	const volatile struct cqe *e = &q->cq[q->cq_head];

	if ((e->status & 1) != q->phase)
		return 0;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return e;
}

static void queue_pop(struct queue *q)
{
	if (++q->cq_head == q->depth) {
		q->cq_head = 0;
		q->phase ^= 1;
	}
}

/* ---- admin commands, one at a time, waited for ---- */

/* 0 on success; the NVMe status field, or -1 when the controller did not answer in time. */
static int admin_run(struct nvme_ctrl *c, struct sqe *e)
{
	uint64_t end = arch_tsc() + ms_ticks(ADMIN_TIMEOUT_MS);
	const volatile struct cqe *done;
	int status;

	e->cdw0 |= (uint32_t)c->admin.sq_tail << 16; /* any ID unique among outstanding commands */
	queue_push(&c->admin, e);
	queue_ring(&c->admin);
	while (!(done = queue_peek(&c->admin))) {
		if (arch_tsc() > end)
			return -1;
		arch_relax();
	}
	status = done->status >> 1;
	queue_pop(&c->admin);
	*c->admin.cq_doorbell = c->admin.cq_head;
	return status;
}

static int identify(struct nvme_ctrl *c, uint32_t cns, uint32_t nsid)
{
	struct sqe e = { .cdw0 = ADMIN_IDENTIFY, .nsid = nsid, .cdw10 = cns };

	e.prp1 = (uint64_t)(uintptr_t)c->identify;
	return admin_run(c, &e);
}

/* One I/O queue pair, qid 1, its completions on MSI-X entry 0 where routed (5.3, 5.4, 5.21.1.7). */
static int create_io_queues(struct nvme_ctrl *c)
{
	struct sqe queues = { .cdw0 = ADMIN_SET_FEATURES, .cdw10 = FEATURE_QUEUES, .cdw11 = 0 };
	struct sqe cq = { .cdw0 = ADMIN_CREATE_CQ, .cdw10 = (uint32_t)(c->io.depth - 1) << 16 | 1,
			  .cdw11 = QUEUE_CONTIGUOUS | (c->irq == BLK_MSIX ? CQ_INTERRUPTS : 0) };
	struct sqe sq = { .cdw0 = ADMIN_CREATE_SQ, .cdw10 = (uint32_t)(c->io.depth - 1) << 16 | 1,
			  .cdw11 = 1u << 16 | QUEUE_CONTIGUOUS };

	cq.prp1 = c->io.cq_pa;
	sq.prp1 = c->io.sq_pa;
	queue_reset(c, &c->io, 1);
	if (admin_run(c, &queues) || admin_run(c, &cq) || admin_run(c, &sq))
		return -1;
	return 0;
}

/* Reset and enable (7.6.1): disable, admin queue registers, enable, the I/O queues. */
static int ctrl_start(struct nvme_ctrl *c)
{
	/* Even with CC.EN clear, RDY may still be on its way down; EN is set only once it is 0 (3.1.5). */
	reg_write(c, REG_CC, reg_read(c, REG_CC) & ~CC_EN);
	if (wait_ready(c, 0))
		return -1;
	hpci_enable(c->pci, HPCI_CMD_MASTER); /* only now: the reset stopped the queues the firmware left running */
	queue_reset(c, &c->admin, 0);
	reg_write(c, REG_INTMS, ~0u); /* no pin interrupts (INTMS is not used with MSI-X, 3.1.3) */
	reg_write(c, REG_AQA, (uint32_t)(ADMIN_DEPTH - 1) << 16 | (ADMIN_DEPTH - 1));
	reg_write64(c, REG_ASQ, c->admin.sq_pa);
	reg_write64(c, REG_ACQ, c->admin.cq_pa);
	reg_write(c, REG_CC, CC_IOCQES | CC_IOSQES | CC_EN); /* NVM command set, 4 KiB pages, round robin */
	if (wait_ready(c, CSTS_RDY))
		return -1;
	return create_io_queues(c);
}

/* ---- requests ---- */

/* Per-request state in blk_req.driver[]: the split state (block.h), then the namespace. */
#define R_NS 3

static const struct nvme_ns *req_ns(const struct blk_req *r)
{
	return (const struct nvme_ns *)(uintptr_t)r->driver[R_NS];
}

/* Queued for done(), which poll() calls once the lock is released. */
static void finish(struct nvme_ctrl *c, struct blk_req *r)
{
	r->next = c->finished;
	c->finished = r;
	c->inflight--;
}

/* What the request asks, checked against the namespace before any command. */
static enum blk_status req_check(const struct nvme_ns *ns, const struct blk_req *r)
{
	uint64_t bytes = 0;
	uint32_t i;

	if (r->op == BLK_FLUSH)
		return BLK_OK;
	if (r->op != BLK_READ && r->op != BLK_WRITE)
		return BLK_E_UNSUPP;
	if (r->op == BLK_WRITE && ns->dev.read_only)
		return BLK_E_RO;
	if (!r->blocks || r->blocks > ns->dev.blocks || r->lba > ns->dev.blocks - r->blocks)
		return BLK_E_RANGE;
	if (r->nseg > BLK_SEG_MAX)
		return BLK_E_IO;
	for (i = 0; i < r->nseg; i++)
		bytes += r->seg[i].len;
	return bytes == (uint64_t)r->blocks * ns->dev.block_size ? BLK_OK : BLK_E_IO;
}

static int free_slot(const struct nvme_ctrl *c)
{
	int i;

	for (i = 0; i < c->nslots; i++)
		if (!c->slot[i].req)
			return i;
	return -1;
}

/*
 * The request's next command into e, *at and *blocks where it leaves the
 * request; 0, or -1 when its data cannot be described (the request fails).
 */
static int next_command(const struct nvme_ctrl *c, const struct blk_req *r, struct slot *s, struct sqe *e,
			struct blk_cursor *at, uint32_t *blocks)
{
	const struct nvme_ns *ns = req_ns(r);
	uint64_t left = (uint64_t)(r->blocks - r->driver[BLK_SPLIT_ISSUED]) * ns->dev.block_size;
	struct nvme_prp prp;
	uint32_t bytes;

	e->nsid = ns->nsid;
	*blocks = 0;
	if (r->op == BLK_FLUSH) {
		e->cdw0 = NVM_FLUSH;
		return 0;
	}
	bytes = nvme_prp_build(r->seg, r->nseg, at, left < c->max_transfer ? (uint32_t)left : c->max_transfer,
			       ns->dev.block_size, s->prp_list, s->prp_list_pa, &prp);
	if (!bytes)
		return -1;
	*blocks = bytes / ns->dev.block_size;
	e->cdw0 = r->op == BLK_WRITE ? NVM_WRITE : NVM_READ;
	e->prp1 = prp.prp1;
	e->prp2 = prp.prp2;
	e->cdw10 = (uint32_t)(r->lba + r->driver[BLK_SPLIT_ISSUED]);
	e->cdw11 = (uint32_t)((r->lba + r->driver[BLK_SPLIT_ISSUED]) >> 32);
	e->cdw12 = *blocks - 1;
	return 0;
}

/* A request whose last command completed, or that can issue no more, is finished once nothing is outstanding. */
static void maybe_finish(struct nvme_ctrl *c, struct blk_req *r)
{
	if (blk_split_over(r))
		finish(c, r);
}

/* Issues commands of the pending requests, in order, while command slots are free. */
static void issue_pending(struct nvme_ctrl *c)
{
	int rang = 0, i;

	while (c->pending.head && (i = free_slot(c)) >= 0) {
		struct blk_req *r = c->pending.head;
		struct blk_cursor at = blk_split_cursor(r);
		struct sqe e = { 0 };
		uint32_t blocks;

		if (next_command(c, r, &c->slot[i], &e, &at, &blocks)) {
			log_warn("%s: a request's buffers cannot be described by PRPs in whole blocks; failed",
				 req_ns(r)->dev.name);
			blk_split_give_up(r, BLK_E_IO);
			blk_pending_pop(&c->pending);
			maybe_finish(c, r);
			continue;
		}
		blk_split_issued(r, at, blocks);
		if (blk_split_all_issued(r))
			blk_pending_pop(&c->pending);
		e.cdw0 |= (uint32_t)i << 16;
		c->slot[i].req = r;
		queue_push(&c->io, &e);
		rang = 1;
	}
	if (rang)
		queue_ring(&c->io);
}

static void complete_command(struct nvme_ctrl *c, uint16_t cid, uint16_t status)
{
	struct blk_req *r = cid < c->nslots ? c->slot[cid].req : 0;

	if (!r) {
		log_warn("nvme%u: a completion for command %u, which is not outstanding; ignored", c->index, cid);
		return;
	}
	c->slot[cid].req = 0;
	if (status >> 1) {
		/* Status code type and code (4.6.1.2). */
		log_warn("%s: command failed, status type %u code 0x%02x, LBA %llu", req_ns(r)->dev.name,
			 status >> 9 & 7, status >> 1 & 0xff, (unsigned long long)r->lba);
	}
	blk_split_completed(r, status >> 1 ? BLK_E_IO : BLK_OK);
	maybe_finish(c, r);
}

static void reap_completions(struct nvme_ctrl *c)
{
	const volatile struct cqe *e;
	int reaped = 0;

	while ((e = queue_peek(&c->io))) {
		uint16_t cid = e->cid, status = e->status;

		queue_pop(&c->io);
		complete_command(c, cid, status);
		reaped = 1;
	}
	if (reaped)
		*c->io.cq_doorbell = c->io.cq_head;
}

/* Every request the controller holds, its commands forgotten: after a reset none of them is outstanding. */
static struct blk_req *take_all(struct nvme_ctrl *c)
{
	struct blk_req *all = 0;
	int i;

	blk_pending_take(&c->pending, &all);
	for (i = 0; i < c->nslots; i++) {
		if (c->slot[i].req)
			blk_split_collect(c->slot[i].req, &all);
		c->slot[i].req = 0;
	}
	return all;
}

/* A command passed its deadline: reset, then time out the late requests and issue the others again. */
static void recover(struct nvme_ctrl *c, uint64_t now)
{
	struct blk_req *r = take_all(c), *next;

	c->failed = ctrl_start(c) != 0;
	/*
	 * A controller that did not come back may not have finished its reset
	 * (CSTS.RDY still 1, 3.1.6) and still be running the commands taken
	 * above: no more DMA from it into the buffers their requests give back.
	 */
	if (c->failed)
		hpci_disable(c->pci, HPCI_CMD_MASTER);
	log_warn("nvme%u: a command passed its deadline; controller reset: %s", c->index,
		 c->failed ? "it did not come back, its disks fail every request" : "done");
	for (; r; r = next) {
		next = r->next;
		if (r->deadline <= now || c->failed) {
			r->driver[BLK_SPLIT_STATE] = (r->driver[BLK_SPLIT_STATE] & ~BLK_SPLIT_STATUS) |
						 (r->deadline <= now ? BLK_E_TIMEOUT : BLK_E_IO);
			finish(c, r);
		} else {
			blk_split_restart(r);
			blk_pending_add(&c->pending, r);
		}
	}
}

static int deadline_passed(struct nvme_ctrl *c, uint64_t now)
{
	int i;

	if (now < c->deadline_check)
		return 0;
	c->deadline_check = now + ms_ticks(DEADLINE_CHECK_MS);
	for (i = 0; i < c->nslots; i++)
		if (c->slot[i].req && c->slot[i].req->deadline <= now)
			return 1;
	return 0;
}

/* done() for what finished, oldest first, with no lock held (done() may submit again). */
static void call_done(struct blk_req *list)
{
	struct blk_req *order = 0, *r;

	while (list) {
		r = list;
		list = r->next;
		r->next = order;
		order = r;
	}
	while ((r = order)) {
		order = r->next;
		r->next = 0;
		r->done(r, (enum blk_status)(r->driver[BLK_SPLIT_STATE] & BLK_SPLIT_STATUS));
	}
}

static void nvme_poll(struct blk_dev *d)
{
	struct nvme_ctrl *c = ((struct nvme_ns *)d->priv)->c;
	struct blk_req *finished;

	spin_lock(&c->lock);
	if (!c->failed) {
		uint64_t now;

		reap_completions(c);
		now = arch_tsc();
		if (deadline_passed(c, now))
			recover(c, now);
		issue_pending(c);
	}
	finished = c->finished;
	c->finished = 0;
	spin_unlock(&c->lock);
	call_done(finished);
}

static int nvme_submit(struct blk_dev *d, struct blk_req *r)
{
	struct nvme_ns *ns = d->priv;
	struct nvme_ctrl *c = ns->c;
	enum blk_status check = req_check(ns, r);

	spin_lock(&c->lock);
	if (c->inflight >= c->nslots) {
		spin_unlock(&c->lock);
		return -1;
	}
	c->inflight++;
	blk_split_restart(r);
	r->driver[R_NS] = (uint64_t)(uintptr_t)ns;
	if (check != BLK_OK || c->failed) {
		r->driver[BLK_SPLIT_STATE] = check != BLK_OK ? check : BLK_E_IO;
		finish(c, r); /* done() from the next poll, as the interface promises */
	} else {
		blk_pending_add(&c->pending, r);
		issue_pending(c);
	}
	spin_unlock(&c->lock);
	return 0;
}

static const struct blk_ops nvme_ops = { nvme_submit, nvme_poll };

/* ---- identification (5.15.2) ---- */

/* An ASCII field, space-padded, as a C string; what is not printable shows as '?'. */
static void ascii_field(char *dst, size_t size, const uint8_t *src, size_t len)
{
	size_t n = len < size - 1 ? len : size - 1, i;

	while (n && (src[n - 1] == ' ' || src[n - 1] == 0))
		n--;
	for (i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	dst[n] = 0;
}

/* Identify Controller: model, VWC, MDTS; the number of namespaces. */
static int identify_controller(struct nvme_ctrl *c, uint32_t *nn)
{
	const uint8_t *id = c->identify;
	/* One PRP list page's worth: also far below the 65536 blocks Read and Write can count (6.9, 6.15). */
	uint64_t limit = (uint64_t)(1 + NVME_PRP_LIST_ENTRIES) * NVME_PAGE;

	if (identify(c, CNS_CONTROLLER, 0))
		return -1;
	ascii_field(c->model, sizeof(c->model), id + 24, 40);
	c->write_cache = id[525] & 1;
	*nn = le32(id + 516);
	/* MDTS: 2^n minimum-size (4 KiB) pages; 0 is no limit (5.15.2.1, byte 77). */
	if (id[77] && id[77] < 20 && ((uint64_t)NVME_PAGE << id[77]) < limit)
		limit = (uint64_t)NVME_PAGE << id[77];
	c->max_transfer = (uint32_t)limit;
	return 0;
}

static void log_namespace(const struct nvme_ns *ns)
{
	log_info("%s: %llu blocks of %u bytes (%llu MiB), volatile write cache %s, %s", ns->dev.name,
		 (unsigned long long)ns->dev.blocks, ns->dev.block_size,
		 (unsigned long long)(ns->dev.blocks * ns->dev.block_size >> 20),
		 ns->dev.write_cache ? "yes (flushes reach the media)" : "no",
		 ns->dev.read_only ? "write-protected" : "read-write");
}

/* Identify Namespace: size and formatted LBA size; namespaces with metadata or odd block sizes are left out. */
static int add_namespace(struct nvme_ctrl *c, unsigned index, uint32_t nsid)
{
	struct nvme_ns *ns = &c->ns[index];
	const uint8_t *id = c->identify;
	uint32_t lbaf;
	unsigned lbads;

	if (identify(c, CNS_NAMESPACE, nsid))
		return -1;
	lbaf = le32(id + 128 + 4 * (id[26] & 0xf)); /* FLBAS selects one of the LBA formats */
	lbads = lbaf >> 16 & 0xff;
	*ns = (struct nvme_ns){ .c = c, .nsid = nsid };
	fmt(ns->dev.name, sizeof(ns->dev.name), "nvme%un%u", c->index, nsid);
	if (!le64(id))
		return -1; /* not active */
	if ((lbaf & 0xffff) || lbads < 9 || lbads > 12) {
		log_warn("%s: LBA format with %u metadata bytes and 2^%u-byte blocks is not supported; left out",
			 ns->dev.name, lbaf & 0xffff, lbads);
		return -1;
	}
	__builtin_memcpy(ns->dev.model, c->model, sizeof(ns->dev.model));
	ns->dev.blocks = le64(id);
	ns->dev.block_size = 1u << lbads;
	ns->dev.queue_depth = c->nslots;
	ns->dev.read_only = id[99] & 1; /* NSATTR: write protected */
	ns->dev.write_cache = c->write_cache;
	ns->dev.irq = c->irq;
	ns->dev.ops = &nvme_ops;
	ns->dev.priv = ns;
	log_namespace(ns);
	if (blk_register(&ns->dev)) {
		log_warn("%s: the block device table is full; left out", ns->dev.name);
		return -1;
	}
	return 0;
}

/* The active namespaces (CNS 2, NVMe 1.1), else IDs 1..NN; at most NVME_NS_MAX of them. */
static void add_namespaces(struct nvme_ctrl *c, uint32_t nn)
{
	uint32_t ids[NVME_NS_MAX], n = 0, i;

	if (identify(c, CNS_ACTIVE_NSIDS, 0) == 0) {
		while (n < NVME_NS_MAX && le32(c->identify + 4 * n))
			n++;
		for (i = 0; i < n; i++)
			ids[i] = le32(c->identify + 4 * i);
	} else {
		for (n = 0; n < NVME_NS_MAX && n < nn; n++)
			ids[n] = n + 1;
	}
	for (i = 0; i < n; i++)
		add_namespace(c, i, ids[i]);
}

/* ---- bring-up ---- */

static int ctrl_alloc(struct nvme_ctrl *c, uint16_t io_depth)
{
	uint64_t page = mm_alloc(1);
	int i;

	if (!page || queue_alloc(&c->admin, ADMIN_DEPTH) || queue_alloc(&c->io, io_depth))
		return -1;
	c->identify = mm_ptr(page);
	c->nslots = (uint16_t)(io_depth - 1); /* a full queue would look empty (4.1.2) */
	for (i = 0; i < c->nslots; i++) {
		c->slot[i].prp_list_pa = mm_alloc(1);
		if (!c->slot[i].prp_list_pa)
			return -1;
		c->slot[i].prp_list = mm_ptr(c->slot[i].prp_list_pa);
	}
	blk_pending_init(&c->pending);
	return 0;
}

/* What CAP allows: the queue depth, 4 KiB pages, the NVM command set; the ready timeout. */
static const char *read_cap(struct nvme_ctrl *c, uint16_t *io_depth)
{
	uint32_t mqes;

	c->cap = reg_read(c, REG_CAP) | (uint64_t)reg_read(c, REG_CAP + 4) << 32;
	if (c->cap == ~0ull)
		return "its registers read all ones";
	if (c->cap >> 48 & 0xf)
		return "its smallest memory page is larger than 4 KiB";
	if (!(c->cap >> 37 & 1))
		return "it lacks the NVM command set";
	mqes = (uint32_t)(c->cap & 0xffff) + 1;
	*io_depth = (uint16_t)(mqes < IO_DEPTH_MAX ? mqes : IO_DEPTH_MAX);
	if (*io_depth < 2)
		return "its queues hold fewer than 2 entries";
	c->ready_ticks = ms_ticks(((c->cap >> 24 & 0xff) + 1) * TO_UNIT_MS);
	return 0;
}

static const char *ctrl_bring_up(struct nvme_ctrl *c, uint32_t *nn)
{
	uint16_t io_depth = 0;
	const char *why;
	uint64_t regs_needed;

	c->regs = hpci_map_bar(c->pci, 0);
	if (!c->regs)
		return "its BAR 0 is not a mappable memory BAR";
	hpci_enable(c->pci, HPCI_CMD_MEM | HPCI_CMD_INTX_OFF);
	c->irq = hpci_route_disk_irq(c->pci, HPCI_TAKE_MSIX, c->irq_mode, sizeof(c->irq_mode));
	why = read_cap(c, &io_depth);
	if (why)
		return why;
	regs_needed = REG_DOORBELLS + 4 * (4ull << (c->cap >> 32 & 0xf)); /* both doorbells of queue 1 */
	if (c->pci->bar[0].size < regs_needed)
		return "its BAR 0 is too small for the doorbells";
	if (ctrl_alloc(c, io_depth))
		return "no memory for its queues";
	if (ctrl_start(c))
		return "it did not become ready, or refused its I/O queues";
	if (identify_controller(c, nn))
		return "it did not answer Identify";
	return 0;
}

void nvme_init(void)
{
	struct hpci_dev *d;
	unsigned at = 0;

	while ((d = hpci_next(&at, 0x01, 0x08, 0x02)) && nctrls < NVME_CTRLS_MAX) {
		struct nvme_ctrl *c = &ctrls[nctrls];
		uint32_t nn = 0, vs;
		const char *why;

		*c = (struct nvme_ctrl){ .pci = d, .index = nctrls };
		why = ctrl_bring_up(c, &nn);
		if (why) {
			log_warn("nvme%u: %02x:%02x.%u left out: %s", c->index, d->bus, d->dev, d->fn, why);
			if (c->regs)
				reg_write(c, REG_CC, 0); /* no DMA into its queues, which stay allocated all the same */
			continue;
		}
		nctrls++;
		vs = reg_read(c, REG_VS);
		log_info("nvme%u: %02x:%02x.%u %s, NVMe %u.%u, up to %u namespaces, queue depth %u, %u KiB a command, "
			 "%s", c->index, d->bus, d->dev, d->fn, c->model, vs >> 16, vs >> 8 & 0xff,
			 nn, c->nslots, c->max_transfer >> 10, c->irq_mode);
		add_namespaces(c, nn);
	}
}
