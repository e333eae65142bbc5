"""Special functions: erf, erfc, gamma, lgamma, digamma (with polygamma, the family its
derivatives need) and sinc (with its n-th derivatives).

Values come from scipy.special, imported inside the rules that need it (``gradcli diff
x**2`` never loads scipy). Taylor rules:

    erf, erfc   through their ODE: erf'(u) = 2/sqrt(pi) exp(-u**2), erfc' = -erf'
    lgamma      composition with the Taylor series at u_0:
                lgamma(u_0 + v) = lgamma(u_0) + psi(u_0) v + sum_{k>=2} (-1)**k zeta(k, u_0) v**k / k
                (psi^(k-1)(u_0) / k! = (-1)**k zeta(k, u_0) / k, Hurwitz zeta)
    gamma       exp of the lgamma series, valued gamma(u_0): the sign comes with the value
    digamma     psi(u_0 + v) = psi(u_0) + sum_{k>=1} (-1)**(k+1) zeta(k+1, u_0) v**k
    polygamma   psi^(n)(u_0 + v) = sum_k (-1)**(n+k+1) (n+k)!/k! zeta(n+k+1, u_0) v**k
    sinc        composition with sinc^(k)(u_0)/k!: a power series for |u_0| <= 1 (exact at 0),
                else the spherical Bessel functions: sinc = j_0 and
                j_i' = (i j_{i-1} - (i+1) j_{i+1}) / (2i+1), so every derivative is a
                combination of j_0..j_k with coefficients whose absolute values sum to <= 1
                (no division by u_0, no cancellation of large terms).

``compose(a, u)`` is the series of f(u(t)) from f's coefficients a_k = f^(k)(u_0)/k!
(Horner in v = u - u_0, whose constant term is 0; O(N**3/6) work, O(N) when u is linear).
"""
from __future__ import annotations

import math

import numpy as np

from .. import functions as F
from ..registry import op
from ..taylor import series as T

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's split of a double into two halves


def _scipy():
    from scipy import special

    return special


def _exp_minus_square(x):
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


def compose(a: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The series of f(u) from a_k = f^(k)(u_0)/k! (k = 0..N, axis 0): sum_k a_k (u - u_0)**k."""
    n = u.shape[0] - 1
    shape = np.broadcast_shapes(a.shape[1:], u.shape[1:])
    if n == 0:
        return np.broadcast_to(a[:1], (1,) + shape).astype(np.float64)
    v = np.array(np.broadcast_to(u, (n + 1,) + shape), dtype=np.float64)
    v[0] = 0.0
    a = np.broadcast_to(a[: n + 1], (n + 1,) + shape)
    with np.errstate(all="ignore"):
        if n == 1 or not np.any(v[2:]):  # u linear in t: p_k = a_k v_1**k
            powers = np.empty((n + 1,) + shape)
            powers[0] = 1.0
            for k in range(1, n + 1):
                np.multiply(powers[k - 1], v[1], out=powers[k])
            out = a * powers
            out[1:] = np.where(powers[1:] == 0, 0.0, out[1:])  # 0 * inf beyond a pole: 0
            return out
        p = a[n][None].copy()                     # Horner: p <- a_j + v p, to order N - j
        for j in range(n - 1, -1, -1):
            m = n - j
            p = T.mul(v[: m + 1], T.full(p, m))
            p[0] = a[j]
    return p


# -- the gamma family ------------------------------------------------------------------------
def _hurwitz(s: int, q):
    """zeta(s, q) = sum_i 1/(q+i)**s, for q of either sign (scipy's zeta)."""
    return _scipy().zeta(float(s), q)


def _psi_coefficients(u0, n: int, count: int) -> np.ndarray:
    """psi^(n+k)(u_0)/k! for k = 0..count-1 (psi^(0) = digamma)."""
    sp = _scipy()
    out = np.empty((count,) + np.shape(u0))
    with np.errstate(all="ignore"):
        for k in range(count):
            m = n + k
            if m == 0:
                out[k] = sp.psi(u0)
            else:
                # psi^(m)(u_0) = (-1)**(m+1) m! zeta(m+1, u_0), divided by k!
                ratio = math.exp(math.lgamma(m + 1) - math.lgamma(k + 1)) if m > 20 \
                    else math.factorial(m) / math.factorial(k)
                out[k] = (-1.0) ** (m + 1) * ratio * _hurwitz(m + 1, u0)
    return out


def _lgamma_coefficients(u0, count: int) -> np.ndarray:
    """lgamma(u_0), psi(u_0), then psi^(k-1)(u_0)/k! = (-1)**k zeta(k, u_0)/k."""
    sp = _scipy()
    out = np.empty((count,) + np.shape(u0))
    with np.errstate(all="ignore"):
        out[0] = sp.gammaln(u0)
        if count > 1:
            out[1] = sp.psi(u0)
        for k in range(2, count):
            out[k] = (-1.0) ** k * _hurwitz(k, u0) / k
    return out


def _polygamma_float(n: int, x: float) -> float:
    with np.errstate(all="ignore"):
        return float(_scipy().polygamma(n, x))


@op("erf", 1, language="erf", cost=10.0)
class Erf:
    """error function 2/sqrt(pi) * integral of exp(-t**2) from 0 to x"""

    def forward(x):
        return _scipy().erf(x)

    def grad(g, ans, x):
        """g * 2/sqrt(pi) * exp(-x**2)"""
        return (g * (TWO_OVER_SQRT_PI * F.exp(-(x * x))),)

    def taylor(x):
        """erf(x_0) + integral of 2/sqrt(pi) exp(-x**2) D(x)"""
        w = T.exp(-T.square(x), value0=_exp_minus_square(x[0])) * TWO_OVER_SQRT_PI
        return T.through(x, _scipy().erf(x[0]), w)

    def sympy(sp, x):
        return sp.erf(x)

    scalar = staticmethod(math.erf)


@op("erfc", 1, language="erfc", cost=10.0)
class Erfc:
    """complementary error function 1 - erf(x), accurate for large x"""

    def forward(x):
        return _scipy().erfc(x)

    def grad(g, ans, x):
        """-g * 2/sqrt(pi) * exp(-x**2)"""
        return (g * (-TWO_OVER_SQRT_PI * F.exp(-(x * x))),)

    def taylor(x):
        """erfc(x_0) - integral of 2/sqrt(pi) exp(-x**2) D(x)"""
        w = T.exp(-T.square(x), value0=_exp_minus_square(x[0])) * -TWO_OVER_SQRT_PI
        return T.through(x, _scipy().erfc(x[0]), w)

    def sympy(sp, x):
        return sp.erfc(x)

    scalar = staticmethod(math.erfc)


@op("gamma", 1, language="gamma", cost=25.0)
class Gamma:
    """gamma function (nan at 0, -1, -2, ...: a pole; inf at +0)"""

    def forward(x):
        return _scipy().gamma(x)

    def grad(g, ans, x):
        """g * gamma(x) * digamma(x)"""
        return (g * ans * F.apply("digamma", x),)

    def taylor(x):
        """exp(lgamma series) with value gamma(x_0), its sign included"""
        a = _lgamma_coefficients(x[0], x.shape[0])
        a[0] = 0.0
        logs = compose(a, x)
        return T.exp(logs, value0=_scipy().gamma(x[0]))

    def sympy(sp, x):
        return sp.gamma(x)

    scalar = staticmethod(math.gamma)


@op("lgamma", 1, language="lgamma", cost=25.0)
class Lgamma:
    """log |gamma(x)| (inf at the poles 0, -1, -2, ...)"""

    def forward(x):
        return _scipy().gammaln(x)

    def grad(g, ans, x):
        """g * digamma(x)"""
        return (g * F.apply("digamma", x),)

    def taylor(x):
        """lgamma(x_0) + psi(x_0) v + sum_k (-1)**k zeta(k, x_0) v**k / k, v = x - x_0"""
        return compose(_lgamma_coefficients(x[0], x.shape[0]), x)

    def sympy(sp, x):
        return sp.log(sp.Abs(sp.gamma(x)))

    scalar = staticmethod(math.lgamma)


@op("digamma", 1, language="digamma", cost=20.0)
class Digamma:
    """psi(x) = gamma'(x)/gamma(x) (nan at the poles 0, -1, -2, ...)"""

    def forward(x):
        return _scipy().psi(x)

    def grad(g, ans, x):
        """g * polygamma(1, x)"""
        return (g * F.apply("polygamma", x, n=1),)

    def taylor(x):
        """psi(x_0) + sum_k (-1)**(k+1) zeta(k+1, x_0) v**k, v = x - x_0"""
        return compose(_psi_coefficients(x[0], 0, x.shape[0]), x)

    def sympy(sp, x):
        return sp.polygamma(0, x)

    def scalar(x):
        return _polygamma_float(0, x)


@op("polygamma", 1, attrs=("n",), cost=30.0)
class Polygamma:
    """psi^(n)(x), the n-th derivative of digamma (n >= 1)"""

    def forward(x, n):
        return _scipy().polygamma(n, x)

    def grad(g, ans, x, n):
        """g * polygamma(n + 1, x)"""
        return (g * F.apply("polygamma", x, n=n + 1),)

    def taylor(x, n):
        """sum_k (-1)**(n+k+1) (n+k)!/k! zeta(n+k+1, x_0) v**k, v = x - x_0"""
        return compose(_psi_coefficients(x[0], n, x.shape[0]), x)

    def sympy(sp, x, n):
        return sp.polygamma(n, x)

    def scalar(x, n):
        return _polygamma_float(n, x)


# -- sinc --------------------------------------------------------------------------------
def _sinc_power_series(x, count: int) -> np.ndarray:
    """sinc^(k)(x)/k! for k < count by sinc(x) = sum_m (-1)**m x**(2m)/(2m+1)!  (|x| <= 1)."""
    out = np.zeros((count,) + np.shape(x))
    for k in range(count):
        for m in range((k + 1) // 2, (k + 1) // 2 + 14):
            c = (-1.0) ** m * math.comb(2 * m, k) / math.factorial(2 * m + 1)
            out[k] += c * x ** (2 * m - k) if 2 * m > k else c
    return out


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
    """sinc^(k)(x)/k! for k < count from j_0..j_k (scipy's spherical_jn)."""
    sp = _scipy()
    with np.errstate(all="ignore"):
        j = [np.sin(x) / x] + [sp.spherical_jn(i, x) for i in range(1, count)]
    out = np.zeros((count,) + np.shape(x))
    for k, row in enumerate(_bessel_combinations(count)):
        for i, c in enumerate(row):
            if c:
                out[k] += c * j[i]
        out[k] /= math.factorial(k)
    return out


def sinc_coefficients(x, count: int) -> np.ndarray:
    """sinc^(k)(x)/k! for k = 0..count-1 (exact at x = 0)."""
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) <= 1.0
    if np.all(small):
        return _sinc_power_series(x, count)
    big = _sinc_bessel(np.where(small, 2.0, x), count)
    if not np.any(small):
        return big
    return np.where(small, _sinc_power_series(np.where(small, x, 0.0), count), big)


def _sinc_derivative(x, n: int):
    """sinc^(n)(x)."""
    return sinc_coefficients(x, n + 1)[n] * math.factorial(n)


def _sinc_float(x: float) -> float:
    return math.sin(x) / x if x else 1.0


@op("sinc", 1, language="sinc", cost=12.0)
class Sinc:
    """sin(x)/x, with sinc(0) = 1"""

    def forward(x):
        x = np.asarray(x)
        with np.errstate(all="ignore"):
            return np.where(x == 0, 1.0, np.sin(x) / np.where(x == 0, 1.0, x))

    def grad(g, ans, x):
        """g * sinc'(x)   ((x cos x - sin x)/x**2, 0 at 0)"""
        return (g * F.apply("sinc_derivative", x, n=1),)

    def taylor(x):
        """sum_k sinc^(k)(x_0)/k! v**k, v = x - x_0"""
        return compose(sinc_coefficients(x[0], x.shape[0]), x)

    def sympy(sp, x):
        return sp.sinc(x)

    scalar = staticmethod(_sinc_float)


@op("sinc_derivative", 1, attrs=("n",), cost=60.0)
class SincDerivative:
    """sinc^(n)(x), the n-th derivative of sinc (n >= 1), exact at 0"""

    def forward(x, n):
        return _sinc_derivative(np.asarray(x, dtype=np.float64), n)

    def grad(g, ans, x, n):
        """g * sinc^(n+1)(x)"""
        return (g * F.apply("sinc_derivative", x, n=n + 1),)

    def taylor(x, n):
        """sum_k sinc^(n+k)(x_0)/k! v**k, v = x - x_0"""
        count = x.shape[0]
        a = sinc_coefficients(x[0], n + count)[n:]
        for k in range(count):  # sinc^(n+k)/(n+k)! -> sinc^(n+k)/k!
            a[k] *= math.exp(math.lgamma(n + k + 1) - math.lgamma(k + 1)) if n + k > 20 \
                else math.factorial(n + k) / math.factorial(k)
        return compose(a, x)

    def sympy(sp, x, n):
        t = sp.Dummy("t", real=True)
        return sp.diff(sp.sinc(t), t, n).subs(t, x)

    def scalar(x, n):
        return float(_sinc_derivative(np.float64(x), n))
