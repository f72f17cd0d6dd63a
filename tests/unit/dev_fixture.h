/*
 * dev_fixture.h - a bare machine for device tests: no CPU, a manual clock
 * (time moves only by clock_set_ns, each timer runs at its own expiry),
 * and recorders for interrupt lines.
 *
 *   struct devm *d = devm_new();
 *   struct pit *p = pit_create(d->m, devm_line(d, 0), err, sizeof(err));
 *   clock_set_ns(d->m, 1000000);
 *   cr_assert_eq(d->rises[0], 1);
 *   ... pit_destroy(p); devm_free(d);
 */
#ifndef NESTEMU_TEST_DEV_FIXTURE_H
#define NESTEMU_TEST_DEV_FIXTURE_H

#include <stdlib.h>

#include "emu/clock.h"
#include "emu/machine.h"
#include "emu/state.h"
#include "emu/dev/irq.h"

#define DEVM_LINES 16

struct devm {
	struct machine *m;
	int level[DEVM_LINES];		/* current level of each recorded line */
	int rises[DEVM_LINES];		/* 0 -> 1 transitions seen */
	uint64_t last_rise[DEVM_LINES];	/* guest ns of the last rise */
};

static inline void devm_line_cb(void *opaque, int n, int level)
{
	struct devm *d = opaque;

	if (level && !d->level[n]) {
		d->rises[n]++;
		d->last_rise[n] = clock_ns(d->m);
	}
	d->level[n] = level != 0;
}

static inline struct irq devm_line(struct devm *d, int n)
{
	return (struct irq){ devm_line_cb, d, n };
}

static inline struct devm *devm_new(void)
{
	struct devm *d = calloc(1, sizeof(*d));
	struct machine *m = calloc(1, sizeof(*m));

	m->log.out = stderr;
	m->clock = clock_create(m, CLOCK_MANUAL, 0);
	d->m = m;
	return d;
}

static inline void devm_free(struct devm *d)
{
	clock_destroy(d->m->clock);
	state_registry_free(d->m->state);
	free(d->m);
	free(d);
}

static inline uint8_t devm_in(struct devm *d, uint16_t port)
{
	return (uint8_t)machine_io_in(d->m, port, 1);
}

static inline void devm_out(struct devm *d, uint16_t port, uint8_t v)
{
	machine_io_out(d->m, port, v, 1);
}

#endif
