/*
 * The partition's ACPI fixed hardware (ACPI 6.4, 4.8 "ACPI Hardware
 * Features"), at PLATFORM_ACPI_PM_PORT as the FADT says: the PM1a event
 * block (PM1_STS, PM1_EN), PM1a control, and the 32-bit PM timer. The
 * system is always in ACPI mode (the FADT has no SMI command port), so
 * SCI_EN always reads 1. The SCI is ISA IRQ 9, level-triggered, asserted
 * while a status bit is set whose enable bit is set.
 *
 * SLP_EN with SLP_TYP = PLATFORM_SLP_TYP_S5 (the DSDT's \_S5) powers the
 * partition off; there is no other sleep state. The power button is a
 * fixed feature: acpi_pm_power_button() presses it, and a guest that
 * enabled it (Linux does) shuts down and powers off through \_S5.
 *
 * The model is pure: time comes in as the guest's TSC (ticks since the
 * partition started, at tsc_hz), and what a write asks for goes out as
 * its return value. The caller holds `lock`. The partition's glue at the
 * end of acpi_pm.c does that and raises the SCI.
 */
#ifndef HV_VDEV_ACPI_PM_H
#define HV_VDEV_ACPI_PM_H

#include <stdint.h>

#include "bus.h"
#include "lib/spinlock.h"

/* Offsets from PLATFORM_ACPI_PM_PORT: one claim of ACPI_PM_PORTS ports. */
#define ACPI_PM1_EVT 0 /* PM1_STS (2 bytes), then PM1_EN (2 bytes) */
#define ACPI_PM1_EVT_LEN 4
#define ACPI_PM1_CNT 4
#define ACPI_PM1_CNT_LEN 2
#define ACPI_PM_TMR 8
#define ACPI_PM_TMR_LEN 4
#define ACPI_PM_PORTS 12

#define ACPI_PM_TIMER_HZ 3579545ull /* "Power Management Timer" */

/* PM1 status and enable bits ("PM1 Event Grouping", Tables 4.11 and 4.12). */
#define ACPI_PM1_TMR 0x0001u
#define ACPI_PM1_GBL 0x0020u
#define ACPI_PM1_PWRBTN 0x0100u
#define ACPI_PM1_SLPBTN 0x0200u
#define ACPI_PM1_RTC 0x0400u
#define ACPI_PM1_PCIEXP_WAKE_DIS 0x4000u /* enable register only */

/* PM1 control bits ("PM1 Control Grouping", Table 4.13). */
#define ACPI_PM1_SCI_EN 0x0001u
#define ACPI_PM1_BM_RLD 0x0002u
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP (7u << ACPI_PM1_SLP_TYP_SHIFT)
#define ACPI_PM1_SLP_EN 0x2000u

struct acpi_pm {
	struct spinlock lock;
	uint64_t tsc_hz;     /* rate of the guest's TSC, which the timer counts from */
	uint64_t timer_half; /* the timer's count >> 31 when TMR_STS was last brought up to date */
	uint16_t status, enable, control;
	int sci;             /* the level the SCI line was last set to (glue) */
};

/* As at power-on: no status, nothing enabled. */
void acpi_pm_reset(struct acpi_pm *pm, uint64_t tsc_hz);

/* The PM timer's 32 bits at guest TSC tsc. */
uint32_t acpi_pm_timer(const struct acpi_pm *pm, uint64_t tsc);

/* 1 while the SCI is to be asserted. */
int acpi_pm_sci(const struct acpi_pm *pm);

/* An access of size bytes at offset in the claim (each byte a register's byte; past them: all-ones, ignored). */
void acpi_pm_read(struct acpi_pm *pm, uint64_t offset, unsigned size, uint64_t tsc, uint64_t *value);
/* The SLP_TYP the guest asked to enter (it wrote SLP_EN), else -1. */
int acpi_pm_write(struct acpi_pm *pm, uint64_t offset, unsigned size, uint64_t value, uint64_t tsc);

/* Sets PWRBTN_STS. */
void acpi_pm_press(struct acpi_pm *pm);

/* Brings TMR_STS up to date at tsc; the guest TSC at which it is set next. */
uint64_t acpi_pm_timer_due(struct acpi_pm *pm, uint64_t tsc);

/* ---- the partition's PM block (dev: the partition, whose `pm` it is) */

/* Its registers, for a claim of ACPI_PM_PORTS ports at PLATFORM_ACPI_PM_PORT. */
extern const struct vdev_ops acpi_pm_ops;
/* Its device timer (clock.h): the SCI of TMR_STS, while TMR_EN is set. */
uint64_t acpi_pm_poll(void *dev, uint64_t now);

struct partition;

/* The power button, pressed (the operator's graceful stop); p is running. */
void acpi_pm_power_button(struct partition *p);

#endif
