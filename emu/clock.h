/*
 * clock.h - guest time and timers: one clock for every device.
 *
 * Guest time in nanoseconds. By default it follows the host's monotonic
 * clock from machine start (paused while the machine is stopped); with
 * -icount SHIFT it is a function of the instructions retired by all
 * vCPUs (each instruction 2^SHIFT ns), so a run is reproducible. The TSC, PIT, RTC,
 * HPET, ACPI PM timer and LAPIC timer all derive from clock_ns().
 *
 * Timers are one-shot callbacks at an absolute guest time; the run loop
 * (machine.c) runs the expired ones between CPU slices and, when every
 * vCPU is halted, sleeps (or, with -icount, jumps) to the next deadline.
 * A timer armed while a vCPU runs, earlier than the end of the current
 * slice, ends the slice early, so timers fire on time in both modes.
 * Implemented in clock.c.
 */
#ifndef NESTEMU_CLOCK_H
#define NESTEMU_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct machine;
struct timer;
struct cpu;

typedef void (*timer_cb)(void *opaque);

/* Guest time now; 0 for a machine without a clock (bare test machines). */
uint64_t clock_ns(struct machine *m);

/* A timer belongs to the machine and is freed with it. */
struct timer *timer_new(struct machine *m, timer_cb cb, void *opaque);
void timer_mod(struct timer *t, uint64_t expire_ns);	/* (re)arm at absolute time */
void timer_del(struct timer *t);			/* disarm */
bool timer_pending(const struct timer *t);
uint64_t timer_expire(const struct timer *t);

/* For the run loop: runs expired timers; the next deadline or UINT64_MAX. */
void clock_run_timers(struct machine *m);
uint64_t clock_next_deadline(struct machine *m);

/* ---- Lifecycle and the run loop (machine.c) ---- */

enum clock_mode {
	CLOCK_HOST,		/* host monotonic time, paused while stopped */
	CLOCK_ICOUNT,		/* retired instructions << shift, plus idle jumps */
	CLOCK_MANUAL,		/* tests: time moves only by clock_set_ns */
};

struct clock;

/* The machine's clock starts paused at 0; NULL when out of memory. */
struct clock *clock_create(struct machine *m, enum clock_mode mode, unsigned icount_shift);
void clock_destroy(struct clock *c);	/* frees every timer too */
enum clock_mode clock_mode(const struct machine *m);

/* machine_run brackets its work with these (host time stands still between). */
void clock_resume(struct machine *m);
void clock_pause(struct machine *m);

/*
 * Around each cpu_run: clock_slice returns how many instructions the CPU
 * may run so that the next timer is not passed (at most max, at least 1),
 * and notes that cpu is running; clock_slice_end(steps) accounts them.
 */
uint64_t clock_slice(struct machine *m, struct cpu *cpu, uint64_t max);
void clock_slice_end(struct machine *m, uint64_t steps);

/*
 * Every vCPU is halted and waits for an interrupt: sleeps until the next
 * deadline (host time; at most 20 ms while a monitor is attached, so it
 * stays responsive) or jumps to it (-icount, manual), then runs the
 * expired timers. Returns false, doing nothing, when no timer is armed.
 */
bool clock_idle(struct machine *m);

/*
 * Test hook: switches the clock to CLOCK_MANUAL and moves time forward to
 * ns, running each expired timer at its own expiry time, in order.
 */
void clock_set_ns(struct machine *m, uint64_t ns);

/* Helpers: a * b / c without overflow (floor and ceiling). */
uint64_t muldiv64(uint64_t a, uint64_t b, uint64_t c);
uint64_t muldiv64_ceil(uint64_t a, uint64_t b, uint64_t c);

#endif
