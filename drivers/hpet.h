/*
 * The host's HPET, used only as a clock to measure the TSC's rate against
 * (arch/x86/tsc.c): none of its timers is programmed, and the guests never
 * see it.
 */
#ifndef DRIVERS_HPET_H
#define DRIVERS_HPET_H

#include <stdint.h>

#define HPET_PERIOD_MAX_FS 100000000ull /* 100 ns: the spec's limit, a counter of 10 MHz or more */

struct hpet {
	volatile uint32_t *regs;
	uint32_t period_fs;     /* a tick of the main counter */
	uint32_t config_found;  /* the configuration register's low half as the firmware left it */
};

/* The counter period a capabilities register states, in femtoseconds; 0 when outside 1..HPET_PERIOD_MAX_FS. */
uint32_t hpet_period_fs(uint64_t capabilities);

/*
 * Maps the registers at base, checks the period and starts the main
 * counter if it is halted; 0 on success, else the reason is logged.
 */
int hpet_open(struct hpet *h, uint64_t base);

/* The main counter's low 32 bits: a count that goes up, modulo 2^32. */
uint32_t hpet_count(const void *hpet);

/* Halts the counter again if hpet_open started it. */
void hpet_close(const struct hpet *h);

#endif
