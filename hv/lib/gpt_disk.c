#include "gpt_disk.h"

#include "crc32.h"
#include "fmt.h"
#include "le.h"

/* Offsets in the header and in an entry (UEFI spec 2.10, tables 5.5 and 5.6). */
#define MBR_SIGNATURE 510
#define MBR_ENTRIES 446
#define MBR_TYPE_PROTECTIVE 0xEE
#define HDR_REVISION 8
#define HDR_SIZE 12
#define HDR_CRC 16
#define HDR_MY_LBA 24
#define HDR_FIRST_USABLE 40
#define HDR_LAST_USABLE 48
#define HDR_DISK_GUID 56
#define HDR_ENTRY_LBA 72
#define HDR_ENTRY_COUNT 80
#define HDR_ENTRY_SIZE 84
#define HDR_ENTRY_CRC 88
#define HDR_MIN_SIZE 92
#define ENTRY_TYPE 0
#define ENTRY_GUID 16
#define ENTRY_FIRST 32
#define ENTRY_LAST 40
#define ENTRY_ATTRIBUTES 48
#define ENTRY_NAME 56
#define ENTRY_NAME_UNITS 36
#define ENTRY_MIN 128

/* What a header says, once checked. */
struct header {
	uint64_t first_usable, last_usable, entry_lba;
	uint32_t entries, entry_size, entry_crc;
	uint8_t guid[16];
};

struct disk {
	uint32_t block_size;
	uint64_t blocks;
	gpt_read_fn *read;
	void *ctx;
	uint8_t *scratch;
};

static int is_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static const char *check_mbr(const struct disk *d)
{
	const uint8_t *b = d->scratch;
	int i;

	if (d->read(d->ctx, 0, 1, d->scratch))
		return "LBA 0 cannot be read";
	if (b[MBR_SIGNATURE] != 0x55 || b[MBR_SIGNATURE + 1] != 0xAA)
		return "no MBR signature at LBA 0: not a GPT disk";
	for (i = 0; i < 4; i++)
		if (b[MBR_ENTRIES + 16 * i + 4] == MBR_TYPE_PROTECTIVE)
			return 0;
	return "no protective MBR entry (type 0xEE) at LBA 0: not a GPT disk";
}

/* The header's own fields, its CRC over header_size bytes with the CRC field as zero. */
static const char *check_header_fields(const struct disk *d, uint8_t *b, uint64_t at, struct header *h)
{
	uint32_t size = le32(b + HDR_SIZE), crc = le32(b + HDR_CRC);

	if (__builtin_memcmp(b, "EFI PART", 8))
		return "no \"EFI PART\" signature";
	if (le32(b + HDR_REVISION) >> 16 != 1)
		return "not revision 1.x";
	if (size < HDR_MIN_SIZE || size > d->block_size)
		return "header size out of range";
	put_le32(b + HDR_CRC, 0);
	if (crc32(b, size) != crc)
		return "header CRC32 mismatch";
	if (le64(b + HDR_MY_LBA) != at)
		return "MyLBA is not where the header is";
	h->first_usable = le64(b + HDR_FIRST_USABLE);
	h->last_usable = le64(b + HDR_LAST_USABLE);
	h->entry_lba = le64(b + HDR_ENTRY_LBA);
	h->entries = le32(b + HDR_ENTRY_COUNT);
	h->entry_size = le32(b + HDR_ENTRY_SIZE);
	h->entry_crc = le32(b + HDR_ENTRY_CRC);
	__builtin_memcpy(h->guid, b + HDR_DISK_GUID, 16);
	return 0;
}

static uint64_t array_blocks(const struct disk *d, const struct header *h)
{
	uint64_t bytes = (uint64_t)h->entries * h->entry_size;

	return (bytes + d->block_size - 1) / d->block_size;
}

/* The usable range and the entry array: inside the disk, apart from each other and from both headers. */
static const char *check_layout(const struct disk *d, const struct header *h)
{
	uint64_t last = d->blocks - 1, nblocks;

	if (h->first_usable > h->last_usable || h->first_usable < 2 || h->last_usable >= last)
		return "usable range outside the disk or across a header";
	if (h->entry_size < ENTRY_MIN || h->entry_size > GPT_BLOCK_MAX || (h->entry_size & (h->entry_size - 1)))
		return "entry size not 128 x 2^n bytes up to 4096";
	if (h->entries == 0 || (uint64_t)h->entries * h->entry_size > GPT_ENTRIES_BYTES_MAX)
		return "entry array empty or larger than 1 MiB";
	nblocks = array_blocks(d, h);
	if (h->entry_lba < 2 || h->entry_lba > last || nblocks > last - h->entry_lba)
		return "entry array outside the disk or across a header";
	if (h->entry_lba <= h->last_usable && h->entry_lba + nblocks > h->first_usable)
		return "entry array inside the usable range";
	return 0;
}

static const char *read_header(const struct disk *d, uint64_t at, struct header *h)
{
	const char *why;

	if (d->read(d->ctx, at, 1, d->scratch))
		return "cannot be read";
	why = check_header_fields(d, d->scratch, at, h);
	if (!why)
		why = check_layout(d, h);
	if (why)
		return why;
	if (d->read(d->ctx, h->entry_lba, (uint32_t)array_blocks(d, h), d->scratch))
		return "its entry array cannot be read";
	if (crc32(d->scratch, (size_t)h->entries * h->entry_size) != h->entry_crc)
		return "entry array CRC32 mismatch";
	return 0;
}

/* UTF-16LE, NUL-ended or not, as printable ASCII. */
static void entry_name(const uint8_t *units, char *name)
{
	int i;

	for (i = 0; i < ENTRY_NAME_UNITS; i++) {
		uint16_t c = le16(units + 2 * i);
		if (!c)
			break;
		name[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	name[i] = 0;
}

/* A used entry: inside the usable range, apart from those before it. */
static const char *add_part(struct gpt_disk *g, const uint8_t *e, uint32_t index)
{
	struct gpt_part *p = &g->parts[g->nparts];
	uint32_t i;

	if (g->nparts == GPT_PARTS_MAX)
		return "more than 128 partitions in use";
	*p = (struct gpt_part){ .number = index + 1, .first = le64(e + ENTRY_FIRST), .last = le64(e + ENTRY_LAST),
				.attributes = le64(e + ENTRY_ATTRIBUTES) };
	__builtin_memcpy(p->type, e + ENTRY_TYPE, 16);
	__builtin_memcpy(p->guid, e + ENTRY_GUID, 16);
	entry_name(e + ENTRY_NAME, p->name);
	if (p->first > p->last || p->first < g->first_usable || p->last > g->last_usable)
		return "outside the usable range";
	for (i = 0; i < g->nparts; i++) {
		if (p->first <= g->parts[i].last && g->parts[i].first <= p->last)
			return "overlaps another partition";
		if (!__builtin_memcmp(p->guid, g->parts[i].guid, 16))
			return "has another partition's unique GUID";
	}
	g->nparts++;
	return 0;
}

/* The entries of the array in scratch; 0, or -1 with g->why. */
static int read_entries(struct gpt_disk *g, const struct disk *d, const struct header *h)
{
	uint32_t i;

	g->first_usable = h->first_usable;
	g->last_usable = h->last_usable;
	__builtin_memcpy(g->guid, h->guid, 16);
	g->nparts = 0;
	for (i = 0; i < h->entries; i++) {
		const uint8_t *e = d->scratch + (size_t)i * h->entry_size;
		const char *why = is_zero(e + ENTRY_TYPE, 16) ? 0 : add_part(g, e, i);
		if (why) {
			fmt(g->why, sizeof(g->why), "partition entry %u: %s", i + 1, why);
			return -1;
		}
	}
	return 0;
}

static int parse_checked(struct gpt_disk *g, const struct disk *d)
{
	uint64_t backup = d->blocks - 1;
	struct header h;
	const char *primary = read_header(d, 1, &h), *second;

	if (!primary)
		return read_entries(g, d, &h);
	second = read_header(d, backup, &h);
	if (second) {
		fmt(g->why, sizeof(g->why), "primary GPT header: %s; backup at LBA %llu: %s", primary,
		    (unsigned long long)backup, second);
		return -1;
	}
	g->from_backup = 1;
	fmt(g->note, sizeof(g->note), "primary GPT header: %s; using the backup at LBA %llu", primary,
	    (unsigned long long)backup);
	return read_entries(g, d, &h);
}

/* A good primary's backup is looked at too: the operator hears of it before it is needed. */
static void check_backup(struct gpt_disk *g, const struct disk *d)
{
	struct header h;
	const char *why = read_header(d, d->blocks - 1, &h);

	if (why)
		fmt(g->note, sizeof(g->note), "backup GPT header at LBA %llu: %s (the primary is used)",
		    (unsigned long long)(d->blocks - 1), why);
}

int gpt_parse(struct gpt_disk *g, uint32_t block_size, uint64_t blocks, gpt_read_fn *read, void *ctx,
	      uint8_t *scratch)
{
	struct disk d = { block_size, blocks, read, ctx, scratch };
	const char *why;

	g->nparts = 0;
	g->from_backup = 0;
	g->note[0] = g->why[0] = 0;
	if (block_size < 512 || block_size > GPT_BLOCK_MAX || (block_size & (block_size - 1)) || blocks < 6) {
		fmt(g->why, sizeof(g->why), "a disk of %llu blocks of %u bytes cannot hold a GPT",
		    (unsigned long long)blocks, block_size);
		return -1;
	}
	why = check_mbr(&d);
	if (why) {
		fmt(g->why, sizeof(g->why), "%s", why);
		return -1;
	}
	if (parse_checked(g, &d))
		return -1;
	if (!g->from_backup)
		check_backup(g, &d);
	return 0;
}

void gpt_guid_text(const uint8_t guid[16], char text[GPT_GUID_TEXT])
{
	fmt(text, GPT_GUID_TEXT, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", le32(guid), le16(guid + 4),
	    le16(guid + 6), guid[8], guid[9], guid[10], guid[11], guid[12], guid[13], guid[14], guid[15]);
}
