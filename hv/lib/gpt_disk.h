/*
 * The GUID Partition Table of a host disk (UEFI spec 2.10, chapter 5),
 * parsed from blocks a caller reads: pure, so that the host tests and the
 * fuzzer run it on disk images. (arch/x86/gpt.h is the guests' page
 * tables, another thing altogether.)
 *
 * Checked: the protective MBR (an entry of type 0xEE, 5.2.3); the header
 * at LBA 1 (its signature, revision 1.x, size, CRC32, MyLBA, usable range
 * inside the disk); its entry array (entry size 128 x 2^n up to 4096,
 * at most GPT_ENTRIES_BYTES_MAX bytes, outside the usable range and the
 * headers, inside the disk, its CRC32); each used entry inside the usable
 * range, none overlapping another, no two with one unique GUID. A primary
 * header or array that fails falls back to the backup at the last LBA,
 * with a note; a damaged backup behind a good primary is noted too.
 */
#ifndef HV_LIB_GPT_DISK_H
#define HV_LIB_GPT_DISK_H

#include <stddef.h>
#include <stdint.h>

#define GPT_PARTS_MAX 128
#define GPT_NAME_MAX 37 /* 36 UTF-16 code units, as ASCII, and a NUL */
#define GPT_GUID_TEXT 37
#define GPT_ENTRIES_BYTES_MAX (1u << 20)
#define GPT_BLOCK_MAX 4096u
/* The scratch gpt_parse wants: an entry array in whole blocks. */
#define GPT_SCRATCH_BYTES (GPT_ENTRIES_BYTES_MAX + GPT_BLOCK_MAX)
#define GPT_NOTE_MAX 160

struct gpt_part {
	uint32_t number;  /* its entry's index + 1, as Linux numbers partitions */
	uint8_t type[16];
	uint8_t guid[16]; /* the unique partition GUID, as stored */
	uint64_t first, last; /* LBAs, inclusive */
	uint64_t attributes;
	char name[GPT_NAME_MAX]; /* UTF-16LE as ASCII, '?' for any other character */
};

struct gpt_disk {
	uint64_t first_usable, last_usable;
	uint8_t guid[16];
	int from_backup;          /* the backup header was used */
	uint32_t nparts;
	struct gpt_part parts[GPT_PARTS_MAX]; /* in entry order */
	char note[GPT_NOTE_MAX];  /* what was amiss and did not stop it, else empty */
	char why[GPT_NOTE_MAX];   /* why there is no table, when gpt_parse fails */
};

/* Reads count blocks from lba (inside the disk) into buf; 0, or -1 on an I/O error. */
typedef int gpt_read_fn(void *ctx, uint64_t lba, uint32_t count, void *buf);

/*
 * The GPT of a disk of `blocks` blocks of block_size bytes (a power of
 * two from 512 to GPT_BLOCK_MAX); scratch holds GPT_SCRATCH_BYTES. 0, or
 * -1 with g->why saying why it has none.
 */
int gpt_parse(struct gpt_disk *g, uint32_t block_size, uint64_t blocks, gpt_read_fn *read, void *ctx,
	      uint8_t *scratch);

/* The GUID as text, upper case (its first three fields are little-endian, UEFI spec Appendix A). */
void gpt_guid_text(const uint8_t guid[16], char text[GPT_GUID_TEXT]);

#endif
