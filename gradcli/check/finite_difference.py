"""Central finite differences with Richardson extrapolation, in float64: the check's third,
informative opinion on a derivative (never part of its verdict).

The kth central difference with step h,

    D_k(h) = h**-k * sum_{j=0..k} (-1)**j * C(k, j) * f(x + (k/2 - j) * h),

approximates f^(k)(x) with an error c1*h**2 + c2*h**4 + ... (even powers only, the stencil
being symmetric), so Richardson extrapolation over the steps h0, h0/2, h0/4, ... removes one
power of h**2 per column of the tableau:

    T[i][0] = D_k(h0 / 2**i),   T[i][j] = T[i][j-1] + (T[i][j-1] - T[i-1][j-1]) / (4**j - 1).

Rounding error grows like eps * |f| * 2**k / h**k and truncation error like h**(2*LEVELS),
with a constant that depends on f (its radius of convergence): no single step fits every
function, so the step is chosen per order by trying STEPS steps h = H * 2**-i, from
H = 4 * max(1, |x|) * eps**(1 / (k + 2*LEVELS)) (larger for a higher order) down, one tableau
per window of LEVELS consecutive steps. Of all extrapolated entries, the one whose error
estimate (the larger difference to the two entries it was built from) is smallest is
returned, with that estimate as its error; the estimate includes the rounding error of the
differences, ROUNDING * eps * sum_j |w_j * f(x_j)| / h**k for the smallest step of the
window, so that steps too small to resolve f (whose differences round to 0) are not chosen. Order 0 is f(x) itself, with error 0.

Orders above MAX_ORDER are not computed: their value and error are nan. The rounding error
grows like 2**k / h**k, so in float64 a finite difference says nothing at such orders
(measured at x=0.5, the estimated relative error of the best step for exp is 0.5 at order
10, 1e4 at 15, 1e8 at 20, 1e15 at 30, and past order ~1030 the weights C(k, j) themselves
leave the float64 range).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

LEVELS = 4  # steps h, h/2, h/4, h/8 per tableau: extrapolated entries up to error O(h**8)
STEPS = 16  # steps tried per order, each half the one before
ROUNDING = 4.0  # rounding error of D_k(h): ROUNDING * eps * sum_j |w_j f_j| / h**k
EPS = float(np.finfo(np.float64).eps)
MAX_ORDER = 20  # higher orders: nan (see above)


def largest_step(x: float, k: int) -> float:
    """H = 4 * max(1, |x|) * eps**(1 / (k + 2*LEVELS))"""
    return 4.0 * max(1.0, abs(x)) * EPS ** (1.0 / (k + 2 * LEVELS))


def stencil(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (in steps) k/2 - j and weights (-1)**j * C(k, j), j = 0..k."""
    j = np.arange(k + 1)
    weights = np.array([(-1) ** int(i) * math.comb(k, int(i)) for i in j], dtype=np.float64)
    return k / 2.0 - j, weights


def richardson(estimates: list[float], rounding: float = 0.0) -> tuple[float, float]:
    """The best extrapolated value of D(h), D(h/2), ... and its error estimate (plus the
    rounding error ``rounding`` of the estimates)."""
    rows = [[float(d)] for d in estimates]
    best, best_error = rows[0][0], math.inf
    for i in range(1, len(rows)):
        for j in range(1, i + 1):
            previous, above = rows[i][j - 1], rows[i - 1][j - 1]
            value = previous + (previous - above) / (4.0 ** j - 1.0)
            rows[i].append(value)
            error = max(abs(value - previous), abs(value - above)) + rounding
            if error < best_error or (math.isnan(best_error) and not math.isnan(error)):
                best, best_error = value, error
    if best_error == math.inf:  # nothing was extrapolated finite
        best_error = math.nan if not math.isfinite(best) else abs(rows[-1][0] - best)
    return best, best_error


def derivative(f: Callable[[np.ndarray], np.ndarray], x: float, k: int) -> tuple[float, float]:
    """(f^(k)(x), its estimated error) for a vectorized float64 function f; (nan, nan)
    above MAX_ORDER."""
    x = float(x)
    if k > MAX_ORDER:
        return math.nan, math.nan
    if k == 0:
        return float(np.asarray(f(np.array([x])), dtype=np.float64).reshape(-1)[0]), 0.0
    offsets, weights = stencil(k)
    steps = largest_step(x, k) / 2.0 ** np.arange(STEPS)
    points = x + steps[:, None] * offsets[None, :]
    with np.errstate(all="ignore"):
        values = np.asarray(f(points.reshape(-1)), dtype=np.float64).reshape(points.shape)
        estimates = ((values * weights).sum(axis=1) / steps ** k).tolist()
        rounding = (ROUNDING * EPS * np.abs(values * weights).sum(axis=1) / steps ** k).tolist()
    best, best_error = estimates[-1], math.nan
    for start in range(STEPS - LEVELS + 1):
        window = slice(start, start + LEVELS)
        value, error = richardson(estimates[window], max(rounding[window]))
        if error < best_error or (math.isnan(best_error) and not math.isnan(error)):
            best, best_error = value, error
    return best, best_error


def derivatives(f: Callable[[np.ndarray], np.ndarray], x: float,
                order: int) -> list[tuple[float, float]]:
    """[(f^(k)(x), estimated error) for k = 0..order]."""
    return [derivative(f, x, k) for k in range(order + 1)]
