/*
 * pic.c - two cascaded 8259A PICs and the ELCR (Intel 8259A data sheet;
 * PIIX4 / ICH data sheets for the ELCR).
 *
 * Each chip keeps IRR, ISR, IMR and the priority rotation (`prio`: the IR
 * level with the highest priority). A request is presented on INTR when
 * the highest-priority unmasked IRR bit beats the highest-priority ISR
 * bit (in special mask mode, ISR bits that are masked do not count; in
 * special fully nested mode the master's IR2 in service does not block
 * further slave requests). The slave's INTR is the master's IR2 input.
 *
 * Triggering: an input is level-triggered when its ELCR bit is set or
 * ICW1.LTIM is set; the IRR bit then follows the line. Edge-triggered
 * inputs latch a rising edge in IRR until INTA (QEMU behaves the same:
 * a request that drops before INTA is still delivered unless the whole
 * IRR bit was cleared). INTA with nothing to deliver returns the chip's
 * IR7 vector without setting ISR (the spurious interrupt). ELCR masks:
 * IRQ 0, 1, 2, 8 and 13 are always edge (PIIX: 0xF8 / 0xDE).
 *
 * Commands: ICW1-ICW4 (ICW3 is recorded; the cascade is fixed at IR2),
 * OCW1 (IMR), OCW2 (EOI, specific EOI, rotations, set priority), OCW3
 * (read IRR/ISR, poll, special mask mode). Auto-EOI and rotate in
 * auto-EOI mode work; buffered mode bits are recorded only.
 */
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "state.h"
#include "dev/pic.h"

struct pic_chip {
	uint8_t irr, isr, imr;
	uint8_t line;		/* input line levels (edge detection) */
	uint8_t prio;		/* IR level with the highest priority */
	uint8_t base;		/* ICW2 vector base */
	uint8_t icw3;
	uint8_t init;		/* next ICW expected: 0 none, 2, 3, 4 */
	bool icw4_needed, single, ltim;
	bool aeoi, rotate_aeoi, sfnm;
	bool read_isr, poll, smm;
	uint8_t elcr, elcr_mask;
};

struct pic {
	struct machine *m;
	struct pic_chip c[2];	/* 0 master, 1 slave */
	struct irq out;
	bool out_level;
};

/* Priority (0 highest) of the best set bit in mask, or 8 for none. */
static int best_priority(const struct pic_chip *c, uint8_t mask)
{
	for (int p = 0; p < 8; p++)
		if (mask & (1u << ((p + c->prio) & 7)))
			return p;
	return 8;
}

/* The IR level the chip would present on INTR, or -1. */
static int chip_request(const struct pic_chip *c, bool master)
{
	int req = best_priority(c, c->irr & ~c->imr), cur;
	uint8_t in_service = c->isr;

	if (req == 8)
		return -1;
	if (c->smm)
		in_service &= ~c->imr;
	if (master && c->sfnm)
		in_service &= ~(1u << 2);
	cur = best_priority(c, in_service);
	return req < cur ? (req + c->prio) & 7 : -1;
}

static bool level_mode(const struct pic_chip *c, int irq)
{
	return c->ltim || (c->elcr & (1u << irq));
}

static void chip_input(struct pic_chip *c, int irq, int level)
{
	uint8_t bit = (uint8_t)(1u << irq);

	if (level_mode(c, irq)) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= (uint8_t)~bit;
	} else if (level && !(c->line & bit)) {
		c->irr |= bit;
	}
	if (level)
		c->line |= bit;
	else
		c->line &= (uint8_t)~bit;
}

/* Propagates the slave's output to IR2 and the master's to INTR. */
static void update(struct pic *p)
{
	bool level;

	chip_input(&p->c[0], 2, chip_request(&p->c[1], false) >= 0);
	level = chip_request(&p->c[0], true) >= 0;
	if (level != p->out_level) {
		p->out_level = level;
		irq_set(&p->out, level);
	}
}

void pic_set_irq(struct pic *p, int irq, int level)
{
	if (irq < 0 || irq > 15 || irq == 2)
		return;		/* IR2 is the cascade input */
	chip_input(&p->c[irq >> 3], irq & 7, level != 0);
	update(p);
}

bool pic_intr_output(struct pic *p)
{
	return p->out_level;
}

void pic_connect_output(struct pic *p, struct irq out)
{
	p->out = out;
	irq_set(&p->out, p->out_level);
}

/* The INTA cycle on one chip for level irq. */
static void chip_ack(struct pic_chip *c, int irq)
{
	uint8_t bit = (uint8_t)(1u << irq);

	if (c->aeoi) {
		if (c->rotate_aeoi)
			c->prio = (uint8_t)((irq + 1) & 7);
	} else {
		c->isr |= bit;
	}
	if (!level_mode(c, irq))
		c->irr &= (uint8_t)~bit;
}

int pic_intr_ack(struct pic *p)
{
	struct pic_chip *mc = &p->c[0], *sc = &p->c[1];
	int irq = chip_request(mc, true), vec;

	if (irq < 0) {
		vec = mc->base | 7;		/* spurious IRQ 7 */
	} else if (irq == 2 && !mc->single) {
		int sirq = chip_request(sc, false);
		chip_ack(mc, 2);
		if (sirq < 0) {
			vec = sc->base | 7;	/* spurious IRQ 15 */
		} else {
			chip_ack(sc, sirq);
			vec = sc->base | sirq;
		}
	} else {
		chip_ack(mc, irq);
		vec = mc->base | irq;
	}
	update(p);
	return vec;
}

/* Non-specific EOI: the highest-priority ISR bit (SMM: unmasked ones). */
static int eoi_level(const struct pic_chip *c)
{
	uint8_t in_service = c->smm ? (uint8_t)(c->isr & ~c->imr) : c->isr;
	int pr = best_priority(c, in_service);

	return pr == 8 ? -1 : (pr + c->prio) & 7;
}

static void ocw2(struct pic_chip *c, uint8_t v)
{
	int level = v & 7, irq;

	switch (v >> 5) {
	case 1:		/* non-specific EOI */
	case 5:		/* rotate on non-specific EOI */
		irq = eoi_level(c);
		if (irq >= 0) {
			c->isr &= (uint8_t)~(1u << irq);
			if (v >> 5 == 5)
				c->prio = (uint8_t)((irq + 1) & 7);
		}
		break;
	case 3:		/* specific EOI */
		c->isr &= (uint8_t)~(1u << level);
		break;
	case 7:		/* rotate on specific EOI */
		c->isr &= (uint8_t)~(1u << level);
		c->prio = (uint8_t)((level + 1) & 7);
		break;
	case 6:		/* set priority: level becomes the lowest */
		c->prio = (uint8_t)((level + 1) & 7);
		break;
	case 4:
		c->rotate_aeoi = true;
		break;
	case 0:
		c->rotate_aeoi = false;
		break;
	default:	/* 2: no operation */
		break;
	}
}

static void icw1(struct pic_chip *c, uint8_t v)
{
	c->icw4_needed = v & 1;
	c->single = (v & 2) != 0;
	c->ltim = (v & 8) != 0;
	c->init = 2;
	c->line = 0;		/* edge sense circuit reset */
	c->irr &= c->elcr;	/* latched edges are forgotten */
	c->imr = 0;
	c->isr = 0;
	c->prio = 0;		/* IR7 lowest */
	c->smm = false;
	c->read_isr = false;
	c->poll = false;
	c->aeoi = c->rotate_aeoi = c->sfnm = false;
}

/* Poll command read: acts as INTA on this chip. */
static uint8_t poll_read(struct pic *p, int chip)
{
	struct pic_chip *c = &p->c[chip];
	int irq = chip_request(c, chip == 0);

	c->poll = false;
	if (irq < 0)
		return 0;
	chip_ack(c, irq);
	update(p);
	return (uint8_t)(0x80 | irq);
}

static uint32_t pic_read(void *opaque, uint16_t port, unsigned size)
{
	struct pic *p = opaque;
	int chip = (port & 0x80) ? 1 : 0;
	struct pic_chip *c = &p->c[chip];

	if (c->poll)
		return poll_read(p, chip);
	if (port & 1)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

static void pic_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct pic *p = opaque;
	struct pic_chip *c = &p->c[(port & 0x80) ? 1 : 0];
	uint8_t v = (uint8_t)value;

	if (!(port & 1)) {
		if (v & 0x10) {
			icw1(c, v);
		} else if (v & 0x08) {	/* OCW3 */
			if (v & 0x04)
				c->poll = true;
			if (v & 0x02)
				c->read_isr = v & 1;
			if (v & 0x40)
				c->smm = (v & 0x20) != 0;
		} else {
			ocw2(c, v);
		}
	} else {
		switch (c->init) {
		case 2:
			c->base = v & 0xf8;
			c->init = c->single ? (c->icw4_needed ? 4 : 0) : 3;
			break;
		case 3:
			c->icw3 = v;
			c->init = c->icw4_needed ? 4 : 0;
			break;
		case 4:
			c->aeoi = (v & 2) != 0;
			c->sfnm = (v & 0x10) != 0;
			c->init = 0;
			break;
		default:
			c->imr = v;
			break;
		}
	}
	update(p);
}

static uint32_t elcr_read(void *opaque, uint16_t port, unsigned size)
{
	struct pic *p = opaque;
	uint32_t v = 0;

	for (unsigned k = 0; k < size && port + k <= 0x4d1; k++)
		v |= (uint32_t)p->c[port + k - 0x4d0].elcr << (8 * k);
	return v;
}

static void elcr_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct pic *p = opaque;

	for (unsigned k = 0; k < size && port + k <= 0x4d1; k++) {
		struct pic_chip *c = &p->c[port + k - 0x4d0];
		c->elcr = (uint8_t)(value >> (8 * k)) & c->elcr_mask;
	}
	update(p);
}

void pic_reset(struct pic *p)
{
	for (int k = 0; k < 2; k++) {
		struct pic_chip *c = &p->c[k];
		uint8_t mask = k ? 0xde : 0xf8;
		memset(c, 0, sizeof(*c));
		c->elcr_mask = mask;
	}
	p->c[0].base = 0x08;	/* BIOS-like defaults until ICW2 */
	p->c[1].base = 0x70;
	update(p);
}

static const struct state_field pic_fields[] = {
	STATE_ARRAY(struct pic, c, SF_HEX), STATE_FIELD(struct pic, out_level, SF_BOOL), STATE_END,
};

static void pic_post_load(void *base)
{
	struct pic *p = base;

	update(p);
	irq_set(&p->out, p->out_level);
}

void pic_get_regs(const struct pic *p, int chip, struct pic_regs *r)
{
	const struct pic_chip *c = &p->c[chip & 1];

	r->irr = c->irr;
	r->isr = c->isr;
	r->imr = c->imr;
	r->elcr = c->elcr;
	r->vector_base = c->base;
}

struct pic *pic_create(struct machine *m, char *err, size_t errlen)
{
	struct pic *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		snprintf(err, errlen, "out of memory creating the interrupt controllers");
		return NULL;
	}
	p->m = m;
	if (machine_add_io(m, 0x20, 2, pic_read, pic_write, p, "pic-master") < 0 ||
	    machine_add_io(m, 0xa0, 2, pic_read, pic_write, p, "pic-slave") < 0 ||
	    machine_add_io(m, 0x4d0, 2, elcr_read, elcr_write, p, "elcr") < 0) {
		snprintf(err, errlen, "cannot claim the I/O ports of the 8259 interrupt controllers");
		free(p);
		return NULL;
	}
	pic_reset(p);
	if (machine_register_state(m, &(struct state_section){
		    .name = "pic", .version = 1, .fields = pic_fields, .base = p,
		    .post_load = pic_post_load }) < 0) {
		snprintf(err, errlen, "out of memory registering the PIC state");
		free(p);
		return NULL;
	}
	return p;
}

void pic_destroy(struct pic *p)
{
	free(p);
}
