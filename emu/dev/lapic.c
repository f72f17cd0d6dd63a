/*
 * lapic.c - local APIC (xAPIC and x2APIC) per vCPU, and the APIC bus
 * (SDM Vol. 3 ch. 10).
 *
 * State per LAPIC: the 256-bit IRR/ISR/TMR, TPR (mirrored in CR8:
 * CR8[3:0] = TPR[7:4], SDM 10.8.6.1), LDR/DFR, SVR, ESR, ICR, the six
 * LVT entries of version 0x14 (timer, thermal, perf, LINT0, LINT1,
 * error) and the timer. Invariant: after every change of IRR, ISR, TPR,
 * SVR, LINT0 or the global enable, update() recomputes whether the vCPU's
 * INTR line (PEND_INTR) is asserted:
 *   - an ExtINT is pending (the 8259 output on LINT0 in ExtINT mode and
 *     unmasked, an ExtINT message, or the APIC hardware-disabled so the
 *     8259 is wired straight to the CPU), or
 *   - the APIC is software-enabled and the highest IRR vector's priority
 *     class is above the PPR's (10.8.3.1).
 * lapic_intr_ack() is the INTA cycle: the ExtINT goes to the 8259, else
 * the highest IRR bit moves to ISR. EOI clears the highest ISR bit and,
 * when its TMR bit was set, broadcasts the vector to the IOAPIC unless
 * SVR[12] suppresses it (10.8.5).
 *
 * As in QEMU, LINT0 of the bootstrap processor resets to ExtINT
 * (unmasked), the mode firmware leaves it in, and ExtINT from LINT0 is
 * accepted while the APIC is software-disabled; so the 8259 reaches the
 * BSP on a machine booted without firmware. Application processors reset
 * with every LVT masked.
 *
 * Timer (10.5.4): the count decrements at LAPIC_BUS_HZ / divisor. It is
 * not stepped: the start time and the initial count give the current
 * count, and a clock timer fires at expiry (one-shot, periodic). In
 * TSC-deadline mode (10.5.4.1) the deadline is converted to guest time at
 * LAPIC_TSC_HZ when written and fires on guest time.
 *
 * IPIs (10.6) are delivered at once: the ICR's delivery status always
 * reads idle. Lowest-priority delivery picks the addressed LAPIC with the
 * lowest TPR (first one on ties). INIT resets the target LAPIC (keeping
 * its ID) and raises PEND_INIT; SIPI reaches a vCPU in wait-for-SIPI
 * (or one with INIT still pending) through PEND_SIPI and sipi_vector.
 */
#include "lapic.h"

#include <stdlib.h>
#include <string.h>

#include "../clock.h"
#include "../machine.h"
#include "../cpu/cpuid.h"
#include "../cpu/msr.h"
#include "../cpu/system.h"
#include "../mmu/mmu.h"
#include "../state.h"

_Static_assert(LAPIC_TSC_HZ == MSR_TSC_HZ, "TSC-deadline mode assumes the TSC's rate");

/* Register offsets (xAPIC page; x2APIC MSR = 0x800 + offset / 16). */
enum {
	R_ID = 0x20, R_VER = 0x30, R_TPR = 0x80, R_APR = 0x90, R_PPR = 0xa0, R_EOI = 0xb0,
	R_RRD = 0xc0, R_LDR = 0xd0, R_DFR = 0xe0, R_SVR = 0xf0, R_ISR = 0x100, R_TMR = 0x180,
	R_IRR = 0x200, R_ESR = 0x280, R_CMCI = 0x2f0, R_ICR_LO = 0x300, R_ICR_HI = 0x310,
	R_LVT_TIMER = 0x320, R_LVT_THERMAL = 0x330, R_LVT_PERF = 0x340, R_LVT_LINT0 = 0x350,
	R_LVT_LINT1 = 0x360, R_LVT_ERROR = 0x370, R_TIMER_INIT = 0x380, R_TIMER_CUR = 0x390,
	R_TIMER_DCR = 0x3e0, R_SELF_IPI = 0x3f0,
};

enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_N };

#define LVT_MASKED (1u << 16)
#define LVT_LEVEL (1u << 15)
#define LVT_REMOTE_IRR (1u << 14)
#define LVT_PENDING (1u << 12)
#define LVT_TIMER_MODE(v) (((v) >> 17) & 3)
#define TIMER_ONESHOT 0
#define TIMER_PERIODIC 1
#define TIMER_TSC_DEADLINE 2

#define SVR_ENABLE (1u << 8)
#define SVR_EOI_SUPPRESS (1u << 12)

#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)
#define ESR_ILLEGAL_REG (1u << 7)

/* Writable bits of each LVT entry (vector, mode, mask, trigger, polarity, timer mode). */
static const uint32_t lvt_wmask[LVT_N] = {
	[LVT_TIMER] = 0x700ff, [LVT_THERMAL] = 0x107ff, [LVT_PERF] = 0x107ff,
	[LVT_LINT0] = 0x1a7ff, [LVT_LINT1] = 0x1a7ff, [LVT_ERROR] = 0x100ff,
};

struct lapic {
	struct lapic_bus *bus;
	struct cpu *cpu;
	uint32_t id;		/* xAPIC ID (bits 31:24 of the register) */
	uint32_t tpr, ldr, dfr, svr;
	uint32_t esr, esr_pending;	/* readable ESR; errors since the last ESR write */
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[LVT_N];
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t timer_init, timer_dcr;
	uint64_t timer_start;	/* guest ns the current period began */
	uint64_t tsc_deadline;	/* armed IA32_TSC_DEADLINE, 0 = disarmed */
	struct timer *timer;
	int lint[2];		/* input pin levels (LINT0: 8259 INTR, LINT1: NMI) */
	bool extint_msg;	/* an ExtINT message waits for INTA */
	bool sipi_latched;	/* a SIPI that arrived while INIT was still pending */
	uint8_t sipi_vec;
	uint64_t base;		/* page the MMIO region serves this LAPIC at */
	bool x2apic;
	uint64_t timer_at;	/* saved state: the armed timer's expiry, 0 = none */
};

#define F(m, f) STATE_FIELD(struct lapic, m, f)
#define A(m, f) STATE_ARRAY(struct lapic, m, f)
static const struct state_field lapic_fields[] = {
	F(id, SF_HEX), F(tpr, SF_HEX), F(ldr, SF_HEX), F(dfr, SF_HEX), F(svr, SF_HEX),
	F(esr, SF_HEX), F(esr_pending, SF_HEX), F(icr_lo, SF_HEX), F(icr_hi, SF_HEX),
	A(lvt, SF_HEX), A(irr, SF_HEX), A(isr, SF_HEX), A(tmr, SF_HEX),
	F(timer_init, SF_DEC), F(timer_dcr, SF_HEX), F(timer_start, SF_DEC),
	F(tsc_deadline, SF_DEC), F(timer_at, SF_DEC), A(lint, SF_DEC), F(extint_msg, SF_BOOL),
	F(sipi_latched, SF_BOOL), F(sipi_vec, SF_HEX), STATE_END,
};
#undef F
#undef A

#define MAX_BASES 4

/* One mapped xAPIC page (the MMIO region's opaque). */
struct base_map {
	struct lapic_bus *bus;
	uint64_t base;
};

struct lapic_bus {
	struct machine *m;
	struct lapic *apics[MACHINE_MAX_CPUS];
	int n;
	struct base_map mapped[MAX_BASES];	/* pages with an MMIO region */
	int nmapped;
	void (*eoi_fn)(void *opaque, int vector);
	void *eoi_opaque;
	int (*extint_ack)(void *opaque);
	void *extint_opaque;
};

static void update(struct lapic *s);
static void accept(struct lapic *s, const struct apic_msg *msg);

/* ---- bit arrays ---- */

static bool bit_test(const uint32_t *a, int v)
{
	return (a[v >> 5] >> (v & 31)) & 1;
}

static void bit_set(uint32_t *a, int v)
{
	a[v >> 5] |= 1u << (v & 31);
}

static void bit_clear(uint32_t *a, int v)
{
	a[v >> 5] &= ~(1u << (v & 31));
}

/* Highest set vector, or -1. */
static int bit_highest(const uint32_t *a)
{
	for (int i = 7; i >= 0; i--)
		if (a[i])
			return i * 32 + 31 - __builtin_clz(a[i]);
	return -1;
}

/* ---- state helpers ---- */

static bool hw_enabled(const struct lapic *s)
{
	return (s->cpu->msr.apic_base & APIC_BASE_EN) != 0;
}

static bool sw_enabled(const struct lapic *s)
{
	return (s->svr & SVR_ENABLE) != 0;
}

/* The TPR, with its priority class taken from CR8 (MOV to CR8 writes
 * only CR8; TPR[3:0] then reads 0, SDM 10.8.6.1). */
static uint32_t tpr(struct lapic *s)
{
	if ((s->tpr >> 4) != (s->cpu->cr8 & 0xf))
		s->tpr = (uint32_t)(s->cpu->cr8 & 0xf) << 4;
	return s->tpr;
}

static uint32_t ppr(struct lapic *s)
{
	uint32_t t = tpr(s);
	int isrv = bit_highest(s->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
	return (t & 0xf0) >= isr_class ? t : isr_class;
}

static uint32_t apic_id(const struct lapic *s)
{
	return s->x2apic ? s->cpu->apic_id : s->id;
}

static uint32_t ldr(const struct lapic *s)
{
	if (s->x2apic) {	/* SDM 10.12.10.2: derived from the x2APIC ID */
		uint32_t id = s->cpu->apic_id;
		return (id >> 4) << 16 | 1u << (id & 0xf);
	}
	return s->ldr;
}

static void kick(struct cpu *cpu)
{
	cpu->exit_request = 1;
}

static bool extint_pending(const struct lapic *s)
{
	uint32_t l0 = s->lvt[LVT_LINT0];
	if (!hw_enabled(s))
		return s->cpu->id == 0 && s->lint[0];
	if (s->extint_msg)
		return true;
	return s->lint[0] && !(l0 & LVT_MASKED) && ((l0 >> 8) & 7) == APIC_DM_EXTINT;
}

/* The vector the LAPIC would present, or -1 (fixed interrupts only). */
static int deliverable(struct lapic *s)
{
	int v;
	if (!hw_enabled(s) || !sw_enabled(s))
		return -1;
	v = bit_highest(s->irr);
	if (v < 0 || ((uint32_t)v & 0xf0) <= (ppr(s) & 0xf0))
		return -1;
	return v;
}

static void update(struct lapic *s)
{
	bool want = extint_pending(s) || deliverable(s) >= 0;
	bool had = (s->cpu->pending & PEND_INTR) != 0;
	cpu_set_irq_line(s->cpu, want);
	if (want && !had)
		kick(s->cpu);
}

static void set_error(struct lapic *s, uint32_t bits)
{
	uint32_t lvt = s->lvt[LVT_ERROR];
	s->esr_pending |= bits;
	if (!(lvt & LVT_MASKED))
		accept(s, &(struct apic_msg){ .vector = (uint8_t)lvt, .mode = APIC_DM_FIXED });
}

/* ---- timer ---- */

static uint64_t timer_div(const struct lapic *s)
{
	unsigned v = (s->timer_dcr & 3) | ((s->timer_dcr >> 1) & 4);
	return 1ull << ((v + 1) & 7);
}

/* Nanoseconds per count (LAPIC_BUS_HZ ticks per second, divided). */
static uint64_t count_ns(const struct lapic *s)
{
	return timer_div(s) * 1000000000ull / LAPIC_BUS_HZ;
}

static uint32_t timer_current(struct lapic *s)
{
	uint64_t el, counts;
	if (s->timer_init == 0 || LVT_TIMER_MODE(s->lvt[LVT_TIMER]) == TIMER_TSC_DEADLINE)
		return 0;
	el = clock_ns(s->bus->m) - s->timer_start;
	counts = el / count_ns(s);
	if (LVT_TIMER_MODE(s->lvt[LVT_TIMER]) == TIMER_PERIODIC)
		return s->timer_init - (uint32_t)(counts % s->timer_init);
	return counts >= s->timer_init ? 0 : s->timer_init - (uint32_t)counts;
}

static void timer_arm(struct lapic *s)
{
	if (s->timer_init == 0) {
		timer_del(s->timer);
		return;
	}
	timer_mod(s->timer, s->timer_start + (uint64_t)s->timer_init * count_ns(s));
}

static void timer_fire_vector(struct lapic *s)
{
	uint32_t lvt = s->lvt[LVT_TIMER];
	if (!(lvt & LVT_MASKED))
		accept(s, &(struct apic_msg){ .vector = (uint8_t)lvt, .mode = APIC_DM_FIXED });
}

static void lapic_timer_cb(void *opaque)
{
	struct lapic *s = opaque;
	uint64_t now = clock_ns(s->bus->m);

	switch (LVT_TIMER_MODE(s->lvt[LVT_TIMER])) {
	case TIMER_TSC_DEADLINE:
		if (s->tsc_deadline == 0)
			return;
		s->tsc_deadline = 0;
		timer_fire_vector(s);
		return;
	case TIMER_PERIODIC: {
		uint64_t period = (uint64_t)s->timer_init * count_ns(s);
		if (period == 0)
			return;
		/* Catch up whole periods (a slow host delivers one interrupt). */
		s->timer_start += period;
		if (s->timer_start + period <= now)
			s->timer_start += (now - s->timer_start) / period * period;
		timer_arm(s);
		timer_fire_vector(s);
		return;
	}
	default:
		if (s->timer_init == 0)
			return;
		timer_fire_vector(s);
		/* One-shot: the current count stays 0 (timer_current). */
		return;
	}
}

/* Re-expresses a running timer in a new divider (keeps the current count). */
static void timer_set_dcr(struct lapic *s, uint32_t dcr)
{
	uint32_t mode = LVT_TIMER_MODE(s->lvt[LVT_TIMER]);
	uint32_t cur = timer_current(s);
	uint64_t now = clock_ns(s->bus->m);
	s->timer_dcr = dcr & 0xb;
	if (s->timer_init == 0 || mode == TIMER_TSC_DEADLINE || cur == 0)
		return;
	s->timer_start = now - (uint64_t)(s->timer_init - cur) * count_ns(s);
	timer_arm(s);
}

static void tsc_deadline_write(struct lapic *s, uint64_t val)
{
	uint64_t now_tsc;
	s->tsc_deadline = val;
	if (val == 0) {
		timer_del(s->timer);
		return;
	}
	now_tsc = cpu_rdtsc(s->cpu);
	if (val <= now_tsc) {
		timer_del(s->timer);
		s->tsc_deadline = 0;
		timer_fire_vector(s);
		return;
	}
	uint64_t ticks = val - now_tsc;
	uint64_t ns = LAPIC_TSC_HZ == 1000000000ull ? ticks
		: (uint64_t)((unsigned __int128)ticks * 1000000000ull / LAPIC_TSC_HZ);
	timer_mod(s->timer, clock_ns(s->bus->m) + ns);
}

static void lvt_timer_write(struct lapic *s, uint32_t v)
{
	uint32_t old_mode = LVT_TIMER_MODE(s->lvt[LVT_TIMER]);
	uint32_t mode = LVT_TIMER_MODE(v);
	bool deadline_ok = s->cpu->model == NULL || cpu_has(s->cpu, FEAT_TSC_DEADLINE);

	if (mode == 3 || (mode == TIMER_TSC_DEADLINE && !deadline_ok))
		v &= ~(3u << 17);	/* reserved mode: treat as one-shot */
	s->lvt[LVT_TIMER] = v;
	if (LVT_TIMER_MODE(v) != old_mode) {
		/* A mode change stops the timer (SDM 10.5.4.1). */
		s->timer_init = 0;
		s->tsc_deadline = 0;
		timer_del(s->timer);
	}
}

/* ---- reset ---- */

/* INIT and power-on reset (SDM 10.4.7.3): ID kept by INIT. */
static void lapic_soft_reset(struct lapic *s, bool power_on)
{
	if (power_on)
		s->id = s->cpu->apic_id << 24;
	s->tpr = 0;
	s->cpu->cr8 = 0;
	s->ldr = 0;
	s->dfr = 0xffffffffu;
	s->svr = 0xff;
	s->esr = s->esr_pending = 0;
	s->icr_lo = s->icr_hi = 0;
	for (int i = 0; i < LVT_N; i++)
		s->lvt[i] = LVT_MASKED;
	if (s->cpu->id == 0)
		s->lvt[LVT_LINT0] = APIC_DM_EXTINT << 8;	/* virtual-wire mode, as firmware leaves it */
	memset(s->irr, 0, sizeof(s->irr));
	memset(s->isr, 0, sizeof(s->isr));
	memset(s->tmr, 0, sizeof(s->tmr));
	s->timer_init = 0;
	s->timer_dcr = 0;
	s->tsc_deadline = 0;
	s->extint_msg = false;
	s->sipi_latched = false;
	timer_del(s->timer);
	update(s);
}

/* ---- MMIO mapping ---- */

static uint64_t mmio_read(void *opaque, uint64_t offset, unsigned size);
static void mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size);

static void map_base(struct lapic_bus *bus, uint64_t base)
{
	for (int i = 0; i < bus->nmapped; i++)
		if (bus->mapped[i].base == base)
			return;
	if (bus->nmapped >= MAX_BASES) {
		log_printf(&bus->m->log, "lapic: too many distinct APIC bases; 0x%llx not mapped\n",
			   (unsigned long long)base);
		return;
	}
	bus->mapped[bus->nmapped] = (struct base_map){ bus, base };
	if (memmap_add_mmio(&bus->m->mem, base, 0x1000, mmio_read, mmio_write,
			    &bus->mapped[bus->nmapped], "lapic", 10) < 0)
		return;
	bus->nmapped++;
}

static void set_base(struct lapic *s)
{
	uint64_t base = s->cpu->msr.apic_base & ~0xfffull & ((1ull << 52) - 1);
	s->base = base;
	s->x2apic = (s->cpu->msr.apic_base & (APIC_BASE_EN | APIC_BASE_EXTD)) ==
		    (APIC_BASE_EN | APIC_BASE_EXTD);
	if (hw_enabled(s) && !s->x2apic)
		map_base(s->bus, base);
}

/* ---- the bus ---- */

static void lapic_pre_save(void *base)
{
	struct lapic *s = base;
	s->timer_at = timer_pending(s->timer) ? timer_expire(s->timer) : 0;
}

static void lapic_post_load(void *base)
{
	struct lapic *s = base;
	if (s->timer_at)
		timer_mod(s->timer, s->timer_at);
	else
		timer_del(s->timer);
	set_base(s);
	update(s);
}

struct lapic_bus *lapic_bus_create(struct machine *m, char *err, size_t errlen)
{
	struct lapic_bus *bus = calloc(1, sizeof(*bus));
	if (bus == NULL) {
		snprintf(err, errlen, "out of memory creating the local APICs");
		return NULL;
	}
	bus->m = m;
	for (int i = 0; i < m->ncpus; i++) {
		struct lapic *s = calloc(1, sizeof(*s));
		if (s == NULL) {
			snprintf(err, errlen, "out of memory creating the local APICs");
			lapic_bus_destroy(bus);
			return NULL;
		}
		s->bus = bus;
		s->cpu = m->cpus[i];
		s->timer = timer_new(m, lapic_timer_cb, s);
		m->cpus[i]->lapic = s;
		bus->apics[bus->n++] = s;
		char name[24];
		snprintf(name, sizeof(name), "lapic%d", i);
		if (machine_register_state(m, &(struct state_section){
			    .name = name, .version = 1, .fields = lapic_fields, .base = s,
			    .pre_save = lapic_pre_save, .post_load = lapic_post_load }) < 0) {
			snprintf(err, errlen, "out of memory registering the LAPIC state");
			lapic_bus_destroy(bus);
			return NULL;
		}
	}
	lapic_bus_reset(bus);
	return bus;
}

void lapic_bus_destroy(struct lapic_bus *bus)
{
	if (bus == NULL)
		return;
	for (int i = 0; i < bus->n; i++) {
		bus->apics[i]->cpu->lapic = NULL;
		free(bus->apics[i]);
	}
	free(bus);
}

void lapic_bus_reset(struct lapic_bus *bus)
{
	for (int i = 0; i < bus->n; i++) {
		struct lapic *s = bus->apics[i];
		s->lint[0] = s->lint[1] = 0;
		lapic_soft_reset(s, true);
		set_base(s);
	}
}

void lapic_bus_set_eoi_hook(struct lapic_bus *bus, void (*fn)(void *opaque, int vector),
			    void *opaque)
{
	bus->eoi_fn = fn;
	bus->eoi_opaque = opaque;
}

void lapic_bus_set_extint(struct lapic_bus *bus, int (*ack)(void *opaque), void *opaque)
{
	bus->extint_ack = ack;
	bus->extint_opaque = opaque;
}

static void lint_event(struct lapic *s, int pin, bool edge)
{
	uint32_t lvt = s->lvt[pin ? LVT_LINT1 : LVT_LINT0];
	unsigned mode = (lvt >> 8) & 7;

	if (!hw_enabled(s)) {
		/* APIC off: LINT0 is INTR, LINT1 is NMI (SDM 10.4.3). */
		if (pin == 1 && edge && s->cpu->id == 0) {
			s->cpu->pending |= PEND_NMI;
			kick(s->cpu);
		}
		update(s);
		return;
	}
	if (lvt & LVT_MASKED) {
		update(s);
		return;
	}
	switch (mode) {
	case APIC_DM_EXTINT:
		update(s);
		break;
	case APIC_DM_NMI:
		if (edge) {
			s->cpu->pending |= PEND_NMI;
			kick(s->cpu);
		}
		break;
	case APIC_DM_FIXED:
		/* Level: one interrupt per assertion while remote IRR is clear. */
		if (lvt & LVT_LEVEL) {
			if (s->lint[pin] && !(lvt & LVT_REMOTE_IRR)) {
				s->lvt[pin ? LVT_LINT1 : LVT_LINT0] |= LVT_REMOTE_IRR;
				accept(s, &(struct apic_msg){ .vector = (uint8_t)lvt, .level = true });
			}
		} else if (edge) {
			accept(s, &(struct apic_msg){ .vector = (uint8_t)lvt });
		}
		break;
	default:
		break;
	}
}

void lapic_bus_set_lint(struct lapic_bus *bus, int pin, int level)
{
	pin = pin ? 1 : 0;
	for (int i = 0; i < bus->n; i++) {
		struct lapic *s = bus->apics[i];
		bool edge = level && !s->lint[pin];
		s->lint[pin] = level != 0;
		lint_event(s, pin, edge);
	}
}

/* Does LAPIC s match the message's destination (shorthand NONE)? */
static bool dest_match(const struct lapic *s, const struct apic_msg *msg)
{
	if (!msg->logical) {
		uint32_t bcast = s->x2apic ? 0xffffffffu : 0xff;
		return msg->dest == bcast || msg->dest == apic_id(s) >> (s->x2apic ? 0 : 24);
	}
	if (s->x2apic) {
		uint32_t l = ldr(s);
		if (msg->dest == 0xffffffffu)
			return true;
		return (msg->dest >> 16) == (l >> 16) && (msg->dest & l & 0xffff);
	}
	uint8_t d = (uint8_t)msg->dest, l = (uint8_t)(s->ldr >> 24);
	if (d == 0xff)
		return true;
	if ((s->dfr >> 28) == 0xf)	/* flat model */
		return (d & l) != 0;
	/* cluster model: cluster in bits 7:4, members in 3:0 */
	return (d >> 4) == (l >> 4) && (d & l & 0xf);
}

static bool addressed(const struct lapic *s, const struct apic_msg *msg)
{
	if (!hw_enabled(s))
		return false;
	switch (msg->shorthand) {
	case APIC_SH_SELF: return s == msg->src;
	case APIC_SH_ALL: return true;
	case APIC_SH_OTHERS: return s != msg->src;
	default: return dest_match(s, msg);
	}
}

/* One LAPIC receives a message. */
static void accept(struct lapic *s, const struct apic_msg *msg)
{
	struct cpu *cpu = s->cpu;

	switch (msg->mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		if (msg->vector < 16) {
			set_error(s, ESR_RECV_ILLEGAL);
			return;
		}
		bit_set(s->irr, msg->vector);
		if (msg->level)
			bit_set(s->tmr, msg->vector);
		else
			bit_clear(s->tmr, msg->vector);
		update(s);
		break;
	case APIC_DM_SMI:
		cpu->pending |= PEND_SMI;
		kick(cpu);
		break;
	case APIC_DM_NMI:
		cpu->pending |= PEND_NMI;
		kick(cpu);
		break;
	case APIC_DM_INIT:
		if (!msg->assert)	/* INIT level de-assert: arbitration IDs only */
			return;
		lapic_soft_reset(s, false);
		cpu->pending |= PEND_INIT;
		kick(cpu);
		break;
	case APIC_DM_SIPI:
		if (cpu->pending & PEND_INIT) {
			/* The INIT is not processed yet (it clears pending SIPIs):
			 * keep the SIPI until the vCPU waits for it (lapic_poll). */
			s->sipi_latched = true;
			s->sipi_vec = msg->vector;
		} else if (cpu->sipi_wait) {
			cpu->sipi_vector = msg->vector;
			cpu->pending |= PEND_SIPI;
			kick(cpu);
		}
		break;
	case APIC_DM_EXTINT:
		s->extint_msg = true;
		update(s);
		break;
	default:
		break;
	}
}

void lapic_bus_deliver(struct lapic_bus *bus, const struct apic_msg *msg)
{
	if (msg->mode == APIC_DM_LOWEST) {
		struct lapic *best = NULL;
		for (int i = 0; i < bus->n; i++) {
			struct lapic *s = bus->apics[i];
			if (addressed(s, msg) && (best == NULL || (tpr(s) & 0xf0) < (tpr(best) & 0xf0)))
				best = s;
		}
		if (best)
			accept(best, msg);
		return;
	}
	for (int i = 0; i < bus->n; i++)
		if (addressed(bus->apics[i], msg))
			accept(bus->apics[i], msg);
}

/* ---- the CPU interface ---- */

int lapic_intr_ack(struct machine *m, struct cpu *cpu)
{
	struct lapic *s = cpu->lapic;
	struct lapic_bus *bus;
	int v;

	if (s == NULL)
		return -1;
	bus = s->bus;
	if (extint_pending(s)) {
		s->extint_msg = false;
		v = bus->extint_ack ? bus->extint_ack(bus->extint_opaque) : -1;
		update(s);
		return v;
	}
	v = deliverable(s);
	if (v >= 0) {
		bit_clear(s->irr, v);
		bit_set(s->isr, v);
	}
	update(s);
	return v;
}

void lapic_poll(struct cpu *cpu)
{
	struct lapic *s = cpu->lapic;
	if (s && s->sipi_latched && cpu->sipi_wait && !(cpu->pending & PEND_INIT)) {
		s->sipi_latched = false;
		cpu->sipi_vector = s->sipi_vec;
		cpu->pending |= PEND_SIPI;
	}
}

bool lapic_intr_pending(struct cpu *cpu)
{
	struct lapic *s = cpu->lapic;
	if (s == NULL)
		return (cpu->pending & PEND_INTR) != 0;
	return extint_pending(s) || deliverable(s) >= 0;
}

static void eoi(struct lapic *s)
{
	int v = bit_highest(s->isr);
	if (v < 0)
		return;
	bit_clear(s->isr, v);
	if (bit_test(s->tmr, v) && !(s->svr & SVR_EOI_SUPPRESS) && s->bus->eoi_fn)
		s->bus->eoi_fn(s->bus->eoi_opaque, v);
	update(s);
}

void lapic_tpr_written(struct cpu *cpu)
{
	if (cpu->lapic)
		update(cpu->lapic);
}

void lapic_base_written(struct cpu *cpu, uint64_t old)
{
	struct lapic *s = cpu->lapic;
	uint64_t now = cpu->msr.apic_base;
	if (s == NULL)
		return;
	if ((old & APIC_BASE_EN) && !(now & APIC_BASE_EN)) {
		/* Global disable resets the APIC state (SDM 10.4.3); it keeps the ID. */
		lapic_soft_reset(s, false);
	}
	if (!(old & APIC_BASE_EXTD) && (now & APIC_BASE_EXTD))
		s->id = cpu->apic_id << 24;
	set_base(s);
	update(s);
}

/* ---- registers ---- */

static void send_ipi(struct lapic *s)
{
	uint32_t lo = s->icr_lo;
	struct apic_msg msg = {
		.vector = (uint8_t)lo,
		.mode = (lo >> 8) & 7,
		.logical = (lo >> 11) & 1,
		.assert = (lo >> 14) & 1,
		.level = (lo >> 15) & 1,
		.shorthand = (lo >> 18) & 3,
		.dest = s->x2apic ? s->icr_hi : s->icr_hi >> 24,
		.src = s,
	};
	if (msg.mode == 3 || msg.mode == APIC_DM_EXTINT)	/* reserved */
		return;
	/* Fixed and lowest-priority IPIs keep edge semantics (SDM 10.6.1). */
	if (msg.mode != APIC_DM_INIT)
		msg.level = false, msg.assert = true;
	if ((msg.mode == APIC_DM_FIXED || msg.mode == APIC_DM_LOWEST) && msg.vector < 16) {
		set_error(s, ESR_SEND_ILLEGAL);
		return;
	}
	lapic_bus_deliver(s->bus, &msg);
}

uint32_t lapic_reg_read(struct lapic *s, uint32_t offset)
{
	offset &= 0xff0;
	if (offset >= R_ISR && offset < R_ISR + 0x80)
		return s->isr[(offset - R_ISR) >> 4];
	if (offset >= R_TMR && offset < R_TMR + 0x80)
		return s->tmr[(offset - R_TMR) >> 4];
	if (offset >= R_IRR && offset < R_IRR + 0x80)
		return s->irr[(offset - R_IRR) >> 4];
	if (offset >= R_LVT_TIMER && offset <= R_LVT_ERROR)
		return s->lvt[(offset - R_LVT_TIMER) >> 4];
	switch (offset) {
	case R_ID: return s->x2apic ? s->cpu->apic_id : s->id;
	case R_VER: return LAPIC_VERSION;
	case R_TPR: return tpr(s);
	case R_APR: {
		int irrv = bit_highest(s->irr), isrv = bit_highest(s->isr);
		uint32_t t = tpr(s), c = 0;
		if (irrv > isrv && irrv >= 0)
			c = (uint32_t)irrv & 0xf0;
		else if (isrv >= 0)
			c = (uint32_t)isrv & 0xf0;
		return (t & 0xf0) >= c ? t : c;
	}
	case R_PPR: return ppr(s);
	case R_LDR: return ldr(s);
	case R_DFR: return s->dfr;
	case R_SVR: return s->svr;
	case R_ESR: return s->esr;
	case R_ICR_LO: return s->icr_lo & ~(1u << 12);	/* delivery status: idle */
	case R_ICR_HI: return s->icr_hi;
	case R_TIMER_INIT: return s->timer_init;
	case R_TIMER_CUR: return timer_current(s);
	case R_TIMER_DCR: return s->timer_dcr;
	default:
		return 0;
	}
}

void lapic_reg_write(struct lapic *s, uint32_t offset, uint32_t v)
{
	offset &= 0xff0;
	if (offset >= R_LVT_TIMER && offset <= R_LVT_ERROR) {
		unsigned i = (offset - R_LVT_TIMER) >> 4;
		uint32_t keep = s->lvt[i] & LVT_REMOTE_IRR;
		v = (v & lvt_wmask[i]) | keep;
		if (!sw_enabled(s))
			v |= LVT_MASKED;	/* masks stay set while software-disabled */
		if (i == LVT_TIMER)
			lvt_timer_write(s, v);
		else
			s->lvt[i] = v;
		if (i == LVT_LINT0 || i == LVT_LINT1)
			lint_event(s, (int)(i - LVT_LINT0), false);
		return;
	}
	switch (offset) {
	case R_ID:
		if (!s->x2apic)
			s->id = v & 0xff000000u;
		break;
	case R_TPR:
		s->tpr = v & 0xff;
		s->cpu->cr8 = (v >> 4) & 0xf;
		update(s);
		break;
	case R_EOI:
		eoi(s);
		break;
	case R_LDR:
		if (!s->x2apic)
			s->ldr = v & 0xff000000u;
		break;
	case R_DFR:
		if (!s->x2apic)
			s->dfr = v | 0x0fffffffu;
		break;
	case R_SVR:
		s->svr = v & (0xff | SVR_ENABLE | SVR_EOI_SUPPRESS | (1u << 9));
		if (!sw_enabled(s))
			for (int i = 0; i < LVT_N; i++)
				s->lvt[i] |= LVT_MASKED;
		update(s);
		break;
	case R_ESR:
		s->esr = s->esr_pending;
		s->esr_pending = 0;
		break;
	case R_ICR_LO:
		s->icr_lo = v & 0x000ccfff;
		send_ipi(s);
		break;
	case R_ICR_HI:
		s->icr_hi = v & 0xff000000u;
		break;
	case R_TIMER_INIT:
		if (LVT_TIMER_MODE(s->lvt[LVT_TIMER]) == TIMER_TSC_DEADLINE)
			break;	/* ignored in TSC-deadline mode */
		s->timer_init = v;
		s->timer_start = clock_ns(s->bus->m);
		timer_arm(s);
		break;
	case R_TIMER_DCR:
		timer_set_dcr(s, v);
		break;
	case R_VER: case R_APR: case R_PPR: case R_TIMER_CUR: case R_RRD:
		break;	/* read-only */
	default:
		if (offset < R_ISR || offset >= R_ESR)
			set_error(s, ESR_ILLEGAL_REG);
		break;
	}
}

static struct lapic *current_lapic(struct lapic_bus *bus, uint64_t base)
{
	struct machine *m = bus->m;
	struct cpu *cpu = m->current ? m->current : m->cpus[0];
	struct lapic *s = cpu->lapic;
	if (s == NULL || !hw_enabled(s) || s->x2apic || s->base != base)
		return NULL;
	return s;
}

static uint64_t mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	const struct base_map *bm = opaque;
	struct lapic *s = current_lapic(bm->bus, bm->base);
	uint32_t v;
	if (s == NULL)
		return ~0ull;
	v = lapic_reg_read(s, (uint32_t)offset);
	return (v >> (8 * (offset & 3))) & (size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
}

static void mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	const struct base_map *bm = opaque;
	struct lapic *s = current_lapic(bm->bus, bm->base);
	if (s == NULL || (offset & 0xf) != 0 || size < 4)
		return;	/* only aligned 32-bit writes are defined (SDM 10.4.1) */
	lapic_reg_write(s, (uint32_t)offset, (uint32_t)value);
}

/* ---- x2APIC MSRs (SDM 10.12.1.2) ---- */

static bool x2apic_readable(uint32_t off)
{
	switch (off) {
	case R_ID: case R_VER: case R_TPR: case R_PPR: case R_LDR: case R_SVR: case R_ESR:
	case R_ICR_LO: case R_TIMER_INIT: case R_TIMER_CUR: case R_TIMER_DCR:
		return true;
	default:
		return (off >= R_ISR && off < R_ESR) || (off >= R_LVT_TIMER && off <= R_LVT_ERROR);
	}
}

int lapic_msr_read(struct cpu *cpu, uint32_t idx, uint64_t *val)
{
	struct lapic *s = cpu->lapic;
	uint32_t off;

	if (s == NULL)
		return 1;
	if (idx == MSR_TSC_DEADLINE) {
		if (cpu->model && !cpu_has(cpu, FEAT_TSC_DEADLINE))
			return -1;
		*val = LVT_TIMER_MODE(s->lvt[LVT_TIMER]) == TIMER_TSC_DEADLINE ? s->tsc_deadline : 0;
		return 0;
	}
	if (!s->x2apic)
		return -1;
	off = (idx - 0x800) << 4;
	if (!x2apic_readable(off))
		return -1;
	if (off == R_ICR_LO)
		*val = (uint64_t)s->icr_hi << 32 | (s->icr_lo & ~(1u << 12));
	else
		*val = lapic_reg_read(s, off);
	return 0;
}

int lapic_msr_write(struct cpu *cpu, uint32_t idx, uint64_t val)
{
	struct lapic *s = cpu->lapic;
	uint32_t off;

	if (s == NULL)
		return 1;
	if (idx == MSR_TSC_DEADLINE) {
		if (cpu->model && !cpu_has(cpu, FEAT_TSC_DEADLINE))
			return -1;
		if (LVT_TIMER_MODE(s->lvt[LVT_TIMER]) == TIMER_TSC_DEADLINE)
			tsc_deadline_write(s, val);
		return 0;
	}
	if (!s->x2apic)
		return -1;
	off = (idx - 0x800) << 4;
	switch (off) {
	case R_TPR: case R_SVR: case R_ESR: case R_TIMER_INIT: case R_TIMER_DCR:
		break;
	case R_EOI:
		if (val != 0)
			return -1;
		break;
	case R_ICR_LO:
		if (val & 0xfff32000ull)	/* reserved bits 13, 16, 17, 20-31 */
			return -1;
		s->icr_hi = (uint32_t)(val >> 32);
		s->icr_lo = (uint32_t)val & 0x000ccfff;
		send_ipi(s);
		return 0;
	case R_SELF_IPI:
		if (val & ~0xffull)
			return -1;
		accept(s, &(struct apic_msg){ .vector = (uint8_t)val, .mode = APIC_DM_FIXED });
		return 0;
	default:
		if (off >= R_LVT_TIMER && off <= R_LVT_ERROR)
			break;
		return -1;	/* read-only or reserved */
	}
	if (val >> 32)
		return -1;
	lapic_reg_write(s, off, (uint32_t)val);
	return 0;
}
