/*
 * test_aes.c - AES-NI and PCLMULQDQ: host-differential runs of every
 * instruction (register, high-register and memory forms; every
 * AESKEYGENASSIST round constant; every PCLMULQDQ quadword selection and
 * ignored imm8 bits), alignment #GP of the m128 forms, and a FIPS-197
 * known-answer test (appendix C.1, AES-128) that expands the key with
 * AESKEYGENASSIST, encrypts with AESENC/AESENCLAST and decrypts with
 * AESIMC/AESDEC/AESDECLAST in nestemu alone, so it needs no host AES.
 */
#include <criterion/criterion.h>

#include "sse4_diff.h"

static void setup(void)
{
	sx_init();
}

static void teardown(void)
{
	sx_fini();
}

TestSuite(aes, .init = setup, .fini = teardown);

static const struct sx_insn aes_ops[] = {
	{ "aesimc", 0x66, 2, 0xdb, false, false, SX_INT },
	{ "aesenc", 0x66, 2, 0xdc, false, false, SX_INT },
	{ "aesenclast", 0x66, 2, 0xdd, false, false, SX_INT },
	{ "aesdec", 0x66, 2, 0xde, false, false, SX_INT },
	{ "aesdeclast", 0x66, 2, 0xdf, false, false, SX_INT },
};
static const struct sx_insn keygen = { "aeskeygenassist", 0x66, 3, 0xdf, true, false, SX_INT };
static const struct sx_insn pclmul = { "pclmulqdq", 0x66, 3, 0x44, true, false, SX_INT };

Test(aes, diff_rounds)
{
	if (!sx_host_has(25))
		cr_skip_test("host has no AES-NI");
	unsigned bad = 0;
	for (unsigned k = 0; k < 5; k++) {
		bad += sx_diff(&aes_ops[k], SX_RR, 0, 64);
		bad += sx_diff(&aes_ops[k], SX_RR_HI, 0, 16);
		bad += sx_diff(&aes_ops[k], SX_RM, 0, 16);
	}
	for (unsigned imm = 0; imm < 256; imm++)
		bad += sx_diff(&keygen, imm % 3 == 0 ? SX_RM : imm % 3 == 1 ? SX_RR : SX_RR_HI, imm, 4);
	cr_expect_eq(bad, 0, "%u mismatches", bad);
}

Test(aes, diff_pclmulqdq)
{
	if (!sx_host_has(1))
		cr_skip_test("host has no PCLMULQDQ");
	unsigned bad = 0;
	static const unsigned imms[] = { 0x00, 0x01, 0x10, 0x11, 0xee, 0xff, 0x2c, 0x83 };
	for (unsigned k = 0; k < sizeof(imms) / sizeof(imms[0]); k++) {
		bad += sx_diff(&pclmul, SX_RR, imms[k], 64);
		bad += sx_diff(&pclmul, SX_RR_HI, imms[k], 8);
		bad += sx_diff(&pclmul, SX_RM, imms[k], 8);
	}
	cr_expect_eq(bad, 0, "%u mismatches", bad);
}

static int run_state(const struct sx_insn *x, enum sx_form f, unsigned imm, struct sx_state *s)
{
	uint8_t code[16];
	unsigned len = sx_encode(code, x, f, imm);
	return sx_emulate(code, len, s);
}

Test(aes, alignment)
{
	struct sx_state s;
	for (unsigned k = 0; k < 5; k++) {
		sx_random_state(&s, SX_INT);
		cr_expect_eq(run_state(&aes_ops[k], SX_RM_MIS, 0, &s), 13, "%s", aes_ops[k].name);
	}
	sx_random_state(&s, SX_INT);
	cr_expect_eq(run_state(&keygen, SX_RM_MIS, 1, &s), 13);
	sx_random_state(&s, SX_INT);
	cr_expect_eq(run_state(&pclmul, SX_RM_MIS, 1, &s), 13);
}

/* xmm1 = op(xmm1 = a, xmm2 = b) in nestemu. */
static void emu_op(const struct sx_insn *x, unsigned imm, uint8_t *a, const uint8_t *b)
{
	struct sx_state s;
	sx_random_state(&s, SX_INT);
	memcpy(s.xmm[1], a, 16);
	memcpy(s.xmm[2], b, 16);
	cr_assert_eq(run_state(x, SX_RR, imm, &s), -1, "%s faulted", x->name);
	memcpy(a, s.xmm[1], 16);
}

static void xor16(uint8_t *d, const uint8_t *s)
{
	for (unsigned k = 0; k < 16; k++)
		d[k] ^= s[k];
}

Test(aes, fips197_aes128_known_answer)
{
	static const uint8_t pt[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	static const uint8_t ct_ok[16] = { 0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
					   0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a };
	static const uint8_t rcon[11] = { 0, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36 };
	uint8_t rk[11][16], zero[16] = { 0 };
	for (unsigned k = 0; k < 16; k++)
		rk[0][k] = (uint8_t)k;
	for (unsigned r = 1; r <= 10; r++) {
		uint8_t t[16];
		memcpy(t, zero, 16);
		emu_op(&keygen, rcon[r], t, rk[r - 1]);
		uint32_t w[4], x;
		memcpy(w, rk[r - 1], 16);
		memcpy(&x, t + 12, 4);
		w[0] ^= x;
		w[1] ^= w[0];
		w[2] ^= w[1];
		w[3] ^= w[2];
		memcpy(rk[r], w, 16);
	}
	static const uint8_t rk10[16] = { 0x13, 0x11, 0x1d, 0x7f, 0xe3, 0x94, 0x4a, 0x17,
					  0xf3, 0x07, 0xa7, 0x8b, 0x4d, 0x2b, 0x30, 0xc5 };
	cr_expect(memcmp(rk[10], rk10, 16) == 0, "last round key");

	uint8_t st[16];
	memcpy(st, pt, 16);
	xor16(st, rk[0]);
	for (unsigned r = 1; r < 10; r++)
		emu_op(&aes_ops[1], 0, st, rk[r]);
	emu_op(&aes_ops[2], 0, st, rk[10]);
	cr_expect(memcmp(st, ct_ok, 16) == 0, "AES-128 ciphertext");

	/* equivalent inverse cipher: round keys 1..9 through AESIMC */
	xor16(st, rk[10]);
	for (unsigned r = 9; r >= 1; r--) {
		uint8_t dk[16];
		memcpy(dk, zero, 16);
		emu_op(&aes_ops[0], 0, dk, rk[r]);
		emu_op(&aes_ops[3], 0, st, dk);
	}
	emu_op(&aes_ops[4], 0, st, rk[0]);
	cr_expect(memcmp(st, pt, 16) == 0, "AES-128 decryption gives the plaintext back");
}

Test(aes, pclmulqdq_known_product)
{
	struct sx_state s;
	sx_random_state(&s, SX_INT);
	uint64_t a[2] = { 0x8000000000000001ull, 3 }, b[2] = { 5, 0xffffffffffffffffull };
	memcpy(s.xmm[1], a, 16);
	memcpy(s.xmm[2], b, 16);
	cr_assert_eq(run_state(&pclmul, SX_RR, 0x10, &s), -1);
	uint64_t r[2];
	memcpy(r, s.xmm[1], 16);
	/* imm 0x10: xmm1.q[0] = x^63 + 1 times xmm2.q[1] = x^63 + ... + 1:
	 * x^126 + ... + x^64 + x^62 + ... + 1 (the two x^63 terms cancel) */
	cr_expect_eq(r[0], 0x7fffffffffffffffull);
	cr_expect_eq(r[1], 0x7fffffffffffffffull);
}

/* Without the CPUID feature the opcodes are undefined. */
Test(aes, ud_without_feature)
{
	struct th *t = th_new(TH_LONG64);
	uint8_t code[16];
	unsigned len = sx_encode(code, &aes_ops[1], SX_RR, 0);
	t->cpu->features[FEAT_AES / 32] &= ~(1u << (FEAT_AES % 32));
	th_code(t, code, len);
	th_run(t);
	cr_expect_eq(t->exc_vector, 6, "AESENC without CPUID.AES");
	th_free(t);
	t = th_new(TH_LONG64);
	len = sx_encode(code, &pclmul, SX_RR, 0);
	t->cpu->features[FEAT_PCLMULQDQ / 32] &= ~(1u << (FEAT_PCLMULQDQ % 32));
	th_code(t, code, len);
	th_run(t);
	cr_expect_eq(t->exc_vector, 6, "PCLMULQDQ without CPUID.PCLMULQDQ");
	sx_enable_aes(t);
	th_free(t);
	/* and with it they run */
	t = th_new(TH_LONG64);
	sx_enable_aes(t);
	th_code(t, code, len);
	th_run(t);
	cr_expect_eq(t->exc_vector, -1);
	th_free(t);
}
