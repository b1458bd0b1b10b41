/* A partition's 16550 at 0x3F8: its bytes go to the console, a line at a time. */
#ifndef HV_VDEV_UART_H
#define HV_VDEV_UART_H

#include <stdint.h>

#include "bus.h"
#include "lib/spinlock.h"

#define VUART_BASE 0x3f8
#define VUART_PORTS 8
#define VUART_LINE_MAX 160

struct vuart {
	struct spinlock lock; /* of all below: vCPUs of one partition run on several CPUs */
	const char *owner;   /* partition name, put before each line */
	uint8_t lcr, ier, mcr, scr, dll, dlm;
	unsigned len;
	char line[VUART_LINE_MAX];
};

void vuart_init(struct vuart *u, const char *owner);
/* Its registers, for a claim of VUART_PORTS ports from VUART_BASE (dev: the struct vuart). */
extern const struct vdev_ops vuart_ops;
/* Shows a partial line (when the partition stops). */
void vuart_flush(struct vuart *u);

#endif
