/* The ATA command layer: IDENTIFY data (sound and hostile), taskfiles, FIS encoding, PRD splitting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ata_cmd.h"

static uint16_t id[ATA_IDENTIFY_WORDS];

/* The model string as a drive stores it: two characters a word, the first in the high byte. */
static void put_model(const char *model)
{
	char padded[40];
	unsigned i;

	memset(padded, ' ', sizeof(padded));
	memcpy(padded, model, strlen(model));
	for (i = 0; i < 20; i++)
		id[27 + i] = (uint16_t)((uint8_t)padded[2 * i] << 8 | (uint8_t)padded[2 * i + 1]);
}

/* An LBA48 disk of `sectors` 512-byte sectors with its write cache enabled, as QEMU's ide-hd reports it. */
static void sound_disk(uint64_t sectors)
{
	memset(id, 0, sizeof(id));
	id[0] = 0x0040;
	put_model("QEMU HARDDISK");
	id[49] = 0x0300;
	id[60] = (uint16_t)(sectors < 0x0fffffff ? sectors : 0x0fffffff);
	id[61] = (uint16_t)((sectors < 0x0fffffff ? sectors : 0x0fffffff) >> 16);
	id[75] = 31;
	id[76] = 0x0100;
	id[82] = 0x4021;
	id[83] = 0x7400 | 0x2000;
	id[85] = 0x4021;
	id[100] = (uint16_t)sectors;
	id[101] = (uint16_t)(sectors >> 16);
	id[102] = (uint16_t)(sectors >> 32);
	id[103] = (uint16_t)(sectors >> 48);
}

static void seal_checksum(void)
{
	uint8_t sum = 0;
	unsigned i;

	id[255] = 0x00a5;
	for (i = 0; i < 255; i++)
		sum = (uint8_t)(sum + (id[i] & 0xff) + (id[i] >> 8));
	sum = (uint8_t)(sum + 0xa5);
	id[255] = (uint16_t)((uint8_t)(0x100 - sum) << 8 | 0xa5);
}

static void identify_reads_a_sound_disk(void **state)
{
	struct ata_identity d;

	(void)state;
	sound_disk(1ull << 30);
	seal_checksum();
	assert_null(ata_identify_parse(id, &d));
	assert_string_equal(d.model, "QEMU HARDDISK");
	assert_int_equal(d.sectors, 1ull << 30);
	assert_int_equal(d.sector_size, 512);
	assert_true(d.lba48);
	assert_true(d.write_cache);
	assert_true(d.flush_ext);
	assert_true(d.ncq);
	assert_int_equal(d.ncq_depth, 32);
}

static void identify_lba28_disk_and_cache_off(void **state)
{
	struct ata_identity d;

	(void)state;
	sound_disk(1000);
	id[83] = 0x4000; /* no LBA48, no FLUSH CACHE EXT */
	id[85] = 0x4001; /* cache supported, disabled */
	id[76] = 0;
	assert_null(ata_identify_parse(id, &d));
	assert_int_equal(d.sectors, 1000);
	assert_false(d.lba48);
	assert_false(d.flush_ext);
	assert_false(d.write_cache);
	assert_false(d.ncq);
	assert_int_equal(d.ncq_depth, 1);
}

static void identify_4k_logical_sectors(void **state)
{
	struct ata_identity d;

	(void)state;
	sound_disk(1 << 20);
	id[106] = 0x4000 | 0x1000;
	id[117] = 2048;
	assert_null(ata_identify_parse(id, &d));
	assert_int_equal(d.sector_size, 4096);
	id[117] = 300; /* 600-byte sectors: refused */
	assert_non_null(ata_identify_parse(id, &d));
	id[106] = 0x1000; /* word 106 not marked valid: 512 */
	assert_null(ata_identify_parse(id, &d));
	assert_int_equal(d.sector_size, 512);
}

static void identify_refuses_hostile_data(void **state)
{
	struct ata_identity d;

	(void)state;
	sound_disk(1 << 20);
	id[0] = 0x8580; /* ATAPI */
	assert_non_null(ata_identify_parse(id, &d));
	sound_disk(1 << 20);
	seal_checksum();
	id[100] ^= 1; /* checksum now wrong */
	assert_non_null(ata_identify_parse(id, &d));
	sound_disk(0); /* no sectors at all */
	assert_non_null(ata_identify_parse(id, &d));
	sound_disk(1 << 20);
	id[103] = 0x0001; /* 2^48 + ...: more than LBA48 addresses */
	assert_non_null(ata_identify_parse(id, &d));
	sound_disk(1 << 20);
	id[49] = 0x0100; /* no LBA */
	assert_non_null(ata_identify_parse(id, &d));
	sound_disk(1 << 20);
	id[49] = 0x0200; /* no DMA */
	assert_non_null(ata_identify_parse(id, &d));
}

static void identify_all_ones_is_refused_and_model_is_printable(void **state)
{
	struct ata_identity d;
	unsigned i;

	(void)state;
	memset(id, 0xff, sizeof(id)); /* a floating bus */
	assert_non_null(ata_identify_parse(id, &d));
	sound_disk(1 << 20);
	id[27] = 0x0001;
	id[46] = 0xff20;
	assert_null(ata_identify_parse(id, &d));
	assert_true(strlen(d.model) < BLK_MODEL_MAX);
	for (i = 0; d.model[i]; i++)
		assert_in_range(d.model[i], 0x20, 0x7e);
	assert_int_equal(d.model[0], '?');
}

static void identify_unreported_cache_words_assume_a_cache(void **state)
{
	struct ata_identity d;

	(void)state;
	sound_disk(1 << 20);
	id[82] = 0xffff;
	id[85] = 0xffff;
	assert_null(ata_identify_parse(id, &d));
	assert_true(d.write_cache);
}

static void taskfile_and_fis_of_lba48_read(void **state)
{
	struct ata_taskfile tf;
	uint8_t fis[ATA_FIS_H2D_BYTES];

	(void)state;
	assert_int_equal(ata_taskfile_build(&tf, BLK_READ, 0x123456789abcull, 65536, 1, 1), 0);
	assert_int_equal(tf.command, ATA_CMD_READ_DMA_EXT);
	ata_fis_h2d(fis, &tf);
	assert_int_equal(fis[0], 0x27);
	assert_int_equal(fis[1], 0x80);
	assert_int_equal(fis[2], 0x25);
	assert_int_equal(fis[4], 0xbc);
	assert_int_equal(fis[5], 0x9a);
	assert_int_equal(fis[6], 0x78);
	assert_int_equal(fis[7], 0x40);
	assert_int_equal(fis[8], 0x56);
	assert_int_equal(fis[9], 0x34);
	assert_int_equal(fis[10], 0x12);
	assert_int_equal(fis[12], 0); /* 65536 encodes as 0 */
	assert_int_equal(fis[13], 0);
	assert_int_equal(ata_taskfile_build(&tf, BLK_WRITE, 7, 0x1ff, 1, 1), 0);
	ata_fis_h2d(fis, &tf);
	assert_int_equal(fis[2], 0x35);
	assert_int_equal(fis[12], 0xff);
	assert_int_equal(fis[13], 0x01);
}

static void taskfile_lba28_puts_the_top_nibble_in_device(void **state)
{
	struct ata_taskfile tf;
	uint8_t fis[ATA_FIS_H2D_BYTES];

	(void)state;
	assert_int_equal(ata_taskfile_build(&tf, BLK_WRITE, 0x0abcdef0, 256, 0, 0), 0);
	assert_int_equal(tf.command, ATA_CMD_WRITE_DMA);
	assert_int_equal(tf.device, 0x4a);
	assert_int_equal(tf.count, 0); /* 256 */
	ata_fis_h2d(fis, &tf);
	assert_int_equal(fis[7], 0x4a);
	assert_int_equal(fis[8], 0);
	assert_int_equal(fis[13], 0);
}

static void taskfile_refuses_what_the_command_cannot_say(void **state)
{
	struct ata_taskfile tf;

	(void)state;
	assert_int_equal(ata_taskfile_build(&tf, BLK_READ, 0, 0, 1, 1), -1);
	assert_int_equal(ata_taskfile_build(&tf, BLK_READ, 0, 257, 0, 0), -1);
	assert_int_equal(ata_taskfile_build(&tf, BLK_READ, 0, 65537, 1, 1), -1);
	assert_int_equal(ata_taskfile_build(&tf, BLK_READ, 0x0fffffff, 1, 0, 0), -1);
	assert_int_equal(ata_taskfile_build(&tf, BLK_READ, 0x0ffffffe, 1, 0, 0), 0);
	assert_int_equal(ata_taskfile_build(&tf, BLK_READ, 0x0ffffffe, 2, 0, 0), -1);
	assert_int_equal(ata_taskfile_build(&tf, BLK_READ, ~0ull, 1, 1, 1), -1);
	assert_int_equal(ata_taskfile_build(&tf, BLK_READ, (1ull << 48) - 2, 1, 1, 1), 0);
	assert_int_equal(ata_taskfile_build(&tf, BLK_READ, (1ull << 48) - 2, 2, 1, 1), -1);
	assert_int_equal(ata_taskfile_build(&tf, BLK_DISCARD, 0, 1, 1, 1), -1);
	assert_int_equal(ata_taskfile_build(&tf, BLK_FLUSH, 0, 0, 1, 1), 0);
	assert_int_equal(tf.command, ATA_CMD_FLUSH_CACHE_EXT);
	assert_int_equal(ata_taskfile_build(&tf, BLK_FLUSH, 0, 0, 0, 0), 0);
	assert_int_equal(tf.command, ATA_CMD_FLUSH_CACHE);
}

static void ncq_taskfile_carries_count_in_features_and_tag_in_count(void **state)
{
	struct ata_taskfile tf;
	uint8_t fis[ATA_FIS_H2D_BYTES];

	(void)state;
	assert_int_equal(ata_taskfile_build_ncq(&tf, BLK_WRITE, 0x0000123456789aull, 0x1234, 31), 0);
	ata_fis_h2d(fis, &tf);
	assert_int_equal(fis[2], ATA_CMD_WRITE_FPDMA_QUEUED);
	assert_int_equal(fis[3], 0x34); /* features: the count */
	assert_int_equal(fis[11], 0x12);
	assert_int_equal(fis[12], 31 << 3); /* count: the tag */
	assert_int_equal(fis[13], 0);
	assert_int_equal(fis[7], 0x40);
	assert_int_equal(fis[4], 0x9a);
	assert_int_equal(fis[8], 0x34);
	assert_int_equal(fis[9], 0x12);
	assert_int_equal(fis[10], 0x00);
	assert_int_equal(ata_taskfile_build_ncq(&tf, BLK_READ, 0, 65536, 0), 0);
	assert_int_equal(tf.command, ATA_CMD_READ_FPDMA_QUEUED);
	assert_int_equal(tf.features, 0); /* 65536 */
	assert_int_equal(ata_taskfile_build_ncq(&tf, BLK_READ, 0, 1, 32), -1);
	assert_int_equal(ata_taskfile_build_ncq(&tf, BLK_READ, 0, 65537, 0), -1);
	assert_int_equal(ata_taskfile_build_ncq(&tf, BLK_FLUSH, 0, 0, 0), -1);
	assert_int_equal(ata_taskfile_build_ncq(&tf, BLK_READ, (1ull << 48) - 1, 1, 0), -1);
}

static const struct prd_limits ide = { 0x10000, 0x10000, 512, 1ull << 32 };
static const struct prd_limits ahci = { 4u << 20, 0, 8, 0 };
static struct blk_req req;
static struct prd_entry out[1024];

static void prd_ide_splits_at_64k_boundaries(void **state)
{
	uint32_t n;

	(void)state;
	req = (struct blk_req){ .nseg = 2 };
	req.seg[0] = (struct blk_seg){ 0x1fe00, 0x400 };      /* crosses 0x20000 */
	req.seg[1] = (struct blk_seg){ 0x30000, 0x20000 };    /* two whole 64 KiB pieces */
	assert_int_equal(prd_build(&req, 0, ~0ull, 512, &ide, out, &n), 0x20400);
	assert_int_equal(n, 4);
	assert_int_equal(out[0].addr, 0x1fe00);
	assert_int_equal(out[0].len, 0x200);
	assert_int_equal(out[1].addr, 0x20000);
	assert_int_equal(out[1].len, 0x200);
	assert_int_equal(out[2].len, 0x10000);
	assert_int_equal(out[3].addr, 0x40000);
	assert_int_equal(out[3].len, 0x10000);
}

static void prd_ide_refuses_memory_above_4g_and_odd_segments(void **state)
{
	uint32_t n;

	(void)state;
	req = (struct blk_req){ .nseg = 1 };
	req.seg[0] = (struct blk_seg){ 0xfffffe00, 0x400 };
	assert_int_equal(prd_build(&req, 0, ~0ull, 512, &ide, out, &n), 0);
	req.seg[0] = (struct blk_seg){ 0x1001, 0x200 };
	assert_int_equal(prd_build(&req, 0, ~0ull, 512, &ide, out, &n), 0);
	req.seg[0] = (struct blk_seg){ 0xfffffffffffffe00ull, 0x400 }; /* wraps */
	assert_int_equal(prd_build(&req, 0, ~0ull, 512, &ahci, out, &n), 0);
}

static void prd_ahci_splits_big_segments_and_resumes(void **state)
{
	uint32_t n;
	uint64_t done;

	(void)state;
	req = (struct blk_req){ .nseg = 3 };
	req.seg[0] = (struct blk_seg){ 0x100000, 0x200 };
	req.seg[1] = (struct blk_seg){ 0x200000, 9u << 20 }; /* 4 MiB + 4 MiB + 1 MiB */
	req.seg[2] = (struct blk_seg){ 0x2000000, 0x1000 };
	done = prd_build(&req, 0, 6u << 20, 512, &ahci, out, &n); /* at most 6 MiB in this command */
	assert_int_equal(done, 6u << 20);
	assert_int_equal(n, 3);
	assert_int_equal(out[1].len, 4u << 20);
	assert_int_equal(out[2].addr, 0x200000 + (4u << 20));
	assert_int_equal(out[2].len, (2u << 20) - 0x200);
	done = prd_build(&req, done, ~0ull, 512, &ahci, out, &n); /* the rest */
	assert_int_equal(done, 0x200 + (9u << 20) + 0x1000 - (6u << 20));
	assert_int_equal(n, 2);
	assert_int_equal(out[0].addr, 0x200000 + (6u << 20) - 0x200);
	assert_int_equal(out[0].len, (3u << 20) + 0x200);
	assert_int_equal(out[1].addr, 0x2000000);
}

static void prd_table_full_trims_to_whole_blocks(void **state)
{
	uint32_t n, i;

	(void)state;
	req = (struct blk_req){ .nseg = 16 };
	for (i = 0; i < 16; i++)
		req.seg[i] = (struct blk_seg){ 0x100000 + i * 0x2000, 0x200 }; /* not contiguous */
	/* 8 entries fit; 4096-byte blocks: exactly one block (8 x 512). */
	assert_int_equal(prd_build(&req, 0, ~0ull, 4096, &ahci, out, &n), 4096);
	assert_int_equal(n, 8);
	/* 1536-byte blocks: 8 x 512 holds 2 blocks (3072), the last two entries dropped. */
	assert_int_equal(prd_build(&req, 0, ~0ull, 1536, &ahci, out, &n), 3072);
	assert_int_equal(n, 6);
	/* A block wider than the table can describe: nothing. */
	assert_int_equal(prd_build(&req, 0, ~0ull, 8192, &ahci, out, &n), 0);
	assert_int_equal(n, 0);
}

static void prd_trims_inside_an_entry_and_past_the_end(void **state)
{
	uint32_t n;

	(void)state;
	req = (struct blk_req){ .nseg = 1 };
	req.seg[0] = (struct blk_seg){ 0x100000, 0x3000 };
	assert_int_equal(prd_build(&req, 0, 0x2800, 0x1000, &ahci, out, &n), 0x2000);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].len, 0x2000);
	assert_int_equal(prd_build(&req, 0x3000, ~0ull, 512, &ahci, out, &n), 0);
	req.nseg = BLK_SEG_MAX + 5; /* a count past the array is not followed */
	assert_int_equal(blk_req_bytes(&req), 0x3000);
}

static void encoders_lay_out_entries(void **state)
{
	uint8_t e[16], p[8], h[32];
	struct prd_entry big = { 0x123456789a00ull, 4u << 20 }, full = { 0x12340000, 0x10000 };

	(void)state;
	ahci_prdt_encode(e, &big);
	assert_int_equal(e[0], 0x00);
	assert_int_equal(e[1], 0x9a);
	assert_int_equal(e[4], 0x34);
	assert_int_equal(e[5], 0x12);
	assert_int_equal(e[12] | e[13] << 8 | e[14] << 16 | e[15] << 24, (4u << 20) - 1);
	ide_prd_encode(p, &full, 1);
	assert_int_equal(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24, 0x12340000);
	assert_int_equal(p[4] | p[5] << 8, 0); /* 64 KiB */
	assert_int_equal(p[7], 0x80);
	ahci_cmd_header_encode(h, 1, 3, 0x1000080ull);
	assert_int_equal(h[0], 0x45);
	assert_int_equal(h[2] | h[3] << 8, 3);
	assert_int_equal(h[8], 0x80);
	assert_int_equal(h[11], 0x01);
}

static void requests_checked_against_the_disk(void **state)
{
	struct blk_dev dev = { .blocks = 1000, .block_size = 4096 };

	(void)state;
	req = (struct blk_req){ .op = BLK_READ, .lba = 998, .blocks = 2, .nseg = 2 };
	req.seg[0] = (struct blk_seg){ 0x100000, 4096 };
	req.seg[1] = (struct blk_seg){ 0x200000, 4096 };
	assert_int_equal(ata_check_request(&dev, &req), BLK_OK);
	req.lba = 999; /* the last block and one past it */
	assert_int_equal(ata_check_request(&dev, &req), BLK_E_RANGE);
	req.lba = ~0ull - 1; /* lba + blocks wraps */
	assert_int_equal(ata_check_request(&dev, &req), BLK_E_RANGE);
	req.lba = 0;
	req.blocks = 0;
	assert_int_equal(ata_check_request(&dev, &req), BLK_E_RANGE);
	req.blocks = 3; /* segments hold 2 blocks */
	assert_int_equal(ata_check_request(&dev, &req), BLK_E_IO);
	req.blocks = 2;
	req.nseg = BLK_SEG_MAX + 1;
	assert_int_equal(ata_check_request(&dev, &req), BLK_E_IO);
	req.op = BLK_DISCARD;
	assert_int_equal(ata_check_request(&dev, &req), BLK_E_UNSUPP);
	req = (struct blk_req){ .op = BLK_FLUSH };
	assert_int_equal(ata_check_request(&dev, &req), BLK_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(identify_reads_a_sound_disk),
		cmocka_unit_test(identify_lba28_disk_and_cache_off),
		cmocka_unit_test(identify_4k_logical_sectors),
		cmocka_unit_test(identify_refuses_hostile_data),
		cmocka_unit_test(identify_all_ones_is_refused_and_model_is_printable),
		cmocka_unit_test(identify_unreported_cache_words_assume_a_cache),
		cmocka_unit_test(taskfile_and_fis_of_lba48_read),
		cmocka_unit_test(taskfile_lba28_puts_the_top_nibble_in_device),
		cmocka_unit_test(taskfile_refuses_what_the_command_cannot_say),
		cmocka_unit_test(ncq_taskfile_carries_count_in_features_and_tag_in_count),
		cmocka_unit_test(prd_ide_splits_at_64k_boundaries),
		cmocka_unit_test(prd_ide_refuses_memory_above_4g_and_odd_segments),
		cmocka_unit_test(prd_ahci_splits_big_segments_and_resumes),
		cmocka_unit_test(prd_table_full_trims_to_whole_blocks),
		cmocka_unit_test(prd_trims_inside_an_entry_and_past_the_end),
		cmocka_unit_test(encoders_lay_out_entries),
		cmocka_unit_test(requests_checked_against_the_disk),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
