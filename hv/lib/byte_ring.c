#include "byte_ring.h"

_Static_assert((BYTE_RING_SIZE & (BYTE_RING_SIZE - 1)) == 0, "BYTE_RING_SIZE must be a power of two");

#define MASK (BYTE_RING_SIZE - 1)

size_t byte_ring_count(const struct byte_ring *r)
{
	return r->head - r->tail; /* unsigned: right across the indices' wrap */
}

int byte_ring_put(struct byte_ring *r, uint8_t byte)
{
	if (byte_ring_count(r) == BYTE_RING_SIZE) {
		r->dropped++;
		return -1;
	}
	r->buf[r->head++ & MASK] = byte;
	return 0;
}

int byte_ring_get(struct byte_ring *r)
{
	if (r->head == r->tail)
		return -1;
	return r->buf[r->tail++ & MASK];
}

int byte_ring_holds(const struct byte_ring *r, uint8_t byte)
{
	uint32_t i;

	for (i = r->tail; i != r->head; i++)
		if (r->buf[i & MASK] == byte)
			return 1;
	return 0;
}
