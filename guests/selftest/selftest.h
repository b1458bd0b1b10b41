/* What the self-test's check files share. */
#ifndef GUESTS_SELFTEST_SELFTEST_H
#define GUESTS_SELFTEST_SELFTEST_H

#include <stdint.h>

#include "x86.h"

#define MIB (1ull << 20)

/* Text on the UART. */
void __attribute__((format(printf, 1, 2))) print(const char *f, ...);

/* echo.c: mode=echo, lines typed on the UART printed back, through its receive interrupt. */
#define ECHO_VECTOR 0x5f
void __attribute__((noreturn)) echo(void);
void echo_interrupt(void);

/* clock.c: mode=clock, the guest's clocks on the UART every half second of its time. */
#define CLOCK_VECTOR 0x5e
void __attribute__((noreturn)) clock_report(void);
void clock_interrupt(void);

/* One result line: SELFTEST <name> PASS|FAIL <detail>. */
void __attribute__((format(printf, 3, 4))) report(const char *name, int ok, const char *f, ...);

/* modes.c: decoded exits from the kernel half and from compatibility-mode segments. */
void check_modes(void);

/* mmio.c: each emulated instruction form above RAM (mapped by map_ram), and the hostile modes. */
void check_mmio(uint64_t top);
/* Runs mode if it is one of mmio.c's hostile modes (mmio-...). */
void hostile_mmio(const char *mode, uint64_t top);

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

/* selftest.c, for the check files */
uint64_t map_ram(uint64_t top);
/* Calls fn on each RAM range of the boot parameters' e820 map, from `above` on; returns their bytes. */
uint64_t each_ram_range(const uint8_t *bp, uint64_t above, void (*fn)(uint64_t start, uint64_t end, void *arg),
			void *arg);
void expect_fault(int vector, unsigned length);
int fault_taken(int vector);
void db_count_start(void);
unsigned db_count_stop(void);
void hypercall_exit(uint64_t status);
/* The hypervisor's own wake-up interrupt after ticks of TSC: what ends a HLT whatever else comes. */
void wake_after(uint64_t ticks);

#endif
