/*
 * x87_host.c - runs one x87 transcendental instruction natively on random
 * arguments and prints "a_sexp a_mant b_sexp b_mant r_sexp r_mant" lines
 * (hex) for x87_host.py, which measures how often the host CPU itself is
 * not correctly rounded (docs/decisions.md, "x87"). x86-64 hosts only.
 *
 *   cc -O1 -o /tmp/x87_host tests/unit/gen/x87_host.c
 *   /tmp/x87_host fsin 3000 -3 3 | python3 tests/unit/gen/x87_host.py fsin
 *
 * Arguments: OP N EMIN ERANGE [FCW]: N cases, ST0 = +/-[1,2) * 2^e with e
 * in [EMIN, EMIN + ERANGE), ST1 = [1,2); FCW default 0x37f.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct x80 {
	uint64_t m;
	uint16_t e;
} __attribute__((packed));

static uint64_t s = 88172645463325252ull;
static uint64_t rnd(void)
{
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}

#define RUN(INS)                                                                                   \
	__asm__ volatile("fninit\n fldcw %3\n fldt %1\n fldt %2\n " INS "\n fstpt %0\n fninit"  \
			 : "=m"(r)                                                                 \
			 : "m"(b), "m"(a), "m"(cw))

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s OP N EMIN ERANGE [FCW]\n", argv[0]);
		return 2;
	}
	const char *op = argv[1];
	int n = atoi(argv[2]), emin = atoi(argv[3]), erange = atoi(argv[4]);
	uint16_t cw = argc > 5 ? (uint16_t)strtoul(argv[5], NULL, 16) : 0x37f;
	for (int i = 0; i < n; i++) {
		struct x80 a, b, r;
		a.m = rnd() | 1ull << 63;
		a.e = (uint16_t)(0x3fff + emin + (int)(rnd() % (unsigned)erange));
		if ((rnd() & 1) && strcmp(op, "fyl2x"))
			a.e |= 0x8000;
		b.m = rnd() | 1ull << 63;
		b.e = 0x3fff;
		if (!strcmp(op, "fsin")) RUN("fsin");
		else if (!strcmp(op, "fcos")) RUN("fcos");
		else if (!strcmp(op, "fptan")) RUN("fptan\n fstp %%st(0)");
		else if (!strcmp(op, "f2xm1")) RUN("f2xm1");
		else if (!strcmp(op, "fyl2x")) RUN("fyl2x");
		else if (!strcmp(op, "fyl2xp1")) RUN("fyl2xp1");
		else if (!strcmp(op, "fpatan")) RUN("fpatan");
		else {
			fprintf(stderr, "unknown OP %s\n", op);
			return 2;
		}
		printf("%04x %016llx %04x %016llx %04x %016llx\n", a.e, (unsigned long long)a.m, b.e,
		       (unsigned long long)b.m, r.e, (unsigned long long)r.m);
	}
	return 0;
}
