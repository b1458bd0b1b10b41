/*
 * One vCPU interface, two backends (VT-x in arch/x86/vmx, AMD-V in
 * arch/x86/svm). hv/ sees a vCPU only through struct vcpu_ops and learns
 * why it stopped running from an arch-neutral struct vcpu_exit.
 */
#ifndef HV_VCPU_H
#define HV_VCPU_H

#include <stdint.h>

#include "sched.h"
#include "vdev/vlapic.h"

/* General registers in x86 encoding order, then the others hv/ needs. */
enum vcpu_reg {
	REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
	REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
	REG_RIP, REG_RFLAGS, REG_CR0, REG_CR3, REG_CR4, REG_EFER,
	REG_PAT, /* the vCPU's own IA32_PAT */
	REG_CR8, /* the task priority, TPR bits 7:4 */
	REG_COUNT
};
#define REG_GPRS 16

enum vcpu_exit_reason {
	EXIT_CPUID,
	EXIT_MSR_READ,
	EXIT_MSR_WRITE,
	EXIT_IO,
	EXIT_MEMORY,       /* guest-physical access with no mapping or not allowed */
	EXIT_MEMORY_MISCONFIG, /* an EPT entry the CPU found malformed: our bug */
	EXIT_HLT,
	EXIT_HYPERCALL,
	EXIT_XSETBV,
	EXIT_CACHE_FLUSH,  /* INVD, WBINVD */
	EXIT_FORBIDDEN_INSN, /* VMX, SVM or MONITOR/MWAIT: not offered, #UD */
	EXIT_RDPMC,        /* performance counters are not virtualized: #GP */
	EXIT_GUEST_EXCEPTION, /* #DB or #AC, already queued by the backend for the guest's own IDT */
	EXIT_SHUTDOWN,     /* triple fault */
	EXIT_INTERRUPT,    /* a host interrupt arrived while the guest ran */
	EXIT_SLICE_END,    /* the backend's own timer ended the time slice (slice_end) */
	EXIT_NMI,
	EXIT_INTERRUPT_WINDOW, /* the guest can take the interrupt that waits (interrupt_window) */
	EXIT_ENTRY_FAILED, /* the CPU refused the guest state */
	EXIT_STATE_LOST,   /* the CPU handed back the host's own state as the guest's: an emulator defect */
	EXIT_UNKNOWN,
};
#define EXIT_REASONS (EXIT_UNKNOWN + 1)

struct vcpu_exit {
	enum vcpu_exit_reason reason;
	uint64_t raw;      /* the backend's exit code, for reports */
	uint8_t handled;   /* run() handled it already (scheduler_exit_step) and returns to end the slice */
	union {
		struct {
			uint16_t port;
			uint8_t size; /* 1, 2 or 4 bytes */
			uint8_t in;
			uint8_t string; /* INS/OUTS */
			uint8_t rep;
		} io;
		struct {
			uint64_t gpa;
			unsigned access; /* GPT_READ, GPT_WRITE or GPT_EXEC */
			uint8_t table_walk; /* by the CPU's walk of the guest's own page tables */
			uint8_t in_delivery; /* while delivering an event (IDT, stack), not by the instruction */
		} mem;
		uint32_t msr;
		const char *insn; /* EXIT_FORBIDDEN_INSN: the instruction's name */
		const char *failure; /* EXIT_ENTRY_FAILED: which check, as found */
	} u;
};

/*
 * The mode a vCPU starts in: 64-bit with paging, as the Linux boot
 * protocol's 64-bit entry and ELF kernels start; 32-bit protected mode
 * with paging off, as Multiboot starts; real mode, as an application
 * processor starts at a STARTUP IPI's vector.
 */
enum vcpu_boot_mode { BOOT_LONG, BOOT_PROTECTED, BOOT_REAL };

/* Where and how a vCPU starts. */
struct vcpu_boot {
	enum vcpu_boot_mode mode;
	uint64_t rip, rsp;
	uint64_t rax, rbx, rsi;  /* what a boot protocol passes in registers */
	uint64_t cr3;            /* BOOT_LONG */
	uint64_t gdt_base;
	uint16_t gdt_limit;
	/* BOOT_LONG, BOOT_PROTECTED: flat segments; BOOT_REAL: CS, based at code_selector << 4 */
	uint16_t code_selector, data_selector;
};

struct partition;
struct guest_space;
struct guest_mode;

struct vcpu_ops;

/*
 * MSRs the hypervisor keeps for a vCPU, all zero at its start (the
 * policy in arch/x86/policy.c gives them meaning): the MTRRs, which only
 * tell a guest's own bookkeeping (its RAM is write-back in the nested
 * tables whatever they say), TSC_AUX, which RDTSCP reads, and
 * IA32_SPEC_CTRL.
 */
#define VCPU_MTRR_VARIABLE 8
#define VCPU_MTRR_FIXED 11
struct vcpu_msrs {
	uint64_t mtrr_def_type;
	uint64_t mtrr_variable[2 * VCPU_MTRR_VARIABLE]; /* base, mask, base, mask ... */
	uint64_t mtrr_fixed[VCPU_MTRR_FIXED];
	uint64_t tsc_aux;
	uint64_t spec_ctrl; /* IA32_SPEC_CTRL, where the CPU has it */
	uint64_t pvclock_wall_clock, pvclock_system_time; /* as the guest wrote them (pvclock.h) */
};

/*
 * CPUID answers kept from their first time (arch/x86/guest_cpu.c): most
 * leaves never change for a vCPU, and the policy's work is most of a
 * CPUID exit's. Indexed by (leaf + subleaf) modulo the count.
 */
#define VCPU_CPUID_KEPT 8
struct vcpu_cpuid_answer {
	uint32_t leaf, subleaf;
	uint32_t valid;
	uint32_t regs[4]; /* EAX, EBX, ECX, EDX */
};

struct vcpu {
	struct partition *part;
	const struct vcpu_ops *ops;
	unsigned id;
	uint64_t gprs[REG_GPRS]; /* RAX..R15; backends keep RSP in sync */
	void *arch;              /* the backend's VMCB/VMCS state; NULL until created */
	uint64_t fpu_pa;         /* its extended-state image (arch_guest_fpu_*) */
	struct vcpu_boot boot;   /* where it starts */
	struct sched_entity se;  /* in its CPU's run queue once started */
	int started;
	uint64_t slice_end;      /* TSC value its time slice ends at: set at each run (scheduler.c) */
	uint64_t exits_by[EXIT_REASONS]; /* its VM exits by reason: their sum is vcpu_exits() */
	uint64_t injected;       /* interrupts and NMIs injected */
	uint64_t wake_at;        /* HC_WAKE_AFTER: inject wake_vector at this partition time */
	int wake_vector;         /* -1: none pending */
	int wake_due;            /* wake_at has come: the vector goes in as soon as the vCPU can take it */
	struct vlapic apic;      /* its local APIC (vcpu_irq.h) */
	struct vcpu_msrs msrs;
	struct vcpu_cpuid_answer cpuid_kept[VCPU_CPUID_KEPT];
	int irq_window;          /* an interrupt window is open for it */
	int timer_changed;       /* its APIC timer moved: the slice ends to arm the host timer */
	/*
	 * Something its next exit must look at (scheduler.c): set by a kick,
	 * a write of its APIC's registers, and by the last look while an
	 * interrupt waits; clear, the exit's look is skipped.
	 */
	volatile int attention;
	int halted_if_off;       /* in HLT with RFLAGS.IF clear: only an NMI or INIT ends that */
	volatile int init_pending; /* an INIT came while it had started: its CPU resets it */
	volatile int wait_for_sipi; /* only a STARTUP IPI starts it (SDM Vol. 3A, 10.4) */
};

enum event_kind { EVENT_INTERRUPT, EVENT_NMI, EVENT_EXCEPTION };

#define SKIP_NOT_CANONICAL (-2)

struct vcpu_ops {
	const char *name;
	/* Turns virtualization on for the calling CPU; 0 or -1 with a logged reason. */
	int (*cpu_enable)(void);
	/* A guest-physical address space (EPT or NPT tables, a VPID or ASID) for partition owner. */
	struct guest_space *(*space_create)(void);
	void (*space_destroy)(struct guest_space *s);
	/* RAM, zeroed and mapped on first touch (arch/x86/space.h); 0 or -1. */
	int (*add_ram)(struct guest_space *s, uint64_t gpa, uint64_t hpa, uint64_t size);
	/* The hypervisor's pointer to [gpa, gpa + len) of RAM, zeroed first where new; NULL if not RAM. */
	void *(*ram)(struct guest_space *s, uint64_t gpa, uint64_t len);
	/* The same for a range the caller writes in full before the partition runs: only the rest is zeroed. */
	void *(*ram_overwritten)(struct guest_space *s, uint64_t gpa, uint64_t len);
	void (*flush_tlb)(struct vcpu *v);
	int (*create)(struct vcpu *v, struct guest_space *s, const struct vcpu_boot *boot);
	void (*destroy)(struct vcpu *v);
	/*
	 * Runs the guest until the next exit; or, in a backend that hands each
	 * exit to scheduler_exit_step() itself, until one that ends the slice.
	 */
	void (*run)(struct vcpu *v, struct vcpu_exit *exit);
	/* 1 if run() ends the slice at v->slice_end itself (EXIT_SLICE_END); else the host timer must. */
	int (*has_slice_timer)(void);
	uint64_t (*get_reg)(struct vcpu *v, enum vcpu_reg r);
	void (*set_reg)(struct vcpu *v, enum vcpu_reg r, uint64_t value);
	/*
	 * Moves RIP past the instruction that exited; -1 if it cannot be decoded,
	 * SKIP_NOT_CANONICAL if RIP is not canonical (the CPU would raise #GP(0)).
	 */
	int (*skip_instruction)(struct vcpu *v, const struct vcpu_exit *exit);
	/*
	 * How the guest forms and translates addresses now (arch/x86/guest_walk.h),
	 * its data segments' bases aside: what reading the code at CS:RIP needs.
	 */
	void (*guest_mode)(struct vcpu *v, struct guest_mode *g);
	/* The data segments' bases into g->seg_base, for an operand not at the faulting address. */
	void (*segment_bases)(struct vcpu *v, struct guest_mode *g);
	/*
	 * RIP to next_rip after an instruction (or one iteration of a REP
	 * string instruction) the hypervisor emulated, as the CPU leaves it:
	 * an interrupt shadow ends, and with RFLAGS.TF the single-step trap is due.
	 */
	void (*emulated)(struct vcpu *v, uint64_t next_rip);
	void (*inject)(struct vcpu *v, enum event_kind kind, uint8_t vector, int has_error,
		       uint32_t error);
	/* 1 if an event of kind can be injected at the next entry: not blocked, none queued yet. */
	int (*can_inject)(struct vcpu *v, enum event_kind kind);
	/*
	 * Priority class 1-15: the guest exits (EXIT_INTERRUPT_WINDOW) as soon
	 * as it could take an interrupt of that class: RFLAGS.IF set, no
	 * interrupt shadow, its TPR below the class. 0 closes the window.
	 */
	void (*interrupt_window)(struct vcpu *v, unsigned priority_class);
};

/* The backend this CPU offers, chosen from CPUID; NULL if neither. */
const struct vcpu_ops *arch_vcpu_ops(void);

/*
 * CPUID, RDMSR, WRMSR, port I/O or VMCALL done for v (hv/exits.c), RIP
 * left at the instruction: 1 if it completed and RIP goes past it, 0 if
 * it faulted (the fault queued for the guest). For a backend's fast path,
 * which knows the instruction's length: vcpu_handle_exit()'s handlers for
 * these exits, without its dispatch and its stepping over the instruction.
 */
int vcpu_instruction_exit(struct vcpu *v, const struct vcpu_exit *e);

/* v's VM exits: only their count by reason is kept, one increment an exit. */
uint64_t vcpu_exits(const struct vcpu *v);

/* Handles one exit of v (hv/exits.c); -1 when v must stop running: halted, or its partition stopped. */
int vcpu_handle_exit(struct vcpu *v, const struct vcpu_exit *e);

#endif
