/* What the PCI device fuzzers' partition is without the rest of the
 * hypervisor: guest log lines dropped, interrupt lines not wired. Each
 * target defines irq_deliver() itself: where an MSI may go differs. */
#include <stdarg.h>
#include <stdlib.h>

#include "partition.h"
#include "vdev/irq.h"

void partition_log_guest(struct partition *p, enum log_level level, const char *f, ...)
{
	(void)p;
	(void)level;
	(void)f;
}

void irq_set_line(struct partition *p, unsigned gsi, int level)
{
	(void)p;
	(void)gsi;
	(void)level;
}

void pic_set_irq(struct partition *p, unsigned irq, int level)
{
	(void)p;
	(void)irq;
	(void)level;
	abort(); /* a PCI function never drives an ISA line */
}
