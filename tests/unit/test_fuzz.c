/*
 * test_fuzz.c - random instruction streams in every mode. The only
 * assertion that matters is implicit: whatever the guest executes, the
 * emulator neither crashes, hangs, nor touches memory outside guest RAM
 * (run under `make asan` / `make ubsan` to check the last). Each stream
 * runs with exceptions delivered to the guest's own (random or empty)
 * IDT, so faults during delivery, double faults and triple faults are
 * exercised too. NESTEMU_FUZZ_ROUNDS raises the number of streams;
 * NESTEMU_FUZZ_FIRST starts at a given round to reproduce a failure.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "harness.h"

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fuzz_mode(enum th_mode mode, uint64_t seed, int rounds)
{
	const char *first = getenv("NESTEMU_FUZZ_FIRST");	/* reproduce one round */
	for (int r = first ? atoi(first) : 0; r < rounds; r++) {
		uint64_t s = seed * 0x9e3779b97f4a7c15ull + (uint64_t)r + 1;
		struct th *t = th_new(mode);
		uint8_t code[512];
		for (unsigned k = 0; k < sizeof(code); k++) {
			uint64_t v = rng_next(&s);
			/* Bias towards prefixes, escapes and ModRM-heavy bytes. */
			static const uint8_t hot[] = { 0x0f, 0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x48, 0x41, 0xc4, 0xc5, 0x62, 0x8f };
			code[k] = (v & 7) == 0 ? hot[(v >> 8) % sizeof(hot)] : (uint8_t)(v >> 16);
		}
		th_code(t, code, sizeof(code));
		for (int g = 0; g < 16; g++)
			if (g != R_SP)
				t->cpu->regs[g] = (rng_next(&s) & 1) ? rng_next(&s) : rng_next(&s) & 0x3fffff;
		t->deliver_exceptions = (r & 1) != 0;
		th_run_n(t, 2000);
		th_free(t);
	}
}

static int rounds(void)
{
	const char *e = getenv("NESTEMU_FUZZ_ROUNDS");
	return e ? atoi(e) : 150;
}

Test(fuzz, real) { fuzz_mode(TH_REAL, 1, rounds()); }
Test(fuzz, prot16) { fuzz_mode(TH_PROT16, 2, rounds()); }
Test(fuzz, prot32) { fuzz_mode(TH_PROT32, 3, rounds()); }
Test(fuzz, prot32_paging) { fuzz_mode(TH_PROT32PG, 4, rounds()); }
Test(fuzz, pae) { fuzz_mode(TH_PAE32, 5, rounds()); }
Test(fuzz, compat) { fuzz_mode(TH_COMPAT, 6, rounds()); }
Test(fuzz, long64) { fuzz_mode(TH_LONG64, 7, rounds()); }
