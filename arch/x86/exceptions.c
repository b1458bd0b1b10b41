/*
 * A CPU exception in the hypervisor itself is a bug: report everything
 * that helps find it on the console, then stop this CPU. Addresses are
 * also given as hv.elf offsets for `addr2line -e build/hv.elf`.
 */
#include "exceptions.h"

#include "arch.h"
#include "cpu.h"
#include "log.h"

#define BACKTRACE_DEPTH 16

static uint64_t image_base, image_size;
static volatile int reporting;

static const char *const names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization exception",
	"#CP control protection",
};

void exceptions_set_image(uint64_t base, uint64_t size)
{
	image_base = base;
	image_size = size;
}

static int in_image(uint64_t addr)
{
	return addr >= image_base && addr - image_base < image_size;
}

static void report_address(const char *what, uint64_t addr)
{
	if (in_image(addr))
		log_error("  %s 0x%016llx (hv.elf+0x%llx)", what, (unsigned long long)addr,
			  (unsigned long long)(addr - image_base));
	else
		log_error("  %s 0x%016llx", what, (unsigned long long)addr);
}

/* Frame pointers are kept (-fno-omit-frame-pointer); stacks live in the image. */
static void backtrace(uint64_t rbp)
{
	int depth;

	for (depth = 0; depth < BACKTRACE_DEPTH; depth++) {
		const uint64_t *frame = (const uint64_t *)(uintptr_t)rbp;
		if (!rbp || (rbp & 7) || !in_image(rbp) || !in_image(rbp + 15))
			return;
		report_address("called from", frame[1]);
		if (frame[0] <= rbp)
			return; /* stacks grow down: a saved frame below us is garbage */
		rbp = frame[0];
	}
}

static void report_registers(const struct exception_frame *f)
{
	log_error("  rax %016llx rbx %016llx rcx %016llx rdx %016llx", (unsigned long long)f->rax,
		  (unsigned long long)f->rbx, (unsigned long long)f->rcx, (unsigned long long)f->rdx);
	log_error("  rsi %016llx rdi %016llx rbp %016llx rsp %016llx", (unsigned long long)f->rsi,
		  (unsigned long long)f->rdi, (unsigned long long)f->rbp, (unsigned long long)f->rsp);
	log_error("  r8  %016llx r9  %016llx r10 %016llx r11 %016llx", (unsigned long long)f->r8,
		  (unsigned long long)f->r9, (unsigned long long)f->r10, (unsigned long long)f->r11);
	log_error("  r12 %016llx r13 %016llx r14 %016llx r15 %016llx", (unsigned long long)f->r12,
		  (unsigned long long)f->r13, (unsigned long long)f->r14, (unsigned long long)f->r15);
	log_error("  cs %04llx ss %04llx rflags %08llx cr0 %llx cr2 %llx cr3 %llx cr4 %llx",
		  (unsigned long long)f->cs, (unsigned long long)f->ss, (unsigned long long)f->rflags,
		  (unsigned long long)read_cr0(), (unsigned long long)read_cr2(),
		  (unsigned long long)read_cr3(), (unsigned long long)read_cr4());
}

void exception_dispatch(struct exception_frame *f)
{
	const char *name = f->vector < 32 && names[f->vector] ? names[f->vector] : "reserved";

	if (reporting++)
		arch_halt(); /* faulted while reporting: say nothing more */
	log_error("CPU exception %s (vector %llu), error code 0x%llx; this CPU stops", name,
		  (unsigned long long)f->vector, (unsigned long long)f->error_code);
	report_address("rip", f->rip);
	report_registers(f);
	backtrace(f->rbp);
	log_flush(); /* this CPU will not send it later */
	arch_halt();
}
