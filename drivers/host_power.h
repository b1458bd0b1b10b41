/* Resetting and powering off the host machine: the console's reboot and poweroff. */
#ifndef DRIVERS_HOST_POWER_H
#define DRIVERS_HOST_POWER_H

/*
 * Resets the machine: the FADT's reset register, then port 0xCF9, then
 * the keyboard controller; if the machine is still there, says so and
 * halts. Every partition ends with it.
 */
void __attribute__((noreturn)) host_reset(void);

/*
 * Powers the machine off through its ACPI PM1 control blocks with the
 * DSDT's \_S5 sleep type; returns why it could not (nothing found to do
 * it with, or the machine is still on a second later).
 */
const char *host_poweroff(void);

#endif
