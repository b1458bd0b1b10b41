/*
 * A virtio-blk-pci driver (virtio 1.2, 4.1 and 5.2) that polls its used
 * ring: enough for well-formed requests, and a queue in our own memory
 * that the attacks fill as no driver should.
 */
#include <stdint.h>

#include "attack.h"
#include "vdev/virtio_spec.h"

#define PCI_COMMAND 0x04
#define PCI_STATUS_CAPS (1u << 20)
#define PCI_BAR0 0x10
#define PCI_CAPS 0x34
#define CMD_MEMORY 0x2
#define CMD_MASTER 0x4
#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_BLK_DEVICE 0x1042
#define WAIT_MS 3000 /* a request to a RAM or NVMe disk takes far less, and the vCPU may wait for its CPU */

static struct vq_desc desc_table[VQ_SIZE] __attribute__((aligned(4096)));
static uint16_t avail_ring[3 + VQ_SIZE] __attribute__((aligned(4096)));
static uint32_t used_ring[1 + 2 * VQ_SIZE + 1] __attribute__((aligned(4096)));
uint8_t vblk_header[16] __attribute__((aligned(16)));
uint8_t vblk_status_byte[1];
uint8_t vblk_data[4096] __attribute__((aligned(4096)));
uint32_t vblk_features;

static volatile uint8_t *common8(const struct vblk *b, unsigned off)
{
	return (volatile uint8_t *)(uintptr_t)(b->common + off);
}

void common_write16(const struct vblk *b, unsigned off, uint16_t v)
{
	*(volatile uint16_t *)common8(b, off) = v;
}

void common_write64(const struct vblk *b, unsigned off, uint64_t v)
{
	*(volatile uint32_t *)common8(b, off) = (uint32_t)v;
	*(volatile uint32_t *)common8(b, off + 4) = (uint32_t)(v >> 32);
}

uint8_t vblk_status(const struct vblk *b)
{
	return *common8(b, VIRTIO_CC_STATUS);
}

/* The BAR offset of each structure its vendor capabilities name (4.1.4). */
static void find_caps(struct vblk *b)
{
	unsigned at = pci_read(b->bdf, PCI_CAPS) & 0xfc;

	while (at) {
		uint32_t head = pci_read(b->bdf, at), offset = pci_read(b->bdf, at + VIRTIO_PCI_CAP_OFFSET);
		uint8_t type = (uint8_t)(head >> 24);
		if ((head & 0xff) == VIRTIO_PCI_CAP_VENDOR) {
			if (type == VIRTIO_PCI_CAP_COMMON)
				b->common = b->bar + offset;
			else if (type == VIRTIO_PCI_CAP_NOTIFY)
				b->notify = b->bar + offset;
			else if (type == VIRTIO_PCI_CAP_DEVICE)
				b->device = b->bar + offset;
		}
		at = (head >> 8) & 0xfc;
	}
}

int vblk_reinit(struct vblk *b)
{
	*common8(b, VIRTIO_CC_STATUS) = 0;
	while (vblk_status(b))
		;
	*common8(b, VIRTIO_CC_STATUS) = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	*(volatile uint32_t *)common8(b, VIRTIO_CC_DRIVER_FEATURE_SELECT) = 0;
	*(volatile uint32_t *)common8(b, VIRTIO_CC_DRIVER_FEATURE) = vblk_features;
	*(volatile uint32_t *)common8(b, VIRTIO_CC_DRIVER_FEATURE_SELECT) = 1;
	*(volatile uint32_t *)common8(b, VIRTIO_CC_DRIVER_FEATURE) = (uint32_t)(VIRTIO_F_VERSION_1 >> 32);
	*common8(b, VIRTIO_CC_STATUS) |= VIRTIO_STATUS_FEATURES_OK;
	if (!(vblk_status(b) & VIRTIO_STATUS_FEATURES_OK))
		return 0;
	common_write16(b, VIRTIO_CC_QUEUE_SELECT, 0);
	common_write16(b, VIRTIO_CC_QUEUE_SIZE, VQ_SIZE);
	common_write16(b, VIRTIO_CC_QUEUE_MSIX, VIRTIO_NO_VECTOR);
	common_write64(b, VIRTIO_CC_QUEUE_DESC, (uint64_t)(uintptr_t)desc_table);
	common_write64(b, VIRTIO_CC_QUEUE_DRIVER, (uint64_t)(uintptr_t)avail_ring);
	common_write64(b, VIRTIO_CC_QUEUE_DEVICE, (uint64_t)(uintptr_t)used_ring);
	for (unsigned i = 0; i < sizeof(avail_ring) / 2; i++)
		avail_ring[i] = 0;
	for (unsigned i = 0; i < sizeof(used_ring) / 4; i++)
		used_ring[i] = 0;
	b->avail_idx = b->used_seen = 0;
	common_write16(b, VIRTIO_CC_QUEUE_ENABLE, 1);
	*common8(b, VIRTIO_CC_STATUS) |= VIRTIO_STATUS_DRIVER_OK;
	return (vblk_status(b) & VIRTIO_STATUS_DRIVER_OK) != 0;
}

int vblk_open(struct vblk *b, unsigned index)
{
	unsigned dev;

	for (dev = 0; dev < 32; dev++) {
		uint32_t id = pci_read(dev << 3, 0);
		if (id != (VIRTIO_VENDOR | (uint32_t)VIRTIO_BLK_DEVICE << 16) || index--)
			continue;
		*b = (struct vblk){ .bdf = dev << 3, .desc = desc_table, .avail = avail_ring,
				    .used = (volatile uint16_t *)used_ring };
		b->bar = pci_read(b->bdf, PCI_BAR0) & ~0xfull;
		pci_write(b->bdf, PCI_COMMAND, pci_read(b->bdf, PCI_COMMAND) | CMD_MEMORY | CMD_MASTER);
		find_caps(b);
		if (!b->common || !b->notify || !b->device || !vblk_reinit(b))
			return 0;
		b->capacity = *(volatile uint64_t *)(uintptr_t)(b->device + VIRTIO_BLK_CFG_CAPACITY);
		return 1;
	}
	return 0;
}

void vblk_submit(struct vblk *b, uint16_t head)
{
	b->avail[2 + b->avail_idx % VQ_SIZE] = head;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	b->avail[1] = ++b->avail_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*(volatile uint16_t *)(uintptr_t)b->notify = 0; /* queue 0's notify_off is 0 */
}

int vblk_wait(struct vblk *b)
{
	uint64_t t0 = rdtsc(), ticks = tsc_ms(WAIT_MS);

	while (rdtsc() - t0 < ticks) {
		if (b->used[1] != b->used_seen) {
			b->used_seen = b->used[1];
			return 1;
		}
		if (vblk_status(b) & VBLK_NEEDS_RESET)
			return 0;
	}
	return 0;
}

void vblk_header_desc(struct vblk *b, uint32_t type, uint64_t sector, uint16_t next)
{
	*(uint32_t *)vblk_header = type;
	*(uint32_t *)(vblk_header + 4) = 0;
	*(uint64_t *)(vblk_header + 8) = sector;
	b->desc[0] = (struct vq_desc){ (uint64_t)(uintptr_t)vblk_header, 16, VQ_F_NEXT, next };
}

void vblk_status_desc(struct vblk *b, uint16_t i)
{
	vblk_status_byte[0] = 0xee;
	b->desc[i] = (struct vq_desc){ (uint64_t)(uintptr_t)vblk_status_byte, 1, VQ_F_WRITE, 0 };
}

int vblk_request(struct vblk *b, uint32_t type, uint64_t sector, uint64_t gpa, uint32_t len)
{
	uint16_t last = len ? 2 : 1;

	vblk_header_desc(b, type, sector, 1);
	if (len)
		b->desc[1] = (struct vq_desc){ gpa, len, (uint16_t)(VQ_F_NEXT | (type == VIRTIO_BLK_T_IN ? VQ_F_WRITE : 0)), 2 };
	vblk_status_desc(b, last);
	vblk_submit(b, 0);
	return vblk_wait(b) ? vblk_status_byte[0] : -1;
}
