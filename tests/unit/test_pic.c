/*
 * test_pic.c - the 8259A pair: initialization, priority, EOI forms,
 * masking, edge versus level (ELCR, LTIM), auto-EOI, rotation, special
 * mask mode, poll mode, the cascade, spurious IRQ 7/15, and the board
 * routing of ISA IRQs to the PIC and the IOAPIC hook.
 */
#include <criterion/criterion.h>

#include "dev_fixture.h"
#include "emu/dev/pic.h"

struct pf {
	struct devm *d;
	struct pic *p;
};

static struct pf pf_new(void)
{
	struct pf f;
	char err[128];

	f.d = devm_new();
	f.p = pic_create(f.d->m, err, sizeof(err));
	cr_assert_not_null(f.p, "%s", err);
	pic_connect_output(f.p, devm_line(f.d, 0));
	return f;
}

static void pf_free(struct pf f)
{
	pic_destroy(f.p);
	devm_free(f.d);
}

/* The usual PC initialization: vectors 0x20 / 0x28, cascade on IR2. */
static void pc_init(struct pf f, uint8_t icw4)
{
	devm_out(f.d, 0x20, 0x11);
	devm_out(f.d, 0x21, 0x20);
	devm_out(f.d, 0x21, 0x04);
	devm_out(f.d, 0x21, icw4);
	devm_out(f.d, 0xa0, 0x11);
	devm_out(f.d, 0xa1, 0x28);
	devm_out(f.d, 0xa1, 0x02);
	devm_out(f.d, 0xa1, icw4);
	devm_out(f.d, 0x21, 0x00);
	devm_out(f.d, 0xa1, 0x00);
}

static uint8_t isr(struct pf f, int port)
{
	devm_out(f.d, port, 0x0b);
	uint8_t v = devm_in(f.d, port);
	devm_out(f.d, port, 0x0a);
	return v;
}

Test(pic, init_sets_vectors_and_clears_mask)
{
	struct pf f = pf_new();
	struct pic_regs r;

	devm_out(f.d, 0x21, 0xff);
	pc_init(f, 0x01);
	pic_get_regs(f.p, 0, &r);
	cr_assert_eq(r.vector_base, 0x20);
	cr_assert_eq(r.imr, 0);
	pic_get_regs(f.p, 1, &r);
	cr_assert_eq(r.vector_base, 0x28);
	devm_out(f.d, 0x21, 0xb8);
	cr_assert_eq(devm_in(f.d, 0x21), 0xb8, "OCW1 reads back");
	devm_out(f.d, 0x20, 0x11);	/* ICW1 again clears IMR */
	cr_assert_eq(devm_in(f.d, 0x21), 0x00, "ICW1 clears IMR");
	devm_out(f.d, 0x21, 0x48);	/* the data port now takes ICW2 ... */
	devm_out(f.d, 0x21, 0x04);
	devm_out(f.d, 0x21, 0x01);
	pic_get_regs(f.p, 0, &r);
	cr_assert_eq(r.vector_base, 0x48);
	cr_assert_eq(r.imr, 0x00, "... not OCW1");
	pf_free(f);
}

Test(pic, priority_and_nonspecific_eoi)
{
	struct pf f = pf_new();

	pc_init(f, 0x01);
	pic_set_irq(f.p, 4, 1);
	pic_set_irq(f.p, 1, 1);
	cr_assert(pic_intr_output(f.p));
	cr_assert_eq(f.d->level[0], 1, "INTR reaches the output callback");
	cr_assert_eq(devm_in(f.d, 0x20), 0x12, "IRR");
	cr_assert_eq(pic_intr_ack(f.p), 0x21, "IRQ 1 beats IRQ 4");
	cr_assert_eq(isr(f, 0x20), 0x02);
	cr_assert_not(pic_intr_output(f.p), "IRQ 4 waits for IRQ 1's EOI");
	pic_set_irq(f.p, 0, 1);
	cr_assert(pic_intr_output(f.p), "IRQ 0 preempts IRQ 1");
	cr_assert_eq(pic_intr_ack(f.p), 0x20);
	cr_assert_eq(isr(f, 0x20), 0x03);
	devm_out(f.d, 0x20, 0x20);	/* EOI: the highest in service (0) */
	cr_assert_eq(isr(f, 0x20), 0x02);
	devm_out(f.d, 0x20, 0x20);
	cr_assert_eq(isr(f, 0x20), 0x00);
	cr_assert(pic_intr_output(f.p));
	cr_assert_eq(pic_intr_ack(f.p), 0x24);
	cr_assert_eq(f.d->level[0], 0);
	pf_free(f);
}

Test(pic, specific_eoi_and_masking)
{
	struct pf f = pf_new();

	pc_init(f, 0x01);
	pic_set_irq(f.p, 3, 1);
	cr_assert_eq(pic_intr_ack(f.p), 0x23);
	pic_set_irq(f.p, 5, 1);
	devm_out(f.d, 0x20, 0x65);	/* specific EOI for level 5: not in service */
	cr_assert_eq(isr(f, 0x20), 0x08);
	devm_out(f.d, 0x20, 0x63);	/* specific EOI for level 3 */
	cr_assert_eq(isr(f, 0x20), 0x00);
	devm_out(f.d, 0x21, 0x20);	/* mask IRQ 5 */
	cr_assert_not(pic_intr_output(f.p));
	cr_assert_eq(devm_in(f.d, 0x20) & 0x20, 0x20, "masked requests stay in IRR");
	devm_out(f.d, 0x21, 0x00);
	cr_assert(pic_intr_output(f.p));
	cr_assert_eq(pic_intr_ack(f.p), 0x25);
	pf_free(f);
}

Test(pic, edge_latches_rising_edges_only)
{
	struct pf f = pf_new();

	pc_init(f, 0x01);
	pic_set_irq(f.p, 3, 1);
	cr_assert_eq(pic_intr_ack(f.p), 0x23);
	devm_out(f.d, 0x20, 0x20);
	cr_assert_not(pic_intr_output(f.p), "a line held high is one request");
	pic_set_irq(f.p, 3, 1);
	cr_assert_not(pic_intr_output(f.p));
	pic_set_irq(f.p, 3, 0);
	pic_set_irq(f.p, 3, 1);
	cr_assert(pic_intr_output(f.p), "a new edge is a new request");
	pf_free(f);
}

Test(pic, level_triggered_by_elcr)
{
	struct pf f = pf_new();

	pc_init(f, 0x01);
	devm_out(f.d, 0x4d0, 0xff);
	devm_out(f.d, 0x4d1, 0xff);
	cr_assert_eq(devm_in(f.d, 0x4d0), 0xf8, "IRQ 0-2 are always edge");
	cr_assert_eq(devm_in(f.d, 0x4d1), 0xde, "IRQ 8 and 13 are always edge");
	cr_assert_eq(machine_io_in(f.d->m, 0x4d0, 2), 0xdef8, "word access");
	pic_set_irq(f.p, 10, 1);
	cr_assert(pic_intr_output(f.p));
	cr_assert_eq(pic_intr_ack(f.p), 0x2a);
	devm_out(f.d, 0xa0, 0x20);
	devm_out(f.d, 0x20, 0x20);
	cr_assert(pic_intr_output(f.p), "a level still high requests again after EOI");
	pic_set_irq(f.p, 10, 0);
	cr_assert_eq(devm_in(f.d, 0xa0) & 0x04, 0, "IRR follows the line");
	/* The master latched the slave's INT on its edge-triggered IR2. */
	cr_assert_eq(pic_intr_ack(f.p), 0x2f, "withdrawn slave request: spurious IRQ 15");
	devm_out(f.d, 0x20, 0x20);
	cr_assert_not(pic_intr_output(f.p));
	devm_out(f.d, 0x4d0, 0x20);	/* master IRQ 5 level */
	pic_set_irq(f.p, 5, 1);
	pic_set_irq(f.p, 5, 0);
	cr_assert_not(pic_intr_output(f.p), "a withdrawn level request on the master is gone");
	pf_free(f);
}

Test(pic, ltim_makes_all_inputs_level)
{
	struct pf f = pf_new();

	devm_out(f.d, 0x20, 0x19);	/* ICW1 with LTIM */
	devm_out(f.d, 0x21, 0x40);
	devm_out(f.d, 0x21, 0x04);
	devm_out(f.d, 0x21, 0x01);
	devm_out(f.d, 0x21, 0xfb);	/* only IR2 unmasked... */
	devm_out(f.d, 0x21, 0x00);
	pic_set_irq(f.p, 1, 1);
	cr_assert_eq(pic_intr_ack(f.p), 0x41);
	devm_out(f.d, 0x20, 0x20);
	cr_assert(pic_intr_output(f.p));
	pic_set_irq(f.p, 1, 0);
	cr_assert_not(pic_intr_output(f.p));
	pf_free(f);
}

Test(pic, spurious_irq7_and_irq15)
{
	struct pf f = pf_new();

	pc_init(f, 0x01);
	devm_out(f.d, 0x4d0, 0x20);	/* IRQ 5 level */
	pic_set_irq(f.p, 5, 1);
	cr_assert(pic_intr_output(f.p));
	pic_set_irq(f.p, 5, 0);		/* gone before INTA */
	cr_assert_eq(pic_intr_ack(f.p), 0x27, "spurious IRQ 7");
	cr_assert_eq(isr(f, 0x20), 0, "a spurious IRQ 7 sets no ISR bit");

	devm_out(f.d, 0x4d1, 0x08);	/* IRQ 11 level */
	pic_set_irq(f.p, 11, 1);
	cr_assert(pic_intr_output(f.p));
	pic_set_irq(f.p, 11, 0);
	/* The master latched the slave's edge on IR2; the slave has nothing. */
	cr_assert_eq(pic_intr_ack(f.p), 0x2f, "spurious IRQ 15");
	cr_assert_eq(isr(f, 0xa0), 0);
	cr_assert_eq(isr(f, 0x20), 0x04, "the master's IR2 is in service");
	pf_free(f);
}

Test(pic, cascade_priority_and_eoi_order)
{
	struct pf f = pf_new();

	pc_init(f, 0x01);
	pic_set_irq(f.p, 8, 1);
	pic_set_irq(f.p, 3, 1);
	cr_assert_eq(pic_intr_ack(f.p), 0x28, "IRQ 8 (via IR2) beats IRQ 3");
	cr_assert_eq(isr(f, 0x20), 0x04);
	cr_assert_eq(isr(f, 0xa0), 0x01);
	pic_set_irq(f.p, 14, 1);
	cr_assert_not(pic_intr_output(f.p), "IR2 in service blocks further slave IRQs");
	devm_out(f.d, 0xa0, 0x20);
	devm_out(f.d, 0x20, 0x20);
	cr_assert_eq(pic_intr_ack(f.p), 0x2e, "IRQ 14 still beats IRQ 3");
	devm_out(f.d, 0xa0, 0x20);
	devm_out(f.d, 0x20, 0x20);
	cr_assert_eq(pic_intr_ack(f.p), 0x23);
	pf_free(f);
}

Test(pic, special_fully_nested_mode)
{
	struct pf f = pf_new();

	pc_init(f, 0x11);	/* SFNM on both */
	pic_set_irq(f.p, 12, 1);
	cr_assert_eq(pic_intr_ack(f.p), 0x2c);
	pic_set_irq(f.p, 9, 1);
	cr_assert(pic_intr_output(f.p), "SFNM: a higher slave IRQ nests");
	cr_assert_eq(pic_intr_ack(f.p), 0x29);
	pf_free(f);
}

Test(pic, auto_eoi_and_rotation)
{
	struct pf f = pf_new();

	pc_init(f, 0x03);	/* auto-EOI */
	pic_set_irq(f.p, 6, 1);
	cr_assert_eq(pic_intr_ack(f.p), 0x26);
	cr_assert_eq(isr(f, 0x20), 0, "auto-EOI sets no ISR bit");

	devm_out(f.d, 0x20, 0x80);	/* rotate in auto-EOI mode */
	pic_set_irq(f.p, 1, 1);
	cr_assert_eq(pic_intr_ack(f.p), 0x21);
	pic_set_irq(f.p, 0, 1);
	pic_set_irq(f.p, 3, 1);
	cr_assert_eq(pic_intr_ack(f.p), 0x23, "after IRQ 1, IRQ 2 is highest: 3 beats 0");
	cr_assert_eq(pic_intr_ack(f.p), 0x20);
	devm_out(f.d, 0x20, 0x00);	/* clear rotate in auto-EOI */
	pf_free(f);
}

Test(pic, set_priority_and_rotate_on_eoi)
{
	struct pf f = pf_new();

	pc_init(f, 0x01);
	devm_out(f.d, 0x20, 0xc4);	/* set priority: IR4 lowest, IR5 highest */
	pic_set_irq(f.p, 0, 1);
	pic_set_irq(f.p, 6, 1);
	cr_assert_eq(pic_intr_ack(f.p), 0x26);
	devm_out(f.d, 0x20, 0xa0);	/* rotate on non-specific EOI: IR6 lowest */
	pic_set_irq(f.p, 5, 1);
	cr_assert_eq(pic_intr_ack(f.p), 0x20, "IR7 is now highest, then 0");
	devm_out(f.d, 0x20, 0xe0);	/* rotate on specific EOI level 0: IR0 lowest */
	pic_set_irq(f.p, 0, 0);
	pic_set_irq(f.p, 0, 1);
	cr_assert_eq(pic_intr_ack(f.p), 0x25, "IR5 beats IR0 after the rotation");
	pf_free(f);
}

Test(pic, special_mask_mode)
{
	struct pf f = pf_new();

	pc_init(f, 0x01);
	pic_set_irq(f.p, 2 + 1, 1);
	cr_assert_eq(pic_intr_ack(f.p), 0x23);
	pic_set_irq(f.p, 6, 1);
	cr_assert_not(pic_intr_output(f.p), "IR3 in service blocks IR6");
	devm_out(f.d, 0x21, 0x08);	/* mask IR3 */
	devm_out(f.d, 0x20, 0x68);	/* OCW3: set special mask */
	cr_assert(pic_intr_output(f.p), "SMM: a masked in-service level does not block");
	cr_assert_eq(pic_intr_ack(f.p), 0x26);
	devm_out(f.d, 0x20, 0x48);	/* reset special mask */
	pf_free(f);
}

Test(pic, poll_mode)
{
	struct pf f = pf_new();

	pc_init(f, 0x01);
	devm_out(f.d, 0x20, 0x0c);	/* poll */
	cr_assert_eq(devm_in(f.d, 0x20), 0x00, "nothing pending");
	pic_set_irq(f.p, 5, 1);
	devm_out(f.d, 0x20, 0x0c);
	cr_assert_eq(devm_in(f.d, 0x20), 0x85);
	cr_assert_eq(isr(f, 0x20), 0x20, "a poll read acknowledges");
	cr_assert_eq(devm_in(f.d, 0x20), 0x00, "the poll lasts one read (IRR)");
	pf_free(f);
}

/* ---- Board routing ---- */

struct ioapic_rec {
	int level[24];
	int calls;
};

static void ioapic_hook(void *opaque, int gsi, int level)
{
	struct ioapic_rec *r = opaque;
	r->level[gsi] = level;
	r->calls++;
}

Test(pic, board_routes_isa_irqs_to_pic_and_ioapic)
{
	struct machine_config cfg = { .ram_size = 16 << 20, .ncpus = 1 };
	char err[256];
	struct machine *m = machine_create(&cfg, err, sizeof(err));
	struct ioapic_rec r = { 0 };
	struct pic_regs pr;

	cr_assert_not_null(m, "%s", err);
	m->ioapic_set_irq = ioapic_hook;
	m->ioapic_opaque = &r;
	machine_set_isa_irq(m, 0, 1);
	cr_assert_eq(r.level[2], 1, "ISA IRQ 0 is GSI 2");
	pic_get_regs(m->pic, 0, &pr);
	cr_assert_eq(pr.irr, 0x01, "and PIC IRQ 0");
	irq_set(&(struct irq){ 0 }, 1);	/* an unconnected irq is a no-op */
	struct irq q = machine_gsi(m, 2);
	irq_set(&q, 0);
	cr_assert_eq(r.level[2], 0);
	q = machine_gsi(m, 20);
	irq_set(&q, 1);
	cr_assert_eq(r.level[20], 1, "PCI GSIs reach only the IOAPIC");
	q = machine_isa_irq(m, 9);
	irq_set(&q, 1);
	cr_assert_eq(r.level[9], 1);
	pic_get_regs(m->pic, 1, &pr);
	cr_assert_eq(pr.irr, 0x02);
	machine_destroy(m);
}

Test(pic, board_delivers_to_cpu0)
{
	struct machine_config cfg = { .ram_size = 16 << 20, .ncpus = 1 };
	char err[256];
	struct machine *m = machine_create(&cfg, err, sizeof(err));

	cr_assert_not_null(m, "%s", err);
	machine_io_out(m, 0x20, 0x11, 1);
	machine_io_out(m, 0x21, 0x30, 1);
	machine_io_out(m, 0x21, 0x04, 1);
	machine_io_out(m, 0x21, 0x01, 1);
	machine_io_out(m, 0x21, 0x00, 1);
	machine_set_isa_irq(m, 1, 1);
	cr_assert(m->cpus[0]->pending & PEND_INTR, "INTR drives the CPU's line");
	cr_assert_eq(m->intr_ack(m, m->cpus[0]), 0x31);
	cr_assert_not(m->cpus[0]->pending & PEND_INTR);
	machine_destroy(m);
}

Test(pic, board_serial_raises_irq4)
{
	struct machine_config cfg = { .ram_size = 16 << 20, .ncpus = 1 };
	char err[256];
	struct machine *m = machine_create(&cfg, err, sizeof(err));
	struct pic_regs pr;

	cr_assert_not_null(m, "%s", err);
	machine_io_out(m, 0x3f9, 0x02, 1);	/* IER: THR empty */
	pic_get_regs(m->pic, 0, &pr);
	cr_assert_eq(pr.irr & 0x10, 0x10, "COM1 THRE interrupt on IRQ 4");
	cr_assert_eq(pic_intr_ack(m->pic), 0x08 + 4, "INTA takes the request");
	machine_io_out(m, 0x3f8, 'x', 1);	/* line still high: no new edge */
	pic_get_regs(m->pic, 0, &pr);
	cr_assert_eq(pr.irr & 0x10, 0);
	cr_assert_eq(machine_io_in(m, 0x3fa, 1), 0x02, "IIR: THR empty (clears it)");
	machine_io_out(m, 0x3f8, 'y', 1);	/* transmit: THR empty again */
	pic_get_regs(m->pic, 0, &pr);
	cr_assert_eq(pr.irr & 0x10, 0x10, "reading IIR dropped the line: a new edge");
	machine_destroy(m);
}
