/*
 * virtio-console (virtio 1.2, 5.3) on the modern PCI transport
 * (virtio_pci.h): a paravirtual console that carries a buffer per VM exit
 * where the 16550 takes two exits a byte. One port, no features
 * (no F_SIZE, F_MULTIPORT or F_EMERG_WRITE): receiveq0 (0) and
 * transmitq0 (1), VIRTIO_CONSOLE_QUEUE_SIZE entries each; its
 * configuration structure reads as zeroes.
 *
 * Transmit: each chain is checked (virtqueue.h: RAM, loops, indices,
 * direction), then must be device-readable only and hold at most
 * VIRTIO_CONSOLE_CHAIN_MAX bytes; its bytes join the partition's console
 * stream (vuart_output(): what an attach shows, the log's lines), and it
 * is given back, with 0 bytes written, before the notification returns
 * (Linux's hvc put_chars waits for it). A chain refused is given back
 * unsent, logged.
 *
 * Receive: the operator's bytes (once virtio_console_in_use()) go into
 * the chains the driver posted, each filled as far as it goes; what finds
 * no chain stays with the caller (the console holds it for its next
 * poll). A chain with a device-readable buffer or refused descriptors is
 * given back empty.
 */
#ifndef HV_VDEV_VIRTIO_CONSOLE_H
#define HV_VDEV_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "uart.h"
#include "virtio_pci.h"

#define VIRTIO_CONSOLE_QUEUE_SIZE 64
#define VIRTIO_CONSOLE_SEGS 16           /* buffers of a chain (more: refused) */
#define VIRTIO_CONSOLE_CHAIN_MAX (64u << 10) /* bytes of a chain to send; Linux sends a page at most */

struct virtio_console {
	struct virtio_pci v;
	struct vuart *stream; /* the partition's console stream, which its UART feeds too */
	int written;          /* the guest sent bytes through it since its last reset (v.lock) */
};

/*
 * c set up afresh as a virtio-console function at slot of pci in partition
 * p, its output joining stream; NULL or why not.
 */
const char *virtio_console_init(struct virtio_console *c, struct partition *p, const struct vq_ram *ram,
				 struct vpci *pci, unsigned slot, struct vuart *stream);

/*
 * The guest's console is this one: its driver is ready (DRIVER_OK,
 * receiveq0 enabled) and has sent bytes through it. The operator's input
 * then goes here; else to the UART (a guest whose console is ttyS0 may
 * still load the driver, and reads nothing from hvc0).
 */
int virtio_console_in_use(struct virtio_console *c);

/* Bytes typed for the guest, into the chains it posted: how many were taken. */
size_t virtio_console_receive(struct virtio_console *c, const char *bytes, size_t n);

#endif
