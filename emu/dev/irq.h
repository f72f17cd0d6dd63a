/*
 * irq.h - interrupt lines between devices and interrupt controllers.
 *
 * A device holds a struct irq for each output line and calls irq_set()
 * with the line level (edge devices pulse 1 then 0). The board connects
 * ISA/PCI lines to global system interrupts: machine_set_gsi() drives the
 * 8259 pair (GSI 0-15) and the IOAPIC pin of the same number, as the ACPI
 * MADT describes (with the usual ISA IRQ0 -> GSI2 override for the PIT).
 */
#ifndef NESTEMU_IRQ_H
#define NESTEMU_IRQ_H

#include <stdint.h>

struct machine;

typedef void (*irq_handler)(void *opaque, int n, int level);

struct irq {
	irq_handler handler;
	void *opaque;
	int n;
};

static inline void irq_set(const struct irq *q, int level)
{
	if (q && q->handler)
		q->handler(q->opaque, q->n, level);
}

static inline void irq_pulse(const struct irq *q)
{
	irq_set(q, 1);
	irq_set(q, 0);
}

/*
 * Board routing (machine.c). ISA devices raise ISA IRQs; the IOAPIC sees
 * ISA IRQ n on GSI n except IRQ 0 (the PIT), which is GSI 2 (the MADT's
 * interrupt source override); the 8259 pair sees ISA IRQs 0-15 (its IR2
 * is the cascade). So:
 *   machine_set_isa_irq(m, irq, level): PIC input irq, IOAPIC pin (irq == 0 ? 2 : irq)
 *   machine_set_gsi(m, gsi, level):     IOAPIC pin gsi; for gsi < 16 also PIC
 *                                       input (gsi == 2 ? 0 : gsi)
 * The IOAPIC receives its pins through m->ioapic_set_irq (NULL until the
 * IOAPIC exists); the PIC through pic_set_irq.
 */
void machine_set_gsi(struct machine *m, int gsi, int level);
void machine_set_isa_irq(struct machine *m, int irq, int level);
/* Statistics ("info irq"): rising edges driven on GSI gsi (0..MACHINE_NGSI-1,
 * ISA IRQ 0 counted as GSI 2) and its last level, from every source. */
#define MACHINE_NGSI 24
void machine_irq_stat(const struct machine *m, int gsi, uint64_t *raised, int *level);
/* An irq that drives GSI n / ISA IRQ n of machine m. */
struct irq machine_gsi(struct machine *m, int n);
struct irq machine_isa_irq(struct machine *m, int n);

#endif
