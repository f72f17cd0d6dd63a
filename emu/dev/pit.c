/*
 * pit.c - Intel 8254 PIT (data sheet 231164) and port 0x61.
 *
 * Counters are analytic: nothing ticks. A running counter remembers the
 * count N it counts from and the PIT clock tick its counting started at
 * (`load`); its value and OUT at any tick follow from d = tick - load:
 *
 *   mode 0  value N-d (wraps)   OUT = d >= N          (interrupt on TC)
 *   mode 1  value N-d (wraps)   OUT = d >= N          (one-shot, from a gate edge)
 *   mode 2  value N - d%N       OUT low when d%N = N-1 (rate generator)
 *   mode 3  value N - 2d%N      OUT high for the first ceil(N/2) ticks of N
 *   mode 4  value N-d (wraps)   OUT low when d = N     (software strobe)
 *   mode 5  as 4, from a gate edge                     (hardware strobe)
 *
 * The one-clock delay between writing a count and loading it is not
 * modelled (the count loads at the write). A new count written in modes 2
 * and 3 while counting takes effect at the end of the current period;
 * modes 0 and 4 restart at once; modes 1 and 5 wait for the next gate
 * edge. Gate low pauses modes 0 and 4, stops modes 2 and 3 with OUT high
 * (a rising gate restarts them), and a rising gate triggers modes 1 and 5.
 *
 * IRQ 0 follows counter 0's OUT: a timer is armed at each OUT transition,
 * each transition is applied in order (so the PIC sees every edge), and
 * a PIT that fell more than two periods behind the clock (host stalls)
 * skips ahead instead of replaying every lost tick.
 *
 * Port 0x61: bits 0-3 are stored (gate 2, speaker data, parity and
 * IOCHK NMI enables); bit 4 toggles every 15.085 us (DRAM refresh), bit
 * 5 is OUT2; the NMI status bits 6 and 7 read 0 (no parity/IOCHK errors).
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "machine.h"
#include "state.h"
#include "dev/pit.h"

#define REFRESH_NS 15085ull

struct pit_counter {
	uint8_t mode;		/* 0-5 */
	uint8_t rw;		/* 1 LSB, 2 MSB, 3 LSB then MSB */
	bool bcd;
	bool gate;
	uint32_t count;		/* N: 1..0x10000 (binary) or 1..10000 (BCD) */
	bool counting;		/* a count is loaded in the counting element */
	bool wait_trigger;	/* modes 1/5: count written, waiting for a gate edge */
	uint64_t load;		/* tick counting started at (d = 0) */
	bool paused;		/* modes 0/4 with gate low, 2/3 stopped */
	uint64_t paused_d;
	bool pending;		/* modes 2/3: new count at pending_tick */
	uint32_t pending_count;
	uint64_t pending_tick;
	bool null_count;
	uint16_t stale;		/* value shown before the first load */
	/* register interface */
	bool write_msb;		/* rw 3: next write is the MSB */
	uint8_t write_lsb;
	bool read_msb;		/* rw 3: next live read is the MSB */
	bool count_latched;
	uint16_t latch;
	uint8_t latch_left;	/* bytes of `latch` still to read (rw 3: 2) */
	bool latch_msb;		/* next latched byte is the MSB */
	bool status_latched;
	uint8_t status;
};

struct pit {
	struct machine *m;
	struct pit_counter c[3];
	struct irq irq0;
	struct timer *timer;
	uint64_t next_tick;	/* the transition the timer is armed for */
	uint8_t port61;		/* bits 0-3 */
	bool irq0_level;	/* the level last driven on IRQ 0 */
};

static void set_irq0(struct pit *p, bool level)
{
	p->irq0_level = level;
	irq_set(&p->irq0, level);
}

static uint64_t tick_of(uint64_t ns)
{
	return muldiv64(ns, PIT_HZ, 1000000000ull);
}

static uint64_t ns_of(uint64_t tick)
{
	return muldiv64_ceil(tick, 1000000000ull, PIT_HZ);
}

static uint64_t now_tick(struct pit *p)
{
	return tick_of(clock_ns(p->m));
}

static uint32_t modulus(const struct pit_counter *c)
{
	return c->bcd ? 10000 : 0x10000;
}

static uint16_t to_bcd(uint32_t v)
{
	return (uint16_t)((v % 10) | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 | (v / 1000 % 10) << 12);
}

static uint32_t from_bcd(uint16_t v)
{
	return (v & 0xf) + (v >> 4 & 0xf) * 10 + (v >> 8 & 0xf) * 100 + (v >> 12 & 0xf) * 1000;
}

/* Applies a pending mode 2/3 reload whose time has come. */
static void apply_pending(struct pit_counter *c, uint64_t tick)
{
	if (c->pending && tick >= c->pending_tick && !c->paused) {
		c->count = c->pending_count;
		c->load = c->pending_tick;
		c->pending = false;
		c->null_count = false;
	}
}

/* Ticks since counting started, or -1 when the counter is not counting. */
static int64_t elapsed(const struct pit_counter *c, uint64_t tick)
{
	if (!c->counting)
		return -1;
	if (c->paused)
		return (int64_t)c->paused_d;
	return (int64_t)(tick - c->load);
}

static bool out_at(const struct pit_counter *c, uint64_t tick)
{
	int64_t sd = elapsed(c, tick);
	uint64_t d, n = c->count;

	if (sd < 0)
		return c->mode != 0;	/* mode 0: low after the control word */
	d = (uint64_t)sd;
	switch (c->mode) {
	case 0:
	case 1:
		return d >= n;
	case 2:
		if (c->paused || n < 2)
			return true;
		return d % n != n - 1;
	case 3:
		if (c->paused || n < 2)
			return true;
		return d % n < (n + 1) / 2;
	default:
		return d != n;
	}
}

static uint16_t value_at(const struct pit_counter *c, uint64_t tick)
{
	int64_t sd = elapsed(c, tick);
	uint64_t d, n = c->count, mod = modulus(c), v;

	if (sd < 0)
		return c->stale;
	d = (uint64_t)sd;
	switch (c->mode) {
	case 2:
		v = n - d % n;
		break;
	case 3:
		v = n - (2 * d) % n;
		break;
	default:
		v = (n + mod - d % mod) % mod;
		break;
	}
	v %= mod;	/* N = 0x10000 reads as 0 */
	return c->bcd ? to_bcd((uint32_t)v) : (uint16_t)v;
}

/* The first tick after `tick` at which OUT changes, or UINT64_MAX. */
static uint64_t next_transition(const struct pit_counter *c, uint64_t tick)
{
	int64_t sd = elapsed(c, tick);
	uint64_t d, n = c->count, r, h;

	if (sd < 0 || c->paused)
		return UINT64_MAX;
	d = (uint64_t)sd;
	switch (c->mode) {
	case 0:
	case 1:
		return d < n ? c->load + n : UINT64_MAX;
	case 2:
		if (n < 2)
			return UINT64_MAX;
		r = d % n;
		return c->load + d + (r < n - 1 ? n - 1 - r : 1);
	case 3:
		if (n < 2)
			return UINT64_MAX;
		r = d % n;
		h = (n + 1) / 2;
		return c->load + d + (r < h ? h - r : n - r);
	default:
		if (d < n)
			return c->load + n;
		return d == n ? c->load + n + 1 : UINT64_MAX;
	}
}

/* Arms IRQ 0's timer for counter 0's next transition after `tick`. */
static void schedule(struct pit *p, uint64_t tick)
{
	struct pit_counter *c = &p->c[0];
	uint64_t next = next_transition(c, tick);

	if (c->pending && c->pending_tick > tick && c->pending_tick < next)
		next = c->pending_tick;
	if (next == UINT64_MAX) {
		timer_del(p->timer);
		return;
	}
	p->next_tick = next;
	timer_mod(p->timer, ns_of(next));
}

static void update_irq(struct pit *p)
{
	uint64_t t = now_tick(p);

	apply_pending(&p->c[0], t);
	set_irq0(p, out_at(&p->c[0], t));
	schedule(p, t);
}

static void pit_timer(void *opaque)
{
	struct pit *p = opaque;
	struct pit_counter *c = &p->c[0];
	uint64_t t = p->next_tick, now = now_tick(p);

	apply_pending(c, t);
	set_irq0(p, out_at(c, t));
	if (c->counting && !c->paused && c->count > 0 && now > t + 2ull * c->count) {
		/* Far behind: continue from the present, one period at a time. */
		t = now;
		apply_pending(c, t);
	}
	schedule(p, t);
}

/* Starts counting from N at `tick` (a load into the counting element). */
static void start(struct pit_counter *c, uint64_t tick)
{
	c->counting = true;
	c->wait_trigger = false;
	c->paused = false;
	c->pending = false;
	c->load = tick;
	c->null_count = false;
	if ((c->mode == 2 || c->mode == 3 || c->mode == 0 || c->mode == 4) && !c->gate) {
		c->paused = true;
		c->paused_d = 0;
	}
}

static void write_count(struct pit *p, int n, uint32_t raw)
{
	struct pit_counter *c = &p->c[n];
	uint64_t t = now_tick(p);
	uint32_t v = c->bcd ? from_bcd((uint16_t)raw) : raw;

	if (v == 0)
		v = modulus(c);
	c->null_count = true;
	switch (c->mode) {
	case 1:
	case 5:
		c->pending_count = v;	/* loaded by the next trigger */
		if (!c->counting) {
			c->count = v;
			c->wait_trigger = true;
		}
		break;
	case 2:
	case 3:
		apply_pending(c, t);
		if (c->counting && !c->paused) {
			uint64_t d = t - c->load;
			c->pending = true;
			c->pending_count = v;
			c->pending_tick = c->load + (d / c->count + 1) * c->count;
			break;
		}
		c->count = v;
		start(c, t);
		break;
	default:
		c->count = v;
		start(c, t);
		break;
	}
	if (n == 0)
		update_irq(p);
}

static void control_word(struct pit *p, uint8_t v)
{
	int sel = v >> 6;
	uint64_t t = now_tick(p);

	if (sel == 3) {		/* read-back */
		for (int n = 0; n < 3; n++) {
			struct pit_counter *c = &p->c[n];
			if (!(v & (2u << n)))
				continue;
			apply_pending(c, t);
			if (!(v & 0x20) && !c->count_latched) {
				c->count_latched = true;
				c->latch = value_at(c, t);
				c->latch_left = c->rw == 3 ? 2 : 1;
				c->latch_msb = c->rw == 2;
			}
			if (!(v & 0x10) && !c->status_latched) {
				c->status_latched = true;
				c->status = (uint8_t)((out_at(c, t) ? 0x80 : 0) | (c->null_count ? 0x40 : 0) |
						      c->rw << 4 | c->mode << 1 | (c->bcd ? 1 : 0));
			}
		}
		return;
	}
	struct pit_counter *c = &p->c[sel];
	apply_pending(c, t);
	if ((v & 0x30) == 0) {	/* counter latch command */
		if (!c->count_latched) {
			c->count_latched = true;
			c->latch = value_at(c, t);
			c->latch_left = c->rw == 3 ? 2 : 1;
			c->latch_msb = c->rw == 2;
		}
		return;
	}
	c->stale = value_at(c, t);
	c->rw = (v >> 4) & 3;
	c->mode = (v >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;	/* x1x: modes 2 and 3 */
	c->bcd = v & 1;
	c->counting = false;
	c->wait_trigger = false;
	c->paused = false;
	c->pending = false;
	c->null_count = true;
	c->write_msb = false;
	c->read_msb = false;
	c->count_latched = false;
	c->status_latched = false;
	if (sel == 0)
		update_irq(p);
}

static uint8_t counter_read(struct pit *p, int n)
{
	struct pit_counter *c = &p->c[n];
	uint64_t t = now_tick(p);
	uint16_t v;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->count_latched) {
		uint8_t b = c->latch_msb ? (uint8_t)(c->latch >> 8) : (uint8_t)c->latch;
		c->latch_msb = !c->latch_msb;
		if (--c->latch_left == 0)
			c->count_latched = false;
		return b;
	}
	apply_pending(c, t);
	v = value_at(c, t);
	switch (c->rw) {
	case 1:
		return (uint8_t)v;
	case 2:
		return (uint8_t)(v >> 8);
	default:
		c->read_msb = !c->read_msb;
		return c->read_msb ? (uint8_t)v : (uint8_t)(v >> 8);
	}
}

static void counter_write(struct pit *p, int n, uint8_t v)
{
	struct pit_counter *c = &p->c[n];

	switch (c->rw) {
	case 1:
		write_count(p, n, v);
		break;
	case 2:
		write_count(p, n, (uint32_t)v << 8);
		break;
	case 3:
		if (!c->write_msb) {
			c->write_lsb = v;
			c->write_msb = true;
		} else {
			c->write_msb = false;
			write_count(p, n, c->write_lsb | (uint32_t)v << 8);
		}
		break;
	default:
		break;	/* no control word yet */
	}
}

void pit_set_gate(struct pit *p, int n, bool level)
{
	struct pit_counter *c = &p->c[n];
	uint64_t t = now_tick(p);

	if (c->gate == level)
		return;
	apply_pending(c, t);
	c->gate = level;
	switch (c->mode) {
	case 0:
	case 4:
		if (!c->counting)
			break;
		if (!level) {
			c->paused_d = t - c->load;
			c->paused = true;
		} else if (c->paused) {
			c->load = t - c->paused_d;
			c->paused = false;
		}
		break;
	case 2:
	case 3:
		if (!c->counting)
			break;
		if (!level) {
			c->paused_d = 0;
			c->paused = true;
		} else {
			if (c->pending) {
				c->count = c->pending_count;
				c->pending = false;
			}
			start(c, t);
		}
		break;
	default:	/* 1, 5: a rising edge (re)triggers */
		if (level && (c->counting || c->wait_trigger)) {
			c->count = c->pending_count;
			start(c, t);
		}
		break;
	}
	if (n == 0)
		update_irq(p);
}

bool pit_out(struct pit *p, int n)
{
	uint64_t t = now_tick(p);

	apply_pending(&p->c[n], t);
	return out_at(&p->c[n], t);
}

bool pit_speaker_on(const struct pit *p)
{
	return (p->port61 & 3) == 3;
}

static uint32_t pit_read(void *opaque, uint16_t port, unsigned size)
{
	struct pit *p = opaque;

	if ((port & 3) == 3)
		return 0xff;	/* the control word register cannot be read */
	return counter_read(p, port & 3);
}

static void pit_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct pit *p = opaque;

	if ((port & 3) == 3)
		control_word(p, (uint8_t)value);
	else
		counter_write(p, port & 3, (uint8_t)value);
}

static uint32_t port61_read(void *opaque, uint16_t port, unsigned size)
{
	struct pit *p = opaque;
	uint8_t v = p->port61 & 0x0f;

	if ((clock_ns(p->m) / REFRESH_NS) & 1)
		v |= 0x10;
	if (pit_out(p, 2))
		v |= 0x20;
	return v;
}

static void port61_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct pit *p = opaque;

	p->port61 = (uint8_t)(value & 0x0f);
	pit_set_gate(p, 2, value & 1);
}

static const struct state_field pit_fields[] = {
	STATE_ARRAY(struct pit, c, SF_HEX), STATE_FIELD(struct pit, next_tick, SF_DEC),
	STATE_FIELD(struct pit, port61, SF_HEX), STATE_FIELD(struct pit, irq0_level, SF_BOOL),
	STATE_END,
};

static void pit_post_load(void *base)
{
	struct pit *p = base;
	uint64_t t = now_tick(p);

	/* The line as it was (OUT is only driven onto it at the events the
	 * live PIT handles, so re-deriving it here could add an edge), and
	 * the next transition from the restored clock. */
	apply_pending(&p->c[0], t);
	irq_set(&p->irq0, p->irq0_level);
	schedule(p, t);
}

void pit_reset(struct pit *p)
{
	memset(p->c, 0, sizeof(p->c));
	for (int n = 0; n < 3; n++) {
		p->c[n].gate = n != 2;	/* gates 0 and 1 are tied high */
		p->c[n].rw = 3;
		p->c[n].mode = 3;
		p->c[n].count = 0x10000;
	}
	p->port61 = 0;
	timer_del(p->timer);
	set_irq0(p, false);
}

struct pit *pit_create(struct machine *m, struct irq irq0, char *err, size_t errlen)
{
	struct pit *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->timer = timer_new(m, pit_timer, p)) == NULL) {
		free(p);
		snprintf(err, errlen, "out of memory creating the PIT");
		return NULL;
	}
	p->m = m;
	p->irq0 = irq0;
	if (machine_add_io(m, 0x40, 4, pit_read, pit_write, p, "pit") < 0 ||
	    machine_add_io(m, 0x61, 1, port61_read, port61_write, p, "port61") < 0) {
		snprintf(err, errlen, "cannot claim the I/O ports of the PIT (0x40-0x43, 0x61)");
		free(p);
		return NULL;
	}
	pit_reset(p);
	if (machine_register_state(m, &(struct state_section){
		    .name = "pit", .version = 2, .fields = pit_fields, .base = p,
		    .post_load = pit_post_load }) < 0) {
		snprintf(err, errlen, "out of memory registering the PIT state");
		free(p);
		return NULL;
	}
	return p;
}

void pit_destroy(struct pit *p)
{
	free(p);	/* the timer belongs to the clock */
}
