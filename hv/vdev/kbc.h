/*
 * What guests still use of the 8042 keyboard controller, whose absence
 * the FADT states (IAPC_BOOT_ARCH): its reset line. Port 0x64 reads a
 * status of "output buffer empty, input buffer empty", so a guest that
 * waits to send a command sends it at once; the pulse-output-port
 * commands 0xF0-0xFF with bit 0 clear (0xFE is the usual one) pulse
 * output port bit 0, the CPU's reset line, and the partition starts
 * again from scratch (Linux's reboot=kbd, also its fallback after the
 * ACPI reset register). Other commands and data bytes are taken and
 * ignored; port 0x60 reads 0.
 */
#ifndef HV_VDEV_KBC_H
#define HV_VDEV_KBC_H

#include "bus.h"
#include "platform.h"

/* Data at PLATFORM_KBC_PORT, status and command at: */
#define VKBC_COMMAND_PORT (PLATFORM_KBC_PORT + 4)

/* Its two ports, each claimed alone (dev: the partition); 0x61 between them is the PIT's. */
extern const struct vdev_ops vkbc_data_ops, vkbc_command_ops;

#endif
