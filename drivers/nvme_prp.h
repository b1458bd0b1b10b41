/*
 * NVMe PRP lists, pure (NVM Express Base Spec 1.4, 4.3 "Physical Region
 * Page Entry and List"), with 4 KiB memory pages (CC.MPS = 0): PRP1 may
 * start anywhere dword-aligned in a page; every later entry addresses a
 * whole page from its start, and every page but the last is used to its
 * end. A block request's segments that break these rules (a segment that
 * ends inside a page followed by more data, a later segment that starts
 * inside a page) are split into several commands, each cut at a logical
 * block boundary.
 */
#ifndef DRIVERS_NVME_PRP_H
#define DRIVERS_NVME_PRP_H

#include <stdint.h>

#include "block.h"

#define NVME_PAGE 4096u
#define NVME_PRP_LIST_ENTRIES (NVME_PAGE / 8) /* one list page: no chained lists */

struct nvme_prp {
	uint64_t prp1, prp2;
	uint32_t list_len; /* entries written to the list page (PRP2 then points at it) */
};

/*
 * Describes the longest run of data from *at, at most max_bytes, that one
 * command can carry and that ends on a block_size boundary; fills p and
 * list (NVME_PRP_LIST_ENTRIES entries at list_pa), advances *at and returns
 * the bytes described. 0 when no whole block can be described from *at:
 * the segments cannot be carried by PRPs without a bounce buffer, or a
 * segment wraps the address space or is not dword-aligned.
 */
uint32_t nvme_prp_build(const struct blk_seg *seg, uint32_t nseg, struct blk_cursor *at, uint32_t max_bytes,
			uint32_t block_size, uint64_t *list, uint64_t list_pa, struct nvme_prp *p);

#endif
