/*
 * virtio 1.2 constants that both sides of the spec use: the partitions'
 * devices (virtio_pci.c, virtio_blk.c) and the host driver of a virtio-blk
 * disk (drivers/virtio_blk_host.c). The split virtqueue's layout is in
 * virtqueue.h.
 */
#ifndef HV_VDEV_VIRTIO_SPEC_H
#define HV_VDEV_VIRTIO_SPEC_H

/* Vendor-specific PCI capability (4.1.4): ID, lengths with and without the notify multiplier, cfg_type values. */
#define VIRTIO_PCI_CAP_VENDOR 0x09
#define VIRTIO_PCI_CAP_LEN 16
#define VIRTIO_PCI_CAP_NOTIFY_LEN 20
#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_ISR 3
#define VIRTIO_PCI_CAP_DEVICE 4
/* Fields of the capability (struct virtio_pci_cap, 4.1.4). */
#define VIRTIO_PCI_CAP_CAP_LEN 2
#define VIRTIO_PCI_CAP_CFG_TYPE 3
#define VIRTIO_PCI_CAP_BAR 4
#define VIRTIO_PCI_CAP_OFFSET 8
#define VIRTIO_PCI_CAP_LENGTH 12
#define VIRTIO_PCI_CAP_MULTIPLIER 16

/* Common configuration fields (4.1.4.3). */
#define VIRTIO_CC_DEVICE_FEATURE_SELECT 0x00
#define VIRTIO_CC_DEVICE_FEATURE 0x04
#define VIRTIO_CC_DRIVER_FEATURE_SELECT 0x08
#define VIRTIO_CC_DRIVER_FEATURE 0x0c
#define VIRTIO_CC_CONFIG_MSIX 0x10
#define VIRTIO_CC_NUM_QUEUES 0x12
#define VIRTIO_CC_STATUS 0x14
#define VIRTIO_CC_GENERATION 0x15
#define VIRTIO_CC_QUEUE_SELECT 0x16
#define VIRTIO_CC_QUEUE_SIZE 0x18
#define VIRTIO_CC_QUEUE_MSIX 0x1a
#define VIRTIO_CC_QUEUE_ENABLE 0x1c
#define VIRTIO_CC_QUEUE_NOTIFY_OFF 0x1e
#define VIRTIO_CC_QUEUE_DESC 0x20
#define VIRTIO_CC_QUEUE_DRIVER 0x28
#define VIRTIO_CC_QUEUE_DEVICE 0x30
#define VIRTIO_CC_SIZE 0x38
#define VIRTIO_NO_VECTOR 0xffff /* in CONFIG_MSIX and QUEUE_MSIX: none (4.1.5.1.2) */

/* Device status (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* Reserved feature bits (6). */
#define VIRTIO_F_INDIRECT_DESC (1ull << 28)
#define VIRTIO_F_EVENT_IDX (1ull << 29)
#define VIRTIO_F_VERSION_1 (1ull << 32)
#define VIRTIO_F_ACCESS_PLATFORM (1ull << 33)

/* virtio-blk's configuration structure (5.2.4). */
#define VIRTIO_BLK_CFG_CAPACITY 0x00 /* in 512-byte sectors, whatever the block size */
#define VIRTIO_BLK_CFG_SIZE_MAX 0x08
#define VIRTIO_BLK_CFG_SEG_MAX 0x0c
#define VIRTIO_BLK_CFG_BLK_SIZE 0x14
#define VIRTIO_BLK_CFG_NUM_QUEUES 0x22
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 0x24
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG 0x28
#define VIRTIO_BLK_CFG_DISCARD_ALIGNMENT 0x2c
#define VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS 0x30
#define VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG 0x34

/* virtio-blk request header, types and statuses (5.2.6). */
#define VIRTIO_BLK_HEADER_SIZE 16 /* struct virtio_blk_req's type, reserved, sector */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

/* virtio-blk feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX (1ull << 1)
#define VIRTIO_BLK_F_SEG_MAX (1ull << 2)
#define VIRTIO_BLK_F_RO (1ull << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1ull << 6)
#define VIRTIO_BLK_F_FLUSH (1ull << 9)
#define VIRTIO_BLK_F_DISCARD (1ull << 13)
#define VIRTIO_BLK_F_WRITE_ZEROES (1ull << 14)

#endif
