/*
 * ioapic.c - I/O APIC (82093AA datasheet; Intel ICH I/O APIC register
 * description for version 0x20 and its EOI register).
 *
 * Each redirection entry: vector 7:0, delivery mode 10:8, destination
 * mode 11, delivery status 12 (RO), polarity 13, remote IRR 14 (RO),
 * trigger mode 15, mask 16, destination 63:56.
 *
 * Edge-triggered pins deliver on an asserting edge (after polarity);
 * a masked pin's edge is lost. Level-triggered pins deliver while
 * asserted and unmasked with remote IRR clear; delivery sets remote IRR,
 * which a LAPIC EOI of the same vector (broadcast or the EOI register)
 * clears, re-delivering when the pin is still asserted. Unmasking an
 * asserted level pin delivers too.
 */
#include "ioapic.h"

#include <stdlib.h>

#include "lapic.h"
#include "../machine.h"
#include "../state.h"

#define RTE_VECTOR 0xffull
#define RTE_DELMODE (7ull << 8)
#define RTE_LOGICAL (1ull << 11)
#define RTE_DELIVS (1ull << 12)
#define RTE_POLARITY_LOW (1ull << 13)
#define RTE_REMOTE_IRR (1ull << 14)
#define RTE_LEVEL (1ull << 15)
#define RTE_MASKED (1ull << 16)
#define RTE_RO (RTE_DELIVS | RTE_REMOTE_IRR)
#define RTE_WRITABLE (0xff00000000000000ull | 0x1ffffull)

struct ioapic {
	struct machine *m;
	struct lapic_bus *bus;
	uint64_t base;
	uint32_t regsel;
	uint32_t id;
	uint64_t rte[IOAPIC_PINS];
	uint32_t pins;		/* input levels as seen at the pin */
};

static const struct state_field ioapic_fields[] = {
	STATE_FIELD(struct ioapic, regsel, SF_HEX), STATE_FIELD(struct ioapic, id, SF_HEX),
	STATE_ARRAY(struct ioapic, rte, SF_HEX), STATE_FIELD(struct ioapic, pins, SF_HEX),
	STATE_END,
};

static bool asserted(const struct ioapic *s, int pin)
{
	bool level = (s->pins >> pin) & 1;
	return (s->rte[pin] & RTE_POLARITY_LOW) ? !level : level;
}

static void deliver(struct ioapic *s, int pin)
{
	uint64_t e = s->rte[pin];
	struct apic_msg msg = {
		.vector = (uint8_t)(e & RTE_VECTOR),
		.mode = (uint8_t)((e & RTE_DELMODE) >> 8),
		.logical = (e & RTE_LOGICAL) != 0,
		.level = (e & RTE_LEVEL) != 0,
		.assert = true,
		.dest = (uint32_t)(e >> 56),
	};
	if (msg.level)
		s->rte[pin] |= RTE_REMOTE_IRR;
	if (s->bus)
		lapic_bus_deliver(s->bus, &msg);
}

/* Level pins: deliver when asserted, unmasked and remote IRR clear. */
static void service(struct ioapic *s, int pin)
{
	uint64_t e = s->rte[pin];
	if ((e & RTE_LEVEL) && !(e & (RTE_MASKED | RTE_REMOTE_IRR)) && asserted(s, pin))
		deliver(s, pin);
}

void ioapic_set_irq(struct ioapic *s, int pin, int level)
{
	bool was, now;
	if (s == NULL || pin < 0 || pin >= IOAPIC_PINS)
		return;
	was = asserted(s, pin);
	if (level)
		s->pins |= 1u << pin;
	else
		s->pins &= ~(1u << pin);
	now = asserted(s, pin);
	if (s->rte[pin] & RTE_LEVEL)
		service(s, pin);
	else if (now && !was && !(s->rte[pin] & RTE_MASKED))
		deliver(s, pin);
}

void ioapic_eoi(void *opaque, int vector)
{
	struct ioapic *s = opaque;
	for (int pin = 0; pin < IOAPIC_PINS; pin++) {
		if ((s->rte[pin] & RTE_VECTOR) != (uint64_t)vector || !(s->rte[pin] & RTE_REMOTE_IRR))
			continue;
		s->rte[pin] &= ~RTE_REMOTE_IRR;
		service(s, pin);
	}
}

uint32_t ioapic_reg_read(struct ioapic *s, uint8_t reg)
{
	switch (reg) {
	case 0x00: return s->id << 24;
	case 0x01: return (IOAPIC_PINS - 1) << 16 | IOAPIC_VERSION;
	case 0x02: return s->id << 24;
	default:
		if (reg >= 0x10 && reg < 0x10 + 2 * IOAPIC_PINS) {
			uint64_t e = s->rte[(reg - 0x10) / 2];
			return (reg & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
		}
		return 0xffffffffu;
	}
}

uint32_t ioapic_pin_levels(const struct ioapic *s)
{
	return s->pins;
}

void ioapic_reg_write(struct ioapic *s, uint8_t reg, uint32_t v)
{
	if (reg == 0x00) {
		s->id = (v >> 24) & 0xf;
		return;
	}
	if (reg >= 0x10 && reg < 0x10 + 2 * IOAPIC_PINS) {
		int pin = (reg - 0x10) / 2;
		uint64_t e = s->rte[pin];
		uint64_t nv = (reg & 1) ? (e & 0xffffffffull) | (uint64_t)v << 32
					: (e & ~0xffffffffull) | v;
		nv = (nv & RTE_WRITABLE & ~RTE_RO) | (e & RTE_RO);
		if (!(nv & RTE_LEVEL))
			nv &= ~RTE_REMOTE_IRR;	/* edge mode has no remote IRR */
		s->rte[pin] = nv;
		service(s, pin);
	}
}

uint64_t ioapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct ioapic *s = opaque;
	switch (offset & ~3ull) {
	case 0x00: return s->regsel;
	case 0x10: return ioapic_reg_read(s, (uint8_t)s->regsel);
	default: return 0;
	}
}

void ioapic_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct ioapic *s = opaque;
	switch (offset & ~3ull) {
	case 0x00:
		s->regsel = (uint32_t)value & 0xff;
		break;
	case 0x10:
		ioapic_reg_write(s, (uint8_t)s->regsel, (uint32_t)value);
		break;
	case 0x40:	/* EOI register (version 0x20) */
		ioapic_eoi(s, (int)(value & 0xff));
		break;
	default:
		break;
	}
}

void ioapic_reset(struct ioapic *s)
{
	s->regsel = 0;
	s->id = IOAPIC_ID;
	for (int i = 0; i < IOAPIC_PINS; i++)
		s->rte[i] = RTE_MASKED;
}

struct ioapic *ioapic_create(struct machine *m, struct lapic_bus *bus, uint64_t base,
			     char *err, size_t errlen)
{
	struct ioapic *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory creating the IOAPIC");
		return NULL;
	}
	s->m = m;
	s->bus = bus;
	s->base = base ? base : IOAPIC_BASE;
	if (memmap_add_mmio(&m->mem, s->base, 0x1000, ioapic_mmio_read, ioapic_mmio_write, s,
			    "ioapic", 10) < 0) {
		snprintf(err, errlen, "cannot map the IOAPIC at 0x%llx", (unsigned long long)s->base);
		free(s);
		return NULL;
	}
	ioapic_reset(s);
	if (machine_register_state(m, &(struct state_section){
		    .name = "ioapic", .version = 1, .fields = ioapic_fields, .base = s }) < 0) {
		snprintf(err, errlen, "out of memory registering the IOAPIC state");
		free(s);
		return NULL;
	}
	return s;
}

void ioapic_destroy(struct ioapic *s)
{
	free(s);
}
