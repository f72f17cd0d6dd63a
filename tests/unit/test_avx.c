/*
 * test_avx.c - host-differential tests of the VEX instructions (AVX,
 * AVX2, FMA3, F16C) and their VEX-specific faults.
 *
 * Each case is one instruction in nasm syntax. All cases are assembled
 * once into one blob: a runner at offset 0 and each case's instruction
 * (followed by RET) in its own 32-byte slot. Natively the runner loads
 * YMM0-15, MXCSR, RFLAGS and a few GPRs from a state record (RBX points
 * at a memory buffer inside it), calls the slot, and stores everything
 * back. In nestemu the same slot runs for one instruction on a TH_LONG64
 * machine whose state was set from the same record (RBX = the buffer's
 * guest address). The full 256-bit YMM0-15, MXCSR, the arithmetic flags,
 * RAX/RCX/RDX/RSI and the memory buffer must agree.
 *
 * Case syntax: "<hint>:<text>", where '$' in the text expands to 'x' and
 * 'y' (two cases, VEX.128 and VEX.256) and '%' to the matching "oword" /
 * "yword". Hints choose the operand data: i integer bits, f binary32
 * values (specials, denormals, NaNs, moderate randoms), d binary64, h
 * binary16 in the low halves, s small shift counts/indices in YMM2, g
 * dword (g) or qword (q) gather indices in YMM1/YMM4, m a valid MXCSR image in memory, r
 * approximations (VRCP/VRSQRT: compared within the SDM's relative error
 * 1.5 * 2^-12), D RDI points at the buffer (VMASKMOVDQU). Random MXCSR
 * rounding modes with DAZ/FTZ on and off; all exceptions masked (an
 * unmasked one would fault natively).
 */
#include <criterion/criterion.h>

#if defined(__x86_64__)

#include <cpuid.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "emu/cpu/cpuid.h"
#include "emu/cpu/flags.h"

/* ---- host features ----------------------------------------------------- */

struct hostf {
	bool avx, avx2, fma, f16c;
};

static struct hostf host_features(void)
{
	struct hostf h = { 0 };
	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	bool osxsave = (c >> 27) & 1;
	if (!osxsave)
		return h;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((lo & 6) != 6)
		return h;
	h.avx = (c >> 28) & 1;
	h.fma = h.avx && ((c >> 12) & 1);
	h.f16c = h.avx && ((c >> 29) & 1);
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
		h.avx2 = h.avx && ((b >> 5) & 1);
	return h;
}

/* ---- state record -------------------------------------------------------- */

#define NGPR 6	/* rax rcx rdx rsi rdi r8 */
struct st {
	uint8_t y[16][32];	/* 0 */
	uint32_t mxcsr;		/* 512 */
	uint32_t pad0;
	uint64_t gpr[NGPR];	/* 520 */
	uint64_t fl;		/* 568 */
	uint8_t pad1[64];	/* 576 */
	uint8_t mem[512];	/* 640 */
} __attribute__((aligned(64)));
_Static_assert(offsetof(struct st, mem) == 640, "layout used by the runner");

#define MEM_GPA (TH_DATA + 640)
#define SLOT0 0x400
#define SLOT 32

static const char runner_src[] =
	"bits 64\n"
	"push rbx\n push rbp\n push r12\n push r13\n push r14\n push r15\n"
	"mov r15, rdi\n mov r14, rsi\n"
	"%assign k 0\n%rep 16\n vmovdqu ymm %+ k, [r15 + k*32]\n%assign k k+1\n%endrep\n"
	"ldmxcsr [r15+512]\n"
	"mov rax, [r15+520]\n mov rcx, [r15+528]\n mov rdx, [r15+536]\n mov rsi, [r15+544]\n"
	"mov rdi, [r15+552]\n mov r8, [r15+560]\n"
	"lea rbx, [r15+640]\n"
	"push qword [r15+568]\n popfq\n"
	"call r14\n"
	"pushfq\n pop qword [r15+568]\n"
	"mov [r15+520], rax\n mov [r15+528], rcx\n mov [r15+536], rdx\n mov [r15+544], rsi\n"
	"mov [r15+552], rdi\n mov [r15+560], r8\n"
	"%assign k 0\n%rep 16\n vmovdqu [r15 + k*32], ymm %+ k\n%assign k k+1\n%endrep\n"
	"stmxcsr [r15+512]\n"
	"push 0x1f80\n ldmxcsr [rsp]\n add rsp, 8\n"
	"vzeroupper\n"
	"pop r15\n pop r14\n pop r13\n pop r12\n pop rbp\n pop rbx\n ret\n";

/* ---- cases --------------------------------------------------------------- */

struct xcase {
	char hint;
	char text[96];
	unsigned feat;	/* 0 AVX, 1 AVX2, 2 FMA, 3 F16C */
};

#define MAXCASES 1400
struct caseset {
	struct xcase c[MAXCASES];
	unsigned n;
};

static void add_expanded(struct caseset *cs, char hint, const char *text, unsigned feat, char v)
{
	cr_assert_lt(cs->n, MAXCASES);
	struct xcase *c = &cs->c[cs->n++];
	c->hint = hint;
	c->feat = feat;
	unsigned o = 0;
	for (const char *p = text; *p && o < sizeof(c->text) - 8; p++) {
		if (*p == '$') {
			c->text[o++] = v;
		} else if (*p == '%') {
			const char *w = v == 'y' ? "yword" : "oword";
			memcpy(&c->text[o], w, 5);
			o += 5;
		} else {
			c->text[o++] = *p;
		}
	}
	c->text[o] = 0;
	/* A VEX.256 integer form needs AVX2. */
	if (v == 'y' && feat == 0 && hint == 'i' && strncmp(text, "vp", 2) == 0)
		c->feat = 1;
}

/* Adds "h:text" (one or two cases). */
static void add(struct caseset *cs, const char *spec, unsigned feat)
{
	char hint = spec[0];
	const char *text = spec + 2;
	if (strchr(text, '$') || strchr(text, '%')) {
		add_expanded(cs, hint, text, feat, 'x');
		add_expanded(cs, hint, text, feat, 'y');
	} else {
		add_expanded(cs, hint, text, feat, 'x');
	}
}

/* ---- assembling ------------------------------------------------------------ */

static uint8_t *assemble(const struct caseset *cs, size_t *len)
{
	char in[] = "/tmp/nestemu-avx-XXXXXX";
	int fd = mkstemp(in);
	cr_assert(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs(runner_src, f);
	for (unsigned k = 0; k < cs->n; k++)
		fprintf(f, "times %u-($-$$) db 0xcc\n%s\nret\n", SLOT0 + k * SLOT, cs->c[k].text);
	fclose(f);
	char out[64], cmd[256];
	snprintf(out, sizeof(out), "%s.bin", in);
	snprintf(cmd, sizeof(cmd), "nasm -f bin -o %s %s 2>&1", out, in);
	FILE *p = popen(cmd, "r");
	cr_assert(p);
	char msg[4096] = "";
	size_t got = fread(msg, 1, sizeof(msg) - 1, p);
	msg[got] = 0;
	int rc = pclose(p);
	if (!getenv("AVX_KEEP"))
		unlink(in);
	else
		fprintf(stderr, "kept %s\n", in);
	cr_assert_eq(rc, 0, "nasm failed:\n%s", msg);
	FILE *b = fopen(out, "rb");
	cr_assert(b);
	size_t cap = SLOT0 + (cs->n + 1) * SLOT + 64;
	uint8_t *buf = calloc(1, cap);
	*len = fread(buf, 1, cap, b);
	fclose(b);
	unlink(out);
	return buf;
}

/* ---- data ---------------------------------------------------------------- */

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint32_t rnd_f32(void)
{
	static const uint32_t sp[] = {
		0, 0x80000000u, 0x3f800000u, 0xbf800000u, 0x00000001u, 0x807fffffu, 0x00800000u,
		0x7f7fffffu, 0xff7fffffu, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffc00000u,
		0x7f800001u, 0xffa00005u, 0x7fc12345u, 0x3fc00000u, 0x40490fdbu, 0x4b000001u, 0x00400000u,
		0x4f000000u, 0xcf000000u, 0x3effffffu, 0x3f000000u, 0x40200000u, 0x477fe000u, 0x477ff000u,
		0x38800000u, 0x33800000u, 0x387fc000u,
	};
	unsigned c = rnd() % 10;
	if (c < 3)
		return sp[rnd() % (sizeof(sp) / sizeof(sp[0]))];
	if (c < 8)	/* moderate: exponent 100..150 */
		return (uint32_t)(rnd() & 0x807fffffu) | (uint32_t)(100 + rnd() % 51) << 23;
	if (c < 9)	/* tiny: near the denormal range */
		return (uint32_t)(rnd() & 0x80ffffffu);
	return (uint32_t)rnd();
}

static uint64_t rnd_f64(void)
{
	static const uint64_t sp[] = {
		0, 1ull << 63, 0x3ff0000000000000ull, 0xbff0000000000000ull, 1, 0x800fffffffffffffull,
		0x0010000000000000ull, 0x7fefffffffffffffull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
		0x7ff8000000000000ull, 0xfff8000000000000ull, 0x7ff0000000000001ull, 0xfff4000000000005ull,
		0x7ff8123456789abcull, 0x3ff8000000000000ull, 0x41dfffffffc00000ull, 0xc1e0000000000000ull,
		0x41e0000000000000ull, 0x3810000000000000ull, 0x380fffffffffffffull, 0x47efffffe0000000ull,
		0x47efffffffffffffull, 0x36a0000000000000ull,
	};
	unsigned c = rnd() % 10;
	if (c < 3)
		return sp[rnd() % (sizeof(sp) / sizeof(sp[0]))];
	if (c < 8)	/* moderate: exponent 1000..1050 */
		return (rnd() & 0x800fffffffffffffull) | (uint64_t)(1000 + rnd() % 51) << 52;
	if (c < 9)
		return rnd() & 0x801fffffffffffffull;
	return rnd();
}

static void fill(struct st *s, char hint, unsigned iter)
{
	memset(s, 0, sizeof(*s));
	for (unsigned r = 0; r < 16; r++) {
		for (unsigned k = 0; k < 8; k++) {
			uint32_t v;
			switch (hint) {
			case 'f': case 'r': v = rnd_f32(); break;
			case 'h': v = (uint32_t)rnd() & 0xffff; v |= (uint32_t)(rnd() & 0xffff) << 16; break;
			case 'd': {
				uint64_t q = rnd_f64();
				memcpy(&s->y[r][k * 4], &q, 8);
				k++;
				continue;
			}
			case 'i': default: {
				uint64_t x = rnd();
				v = (x & 0x700) == 0 ? 0 : (x & 0x700) == 0x100 ? ~0u : (x & 0x700) == 0x200 ? 0x80008000u :
				    (x & 0x700) == 0x300 ? 0x7fff7f80u : (uint32_t)(x >> 20);
				break;
			}
			}
			memcpy(&s->y[r][k * 4], &v, 4);
		}
	}
	for (unsigned k = 0; k < sizeof(s->mem); k += 4) {
		uint32_t v = hint == 'd' ? (uint32_t)rnd_f64() : (hint == 'f' || hint == 'r') ? rnd_f32() : (uint32_t)rnd();
		if (hint == 'd' && (k & 4))
			v = (uint32_t)(rnd_f64() >> 32);
		memcpy(&s->mem[k], &v, 4);
	}
	if (hint == 's') {
		for (unsigned k = 0; k < 8; k++) {
			uint32_t v = (uint32_t)(rnd() % 70);
			memcpy(&s->y[2][k * 4], &v, 4);
		}
		if (iter & 1)	/* qword counts */
			for (unsigned k = 0; k < 4; k++) {
				uint64_t v = rnd() % 70;
				memcpy(&s->y[2][k * 8], &v, 8);
			}
	}
	if (hint == 'g' || hint == 'q') {
		for (unsigned r = 1; r <= 4; r += 3)
			for (unsigned k = 0; k < 4; k++) {
				uint64_t v = rnd() % 16 | (uint64_t)(rnd() % 16) << 32;
				if (hint == 'q')
					v &= 0xffffffffu;	/* qword indices */
				memcpy(&s->y[r][k * 8], &v, 8);
			}
	}
	s->mxcsr = 0x1f80 | (unsigned)(iter % 4) << 13;
	if (iter & 4)
		s->mxcsr |= 0x40;	/* DAZ */
	if (iter & 8)
		s->mxcsr |= 0x8000;	/* FTZ */
	if (hint == 'm') {
		uint32_t v = 0x1f80 | (uint32_t)(rnd() & 0xe07f);
		memcpy(s->mem, &v, 4);
	}
	for (unsigned k = 0; k < NGPR; k++)
		s->gpr[k] = rnd();
	if (iter & 2)
		s->gpr[0] = (uint64_t)(int64_t)(int32_t)rnd() >> (rnd() % 40);
	s->fl = 0x202 | (rnd() & (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF));
}

/* ---- running --------------------------------------------------------------- */

struct env {
	struct th *t;
	uint8_t *code;	/* executable host copy */
	size_t len;
	void (*run)(struct st *, void *);
};

static void enable_avx(struct cpu *c)
{
	c->features[FW_1_ECX] |= 1u << (FEAT_AVX % 32) | 1u << (FEAT_FMA % 32) | 1u << (FEAT_F16C % 32) |
				 1u << (FEAT_XSAVE % 32);
	c->features[FW_7_EBX] |= 1u << (FEAT_AVX2 % 32);
	c->cr4 |= CR4_OSXSAVE;
	c->xcr0 = 7;
}

static void env_init(struct env *e, const struct caseset *cs)
{
	size_t len;
	uint8_t *bin = assemble(cs, &len);
	e->code = mmap(NULL, len + 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(e->code != MAP_FAILED);
	memcpy(e->code, bin, len);
	e->len = len;
	e->run = (void (*)(struct st *, void *))(void *)e->code;
	e->t = th_new(TH_LONG64);
	/* Vendor-specific corners (FMA's 0 * inf + QNaN) follow the host. */
	unsigned a, b, c, d;
	__cpuid(0, a, b, c, d);
	if (b == 0x68747541)	/* "Auth" */
		e->t->cpu->model = cpu_model_find("zen2");
	enable_avx(e->t->cpu);
	th_code(e->t, bin, len);
	free(bin);
}

static void emu_run(struct env *e, unsigned slot, struct st *s, bool rdi_mem)
{
	struct th *t = e->t;
	struct cpu *c = t->cpu;
	memcpy(c->vr, s->y, sizeof(s->y));
	c->mxcsr = s->mxcsr;
	static const int gr[NGPR] = { R_AX, R_CX, R_DX, R_SI, R_DI, R_R8 };
	for (unsigned k = 0; k < NGPR; k++)
		c->regs[gr[k]] = s->gpr[k];
	if (rdi_mem)
		c->regs[R_DI] = MEM_GPA;
	c->regs[R_BX] = MEM_GPA;
	flags_set_arith(c, s->fl);
	th_poke(t, MEM_GPA, s->mem, sizeof(s->mem));
	c->rip = TH_CODE + SLOT0 + slot * SLOT;
	th_run_n(t, 1);
	memcpy(s->y, c->vr, sizeof(s->y));
	s->mxcsr = c->mxcsr;
	for (unsigned k = 0; k < NGPR; k++)
		s->gpr[k] = c->regs[gr[k]];
	s->fl = th_flags(t);
	th_peek(t, MEM_GPA, s->mem, sizeof(s->mem));
}

/* Relative comparison of binary32 approximations. */
static bool approx_eq(uint32_t a, uint32_t b)
{
	if (a == b)
		return true;
	float x, y;
	memcpy(&x, &a, 4);
	memcpy(&y, &b, 4);
	if (!isfinite(x) || !isfinite(y) || (x == 0) != (y == 0))
		return false;
	return fabsf(x - y) <= fabsf(y) * (1.5f / 4096.0f) * 2;
}

static bool case_ok(const struct hostf *h, const struct xcase *c)
{
	switch (c->feat) {
	case 0: return h->avx;
	case 1: return h->avx2;
	case 2: return h->fma;
	default: return h->f16c;
	}
}

static unsigned run_cases(const struct caseset *cs, unsigned iters)
{
	struct hostf h = host_features();
	if (!h.avx) {
		cr_log_warn("host has no AVX: differential AVX tests skipped");
		return 0;
	}
	struct env e;
	env_init(&e, cs);
	unsigned bad = 0, ran = 0;
	for (unsigned k = 0; k < cs->n; k++) {
		const struct xcase *c = &cs->c[k];
		if (!case_ok(&h, c))
			continue;
		if (getenv("AVX_TRACE"))
			fprintf(stderr, "case %s\n", c->text);
		for (unsigned it = 0; it < iters; it++) {
			static struct st in, nat, emu;
			fill(&in, c->hint, it);
			nat = in;
			emu = in;
			bool rdi = c->hint == 'D';
			if (rdi)
				nat.gpr[4] = (uint64_t)(uintptr_t)nat.mem;
			e.run(&nat, e.code + SLOT0 + k * SLOT);
			emu_run(&e, k, &emu, rdi);
			ran++;
			if (rdi)
				nat.gpr[4] = emu.gpr[4];
			const char *what = NULL;
			char detail[256] = "";
			if (e.t->exc_vector >= 0) {
				what = "exception";
				snprintf(detail, sizeof(detail), "vector %d", e.t->exc_vector);
			} else if (e.t->retired != 1) {
				what = "not retired";
			}
			for (unsigned r = 0; r < 16 && !what; r++) {
				bool same = memcmp(nat.y[r], emu.y[r], 32) == 0;
				if (!same && c->hint == 'r') {
					same = true;
					for (unsigned j = 0; j < 8; j++) {
						uint32_t a, b;
						memcpy(&a, &emu.y[r][j * 4], 4);
						memcpy(&b, &nat.y[r][j * 4], 4);
						same &= approx_eq(a, b);
					}
				}
				if (!same) {
					what = "ymm";
					unsigned o = (unsigned)snprintf(detail, sizeof(detail), "ymm%u in:", r);
					for (int j = 3; j >= 0 && o < sizeof(detail); j--)
						o += (unsigned)snprintf(detail + o, sizeof(detail) - o, " %016llx",
								      (unsigned long long)((uint64_t *)in.y[r])[j]);
					o += (unsigned)snprintf(detail + o, sizeof(detail) - o, "\n host:");
					for (int j = 3; j >= 0 && o < sizeof(detail); j--)
						o += (unsigned)snprintf(detail + o, sizeof(detail) - o, " %016llx",
								      (unsigned long long)((uint64_t *)nat.y[r])[j]);
					o += (unsigned)snprintf(detail + o, sizeof(detail) - o, "\n emu: ");
					for (int j = 3; j >= 0 && o < sizeof(detail); j--)
						o += (unsigned)snprintf(detail + o, sizeof(detail) - o, " %016llx",
								      (unsigned long long)((uint64_t *)emu.y[r])[j]);
				}
			}
			if (!what && nat.mxcsr != emu.mxcsr && c->hint != 'r') {
				what = "mxcsr";
				snprintf(detail, sizeof(detail), "in %#x host %#x emu %#x", in.mxcsr, nat.mxcsr, emu.mxcsr);
				for (unsigned r = 0; r < 3; r++)
					cr_log_info("in ymm%u %016llx %016llx %016llx %016llx", r,
						    (unsigned long long)((uint64_t *)in.y[r])[0], (unsigned long long)((uint64_t *)in.y[r])[1],
						    (unsigned long long)((uint64_t *)in.y[r])[2], (unsigned long long)((uint64_t *)in.y[r])[3]);
				cr_log_info("in mem %016llx %016llx %016llx %016llx", (unsigned long long)((uint64_t *)in.mem)[0],
					    (unsigned long long)((uint64_t *)in.mem)[1], (unsigned long long)((uint64_t *)in.mem)[2],
					    (unsigned long long)((uint64_t *)in.mem)[3]);
			}
			if (!what && (nat.fl & FL_ARITH) != (emu.fl & FL_ARITH)) {
				what = "flags";
				snprintf(detail, sizeof(detail), "host %#llx emu %#llx", (unsigned long long)(nat.fl & FL_ARITH),
					 (unsigned long long)(emu.fl & FL_ARITH));
			}
			for (unsigned r = 0; r < NGPR && !what; r++)
				if (nat.gpr[r] != emu.gpr[r]) {
					what = "gpr";
					snprintf(detail, sizeof(detail), "gpr%u host %#llx emu %#llx", r,
						 (unsigned long long)nat.gpr[r], (unsigned long long)emu.gpr[r]);
				}
			if (!what && memcmp(nat.mem, emu.mem, sizeof(nat.mem)) != 0)
				what = "memory";
			if (what) {
				if (bad++ < 25)
					cr_log_error("%s (iter %u, mxcsr %#x): %s differs %s", c->text, it, in.mxcsr, what, detail);
				break;
			}
		}
	}
	munmap(e.code, e.len + 4096);
	th_free(e.t);
	cr_log_info("%u runs, %u cases differ", ran, bad);
	cr_expect_gt(ran, 0u);
	return bad;
}

#define ADD_ALL(cs, list, feat) \
	for (unsigned k_ = 0; k_ < sizeof(list) / sizeof(list[0]); k_++) add(cs, list[k_], feat)

/* ---- integer ---------------------------------------------------------------- */

static const char *const int_bin[] = {
	"vpaddb", "vpaddw", "vpaddd", "vpaddq", "vpsubb", "vpsubw", "vpsubd", "vpsubq",
	"vpaddsb", "vpaddsw", "vpaddusb", "vpaddusw", "vpsubsb", "vpsubsw", "vpsubusb", "vpsubusw",
	"vpand", "vpandn", "vpor", "vpxor", "vpcmpeqb", "vpcmpeqw", "vpcmpeqd", "vpcmpeqq",
	"vpcmpgtb", "vpcmpgtw", "vpcmpgtd", "vpcmpgtq", "vpminub", "vpminuw", "vpminud", "vpminsb",
	"vpminsw", "vpminsd", "vpmaxub", "vpmaxuw", "vpmaxud", "vpmaxsb", "vpmaxsw", "vpmaxsd",
	"vpavgb", "vpavgw", "vpmullw", "vpmulhw", "vpmulhuw", "vpmulld", "vpmuludq", "vpmuldq",
	"vpmulhrsw", "vpsignb", "vpsignw", "vpsignd", "vpmaddwd", "vpmaddubsw", "vpsadbw", "vpshufb",
	"vpunpcklbw", "vpunpcklwd", "vpunpckldq", "vpunpcklqdq", "vpunpckhbw", "vpunpckhwd",
	"vpunpckhdq", "vpunpckhqdq", "vpacksswb", "vpackssdw", "vpackuswb", "vpackusdw",
	"vphaddw", "vphaddd", "vphaddsw", "vphsubw", "vphsubd", "vphsubsw",
};

static const char *const int_misc[] = {
	"i:vpabsb $mm0, $mm2", "i:vpabsw $mm0, $mm2", "i:vpabsd $mm0, [rbx+4]",
	"s:vpsllw $mm0, $mm1, xmm2", "s:vpslld $mm0, $mm1, xmm2", "s:vpsllq $mm0, $mm1, xmm2",
	"s:vpsrlw $mm0, $mm1, xmm2", "s:vpsrld $mm0, $mm1, xmm2", "s:vpsrlq $mm0, $mm1, xmm2",
	"s:vpsraw $mm0, $mm1, xmm2", "s:vpsrad $mm0, $mm1, xmm2", "i:vpsrad $mm0, $mm1, [rbx]",
	"i:vpsrlw $mm0, $mm1, 3", "i:vpsrlw $mm5, $mm1, 17", "i:vpsraw $mm0, $mm1, 9", "i:vpsraw $mm0, $mm1, 40",
	"i:vpsllw $mm0, $mm1, 15", "i:vpsrld $mm0, $mm1, 31", "i:vpsrad $mm0, $mm1, 7", "i:vpsrad $mm0, $mm1, 33",
	"i:vpslld $mm0, $mm1, 1", "i:vpsrlq $mm0, $mm1, 63", "i:vpsrlq $mm0, $mm1, 64", "i:vpsllq $mm0, $mm1, 5",
	"i:vpsrldq $mm0, $mm1, 3", "i:vpsrldq $mm0, $mm1, 17", "i:vpslldq $mm0, $mm1, 7", "i:vpslldq $mm0, $mm1, 16",
	"i:vpshufd $mm0, $mm1, 0x1b", "i:vpshufd $mm0, [rbx+8], 0xe4", "i:vpshufhw $mm0, $mm1, 0x39",
	"i:vpshuflw $mm0, $mm1, 0xc6", "i:vpmovmskb eax, $mm1", "i:vpmovmskb ecx, $mm7",
	"i:vphminposuw xmm0, xmm1", "i:vphminposuw xmm0, [rbx]",
	"i:vpalignr $mm0, $mm1, $mm2, 5", "i:vpalignr $mm0, $mm1, $mm2, 17", "i:vpalignr $mm0, $mm1, [rbx], 32",
	"i:vpblendw $mm0, $mm1, $mm2, 0xa5", "i:vmpsadbw $mm0, $mm1, $mm2, 0x05", "i:vmpsadbw $mm0, $mm1, $mm2, 0x2e",
	"i:vpblendvb $mm0, $mm1, $mm2, $mm3", "i:vpblendvb $mm0, $mm1, [rbx], $mm9",
	"i:vpextrw eax, xmm1, 3", "i:vpextrb eax, xmm1, 13", "i:vpextrw [rbx+2], xmm1, 5", "i:vpextrd ecx, xmm1, 2",
	"i:vpextrq rdx, xmm1, 1", "i:vpextrb [rbx+3], xmm1, 7", "i:vpextrd [rbx], xmm3, 3",
	"i:vpinsrw xmm0, xmm1, eax, 5", "i:vpinsrb xmm0, xmm1, ecx, 9", "i:vpinsrd xmm0, xmm1, [rbx], 3",
	"i:vpinsrq xmm0, xmm1, rdx, 1", "i:vpinsrw xmm0, xmm1, [rbx+6], 7",
	"D:vmaskmovdqu xmm1, xmm2",
	"i:vpmovsxbw $mm0, xmm1", "i:vpmovsxbd $mm0, xmm1", "i:vpmovsxbq $mm0, xmm1", "i:vpmovsxwd $mm0, xmm1",
	"i:vpmovsxwq $mm0, xmm1", "i:vpmovsxdq $mm0, xmm1", "i:vpmovzxbw $mm0, xmm1", "i:vpmovzxbd $mm0, xmm1",
	"i:vpmovzxbq $mm0, xmm1", "i:vpmovzxwd $mm0, xmm1", "i:vpmovzxwq $mm0, xmm1", "i:vpmovzxdq $mm0, xmm1",
	"i:vpmovsxbw ymm0, [rbx]", "i:vpmovzxbq ymm0, [rbx+3]", "i:vpmovsxwd xmm0, [rbx+8]",
	"i:vptest $mm0, $mm1", "i:vptest $mm4, [rbx]",
	"i:vaesenc xmm0, xmm1, xmm2", "i:vaesenc xmm3, xmm1, [rbx+1]", "i:vaesenclast xmm0, xmm1, xmm0",
	"i:vaesdec xmm2, xmm1, xmm2", "i:vaesdeclast xmm1, xmm1, [rbx]", "i:vaesimc xmm0, xmm1",
	"i:vaesimc xmm2, [rbx+3]", "i:vaeskeygenassist xmm0, xmm1, 0x1b", "i:vaeskeygenassist xmm1, xmm1, 0x36",
	"i:vpclmulqdq xmm0, xmm1, xmm2, 0x00", "i:vpclmulqdq xmm1, xmm2, xmm1, 0x11", "i:vpclmulqdq xmm0, xmm1, [rbx+7], 0x10",
	"i:vpcmpestri xmm1, xmm2, 0x0c", "i:vpcmpestri xmm3, [rbx+5], 0x40", "i:vpcmpestrm xmm1, xmm2, 0x44",
	"i:vpcmpestrm xmm15, [rbx], 0x08", "i:vpcmpistri xmm1, xmm2, 0x1a", "i:vpcmpistri xmm0, [rbx+2], 0x00",
	"i:vpcmpistrm xmm1, xmm2, 0x4c", "i:vpcmpistrm xmm2, xmm0, 0x00",
};

static const char *const avx2_only[] = {
	"i:vpbroadcastb $mm0, xmm1", "i:vpbroadcastb $mm0, [rbx+5]", "i:vpbroadcastw $mm0, xmm1",
	"i:vpbroadcastw $mm0, [rbx+2]", "i:vpbroadcastd $mm0, xmm1", "i:vpbroadcastd $mm0, [rbx]",
	"i:vpbroadcastq $mm0, xmm1", "i:vpbroadcastq $mm0, [rbx+8]", "i:vbroadcasti128 ymm0, [rbx+16]",
	"i:vinserti128 ymm0, ymm1, xmm2, 1", "i:vinserti128 ymm0, ymm1, [rbx], 0", "i:vextracti128 xmm0, ymm1, 1",
	"i:vextracti128 [rbx+16], ymm1, 0", "i:vperm2i128 ymm0, ymm1, ymm2, 0x31", "i:vperm2i128 ymm0, ymm1, ymm2, 0x28",
	"i:vperm2i128 ymm0, ymm1, [rbx], 0x83", "i:vpermd ymm0, ymm1, ymm2", "i:vpermps ymm0, ymm1, [rbx]",
	"i:vpermq ymm0, ymm1, 0x1b", "i:vpermpd ymm0, [rbx], 0x72",
	"s:vpsllvd $mm0, $mm1, $mm2", "s:vpsllvq $mm0, $mm1, $mm2", "s:vpsrlvd $mm0, $mm1, $mm2",
	"s:vpsrlvq $mm0, $mm1, $mm2", "s:vpsravd $mm0, $mm1, $mm2",
	"i:vpmaskmovd $mm0, $mm1, [rbx]", "i:vpmaskmovq $mm0, $mm1, [rbx+8]", "i:vpmaskmovd [rbx], $mm1, $mm2",
	"i:vpmaskmovq [rbx+4], $mm1, $mm2", "i:vpblendd $mm0, $mm1, $mm2, 0x5a", "i:vpblendd $mm0, $mm1, [rbx], 0xc3",
	"f:vbroadcastss $mm0, xmm1", "d:vbroadcastsd ymm0, xmm1",
	"g:vgatherdps $mm0, [rbx+$mm1*4], $mm2", "g:vgatherdps xmm0, [rbx+xmm4*4+8], xmm2",
	"q:vgatherqps xmm0, [rbx+$mm1*4], xmm2", "g:vgatherdpd xmm0, [rbx+xmm1*8], xmm2",
	"g:vgatherdpd ymm0, [rbx+xmm1*8], ymm2", "q:vgatherqpd $mm0, [rbx+$mm1*8], $mm2",
	"g:vpgatherdd $mm0, [rbx+$mm1*4], $mm2", "g:vpgatherdq xmm0, [rbx+xmm1*2], xmm2",
	"g:vpgatherdq ymm5, [rbx+xmm1*8-4], ymm2", "q:vpgatherqd xmm0, [rbx+$mm1*1], xmm2",
	"q:vpgatherqq $mm0, [rbx+$mm1*8], $mm3",
};

Test(avx, integer_differential)
{
	static struct caseset cs;
	for (unsigned k = 0; k < sizeof(int_bin) / sizeof(int_bin[0]); k++) {
		char b[96];
		snprintf(b, sizeof(b), "i:%s $mm0, $mm1, $mm2", int_bin[k]);
		add(&cs, b, 0);
		snprintf(b, sizeof(b), "i:%s $mm3, $mm4, [rbx+32]", int_bin[k]);
		add(&cs, b, 0);
	}
	ADD_ALL(&cs, int_misc, 0);
	ADD_ALL(&cs, avx2_only, 1);
	cr_expect_eq(run_cases(&cs, 48), 0u);
}

/* ---- floating point and moves ---------------------------------------------- */

static const char *const fp_cases[] = {
	"f:vsqrtps $mm0, $mm1", "d:vsqrtpd $mm0, [rbx]", "f:vsqrtss xmm0, xmm1, xmm2", "d:vsqrtsd xmm0, xmm1, [rbx]",
	"f:vhaddps $mm0, $mm1, $mm2", "d:vhaddpd $mm0, $mm1, $mm2", "f:vhsubps $mm0, $mm1, [rbx]", "d:vhsubpd $mm0, $mm1, $mm2",
	"f:vaddsubps $mm0, $mm1, $mm2", "d:vaddsubpd $mm0, $mm1, $mm2",
	"f:vdpps $mm0, $mm1, $mm2, 0xf1", "f:vdpps $mm0, $mm1, $mm2, 0x3c", "d:vdppd xmm0, xmm1, xmm2, 0x31",
	"f:vroundps $mm0, $mm1, 0", "f:vroundps $mm0, $mm1, 1", "f:vroundps $mm0, $mm1, 0xa", "f:vroundps $mm0, $mm1, 4",
	"d:vroundpd $mm0, $mm1, 3", "d:vroundpd $mm0, $mm1, 0xc", "f:vroundss xmm0, xmm1, xmm2, 2", "d:vroundsd xmm0, xmm1, [rbx], 9",
	"i:vandps $mm0, $mm1, $mm2", "i:vandpd $mm0, $mm1, $mm2", "i:vandnps $mm0, $mm1, $mm2", "i:vandnpd $mm0, $mm1, $mm2",
	"i:vorps $mm0, $mm1, $mm2", "i:vorpd $mm0, $mm1, $mm2", "i:vxorps $mm0, $mm1, [rbx]", "i:vxorpd $mm0, $mm1, $mm2",
	"f:vcomiss xmm1, xmm2", "f:vucomiss xmm1, xmm2", "d:vcomisd xmm1, xmm2", "d:vucomisd xmm1, [rbx]",
	"f:vtestps $mm0, $mm1", "d:vtestpd $mm0, $mm1",
	"r:vrcpps $mm0, $mm1", "r:vrsqrtps $mm0, $mm1", "r:vrcpss xmm0, xmm1, xmm2", "r:vrsqrtss xmm0, xmm1, xmm2",
	"f:vcvtps2pd xmm0, xmm1", "f:vcvtps2pd ymm0, xmm1", "f:vcvtps2pd ymm0, [rbx]", "d:vcvtpd2ps xmm0, xmm1",
	"d:vcvtpd2ps xmm0, ymm1", "f:vcvtss2sd xmm0, xmm1, xmm2", "d:vcvtsd2ss xmm0, xmm1, xmm2",
	"i:vcvtdq2ps $mm0, $mm1", "f:vcvtps2dq $mm0, $mm1", "f:vcvttps2dq $mm0, $mm1", "i:vcvtdq2pd xmm0, xmm1",
	"i:vcvtdq2pd ymm0, xmm1", "d:vcvttpd2dq xmm0, xmm1", "d:vcvttpd2dq xmm0, ymm1", "d:vcvtpd2dq xmm0, xmm1",
	"d:vcvtpd2dq xmm0, ymm1", "d:vcvtpd2dq xmm0, yword [rbx]",
	"i:vcvtsi2ss xmm0, xmm1, eax", "i:vcvtsi2ss xmm0, xmm1, rax", "i:vcvtsi2sd xmm0, xmm1, eax", "i:vcvtsi2sd xmm0, xmm1, rax",
	"i:vcvtsi2sd xmm0, xmm1, dword [rbx]", "f:vcvttss2si eax, xmm1", "f:vcvttss2si rax, xmm1", "d:vcvttsd2si ecx, xmm1",
	"d:vcvttsd2si rcx, xmm1", "f:vcvtss2si edx, xmm1", "f:vcvtss2si rdx, [rbx]", "d:vcvtsd2si esi, xmm1", "d:vcvtsd2si rsi, xmm1",
	/* moves */
	"i:vmovups $mm0, $mm1", "i:vmovups $mm0, [rbx+1]", "i:vmovups [rbx+3], $mm1", "i:vmovupd $mm0, [rbx+7]",
	"i:vmovupd [rbx+1], $mm1", "i:vmovaps $mm0, [rbx]", "i:vmovaps [rbx+32], $mm1", "i:vmovapd $mm0, [rbx+64]",
	"i:vmovapd [rbx], $mm1", "i:vmovdqu $mm0, [rbx+9]", "i:vmovdqu [rbx+5], $mm1", "i:vmovdqa $mm0, [rbx]",
	"i:vmovdqa [rbx], $mm1", "i:vlddqu $mm0, [rbx+5]", "i:vmovntps [rbx], $mm1", "i:vmovntpd [rbx+32], $mm1",
	"i:vmovntdq [rbx], $mm1", "i:vmovntdqa $mm0, [rbx]",
	"i:vmovss xmm0, xmm1, xmm2", "i:vmovss xmm0, [rbx+4]", "i:vmovss [rbx+4], xmm1", "i:vmovsd xmm0, xmm1, xmm2",
	"i:vmovsd xmm0, [rbx+8]", "i:vmovsd [rbx], xmm1",
	"i:vmovlps xmm0, xmm1, [rbx]", "i:vmovhlps xmm0, xmm1, xmm2", "i:vmovlpd xmm0, xmm1, [rbx]", "i:vmovlps [rbx], xmm1",
	"i:vmovlpd [rbx], xmm1", "i:vmovhps xmm0, xmm1, [rbx]", "i:vmovlhps xmm0, xmm1, xmm2", "i:vmovhpd xmm0, xmm1, [rbx]",
	"i:vmovhps [rbx], xmm1", "i:vmovhpd [rbx], xmm1", "i:vmovsldup $mm0, $mm1", "i:vmovshdup $mm0, $mm1",
	"i:vmovddup $mm0, $mm1", "i:vmovddup xmm0, [rbx]", "i:vmovddup ymm0, [rbx]",
	"i:vmovd xmm0, eax", "i:vmovd xmm0, [rbx]", "i:vmovq xmm0, rax", "i:vmovd eax, xmm1", "i:vmovd [rbx], xmm1",
	"i:vmovq rax, xmm1", "i:vmovq xmm0, xmm1", "i:vmovq xmm0, [rbx]", "i:vmovq [rbx], xmm1",
	"f:vmovmskps eax, $mm1", "d:vmovmskpd ecx, $mm1", "i:vzeroupper", "i:vzeroall",
	"m:vldmxcsr [rbx]", "i:vstmxcsr [rbx+4]",
	"i:vshufps $mm0, $mm1, $mm2, 0x4e", "i:vshufps $mm0, $mm1, [rbx], 0xb1", "i:vshufpd $mm0, $mm1, $mm2, 0x5",
	"i:vunpcklps $mm0, $mm1, $mm2", "i:vunpckhps $mm0, $mm1, $mm2", "i:vunpcklpd $mm0, $mm1, $mm2", "i:vunpckhpd $mm0, $mm1, [rbx]",
	"i:vblendps $mm0, $mm1, $mm2, 0xa5", "i:vblendpd $mm0, $mm1, $mm2, 0x9", "i:vblendvps $mm0, $mm1, $mm2, $mm3",
	"i:vblendvpd $mm0, $mm1, [rbx], $mm3", "i:vinsertps xmm0, xmm1, xmm2, 0x5c", "i:vinsertps xmm0, xmm1, [rbx+4], 0x30",
	"i:vextractps eax, xmm1, 2", "i:vextractps [rbx], xmm1, 3",
	"i:vbroadcastss $mm0, [rbx+4]", "i:vbroadcastsd ymm0, [rbx+8]", "i:vbroadcastf128 ymm0, [rbx+16]",
	"i:vinsertf128 ymm0, ymm1, xmm2, 1", "i:vinsertf128 ymm0, ymm1, [rbx], 0", "i:vextractf128 xmm0, ymm1, 1",
	"i:vextractf128 [rbx], ymm1, 1", "i:vperm2f128 ymm0, ymm1, ymm2, 0x21", "i:vperm2f128 ymm0, ymm1, [rbx], 0x8",
	"i:vpermilps $mm0, $mm1, $mm2", "i:vpermilps $mm0, $mm1, 0x1b", "i:vpermilpd $mm0, $mm1, $mm2",
	"i:vpermilpd $mm0, [rbx], 0x6", "i:vmaskmovps $mm0, $mm1, [rbx]", "i:vmaskmovps [rbx+4], $mm1, $mm2",
	"i:vmaskmovpd $mm0, $mm1, [rbx+8]", "i:vmaskmovpd [rbx], $mm1, $mm2",
};

static const char *const fp_arith[] = { "vadd", "vsub", "vmul", "vdiv", "vmin", "vmax" };

Test(avx, fp_differential)
{
	static struct caseset cs;
	for (unsigned k = 0; k < sizeof(fp_arith) / sizeof(fp_arith[0]); k++) {
		char b[96];
		snprintf(b, sizeof(b), "f:%sps $mm0, $mm1, $mm2", fp_arith[k]);
		add(&cs, b, 0);
		snprintf(b, sizeof(b), "d:%spd $mm0, $mm1, [rbx]", fp_arith[k]);
		add(&cs, b, 0);
		snprintf(b, sizeof(b), "d:%spd $mm0, $mm1, $mm2", fp_arith[k]);
		add(&cs, b, 0);
		snprintf(b, sizeof(b), "f:%sss xmm0, xmm1, xmm2", fp_arith[k]);
		add(&cs, b, 0);
		snprintf(b, sizeof(b), "f:%sss xmm0, xmm1, [rbx]", fp_arith[k]);
		add(&cs, b, 0);
		snprintf(b, sizeof(b), "d:%ssd xmm0, xmm1, xmm2", fp_arith[k]);
		add(&cs, b, 0);
	}
	for (unsigned p = 0; p < 32; p++) {
		char b[96];
		snprintf(b, sizeof(b), "f:vcmpps $mm0, $mm1, $mm2, %u", p);
		add(&cs, b, 0);
		snprintf(b, sizeof(b), "d:vcmppd $mm0, $mm1, $mm2, %u", p);
		add(&cs, b, 0);
		snprintf(b, sizeof(b), "f:vcmpss xmm0, xmm1, xmm2, %u", p);
		add(&cs, b, 0);
		snprintf(b, sizeof(b), "d:vcmpsd xmm0, xmm1, xmm2, %u", p);
		add(&cs, b, 0);
	}
	ADD_ALL(&cs, fp_cases, 0);
	cr_expect_eq(run_cases(&cs, 96), 0u);
}

/* ---- FMA3 and F16C ------------------------------------------------------------ */

Test(avx, fma_f16c_differential)
{
	static struct caseset cs;
	static const char *const ops[] = { "vfmadd", "vfmsub", "vfnmadd", "vfnmsub", "vfmaddsub", "vfmsubadd" };
	static const char *const forms[] = { "132", "213", "231" };
	for (unsigned o = 0; o < 6; o++)
		for (unsigned f = 0; f < 3; f++) {
			char b[96];
			snprintf(b, sizeof(b), "f:%s%sps $mm0, $mm1, $mm2", ops[o], forms[f]);
			add(&cs, b, 2);
			snprintf(b, sizeof(b), "d:%s%spd $mm0, $mm1, [rbx]", ops[o], forms[f]);
			add(&cs, b, 2);
			if (o < 4) {
				snprintf(b, sizeof(b), "f:%s%sss xmm0, xmm1, xmm2", ops[o], forms[f]);
				add(&cs, b, 2);
				snprintf(b, sizeof(b), "d:%s%ssd xmm0, xmm1, [rbx]", ops[o], forms[f]);
				add(&cs, b, 2);
			}
		}
	static const char *const f16[] = {
		"h:vcvtph2ps xmm0, xmm1", "h:vcvtph2ps ymm0, xmm1", "h:vcvtph2ps ymm0, [rbx]",
		"f:vcvtps2ph xmm0, $mm1, 0", "f:vcvtps2ph xmm0, $mm1, 1", "f:vcvtps2ph xmm0, $mm1, 2",
		"f:vcvtps2ph xmm0, $mm1, 3", "f:vcvtps2ph xmm0, $mm1, 4", "f:vcvtps2ph [rbx+2], $mm1, 4",
	};
	ADD_ALL(&cs, f16, 3);
	cr_expect_eq(run_cases(&cs, 160), 0u);
}

/* ---- VEX faults and state rules (emulator only) ----------------------------- */

static struct th *avx_machine(void)
{
	struct th *t = th_new(TH_LONG64);
	enable_avx(t->cpu);
	return t;
}

struct fcase {
	const char *src;
	int vector;
	uint32_t error;
};

Test(avx, faults)
{
	static const struct fcase cases[] = {
		{ "vmovaps ymm0, [0x200001]", EXC_GP, 0 },
		{ "vmovdqa xmm0, [0x200008]", EXC_GP, 0 },
		{ "vmovntps [0x200010], ymm0", EXC_GP, 0 },
		{ "vmovups ymm0, [0x200001]", -1, 0 },
		{ "vaddps ymm0, ymm1, [0x200001]", -1, 0 },
		{ "db 0xc5, 0xf0, 0x28, 0xc1", EXC_UD, 0 },		/* vmovaps with vvvv != 1111b */
		{ "db 0xc4, 0xe2, 0x7d, 0x18, 0xc1", -1, 0 },		/* vbroadcastss ymm0, xmm1 (AVX2) */
		{ "db 0xc4, 0xe2, 0x75, 0x92, 0x04, 0x88", EXC_UD, 0 },	/* vgatherdps ymm0, [rax+ymm1*4], ymm1 */
		{ "db 0xc4, 0xe2, 0x75, 0x92, 0x04, 0x80", EXC_UD, 0 },	/* dest == index */
		{ "db 0xc5, 0xfd, 0x12, 0x00", EXC_UD, 0 },		/* vmovlpd with VEX.L = 1 */
		{ "db 0xc4, 0xe3, 0x79, 0x18, 0xc1, 0x01", EXC_UD, 0 },	/* vinsertf128 with VEX.L = 0 */
		{ "db 0xc4, 0xe3, 0xfd, 0x4a, 0xc1, 0x20", EXC_UD, 0 },	/* vblendvps with VEX.W = 1 */
		{ "db 0x66, 0xc5, 0xf8, 0x58, 0xc1", EXC_UD, 0 },		/* 66 before VEX */
		{ "db 0xf0, 0xc5, 0xf8, 0x58, 0xc1", EXC_UD, 0 },		/* LOCK before VEX */
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct th *t = avx_machine();
		t->cpu->regs[R_AX] = TH_DATA;
		th_asm(t, cases[k].src);
		th_run(t);
		cr_expect_eq(t->exc_vector, cases[k].vector, "%s: vector %d, expected %d", cases[k].src,
			     t->exc_vector, cases[k].vector);
		if (cases[k].vector >= 0 && cases[k].vector != EXC_UD)
			cr_expect_eq(t->exc_error, cases[k].error, "%s: error code", cases[k].src);
		th_free(t);
	}
}

Test(avx, availability)
{
	/* XCR0 without YMM, CR4.OSXSAVE clear: #UD; CR0.TS: #NM. */
	struct th *t = avx_machine();
	t->cpu->xcr0 = 3;
	th_asm(t, "vaddps xmm0, xmm1, xmm2");
	th_run(t);
	cr_expect_eq(t->exc_vector, EXC_UD);
	t->cpu->xcr0 = 7;
	t->cpu->cr4 &= ~(uint64_t)CR4_OSXSAVE;
	t->cpu->rip = TH_CODE;
	th_run(t);
	cr_expect_eq(t->exc_vector, EXC_UD);
	t->cpu->cr4 |= CR4_OSXSAVE;
	t->cpu->cr0 |= CR0_TS;
	t->cpu->rip = TH_CODE;
	th_run(t);
	cr_expect_eq(t->exc_vector, EXC_NM);
	t->cpu->cr0 &= ~(uint64_t)CR0_TS;
	t->cpu->rip = TH_CODE;
	th_run(t);
	cr_expect_eq(t->exc_vector, -1);
	th_free(t);
	/* Without the AVX feature the VEX form does not decode. */
	t = th_new(TH_LONG64);
	t->cpu->cr4 |= CR4_OSXSAVE;
	th_asm(t, "vaddps xmm0, xmm1, xmm2");
	th_run(t);
	cr_expect_eq(t->exc_vector, EXC_UD);
	th_free(t);
}

Test(avx, vex128_zeroes_upper_and_unmasked_exception)
{
	struct th *t = avx_machine();
	memset(t->cpu->vr, 0x55, sizeof(t->cpu->vr));
	th_asm(t, "vpaddb xmm0, xmm1, xmm2\n vmovd xmm3, eax\n vzeroupper");
	th_run(t);
	cr_expect_eq(t->exc_vector, -1);
	for (unsigned k = 16; k < 32; k++)
		cr_expect_eq(t->cpu->vr[0].b[k], 0);
	cr_expect_eq(t->cpu->vr[3].q[1], 0);
	cr_expect_eq(t->cpu->vr[5].q[2], 0);
	cr_expect_eq(t->cpu->vr[5].q[1], 0x5555555555555555ull);
	th_free(t);
	/* Unmasked divide-by-zero: #XM, destination unchanged, ZE set. */
	t = avx_machine();
	t->cpu->mxcsr = 0x1f80 & ~(1u << 9);
	t->cpu->vr[1].f[0] = 1.0f;
	t->cpu->vr[2].f[0] = 0.0f;
	t->cpu->vr[0].q[0] = 0x1234;
	th_asm(t, "vdivss xmm0, xmm1, xmm2");
	th_run(t);
	cr_expect_eq(t->exc_vector, EXC_XM);
	cr_expect_eq(t->cpu->vr[0].q[0], 0x1234u);
	cr_expect(t->cpu->mxcsr & 4);
	th_free(t);
}

Test(avx, compat_mode_registers)
{
	/* Outside 64-bit mode only YMM0-7 exist: VZEROALL leaves 8-15. */
	struct th *t = th_new(TH_COMPAT);
	enable_avx(t->cpu);
	memset(t->cpu->vr, 0x11, sizeof(t->cpu->vr));
	th_asm(t, "vzeroall\n vpcmpeqb ymm7, ymm7, ymm7");
	th_run(t);
	cr_expect_eq(t->exc_vector, -1);
	cr_expect_eq(t->cpu->vr[0].q[3], 0);
	cr_expect_eq(t->cpu->vr[7].q[3], ~0ull);
	cr_expect_eq(t->cpu->vr[8].q[0], 0x1111111111111111ull);
	th_free(t);
}

#endif
