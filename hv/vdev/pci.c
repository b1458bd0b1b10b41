/* A partition's PCI segment 0; what a guest and a device see of it is in pci.h. */
#include "pci.h"

#include "irq.h"
#include "lib/fmt.h"
#include "lib/le.h"
#include "partition.h"
#include "platform.h"

/* Type-0 header registers (PCI 3.0, 6.1). */
#define REG_VENDOR 0x00
#define REG_DEVICE 0x02
#define REG_COMMAND 0x04
#define REG_STATUS 0x06
#define REG_REVISION 0x08
#define REG_CLASS 0x09
#define REG_CACHE_LINE 0x0c
#define REG_LATENCY 0x0d
#define REG_HEADER_TYPE 0x0e
#define REG_BAR0 0x10
#define REG_SUBSYSTEM_VENDOR 0x2c
#define REG_SUBSYSTEM 0x2e
#define REG_CAPABILITIES 0x34
#define REG_INTERRUPT_LINE 0x3c
#define REG_INTERRUPT_PIN 0x3d
#define CAPS_FIRST 0x40

#define CMD_IO 0x0001
#define CMD_MEMORY 0x0002
#define CMD_BUS_MASTER 0x0004
#define CMD_WRITABLE 0x0547 /* I/O, memory, bus master, parity error response, SERR#, interrupt disable */
#define CMD_INTX_DISABLE 0x0400
#define STATUS_INTERRUPT 0x0008
#define STATUS_CAPABILITIES 0x0010
#define STATUS_W1C 0xf900 /* parity, system error, master and target aborts, master data parity error */
#define HEADER_MULTIFUNCTION 0x80

#define BAR_IO 0x1
#define BAR_MEM64 0x4
#define BAR_PREFETCHABLE 0x8

/* MSI capability (PCI 3.0, 6.8.1). */
#define CAP_MSI 0x05
#define MSI_CONTROL 2
#define MSI_ADDRESS 4
#define MSI_ENABLE 0x0001
#define MSI_64BIT 0x0080
#define MSI_MASKABLE 0x0100

/* MSI-X capability (PCI 3.0, 6.8.2). */
#define CAP_MSIX 0x11
#define MSIX_CONTROL 2
#define MSIX_FUNCTION_MASK 0x4000
#define MSIX_ENABLE 0x8000
#define MSIX_ENTRY_MASKED 0x1
#define MSIX_ENTRY_SIZE 16

#define ECAM_SIZE ((uint64_t)PLATFORM_ECAM_BUSES << 20)
#define CONFIG_ENABLE 0x80000000u
#define CONFIG_ADDRESS_BITS 0x80fffffcu /* enable, bus, device, function, register; the rest reads 0 */

static uint16_t command(const struct pci_dev *d)
{
	return le16(d->config + REG_COMMAND);
}

static unsigned slot_of(const struct pci_dev *d)
{
	return d->devfn >> 3;
}

/* "PCI 00:01.0 " and the rest, rate-limited: the guest causes these lines. */
static void log_function(const struct pci_dev *d, const char *what, const char *why)
{
	partition_log_guest(d->pci->part, LOG_WARN, "PCI 00:%02x.%x %s: %s", slot_of(d), d->devfn & 7u, what, why);
}

/* ---- setting a function up */

void pci_dev_init(struct pci_dev *d, const struct pci_identity *id)
{
	*d = (struct pci_dev){ .cap_next = CAPS_FIRST };
	put_le16(d->config + REG_VENDOR, id->vendor);
	put_le16(d->config + REG_DEVICE, id->device);
	d->config[REG_REVISION] = id->revision;
	d->config[REG_CLASS] = (uint8_t)id->class_code;
	put_le16(d->config + REG_CLASS + 1, (uint16_t)(id->class_code >> 8));
	put_le16(d->config + REG_SUBSYSTEM_VENDOR, id->subsystem_vendor);
	put_le16(d->config + REG_SUBSYSTEM, id->subsystem);
	d->config[REG_INTERRUPT_PIN] = id->intx_pin <= 4 ? id->intx_pin : 0;
	put_le16(d->wmask + REG_COMMAND, CMD_WRITABLE);
	put_le16(d->w1c + REG_STATUS, STATUS_W1C);
	d->wmask[REG_CACHE_LINE] = d->wmask[REG_LATENCY] = d->wmask[REG_INTERRUPT_LINE] = 0xff;
}

static int power_of_two(uint64_t x)
{
	return x && !(x & (x - 1));
}

static int bar_fits(const struct pci_dev *d, unsigned index, enum pci_bar_kind kind, uint64_t size)
{
	if (index >= PCI_BARS || d->bar[index].kind != PCI_BAR_NONE || !power_of_two(size))
		return 0;
	switch (kind) {
	case PCI_BAR_IO: return size >= 4 && size <= 256;
	case PCI_BAR_MEM32: return size >= 16 && size <= (1ull << 31);
	case PCI_BAR_MEM64: return size >= 16 && size <= (1ull << 63) && index + 1 < PCI_BARS &&
				   d->bar[index + 1].kind == PCI_BAR_NONE;
	default: return 0;
	}
}

/* The BAR's register: its type bits read-only, its address bits from the size up writable (PCI 3.0, 6.2.5.1). */
int pci_add_bar(struct pci_dev *d, unsigned index, enum pci_bar_kind kind, int prefetchable, uint64_t size,
		const struct vdev_ops *ops, void *dev)
{
	uint8_t *reg = d->config + REG_BAR0 + 4 * index, *mask = d->wmask + REG_BAR0 + 4 * index;
	uint64_t writable = ~(size - 1);

	if (!bar_fits(d, index, kind, size) || (prefetchable && kind == PCI_BAR_IO))
		return -1;
	d->bar[index] = (struct pci_bar){ .kind = kind, .size = size, .ops = ops, .dev = dev };
	if (kind == PCI_BAR_IO) {
		put_le32(reg, BAR_IO);
		put_le32(mask, (uint32_t)writable & 0xfffc); /* 16-bit I/O addresses: bits 31:16 read 0 */
		return 0;
	}
	put_le32(reg, (kind == PCI_BAR_MEM64 ? BAR_MEM64 : 0) | (prefetchable ? BAR_PREFETCHABLE : 0));
	put_le32(mask, (uint32_t)writable & ~0xfu);
	if (kind == PCI_BAR_MEM64) {
		d->bar[index + 1].kind = PCI_BAR_UPPER;
		put_le32(mask + 4, (uint32_t)(writable >> 32));
	}
	return 0;
}

unsigned pci_add_capability(struct pci_dev *d, uint8_t id, const uint8_t *body, unsigned len)
{
	unsigned at = d->cap_next, i;

	if (!at || len > PCI_HEADER_SPACE - 2 - at)
		return 0;
	d->config[at] = id;
	d->config[at + 1] = 0;
	for (i = 0; i < len; i++)
		d->config[at + 2 + i] = body[i];
	d->config[d->cap_last ? d->cap_last + 1u : REG_CAPABILITIES] = (uint8_t)at;
	d->config[REG_STATUS] |= STATUS_CAPABILITIES;
	d->cap_last = (uint8_t)at;
	at = (at + 2 + len + 3) & ~3u; /* capabilities are dword aligned */
	d->cap_next = (uint8_t)(at < PCI_HEADER_SPACE ? at : 0);
	return d->cap_last;
}

/* MSI's registers after the address: data, then mask and pending bits with per-vector masking. */
static unsigned msi_data(const struct pci_dev *d)
{
	return d->msi + (le16(d->config + d->msi + MSI_CONTROL) & MSI_64BIT ? 0xc : 0x8);
}

static unsigned msi_mask(const struct pci_dev *d)
{
	return msi_data(d) + 4;
}

static unsigned msi_pending(const struct pci_dev *d)
{
	return msi_data(d) + 8;
}

int pci_add_msi(struct pci_dev *d, unsigned vectors, int addr64, int maskable)
{
	uint8_t body[0x16] = { 0 };
	unsigned log2 = 0, len = addr64 ? 0xc : 0x8, at, i;

	while (log2 < 5 && (1u << log2) < vectors)
		log2++;
	if (d->msi || !power_of_two(vectors) || (1u << log2) != vectors)
		return -1;
	put_le16(body, (uint16_t)(log2 << 1 | (addr64 ? MSI_64BIT : 0) | (maskable ? MSI_MASKABLE : 0)));
	at = pci_add_capability(d, CAP_MSI, body, maskable ? len + 0xa : len);
	if (!at)
		return -1;
	d->msi = (uint8_t)at;
	put_le16(d->wmask + at + MSI_CONTROL, MSI_ENABLE | 0x70); /* enable, multiple message enable */
	put_le32(d->wmask + at + MSI_ADDRESS, 0xfffffffc);
	if (addr64)
		put_le32(d->wmask + at + MSI_ADDRESS + 4, 0xffffffff);
	put_le16(d->wmask + msi_data(d), 0xffff);
	if (maskable)
		for (i = 0; i < 4; i++)
			d->wmask[msi_mask(d) + i] = (uint8_t)((((1ull << vectors) - 1) >> (8 * i)) & 0xff);
	return 0;
}

static const struct vdev_ops msix_ops;

int pci_add_msix(struct pci_dev *d, unsigned index, struct pci_msix_entry *table, unsigned count)
{
	uint8_t body[10];
	unsigned at, i;

	if (d->msix || count == 0 || count > PCI_MSIX_VECTORS_MAX ||
	    !bar_fits(d, index, PCI_BAR_MEM32, PCI_MSIX_BAR_SIZE))
		return -1;
	put_le16(body, (uint16_t)(count - 1));
	put_le32(body + 2, index);                /* the table at offset 0 of BAR index */
	put_le32(body + 6, PCI_MSIX_PBA | index); /* the PBA */
	at = pci_add_capability(d, CAP_MSIX, body, sizeof(body));
	if (!at)
		return -1;
	pci_add_bar(d, index, PCI_BAR_MEM32, 0, PCI_MSIX_BAR_SIZE, &msix_ops, d);
	d->msix = (uint8_t)at;
	put_le16(d->wmask + at + MSIX_CONTROL, MSIX_ENABLE | MSIX_FUNCTION_MASK);
	for (i = 0; i < count; i++)
		table[i] = (struct pci_msix_entry){ .control = MSIX_ENTRY_MASKED };
	d->msix_table = table;
	d->msix_count = count;
	return 0;
}

/* Function 0 of a device with other functions says so, or scanners skip them (PCI 3.0, 6.2.1). */
static void mark_multifunction(struct vpci *pci, unsigned slot)
{
	struct pci_dev *first = pci->fn[slot << 3];
	unsigned fn, others = 0;

	for (fn = 1; fn < 8; fn++)
		others |= pci->fn[slot << 3 | fn] != 0;
	if (first)
		first->config[REG_HEADER_TYPE] = others ? HEADER_MULTIFUNCTION : 0;
}

const char *pci_register(struct vpci *pci, struct pci_dev *d, unsigned slot, unsigned fn)
{
	unsigned devfn = slot << 3 | fn;

	if (slot >= PCI_SLOTS || fn >= 8)
		return "no such PCI device or function";
	spin_lock(&pci->lock);
	if (pci->fn[devfn]) {
		spin_unlock(&pci->lock);
		return "two PCI functions at one place";
	}
	d->pci = pci;
	d->devfn = (uint8_t)devfn;
	pci->fn[devfn] = d;
	mark_multifunction(pci, slot);
	spin_unlock(&pci->lock);
	return 0;
}

unsigned pci_intx_gsi(unsigned slot, unsigned pin)
{
	return platform_pci_gsi(slot, pin - 1);
}

/* ---- BAR decoding, with the segment's lock held */

static uint64_t bar_address(const struct pci_dev *d, unsigned i)
{
	uint32_t low = le32(d->config + REG_BAR0 + 4 * i);

	switch (d->bar[i].kind) {
	case PCI_BAR_IO: return low & ~3u;
	case PCI_BAR_MEM64: return (low & ~0xfull) | (uint64_t)le32(d->config + REG_BAR0 + 4 * i + 4) << 32;
	default: return low & ~0xfull;
	}
}

/* The local APICs' page is theirs whatever the bus says: each vCPU's APIC takes accesses there first. */
static int over_local_apics(enum vdev_space space, struct vdev_range r)
{
	return space == VDEV_MMIO && r.first < PLATFORM_LAPIC_BASE + 0x1000 &&
	       (r.first >= PLATFORM_LAPIC_BASE || PLATFORM_LAPIC_BASE - r.first < r.size);
}

static void refuse_bar(struct pci_dev *d, unsigned i, struct vdev_range r, const char *why)
{
	char what[48];

	fmt(what, sizeof(what), "BAR%u at 0x%llx not decoded", i, (unsigned long long)r.first);
	log_function(d, what, why);
}

/* The bus holds the BAR where its register and the command register say, or nothing. */
static void sync_bar(struct pci_dev *d, unsigned i)
{
	struct pci_bar *b = &d->bar[i];
	enum vdev_space space = b->kind == PCI_BAR_IO ? VDEV_PORTS : VDEV_MMIO;
	struct vdev_range want = { 0, 0 }, none = { 0, 0 };
	struct partition *p = d->pci->part;
	char why[VDEV_WHY_MAX];

	if (command(d) & (space == VDEV_PORTS ? CMD_IO : CMD_MEMORY))
		want = (struct vdev_range){ bar_address(d, i), b->size };
	if (want.first == b->asked.first && want.size == b->asked.size)
		return; /* as it was: nothing to move, nor a refusal to log again */
	b->asked = want;
	if (!want.size || over_local_apics(space, want)) {
		if (b->held.size)
			vdev_release(p, space, b->held.first, b->dev);
		b->held = none;
		if (want.size)
			refuse_bar(d, i, want, "over the local APICs' page");
		return;
	}
	if (vdev_move(p, space, b->held, want, b->ops, b->dev, why, sizeof(why))) {
		b->held = none;
		refuse_bar(d, i, want, why);
		return;
	}
	b->held = want;
}

/* ---- interrupts, with the segment's lock held */

static int msi_on(const struct pci_dev *d)
{
	return d->msi && (le16(d->config + d->msi + MSI_CONTROL) & MSI_ENABLE);
}

static int msix_on(const struct pci_dev *d)
{
	return d->msix && (le16(d->config + d->msix + MSIX_CONTROL) & MSIX_ENABLE);
}

/* INTx: status shows the device's level; the pin asserts it unless disabled (PCI 3.0, 6.2.2-3; 6.8). */
static void sync_intx(struct pci_dev *d)
{
	struct vpci *pci = d->pci;
	unsigned pin = d->config[REG_INTERRUPT_PIN], gsi;
	int line = pin && d->intx_level && !(command(d) & CMD_INTX_DISABLE) && !msi_on(d) && !msix_on(d);

	if (d->intx_level)
		d->config[REG_STATUS] |= STATUS_INTERRUPT;
	else
		d->config[REG_STATUS] &= (uint8_t)~STATUS_INTERRUPT;
	if (line == d->intx_line)
		return;
	d->intx_line = line;
	gsi = pci_intx_gsi(slot_of(d), pin);
	if (line ? pci->gsi_asserted[gsi - PLATFORM_PCI_GSI_BASE]++ == 0 : --pci->gsi_asserted[gsi - PLATFORM_PCI_GSI_BASE] == 0)
		irq_set_line(pci->part, gsi, line); /* the first to assert a shared line, the last to let go */
}

/* MSI's multiple message enable beyond what it is capable of reads as the most it can (PCI 3.0, 6.8.1.3). */
static void clamp_msi(struct pci_dev *d)
{
	uint16_t control;
	unsigned capable, enabled;

	if (!d->msi)
		return;
	control = le16(d->config + d->msi + MSI_CONTROL);
	capable = (control >> 1) & 7;
	enabled = (control >> 4) & 7;
	if (enabled > capable)
		put_le16(d->config + d->msi + MSI_CONTROL, (uint16_t)((control & ~0x70u) | capable << 4));
}

static void sync_function(struct pci_dev *d)
{
	unsigned i;

	clamp_msi(d);
	for (i = 0; i < PCI_BARS; i++)
		if (d->bar[i].kind != PCI_BAR_NONE && d->bar[i].kind != PCI_BAR_UPPER)
			sync_bar(d, i);
	sync_intx(d);
}

/* A message due out: its address, data and a name for the log. */
struct pci_message {
	uint64_t address;
	uint32_t data;
	unsigned vector;
	int msix;
};

static unsigned msi_vectors_enabled(const struct pci_dev *d)
{
	return 1u << ((le16(d->config + d->msi + MSI_CONTROL) >> 4) & 7);
}

static void msi_message(const struct pci_dev *d, unsigned v, struct pci_message *m)
{
	const uint8_t *c = d->config + d->msi;
	unsigned n = msi_vectors_enabled(d);
	uint64_t high = le16(c + MSI_CONTROL) & MSI_64BIT ? le32(c + MSI_ADDRESS + 4) : 0;

	/* The low bits of the data carry the message number (PCI 3.0, 6.8.1.6). */
	*m = (struct pci_message){ .address = high << 32 | le32(c + MSI_ADDRESS),
				   .data = (le16(d->config + msi_data(d)) & ~(n - 1)) | v, .vector = v };
}

static void msix_message(const struct pci_dev *d, unsigned v, struct pci_message *m)
{
	const struct pci_msix_entry *e = &d->msix_table[v];

	*m = (struct pci_message){ .address = (uint64_t)e->address_hi << 32 | e->address_lo, .data = e->data,
				   .vector = v, .msix = 1 };
}

static int msi_masked(const struct pci_dev *d, unsigned v)
{
	return (le16(d->config + d->msi + MSI_CONTROL) & MSI_MASKABLE) && ((le32(d->config + msi_mask(d)) >> v) & 1);
}

static int msix_masked(const struct pci_dev *d, unsigned v)
{
	return (le16(d->config + d->msix + MSIX_CONTROL) & MSIX_FUNCTION_MASK) ||
	       (d->msix_table[v].control & MSIX_ENTRY_MASKED);
}

static enum pci_notify_result msix_event(struct pci_dev *d, unsigned v, struct pci_message *m)
{
	if (v >= d->msix_count)
		return PCI_NOTIFY_DROPPED;
	if (msix_masked(d, v)) {
		d->msix_table[v].pending = 1;
		return PCI_NOTIFY_PENDING;
	}
	msix_message(d, v, m);
	return PCI_NOTIFY_SENT;
}

/* A device granted fewer messages than it has events folds them onto those it has (PCI 3.0, 6.8.1.3). */
static enum pci_notify_result msi_event(struct pci_dev *d, unsigned vector, struct pci_message *m)
{
	unsigned v = vector & (msi_vectors_enabled(d) - 1);

	if (msi_masked(d, v)) {
		put_le32(d->config + msi_pending(d), le32(d->config + msi_pending(d)) | 1u << v);
		return PCI_NOTIFY_PENDING;
	}
	msi_message(d, v, m);
	return PCI_NOTIFY_SENT;
}

static enum pci_notify_result event(struct pci_dev *d, unsigned vector, struct pci_message *m)
{
	if ((msix_on(d) || msi_on(d)) && !(command(d) & CMD_BUS_MASTER))
		return PCI_NOTIFY_DROPPED; /* a message is a memory write: no bus mastering, no message */
	if (msix_on(d))
		return msix_event(d, vector, m);
	if (msi_on(d))
		return msi_event(d, vector, m);
	if (!d->config[REG_INTERRUPT_PIN])
		return PCI_NOTIFY_DROPPED;
	d->intx_level = 1;
	sync_intx(d);
	return PCI_NOTIFY_INTX;
}

/* A pending vector that may go now, its pending bit cleared; 0 if none. */
static int take_pending(struct pci_dev *d, struct pci_message *m)
{
	unsigned v;

	if (!(command(d) & CMD_BUS_MASTER))
		return 0;
	if (msix_on(d)) {
		for (v = 0; v < d->msix_count; v++) {
			if (d->msix_table[v].pending && !msix_masked(d, v)) {
				d->msix_table[v].pending = 0;
				msix_message(d, v, m);
				return 1;
			}
		}
		return 0;
	}
	if (!msi_on(d))
		return 0;
	for (v = 0; v < msi_vectors_enabled(d); v++) {
		uint32_t pending = le32(d->config + msi_pending(d));
		if (((pending >> v) & 1) && !msi_masked(d, v)) {
			put_le32(d->config + msi_pending(d), pending & ~(1u << v));
			msi_message(d, v, m);
			return 1;
		}
	}
	return 0;
}

/* ---- messages out, without the lock */

/* To the partition's local APICs; -1 (logged) if it is no interrupt message or names none of them. */
static int send(struct pci_dev *d, const struct pci_message *m)
{
	struct irq_msg msg;
	const char *why;
	char what[24], text[120];

	if (irq_msi_decode(m->address, m->data, &msg))
		why = "is no interrupt message";
	else if (irq_deliver(d->pci->part, &msg))
		why = "reaches no vCPU of the partition";
	else
		return 0;
	fmt(what, sizeof(what), "%s vector %u", m->msix ? "MSI-X" : "MSI", m->vector);
	fmt(text, sizeof(text), "address 0x%llx data 0x%x %s: dropped", (unsigned long long)m->address, m->data,
	    why);
	log_function(d, what, text);
	return -1;
}

/* What unmasking let go. */
static void send_pending(struct pci_dev *d)
{
	struct pci_message m;
	int found;

	do {
		spin_lock(&d->pci->lock);
		found = take_pending(d, &m);
		spin_unlock(&d->pci->lock);
		if (found)
			send(d, &m);
	} while (found);
}

enum pci_notify_result pci_notify(struct pci_dev *d, unsigned vector)
{
	struct pci_message m;
	enum pci_notify_result r;

	spin_lock(&d->pci->lock);
	r = event(d, vector, &m);
	spin_unlock(&d->pci->lock);
	if (r == PCI_NOTIFY_SENT && send(d, &m))
		r = PCI_NOTIFY_DROPPED;
	return r;
}

void pci_set_intx(struct pci_dev *d, int level)
{
	spin_lock(&d->pci->lock);
	d->intx_level = level != 0;
	sync_intx(d);
	spin_unlock(&d->pci->lock);
}

/* ---- configuration accesses: `where` is an ECAM offset, bus << 20 | devfn << 12 | register */

static struct pci_dev *function_at(const struct vpci *pci, uint64_t where)
{
	return where >> 20 ? 0 : pci->fn[(where >> 12) & 0xff];
}

static uint8_t read_byte(const struct pci_dev *d, unsigned reg)
{
	if (!d)
		return 0xff; /* nobody answers: the bridge completes with all-ones (PCI 3.0, 6.1) */
	return reg < PCI_HEADER_SPACE ? d->config[reg] : 0;
}

static void write_byte(struct pci_dev *d, unsigned reg, uint8_t v)
{
	uint8_t old = d->config[reg];

	d->config[reg] = (uint8_t)(((old & ~d->wmask[reg]) | (v & d->wmask[reg])) & ~(v & d->w1c[reg]));
}

/* An access of up to 8 bytes: within one function, or across into the next (ECAM). */
static void config_access(struct vpci *pci, uint64_t where, unsigned size, int is_write, uint64_t *value)
{
	struct pci_dev *touched[2] = { 0, 0 };
	uint64_t read = 0;
	unsigned i, n = 0;

	spin_lock(&pci->lock);
	for (i = 0; i < size; i++) {
		struct pci_dev *d = function_at(pci, where + i);
		unsigned reg = (unsigned)((where + i) & 0xfff);

		if (!is_write) {
			read |= (uint64_t)read_byte(d, reg) << (8 * i);
			continue;
		}
		if (!d || reg >= PCI_HEADER_SPACE)
			continue;
		write_byte(d, reg, (uint8_t)(*value >> (8 * i)));
		if (n == 0 || touched[n - 1] != d)
			touched[n++] = d;
	}
	for (i = 0; i < n; i++)
		sync_function(touched[i]);
	spin_unlock(&pci->lock);
	for (i = 0; i < n; i++)
		send_pending(touched[i]);
	if (!is_write)
		*value = read;
}

static void ecam_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	config_access(dev, offset, size, 0, value);
}

static void ecam_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	config_access(dev, offset, size, 1, &value);
}

static const struct vdev_ops ecam_ops = { ecam_read, ecam_write };

static void address_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	struct vpci *pci = dev;

	(void)offset;
	(void)size;
	*value = __atomic_load_n(&pci->address, __ATOMIC_RELAXED);
}

static void address_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct vpci *pci = dev;

	(void)offset;
	(void)size;
	__atomic_store_n(&pci->address, (uint32_t)value & CONFIG_ADDRESS_BITS, __ATOMIC_RELAXED);
}

static const struct vdev_ops address_ops = { address_read, address_write };

/* CONFIG_DATA byte `offset` is register byte (address & 0xFC) + offset of the function CONFIG_ADDRESS names. */
static int data_where(struct vpci *pci, uint64_t offset, uint64_t *where)
{
	uint32_t a = __atomic_load_n(&pci->address, __ATOMIC_RELAXED);

	*where = (uint64_t)((a >> 16) & 0xff) << 20 | (uint64_t)((a >> 8) & 0xff) << 12 | ((a & 0xfc) + offset);
	return (a & CONFIG_ENABLE) != 0;
}

static void data_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	uint64_t where;

	if (data_where(dev, offset, &where))
		config_access(dev, where, size, 0, value); /* else it stays all-ones, the bus's default */
}

static void data_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	uint64_t where;

	if (data_where(dev, offset, &where))
		config_access(dev, where, size, 1, &value);
}

static const struct vdev_ops data_ops = { data_read, data_write };

/* ---- the MSI-X table and PBA, in their BAR (dev: the function) */

static uint8_t msix_byte(const struct pci_dev *d, uint64_t offset)
{
	uint64_t pba = offset - PCI_MSIX_PBA;
	unsigned v, i;
	uint8_t bits = 0;

	if (offset < (uint64_t)d->msix_count * MSIX_ENTRY_SIZE) {
		const struct pci_msix_entry *e = &d->msix_table[offset / MSIX_ENTRY_SIZE];
		uint32_t words[4] = { e->address_lo, e->address_hi, e->data, e->control };
		return (uint8_t)(words[(offset / 4) % 4] >> (8 * (offset % 4)));
	}
	if (offset < PCI_MSIX_PBA || pba >= (d->msix_count + 63) / 64 * 8)
		return 0;
	for (i = 0; i < 8; i++) {
		v = (unsigned)pba * 8 + i;
		if (v < d->msix_count && d->msix_table[v].pending)
			bits |= (uint8_t)(1u << i);
	}
	return bits;
}

static void msix_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
	struct pci_dev *d = dev;
	uint64_t v = 0;
	unsigned i;

	spin_lock(&d->pci->lock);
	for (i = 0; i < size; i++)
		v |= (uint64_t)msix_byte(d, offset + i) << (8 * i);
	spin_unlock(&d->pci->lock);
	*value = v;
}

/* One dword of the table; bits 1:0 of the address and the control's reserved bits stay 0 (PCI 3.0, 6.8.2.6-9). */
static void msix_write_dword(struct pci_dev *d, uint64_t offset, uint32_t v)
{
	struct pci_msix_entry *e;

	if (offset >= (uint64_t)d->msix_count * MSIX_ENTRY_SIZE)
		return; /* the PBA and the rest are read-only */
	e = &d->msix_table[offset / MSIX_ENTRY_SIZE];
	switch ((offset / 4) % 4) {
	case 0: e->address_lo = v & ~3u; break;
	case 1: e->address_hi = v; break;
	case 2: e->data = v; break;
	default: e->control = v & MSIX_ENTRY_MASKED; break;
	}
}

/* Software writes the table a dword or an aligned qword at a time (PCI 3.0, 6.8.2); other writes are ignored. */
static void msix_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct pci_dev *d = dev;

	if ((size != 4 && size != 8) || offset % size)
		return;
	spin_lock(&d->pci->lock);
	msix_write_dword(d, offset, (uint32_t)value);
	if (size == 8)
		msix_write_dword(d, offset + 4, (uint32_t)(value >> 32));
	spin_unlock(&d->pci->lock);
	send_pending(d);
}

static const struct vdev_ops msix_ops = { msix_read, msix_write };

/* ---- the segment */

static const struct pci_identity host_bridge = {
	.vendor = 0x8086, .device = 0x29c0, .class_code = 0x060000, /* Q35's 82G33 DRAM controller, a host bridge */
};

const char *vpci_init(struct vpci *pci, struct partition *p)
{
	*pci = (struct vpci){ .part = p };
	pci_dev_init(&pci->host_bridge, &host_bridge);
	pci_register(pci, &pci->host_bridge, 0, 0);
	if (vdev_claim_port_register(p, PLATFORM_PCI_CONFIG_PORT, 4, &address_ops, pci) ||
	    vdev_claim_ports(p, PLATFORM_PCI_CONFIG_PORT + 4, 4, &data_ops, pci) ||
	    vdev_claim_mmio(p, PLATFORM_ECAM_BASE, ECAM_SIZE, &ecam_ops, pci))
		return p->bus.refused;
	return 0;
}

/* The first naturally aligned size bytes from *next that end by end; -1 if none do. */
static int allocate(uint64_t *next, uint64_t end, uint64_t size, uint64_t *base)
{
	uint64_t b;

	if (size > end)
		return -1;
	b = (*next + size - 1) & ~(size - 1);
	if (b > end - size)
		return -1;
	*base = b;
	*next = b + size;
	return 0;
}

/* Where firmware puts BAR i; -1 when its window is full. */
static int place_bar(struct pci_dev *d, unsigned i, uint64_t *mem, uint64_t *io)
{
	uint8_t *reg = d->config + REG_BAR0 + 4 * i;
	struct pci_bar *b = &d->bar[i];
	uint64_t base;

	if (b->kind == PCI_BAR_IO) {
		if (allocate(io, 0x10000, b->size, &base))
			return -1;
		put_le32(reg, (uint32_t)base | BAR_IO);
		return 0;
	}
	if (allocate(mem, PLATFORM_ECAM_BASE, b->size, &base))
		return -1;
	put_le32(reg, (uint32_t)base | (le32(reg) & 0xf));
	if (b->kind == PCI_BAR_MEM64)
		put_le32(reg + 4, 0);
	return 0;
}

static const char *start_function(struct pci_dev *d, uint64_t *mem, uint64_t *io)
{
	uint16_t cmd = CMD_BUS_MASTER;
	unsigned i, pin = d->config[REG_INTERRUPT_PIN];

	for (i = 0; i < PCI_BARS; i++) {
		enum pci_bar_kind kind = d->bar[i].kind;
		if (kind == PCI_BAR_NONE || kind == PCI_BAR_UPPER)
			continue;
		if (place_bar(d, i, mem, io))
			return kind == PCI_BAR_IO ? "its PCI I/O BARs do not fit in 0xC000-0xFFFF"
						  : "its PCI memory BARs do not fit below the ECAM window";
		cmd |= kind == PCI_BAR_IO ? CMD_IO : CMD_MEMORY;
	}
	put_le16(d->config + REG_COMMAND, cmd);
	d->config[REG_INTERRUPT_LINE] = (uint8_t)(pin ? pci_intx_gsi(slot_of(d), pin) : 0);
	sync_function(d);
	return 0;
}

const char *vpci_start(struct vpci *pci)
{
	uint64_t mem = PLATFORM_MMIO_BASE, io = PCI_IO_BASE;
	const char *why = 0;
	unsigned devfn;

	spin_lock(&pci->lock);
	for (devfn = 0; devfn < PCI_FUNCTIONS && !why; devfn++)
		if (pci->fn[devfn])
			why = start_function(pci->fn[devfn], &mem, &io);
	spin_unlock(&pci->lock);
	return why;
}
