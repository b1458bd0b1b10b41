/*
 * A partition's 8254 PIT (Intel 82C54 datasheet) at 0x40-0x43 and the
 * PC's port 0x61 (NMI status and control, PIIX4 datasheet "NMISC"): three
 * channels counting at 1.193182 MHz, derived from the host's TSC, so that
 * a count read at any time is the one the hardware would show.
 *
 * Emulated: modes 0-5 (6 and 7 are 2 and 3), LSB, MSB and LSB-then-MSB
 * access, binary and BCD counting (a BCD count's digits above 9 count as
 * what they are worth), the counter latch command, the read-back command
 * (count and status, with OUT and NULL COUNT), a count of 0 meaning 65536
 * (10000 in BCD), the gates (channels 0 and 1 tied high, channel 2 on
 * port 0x61 bit 0) with their effect in each mode, a count written to a
 * counting channel in mode 2 or 3 taking effect at the end of the period
 * (mode 2) or half-period (mode 3). Channel 0's OUT drives ISA IRQ 0: a
 * pulse at each rising edge (each period in modes 2 and 3, at the
 * terminal count in mode 0, after the strobe in mode 4). Port 0x61 reads
 * channel 2's OUT at bit 5 and a bit 4 that toggles every 15.085 us (the
 * DRAM refresh request the BIOS and Linux delay loops count); its bits
 * 0-3 (gate, speaker, SERR# and IOCHK# enables) read back as written.
 *
 * Not emulated: the clock pulse after a write before the count is loaded
 * (under a microsecond), channel 1's refresh and channel 2's speaker
 * (no sound), NMIs. Missed periods of channel 0 come as one interrupt,
 * and its periodic interrupts come at most every VPIT_IRQ_MIN_US (a
 * faster rate coalesces), so that a guest cannot have its host CPU taken
 * by timer exits; counts read back are exact all the same.
 *
 * At reset, as QEMU (and a PC BIOS) leaves it: every channel in mode 3
 * with 65536, channels 0 and 1 counting (IRQ 0 at 18.2 Hz), channel 2's
 * gate low.
 */
#ifndef HV_VDEV_PIT_H
#define HV_VDEV_PIT_H

#include <stdint.h>

#include "bus.h"
#include "lib/spinlock.h"

#define VPIT_HZ 1193182ull
#define VPIT_PORTS 4        /* at PLATFORM_PIT_PORT; and PLATFORM_PORT61, 1 port */
#define VPIT_IRQ_MIN_US 100 /* 10 kHz */

struct vpit_channel {
	uint8_t mode;           /* 0-5 */
	uint8_t access;         /* 1 LSB, 2 MSB, 3 LSB then MSB */
	uint8_t bcd;
	uint8_t gate;
	uint8_t state;          /* STOPPED, COUNTING or SUSPENDED (pit.c) */
	uint8_t out_stopped;    /* OUT while STOPPED */
	uint8_t null_count;     /* a count written is not in the counting element yet */
	uint8_t write_msb, read_msb; /* LSB-then-MSB: the next byte is the MSB */
	uint8_t lsb;            /* the LSB written, waiting for its MSB */
	uint8_t latched;        /* bytes of a latched count left to read */
	uint8_t status_latched;
	uint8_t status;
	uint16_t latch;         /* the latched count */
	uint16_t held;          /* the count while STOPPED */
	uint32_t initial;       /* the count register: 1 to 65536, 0 if none written since the control word */
	uint32_t reload;        /* the count the counting element runs with */
	uint64_t start;         /* PIT clock at which the counting element held reload */
	uint64_t held_clocks;   /* SUSPENDED (gate low, mode 0 or 4): clocks counted before */
	uint64_t switch_at;     /* a count written in mode 2 or 3 takes over at this PIT clock; 0: none */
	uint64_t next_start;    /* ... as start */
};

struct vpit {
	struct spinlock lock;
	uint64_t tsc_hz;
	uint64_t clock;          /* the latest PIT clock seen */
	struct vpit_channel ch[3];
	uint8_t port61;          /* bits 0-3 as written */
	uint64_t irq_at;         /* PIT clock of channel 0's next interrupt, 0: none */
	uint64_t last_irq;       /* PIT clock of its last one */
	uint8_t irq_overdue;     /* an interrupt came due before a write moved irq_at */
	uint8_t irq_moved;       /* irq_at changed since the glue last looked */
};

/*
 * The model, pure: `now` is the partition's time (hv/part_clock.h), which
 * counts at the host TSC's rate (tsc_hz). Ports by number: 0x40-0x43
 * and 0x61; others read 0xFF and ignore writes.
 */
void vpit_reset(struct vpit *pit, uint64_t tsc_hz, uint64_t now);
uint8_t vpit_read(struct vpit *pit, uint16_t port, uint64_t now);
void vpit_write(struct vpit *pit, uint16_t port, uint8_t value, uint64_t now);
/*
 * Channel 0's interrupt: 1 if one is due at now (one for all that came
 * due since the last call), and *next the time of the next, 0 if none.
 */
int vpit_poll(struct vpit *pit, uint64_t now, uint64_t *next);

/*
 * The partition's PIT: claims of VPIT_PORTS ports at PLATFORM_PIT_PORT and
 * of PLATFORM_PORT61 (dev: the partition), and its device timer
 * (vdev_add_timer(p, vpit_timer, p)).
 */
extern const struct vdev_ops vpit_ops, vpit_port61_ops;
uint64_t vpit_timer(void *dev, uint64_t now);

#endif
