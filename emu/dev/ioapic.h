/*
 * ioapic.h - the I/O APIC (82093AA-style, version 0x20, 24 pins) at
 * 0xFEC00000, delivering to the local APICs over the APIC bus.
 *
 * Pin n is GSI n (the board's machine_set_gsi drives it next to the 8259
 * for GSIs 0-15). Registers: IOREGSEL at +0x00, IOWIN at +0x10, and the
 * EOI register at +0x40 (version 0x20); inside: ID (0x00), version
 * (0x01: max redirection entry 23 << 16 | 0x20), arbitration (0x02) and
 * the redirection table at 0x10 + 2n (low) / 0x11 + 2n (high).
 */
#ifndef NESTEMU_DEV_IOAPIC_H
#define NESTEMU_DEV_IOAPIC_H

#include <stddef.h>
#include <stdint.h>

struct machine;
struct lapic_bus;
struct ioapic;

#define IOAPIC_BASE 0xfec00000ull
#define IOAPIC_PINS 24
#define IOAPIC_VERSION 0x20
#define IOAPIC_ID 0	/* the MADT's IOAPIC ID (the LAPICs use 0..ncpus-1; SeaBIOS uses ncpus) */

/* Maps the registers at base (0 = IOAPIC_BASE); NULL with err set on failure. */
struct ioapic *ioapic_create(struct machine *m, struct lapic_bus *bus, uint64_t base,
			     char *err, size_t errlen);
void ioapic_destroy(struct ioapic *s);
void ioapic_reset(struct ioapic *s);

/* Input pin level (active high as seen at the pin; polarity applies). */
void ioapic_set_irq(struct ioapic *s, int pin, int level);
/* A level-triggered interrupt with this vector was EOI'd by a LAPIC:
 * clears remote IRR of the matching entries (and re-delivers if the pin
 * is still asserted). The LAPIC bus's EOI hook. */
void ioapic_eoi(void *opaque, int vector);

/* Register access through IOREGSEL/IOWIN (tests, monitor). */
uint32_t ioapic_reg_read(struct ioapic *s, uint8_t reg);
void ioapic_reg_write(struct ioapic *s, uint8_t reg, uint32_t value);
/* Input pin levels as seen at the pins, bit n = pin n (monitor). */
uint32_t ioapic_pin_levels(const struct ioapic *s);
/* MMIO handlers, also usable directly by tests. */
uint64_t ioapic_mmio_read(void *opaque, uint64_t offset, unsigned size);
void ioapic_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size);

#endif
