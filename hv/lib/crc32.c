#include "crc32.h"

#define CRC32_REFLECTED 0xEDB88320u /* 0x04C11DB7, bit-reversed */

/* Bit by bit: GPT headers and entry arrays are read a few times at boot, never on a hot path. */
uint32_t crc32(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t crc = 0xFFFFFFFFu;
	size_t i;
	int bit;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (CRC32_REFLECTED & (0u - (crc & 1)));
	}
	return ~crc;
}
