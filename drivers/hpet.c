/*
 * The HPET's main counter (IA-PC HPET Specification 1.0a): the general
 * capabilities and ID register at 0x000, whose bits 63:32 give the
 * counter's period in femtoseconds, at most 0x05F5E100 (100 ns) and never
 * 0 (2.3.4); the general configuration register at 0x010, whose bit 0
 * (ENABLE_CNF) lets the main counter run, the other bits to be kept by a
 * read-modify-write (2.3.5); the main counter at 0x0F0 (2.3.7).
 *
 * Every access is 32 bits wide, which the spec allows (2.3.2) and every
 * implementation serves (Bochs' answers narrower reads with 0). Only the
 * counter's low half is read: a window of the TSC measurement lasts
 * milliseconds while the low half wraps after 2^32 periods (43 s at
 * 100 MHz), so the difference of two reads modulo 2^32 is the whole count
 * between them, on a 32-bit counter (COUNT_SIZE_CAP clear) as on a 64-bit
 * one, and no read can be torn between halves.
 */
#include "hpet.h"

#include "arch.h"
#include "log.h"

#define REG_PERIOD (0x004 / 4)   /* capabilities, bits 63:32 */
#define REG_CONFIG (0x010 / 4)   /* configuration, bits 31:0 */
#define REG_COUNT (0x0f0 / 4)    /* main counter, bits 31:0 */
#define REGS_BYTES 0x400         /* the register space of a timer block (2.3.1) */
#define ENABLE_CNF 1u

uint32_t hpet_period_fs(uint64_t capabilities)
{
	uint32_t period = (uint32_t)(capabilities >> 32);

	return period <= HPET_PERIOD_MAX_FS ? period : 0;
}

/*
 * A halted counter is started, since there is nothing to measure against
 * otherwise; a running one is left alone: its value may be another
 * agent's time base (firmware, SMM), so it is neither halted, written nor
 * reset, and only differences of its reads are taken.
 */
int hpet_open(struct hpet *h, uint64_t base)
{
	*h = (struct hpet){ arch_map_device(base, REGS_BYTES), 0, 0 };
	if (!h->regs) {
		log_warn("hpet: its registers at 0x%llx cannot be mapped: not used", (unsigned long long)base);
		return -1;
	}
	h->period_fs = hpet_period_fs((uint64_t)h->regs[REG_PERIOD] << 32);
	if (!h->period_fs) {
		log_warn("hpet: at 0x%llx, a counter period of %u fs, outside the spec's 1 to %llu (IA-PC HPET "
			 "1.0a, 2.3.4): not used", (unsigned long long)base, h->regs[REG_PERIOD],
			 HPET_PERIOD_MAX_FS);
		return -1;
	}
	h->config_found = h->regs[REG_CONFIG];
	if (!(h->config_found & ENABLE_CNF))
		h->regs[REG_CONFIG] = h->config_found | ENABLE_CNF;
	return 0;
}

uint32_t hpet_count(const void *hpet)
{
	const struct hpet *h = hpet;

	return h->regs[REG_COUNT];
}

/*
 * The hypervisor takes nothing from the HPET after its measurement: a
 * counter it started is halted again, so the machine's timers are as the
 * firmware left them.
 */
void hpet_close(const struct hpet *h)
{
	if (!(h->config_found & ENABLE_CNF))
		h->regs[REG_CONFIG] = h->config_found;
}
