/*
 * Virtual L2 switches: the only link between partitions.
 *
 * A switch has ports, each with a fixed MAC address (hv.cfg). A frame a
 * port sends waits, by reference, in that port's bounded queue; the
 * switch forwards the queues in deficit round robin (each port a quantum
 * of bytes per round), so a port that floods gets no more of the switch
 * than any other. Forwarding learns source addresses (entries age out),
 * sends a unicast frame to the port that learned its destination and
 * floods broadcast, multicast and unknown unicast to the other ports of
 * the same switch. The receiving port's device copies the frame straight
 * from the sender's buffers into buffers its guest posted, or refuses it
 * (no buffer, too big, link down): the frame is dropped and counted,
 * never waited for. A frame whose source is not its port's MAC is
 * dropped and counted at once.
 *
 * Pure and arch-neutral: time is given by the caller; each switch has its
 * own lock, taken by every function below but vsw_init and vsw_add_port
 * (the boot's, before any partition runs). The devices' deliver and
 * tx_done are called with the switch's lock held: they must not call back
 * into it, nor raise interrupts (which wake vCPUs under the scheduler's
 * lock, which is held around vsw_detach); kick, called once the lock is
 * dropped, raises what they left due.
 */
#ifndef HV_VSWITCH_H
#define HV_VSWITCH_H

#include <stddef.h>
#include <stdint.h>

#include "lib/spinlock.h"

#define VSW_NAME_MAX 40
#define VSW_PORTS_MAX 16
#define VSW_QUEUE_LEN 32            /* frames a port may have waiting */
#define VSW_FDB_BUCKETS 16
#define VSW_FDB_WAYS 4              /* entries per bucket: 64 per switch, 4x its ports */
#define VSW_AGE_NS (300ull * 1000000000ull) /* IEEE 802.1D's default ageing time, 300 s */
#define VSW_QUANTUM 4096            /* bytes a port may forward per round, over a 64 KiB frame's share */
#define VSW_ETH_HEADER 14
#define VSW_FRAME_MAX (65535 + VSW_ETH_HEADER) /* an IPv4 or IPv6 packet of 64 KiB with its header */
#define VSW_MAC_LEN 6

/* Why a frame was dropped; counted per port (the sender's or the receiver's). */
enum vsw_drop {
	VSW_DROP_NONE,       /* not dropped (vsw_send queued it); no counter */
	VSW_DROP_SPOOFED,    /* sender: source MAC not the port's */
	VSW_DROP_MALFORMED,  /* sender: shorter than an Ethernet header, longer than VSW_FRAME_MAX, or its
			      * checksum field outside it or in its Ethernet header */
	VSW_DROP_BAD_CHAIN,  /* its descriptors (to send, or posted to receive) were refused by the device */
	VSW_DROP_QUEUE_FULL, /* sender: its queue held VSW_QUEUE_LEN frames */
	VSW_DROP_NO_BUFFER,  /* receiver: no buffer posted */
	VSW_DROP_TOO_BIG,    /* receiver: its posted buffers cannot hold the frame */
	VSW_DROP_LINK_DOWN,  /* receiver: no device, or its driver is not ready */
	VSW_DROP_REASONS,
};

/* The result of vsw_port_ops.deliver: delivered, else the receiver's reason. */
enum vsw_rx_result { VSW_RX_OK = VSW_DROP_NONE, VSW_RX_NO_BUFFER = VSW_DROP_NO_BUFFER, VSW_RX_TOO_BIG = VSW_DROP_TOO_BIG,
		     VSW_RX_DOWN = VSW_DROP_LINK_DOWN, VSW_RX_BAD_CHAIN = VSW_DROP_BAD_CHAIN };

/* A piece of a frame in the sender's memory, as the hypervisor sees it. */
struct vsw_seg {
	const uint8_t *data;
	uint32_t len;
};

/* A frame by reference: valid until its sender's tx_done. */
struct vsw_frame {
	const struct vsw_seg *segs;
	uint32_t nsegs;
	uint32_t len;  /* the sum of the segments' lengths */
	void *cookie;  /* the sender's, given back to tx_done */
	/*
	 * Checksum offload (virtio 1.2 5.1.6.2): when csum_partial, the
	 * Internet checksum of the bytes from csum_start to the end is still
	 * to be folded into the 16 bits at csum_start + csum_offset, which
	 * hold the pseudo-header's sum. vsw_send refuses a frame whose field
	 * is not inside it, past its Ethernet header: a receiver's copy may
	 * get the checksum written in, never into the addresses.
	 */
	uint16_t csum_start, csum_offset;
	uint8_t csum_partial;
};

struct vsw_port_ops {
	/* Copies the frame into the device's posted buffers; VSW_RX_OK or why not. */
	enum vsw_rx_result (*deliver)(void *dev, const struct vsw_frame *f);
	/* The switch is done with a frame the device sent (forwarded or dropped). */
	void (*tx_done)(void *dev, void *cookie);
	/* After deliveries or tx_done to the device, without the switch's lock: its interrupts. */
	void (*kick)(void *dev);
};

struct vsw_counters {
	uint64_t tx_frames, tx_bytes; /* forwarded from the port */
	uint64_t rx_frames, rx_bytes; /* delivered to the port */
	uint64_t drops[VSW_DROP_REASONS]; /* by enum vsw_drop; [VSW_DROP_NONE] stays 0 */
};

struct vsw_port {
	char name[VSW_NAME_MAX];     /* "PARTITION.N" */
	uint8_t mac[VSW_MAC_LEN];
	const struct vsw_port_ops *ops; /* NULL: no device attached */
	void *dev;
	uint32_t head, count;        /* its queue */
	uint32_t deficit;            /* bytes it may still forward this round */
	struct vsw_frame queue[VSW_QUEUE_LEN];
	struct vsw_counters stats;
};

struct vsw_fdb_entry {
	uint8_t mac[VSW_MAC_LEN];
	uint8_t port;
	uint8_t valid;
	uint64_t seen_ns;
};

struct vswitch {
	struct spinlock lock;
	char name[VSW_NAME_MAX];
	uint32_t nports;
	uint32_t next;               /* the port whose turn it is */
	int mid_turn;                /* next's turn was cut short by a budget */
	struct vsw_port ports[VSW_PORTS_MAX];
	struct vsw_fdb_entry fdb[VSW_FDB_BUCKETS][VSW_FDB_WAYS];
};

void vsw_init(struct vswitch *sw, const char *name);
/* A port with its fixed MAC; NULL when the switch has VSW_PORTS_MAX. */
struct vsw_port *vsw_add_port(struct vswitch *sw, const char *name, const uint8_t mac[VSW_MAC_LEN]);

/* A device on the port (its partition started) or none (stopped): frames it queued are forgotten. */
void vsw_attach(struct vswitch *sw, struct vsw_port *port, const struct vsw_port_ops *ops, void *dev);
void vsw_detach(struct vswitch *sw, struct vsw_port *port);

/*
 * Queues a frame the port sends. Returns VSW_DROP_NONE when queued
 * (tx_done follows), else the reason it was dropped and counted (no tx_done).
 */
enum vsw_drop vsw_send(struct vswitch *sw, struct vsw_port *port, const struct vsw_frame *f);
/* Forwards at most budget queued frames; returns how many. */
uint32_t vsw_forward(struct vswitch *sw, uint64_t now_ns, uint32_t budget);
/* A drop the device saw before the switch did (VSW_DROP_BAD_CHAIN). */
void vsw_count_drop(struct vswitch *sw, struct vsw_port *port, enum vsw_drop why);

/* The port index that learned mac and has not aged out, or -1. */
int vsw_lookup(struct vswitch *sw, const uint8_t mac[VSW_MAC_LEN], uint64_t now_ns);
/* A copy of a port's counters, taken under the lock. */
void vsw_port_counters(struct vswitch *sw, const struct vsw_port *port, struct vsw_counters *out);
const char *vsw_drop_name(enum vsw_drop why);
/* Copies up to n bytes of the frame from offset off; returns how many. */
uint32_t vsw_frame_read(const struct vsw_frame *f, uint32_t off, uint8_t *buf, uint32_t n);
/*
 * The checksum a csum_partial frame (accepted by vsw_send) carries once
 * complete, as its field's two bytes in network order: the one's
 * complement of the one's complement sum (RFC 1071) of its bytes from
 * csum_start, a zero sent as 0xffff (RFC 768; the same number for TCP).
 */
void vsw_frame_csum(const struct vsw_frame *f, uint8_t out[2]);

#endif
