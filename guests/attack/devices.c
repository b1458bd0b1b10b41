/*
 * Attacks on the PCI functions and what lies around them: MSI-X messages
 * aimed anywhere, the MSI-X table rewritten while requests complete,
 * configuration space sized, toggled and read at odd sizes while requests
 * are in flight, and the host's own MMIO ranges.
 */
#include <stdint.h>

#include "attack.h"
#include "hypercall.h"
#include "lib/fmt.h"
#include "vdev/virtio_spec.h"

#define PCI_COMMAND 0x04
#define PCI_BAR1 0x14
#define PCI_ROM_BAR 0x30
#define PCI_CAPS 0x34
#define CMD_MEMORY 0x2
#define CMD_MASTER 0x4
#define CAP_MSIX 0x11
#define MSIX_ENABLE (1u << 31) /* message control bit 15, in the capability's first dword */
#define MSIX_FUNCTION_MASK (1u << 30)
#define MSIX_PBA 0x800 /* the table at BAR1 offset 0, the PBA here (the capability says so) */
#define ECAM 0xe0000000ull /* the partition's MCFG window: buses 0-15 */
/* How long to wait for a message, in time, not TSC ticks: 2^30 ticks, a third of a second on QEMU, were 11 s on
 * Bochs, and pci-config-storm waited them out for each notification it lost (half its 100 rounds). */
#define MSG_WAIT tsc_ms(333)

static volatile uint32_t *msix_table;
static unsigned msix_cap;

static unsigned find_cap(unsigned bdf, uint8_t id)
{
	unsigned at = pci_read(bdf, PCI_CAPS) & 0xfc;

	while (at && (pci_read(bdf, at) & 0xff) != id)
		at = (pci_read(bdf, at) >> 8) & 0xfc;
	return at;
}

/* Disk 0 with MSI-X on and its queue's events on table entry 0. */
static void open_disk_msix(void)
{
	open_disk(0);
	msix_table = (volatile uint32_t *)(uintptr_t)(pci_read(disk.bdf, PCI_BAR1) & ~0xfu);
	msix_cap = find_cap(disk.bdf, CAP_MSIX);
	if (!msix_cap) {
		outcome("no MSI-X capability");
		hypercall_exit(1);
	}
	pci_write(disk.bdf, msix_cap, MSIX_ENABLE);
	common_write16(&disk, VIRTIO_CC_QUEUE_MSIX, 0);
}

static void msix_entry(unsigned i, uint64_t address, uint32_t data, uint32_t control)
{
	msix_table[4 * i] = (uint32_t)address;
	msix_table[4 * i + 1] = (uint32_t)(address >> 32);
	msix_table[4 * i + 2] = data;
	msix_table[4 * i + 3] = control;
}

static unsigned requests_ok;

/* Which vCPUs took the message of one request's completion: none, vcpu0, vcpu1 or both. */
static const char *taken_by(uint64_t address, uint32_t data, uint32_t control)
{
	static const char *const names[] = { "none", "vcpu0", "vcpu1", "both" };
	uint32_t before[2] = { storm_irqs[0], storm_irqs[1] };

	msix_entry(0, address, data, control);
	requests_ok += vblk_request(&disk, VIRTIO_BLK_T_IN, 0, (uint64_t)(uintptr_t)vblk_data, 512) == 0;
	if (control)
		msix_table[3] = 0; /* unmasked: the pending message goes now (PCI 3.0, 6.8.2.9) */
	halt_for(MSG_WAIT);
	return names[(storm_irqs[0] != before[0]) | (storm_irqs[1] != before[1]) << 1];
}

static uint32_t read_esr(void)
{
	lapic_write(LAPIC_ESR, 0); /* latches the errors seen since the last write (SDM Vol. 3A, 11.5.3) */
	return lapic_read(LAPIC_ESR);
}

/*
 * The queue's MSI-X message (SDM Vol. 3A, 11.11) aimed at vCPU 1, at
 * itself, at all, at an APIC ID that does not exist, at the host's HPET
 * and at its own RAM (no interrupt message), above 4 GiB, with the
 * reserved delivery mode 3, as an SMI, with vector 5, with the reserved
 * address bits 11:4 and data bits 31:16 set, and masked until the
 * request is done. What is no interrupt message or reaches no vCPU is
 * dropped and logged; vector 5 sets the receive-illegal-vector error.
 */
static void msix_misdirected(void)
{
	const char *to1, *self, *all, *no_apic, *hpet, *ram, *high, *mode3, *smi, *vec5, *reserved, *masked;
	uint32_t esr;

	lapic_write(LAPIC_SVR, 0x1ff);
	start_vcpu1(take_interrupts);
	open_disk_msix();
	to1 = taken_by(0xfee01000, MSIX_VECTOR, 0);
	self = taken_by(0xfee00000, MSIX_VECTOR, 0);
	all = taken_by(0xfeeff000, MSIX_VECTOR, 0);
	no_apic = taken_by(0xfee7f000, MSIX_VECTOR, 0);
	hpet = taken_by(0xfed00000, MSIX_VECTOR, 0);
	ram = taken_by(0x200000, MSIX_VECTOR, 0);
	high = taken_by(0x1fee00000ull, MSIX_VECTOR, 0);
	mode3 = taken_by(0xfee00000, 0x300 | MSIX_VECTOR, 0);
	smi = taken_by(0xfee00000, 0x200 | MSIX_VECTOR, 0);
	read_esr();
	vec5 = taken_by(0xfee00000, 5, 0);
	esr = read_esr();
	reserved = taken_by(0xfee00ff0, 0xffff0000u | MSIX_VECTOR, 0);
	masked = taken_by(0xfee00000, MSIX_VECTOR, 1);
	outcome("to_vcpu1=%s self=%s broadcast=%s reserved_bits=%s masked_until_done=%s", to1, self, all, reserved,
		masked);
	outcome("apic_id_7f=%s hpet=%s own_ram=%s above_4g=%s mode3=%s smi=%s vector5=%s esr=0x%x requests_ok=%u",
		no_apic, hpet, ram, high, mode3, smi, vec5, esr, requests_ok);
	hypercall_exit(0);
}

/* ---- the table rewritten while requests complete -------------------------- */

#define REWRITE_ROUNDS 500
static volatile int rewriting;
static volatile uint32_t rewrites;

/* vCPU 1: entry 0 aimed here and anywhere, masked and unmasked, the PBA written, the function masked. */
static void rewrite_table(void)
{
	static const uint64_t addresses[] = { 0xfee00000, 0xfee7f000, 0xfed00000, 0x1fee00000ull, 0 };

	while (!rewriting)
		;
	while (rewriting) {
		uint64_t r = random64();
		/* fixed, lowest priority, SMI or the reserved mode 3: an NMI or INIT would only end vCPU 0's own run */
		msix_entry(0, addresses[r % 5], MSIX_VECTOR | ((uint32_t)(r >> 8) & 3) << 8, (uint32_t)(r >> 20) & 1);
		msix_table[MSIX_PBA / 4] = ~0u;
		msix_table[MSIX_PBA / 4 + 1] = ~0u;
		*(volatile uint64_t *)&msix_table[4] = r; /* a qword at entry 1 */
		pci_write(disk.bdf, msix_cap, MSIX_ENABLE | ((r >> 32) & 1 ? MSIX_FUNCTION_MASK : 0));
		rewrites++;
	}
}

/*
 * vCPU 1 rewrites the MSI-X table (address, data, mask; the read-only
 * PBA; the function mask) while vCPU 0 submits requests whose completions
 * send that entry's message: each request is answered.
 */
static void msix_rewrite(void)
{
	unsigned i, answered = 0, ok = 0;
	int64_t started;
	uint32_t pba;

	open_disk_msix();
	started = start_vcpu1(rewrite_table);
	rewriting = 1;
	for (i = 0; i < REWRITE_ROUNDS; i++) {
		int status = vblk_request(&disk, VIRTIO_BLK_T_IN, i % 8, (uint64_t)(uintptr_t)vblk_data, 512);
		answered += status >= 0;
		ok += status == VIRTIO_BLK_S_OK;
	}
	rewriting = 0;
	msix_entry(0, 0xfee00000, MSIX_VECTOR, 0);
	pci_write(disk.bdf, msix_cap, MSIX_ENABLE);
	pba = msix_table[MSIX_PBA / 4];
	outcome("vcpu1=%lld rounds=%u answered=%u ok=%u rewrites_seen=%d pba_after_unmask=0x%x", (long long)started,
		REWRITE_ROUNDS, answered, ok, rewrites > 0, pba);
	hypercall_exit(0);
}

/* ---- configuration space ---------------------------------------------------- */

#define STORM_ROUNDS 100
#define STORM_PAUSE (1ull << 22)
static volatile int toggling;

/* The used ring moved within `ticks`: read from RAM, as the device's registers may not decode. */
static int answered_within(uint64_t ticks)
{
	uint64_t t0 = rdtsc();

	while (rdtsc() - t0 < ticks) {
		if (disk.used[1] != disk.used_seen) {
			disk.used_seen = disk.used[1];
			return 1;
		}
	}
	return 0;
}

/* vCPU 1: the command register's memory and bus-master bits, at random. */
static void toggle_command(void)
{
	uint32_t command = pci_read(disk.bdf, PCI_COMMAND);

	while (!toggling)
		;
	while (toggling)
		pci_write(disk.bdf, PCI_COMMAND, (command & ~(CMD_MEMORY | CMD_MASTER)) |
						 ((uint32_t)random64() & (CMD_MEMORY | CMD_MASTER)));
	pci_write(disk.bdf, PCI_COMMAND, command);
}

/* Each BAR and the ROM BAR written all ones and read (its size mask), then put back (PCI 3.0, 6.2.5.1). */
static void size_bars(char *out, unsigned size)
{
	unsigned reg, n = 0;

	for (reg = 0x10; reg <= PCI_ROM_BAR; reg += reg == 0x24 ? 0xc : 4) {
		uint32_t old = pci_read(disk.bdf, reg), mask;
		pci_write(disk.bdf, reg, ~0u);
		mask = pci_read(disk.bdf, reg);
		pci_write(disk.bdf, reg, old);
		n += (unsigned)fmt(out + n, size - n, "%s0x%x", n ? "," : "", mask);
	}
}

/* The vendor and device ID read through CONFIG_DATA by bytes, words and a dword across its end (port 0xD00). */
static void odd_sizes(uint32_t *bytes, uint32_t *words, uint32_t *across)
{
	outl(PCI_CFG_ADDRESS, 0x80000000u | disk.bdf << 8);
	*bytes = inb(PCI_CFG_DATA) | inb(PCI_CFG_DATA + 1) << 8 | inb(PCI_CFG_DATA + 2) << 16 |
		 (uint32_t)inb(PCI_CFG_DATA + 3) << 24;
	*words = inw(PCI_CFG_DATA) | (uint32_t)inw(PCI_CFG_DATA + 2) << 16;
	*across = inl(PCI_CFG_DATA + 1);
	outw(PCI_CFG_DATA + 3, 0xffff); /* the device ID's high byte (read-only) and port 0xD00 */
}

/*
 * Every BAR and the ROM BAR sized (all ones written, as firmware does, but
 * with decoding on); CONFIG_DATA read by bytes, words and across its end;
 * CONFIG_ADDRESS disabled and with reserved bits 30:24; the ECAM window
 * past each function's 256 bytes and past its last bus; then vCPU 1
 * toggles memory decoding and bus mastering while vCPU 0 submits
 * requests. Nothing breaks: once the command register is back, the disk
 * works.
 */
static void pci_config_storm(void)
{
	char masks[100];
	uint32_t id, bytes, words, across, disabled, reserved, ext, past_bus;
	unsigned i, answered = 0;
	int64_t started;

	open_disk(0);
	id = pci_read(disk.bdf, 0);
	size_bars(masks, sizeof(masks));
	odd_sizes(&bytes, &words, &across);
	outl(PCI_CFG_ADDRESS, disk.bdf << 8);
	disabled = inl(PCI_CFG_DATA);
	outl(PCI_CFG_ADDRESS, 0xff000000u | disk.bdf << 8);
	reserved = inl(PCI_CFG_DATA);
	ext = mmio_read32(ECAM + ((uint64_t)disk.bdf << 12) + 0x100);
	mmio_write32(ECAM + ((uint64_t)disk.bdf << 12) + 0x100, ~0u);
	ext |= mmio_read32(ECAM + ((uint64_t)disk.bdf << 12) + 0xffc);
	past_bus = mmio_read32(ECAM + (16ull << 20));
	outcome("bars=%s id_bytes=%d id_words=%d", masks, bytes == id, words == id);
	outcome("across_end=0x%x disabled=0x%x reserved_bits=0x%x ext=0x%x past_bus=0x%x", across, disabled, reserved,
		ext, past_bus);
	started = start_vcpu1(toggle_command);
	toggling = 1;
	for (i = 0; i < STORM_ROUNDS; i++) {
		vblk_header_desc(&disk, VIRTIO_BLK_T_IN, 0, 1);
		disk.desc[1] = (struct vq_desc){ (uint64_t)(uintptr_t)vblk_data, 512, VQ_F_NEXT | VQ_F_WRITE, 2 };
		vblk_status_desc(&disk, 2);
		vblk_submit(&disk, 0);
		halt_for(STORM_PAUSE); /* vCPU 1 toggles while the request is in flight */
		answered += answered_within(MSG_WAIT); /* decoding off: the notification was lost, as on hardware */
	}
	toggling = 0;
	halt_for(MSG_WAIT); /* vCPU 1 sees the end and puts the command register back */
	pci_write(disk.bdf, PCI_COMMAND, pci_read(disk.bdf, PCI_COMMAND) | CMD_MEMORY | CMD_MASTER);
	vblk_reinit(&disk);
	outcome("vcpu1=%lld rounds=%u answered=%u works_after=%d", (long long)started, STORM_ROUNDS, answered,
		vblk_request(&disk, VIRTIO_BLK_T_IN, 0, (uint64_t)(uintptr_t)vblk_data, 512));
	hypercall_exit(0);
}

/* ---- the host's MMIO ---------------------------------------------------------- */

/*
 * Where a PC has devices of its own: the HPET, Q35's MCFG window, the top
 * of the 4 GiB hole. None is the partition's: reads give all ones and
 * writes vanish, as on a bus where nothing answers (logged once).
 */
static void host_mmio(void)
{
	static const uint64_t where[] = { 0xfed00000, 0xb0000000, 0xfe000000, 0xfebf0000 };
	char line[120];
	unsigned i, n = 0;

	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		uint32_t before = mmio_read32(where[i]);
		mmio_write32(where[i], 0);
		n += (unsigned)fmt(line + n, sizeof(line) - n, "%s0x%llx=%x/%x", n ? " " : "",
				   (unsigned long long)where[i], before, mmio_read32(where[i]));
	}
	outcome("%s", line);
	hypercall_exit(0);
}

const struct attack device_attacks[] = {
	{ "msix-misdirected", msix_misdirected },
	{ "msix-rewrite", msix_rewrite },
	{ "pci-config-storm", pci_config_storm },
	{ "host-mmio", host_mmio },
	{ 0, 0 },
};
