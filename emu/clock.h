/*
 * clock.h - guest time and timers: one clock for every device.
 *
 * Guest time in nanoseconds. By default it follows the host's monotonic
 * clock from machine start (paused while the machine is stopped); with
 * -icount SHIFT it is a function of the instructions retired (each
 * instruction 2^SHIFT ns), so a run is reproducible. The TSC, PIT, RTC,
 * HPET, ACPI PM timer and LAPIC timer all derive from clock_ns().
 *
 * Timers are one-shot callbacks at an absolute guest time; the run loop
 * (machine.c) runs the expired ones between CPU slices and, when every
 * vCPU is halted, sleeps (or, with -icount, jumps) to the next deadline.
 * Implemented in clock.c.
 */
#ifndef NESTEMU_CLOCK_H
#define NESTEMU_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct machine;
struct timer;

typedef void (*timer_cb)(void *opaque);

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

#endif
