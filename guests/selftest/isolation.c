/*
 * mode=mark and mode=scan: what one partition can see of another. A
 * marking partition fills all of its RAM with a mark; a scanning one,
 * beside it or started later on the memory the marker gave back, searches
 * all of its RAM, at every byte offset, for that mark and for the string
 * the hypervisor's image carries (hv/main.c). Neither string is in this
 * image: both are made at run time from shifted copies, so only a copy
 * from elsewhere can be found.
 */
#include "selftest.h"

#define MARK_LEN 16
#define HV_MARKER_LEN 24

/* Each byte one more than the string's: "ISOLATION-MARK-1" and hv_image_marker's text. */
static const uint8_t mark_shifted[MARK_LEN] = "JTPMBUJPO.NBSL.2";
static const uint8_t hv_marker_shifted[HV_MARKER_LEN] = "IW.JNBHF.NBSLFS.qgd5c:1e";
static volatile uint8_t shift = 1; /* read at run time: the compiler cannot unshift the copies */

static uint8_t mark[MARK_LEN], hv_marker[HV_MARKER_LEN];

static void unshift(uint8_t *to, const uint8_t *from, unsigned len)
{
	unsigned i;

	for (i = 0; i < len; i++)
		to[i] = (uint8_t)(from[i] - shift);
}

static int same(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned i;

	for (i = 0; i < len; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, 8);
	return v;
}

struct found {
	uint64_t marks, hv_markers, first;
};

/* Occurrences of both strings in [start, end), outside the unshifted copies themselves. */
static void scan_range(uint64_t start, uint64_t end, struct found *f)
{
	uint64_t want_mark = load64(mark), want_hv = load64(hv_marker), a;
	uint64_t own_start = (uint64_t)(uintptr_t)mark, own_end = (uint64_t)(uintptr_t)(hv_marker + HV_MARKER_LEN);

	if (own_start > (uint64_t)(uintptr_t)hv_marker) {
		own_start = (uint64_t)(uintptr_t)hv_marker;
		own_end = (uint64_t)(uintptr_t)(mark + MARK_LEN);
	}
	for (a = start; a + 8 <= end; a++) {
		const uint8_t *p = (const uint8_t *)(uintptr_t)a;
		uint64_t v = load64(p);
		int is_mark = v == want_mark && a + MARK_LEN <= end && same(p, mark, MARK_LEN);
		int is_hv = v == want_hv && a + HV_MARKER_LEN <= end && same(p, hv_marker, HV_MARKER_LEN);

		if ((!is_mark && !is_hv) || (a >= own_start && a < own_end))
			continue;
		if (!f->marks && !f->hv_markers)
			f->first = a;
		f->marks += is_mark;
		f->hv_markers += is_hv;
	}
}

static void scan_one(uint64_t start, uint64_t end, void *arg)
{
	scan_range(start, end, arg);
}

static void fill_one(uint64_t start, uint64_t end, void *arg)
{
	uint64_t a;

	(void)arg;
	for (a = (start + MARK_LEN - 1) & ~(uint64_t)(MARK_LEN - 1); a + MARK_LEN <= end; a += MARK_LEN)
		__builtin_memcpy((void *)(uintptr_t)a, mark, MARK_LEN);
}

static uint64_t scan_all(const uint8_t *bp, struct found *f)
{
	return each_ram_range(bp, 0, scan_one, f);
}

/* Fills its RAM above its image and page tables with the mark and checks that a scan finds it. */
void isolation_mark(const uint8_t *bp, uint64_t top)
{
	uint64_t above = (map_ram(top) + MIB - 1) & ~(MIB - 1), bytes;
	struct found f = { 0, 0, 0 };

	unshift(mark, mark_shifted, MARK_LEN);
	unshift(hv_marker, hv_marker_shifted, HV_MARKER_LEN);
	bytes = each_ram_range(bp, above, fill_one, 0);
	scan_all(bp, &f);
	print("SELFTEST mark filled_mib=%llu marks_found=%llu\n", (unsigned long long)(bytes / MIB),
	      (unsigned long long)f.marks);
}

/* Searches all of its RAM for the mark and the hypervisor's string; reports, then exits. */
void isolation_scan(const uint8_t *bp, uint64_t top)
{
	struct found f = { 0, 0, 0 };
	uint64_t bytes;

	map_ram(top);
	unshift(mark, mark_shifted, MARK_LEN);
	unshift(hv_marker, hv_marker_shifted, HV_MARKER_LEN);
	bytes = scan_all(bp, &f);
	print("SELFTEST scan ram_mib=%llu marks_found=%llu hv_markers_found=%llu first_at=0x%llx\n",
	      (unsigned long long)(bytes / MIB), (unsigned long long)f.marks, (unsigned long long)f.hv_markers,
	      (unsigned long long)f.first);
}
