/*
 * The host disks' GPT parser on disk images built here: good tables on
 * 512- and 4096-byte blocks, names and GUIDs; a damaged primary falling
 * back to the backup; damaged both; no protective MBR; entries that
 * overlap, leave the usable range or share a GUID; hostile entry counts
 * and sizes; read errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/crc32.h"
#include "lib/gpt_disk.h"
#include "lib/le.h"

#define BLOCKS 2048
#define ENTRIES 128
#define ENTRY_SIZE 128

static uint8_t *img;
static uint32_t bs;
static uint64_t blocks;
static uint8_t scratch[GPT_SCRATCH_BYTES];
static struct gpt_disk g;
static int fail_lba = -1;

static int read_img(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
	(void)ctx;
	assert_true(lba < blocks && count <= blocks - lba);
	assert_true((uint64_t)count * bs <= GPT_SCRATCH_BYTES);
	if (fail_lba >= 0 && (uint64_t)fail_lba >= lba && (uint64_t)fail_lba < lba + count)
		return -1;
	memcpy(buf, img + lba * bs, (size_t)count * bs);
	return 0;
}

static uint8_t *block(uint64_t lba)
{
	return img + lba * bs;
}

static uint64_t array_blocks(void)
{
	return (ENTRIES * ENTRY_SIZE + bs - 1) / bs;
}

static uint8_t *entry(uint64_t array_lba, unsigned i)
{
	return block(array_lba) + i * ENTRY_SIZE;
}

static void set_entry(unsigned i, uint8_t tag, uint64_t first, uint64_t last, const char *name)
{
	uint8_t *e = entry(2, i);
	unsigned c;

	memset(e, 0, ENTRY_SIZE);
	memset(e, 0x11, 16);             /* type */
	memset(e + 16, tag, 16);         /* unique GUID */
	e[16] = 0x78, e[17] = 0x56, e[18] = 0x34, e[19] = 0x12;
	put_le64(e + 32, first);
	put_le64(e + 40, last);
	for (c = 0; name[c] && c < 36; c++)
		put_le16(e + 56 + 2 * c, (uint8_t)name[c]);
}

/* The header at `at` with its array at array_lba, and both CRCs. */
static void seal(uint64_t at, uint64_t array_lba)
{
	uint8_t *h = block(at);

	if (array_lba != 2)
		memcpy(block(array_lba), block(2), array_blocks() * bs);
	memset(h, 0, bs);
	memcpy(h, "EFI PART", 8);
	put_le32(h + 8, 0x00010000);
	put_le32(h + 12, 92);
	put_le64(h + 24, at);
	put_le64(h + 32, at == 1 ? blocks - 1 : 1);
	put_le64(h + 40, 2 + array_blocks());
	put_le64(h + 48, blocks - 2 - array_blocks());
	memset(h + 56, 0xd1, 16);
	put_le64(h + 72, array_lba);
	put_le32(h + 80, ENTRIES);
	put_le32(h + 84, ENTRY_SIZE);
	put_le32(h + 88, crc32(block(array_lba), ENTRIES * ENTRY_SIZE));
	put_le32(h + 16, crc32(h, 92));
}

static void reseal_both(void)
{
	seal(1, 2);
	seal(blocks - 1, blocks - 1 - array_blocks());
}

/* A disk with a protective MBR and three partitions. */
static void build(uint32_t block_size)
{
	uint64_t first;

	bs = block_size;
	blocks = BLOCKS;
	free(img);
	img = calloc(blocks, bs);
	img[510] = 0x55;
	img[511] = 0xAA;
	img[446 + 4] = 0xEE;
	first = 2 + array_blocks();
	set_entry(0, 0xa1, first, first + 99, "boot");
	set_entry(1, 0xa2, first + 100, first + 499, "web-root");
	set_entry(5, 0xa3, first + 600, blocks - 2 - array_blocks(), "data");
	reseal_both();
	fail_lba = -1;
}

static int parse(void)
{
	return gpt_parse(&g, bs, blocks, read_img, 0, scratch);
}

static void good_table(void **state)
{
	char text[GPT_GUID_TEXT];

	(void)state;
	build(512);
	assert_int_equal(parse(), 0);
	assert_string_equal(g.note, "");
	assert_int_equal(g.from_backup, 0);
	assert_int_equal(g.nparts, 3);
	assert_string_equal(g.parts[1].name, "web-root");
	assert_int_equal(g.parts[1].number, 2);
	assert_int_equal(g.parts[2].number, 6);
	assert_int_equal(g.parts[0].first, 34);
	assert_int_equal(g.parts[0].last, 133);
	assert_int_equal(g.parts[2].last, BLOCKS - 34);
	gpt_guid_text(g.parts[0].guid, text);
	assert_string_equal(text, "12345678-A1A1-A1A1-A1A1-A1A1A1A1A1A1");
	build(4096);
	assert_int_equal(parse(), 0);
	assert_int_equal(g.nparts, 3);
	assert_int_equal(g.parts[0].first, 6);
}

static void names_as_ascii(void **state)
{
	uint8_t *e;

	(void)state;
	build(512);
	e = entry(2, 0);
	put_le16(e + 56, 0x00e9); /* é */
	put_le16(e + 58, 0x263a);
	memset(e + 60, 'x', 68);  /* 36 units, none NUL */
	reseal_both();
	assert_int_equal(parse(), 0);
	assert_int_equal(strlen(g.parts[0].name), 36);
	assert_memory_equal(g.parts[0].name, "??", 2);
}

static void bad_primary_uses_the_backup(void **state)
{
	(void)state;
	build(512);
	block(1)[40] ^= 1; /* header CRC no longer matches */
	assert_int_equal(parse(), 0);
	assert_int_equal(g.from_backup, 1);
	assert_int_equal(g.nparts, 3);
	assert_string_equal(g.note, "primary GPT header: header CRC32 mismatch; using the backup at LBA 2047");

	build(512);
	entry(2, 0)[60] ^= 1; /* primary array CRC; the backup's array is its own copy */
	assert_int_equal(parse(), 0);
	assert_int_equal(g.from_backup, 1);
	assert_string_equal(g.parts[0].name, "boot");

	build(512);
	fail_lba = 1;
	assert_int_equal(parse(), 0);
	assert_int_equal(g.from_backup, 1);
}

static void bad_backup_is_noted(void **state)
{
	(void)state;
	build(512);
	memset(block(blocks - 1), 0, 8);
	assert_int_equal(parse(), 0);
	assert_int_equal(g.from_backup, 0);
	assert_string_equal(g.note, "backup GPT header at LBA 2047: no \"EFI PART\" signature (the primary is used)");
}

static void both_bad(void **state)
{
	(void)state;
	build(512);
	block(1)[0] = 'X';
	block(blocks - 1)[24] ^= 1; /* MyLBA (and the CRC) */
	assert_int_equal(parse(), -1);
	assert_string_equal(g.why, "primary GPT header: no \"EFI PART\" signature; backup at LBA 2047: header CRC32 mismatch");
}

static void no_protective_mbr(void **state)
{
	(void)state;
	build(512);
	img[446 + 4] = 0x83;
	assert_int_equal(parse(), -1);
	assert_string_equal(g.why, "no protective MBR entry (type 0xEE) at LBA 0: not a GPT disk");
	img[511] = 0;
	assert_int_equal(parse(), -1);
	assert_string_equal(g.why, "no MBR signature at LBA 0: not a GPT disk");
	build(512);
	fail_lba = 0;
	assert_int_equal(parse(), -1);
	assert_int_equal(gpt_parse(&g, 512, 5, read_img, 0, scratch), -1); /* too small */
	assert_int_equal(gpt_parse(&g, 1000, blocks, read_img, 0, scratch), -1);
	assert_int_equal(gpt_parse(&g, 8192, blocks, read_img, 0, scratch), -1);
}

static void refused_entries(void **state)
{
	(void)state;
	build(512);
	set_entry(3, 0xa4, 200, 300, "overlaps"); /* inside web-root */
	reseal_both();
	assert_int_equal(parse(), -1);
	assert_string_equal(g.why, "partition entry 4: overlaps another partition");

	build(512);
	set_entry(3, 0xa4, 1000, 999, "backwards");
	reseal_both();
	assert_int_equal(parse(), -1);
	assert_string_equal(g.why, "partition entry 4: outside the usable range");

	build(512);
	set_entry(3, 0xa4, 10, 20, "on the array");
	reseal_both();
	assert_int_equal(parse(), -1);

	build(512);
	set_entry(3, 0xa4, blocks - 30, blocks - 1, "past the usable range");
	set_entry(5, 0xa3, 700, 800, "data");
	reseal_both();
	assert_int_equal(parse(), -1);
	assert_string_equal(g.why, "partition entry 4: outside the usable range");

	build(512);
	set_entry(3, 0xa2, 1000, 1100, "twin"); /* web-root's GUID */
	set_entry(5, 0xa3, 1200, 1300, "data");
	reseal_both();
	assert_int_equal(parse(), -1);
	assert_string_equal(g.why, "partition entry 4: has another partition's unique GUID");
}

/* A header field changed in both headers, their CRCs made good again: the header's own checks refuse it. */
static void set_both(unsigned offset, uint32_t value)
{
	uint64_t at[2] = { 1, blocks - 1 };
	int i;

	for (i = 0; i < 2; i++) {
		uint8_t *h = block(at[i]);
		put_le32(h + offset, value);
		put_le32(h + 16, 0);
		put_le32(h + 16, crc32(h, 92));
	}
}

static void hostile_headers(void **state)
{
	(void)state;
	build(512);
	set_both(80, 0x80000000u); /* entries */
	assert_int_equal(parse(), -1);
	assert_string_equal(g.why, "primary GPT header: entry array empty or larger than 1 MiB; backup at LBA 2047: entry "
				   "array empty or larger than 1 MiB");
	build(512);
	set_both(80, 0);
	assert_int_equal(parse(), -1);
	build(512);
	set_both(84, 0xffffff80u); /* entry size */
	assert_int_equal(parse(), -1);
	build(512);
	set_both(84, 192);
	assert_int_equal(parse(), -1);
	build(512);
	set_both(84, 8192);
	assert_int_equal(parse(), -1);
	build(512);
	set_both(12, 0xffffffffu); /* header size */
	assert_int_equal(parse(), -1);
	build(512);
	set_both(12, 91);
	assert_int_equal(parse(), -1);
	build(512);
	set_both(72, 0xfffffff0u); /* entry LBA low half: past the disk */
	assert_int_equal(parse(), -1);
	build(512);
	set_both(76, 0xffffffffu); /* entry LBA high half: wraps */
	assert_int_equal(parse(), -1);
	build(512);
	set_both(52, 0xffffffffu); /* last usable past the disk */
	assert_int_equal(parse(), -1);
	build(512);
	set_both(40, 1); /* first usable over the primary header */
	assert_int_equal(parse(), -1);
	build(512);
	set_both(8, 0x00020000u); /* revision 2 */
	assert_int_equal(parse(), -1);
}

static void crc32_known_value(void **state)
{
	(void)state;
	assert_int_equal(crc32("123456789", 9), 0xCBF43926u); /* the standard check value */
	assert_int_equal(crc32("", 0), 0);
}

static int teardown(void **state)
{
	(void)state;
	free(img);
	img = 0;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_table),
		cmocka_unit_test(names_as_ascii),
		cmocka_unit_test(bad_primary_uses_the_backup),
		cmocka_unit_test(bad_backup_is_noted),
		cmocka_unit_test(both_bad),
		cmocka_unit_test(no_protective_mbr),
		cmocka_unit_test(refused_entries),
		cmocka_unit_test(hostile_headers),
		cmocka_unit_test(crc32_known_value),
	};

	return cmocka_run_group_tests(tests, 0, teardown);
}
