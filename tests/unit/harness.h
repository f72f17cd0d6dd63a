/*
 * harness.h - run instruction snippets on a real nestemu machine in tests.
 *
 *   struct th *t = th_new(TH_LONG64);          // machine + CPU in a mode
 *   th_asm(t, "mov eax, 5\n add eax, ebx");     // assemble with nasm, load
 *   t->cpu->regs[R_BX] = 7;
 *   th_run(t);                                   // runs until the code ends
 *   cr_assert_eq(t->cpu->regs[R_AX], 12);
 *   th_free(t);
 *
 * Modes set up descriptor tables and (for TH_LONG64 / TH_PROT32PG) identity
 * page tables in guest RAM below TH_CODE; code is loaded at TH_CODE and
 * followed by a HLT, so th_run() stops when the snippet falls through.
 * Exceptions are caught through the intercept hook before delivery: the
 * run stops with t->exc_vector / t->exc_error set and RIP at the faulting
 * instruction (unless t->deliver_exceptions is set, then they go to the
 * guest's IDT as usual). t->events records every virt_event seen.
 *
 * RAM is TH_RAM (64 MiB); the identity maps cover more (1 GiB in long
 * mode), and physical addresses beyond RAM read as all-ones and ignore
 * writes, as on a PC. TH_PROT16 starts with SP = 0x8000.
 */
#ifndef NESTEMU_TEST_HARNESS_H
#define NESTEMU_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu/machine.h"
#include "emu/cpu/cpu.h"
#include "emu/cpu/virt.h"

enum th_mode {
	TH_REAL,	/* real mode, CS=DS=ES=SS=0 */
	TH_PROT16,	/* protected mode, 16-bit flat segments */
	TH_PROT32,	/* protected mode, 32-bit flat segments, paging off */
	TH_PROT32PG,	/* as TH_PROT32 with 32-bit paging, identity map */
	TH_PAE32,	/* as TH_PROT32 with PAE paging, identity map */
	TH_COMPAT,	/* long mode, 32-bit compatibility code segment */
	TH_LONG64,	/* 64-bit mode, 4-level identity paging of the first 1 GiB */
};

#define TH_RAM (64ull << 20)
#define TH_CODE 0x100000ull	/* snippet load address (linear = physical) */
#define TH_DATA 0x200000ull	/* a free data area tests may use */
#define TH_STACK 0x80000ull	/* initial stack pointer (grows down) */
#define TH_MAX_EVENTS 256

struct th {
	struct machine *m;
	struct cpu *cpu;
	enum th_mode mode;
	size_t code_len;
	int exc_vector;		/* -1 when the run ended without an exception */
	uint32_t exc_error;
	bool deliver_exceptions;
	uint64_t retired;
	struct virt_event events[TH_MAX_EVENTS];
	int nevents;
	bool record_events;	/* record every event (off by default) */
	/* Optional policy: return true to stop the instruction (the harness
	 * then ends the run). */
	bool (*policy)(struct th *t, struct virt_event *ev);
};

struct th *th_new(enum th_mode mode);
void th_free(struct th *t);
/* Assembles src with nasm in the mode's bitness at TH_CODE and loads it
 * followed by HLT. Aborts the test on an assembler error. */
void th_asm(struct th *t, const char *src);
/* Loads raw bytes at TH_CODE followed by HLT. */
void th_code(struct th *t, const void *bytes, size_t len);
/* Runs from the current RIP (the code's start after th_new; a second run
 * continues where the first stopped, so reset cpu->rip to rerun) until HLT at the end, an exception, or max_insns
 * steps (default 1,000,000 when 0; see cpu_run). Returns the number of
 * instructions retired. */
uint64_t th_run_n(struct th *t, uint64_t max_insns);
static inline uint64_t th_run(struct th *t) { return th_run_n(t, 0); }
/* Guest-physical memory helpers. */
void th_poke(struct th *t, uint64_t pa, const void *buf, size_t len);
void th_peek(struct th *t, uint64_t pa, void *buf, size_t len);
uint64_t th_read(struct th *t, uint64_t pa, unsigned size);
void th_write(struct th *t, uint64_t pa, uint64_t v, unsigned size);
/* Runs fn(t, arg) with the CPU's unwinding point set, for tests that call
 * CPU or MMU functions directly. Returns the vector of a fault it raised
 * (cpu->exc_vector, error in cpu->exc_error), or -1. */
int th_try(struct th *t, void (*fn)(struct th *t, void *arg), void *arg);
/* Current arithmetic flags (materialized). */
uint64_t th_flags(struct th *t);

#endif
