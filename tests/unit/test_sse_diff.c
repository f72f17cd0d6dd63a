/*
 * test_sse_diff.c - host-differential tests of the MMX/SSE/SSE2
 * instructions (op_sse.def).
 *
 * Each case runs one instruction natively (an mmap'd stub) and in nestemu
 * (the same stub bytes in guest memory, TH_LONG64), from the same state:
 * MXCSR (every rounding mode, DAZ and FTZ on and off, all exceptions
 * masked), XMM0/XMM1, MM0/MM1, RAX/RCX and a 16-byte memory operand.
 * Compared bit-exactly afterwards: XMM0, XMM1, MM0, RAX, RCX, the
 * memory operand, MXCSR (exception flags) and, for (U)COMIS*, ZF/PF/CF/
 * OF/SF/AF. Operands mix random bits with the special values (signed
 * zeros, denormals, smallest normals, infinities, QNaN/SNaN, integer
 * conversion boundaries). RCP/RSQRT results are checked against the
 * architectural error bound instead (vendors' tables differ).
 */
#include <criterion/criterion.h>

#if defined(__x86_64__)

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "harness.h"
#include "emu/cpu/simd.h"

/* The state record shared by both sides (offsets used by the stub). */
struct sstate {
	uint32_t mxcsr_in;	/* 0 */
	uint32_t mxcsr_out;	/* 4 */
	uint32_t mxcsr_host;	/* 8: restored at the end */
	uint32_t pad0;
	uint8_t xmm0[16];	/* 16 */
	uint8_t xmm1[16];	/* 32 */
	uint64_t mm0, mm1;	/* 48, 56 */
	uint64_t rax, rcx;	/* 64, 72 */
	uint8_t mem[16];	/* 80: the memory operand */
	uint8_t xmm0o[16];	/* 96 */
	uint8_t xmm1o[16];	/* 112 */
	uint64_t mm0o;		/* 128 */
	uint64_t raxo, rcxo;	/* 136, 144 */
	uint64_t flo;		/* 152 */
} __attribute__((aligned(16)));

#define STATE_PA (TH_DATA + 0x1000)

struct buf {
	uint8_t b[256];
	unsigned n;
};
static void emit(struct buf *o, const void *p, unsigned n) { memcpy(o->b + o->n, p, n); o->n += n; }
static void e8(struct buf *o, unsigned v) { o->b[o->n++] = (uint8_t)v; }

/* [pfx] [rex] 0F op modrm(mod=10, rm=rdi) disp32 */
static void mrdi(struct buf *o, int pfx, unsigned rex, const char *opc, unsigned reg, uint32_t disp)
{
	if (pfx >= 0)
		e8(o, (unsigned)pfx);
	if (rex)
		e8(o, rex);
	emit(o, opc, (unsigned)strlen(opc));
	e8(o, 0x80 | (reg & 7) << 3 | 7);
	emit(o, &disp, 4);
}

static void build_stub(struct buf *o, const uint8_t *insn, unsigned len, bool ret)
{
	o->n = 0;
	mrdi(o, -1, 0, "\x0f\xae", 2, 0);		/* ldmxcsr [rdi] */
	mrdi(o, 0xf3, 0, "\x0f\x6f", 0, 16);		/* movdqu xmm0, [rdi+16] */
	mrdi(o, 0xf3, 0, "\x0f\x6f", 1, 32);
	mrdi(o, -1, 0, "\x0f\x6f", 0, 48);		/* movq mm0, [rdi+48] */
	mrdi(o, -1, 0, "\x0f\x6f", 1, 56);
	mrdi(o, -1, 0x48, "\x8b", 0, 64);		/* mov rax, [rdi+64] */
	mrdi(o, -1, 0x48, "\x8b", 1, 72);
	emit(o, insn, len);
	mrdi(o, -1, 0, "\x0f\xae", 3, 4);		/* stmxcsr [rdi+4] */
	mrdi(o, 0xf3, 0, "\x0f\x7f", 0, 96);
	mrdi(o, 0xf3, 0, "\x0f\x7f", 1, 112);
	mrdi(o, -1, 0, "\x0f\x7f", 0, 128);
	mrdi(o, -1, 0x48, "\x89", 0, 136);
	mrdi(o, -1, 0x48, "\x89", 1, 144);
	e8(o, 0x9c);					/* pushfq */
	e8(o, 0x5a);					/* pop rdx */
	mrdi(o, -1, 0x48, "\x89", 2, 152);
	mrdi(o, -1, 0, "\x0f\xae", 2, 8);		/* ldmxcsr [rdi+8] */
	emit(o, "\x0f\x77", 2);				/* emms */
	if (ret)
		e8(o, 0xc3);
}

/* ---- operands ------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static const uint32_t sp32[] = {
	0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x807fffff,
	0x00800000, 0x80800000, 0x00800001, 0x3f800000, 0xbf800000, 0x7f800000,
	0xff800000, 0x7fc00000, 0xffc00000, 0x7fa00000, 0xffa00001, 0x7f7fffff,
	0xff7fffff, 0x3f000000, 0x3fc00000, 0x40200000, 0xbfc00000, 0x4f000000,
	0xcf000000, 0x4effffff, 0xcf000001, 0x5f000000, 0xdf000000, 0x3f7fffff,
	0x0c000000, 0x34000000, 0x1f800000, 0x40490fdb,
};
static const uint64_t sp64[] = {
	0, 0x8000000000000000ull, 1, 0x8000000000000001ull, 0x000fffffffffffffull,
	0x0010000000000000ull, 0x8010000000000000ull, 0x3ff0000000000000ull,
	0xbff0000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
	0x7ff8000000000000ull, 0xfff8000000000000ull, 0x7ff4000000000000ull,
	0xfff0000000000001ull, 0x7fefffffffffffffull, 0x3fe0000000000000ull,
	0x3ff8000000000000ull, 0x4004000000000000ull, 0x41e0000000000000ull,
	0xc1e0000000000000ull, 0x41dfffffffffffffull, 0xc1e0000000200000ull,
	0x43e0000000000000ull, 0xc3e0000000000000ull, 0x47efffffe0000000ull,
	0x47efffff00000000ull, 0x3810000000000000ull, 0x36a0000000000000ull,
	0x380fffffffffffffull, 0x3690000000000001ull, 0x400921fb54442d18ull,
};

static uint32_t gen32(void)
{
	uint64_t r = rnd();
	switch (r % 5) {
	case 0: return sp32[(r >> 8) % (sizeof sp32 / 4)];
	case 1: return (uint32_t)(r >> 32);
	case 4: {
		/* near the ends of the range: underflow, FTZ, overflow */
		uint32_t e = (uint32_t)((r >> 8) % 24 + 1);
		if (r & (1ull << 40))
			e = 254 - (uint32_t)((r >> 8) % 24);
		return (uint32_t)((r >> 41) & 0x807fffff) | e << 23;
	}
	default: {
		/* moderate exponents, so arithmetic is mostly finite */
		uint32_t e = (uint32_t)(((r >> 8) % 60) + 100);
		return (uint32_t)((r >> 40) & 0x807fffff) | e << 23;
	}
	}
}
static uint64_t gen64(void)
{
	uint64_t r = rnd();
	switch (r % 5) {
	case 0: return sp64[(r >> 8) % (sizeof sp64 / 8)];
	case 1: return rnd();
	case 4: {
		uint64_t e = (r >> 8) % 60 + 1;
		if (r & (1ull << 40))
			e = 2046 - (r >> 8) % 60;
		return (rnd() & 0x800fffffffffffffull) | e << 52;
	}
	default: {
		uint64_t e = ((r >> 8) % 120) + 960;
		return (rnd() & 0x800fffffffffffffull) | e << 52;
	}
	}
}
static uint32_t genint(void)
{
	static const uint32_t sp[] = { 0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 0x01000001, 0x7fffffc0, 16777217 };
	uint64_t r = rnd();
	return r & 1 ? sp[(r >> 4) % 8] : (uint32_t)(r >> 32) >> ((r >> 8) % 32);
}

enum kind { K_INT, K_F32, K_F64, K_I32, K_SHIFT };

static void fill(uint8_t *p, unsigned n, enum kind k)
{
	for (unsigned off = 0; off < n;) {
		uint64_t v;
		unsigned sz;
		switch (k) {
		case K_F32: { uint32_t x = gen32(); v = x; sz = 4; break; }
		case K_F64: v = gen64(); sz = 8; break;
		case K_I32: v = genint(); sz = 4; break;
		default: v = rnd(); sz = 8; break;
		}
		memcpy(p + off, &v, sz);
		off += sz;
	}
}

/* ---- the instruction list ------------------------------------------------- */

enum {
	F_IMM = 1,	/* an immediate byte follows (the spec's imm) */
	F_MEM = 2,	/* memory form: operand [rdi+80] */
	F_FLAGS = 4,	/* compare ZF PF CF OF SF AF */
	F_APPROX = 8,	/* RCP/RSQRT: bound check on XMM0 lanes */
	F_REGONLY = 16,	/* no memory form */
};

struct spec {
	const char *name;
	int pfx;		/* 0x66/0xf3/0xf2 or -1 */
	unsigned rex;		/* 0 or 0x48 */
	uint8_t op;		/* 0F op */
	uint8_t reg, rm;	/* ModRM fields of the register form */
	uint8_t imm;
	unsigned flags;
	enum kind k0, k1;	/* operand kinds of destination/source */
};

#define NP -1
static const struct spec specs[] = {
	/* FP arithmetic */
#define FP4(nm, op) \
	{ nm "ps", NP, 0, op, 0, 1, 0, 0, K_F32, K_F32 }, { nm "pd", 0x66, 0, op, 0, 1, 0, 0, K_F64, K_F64 }, \
	{ nm "ss", 0xf3, 0, op, 0, 1, 0, 0, K_F32, K_F32 }, { nm "sd", 0xf2, 0, op, 0, 1, 0, 0, K_F64, K_F64 },
	FP4("add", 0x58) FP4("mul", 0x59) FP4("sub", 0x5c) FP4("min", 0x5d) FP4("div", 0x5e) FP4("max", 0x5f)
	FP4("sqrt", 0x51)
	{ "rsqrtps", NP, 0, 0x52, 0, 1, 0, F_APPROX, K_F32, K_F32 },
	{ "rsqrtss", 0xf3, 0, 0x52, 0, 1, 0, F_APPROX, K_F32, K_F32 },
	{ "rcpps", NP, 0, 0x53, 0, 1, 0, F_APPROX, K_F32, K_F32 },
	{ "rcpss", 0xf3, 0, 0x53, 0, 1, 0, F_APPROX, K_F32, K_F32 },
#define LOG2(nm, op) { nm "ps", NP, 0, op, 0, 1, 0, 0, K_INT, K_INT }, { nm "pd", 0x66, 0, op, 0, 1, 0, 0, K_INT, K_INT },
	LOG2("and", 0x54) LOG2("andn", 0x55) LOG2("or", 0x56) LOG2("xor", 0x57)
	{ "cmpps0", NP, 0, 0xc2, 0, 1, 0, F_IMM, K_F32, K_F32 }, { "cmpps1", NP, 0, 0xc2, 0, 1, 1, F_IMM, K_F32, K_F32 },
	{ "cmpps2", NP, 0, 0xc2, 0, 1, 2, F_IMM, K_F32, K_F32 }, { "cmpps3", NP, 0, 0xc2, 0, 1, 3, F_IMM, K_F32, K_F32 },
	{ "cmpps4", NP, 0, 0xc2, 0, 1, 4, F_IMM, K_F32, K_F32 }, { "cmpps5", NP, 0, 0xc2, 0, 1, 5, F_IMM, K_F32, K_F32 },
	{ "cmpps6", NP, 0, 0xc2, 0, 1, 6, F_IMM, K_F32, K_F32 }, { "cmpps7", NP, 0, 0xc2, 0, 1, 7, F_IMM, K_F32, K_F32 },
	{ "cmppd1", 0x66, 0, 0xc2, 0, 1, 1, F_IMM, K_F64, K_F64 }, { "cmppd4", 0x66, 0, 0xc2, 0, 1, 4, F_IMM, K_F64, K_F64 },
	{ "cmpss2", 0xf3, 0, 0xc2, 0, 1, 2, F_IMM, K_F32, K_F32 }, { "cmpss7", 0xf3, 0, 0xc2, 0, 1, 7, F_IMM, K_F32, K_F32 },
	{ "cmpsd0", 0xf2, 0, 0xc2, 0, 1, 0, F_IMM, K_F64, K_F64 }, { "cmpsd6", 0xf2, 0, 0xc2, 0, 1, 6, F_IMM, K_F64, K_F64 },
	{ "ucomiss", NP, 0, 0x2e, 0, 1, 0, F_FLAGS, K_F32, K_F32 }, { "ucomisd", 0x66, 0, 0x2e, 0, 1, 0, F_FLAGS, K_F64, K_F64 },
	{ "comiss", NP, 0, 0x2f, 0, 1, 0, F_FLAGS, K_F32, K_F32 }, { "comisd", 0x66, 0, 0x2f, 0, 1, 0, F_FLAGS, K_F64, K_F64 },
	/* conversions */
	{ "cvtpi2ps", NP, 0, 0x2a, 0, 1, 0, 0, K_F32, K_I32 }, { "cvtpi2pd", 0x66, 0, 0x2a, 0, 1, 0, 0, K_F64, K_I32 },
	{ "cvtsi2ss", 0xf3, 0, 0x2a, 0, 1, 0, 0, K_F32, K_I32 }, { "cvtsi2sd", 0xf2, 0, 0x2a, 0, 1, 0, 0, K_F64, K_I32 },
	{ "cvtsi2ss64", 0xf3, 0x48, 0x2a, 0, 1, 0, 0, K_F32, K_INT }, { "cvtsi2sd64", 0xf2, 0x48, 0x2a, 0, 1, 0, 0, K_F64, K_INT },
	{ "cvttps2pi", NP, 0, 0x2c, 0, 1, 0, 0, K_INT, K_F32 }, { "cvttpd2pi", 0x66, 0, 0x2c, 0, 1, 0, 0, K_INT, K_F64 },
	{ "cvttss2si", 0xf3, 0, 0x2c, 0, 1, 0, 0, K_INT, K_F32 }, { "cvttsd2si", 0xf2, 0, 0x2c, 0, 1, 0, 0, K_INT, K_F64 },
	{ "cvttss2si64", 0xf3, 0x48, 0x2c, 0, 1, 0, 0, K_INT, K_F32 }, { "cvttsd2si64", 0xf2, 0x48, 0x2c, 0, 1, 0, 0, K_INT, K_F64 },
	{ "cvtps2pi", NP, 0, 0x2d, 0, 1, 0, 0, K_INT, K_F32 }, { "cvtpd2pi", 0x66, 0, 0x2d, 0, 1, 0, 0, K_INT, K_F64 },
	{ "cvtss2si", 0xf3, 0, 0x2d, 0, 1, 0, 0, K_INT, K_F32 }, { "cvtsd2si", 0xf2, 0, 0x2d, 0, 1, 0, 0, K_INT, K_F64 },
	{ "cvtss2si64", 0xf3, 0x48, 0x2d, 0, 1, 0, 0, K_INT, K_F32 }, { "cvtsd2si64", 0xf2, 0x48, 0x2d, 0, 1, 0, 0, K_INT, K_F64 },
	{ "cvtps2pd", NP, 0, 0x5a, 0, 1, 0, 0, K_F64, K_F32 }, { "cvtpd2ps", 0x66, 0, 0x5a, 0, 1, 0, 0, K_F32, K_F64 },
	{ "cvtss2sd", 0xf3, 0, 0x5a, 0, 1, 0, 0, K_F64, K_F32 }, { "cvtsd2ss", 0xf2, 0, 0x5a, 0, 1, 0, 0, K_F32, K_F64 },
	{ "cvtdq2ps", NP, 0, 0x5b, 0, 1, 0, 0, K_F32, K_I32 }, { "cvtps2dq", 0x66, 0, 0x5b, 0, 1, 0, 0, K_INT, K_F32 },
	{ "cvttps2dq", 0xf3, 0, 0x5b, 0, 1, 0, 0, K_INT, K_F32 },
	{ "cvttpd2dq", 0x66, 0, 0xe6, 0, 1, 0, 0, K_INT, K_F64 }, { "cvtdq2pd", 0xf3, 0, 0xe6, 0, 1, 0, 0, K_F64, K_I32 },
	{ "cvtpd2dq", 0xf2, 0, 0xe6, 0, 1, 0, 0, K_INT, K_F64 },
	/* moves and shuffles */
	{ "movups", NP, 0, 0x10, 0, 1, 0, 0, K_INT, K_INT }, { "movupd", 0x66, 0, 0x10, 0, 1, 0, 0, K_INT, K_INT },
	{ "movss", 0xf3, 0, 0x10, 0, 1, 0, 0, K_INT, K_INT }, { "movsd", 0xf2, 0, 0x10, 0, 1, 0, 0, K_INT, K_INT },
	{ "movups.st", NP, 0, 0x11, 0, 1, 0, 0, K_INT, K_INT }, { "movupd.st", 0x66, 0, 0x11, 0, 1, 0, 0, K_INT, K_INT },
	{ "movss.st", 0xf3, 0, 0x11, 0, 1, 0, 0, K_INT, K_INT }, { "movsd.st", 0xf2, 0, 0x11, 0, 1, 0, 0, K_INT, K_INT },
	{ "movhlps/movlps", NP, 0, 0x12, 0, 1, 0, 0, K_INT, K_INT }, { "movlpd", 0x66, 0, 0x12, 0, 1, 0, F_MEM, K_INT, K_INT },
	{ "movlps.st", NP, 0, 0x13, 0, 1, 0, F_MEM, K_INT, K_INT }, { "movlpd.st", 0x66, 0, 0x13, 0, 1, 0, F_MEM, K_INT, K_INT },
	{ "unpcklps", NP, 0, 0x14, 0, 1, 0, 0, K_INT, K_INT }, { "unpcklpd", 0x66, 0, 0x14, 0, 1, 0, 0, K_INT, K_INT },
	{ "unpckhps", NP, 0, 0x15, 0, 1, 0, 0, K_INT, K_INT }, { "unpckhpd", 0x66, 0, 0x15, 0, 1, 0, 0, K_INT, K_INT },
	{ "movlhps/movhps", NP, 0, 0x16, 0, 1, 0, 0, K_INT, K_INT }, { "movhpd", 0x66, 0, 0x16, 0, 1, 0, F_MEM, K_INT, K_INT },
	{ "movhps.st", NP, 0, 0x17, 0, 1, 0, F_MEM, K_INT, K_INT }, { "movhpd.st", 0x66, 0, 0x17, 0, 1, 0, F_MEM, K_INT, K_INT },
	{ "movaps", NP, 0, 0x28, 0, 1, 0, 0, K_INT, K_INT }, { "movapd", 0x66, 0, 0x28, 0, 1, 0, 0, K_INT, K_INT },
	{ "movaps.st", NP, 0, 0x29, 0, 1, 0, 0, K_INT, K_INT }, { "movapd.st", 0x66, 0, 0x29, 0, 1, 0, 0, K_INT, K_INT },
	{ "movntps", NP, 0, 0x2b, 0, 1, 0, F_MEM, K_INT, K_INT }, { "movntpd", 0x66, 0, 0x2b, 0, 1, 0, F_MEM, K_INT, K_INT },
	{ "movmskps", NP, 0, 0x50, 0, 1, 0, F_REGONLY, K_INT, K_INT }, { "movmskpd", 0x66, 0, 0x50, 0, 1, 0, F_REGONLY, K_INT, K_INT },
	{ "shufps", NP, 0, 0xc6, 0, 1, 0x1b, F_IMM, K_INT, K_INT }, { "shufpd", 0x66, 0, 0xc6, 0, 1, 2, F_IMM, K_INT, K_INT },
	{ "movd.mm", NP, 0, 0x6e, 0, 1, 0, 0, K_INT, K_INT }, { "movq.mm", NP, 0x48, 0x6e, 0, 1, 0, 0, K_INT, K_INT },
	{ "movd.x", 0x66, 0, 0x6e, 0, 1, 0, 0, K_INT, K_INT }, { "movq.x", 0x66, 0x48, 0x6e, 0, 1, 0, 0, K_INT, K_INT },
	{ "movd.mm.st", NP, 0, 0x7e, 0, 1, 0, 0, K_INT, K_INT }, { "movq.mm.st", NP, 0x48, 0x7e, 0, 1, 0, 0, K_INT, K_INT },
	{ "movd.x.st", 0x66, 0, 0x7e, 0, 1, 0, 0, K_INT, K_INT }, { "movq.x.st", 0x66, 0x48, 0x7e, 0, 1, 0, 0, K_INT, K_INT },
	{ "movq.f3", 0xf3, 0, 0x7e, 0, 1, 0, 0, K_INT, K_INT },
	{ "movq.mm2", NP, 0, 0x6f, 0, 1, 0, 0, K_INT, K_INT }, { "movdqa", 0x66, 0, 0x6f, 0, 1, 0, 0, K_INT, K_INT },
	{ "movdqu", 0xf3, 0, 0x6f, 0, 1, 0, 0, K_INT, K_INT },
	{ "movq.mm2.st", NP, 0, 0x7f, 0, 1, 0, 0, K_INT, K_INT }, { "movdqa.st", 0x66, 0, 0x7f, 0, 1, 0, 0, K_INT, K_INT },
	{ "movdqu.st", 0xf3, 0, 0x7f, 0, 1, 0, 0, K_INT, K_INT },
	{ "pshufw", NP, 0, 0x70, 0, 1, 0x4e, F_IMM, K_INT, K_INT }, { "pshufd", 0x66, 0, 0x70, 0, 1, 0x1b, F_IMM, K_INT, K_INT },
	{ "pshufhw", 0xf3, 0, 0x70, 0, 1, 0xb1, F_IMM, K_INT, K_INT }, { "pshuflw", 0xf2, 0, 0x70, 0, 1, 0x93, F_IMM, K_INT, K_INT },
	{ "movnti", NP, 0, 0xc3, 0, 1, 0, F_MEM, K_INT, K_INT }, { "movnti64", NP, 0x48, 0xc3, 0, 1, 0, F_MEM, K_INT, K_INT },
	{ "pinsrw.mm", NP, 0, 0xc4, 0, 1, 2, F_IMM, K_INT, K_INT }, { "pinsrw.x", 0x66, 0, 0xc4, 0, 1, 6, F_IMM, K_INT, K_INT },
	{ "pextrw.mm", NP, 0, 0xc5, 0, 1, 3, F_IMM | F_REGONLY, K_INT, K_INT },
	{ "pextrw.x", 0x66, 0, 0xc5, 0, 1, 5, F_IMM | F_REGONLY, K_INT, K_INT },
	{ "movq.d6", 0x66, 0, 0xd6, 0, 1, 0, 0, K_INT, K_INT },
	{ "movq2dq", 0xf3, 0, 0xd6, 0, 1, 0, F_REGONLY, K_INT, K_INT },
	{ "movdq2q", 0xf2, 0, 0xd6, 0, 1, 0, F_REGONLY, K_INT, K_INT },
	{ "pmovmskb.mm", NP, 0, 0xd7, 0, 1, 0, F_REGONLY, K_INT, K_INT },
	{ "pmovmskb.x", 0x66, 0, 0xd7, 0, 1, 0, F_REGONLY, K_INT, K_INT },
	{ "movntq", NP, 0, 0xe7, 0, 1, 0, F_MEM, K_INT, K_INT }, { "movntdq", 0x66, 0, 0xe7, 0, 1, 0, F_MEM, K_INT, K_INT },
	{ "emms", NP, 0, 0x77, 0, 0, 0, F_REGONLY, K_INT, K_INT },
	/* shifts by immediate: ModRM reg = group, rm = register 0 */
#define SHI(nm, op, g, imm) { nm ".mm", NP, 0, op, g, 0, imm, F_IMM | F_REGONLY, K_INT, K_INT }, \
	{ nm ".x", 0x66, 0, op, g, 0, imm, F_IMM | F_REGONLY, K_INT, K_INT },
	SHI("psrlw", 0x71, 2, 3) SHI("psraw", 0x71, 4, 9) SHI("psllw", 0x71, 6, 17)
	SHI("psrld", 0x72, 2, 7) SHI("psrad", 0x72, 4, 40) SHI("pslld", 0x72, 6, 31)
	SHI("psrlq", 0x73, 2, 33) SHI("psllq", 0x73, 6, 63)
	{ "psrldq", 0x66, 0, 0x73, 3, 0, 5, F_IMM | F_REGONLY, K_INT, K_INT },
	{ "pslldq", 0x66, 0, 0x73, 7, 0, 11, F_IMM | F_REGONLY, K_INT, K_INT },
};

/* Integer ops: 0F op in MMX (NP) and XMM (66) forms, all kinds random. */
static const uint8_t int_ops[] = {
	0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x74, 0x75, 0x76,
	0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
	0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
	0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
};

/* ---- the runner ------------------------------------------------------------ */

struct ctx {
	struct th *t;
	uint8_t *page;
	unsigned fails;
};

static unsigned encode(const struct spec *s, bool mem, uint8_t *o)
{
	unsigned n = 0;
	if (s->pfx >= 0)
		o[n++] = (uint8_t)s->pfx;
	if (s->rex)
		o[n++] = (uint8_t)s->rex;
	o[n++] = 0x0f;
	o[n++] = s->op;
	if (s->op != 0x77) {
		if (mem) {
			uint32_t d = 80;
			o[n++] = (uint8_t)(0x87 | (s->reg & 7) << 3);
			memcpy(o + n, &d, 4);
			n += 4;
		} else {
			o[n++] = (uint8_t)(0xc0 | (s->reg & 7) << 3 | (s->rm & 7));
		}
	}
	if (s->flags & F_IMM)
		o[n++] = s->imm;
	return n;
}

static bool approx_ok(const struct spec *s, const struct sstate *in, const struct sstate *a, const struct sstate *b)
{
	unsigned lanes = s->pfx == 0xf3 ? 1 : 4;
	if (memcmp(a->xmm0o + 4 * lanes, b->xmm0o + 4 * lanes, 16 - 4 * lanes))
		return false;
	for (unsigned k = 0; k < lanes; k++) {
		float x, y;
		uint32_t src;
		memcpy(&x, a->xmm0o + 4 * k, 4);
		memcpy(&y, b->xmm0o + 4 * k, 4);
		memcpy(&src, in->xmm1 + 4 * k, 4);
		uint32_t ux, uy;
		memcpy(&ux, &x, 4);
		memcpy(&uy, &y, 4);
		if (isnan(x) || isnan(y) || isinf(x) || isinf(y) || x == 0 || y == 0) {
			if (ux != uy)
				return false;
			continue;
		}
		/* both approximate the same value within 1.5 * 2^-12 */
		if (fabs((double)x - (double)y) > 3.0 * 0x1p-12 * fabs((double)x))
			return false;
	}
	return true;
}

static void run_case(struct ctx *c, const struct spec *s, bool mem, const struct sstate *in)
{
	uint8_t insn[16];
	unsigned len = encode(s, mem, insn);
	struct buf b;
	/* host */
	build_stub(&b, insn, len, true);
	memcpy(c->page, b.b, b.n);
	__builtin___clear_cache((char *)c->page, (char *)c->page + b.n);
	struct sstate h = *in;
	h.mxcsr_host = 0x1f80;
	((void (*)(struct sstate *))(void *)c->page)(&h);
	/* guest */
	build_stub(&b, insn, len, false);
	th_code(c->t, b.b, b.n);
	struct sstate g = *in;
	g.mxcsr_host = 0x1f80;
	th_poke(c->t, STATE_PA, &g, sizeof g);
	c->t->cpu->regs[R_DI] = STATE_PA;
	c->t->cpu->rip = TH_CODE;
	th_run(c->t);
	if (c->t->exc_vector >= 0) {
		if (getenv("SSE_DBG")) { uint8_t cb[128]; th_peek(c->t, TH_CODE, cb, b.n + 1); for (unsigned q = 0; q <= b.n; q++) fprintf(stderr, "%02x%s", cb[q], q + 1 == b.n - len ? "|" : " "); fprintf(stderr, " len %u ret %llu mxcsr %x\n", b.n, (unsigned long long)c->t->retired, c->t->cpu->mxcsr); }
		if (c->fails++ < 10)
			cr_log_error("%s%s: exception %d err %x at +%llx", s->name, mem ? "/m" : "", c->t->exc_vector, c->t->exc_error, (unsigned long long)(c->t->cpu->rip - TH_CODE));
		return;
	}
	th_peek(c->t, STATE_PA, &g, sizeof g);
	uint64_t flm = (s->flags & F_FLAGS) ? FL_ARITH : 0;
	bool ok = h.mxcsr_out == g.mxcsr_out && !memcmp(h.xmm1o, g.xmm1o, 16) && h.mm0o == g.mm0o &&
		  h.raxo == g.raxo && h.rcxo == g.rcxo && !memcmp(h.mem, g.mem, 16) &&
		  ((h.flo ^ g.flo) & flm) == 0;
	if (s->flags & F_APPROX)
		ok = ok && approx_ok(s, in, &h, &g);
	else
		ok = ok && !memcmp(h.xmm0o, g.xmm0o, 16);
	if (!ok && c->fails++ < 10) {
		cr_log_error("%s%s mxcsr %08x: in x0 %016llx%016llx x1 %016llx%016llx mm %016llx/%016llx rcx %016llx",
			     s->name, mem ? "/m" : "", in->mxcsr_in,
			     *(unsigned long long *)(in->xmm0 + 8), *(unsigned long long *)in->xmm0,
			     *(unsigned long long *)(mem ? in->mem + 8 : in->xmm1 + 8),
			     *(unsigned long long *)(mem ? in->mem : in->xmm1),
			     (unsigned long long)in->mm0, (unsigned long long)in->mm1, (unsigned long long)in->rcx);
		cr_log_error("  host x0 %016llx%016llx mxcsr %08x rax %llx mm0 %llx fl %llx",
			     *(unsigned long long *)(h.xmm0o + 8), *(unsigned long long *)h.xmm0o, h.mxcsr_out,
			     (unsigned long long)h.raxo, (unsigned long long)h.mm0o, (unsigned long long)(h.flo & flm));
		cr_log_error("  emu  x0 %016llx%016llx mxcsr %08x rax %llx mm0 %llx fl %llx",
			     *(unsigned long long *)(g.xmm0o + 8), *(unsigned long long *)g.xmm0o, g.mxcsr_out,
			     (unsigned long long)g.raxo, (unsigned long long)g.mm0o, (unsigned long long)(g.flo & flm));
	}
}

static void run_spec(struct ctx *c, const struct spec *s, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		struct sstate in;
		memset(&in, 0, sizeof in);
		/* all masked; RC, DAZ, FTZ from the case number */
		in.mxcsr_in = 0x1f80 | (k & 3) << 13 | ((k >> 2) & 1) << 6 | ((k >> 3) & 1) << 15;
		fill(in.xmm0, 16, s->k0);
		fill(in.xmm1, 16, s->k1);
		fill(in.mem, 16, s->k1);
		fill((uint8_t *)&in.mm0, 8, s->k0);
		fill((uint8_t *)&in.mm1, 8, s->k1);
		in.rax = rnd();
		in.rcx = s->k1 == K_I32 ? (uint64_t)(int64_t)(int32_t)genint() : rnd();
		if (s->k1 == K_I32 && s->rex && (k & 1))
			in.rcx = rnd() >> (rnd() % 64);
		bool mem = (s->flags & F_MEM) || (!(s->flags & F_REGONLY) && (k % 5) == 4);
		run_case(c, s, mem, &in);
	}
}

static struct ctx setup(void)
{
	struct ctx c = { 0 };
	c.page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(c.page != MAP_FAILED);
	c.t = th_new(TH_LONG64);
	c.t->cpu->cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
	c.t->cpu->cr0 &= ~(uint64_t)(CR0_EM | CR0_TS);
	return c;
}

static void teardown(struct ctx *c)
{
	th_free(c->t);
	munmap(c->page, 4096);
	cr_assert_eq(c->fails, 0, "%u mismatches", c->fails);
}

Test(sse_diff, fp_and_moves)
{
	struct ctx c = setup();
	for (unsigned k = 0; k < sizeof specs / sizeof specs[0]; k++)
		run_spec(&c, &specs[k], specs[k].k0 == K_INT && specs[k].k1 == K_INT ? 100 : 3000);
	teardown(&c);
}

Test(sse_diff, integer)
{
	struct ctx c = setup();
	for (unsigned k = 0; k < sizeof int_ops; k++) {
		struct spec s = { "int", NP, 0, int_ops[k], 0, 1, 0, 0, K_INT, K_INT };
		char name[32];
		snprintf(name, sizeof name, "0f %02x", int_ops[k]);
		s.name = name;
		/* shift counts: keep them small in most cases */
		bool shift = (int_ops[k] & 0x0f) >= 1 && (int_ops[k] & 0x0f) <= 3 && int_ops[k] >= 0xd1;
		for (unsigned f = 0; f < 2; f++) {
			s.pfx = f ? 0x66 : NP;
			for (unsigned n = 0; n < 300; n++) {
				struct sstate in;
				memset(&in, 0, sizeof in);
				in.mxcsr_in = 0x1f80;
				fill(in.xmm0, 16, K_INT);
				fill(in.xmm1, 16, K_INT);
				fill(in.mem, 16, K_INT);
				in.mm0 = rnd();
				in.mm1 = rnd();
				if (shift && n % 4) {
					uint64_t cnt = rnd() % 70;
					memcpy(in.xmm1, &cnt, 8);
					memcpy(in.mem, &cnt, 8);
					in.mm1 = cnt;
				}
				run_case(&c, &s, n % 3 == 2, &in);
			}
		}
	}
	/* punpcklqdq / punpckhqdq (66 only) */
	for (unsigned op = 0x6c; op <= 0x6d; op++) {
		struct spec s = { "punpck*qdq", 0x66, 0, (uint8_t)op, 0, 1, 0, 0, K_INT, K_INT };
		run_spec(&c, &s, 20);
	}
	teardown(&c);
}

#endif
