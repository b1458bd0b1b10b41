/* NVMe PRP lists from a block request's segments; see nvme_prp.h for the rules. */
#include "nvme_prp.h"

/* The piece of data at *at within one page of one segment; 0 at the end or at a segment no PRP may name. */
static uint32_t chunk_at(const struct blk_seg *seg, uint32_t nseg, struct blk_cursor *at, uint64_t *addr)
{
	const struct blk_seg *s;
	uint32_t left, in_page;

	while (at->seg < nseg && at->off >= seg[at->seg].len) {
		at->seg++;
		at->off = 0;
	}
	if (at->seg >= nseg)
		return 0;
	s = &seg[at->seg];
	if (s->pa % 4 || s->pa + s->len < s->pa) /* PRP entries are dword-aligned (4.3) */
		return 0;
	*addr = s->pa + at->off;
	left = s->len - at->off;
	in_page = NVME_PAGE - (uint32_t)(*addr % NVME_PAGE);
	return left < in_page ? left : in_page;
}

/*
 * Walks from *at for at most limit bytes while one command can carry the
 * data, advancing *at; writes the entries after the first to list when
 * it is not NULL. Returns the bytes walked; *first gets PRP1, *entries the
 * count.
 */
static uint32_t walk(const struct blk_seg *seg, uint32_t nseg, struct blk_cursor *at, uint32_t limit,
		     uint64_t *list, uint64_t *first, uint32_t *entries)
{
	uint32_t total = 0, n = 0;
	uint64_t addr, end = 0;

	while (total < limit) {
		struct blk_cursor next = *at;
		uint32_t len = chunk_at(seg, nseg, &next, &addr);
		int same_entry = n && addr == end && end % NVME_PAGE; /* physically contiguous within the page */

		if (!len || (n && !same_entry && (end % NVME_PAGE || addr % NVME_PAGE)))
			break;
		if (!same_entry && n == 1 + NVME_PRP_LIST_ENTRIES)
			break;
		if (len > limit - total)
			len = limit - total;
		if (!n)
			*first = addr;
		else if (!same_entry && list)
			list[n - 1] = addr;
		n += !same_entry;
		total += len;
		end = addr + len;
		*at = next;
		at->off += len;
	}
	*entries = n;
	return total;
}

uint32_t nvme_prp_build(const struct blk_seg *seg, uint32_t nseg, struct blk_cursor *at, uint32_t max_bytes,
			uint32_t block_size, uint64_t *list, uint64_t list_pa, struct nvme_prp *p)
{
	struct blk_cursor end = *at;
	uint32_t entries, bytes;
	uint64_t first = 0;

	if (!block_size)
		return 0;
	/* The list is written as the run is found; walked again only for a run cut back to a block boundary. */
	bytes = walk(seg, nseg, &end, max_bytes, list, &first, &entries);
	if (bytes % block_size) {
		bytes -= bytes % block_size;
		end = *at;
		walk(seg, nseg, &end, bytes, list, &first, &entries);
	}
	if (!bytes)
		return 0;
	*at = end;
	p->prp1 = first;
	p->prp2 = entries == 2 ? list[0] : entries > 2 ? list_pa : 0;
	p->list_len = entries > 2 ? entries - 1 : 0;
	return bytes;
}
