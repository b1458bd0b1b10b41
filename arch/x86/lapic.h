/* The local APIC: IPIs, EOI and the scheduler's timer (arch/x86/lapic.c). */
#ifndef ARCH_X86_LAPIC_H
#define ARCH_X86_LAPIC_H

#include <stdint.h>

/* The host's interrupt vectors: above every exception and below nothing else of ours. */
#define VEC_TIMER 0xf0
#define VEC_KICK 0xf1
#define VEC_DISK 0xf2 /* host disk controllers' MSI and MSI-X messages (drivers/pci_msi.h) */
#define VEC_CONSOLE 0xf3 /* the console UART's, through the I/O APIC (host_ioapic.c) */
#define VEC_SPURIOUS 0xff
#define HOST_VECTORS { VEC_TIMER, VEC_KICK, VEC_DISK, VEC_CONSOLE, VEC_SPURIOUS }
#define HOST_VECTOR_COUNT 5

uint32_t lapic_id(void);
void lapic_send_ipi(uint32_t apic_id, uint32_t icr);
void lapic_eoi(void);
/* A kick to the calling CPU itself: taken when it next opens interrupts (or ends a guest's run). */
void lapic_kick_self(void);
/* Picks the timer mode (and calibrates one-shot mode) once, on the boot CPU. */
void lapic_timer_init(void);
/* Enables the calling CPU's APIC with our spurious vector and its timer unarmed. */
void lapic_cpu_init(void);
/* The console UART's interrupt came: its handler runs (host_ioapic.c). */
void host_irq_console(void);

#endif
