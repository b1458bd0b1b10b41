/*
 * What a driver under test gets for arch/x86/cpu.h (its build puts this
 * directory first with -iquote): port I/O as functions the test defines,
 * so that its fake device answers them.
 */
#ifndef TESTS_UNIT_PORT_IO_CPU_H
#define TESTS_UNIT_PORT_IO_CPU_H

#include <stdint.h>

uint8_t inb(uint16_t port);
uint16_t inw(uint16_t port);
void outb(uint16_t port, uint8_t v);
void outl(uint16_t port, uint32_t v);

#endif
