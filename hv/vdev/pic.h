/*
 * A partition's 8259A pair (Intel 8259A datasheet) wired as on a PC: the
 * master at 0x20-0x21 takes IRQ 0-7, the slave at 0xA0-0xA1 IRQ 8-15 and
 * drives the master's IR2; and the ELCR of the PC's south bridge at
 * 0x4D0-0x4D1 (Intel 82371AB PIIX4 datasheet, "ELCR1/ELCR2"), a bit per
 * IRQ, 1 making it level-triggered (IRQ 0, 1, 2, 8 and 13 are always
 * edge-triggered). The master's INT output goes to vCPU 0's LINT0.
 *
 * Emulated: the ICW1-ICW4 sequence (ICW1's LTIM is ignored, as on the
 * PIIX4: the ELCR says which IRQs are level-triggered), OCW1 (the mask),
 * OCW2 (non-specific and specific EOI, rotation on EOI and in automatic
 * EOI mode, set priority), OCW3 (IRR or ISR read, poll, special mask),
 * automatic EOI, special fully nested mode, priorities with rotation,
 * and the default IR7 (spurious IRQ 7, or 15 on the slave) when a
 * request has gone by the acknowledge. Not emulated: the 8080/8085 mode
 * and buffered mode of ICW4 (the PC's pair runs in 8086 mode whatever is
 * written) and the cascade address of ICW3 (the slave is on IR2).
 *
 * An edge-triggered input latches its rising edge in the IRR until it is
 * acknowledged: a virtual device's pulse has no width (it raises and
 * lowers the line at once), so the datasheet's rule that the request
 * must stay high until the acknowledge could not hold; QEMU and KVM keep
 * it so too. A level-triggered input's IRR follows its line.
 *
 * At reset the pair is as a PC BIOS leaves it: initialised, vectors 0x08
 * and 0x70, every IRQ masked but the cascade, edge-triggered.
 */
#ifndef HV_VDEV_PIC_H
#define HV_VDEV_PIC_H

#include <stdint.h>

#include "bus.h"
#include "lib/spinlock.h"

#define VPIC_PORTS 2 /* at PLATFORM_PIC1_PORT, PLATFORM_PIC2_PORT and PLATFORM_ELCR_PORT each */

struct vpic_chip {
	uint8_t irr, isr, imr;
	uint8_t lines;      /* the inputs' levels: 1 asserted */
	uint8_t elcr;       /* 1: level-triggered */
	uint8_t base;       /* the vector of IR0 (ICW2) */
	uint8_t lowest;     /* the IR of lowest priority: 7 unless rotated */
	uint8_t icw_next;   /* the ICW expected next (2, 3 or 4), 0 once initialised */
	uint8_t icw1;
	uint8_t auto_eoi, rotate_on_auto_eoi, special_nested, special_mask;
	uint8_t read_isr;   /* OCW3: port 0 reads the ISR, else the IRR */
	uint8_t poll;       /* OCW3: the next read is a poll */
};

struct vpic {
	struct spinlock lock;
	struct vpic_chip chip[2]; /* master, slave */
};

/* The model, pure. */
void vpic_reset(struct vpic *pic);
/* IRQ 0-15 asserted (level 1) or not; others are ignored. */
void vpic_set_irq(struct vpic *pic, unsigned irq, int level);
/* The master's INT output: 1 while an interrupt is requested. */
int vpic_output(const struct vpic *pic);
/*
 * The CPU's interrupt acknowledge: the vector it reads, the ISR and IRR
 * of both chips updated as the two INTA pulses update them (8259A
 * datasheet, "Interrupt Sequence"). With no request (one gone by), the
 * default IR7 of the chip that has none: no ISR bit is set on it.
 */
int vpic_intack(struct vpic *pic);
/* A port of the pair or the ELCR, by number (0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1); others read 0xFF. */
uint8_t vpic_read(struct vpic *pic, uint16_t port);
void vpic_write(struct vpic *pic, uint16_t port, uint8_t value);

/*
 * The partition's pair, under its lock. The bus claims: VPIC_PORTS ports
 * each (dev: the partition). When the INT output rises, vCPU 0 is woken
 * to look at it.
 */
struct partition;
extern const struct vdev_ops vpic_master_ops, vpic_slave_ops, vpic_elcr_ops;
void pic_set_irq(struct partition *p, unsigned irq, int level);
/* For vCPU 0's LINT0 in ExtINT mode: the INT output, and the acknowledge's vector. */
int pic_output(struct partition *p);
int pic_intack(struct partition *p);

#endif
