#include "acpi_pm.h"

#include "clock.h"
#include "irq.h"
#include "lib/muldiv.h"
#include "partition.h"
#include "platform.h"

/*
 * Enable bits that keep what is written: each one PM1_EN defines, so that
 * ACPICA, which reads an enable back, finds it set (else it logs an error).
 * Of them, all but PCIEXP_WAKE_DIS enable an event's SCI.
 */
#define SCI_EVENTS (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | ACPI_PM1_RTC)
#define ENABLE_BITS (SCI_EVENTS | ACPI_PM1_PCIEXP_WAKE_DIS)
/* Control bits kept: SLP_EN and GBL_RLS are write-only (read 0), SCI_EN reads 1. */
#define CONTROL_KEPT (ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP)
#define TIMER_TOGGLE_SHIFT 31 /* TMR_STS: bit 31 of the 32-bit timer changed (TMR_VAL_EXT) */

void acpi_pm_reset(struct acpi_pm *pm, uint64_t tsc_hz)
{
	*pm = (struct acpi_pm){ .tsc_hz = tsc_hz };
}

static uint64_t timer_ticks(const struct acpi_pm *pm, uint64_t tsc)
{
	return mul_div(tsc, ACPI_PM_TIMER_HZ, pm->tsc_hz);
}

uint32_t acpi_pm_timer(const struct acpi_pm *pm, uint64_t tsc)
{
	return (uint32_t)timer_ticks(pm, tsc);
}

int acpi_pm_sci(const struct acpi_pm *pm)
{
	return (pm->status & pm->enable & SCI_EVENTS) != 0;
}

static void sync_timer_status(struct acpi_pm *pm, uint64_t tsc)
{
	uint64_t half = timer_ticks(pm, tsc) >> TIMER_TOGGLE_SHIFT;

	if (half != pm->timer_half)
		pm->status |= ACPI_PM1_TMR;
	pm->timer_half = half;
}

uint64_t acpi_pm_timer_due(struct acpi_pm *pm, uint64_t tsc)
{
	uint64_t next, due;

	sync_timer_status(pm, tsc);
	next = (pm->timer_half + 1) << TIMER_TOGGLE_SHIFT;
	/* The first TSC value whose tick count reaches next: the quotient's floor, or one past it. */
	due = mul_div(next, pm->tsc_hz, ACPI_PM_TIMER_HZ);
	return timer_ticks(pm, due) >= next ? due : due + 1;
}

void acpi_pm_press(struct acpi_pm *pm)
{
	pm->status |= ACPI_PM1_PWRBTN;
}

/* The claim's bytes: the registers little-endian, nothing at 6-7 (all-ones). */
static void register_image(struct acpi_pm *pm, uint64_t tsc, uint8_t image[ACPI_PM_PORTS])
{
	uint32_t timer = acpi_pm_timer(pm, tsc);
	uint16_t control = pm->control | ACPI_PM1_SCI_EN;
	unsigned i;

	image[ACPI_PM1_EVT] = (uint8_t)pm->status;
	image[ACPI_PM1_EVT + 1] = (uint8_t)(pm->status >> 8);
	image[ACPI_PM1_EVT + 2] = (uint8_t)pm->enable;
	image[ACPI_PM1_EVT + 3] = (uint8_t)(pm->enable >> 8);
	image[ACPI_PM1_CNT] = (uint8_t)control;
	image[ACPI_PM1_CNT + 1] = (uint8_t)(control >> 8);
	image[ACPI_PM1_CNT + 2] = image[ACPI_PM1_CNT + 3] = 0xff;
	for (i = 0; i < ACPI_PM_TMR_LEN; i++)
		image[ACPI_PM_TMR + i] = (uint8_t)(timer >> (8 * i));
}

void acpi_pm_read(struct acpi_pm *pm, uint64_t offset, unsigned size, uint64_t tsc, uint64_t *value)
{
	uint8_t image[ACPI_PM_PORTS];
	unsigned i;

	sync_timer_status(pm, tsc);
	register_image(pm, tsc, image);
	*value = 0;
	for (i = 0; i < size && i < 8; i++) {
		uint8_t b = offset < ACPI_PM_PORTS && i < ACPI_PM_PORTS - offset ? image[offset + i] : 0xff;
		*value |= (uint64_t)b << (8 * i);
	}
}

/* One byte of a register; 1 if it wrote SLP_EN. */
static int write_byte(struct acpi_pm *pm, unsigned port, uint8_t b)
{
	unsigned shift = 8 * (port & 1);
	uint16_t bits = (uint16_t)(b << shift), byte = (uint16_t)(0xffu << shift);

	switch (port & ~1u) {
	case ACPI_PM1_EVT:
		pm->status &= (uint16_t)~bits; /* write 1 to clear */
		return 0;
	case ACPI_PM1_EVT + 2:
		pm->enable = (uint16_t)((pm->enable & ~byte) | (bits & ENABLE_BITS));
		return 0;
	case ACPI_PM1_CNT:
		pm->control = (uint16_t)((pm->control & ~byte) | (bits & CONTROL_KEPT));
		return (bits & ACPI_PM1_SLP_EN) != 0;
	default:
		return 0; /* the timer is read-only */
	}
}

int acpi_pm_write(struct acpi_pm *pm, uint64_t offset, unsigned size, uint64_t value, uint64_t tsc)
{
	int sleep = -1;
	unsigned i;

	sync_timer_status(pm, tsc);
	for (i = 0; i < size && i < 8 && offset < ACPI_PM_PORTS && i < ACPI_PM_PORTS - offset; i++)
		if (write_byte(pm, (unsigned)offset + i, (uint8_t)(value >> (8 * i))))
			sleep = (pm->control & ACPI_PM1_SLP_TYP) >> ACPI_PM1_SLP_TYP_SHIFT;
	return sleep;
}

/* ---- the partition's PM block: the model under its lock */

/* The PM timer counts the guest's TSC, which stands still while its partition is paused. */
static uint64_t guest_tsc(const struct partition *p, uint64_t t)
{
	return t + part_clock_guest_offset(&p->clock);
}

/*
 * With the lock held: the SCI line follows status and enable. It changes
 * under the lock, so that two CPUs cannot leave it at a stale level.
 */
static void update_sci(struct partition *p)
{
	int level = acpi_pm_sci(&p->pm);

	if (level == p->pm.sci)
		return;
	p->pm.sci = level;
	irq_set_isa(p, PLATFORM_SCI_IRQ, level);
}

static void port_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	struct partition *p = dev;

	spin_lock(&p->pm.lock);
	acpi_pm_read(&p->pm, offset, size, guest_tsc(p, partition_time(p)), value);
	update_sci(p); /* TMR_STS may have come */
	spin_unlock(&p->pm.lock);
}

static void port_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct partition *p = dev;
	uint16_t tmr_en_changed;
	int sleep;

	spin_lock(&p->pm.lock);
	tmr_en_changed = p->pm.enable & ACPI_PM1_TMR;
	sleep = acpi_pm_write(&p->pm, offset, size, value, guest_tsc(p, partition_time(p)));
	update_sci(p);
	tmr_en_changed ^= p->pm.enable & ACPI_PM1_TMR;
	spin_unlock(&p->pm.lock);
	if (tmr_en_changed)
		vdev_deadline_changed(p); /* TMR_EN changed: the timer's SCI is due, or no more */
	if (sleep == PLATFORM_SLP_TYP_S5)
		partition_stop(p, "powered off");
	else if (sleep >= 0)
		partition_log_guest(p, LOG_WARN, "sleep type %d refused: only S5 (SLP_TYP %d) is offered", sleep,
				    PLATFORM_SLP_TYP_S5);
}

const struct vdev_ops acpi_pm_ops = { .read = port_read, .write = port_write };

/* The partition time at which TMR_STS is set next, while TMR_EN asks for its SCI; else 0. */
uint64_t acpi_pm_poll(void *dev, uint64_t now)
{
	struct partition *p = dev;
	uint64_t due;

	spin_lock(&p->pm.lock);
	due = acpi_pm_timer_due(&p->pm, guest_tsc(p, now));
	update_sci(p);
	if (!(p->pm.enable & ACPI_PM1_TMR))
		due = 0;
	spin_unlock(&p->pm.lock);
	return due ? due - part_clock_guest_offset(&p->clock) : 0;
}

void acpi_pm_power_button(struct partition *p)
{
	spin_lock(&p->pm.lock);
	acpi_pm_press(&p->pm);
	update_sci(p);
	spin_unlock(&p->pm.lock);
}
