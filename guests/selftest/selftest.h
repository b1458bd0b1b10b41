/* What the self-test's check files share. */
#ifndef GUESTS_SELFTEST_SELFTEST_H
#define GUESTS_SELFTEST_SELFTEST_H

#include <stdint.h>

/* One result line: SELFTEST <name> PASS|FAIL <detail>. */
void __attribute__((format(printf, 3, 4))) report(const char *name, int ok, const char *f, ...);

/* modes.c: decoded exits from the kernel half and from compatibility-mode segments. */
void check_modes(void);

/* mmio.c: each emulated instruction form above RAM (mapped by map_ram), and the hostile modes. */
void check_mmio(uint64_t top);
/* Runs mode if it is one of mmio.c's hostile modes (mmio-...). */
void hostile_mmio(const char *mode, uint64_t top);

/* selftest.c, for the check files */
uint64_t map_ram(uint64_t top);
void expect_fault(int vector, unsigned length);
int fault_taken(int vector);
void db_count_start(void);
unsigned db_count_stop(void);
void hypercall_exit(uint64_t status);

#endif
