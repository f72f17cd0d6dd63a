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

/* Board routing of a GSI (machine.c): PIC and IOAPIC inputs. */
void machine_set_gsi(struct machine *m, int gsi, int level);
/* An irq that drives GSI n of machine m. */
struct irq machine_gsi(struct machine *m, int n);

#endif
