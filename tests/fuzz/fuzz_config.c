/* libFuzzer target: hv.cfg parsing of arbitrary text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hv_config cfg;
static struct cfg_errors errs;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly the input's size, as the loader reads the file: a read past it is caught. */
	char *text = malloc(size ? size : 1);
	uint32_t n, i;

	if (!text)
		return 0;
	memcpy(text, data, size);
	n = cfg_parse(text, size, &cfg, &errs);
	free(text);
	for (i = 0; i < n && i < CFG_ERRORS_MAX; i++)
		if (errs.list[i].line == 0)
			abort(); /* every error names its line */
	if (n == 0 && cfg.npartitions > CFG_PARTITIONS_MAX)
		abort();
	return 0;
}
