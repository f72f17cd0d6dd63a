/*
 * acpi_pm.c - ACPI PM1a event/control, PM timer and GPE0 registers of a
 * PIIX4-style power-management function (ACPI 6.4 4.8.3 "PM1 event",
 * 4.8.3.2 "PM1 control", 4.8.3.3 "PM timer", 4.8.4.1 "GPE0"; layout in
 * acpi_pm.h).
 *
 * Status bits are write-1-to-clear. The SCI is a level: asserted while
 * SCI_EN is set and some enabled status bit (PM1 or GPE0) is set. The PM
 * timer is derived from guest time (clock_ns * 3.579545 MHz); TMR_STS is
 * set each time its bit 23 changes: computed when PM1_STS is read, and by
 * a clock timer armed for the next change only while TMR_EN and SCI_EN
 * could turn it into an SCI (an idle guest then has no periodic timer, so
 * a vCPU halted for good is still reported).
 */
#include "acpi_pm.h"

#include <stdlib.h>

#include "../clock.h"
#include "../machine.h"
#include "../state.h"

#define PM1_STS_MASK (ACPI_PM1_TMR | (1u << 4) | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | \
		      ACPI_PM1_SLPBTN | ACPI_PM1_RTC | ACPI_PM1_WAK)
#define PM1_EN_MASK (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | \
		     ACPI_PM1_RTC)
#define PM1_CNT_MASK (ACPI_PM1_SCI_EN | 6u | (7u << ACPI_PM1_SLP_TYP_SHIFT))

struct acpi_pm {
	struct machine *m;
	struct irq sci;
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint32_t gpe_sts, gpe_en;
	int sci_level;
	uint64_t tmr_epoch;	/* timer ticks >> 23 when TMR_STS was last brought up to date */
	struct timer *tmr;
};

#define F(m, f) STATE_FIELD(struct acpi_pm, m, f)
static const struct state_field acpi_pm_fields[] = {
	F(pm1_sts, SF_HEX), F(pm1_en, SF_HEX), F(pm1_cnt, SF_HEX), F(gpe_sts, SF_HEX),
	F(gpe_en, SF_HEX), F(sci_level, SF_DEC), F(tmr_epoch, SF_DEC), STATE_END,
};
#undef F

static void arm_tmr(struct acpi_pm *s);

static void acpi_pm_post_load(void *base)
{
	arm_tmr(base);
}

static uint64_t ticks(struct acpi_pm *s)
{
	return muldiv64(clock_ns(s->m), ACPI_PM_TIMER_HZ, 1000000000ull);
}

uint32_t acpi_pm_timer(struct acpi_pm *s)
{
	return (uint32_t)ticks(s) & 0xffffff;
}

static void update_sci(struct acpi_pm *s)
{
	int level = (s->pm1_cnt & ACPI_PM1_SCI_EN) &&
		    ((s->pm1_sts & s->pm1_en) || (s->gpe_sts & s->gpe_en));
	if (level != s->sci_level) {
		s->sci_level = level;
		irq_set(&s->sci, level);
	}
}

/* Sets TMR_STS if bit 23 changed since the last look. */
static void tmr_catch_up(struct acpi_pm *s)
{
	uint64_t e = ticks(s) >> 23;
	if (e != s->tmr_epoch) {
		s->tmr_epoch = e;
		s->pm1_sts |= ACPI_PM1_TMR;
	}
}

/* Arms the timer for the next change of bit 23 when it could raise an SCI. */
static void arm_tmr(struct acpi_pm *s)
{
	if (!(s->pm1_en & ACPI_PM1_TMR) || !(s->pm1_cnt & ACPI_PM1_SCI_EN)) {
		timer_del(s->tmr);
		return;
	}
	uint64_t next = s->tmr_epoch + 1;
	timer_mod(s->tmr, muldiv64_ceil(next << 23, 1000000000ull, ACPI_PM_TIMER_HZ));
}

static void tmr_cb(void *opaque)
{
	struct acpi_pm *s = opaque;
	tmr_catch_up(s);
	update_sci(s);
	arm_tmr(s);
}

static void sleep_request(struct acpi_pm *s, unsigned typ)
{
	if (typ == ACPI_SLP_TYP_S5) {
		if (log_on(&s->m->log, LOG_GUEST_ERRORS | LOG_CPU_RESET))
			log_printf(&s->m->log, "acpi: S5 soft-off requested; powering off\n");
		machine_request_exit(s->m, 0);
		return;
	}
	if (log_on(&s->m->log, LOG_UNIMP))
		log_printf(&s->m->log, "acpi: sleep type %u is not supported; ignored\n", typ);
}

static uint32_t reg_read(struct acpi_pm *s, unsigned off)
{
	switch (off) {
	case 0x00:
		tmr_catch_up(s);
		return s->pm1_sts;
	case 0x02: return s->pm1_en;
	case 0x04: return s->pm1_cnt;
	case 0x08: return acpi_pm_timer(s);
	case 0x20: return s->gpe_sts;
	case 0x24: return s->gpe_en;
	default: return 0;
	}
}

/* Reads byte-granular: the byte at `port` and the following size-1. */
static uint32_t pm_read(void *opaque, uint16_t port, unsigned size)
{
	struct acpi_pm *s = opaque;
	unsigned off = port - ACPI_PM_BASE;
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i, base;
		/* Registers: 16-bit at 0,2,4; 32-bit at 8, 0x20, 0x24. */
		if (o < 6)
			base = o & ~1u;
		else if (o >= 8 && o < 12)
			base = 8;
		else if (o >= 0x20 && o < 0x28)
			base = o & ~3u;
		else
			continue;
		v |= ((reg_read(s, base) >> (8 * (o - base))) & 0xff) << (8 * i);
	}
	return v;
}

static void reg_write(struct acpi_pm *s, unsigned base, uint32_t v, uint32_t mask)
{
	tmr_catch_up(s);
	switch (base) {
	case 0x00:
		s->pm1_sts &= (uint16_t)~(v & mask & PM1_STS_MASK);
		break;
	case 0x02:
		s->pm1_en = (uint16_t)((s->pm1_en & ~mask) | (v & mask & PM1_EN_MASK));
		break;
	case 0x04:
		s->pm1_cnt = (uint16_t)((s->pm1_cnt & ~(mask & PM1_CNT_MASK)) | (v & mask & PM1_CNT_MASK));
		if (v & mask & ACPI_PM1_SLP_EN)
			sleep_request(s, (s->pm1_cnt >> ACPI_PM1_SLP_TYP_SHIFT) & 7);
		break;
	case 0x20:
		s->gpe_sts &= ~(v & mask);
		break;
	case 0x24:
		s->gpe_en = (s->gpe_en & ~mask) | (v & mask);
		break;
	default:
		break;
	}
	update_sci(s);
	arm_tmr(s);
}

static void pm_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct acpi_pm *s = opaque;
	unsigned off = port - ACPI_PM_BASE;
	/* Split into per-register pieces with byte masks. */
	for (unsigned i = 0; i < size;) {
		unsigned o = off + i, base, width;
		if (o < 6)
			base = o & ~1u, width = 2;
		else if (o >= 0x20 && o < 0x28)
			base = o & ~3u, width = 4;
		else {
			i++;
			continue;
		}
		uint32_t v = 0, mask = 0;
		unsigned j = i;
		for (; j < size && off + j < base + width; j++) {
			unsigned sh = 8 * (off + j - base);
			v |= ((value >> (8 * j)) & 0xff) << sh;
			mask |= 0xffu << sh;
		}
		reg_write(s, base, v, mask);
		i = j;
	}
}

void acpi_pm_power_button(struct acpi_pm *s)
{
	tmr_catch_up(s);
	s->pm1_sts |= ACPI_PM1_PWRBTN;
	update_sci(s);
}

void acpi_pm_set_gpe(struct acpi_pm *s, int n)
{
	tmr_catch_up(s);
	if (n >= 0 && n < 32)
		s->gpe_sts |= 1u << n;
	update_sci(s);
}

void acpi_pm_reset(struct acpi_pm *s)
{
	s->pm1_sts = 0;
	s->pm1_en = 0;
	s->pm1_cnt = ACPI_PM1_SCI_EN;
	s->gpe_sts = s->gpe_en = 0;
	s->tmr_epoch = ticks(s) >> 23;
	update_sci(s);
	arm_tmr(s);
}

struct acpi_pm *acpi_pm_create(struct machine *m, struct irq sci, char *err, size_t errlen)
{
	struct acpi_pm *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory creating the ACPI PM block");
		return NULL;
	}
	s->m = m;
	s->sci = sci;
	s->tmr = timer_new(m, tmr_cb, s);
	if (machine_add_io(m, ACPI_PM_BASE, ACPI_PM_LEN, pm_read, pm_write, s, "acpi-pm") < 0) {
		snprintf(err, errlen, "cannot claim I/O ports 0x%x-0x%x for ACPI PM", ACPI_PM_BASE,
			 ACPI_PM_BASE + ACPI_PM_LEN - 1);
		free(s);
		return NULL;
	}
	acpi_pm_reset(s);
	if (machine_register_state(m, &(struct state_section){
		    .name = "acpi_pm", .version = 1, .fields = acpi_pm_fields, .base = s,
		    .post_load = acpi_pm_post_load }) < 0) {
		snprintf(err, errlen, "out of memory registering the ACPI PM state");
		free(s);
		return NULL;
	}
	return s;
}

void acpi_pm_destroy(struct acpi_pm *s)
{
	free(s);
}
