/*
 * clock.c - guest time and the machine's timer list (see clock.h).
 *
 * Time sources:
 *   CLOCK_HOST    host CLOCK_MONOTONIC minus the time spent paused (outside
 *                 machine_run) since the clock was created.
 *   CLOCK_ICOUNT  (instructions retired by the run loop, including the
 *                 current slice's progress) << shift, plus `warp`: the
 *                 time skipped while every vCPU was halted.
 *   CLOCK_MANUAL  `now`, moved only by clock_set_ns (tests).
 * Guest time never goes backwards.
 *
 * Timers: armed timers sit in a list sorted by expiry, ties in creation
 * order (so callbacks run in a reproducible order that does not depend on
 * the arming history, which a snapshot does not keep); a machine has a few
 * dozen timers at most, so insertion is linear. Every timer is also on
 * an `all` list and is freed by clock_destroy.
 *
 * Slices: clock_slice converts the time to the next deadline into an
 * instruction budget: exact with -icount, from a running estimate of the
 * emulation speed in host mode. A timer armed during a slice (a device
 * programmed by an OUT) earlier than the slice's end kicks the running
 * vCPU out of cpu_run, so the new deadline is honoured in both modes.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "machine.h"
#include "state.h"

#define HOST_IPS_GUESS 100000000ull	/* instructions per second before measuring */
#define IDLE_POLL_NS 20000000ull	/* longest idle sleep while a monitor is attached */

struct timer {
	struct clock *c;
	timer_cb cb;
	void *opaque;
	uint64_t expire;
	uint32_t seq;		/* creation order: breaks ties between equal expiries */
	bool armed;
	struct timer *next, *prev;	/* the armed list */
	struct timer *all_next;		/* every timer, for freeing */
};

struct clock {
	struct machine *m;
	enum clock_mode mode;
	unsigned shift;

	/* CLOCK_HOST */
	uint64_t host_base;	/* host ns at guest time 0 (moved by pauses) */
	bool paused;
	uint64_t paused_at;	/* guest ns while paused */
	uint64_t ips;		/* estimated instructions per host second */
	uint64_t slice_host_start;

	/* CLOCK_ICOUNT */
	uint64_t insns;		/* steps retired by finished slices */
	uint64_t warp;		/* ns skipped while idle */

	/* CLOCK_MANUAL */
	uint64_t now;

	uint64_t saved_ns;	/* snapshots: guest time at the save */
	uint32_t ntimers;	/* timers created (the next seq) */

	/* The running slice. */
	struct cpu *running;
	uint64_t running_start;	/* running->icount + extra_steps at slice start */
	uint64_t slice_end;	/* guest ns the slice is expected to end at */

	struct timer *head;	/* armed, sorted by expire */
	struct timer *all;
};

uint64_t muldiv64(uint64_t a, uint64_t b, uint64_t c)
{
	return (uint64_t)((unsigned __int128)a * b / c);
}

uint64_t muldiv64_ceil(uint64_t a, uint64_t b, uint64_t c)
{
	return (uint64_t)(((unsigned __int128)a * b + c - 1) / c);
}

static uint64_t host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_steps(const struct cpu *cpu)
{
	return cpu->icount + cpu->extra_steps;
}

static uint64_t clock_now(const struct clock *c);

/* Snapshots: the guest time is saved; loading moves the clock to it. */
static const struct state_field clock_fields[] = {
	STATE_FIELD(struct clock, saved_ns, SF_DEC), STATE_END,
};

static void clock_pre_save(void *base)
{
	struct clock *c = base;
	c->saved_ns = clock_now(c);
}

static void clock_post_load(void *base)
{
	struct clock *c = base;
	uint64_t n = c->insns;

	switch (c->mode) {
	case CLOCK_HOST:
		if (c->paused)
			c->paused_at = c->saved_ns;
		else
			c->host_base = host_ns() - c->saved_ns;
		break;
	case CLOCK_ICOUNT:	/* modular: (n << shift) + warp == saved_ns */
		if (c->running)
			n += cpu_steps(c->running) - c->running_start;
		c->warp = c->saved_ns - (n << c->shift);
		break;
	default:
		c->now = c->saved_ns;
		break;
	}
}

struct clock *clock_create(struct machine *m, enum clock_mode mode, unsigned icount_shift)
{
	struct clock *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	/* Registered first, so its post_load runs before the devices' re-arm timers. */
	if (machine_register_state(m, &(struct state_section){
		    .name = "clock", .version = 1, .fields = clock_fields, .base = c,
		    .pre_save = clock_pre_save, .post_load = clock_post_load }) < 0) {
		free(c);
		return NULL;
	}
	c->m = m;
	c->mode = mode;
	c->shift = icount_shift > 30 ? 30 : icount_shift;
	c->paused = true;
	c->paused_at = 0;
	c->ips = HOST_IPS_GUESS;
	return c;
}

void clock_destroy(struct clock *c)
{
	if (c == NULL)
		return;
	for (struct timer *t = c->all, *n; t; t = n) {
		n = t->all_next;
		free(t);
	}
	free(c);
}

enum clock_mode clock_mode(const struct machine *m)
{
	return m->clock ? m->clock->mode : CLOCK_MANUAL;
}

static uint64_t clock_now(const struct clock *c)
{
	switch (c->mode) {
	case CLOCK_HOST:
		return c->paused ? c->paused_at : host_ns() - c->host_base;
	case CLOCK_ICOUNT: {
		uint64_t n = c->insns;
		if (c->running)
			n += cpu_steps(c->running) - c->running_start;
		return (n << c->shift) + c->warp;
	}
	default:
		return c->now;
	}
}

uint64_t clock_ns(struct machine *m)
{
	return m->clock ? clock_now(m->clock) : 0;
}

void clock_resume(struct machine *m)
{
	struct clock *c = m->clock;

	if (c == NULL || !c->paused)
		return;
	c->paused = false;
	c->host_base = host_ns() - c->paused_at;
}

void clock_pause(struct machine *m)
{
	struct clock *c = m->clock;

	if (c == NULL || c->paused)
		return;
	c->paused_at = clock_now(c);
	c->paused = true;
}

/* ---- Timers ---- */

struct timer *timer_new(struct machine *m, timer_cb cb, void *opaque)
{
	struct timer *t;

	if (m->clock == NULL)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->c = m->clock;
	t->cb = cb;
	t->opaque = opaque;
	t->seq = m->clock->ntimers++;
	t->all_next = m->clock->all;
	m->clock->all = t;
	return t;
}

static void unlink_timer(struct timer *t)
{
	if (!t->armed)
		return;
	if (t->prev)
		t->prev->next = t->next;
	else
		t->c->head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->next = t->prev = NULL;
	t->armed = false;
}

void timer_del(struct timer *t)
{
	if (t)
		unlink_timer(t);
}

void timer_mod(struct timer *t, uint64_t expire_ns)
{
	struct clock *c;
	struct timer *p = NULL, *q;

	if (t == NULL)
		return;
	c = t->c;
	unlink_timer(t);
	t->expire = expire_ns;
	for (q = c->head; q && (q->expire < expire_ns || (q->expire == expire_ns && q->seq < t->seq));
	     q = q->next)
		p = q;
	t->prev = p;
	t->next = q;
	if (p)
		p->next = t;
	else
		c->head = t;
	if (q)
		q->prev = t;
	t->armed = true;
	/* A deadline inside the running slice ends the slice at once. */
	if (c->running && expire_ns < c->slice_end) {
		c->running->exit_request = 1;
		c->running->pending |= PEND_EXIT;
	}
}

bool timer_pending(const struct timer *t)
{
	return t && t->armed;
}

uint64_t timer_expire(const struct timer *t)
{
	return t ? t->expire : 0;
}

uint64_t clock_next_deadline(struct machine *m)
{
	struct clock *c = m->clock;

	return c && c->head ? c->head->expire : UINT64_MAX;
}

/* Runs the timers expired at `now`; a callback may arm timers again. */
static void run_expired(struct clock *c, uint64_t now)
{
	struct timer *t;

	while ((t = c->head) != NULL && t->expire <= now) {
		unlink_timer(t);
		t->cb(t->opaque);
	}
}

void clock_run_timers(struct machine *m)
{
	struct clock *c = m->clock;

	if (c)
		run_expired(c, clock_now(c));
}

/* Moves an icount/manual clock forward to `target`, each timer at its time. */
static void step_to(struct clock *c, uint64_t target)
{
	struct timer *t;

	while ((t = c->head) != NULL && t->expire <= target) {
		uint64_t now = clock_now(c);
		if (t->expire > now) {
			if (c->mode == CLOCK_ICOUNT)
				c->warp += t->expire - now;
			else
				c->now = t->expire;
		}
		unlink_timer(t);
		t->cb(t->opaque);
	}
	if (clock_now(c) < target) {
		if (c->mode == CLOCK_ICOUNT)
			c->warp += target - clock_now(c);
		else
			c->now = target;
	}
}

void clock_set_ns(struct machine *m, uint64_t ns)
{
	struct clock *c = m->clock;

	if (c == NULL)
		return;
	if (c->mode != CLOCK_MANUAL) {
		c->now = clock_now(c);
		c->mode = CLOCK_MANUAL;
	}
	step_to(c, ns);
}

/* ---- Slices and idling ---- */

uint64_t clock_slice(struct machine *m, struct cpu *cpu, uint64_t max)
{
	struct clock *c = m->clock;
	uint64_t budget = max, now, dl;

	if (c == NULL)
		return max;
	now = clock_now(c);
	dl = c->head ? c->head->expire : UINT64_MAX;
	if (dl != UINT64_MAX) {
		uint64_t left = dl > now ? dl - now : 0, n;
		if (c->mode == CLOCK_ICOUNT)
			n = (left + (1ull << c->shift) - 1) >> c->shift;
		else if (c->mode == CLOCK_HOST)
			n = muldiv64(left, c->ips, 1000000000ull);
		else
			n = max;
		if (n < budget)
			budget = n;
	}
	if (budget == 0)
		budget = 1;
	c->running = cpu;
	c->running_start = cpu_steps(cpu);
	if (c->mode == CLOCK_ICOUNT)
		c->slice_end = now + (budget << c->shift);
	else if (c->mode == CLOCK_HOST)
		c->slice_end = dl;	/* only earlier deadlines need a kick */
	else
		c->slice_end = UINT64_MAX;
	if (c->mode == CLOCK_HOST)
		c->slice_host_start = host_ns();
	return budget;
}

void clock_slice_end(struct machine *m, uint64_t steps)
{
	struct clock *c = m->clock;

	if (c == NULL)
		return;
	if (c->mode == CLOCK_HOST && steps >= 1000 && c->running && !c->running->halted) {
		uint64_t dt = host_ns() - c->slice_host_start;
		if (dt > 0) {
			uint64_t ips = muldiv64(steps, 1000000000ull, dt);
			c->ips = (c->ips * 3 + ips) / 4;	/* smoothed */
			if (c->ips < 1000000)
				c->ips = 1000000;
		}
	}
	c->insns += steps;
	c->running = NULL;
}

bool clock_idle(struct machine *m)
{
	struct clock *c = m->clock;
	uint64_t dl, now;

	if (c == NULL || c->head == NULL)
		return false;
	dl = c->head->expire;
	now = clock_now(c);
	if (c->mode == CLOCK_HOST) {
		if (dl > now) {
			uint64_t d = dl - now;
			if (m->monitor_poll && d > IDLE_POLL_NS)
				d = IDLE_POLL_NS;	/* the monitor polls between slices */
			struct timespec ts = { .tv_sec = (time_t)(d / 1000000000ull),
					       .tv_nsec = (long)(d % 1000000000ull) };
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		run_expired(c, clock_now(c));
	} else if (dl > now) {
		step_to(c, dl);
	} else {
		run_expired(c, now);
	}
	return true;
}
