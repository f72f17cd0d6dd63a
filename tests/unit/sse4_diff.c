/*
 * sse4_diff.c - the host-differential runner of sse4_diff.h.
 */
#include "sse4_diff.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "emu/cpu/cpuid.h"
#include "emu/cpu/flags.h"
#include "emu/cpu/simd.h"

#define OFF_XMM(n) ((unsigned)offsetof(struct sx_state, xmm) + 16u * (n))
#define OFF_MM(n) ((unsigned)offsetof(struct sx_state, mm) + 8u * (n))
#define OFF_GPR(n) ((unsigned)offsetof(struct sx_state, gpr) + 8u * (n))
#define OFF_FL ((unsigned)offsetof(struct sx_state, fl))
#define OFF_MXCSR ((unsigned)offsetof(struct sx_state, mxcsr))
#define OFF_MEM ((unsigned)offsetof(struct sx_state, mem))

/* Bits 255:128 of every YMM register before a run: must survive. */
static const uint8_t upper_pattern = 0xa5;

/* Per-process test context (each Criterion test is its own process). */
static struct {
	struct th *t;
	uint8_t *page;
	uint64_t seed;
	uint8_t code[16];	/* the instruction loaded at TH_CODE */
	unsigned code_len;
} sx;

bool sx_host_has(unsigned bit)
{
#if defined(__x86_64__)
	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	return (c >> bit) & 1;
#else
	(void)bit;
	return false;
#endif
}

void sx_init(void)
{
	if (sx.t)
		return;
	sx.page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(sx.page != MAP_FAILED, "cannot map an executable page");
	const char *seed = getenv("NESTEMU_DIFF_SEED");
	sx.seed = seed ? strtoull(seed, NULL, 0) | 1 : 0x2545f4914f6cdd1dull;
	sx.t = th_new(TH_LONG64);
	/* The CPU models do not list AES-NI and PCLMULQDQ yet (cpuid.c):
	 * turn them on, as -cpu skylake,+aes,+pclmulqdq would. */
	sx_enable_aes(sx.t);
}

void sx_enable_aes(struct th *t)
{
	uint32_t *w = t->cpu->features;
	w[FEAT_AES / 32] |= 1u << (FEAT_AES % 32);
	w[FEAT_PCLMULQDQ / 32] |= 1u << (FEAT_PCLMULQDQ % 32);
}

void sx_fini(void)
{
	if (!sx.t)
		return;
	th_free(sx.t);
	munmap(sx.page, 4096);
	sx.t = NULL;
	sx.code_len = 0;
}

struct th *sx_th(void)
{
	sx_init();
	return sx.t;
}

/* ---- random operands ------------------------------------------------------ */

static uint64_t rnd(void)
{
	uint64_t x = sx.seed;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	sx.seed = x;
	return x * 0x2545f4914f6cdd1dull;
}

static const uint32_t int_edges[] = {
	0, 1, 0xffffffff, 0x80000000, 0x7fffffff, 0x00008000, 0x7fff8000, 0x80007fff,
	0x00ff00ff, 0x80808080, 0x7f7f7f7f, 0x0000ffff, 0xffff0000, 0x01800180, 0xff7fff7f,
};

static const uint32_t f32_edges[] = {
	0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3f000000, 0x3fc00000, 0x40200000,
	0xc0200000, 0x00000001, 0x007fffff, 0x80400000, 0x00800000, 0x80800000, 0x7f7fffff,
	0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7f800001, 0xff800123,
	0x60ad78ec, 0x4b000000, 0x4b7fffff, 0xcb3fffff, 0x3effffff, 0x0c000000, 0x1f800000,
	0x20000000, 0x3f7fffff, 0x00fffffe,
};

static const uint64_t f64_edges[] = {
	0, 0x8000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
	0x3fe0000000000000ull, 0x3ff8000000000000ull, 0x4004000000000000ull, 0xc004000000000000ull,
	0x0000000000000001ull, 0x000fffffffffffffull, 0x8008000000000000ull, 0x0010000000000000ull,
	0x8010000000000000ull, 0x7fefffffffffffffull, 0xffefffffffffffffull, 0x7ff0000000000000ull,
	0xfff0000000000000ull, 0x7ff8000000000000ull, 0xfff8000000000001ull, 0x7ff0000000000001ull,
	0xfff0000000000123ull, 0x4330000000000000ull, 0x433fffffffffffffull, 0xc32fffffffffffffull,
	0x3fdfffffffffffffull, 0x2000000000000000ull, 0x1ff0000000000000ull, 0x3fefffffffffffffull,
	0x001ffffffffffffeull,
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static uint32_t rand_f32(void)
{
	uint64_t r = rnd();
	switch (r % 6) {
	case 0: case 1: return f32_edges[(r >> 8) % NELEM(f32_edges)];
	case 2: {	/* a moderate number with a fraction */
		uint32_t e = 120 + (uint32_t)((r >> 8) % 20);
		return (uint32_t)(r >> 32 & 0x807fffff) | e << 23;
	}
	case 3:		/* tiny: denormals and small normals */
		return (uint32_t)(r >> 32 & 0x80ffffff);
	case 4:		/* huge */
		return (uint32_t)(r >> 32 & 0x807fffff) | (uint32_t)(250 + (r >> 8) % 5) << 23;
	default: return (uint32_t)(r >> 32);
	}
}

static uint64_t rand_f64(void)
{
	uint64_t r = rnd();
	switch (r % 6) {
	case 0: case 1: return f64_edges[(r >> 8) % NELEM(f64_edges)];
	case 2: {
		uint64_t e = 1015 + (r >> 8) % 20;
		return (rnd() & 0x800fffffffffffffull) | e << 52;
	}
	case 3: return rnd() & 0x801fffffffffffffull;
	case 4: return (rnd() & 0x800fffffffffffffull) | (uint64_t)(2040 + (r >> 8) % 6) << 52;
	default: return rnd();
	}
}

static uint32_t rand_int32(void)
{
	uint64_t r = rnd();
	switch (r % 4) {
	case 0: return int_edges[(r >> 8) % NELEM(int_edges)];
	case 1: return (uint32_t)((r >> 8) & 0x00ff00ff);
	default: return (uint32_t)(r >> 32);
	}
}

/* Strings: a small alphabet so that matches happen, zeros now and then. */
static void rand_str(uint8_t *p, unsigned n, bool words)
{
	static const uint16_t alpha[] = { 'a', 'b', 'c', 'z', 0x80, 0xff, 0x7f, 0x8000, 0xffff, 0x7fff, 1 };
	unsigned zero_at = (unsigned)(rnd() % 24);
	unsigned esz = words ? 2 : 1, ne = n / esz;
	for (unsigned k = 0; k < ne; k++) {
		uint64_t r = rnd();
		uint16_t v = (r % 8 == 0) ? (uint16_t)(r >> 8) : alpha[(r >> 8) % NELEM(alpha)];
		if (k == zero_at)
			v = 0;
		memcpy(p + k * esz, &v, esz);
	}
}

static void fill(uint8_t *p, unsigned n, enum sx_kind kind)
{
	switch (kind) {
	case SX_F32:
		for (unsigned k = 0; k < n; k += 4) {
			uint32_t v = rand_f32();
			memcpy(p + k, &v, 4);
		}
		break;
	case SX_F64:
		for (unsigned k = 0; k < n; k += 8) {
			uint64_t v = rand_f64();
			memcpy(p + k, &v, 8);
		}
		break;
	case SX_STR8:
	case SX_STR16:
		rand_str(p, n, kind == SX_STR16);
		break;
	default:
		for (unsigned k = 0; k < n; k += 4) {
			uint32_t v = rand_int32();
			memcpy(p + k, &v, 4);
		}
	}
}

static int64_t rand_len(void)
{
	static const int64_t edges[] = { 0, 1, 7, 8, 9, 15, 16, 17, -1, -8, -16, -17, 0x7fffffff,
					 (int64_t)0xffffffff80000000ull, (int64_t)0x8000000000000000ull,
					 0x100000004ll, (int64_t)0xfffffffe00000003ull };
	uint64_t r = rnd();
	if (r % 3 == 0)
		return edges[(r >> 8) % NELEM(edges)];
	return (int64_t)((r >> 8) % 41) - 20;
}

void sx_random_state(struct sx_state *s, enum sx_kind kind)
{
	memset(s, 0, sizeof(*s));
	for (unsigned r = 0; r < 16; r++)
		fill(s->xmm[r], 16, kind);
	for (unsigned r = 0; r < 8; r++)
		fill((uint8_t *)&s->mm[r], 8, kind == SX_F32 || kind == SX_F64 ? SX_INT : kind);
	for (unsigned r = 0; r < 16; r++)
		s->gpr[r] = rnd();
	if (kind == SX_STR8 || kind == SX_STR16) {
		s->gpr[0] = (uint64_t)rand_len();
		s->gpr[2] = (uint64_t)rand_len();
	}
	s->gpr[4] = s->gpr[7] = 0;
	fill(s->mem, sizeof(s->mem), kind);
	s->fl = 2 | (rnd() & FL_ARITH);
	uint64_t r = rnd();
	s->mxcsr = 0x1f80 | (uint32_t)(r & 3) << 13;
	if (r >> 2 & 1)
		s->mxcsr |= MXCSR_DAZ;
	if ((r >> 3 & 3) == 0)
		s->mxcsr |= MXCSR_FTZ;
	if ((r >> 5 & 3) == 0)
		s->mxcsr |= (uint32_t)(r >> 8) & 0x3f;	/* sticky flags already set */
}

/* ---- encoding ---------------------------------------------------------------- */

struct cbuf {
	uint8_t b[2048];
	unsigned n;
};

static void emit(struct cbuf *o, const void *p, unsigned n)
{
	memcpy(o->b + o->n, p, n);
	o->n += n;
}
static void e8(struct cbuf *o, unsigned v) { o->b[o->n++] = (uint8_t)v; }
static void e32(struct cbuf *o, uint32_t v) { emit(o, &v, 4); }

unsigned sx_encode(uint8_t *out, const struct sx_insn *x, enum sx_form f, unsigned imm)
{
	struct cbuf o = { .n = 0 };
	unsigned reg = 1, rm = 2;
	bool mem = f == SX_RM || f == SX_RM_MIS;
	switch (f) {
	case SX_RR_HI: reg = 9; rm = 14; break;
	case SX_RG: rm = 3; break;
	case SX_RG_HI: reg = 12; rm = 11; break;
	default: break;
	}
	if (x->pfx)
		e8(&o, x->pfx);
	unsigned rex = (x->rexw ? 8 : 0) | (reg >= 8 ? 4 : 0) | (!mem && rm >= 8 ? 1 : 0);
	if (rex)
		e8(&o, 0x40 | rex);
	e8(&o, 0x0f);
	if (x->map == 2)
		e8(&o, 0x38);
	else if (x->map == 3)
		e8(&o, 0x3a);
	e8(&o, x->opc);
	if (mem) {
		e8(&o, 0x80 | (reg & 7) << 3 | 7);
		e32(&o, OFF_MEM + (f == SX_RM_MIS ? 3 : 0));
	} else {
		e8(&o, 0xc0 | (reg & 7) << 3 | (rm & 7));
	}
	if (x->has_imm)
		e8(&o, imm);
	memcpy(out, o.b, o.n);
	return o.n;
}

/* ---- native side ---------------------------------------------------------------- */

#if defined(__x86_64__)
/* op [rdi + disp32] with ModRM reg field r: [pfx] [rex] bytes... */
static void mem_op(struct cbuf *o, unsigned pfx, unsigned rex, const char *opc, unsigned nopc, unsigned r,
		   unsigned disp)
{
	if (pfx)
		e8(o, pfx);
	if (rex || r >= 8)
		e8(o, 0x40 | rex | (r >= 8 ? 4 : 0));
	emit(o, opc, nopc);
	e8(o, 0x80 | (r & 7) << 3 | 7);
	e32(o, disp);
}

static void native_run(const uint8_t *insn, unsigned len, struct sx_state *st, unsigned n)
{
	struct cbuf o = { .n = 0 };
	emit(&o, "\x53\x55\x41\x54\x41\x55\x41\x56\x41\x57", 10);	/* push rbx rbp r12-r15 */
	e8(&o, 0x57);							/* push rdi */
	for (unsigned r = 0; r < 16; r++)
		mem_op(&o, 0xf3, 0, "\x0f\x6f", 2, r, OFF_XMM(r));	/* movdqu xmm, m */
	for (unsigned r = 0; r < 8; r++)
		mem_op(&o, 0, 0, "\x0f\x6f", 2, r, OFF_MM(r));		/* movq mm, m */
	mem_op(&o, 0, 0, "\x0f\xae", 2, 2, OFF_MXCSR);			/* ldmxcsr */
	mem_op(&o, 0, 0, "\xff", 1, 6, OFF_FL);				/* push qword [m] */
	e8(&o, 0x9d);							/* popfq */
	for (unsigned r = 0; r < 16; r++)
		if (r != 4 && r != 7)
			mem_op(&o, 0, 8, "\x8b", 1, r, OFF_GPR(r));	/* mov r64, m */
	emit(&o, insn, len);
	emit(&o, "\x48\x87\x3c\x24", 4);				/* xchg [rsp], rdi */
	e8(&o, 0x9c);							/* pushfq */
	mem_op(&o, 0, 0, "\x8f", 1, 0, OFF_FL);				/* pop qword [m] */
	for (unsigned r = 0; r < 16; r++)
		if (r != 4 && r != 7)
			mem_op(&o, 0, 8, "\x89", 1, r, OFF_GPR(r));
	mem_op(&o, 0, 0, "\x0f\xae", 2, 3, OFF_MXCSR);			/* stmxcsr */
	for (unsigned r = 0; r < 16; r++)
		mem_op(&o, 0xf3, 0, "\x0f\x7f", 2, r, OFF_XMM(r));
	for (unsigned r = 0; r < 8; r++)
		mem_op(&o, 0, 0, "\x0f\x7f", 2, r, OFF_MM(r));
	emit(&o, "\x0f\x77", 2);					/* emms */
	e8(&o, 0x5f);							/* pop rdi */
	emit(&o, "\x41\x5f\x41\x5e\x41\x5d\x41\x5c\x5d\x5b\xc3", 11);
	memcpy(sx.page, o.b, o.n);
	__builtin___clear_cache((char *)sx.page, (char *)sx.page + o.n);
	void (*fn)(struct sx_state *) = (void (*)(struct sx_state *))(void *)sx.page;
	unsigned host_mxcsr = _mm_getcsr();
	for (unsigned k = 0; k < n; k++)
		fn(&st[k]);
	_mm_setcsr(host_mxcsr);
}
#endif

/* ---- emulated side ---------------------------------------------------------------- */

void sx_load(struct th *t, const struct sx_state *s)
{
	struct cpu *c = t->cpu;
	for (unsigned r = 0; r < 16; r++) {
		memcpy(c->vr[r].b, s->xmm[r], 16);
		memset(c->vr[r].b + 16, upper_pattern, 16);
	}
	for (unsigned r = 0; r < 8; r++) {
		c->fpu.st[r].mant = s->mm[r];
		c->fpu.st[r].sexp = 0x1234;
	}
	for (unsigned r = 0; r < 16; r++)
		if (r != 4)
			c->regs[r] = s->gpr[r];
	c->regs[R_DI] = SX_STATE_PA;
	c->regs[R_SP] = TH_STACK;
	c->lf.op = LF_NONE << 2;
	c->rflags = (c->rflags & ~(uint64_t)FL_ARITH) | (s->fl & FL_ARITH);
	c->mxcsr = s->mxcsr;
	th_poke(t, SX_STATE_PA, s, sizeof(*s));
	c->rip = TH_CODE;
}

static bool upper_intact(struct cpu *c)
{
	for (unsigned r = 0; r < 16; r++)
		for (unsigned k = 16; k < 32; k++)
			if (c->vr[r].b[k] != upper_pattern)
				return false;
	return true;
}

/* Reads the CPU back into s (memory area from guest memory). */
static void sx_save(struct th *t, struct sx_state *s)
{
	struct cpu *c = t->cpu;
	struct sx_state g;
	th_peek(t, SX_STATE_PA, &g, sizeof(g));
	memcpy(s->mem, g.mem, sizeof(s->mem));
	for (unsigned r = 0; r < 16; r++)
		memcpy(s->xmm[r], c->vr[r].b, 16);
	for (unsigned r = 0; r < 8; r++)
		s->mm[r] = c->fpu.st[r].mant;
	for (unsigned r = 0; r < 16; r++)
		if (r != 4 && r != 7)
			s->gpr[r] = c->regs[r];
	s->fl = (th_flags(t) & FL_ARITH) | 2;
	s->mxcsr = c->mxcsr;
}

int sx_emulate(const uint8_t *code, unsigned len, struct sx_state *s)
{
	struct th *t = sx_th();
	if (sx.code_len != len || memcmp(sx.code, code, len) != 0) {
		th_code(t, code, len);
		memcpy(sx.code, code, len);
		sx.code_len = len;
	}
	sx_load(t, s);
	th_run_n(t, 4);
	if (t->exc_vector >= 0)
		return t->exc_vector;
	sx_save(t, s);
	cr_assert(upper_intact(t->cpu), "bits 255:128 of a YMM register changed");
	return -1;
}

/* ---- comparison ------------------------------------------------------------------ */

static void hex(char *out, size_t cap, const void *p, unsigned n)
{
	const uint8_t *b = p;
	size_t k = 0;
	for (unsigned j = n; j-- > 0 && k + 3 < cap;)
		k += (size_t)snprintf(out + k, cap - k, "%02x", b[j]);
}

static unsigned report(const char *name, unsigned imm, enum sx_form f, unsigned set, const struct sx_state *in,
		       const struct sx_state *nat, const struct sx_state *emu)
{
	char msg[4096];
	int p = snprintf(msg, sizeof(msg), "%s form %d imm %#x set %u:", name, (int)f, imm, set);
	char a[80], b[80], c[80];
#define FIELD(label, field, size)								\
	if (memcmp(&nat->field, &emu->field, size) != 0 && p < (int)sizeof(msg) - 300) {	\
		hex(a, sizeof(a), &in->field, size);						\
		hex(b, sizeof(b), &nat->field, size);						\
		hex(c, sizeof(c), &emu->field, size);						\
		p += snprintf(msg + p, sizeof(msg) - (size_t)p, "\n  %s in %s host %s emu %s", label, a, b, c); \
	}
	char lbl[16];
	for (unsigned r = 0; r < 16; r++) {
		snprintf(lbl, sizeof(lbl), "xmm%u", r);
		FIELD(lbl, xmm[r], 16)
	}
	for (unsigned r = 0; r < 8; r++) {
		snprintf(lbl, sizeof(lbl), "mm%u", r);
		FIELD(lbl, mm[r], 8)
	}
	for (unsigned r = 0; r < 16; r++) {
		snprintf(lbl, sizeof(lbl), "gpr%u", r);
		FIELD(lbl, gpr[r], 8)
	}
	FIELD("flags", fl, 8)
	FIELD("mxcsr", mxcsr, 4)
	FIELD("mem", mem, sizeof(nat->mem))
#undef FIELD
	/* the operands, for context */
	hex(a, sizeof(a), in->xmm[1], 16);
	hex(b, sizeof(b), in->xmm[2], 16);
	hex(c, sizeof(c), in->mem, 16);
	p += snprintf(msg + p, sizeof(msg) - (size_t)p, "\n  (xmm1 %s xmm2 %s mem %s xmm0 ", a, b, c);
	hex(a, sizeof(a), in->xmm[0], 16);
	snprintf(msg + p, sizeof(msg) - (size_t)p, "%s mxcsr %#x rax %#llx rdx %#llx)", a, in->mxcsr,
		 (unsigned long long)in->gpr[0], (unsigned long long)in->gpr[2]);
	cr_log_error("%s", msg);
	return 1;
}

static bool same(const struct sx_state *a, const struct sx_state *b)
{
	return !memcmp(a->xmm, b->xmm, sizeof(a->xmm)) && !memcmp(a->mm, b->mm, sizeof(a->mm)) &&
	       !memcmp(a->gpr, b->gpr, sizeof(a->gpr)) && (a->fl & FL_ARITH) == (b->fl & FL_ARITH) &&
	       a->mxcsr == b->mxcsr && !memcmp(a->mem, b->mem, sizeof(a->mem));
}

#define SX_MAX 256

unsigned sx_diff(const struct sx_insn *x, enum sx_form f, unsigned imm, unsigned nsets)
{
	static struct sx_state in[SX_MAX], nat[SX_MAX], emu[SX_MAX];
	sx_init();
	cr_assert(nsets <= SX_MAX);
	uint8_t code[16];
	unsigned len = sx_encode(code, x, f, imm);
	for (unsigned k = 0; k < nsets; k++)
		sx_random_state(&in[k], x->kind);
	memcpy(nat, in, nsets * sizeof(in[0]));
	memcpy(emu, in, nsets * sizeof(in[0]));
#if defined(__x86_64__)
	native_run(code, len, nat, nsets);
#endif
	unsigned bad = 0;
	for (unsigned k = 0; k < nsets; k++) {
		int v = sx_emulate(code, len, &emu[k]);
		if (v >= 0) {
			cr_log_error("%s form %d imm %#x: exception %d in nestemu", x->name, (int)f, imm, v);
			bad++;
			break;
		}
		nat[k].gpr[7] = emu[k].gpr[7] = 0;
		nat[k].fl = (nat[k].fl & FL_ARITH) | 2;
		if (!same(&nat[k], &emu[k]) && bad++ < 3)
			report(x->name, imm, f, k, &in[k], &nat[k], &emu[k]);
	}
	return bad;
}
