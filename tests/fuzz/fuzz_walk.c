/* libFuzzer target: the guest page-table walker on arbitrary registers and
 * tables. It may read only whole, bounded entries of the RAM it is given,
 * at most one per level, and what it returns must be a page of a real size
 * holding the address. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest_walk.h"

#define MAX_LEVELS 5

struct fuzz_ram {
	const uint8_t *bytes;
	size_t size;
	unsigned reads;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int read_ram(void *ctx, uint64_t gpa, unsigned size, uint64_t *entry)
{
	struct fuzz_ram *ram = ctx;

	if ((size != 4 && size != 8) || gpa % size || ++ram->reads > MAX_LEVELS)
		abort(); /* a torn or misaligned entry, or a walk that does not end */
	if (gpa >= ram->size || size > ram->size - gpa)
		return -1;
	*entry = 0;
	memcpy(entry, ram->bytes + gpa, size);
	return 0;
}

static void check_code_address(const struct guest_mode *g, uint64_t rip)
{
	uint64_t linear;
	enum cpu_mode mode = guest_code_address(g, rip, &linear);

	if (mode != MODE_64 && linear >> 32)
		abort(); /* outside 64-bit mode linear addresses have 32 bits */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mode g;
	struct fuzz_ram ram;
	struct guest_reader reader = { read_ram, &ram };
	struct guest_translation t;
	uint64_t linear, page;
	unsigned access;

	if (size < sizeof(g) + sizeof(linear) + 1)
		return 0;
	memcpy(&g, data, sizeof(g));
	memcpy(&linear, data + sizeof(g), sizeof(linear));
	access = data[sizeof(g) + sizeof(linear)] & 7;
	ram = (struct fuzz_ram){ data + sizeof(g) + sizeof(linear) + 1, size - sizeof(g) - sizeof(linear) - 1, 0 };
	check_code_address(&g, linear);
	if (guest_translate(&g, &reader, linear, access, &t) != GUEST_WALK_OK)
		return 0;
	page = t.page_size;
	if (page != 1ull << 12 && page != 1ull << 21 && page != 1ull << 22 && page != 1ull << 30)
		abort();
	if ((t.gpa ^ linear) & (page - 1))
		abort(); /* the offset in the page is the address's own */
	return 0;
}
