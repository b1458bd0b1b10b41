/*
 * VT-x backend (Intel SDM Vol. 3C, chapters 24 to 29): VMXON per CPU, one
 * VMCS per vCPU, EPT per partition, VPID where offered. Every control is
 * computed from the capability MSRs (controls.c); a missing feature is
 * refused by name. Port I/O always exits; MSRs exit but for those the
 * VMCS switches.
 */
#include <stdint.h>

#include "controls.h"
#include "arch.h"
#include "control_regs.h"
#include "cpu.h"
#include "guest_boot.h"
#include "log.h"
#include "mitigations.h"
#include "mm.h"
#include "partition.h"
#include "percpu.h"
#include "policy.h"
#include "scheduler.h"
#include "space.h"
#include "vcpu.h"
#include "vmcs.h"

void vmx_exit_stub(void);

#define FEATURE_CONTROL_LOCKED (1ull << 0)
#define FEATURE_CONTROL_VMX (1ull << 2)
#define CR4_VMXE (1ull << 13)
#define EFER_LMA_BIT (1ull << 10)
#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18
#define VAPIC_TPR 0x80 /* the task priority's offset in the virtual-APIC page (SDM Vol. 3C, 30.1.1) */
#define DR6_ACTIVE_LOW 0xffff0ff0ull
#define DR6_TRAP_BITS 0x600full /* B0-B3, BD, BS: what a #DB exit qualification reports */
#define DR6_BS (1ull << 14)
#define RFLAGS_TF (1ull << 8)
#define RFLAGS_IF (1ull << 9)
#define VEC_DB 1
#define VEC_GP 13
#define VEC_AC 17
#define EVENT_TYPE_NMI 2
#define INTERRUPTIBILITY_NMI (1u << 3) /* blocking by NMI: virtual-NMI blocking (SDM Vol. 3C, 25.4.2) */
#define EVENT_TYPE_HW_EXCEPTION 3

/*
 * MSRs the guest reads and writes directly (the bitmap lets it) that the
 * VMCS does not switch: each vCPU's values are loaded while it runs.
 */
static const uint32_t syscall_msrs[] = { MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_KERNEL_GS_BASE };
#define SYSCALL_MSRS (sizeof(syscall_msrs) / sizeof(syscall_msrs[0]))

struct vmx_vcpu {
	uint64_t vmcs_pa;
	struct guest_space *space;
	struct vcpu_tag tag; /* its VPID */
	int launched;
	uint64_t cr0_shadow_mask, cr4_shadow_mask;
	uint64_t syscall_msr_values[SYSCALL_MSRS]; /* while another vCPU's are loaded; 0 at reset */
	uint32_t flushed; /* the space's generation this vCPU last flushed */
	uint64_t vapic_pa; /* virtual-APIC page: the guest's TPR, with the TPR shadow */
	uint64_t cr8;      /* the guest's TPR without the TPR shadow (MOV CR8 exits) */
	uint64_t pat;      /* the guest's PAT when the VMCS cannot switch it */
	uint64_t tsc_offset; /* the VMCS's TSC offset */
	unsigned timer_reuses; /* entries left that may count on from the preemption timer's saved count */
	struct code_cache code_cache;
};

/* Shared by all CPUs; each CPU's VMXON region and current VMCS are in its struct cpu. */
static struct {
	struct vmx_caps caps;
	struct vmx_controls ctl;
	uint64_t msr_bitmap_pa;
	struct tag_pool vpid_pool; /* VPIDs 1 to 0xffff: 0 is the host's */
	uint64_t page_sizes;
	uint64_t host_pat;
} vmx;

/* ---- VMX instructions ------------------------------------------------- */

static uint64_t vmread(enum vmcs_field f)
{
	uint64_t v;

	__asm__ volatile("vmread %1, %0" : "=r"(v) : "r"((uint64_t)f) : "cc");
	return v;
}

static void vmwrite(enum vmcs_field f, uint64_t v)
{
	__asm__ volatile("vmwrite %1, %0" : : "r"((uint64_t)f), "r"(v) : "cc");
}

/* VMXON, VMCLEAR, VMPTRLD take a memory operand; CF or ZF set means failure (SDM Vol. 3C, 31.2). */
#define VMX_OP(insn, pa)                                                                       \
	({                                                                                     \
		uint64_t operand_ = (pa);                                                      \
		uint8_t failed_;                                                               \
		__asm__ volatile(insn " %1; setna %0" : "=q"(failed_) : "m"(operand_) : "cc", "memory"); \
		failed_ ? -1 : 0;                                                              \
	})

/* The VMCS this CPU made current, read through GS, whose base is this CPU's struct cpu (percpu.h): one compare. */
static uint64_t current_vmcs(void)
{
	return ((const __seg_gs struct cpu *)0)->current_vmcs;
}

static int vmptrld(uint64_t pa)
{
	if (pa == current_vmcs())
		return 0;
	this_cpu()->current_vmcs = pa;
	return VMX_OP("vmptrld", pa);
}

static int vmclear(uint64_t pa)
{
	struct cpu *c = this_cpu();

	if (pa == c->current_vmcs)
		c->current_vmcs = 0;
	return VMX_OP("vmclear", pa);
}

static void invept_all(uint64_t eptp)
{
	struct {
		uint64_t eptp, reserved;
	} desc = { eptp, 0 };
	uint64_t type = (vmx.ctl.invept_types & 4) ? 2 : 1; /* all-context, else single-context */

	__asm__ volatile("invept %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
}

static void invvpid_context(uint16_t vpid)
{
	struct {
		uint64_t vpid, address;
	} desc = { vpid, 0 };
	uint64_t type = (vmx.ctl.invvpid_types & 2) ? 1 : 2; /* single-context, else all-context */

	__asm__ volatile("invvpid %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
}

/* ---- per-CPU enable ---------------------------------------------------- */

static void read_caps(struct vmx_caps *c)
{
	c->basic = rdmsr(0x480);
	c->pinbased = rdmsr(0x481);
	c->procbased = rdmsr(0x482);
	c->exit = rdmsr(0x483);
	c->entry = rdmsr(0x484);
	c->misc = rdmsr(0x485);
	c->cr0_fixed0 = rdmsr(0x486);
	c->cr0_fixed1 = rdmsr(0x487);
	c->cr4_fixed0 = rdmsr(0x488);
	c->cr4_fixed1 = rdmsr(0x489);
	c->procbased2 = (c->procbased >> 63) ? rdmsr(0x48b) : 0;
	c->ept_vpid = (c->procbased2 >> 33) & 1 ? rdmsr(0x48c) : 0; /* EPT allowed: bit 1 + 32 */
	if (c->basic >> 55 & 1) {
		c->true_pinbased = rdmsr(0x48d);
		c->true_procbased = rdmsr(0x48e);
		c->true_exit = rdmsr(0x48f);
		c->true_entry = rdmsr(0x490);
	}
}

/* IA32_FEATURE_CONTROL (SDM Vol. 3C, 24.7): lock it with VMX on unless the firmware locked it. */
static int feature_control(void)
{
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);

	if (!(fc & FEATURE_CONTROL_LOCKED)) {
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FEATURE_CONTROL_VMX | FEATURE_CONTROL_LOCKED);
		return 0;
	}
	if (!(fc & FEATURE_CONTROL_VMX)) {
		log_error("VT-x: the firmware locked VMX off (IA32_FEATURE_CONTROL); enable it in its setup");
		return -1;
	}
	return 0;
}

static uint32_t revision(void)
{
	return (uint32_t)vmx.caps.basic & 0x7fffffff;
}

static int build_msr_bitmap(void)
{
	static const uint32_t passthrough[] = { MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR,
						MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_SYSENTER_CS,
						MSR_SYSENTER_ESP, MSR_SYSENTER_EIP, MSR_PAT };
	uint8_t *map;
	unsigned i, half;

	vmx.msr_bitmap_pa = mm_alloc(1);
	if (!vmx.msr_bitmap_pa)
		return -1;
	map = mm_ptr(vmx.msr_bitmap_pa);
	for (i = 0; i < PAGE_SIZE; i++)
		map[i] = 0xff;
	/* Read low at 0, read high at 1024, write low at 2048, write high at 3072 (SDM 25.6.9). */
	for (i = 0; i < sizeof(passthrough) / sizeof(passthrough[0]); i++) {
		uint32_t msr = passthrough[i], base = msr >= 0xc0000000 ? 1024 : 0, bit = msr & 0x1fff;
		if (!msr_passthrough(msr))
			continue;
		for (half = 0; half < 2; half++)
			map[base + half * 2048 + bit / 8] &= (uint8_t)~(1u << (bit % 8));
	}
	return 0;
}

/* What all CPUs share, set up by the first to enable VT-x. */
static int vmx_global_init(void)
{
	const char *lacking;

	read_caps(&vmx.caps);
	log_debug("VT-x capability MSRs 0x480-0x490: basic %llx pin %llx proc %llx exit %llx entry %llx",
		  (unsigned long long)vmx.caps.basic, (unsigned long long)vmx.caps.pinbased,
		  (unsigned long long)vmx.caps.procbased, (unsigned long long)vmx.caps.exit,
		  (unsigned long long)vmx.caps.entry);
	log_debug("  misc %llx cr0 %llx/%llx cr4 %llx/%llx proc2 %llx ept_vpid %llx",
		  (unsigned long long)vmx.caps.misc, (unsigned long long)vmx.caps.cr0_fixed0,
		  (unsigned long long)vmx.caps.cr0_fixed1, (unsigned long long)vmx.caps.cr4_fixed0,
		  (unsigned long long)vmx.caps.cr4_fixed1, (unsigned long long)vmx.caps.procbased2,
		  (unsigned long long)vmx.caps.ept_vpid);
	log_debug("  true pin %llx proc %llx exit %llx entry %llx",
		  (unsigned long long)vmx.caps.true_pinbased, (unsigned long long)vmx.caps.true_procbased,
		  (unsigned long long)vmx.caps.true_exit, (unsigned long long)vmx.caps.true_entry);
	lacking = vmx_compute_controls(&vmx.caps, &vmx.ctl);
	if (lacking) {
		log_error("VT-x: this CPU lacks %s, which this hypervisor needs; no partition can run", lacking);
		return -1;
	}
	vmx.page_sizes = (vmx.ctl.ept_2m ? GPT_2M : 0) | (vmx.ctl.ept_1g ? GPT_1G : 0);
	tag_pool_init(&vmx.vpid_pool, TAG_POOL_MAX, "VPID");
	if (build_msr_bitmap()) {
		log_error("VT-x: out of memory for the MSR bitmap");
		return -1;
	}
	vmx.host_pat = rdmsr(MSR_PAT);
	log_info("VT-x: EPT%s%s, VPID %s, unrestricted guest %s, preemption timer %s, TPR shadow %s, "
		 "PAT switched by %s",
		 vmx.ctl.ept_2m ? " 2M" : "", vmx.ctl.ept_1g ? " 1G" : "", vmx.ctl.vpid ? "yes" : "no",
		 vmx.ctl.unrestricted ? "yes" : "no", vmx.ctl.preemption_timer ? "yes" : "no",
		 vmx.ctl.tpr_shadow ? "yes" : "no (CR8 exits)", vmx.ctl.pat_in_vmcs ? "the VMCS" : "software");
	return 0;
}

static int vmx_cpu_enable(void)
{
	struct cpu *c = this_cpu();
	uint32_t *region;

	if (feature_control())
		return -1;
	if (!vmx.msr_bitmap_pa && vmx_global_init())
		return -1;
	c->virt_region_pa = mm_alloc(1);
	if (!c->virt_region_pa) {
		log_error("VT-x: out of memory for the VMXON region");
		return -1;
	}
	region = mm_ptr(c->virt_region_pa);
	region[0] = revision();
	write_cr4(vmx_fix_cr4(&vmx.caps, read_cr4() | CR4_VMXE));
	__asm__ volatile("mov %0, %%cr0" : : "r"(vmx_fix_cr0(&vmx.caps, read_cr0(), 0)));
	if (VMX_OP("vmxon", c->virt_region_pa)) {
		log_error("VT-x: VMXON failed on CPU %u", c->index);
		return -1;
	}
	return 0;
}

/* ---- address spaces ---------------------------------------------------- */

/* EPTP: write-back tables, 4-level walk (SDM Vol. 3C, 25.6.11). */
static uint64_t eptp(const struct guest_space *s)
{
	return s->gpt.root | 6 | (3 << 3);
}

static struct guest_space *vmx_space_create(void)
{
	uint64_t pa = mm_alloc(1);
	struct guest_space *s = mm_ptr(pa);

	if (!pa)
		return 0;
	if (space_init(s, &gpt_format_ept, vmx.page_sizes)) {
		mm_free(pa, 1);
		return 0;
	}
	return s;
}

static void vmx_space_destroy(struct guest_space *s)
{
	invept_all(eptp(s));
	space_destroy(s);
	mm_free((uint64_t)(uintptr_t)s, 1);
}

/* ---- vCPUs ------------------------------------------------------------- */

static struct vmx_vcpu *arch_of(struct vcpu *v)
{
	return v->arch;
}

/* VMREAD and VMWRITE act on the current VMCS: make it this vCPU's. */
static void load_vmcs(const struct vmx_vcpu *a)
{
	vmptrld(a->vmcs_pa);
}

static void load(struct vcpu *v)
{
	load_vmcs(arch_of(v));
}

static void host_state(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} gdtr, idtr;
	const uint64_t *gdt;

	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
	gdt = (const uint64_t *)(uintptr_t)gdtr.base;
	vmwrite(HOST_CR0, read_cr0());
	vmwrite(HOST_CR3, read_cr3());
	vmwrite(HOST_CR4, read_cr4());
	vmwrite(HOST_CS_SELECTOR, SEL_CODE);
	vmwrite(HOST_SS_SELECTOR, SEL_DATA);
	vmwrite(HOST_DS_SELECTOR, SEL_DATA);
	vmwrite(HOST_ES_SELECTOR, SEL_DATA);
	vmwrite(HOST_FS_SELECTOR, SEL_DATA);
	vmwrite(HOST_GS_SELECTOR, SEL_DATA);
	vmwrite(HOST_TR_SELECTOR, SEL_TSS);
	/* TSS base from its descriptor (two GDT entries, SDM Vol. 3A, 8.2.3). */
	vmwrite(HOST_TR_BASE, ((gdt[3] >> 16) & 0xffffff) | ((gdt[3] >> 56) << 24) | (gdt[4] << 32));
	vmwrite(HOST_GDTR_BASE, gdtr.base);
	vmwrite(HOST_IDTR_BASE, idtr.base);
	vmwrite(HOST_FS_BASE, 0);
	vmwrite(HOST_GS_BASE, (uint64_t)(uintptr_t)this_cpu()); /* this_cpu() after each exit */
	vmwrite(HOST_EFER, rdmsr(MSR_EFER));
	vmwrite(HOST_PAT, rdmsr(MSR_PAT));
	vmwrite(HOST_SYSENTER_CS, 0);
	vmwrite(HOST_SYSENTER_ESP, 0);
	vmwrite(HOST_SYSENTER_EIP, 0);
	vmwrite(HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_stub);
}

static void controls(struct vmx_vcpu *a, uint32_t entry)
{
	vmwrite(PIN_BASED_CONTROLS, vmx.ctl.pinbased);
	vmwrite(PROC_BASED_CONTROLS, vmx.ctl.procbased);
	vmwrite(SECONDARY_CONTROLS, vmx.ctl.procbased2);
	vmwrite(EXIT_CONTROLS, vmx.ctl.exit);
	vmwrite(ENTRY_CONTROLS, vmx.ctl.entry | entry);
	/* #DB and #AC exit, so that a guest whose delivery of either faults again cannot hold the
	 * CPU without a VM exit (CVE-2015-8104, CVE-2015-5307); they are delivered back to it. */
	vmwrite(EXCEPTION_BITMAP, (1u << VEC_DB) | (1u << VEC_AC));
	vmwrite(CR3_TARGET_COUNT, 0);
	vmwrite(MSR_BITMAP, vmx.msr_bitmap_pa);
	vmwrite(EPT_POINTER, eptp(a->space));
	if (vmx.ctl.vpid)
		vmwrite(VPID, a->tag.id);
	if (vmx.ctl.tpr_shadow) { /* threshold 0: lowering the TPR never exits */
		vmwrite(VIRTUAL_APIC_PAGE_ADDR, a->vapic_pa);
		vmwrite(TPR_THRESHOLD, 0);
	}
	vmwrite(VMCS_LINK_POINTER, ~0ull);
	/* The guest owns CR0/CR4 but for the bits VMX fixes: it reads its own value. */
	a->cr0_shadow_mask = vmx.caps.cr0_fixed0 | ~vmx.caps.cr0_fixed1;
	if (vmx.ctl.unrestricted)
		a->cr0_shadow_mask &= ~1ull & ~(1ull << 31);
	/* Writes of VMXE and SMXE exit too: the guest is offered neither (cr4_write_ok). */
	a->cr4_shadow_mask = vmx.caps.cr4_fixed0 | ~vmx.caps.cr4_fixed1 | CR4_VMXE | CR4_SMXE;
	vmwrite(CR0_GUEST_HOST_MASK, a->cr0_shadow_mask);
	vmwrite(CR4_GUEST_HOST_MASK, a->cr4_shadow_mask);
}

static void guest_segment(enum vmcs_field selector, uint16_t sel, uint64_t base, uint32_t limit, uint32_t access)
{
	/* Selector, base, limit and access fields are at fixed offsets from each other. */
	vmwrite(selector, sel);
	vmwrite(GUEST_ES_BASE + (selector - GUEST_ES_SELECTOR), base);
	vmwrite(GUEST_ES_LIMIT + (selector - GUEST_ES_SELECTOR), limit);
	vmwrite(GUEST_ES_ACCESS + (selector - GUEST_ES_SELECTOR), access);
}

/*
 * The segments of a boot mode. Flat: 64-bit (L, G) or 32-bit (D, G)
 * code and 32-bit data. Real mode: 64 KiB segments based at selector *
 * 16, accessed code and data (SDM Vol. 3C, 26.3.1.2 with unrestricted guest).
 */
static void guest_segments(const struct vcpu_boot *b)
{
	enum vmcs_field data[] = { GUEST_DS_SELECTOR, GUEST_ES_SELECTOR, GUEST_SS_SELECTOR, GUEST_FS_SELECTOR,
				   GUEST_GS_SELECTOR };
	unsigned i;

	if (b->mode == BOOT_REAL)
		guest_segment(GUEST_CS_SELECTOR, b->code_selector, (uint64_t)b->code_selector << 4, 0xffff, 0x9b);
	else
		guest_segment(GUEST_CS_SELECTOR, b->code_selector, 0, 0xffffffff, b->mode == BOOT_LONG ? 0xa09b : 0xc09b);
	for (i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
		if (b->mode == BOOT_REAL)
			guest_segment(data[i], b->data_selector, (uint64_t)b->data_selector << 4, 0xffff, 0x93);
		else
			guest_segment(data[i], b->data_selector, 0, 0xffffffff, 0xc093);
	}
}

static void guest_state(struct vmx_vcpu *a, const struct vcpu_boot *b)
{
	uint64_t cr0 = guest_boot_cr0(b->mode), cr4 = b->mode == BOOT_LONG ? CR4_PAE : 0;

	guest_segments(b);
	vmwrite(GUEST_LDTR_SELECTOR, 0);
	vmwrite(GUEST_LDTR_ACCESS, 0x10000); /* unusable */
	vmwrite(GUEST_TR_SELECTOR, 0);
	vmwrite(GUEST_TR_BASE, 0);
	vmwrite(GUEST_TR_LIMIT, 0x67);
	vmwrite(GUEST_TR_ACCESS, 0x8b); /* busy 64-bit TSS */
	vmwrite(GUEST_GDTR_BASE, b->gdt_base);
	vmwrite(GUEST_GDTR_LIMIT, b->gdt_limit);
	vmwrite(GUEST_IDTR_BASE, 0);
	vmwrite(GUEST_IDTR_LIMIT, b->mode == BOOT_REAL ? 0xffff : 0); /* real mode: the vector table at 0 (SDM Vol. 3A, 10.1.1) */
	vmwrite(GUEST_CR0, vmx_fix_cr0(&vmx.caps, cr0, vmx.ctl.unrestricted));
	vmwrite(CR0_READ_SHADOW, cr0);
	vmwrite(GUEST_CR3, b->cr3);
	vmwrite(GUEST_CR4, vmx_fix_cr4(&vmx.caps, cr4));
	vmwrite(CR4_READ_SHADOW, cr4);
	vmwrite(GUEST_EFER, b->mode == BOOT_LONG ? EFER_LME | EFER_LMA : 0);
	a->pat = PAT_DEFAULT;
	if (vmx.ctl.pat_in_vmcs)
		vmwrite(GUEST_PAT, PAT_DEFAULT);
	vmwrite(GUEST_DR7, 0x400);
	vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmwrite(GUEST_RSP, b->rsp);
	vmwrite(GUEST_RIP, b->rip);
	vmwrite(GUEST_RFLAGS, 2);
	vmwrite(GUEST_INTERRUPTIBILITY, 0);
	vmwrite(GUEST_ACTIVITY_STATE, 0);
	vmwrite(GUEST_SYSENTER_CS, 0);
	vmwrite(GUEST_SYSENTER_ESP, 0);
	vmwrite(GUEST_SYSENTER_EIP, 0);
}

static int vmx_create(struct vcpu *v, struct guest_space *s, const struct vcpu_boot *boot)
{
	uint64_t vmcs, arch_pa, vapic;
	struct vmx_vcpu *a;

	if (boot->mode != BOOT_LONG && !vmx.ctl.unrestricted) {
		log_error("partition %s: vCPU %u cannot start with paging off: VT-x offers no unrestricted guest",
			  v->part->cfg->name, v->id);
		return -1;
	}
	vmcs = mm_alloc(1);
	arch_pa = mm_alloc(1);
	vapic = vmx.ctl.tpr_shadow ? mm_alloc(1) : 0;
	a = mm_ptr(arch_pa);
	if (!vmcs || !arch_pa || (vmx.ctl.tpr_shadow && !vapic)) {
		if (vmcs)
			mm_free(vmcs, 1);
		if (arch_pa)
			mm_free(arch_pa, 1);
		if (vapic)
			mm_free(vapic, 1);
		return -1;
	}
	a->vapic_pa = vapic;
	*(uint32_t *)mm_ptr(vmcs) = revision();
	a->vmcs_pa = vmcs;
	a->space = s;
	v->arch = a;
	if (vmclear(vmcs) || vmptrld(vmcs)) {
		log_error("VT-x: VMCLEAR or VMPTRLD of a new VMCS failed");
		return -1;
	}
	vcpu_tag_take(&a->tag, vmx.ctl.vpid ? &vmx.vpid_pool : 0, v->part->cfg->name);
	host_state();
	controls(a, boot->mode == BOOT_LONG ? ENTRY_IA32E_GUEST : 0);
	a->tsc_offset = part_clock_tsc_offset(&v->part->clock);
	vmwrite(TSC_OFFSET, a->tsc_offset);
	guest_state(a, boot);
	guest_boot_registers(v, boot);
	return 0;
}

static void vmx_destroy(struct vcpu *v)
{
	struct vmx_vcpu *a = arch_of(v);

	if (this_cpu()->syscall_msrs_owner == a)
		this_cpu()->syscall_msrs_owner = 0;
	vmclear(a->vmcs_pa);
	vcpu_tag_give_back(&a->tag);
	mm_free(a->vmcs_pa, 1);
	if (a->vapic_pa)
		mm_free(a->vapic_pa, 1);
	mm_free((uint64_t)(uintptr_t)a, 1);
	v->arch = 0;
}

/* ---- registers --------------------------------------------------------- */

/* The guest's TPR: in the virtual-APIC page with the TPR shadow (bits 7:4 of VTPR), else ours. */
static uint64_t guest_cr8(const struct vmx_vcpu *a)
{
	return vmx.ctl.tpr_shadow ? *((const uint8_t *)mm_ptr(a->vapic_pa) + VAPIC_TPR) >> 4 : a->cr8;
}

static void set_guest_cr8(struct vmx_vcpu *a, uint64_t value)
{
	if (vmx.ctl.tpr_shadow)
		*((uint8_t *)mm_ptr(a->vapic_pa) + VAPIC_TPR) = (uint8_t)(value << 4);
	else
		a->cr8 = value;
}

static uint64_t vmx_get_reg(struct vcpu *v, enum vcpu_reg r)
{
	struct vmx_vcpu *a = arch_of(v);

	load(v);
	switch (r) {
	case REG_RIP: return vmread(GUEST_RIP);
	case REG_RFLAGS: return vmread(GUEST_RFLAGS);
	case REG_CR0: /* what the guest believes: shadowed bits from the read shadow */
		return (vmread(GUEST_CR0) & ~a->cr0_shadow_mask) | (vmread(CR0_READ_SHADOW) & a->cr0_shadow_mask);
	case REG_CR3: return vmread(GUEST_CR3);
	case REG_CR4:
		return (vmread(GUEST_CR4) & ~a->cr4_shadow_mask) | (vmread(CR4_READ_SHADOW) & a->cr4_shadow_mask);
	case REG_EFER: return vmread(GUEST_EFER);
	case REG_PAT: return vmx.ctl.pat_in_vmcs ? vmread(GUEST_PAT) : a->pat;
	case REG_CR8: return guest_cr8(a);
	default: return r < REG_GPRS ? v->gprs[r] : 0;
	}
}

static void set_cr(enum vcpu_reg r, uint64_t value)
{
	if (r == REG_CR0) {
		vmwrite(CR0_READ_SHADOW, value);
		vmwrite(GUEST_CR0, vmx_fix_cr0(&vmx.caps, value, vmx.ctl.unrestricted));
	} else {
		vmwrite(CR4_READ_SHADOW, value);
		vmwrite(GUEST_CR4, vmx_fix_cr4(&vmx.caps, value));
	}
}

static void vmx_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t value)
{
	load(v);
	switch (r) {
	case REG_RIP: vmwrite(GUEST_RIP, value); break;
	case REG_RFLAGS: vmwrite(GUEST_RFLAGS, value); break;
	case REG_CR0:
	case REG_CR4: set_cr(r, value); break;
	case REG_CR3: vmwrite(GUEST_CR3, value); break;
	case REG_CR8: set_guest_cr8(arch_of(v), value); break;
	case REG_PAT:
		arch_of(v)->pat = value;
		if (vmx.ctl.pat_in_vmcs)
			vmwrite(GUEST_PAT, value);
		break;
	case REG_EFER:
		vmwrite(GUEST_EFER, value);
		/* "IA-32e mode guest" must match EFER.LMA at entry (SDM Vol. 3C, 27.3.1.1). */
		vmwrite(ENTRY_CONTROLS, (vmread(ENTRY_CONTROLS) & ~ENTRY_IA32E_GUEST) |
					((value & EFER_LMA_BIT) ? ENTRY_IA32E_GUEST : 0));
		break;
	default:
		if (r < REG_GPRS)
			v->gprs[r] = value;
	}
}

/* ---- exits ------------------------------------------------------------- */

static void vmx_inject(struct vcpu *v, enum event_kind kind, uint8_t vector, int has_error, uint32_t error);

/*
 * Moves RIP past the exiting instruction as the CPU would have: an STI or
 * MOV SS shadow ends with it, and with RFLAGS.TF a single-step trap is
 * due after it, which the pending-debug-exceptions field delivers after
 * the next VM entry (SDM Vol. 3C, 25.4.2 and 27.7.3).
 */
static void finish_instruction(uint64_t next_rip)
{
	uint64_t shadow = vmread(GUEST_INTERRUPTIBILITY);

	vmwrite(GUEST_RIP, next_rip);
	if (shadow & 3)
		vmwrite(GUEST_INTERRUPTIBILITY, shadow & ~3ull);
	if (vmread(GUEST_RFLAGS) & RFLAGS_TF)
		vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, vmread(GUEST_PENDING_DBG_EXCEPTIONS) | DR6_BS);
}

/* Inlined: it is on the way of every instruction exit (a call and its return saved there). */
static inline __attribute__((always_inline)) void step_over(void)
{
	finish_instruction(vmread(GUEST_RIP) + vmread(EXIT_INSTRUCTION_LENGTH));
}

static struct cr_state cr_state_of(struct vcpu *v)
{
	struct cr_state s = {
		.cr0 = vmx_get_reg(v, REG_CR0),
		.cr3 = vmread(GUEST_CR3),
		.cr4 = vmx_get_reg(v, REG_CR4),
		.efer = vmread(GUEST_EFER),
		.long_code = (vmread(GUEST_CS_ACCESS) >> 13) & 1,
		.cr4_allowed = vmx.caps.cr4_fixed1 & ~(CR4_VMXE | CR4_SMXE),
	};

	return s;
}

/*
 * MOV to CR0, CR4 or CR8 on the guest's behalf, checked as the CPU checks
 * it; -1: #GP. A change of CR0.PG with EFER.LME set enters or leaves
 * IA-32e mode (SDM Vol. 3A, 9.8.5); a change of how addresses translate
 * flushes this vCPU's TLB entries, as the CPU's own MOV would.
 */
static int mov_to_cr(struct vcpu *v, unsigned cr, uint64_t value)
{
	struct vmx_vcpu *a = arch_of(v);
	struct cr_state s = cr_state_of(v);
	uint64_t cr0 = cr == 0 ? value : s.cr0, cr4 = cr == 4 ? value : s.cr4;

	if (cr == 8) {
		if (cr8_write_ok(value))
			return -1;
		set_guest_cr8(a, value);
		return 0;
	}
	if (cr == 0 ? cr0_write_ok(&s, value) : cr4_write_ok(&s, value))
		return -1;
	if (cr_changes_paging(s.cr0, cr0, s.cr4, cr4))
		a->flushed = a->space->generation - 1;
	vmx_set_reg(v, cr == 0 ? REG_CR0 : REG_CR4, value);
	if (((s.cr0 ^ cr0) & CR0_PG) && (s.efer & EFER_LME))
		vmx_set_reg(v, REG_EFER, (s.efer & ~EFER_LMA) | ((cr0 & CR0_PG) ? EFER_LMA : 0));
	return 0;
}

/*
 * MOV to or from CR0, CR3, CR4, CR8 (exit qualification: SDM Vol. 3C,
 * Table 28-3). Handled here: hv/ never sees the shadowing VMX needs.
 * 1: done; 0: the guest gets #GP; -1: an access this code does not know.
 */
static int handle_cr(struct vcpu *v)
{
	uint64_t q = vmread(EXIT_QUALIFICATION);
	unsigned cr = q & 15, type = (q >> 4) & 3, gpr = (q >> 8) & 15;
	int faults = 0;

	if ((cr != 0 && cr != 3 && cr != 4 && cr != 8) || type > 1)
		return -1; /* CLTS, LMSW: not intercepted by our controls */
	if (gpr == REG_RSP)
		v->gprs[REG_RSP] = vmread(GUEST_RSP);
	if (type == 0 && cr == 3)
		vmx_set_reg(v, REG_CR3, v->gprs[gpr]);
	else if (type == 0)
		faults = mov_to_cr(v, cr, v->gprs[gpr]);
	else
		v->gprs[gpr] = cr == 8 ? guest_cr8(arch_of(v))
				       : vmx_get_reg(v, cr == 0 ? REG_CR0 : cr == 3 ? REG_CR3 : REG_CR4);
	if (gpr == REG_RSP)
		vmwrite(GUEST_RSP, v->gprs[REG_RSP]);
	if (faults)
		return 0;
	step_over();
	return 1;
}

static const char *vmx_insn_name(uint32_t reason)
{
	static const char *const names[] = {
		[VMX_EXIT_VMCLEAR] = "VMCLEAR", [VMX_EXIT_VMLAUNCH] = "VMLAUNCH", [VMX_EXIT_VMPTRLD] = "VMPTRLD",
		[VMX_EXIT_VMPTRST] = "VMPTRST", [VMX_EXIT_VMREAD] = "VMREAD", [VMX_EXIT_VMRESUME] = "VMRESUME",
		[VMX_EXIT_VMWRITE] = "VMWRITE", [VMX_EXIT_VMXOFF] = "VMXOFF", [VMX_EXIT_VMXON] = "VMXON",
		[VMX_EXIT_GETSEC] = "GETSEC", [VMX_EXIT_MWAIT] = "MWAIT", [VMX_EXIT_MONITOR] = "MONITOR",
		[VMX_EXIT_INVEPT] = "INVEPT", [VMX_EXIT_INVVPID] = "INVVPID", [VMX_EXIT_VMFUNC] = "VMFUNC",
	};

	return reason < sizeof(names) / sizeof(names[0]) ? names[reason] : 0;
}

/* The first guest-state rule of SDM Vol. 3C, 27.3.1 that the state breaks, as far as we check. */
static const char *failed_check(void)
{
	uint64_t cr0 = vmread(GUEST_CR0), cr4 = vmread(GUEST_CR4), efer = vmread(GUEST_EFER);
	int ia32e = (vmread(ENTRY_CONTROLS) & ENTRY_IA32E_GUEST) != 0;

	if (cr0 != vmx_fix_cr0(&vmx.caps, cr0, vmx.ctl.unrestricted))
		return "CR0 breaks the IA32_VMX_CR0_FIXED0/1 rules";
	if (cr4 != vmx_fix_cr4(&vmx.caps, cr4))
		return "CR4 breaks the IA32_VMX_CR4_FIXED0/1 rules";
	if ((cr0 & CR0_PG) && !(cr0 & CR0_PE))
		return "CR0.PG set with CR0.PE clear";
	if (efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
		return "EFER has reserved bits set";
	if (ia32e != ((efer & EFER_LMA_BIT) != 0))
		return "EFER.LMA differs from the IA-32e mode guest entry control";
	if ((cr0 & CR0_PG) && !(efer & EFER_LME) != !(efer & EFER_LMA))
		return "EFER.LME differs from EFER.LMA with CR0.PG set";
	if (ia32e && !(cr4 & 0x20))
		return "IA-32e mode guest without CR4.PAE";
	if (ia32e && (vmread(GUEST_CS_ACCESS) & 0x6000) == 0x6000)
		return "CS.L and CS.D both set in IA-32e mode";
	if ((vmread(GUEST_TR_ACCESS) & 0xf) != 0xb)
		return "TR is not a busy 64-bit TSS";
	if (!(vmread(GUEST_RFLAGS) & 2))
		return "RFLAGS bit 1 is clear";
	if (vmread(VMCS_LINK_POINTER) != ~0ull)
		return "the VMCS link pointer is not all ones";
	return "none of the checks this hypervisor knows (see SDM Vol. 3C, 27.3.1)";
}

static void translate_io(struct vcpu_exit *e)
{
	uint64_t q = vmread(EXIT_QUALIFICATION);

	e->reason = EXIT_IO;
	e->u.io.size = (uint8_t)((q & 7) + 1);
	e->u.io.in = (q >> 3) & 1;
	e->u.io.string = (q >> 4) & 1;
	e->u.io.rep = (q >> 5) & 1;
	e->u.io.port = (uint16_t)(q >> 16);
}

/*
 * The qualification (SDM Vol. 3C, Table 28-7): bit 1 write, bit 2 fetch;
 * with bit 7 set, bit 8 clear says the access was to a guest paging-
 * structure entry. IDT-vectoring information is valid when the access
 * was part of delivering an event.
 */
/*
 * A fault in an IRET that began ending the guest's (virtual) NMI blocking
 * leaves it ended at the exit, bit 12 of the exit's qualification or
 * interruption information saying so; the IRET runs again, or the guest's
 * handler for the fault runs first, so the blocking is put back, as the
 * faulting IRET on hardware never ended it (SDM Vol. 3C, 28.2.3; the bit
 * means nothing for an exit during event delivery).
 */
static void keep_nmis_blocked_over_iret_fault(uint64_t exit_field)
{
	if ((exit_field & (1u << 12)) && !(vmread(IDT_VECTORING_INFO) & (1u << 31)))
		vmwrite(GUEST_INTERRUPTIBILITY, vmread(GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
}

static void translate_ept(struct vcpu_exit *e, int misconfig)
{
	uint64_t q = vmread(EXIT_QUALIFICATION);

	if (!misconfig)
		keep_nmis_blocked_over_iret_fault(q);

	e->reason = misconfig ? EXIT_MEMORY_MISCONFIG : EXIT_MEMORY;
	e->u.mem.gpa = vmread(GUEST_PHYSICAL_ADDRESS);
	e->u.mem.access = (q & 2) ? GPT_WRITE : (q & 4) ? GPT_EXEC : GPT_READ;
	e->u.mem.table_walk = (q & 0x180) == 0x80;
	e->u.mem.in_delivery = (vmread(IDT_VECTORING_INFO) >> 31) & 1;
}

static void write_dr6(uint64_t value)
{
	__asm__ volatile("mov %0, %%db6" : : "r"(value));
}

static uint64_t read_dr6(void)
{
	uint64_t v;

	__asm__ volatile("mov %%db6, %0" : "=r"(v));
	return v;
}

/*
 * An exception of the exception bitmap (#DB, #AC) goes back to the
 * guest's own handler on the next entry, as the CPU would have delivered
 * it; it replaces an event it interrupted, as a benign exception does
 * (SDM Vol. 3A, 6.15, Table 6-5). A #DB exit leaves DR6 alone and reports
 * its bits in the exit qualification (SDM Vol. 3C, 28.2.1): they go into
 * DR6, which the guest owns. An NMI is the host's.
 */
static void reflect_exception(struct vcpu_exit *e)
{
	uint32_t info = (uint32_t)vmread(EXIT_INTERRUPTION_INFO);
	unsigned type = (info >> 8) & 7;

	if (type == EVENT_TYPE_NMI) {
		e->reason = EXIT_NMI;
		return;
	}
	e->reason = EXIT_GUEST_EXCEPTION;
	keep_nmis_blocked_over_iret_fault(info);
	if ((info & 0xff) == VEC_DB)
		write_dr6((read_dr6() & ~0xfull) | DR6_ACTIVE_LOW | (vmread(EXIT_QUALIFICATION) & DR6_TRAP_BITS));
	vmwrite(ENTRY_INTERRUPTION_INFO, info & ~(1u << 12)); /* bit 12: NMI unblocking, exit only */
	if (info & (1u << 11))
		vmwrite(ENTRY_EXCEPTION_ERROR_CODE, vmread(EXIT_INTERRUPTION_ERROR_CODE));
	if (type != EVENT_TYPE_HW_EXCEPTION) /* INT1, INT3, INTO: delivered past the instruction */
		vmwrite(ENTRY_INSTRUCTION_LENGTH, vmread(EXIT_INSTRUCTION_LENGTH));
}

/*
 * CPUID, RDMSR, WRMSR, IN or OUT, VMCALL: instructions whose length the
 * exit gives (SDM Vol. 3C, 28.2.5) and that hv/ handles without a decode.
 * 1 with e translated for vcpu_instruction_exit(); 0 for any other exit.
 */
static int instruction_exit(struct vcpu *v, uint32_t reason, struct vcpu_exit *e)
{
	e->raw = reason;
	switch (reason) {
	case VMX_EXIT_CPUID: e->reason = EXIT_CPUID; return 1;
	case VMX_EXIT_VMCALL: e->reason = EXIT_HYPERCALL; return 1;
	case VMX_EXIT_IO: translate_io(e); return 1;
	case VMX_EXIT_RDMSR:
	case VMX_EXIT_WRMSR:
		e->reason = reason == VMX_EXIT_WRMSR ? EXIT_MSR_WRITE : EXIT_MSR_READ;
		e->u.msr = (uint32_t)v->gprs[REG_RCX];
		return 1;
	}
	return 0;
}

/* 0: e describes an exit for hv/; 1: handled here, run the guest again. */
static int translate_exit(struct vcpu *v, uint32_t reason, struct vcpu_exit *e)
{
	e->raw = reason;
	if (reason & EXIT_REASON_ENTRY_FAILED) {
		e->reason = EXIT_ENTRY_FAILED;
		e->u.failure = failed_check();
		return 0;
	}
	switch (reason) {
	case VMX_EXIT_HLT: e->reason = EXIT_HLT; return 0;
	case VMX_EXIT_XSETBV: e->reason = EXIT_XSETBV; return 0;
	case VMX_EXIT_INVD:
	case VMX_EXIT_WBINVD: e->reason = EXIT_CACHE_FLUSH; return 0;
	case VMX_EXIT_TRIPLE_FAULT: e->reason = EXIT_SHUTDOWN; return 0;
	case VMX_EXIT_EXTERNAL_INTERRUPT: e->reason = EXIT_INTERRUPT; return 0;
	case VMX_EXIT_EXCEPTION_NMI: reflect_exception(e); return 0;
	case VMX_EXIT_RDPMC: e->reason = EXIT_RDPMC; return 0;
	case VMX_EXIT_PREEMPTION_TIMER: e->reason = EXIT_SLICE_END; return 0;
	case VMX_EXIT_EPT_VIOLATION: translate_ept(e, 0); return 0;
	case VMX_EXIT_EPT_MISCONFIG: translate_ept(e, 1); return 0;
	case VMX_EXIT_INTERRUPT_WINDOW:
	case VMX_EXIT_TPR_BELOW_THRESHOLD: e->reason = EXIT_INTERRUPT_WINDOW; return 0;
	case VMX_EXIT_CR_ACCESS:
		switch (handle_cr(v)) {
		case 1: /* a MOV to CR8 (without the TPR shadow) may let a waiting interrupt in */
			e->reason = EXIT_INTERRUPT_WINDOW;
			return (vmread(EXIT_QUALIFICATION) & 0x3f) != 8;
		case 0: /* the CPU would have raised #GP(0) */
			vmx_inject(v, EVENT_EXCEPTION, VEC_GP, 1, 0);
			return 1;
		}
		break;
	}
	e->u.insn = vmx_insn_name(reason);
	e->reason = e->u.insn ? EXIT_FORBIDDEN_INSN : EXIT_UNKNOWN;
	return 0;
}

/*
 * An event the exit interrupted while it was being delivered goes in again
 * on the next entry (SDM Vol. 3C, 28.2.4 and 29.2.1); else nothing does:
 * every VM exit clears the valid bit of the VM-entry interruption
 * information itself (SDM Vol. 3C, 28.2, "Recording VM-Exit Information
 * and Updating VM-Entry Control Fields").
 */
static void redeliver_interrupted_event(void)
{
	uint64_t info = vmread(IDT_VECTORING_INFO);

	if (!(info & (1u << 31)))
		return;
	if (((info >> 8) & 7) == EVENT_TYPE_NMI) /* an NMI injected where NMIs are blocked fails the entry (27.3.1.5) */
		vmwrite(GUEST_INTERRUPTIBILITY, vmread(GUEST_INTERRUPTIBILITY) & ~(uint64_t)INTERRUPTIBILITY_NMI);
	vmwrite(ENTRY_INTERRUPTION_INFO, info & ~(1ull << 12));
	if (info & (1u << 11))
		vmwrite(ENTRY_EXCEPTION_ERROR_CODE, vmread(IDT_VECTORING_ERROR_CODE));
	vmwrite(ENTRY_INSTRUCTION_LENGTH, vmread(EXIT_INSTRUCTION_LENGTH)); /* software events */
}

/* On a vCPU switch, the last vCPU's SYSCALL MSRs are saved and v's loaded. */
static void load_syscall_msrs(struct vmx_vcpu *a)
{
	struct cpu *c = this_cpu();
	struct vmx_vcpu *last = c->syscall_msrs_owner;
	unsigned i;

	if (last == a)
		return;
	for (i = 0; i < SYSCALL_MSRS; i++) {
		if (last)
			last->syscall_msr_values[i] = rdmsr(syscall_msrs[i]);
		wrmsr(syscall_msrs[i], a->syscall_msr_values[i]);
	}
	c->syscall_msrs_owner = a;
}

/*
 * The VMX-preemption timer counts down at the TSC rate divided by 2^N,
 * N from IA32_VMX_MISC[4:0], and exits at 0 (SDM Vol. 3C, 26.5.1).
 * Where the CPU has it, it is on in every VMCS (controls.c): each run has
 * a slice end, a vCPU alone on its CPU too (OWNER_RUN_NS, scheduler.c).
 */
static void arm_slice_timer(uint64_t slice_end)
{
	unsigned shift = (unsigned)(vmx.caps.misc & 0x1f);
	uint64_t now = arch_tsc(), count;

	count = slice_end > now ? (slice_end - now) >> shift : 0;
	vmwrite(PREEMPTION_TIMER_VALUE, count > 0xffffffffu ? 0xffffffffu : count);
}

/*
 * One VM entry and exit (vmx_entry.asm). The call is inline assembly that
 * names the registers the guest's run overwrites: all but RSP, RDI (gprs,
 * given back) and the four the stub keeps (RBP, RBX, R12, R13), which
 * leaves the compiler three to hold vmx_run's vCPU, state and exit across
 * it. R14 and R15 are saved once a run by vmx_run's prologue, not pushed
 * and popped at each entry.
 */
static int run_guest(uint64_t *gprs, int launched)
{
	int failed;

	__asm__ volatile("call vmx_run_guest"
			 : "=a"(failed), "+D"(gprs), "+S"(launched)
			 :
			 : "rcx", "rdx", "r8", "r9", "r10", "r11", "r14", "r15", "cc", "memory");
	return failed;
}

/*
 * Where an entry needs more than VMRESUME: MSR writes around it (the
 * guest's own PAT, which the VMCS cannot load on this CPU; the L1D flush
 * where L1TF needs it, mitigations.c; VERW is in vmx_run_guest), or a
 * flush of the VPID the vCPU shares (space.c). All are fixed for the
 * vCPU's life, so vmx_run tests them once a run, not at each entry.
 */
static int entry_needs_more(const struct vmx_vcpu *a)
{
	return !vmx.ctl.pat_in_vmcs || flush_l1d_on_entry || a->tag.flush_every_entry;
}

/*
 * Enters the guest with its shared VPID flushed (nothing of another vCPU
 * that held it), its PAT loaded by hand where it must be, the L1D flushed
 * last where it must be.
 */
static __attribute__((noinline)) int enter_guest_with_more(struct vcpu *v, const struct vmx_vcpu *a)
{
	int failed;

	if (a->tag.flush_every_entry)
		invvpid_context((uint16_t)a->tag.id);
	if (!vmx.ctl.pat_in_vmcs)
		wrmsr(MSR_PAT, a->pat);
	if (flush_l1d_on_entry)
		wrmsr(MSR_FLUSH_CMD, FLUSH_CMD_L1D);
	failed = run_guest(v->gprs, a->launched);
	if (!vmx.ctl.pat_in_vmcs)
		wrmsr(MSR_PAT, vmx.host_pat);
	return failed;
}

/*
 * Added to the TSC for RDTSC, RDTSCP and RDMSR of it ("use TSC offsetting"
 * is on: SDM Vol. 3C, 25.6.5 and 26.3); it moves at each resume of the
 * partition (hv/part_clock.h), and is written only then.
 */
static void load_tsc_offset(struct vcpu *v, struct vmx_vcpu *a)
{
	uint64_t offset = part_clock_tsc_offset(&v->part->clock);

	if (offset == a->tsc_offset)
		return;
	vmwrite(TSC_OFFSET, offset);
	a->tsc_offset = offset;
}

static int vmx_has_slice_timer(void)
{
	return vmx.ctl.preemption_timer;
}

/*
 * An instruction exit (instruction_exit) handled at once, with neither
 * the IDT-vectoring information (an instruction's own exit is not one
 * during event delivery, SDM Vol. 3C, 28.2.4) nor the dispatch of
 * vcpu_handle_exit(): RIP past the instruction unless it faulted; 1 if v
 * goes on in its guest.
 */
static int instruction_done(struct vcpu *v, const struct vmx_vcpu *a, struct vcpu_exit *e)
{
	int steps = vcpu_instruction_exit(v, e);

	load_vmcs(a); /* the handler may have made another vCPU's VMCS current */
	if (steps)
		step_over();
	if (scheduler_exit_quiet(v, e))
		return 1;
	if (!scheduler_exit_look(v, e))
		return 0;
	load_vmcs(a); /* so may the look's hv/ code */
	return 1;
}

/*
 * Where each exit saves the preemption timer's count (the "save VMX-
 * preemption timer value" exit control, SDM Vol. 3C, 25.7.1 and 28.3.4),
 * the next entry counts on from it: the timer counts the guest's time
 * alone. The hypervisor's is charged by arming the timer from the TSC
 * afresh at each run, after each exit that is not an instruction exit,
 * and after every TIMER_REUSES instruction exits: a slice then ends late
 * by at most that many instruction exits' handling, and the round trip of
 * the others reads no TSC (it cost 23 of a hypercall's 278 instructions).
 */
#define TIMER_REUSES 16

static void arm_slice_timer_if_due(struct vcpu *v, struct vmx_vcpu *a)
{
	if (a->timer_reuses) { /* never set without the timer: the count, alone on the way of most entries */
		a->timer_reuses--;
		return;
	}
	if (!vmx.ctl.preemption_timer)
		return;
	arm_slice_timer(v->slice_end);
	a->timer_reuses = vmx.ctl.timer_saved ? TIMER_REUSES : 0;
}

/*
 * Before each entry: the slice's end armed, the TLB flushed where the
 * space changed (a shared VPID: at every entry). v's VMCS is current:
 * vmx_run loads it before its loop and after any hv/ code an exit ran
 * (instruction_done after the handler and after a look, load() after
 * scheduler_exit_step), so that no other vCPU's VMCS is ever entered
 * whatever that code touched.
 */
static void prepare_entry(struct vcpu *v, struct vmx_vcpu *a)
{
	arm_slice_timer_if_due(v, a);
	if (a->flushed != a->space->generation) {
		invept_all(eptp(a->space));
		if (vmx.ctl.vpid)
			invvpid_context((uint16_t)a->tag.id);
		a->flushed = a->space->generation;
	}
}

/*
 * Loops over exits until one ends the slice: each goes to hv/ from here
 * (scheduler_exit_step, or for an instruction exit vcpu_instruction_exit
 * and scheduler_exit_done), so that the next entry costs no pass through
 * the scheduler's loop and this function's setup. The guest's RSP is read
 * after every exit, and written back only after an exit whose handling
 * may have changed it: the instruction exits never do.
 */
static void vmx_run(struct vcpu *v, struct vcpu_exit *e)
{
	struct vmx_vcpu *a = arch_of(v);
	uint32_t reason;
	int needs_more = entry_needs_more(a), failed;

	load(v);
	load_syscall_msrs(a);
	load_tsc_offset(v, a);
	vmwrite(GUEST_RSP, v->gprs[REG_RSP]);
	a->timer_reuses = 0; /* a new slice_end */
	for (;;) {
		prepare_entry(v, a);
		failed = needs_more ? enter_guest_with_more(v, a) : run_guest(v->gprs, a->launched);
		if (failed) {
			e->raw = vmread(VM_INSTRUCTION_ERROR);
			e->reason = EXIT_ENTRY_FAILED;
			e->u.failure = e->raw == 7 ? "invalid control fields (VM-instruction error 7)"
				       : e->raw == 8 ? "invalid host state (VM-instruction error 8)"
						     : "VMLAUNCH or VMRESUME failed (see the VM-instruction error)";
			return;
		}
		a->launched = 1;
		v->gprs[REG_RSP] = vmread(GUEST_RSP);
		reason = (uint32_t)vmread(EXIT_REASON);
		if (instruction_exit(v, reason, e)) {
			if (!instruction_done(v, a, e))
				return;
			continue;
		}
		redeliver_interrupted_event();
		if (!translate_exit(v, reason, e) && !scheduler_exit_step(v, e))
			return;
		a->timer_reuses = 0; /* its handling may have been long: an MMIO access's decode, a wake-up */
		load(v);
		vmwrite(GUEST_RSP, v->gprs[REG_RSP]);
	}
}

static int vmx_skip_instruction(struct vcpu *v, const struct vcpu_exit *e)
{
	(void)e;
	load(v);
	step_over(); /* the exit gives the length (SDM Vol. 3C, 28.2.5): no decoding needed */
	return 0;
}

/*
 * For an EPT violation the caller decoded the instruction: it is not an
 * exit the VM-exit instruction-length field is defined for (SDM Vol. 3C,
 * "Information for VM Exits Due to Instruction Execution").
 */
static void vmx_emulated(struct vcpu *v, uint64_t next_rip)
{
	load(v);
	finish_instruction(next_rip);
}

/*
 * CS.L is access-rights bit 13, CS.D/B bit 14; the CPL is SS.DPL (SDM Vol.
 * 3C, 25.4.1). Field by field: a compound literal would zero the segment
 * bases first, which vmx_segment_bases() fills when they are needed.
 */
static void vmx_guest_mode(struct vcpu *v, struct guest_mode *g)
{
	uint64_t cs;

	load(v);
	cs = vmread(GUEST_CS_ACCESS);
	g->cr0 = vmread(GUEST_CR0);
	g->cr3 = vmread(GUEST_CR3);
	g->cr4 = vmread(GUEST_CR4);
	g->efer = vmread(GUEST_EFER);
	g->rflags = vmread(GUEST_RFLAGS);
	g->cs_base = vmread(GUEST_CS_BASE);
	g->cs_long = (cs >> 13) & 1;
	g->cs_default32 = (cs >> 14) & 1;
	g->cpl = (uint8_t)((vmread(GUEST_SS_ACCESS) >> 5) & 3);
	g->code_cache = &((struct vmx_vcpu *)v->arch)->code_cache;
}

static void vmx_segment_bases(struct vcpu *v, struct guest_mode *g)
{
	const enum vmcs_field bases[6] = { GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE,
					   GUEST_DS_BASE, GUEST_FS_BASE, GUEST_GS_BASE };
	unsigned i;

	load(v);
	for (i = 0; i < 6; i++)
		g->seg_base[i] = vmread(bases[i]);
}

static void vmx_inject(struct vcpu *v, enum event_kind kind, uint8_t vector, int has_error, uint32_t error)
{
	uint32_t type = kind == EVENT_EXCEPTION ? 3 : kind == EVENT_NMI ? 2 : 0;

	load(v);
	/* VM-entry interruption-information (SDM Vol. 3C, 25.8.3). */
	vmwrite(ENTRY_INTERRUPTION_INFO, vector | (type << 8) | (has_error ? 1u << 11 : 0) | (1u << 31));
	if (has_error)
		vmwrite(ENTRY_EXCEPTION_ERROR_CODE, error);
}

/* Blocking by STI, MOV SS and (bit 3) NMI, in the interruptibility state (SDM Vol. 3C, 25.4.2). */
static int vmx_can_inject(struct vcpu *v, enum event_kind kind)
{
	uint64_t blocked;

	load(v);
	blocked = vmread(GUEST_INTERRUPTIBILITY);
	if (vmread(ENTRY_INTERRUPTION_INFO) & (1u << 31))
		return 0;
	if (kind == EVENT_NMI)
		return !(blocked & 0xb);
	return !(blocked & 3) && (vmread(GUEST_RFLAGS) & RFLAGS_IF);
}

/*
 * An interrupt held back by the guest's TPR waits for a TPR-below-
 * threshold exit (the threshold compared with VTPR bits 7:4, SDM Vol. 3C,
 * 30.1.2), or, without the TPR shadow, for the MOV to CR8 that exits
 * anyway; one held back by RFLAGS.IF or a shadow waits for an
 * interrupt-window exit (SDM Vol. 3C, 26.7.5).
 */
static void vmx_interrupt_window(struct vcpu *v, unsigned priority_class)
{
	int tpr_holds;

	load(v);
	tpr_holds = priority_class && priority_class <= guest_cr8(arch_of(v));
	if (vmx.ctl.tpr_shadow)
		vmwrite(TPR_THRESHOLD, tpr_holds ? priority_class : 0);
	vmwrite(PROC_BASED_CONTROLS,
		vmx.ctl.procbased | (priority_class && !tpr_holds ? PROC_INTERRUPT_WINDOW : 0));
}

static void vmx_flush_tlb(struct vcpu *v)
{
	arch_of(v)->space->generation++;
}

const struct vcpu_ops vmx_ops = {
	.name = "VT-x",
	.cpu_enable = vmx_cpu_enable,
	.space_create = vmx_space_create,
	.space_destroy = vmx_space_destroy,
	.add_ram = space_add_ram,
	.ram = space_ram,
	.ram_overwritten = space_ram_overwritten,
	.flush_tlb = vmx_flush_tlb,
	.create = vmx_create,
	.destroy = vmx_destroy,
	.run = vmx_run,
	.has_slice_timer = vmx_has_slice_timer,
	.get_reg = vmx_get_reg,
	.set_reg = vmx_set_reg,
	.skip_instruction = vmx_skip_instruction,
	.guest_mode = vmx_guest_mode,
	.segment_bases = vmx_segment_bases,
	.emulated = vmx_emulated,
	.inject = vmx_inject,
	.can_inject = vmx_can_inject,
	.interrupt_window = vmx_interrupt_window,
};
