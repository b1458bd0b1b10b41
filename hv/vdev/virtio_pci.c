/* The virtio 1.x PCI transport; what a guest and a device type see of it is in virtio_pci.h. */
#include "virtio_pci.h"

#include "lib/fmt.h"
#include "lib/le.h"
#include "partition.h"

#define REGION_SIZE 0x1000

#define ISR_QUEUE 1
#define ISR_CONFIG 2

#define TRANSPORT_FEATURES (VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC)

static void log_virtio(struct virtio_pci *v, const char *what, const char *why)
{
	partition_log_guest(v->part, LOG_WARN, "virtio 00:%02x.0 %s: %s", v->pci.devfn >> 3, what, why);
}

int virtio_has(const struct virtio_pci *v, uint64_t f)
{
	return (v->features & f) == f;
}

int virtio_driver_ready(const struct virtio_pci *v)
{
	return (v->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) == VIRTIO_STATUS_DRIVER_OK;
}

static struct virtio_queue *selected(struct virtio_pci *v)
{
	return v->queue_select < v->type->queues ? &v->q[v->queue_select] : 0;
}

static uint16_t checked_vector(const struct virtio_pci *v, uint64_t value)
{
	return value < v->pci.msix_count ? (uint16_t)value : VIRTIO_NO_VECTOR;
}

static void reset_queues(struct virtio_pci *v)
{
	unsigned i;

	for (i = 0; i < VIRTIO_QUEUES_MAX; i++)
		v->q[i] = (struct virtio_queue){ .size = (uint16_t)v->type->queue_size, .vector = VIRTIO_NO_VECTOR };
}

/* 0 written to device_status (4.1.4.3.2): everything the driver set is gone, so are the type's queues. */
static void reset(struct virtio_pci *v)
{
	v->status = v->isr = 0;
	v->features = 0;
	v->device_feature_select = v->driver_feature_select = 0;
	v->config_vector = VIRTIO_NO_VECTOR;
	v->queue_select = 0;
	v->resets++;
	v->due = 0;
	reset_queues(v);
	v->type->reset(v);
	pci_set_intx(&v->pci, 0);
}

/* FEATURES_OK: only bits offered, VERSION_1 among them (3.1.1, 6.1). */
static int features_acceptable(const struct virtio_pci *v)
{
	return !(v->features & ~v->offered) && (v->features & VIRTIO_F_VERSION_1);
}

static void write_status(struct virtio_pci *v, uint8_t value)
{
	uint8_t s = (uint8_t)(v->status | (value & ~VIRTIO_STATUS_NEEDS_RESET));

	if (!value) {
		reset(v);
		return;
	}
	if ((s & VIRTIO_STATUS_FEATURES_OK) && !(v->status & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(v)) {
		s &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
		log_virtio(v, "FEATURES_OK refused", "features not offered, or no VIRTIO_F_VERSION_1");
	}
	if ((s & VIRTIO_STATUS_DRIVER_OK) && !(s & VIRTIO_STATUS_FEATURES_OK)) {
		s &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
		log_virtio(v, "DRIVER_OK refused", "features were not accepted");
	}
	v->status = s;
}

static void enable_queue(struct virtio_pci *v, struct virtio_queue *q)
{
	const char *why = "the driver's features are not accepted yet";
	char what[24];

	if (v->status & VIRTIO_STATUS_FEATURES_OK)
		why = vq_setup(&q->vq, &v->ram, q->size, q->desc, q->driver, q->device,
			       virtio_has(v, VIRTIO_F_EVENT_IDX), virtio_has(v, VIRTIO_F_INDIRECT_DESC));
	if (!why) {
		q->enabled = 1;
		return;
	}
	fmt(what, sizeof(what), "queue %u not enabled", (unsigned)(q - v->q));
	log_virtio(v, what, why);
}

/* ---- the common configuration: each field whole, 64-bit ones also by halves */

static unsigned field_width(unsigned start)
{
	if (start >= VIRTIO_CC_QUEUE_DESC)
		return 8;
	if (start < VIRTIO_CC_CONFIG_MSIX)
		return 4;
	return start == VIRTIO_CC_STATUS || start == VIRTIO_CC_GENERATION ? 1 : 2;
}

/* The field an access of size at offset reaches, in *start; -1 if none does (4.1.3.1). */
static int field_of(uint64_t offset, unsigned size, unsigned *start)
{
	unsigned s, w;

	if (offset >= VIRTIO_CC_SIZE)
		return -1;
	s = offset >= VIRTIO_CC_QUEUE_DESC ? (unsigned)offset & ~7u : (unsigned)offset;
	if (s < VIRTIO_CC_CONFIG_MSIX)
		s &= ~3u;
	else if (s != VIRTIO_CC_STATUS && s != VIRTIO_CC_GENERATION)
		s &= ~1u;
	w = field_width(s);
	*start = s;
	if (offset == s && size == w)
		return 0;
	return w == 8 && size == 4 && offset % 4 == 0 ? 0 : -1;
}

static uint64_t feature_half(uint64_t bits, uint32_t select)
{
	return select < 2 ? (uint32_t)(bits >> (32 * select)) : 0;
}

static uint64_t queue_field(const struct virtio_queue *q, unsigned start, unsigned index)
{
	switch (start) {
	case VIRTIO_CC_QUEUE_SIZE: return q->size;
	case VIRTIO_CC_QUEUE_MSIX: return q->vector;
	case VIRTIO_CC_QUEUE_ENABLE: return q->enabled;
	case VIRTIO_CC_QUEUE_NOTIFY_OFF: return index;
	case VIRTIO_CC_QUEUE_DESC: return q->desc;
	case VIRTIO_CC_QUEUE_DRIVER: return q->driver;
	default: return q->device;
	}
}

static uint64_t common_get(struct virtio_pci *v, unsigned start)
{
	struct virtio_queue *q = selected(v);

	switch (start) {
	case VIRTIO_CC_DEVICE_FEATURE_SELECT: return v->device_feature_select;
	case VIRTIO_CC_DEVICE_FEATURE: return feature_half(v->offered, v->device_feature_select);
	case VIRTIO_CC_DRIVER_FEATURE_SELECT: return v->driver_feature_select;
	case VIRTIO_CC_DRIVER_FEATURE: return feature_half(v->features, v->driver_feature_select);
	case VIRTIO_CC_CONFIG_MSIX: return v->config_vector;
	case VIRTIO_CC_NUM_QUEUES: return v->type->queues;
	case VIRTIO_CC_STATUS: return v->status;
	case VIRTIO_CC_GENERATION: return v->config_generation;
	case VIRTIO_CC_QUEUE_SELECT: return v->queue_select;
	default: return q ? queue_field(q, start, v->queue_select) : 0;
	}
}

static void set_driver_features(struct virtio_pci *v, uint64_t value)
{
	unsigned shift = 32 * v->driver_feature_select;

	if (v->status & VIRTIO_STATUS_FEATURES_OK || v->driver_feature_select >= 2)
		return; /* fixed once accepted; bits past 63 are none */
	v->features = (v->features & ~(0xffffffffull << shift)) | (uint64_t)(uint32_t)value << shift;
}

static int power_of_two(uint64_t x)
{
	return x && !(x & (x - 1));
}

static void queue_set(struct virtio_pci *v, struct virtio_queue *q, unsigned start, uint64_t value)
{
	if (start == VIRTIO_CC_QUEUE_MSIX) {
		q->vector = checked_vector(v, value);
		return;
	}
	if (q->enabled)
		return; /* a live queue's size and rings stay */
	switch (start) {
	case VIRTIO_CC_QUEUE_SIZE:
		if (power_of_two(value) && value <= v->type->queue_size)
			q->size = (uint16_t)value;
		break;
	case VIRTIO_CC_QUEUE_ENABLE:
		if (value == 1)
			enable_queue(v, q);
		break;
	case VIRTIO_CC_QUEUE_DESC: q->desc = value; break;
	case VIRTIO_CC_QUEUE_DRIVER: q->driver = value; break;
	case VIRTIO_CC_QUEUE_DEVICE: q->device = value; break;
	default: break; /* queue_notify_off is read-only */
	}
}

static void common_set(struct virtio_pci *v, unsigned start, uint64_t value)
{
	struct virtio_queue *q = selected(v);

	switch (start) {
	case VIRTIO_CC_DEVICE_FEATURE_SELECT: v->device_feature_select = (uint32_t)value; break;
	case VIRTIO_CC_DRIVER_FEATURE_SELECT: v->driver_feature_select = (uint32_t)value; break;
	case VIRTIO_CC_DRIVER_FEATURE: set_driver_features(v, value); break;
	case VIRTIO_CC_CONFIG_MSIX: v->config_vector = checked_vector(v, value); break;
	case VIRTIO_CC_STATUS: write_status(v, (uint8_t)value); break;
	case VIRTIO_CC_QUEUE_SELECT: v->queue_select = (uint16_t)value; break;
	case VIRTIO_CC_DEVICE_FEATURE:
	case VIRTIO_CC_NUM_QUEUES:
	case VIRTIO_CC_GENERATION: break;
	default:
		if (q)
			queue_set(v, q, start, value);
		break;
	}
}

static uint64_t size_mask(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static void common_read(struct virtio_pci *v, uint64_t offset, unsigned size, uint64_t *value)
{
	unsigned start;

	*value = 0;
	if (!field_of(offset, size, &start))
		*value = (common_get(v, start) >> (8 * (offset - start))) & size_mask(size);
}

static void common_write(struct virtio_pci *v, uint64_t offset, unsigned size, uint64_t value)
{
	unsigned start, shift;
	uint64_t mask;

	if (field_of(offset, size, &start))
		return;
	shift = 8 * (unsigned)(offset - start);
	mask = size_mask(size) << shift;
	common_set(v, start, (common_get(v, start) & ~mask) | ((value << shift) & mask));
}

/* ---- the BAR */

static uint8_t take_isr(struct virtio_pci *v)
{
	uint8_t isr;

	spin_lock(&v->lock);
	isr = v->isr;
	v->isr = 0;
	spin_unlock(&v->lock);
	pci_set_intx(&v->pci, 0); /* reading the ISR de-asserts the interrupt (4.1.4.5) */
	return isr;
}

static int in_config(const struct virtio_pci *v, uint64_t offset, unsigned size)
{
	return offset >= VIRTIO_DEVICE_CFG && offset - VIRTIO_DEVICE_CFG + size <= v->type->config_size;
}

static void bar_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	struct virtio_pci *v = dev;

	*value = 0;
	if (offset == VIRTIO_ISR) {
		*value = take_isr(v);
		return;
	}
	spin_lock(&v->lock);
	if (offset < VIRTIO_CC_SIZE)
		common_read(v, offset, size, value);
	else if (in_config(v, offset, size))
		v->type->config_read(v, (unsigned)(offset - VIRTIO_DEVICE_CFG), size, value);
	spin_unlock(&v->lock);
}

/* A notification of queue (4.1.4.4): for the type while the device is live and the queue enabled. */
static void notify(struct virtio_pci *v, uint64_t offset)
{
	unsigned queue = (unsigned)((offset - VIRTIO_NOTIFY) / VIRTIO_NOTIFY_MULTIPLIER);
	int live;

	if (offset % VIRTIO_NOTIFY_MULTIPLIER || queue >= v->type->queues)
		return;
	spin_lock(&v->lock);
	live = virtio_driver_ready(v) && v->q[queue].enabled;
	spin_unlock(&v->lock);
	if (live)
		v->type->notify(v, queue);
}

static void bar_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct virtio_pci *v = dev;

	if (offset >= VIRTIO_NOTIFY) {
		notify(v, offset);
		return;
	}
	spin_lock(&v->lock);
	if (offset < VIRTIO_CC_SIZE)
		common_write(v, offset, size, value);
	else if (in_config(v, offset, size) && v->type->config_write)
		v->type->config_write(v, (unsigned)(offset - VIRTIO_DEVICE_CFG), size, value);
	spin_unlock(&v->lock);
}

const struct vdev_ops virtio_pci_ops = { bar_read, bar_write };

/* ---- queues, for the type */

enum vq_next virtio_next(struct virtio_pci *v, unsigned queue, uint16_t *head)
{
	enum vq_next r;

	if (queue >= v->type->queues || !v->q[queue].enabled || (v->status & VIRTIO_STATUS_NEEDS_RESET))
		return VQ_EMPTY;
	r = vq_next(&v->q[queue].vq, head);
	if (r == VQ_BROKEN)
		virtio_needs_reset(v, "its available ring is inconsistent");
	return r;
}

void virtio_needs_reset(struct virtio_pci *v, const char *why)
{
	v->status |= VIRTIO_STATUS_NEEDS_RESET;
	log_virtio(v, "needs a reset", why);
}

enum vq_chain_result virtio_chain(struct virtio_pci *v, unsigned queue, uint16_t head, struct vq_buf *buf,
				  unsigned max, unsigned *n)
{
	enum vq_chain_result r = vq_chain(&v->q[queue].vq, &v->ram, head, buf, max, n);
	char what[48];

	if (r != VQ_CHAIN_OK) {
		fmt(what, sizeof(what), "queue %u chain %u refused", queue, head);
		log_virtio(v, what, vq_chain_why(r));
	}
	return r;
}

int virtio_push(struct virtio_pci *v, unsigned queue, uint16_t head, uint32_t len)
{
	struct virtqueue *q = &v->q[queue].vq;

	vq_push(q, head, len);
	return vq_should_interrupt(q);
}

void virtio_give_back(struct virtio_pci *v, unsigned queue, uint16_t head, uint32_t len)
{
	if (virtio_push(v, queue, head, len))
		v->due |= VIRTIO_DUE_QUEUE(queue);
}

int virtio_next_head(struct virtio_pci *v, unsigned queue, uint16_t *head)
{
	enum vq_next r = virtio_next(v, queue, head);

	if (r == VQ_BROKEN)
		v->due |= VIRTIO_DUE_CONFIG;
	return r == VQ_HEAD;
}

/* ---- interrupts */

static void interrupt(struct virtio_pci *v, uint8_t isr_bit, const uint16_t *vector)
{
	uint16_t vec;

	spin_lock(&v->lock);
	v->isr |= isr_bit;
	vec = *vector;
	spin_unlock(&v->lock);
	/* With MSI-X on, the vector (NO_VECTOR: none, dropped); with it off, INTA# (4.1.5.3-4). */
	pci_notify(&v->pci, vec);
}

void virtio_interrupt(struct virtio_pci *v, unsigned queue)
{
	interrupt(v, ISR_QUEUE, &v->q[queue].vector);
}

void virtio_config_changed(struct virtio_pci *v)
{
	spin_lock(&v->lock);
	v->config_generation++;
	spin_unlock(&v->lock);
	interrupt(v, ISR_CONFIG, &v->config_vector);
}

void virtio_raise_due(struct virtio_pci *v)
{
	uint32_t due;
	unsigned q;

	spin_lock(&v->lock);
	due = v->due;
	v->due = 0;
	spin_unlock(&v->lock);
	for (q = 0; q < v->type->queues; q++)
		if (due & VIRTIO_DUE_QUEUE(q))
			virtio_interrupt(v, q);
	if (due & VIRTIO_DUE_CONFIG)
		virtio_config_changed(v);
}

/* ---- setting up */

static unsigned add_cap(struct pci_dev *d, uint8_t type, uint32_t offset, uint32_t length, uint32_t multiplier)
{
	uint8_t body[VIRTIO_PCI_CAP_NOTIFY_LEN - 2] = { 0 };
	unsigned len = type == VIRTIO_PCI_CAP_NOTIFY ? VIRTIO_PCI_CAP_NOTIFY_LEN : VIRTIO_PCI_CAP_LEN;

	body[0] = (uint8_t)len; /* cap_len, then cfg_type, bar (0), id, padding */
	body[1] = type;
	put_le32(body + 6, offset);
	put_le32(body + 10, length);
	if (type == VIRTIO_PCI_CAP_NOTIFY)
		put_le32(body + 14, multiplier);
	return pci_add_capability(d, VIRTIO_PCI_CAP_VENDOR, body, len - 2);
}

static int add_caps(struct virtio_pci *v)
{
	struct pci_dev *d = &v->pci;
	const struct virtio_type *t = v->type;

	return add_cap(d, VIRTIO_PCI_CAP_COMMON, VIRTIO_COMMON, VIRTIO_CC_SIZE, 0) && add_cap(d, VIRTIO_PCI_CAP_ISR, VIRTIO_ISR, 1, 0) &&
	       add_cap(d, VIRTIO_PCI_CAP_DEVICE, VIRTIO_DEVICE_CFG, t->config_size ? t->config_size : 1, 0) &&
	       add_cap(d, VIRTIO_PCI_CAP_NOTIFY, VIRTIO_NOTIFY, t->queues * VIRTIO_NOTIFY_MULTIPLIER, VIRTIO_NOTIFY_MULTIPLIER)
		       ? 0 : -1;
}

const char *virtio_pci_init(struct virtio_pci *v, const struct virtio_type *type, void *dev, struct partition *p,
			    const struct vq_ram *ram, struct vpci *pci, unsigned slot)
{
	const struct pci_identity id = {
		.vendor = 0x1af4, .device = (uint16_t)(0x1040 + type->device_id), .subsystem_vendor = 0x1af4,
		.subsystem = (uint16_t)(0x40 + type->device_id), .class_code = type->class_code, .revision = 1,
		.intx_pin = 1,
	};

	if (!type->queues || type->queues > VIRTIO_QUEUES_MAX || !power_of_two(type->queue_size) ||
	    type->queue_size > VIRTQ_SIZE_MAX || type->config_size > REGION_SIZE)
		return "its virtio device type is malformed";
	*v = (struct virtio_pci){ .type = type, .dev = dev, .part = p, .ram = *ram,
				  .offered = type->features | TRANSPORT_FEATURES, .config_vector = VIRTIO_NO_VECTOR };
	reset_queues(v);
	pci_dev_init(&v->pci, &id);
	if (pci_add_bar(&v->pci, 0, PCI_BAR_MEM32, 0, VIRTIO_BAR_SIZE, &virtio_pci_ops, v) ||
	    pci_add_msix(&v->pci, 1, v->msix, type->queues + 1) || add_caps(v))
		return "its virtio PCI function does not fit its header";
	return pci_register(pci, &v->pci, slot, 0);
}
