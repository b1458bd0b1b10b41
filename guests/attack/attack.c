/*
 * The attack guest: a hostile partition for tests/e2e/test_attacks.py.
 * Its command line picks one attack (attack=NAME); it prints what it saw
 * as `ATTACK NAME ...` lines and exits (status 0), or is stopped by the
 * hypervisor with a logged reason, or (the never-ending ones) runs until
 * the operator stops it. What each attack does and what it must get is
 * in the table at the end and in the test.
 */
#include <stdint.h>

#include "attack.h"
#include "hypercall.h"
#include "lib/fmt.h"
#include "lib/str.h"
#include "vdev/virtio_spec.h"

uint64_t ram_end;
const char *attack_name;

/* ---- interrupts ---------------------------------------------------------- */

#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_DIVIDE 0x3e0
#define X2APIC_MSR(reg) (0x800 + ((reg) >> 4)) /* Intel SDM Vol. 3A, 11.12.1.2 */

volatile uint32_t storm_irqs[2];
volatile int x2apic_mode;

/* In x2APIC mode the registers are MSRs and the xAPIC page is no APIC's (SDM Vol. 3A, 11.12.1). */
void lapic_write(unsigned reg, uint32_t v)
{
	if (x2apic_mode)
		wrmsr(X2APIC_MSR(reg), v);
	else
		mmio_write32(LAPIC + reg, v);
}

uint32_t lapic_read(unsigned reg)
{
	return x2apic_mode ? (uint32_t)rdmsr(X2APIC_MSR(reg)) : mmio_read32(LAPIC + reg);
}

static unsigned this_vcpu(void)
{
	return (x2apic_mode ? lapic_read(LAPIC_ID) : lapic_read(LAPIC_ID) >> 24) ? 1 : 0;
}

int guest_interrupt(uint64_t vector)
{
	if (vector < STORM_VECTOR || vector > MSIX_VECTOR)
		return 0;
	storm_irqs[this_vcpu()]++;
	lapic_write(LAPIC_EOI, 0);
	return 1;
}

/* ---- virtqueues --------------------------------------------------------- */

struct vblk disk;

void open_disk(unsigned index)
{
	if (!vblk_open(&disk, index)) {
		outcome("no virtio-blk disk %u", index);
		hypercall_exit(1);
	}
}

/* The request was refused as a whole: nothing in the used ring, the device waits for a reset (virtio 1.2, 2.1.1). */
int refused(int status)
{
	int needs_reset = (vblk_status(&disk) & VBLK_NEEDS_RESET) != 0;

	vblk_reinit(&disk);
	return status < 0 && needs_reset;
}

/* Guest-physical addresses none of ours: past our RAM to the 4 GiB hole and beyond, where the host's own RAM,
 * the hypervisor's and the other partitions' lies under its own addresses. */
static uint64_t foreign_gpa(unsigned i, unsigned *count)
{
	static const uint64_t far[] = { 1ull << 32, 1ull << 40, (1ull << 52) - 4096, ~0ull - 4095 };
	uint64_t step = 1 * MIB, near = ((1ull << 32) - ram_end) / step;

	*count = (unsigned)(near + sizeof(far) / sizeof(far[0]) + 1);
	if (i == 0)
		return ram_end - 2048; /* half ours, half not */
	if (i - 1 < near)
		return ram_end + (i - 1) * step;
	return far[i - 1 - near];
}

/* Reads (device writes memory) or writes (device reads memory) of 4 KiB at each foreign address. */
static void buffers_outside_ram(uint32_t type)
{
	unsigned i, count = 1, refusals = 0, answered = 0;

	open_disk(0);
	for (i = 0; i < count; i++) {
		int status = vblk_request(&disk, type, 0, foreign_gpa(i, &count), 4096);
		answered += status >= 0;
		refusals += refused(status);
	}
	outcome("buffers=%u refused=%u answered=%u up_to=0x%llx", count, refusals, answered,
		(unsigned long long)foreign_gpa(count - 1, &count));
	hypercall_exit(0);
}

static void desc_into_foreign_memory(void)
{
	buffers_outside_ram(VIRTIO_BLK_T_IN);
}

static void desc_from_foreign_memory(void)
{
	buffers_outside_ram(VIRTIO_BLK_T_OUT);
}

/* A chain whose last descriptor points back: 0 -> 1 -> 2 -> 1, and one that points at itself. */
static void desc_loop(void)
{
	int loop, self;

	open_disk(0);
	vblk_header_desc(&disk, VIRTIO_BLK_T_IN, 0, 1);
	disk.desc[1] = (struct vq_desc){ (uint64_t)(uintptr_t)vblk_data, 512, VQ_F_NEXT | VQ_F_WRITE, 2 };
	disk.desc[2] = (struct vq_desc){ (uint64_t)(uintptr_t)vblk_data + 512, 512, VQ_F_NEXT | VQ_F_WRITE, 1 };
	vblk_submit(&disk, 0);
	loop = refused(vblk_wait(&disk) ? 0 : -1);
	disk.desc[0] = (struct vq_desc){ (uint64_t)(uintptr_t)vblk_header, 16, VQ_F_NEXT, 0 };
	vblk_submit(&disk, 0);
	self = refused(vblk_wait(&disk) ? 0 : -1);
	outcome("loop_refused=%d self_loop_refused=%d", loop, self);
	hypercall_exit(0);
}

static struct vq_desc indirect[1024] __attribute__((aligned(16)));

/* An indirect table longer than the queue; one whose entries loop; one that nests another. */
static void desc_long_chains(void)
{
	int too_long, looping, nested, i;

	vblk_features = (uint32_t)VIRTIO_F_INDIRECT_DESC; /* or each table is refused as not negotiated */
	open_disk(0);
	for (i = 0; i < 1024; i++)
		indirect[i] = (struct vq_desc){ (uint64_t)(uintptr_t)vblk_data, 4, VQ_F_NEXT | VQ_F_WRITE, (uint16_t)(i + 1) };
	disk.desc[0] = (struct vq_desc){ (uint64_t)(uintptr_t)indirect, sizeof(indirect), VQ_F_INDIRECT, 0 };
	vblk_submit(&disk, 0);
	too_long = refused(vblk_wait(&disk) ? 0 : -1);
	indirect[VQ_SIZE - 1].next = 0;
	disk.desc[0].len = VQ_SIZE * sizeof(struct vq_desc);
	vblk_submit(&disk, 0);
	looping = refused(vblk_wait(&disk) ? 0 : -1);
	indirect[0] = (struct vq_desc){ (uint64_t)(uintptr_t)indirect, 64, VQ_F_INDIRECT, 0 };
	vblk_submit(&disk, 0);
	nested = refused(vblk_wait(&disk) ? 0 : -1);
	outcome("indirect_1024_refused=%d indirect_loop_refused=%d nested_refused=%d", too_long, looping, nested);
	hypercall_exit(0);
}

/* Lengths 0, 2^31 and 2^32 - 1 on a data buffer in our RAM. */
static void desc_lengths(void)
{
	int zero, half, max;

	open_disk(0);
	zero = vblk_request(&disk, VIRTIO_BLK_T_IN, 0, (uint64_t)(uintptr_t)vblk_data, 0);
	half = refused(vblk_request(&disk, VIRTIO_BLK_T_IN, 0, (uint64_t)(uintptr_t)vblk_data, 0x80000000u));
	max = refused(vblk_request(&disk, VIRTIO_BLK_T_IN, 0, (uint64_t)(uintptr_t)vblk_data, 0xffffffffu));
	outcome("len0_status=%d len2g_refused=%d len4g_refused=%d", zero, half, max);
	hypercall_exit(0);
}

/* An available index 1000 ahead of the ring; a head index past the table. */
static void ring_indices(void)
{
	int ahead, head;

	open_disk(0);
	disk.avail[2] = 0;
	disk.avail[1] = 1000;
	*(volatile uint16_t *)(uintptr_t)disk.notify = 0;
	ahead = refused(vblk_wait(&disk) ? 0 : -1);
	vblk_request(&disk, VIRTIO_BLK_T_IN, 0, (uint64_t)(uintptr_t)vblk_data, 512); /* the queue works again */
	vblk_submit(&disk, 999);
	head = refused(vblk_wait(&disk) ? 0 : -1);
	outcome("index_ahead_refused=%d head_past_table_refused=%d good_after=%d", ahead, head,
		vblk_request(&disk, VIRTIO_BLK_T_IN, 0, (uint64_t)(uintptr_t)vblk_data, 512));
	hypercall_exit(0);
}

/* The rings themselves placed past our RAM before the queue is enabled. */
static void rings_outside_ram(void)
{
	uint8_t status;

	open_disk(0);
	*(volatile uint8_t *)(uintptr_t)(disk.common + VIRTIO_CC_STATUS) = 0;
	*(volatile uint8_t *)(uintptr_t)(disk.common + VIRTIO_CC_STATUS) = VIRTIO_STATUS_ACKNOWLEDGE |
									  VIRTIO_STATUS_DRIVER;
	*(volatile uint32_t *)(uintptr_t)(disk.common + VIRTIO_CC_DRIVER_FEATURE_SELECT) = 1;
	*(volatile uint32_t *)(uintptr_t)(disk.common + VIRTIO_CC_DRIVER_FEATURE) = 1;
	*(volatile uint8_t *)(uintptr_t)(disk.common + VIRTIO_CC_STATUS) |= VIRTIO_STATUS_FEATURES_OK;
	common_write16(&disk, VIRTIO_CC_QUEUE_SELECT, 0);
	common_write64(&disk, VIRTIO_CC_QUEUE_DESC, ram_end + 4096);
	common_write64(&disk, VIRTIO_CC_QUEUE_DRIVER, ram_end - 2);
	common_write64(&disk, VIRTIO_CC_QUEUE_DEVICE, ~0ull - 4095);
	common_write16(&disk, VIRTIO_CC_QUEUE_ENABLE, 1);
	*(volatile uint8_t *)(uintptr_t)(disk.common + VIRTIO_CC_STATUS) |= VIRTIO_STATUS_DRIVER_OK;
	*(volatile uint16_t *)(uintptr_t)disk.notify = 0;
	status = vblk_status(&disk);
	outcome("queue_enabled=%u driver_ok=%d needs_reset=%d",
		*(volatile uint16_t *)(uintptr_t)(disk.common + VIRTIO_CC_QUEUE_ENABLE),
		!!(status & VIRTIO_STATUS_DRIVER_OK), !!(status & VBLK_NEEDS_RESET));
	hypercall_exit(0);
}

/* ---- the ring rewritten while the device reads it: vCPU 1 flips, vCPU 0 asks ---- */

#define FLIPS_ROUNDS 2000
static volatile int flipping;
static uint8_t ap_stack[4096] __attribute__((aligned(16)));
static void (*ap_job)(void);

void guest_ap_main(uint64_t index)
{
	(void)index;
	load_idt(IDT_LIMIT);
	ap_job();
	for (;;)
		__asm__ volatile("cli; hlt");
}

int64_t start_vcpu1(void (*job)(void))
{
	ap_job = job;
	return hypercall3(HC_VCPU_START, 1, (uint64_t)(uintptr_t)ap_entry, (uint64_t)(uintptr_t)(ap_stack + sizeof(ap_stack)));
}

static void flip_descriptor(void)
{
	uint64_t n = 0;

	while (!flipping)
		;
	while (flipping) { /* the data descriptor: ours, then 4 GiB long, then past RAM, then a loop */
		volatile struct vq_desc *d = &disk.desc[1];
		switch (n++ & 3) {
		case 0: d->addr = (uint64_t)(uintptr_t)vblk_data; d->len = 4096; d->next = 2; break;
		case 1: d->len = 0xffffffffu; break;
		case 2: d->addr = ram_end; d->len = 4096; break;
		default: d->next = 1; break;
		}
	}
}

static void double_fetch(void)
{
	unsigned i, done = 0, refusals = 0, ok = 0, silent = 0;
	int64_t started;

	open_disk(0);
	started = start_vcpu1(flip_descriptor);
	flipping = 1;
	for (i = 0; i < FLIPS_ROUNDS; i++) {
		vblk_header_desc(&disk, VIRTIO_BLK_T_IN, 0, 1);
		disk.desc[1].flags = VQ_F_NEXT | VQ_F_WRITE;
		vblk_status_desc(&disk, 2);
		vblk_submit(&disk, 0);
		if (vblk_wait(&disk)) {
			done++;
			ok += vblk_status_byte[0] == VIRTIO_BLK_S_OK;
		} else if (refused(-1)) {
			refusals++;
		} else {
			silent++; /* neither answered nor refused in time */
		}
	}
	flipping = 0;
	outcome("vcpu1=%lld rounds=%u answered=%u ok=%u refused=%u silent=%u", (long long)started, FLIPS_ROUNDS, done,
		ok, refusals, silent);
	hypercall_exit(done + refusals == FLIPS_ROUNDS ? 0 : 1);
}

/* ---- block requests ----------------------------------------------------- */

/* Sectors that overflow sector * 512, or sector + count, or lie past the end. */
static void sector_overflow(void)
{
	uint64_t end = 0;
	int s[5];

	open_disk(0);
	end = disk.capacity;
	s[0] = vblk_request(&disk, VIRTIO_BLK_T_IN, ~0ull, (uint64_t)(uintptr_t)vblk_data, 512);
	s[1] = vblk_request(&disk, VIRTIO_BLK_T_IN, 1ull << 55, (uint64_t)(uintptr_t)vblk_data, 512);
	s[2] = vblk_request(&disk, VIRTIO_BLK_T_IN, ~0ull - 1, (uint64_t)(uintptr_t)vblk_data, 4096);
	s[3] = vblk_request(&disk, VIRTIO_BLK_T_IN, end, (uint64_t)(uintptr_t)vblk_data, 512);
	s[4] = vblk_request(&disk, VIRTIO_BLK_T_IN, end - 1, (uint64_t)(uintptr_t)vblk_data, 1024);
	outcome("capacity=%llu statuses=%d,%d,%d,%d,%d last_sector=%d", (unsigned long long)end, s[0], s[1], s[2],
		s[3], s[4], vblk_request(&disk, VIRTIO_BLK_T_IN, end - 1, (uint64_t)(uintptr_t)vblk_data, 512));
	hypercall_exit(0);
}

/* The second disk is read-only: a write there is an I/O error and changes nothing. */
static void read_only_write(void)
{
	uint32_t before, after;
	int status;

	open_disk(1);
	vblk_request(&disk, VIRTIO_BLK_T_IN, 0, (uint64_t)(uintptr_t)vblk_data, 512);
	before = *(uint32_t *)vblk_data;
	for (unsigned i = 0; i < 512; i++)
		vblk_data[i] = 0xa5;
	status = vblk_request(&disk, VIRTIO_BLK_T_OUT, 0, (uint64_t)(uintptr_t)vblk_data, 512);
	vblk_request(&disk, VIRTIO_BLK_T_IN, 0, (uint64_t)(uintptr_t)vblk_data, 512);
	after = *(uint32_t *)vblk_data;
	outcome("write_status=%d unchanged=%d flush_status=%d", status, before == after,
		vblk_request(&disk, VIRTIO_BLK_T_FLUSH, 0, 0, 0));
	hypercall_exit(0);
}

/* Writes at and across the end of the writable disk. */
static void write_past_end(void)
{
	uint64_t end;
	int at, across, far;

	open_disk(0);
	end = disk.capacity;
	at = vblk_request(&disk, VIRTIO_BLK_T_OUT, end, (uint64_t)(uintptr_t)vblk_data, 512);
	across = vblk_request(&disk, VIRTIO_BLK_T_OUT, end - 1, (uint64_t)(uintptr_t)vblk_data, 4096);
	far = vblk_request(&disk, VIRTIO_BLK_T_OUT, end + (1ull << 40), (uint64_t)(uintptr_t)vblk_data, 512);
	outcome("at_end=%d across_end=%d far=%d unknown_type=%d", at, across, far,
		vblk_request(&disk, 0x7fffffff, 0, (uint64_t)(uintptr_t)vblk_data, 512));
	hypercall_exit(0);
}

/* ---- the CPU ------------------------------------------------------------ */

struct msr_try {
	const char *name;
	uint32_t msr;
	int write;
	uint64_t value;
};

#define MSR_APIC_BASE 0x1b
#define MSR_BIOS_UPDT_TRIG 0x79
#define MSR_SYSENTER_EIP 0x176
#define MSR_MTRR_PHYS_BASE0 0x200
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_VMX_BASIC 0x480
#define MSR_VM_CR 0xc0010114
#define MSR_VM_HSAVE_PA 0xc0010117
#define EFER_SVME (1ull << 12)

/* Each is tried in turn; what it gave (ok or #GP) goes on the outcome line in this order. */
static void sensitive_msrs(void)
{
	uint64_t efer = rdmsr(MSR_EFER), apic = rdmsr(MSR_APIC_BASE), sysenter;
	const struct msr_try tries[] = {
		{ "efer_svme", MSR_EFER, 1, efer | EFER_SVME },
		{ "efer_lme_off", MSR_EFER, 1, efer & ~(1ull << 8) },
		{ "efer_bit20", MSR_EFER, 1, efer | (1ull << 20) },
		{ "apic_base_move", MSR_APIC_BASE, 1, (apic & 0xfff) | 0x80000000ull },
		{ "apic_base_reserved", MSR_APIC_BASE, 1, apic | (1ull << 62) },
		{ "microcode_load", MSR_BIOS_UPDT_TRIG, 1, 0x100000 },
		{ "vmx_basic", MSR_VMX_BASIC, 0, 0 },
		{ "vm_cr", MSR_VM_CR, 1, 0 },
		{ "vm_hsave_pa", MSR_VM_HSAVE_PA, 1, 0x1000 },
		{ "mtrr_reserved", MSR_MTRR_PHYS_BASE0, 1, 1ull << 62 | 6 },
		{ "mtrr_bad_type", MSR_MTRR_DEF_TYPE, 1, 2 },
		{ "pat_bad_type", MSR_PAT, 1, 0x0007040600070402ull },
		{ "tsc_write", MSR_TSC, 1, 0 },
	};
	char line[120];
	unsigned i, n = 0;

	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		uint64_t v = tries[i].value;
		int gp = tries[i].write ? wrmsr_faults(tries[i].msr, v) : rdmsr_faults(tries[i].msr, &v);
		n += (unsigned)fmt(line + n, sizeof(line) - n, "%s%s=%s", n ? " " : "", tries[i].name, gp ? "gp" : "ok");
		if (n >= 100) {
			outcome("%s", line);
			n = 0;
		}
	}
	wrmsr(MSR_SYSENTER_EIP, 0xffffffff81000000ull); /* the CPU switches it: ours to set */
	sysenter = rdmsr(MSR_SYSENTER_EIP);
	outcome("%s sysenter_eip_kept=%d efer_after=0x%llx", line, sysenter == 0xffffffff81000000ull,
		(unsigned long long)rdmsr(MSR_EFER));
	hypercall_exit(0);
}

static int xsetbv_n_faults(uint32_t index, uint64_t value)
{
	expect_fault(VEC_GP, 3);
	__asm__ volatile("xsetbv" : : "c"(index), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
	return fault_taken(VEC_GP);
}

static void xsetbv_invalid(void)
{
	uint64_t cr4;

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1ull << 18))); /* OSXSAVE */
	outcome("no_x87=%s avx_without_sse=%s bit63=%s all_ones=%s xcr1=%s valid=%s",
		xsetbv_faults(2) ? "gp" : "ok", xsetbv_faults(5) ? "gp" : "ok", xsetbv_faults(1ull << 63 | 3) ? "gp" : "ok",
		xsetbv_faults(~0ull) ? "gp" : "ok", xsetbv_n_faults(1, 3) ? "gp" : "ok", xsetbv_faults(3) ? "gp" : "ok");
	hypercall_exit(0);
}

static int cr3_write_faults(uint64_t value)
{
	expect_fault(VEC_GP, 3); /* mov cr3, rax: 0F 22 D8 */
	__asm__ volatile("mov %0, %%cr3" : : "a"(value) : "memory");
	return fault_taken(VEC_GP);
}

/*
 * CR and EFER values the CPU refuses (Intel SDM Vol. 3A, 2.5 and 9.8.5;
 * AMD APM Vol. 2, 3.1), one line each as it goes: on AMD-V the CPU itself
 * checks MOV to CR, and an emulated one that does not leaves a state its
 * VMRUN refuses, which stops the partition after the line before.
 */
static void control_register_transitions(void)
{
	uint64_t cr0, cr3, cr4, efer = rdmsr(MSR_EFER);

	__asm__ volatile("mov %%cr0, %0; mov %%cr3, %1; mov %%cr4, %2" : "=r"(cr0), "=r"(cr3), "=r"(cr4));
	outcome("efer_lme_off=%s", wrmsr_faults(MSR_EFER, efer & ~(1ull << 8)) ? "gp" : "ok");
	outcome("efer_svme=%s", wrmsr_faults(MSR_EFER, efer | EFER_SVME) ? "gp" : "ok");
	outcome("cr4_vmxe=%s", cr4_write_faults(cr4 | (1ull << 13)) ? "gp" : "ok");
	outcome("cr4_bit31=%s", cr4_write_faults(cr4 | (1ull << 31)) ? "gp" : "ok");
	outcome("cr3_bit62=%s", cr3_write_faults(cr3 | (1ull << 62)) ? "gp" : "ok");
	outcome("cr0_nw_without_cd=%s", cr0_write_faults((cr0 | (1ull << 29)) & ~(1ull << 30)) ? "gp" : "ok");
	outcome("cr0_bit32=%s", cr0_write_faults(cr0 | (1ull << 32)) ? "gp" : "ok");
	hypercall_exit(0);
}

/* Every VMX and SVM instruction: each must be #UD. */
static void virt_instructions(void)
{
	unsigned i, ud = 0;

	for (i = 0; i < virt_insn_count; i++) {
		expect_fault(VEC_UD, virt_insns[i].length);
		run_bytes(virt_insns[i].bytes, virt_insns[i].length);
		ud += (unsigned)fault_taken(VEC_UD);
	}
	outcome("ud=%u of %u", ud, virt_insn_count);
	hypercall_exit(0);
}

/* ---- interrupt storms ---------------------------------------------------- */

#define IPI_STORM 10000
#define INIT_SIPI_ROUNDS 200
#define SIPI_PAGE 0x70000ull /* below 1 MiB, where a STARTUP IPI's vector can point */

void take_interrupts(void)
{
	lapic_write(LAPIC_SVR, 0x1ff); /* software-enabled, spurious vector 0xff */
	for (;;)
		__asm__ volatile("sti; hlt; cli");
}

#define TIMING_LEAF 0x40000010u /* the hypervisor's: EAX the TSC's kHz */

uint64_t tsc_ms(uint64_t ms)
{
	uint32_t timing[4];

	cpuid(TIMING_LEAF, timing);
	return (uint64_t)timing[0] * ms;
}

void halt_for(uint64_t ticks)
{
	uint64_t t0 = rdtsc();

	while (rdtsc() - t0 < ticks) {
		wake_after(ticks / 8);
		__asm__ volatile("sti; hlt; cli");
	}
}

/* Fixed IPIs at vCPU 1 and at all, then INIT and STARTUP again and again (Intel SDM Vol. 3A, 11.6 and 9.4.4). */
static void ipi_storm(void)
{
	static const uint8_t park[] = { 0xfa, 0xf4, 0xeb, 0xfd }; /* real mode: cli; hlt; jmp to the hlt */
	int64_t started;
	unsigned i;

	lapic_write(LAPIC_SVR, 0x1ff);
	started = start_vcpu1(take_interrupts);
	for (i = 0; i < 4; i++)
		((volatile uint8_t *)(uintptr_t)SIPI_PAGE)[i] = park[i];
	for (i = 0; i < IPI_STORM; i++) {
		lapic_write(LAPIC_ICR_HIGH, 1u << 24);
		lapic_write(LAPIC_ICR_LOW, STORM_VECTOR);
	}
	for (i = 0; i < IPI_STORM / 10; i++)
		lapic_write(LAPIC_ICR_LOW, STORM_VECTOR | 2u << 18); /* all including self */
	__asm__ volatile("sti; nop; cli");
	outcome("vcpu1=%lld fixed_sent=%u vcpu1_took=%u self_took=%u", (long long)started, IPI_STORM + IPI_STORM / 10,
		storm_irqs[1], storm_irqs[0]);
	for (i = 0; i < INIT_SIPI_ROUNDS; i++) {
		lapic_write(LAPIC_ICR_HIGH, 1u << 24);
		lapic_write(LAPIC_ICR_LOW, 0x4500); /* INIT, assert */
		lapic_write(LAPIC_ICR_LOW, 0x4600 | (uint32_t)(SIPI_PAGE >> 12)); /* STARTUP */
		lapic_write(LAPIC_ICR_LOW, 0x4600 | (uint32_t)(SIPI_PAGE >> 12));
	}
	outcome("init_sipi_rounds=%u", INIT_SIPI_ROUNDS);
	hypercall_exit(0);
}

/* The local APIC timer, periodic with an initial count of 1 and divide by 1: as fast as it goes. */
static void timer_storm(void)
{
	uint64_t t0;

	lapic_write(LAPIC_SVR, 0x1ff);
	lapic_write(LAPIC_TIMER_DIVIDE, 0xb);
	lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR | 1u << 17);
	lapic_write(LAPIC_TIMER_INITIAL, 1);
	for (t0 = rdtsc(); rdtsc() - t0 < (1ull << 32);)
		__asm__ volatile("sti; nop; nop; cli");
	lapic_write(LAPIC_LVT_TIMER, 1u << 16);
	outcome("timer_irqs=%u", storm_irqs[0]);
	hypercall_exit(0);
}

/* ---- the platform's devices ----------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

uint64_t random64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * Accesses that would reach a port that resets or powers off the
 * partition (and would start the fuzzing again) or its UART; a dword at
 * 0xCF8 is the PCI address register, not the reset port's neighbour.
 */
static int port_spared(unsigned port, unsigned size)
{
	unsigned last = port + size - 1;

	if (port == 0xcf8 && size == 4)
		return 0;
	return (port <= 0x64 && last >= 0x60) || (port <= 0xcf9 && last >= 0xcf9) ||
	       (port <= 0x605 && last >= 0x604) || (port <= 0x3ff && last >= 0x3f8);
}

/* Every port, IN or OUT of a random size and value. */
static void port_fuzz(void)
{
	unsigned port, ins = 0, outs = 0;

	for (port = 0; port < 0x10000; port++) {
		uint64_t r = random64();
		if (port_spared(port, (r & 3) == 3 ? 4 : 1u << (r & 3)))
			continue;
		if (r & 8) {
			outs++;
			switch (r & 3) {
			case 0: outb((uint16_t)port, (uint8_t)(r >> 8)); break;
			case 1: outw((uint16_t)port, (uint16_t)(r >> 8)); break;
			default: outl((uint16_t)port, (uint32_t)(r >> 8)); break;
			}
		} else {
			ins++;
			switch (r & 3) {
			case 0: (void)inb((uint16_t)port); break;
			case 1: (void)inw((uint16_t)port); break;
			default: (void)inl((uint16_t)port); break;
			}
		}
	}
	outcome("ins=%u outs=%u", ins, outs);
	hypercall_exit(0);
}

#define MMIO_FUZZ_ROUNDS 20000

static void mmio_access(uint64_t addr, unsigned size, int write, uint64_t value)
{
	if (write) {
		switch (size) {
		case 1: *(volatile uint8_t *)(uintptr_t)addr = (uint8_t)value; break;
		case 2: *(volatile uint16_t *)(uintptr_t)addr = (uint16_t)value; break;
		case 4: *(volatile uint32_t *)(uintptr_t)addr = (uint32_t)value; break;
		default: *(volatile uint64_t *)(uintptr_t)addr = value; break;
		}
	} else {
		switch (size) {
		case 1: (void)*(volatile uint8_t *)(uintptr_t)addr; break;
		case 2: (void)*(volatile uint16_t *)(uintptr_t)addr; break;
		case 4: (void)*(volatile uint32_t *)(uintptr_t)addr; break;
		default: (void)*(volatile uint64_t *)(uintptr_t)addr; break;
		}
	}
}

/* Random reads and writes of random sizes on the local APIC (but its ICR), the I/O APIC and both disks' BARs. */
static void mmio_fuzz(void)
{
	struct vblk other;
	uint64_t base[4] = { LAPIC, 0xfec00000ull, 0, 0 }, span[4] = { 4096, 4096, 0x4000, 0x4000 };
	unsigned i, writes = 0;

	open_disk(0);
	base[2] = disk.bar;
	base[3] = vblk_open(&other, 1) ? other.bar : disk.bar;
	for (i = 0; i < MMIO_FUZZ_ROUNDS; i++) {
		uint64_t r = random64(), which = r % 4, size = 1u << (r >> 2 & 3);
		uint64_t offset = (r >> 8) % span[which] & ~(size - 1), value = random64();
		int write = (r >> 4 & 1) && !(which == 0 && (offset & ~0x1full) == LAPIC_ICR_LOW);
		mmio_access(base[which] + offset, (unsigned)size, write, value);
		writes += (unsigned)write;
	}
	outcome("accesses=%u writes=%u", MMIO_FUZZ_ROUNDS, writes);
	hypercall_exit(0);
}

/* Every function of bus 0 and function 0 of every device on every other bus, through 0xCF8: only the
 * partition's own devices answer, none of the host's. */
static void pci_scan(void)
{
	char ids[100];
	unsigned bdf, found = 0, n = 0;

	ids[0] = 0;
	for (bdf = 0; bdf < 0x10000; bdf++) {
		uint32_t id;
		if (bdf >= 0x100 && (bdf & 7))
			continue;
		id = pci_read(bdf, 0);
		if (id == 0xffffffffu)
			continue;
		found++;
		if (n < sizeof(ids) - 16)
			n += (unsigned)fmt(ids + n, sizeof(ids) - n, "%s%02x:%02x.%x=%04x:%04x", n ? "," : "", bdf >> 8,
					   bdf >> 3 & 31, bdf & 7, id & 0xffff, id >> 16);
	}
	outcome("functions=%u %s", found, ids);
	hypercall_exit(0);
}

#define PCI_BAR0 0x10
#define RAM_PROBE 0x200000ull /* our RAM, nothing of ours there */

/* Disk 0's BAR moved over our RAM, over the local APIC, over disk 1's BAR, then back: what answers where. */
static void bar_moves(void)
{
	struct vblk other;
	uint64_t home;
	uint32_t ram_read, apic_id, shared;

	open_disk(0);
	home = disk.bar;
	if (!vblk_open(&other, 1))
		hypercall_exit(1);
	*(volatile uint32_t *)(uintptr_t)RAM_PROBE = 0x600dcafe;
	pci_write(disk.bdf, PCI_BAR0, (uint32_t)RAM_PROBE);
	ram_read = mmio_read32(RAM_PROBE);
	pci_write(disk.bdf, PCI_BAR0, (uint32_t)LAPIC);
	apic_id = mmio_read32(LAPIC + LAPIC_ID);
	pci_write(disk.bdf, PCI_BAR0, (uint32_t)other.bar);
	shared = vblk_request(&other, VIRTIO_BLK_T_IN, 0, (uint64_t)(uintptr_t)vblk_data, 512) == 0;
	pci_write(disk.bdf, PCI_BAR0, (uint32_t)home);
	vblk_reinit(&disk); /* the two share one queue's memory: ours again */
	outcome("over_ram_reads=0x%08x over_apic_id=0x%08x other_disk_ok=%d home_ok=%d", ram_read, apic_id, shared,
		vblk_request(&disk, VIRTIO_BLK_T_IN, 0, (uint64_t)(uintptr_t)vblk_data, 512) == 0);
	hypercall_exit(0);
}

/* ---- never yielding, flooding --------------------------------------------- */

static void never_yield(void)
{
	outcome("spinning");
	spin();
}

static void uart_flood(void)
{
	uint64_t n;

	for (n = 0;; n++)
		outcome("flood %llu the quick brown fox jumps over the lazy dog", (unsigned long long)n);
}

/* ---- main --------------------------------------------------------------- */

static void shared_hostile(void)
{
	hostile(attack_name, ram_end);
}

static const struct attack attacks[] = {
	{ "desc-into-foreign-memory", desc_into_foreign_memory },
	{ "desc-from-foreign-memory", desc_from_foreign_memory },
	{ "desc-loop", desc_loop },
	{ "desc-long-chains", desc_long_chains },
	{ "desc-lengths", desc_lengths },
	{ "ring-indices", ring_indices },
	{ "rings-outside-ram", rings_outside_ram },
	{ "double-fetch", double_fetch },
	{ "sector-overflow", sector_overflow },
	{ "read-only-write", read_only_write },
	{ "write-past-end", write_past_end },
	{ "sensitive-msrs", sensitive_msrs },
	{ "xsetbv-invalid", xsetbv_invalid },
	{ "cr-transitions", control_register_transitions },
	{ "virt-instructions", virt_instructions },
	{ "ipi-storm", ipi_storm },
	{ "timer-storm", timer_storm },
	{ "port-fuzz", port_fuzz },
	{ "mmio-fuzz", mmio_fuzz },
	{ "pci-scan", pci_scan },
	{ "bar-moves", bar_moves },
	{ "never-yield", never_yield },
	{ "uart-flood", uart_flood },
	/* the self-test's hostile modes (guests/common/runtime.c, mmio.c) */
	{ "triple-fault", shared_hostile },
	{ "cr8-spin", shared_hostile },
	{ "db-storm", shared_hostile },
	{ "ac-storm", shared_hostile },
	{ "insn-flood", shared_hostile },
	{ "mmio-tables", shared_hostile },
	{ "mmio-cross-page", shared_hostile },
	{ "mmio-unsupported", shared_hostile },
	{ 0, 0 },
};

static const struct attack *const tables[] = { attacks, queue_attacks, device_attacks, interrupt_attacks, cpu_attacks,
						  event_attacks, workloads };

static const struct attack *find_attack(const char *name)
{
	const struct attack *a;
	unsigned t;

	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (a = tables[t]; a->name; a++)
			if (str_eq(name, a->name))
				return a;
	return 0;
}

void guest_main(const uint8_t *bp)
{
	static char name[40];
	const struct attack *a;
	uint32_t v[4];

	cpuid(0, v);
	is_amd = v[1] == 0x68747541; /* "Auth"enticAMD */
	install_traps();
	ram_end = ram_top(bp);
	cmdline_value(bp, "attack=", name, sizeof(name));
	attack_name = name;
	a = find_attack(name);
	if (a) {
		outcome("start ram_top=0x%llx", (unsigned long long)ram_end);
		a->run();
		outcome("survived");
		hypercall_exit(0);
	}
	outcome("unknown attack");
	hypercall_exit(1);
}
