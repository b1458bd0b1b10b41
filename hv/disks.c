#include "disks.h"

#include "arch.h"
#include "blk.h"
#include "blk_selftest.h"
#include "console.h"
#include "lib/fmt.h"
#include "lib/str.h"
#include "log.h"
#include "mm.h"

#define SCRATCH_PAGES ((GPT_SCRATCH_BYTES + PAGE_SIZE - 1) / PAGE_SIZE)
#define PLACED_MAX (CFG_PARTITIONS_MAX * CFG_DISKS_MAX)
#define WHY_MAX 160

struct host_disk {
	struct blk_dev *dev;
	int has_gpt;
	struct gpt_disk gpt;
};

static struct host_disk host[BLK_DEVS_MAX];
static unsigned nhost;

/* ---- reading blocks before the block layer has any virtual disk -------- */

/* One read at a time, waited for by polling the device (blk_run_sync): at boot, and for a RAM disk's table. */
static int read_blocks(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
	static struct blk_req req; /* kept by a driver that never completes it */
	struct blk_dev *d = ctx;

	if (blk_sync_gave_up())
		return -1;
	req = (struct blk_req){ .op = BLK_READ, .lba = lba, .blocks = count, .nseg = 1 };
	req.seg[0] = (struct blk_seg){ (uint64_t)(uintptr_t)buf, count * d->block_size };
	return blk_run_sync(d, &req, BLK_TIMEOUT_S * 1000) == BLK_OK ? 0 : -1;
}

/* The GPT of d into g, through a scratch buffer of the hypervisor's; 0 or -1 (g->why). */
static int read_gpt(struct blk_dev *d, struct gpt_disk *g)
{
	uint64_t scratch = mm_alloc(SCRATCH_PAGES);
	int r;

	if (!scratch) {
		fmt(g->why, sizeof(g->why), "no memory to read it");
		return -1;
	}
	r = gpt_parse(g, d->block_size, d->blocks, read_blocks, d, mm_ptr(scratch));
	if (!blk_sync_gave_up())
		mm_free(scratch, SCRATCH_PAGES);
	return r;
}

/* ---- the log ------------------------------------------------------------ */

static void size_text(uint64_t bytes, char *text, size_t size)
{
	if (bytes >= (10ull << 30))
		fmt(text, size, "%llu GiB", (unsigned long long)(bytes >> 30));
	else if (bytes >= (10ull << 20))
		fmt(text, size, "%llu MiB", (unsigned long long)(bytes >> 20));
	else
		fmt(text, size, "%llu KiB", (unsigned long long)(bytes >> 10));
}

static uint64_t part_bytes(const struct blk_dev *d, const struct gpt_part *p)
{
	return (p->last - p->first + 1) * d->block_size;
}

static void describe_dev(const struct blk_dev *d, char *text, size_t size)
{
	char sz[24];

	size_text(d->blocks * d->block_size, sz, sizeof(sz));
	fmt(text, size, "%s (%s), %s, %u-byte blocks, write cache %s%s, %s", d->name, d->model, sz, d->block_size,
	    d->write_cache ? "on" : "off", d->read_only ? ", read-only" : "", blk_irq_name(d->irq));
}

static void describe_part(const struct blk_dev *d, const struct gpt_part *p, char *text, size_t size)
{
	char guid[GPT_GUID_TEXT], sz[24];

	gpt_guid_text(p->guid, guid);
	size_text(part_bytes(d, p), sz, sizeof(sz));
	fmt(text, size, "%s partition %u '%s' %s, LBA %llu-%llu, %s", d->name, p->number, p->name, guid,
	    (unsigned long long)p->first, (unsigned long long)p->last, sz);
}

/* who: "" for a host disk, "partition NAME: RAM " for a partition's RAM disk. */
static void log_gpt(const char *who, const struct blk_dev *d, const struct gpt_disk *g, int ok)
{
	char text[200];
	uint32_t i;

	if (!ok) {
		log_info("%sdisk %s: no GPT: %s", who, d->name, g->why);
		return;
	}
	if (g->note[0])
		log_warn("%sdisk %s: %s", who, d->name, g->note);
	log_info("%sdisk %s: GPT with %u partition%s", who, d->name, g->nparts, g->nparts == 1 ? "" : "s");
	for (i = 0; i < g->nparts; i++) {
		describe_part(d, &g->parts[i], text, sizeof(text));
		log_info("  %s", text);
	}
}

void disks_scan(void)
{
	char text[160];
	unsigned i;

	for (i = nhost; i < blk_count() && nhost < BLK_DEVS_MAX; i++) {
		struct host_disk *h = &host[nhost++];
		h->dev = blk_get(i);
		describe_dev(h->dev, text, sizeof(text));
		log_info("disk %s", text);
		h->has_gpt = read_gpt(h->dev, &h->gpt) == 0;
		log_gpt("", h->dev, &h->gpt, h->has_gpt);
	}
	if (!nhost)
		log_info("disks: no host block device");
}

void disks_log_ramdisk(const char *owner, struct blk_dev *d)
{
	static struct gpt_disk g; /* partitions start on CPU 0 alone */
	char who[48];

	fmt(who, sizeof(who), "partition %s: RAM ", owner);
	log_gpt(who, d, &g, read_gpt(d, &g) == 0);
}

/* ---- resolution ---------------------------------------------------------- */

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static int names(const struct cfg_disk *cfg, const struct gpt_part *p)
{
	char guid[GPT_GUID_TEXT];
	int i;

	if (cfg->kind == DISK_GPT_NAME)
		return str_eq(cfg->source, p->name);
	gpt_guid_text(p->guid, guid);
	for (i = 0; guid[i] && upper(cfg->source[i]) == guid[i]; i++)
		;
	return !guid[i] && !cfg->source[i];
}

static const char *what(const struct cfg_disk *cfg)
{
	return cfg->kind == DISK_GPT_NAME ? "named" : "with the GUID";
}

/* The one partition cfg names; NULL, or why not. */
static const char *find_part(const struct cfg_disk *cfg, struct disk_extent *e, char *why, size_t size)
{
	const struct host_disk *found = 0;
	unsigned i, j;

	for (i = 0; i < nhost; i++) {
		for (j = 0; host[i].has_gpt && j < host[i].gpt.nparts; j++) {
			const struct gpt_part *p = &host[i].gpt.parts[j];
			if (!names(cfg, p))
				continue;
			if (found) {
				fmt(why, size, "more than one GPT partition %s '%s': %s partition %u and %s partition %u",
				    what(cfg), cfg->source, found->dev->name, e->part->number, host[i].dev->name,
				    p->number);
				return why;
			}
			found = &host[i];
			e->dev = host[i].dev;
			e->part = p;
		}
	}
	if (!found) {
		fmt(why, size, "no GPT partition %s '%s' on the host's disks", what(cfg), cfg->source);
		return why;
	}
	return 0;
}

/* offset= and size= inside the partition, in whole blocks of its disk. */
static const char *place_range(const struct cfg_disk *cfg, struct disk_extent *e, char *why, size_t size)
{
	uint64_t bs = e->dev->block_size, bytes = part_bytes(e->dev, e->part);
	uint64_t length = cfg->size ? cfg->size : bytes > cfg->offset ? bytes - cfg->offset : 0;

	if (cfg->offset % bs || length % bs) {
		fmt(why, size, "offset= and size= must be multiples of %s's %llu-byte blocks", e->dev->name,
		    (unsigned long long)bs);
		return why;
	}
	if (cfg->offset >= bytes || length > bytes - cfg->offset) {
		fmt(why, size, "offset= and size= go past the end of %s partition %u (%llu bytes)", e->dev->name,
		    e->part->number, (unsigned long long)bytes);
		return why;
	}
	e->first = e->part->first + cfg->offset / bs;
	e->sectors = length / BLK_SECTOR;
	return 0;
}

const char *disks_resolve(const struct cfg_disk *cfg, struct disk_extent *e, char *why, size_t size)
{
	const char *r;

	*e = (struct disk_extent){ 0 };
	if (cfg->kind == DISK_RAMDISK) {
		fmt(why, size, "a RAM disk is no host partition");
		return why;
	}
	r = find_part(cfg, e, why, size);
	return r ? r : place_range(cfg, e, why, size);
}

/* ---- the config as a whole ---------------------------------------------- */

struct placed {
	const struct cfg_partition *p;
	const struct cfg_disk *d;
	struct disk_extent e;
};

static uint64_t extent_last(const struct disk_extent *e)
{
	return e->first + e->sectors * BLK_SECTOR / e->dev->block_size - 1;
}

static int clash(const struct placed *a, const struct placed *b)
{
	return a->e.dev == b->e.dev && a->e.first <= extent_last(&b->e) && b->e.first <= extent_last(&a->e) &&
	       (!a->d->read_only || !b->d->read_only);
}

/* Adds p's disk d to placed[*n] unless it is refused (an error at its line). */
static void place(struct placed *placed, unsigned *n, const struct cfg_partition *p, const struct cfg_disk *d,
		  struct cfg_errors *errs)
{
	struct placed *me = &placed[*n];
	char why[WHY_MAX];
	unsigned i;

	*me = (struct placed){ p, d, { 0 } };
	if (disks_resolve(d, &me->e, why, sizeof(why))) {
		cfg_add_error(errs, d->line, "disk %s:%s: %s", d->kind == DISK_GPT_NAME ? "part" : "guid", d->source,
			      why);
		return;
	}
	for (i = 0; i < *n; i++) {
		if (clash(me, &placed[i])) {
			cfg_add_error(errs, d->line,
				      "disk %s overlaps partition %s's disk %s (line %u) on %s, and one of them is writable",
				      d->source, placed[i].p->name, placed[i].d->source, placed[i].d->line, me->e.dev->name);
			return;
		}
	}
	(*n)++;
}

static void log_placed(const struct placed *pl)
{
	char sz[24];

	size_text(pl->e.sectors * BLK_SECTOR, sz, sizeof(sz));
	log_info("partition %s: disk %s:%s is %s partition %u '%s', LBA %llu-%llu (%s)%s", pl->p->name,
		 pl->d->kind == DISK_GPT_NAME ? "part" : "guid", pl->d->source, pl->e.dev->name, pl->e.part->number,
		 pl->e.part->name, (unsigned long long)pl->e.first, (unsigned long long)extent_last(&pl->e), sz,
		 pl->d->read_only ? ", read-only" : "");
}

void disks_check_config(const struct hv_config *cfg, struct cfg_errors *errs)
{
	static struct placed placed[PLACED_MAX];
	uint32_t before = errs->count, i, j;
	unsigned n = 0;

	for (i = 0; i < cfg->npartitions; i++)
		for (j = 0; j < cfg->partitions[i].ndisks; j++)
			if (cfg->partitions[i].disks[j].kind != DISK_RAMDISK)
				place(placed, &n, &cfg->partitions[i], &cfg->partitions[i].disks[j], errs);
	for (i = 0; errs->count == before && i < n; i++)
		log_placed(&placed[i]);
}

/* ---- the console ----------------------------------------------------------- */

static struct vdisk users[PLACED_MAX]; /* a copy of the open virtual disks of one device */

static void show_users_of(const struct blk_dev *d, const struct gpt_part *p, unsigned nusers)
{
	unsigned i;

	for (i = 0; i < nusers; i++) {
		const struct vdisk *vd = &users[i];
		uint64_t last = vd->first + vd->sectors * BLK_SECTOR / d->block_size - 1;
		if (vd->first <= p->last && p->first <= last)
			console_print("      used by partition %s (%s)\n", vd->owner, vd->source);
	}
}

static void show_vdisks(unsigned nusers)
{
	unsigned i;

	for (i = 0; i < nusers; i++) {
		const struct vdisk *vd = &users[i];
		console_print("    partition %s: %s, LBA %llu, %llu sectors%s: %llu requests, %llu KiB read, "
			      "%llu KiB written, %llu errors, %u in flight\n",
			      vd->owner, vd->source, (unsigned long long)vd->first, (unsigned long long)vd->sectors,
			      vd->read_only ? ", read-only" : "", (unsigned long long)vd->requests,
			      (unsigned long long)(vd->bytes_read >> 10), (unsigned long long)(vd->bytes_written >> 10),
			      (unsigned long long)vd->errors, vd->in_flight);
	}
}

/* "read errors 1, write errors 0, ..., timeouts 0" and, for a failed device, why it is. */
static void faults_text(const struct blk_faults *f, char *text, size_t size)
{
	fmt(text, size, "read errors %llu, write errors %llu, flush errors %llu, other errors %llu, timeouts %llu%s",
	    (unsigned long long)f->read_errors, (unsigned long long)f->write_errors,
	    (unsigned long long)f->flush_errors, (unsigned long long)f->other_errors, (unsigned long long)f->timeouts,
	    f->failed ? "; failed: its controller stopped answering" : "");
}

static void show_disk(struct blk_dev *d, const struct gpt_disk *g, int has_gpt)
{
	unsigned nusers = blk_vdisks_on(d, users, PLACED_MAX), i;
	struct blk_faults f;
	char text[200];

	describe_dev(d, text, sizeof(text));
	console_print("%s\n", text);
	blk_faults_of(d, &f);
	faults_text(&f, text, sizeof(text));
	console_print("  %s\n", text);
	if (!has_gpt)
		console_print("  no GPT: %s\n", g->why);
	for (i = 0; has_gpt && i < g->nparts; i++) {
		describe_part(d, &g->parts[i], text, sizeof(text));
		console_print("  %s\n", text);
		show_users_of(d, &g->parts[i], nusers);
	}
	show_vdisks(nusers);
}

void disks_show(void)
{
	static struct gpt_disk g;
	struct blk_dev *in_use[PLACED_MAX];
	unsigned i, n = blk_devices_in_use(in_use, PLACED_MAX), shown = nhost;

	for (i = 0; i < nhost; i++)
		show_disk(host[i].dev, &host[i].gpt, host[i].has_gpt);
	for (i = 0; i < n; i++) {
		unsigned j;
		for (j = 0; j < nhost && host[j].dev != in_use[i]; j++)
			;
		if (j < nhost)
			continue;
		show_disk(in_use[i], &g, read_gpt(in_use[i], &g) == 0); /* a RAM disk: its table as it is now */
		shown++;
	}
	if (!shown)
		console_print("no host disks and no RAM disks\n");
}

void disks_show_faults(int json)
{
	struct blk_dev *in_use[PLACED_MAX];
	unsigned n = blk_devices_in_use(in_use, PLACED_MAX), i;
	struct blk_faults f;
	char text[200];

	for (i = 0; i < n; i++) {
		blk_faults_of(in_use[i], &f);
		if (!json) {
			faults_text(&f, text, sizeof(text));
			console_print("host disk %s: %s\n", in_use[i]->name, text);
			continue;
		}
		console_print("{\"host_disk\":{\"name\":\"%s\",\"read_errors\":%llu,\"write_errors\":%llu,"
			      "\"flush_errors\":%llu,\"other_errors\":%llu,\"timeouts\":%llu,\"failed\":%s}}\n",
			      in_use[i]->name, (unsigned long long)f.read_errors, (unsigned long long)f.write_errors,
			      (unsigned long long)f.flush_errors, (unsigned long long)f.other_errors,
			      (unsigned long long)f.timeouts, f.failed ? "true" : "false");
	}
}
