/*
 * test_string.c - MOVS, STOS, LODS, CMPS, SCAS with and without
 * REP/REPE/REPNE: every element size, both directions, 16/32/64-bit
 * address sizes, the source segment override, faults partway through a
 * REP (registers show the progress), overlapping moves, long moves that
 * span many pages and chunks (retiring as one instruction), and a REP
 * MOVS that overwrites the code after it.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "emu/cpu/cpu.h"
#include "emu/mmu/mmu.h"

static uint64_t org_of(enum th_mode m)
{
	return m == TH_REAL ? 0x10 : m == TH_PROT16 ? 0 : TH_CODE;
}

static void run_asm(struct th *t, const char *src)
{
	th_asm(t, src);
	t->cpu->rip = org_of(t->mode);
	th_run(t);
}

static uint64_t wmask(unsigned w)
{
	return w == 8 ? ~0ull : (1ull << (8 * w)) - 1;
}

static void set_df(struct th *t, bool df)
{
	cpu_set_rflags(t->cpu, df ? FL_DF : 0, FL_DF);
}

/* The six flags of a - b at width w (reference). */
static uint64_t sub_flags(uint64_t a, uint64_t b, unsigned w)
{
	uint64_t m = wmask(w);
	a &= m;
	b &= m;
	uint64_t r = (a - b) & m;
	unsigned top = 8 * w - 1;
	uint64_t f = 0;
	if (a < b) f |= FL_CF;
	if (r == 0) f |= FL_ZF;
	if ((r >> top) & 1) f |= FL_SF;
	if ((((a ^ b) & (a ^ r)) >> top) & 1) f |= FL_OF;
	if ((a ^ b ^ r) & 0x10) f |= FL_AF;
	if (!__builtin_parity((unsigned)(r & 0xff))) f |= FL_PF;
	return f;
}

static uint8_t pat_s(uint64_t k) { return (uint8_t)(k * 7 + 3); }
static uint8_t pat_d(uint64_t k) { return (uint8_t)(k * 5 + 0x81); }

static uint64_t read_le(const uint8_t *p, unsigned w)
{
	uint64_t v = 0;
	for (unsigned k = 0; k < w; k++)
		v |= (uint64_t)p[k] << (8 * k);
	return v;
}

TestSuite(string);

/* One iteration of each instruction in each size, direction and mode. */
struct sop_case {
	enum th_mode mode;
	const char *src;
	char kind;		/* m movs, s stos, l lods, c cmps, a scas */
	unsigned w;
};

Test(string, single_iteration_each_form)
{
	static const struct sop_case cases[] = {
		{ TH_REAL, "movsb", 'm', 1 }, { TH_REAL, "movsw", 'm', 2 }, { TH_REAL, "movsd", 'm', 4 },
		{ TH_REAL, "stosb", 's', 1 }, { TH_REAL, "stosw", 's', 2 }, { TH_REAL, "stosd", 's', 4 },
		{ TH_REAL, "lodsb", 'l', 1 }, { TH_REAL, "lodsw", 'l', 2 }, { TH_REAL, "lodsd", 'l', 4 },
		{ TH_REAL, "cmpsb", 'c', 1 }, { TH_REAL, "cmpsw", 'c', 2 }, { TH_REAL, "cmpsd", 'c', 4 },
		{ TH_REAL, "scasb", 'a', 1 }, { TH_REAL, "scasw", 'a', 2 }, { TH_REAL, "scasd", 'a', 4 },
		{ TH_PROT32, "movsb", 'm', 1 }, { TH_PROT32, "movsw", 'm', 2 }, { TH_PROT32, "movsd", 'm', 4 },
		{ TH_PROT32, "stosb", 's', 1 }, { TH_PROT32, "stosw", 's', 2 }, { TH_PROT32, "stosd", 's', 4 },
		{ TH_PROT32, "lodsb", 'l', 1 }, { TH_PROT32, "lodsw", 'l', 2 }, { TH_PROT32, "lodsd", 'l', 4 },
		{ TH_PROT32, "cmpsb", 'c', 1 }, { TH_PROT32, "cmpsw", 'c', 2 }, { TH_PROT32, "cmpsd", 'c', 4 },
		{ TH_PROT32, "scasb", 'a', 1 }, { TH_PROT32, "scasw", 'a', 2 }, { TH_PROT32, "scasd", 'a', 4 },
		{ TH_LONG64, "movsb", 'm', 1 }, { TH_LONG64, "movsw", 'm', 2 }, { TH_LONG64, "movsd", 'm', 4 },
		{ TH_LONG64, "movsq", 'm', 8 }, { TH_LONG64, "stosb", 's', 1 }, { TH_LONG64, "stosw", 's', 2 },
		{ TH_LONG64, "stosd", 's', 4 }, { TH_LONG64, "stosq", 's', 8 }, { TH_LONG64, "lodsb", 'l', 1 },
		{ TH_LONG64, "lodsw", 'l', 2 }, { TH_LONG64, "lodsd", 'l', 4 }, { TH_LONG64, "lodsq", 'l', 8 },
		{ TH_LONG64, "cmpsb", 'c', 1 }, { TH_LONG64, "cmpsw", 'c', 2 }, { TH_LONG64, "cmpsd", 'c', 4 },
		{ TH_LONG64, "cmpsq", 'c', 8 }, { TH_LONG64, "scasb", 'a', 1 }, { TH_LONG64, "scasw", 'a', 2 },
		{ TH_LONG64, "scasd", 'a', 4 }, { TH_LONG64, "scasq", 'a', 8 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct sop_case *c = &cases[k];
		for (int df = 0; df < 2; df++) {
			struct th *t = th_new(c->mode);
			uint64_t S = c->mode == TH_REAL ? 0x4000 : TH_DATA;
			uint64_t D = c->mode == TH_REAL ? 0x6000 : TH_DATA + 0x3000;
			uint8_t sb[32], db[32];
			for (unsigned j = 0; j < 32; j++) {
				sb[j] = pat_s(j);
				db[j] = pat_d(j);
			}
			th_poke(t, S - 16, sb, 32);
			th_poke(t, D - 16, db, 32);
			const uint64_t rax = 0x8877665544332211ull;
			t->cpu->regs[R_SI] = S;
			t->cpu->regs[R_DI] = D;
			t->cpu->regs[R_AX] = rax;
			t->cpu->regs[R_CX] = 0x1234;
			set_df(t, df);
			cpu_set_rflags(t->cpu, 0, FL_ARITH);
			run_asm(t, c->src);
			struct cpu *cpu = t->cpu;
			const char *n = c->src;
			cr_assert_eq(t->exc_vector, -1, "%s", n);
			uint64_t sval = read_le(sb + 16, c->w), dval = read_le(db + 16, c->w);
			uint8_t after[32];
			th_peek(t, D - 16, after, 32);
			int64_t step = df ? -(int64_t)c->w : (int64_t)c->w;
			bool uses_si = c->kind == 'm' || c->kind == 'l' || c->kind == 'c';
			bool uses_di = c->kind != 'l';
			cr_assert_eq(cpu->regs[R_SI], S + (uses_si ? step : 0), "%s df %d: SI", n, df);
			cr_assert_eq(cpu->regs[R_DI], D + (uses_di ? step : 0), "%s df %d: DI", n, df);
			cr_assert_eq(cpu->regs[R_CX], 0x1234, "%s: CX unchanged without REP", n);
			switch (c->kind) {
			case 'm':
				cr_assert_eq(read_le(after + 16, c->w), sval, "%s df %d", n, df);
				break;
			case 's':
				cr_assert_eq(read_le(after + 16, c->w), rax & wmask(c->w), "%s df %d", n, df);
				break;
			case 'l': {
				uint64_t want = c->w == 4 ? sval : (rax & ~wmask(c->w)) | sval;
				cr_assert_eq(cpu->regs[R_AX], want, "%s df %d: %llx", n, df,
					     (unsigned long long)cpu->regs[R_AX]);
				break;
			}
			case 'c':
				cr_assert_eq(th_flags(t) & FL_ARITH, sub_flags(sval, dval, c->w), "%s df %d", n, df);
				break;
			case 'a':
				cr_assert_eq(th_flags(t) & FL_ARITH, sub_flags(rax, dval, c->w), "%s df %d", n, df);
				break;
			}
			if (c->kind != 'm' && c->kind != 's')
				cr_assert_eq(memcmp(after, db, 32), 0, "%s: memory untouched", n);
			else
				cr_assert_eq(memcmp(after + 16 + c->w, db + 16 + c->w, 16 - c->w), 0,
					     "%s: only w bytes written", n);
			th_free(t);
		}
	}
}

/* CMPS/SCAS flags over boundary values in each width. */
Test(string, compare_flags_boundaries)
{
	static const uint64_t vals[] = {
		0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000ull,
		0xffffffffull, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, 0x10, 0x0f,
	};
	static const char *const scas[] = { "scasb", "scasw", "scasd", "scasq" };
	static const char *const cmps[] = { "cmpsb", "cmpsw", "cmpsd", "cmpsq" };
	struct th *t = th_new(TH_LONG64);
	for (unsigned sz = 0; sz < 4; sz++) {
		unsigned w = 1u << sz;
		for (int form = 0; form < 2; form++) {
			th_asm(t, form ? cmps[sz] : scas[sz]);
			for (unsigned a = 0; a < sizeof(vals) / sizeof(vals[0]); a++) {
				for (unsigned b = 0; b < sizeof(vals) / sizeof(vals[0]); b++) {
					th_write(t, TH_DATA, vals[a], 8);
					th_write(t, TH_DATA + 0x100, vals[b], 8);
					t->cpu->regs[R_AX] = vals[a];
					t->cpu->regs[R_SI] = TH_DATA;
					t->cpu->regs[R_DI] = TH_DATA + 0x100;
					t->cpu->rip = TH_CODE;
					th_run(t);
					cr_assert_eq(th_flags(t) & FL_ARITH, sub_flags(vals[a], vals[b], w),
						     "%s %llx - %llx", form ? cmps[sz] : scas[sz],
						     (unsigned long long)vals[a], (unsigned long long)vals[b]);
				}
			}
		}
	}
	th_free(t);
}

/* REP forms: count, direction, final registers and memory. */
struct rep_case {
	enum th_mode mode;
	const char *src;
	char kind;
	unsigned w;
	uint64_t count;
	bool df;
};

Test(string, rep_each_form)
{
	static const struct rep_case cases[] = {
		{ TH_PROT32, "rep movsb", 'm', 1, 37, false }, { TH_PROT32, "rep movsw", 'm', 2, 37, false },
		{ TH_PROT32, "rep movsd", 'm', 4, 37, false }, { TH_PROT32, "rep movsb", 'm', 1, 37, true },
		{ TH_PROT32, "rep movsd", 'm', 4, 37, true }, { TH_PROT32, "rep movsb", 'm', 1, 0, false },
		{ TH_PROT32, "db 0xf2, 0xa4", 'm', 1, 9, false },	/* REPNE MOVSB = REP */
		{ TH_PROT32, "rep stosb", 's', 1, 37, false }, { TH_PROT32, "rep stosw", 's', 2, 37, true },
		{ TH_PROT32, "rep stosd", 's', 4, 37, false }, { TH_PROT32, "rep stosd", 's', 4, 37, true },
		{ TH_PROT32, "rep lodsb", 'l', 1, 37, false }, { TH_PROT32, "rep lodsd", 'l', 4, 5, true },
		{ TH_LONG64, "rep movsq", 'm', 8, 600, false }, { TH_LONG64, "rep movsq", 'm', 8, 600, true },
		{ TH_LONG64, "rep movsb", 'm', 1, 5000, false }, { TH_LONG64, "rep stosq", 's', 8, 600, false },
		{ TH_LONG64, "rep stosq", 's', 8, 600, true }, { TH_LONG64, "rep stosb", 's', 1, 5000, false },
		{ TH_LONG64, "rep lodsq", 'l', 8, 3, false }, { TH_LONG64, "rep movsw", 'm', 2, 2049, false },
		{ TH_REAL, "rep movsb", 'm', 1, 100, false }, { TH_REAL, "rep movsw", 'm', 2, 100, true },
		{ TH_REAL, "rep stosw", 's', 2, 100, false }, { TH_REAL, "rep movsd", 'm', 4, 100, false },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct rep_case *c = &cases[k];
		struct th *t = th_new(c->mode);
		bool real = c->mode == TH_REAL;
		uint64_t S = real ? 0x4000 : TH_DATA + 0x123;
		uint64_t D = real ? 0x8000 : TH_DATA + 0x20000 + 0x57;
		size_t span = c->count * c->w + 64;
		uint64_t sbase = c->df ? S - span + c->w + 32 : S - 32;
		uint64_t dbase = c->df ? D - span + c->w + 32 : D - 32;
		uint8_t *sb = malloc(span), *db = malloc(span), *after = malloc(span);
		for (size_t j = 0; j < span; j++) {
			sb[j] = pat_s(j);
			db[j] = pat_d(j);
		}
		th_poke(t, sbase, sb, span);
		th_poke(t, dbase, db, span);
		const uint64_t rax = 0x8877665544332211ull;
		t->cpu->regs[R_SI] = S;
		t->cpu->regs[R_DI] = D;
		t->cpu->regs[R_AX] = rax;
		t->cpu->regs[R_CX] = c->count;
		set_df(t, c->df);
		run_asm(t, c->src);
		cr_assert_eq(t->exc_vector, -1, "case %u", k);
		int64_t step = c->df ? -(int64_t)c->w : (int64_t)c->w;
		int64_t moved = step * (int64_t)c->count;
		cr_assert_eq(t->cpu->regs[R_CX], 0, "case %u", k);
		cr_assert_eq(t->cpu->regs[R_SI], S + (c->kind == 's' ? 0 : moved), "case %u: SI", k);
		cr_assert_eq(t->cpu->regs[R_DI], D + (c->kind == 'l' ? 0 : moved), "case %u: DI", k);
		/* Expected destination image. */
		uint8_t *want = malloc(span);
		memcpy(want, db, span);
		for (uint64_t e = 0; e < c->count; e++) {
			uint64_t soff = (S + e * step) - sbase, doff = (D + e * step) - dbase;
			for (unsigned b = 0; b < c->w; b++) {
				if (c->kind == 'm')
					want[doff + b] = sb[soff + b];
				else if (c->kind == 's')
					want[doff + b] = (uint8_t)(rax >> (8 * b));
			}
		}
		th_peek(t, dbase, after, span);
		cr_assert_eq(memcmp(after, want, span), 0, "case %u (%s): destination image", k, c->src);
		if (c->kind == 'l' && c->count) {
			uint64_t last = read_le(sb + (S + (c->count - 1) * step - sbase), c->w);
			uint64_t exp = c->w == 4 ? last : c->w == 8 ? last : (rax & ~wmask(c->w)) | last;
			cr_assert_eq(t->cpu->regs[R_AX], exp, "case %u: last element loaded", k);
		}
		free(sb);
		free(db);
		free(after);
		free(want);
		th_free(t);
	}
}

/* REPE CMPS / REPNE SCAS stop on the condition; count 0 does nothing. */
Test(string, repe_repne_termination)
{
	struct th *t = th_new(TH_PROT32);
	const char a[] = "hello, world!", b[] = "hello, wormy!";
	th_poke(t, TH_DATA, a, sizeof(a));
	th_poke(t, TH_DATA + 0x100, b, sizeof(b));
	/* repe cmpsb: mismatch at index 10 ('l' vs 'm') */
	t->cpu->regs[R_SI] = TH_DATA;
	t->cpu->regs[R_DI] = TH_DATA + 0x100;
	t->cpu->regs[R_CX] = sizeof(a);
	run_asm(t, "repe cmpsb");
	cr_assert_eq(t->cpu->regs[R_CX], sizeof(a) - 11);
	cr_assert_eq(t->cpu->regs[R_SI], TH_DATA + 11);
	cr_assert_eq(t->cpu->regs[R_DI], TH_DATA + 0x100 + 11);
	cr_assert_eq(th_flags(t) & FL_ARITH, sub_flags('l', 'm', 1));
	/* repe cmpsb on equal strings runs out the count with ZF = 1 */
	t->cpu->regs[R_SI] = TH_DATA;
	t->cpu->regs[R_DI] = TH_DATA;
	t->cpu->regs[R_CX] = 5;
	run_asm(t, "repe cmpsb");
	cr_assert_eq(t->cpu->regs[R_CX], 0);
	cr_assert(th_flags(t) & FL_ZF);
	/* repne cmpsb stops at the first equal pair */
	th_poke(t, TH_DATA + 0x200, "abcdXf", 6);
	th_poke(t, TH_DATA + 0x300, "ABCDXF", 6);
	t->cpu->regs[R_SI] = TH_DATA + 0x200;
	t->cpu->regs[R_DI] = TH_DATA + 0x300;
	t->cpu->regs[R_CX] = 6;
	run_asm(t, "repne cmpsb");
	cr_assert_eq(t->cpu->regs[R_CX], 1);
	cr_assert_eq(t->cpu->regs[R_SI], TH_DATA + 0x205);
	cr_assert(th_flags(t) & FL_ZF);
	/* repne scasb finds ',' */
	t->cpu->regs[R_DI] = TH_DATA;
	t->cpu->regs[R_AX] = ',';
	t->cpu->regs[R_CX] = 100;
	run_asm(t, "repne scasb");
	cr_assert_eq(t->cpu->regs[R_DI], TH_DATA + 6);
	cr_assert_eq(t->cpu->regs[R_CX], 94);
	cr_assert(th_flags(t) & FL_ZF);
	/* repe scasd skips equal dwords */
	th_write(t, TH_DATA + 0x400, 7, 4);
	th_write(t, TH_DATA + 0x404, 7, 4);
	th_write(t, TH_DATA + 0x408, 8, 4);
	t->cpu->regs[R_DI] = TH_DATA + 0x400;
	t->cpu->regs[R_AX] = 7;
	t->cpu->regs[R_CX] = 10;
	run_asm(t, "repe scasd");
	cr_assert_eq(t->cpu->regs[R_DI], TH_DATA + 0x40c);
	cr_assert_eq(t->cpu->regs[R_CX], 7);
	cr_assert_eq(th_flags(t) & FL_ARITH, sub_flags(7, 8, 4));
	/* DF = 1 repne scasb backwards */
	set_df(t, true);
	t->cpu->regs[R_DI] = TH_DATA + 12;
	t->cpu->regs[R_AX] = 'o';
	t->cpu->regs[R_CX] = 13;
	run_asm(t, "repne scasb");
	cr_assert_eq(t->cpu->regs[R_DI], TH_DATA + 7);	/* found 'o' of "world" at 8 */
	cr_assert_eq(t->cpu->regs[R_CX], 8);
	set_df(t, false);
	/* count 0: nothing moves, flags untouched */
	cpu_set_rflags(t->cpu, FL_CF | FL_OF, FL_ARITH);
	t->cpu->regs[R_SI] = TH_DATA;
	t->cpu->regs[R_DI] = TH_DATA + 0x100;
	t->cpu->regs[R_CX] = 0;
	run_asm(t, "repe cmpsb");
	cr_assert_eq(t->cpu->regs[R_SI], TH_DATA);
	cr_assert_eq(t->cpu->regs[R_DI], TH_DATA + 0x100);
	cr_assert_eq(th_flags(t) & FL_ARITH, FL_CF | FL_OF);
	th_free(t);
}

/* Address sizes: 16-bit SI/DI/CX wrap and keep the upper half; 32-bit in
 * 64-bit mode zero-extends. */
Test(string, address_sizes)
{
	struct th *t = th_new(TH_PROT32);
	th_write(t, 0xffff, 0xab, 1);
	th_write(t, 0x0000, 0xcd, 1);
	t->cpu->regs[R_SI] = 0x1234ffff;
	t->cpu->regs[R_DI] = 0x5678fffe;
	t->cpu->regs[R_CX] = 0x9abc0002;
	/* a16 rep movsb: from 0xffff, 0x0000 to 0xfffe, 0xffff */
	run_asm(t, "a16 rep movsb");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_SI], 0x12340001);
	cr_assert_eq(t->cpu->regs[R_DI], 0x56780000);
	cr_assert_eq(t->cpu->regs[R_CX], 0x9abc0000);
	cr_assert_eq(th_read(t, 0xfffe, 1), 0xab);
	cr_assert_eq(th_read(t, 0xffff, 1), 0xcd);
	/* a16 wrap inside a longer (page-chunked) move */
	for (unsigned j = 0; j < 32; j++)
		th_write(t, 0xffe0 + j, j, 1);
	for (unsigned j = 0; j < 64; j++)
		th_write(t, j, 0x40 + j, 1);
	t->cpu->regs[R_SI] = 0xfff0;
	t->cpu->regs[R_DI] = 0x5000;
	t->cpu->regs[R_CX] = 32;
	run_asm(t, "a16 rep movsb");
	for (unsigned j = 0; j < 32; j++) {
		uint8_t want = j < 16 ? (uint8_t)(0x10 + j) : (uint8_t)(0x40 + j - 16);
		cr_assert_eq(th_read(t, 0x5000 + j, 1), want, "byte %u", j);
	}
	cr_assert_eq(t->cpu->regs[R_SI], 0x0010);
	th_free(t);

	t = th_new(TH_LONG64);
	th_write(t, 0x10, 0x99, 1);
	t->cpu->regs[R_SI] = 0xffffffff00000010ull;
	run_asm(t, "a32 lodsb");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_AX] & 0xff, 0x99);
	cr_assert_eq(t->cpu->regs[R_SI], 0x11, "32-bit update zero-extends");
	/* a32 rep stosb counts with ECX */
	t->cpu->regs[R_DI] = 0xabcd000000000000ull | (TH_DATA + 0x800);
	t->cpu->regs[R_CX] = 0x100000003ull;
	t->cpu->regs[R_AX] = 0x5a;
	run_asm(t, "a32 rep stosb");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_CX], 0);
	cr_assert_eq(t->cpu->regs[R_DI], TH_DATA + 0x803);
	cr_assert_eq(th_read(t, TH_DATA + 0x800, 4), 0x005a5a5a);
	th_free(t);

	/* Real mode with a32: ESI/EDI/ECX */
	t = th_new(TH_REAL);
	th_write(t, 0x4000, 0x11223344, 4);
	t->cpu->regs[R_SI] = 0x4000;
	t->cpu->regs[R_DI] = 0x5000;
	t->cpu->regs[R_CX] = 0x10004;
	run_asm(t, "a32 rep movsb");
	cr_assert_eq(t->exc_vector, EXC_GP, "ECX 0x10004 runs DI past the 64 KiB limit");
	th_free(t);
	t = th_new(TH_REAL);
	th_write(t, 0x4000, 0x11223344, 4);
	t->cpu->regs[R_SI] = 0x4000;
	t->cpu->regs[R_DI] = 0x5000;
	t->cpu->regs[R_CX] = 4;
	run_asm(t, "a32 rep movsb");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(th_read(t, 0x5000, 4), 0x11223344);
	cr_assert_eq(t->cpu->regs[R_SI], 0x4004);
	th_free(t);
}

/* The source segment is overridable, the destination (ES) is not. */
Test(string, segment_override)
{
	struct th *t = th_new(TH_PROT32);
	t->cpu->seg[S_FS].base = 0x10000;
	t->cpu->seg[S_GS].base = 0x20000;
	cpu_update_mode(t->cpu);
	th_write(t, 0x10000 + 0x100, 0xf5f5f5f5, 4);
	th_write(t, 0x100, 0xd5d5d5d5, 4);
	th_write(t, 0x20000 + 0x300, 0xf5f5f5f5, 4);
	t->cpu->regs[R_SI] = 0x100;
	t->cpu->regs[R_DI] = 0x300;
	run_asm(t, "fs movsd");
	cr_assert_eq(th_read(t, 0x300, 4), 0xf5f5f5f5, "read FS:ESI, wrote ES:EDI");
	t->cpu->regs[R_SI] = 0x100;
	t->cpu->regs[R_AX] = 0;
	run_asm(t, "fs lodsd");
	cr_assert_eq(t->cpu->regs[R_AX], 0xf5f5f5f5);
	t->cpu->regs[R_SI] = 0x100;
	run_asm(t, "lodsd");
	cr_assert_eq(t->cpu->regs[R_AX], 0xd5d5d5d5);
	/* gs stosd still writes ES:EDI */
	t->cpu->regs[R_DI] = 0x400;
	t->cpu->regs[R_AX] = 0x12345678;
	run_asm(t, "gs stosd");
	cr_assert_eq(th_read(t, 0x400, 4), 0x12345678);
	cr_assert_eq(th_read(t, 0x20400, 4), 0);
	/* fs cmpsd compares FS:ESI with ES:EDI (equal) */
	t->cpu->regs[R_SI] = 0x100;
	t->cpu->regs[R_DI] = 0x300;
	run_asm(t, "fs cmpsd");
	cr_assert(th_flags(t) & FL_ZF);
	/* gs scasd ignores the override: compares with ES:EDI = 0xf5f5f5f5 */
	t->cpu->regs[R_DI] = 0x300;
	t->cpu->regs[R_AX] = 0xf5f5f5f5;
	run_asm(t, "gs scasd");
	cr_assert(th_flags(t) & FL_ZF);
	/* ES with a base moves the destination */
	t->cpu->seg[S_ES].base = 0x30000;
	cpu_update_mode(t->cpu);
	t->cpu->regs[R_SI] = 0x100;
	t->cpu->regs[R_DI] = 0x0;
	t->cpu->regs[R_CX] = 4;
	run_asm(t, "fs rep movsb");
	cr_assert_eq(th_read(t, 0x30000, 4), 0xf5f5f5f5);
	th_free(t);

	t = th_new(TH_LONG64);
	t->cpu->seg[S_FS].base = 0x10000;
	t->cpu->seg[S_GS].base = 0x20000;
	cpu_update_mode(t->cpu);
	th_write(t, 0x20000 + 0x100, 0x0102030405060708ull, 8);
	t->cpu->regs[R_SI] = 0x100;
	t->cpu->regs[R_DI] = TH_DATA;
	t->cpu->regs[R_CX] = 8;
	run_asm(t, "gs rep movsb");
	cr_assert_eq(th_read(t, TH_DATA, 8), 0x0102030405060708ull);
	th_free(t);
}

#define HOLE 0x3000000ull

/* A REP MOVS that faults partway: RCX/RSI/RDI show the completed
 * iterations, RIP stays at the instruction, the done part is written. */
Test(string, rep_movs_page_fault_partway)
{
	static const struct { const char *src; unsigned w; uint64_t dst; uint64_t count; uint64_t done; } cases[] = {
		{ "rep movsb", 1, HOLE - 16, 64, 16 },
		{ "rep movsd", 4, HOLE - 16, 64, 4 },
		{ "rep movsq", 8, HOLE - 12, 64, 1 },	/* element 1 straddles */
		{ "rep stosq", 8, HOLE - 64, 64, 8 },
		{ "rep movsb", 1, HOLE - 5000, 20000, 5000 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct th *t = th_new(TH_LONG64);
		/* make the 2 MiB page at HOLE not present (PD at 0x15000) */
		th_write(t, 0x15000 + 8 * (HOLE >> 21), 0, 8);
		tlb_flush_all(t->cpu);
		for (unsigned j = 0; j < 64; j++)
			th_write(t, TH_DATA + j, pat_s(j), 1);
		t->cpu->regs[R_SI] = TH_DATA;
		t->cpu->regs[R_DI] = cases[k].dst;
		t->cpu->regs[R_CX] = cases[k].count;
		t->cpu->regs[R_AX] = 0x1111111111111111ull;
		run_asm(t, cases[k].src);
		uint64_t done = cases[k].done, w = cases[k].w;
		cr_assert_eq(t->exc_vector, EXC_PF, "case %u", k);
		cr_assert_eq(t->exc_error, PFEC_W, "case %u: write to a not-present page", k);
		cr_assert_eq(t->cpu->rip, TH_CODE, "case %u", k);
		cr_assert_eq(t->cpu->regs[R_CX], cases[k].count - done, "case %u: RCX %llx", k,
			     (unsigned long long)t->cpu->regs[R_CX]);
		cr_assert_eq(t->cpu->regs[R_DI], cases[k].dst + done * w, "case %u: RDI", k);
		bool stos = cases[k].src[4] == 's' && cases[k].src[5] == 't';
		cr_assert_eq(t->cpu->regs[R_SI], TH_DATA + (stos ? 0 : done * w), "case %u: RSI", k);
		if (!stos && done * w <= 64)
			for (unsigned j = 0; j < done * w; j++)
				cr_assert_eq(th_read(t, cases[k].dst + j, 1), pat_s(j), "case %u byte %u", k, j);
		th_free(t);
	}
}

/* Overlapping REP MOVS reproduces the element-by-element result. */
Test(string, overlapping_movs)
{
	static const struct { int64_t delta; unsigned w; uint64_t count; uint64_t src_off; bool df; } cases[] = {
		{ 1, 1, 16, 0x10, false }, { -1, 1, 16, 0x10, false }, { 3, 1, 0x40, 0xff0, false },
		{ 4, 4, 4, 0x10, false }, { 2, 4, 8, 0x10, false }, { 1, 8, 100, 0xfe0, false },
		{ -5, 8, 100, 0x20, false }, { 1, 1, 9000, 0x10, false }, { -1, 1, 16, 0x40, true },
		{ 1, 1, 16, 0x40, true }, { 0, 1, 16, 0x40, false },
	};
	static const char *const src[] = { "rep movsb", "rep movsw", "rep movsd", "rep movsq" };
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct th *t = th_new(TH_LONG64);
		const size_t span = 0x8000;
		uint8_t *mem = malloc(span), *after = malloc(span);
		for (size_t j = 0; j < span; j++)
			mem[j] = (uint8_t)(j * 13 + 7);
		uint64_t base = TH_DATA;
		th_poke(t, base, mem, span);
		unsigned w = cases[k].w;
		uint64_t s = 0x1000 + cases[k].src_off, d = s + cases[k].delta;
		int64_t step = cases[k].df ? -(int64_t)w : (int64_t)w;
		/* reference: element by element */
		for (uint64_t e = 0; e < cases[k].count; e++) {
			/* offsets wrap in uint64_t, never the pointer arithmetic */
			uint64_t od = d + e * (uint64_t)step, os = s + e * (uint64_t)step;
			memmove(mem + od, mem + os, w);
		}
		t->cpu->regs[R_SI] = base + s;
		t->cpu->regs[R_DI] = base + d;
		t->cpu->regs[R_CX] = cases[k].count;
		set_df(t, cases[k].df);
		run_asm(t, src[__builtin_ctz(w)]);
		cr_assert_eq(t->exc_vector, -1);
		th_peek(t, base, after, span);
		cr_assert_eq(memcmp(after, mem, span), 0, "case %u", k);
		cr_assert_eq(t->cpu->regs[R_SI], base + s + cases[k].count * step);
		free(mem);
		free(after);
		th_free(t);
	}
}

/* Long moves span many pages and handler chunks: still one instruction,
 * and the whole area is right in both directions. */
Test(string, long_moves_retire_once)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "");
	t->cpu->rip = TH_CODE;
	uint64_t base_count = th_run(t);	/* just the HLT */
	const size_t n = 300000;
	uint8_t *buf = malloc(n), *out = malloc(n);
	for (size_t j = 0; j < n; j++)
		buf[j] = (uint8_t)(j ^ (j >> 8) ^ (j >> 16));
	th_poke(t, 0x1000000, buf, n);
	t->cpu->regs[R_SI] = 0x1000000;
	t->cpu->regs[R_DI] = 0x2000000 + 3;
	t->cpu->regs[R_CX] = n;
	run_asm(t, "rep movsb");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->retired, base_count + 1, "REP MOVSB retires once (%llu)", (unsigned long long)t->retired);
	th_peek(t, 0x2000000 + 3, out, n);
	for (size_t j = 0; j < n; j++)
		cr_assert_eq(out[j], buf[j], "byte %zu", j);
	cr_assert_eq(t->cpu->regs[R_CX], 0);

	/* backwards, dword elements (slow path, chunked) */
	t->cpu->regs[R_SI] = 0x1000000 + n - 4;
	t->cpu->regs[R_DI] = 0x3000000 + n - 4;
	t->cpu->regs[R_CX] = n / 4;
	set_df(t, true);
	run_asm(t, "rep movsd");
	cr_assert_eq(t->retired, base_count + 1);
	th_peek(t, 0x3000000, out, n);
	cr_assert_eq(memcmp(out, buf, n), 0);
	cr_assert_eq(t->cpu->regs[R_SI], 0x1000000 - 4);
	set_df(t, false);

	/* rep stosq over 1 MiB */
	t->cpu->regs[R_DI] = 0x2800000;
	t->cpu->regs[R_CX] = 1 << 17;
	t->cpu->regs[R_AX] = 0x0123456789abcdefull;
	run_asm(t, "rep stosq");
	cr_assert_eq(t->retired, base_count + 1);
	cr_assert_eq(th_read(t, 0x2800000, 8), 0x0123456789abcdefull);
	cr_assert_eq(th_read(t, 0x2800000 + (1 << 20) - 8, 8), 0x0123456789abcdefull);
	cr_assert_eq(th_read(t, 0x2800000 + (1 << 20), 8), 0);
	cr_assert_eq(t->cpu->regs[R_DI], 0x2800000 + (1 << 20));

	/* a long repe cmpsb over equal data also retires once */
	t->cpu->regs[R_SI] = 0x1000000;
	t->cpu->regs[R_DI] = 0x2000000 + 3;
	t->cpu->regs[R_CX] = n;
	run_asm(t, "repe cmpsb");
	cr_assert_eq(t->retired, base_count + 1);
	cr_assert_eq(t->cpu->regs[R_CX], 0);
	cr_assert(th_flags(t) & FL_ZF);
	free(buf);
	free(out);
	th_free(t);
}

/* REP MOVSB that overwrites the instruction after it: the new bytes run. */
Test(string, rep_movs_self_modifying)
{
	struct th *t = th_new(TH_PROT32);
	/* rep movsb ; next: mov eax, 1 ; hlt -- the copy replaces next's immediate */
	th_write(t, TH_DATA, 0x000002b8, 4);	/* b8 02 00 00 */
	th_write(t, TH_DATA + 4, 0, 1);
	run_asm(t, "mov esi, 0x200000\n mov edi, next\n mov ecx, 5\n rep movsb\n next: mov eax, 1\n");
	cr_assert_eq(t->exc_vector, -1);
	cr_assert_eq(t->cpu->regs[R_AX], 2, "the rewritten instruction ran");
	/* the same with rep stosb writing the opcode bytes one by one */
	run_asm(t, "mov edi, next\n inc edi\n mov al, 7\n mov ecx, 1\n rep stosb\n next: mov eax, 1\n");
	cr_assert_eq(t->cpu->regs[R_AX], 7);
	th_free(t);
}

/* With TF set a REP instruction traps after each iteration, RIP still at
 * the instruction and the registers showing one iteration done. */
Test(string, rep_single_step_traps_per_iteration)
{
	struct th *t = th_new(TH_PROT32);
	th_write(t, TH_DATA, 0x44332211, 4);
	t->cpu->regs[R_SI] = TH_DATA;
	t->cpu->regs[R_DI] = TH_DATA + 0x100;
	t->cpu->regs[R_CX] = 4;
	cpu_set_rflags(t->cpu, FL_TF, FL_TF);
	run_asm(t, "rep movsb");
	cr_assert_eq(t->exc_vector, EXC_DB);
	cr_assert_eq(t->cpu->rip, TH_CODE, "the trap points at the unfinished instruction");
	cr_assert_eq(t->cpu->regs[R_CX], 3);
	cr_assert_eq(t->cpu->regs[R_SI], TH_DATA + 1);
	cr_assert_eq(th_read(t, TH_DATA + 0x100, 4), 0x11);
	th_free(t);
}
