/*
 * intr.h - exception and interrupt delivery (SDM Vol. 3 ch. 6, 20 for
 * real/v86 mode; Vol. 3 6.14 for IA-32e mode), double and triple faults.
 *
 * The dispatch loop calls exc_dispatch() after cpu_fault() unwound to
 * it, and intr_deliver() for external interrupts, NMIs and INT n. Both may
 * fault during delivery: that unwinds to the loop again, which calls
 * exc_dispatch() again; the SDM's table 6-5 (benign/contributory/page
 * fault classes) decides between delivering the new fault, #DF, or a
 * triple fault (machine_request_reset, or the VE_TRIPLE_FAULT intercept).
 */
#ifndef NESTEMU_INTR_H
#define NESTEMU_INTR_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

/* Event types, numbered as VMX interruption types (SDM 24.8.3). */
enum intr_type {
	IT_EXT_INTR = 0,
	IT_NMI = 2,
	IT_HW_EXC = 3,
	IT_SW_INT = 4,		/* INT n */
	IT_PRIV_SW_EXC = 5,	/* INT1 (ICEBP) */
	IT_SW_EXC = 6,		/* INT3, INTO */
};

/* True for vectors that push an error code when delivered as exceptions. */
bool exc_has_error_code(unsigned vector);

/*
 * Handles the fault recorded by cpu_fault (cpu->exc_vector, error in
 * cpu->exc_error): consults the intercept hook, classifies against a
 * fault already being delivered, and delivers the result. Called only
 * from the dispatch loop.
 */
void exc_dispatch(struct cpu *cpu);

/*
 * Delivers an event through the IDT (or IVT in real mode) with the
 * current RIP as the return address for faults and next_rip for traps
 * and software interrupts (the caller sets cpu->rip / next_rip).
 * error is NO_ERROR_CODE when none is pushed.
 */
void intr_deliver(struct cpu *cpu, unsigned vector, enum intr_type type, uint32_t error);

#endif
