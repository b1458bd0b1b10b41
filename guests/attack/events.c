/*
 * Attacks on event delivery and on the scheduler: a guest that never
 * yields with interrupts off, on a CPU of its own and on the healthy
 * partition's; an #AC raised by the #AC handler itself; a #DB raised by
 * the delivery of a #DB (the endless loop in the CPU's microcode of
 * CVE-2015-8104, which only intercepting #DB breaks); a #DB delivered
 * onto a stack outside its RAM.
 */
#include <stdint.h>

#include "attack.h"
#include "hypercall.h"

/* ---- never yielding ---------------------------------------------------- */

/* With IF clear no interrupt of its own ends the spin: only the hypervisor's preemption does. */
static void __attribute__((noreturn)) spin_with_interrupts_off(void)
{
	__asm__ volatile("cli");
	spin();
}

/* One vCPU on the CPU it owns (exclusive = yes): nothing else runs there, yet the operator's stop must end it. */
static void never_yield_exclusive(void)
{
	outcome("spinning if=0 vcpus=1");
	spin_with_interrupts_off();
}

/* Both vCPUs on the CPU the healthy partition runs on: each must be preempted at its slice's end. */
static void never_yield_shared(void)
{
	int64_t started = start_vcpu1(spin_with_interrupts_off);

	outcome("spinning if=0 vcpus=2 vcpu1=%lld", (long long)started);
	spin_with_interrupts_off();
}

/* ---- #AC inside the #AC handler ------------------------------------------ */

#define AC_NESTING 32 /* frames of about 48 bytes each on run_at_cpl3's 4 KiB stack */
#define TEXT(x) #x
#define AS_TEXT(x) TEXT(x)
volatile uint32_t ac_nested;
void ac_handler_at_cpl3(void);

/*
 * The #AC handler, in a conforming code segment: it runs at CPL 3 with
 * RFLAGS.AC still set (delivery clears TF, RF, NT and IF, not AC: SDM
 * Vol. 3A, 6.12.1.3), so its own misaligned read faults again, nested,
 * until AC_NESTING; then each level steps its frame's RIP past the
 * 4-byte read (8B 44 24 01) that faulted and returns.
 */
__asm__(".text\n"
	".globl ac_handler_at_cpl3\n"
	"ac_handler_at_cpl3:\n"
	"	lock incl ac_nested(%rip)\n"
	"	cmpl $" AS_TEXT(AC_NESTING) ", ac_nested(%rip)\n"
	"	jae 1f\n"
	"	movl 1(%rsp), %eax\n"
	"1:	addq $4, 8(%rsp)\n"
	"	addq $8, %rsp\n" /* the error code */
	"	iretq\n");

static void ac_nested_handler(void)
{
	ac_nested = 0;
	trap_at_cpl3(VEC_AC, ac_handler_at_cpl3);
	run_at_cpl3(user_misaligned_read);
	install_traps();
	outcome("nested=%u of %u", ac_nested, AC_NESTING);
	hypercall_exit(0);
}

/* ---- #DB during the delivery of #DB --------------------------------------- */

#define DR7_L0 1ull
#define DR7_RW0_WRITE (1ull << 16)
#define DR7_LEN0_8 (2ull << 18) /* 8 bytes (SDM Vol. 3A, 18.2.4) */

static uint8_t db_stack[4096] __attribute__((aligned(16)));

static void watch_qword(uint64_t addr)
{
	__asm__ volatile("mov %0, %%dr0; mov %1, %%dr7" : : "r"(addr), "r"(DR7_L0 | DR7_RW0_WRITE | DR7_LEN0_8));
}

/*
 * #DB on a stack of its own (IST1), with a data breakpoint on the slot
 * where delivery pushes SS: our write there is a #DB, whose delivery
 * writes the slot again, a #DB before the handler's first instruction,
 * and so on: no instruction of ours ever runs again. The hypervisor's
 * #DB intercept keeps it from holding the host CPU; the operator stops it.
 * A CPU that does not check delivery's pushes against the breakpoints
 * (Bochs) runs the handler once: then it says so and exits.
 */
static void db_in_delivery(void)
{
	uint64_t ss_slot = (uint64_t)(uintptr_t)(db_stack + sizeof(db_stack)) - 8;

	trap_on_stack(VEC_DB, ss_slot + 8);
	outcome("armed dr0=0x%llx", (unsigned long long)ss_slot);
	db_count_start();
	watch_qword(ss_slot);
	*(volatile uint64_t *)(uintptr_t)ss_slot = 0;
	__asm__ volatile("mov %0, %%dr7" : : "r"(0ull));
	outcome("no_loop traps=%u", db_count_stop());
	install_traps();
	hypercall_exit(0);
}

/* ---- #DB onto a stack outside its RAM ------------------------------------- */

/*
 * #DB's stack (IST1) 1 MiB past the top of its RAM, where its own page
 * tables (the boot protocol's identity map of 4 GiB) map nothing of its
 * RAM; then a single step. Delivery writes there: the hypervisor must
 * stop it with the reason, neither write nor emulate anything.
 */
static void db_bad_stack(void)
{
	uint64_t top = ram_end + MIB;

	trap_on_stack(VEC_DB, top);
	outcome("stack=0x%llx", (unsigned long long)top);
	__asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq; nop" : : : "memory", "cc");
	outcome("escaped");
	hypercall_exit(1);
}

const struct attack event_attacks[] = {
	{ "never-yield-exclusive", never_yield_exclusive },
	{ "never-yield-shared", never_yield_shared },
	{ "ac-nested-handler", ac_nested_handler },
	{ "db-in-delivery", db_in_delivery },
	{ "db-bad-stack", db_bad_stack },
	{ 0, 0 },
};
