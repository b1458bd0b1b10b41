/*
 * A partition's MC146818A RTC and its CMOS RAM (MC146818A datasheet) at
 * 0x70 (index; bit 7 is the PC's NMI mask, kept and without effect) and
 * 0x71 (data), interrupting on ISA IRQ 8.
 *
 * The time it shows is the host's wall clock (hv/walltime.h, UTC) at the
 * partition's time (hv/part_clock.h: it stands still while paused) plus an
 * offset of the partition's own, which the guest sets by writing the time
 * registers: a guest that sets its clock changes only its own. The
 * registers are those of lib/mc146818.h: seconds to year and the century
 * byte at 0x32, in BCD or binary (register B's DM), 12 or 24-hour (B's
 * 24/12, the PM bit 7 of the hour). Register A: the divider (010, and
 * 000 or 001, run; 11x holds the clock in reset, the first update coming
 * 500 ms after it runs again; the test values 011-101 hold it too) and
 * the periodic rate; UIP reads 1 during the 244 us before each second's
 * update. B: SET freezes the time registers for the guest to write
 * (setting it clears UIE), PIE, AIE, UIE; DSE and SQWE are kept without
 * effect (no daylight saving, no square-wave pin). C: IRQF, PF, AF, UF,
 * set by the periodic tick, the alarm and the update whatever their
 * enable bits, and cleared by reading C, which lowers IRQ 8. D: VRT = 1.
 * The alarm registers match any value from 0xC0 to 0xFF ("don't care").
 * Bytes 0x0E-0x7F but the century are CMOS RAM, zeroed at start. A time
 * register holding what its format does not allow counts for what its
 * digits are worth (second 0x75 is 1 min 15 s, month 13 January of the
 * next year) once the clock runs from it; the weekday follows the date.
 *
 * At reset, as a PC BIOS leaves it: A = 0x26 (32.768 kHz, 1024 Hz), B =
 * 0x02 (24-hour, BCD, no interrupts).
 */
#ifndef HV_VDEV_RTC_H
#define HV_VDEV_RTC_H

#include <stdint.h>

#include "bus.h"
#include "lib/mc146818.h"
#include "lib/spinlock.h"

#define VRTC_PORTS 2 /* at PLATFORM_RTC_PORT */

struct vrtc {
	struct spinlock lock;
	uint8_t index;              /* port 0x70 bits 6:0 */
	uint8_t nmi_mask;           /* port 0x70 bit 7 */
	uint8_t cmos[RTC_CMOS_BYTES];
	int64_t offset;             /* the guest's time: the host's wall clock + phase ns, + offset s */
	uint32_t phase;             /* below 1 s: where its seconds begin */
	uint64_t seen;              /* host wall ns up to which C's flags are up to date */
	uint8_t line;               /* IRQ 8 as last set */
	uint64_t deadline;          /* host wall ns of the next interrupt as last told */
};

/* The model, pure: `now` is the host's wall clock in ns (walltime_unix_ns()). */
void vrtc_reset(struct vrtc *r, uint64_t now);
/*
 * A reset of the machine reaches the chip's RESET pin only: the clock runs on
 * and the CMOS RAM keeps what the guest wrote there, as on a PC.
 */
void vrtc_reset_pin(struct vrtc *r);
/* Ports by number: 0x70 (reads 0xFF: write-only), 0x71. Others read 0xFF and ignore writes. */
uint8_t vrtc_read(struct vrtc *r, uint16_t port, uint64_t now);
void vrtc_write(struct vrtc *r, uint16_t port, uint8_t value, uint64_t now);
/* IRQ 8's level: register C's IRQF. */
int vrtc_irq(const struct vrtc *r);
/* C's flags brought up to now; the wall ns at which IRQF will rise next, 0 if it is up or nothing is enabled. */
uint64_t vrtc_poll(struct vrtc *r, uint64_t now);

/* The partition's RTC: a claim of VRTC_PORTS ports at PLATFORM_RTC_PORT (dev: the partition), its device timer. */
extern const struct vdev_ops vrtc_ops;
uint64_t vrtc_timer(void *dev, uint64_t now);

#endif
