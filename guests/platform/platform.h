/* What the platform test kernel's check files share. */
#ifndef GUESTS_PLATFORM_PLATFORM_H
#define GUESTS_PLATFORM_PLATFORM_H

#include <stdint.h>

#include "x86.h"

#define MAX_CPUS 16
#define MAX_RAM_RANGES 16
#define PM_TIMER_HZ 3579545ull   /* ACPI 6.5, 4.8.3.3 */
#define PIT_HZ 1193182ull        /* 8254 input clock */
#define MSR_APIC_BASE 0x1b
#define APIC_BASE_X2APIC (1ull << 10)

/* Vectors. */
#define VEC_PIC_BASE 0x20        /* IRQ 0-15 after the PIC remap */
#define VEC_TIMER 0x40
#define VEC_TO_AP 0x41
#define VEC_TO_BSP 0x42
#define VEC_STORM 0x43
#define VEC_PIT 0x50
#define VEC_RTC 0x51
#define VEC_MSI 0x52
#define VEC_SPURIOUS 0xff

/* What discovery found: ACPI, Multiboot, the rates. */
struct platform {
	/* Multiboot */
	char cmdline[256];
	struct { uint64_t base, len; uint32_t type; } ram[MAX_RAM_RANGES];
	unsigned ram_count;
	/* ACPI */
	uint64_t rsdp, fadt, madt, mcfg, dsdt, facs;
	uint64_t lapic_addr, ioapic_addr;
	uint32_t ioapic_gsi_base;
	unsigned cpus;                 /* enabled local APICs in the MADT */
	uint32_t apic_id[MAX_CPUS];
	uint32_t irq_gsi[16];          /* ISA IRQ -> GSI, overrides applied */
	uint16_t irq_flags[16];        /* MPS INTI flags of the override, 0 if none */
	uint16_t pm_timer, pm1a_evt, pm1a_cnt, pm1b_cnt, smi_cmd, sci;
	uint8_t acpi_enable, pm_timer_32, century;
	int reset_reg_ok;              /* FADT RESET_REG_SUP with a register we can write */
	uint8_t reset_space, reset_value;
	uint64_t reset_addr;
	uint64_t ecam;
	uint8_t ecam_bus_start, ecam_bus_end;
	/* Rates */
	uint64_t tsc_hz, bus_hz;
	int bus_from_cpuid;
};

extern struct platform pf;

/* main.c */
void __attribute__((format(printf, 3, 4))) report(const char *name, int result, const char *f, ...);
#define PASS 1
#define FAIL 0
#define SKIP 2
void __attribute__((format(printf, 1, 2))) print(const char *f, ...);
void finish(void) __attribute__((noreturn));
/* Interrupts taken per vector (all vCPUs), and the TSC of the first STAMPS of the watched vector. */
#define STAMPS 64
extern volatile uint32_t irq_count[256];
extern volatile uint64_t irq_stamp[STAMPS];
void watch_vector(unsigned vector);
/* Called for vector v before its EOI (e.g. to read the RTC's register C). */
void set_irq_hook(unsigned vector, void (*hook)(void));
/* Lets interrupts in until irq_count[vector] reaches n or ticks of TSC pass; 1 if it did. */
int wait_irqs(unsigned vector, uint32_t n, uint64_t ticks);
/*
 * The typical period of n interrupts at vector, in TSC ticks (0 if they
 * did not come), measured again up to ATTEMPTS times while it is more
 * than tolerance (per mille) off want; *attempts says how many it took.
 * Typical (main.c says how), because emulators on a busy host deliver
 * some ticks late or not at all: the rate a device was programmed with
 * shows in the typical gap; a wrong rate is wrong every time.
 */
#define ATTEMPTS 3
#define RATE_TOLERANCE 20 /* per mille: 2 % */
uint64_t typical_gap(unsigned vector, uint32_t n, uint64_t want, unsigned tolerance, unsigned *attempts);
/* Sorts v; its middle value. */
uint64_t median(uint64_t *v, unsigned n);
void delay(uint64_t ticks);
uint64_t ms_ticks(uint64_t ms);
/* |measured - expected| in thousandths of expected; ~0u when measured is 0. */
unsigned per_mille_off(uint64_t measured, uint64_t expected);

/* acpi.c */
void acpi_discover(void);
void check_acpi(void);
void acpi_poweroff(void);
/* Waits for the ACPI power button, then powers off as acpi_poweroff() does. */
void acpi_power_button(void);
void reset_by(const char *how);

/* timing.c */
uint32_t pm_timer_read(void);
void measure_rates(void);
void check_tsc_rate(void);
void check_pit_calibration(void);
void check_rtc_time(void);
uint8_t rtc_read(uint8_t reg);
void rtc_write(uint8_t reg, uint8_t value);

/* lapic.c */
int in_x2apic(void);
uint32_t lapic_read(unsigned offset);
void lapic_write(unsigned offset, uint32_t value);
void lapic_eoi(void);
uint32_t lapic_id(void);
void send_ipi(uint32_t dest, uint32_t command);
void lapic_enable(void);
void check_lapic_timers(void);
#define APIC_LVT_LINT0 0x350
#define ICR_FIXED 0x0000
#define ICR_INIT 0x0500
#define ICR_STARTUP 0x0600
#define ICR_ASSERT 0x4000
#define ICR_SELF (1u << 18)
#define ICR_ALL (2u << 18)
#define ICR_OTHERS (3u << 18)
#define LVT_MASKED (1u << 16)

/* smp.c */
void check_smp(void);
void ipi_storm(void);

/* irq.c */
void pic_init(void);
void ioapic_route(unsigned irq, unsigned vector);
void ioapic_mask(unsigned irq);
void check_ioapic_pit(void);
void check_ioapic_rtc(void);
void check_pic(void);
void pit_periodic(unsigned divisor);
uint32_t ioapic_read(unsigned reg);
void ioapic_write(unsigned reg, uint32_t value);

/* pci.c */
void check_pci(void);

/* fwcfg.c */
void check_fw_cfg(void);

/* mmio.c */
void check_mmio(void);

/* entry.asm */
extern uint32_t ap_reached_protected;
extern uint64_t ap_stack;
extern const uint8_t trampoline[], trampoline_end[], trampoline_cs[];
void call32(uint32_t fn, uint32_t arg);

#endif
