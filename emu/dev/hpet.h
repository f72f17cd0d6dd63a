/*
 * hpet.h - High Precision Event Timer (IA-PC HPET specification 1.0a)
 * at 0xFED00000: a 64-bit main counter at 100 MHz (period 10 ns =
 * 10,000,000 fs, as QEMU's) and three comparators.
 *
 * Interrupts leave through one irq handler given at creation, called with
 * n = the line number in machine_set_gsi's numbering: with legacy
 * replacement (GEN_CONF.LEG_RT_CNF) timer 0 drives ISA IRQ 0 (the 8259's
 * IRQ0 and, through the MADT override, IOAPIC pin 2) and timer 1 ISA
 * IRQ 8; otherwise timer n drives the IOAPIC pin in Tn_INT_ROUTE_CNF,
 * one of HPET_ROUTE_CAP's (pins 20-23, which no ISA device uses). While
 * legacy replacement is on the board must ignore the 8254's IRQ 0
 * (hpet_legacy_replacement).
 */
#ifndef NESTEMU_DEV_HPET_H
#define NESTEMU_DEV_HPET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/irq.h"

struct machine;
struct hpet;

#define HPET_BASE 0xfed00000ull
#define HPET_SIZE 0x400
#define HPET_TIMERS 3
#define HPET_PERIOD_FS 10000000ull	/* counter tick: 10 ns */
#define HPET_ROUTE_CAP 0x00f00000u	/* Tn_INT_ROUTE_CAP: IOAPIC pins 20-23 */
/* General capabilities (low 32 bits): vendor 0x8086, LEG_RT_CAP,
 * COUNT_SIZE_CAP (64-bit), NUM_TIM_CAP = timers - 1, revision 1. */
#define HPET_CAP_LO (0x8086u << 16 | 1u << 15 | 1u << 13 | (HPET_TIMERS - 1u) << 8 | 1u)

/* Maps the registers at HPET_BASE; irq.handler(irq.opaque, line, level). */
struct hpet *hpet_create(struct machine *m, struct irq out, char *err, size_t errlen);
void hpet_destroy(struct hpet *s);
void hpet_reset(struct hpet *s);
bool hpet_legacy_replacement(const struct hpet *s);

/* MMIO handlers (offset within the block), also used by tests. */
uint64_t hpet_mmio_read(void *opaque, uint64_t offset, unsigned size);
void hpet_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size);

#endif
