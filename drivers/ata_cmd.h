/*
 * The ATA command layer the AHCI and the IDE drivers share, pure (no
 * device access, unit tested on the host): IDENTIFY DEVICE data checked
 * and read, the taskfile of each block operation, its encoding as a
 * Register Host to Device FIS, and a request's segments split into the
 * physical region descriptors either controller takes.
 */
#ifndef DRIVERS_ATA_CMD_H
#define DRIVERS_ATA_CMD_H

#include <stdint.h>

#include "block.h"

/* ATA8-ACS command opcodes. */
#define ATA_CMD_READ_DMA 0xc8
#define ATA_CMD_READ_DMA_EXT 0x25
#define ATA_CMD_WRITE_DMA 0xca
#define ATA_CMD_WRITE_DMA_EXT 0x35
#define ATA_CMD_FLUSH_CACHE 0xe7
#define ATA_CMD_FLUSH_CACHE_EXT 0xea
#define ATA_CMD_IDENTIFY 0xec
#define ATA_CMD_READ_FPDMA_QUEUED 0x60
#define ATA_CMD_WRITE_FPDMA_QUEUED 0x61
#define ATA_NCQ_TAGS 32

/* Status register bits (ATA8-ACS 6.1.9 ... 6.1.11 for BSY, DRQ, DF, ERR). */
#define ATA_SR_BSY 0x80
#define ATA_SR_DF 0x20
#define ATA_SR_DRQ 0x08
#define ATA_SR_ERR 0x01

#define ATA_DEV_LBA 0x40 /* the Device register's LBA bit */
#define ATA_IDENTIFY_WORDS 256
#define ATA_LBA28_LIMIT (1ull << 28)
#define ATA_LBA48_LIMIT (1ull << 48)

/* What IDENTIFY DEVICE says about a disk. */
struct ata_identity {
	char model[BLK_MODEL_MAX];
	uint64_t sectors; /* logical sectors */
	uint32_t sector_size;
	uint8_t lba48;
	uint8_t write_cache; /* supported and enabled */
	uint8_t flush_ext;   /* FLUSH CACHE EXT supported */
	uint8_t ncq;         /* NCQ supported */
	uint8_t ncq_depth;   /* its queue depth, 1 to 32 */
};

/* Reads id (as the device sent it, little-endian words); NULL, or why the disk cannot be used. */
const char *ata_identify_parse(const uint16_t id[ATA_IDENTIFY_WORDS], struct ata_identity *out);

/* A command's taskfile: the registers the host writes. */
struct ata_taskfile {
	uint8_t command;
	uint8_t device;
	uint16_t features;
	uint16_t count; /* the encoded count: 0 means 256 (LBA28) or 65536 (LBA48) */
	uint64_t lba;
	uint8_t lba48;  /* the registers' "previous" (HOB) halves are written too */
};

/* Most blocks one READ/WRITE DMA command moves. */
uint32_t ata_max_blocks(int lba48);

/*
 * The taskfile of a read or write of blocks (1 to ata_max_blocks) at lba,
 * or of a flush (op BLK_FLUSH, lba and blocks ignored); 0, or -1 when the
 * range does not fit the command set (the caller checked the disk's size).
 */
int ata_taskfile_build(struct ata_taskfile *tf, enum blk_op op, uint64_t lba, uint32_t blocks, int lba48,
		       int flush_ext);

/*
 * Whether the driver takes r for dev: BLK_OK, BLK_E_UNSUPP (neither read,
 * write nor flush), BLK_E_RANGE (past the end), BLK_E_IO (segments that do
 * not add up to its blocks).
 */
enum blk_status ata_check_request(const struct blk_dev *dev, const struct blk_req *r);

/*
 * The taskfile of a native command queuing read or write (READ/WRITE
 * FPDMA QUEUED, ATA8-ACS 7.23, 7.59) of blocks (1 to 65536) at lba with
 * tag (0 to 31); 0, or -1 as ata_taskfile_build.
 */
int ata_taskfile_build_ncq(struct ata_taskfile *tf, enum blk_op op, uint64_t lba, uint32_t blocks, unsigned tag);

#define ATA_FIS_H2D_BYTES 20
/* The Register Host to Device FIS of tf (SATA 3.x, 10.5.5). */
void ata_fis_h2d(uint8_t fis[ATA_FIS_H2D_BYTES], const struct ata_taskfile *tf);

/* ---- physical region descriptors */

struct prd_limits {
	uint32_t max_entry;   /* bytes one entry takes */
	uint32_t boundary;    /* 0, or a power of two no entry may cross */
	uint32_t max_entries; /* entries one command's table holds */
	uint64_t addr_limit;  /* addresses end below this (0: none) */
};

struct prd_entry {
	uint64_t addr;
	uint32_t len;
};

/*
 * Describes the bytes of the request r from offset `from`, at most
 * max_bytes of them, as entries within lim; the bytes described are a
 * whole number of unit-byte blocks (entries past that trimmed). Returns
 * the bytes described (n entries in out), 0 when not even one block fits
 * or a segment is unusable (odd address or length, beyond addr_limit).
 */
uint64_t prd_build(const struct blk_req *r, uint64_t from, uint64_t max_bytes, uint32_t unit,
		   const struct prd_limits *lim, struct prd_entry *out, uint32_t *n);

/* Total bytes of r's segments. */
uint64_t blk_req_bytes(const struct blk_req *r);

/* AHCI 1.3.1, 4.2.3.3: a PRDT entry (16 bytes), interrupt bit clear. */
void ahci_prdt_encode(uint8_t entry[16], const struct prd_entry *p);

/* SFF-8038i (Bus Master IDE), 1.2: a PRD (8 bytes); eot on the last. */
void ide_prd_encode(uint8_t entry[8], const struct prd_entry *p, int eot);

/* AHCI 1.3.1, 4.2.2: a command header (32 bytes) for a 5-dword H2D FIS. */
void ahci_cmd_header_encode(uint8_t header[32], int write, uint32_t prdt_entries, uint64_t table);

#endif
