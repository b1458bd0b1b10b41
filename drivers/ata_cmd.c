/*
 * The ATA command layer shared by the AHCI and IDE drivers (ata_cmd.h).
 * Word numbers are ATA8-ACS's, 7.16.7 (IDENTIFY DEVICE data).
 */
#include "ata_cmd.h"

#include <stddef.h>

#include "lib/le.h"

#define ID_GENERAL 0       /* bit 15: not an ATA device */
#define ID_MODEL 27        /* 20 words, two characters each, the first in the high byte */
#define ID_MODEL_WORDS 20
#define ID_CAPABILITIES 49 /* bit 9: LBA, bit 8: DMA */
#define ID_LBA28_SECTORS 60
#define ID_QUEUE_DEPTH 75
#define ID_SATA_CAPS 76    /* bit 8: NCQ */
#define ID_CMDSET_SUPPORTED 82 /* bit 5: volatile write cache */
#define ID_CMDSET_SUPPORTED2 83 /* bit 10: LBA48, bit 13: FLUSH CACHE EXT */
#define ID_CMDSET_ENABLED 85   /* bit 5: volatile write cache enabled */
#define ID_LBA48_SECTORS 100
#define ID_SECTOR_SIZE 106 /* bit 12: logical sectors longer than 256 words, in 117-118 */
#define ID_LOGICAL_WORDS 117
#define ID_INTEGRITY 255   /* low byte 0xa5: the high byte makes the 512 bytes sum to 0 */

#define LBA28_MAX_BLOCKS 256u
#define LBA48_MAX_BLOCKS 65536u
#define FIS_TYPE_H2D 0x27
#define FIS_H2D_COMMAND 0x80 /* the C bit: the FIS carries a command */

/* A word whose bits 15:14 read 01 holds data (words 83, 84, 106's own validity marker). */
static int word_valid(uint16_t w)
{
	return (w & 0xc000) == 0x4000;
}

/* Words that read all zeros or all ones report nothing. */
static int word_reported(uint16_t w)
{
	return w != 0 && w != 0xffff;
}

static int checksum_ok(const uint16_t *id)
{
	uint8_t sum = 0;
	unsigned i;

	if ((id[ID_INTEGRITY] & 0xff) != 0xa5)
		return 1; /* no checksum kept */
	for (i = 0; i < ATA_IDENTIFY_WORDS; i++)
		sum = (uint8_t)(sum + (id[i] & 0xff) + (id[i] >> 8));
	return sum == 0;
}

/* The model string, printable ASCII, without the padding spaces around it. */
static void read_model(const uint16_t *id, char *model)
{
	size_t n = 0, i, start = 0;
	char c;

	for (i = 0; i < 2 * ID_MODEL_WORDS; i++) {
		uint16_t w = id[ID_MODEL + i / 2];
		c = (char)(i % 2 ? w & 0xff : w >> 8);
		model[n++] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	while (n > 0 && model[n - 1] == ' ')
		n--;
	while (start < n && model[start] == ' ')
		start++;
	for (i = start; i < n; i++)
		model[i - start] = model[i];
	model[n - start] = 0;
}

static uint64_t read_sectors(const uint16_t *id, int lba48)
{
	uint64_t n = 0;
	unsigned i;

	if (!lba48)
		return id[ID_LBA28_SECTORS] | (uint64_t)id[ID_LBA28_SECTORS + 1] << 16;
	for (i = 4; i-- > 0;)
		n = n << 16 | id[ID_LBA48_SECTORS + i];
	return n;
}

/* Bytes in a logical sector: 512 unless word 106 says otherwise; 0 when it says nonsense. */
static uint32_t read_sector_size(const uint16_t *id)
{
	uint32_t words;

	if (!word_valid(id[ID_SECTOR_SIZE]) || !(id[ID_SECTOR_SIZE] & 0x1000))
		return BLK_SECTOR;
	words = id[ID_LOGICAL_WORDS] | (uint32_t)id[ID_LOGICAL_WORDS + 1] << 16;
	return words == 256 || words == 2048 ? words * 2 : 0;
}

static void read_features(const uint16_t *id, struct ata_identity *out)
{
	uint16_t supported = id[ID_CMDSET_SUPPORTED], enabled = id[ID_CMDSET_ENABLED];

	/* Not reported: assume a cache, so that flushes are sent rather than skipped. */
	out->write_cache = !word_reported(supported) || !word_reported(enabled) ? 1 : (enabled & 0x20) != 0;
	out->flush_ext = out->lba48 && (id[ID_CMDSET_SUPPORTED2] & 0x2000) != 0;
	out->ncq = word_reported(id[ID_SATA_CAPS]) && (id[ID_SATA_CAPS] & 0x100) != 0;
	out->ncq_depth = out->ncq ? (uint8_t)((id[ID_QUEUE_DEPTH] & 0x1f) + 1) : 1;
}

const char *ata_identify_parse(const uint16_t id[ATA_IDENTIFY_WORDS], struct ata_identity *out)
{
	*out = (struct ata_identity){ 0 };
	read_model(id, out->model);
	if (id[ID_GENERAL] & 0x8000)
		return "not an ATA device (word 0)";
	if (!checksum_ok(id))
		return "IDENTIFY data with a wrong checksum (word 255)";
	if (!(id[ID_CAPABILITIES] & 0x200))
		return "no LBA addressing";
	if (!(id[ID_CAPABILITIES] & 0x100))
		return "no DMA";
	out->lba48 = word_valid(id[ID_CMDSET_SUPPORTED2]) && (id[ID_CMDSET_SUPPORTED2] & 0x400) != 0 &&
		     read_sectors(id, 1) != 0;
	out->sectors = read_sectors(id, out->lba48);
	if (out->sectors == 0)
		return "no sectors";
	if (out->sectors >= (out->lba48 ? ATA_LBA48_LIMIT : ATA_LBA28_LIMIT))
		return "more sectors than its addressing reaches";
	out->sector_size = read_sector_size(id);
	if (out->sector_size == 0)
		return "a logical sector size other than 512 or 4096 bytes";
	read_features(id, out);
	return 0;
}

uint32_t ata_max_blocks(int lba48)
{
	return lba48 ? LBA48_MAX_BLOCKS : LBA28_MAX_BLOCKS;
}

static uint8_t rw_opcode(enum blk_op op, int lba48)
{
	if (op == BLK_READ)
		return lba48 ? ATA_CMD_READ_DMA_EXT : ATA_CMD_READ_DMA;
	return lba48 ? ATA_CMD_WRITE_DMA_EXT : ATA_CMD_WRITE_DMA;
}

int ata_taskfile_build(struct ata_taskfile *tf, enum blk_op op, uint64_t lba, uint32_t blocks, int lba48,
		       int flush_ext)
{
	/* The last sector of each range is left out, as some devices refuse it (ATA8-ACS 4.11). */
	uint64_t limit = (lba48 ? ATA_LBA48_LIMIT : ATA_LBA28_LIMIT) - 1;

	*tf = (struct ata_taskfile){ .device = ATA_DEV_LBA };
	if (op == BLK_FLUSH) {
		tf->command = flush_ext ? ATA_CMD_FLUSH_CACHE_EXT : ATA_CMD_FLUSH_CACHE;
		return 0;
	}
	if ((op != BLK_READ && op != BLK_WRITE) || blocks == 0 || blocks > ata_max_blocks(lba48) ||
	    lba > limit || blocks > limit - lba)
		return -1;
	tf->command = rw_opcode(op, lba48);
	tf->lba = lba;
	tf->count = lba48 ? (uint16_t)blocks : (uint8_t)blocks; /* 65536 and 256 encode as 0 */
	tf->lba48 = (uint8_t)lba48;
	if (!lba48)
		tf->device |= (uint8_t)(lba >> 24 & 0x0f);
	return 0;
}

int ata_taskfile_build_ncq(struct ata_taskfile *tf, enum blk_op op, uint64_t lba, uint32_t blocks, unsigned tag)
{
	if (tag >= ATA_NCQ_TAGS || (op != BLK_READ && op != BLK_WRITE) || ata_taskfile_build(tf, op, lba, blocks, 1, 0))
		return -1;
	/* The count moves to the features registers; the count register's bits 7:3 carry the tag. */
	tf->command = op == BLK_READ ? ATA_CMD_READ_FPDMA_QUEUED : ATA_CMD_WRITE_FPDMA_QUEUED;
	tf->features = tf->count;
	tf->count = (uint16_t)(tag << 3);
	return 0;
}

void ata_fis_h2d(uint8_t fis[ATA_FIS_H2D_BYTES], const struct ata_taskfile *tf)
{
	unsigned i;

	for (i = 0; i < ATA_FIS_H2D_BYTES; i++)
		fis[i] = 0;
	fis[0] = FIS_TYPE_H2D;
	fis[1] = FIS_H2D_COMMAND;
	fis[2] = tf->command;
	fis[3] = (uint8_t)tf->features;
	fis[4] = (uint8_t)tf->lba;
	fis[5] = (uint8_t)(tf->lba >> 8);
	fis[6] = (uint8_t)(tf->lba >> 16);
	fis[7] = tf->device;
	if (tf->lba48) {
		fis[8] = (uint8_t)(tf->lba >> 24);
		fis[9] = (uint8_t)(tf->lba >> 32);
		fis[10] = (uint8_t)(tf->lba >> 40);
		fis[11] = (uint8_t)(tf->features >> 8);
		fis[13] = (uint8_t)(tf->count >> 8);
	}
	fis[12] = (uint8_t)tf->count;
}

uint64_t blk_req_bytes(const struct blk_req *r)
{
	uint64_t total = 0;
	uint32_t i;

	for (i = 0; i < r->nseg && i < BLK_SEG_MAX; i++)
		total += r->seg[i].len;
	return total;
}

enum blk_status ata_check_request(const struct blk_dev *dev, const struct blk_req *r)
{
	if (r->op == BLK_FLUSH)
		return BLK_OK;
	if (r->op != BLK_READ && r->op != BLK_WRITE)
		return BLK_E_UNSUPP;
	if (r->blocks == 0 || r->lba > dev->blocks || r->blocks > dev->blocks - r->lba)
		return BLK_E_RANGE;
	if (r->nseg > BLK_SEG_MAX || blk_req_bytes(r) != (uint64_t)r->blocks * dev->block_size)
		return BLK_E_IO;
	return BLK_OK;
}

/* The bytes of one entry starting at addr, at most left: cut at max_entry and at the boundary. */
static uint32_t entry_len(const struct prd_limits *lim, uint64_t addr, uint64_t left)
{
	uint64_t len = left < lim->max_entry ? left : lim->max_entry;

	if (lim->boundary) {
		uint64_t to_boundary = lim->boundary - (addr & (lim->boundary - 1));
		if (len > to_boundary)
			len = to_boundary;
	}
	return (uint32_t)len;
}

static int segment_usable(const struct blk_seg *s, const struct prd_limits *lim)
{
	if ((s->pa | s->len) & 1 || s->pa > ~0ull - s->len)
		return 0;
	return !lim->addr_limit || s->pa + s->len <= lim->addr_limit;
}

/* Drops the bytes past the last whole block from the end of the table. */
static uint64_t trim_to_blocks(struct prd_entry *out, uint32_t *n, uint64_t bytes, uint32_t unit)
{
	uint64_t excess = bytes % unit;

	while (excess && *n > 0) {
		struct prd_entry *last = &out[*n - 1];
		if (last->len > excess) {
			last->len -= (uint32_t)excess;
			break;
		}
		excess -= last->len;
		(*n)--;
	}
	return bytes - bytes % unit;
}

uint64_t prd_build(const struct blk_req *r, uint64_t from, uint64_t max_bytes, uint32_t unit,
		   const struct prd_limits *lim, struct prd_entry *out, uint32_t *n)
{
	uint64_t bytes = 0, skip = from;
	uint32_t i;

	*n = 0;
	if (unit == 0 || lim->max_entry < 2 || lim->max_entries == 0)
		return 0;
	for (i = 0; i < r->nseg && i < BLK_SEG_MAX && bytes < max_bytes && *n < lim->max_entries; i++) {
		const struct blk_seg *s = &r->seg[i];
		uint64_t addr, left;

		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		if (!segment_usable(s, lim))
			return *n = 0;
		addr = s->pa + skip;
		left = s->len - skip;
		skip = 0;
		while (left && bytes < max_bytes && *n < lim->max_entries) {
			uint32_t len = entry_len(lim, addr, left < max_bytes - bytes ? left : max_bytes - bytes);
			out[(*n)++] = (struct prd_entry){ addr, len };
			addr += len;
			left -= len;
			bytes += len;
		}
	}
	return trim_to_blocks(out, n, bytes, unit);
}

void ahci_prdt_encode(uint8_t entry[16], const struct prd_entry *p)
{
	put_le64(entry, p->addr);
	put_le32(entry + 8, 0);
	put_le32(entry + 12, (p->len - 1) & 0x3fffff); /* DBC: bytes - 1, bit 0 set (even count) */
}

void ide_prd_encode(uint8_t entry[8], const struct prd_entry *p, int eot)
{
	put_le32(entry, (uint32_t)p->addr);
	put_le16(entry + 4, (uint16_t)p->len); /* 0 means 64 KiB */
	put_le16(entry + 6, eot ? 0x8000 : 0);
}

void ahci_cmd_header_encode(uint8_t header[32], int write, uint32_t prdt_entries, uint64_t table)
{
	unsigned i;

	/* DW0: CFL = 5 dwords (the H2D FIS), W (bit 6) for host-to-device data, PRDTL in 31:16. */
	put_le32(header, 5u | (write ? 0x40u : 0) | prdt_entries << 16);
	put_le32(header + 4, 0); /* PRDBC, which the HBA counts up */
	put_le64(header + 8, table);
	for (i = 16; i < 32; i++)
		header[i] = 0;
}
