/*
 * test_acpi_pm.c - the ACPI PM block: PM timer rate and 24-bit wrap,
 * TMR_STS at each bit-23 change, SCI gating (SCI_EN, enables), status
 * write-1-to-clear, GPE0, power button, and S5 soft-off ending the run.
 */
#include <criterion/criterion.h>

#include "apic_plat.h"
#include "emu/dev/acpi_pm.h"

struct fx {
	struct plat *p;
	struct acpi_pm *pm;
	int sci, sci_rises;
};

static void sci_irq(void *opaque, int n, int level)
{
	struct fx *f = opaque;
	cr_assert_eq(n, ACPI_SCI_IRQ);
	if (level && !f->sci)
		f->sci_rises++;
	f->sci = level;
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[200];
	f->p = plat_new(1);
	f->pm = acpi_pm_create(f->p->m, (struct irq){ sci_irq, f, ACPI_SCI_IRQ }, err, sizeof(err));
	cr_assert(f->pm, "%s", err);
	return f;
}

static void fx_free(struct fx *f)
{
	acpi_pm_destroy(f->pm);
	plat_free(f->p);
	free(f);
}

static uint32_t in(struct fx *f, uint16_t port, unsigned size)
{
	return machine_io_in(f->p->m, port, size);
}

static void out(struct fx *f, uint16_t port, uint32_t v, unsigned size)
{
	machine_io_out(f->p->m, port, v, size);
}

Test(acpi_pm, timer_rate)
{
	static const struct { uint64_t ns; uint32_t ticks; } tab[] = {
		{ 0, 0 }, { 1000, 3 }, { 1000000, 3579 }, { 1000000000, 3579545 & 0xffffff },
		{ 5000000000ull, (uint32_t)(5 * 3579545ull) & 0xffffff },
	};
	struct fx *f = fx_new();
	for (size_t k = 0; k < sizeof(tab) / sizeof(tab[0]); k++) {
		clock_set_ns(f->p->m, tab[k].ns);
		cr_assert_eq(in(f, ACPI_PM_TMR, 4), tab[k].ticks, "at %llu ns: %u",
			     (unsigned long long)tab[k].ns, in(f, ACPI_PM_TMR, 4));
		cr_assert_eq(acpi_pm_timer(f->pm), tab[k].ticks);
	}
	cr_assert(in(f, ACPI_PM_TMR, 4) < (1u << 24), "24-bit counter");
	fx_free(f);
}

Test(acpi_pm, tmr_sts_and_sci)
{
	struct fx *f = fx_new();
	/* Bit 23 changes after 2^23 ticks = 2.343 s. */
	clock_set_ns(f->p->m, 2343000000ull);
	cr_assert_eq(in(f, ACPI_PM1_EVT, 2) & ACPI_PM1_TMR, 0u);
	clock_set_ns(f->p->m, 2344000000ull);
	cr_assert(in(f, ACPI_PM1_EVT, 2) & ACPI_PM1_TMR);
	cr_assert_eq(f->sci, 0, "TMR_EN clear: no SCI");
	out(f, ACPI_PM1_EVT + 2, ACPI_PM1_TMR, 2);	/* TMR_EN */
	cr_assert_eq(f->sci, 1);
	out(f, ACPI_PM1_CNT, 0, 2);			/* SCI_EN off */
	cr_assert_eq(f->sci, 0);
	out(f, ACPI_PM1_CNT, ACPI_PM1_SCI_EN, 2);
	cr_assert_eq(f->sci, 1);
	out(f, ACPI_PM1_EVT, ACPI_PM1_TMR, 2);		/* write 1 to clear */
	cr_assert_eq(in(f, ACPI_PM1_EVT, 2) & ACPI_PM1_TMR, 0u);
	cr_assert_eq(f->sci, 0);
	clock_set_ns(f->p->m, 4688000000ull);		/* next change of bit 23 */
	cr_assert_eq(f->sci, 1);
	cr_assert_eq(f->sci_rises, 3);
	/* A 32-bit read of PM1a_EVT: status in the low half, enable in the high. */
	cr_assert_eq(in(f, ACPI_PM1_EVT, 4), (uint32_t)ACPI_PM1_TMR << 16 | ACPI_PM1_TMR);
	fx_free(f);
}

Test(acpi_pm, gpe_and_power_button)
{
	struct fx *f = fx_new();
	acpi_pm_set_gpe(f->pm, 3);
	cr_assert_eq(in(f, ACPI_GPE0, 4), 8u);
	cr_assert_eq(f->sci, 0);
	out(f, ACPI_GPE0 + 4, 8, 4);
	cr_assert_eq(f->sci, 1);
	cr_assert_eq(in(f, ACPI_GPE0 + 4, 1), 8u);
	out(f, ACPI_GPE0, 8, 1);
	cr_assert_eq(f->sci, 0);
	out(f, ACPI_PM1_EVT + 2, ACPI_PM1_PWRBTN, 2);
	acpi_pm_power_button(f->pm);
	cr_assert_eq(f->sci, 1);
	cr_assert(in(f, ACPI_PM1_EVT + 1, 1) & 1, "PWRBTN_STS is bit 8");
	fx_free(f);
}

Test(acpi_pm, s5_powers_off)
{
	struct fx *f = fx_new();
	cr_assert_eq(in(f, ACPI_PM1_CNT, 2) & ACPI_PM1_SCI_EN, ACPI_PM1_SCI_EN);
	/* S1 (type 1) is not supported: nothing happens. */
	out(f, ACPI_PM1_CNT, ACPI_PM1_SCI_EN | 1u << 10 | ACPI_PM1_SLP_EN, 2);
	cr_assert_eq(f->p->m->stop, STOP_NONE);
	cr_assert_eq(in(f, ACPI_PM1_CNT, 2) & ACPI_PM1_SLP_EN, 0u, "SLP_EN is write-only");
	f->p->m->exit_status = 77;
	out(f, ACPI_PM1_CNT, ACPI_PM1_SCI_EN | ACPI_SLP_TYP_S5 << 10 | ACPI_PM1_SLP_EN, 2);
	cr_assert_eq(f->p->m->stop, STOP_EXIT);
	cr_assert_eq(f->p->m->exit_status, 0);
	fx_free(f);
}
