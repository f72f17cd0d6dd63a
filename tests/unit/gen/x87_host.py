#!/usr/bin/env python3
"""x87_host.py OP < lines - how far the host's x87 results (x87_host.c
output, round to nearest) are from the exact function, in ulps, with
mpmath at 400 bits and the x87's 66-bit pi/2 reduction for FSIN/FCOS/
FPTAN. Prints the number of results that are not correctly rounded
(|error| > 0.5 ulp) and the largest error."""
import sys
from mpmath import mp, mpf
import mpmath

mp.prec = 400
op = sys.argv[1]
P = mpf(int(mpmath.nint(mp.pi / 2 * 2**65))) / 2**65


def val(e, m):
    e, m = int(e, 16), int(m, 16)
    return (-1 if e & 0x8000 else 1) * mpf(m) * mpf(2) ** ((e & 0x7fff) - 16383 - 63)


def f(a, b):
    if op in ("fsin", "fcos", "fptan"):
        n = int(mpmath.nint(a / P))
        r = a - n * P
        if op == "fsin":
            return mpmath.sin(r + (n % 4) * mp.pi / 2)
        if op == "fcos":
            return mpmath.cos(r + (n % 4) * mp.pi / 2)
        return mpmath.tan(r + (n % 2) * mp.pi / 2)
    if op == "f2xm1":
        return mpf(2) ** a - 1
    if op == "fyl2x":
        return b * mpmath.log(a, 2)
    if op == "fyl2xp1":
        return b * mpmath.log(1 + a) / mpmath.log(2)
    return mpmath.atan2(b, a)


n = bad = 0
worst = 0.0
for line in sys.stdin:
    ae, am, be, bm, re_, rm = line.split()
    ulp = mpf(2) ** ((int(re_, 16) & 0x7fff) - 16383 - 63)
    err = abs(float((val(re_, rm) - f(val(ae, am), val(be, bm))) / ulp))
    n += 1
    bad += err > 0.5
    worst = max(worst, err)
print("%s: %d of %d not correctly rounded (%.2f%%), max error %.3f ulp" % (op, bad, n, 100.0 * bad / max(n, 1), worst))
