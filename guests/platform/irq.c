/*
 * ISA interrupts: through the I/O APIC (82093AA datasheet) at the GSI the
 * MADT's overrides give (the PIT's IRQ 0 and the RTC's periodic IRQ 8),
 * and through the 8259A pair, remapped and masked, into LINT0 as ExtINT
 * (virtual wire mode, MultiProcessor Specification 1.4, 3.6.2.2).
 */
#include <stdint.h>

#include "platform.h"

#define PIC1 0x20
#define PIC2 0xa0
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPIC_REDTBL 0x10
#define RTE_LEVEL (1u << 15)
#define RTE_ACTIVE_LOW (1u << 13)
#define LVT_EXTINT 0x700
#define RTC_A_DIVIDER 0x20 /* 32.768 kHz time base */
#define RTC_RATE_256HZ 8   /* 32768 >> (8 - 1) */
#define RTC_B_PIE 0x40
#define PIT_DIVISOR 4773   /* about 250 Hz */
/*
 * QEMU's own RTC, the reference, runs its periodic interrupt up to 3 %
 * slow on a busy host (TCG): the check is of the interrupt's routing and
 * its rate within 5 %.
 */
#define RTC_TOLERANCE 50
#define SAMPLES 40         /* interrupts whose gaps are measured */

/* ICW1-4 (8259A datasheet): edge, cascade on IRQ 2, 8086 mode; vectors 0x20-0x2F; all masked. */
void pic_init(void)
{
	outb(PIC1, 0x11);
	outb(PIC2, 0x11);
	outb(PIC1 + 1, VEC_PIC_BASE);
	outb(PIC2 + 1, VEC_PIC_BASE + 8);
	outb(PIC1 + 1, 1u << 2);
	outb(PIC2 + 1, 2);
	outb(PIC1 + 1, 0x01);
	outb(PIC2 + 1, 0x01);
	outb(PIC1 + 1, 0xff);
	outb(PIC2 + 1, 0xff);
}

uint32_t ioapic_read(unsigned reg)
{
	mmio_write32(pf.ioapic_addr + IOREGSEL, reg);
	return mmio_read32(pf.ioapic_addr + IOWIN);
}

void ioapic_write(unsigned reg, uint32_t value)
{
	mmio_write32(pf.ioapic_addr + IOREGSEL, reg);
	mmio_write32(pf.ioapic_addr + IOWIN, value);
}

static unsigned rte_of(unsigned irq)
{
	return IOAPIC_REDTBL + 2 * (pf.irq_gsi[irq] - pf.ioapic_gsi_base);
}

/* The ISA IRQ's GSI, to the BSP at vector; ISA defaults (edge, active high) unless the override says. */
void ioapic_route(unsigned irq, unsigned vector)
{
	uint16_t polarity = pf.irq_flags[irq] & 3, trigger = pf.irq_flags[irq] >> 2 & 3;
	uint32_t low = vector;

	if (polarity == 3)
		low |= RTE_ACTIVE_LOW;
	if (trigger == 3)
		low |= RTE_LEVEL;
	ioapic_write(rte_of(irq) + 1, lapic_id() << 24);
	ioapic_write(rte_of(irq), low);
}

void ioapic_mask(unsigned irq)
{
	ioapic_write(rte_of(irq), LVT_MASKED);
}

/* Channel 0, mode 2 (rate generator): an interrupt every divisor input clocks. */
void pit_periodic(unsigned divisor)
{
	outb(PIT_CMD, 0x34);
	outb(PIT_CH0, (uint8_t)divisor);
	outb(PIT_CH0, (uint8_t)(divisor >> 8));
}

void check_ioapic_pit(void)
{
	uint64_t want = PIT_DIVISOR * pf.tsc_hz / PIT_HZ, typical;
	unsigned attempts;

	if (!pf.ioapic_addr) {
		report("ioapic_pit", FAIL, "no I/O APIC in the MADT");
		return;
	}
	ioapic_route(0, VEC_PIT);
	pit_periodic(PIT_DIVISOR);
	typical = typical_gap(VEC_PIT, SAMPLES, want, RATE_TOLERANCE, &attempts);
	ioapic_mask(0);
	report("ioapic_pit", per_mille_off(typical, want) <= RATE_TOLERANCE ? PASS : FAIL,
	       "irq0 -> gsi%u (rte 0x%x): median_us=%llu want_us=%llu off_per_mille=%d attempts=%u", pf.irq_gsi[0],
	       rte_of(0), (unsigned long long)(typical * 1000000 / pf.tsc_hz),
	       (unsigned long long)(want * 1000000 / pf.tsc_hz), (int)per_mille_off(typical, want), attempts);
}

static void rtc_ack(void)
{
	rtc_read(0x0c); /* reading register C clears the flags and lets the next interrupt out */
}

void check_ioapic_rtc(void)
{
	uint64_t want = pf.tsc_hz / 256, typical;
	unsigned attempts;
	uint8_t b = rtc_read(0x0b);

	if (!pf.ioapic_addr) {
		report("ioapic_rtc", FAIL, "no I/O APIC in the MADT");
		return;
	}
	set_irq_hook(VEC_RTC, rtc_ack);
	ioapic_route(8, VEC_RTC);
	rtc_write(0x0a, RTC_A_DIVIDER | RTC_RATE_256HZ);
	rtc_write(0x0b, b | RTC_B_PIE);
	rtc_ack();
	typical = typical_gap(VEC_RTC, SAMPLES, want, RTC_TOLERANCE, &attempts);
	rtc_write(0x0b, b & ~RTC_B_PIE);
	ioapic_mask(8);
	rtc_ack();
	report("ioapic_rtc", per_mille_off(typical, want) <= RTC_TOLERANCE ? PASS : FAIL,
	       "irq8 -> gsi%u periodic 256 Hz: median_us=%llu want_us=%llu off_per_mille=%d attempts=%u",
	       pf.irq_gsi[8], (unsigned long long)(typical * 1000000 / pf.tsc_hz),
	       (unsigned long long)(want * 1000000 / pf.tsc_hz), (int)per_mille_off(typical, want), attempts);
}

/*
 * Remapped to 0x20, IRQ 0 alone unmasked: the PIT's interrupts come at
 * vector 0x20 through LINT0 (ExtINT); masked in the IMR, none come.
 */
void check_pic(void)
{
	uint64_t want = PIT_DIVISOR * pf.tsc_hz / PIT_HZ, typical;
	unsigned attempts;
	uint8_t imr;
	int quiet;

	lapic_write(APIC_LVT_LINT0, LVT_EXTINT);
	outb(PIC1 + 1, 0xfe);
	imr = inb(PIC1 + 1);
	pit_periodic(PIT_DIVISOR);
	typical = typical_gap(VEC_PIC_BASE, SAMPLES, want, RATE_TOLERANCE, &attempts);
	outb(PIC1 + 1, 0xff);
	delay(want); /* one in flight when the mask came may still land */
	watch_vector(VEC_PIC_BASE);
	quiet = !wait_irqs(VEC_PIC_BASE, 1, 20 * want);
	lapic_write(APIC_LVT_LINT0, LVT_MASKED | LVT_EXTINT);
	report("pic", imr == 0xfe && per_mille_off(typical, want) <= RATE_TOLERANCE && quiet ? PASS : FAIL,
	       "ICW2 0x20/0x28, imr=0x%02x: irq0 at vector 0x20 via LINT0 ExtINT median_us=%llu off_per_mille=%d "
	       "attempts=%u; masked: %u in %llu ms",
	       imr, (unsigned long long)(typical * 1000000 / pf.tsc_hz), (int)per_mille_off(typical, want), attempts,
	       irq_count[VEC_PIC_BASE], (unsigned long long)(20 * want * 1000 / pf.tsc_hz));
}
