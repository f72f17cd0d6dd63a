/*
 * pic.h - the two cascaded 8259A programmable interrupt controllers
 * (master at 0x20/0x21, slave at 0xA0/0xA1 on master IRQ 2) and the
 * PIIX/ICH edge/level control registers (ELCR) at 0x4D0/0x4D1.
 *
 * Inputs are ISA IRQs 0-15 (pic_set_irq). The master's INTR output is
 * reported through a struct irq (pic_connect_output): by default the
 * board drives CPU 0's interrupt line with it; the LAPIC takes it over as
 * LINT0 (ExtINT virtual wire). Whoever delivers the interrupt calls
 * pic_intr_ack, the INTA cycle, for the vector.
 */
#ifndef NESTEMU_DEV_PIC_H
#define NESTEMU_DEV_PIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/irq.h"

struct machine;
struct pic;

/* Claims 0x20-0x21, 0xA0-0xA1 and 0x4D0-0x4D1; NULL with err set on failure. */
struct pic *pic_create(struct machine *m, char *err, size_t errlen);
void pic_destroy(struct pic *p);
void pic_reset(struct pic *p);

/* Drives ISA IRQ 0-15 (level 0/1; edge-triggered inputs latch rising edges). */
void pic_set_irq(struct pic *p, int irq, int level);
/* The master's INTR output now. */
bool pic_intr_output(struct pic *p);
/* INTA: the vector of the highest-priority request (updates ISR/IRR), or
 * the spurious IRQ 7 (or 15) vector when the request went away. */
int pic_intr_ack(struct pic *p);
/* Where INTR goes; called with the new level whenever it changes. */
void pic_connect_output(struct pic *p, struct irq out);

/* Tests and the monitor: 0 master, 1 slave. */
struct pic_regs {
	uint8_t irr, isr, imr, elcr, vector_base;
};
void pic_get_regs(const struct pic *p, int chip, struct pic_regs *r);

#endif
