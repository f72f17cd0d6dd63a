/*
 * test_ioapic.c - I/O APIC: identification registers, redirection
 * entries (writable and read-only bits), edge and level delivery to the
 * LAPICs, masking, polarity, remote IRR with EOI broadcast and the EOI
 * register, destinations (physical, logical, lowest priority), NMI.
 */
#include <criterion/criterion.h>

#include "apic_plat.h"

#define IOA 0xfec00000ull

static uint32_t io_rd(struct plat *p, uint8_t reg)
{
	phys_write_u(p->m, IOA, reg, 4);
	return (uint32_t)phys_read_u(p->m, IOA + 0x10, 4);
}

static void io_wr(struct plat *p, uint8_t reg, uint32_t v)
{
	phys_write_u(p->m, IOA, reg, 4);
	phys_write_u(p->m, IOA + 0x10, v, 4);
}

static void rte(struct plat *p, int pin, uint32_t lo, uint8_t dest)
{
	io_wr(p, (uint8_t)(0x11 + 2 * pin), (uint32_t)dest << 24);
	io_wr(p, (uint8_t)(0x10 + 2 * pin), lo);
}

Test(ioapic, identification)
{
	struct plat *p = plat_new(1);
	cr_assert_eq(io_rd(p, 1), 0x00170020u, "24 entries, version 0x20");
	io_wr(p, 0, 0x05000000);
	cr_assert_eq(io_rd(p, 0), 0x05000000u);
	cr_assert_eq(phys_read_u(p->m, IOA, 4), 0u, "IOREGSEL reads back");
	for (int pin = 0; pin < 24; pin++)
		cr_assert_eq(io_rd(p, (uint8_t)(0x10 + 2 * pin)), 0x10000u, "pin %d masked at reset", pin);
	plat_free(p);
}

Test(ioapic, rte_bits)
{
	struct plat *p = plat_new(1);
	io_wr(p, 0x10 + 2 * 3, 0xffffffff);
	cr_assert_eq(io_rd(p, 0x10 + 2 * 3), 0x1afffu, "delivery status and remote IRR are read-only");
	io_wr(p, 0x11 + 2 * 3, 0xffffffff);
	cr_assert_eq(io_rd(p, 0x11 + 2 * 3), 0xff000000u);
	plat_free(p);
}

Test(ioapic, edge_delivery_and_mask)
{
	struct plat *p = plat_new(2);
	plat_enable(p, 0);
	plat_enable(p, 1);
	rte(p, 20, 0x60, 1);		/* fixed, physical, edge, high, unmasked -> CPU 1 */
	ioapic_set_irq(p->io, 20, 1);
	cr_assert(plat_bit(p, 1, 0x200, 0x60));
	cr_assert_not(plat_bit(p, 0, 0x200, 0x60));
	cr_assert_eq(lapic_intr_ack(p->m, p->m->cpus[1]), 0x60);
	lapic_reg_write(plat_apic(p, 1), 0xb0, 0);
	ioapic_set_irq(p->io, 20, 1);	/* no new edge */
	cr_assert_not(plat_bit(p, 1, 0x200, 0x60));
	ioapic_set_irq(p->io, 20, 0);
	rte(p, 20, 0x10060, 1);		/* masked: the edge is lost */
	ioapic_set_irq(p->io, 20, 1);
	ioapic_set_irq(p->io, 20, 0);
	rte(p, 20, 0x60, 1);
	cr_assert_not(plat_bit(p, 1, 0x200, 0x60));
	/* Active-low polarity: the falling edge asserts. */
	rte(p, 21, 0x2061, 0);
	ioapic_set_irq(p->io, 21, 1);
	cr_assert_not(plat_bit(p, 0, 0x200, 0x61));
	ioapic_set_irq(p->io, 21, 0);
	cr_assert(plat_bit(p, 0, 0x200, 0x61));
	plat_free(p);
}

Test(ioapic, level_remote_irr_eoi_broadcast)
{
	struct plat *p = plat_new(1);
	struct cpu *c = p->m->cpus[0];
	plat_enable(p, 0);
	rte(p, 9, 0x8069, 0);		/* level, vector 0x69 */
	ioapic_set_irq(p->io, 9, 1);
	cr_assert(plat_bit(p, 0, 0x200, 0x69));
	cr_assert(plat_bit(p, 0, 0x180, 0x69), "TMR set for level");
	cr_assert(io_rd(p, 0x10 + 18) & (1u << 14), "remote IRR");
	cr_assert_eq(lapic_intr_ack(p->m, c), 0x69);
	/* EOI with the line still high: remote IRR clears and it re-delivers. */
	lapic_reg_write(plat_apic(p, 0), 0xb0, 0);
	cr_assert(plat_bit(p, 0, 0x200, 0x69));
	cr_assert(io_rd(p, 0x10 + 18) & (1u << 14));
	cr_assert_eq(lapic_intr_ack(p->m, c), 0x69);
	ioapic_set_irq(p->io, 9, 0);
	lapic_reg_write(plat_apic(p, 0), 0xb0, 0);
	cr_assert_eq(io_rd(p, 0x10 + 18) & (1u << 14), 0u);
	cr_assert_not(plat_bit(p, 0, 0x200, 0x69));
	/* EOI broadcast suppressed (SVR bit 12): the IOAPIC's EOI register does it. */
	lapic_reg_write(plat_apic(p, 0), 0xf0, 0x11ff);
	ioapic_set_irq(p->io, 9, 1);
	cr_assert_eq(lapic_intr_ack(p->m, c), 0x69);
	ioapic_set_irq(p->io, 9, 0);
	lapic_reg_write(plat_apic(p, 0), 0xb0, 0);
	cr_assert(io_rd(p, 0x10 + 18) & (1u << 14), "no broadcast");
	phys_write_u(p->m, IOA + 0x40, 0x69, 4);
	cr_assert_eq(io_rd(p, 0x10 + 18) & (1u << 14), 0u);
	/* A masked asserted level pin delivers when unmasked. */
	rte(p, 10, 0x1806a, 0);
	ioapic_set_irq(p->io, 10, 1);
	cr_assert_not(plat_bit(p, 0, 0x200, 0x6a));
	rte(p, 10, 0x806a, 0);
	cr_assert(plat_bit(p, 0, 0x200, 0x6a));
	plat_free(p);
}

Test(ioapic, destinations_and_modes)
{
	struct plat *p = plat_new(3);
	for (int i = 0; i < 3; i++)
		plat_enable(p, i);
	lapic_reg_write(plat_apic(p, 1), 0xd0, 0x02000000);
	lapic_reg_write(plat_apic(p, 2), 0xd0, 0x04000000);
	rte(p, 16, 0x870, 0x06);		/* logical, to CPUs 1 and 2 */
	ioapic_set_irq(p->io, 16, 1);
	cr_assert(!plat_bit(p, 0, 0x200, 0x70) && plat_bit(p, 1, 0x200, 0x70) &&
		  plat_bit(p, 2, 0x200, 0x70));
	lapic_reg_write(plat_apic(p, 2), 0x80, 0x40);
	rte(p, 17, 0x971, 0x06);		/* lowest priority: CPU 1 (TPR 0) */
	ioapic_set_irq(p->io, 17, 1);
	cr_assert(plat_bit(p, 1, 0x200, 0x71) && !plat_bit(p, 2, 0x200, 0x71));
	rte(p, 18, 0x400, 0xff);		/* NMI broadcast */
	ioapic_set_irq(p->io, 18, 1);
	for (int i = 0; i < 3; i++)
		cr_assert(p->m->cpus[i]->pending & PEND_NMI);
	plat_free(p);
}
