r"""The value and first derivative of a polynomial in one variable at one point, over all its terms at once in double-double arithmetic, with a rigorous error bound.

For a polynomial read as columns (gradcli/language/polynomial.py), sum(c_i x**k_i) and
sum(c_i k_i x**(k_i - 1)) are computed without a graph: every power x**k_i as a
double-double (a float64 pair hi + lo, about 106 bits) from a table of x**0 ... x**K made
by doubling (or, for sparse exponents, by binary powering per term), each term as a
double-double, and the sum of the terms' hi parts, with the lo parts' sum, by
``math.fsum`` (the correctly rounded sum of the floats it is given). Error-free
transformations (Dekker's TwoProduct with Veltkamp's split) make every double-double
product accurate to a small multiple of u**2 (u = 2**-53) as long as nothing leaves
[2**-900, 2**900], which is checked. So

    |printed - exact| <= 2u |printed| + eps * sum |terms| + n u sum |lo parts|,
    eps = (K + L + 4) * 16 u**2

(K the largest exponent, L its bits: a squaring doubles the relative error of what it
squares, so x**K made of the powers x**(2**j) carries at most about K + L products'
errors; 16 u**2 bounds one double-double product: Joldes, Muller and Popescu, "Tight and
rigorous error bounds for basic building blocks of double-word arithmetic", ACM TOMS 2017,
prove 7u**2 for this product without FMA; for K = 10**6, eps is about 2e-25). A
result is returned only when that bound is within REL / 2 of the result (gradcli's 1e-13
guarantee, taylor.md) and the result is finite and nonzero; otherwise None, and the caller
takes the graph's way (Taylor mode, screen and ball arithmetic). A cancellation of a
factor 10**11 among the terms still passes at degree 10**6 (10**14 at degree 1,000).
"""
from __future__ import annotations

import math

import numpy as np

from .engine import REL

U = 2.0 ** -53
DD_ERROR = 16 * U * U        # one double-double product, relative (7 u**2 proved; margin)
TINY, HUGE = 2.0 ** -900, 2.0 ** 900   # splits and products exact in between
_SPLITTER = 134217729.0      # 2**27 + 1, Veltkamp's split of a float64 into 26 + 27 bits


def value_and_slope(coefficients: np.ndarray, exponents: np.ndarray, x: float,
                    order: int) -> list[float] | None:
    """[p(x)] (order 0) or [p(x), p'(x)] (order 1), each within REL of the exact number, or
    None where the bound cannot vouch for that (or x is 0 or not finite: left to the
    graph, which knows every signed zero)."""
    if order > 1 or not math.isfinite(x) or x == 0.0:
        return None
    with np.errstate(all="ignore"):   # (what leaves the range is found and refused)
        return _value_and_slope(coefficients, exponents, x, order)


def _value_and_slope(coefficients, exponents, x, order):
    c = coefficients
    k = exponents
    if len(c) == 0:
        return None
    magnitudes = np.abs(c)
    if not np.all((magnitudes >= TINY) & (magnitudes <= HUGE) | (c == 0.0)):
        return None
    # |x| < 1: the terms whose power is below 2**-880 (k log2|x| < -890, with room for
    # log2's rounding) are left out, their sum bounded: |c x**k| <= |c| 2**-880 and
    # |c k x**(k-1)| <= |c| k 2**-880 / |x| (float64 would have them underflow)
    dropped_value = dropped_slope = 0.0
    if abs(x) < 1.0:
        drop = k * math.log2(abs(x)) < -890.0
        if drop.any():
            size, kd = magnitudes[drop], k[drop]
            dropped_value = float(size.sum()) * 2.0 ** -880 * 1.01
            dropped_slope = float((size * kd).sum()) * 2.0 ** -880 / abs(x) * 1.01
            keep = ~drop
            c, k = c[keep], k[keep]
            if len(c) == 0:
                return None
    top = int(k.max())
    powers = _power_table(x, top) if top + 1 <= 2 * len(k) + 64 else None
    if powers is not None:
        th, tl = powers
        ph, pl = th[k], tl[k]
        if order:
            below = np.maximum(k - 1, 0)
            qh, ql = th[below], tl[below]
    else:   # sparse exponents: binary powering of x**(k - 1) per term, then one more x
        below = np.maximum(k - 1, 0) if order else k
        found = _binary_powers(x, below)
        if found is None:
            return None
        qh, ql = found
        ph, pl = (_dd_times(qh, ql, x, 0.0) if order else (qh, ql))
        if order:
            zero = k == 0
            ph[zero], pl[zero] = 1.0, 0.0
    if powers is None and not _in_range(ph):
        return None
    # a squaring doubles its input's relative error, so x**k made of powers x**(2**j)
    # carries at most about k + bits products' errors (first order; DD_ERROR's margin over
    # the proved 7 u**2 covers the second)
    eps = (top + max(top.bit_length(), 1) + 4) * DD_ERROR
    vh, vl = _dd_times_float(ph, pl, c)
    value = _certified_sum(vh, vl, c != 0.0, eps, dropped_value)
    if value is None or order == 0:
        return None if value is None else [value]
    kh, kl = _two_product(c, k.astype(np.float64))   # c * k exactly
    sh, sl = _dd_times(qh, ql, kh, kl)
    slope = _certified_sum(sh, sl, (c != 0.0) & (k != 0), eps, dropped_slope)
    return None if slope is None else [value, slope]


def _certified_sum(hi: np.ndarray, lo: np.ndarray, nonzero: np.ndarray, eps: float,
                   dropped: float = 0.0):
    """fsum of the double-double terms, or None unless within REL / 2 by the bound
    (``dropped``: a bound on the terms left out). The hi parts go to fsum; the lo parts,
    each below u |hi|, are summed by numpy with an error below len * u * sum|lo| (about
    len * u**2 * sum|hi|: counted in the bound), and that sum joins fsum's."""
    size = np.abs(hi)
    if not np.all((size >= TINY) & (size <= HUGE) | ~nonzero):
        return None                      # a term near the ends of the range: no bound
    small = float(np.abs(lo).sum())
    parts = hi.tolist()
    parts.append(float(lo.sum()))
    total = math.fsum(parts)
    majorant = (float(size.sum()) + small) * 1.001
    bound = 2 * U * abs(total) + eps * majorant + len(lo) * U * small * 1.001 + dropped
    if total == 0.0 or not math.isfinite(total) or not bound <= 0.5 * REL * abs(total):
        return None
    return total


def _in_range(hi: np.ndarray) -> bool:
    size = np.abs(hi)
    return bool(size.min() >= TINY and size.max() <= HUGE)


def _power_table(x: float, top: int):
    """x**0 ... x**top as double-doubles, by doubling: the entries m..2m-1 are those of
    0..m-1 times x**m (so each is a product of at most bits(top) factors); None when a
    power leaves [TINY, HUGE]."""
    th = np.empty(top + 1)
    tl = np.empty(top + 1)
    th[0], tl[0] = 1.0, 0.0
    bh, bl = x, 0.0                  # x**m, m = 1, 2, 4, ...
    m = 1
    while m <= top:
        if not TINY <= abs(bh) <= HUGE:
            return None
        count = min(m, top + 1 - m)
        th[m:m + count], tl[m:m + count] = _dd_times(th[:count], tl[:count], bh, bl)
        m *= 2
        if m <= top:
            bh, bl = _dd_times(bh, bl, bh, bl)
    if not _in_range(th[-1:]):       # the powers are monotone in k: the last is the extreme
        return None
    return th, tl


def _binary_powers(x: float, k: np.ndarray):
    """x**k per term (k >= 0) as double-doubles by binary powering, or None out of range."""
    rh = np.ones(len(k))
    rl = np.zeros(len(k))
    bh, bl = x, 0.0
    top = int(k.max())
    bit = 0
    while top >> bit:
        if not TINY <= abs(bh) <= HUGE:
            return None
        use = ((k >> bit) & 1).astype(bool)
        if use.any():
            mh, ml = _dd_times(rh[use], rl[use], bh, bl)
            rh[use], rl[use] = mh, ml
        bit += 1
        if top >> bit:
            bh, bl = _dd_times(bh, bl, bh, bl)
    if not _in_range(rh):
        return None
    return rh, rl


def _split(a):
    t = _SPLITTER * a
    hi = t - (t - a)
    return hi, a - hi


def _two_product(a, b):
    """p + e = a * b exactly (Dekker), for |a|, |b|, |a b| within [TINY, HUGE] or 0."""
    p = a * b
    a1, a2 = _split(a)
    b1, b2 = _split(b)
    e = ((a1 * b1 - p) + a1 * b2 + a2 * b1) + a2 * b2
    return p, e


def _dd_times(ah, al, bh, bl):
    """(ah + al) * (bh + bl) as a normalized double-double (arrays or floats)."""
    p, e = _two_product(ah, bh)
    e = e + (ah * bl + al * bh)
    hi = p + e
    return hi, e - (hi - p)


def _dd_times_float(ah, al, b):
    """(ah + al) * b as a normalized double-double."""
    p, e = _two_product(ah, b)
    e = e + al * b
    hi = p + e
    return hi, e - (hi - p)
