/* libFuzzer target: the instruction decoder on arbitrary guest bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct insn in;
	int mode;

	for (mode = MODE_16; mode <= MODE_64; mode++) {
		if (insn_decode(data, size, (enum cpu_mode)mode, &in) != 0)
			continue;
		if (in.length == 0 || in.length > INSN_MAX || in.length > size)
			abort(); /* a length the bytes given cannot back */
	}
	return 0;
}
