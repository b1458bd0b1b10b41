/*
 * What the tests of PCI devices share: the partition their devices
 * belong to, the interrupt lines those raise, the guest-caused log lines,
 * and the guest's port and MMIO accesses through the partition's bus.
 * Each test defines irq_deliver() itself: where an MSI may go differs.
 */
#ifndef TESTS_UNIT_FAKE_PCI_GUEST_H
#define TESTS_UNIT_FAKE_PCI_GUEST_H

#include <stdint.h>

#include "partition.h"
#include "vdev/irq.h"

extern struct partition part;
extern int lines[IRQ_GSIS];   /* each GSI's level as last set */
extern unsigned line_calls;   /* irq_set_line() calls */
extern char guest_line[256];  /* the last guest-caused log line */
extern unsigned guest_lines;  /* guest-caused log lines */
/* Called with each guest-caused log line when set. */
extern void (*on_guest_line)(const char *line);

/* Zeroes the counters, the lines and the last log line; on_guest_line stays. */
void fake_pci_guest_reset(void);

uint64_t port_in(uint16_t port, unsigned size);
void port_out(uint16_t port, unsigned size, uint64_t v);
uint64_t mmio_in(uint64_t gpa, unsigned size);
void mmio_out(uint64_t gpa, unsigned size, uint64_t v);

#endif
