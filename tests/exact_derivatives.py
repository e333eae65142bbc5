"""Exact derivatives from mpmath alone (no python-flint), the oracles of issues 16 and 23's cases.

Closed forms for the poles and the entire functions, and for exp(sin(x))/(1+x**2) its Taylor
series by the textbook recurrences in mpmath at 60 digits (exp of a series: k e_k = sum j s_j
e_{k-j}; division by 1 + x**2 term by term), which reaches order 1000 in about 1.5 s."""
from __future__ import annotations

import mpmath

mp = mpmath.MPContext()   # a context of our own: the global mpmath precision stays
mp.dps = 60
W2 = "exp(sin(x))/(1+x**2)"


def _pole(a, sign):
    """(sign * x**a)^(k) = sign * a (a-1) ... (a-k+1) x**(a-k)."""
    return lambda x, k: sign * mp.rf(a - k + 1, k) * x ** (a - k)


CLOSED_FORMS = {
    "1/x": _pole(-1, 1),
    "-1/x": _pole(-1, -1),
    "x**-3": _pole(-3, 1),
    "log(x)": lambda x, k: mp.log(x) if k == 0 else (-1) ** (k - 1) * mp.factorial(k - 1) / x ** k,
    "exp(x)": lambda x, k: mp.exp(x),
    "exp(-x)": lambda x, k: (-1) ** k * mp.exp(-x),
    "sin(x)": lambda x, k: mp.sin(x + k * mp.pi / 2),
    # (e^x sin x)^(k) = 2**(k/2) e^x sin(x + k pi/4)
    "sin(x)*exp(x)": lambda x, k: mp.sqrt(2) ** k * mp.exp(x) * mp.sin(x + k * mp.pi / 4),
}


def w2_derivatives(a, order: int) -> list:
    """f^(k)(a), k = 0..order, of exp(sin(x))/(1+x**2), a taken as the float it is."""
    a = mp.mpf(a)
    s = [[mp.sin(a), mp.cos(a), -mp.sin(a), -mp.cos(a)][k % 4] / mp.factorial(k)
         for k in range(order + 1)]
    js = [j * s[j] for j in range(order + 1)]
    e = [mp.exp(s[0])] + [mp.zero] * order
    for k in range(1, order + 1):
        e[k] = mp.fsum(js[j] * e[k - j] for j in range(1, k + 1)) / k
    q, d0, d1 = [], 1 + a * a, 2 * a
    for k in range(order + 1):
        q.append((e[k] - (d1 * q[k - 1] if k >= 1 else 0) - (q[k - 2] if k >= 2 else 0)) / d0)
    return [q[k] * mp.factorial(k) for k in range(order + 1)]


def exact_derivatives(text: str, at, order: int) -> list:
    """The exact f^(k)(at), k = 0..order, as mpmath numbers (at taken as the float it is)."""
    if text == W2:
        return w2_derivatives(at, order)
    x = mp.mpf(at)
    return [CLOSED_FORMS[text](x, k) for k in range(order + 1)]


def agrees(printed, exact, rtol: float = 1e-13) -> bool:
    """A float64 derivative as printed (a float, or "inf"/"-inf" in JSON) agrees with the
    exact value: within rtol relative, or the infinity of its sign where the exact value
    lies beyond the float64 range. A nan never agrees."""
    value = float(printed)
    want = float(exact)          # mpmath rounds to the nearest float: +-inf beyond the range
    if value != value:
        return False
    if want in (float("inf"), -float("inf")):
        return value == want
    return abs(mp.mpf(value) - exact) <= rtol * abs(exact)
