/*
 * simdtest.c - a statically linked guest program for the Linux system test
 * (built by tests/images/build.sh with `gcc -O2 -static`, run by
 * tests/system/run.sh inside the busybox initramfs).
 *
 * It drives glibc's IFUNC-selected string functions (SSE2/AVX2 variants,
 * chosen from the CPUID the emulated CPU reports and the XCR0 the kernel
 * set) over many sizes and alignments, including strings that end at an
 * unmapped page, and checks every result against a naive byte loop; then
 * double and long double (x87) arithmetic with exactly known results.
 * Prints one line naming the variants glibc picked, then one line:
 * "SIMDTEST PASS" or "SIMDTEST FAIL <what>". Exit status 0 on PASS.
 */
#define _GNU_SOURCE
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Called through volatile pointers so the compiler neither inlines nor
 * folds them: every call reaches glibc's selected implementation. */
static void *(*volatile f_memcpy)(void *, const void *, size_t) = memcpy;
static void *(*volatile f_memmove)(void *, const void *, size_t) = memmove;
static void *(*volatile f_memset)(void *, int, size_t) = memset;
static size_t (*volatile f_strlen)(const char *) = strlen;
static char *(*volatile f_strchr)(const char *, int) = strchr;
static int (*volatile f_memcmp)(const void *, const void *, size_t) = memcmp;
static int (*volatile f_strcmp)(const char *, const char *) = strcmp;

static int failed;
static char failmsg[160];

#define FAILF(...)                                                              \
	do {                                                                    \
		if (!failed)                                                    \
			snprintf(failmsg, sizeof failmsg, __VA_ARGS__);         \
		failed = 1;                                                     \
	} while (0)

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint8_t rnd8(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)(rng >> 24);
}

/* Non-zero random bytes (usable inside strings). */
static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t v = rnd8();
		p[i] = v ? v : 0x5a;
	}
}

#define BIG 70000
#define PAD 128	/* shifts stay within [-PAD, PAD + 64) */
static const size_t big_sizes[] = { 511, 512, 513, 1023, 1024, 1025, 2047, 2049, 4095, 4096, 4097,
				    8199, 16417, 32768, 65539 };
static const unsigned aligns[] = { 0, 1, 3, 7, 8, 15, 16, 31, 32, 33, 63 };
#define NSMALL 260
#define NA (sizeof aligns / sizeof aligns[0])
#define NBIG (sizeof big_sizes / sizeof big_sizes[0])

static uint8_t *src_buf, *dst_buf, *ref_buf;

static void check_copy(size_t n, unsigned sa, unsigned da)
{
	uint8_t *s = src_buf + PAD + sa, *d = dst_buf + PAD + da;
	memset(d - PAD, 0xcc, n + 2 * PAD);
	if (f_memcpy(d, s, n) != d)
		FAILF("memcpy return value n=%zu", n);
	for (size_t i = 0; i < n; i++)
		if (d[i] != s[i]) {
			FAILF("memcpy n=%zu src+%u dst+%u byte %zu", n, sa, da, i);
			return;
		}
	for (size_t i = 0; i < PAD; i++)
		if (d[-1 - (long)i] != 0xcc || d[n + i] != 0xcc) {
			FAILF("memcpy n=%zu src+%u dst+%u wrote outside", n, sa, da);
			return;
		}
}

static void check_move(size_t n, long shift)
{
	/* window [PAD, PAD + n + 2 * PAD + 64) covers source, destination
	 * and untouched bytes on both sides */
	size_t lo = PAD, len = n + 2 * PAD + 64;
	uint8_t *base = dst_buf + 2 * PAD, *rb = ref_buf + 2 * PAD;
	fill(dst_buf + lo, len);
	memcpy(ref_buf + lo, dst_buf + lo, len);
	/* naive memmove on the reference copy */
	if (shift > 0)
		for (size_t i = n; i-- > 0;)
			rb[(long)i + shift] = rb[i];
	else
		for (size_t i = 0; i < n; i++)
			rb[(long)i + shift] = rb[i];
	f_memmove(base + shift, base, n);
	for (size_t i = lo; i < lo + len; i++)
		if (dst_buf[i] != ref_buf[i]) {
			FAILF("memmove n=%zu shift=%ld byte %zu", n, shift, i);
			return;
		}
}

static void check_set(size_t n, unsigned a, int c)
{
	uint8_t *d = dst_buf + PAD + a;
	memset(d - PAD, 0x33, n + 2 * PAD);
	if (f_memset(d, c, n) != d)
		FAILF("memset return value n=%zu", n);
	for (size_t i = 0; i < n; i++)
		if (d[i] != (uint8_t)c) {
			FAILF("memset n=%zu +%u c=%d byte %zu", n, a, c, i);
			return;
		}
	for (size_t i = 0; i < PAD; i++)
		if (d[-1 - (long)i] != 0x33 || d[n + i] != 0x33) {
			FAILF("memset n=%zu +%u wrote outside", n, a);
			return;
		}
}

static void check_str(char *s, size_t n, const char *where)
{
	size_t len = f_strlen(s);
	if (len != n)
		FAILF("strlen %s n=%zu got %zu", where, n, len);
	/* strchr: the first occurrence of a byte, the terminator, absence */
	if (n) {
		size_t k = n / 2;
		int c = (unsigned char)s[k];
		size_t first = 0;
		while ((unsigned char)s[first] != c)
			first++;
		if (f_strchr(s, c) != s + first)
			FAILF("strchr %s n=%zu c=%d", where, n, c);
	}
	if (f_strchr(s, 0) != s + n)
		FAILF("strchr(s, 0) %s n=%zu", where, n);
	int absent = 1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] == 1)
			absent = 0;
	if (absent && f_strchr(s, 1) != NULL)
		FAILF("strchr absent %s n=%zu", where, n);
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void check_cmp(size_t n, unsigned a, unsigned b)
{
	uint8_t *x = src_buf + PAD + a, *y = dst_buf + PAD + b;
	fill(x, n + 1);
	memcpy(y, x, n + 1);
	x[n] = y[n] = 0;
	if (f_memcmp(x, y, n) != 0 || f_strcmp((char *)x, (char *)y) != 0)
		FAILF("memcmp/strcmp equal n=%zu +%u +%u", n, a, b);
	if (!n)
		return;
	size_t k = (n * 7) / 11;
	uint8_t old = y[k];
	uint8_t nv = (uint8_t)(old + 0x80);	/* differs in the sign bit, stays non-zero */
	y[k] = nv ? nv : 1;
	int want = x[k] < y[k] ? -1 : 1;
	if (sign(f_memcmp(x, y, n)) != want)
		FAILF("memcmp n=%zu +%u +%u diff at %zu", n, a, b, k);
	if (sign(f_strcmp((char *)x, (char *)y)) != want)
		FAILF("strcmp n=%zu +%u +%u diff at %zu", n, a, b, k);
	if (sign(f_memcmp(y, x, n)) != -want)
		FAILF("memcmp reversed n=%zu", n);
	y[k] = old;
	/* a shorter string compares below */
	y[n - 1] = 0;
	if (n > 1 && x[n - 1] && f_strcmp((char *)y, (char *)x) >= 0)
		FAILF("strcmp prefix n=%zu", n);
	y[n - 1] = x[n - 1];
}

static void strings(void)
{
	for (unsigned i = 0; i < NA; i++)
		for (unsigned j = 0; j < NA; j++)
			for (size_t n = 0; n <= NSMALL && !failed; n++)
				check_copy(n, aligns[i], aligns[j]);
	for (unsigned k = 0; k < NBIG && !failed; k++) {
		check_copy(big_sizes[k], 0, 0);
		check_copy(big_sizes[k], 1, 33);
		check_copy(big_sizes[k], 31, 16);
	}
	static const long shifts[] = { -65, -33, -17, -8, -1, 1, 7, 16, 31, 64, 127 };
	for (unsigned s = 0; s < sizeof shifts / sizeof *shifts; s++) {
		for (size_t n = 0; n <= NSMALL && !failed; n += 3)
			check_move(n, shifts[s]);
		for (unsigned k = 0; k < NBIG && !failed; k += 4)
			check_move(big_sizes[k], shifts[s]);
	}
	for (unsigned i = 0; i < NA; i++)
		for (size_t n = 0; n <= NSMALL && !failed; n++)
			check_set(n, aligns[i], n & 1 ? 0xa5 : 0);
	for (unsigned k = 0; k < NBIG && !failed; k++)
		check_set(big_sizes[k], 7, 0x5c);

	/* strings at every alignment of a 64-byte line */
	for (unsigned a = 0; a < 64; a++)
		for (size_t n = 0; n <= 300 && !failed; n += (n < 80 ? 1 : 13)) {
			char *s = (char *)src_buf + PAD + a;
			fill((uint8_t *)s, n + 64);
			s[n] = 0;
			check_str(s, n, "heap");
		}
	/* strings that end right before an unmapped page: the SIMD loops
	 * must not touch it (aligned loads never cross into it) */
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *two = mmap(NULL, 2 * (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (two == MAP_FAILED || mprotect(two + pg, (size_t)pg, PROT_NONE)) {
		FAILF("mmap/mprotect");
		return;
	}
	for (size_t n = 0; n < 200 && !failed; n++) {
		char *s = (char *)two + pg - n - 1;
		fill((uint8_t *)s, n);
		s[n] = 0;
		check_str(s, n, "page end");
		if (n && f_memcmp(s, s, n) != 0)
			FAILF("memcmp page end n=%zu", n);
	}
	for (unsigned i = 0; i < NA; i++)
		for (size_t n = 0; n <= NSMALL && !failed; n += (n < 70 ? 1 : 7))
			check_cmp(n, aligns[i], aligns[(i * 5 + 3) % NA]);
	for (unsigned k = 0; k < NBIG && !failed; k++)
		check_cmp(big_sizes[k], 3, 0);
}

static uint64_t dbits(double d)
{
	uint64_t v;
	memcpy(&v, &d, 8);
	return v;
}

static void arithmetic(void)
{
	volatile double a = 0.1, b = 0.2, two = 2.0, one = 1.0, ten = 10.0;
	if (dbits(a + b) != 0x3fd3333333333334ull)
		FAILF("0.1 + 0.2");
	if (dbits(sqrt(two)) != 0x3ff6a09e667f3bcdull)
		FAILF("sqrt(2)");
	if (dbits(exp(one)) != 0x4005bf0a8b145769ull)
		FAILF("exp(1) = %a", exp(one));
	if (dbits(log(ten)) != 0x40026bb1bbb55516ull)
		FAILF("log(10) = %a", log(ten));
	double dot = 0;
	for (int i = 1; i <= 1000; i++)
		dot += (double)i * (double)(1001 - i);
	if (dot != 167167000.0)
		FAILF("dot product %.17g", dot);
	char buf[64];
	snprintf(buf, sizeof buf, "%.17g", a);
	if (strcmp(buf, "0.10000000000000001"))
		FAILF("printf %%.17g 0.1 = %s", buf);

	/* long double: the x87's 64-bit significand */
	volatile long double big = 9223372036854775808.0L, lone = 1.0L, three = 3.0L, ltwo = 2.0L;
	unsigned long long u = (unsigned long long)(big + lone);
	if (u != 9223372036854775809ull)
		FAILF("2^63 + 1 in long double: %llu", u);
	if (lone + LDBL_EPSILON == lone || lone + LDBL_EPSILON / 2 != lone)
		FAILF("LDBL_EPSILON");
	long double r = sqrtl(ltwo);
	if (fabsl(r * r - 2.0L) > 4 * LDBL_EPSILON)
		FAILF("sqrtl(2)");
	snprintf(buf, sizeof buf, "%.21Lg", lone / three);
	if (strcmp(buf, "0.333333333333333333342"))
		FAILF("printf %%.21Lg 1/3 = %s", buf);
	long double s = sinl(3.14159265358979323846264338327950288L / 6);
	if (fabsl(s - 0.5L) > 4 * LDBL_EPSILON)
		FAILF("sinl(pi/6) = %.21Lg", s);
	long double e = expl(lone);
	if (fabsl(e - 2.71828182845904523536028747135266250L) > 8 * LDBL_EPSILON)
		FAILF("expl(1) = %.21Lg", e);
	long double l2 = logl(ltwo);
	if (fabsl(l2 - 0.693147180559945309417232121458176568L) > 4 * LDBL_EPSILON)
		FAILF("logl(2) = %.21Lg", l2);
	long double at = atan2l(lone, lone) * 4;
	if (fabsl(at - 3.14159265358979323846264338327950288L) > 8 * LDBL_EPSILON)
		FAILF("4 atan2l(1, 1) = %.21Lg", at);
}

/* Which implementation an IFUNC symbol resolved to: a static non-PIE
 * binary calls IFUNCs through an IPLT stub `jmp *slot(%rip)`. */
struct cand {
	const char *name;
	const void *addr;
};
#define CAND(sym) { #sym, (const void *)sym }
extern char __memmove_avx_unaligned_erms[] __attribute__((weak));
extern char __memmove_sse2_unaligned_erms[] __attribute__((weak));
extern char __memmove_evex_unaligned_erms[] __attribute__((weak));
extern char __memmove_ssse3[] __attribute__((weak));
extern char __strlen_avx2[] __attribute__((weak));
extern char __strlen_sse2[] __attribute__((weak));
extern char __strlen_evex[] __attribute__((weak));

static const char *variant(const void *fn, const struct cand *c, unsigned n)
{
	const uint8_t *p = fn;
	if (p[0] != 0xff || p[1] != 0x25)
		return "unknown";
	int32_t disp;
	memcpy(&disp, p + 2, 4);
	const void *target = *(const void *const *)(p + 6 + disp);
	for (unsigned i = 0; i < n; i++)
		if (c[i].addr && c[i].addr == target)
			return c[i].name;
	return "other";
}

int main(void)
{
	src_buf = malloc(BIG + 4 * PAD);
	dst_buf = malloc(BIG + 4 * PAD);
	ref_buf = malloc(BIG + 4 * PAD);
	if (!src_buf || !dst_buf || !ref_buf) {
		puts("SIMDTEST FAIL out of memory");
		return 1;
	}
	fill(src_buf, BIG + 3 * PAD);
	static const struct cand mm[] = {
		CAND(__memmove_avx_unaligned_erms), CAND(__memmove_sse2_unaligned_erms),
		CAND(__memmove_evex_unaligned_erms), CAND(__memmove_ssse3),
	};
	static const struct cand sl[] = {
		CAND(__strlen_avx2), CAND(__strlen_sse2), CAND(__strlen_evex),
	};
	printf("SIMDTEST variants: memmove=%s strlen=%s\n", variant((const void *)memmove, mm, 4),
	       variant((const void *)strlen, sl, 3));
	strings();
	arithmetic();
	if (failed)
		printf("SIMDTEST FAIL %s\n", failmsg);
	else
		puts("SIMDTEST PASS");
	fflush(stdout);
	return failed;
}
