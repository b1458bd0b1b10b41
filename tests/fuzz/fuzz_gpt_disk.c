/*
 * libFuzzer target: the host disks' GPT parser on a disk image that is the
 * input, as 512-byte blocks (the last input byte, odd, makes them 4096
 * bytes). Whatever the headers say, only blocks inside the disk are read
 * and nothing is written outside the parser's result and scratch.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/gpt_disk.h"

struct image {
	const uint8_t *data;
	size_t size;
	uint32_t block_size;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int read_image(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
	const struct image *im = ctx;
	uint64_t blocks = im->size / im->block_size;

	if (lba >= blocks || count > blocks - lba || (uint64_t)count * im->block_size > GPT_SCRATCH_BYTES)
		abort(); /* the parser asked for what is not there */
	memcpy(buf, im->data + lba * im->block_size, (size_t)count * im->block_size);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *scratch;
	static struct gpt_disk g;
	struct image im = { data, size, size && (data[size - 1] & 1) ? 4096u : 512u };
	char text[GPT_GUID_TEXT];
	uint32_t i;

	if (!scratch)
		scratch = malloc(GPT_SCRATCH_BYTES);
	if (gpt_parse(&g, im.block_size, size / im.block_size, read_image, &im, scratch))
		return 0;
	for (i = 0; i < g.nparts; i++) {
		gpt_guid_text(g.parts[i].guid, text);
		if (g.parts[i].first > g.parts[i].last || g.parts[i].last > g.last_usable || strlen(g.parts[i].name) >= GPT_NAME_MAX)
			abort();
	}
	return 0;
}
