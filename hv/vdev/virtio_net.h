/*
 * virtio-net (virtio 1.2, 5.1) on the modern PCI transport (virtio_pci.h):
 * a partition's port on a virtual switch (hv/vswitch.h).
 *
 * Features: MAC (its port's, from hv.cfg), STATUS (link up while the
 * port is attached), CSUM and GUEST_CSUM, with the transport's VERSION_1,
 * EVENT_IDX and INDIRECT_DESC. Not offered: MRG_RXBUF, GSO and the
 * control queue. A driver then posts receive buffers that each hold a
 * whole frame (5.1.6.3.1: at least 1526 bytes, a 1514-byte frame and the
 * header; Linux's "small buffers" take 1530, for a VLAN tag too), and
 * sends frames of at most VIRTIO_NET_FRAME_MAX. One queue pair:
 * receiveq1 (0) and transmitq1 (1), 256 entries each.
 *
 * Transmit: each chain is checked (virtqueue.h: RAM, loops, indices,
 * direction), then must be device-readable only and hold the 12-byte
 * virtio_net_hdr (5.1.6) with no flag but NEEDS_CSUM (with CSUM) and no
 * GSO, then an Ethernet frame
 * of 14 to VIRTIO_NET_FRAME_MAX bytes; anything else is given back unsent
 * and counted (bad_chain, malformed). The frame's Ethernet header is copied
 * into the hypervisor, so the switch checks and forwards a source address
 * the guest can no longer change; the rest stays in the guest's buffers,
 * by reference, until the switch is done with it. At most VSW_QUEUE_LEN
 * frames of a device are with the switch: further chains wait in the ring.
 *
 * Receive: a frame is copied once, from the sender's buffers into the
 * next chain this driver posted, after a virtio_net_hdr with num_buffers
 * 1. A frame sent with NEEDS_CSUM keeps it, csum_start and csum_offset
 * for a driver that took GUEST_CSUM; for one that did not, the hypervisor
 * writes the completed checksum into the copy (the sender's buffers are
 * only read). Other frames come with no flags. A chain that cannot hold it whole is given back empty
 * (too_big); no chain posted: the frame is lost (no_buffer); a chain with
 * a device-readable buffer or refused descriptors is given back empty
 * (bad_chain).
 */
#ifndef HV_VDEV_VIRTIO_NET_H
#define HV_VDEV_VIRTIO_NET_H

#include <stdint.h>

#include "virtio_pci.h"
#include "vswitch.h"

#define VIRTIO_NET_HDR_LEN 12        /* struct virtio_net_hdr with num_buffers (5.1.6) */
#define VIRTIO_NET_FRAME_MAX 1518    /* 1500 bytes of payload, an Ethernet header and a VLAN tag */
#define VIRTIO_NET_TX_SEGS 16        /* buffers of a chain to send (more: bad_chain) */
#define VIRTIO_NET_RX_SEGS 16        /* of a chain to receive into */
#define VIRTIO_NET_QUEUE_SIZE 256

/* A frame the switch holds: where it is in the guest's buffers, its Ethernet header copied. */
struct virtio_net_tx {
	int busy;
	uint32_t resets;   /* the transport's reset count when it was taken */
	uint16_t head;
	uint8_t eth[VSW_ETH_HEADER];
	struct vsw_seg segs[VIRTIO_NET_TX_SEGS + 1];
};

struct virtio_net {
	struct virtio_pci v;
	struct vswitch *sw;
	struct vsw_port *port;
	uint8_t mac[VSW_MAC_LEN];
	int link_up;       /* attached to its port (v.lock) */
	struct virtio_net_tx tx[VSW_QUEUE_LEN];
};

/*
 * n set up afresh as a virtio-net function at slot of pci in partition p,
 * for port of sw (its MAC); NULL or why not. The port is attached by
 * virtio_net_attach() once the partition is about to run.
 */
const char *virtio_net_init(struct virtio_net *n, struct partition *p, const struct vq_ram *ram, struct vpci *pci,
			    unsigned slot, struct vswitch *sw, struct vsw_port *port);
void virtio_net_attach(struct virtio_net *n);
/* Before the partition's memory goes: the switch forgets the frames it held of n. */
void virtio_net_detach(struct virtio_net *n);

#endif
