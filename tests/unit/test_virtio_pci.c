/*
 * The virtio 1.x PCI transport (hv/vdev/virtio_pci.c) as a guest's driver
 * reaches it (virtio 1.2, 4.1): through ECAM and its BAR on a partition's
 * bus, with a fake device type behind it. Capabilities, feature
 * negotiation and the driver's bad choices, device status and reset,
 * queue set-up checked against RAM, notifications, MSI-X vectors, INTx
 * with the ISR, DEVICE_NEEDS_RESET for a broken ring.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/le.h"
#include "fake_pci_guest.h"
#include "partition.h"
#include "vdev/irq.h"
#include "vdev/pci.h"
#include "vdev/platform.h"
#include "vdev/virtio_pci.h"

#define RAM (1u << 20)
#define SLOT 3
#define ECAM(reg) (PLATFORM_ECAM_BASE + (SLOT << 15) + (reg))
#define BAR0 0xc0000000ull
#define BAR1 0xc0004000ull /* the MSI-X table */
#define QUEUES 2
#define QMAX 64
#define MSGS_MAX 16

/* Common configuration (4.1.4.3). */
#define DF_SELECT 0x00
#define DF 0x04
#define GF_SELECT 0x08
#define GF 0x0c
#define CONFIG_MSIX 0x10
#define NUM_QUEUES 0x12
#define STATUS 0x14
#define GENERATION 0x15
#define Q_SELECT 0x16
#define Q_SIZE 0x18
#define Q_MSIX 0x1a
#define Q_ENABLE 0x1c
#define Q_NOTIFY_OFF 0x1e
#define Q_DESC 0x20
#define Q_DRIVER 0x28
#define Q_DEVICE 0x30

#define FEATURE_OWN (1ull << 5)

static struct cfg_partition cfg = { .name = "t" };
static struct virtio_pci vp;
static uint8_t *ram;
static struct irq_msg msgs[MSGS_MAX];
static unsigned nmsgs;

/* The fake device type: what the transport told it. */
static unsigned notified[QUEUES], type_resets;
static uint8_t type_config[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

int irq_deliver(struct partition *p, const struct irq_msg *m)
{
	assert_ptr_equal(p, &part);
	assert_true(nmsgs < MSGS_MAX);
	msgs[nmsgs++] = *m;
	return 0;
}

static void fake_config_read(struct virtio_pci *v, unsigned offset, unsigned size, uint64_t *value)
{
	unsigned i;

	assert_ptr_equal(v, &vp);
	assert_true(offset + size <= sizeof(type_config));
	*value = 0;
	for (i = 0; i < size; i++)
		*value |= (uint64_t)type_config[offset + i] << (8 * i);
}

static void fake_config_write(struct virtio_pci *v, unsigned offset, unsigned size, uint64_t value)
{
	assert_ptr_equal(v, &vp);
	assert_true(offset + size <= sizeof(type_config));
	type_config[offset] = (uint8_t)value;
}

static void fake_notify(struct virtio_pci *v, unsigned queue)
{
	assert_ptr_equal(v, &vp);
	assert_true(queue < QUEUES);
	notified[queue]++;
}

static void fake_reset(struct virtio_pci *v)
{
	assert_ptr_equal(v, &vp);
	type_resets++;
}

static const struct virtio_type fake = {
	.device_id = 2, .class_code = 0x018000, .features = FEATURE_OWN, .queues = QUEUES, .queue_size = QMAX,
	.config_size = sizeof(type_config), .config_read = fake_config_read, .config_write = fake_config_write,
	.notify = fake_notify, .reset = fake_reset,
};

static int setup(void **state)
{
	struct vq_ram r;

	(void)state;
	ram = aligned_alloc(4096, RAM);
	memset(ram, 0, RAM);
	r = (struct vq_ram){ .base = ram, .pa = 0x80000000, .size = RAM };
	part = (struct partition){ .cfg = &cfg, .ram_size = RAM };
	memset(notified, 0, sizeof(notified));
	fake_pci_guest_reset();
	type_resets = nmsgs = 0;
	vdev_bus_init(&part.bus);
	assert_null(vpci_init(&part.pci, &part));
	assert_null(virtio_pci_init(&vp, &fake, 0, &part, &r, &part.pci, SLOT));
	assert_null(vpci_start(&part.pci));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static uint64_t common_in(unsigned reg, unsigned size)
{
	return mmio_in(BAR0 + VIRTIO_COMMON + reg, size);
}

static void common_out(unsigned reg, unsigned size, uint64_t v)
{
	mmio_out(BAR0 + VIRTIO_COMMON + reg, size, v);
}

static void set_status(uint8_t s)
{
	common_out(STATUS, 1, s);
}

static void driver_features(uint64_t f)
{
	common_out(GF_SELECT, 4, 0);
	common_out(GF, 4, (uint32_t)f);
	common_out(GF_SELECT, 4, 1);
	common_out(GF, 4, f >> 32);
}

/* As Linux's virtio_pci_modern does it: acknowledge, driver, features, FEATURES_OK. */
static void negotiate(uint64_t f)
{
	set_status(VIRTIO_STATUS_ACKNOWLEDGE);
	set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	driver_features(f);
	set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

static void queue_at(unsigned q, uint64_t desc, uint64_t driver, uint64_t device)
{
	common_out(Q_SELECT, 2, q);
	common_out(Q_DESC, 8, desc);
	common_out(Q_DRIVER, 8, driver);
	common_out(Q_DEVICE, 8, device);
	common_out(Q_ENABLE, 2, 1);
}

/* The vendor-specific capability of cfg_type, its offset in config space; 0 if none. */
static unsigned find_virtio_cap(uint8_t type)
{
	unsigned at = (unsigned)mmio_in(ECAM(0x34), 1), hops = 0;

	while (at && hops++ < 48) {
		if (mmio_in(ECAM(at), 1) == 0x09 && mmio_in(ECAM(at + 3), 1) == type)
			return at;
		at = (unsigned)mmio_in(ECAM(at + 1), 1);
	}
	return 0;
}

static void the_function_shows_a_modern_virtio_device_and_its_regions(void **state)
{
	static const struct {
		uint8_t type;
		uint32_t offset, min_length;
	} caps[] = { { 1, VIRTIO_COMMON, 0x38 }, { 2, VIRTIO_NOTIFY, QUEUES * 4 }, { 3, VIRTIO_ISR, 1 },
		     { 4, VIRTIO_DEVICE_CFG, sizeof(type_config) } };
	unsigned i, at;

	(void)state;
	assert_int_equal(mmio_in(ECAM(0), 4), 0x10421af4);
	assert_int_equal(mmio_in(ECAM(8), 1), 1); /* revision 1: no legacy interface */
	for (i = 0; i < 4; i++) {
		at = find_virtio_cap(caps[i].type);
		assert_int_not_equal(at, 0);
		assert_int_equal(mmio_in(ECAM(at + 4), 1), 0); /* BAR0 */
		assert_int_equal(mmio_in(ECAM(at + 8), 4), caps[i].offset);
		assert_true(mmio_in(ECAM(at + 12), 4) >= caps[i].min_length);
	}
	at = find_virtio_cap(2);
	assert_int_equal(mmio_in(ECAM(at + 2), 1), 20);
	assert_int_equal(mmio_in(ECAM(at + 16), 4), VIRTIO_NOTIFY_MULTIPLIER);
	assert_int_equal(mmio_in(ECAM(0x10), 4), BAR0);
	assert_int_equal(common_in(NUM_QUEUES, 2), QUEUES);
}

static void features_are_offered_and_bad_choices_refused(void **state)
{
	(void)state;
	common_out(DF_SELECT, 4, 0);
	assert_int_equal(common_in(DF, 4), (uint32_t)(FEATURE_OWN | VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC));
	common_out(DF_SELECT, 4, 1);
	assert_int_equal(common_in(DF, 4), 1); /* VERSION_1 */
	common_out(DF_SELECT, 4, 7);
	assert_int_equal(common_in(DF, 4), 0);
	negotiate(FEATURE_OWN); /* no VERSION_1: a legacy driver */
	assert_false(common_in(STATUS, 1) & VIRTIO_STATUS_FEATURES_OK);
	set_status(0);
	negotiate(VIRTIO_F_VERSION_1 | (1ull << 7)); /* a bit not offered */
	assert_false(common_in(STATUS, 1) & VIRTIO_STATUS_FEATURES_OK);
	set_status(0x0f); /* DRIVER_OK too: refused without FEATURES_OK */
	assert_false(common_in(STATUS, 1) & VIRTIO_STATUS_DRIVER_OK);
	set_status(0);
	negotiate(VIRTIO_F_VERSION_1 | FEATURE_OWN);
	assert_int_equal(common_in(STATUS, 1), 0x0b);
	driver_features(VIRTIO_F_VERSION_1 | FEATURE_OWN | VIRTIO_F_EVENT_IDX); /* too late: fixed */
	assert_true(virtio_has(&vp, FEATURE_OWN));
	assert_false(virtio_has(&vp, VIRTIO_F_EVENT_IDX));
	set_status(0x0f | VIRTIO_STATUS_NEEDS_RESET); /* the device's bit alone */
	assert_int_equal(common_in(STATUS, 1), 0x0f);
	set_status(VIRTIO_STATUS_ACKNOWLEDGE); /* bits are not cleared but by a reset */
	assert_int_equal(common_in(STATUS, 1), 0x0f);
}

static void a_reset_forgets_the_driver(void **state)
{
	(void)state;
	negotiate(VIRTIO_F_VERSION_1);
	queue_at(0, 0x1000, 0x2000, 0x3000);
	common_out(CONFIG_MSIX, 2, 1);
	assert_int_equal(common_in(Q_ENABLE, 2), 1);
	set_status(0);
	assert_int_equal(type_resets, 1);
	assert_int_equal(vp.resets, 1);
	assert_int_equal(common_in(STATUS, 1), 0);
	assert_int_equal(common_in(CONFIG_MSIX, 2), VIRTIO_NO_VECTOR);
	assert_int_equal(common_in(Q_ENABLE, 2), 0);
	assert_int_equal(common_in(Q_DESC, 8), 0);
	assert_int_equal(common_in(Q_SIZE, 2), QMAX);
	assert_false(virtio_has(&vp, VIRTIO_F_VERSION_1));
}

static void queues_are_enabled_only_inside_ram(void **state)
{
	(void)state;
	common_out(Q_SELECT, 2, 0);
	assert_int_equal(common_in(Q_SIZE, 2), QMAX);
	assert_int_equal(common_in(Q_NOTIFY_OFF, 2), 0);
	queue_at(0, 0x1000, 0x2000, 0x3000); /* before FEATURES_OK */
	assert_int_equal(common_in(Q_ENABLE, 2), 0);
	negotiate(VIRTIO_F_VERSION_1);
	common_out(Q_SIZE, 2, 48); /* not a power of two */
	common_out(Q_SIZE, 2, 128); /* more than the device takes */
	assert_int_equal(common_in(Q_SIZE, 2), QMAX);
	common_out(Q_SIZE, 2, 16);
	assert_int_equal(common_in(Q_SIZE, 2), 16);
	queue_at(0, RAM - 16 * 8, 0x2000, 0x3000); /* the table runs past RAM */
	assert_int_equal(common_in(Q_ENABLE, 2), 0);
	assert_non_null(strstr(guest_line, "queue 0 not enabled"));
	queue_at(0, 0x1000, PLATFORM_IOAPIC_BASE, 0x3000);
	assert_int_equal(common_in(Q_ENABLE, 2), 0);
	queue_at(0, 0x1000, 0x2000, 0xffffffffffffff00ull);
	assert_int_equal(common_in(Q_ENABLE, 2), 0);
	common_out(Q_DEVICE, 4, 0x3000); /* a 64-bit field by halves */
	common_out(Q_DEVICE + 4, 4, 0);
	assert_int_equal(common_in(Q_DEVICE, 8), 0x3000);
	common_out(Q_ENABLE, 2, 1);
	assert_int_equal(common_in(Q_ENABLE, 2), 1);
	common_out(Q_DESC, 8, 0x5000); /* fixed while enabled */
	common_out(Q_SIZE, 2, 8);
	assert_int_equal(common_in(Q_DESC, 8), 0x1000);
	assert_int_equal(common_in(Q_SIZE, 2), 16);
	common_out(Q_SELECT, 2, QUEUES); /* no such queue: reads 0, writes vanish */
	assert_int_equal(common_in(Q_SIZE, 2), 0);
	common_out(Q_ENABLE, 2, 1);
	assert_int_equal(common_in(Q_ENABLE, 2), 0);
}

static void odd_accesses_read_zero_and_change_nothing(void **state)
{
	(void)state;
	common_out(DF_SELECT, 4, 1);
	assert_int_equal(common_in(DF, 1), 0);     /* a byte of a dword */
	assert_int_equal(common_in(DF + 2, 2), 0); /* half of it */
	assert_int_equal(common_in(0x38, 4), 0);   /* past the structure */
	common_out(STATUS, 2, 0x0101);              /* status is a byte */
	assert_int_equal(common_in(STATUS, 1), 0);
	common_out(Q_DESC + 2, 4, 0x1234); /* a half not on its boundary */
	assert_int_equal(common_in(Q_DESC, 8), 0);
	common_out(NUM_QUEUES, 2, 7); /* read-only */
	assert_int_equal(common_in(NUM_QUEUES, 2), QUEUES);
	assert_int_equal(mmio_in(BAR0 + VIRTIO_DEVICE_CFG + 6, 2), 0x0807);
	assert_int_equal(mmio_in(BAR0 + VIRTIO_DEVICE_CFG + 6, 4), 0); /* past the type's 8 bytes */
	mmio_out(BAR0 + VIRTIO_DEVICE_CFG + 8, 1, 0xee);
	mmio_out(BAR0 + VIRTIO_DEVICE_CFG + 1, 1, 0xee);
	assert_int_equal(type_config[1], 0xee);
}

static void notifications_reach_the_type_only_when_live(void **state)
{
	(void)state;
	negotiate(VIRTIO_F_VERSION_1);
	queue_at(1, 0x1000, 0x2000, 0x3000);
	mmio_out(BAR0 + VIRTIO_NOTIFY + 4, 2, 1); /* before DRIVER_OK */
	assert_int_equal(notified[1], 0);
	set_status(0x0f);
	mmio_out(BAR0 + VIRTIO_NOTIFY + 4, 2, 1);
	assert_int_equal(notified[1], 1);
	mmio_out(BAR0 + VIRTIO_NOTIFY + 0, 2, 0); /* queue 0 is not enabled */
	mmio_out(BAR0 + VIRTIO_NOTIFY + 6, 2, 1); /* not a queue's address */
	mmio_out(BAR0 + VIRTIO_NOTIFY + 4 * QUEUES, 2, QUEUES);
	mmio_out(BAR0 + VIRTIO_BAR_SIZE - 4, 4, 0xffffffff);
	assert_int_equal(notified[0], 0);
	assert_int_equal(notified[1], 1);
}

/* MSI-X on, entry `entry` unmasked with vector; through the capability and BAR1 as a driver does. */
static void msix_on(unsigned entry, uint8_t vector)
{
	unsigned at = (unsigned)mmio_in(ECAM(0x34), 1);

	while (at && mmio_in(ECAM(at), 1) != 0x11)
		at = (unsigned)mmio_in(ECAM(at + 1), 1);
	assert_int_not_equal(at, 0);
	mmio_out(ECAM(at + 2), 2, 0x8000);
	mmio_out(BAR1 + 16 * entry, 4, 0xfee00000);
	mmio_out(BAR1 + 16 * entry + 8, 4, vector);
	mmio_out(BAR1 + 16 * entry + 12, 4, 0);
}

static void interrupts_go_by_msix_vector_or_intx_with_the_isr(void **state)
{
	unsigned gsi = 16 + (SLOT + 0) % 8;

	(void)state;
	negotiate(VIRTIO_F_VERSION_1);
	queue_at(0, 0x1000, 0x2000, 0x3000);
	virtio_interrupt(&vp, 0); /* MSI-X off: INTA# and ISR bit 0 */
	assert_int_equal(lines[gsi], 1);
	assert_int_equal(mmio_in(BAR0 + VIRTIO_ISR, 1), 1);
	assert_int_equal(lines[gsi], 0);
	assert_int_equal(mmio_in(BAR0 + VIRTIO_ISR, 1), 0); /* read clears */
	virtio_config_changed(&vp);
	assert_int_equal(mmio_in(BAR0 + VIRTIO_ISR, 1), 2);
	assert_int_equal(common_in(GENERATION, 1), 1);
	msix_on(2, 0x42);
	common_out(Q_MSIX, 2, 2);
	assert_int_equal(common_in(Q_MSIX, 2), 2);
	common_out(CONFIG_MSIX, 2, QUEUES + 1); /* no such entry: NO_VECTOR */
	assert_int_equal(common_in(CONFIG_MSIX, 2), VIRTIO_NO_VECTOR);
	virtio_interrupt(&vp, 0);
	assert_int_equal(nmsgs, 1);
	assert_int_equal(msgs[0].vector, 0x42);
	assert_int_equal(lines[gsi], 0);
	virtio_config_changed(&vp); /* NO_VECTOR: none */
	common_out(Q_MSIX, 2, VIRTIO_NO_VECTOR);
	virtio_interrupt(&vp, 0);
	assert_int_equal(nmsgs, 1);
	assert_int_equal(lines[gsi], 0);
}

/* A ring whose available index runs ahead: DEVICE_NEEDS_RESET, notifications ignored until a reset. */
static void a_broken_ring_asks_for_a_reset(void **state)
{
	uint16_t head;

	(void)state;
	negotiate(VIRTIO_F_VERSION_1);
	queue_at(0, 0x1000, 0x2000, 0x3000);
	set_status(0x0f);
	put_le16(ram + 0x2000 + 2, QMAX + 1);
	assert_int_equal(virtio_next(&vp, 0, &head), VQ_BROKEN);
	assert_int_equal(common_in(STATUS, 1), 0x0f | VIRTIO_STATUS_NEEDS_RESET);
	mmio_out(BAR0 + VIRTIO_NOTIFY, 2, 0);
	assert_int_equal(notified[0], 0);
	assert_int_equal(virtio_next(&vp, 0, &head), VQ_EMPTY);
	set_status(0);
	assert_int_equal(common_in(STATUS, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(the_function_shows_a_modern_virtio_device_and_its_regions, setup,
						teardown),
		cmocka_unit_test_setup_teardown(features_are_offered_and_bad_choices_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(a_reset_forgets_the_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(queues_are_enabled_only_inside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(odd_accesses_read_zero_and_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(notifications_reach_the_type_only_when_live, setup, teardown),
		cmocka_unit_test_setup_teardown(interrupts_go_by_msix_vector_or_intx_with_the_isr, setup, teardown),
		cmocka_unit_test_setup_teardown(a_broken_ring_asks_for_a_reset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
