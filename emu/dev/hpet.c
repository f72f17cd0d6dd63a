/*
 * hpet.c - High Precision Event Timer (IA-PC HPET 1.0a, sections 2.3
 * "register set" and 2.3.9 "timer behaviour").
 *
 * The main counter is not stepped: while GEN_CONF.ENABLE is set it is
 * base_count + (clock_ns - base_ns) / 10; when disabled it holds its
 * value (and only then may software write it). Each comparator has a
 * clock timer armed for the guest time at which the counter reaches it
 * (modulo 2^32 in 32-bit mode), re-armed whenever the counter, the
 * comparator or the configuration changes.
 *
 * On a match: a periodic timer adds its period to the comparator; a
 * level-triggered timer sets its GINTR_STA bit and holds its line high
 * until software writes 1 to the bit; an edge-triggered timer pulses its
 * line. Writing the comparator of a periodic timer with Tn_VAL_SET_CNF
 * sets comparator and period (and clears VAL_SET); without it, only the
 * period, as Linux's sequence expects.
 */
#include "hpet.h"

#include <stdlib.h>

#include "../clock.h"
#include "../machine.h"
#include "../state.h"

#define GEN_ENABLE 1ull
#define GEN_LEGACY 2ull

#define TN_LEVEL (1ull << 1)
#define TN_INT_ENB (1ull << 2)
#define TN_PERIODIC (1ull << 3)
#define TN_PER_CAP (1ull << 4)
#define TN_SIZE_CAP (1ull << 5)
#define TN_VAL_SET (1ull << 6)
#define TN_32BIT (1ull << 8)
#define TN_ROUTE_SHIFT 9
#define TN_ROUTE_MASK (0x1full << TN_ROUTE_SHIFT)
#define TN_WRITABLE (TN_LEVEL | TN_INT_ENB | TN_PERIODIC | TN_VAL_SET | TN_32BIT | TN_ROUTE_MASK)
#define TICK_NS (HPET_PERIOD_FS / 1000000ull)

struct hpet_timer {
	struct hpet *s;
	int n;
	uint64_t config;
	uint64_t cmp;
	uint64_t period;
	struct timer *t;
	int line;		/* line currently driven high (level mode), or -1 */
	uint64_t at;		/* saved state: the armed timer's expiry, 0 = none */
};

struct hpet {
	struct machine *m;
	struct irq out;
	uint64_t config;
	uint64_t isr;		/* GINTR_STA */
	uint64_t base_count;	/* counter at base_ns (or frozen value) */
	uint64_t base_ns;
	struct hpet_timer tm[HPET_TIMERS];
};

#define T(k, m, f) { "t" #k "." #m, offsetof(struct hpet, tm[k].m), STATE_MEMBER_SIZE(struct hpet, tm[k].m), 1, f }
#define TIMER_FIELDS(k) T(k, config, SF_HEX), T(k, cmp, SF_HEX), T(k, period, SF_DEC), \
	T(k, line, SF_DEC), T(k, at, SF_DEC)
static const struct state_field hpet_fields[] = {
	STATE_FIELD(struct hpet, config, SF_HEX), STATE_FIELD(struct hpet, isr, SF_HEX),
	STATE_FIELD(struct hpet, base_count, SF_DEC), STATE_FIELD(struct hpet, base_ns, SF_DEC),
	TIMER_FIELDS(0), TIMER_FIELDS(1), TIMER_FIELDS(2), STATE_END,
};
#undef T
#undef TIMER_FIELDS
_Static_assert(HPET_TIMERS == 3, "hpet_fields lists three timers");

static void hpet_pre_save(void *base)
{
	struct hpet *s = base;
	for (int i = 0; i < HPET_TIMERS; i++)
		s->tm[i].at = timer_pending(s->tm[i].t) ? timer_expire(s->tm[i].t) : 0;
}

static void hpet_post_load(void *base)
{
	struct hpet *s = base;
	for (int i = 0; i < HPET_TIMERS; i++) {
		if (s->tm[i].at)
			timer_mod(s->tm[i].t, s->tm[i].at);
		else
			timer_del(s->tm[i].t);
	}
}

static uint64_t counter(const struct hpet *s)
{
	if (!(s->config & GEN_ENABLE))
		return s->base_count;
	return s->base_count + (clock_ns(s->m) - s->base_ns) / TICK_NS;
}

static int route(const struct hpet_timer *t)
{
	if ((t->s->config & GEN_LEGACY) && t->n < 2)
		return t->n == 0 ? 0 : 8;
	return (int)((t->config & TN_ROUTE_MASK) >> TN_ROUTE_SHIFT);
}

static void set_line(struct hpet_timer *t, int line, int level)
{
	if (t->s->out.handler)
		t->s->out.handler(t->s->out.opaque, line, level);
}

/* Drops a level line this timer holds. */
static void release(struct hpet_timer *t)
{
	if (t->line >= 0) {
		set_line(t, t->line, 0);
		t->line = -1;
	}
}

static void raise_irq(struct hpet_timer *t)
{
	int line = route(t);
	if (t->config & TN_LEVEL) {
		t->s->isr |= 1ull << t->n;
		if (!(t->config & TN_INT_ENB))
			return;
		if (t->line != line)
			release(t);
		t->line = line;
		set_line(t, line, 1);
	} else if (t->config & TN_INT_ENB) {
		set_line(t, line, 1);
		set_line(t, line, 0);
	}
}

static void arm(struct hpet_timer *t)
{
	struct hpet *s = t->s;
	uint64_t now, delta;

	if (!(s->config & GEN_ENABLE)) {
		timer_del(t->t);
		return;
	}
	now = counter(s);
	if (t->config & TN_32BIT)
		delta = (uint32_t)((uint32_t)t->cmp - (uint32_t)now);
	else
		delta = t->cmp - now;
	if (delta == 0)
		delta = (t->config & TN_32BIT) ? 1ull << 32 : ~0ull;
	if (delta > (~0ull - clock_ns(s->m)) / TICK_NS) {
		timer_del(t->t);	/* beyond any reachable time */
		return;
	}
	/* The guest ns at which the counter reaches now + delta. */
	timer_mod(t->t, s->base_ns + ((now + delta) - s->base_count) * TICK_NS);
}

static void hpet_timer_cb(void *opaque)
{
	struct hpet_timer *t = opaque;
	struct hpet *s = t->s;

	if (!(s->config & GEN_ENABLE))
		return;
	if ((t->config & TN_PERIODIC) && t->period) {
		uint64_t now = counter(s);
		do {
			t->cmp += t->period;
			if (t->config & TN_32BIT)
				t->cmp = (uint32_t)t->cmp;
		} while ((t->config & TN_32BIT) ? (int32_t)((uint32_t)t->cmp - (uint32_t)now) <= 0
						 : (int64_t)(t->cmp - now) <= 0);
	}
	raise_irq(t);
	if (t->config & TN_PERIODIC)
		arm(t);
}

static void rearm_all(struct hpet *s)
{
	for (int i = 0; i < HPET_TIMERS; i++)
		arm(&s->tm[i]);
}

static uint64_t reg_read(struct hpet *s, uint64_t reg)
{
	if (reg >= 0x100 && reg < 0x100 + 0x20 * HPET_TIMERS) {
		struct hpet_timer *t = &s->tm[(reg - 0x100) / 0x20];
		switch (reg & 0x1f) {
		case 0x00:
			return t->config | (uint64_t)HPET_ROUTE_CAP << 32 | TN_PER_CAP | TN_SIZE_CAP;
		case 0x08:
			return (t->config & TN_32BIT) ? (uint32_t)t->cmp : t->cmp;
		default:
			return 0;
		}
	}
	switch (reg) {
	case 0x000: return (uint64_t)HPET_PERIOD_FS << 32 | HPET_CAP_LO;
	case 0x010: return s->config;
	case 0x020: return s->isr;
	case 0x0f0: return counter(s);
	default: return 0;
	}
}

static void reg_write(struct hpet *s, uint64_t reg, uint64_t v, uint64_t mask)
{
	uint64_t old;

	if (reg >= 0x100 && reg < 0x100 + 0x20 * HPET_TIMERS) {
		struct hpet_timer *t = &s->tm[(reg - 0x100) / 0x20];
		switch (reg & 0x1f) {
		case 0x00:
			old = t->config;
			t->config = (old & ~(mask & TN_WRITABLE)) | (v & mask & TN_WRITABLE);
			if (((t->config & TN_ROUTE_MASK) >> TN_ROUTE_SHIFT) < 32 &&
			    !((HPET_ROUTE_CAP >> ((t->config & TN_ROUTE_MASK) >> TN_ROUTE_SHIFT)) & 1))
				t->config = (t->config & ~TN_ROUTE_MASK) | (old & TN_ROUTE_MASK);
			if (t->config & TN_32BIT)
				t->cmp = (uint32_t)t->cmp, t->period = (uint32_t)t->period;
			if (!(t->config & TN_INT_ENB) || !(t->config & TN_LEVEL) || route(t) != t->line)
				release(t);
			if ((t->config & TN_LEVEL) && (t->config & TN_INT_ENB) && ((s->isr >> t->n) & 1) &&
			    t->line < 0)
				raise_irq(t);
			arm(t);
			break;
		case 0x08: {
			uint64_t nv = (t->cmp & ~mask) | (v & mask);
			if (t->config & TN_32BIT)
				nv = (uint32_t)nv;
			if (t->config & TN_PERIODIC) {
				if (t->config & TN_VAL_SET)
					t->cmp = nv;
				t->period = (t->period & ~mask) | (v & mask);
				if (t->config & TN_32BIT)
					t->period = (uint32_t)t->period;
				t->config &= ~TN_VAL_SET;
			} else {
				t->cmp = nv;
			}
			arm(t);
			break;
		}
		default:
			break;
		}
		return;
	}
	switch (reg) {
	case 0x010:
		old = s->config;
		if ((old & GEN_ENABLE) && !((v & mask) & GEN_ENABLE) && (mask & GEN_ENABLE))
			s->base_count = counter(s);	/* freeze */
		s->config = (old & ~(mask & 3)) | (v & mask & 3);
		if (!(old & GEN_ENABLE) && (s->config & GEN_ENABLE))
			s->base_ns = clock_ns(s->m);
		if ((old ^ s->config) & GEN_LEGACY)
			for (int i = 0; i < 2; i++)
				release(&s->tm[i]);
		rearm_all(s);
		break;
	case 0x020:	/* write 1 to clear */
		for (int i = 0; i < HPET_TIMERS; i++) {
			if ((v & mask) >> i & 1) {
				s->isr &= ~(1ull << i);
				release(&s->tm[i]);
			}
		}
		break;
	case 0x0f0:
		if (s->config & GEN_ENABLE)
			break;	/* writes while running are undefined: ignored */
		s->base_count = (s->base_count & ~mask) | (v & mask);
		rearm_all(s);
		break;
	default:
		break;
	}
}

uint64_t hpet_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct hpet *s = opaque;
	uint64_t v = reg_read(s, offset & ~7ull);
	v >>= 8 * (offset & 7);
	return size >= 8 ? v : v & ((1ull << (8 * size)) - 1);
}

void hpet_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct hpet *s = opaque;
	unsigned sh = 8 * (offset & 7);
	uint64_t mask = size >= 8 ? ~0ull : ((1ull << (8 * size)) - 1) << sh;
	reg_write(s, offset & ~7ull, value << sh, mask);
}

bool hpet_legacy_replacement(const struct hpet *s)
{
	return s && (s->config & GEN_LEGACY) && (s->config & GEN_ENABLE);
}

void hpet_reset(struct hpet *s)
{
	for (int i = 0; i < HPET_TIMERS; i++) {
		struct hpet_timer *t = &s->tm[i];
		release(t);
		timer_del(t->t);
		t->config = 0;
		t->cmp = ~0ull;
		t->period = 0;
	}
	s->config = 0;
	s->isr = 0;
	s->base_count = 0;
	s->base_ns = 0;
}

struct hpet *hpet_create(struct machine *m, struct irq out, char *err, size_t errlen)
{
	struct hpet *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory creating the HPET");
		return NULL;
	}
	s->m = m;
	s->out = out;
	for (int i = 0; i < HPET_TIMERS; i++) {
		s->tm[i].s = s;
		s->tm[i].n = i;
		s->tm[i].line = -1;
		s->tm[i].t = timer_new(m, hpet_timer_cb, &s->tm[i]);
	}
	if (memmap_add_mmio(&m->mem, HPET_BASE, HPET_SIZE, hpet_mmio_read, hpet_mmio_write, s,
			    "hpet", 10) < 0) {
		snprintf(err, errlen, "cannot map the HPET at 0x%llx", (unsigned long long)HPET_BASE);
		free(s);
		return NULL;
	}
	hpet_reset(s);
	if (machine_register_state(m, &(struct state_section){
		    .name = "hpet", .version = 1, .fields = hpet_fields, .base = s,
		    .pre_save = hpet_pre_save, .post_load = hpet_post_load }) < 0) {
		snprintf(err, errlen, "out of memory registering the HPET state");
		free(s);
		return NULL;
	}
	return s;
}

void hpet_destroy(struct hpet *s)
{
	free(s);
}
