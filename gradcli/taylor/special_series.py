r"""Taylor coefficients of the special functions at a point, and their composition.

The numpy side of gradcli/ops/special.py (the op classes hold the rules; this module
the arithmetic they call). Coefficients are a_k = f^(k)(u_0)/k!, axis 0 the order k.

    lgamma      lgamma(u_0 + v) = lgamma(u_0) + psi(u_0) v + sum_{k>=2} (-1)**k zeta(k, u_0) v**k / k
                (psi^(k-1)(u_0) / k! = (-1)**k zeta(k, u_0) / k, Hurwitz zeta)
    psi^(n)     psi^(n)(u_0 + v) = sum_k (-1)**(n+k+1) (n+k)!/k! zeta(n+k+1, u_0) v**k, and below 0
                the reflection psi^(m)(x) = (-1)**m psi^(m)(1-x) - pi**(m+1) cot^(m)(pi x)
    sinc        sinc^(k)(u_0) by a power series for |u_0| <= 1 (exact at 0), else from the spherical
                Bessel functions: sinc = j_0 and j_i' = (i j_{i-1} - (i+1) j_{i+1}) / (2i+1), so every
                derivative is a combination of j_0..j_k with coefficients whose absolute
                values sum to <= 1 (no division by u_0, no cancellation of large terms)

Coefficients of high orders leave the float64 range long before the series they make does
(1/k! underflows past k = 170): they travel as mantissa and exponent (``scaled``,
``psi_scaled``: log zeta where zeta itself over- or underflows) and meet the engine's
scaling r**k in one ldexp.

``compose(a, u)`` is the series of f(u(t)) from f's coefficients at u_0 (Horner in
v = u - u_0, whose constant term is 0: O(N**3/6) work, O(N) when u is linear in t).
scipy.special is imported inside the functions (``gradcli diff x**2`` never loads it).
"""
from __future__ import annotations

import functools
import math

import numpy as np

from . import series as T

_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's split of a double into two halves


def scipy_special():
    """scipy.special, imported on first use (then kept: the one-point forms call this often)."""
    global _SPECIAL
    if _SPECIAL is None:
        from scipy import special

        _SPECIAL = special
    return _SPECIAL


_SPECIAL = None


def exp_minus_square(x):
    """exp(-x**2) with x**2 carried as hi + lo (Dekker), so that the rounding of x**2
    (relative 1e-16, absolute x**2 * 1e-16) does not reach exp's result."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        hi = x * x
        c = _SPLIT * x
        xh = c - (c - x)
        xl = x - xh
        lo = ((xh * xh - hi) + 2.0 * xh * xl) + xl * xl
        out = np.exp(-hi) * (1.0 - lo)
    return np.where(np.isfinite(lo), out, np.exp(-hi))


def compose(a, u: np.ndarray) -> np.ndarray:
    """The series of f(u) from f's coefficients at u_0, a_k = f^(k)(u_0)/k! (k = 0..N, axis 0):
    sum_k a_k (u - u_0)**k. ``a`` is an array, or a pair (M, E) of arrays with a_k = M_k 2**E_k
    (the coefficients of high orders leave the float64 range long before the series does).

    With s = u_1 (1 where it is 0), the sum is taken as sum_k b_k w**k with b_k = a_k s**k
    formed by ldexp (no s**k, no 1/k! alone) and w = (u - u_0)/s: the engine's scaling r**k
    (r up to 2**10, orders up to 1000) meets the coefficients' own size in one product."""
    mantissa, exponent = a if isinstance(a, tuple) else (np.asarray(a, dtype=np.float64), 0)
    n = u.shape[0] - 1
    shape = np.broadcast_shapes(mantissa.shape[1:], u.shape[1:])
    with np.errstate(all="ignore"):
        if n == 0:
            return np.broadcast_to(np.ldexp(mantissa[:1], np.asarray(exponent)[:1]
                                            if np.ndim(exponent) else exponent),
                                   (1,) + shape).astype(np.float64)
        v = np.array(np.broadcast_to(u, (n + 1,) + shape), dtype=np.float64)
        v[0] = 0.0
        s = np.where(v[1] == 0, 1.0, v[1])
        ms, es = np.frexp(s)
        k = np.arange(n + 1).reshape((-1,) + (1,) * len(shape))
        e = np.broadcast_to(np.asarray(exponent, dtype=np.int64)[: n + 1] if np.ndim(exponent)
                            else exponent, (n + 1,) + shape)
        powers = np.power(ms, k)                  # in [2**-k, 1]: no overflow
        b = np.ldexp(mantissa[: n + 1] * powers, np.clip(e + k * es, -1 << 30, 1 << 30))
        if n == 1 or not np.any(v[2:]):  # u linear in t: p_k = b_k (v_1 / s)**k = b_k [v_1 != 0]
            return np.where((k > 0) & (v[1] == 0), 0.0, b)
        w = v / s
        p = b[n][None].copy()                     # Horner: p <- b_j + w p, to order N - j
        for j in range(n - 1, -1, -1):
            m = n - j
            p = T.mul(w[: m + 1], T.full(p, m))
            p[0] = b[j]
    return p


@functools.lru_cache(maxsize=8)
def _inverse_factorials(count: int) -> list[tuple[float, int]]:
    """1/k! = m * 2**e, k < count, with m in (1/2, 1] (k! as an exact integer)."""
    out, f = [], 1
    for k in range(count):
        if k:
            f *= k
        e = f.bit_length()
        out.append((((1 << (e + 63)) // f) / 2.0 ** 63, -e))
    return out


def scaled(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(M, E) with values_k / k! = M_k 2**E_k, k! taken as an exact mantissa and exponent."""
    count = values.shape[0]
    pairs = _inverse_factorials(count)
    m = np.array([p[0] for p in pairs]).reshape((-1,) + (1,) * (values.ndim - 1))
    e = np.array([p[1] for p in pairs], dtype=np.int64).reshape((-1,) + (1,) * (values.ndim - 1))
    return values * m, np.broadcast_to(e, values.shape)


# -- the gamma family ------------------------------------------------------------------------
def _hurwitz(s: int, q):
    """zeta(s, q) = sum_i 1/(q+i)**s, for q of either sign (scipy's zeta)."""
    return scipy_special().zeta(float(s), q)


def _falling_ratio(m: int, k: int) -> float:
    """m!/k! as a float (m >= k)."""
    if m > 20:
        return math.exp(math.lgamma(m + 1) - math.lgamma(k + 1))
    return math.factorial(m) / math.factorial(k)


def _cot_coefficients(value, count: int) -> np.ndarray:
    """cot^(k)(y)/k! for k < count from cot(y) = value: (k+1) c_{k+1} = -([k = 0] + sum_j c_j c_{k-j})."""
    c = np.empty((count,) + np.shape(value))
    with np.errstate(all="ignore"):
        c[0] = value
        for k in range(count - 1):
            square = np.einsum("i...,i...->...", c[: k + 1], c[k::-1])
            c[k + 1] = -((k == 0) + square) / (k + 1)
    return c


def _cot_pi(r):
    """cot(pi r) for |r| <= 1/2 to a few ulps: 1/tan(pi r) up to |r| = 1/4, then
    tan(pi (1/2 - |r|)) with 1/2 - |r| exact (0 at the half-integers)."""
    with np.errstate(all="ignore"):
        near = np.abs(r) <= 0.25
        return np.where(near, 1.0 / np.tan(np.pi * r),
                        np.sign(r) * np.tan(np.pi * (0.5 - np.abs(r))))


def _psi_positive(u0, n: int, count: int) -> np.ndarray:
    """psi^(n+k)(u_0)/k! for k < count from scipy: psi, and (-1)**(m+1) m! zeta(m+1, u_0)."""
    sp = scipy_special()
    out = np.empty((count,) + np.shape(u0))
    with np.errstate(all="ignore"):
        for k in range(count):
            m = n + k
            if m == 0:
                out[k] = sp.psi(u0)
            else:
                out[k] = (-1.0) ** (m + 1) * _falling_ratio(m, k) * _hurwitz(m + 1, u0)
    return out


def psi_coefficients(u0, n: int, count: int) -> np.ndarray:
    """psi^(n+k)(u_0)/k! for k = 0..count-1 (psi^(0) = digamma).

    Below 0 by the reflection psi^(m)(x) = (-1)**m psi^(m)(1-x) - pi**(m+1) cot^(m)(pi x),
    with cot(pi x) from x - round(x) (_cot_pi): Hurwitz zeta at a negative q sums terms
    of both signs around the poles (1e-8 off at -2.5), where cot has them in closed form."""
    u0 = np.asarray(u0, dtype=np.float64)
    negative = u0 < 0
    if not np.any(negative):
        return _psi_positive(u0, n, count)
    out = _psi_positive(np.where(negative, 1.0 - u0, u0), n, count)
    with np.errstate(all="ignore"):
        r = u0 - np.round(u0)
        cot = _cot_coefficients(_cot_pi(r), n + count)
        for k in range(count):
            m = n + k
            reflected = (-1.0) ** m * out[k] - np.pi ** (m + 1) * cot[m] * _falling_ratio(m, k)
            out[k] = np.where(negative, reflected, out[k])
        poles = negative & (r == 0)
        out[:, poles] = np.nan
    return out


def _log_hurwitz(s: int, q):
    """log zeta(s, q) for q > 0, s >= 2, where zeta itself leaves the float64 range:
    -s log q + log sum_i (q/(q+i))**s (30 terms, then Euler-Maclaurin's tail)."""
    q = np.asarray(q, dtype=np.float64)
    small = q < 1
    r = np.where(small, q + 1.0, q)      # zeta(s, q) = q**-s + zeta(s, q + 1) below 1
    total = np.zeros_like(r)
    for i in range(30):
        total += np.exp(-s * np.log1p(i / r))
    end = r + 30.0
    t = np.exp(-s * np.log1p(30.0 / r))
    total += t * (end / (s - 1) + 0.5 + s / (12.0 * end))
    log_r = -s * np.log(r) + np.log(total)
    return np.where(small, -s * np.log(q) + np.log1p(np.exp(s * np.log(q) + log_r)), log_r)


def psi_scaled(u0, n: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(M, E) with psi^(n+k)(u_0)/k! = M_k 2**E_k: where the float64 value overflows or
    underflows (high orders) at u_0 > 0, from log zeta (the sign is (-1)**(m+1))."""
    u0 = np.asarray(u0, dtype=np.float64)
    values = psi_coefficients(u0, n, count)
    mantissa, exponent = np.frexp(values)
    exponent = exponent.astype(np.int64)
    with np.errstate(all="ignore"):
        lost = (~np.isfinite(values) | (values == 0)) & (u0 > 0)
        for k in np.flatnonzero(lost.reshape(count, -1).any(axis=1)):
            m = n + k
            if m == 0:
                continue
            log_ratio = math.lgamma(m + 1) - math.lgamma(k + 1)
            log_a = log_ratio + _log_hurwitz(m + 1, np.where(u0 > 0, u0, 1.0))
            e = np.floor(log_a / math.log(2.0)).astype(np.int64) + 1
            m_k = (-1.0) ** (m + 1) * np.exp(log_a - e * math.log(2.0))
            mantissa[k] = np.where(lost[k], m_k, mantissa[k])
            exponent[k] = np.where(lost[k], e, exponent[k])
    return mantissa, exponent


def lgamma_scaled(u0, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(M, E) of lgamma(u_0), then psi^(k-1)(u_0)/k! (psi(u_0), then (-1)**k zeta(k, u_0)/k)."""
    u0 = np.asarray(u0, dtype=np.float64)
    mantissa = np.empty((count,) + u0.shape)
    exponent = np.empty((count,) + u0.shape, dtype=np.int64)
    with np.errstate(all="ignore"):
        mantissa[0], exponent[0] = np.frexp(scipy_special().gammaln(u0))
        if count > 1:
            m, e = psi_scaled(u0, 0, count - 1)
            mantissa[1:] = m / np.arange(1, count).reshape((-1,) + (1,) * u0.ndim)
            exponent[1:] = e
    return mantissa, exponent


# -- sinc ------------------------------------------------------------------------------
def _sinc_power_series(x, count: int) -> np.ndarray:
    """sinc^(k)(x) for k < count, |x| <= 1: sum over j = k mod 2 of (-1)**((j+k)/2) x**j / (j! (j+k+1)),
    by Horner in x**2 (exact at 0: (-1)**(k/2) / (k+1) for even k; x**26/26! < 3e-27)."""
    x = np.asarray(x, dtype=np.float64)
    square = x * x
    out = np.empty((count,) + x.shape)
    for k in range(count):
        odd = k % 2
        terms = [(-1.0) ** ((j + k) // 2) / (math.factorial(j) * (j + k + 1))
                 for j in range(odd, 28, 2)]
        total = np.full(x.shape, terms[-1])
        for c in reversed(terms[:-1]):
            total = total * square + c
        out[k] = total * x if odd else total
    return out


@functools.lru_cache(maxsize=4)
def _bessel_combinations(count: int) -> list[list[float]]:
    """c[k][i] with d^k j_0 / dx^k = sum_i c[k][i] j_i."""
    rows = [[1.0]]
    for _ in range(1, count):
        prev = rows[-1]
        row = [0.0] * (len(prev) + 1)
        for i, c in enumerate(prev):
            if i:
                row[i - 1] += c * i / (2 * i + 1)
            row[i + 1] -= c * (i + 1) / (2 * i + 1)
        rows.append(row)
    return rows


def _sinc_bessel(x, count: int) -> np.ndarray:
    """sinc^(k)(x) for k < count from j_0..j_k (scipy's spherical_jn)."""
    sp = scipy_special()
    with np.errstate(all="ignore"):
        j = [np.sin(x) / x] + [sp.spherical_jn(i, x) for i in range(1, count)]
    out = np.zeros((count,) + np.shape(x))
    for k, row in enumerate(_bessel_combinations(count)):
        for i, c in enumerate(row):
            if c:
                out[k] += c * j[i]
    return out


def _sinc_recurrence(x, count: int) -> np.ndarray:
    """sinc^(k)(x) for k < count, |x| >= count: x f^(k) + k f^(k-1) = sin^(k)(x), run forward
    (each step multiplies an error by k/|x| < 1)."""
    sin, cos = np.sin(x), np.cos(x)
    cycle = (sin, cos, -sin, -cos)
    out = np.empty((count,) + np.shape(x))
    out[0] = sin / x
    for k in range(1, count):
        out[k] = (cycle[k % 4] - k * out[k - 1]) / x
    return out


def sinc_derivatives(x, count: int) -> np.ndarray:
    """sinc^(k)(x) for k = 0..count-1 (exact at x = 0); all of them lie in [-1, 1]. Each point
    by one method: the power series for |x| <= 1, the forward recurrence for |x| >= count,
    the spherical Bessel sums between."""
    x = np.asarray(x, dtype=np.float64)
    size = np.abs(x)
    kinds = ((size <= 1.0, _sinc_power_series), ((size > 1.0) & (size >= count), _sinc_recurrence),
             ((size > 1.0) & (size < count), _sinc_bessel))
    with np.errstate(all="ignore"):
        if x.ndim == 0 or x.size == 1:
            for where, method in kinds:
                if np.all(where):
                    return method(x, count)
        out = np.empty((count,) + x.shape)
        for where, method in kinds:
            if np.any(where):
                out[:, where] = method(x[where], count)
            if np.all(where):
                break
        out[:, np.isnan(x)] = np.nan
    return out


def sinc_derivative(x, n: int):
    """sinc^(n)(x)."""
    return sinc_derivatives(x, n + 1)[n]
