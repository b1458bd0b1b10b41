/* What the self-test's check files share; the runtime is the test guests' own (guests/common/guest.h). */
#ifndef GUESTS_SELFTEST_SELFTEST_H
#define GUESTS_SELFTEST_SELFTEST_H

#include <stdint.h>

#include "common/guest.h"

/* The platform's I/O APIC (hv/vdev/ioapic.c): its register window reads and writes the selected register. */
#define IOAPIC_BASE 0xfec00000ull
#define IOAPIC_WINDOW 0x10

/* echo.c: mode=echo, lines typed on the UART printed back, through its receive interrupt. */
#define ECHO_VECTOR 0x5f
void __attribute__((noreturn)) echo(void);
void echo_interrupt(void);

/* clock.c: mode=clock, the guest's clocks on the UART every half second of its time. */
#define CLOCK_VECTOR 0x5e
void __attribute__((noreturn)) clock_report(void);
void clock_interrupt(void);

/* modes.c: decoded exits from the kernel half and from compatibility-mode segments. */
void check_modes(void);

/* apic.c: the local APIC's timer in each mode and view, priorities, IPIs to vCPU 1 (started by then). */
void check_apic(void);
/* apic.c: what the trap handler does with vectors from APIC_VECTOR_FIRST on (on any vCPU). */
#define APIC_VECTOR_FIRST 0x30
void apic_interrupt(uint64_t vector);
/* apic.c: vCPU 1's APIC, software-enabled to take IPIs. */
void apic_ap_init(void);
/* apic.c: TSC ticks of `rounds` of one thing done to the local APIC (mode=bench). */
enum apic_bench { BENCH_XAPIC_EOI, BENCH_X2APIC_EOI, BENCH_APIC_TIMER };
uint64_t apic_bench(enum apic_bench what, unsigned rounds);

/* isolation.c: mode=mark fills RAM with a mark; mode=scan searches RAM for it and the hypervisor's string. */
void isolation_mark(const uint8_t *bp, uint64_t top);
void isolation_scan(const uint8_t *bp, uint64_t top);

#endif
