/* The fake partition around the PCI device tests (fake_pci_guest.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_pci_guest.h"
#include "vdev/bus.h"

struct partition part;
int lines[IRQ_GSIS];
unsigned line_calls;
char guest_line[256];
unsigned guest_lines;
void (*on_guest_line)(const char *line);

void fake_pci_guest_reset(void)
{
	memset(lines, 0, sizeof(lines));
	line_calls = guest_lines = 0;
	guest_line[0] = 0;
}

void partition_log_guest(struct partition *p, enum log_level level, const char *f, ...)
{
	va_list ap;

	(void)p;
	(void)level;
	va_start(ap, f);
	vsnprintf(guest_line, sizeof(guest_line), f, ap);
	va_end(ap);
	guest_lines++;
	if (on_guest_line)
		on_guest_line(guest_line);
}

void irq_set_line(struct partition *p, unsigned gsi, int level)
{
	assert_ptr_equal(p, &part);
	assert_true(gsi < IRQ_GSIS);
	lines[gsi] = level;
	line_calls++;
}

/* PCI lines are GSIs 16-23: an ISA line (the 8259 pair's) is never a PCI function's to raise. */
void pic_set_irq(struct partition *p, unsigned irq, int level)
{
	(void)p;
	(void)irq;
	(void)level;
	fail_msg("a PCI function raised an ISA line");
}

uint64_t port_in(uint16_t port, unsigned size)
{
	uint64_t v = 0x5a5a5a5a5a5a5a5aull;

	vdev_port_access(&part, port, size, 0, &v);
	return v;
}

void port_out(uint16_t port, unsigned size, uint64_t v)
{
	vdev_port_access(&part, port, size, 1, &v);
}

uint64_t mmio_in(uint64_t gpa, unsigned size)
{
	uint64_t v = 0x5a5a5a5a5a5a5a5aull;

	vdev_mmio_access(&part, gpa, size, 0, &v);
	return v;
}

void mmio_out(uint64_t gpa, unsigned size, uint64_t v)
{
	vdev_mmio_access(&part, gpa, size, 1, &v);
}
