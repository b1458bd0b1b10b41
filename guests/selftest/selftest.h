/* What the self-test's check files share. */
#ifndef GUESTS_SELFTEST_SELFTEST_H
#define GUESTS_SELFTEST_SELFTEST_H

/* One result line: SELFTEST <name> PASS|FAIL <detail>. */
void __attribute__((format(printf, 3, 4))) report(const char *name, int ok, const char *f, ...);

/* modes.c: decoded exits from the kernel half and from compatibility-mode segments. */
void check_modes(void);

#endif
