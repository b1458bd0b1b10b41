/*
 * A ring of bytes with one writer and one reader on the same CPU (the
 * console UART's receive interrupt and the console): a full ring drops
 * the byte offered and counts it, never waits.
 */
#ifndef HV_LIB_BYTE_RING_H
#define HV_LIB_BYTE_RING_H

#include <stddef.h>
#include <stdint.h>

#define BYTE_RING_SIZE 4096 /* a power of two: indices wrap by masking */

struct byte_ring {
	uint8_t buf[BYTE_RING_SIZE];
	uint32_t head, tail; /* free-running: head - tail bytes are held */
	uint64_t dropped;    /* bytes offered to a full ring */
};

/* Keeps byte, or counts it dropped when the ring is full; 0 if kept, -1 if dropped. */
int byte_ring_put(struct byte_ring *r, uint8_t byte);
/* The oldest byte, taken out, or -1 when the ring is empty. */
int byte_ring_get(struct byte_ring *r);
size_t byte_ring_count(const struct byte_ring *r);
/* Whether byte is among those held. */
int byte_ring_holds(const struct byte_ring *r, uint8_t byte);

#endif
