/*
 * test_hpet.c - HPET: capabilities, the main counter (rate, freeze,
 * writes while halted), one-shot and periodic comparators (VAL_SET),
 * 32-bit mode, level interrupts with GINTR_STA, legacy replacement
 * routing and IOAPIC routes, and the MMIO page on the platform.
 */
#include <criterion/criterion.h>

#include "apic_plat.h"
#include "emu/dev/hpet.h"

struct rec {
	int level[32];
	int rises[32];
};

static void rec_irq(void *opaque, int n, int level)
{
	struct rec *r = opaque;
	cr_assert(n >= 0 && n < 32);
	if (level && !r->level[n])
		r->rises[n]++;
	r->level[n] = level;
}

struct fx {
	struct plat *p;
	struct hpet *h;
	struct rec r;
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[200];
	f->p = plat_new(1);
	f->h = hpet_create(f->p->m, (struct irq){ rec_irq, &f->r, 0 }, err, sizeof(err));
	cr_assert(f->h, "%s", err);
	return f;
}

static void fx_free(struct fx *f)
{
	hpet_destroy(f->h);
	plat_free(f->p);
	free(f);
}

static uint64_t rd(struct fx *f, uint64_t off)
{
	return hpet_mmio_read(f->h, off, 8);
}

static void wr(struct fx *f, uint64_t off, uint64_t v)
{
	hpet_mmio_write(f->h, off, v, 8);
}

static void at(struct fx *f, uint64_t ns)
{
	clock_set_ns(f->p->m, ns);
}

#define TCONF(n) (0x100 + 0x20 * (n))
#define TCMP(n) (0x108 + 0x20 * (n))

Test(hpet, capabilities)
{
	struct fx *f = fx_new();
	uint64_t cap = rd(f, 0);
	cr_assert_eq(cap >> 32, 10000000u, "10 ns period in fs");
	cr_assert_eq(cap & 0xffffffffu, 0x8086a201u);
	cr_assert_eq(hpet_mmio_read(f->h, 4, 4), 10000000u, "32-bit read of the high half");
	uint64_t tc = rd(f, TCONF(2));
	cr_assert_eq(tc >> 32, 0x00f00000u, "routes to IOAPIC pins 20-23");
	cr_assert(tc & (1u << 4) && tc & (1u << 5), "periodic- and 64-bit-capable");
	/* The board's page at 0xFED00000 answers the same. */
	cr_assert_eq(phys_read_u(f->p->m, HPET_BASE, 8), cap);
	fx_free(f);
}

Test(hpet, main_counter)
{
	struct fx *f = fx_new();
	at(f, 1000);
	cr_assert_eq(rd(f, 0xf0), 0u, "halted");
	wr(f, 0xf0, 500);
	wr(f, 0x10, 1);		/* ENABLE_CNF */
	at(f, 2000);
	cr_assert_eq(rd(f, 0xf0), 600u, "100 ticks per microsecond");
	wr(f, 0xf0, 0);
	cr_assert_eq(rd(f, 0xf0), 600u, "writes while running are ignored");
	wr(f, 0x10, 0);
	at(f, 5000);
	cr_assert_eq(rd(f, 0xf0), 600u, "frozen while disabled");
	wr(f, 0x10, 1);
	at(f, 6000);
	cr_assert_eq(rd(f, 0xf0), 700u, "resumes from the frozen value");
	cr_assert_eq(hpet_mmio_read(f->h, 0xf0, 4), 700u);
	fx_free(f);
}

Test(hpet, oneshot_edge)
{
	struct fx *f = fx_new();
	wr(f, TCONF(2), 20u << 9 | 1u << 2);	/* route 20, int enabled, edge */
	wr(f, TCMP(2), 50);
	wr(f, 0x10, 1);
	at(f, 490);
	cr_assert_eq(f->r.rises[20], 0);
	at(f, 500);
	cr_assert_eq(f->r.rises[20], 1);
	cr_assert_eq(f->r.level[20], 0, "edge: pulsed");
	cr_assert_eq(rd(f, 0x20), 0u, "edge mode leaves GINTR_STA clear");
	at(f, 100000);
	cr_assert_eq(f->r.rises[20], 1, "one-shot in 64-bit mode does not wrap soon");
	/* An invalid route is refused (keeps 20). */
	wr(f, TCONF(2), 3u << 9 | 1u << 2);
	cr_assert_eq((rd(f, TCONF(2)) >> 9) & 0x1f, 20u);
	fx_free(f);
}

Test(hpet, periodic_valset)
{
	struct fx *f = fx_new();
	/* Linux's sequence: VAL_SET, comparator = now + delta, then delta. */
	wr(f, TCONF(0), 21u << 9 | 1u << 2 | 1u << 3 | 1u << 6);
	wr(f, 0x10, 1);
	wr(f, TCMP(0), 100);
	wr(f, TCMP(0), 100);
	cr_assert_eq(rd(f, TCONF(0)) & (1u << 6), 0u, "VAL_SET clears itself");
	at(f, 10000);			/* counter 1000: 10 periods */
	cr_assert_eq(f->r.rises[21], 10);
	cr_assert_eq(rd(f, TCMP(0)), 1100u, "comparator advanced by the period");
	fx_free(f);
}

Test(hpet, level_status)
{
	struct fx *f = fx_new();
	wr(f, TCONF(1), 22u << 9 | 1u << 2 | 1u << 1);	/* level */
	wr(f, TCMP(1), 10);
	wr(f, 0x10, 1);
	at(f, 100);
	cr_assert_eq(f->r.level[22], 1);
	cr_assert_eq(rd(f, 0x20), 2u);
	wr(f, 0x20, 2);			/* write 1 to clear */
	cr_assert_eq(f->r.level[22], 0);
	cr_assert_eq(rd(f, 0x20), 0u);
	fx_free(f);
}

Test(hpet, mode32_wraps)
{
	struct fx *f = fx_new();
	wr(f, TCONF(2), 20u << 9 | 1u << 2 | 1u << 8);	/* 32-bit one-shot */
	wr(f, 0xf0, 0xfffffff0ull);
	wr(f, TCMP(2), 0x100000005ull);
	cr_assert_eq(rd(f, TCMP(2)), 5u, "comparator truncated to 32 bits");
	wr(f, 0x10, 1);
	at(f, 200);			/* counter 0x1_0000_0004 */
	cr_assert_eq(f->r.rises[20], 0);
	at(f, 210);
	cr_assert_eq(f->r.rises[20], 1, "matches the low 32 bits after the wrap");
	fx_free(f);
}

Test(hpet, legacy_replacement)
{
	struct fx *f = fx_new();
	wr(f, TCONF(0), 20u << 9 | 1u << 2);
	wr(f, TCONF(1), 20u << 9 | 1u << 2);
	wr(f, TCMP(0), 10);
	wr(f, TCMP(1), 20);
	wr(f, 0x10, 3);			/* ENABLE | LEG_RT */
	cr_assert(hpet_legacy_replacement(f->h));
	at(f, 1000);
	cr_assert_eq(f->r.rises[0], 1, "timer 0 -> IRQ 0");
	cr_assert_eq(f->r.rises[8], 1, "timer 1 -> IRQ 8");
	cr_assert_eq(f->r.rises[20], 0);
	wr(f, 0x10, 1);
	cr_assert_not(hpet_legacy_replacement(f->h));
	fx_free(f);
}
