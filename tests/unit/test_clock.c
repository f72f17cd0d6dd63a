/*
 * test_clock.c - guest time and timers: ordering, re-arming, deletion,
 * manual stepping, icount time and slices, and the run loop's handling
 * of a halted CPU (jump to the next timer with -icount; "halted" only
 * with no timer or interrupts off).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "dev_fixture.h"
#include "emu/loader.h"

struct rec {
	struct devm *d;
	int log[32];
	uint64_t at[32];
	int n;
	struct timer *rearm;	/* re-armed +100 ns while count < limit */
	int limit;
};

struct cbarg {
	struct rec *r;
	int id;
};

static void rec_cb(void *opaque)
{
	struct cbarg *a = opaque;
	struct rec *r = a->r;

	r->log[r->n] = a->id;
	r->at[r->n] = clock_ns(r->d->m);
	r->n++;
	if (r->rearm && a->id == 9 && r->n < r->limit)
		timer_mod(r->rearm, clock_ns(r->d->m) + 100);
}

Test(clock, timers_run_in_expiry_order_at_their_time)
{
	struct devm *d = devm_new();
	struct rec r = { .d = d };
	struct cbarg a[4] = { { &r, 0 }, { &r, 1 }, { &r, 2 }, { &r, 3 } };
	struct timer *t[4];
	static const uint64_t when[4] = { 500, 100, 300, 300 };

	for (int k = 0; k < 4; k++) {
		t[k] = timer_new(d->m, rec_cb, &a[k]);
		timer_mod(t[k], when[k]);
	}
	cr_assert_eq(clock_next_deadline(d->m), 100);
	cr_assert(timer_pending(t[0]));
	cr_assert_eq(timer_expire(t[2]), 300);
	clock_set_ns(d->m, 299);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.log[0], 1);
	cr_assert_eq(r.at[0], 100, "a timer runs at its own expiry time");
	clock_set_ns(d->m, 1000);
	cr_assert_eq(r.n, 4);
	cr_assert_eq(r.log[1], 2, "ties run in arming order");
	cr_assert_eq(r.log[2], 3);
	cr_assert_eq(r.log[3], 0);
	cr_assert_eq(r.at[3], 500);
	cr_assert_eq(clock_ns(d->m), 1000);
	cr_assert_not(timer_pending(t[0]));
	cr_assert_eq(clock_next_deadline(d->m), UINT64_MAX);
	devm_free(d);
}

Test(clock, mod_moves_and_del_disarms)
{
	struct devm *d = devm_new();
	struct rec r = { .d = d };
	struct cbarg a = { &r, 7 }, b = { &r, 8 };
	struct timer *t = timer_new(d->m, rec_cb, &a), *u = timer_new(d->m, rec_cb, &b);

	timer_mod(t, 1000);
	timer_mod(u, 2000);
	timer_mod(t, 3000);	/* moved behind u */
	cr_assert_eq(clock_next_deadline(d->m), 2000);
	timer_del(u);
	timer_del(u);		/* twice is harmless */
	cr_assert_eq(clock_next_deadline(d->m), 3000);
	clock_set_ns(d->m, 2500);
	cr_assert_eq(r.n, 0);
	clock_run_timers(d->m);
	cr_assert_eq(r.n, 0);
	clock_set_ns(d->m, 3000);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.log[0], 7);
	devm_free(d);
}

Test(clock, callback_can_rearm)
{
	struct devm *d = devm_new();
	struct rec r = { .d = d, .limit = 5 };
	struct cbarg a = { &r, 9 };
	struct timer *t = timer_new(d->m, rec_cb, &a);

	r.rearm = t;
	timer_mod(t, 50);
	clock_set_ns(d->m, 10000);
	cr_assert_eq(r.n, 5);
	for (int k = 0; k < 5; k++)
		cr_assert_eq(r.at[k], 50 + 100 * (uint64_t)k);
	devm_free(d);
}

Test(clock, muldiv_helpers)
{
	cr_assert_eq(muldiv64(1000000000ull, 1193182, 1000000000ull), 1193182);
	cr_assert_eq(muldiv64(~0ull, 3, 3), ~0ull, "no overflow in the product");
	cr_assert_eq(muldiv64_ceil(1, 1000000000ull, 1193182), 839);
	cr_assert_eq(muldiv64(1, 1000000000ull, 1193182), 838);
}

/* A machine running code at the reset vector with -icount. */
static struct machine *icount_machine(const uint8_t *code, size_t len, unsigned shift,
				      uint64_t limit)
{
	struct machine_config cfg = { .ram_size = 16 << 20, .ncpus = 1, .icount = true,
				      .icount_shift = shift, .icount_limit = limit };
	char err[256] = "";
	struct machine *m = machine_create(&cfg, err, sizeof(err));
	uint8_t *rom = malloc(0x10000);

	cr_assert_not_null(m, "%s", err);
	memset(rom, 0xf4, 0x10000);
	memcpy(rom + 0xfff0, code, len);
	cr_assert_eq(loader_map_bios(m, rom, 0x10000, err, sizeof(err)), 0, "%s", err);
	free(rom);
	machine_reset(m);
	return m;
}

Test(clock, icount_time_is_instructions_shifted)
{
	static const uint8_t code[] = { 0xeb, 0xfe };	/* jmp $ */
	struct machine *m = icount_machine(code, sizeof(code), 3, 1000);

	cr_assert_eq(clock_mode(m), CLOCK_ICOUNT);
	cr_assert_eq(clock_ns(m), 0);
	cr_assert_eq(machine_run(m), STOP_ICOUNT);
	cr_assert_eq(clock_ns(m), 8000, "1000 instructions << 3");
	machine_destroy(m);
}

struct fire {
	struct machine *m;
	uint64_t at;
	uint64_t icount_at;
};

static void fire_cb(void *opaque)
{
	struct fire *f = opaque;
	f->at = clock_ns(f->m);
	f->icount_at = machine_icount(f->m);
}

Test(clock, icount_slices_end_at_the_deadline)
{
	static const uint8_t code[] = { 0xeb, 0xfe };
	struct machine *m = icount_machine(code, sizeof(code), 1, 100000);
	struct fire f = { .m = m };
	struct timer *t = timer_new(m, fire_cb, &f);

	timer_mod(t, 2 * 777);
	cr_assert_eq(machine_run(m), STOP_ICOUNT);
	cr_assert_eq(f.icount_at, 777, "the slice ends exactly at the timer");
	cr_assert_eq(f.at, 1554);
	machine_destroy(m);
}

static void exit_cb(void *opaque)
{
	struct fire *f = opaque;
	fire_cb(f);
	machine_request_exit(f->m, 0x42);
}

Test(clock, halted_cpu_jumps_to_the_next_timer)
{
	/* sti; hlt: the clock jumps to the timer, whose callback ends the run. */
	static const uint8_t code[] = { 0xfb, 0xf4 };
	struct machine *m = icount_machine(code, sizeof(code), 0, 0);
	struct fire f = { .m = m };
	struct timer *t = timer_new(m, exit_cb, &f);

	timer_mod(t, 5000000);	/* 5 ms */
	cr_assert_eq(machine_run(m), STOP_EXIT);
	cr_assert_eq(m->exit_status, 0x42);
	cr_assert_eq(f.at, 5000000, "idle time jumps to the deadline");
	cr_assert_eq(f.icount_at, 2, "no instruction ran while halted");
	machine_destroy(m);
}

Test(clock, host_time_pauses_outside_run)
{
	struct machine_config cfg = { .ram_size = 16 << 20, .ncpus = 1 };
	char err[256];
	struct machine *m = machine_create(&cfg, err, sizeof(err));

	cr_assert_not_null(m);
	cr_assert_eq(clock_mode(m), CLOCK_HOST);
	cr_assert_eq(clock_ns(m), 0, "the clock starts paused at 0");
	clock_resume(m);
	uint64_t a = clock_ns(m);
	for (volatile int k = 0; k < 1000000; k++)
		;
	uint64_t b = clock_ns(m);
	cr_assert_gt(b, a);
	clock_pause(m);
	uint64_t c = clock_ns(m);
	for (volatile int k = 0; k < 1000000; k++)
		;
	cr_assert_eq(clock_ns(m), c, "paused");
	clock_resume(m);
	cr_assert_geq(clock_ns(m), c);
	cr_assert_lt(clock_ns(m) - c, 100000000ull, "the pause is not counted");
	machine_destroy(m);
}
