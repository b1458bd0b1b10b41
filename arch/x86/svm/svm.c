/*
 * AMD-V backend (AMD APM Vol. 2, chapter 15): one VMCB per vCPU, nested
 * page tables per partition, every port and every MSR intercepted except
 * the MSRs the VMCB switches itself.
 *
 * QEMU's SVM has no NRIP save and no decode assists: the length of an
 * exiting instruction comes from EXITINFO2 for port I/O and from the
 * decoder for the rest (decode.c), unless the CPU reports NRIP save.
 */
#include <stdint.h>

#include "control_regs.h"
#include "cpu.h"
#include "decode.h"
#include "guest_boot.h"
#include "lapic.h"
#include "log.h"
#include "mm.h"
#include "partition.h"
#include "percpu.h"
#include "policy.h"
#include "scheduler.h"
#include "space.h"
#include "svm_event.h"
#include "vcpu.h"
#include "vmcb.h"

extern const char svm_vmrun_return[]; /* where the host resumes after VMRUN (svm_entry.asm) */

#define MSR_VM_CR 0xc0010114
#define VM_CR_SVMDIS (1ull << 4)
#define SVM_FEATURE_NP (1u << 0)
#define SVM_FEATURE_NRIPS (1u << 3)
#define IOPM_PAGES 3
#define MSRPM_PAGES 2
#define VEC_DB 1
#define VEC_GP 13
#define VEC_AC 17
#define DR6_BS (1ull << 14)
#define RFLAGS_TF (1ull << 8)
#define RFLAGS_VM (1ull << 17)

/*
 * Without NRIP save, instructions svm_skip_instruction stepped over by
 * their bytes, kept by RIP (STEPS_KEPT slots). A guest exits from the same
 * few places many times (a loop of CPUIDs or hypercalls, a driver polling
 * its device; a timer's round: its deadline's WRMSR, HLT, the EOI), and
 * there the next RIP is known again once what gave it is checked
 * unchanged: RIP; the registers that form the linear address and choose
 * the mode and the walk (CS base and attributes, CPL, RFLAGS.VM, CR0, CR3,
 * CR4, EFER); the code page's walk (a copy of its code cache entry: the
 * nested tables' generation and each guest page-table entry read); and the
 * instruction's bytes, so a rewritten instruction is decoded afresh. That
 * check is a few dozen instructions; the read and decode it saves, about
 * 150 (make bench).
 */
#define STEP_BYTES_MAX 8 /* the bytes are compared as one 64-bit word */
#define STEPS_KEPT 4
struct kept_step {
	struct code_page page; /* page.page NULL: nothing kept */
	const uint8_t *at;     /* the instruction, in the hypervisor's view of guest RAM */
	uint64_t rip, next_rip, cs_base, rflags_vm;
	uint64_t bytes, mask;  /* its bytes as decoded, and which of the word's they are */
	uint16_t cs_attrib;
	uint8_t cpl;
};

struct svm_vcpu {
	struct vmcb *vmcb;
	uint64_t vmcb_pa;
	struct guest_space *space;
	struct vcpu_tag tag; /* its ASID */
	uint32_t flushed; /* the space's generation this vCPU last flushed */
	struct code_cache code_cache;
	struct svm_nmi nmi;
	struct kept_step steps[STEPS_KEPT]; /* the slot is RIP modulo STEPS_KEPT */
};
_Static_assert(sizeof(struct svm_vcpu) <= PAGE_SIZE, "svm_create allocates one page for it");

/* Shared by all CPUs; each CPU's own host areas are in its struct cpu. */
static struct {
	uint64_t iopm_pa, msrpm_pa;
	uint32_t features;   /* CPUID 0x8000000A EDX */
	uint32_t asids;
	struct tag_pool asid_pool; /* ASIDs 1 to asids-1: 0 is the host's */
	uint64_t page_sizes;
	int kick_after_injection; /* see end_run_after_injection() */
} svm;

/* ---- per-CPU enable ---------------------------------------------------- */

/* MSR permission map: two bits (read, write) per MSR in three ranges (APM 15.11). */
static void msrpm_allow(uint8_t *map, uint32_t msr, int write)
{
	uint32_t base, bit;

	if (msr < 0x2000)
		base = 0;
	else if (msr >= 0xc0000000 && msr < 0xc0002000)
		base = 0x800 * 8;
	else if (msr >= 0xc0010000 && msr < 0xc0012000)
		base = 0x1000 * 8;
	else
		return;
	bit = base + (msr & 0x1fff) * 2 + (write ? 1 : 0);
	map[bit / 8] &= (uint8_t)~(1u << (bit % 8));
}

static int build_permission_maps(void)
{
	static const uint32_t candidates[] = {
		MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP, MSR_STAR,
		MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	};
	uint8_t *iopm, *msrpm;
	unsigned i;

	svm.iopm_pa = mm_alloc(IOPM_PAGES);
	svm.msrpm_pa = mm_alloc(MSRPM_PAGES);
	if (!svm.iopm_pa || !svm.msrpm_pa) {
		log_error("AMD-V: out of memory for the permission maps");
		return -1;
	}
	iopm = mm_ptr(svm.iopm_pa);
	msrpm = mm_ptr(svm.msrpm_pa);
	for (i = 0; i < IOPM_PAGES * PAGE_SIZE; i++)
		iopm[i] = 0xff; /* every port exits */
	for (i = 0; i < MSRPM_PAGES * PAGE_SIZE; i++)
		msrpm[i] = 0xff; /* every MSR exits ... */
	for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		if (msr_passthrough(candidates[i])) { /* ... but those the VMCB switches */
			msrpm_allow(msrpm, candidates[i], 0);
			msrpm_allow(msrpm, candidates[i], 1);
		}
	}
	return 0;
}

/* What all CPUs share, set up by the first to enable AMD-V. */
static int svm_global_init(void)
{
	struct cpuid_regs f = cpuid(0x8000000a, 0);

	if (!(f.edx & SVM_FEATURE_NP)) {
		log_error("AMD-V: no nested paging; this hypervisor needs it to isolate guests");
		return -1;
	}
	if (f.ebx < 2) {
		log_error("AMD-V: %u ASIDs: none left for guests", f.ebx);
		return -1;
	}
	svm.features = f.edx;
	svm.asids = f.ebx;
	svm.kick_after_injection = (cpuid(1, 0).ecx >> 31) & 1; /* CPUID.1:ECX[31]: we run in a VM */
	tag_pool_init(&svm.asid_pool, svm.asids - 1 > TAG_POOL_MAX ? TAG_POOL_MAX : svm.asids - 1, "ASID");
	svm.page_sizes = GPT_2M | ((cpuid(0x80000001, 0).edx >> 26 & 1) ? GPT_1G : 0);
	return build_permission_maps();
}

static int svm_cpu_enable(void)
{
	struct cpu *c = this_cpu();

	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
		log_error("AMD-V: disabled by the firmware (VM_CR.SVMDIS) on CPU %u", c->index);
		return -1;
	}
	if (!svm.iopm_pa && svm_global_init())
		return -1;
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	c->virt_region_pa = mm_alloc(1); /* VM_HSAVE_PA: where VMRUN keeps host state */
	c->host_state_pa = mm_alloc(1);  /* host state VMRUN leaves alone, for VMLOAD */
	if (!c->virt_region_pa || !c->host_state_pa) {
		log_error("AMD-V: out of memory for the host save areas");
		return -1;
	}
	wrmsr(MSR_VM_HSAVE_PA, c->virt_region_pa);
	__asm__ volatile("vmsave %%rax" : : "a"(c->host_state_pa) : "memory");
	return 0;
}

/* ---- address spaces ---------------------------------------------------- */

static struct guest_space *svm_space_create(void)
{
	uint64_t pa = mm_alloc(1);
	struct guest_space *s = mm_ptr(pa);

	if (!pa)
		return 0;
	if (space_init(s, &gpt_format_npt, svm.page_sizes)) {
		mm_free(pa, 1);
		return 0;
	}
	return s;
}

static void svm_space_destroy(struct guest_space *s)
{
	space_destroy(s);
	mm_free((uint64_t)(uintptr_t)s, 1);
}

/* ---- vCPUs ------------------------------------------------------------- */

static struct svm_vcpu *arch_of(struct vcpu *v)
{
	return v->arch;
}

static void set_segment(struct vmcb_segment *s, uint16_t sel, uint16_t attrib, uint32_t limit)
{
	s->selector = sel;
	s->attrib = attrib;
	s->limit = limit;
	s->base = 0;
}

static void set_intercepts(struct vmcb *c)
{
	c->intercept_misc1 = MISC1_INTR | MISC1_NMI | MISC1_INIT | MISC1_RDPMC | MISC1_CPUID | MISC1_INVD |
			     MISC1_HLT | MISC1_INVLPGA | MISC1_IOIO | MISC1_MSR | MISC1_SHUTDOWN;
	/* #DB and #AC exit, so that a guest whose delivery of either faults again cannot hold the
	 * CPU without a #VMEXIT (CVE-2015-8104, CVE-2015-5307); they are delivered back to it. */
	c->intercept_exceptions = (1u << VEC_DB) | (1u << VEC_AC);
	/* Every SVM instruction: the guest's EFER.SVME is set (VMRUN requires it), so
	 * unintercepted ones would run for real. */
	c->intercept_misc2 = MISC2_VMRUN | MISC2_VMMCALL | MISC2_VMLOAD | MISC2_VMSAVE | MISC2_STGI |
			     MISC2_CLGI | MISC2_SKINIT | MISC2_WBINVD | MISC2_MONITOR | MISC2_MWAIT |
			     MISC2_MWAIT_ARMED | MISC2_XSETBV;
	c->iopm_base_pa = svm.iopm_pa;
	c->msrpm_base_pa = svm.msrpm_pa;
	/* Host RFLAGS.IF governs physical interrupts, and the guest's CR8 is V_TPR, never the
	 * host's TPR (APM Vol. 2, 15.21.1 and 15.21.4). */
	c->v_intr = V_INTR_MASKING;
}

/*
 * Code: type 0xb, S, P, and L and G (64-bit) or D and G (32-bit); data:
 * type 3, S, P, D/B, G. Real mode: 64 KiB segments based at selector * 16.
 */
static void set_boot_segments(struct vmcb *c, const struct vcpu_boot *b)
{
	if (b->mode == BOOT_REAL) {
		set_segment(&c->cs, b->code_selector, 0x9b, 0xffff);
		c->cs.base = (uint64_t)b->code_selector << 4;
		set_segment(&c->ds, b->data_selector, 0x93, 0xffff);
		c->ds.base = (uint64_t)b->data_selector << 4;
	} else {
		set_segment(&c->cs, b->code_selector, b->mode == BOOT_LONG ? 0xa9b : 0xc9b, 0xffffffff);
		set_segment(&c->ds, b->data_selector, 0xc93, 0xffffffff);
	}
	c->es = c->ss = c->fs = c->gs = c->ds;
}

static void set_boot_state(struct vmcb *c, const struct vcpu_boot *b)
{
	set_boot_segments(c, b);
	set_segment(&c->tr, 0, 0x8b, 0x67); /* busy TSS */
	set_segment(&c->ldtr, 0, 0x82, 0);
	c->gdtr.base = b->gdt_base;
	c->gdtr.limit = b->gdt_limit;
	c->idtr.base = 0;
	c->idtr.limit = b->mode == BOOT_REAL ? 0xffff : 0; /* real mode: the vector table at 0 (SDM Vol. 3A, 10.1.1) */
	c->cr0 = guest_boot_cr0(b->mode);
	c->cr3 = b->cr3;
	c->cr4 = b->mode == BOOT_LONG ? 0x20 : 0; /* PAE */
	c->efer = (b->mode == BOOT_LONG ? EFER_LME | EFER_LMA : 0) | EFER_SVME;
	c->rflags = 2;
	c->rip = b->rip;
	c->rsp = b->rsp;
	c->dr6 = 0xffff0ff0;
	c->dr7 = 0x400;
	c->g_pat = PAT_DEFAULT;
}

static int svm_create(struct vcpu *v, struct guest_space *s, const struct vcpu_boot *boot)
{
	uint64_t pa = mm_alloc(1), arch_pa = mm_alloc(1);
	struct svm_vcpu *a = mm_ptr(arch_pa);
	struct vmcb *c = mm_ptr(pa);

	if (!pa || !arch_pa) {
		if (pa)
			mm_free(pa, 1);
		if (arch_pa)
			mm_free(arch_pa, 1);
		return -1;
	}
	a->vmcb = c;
	a->vmcb_pa = pa;
	a->space = s;
	v->arch = a;
	set_intercepts(c);
	vcpu_tag_take(&a->tag, &svm.asid_pool, v->part->cfg->name);
	c->guest_asid = a->tag.id;
	c->np_enable = 1;
	c->n_cr3 = s->gpt.root;
	set_boot_state(c, boot);
	guest_boot_registers(v, boot); /* svm_run loads the VMCB's RSP from gprs */
	return 0;
}

static void svm_destroy(struct vcpu *v)
{
	struct svm_vcpu *a = arch_of(v);

	vcpu_tag_give_back(&a->tag);
	mm_free(a->vmcb_pa, 1);
	mm_free((uint64_t)(uintptr_t)a, 1);
	v->arch = 0;
}

/* ---- exits ------------------------------------------------------------- */

static const char *svm_insn_name(uint64_t code)
{
	switch (code) {
	case VMEXIT_VMRUN: return "VMRUN";
	case VMEXIT_VMLOAD: return "VMLOAD";
	case VMEXIT_VMSAVE: return "VMSAVE";
	case VMEXIT_STGI: return "STGI";
	case VMEXIT_CLGI: return "CLGI";
	case VMEXIT_SKINIT: return "SKINIT";
	case VMEXIT_INVLPGA: return "INVLPGA";
	case VMEXIT_MONITOR: return "MONITOR";
	case VMEXIT_MWAIT:
	case VMEXIT_MWAIT_ARMED: return "MWAIT";
	default: return 0;
	}
}

/* The first VMRUN consistency check the state fails (APM Vol. 2, 15.5.1). */
static const char *failed_check(const struct vmcb *c)
{
	if (!(c->efer & EFER_SVME))
		return "EFER.SVME is clear";
	if ((c->cr0 & (1ull << 29)) && !(c->cr0 & (1ull << 30)))
		return "CR0.NW set with CR0.CD clear";
	if (c->cr0 >> 32)
		return "CR0 bits 63:32 are not zero";
	if ((c->efer & EFER_LME) && (c->cr0 & (1ull << 31)) && !(c->cr4 & 0x20))
		return "long mode with paging but CR4.PAE clear";
	if ((c->efer & EFER_LME) && (c->cr0 & (1ull << 31)) && !(c->cr0 & 1))
		return "long mode with paging but CR0.PE clear";
	if ((c->efer & EFER_LME) && (c->cr0 & (1ull << 31)) && (c->cs.attrib & 0x600) == 0x600)
		return "CS.L and CS.D both set in long mode";
	if (!(c->intercept_misc2 & MISC2_VMRUN))
		return "the VMRUN intercept is clear";
	if (c->guest_asid == 0)
		return "guest ASID is 0";
	if (c->dr6 >> 32 || c->dr7 >> 32)
		return "DR6 or DR7 bits 63:32 are not zero";
	return "none of the checks this hypervisor knows (see APM Vol. 2, 15.5.1)";
}

static void translate_io(const struct vmcb *c, struct vcpu_exit *e)
{
	uint64_t info = c->exit_info1;

	e->reason = EXIT_IO;
	e->u.io.in = info & 1;
	e->u.io.string = (info >> 2) & 1;
	e->u.io.rep = (info >> 3) & 1;
	e->u.io.size = (info >> 4) & 1 ? 1 : (info >> 5) & 1 ? 2 : 4;
	e->u.io.port = (uint16_t)(info >> 16);
}

/*
 * EXITINFO1 is a page-fault error code (bit 1 write, bit 4 instruction
 * fetch) with bit 33 set when the fault was on the guest's page tables
 * rather than the final address (APM Vol. 2, 15.25.6).
 */
static void translate_npf(const struct vmcb *c, struct vcpu_exit *e)
{
	e->reason = EXIT_MEMORY;
	e->u.mem.gpa = c->exit_info2;
	e->u.mem.access = (c->exit_info1 & 2) ? GPT_WRITE : (c->exit_info1 & 0x10) ? GPT_EXEC : GPT_READ;
	e->u.mem.table_walk = (c->exit_info1 >> 33) & 1;
	e->u.mem.in_delivery = (c->exit_int_info & EVENT_VALID) != 0;
}

/*
 * An intercepted #DB or #AC goes back to the guest's own handler on the
 * next VMRUN, replacing an event it interrupted, as a benign exception
 * does (Intel SDM Vol. 3A, 6.15, Table 6-5); the CPU has updated DR6
 * already (APM Vol. 2, 15.12). #AC's error code is in EXITINFO1.
 */
static void reflect_exception(struct vmcb *c, uint8_t vector, struct vcpu_exit *e)
{
	e->reason = EXIT_GUEST_EXCEPTION;
	c->event_inject = vector | EVENT_TYPE_EXCEPTION | EVENT_VALID |
			  (vector == VEC_AC ? EVENT_HAS_ERROR | (c->exit_info1 << 32) : 0);
}

/*
 * A #VMEXIT saves the guest's state in the VMCB and loads the host's from
 * VM_HSAVE_PA (APM Vol. 2, 15.6). QEMU 7.2's multi-threaded TCG breaks
 * this on its first CPU: every FXRSTOR, XRSTOR, FRSTOR or FLDENV on any
 * CPU clears IGNNE in the first CPU's hidden flags by a read-modify-write
 * from its own thread (cpu_clear_ignne in target/i386/tcg/sysemu/
 * fpu_helper.c), which can write back the nested-paging flag that the
 * first CPU's #VMEXIT had just cleared. Its next host instruction fetch
 * then takes a nested page fault, emulated as a second #VMEXIT that saves
 * the host's state over the guest's: the VMCB holds the host's CR3 and the
 * address after VMRUN. Running that would run hypervisor addresses as the
 * guest's; the guest's own state is gone.
 */
static int host_state_came_back(const struct vmcb *c)
{
	/* RIP first: every exit pays this check, and it almost never needs the read of CR3. */
	return c->rip == (uint64_t)(uintptr_t)svm_vmrun_return && c->cr3 == read_cr3();
}

/*
 * CPUID, VMMCALL, IN or OUT, RDMSR, WRMSR: the exits vcpu_instruction_exit()
 * handles, never exits during an event's delivery (APM Vol. 2, 15.7.2).
 * 1 with e translated; 0 for any other exit.
 */
static int translate_instruction_exit(struct vcpu *v, const struct vmcb *c, struct vcpu_exit *e)
{
	switch (c->exit_code) {
	case VMEXIT_CPUID: e->reason = EXIT_CPUID; return 1;
	case VMEXIT_VMMCALL: e->reason = EXIT_HYPERCALL; return 1;
	case VMEXIT_IOIO: translate_io(c, e); return 1;
	case VMEXIT_MSR:
		e->reason = c->exit_info1 ? EXIT_MSR_WRITE : EXIT_MSR_READ;
		e->u.msr = (uint32_t)v->gprs[REG_RCX];
		return 1;
	}
	return 0;
}

/* 1 for an instruction exit (translate_instruction_exit), 0 for any other. */
static int translate_exit(struct vcpu *v, struct vmcb *c, struct vcpu_exit *e)
{
	uint64_t code = c->exit_code;

	e->raw = code;
	if (host_state_came_back(c)) {
		e->reason = EXIT_STATE_LOST;
		return 0;
	}
	if (translate_instruction_exit(v, c, e))
		return 1;
	switch (code) {
	case VMEXIT_HLT: e->reason = EXIT_HLT; return 0;
	case VMEXIT_XSETBV: e->reason = EXIT_XSETBV; return 0;
	case VMEXIT_INVD:
	case VMEXIT_WBINVD: e->reason = EXIT_CACHE_FLUSH; return 0;
	case VMEXIT_SHUTDOWN: e->reason = EXIT_SHUTDOWN; return 0;
	case VMEXIT_INTR: e->reason = EXIT_INTERRUPT; return 0;
	case VMEXIT_NMI: e->reason = EXIT_NMI; return 0;
	case VMEXIT_VINTR: e->reason = EXIT_INTERRUPT_WINDOW; return 0;
	case VMEXIT_IRET:
		svm_event_iret_reached(c, &arch_of(v)->nmi);
		e->reason = EXIT_INTERRUPT_WINDOW; /* a pending NMI may go once the IRET has run */
		return 0;
	case VMEXIT_CR8_WRITE: return 0; /* mov_to_cr8() */
	case VMEXIT_NPF: translate_npf(c, e); return 0;
	case VMEXIT_RDPMC: e->reason = EXIT_RDPMC; return 0;
	case VMEXIT_EXCEPTION_DB: reflect_exception(c, VEC_DB, e); return 0;
	case VMEXIT_EXCEPTION_AC: reflect_exception(c, VEC_AC, e); return 0;
	}
	if ((uint32_t)code == VMEXIT_INVALID) {
		e->reason = EXIT_ENTRY_FAILED;
		e->u.failure = failed_check(c);
		return 0;
	}
	e->u.insn = svm_insn_name(code);
	e->reason = e->u.insn ? EXIT_FORBIDDEN_INSN : EXIT_UNKNOWN;
	return 0;
}

/*
 * QEMU 7.2's TCG delivers an interrupt injected through EVENTINJ inside
 * VMRUN (helper_vmrun, target/i386/tcg/sysemu/svm_helper.c) but leaves its
 * vector in the emulated CPU's pending-exception slot (exception_index).
 * When its execution loop next stops for the icount budget or an exit
 * request, with no #VMEXIT in between, cpu_handle_exception() delivers
 * that vector a second time, as an exception, whatever RFLAGS.IF says.
 * Under -icount that stop is frequent: a Linux guest woken from idle by
 * its timer took the copy inside the timekeeper's write section (entered
 * from irq_enter, IF clear) and spun for ever on its sequence count.
 * A physical interrupt pending at VMRUN ends the guest's run at the
 * boundary after the delivery (the INTR intercept, APM Vol. 2, 15.21.1);
 * QEMU looks at interrupts before its exit request, so that #VMEXIT takes
 * the slot first. A hypervisor that runs in a VM (CPUID.1:ECX[31]) kicks
 * its own CPU before such a VMRUN: one exit more per injected interrupt;
 * on bare metal nothing changes.
 */
static void end_run_after_injection(const struct vmcb *c)
{
	if ((c->event_inject & (EVENT_VALID | EVENT_TYPE_MASK)) == (EVENT_VALID | EVENT_TYPE_INTR) &&
	    svm.kick_after_injection)
		lapic_kick_self();
}

static uint64_t svm_get_reg(struct vcpu *v, enum vcpu_reg r)
{
	const struct vmcb *c = arch_of(v)->vmcb;

	switch (r) {
	case REG_RIP: return c->rip;
	case REG_RFLAGS: return c->rflags;
	case REG_CR0: return c->cr0;
	case REG_CR3: return c->cr3;
	case REG_CR4: return c->cr4;
	case REG_EFER: return c->efer & ~EFER_SVME; /* as the guest sees it */
	case REG_PAT: return c->g_pat;
	case REG_CR8: return svm_event_cr8(c);
	default: return r < REG_GPRS ? v->gprs[r] : 0;
	}
}

static void svm_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t value)
{
	struct vmcb *c = arch_of(v)->vmcb;

	switch (r) {
	case REG_RIP: c->rip = value; break;
	case REG_RFLAGS: c->rflags = value; break;
	case REG_CR0: c->cr0 = value; break;
	case REG_CR3: c->cr3 = value; break;
	case REG_CR4: c->cr4 = value; break;
	case REG_EFER: c->efer = value | EFER_SVME; break; /* VMRUN requires SVME */
	case REG_PAT: c->g_pat = value; break; /* the guest's PAT with nested paging (APM 15.25.8) */
	case REG_CR8: svm_event_set_cr8(c, value); break;
	default:
		if (r < REG_GPRS)
			v->gprs[r] = value;
	}
}

/*
 * What guest_code_address and the guest's page walk read, written in place:
 * every exit that reads its instruction pays this. CS.L is attribute bit 9,
 * CS.D/B bit 10 (APM Vol. 2, 15.5.1).
 */
static void code_mode(struct svm_vcpu *a, struct guest_mode *g)
{
	const struct vmcb *c = a->vmcb;

	g->cr0 = c->cr0;
	g->cr3 = c->cr3;
	g->cr4 = c->cr4;
	g->efer = c->efer;
	g->rflags = c->rflags;
	g->cs_base = c->cs.base;
	g->cs_long = (c->cs.attrib >> 9) & 1;
	g->cs_default32 = (c->cs.attrib >> 10) & 1;
	g->cpl = c->cpl;
	g->code_cache = &a->code_cache;
}

static void svm_guest_mode(struct vcpu *v, struct guest_mode *g)
{
	code_mode(arch_of(v), g);
}

static void svm_segment_bases(struct vcpu *v, struct guest_mode *g)
{
	const struct vmcb *c = arch_of(v)->vmcb;

	g->seg_base[0] = c->es.base;
	g->seg_base[1] = c->cs.base;
	g->seg_base[2] = c->ss.base;
	g->seg_base[3] = c->ds.base;
	g->seg_base[4] = c->fs.base;
	g->seg_base[5] = c->gs.base;
}

/* The bytes at CS:RIP and their code's mode: 0, -1, or SKIP_NOT_CANONICAL. */
static int read_at_rip(struct vcpu *v, uint8_t *bytes, unsigned *n, enum cpu_mode *mode)
{
	struct guest_mode g; /* its data segments' bases unset: a code fetch uses none */
	enum guest_walk_result r;

	code_mode(arch_of(v), &g);
	r = space_read_code(arch_of(v)->space, &g, arch_of(v)->vmcb->rip, bytes, n, mode);
	if (r != GUEST_WALK_OK)
		return r == GUEST_WALK_NOT_CANONICAL ? SKIP_NOT_CANONICAL : -1;
	return 0;
}

/* The instruction at CS:RIP, decoded in its code's mode: 0, -1, or SKIP_NOT_CANONICAL. */
static int decode_at_rip(struct vcpu *v, struct insn *in, enum cpu_mode *mode)
{
	uint8_t bytes[INSN_MAX];
	unsigned n;
	int r = read_at_rip(v, bytes, &n, mode);

	if (r)
		return r;
	return insn_decode(bytes, n, *mode, in) ? -1 : 0;
}

/*
 * The one plain form (no prefix) of each instruction an intercept that
 * ends in svm_skip_instruction names, the same in every mode: when the
 * bytes at RIP are exactly it, so is the length. None of them starts with
 * a prefix byte, so they cannot be the tail of a longer instruction; any
 * other form (or fewer than 3 bytes readable) goes to the decoder: 0.
 */
static unsigned plain_form_length(uint64_t exit_code, const uint8_t *b, unsigned n)
{
	if (n < 3)
		return 0;
	switch (exit_code) {
	case VMEXIT_CPUID: return b[0] == 0x0f && b[1] == 0xa2 ? 2 : 0;
	case VMEXIT_VMMCALL: return b[0] == 0x0f && b[1] == 0x01 && b[2] == 0xd9 ? 3 : 0;
	case VMEXIT_HLT: return b[0] == 0xf4 ? 1 : 0;
	case VMEXIT_MSR: return b[0] == 0x0f && (b[1] == 0x30 || b[1] == 0x32) ? 2 : 0; /* WRMSR, RDMSR */
	case VMEXIT_XSETBV: return b[0] == 0x0f && b[1] == 0x01 && b[2] == 0xd1 ? 3 : 0;
	case VMEXIT_WBINVD: return b[0] == 0x0f && b[1] == 0x09 ? 2 : 0;
	default: return 0;
	}
}

/* The step kept for the instruction at RIP, if it still holds (struct kept_step), else NULL. */
static const struct kept_step *kept_step(const struct svm_vcpu *a)
{
	const struct vmcb *c = a->vmcb;
	const struct kept_step *l = &a->steps[c->rip % STEPS_KEPT];
	uint64_t now;

	if (!l->page.page || c->rip != l->rip || c->cs.base != l->cs_base || c->cs.attrib != l->cs_attrib ||
	    c->cpl != l->cpl || (c->rflags & RFLAGS_VM) != l->rflags_vm || c->cr0 != l->page.cr0 ||
	    c->cr3 != l->page.cr3 || c->cr4 != l->page.cr4 || c->efer != l->page.efer ||
	    !space_code_walk_unchanged(a->space, &l->page))
		return 0;
	__builtin_memcpy(&now, l->at, sizeof(now)); /* within the page: the code cache keeps no page's last INSN_MAX - 1 bytes */
	return ((now ^ l->bytes) & l->mask) == 0 ? l : 0;
}

/* Keeps the step from RIP to next_rip over the len bytes decoded, when they came through the code cache. */
static void remember_step(struct svm_vcpu *a, const struct guest_mode *g, const uint8_t *bytes, unsigned len,
			  uint64_t next_rip)
{
	const struct vmcb *c = a->vmcb;
	struct kept_step *l = &a->steps[c->rip % STEPS_KEPT];
	const struct code_page *page;
	uint64_t linear;

	guest_code_address(g, c->rip, &linear);
	page = space_code_page_of(g, linear);
	l->page.page = 0;
	if (!page || len > STEP_BYTES_MAX)
		return;
	l->page = *page;
	l->at = page->page + (linear & 0xfff);
	l->rip = c->rip;
	l->next_rip = next_rip;
	l->cs_base = c->cs.base;
	l->cs_attrib = c->cs.attrib;
	l->cpl = c->cpl;
	l->rflags_vm = c->rflags & RFLAGS_VM;
	l->mask = len == STEP_BYTES_MAX ? ~0ull : (1ull << (8 * len)) - 1;
	__builtin_memcpy(&l->bytes, bytes, sizeof(l->bytes));
	l->bytes &= l->mask;
}

/*
 * The RIP after the instruction at RIP, from its bytes: 0, -1, or
 * SKIP_NOT_CANONICAL. Never inlined: svm_skip_instruction's other paths,
 * taken on most exits, then set up no frame for its buffers.
 */
static __attribute__((noinline)) int next_rip_by_decode(struct vcpu *v, uint64_t *next_rip)
{
	struct svm_vcpu *a = arch_of(v);
	uint8_t bytes[INSN_MAX];
	struct guest_mode g;
	enum cpu_mode mode;
	enum guest_walk_result r;
	struct insn in;
	unsigned n, len;

	code_mode(a, &g);
	r = space_read_code(a->space, &g, a->vmcb->rip, bytes, &n, &mode);
	if (r != GUEST_WALK_OK)
		return r == GUEST_WALK_NOT_CANONICAL ? SKIP_NOT_CANONICAL : -1;
	len = plain_form_length(a->vmcb->exit_code, bytes, n);
	if (!len) {
		if (insn_decode(bytes, n, mode, &in))
			return -1;
		len = in.length;
	}
	*next_rip = guest_rip_advance(mode, a->vmcb->rip, len);
	remember_step(a, &g, bytes, len, *next_rip);
	return 0;
}

/* RIP moves on as after the instruction (APM Vol. 2, 13.1.4 for the single-step trap it owes). */
static void svm_emulated(struct vcpu *v, uint64_t next_rip)
{
	struct vmcb *c = arch_of(v)->vmcb;

	c->rip = next_rip;
	c->interrupt_shadow = 0; /* a STI or MOV SS shadow ends with the instruction */
	if (c->rflags & RFLAGS_TF) {
		c->dr6 |= DR6_BS;
		c->event_inject = VEC_DB | EVENT_TYPE_EXCEPTION | EVENT_VALID;
	}
}

/*
 * MOV to CR8 (0F 22 /r, ModRM.reg 0 with REX.R), intercepted while an
 * interrupt window is open: QEMU's SVM cannot take a CR8 write then
 * (its helper raises the virtual interrupt without the lock it needs and
 * aborts), and the write may let the waiting interrupt in. The hypervisor
 * does the write and looks again (EXIT_INTERRUPT_WINDOW); a reserved bit
 * is #GP (SDM Vol. 3A, 2.5).
 */
static void mov_to_cr8(struct vcpu *v, struct vcpu_exit *e)
{
	struct vmcb *c = arch_of(v)->vmcb;
	enum cpu_mode mode;
	struct insn in;
	uint64_t value;

	if (decode_at_rip(v, &in, &mode) || in.map != 1 || in.opcode != 0x22 || !in.has_modrm ||
	    (in.modrm >> 6) != 3 || ((in.modrm >> 3) & 7) != 0 || !(in.rex & 4)) {
		e->reason = EXIT_UNKNOWN; /* not the instruction the intercept says: stopped */
		return;
	}
	v->gprs[REG_RSP] = c->rsp;
	value = v->gprs[(in.modrm & 7) | ((in.rex & 1) << 3)];
	if (cr8_write_ok(value)) {
		c->event_inject = VEC_GP | EVENT_TYPE_EXCEPTION | EVENT_VALID | EVENT_HAS_ERROR;
		e->reason = EXIT_GUEST_EXCEPTION;
		return;
	}
	svm_set_reg(v, REG_CR8, value);
	svm_emulated(v, guest_rip_advance(mode, c->rip, in.length));
	e->reason = EXIT_INTERRUPT_WINDOW;
}

/*
 * The RIP after the instruction that exited: 0, -1, or SKIP_NOT_CANONICAL.
 * From EXITINFO2 for port I/O (saved for every I/O intercept), NextRIP
 * with NRIP save, else a kept step or the instruction's bytes decoded.
 */
static int next_rip_of(struct vcpu *v, const struct vcpu_exit *e, uint64_t *next_rip)
{
	struct svm_vcpu *a = arch_of(v);
	const struct kept_step *step;

	if (e->reason == EXIT_IO)
		*next_rip = a->vmcb->exit_info2;
	else if (svm.features & SVM_FEATURE_NRIPS)
		*next_rip = a->vmcb->next_rip;
	else if ((step = kept_step(a)) != 0)
		*next_rip = step->next_rip;
	else
		return next_rip_by_decode(v, next_rip);
	return 0;
}

static int svm_skip_instruction(struct vcpu *v, const struct vcpu_exit *e)
{
	uint64_t next_rip;
	int r = next_rip_of(v, e, &next_rip);

	if (r == 0)
		svm_emulated(v, next_rip);
	return r;
}

/*
 * One VMRUN and its #VMEXIT (svm_entry.asm). The call is inline assembly
 * that names the registers the guest's run overwrites: all but RSP and
 * the four the stub keeps (RBP, RBX, R12, R13), which leaves the compiler
 * three to hold svm_run's vCPU, state and exit across it. R14 and R15 are
 * saved once a run by svm_run's prologue, not pushed and popped at each
 * VMRUN. The host's state is this CPU's, read through GS (percpu.h).
 */
static void run_guest(uint64_t vmcb_pa, uint64_t *gprs)
{
	uint64_t host_vmcb_pa = ((const __seg_gs struct cpu *)0)->host_state_pa;

	__asm__ volatile("call svm_run_guest"
			 : "+D"(vmcb_pa), "+S"(gprs), "+d"(host_vmcb_pa)
			 :
			 : "rax", "rcx", "r8", "r9", "r10", "r11", "r14", "r15", "cc", "memory");
}

/*
 * One VMRUN and its #VMEXIT: the TLB flushed first where the space's
 * tables changed (APM Vol. 2, 15.16.1), the control set back after it to
 * what the vCPU's ASID needs between such changes (a shared one: a flush
 * at every VMRUN); RAX, which the exits' handlers write, loaded into the
 * VMCB, and RAX and RSP read back from it.
 */
static void enter_guest(struct vcpu *v, struct svm_vcpu *a)
{
	struct vmcb *c = a->vmcb;

	if (a->flushed != a->space->generation) {
		c->tlb_control = 1;
		a->flushed = a->space->generation;
	}
	c->rax = v->gprs[REG_RAX];
	end_run_after_injection(c);
	run_guest(a->vmcb_pa, v->gprs);
	c->tlb_control = (uint8_t)a->tag.flush_every_entry;
	v->gprs[REG_RAX] = c->rax;
	v->gprs[REG_RSP] = c->rsp;
	svm_event_after_exit(c);
}

/*
 * Handled at once in hv/ (vcpu_instruction_exit), without the dispatch
 * of vcpu_handle_exit(): RIP past the instruction unless it faulted; 1 if
 * v goes on in its guest.
 */
static int instruction_done(struct vcpu *v, struct vcpu_exit *e, uint64_t next_rip)
{
	if (vcpu_instruction_exit(v, e))
		svm_emulated(v, next_rip);
	return scheduler_exit_done(v, e);
}

/*
 * Loops over exits until one ends the slice: each goes to hv/ from here
 * (scheduler_exit_step, or for an instruction exit vcpu_instruction_exit
 * and scheduler_exit_done), so that the next VMRUN costs no pass through
 * the scheduler's loop. The TSC offset (APM Vol. 2, Appendix B, Table
 * B-1) moves only when the partition resumes (hv/part_clock.h), which
 * ends the slice first; RSP is written back only after an exit whose
 * handling may have changed it: the instruction exits never do.
 */
static void svm_run(struct vcpu *v, struct vcpu_exit *e)
{
	struct svm_vcpu *a = arch_of(v);
	struct vmcb *c = a->vmcb;
	uint64_t next_rip;

	c->tsc_offset = part_clock_tsc_offset(&v->part->clock);
	c->rsp = v->gprs[REG_RSP];
	for (;;) {
		enter_guest(v, a);
		/* An instruction that cannot be stepped over goes the common way, which reports it. */
		if (translate_exit(v, c, e) && next_rip_of(v, e, &next_rip) == 0) {
			if (!instruction_done(v, e, next_rip))
				return;
			continue;
		}
		if (c->exit_code == VMEXIT_CR8_WRITE)
			mov_to_cr8(v, e);
		if (!scheduler_exit_step(v, e))
			return;
		c->rsp = v->gprs[REG_RSP];
	}
}

static void svm_inject(struct vcpu *v, enum event_kind kind, uint8_t vector, int has_error, uint32_t error)
{
	svm_event_inject(arch_of(v)->vmcb, &arch_of(v)->nmi, kind, vector, has_error, error);
}

static int svm_can_inject(struct vcpu *v, enum event_kind kind)
{
	return svm_event_can_inject(arch_of(v)->vmcb, &arch_of(v)->nmi, kind);
}

static void svm_interrupt_window(struct vcpu *v, unsigned priority_class)
{
	svm_event_window(arch_of(v)->vmcb, priority_class);
}

static void svm_flush_tlb(struct vcpu *v)
{
	arch_of(v)->space->generation++;
}

/* AMD-V has no timer of its own for the guest: the host's local APIC timer ends slices. */
static int svm_has_slice_timer(void)
{
	return 0;
}

const struct vcpu_ops svm_ops = {
	.name = "AMD-V",
	.cpu_enable = svm_cpu_enable,
	.space_create = svm_space_create,
	.space_destroy = svm_space_destroy,
	.add_ram = space_add_ram,
	.ram = space_ram,
	.ram_overwritten = space_ram_overwritten,
	.flush_tlb = svm_flush_tlb,
	.create = svm_create,
	.destroy = svm_destroy,
	.run = svm_run,
	.has_slice_timer = svm_has_slice_timer,
	.get_reg = svm_get_reg,
	.set_reg = svm_set_reg,
	.skip_instruction = svm_skip_instruction,
	.guest_mode = svm_guest_mode,
	.segment_bases = svm_segment_bases,
	.emulated = svm_emulated,
	.inject = svm_inject,
	.can_inject = svm_can_inject,
	.interrupt_window = svm_interrupt_window,
};
