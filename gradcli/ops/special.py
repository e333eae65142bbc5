"""Special functions: erf, erfc, gamma, lgamma, digamma (with polygamma, the family its
derivatives need) and sinc (with its n-th derivatives, sinc_derivative).

Values come from scipy.special, imported inside the rules (``gradcli diff x**2`` never
loads scipy). Taylor rules: erf and erfc through their ODE, erf'(u) = 2/sqrt(pi) exp(-u**2);
lgamma, digamma, polygamma and sinc compose their coefficients at u_0 with the argument's
series (gradcli/taylor/special_series.py states the formulas); gamma is exp of the lgamma
series, valued gamma(u_0), which carries the sign. Ball rules: python-flint's arb_series
(erf, erfc, gamma, lgamma; lgamma below 0 and the psi family through the reflection and
the derivatives of lgamma's series), with the poles 0, -1, -2, ... out of the domain.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .. import functions as F
from ..registry import op
from ..taylor import series as T
from ..taylor.special_series import (
    compose,
    exp_minus_square,
    lgamma_scaled,
    psi_coefficients,
    psi_scaled,
    scaled,
    scipy_special,
    sinc_derivative,
    sinc_derivatives,
)

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _polygamma_float(n: int, x: float) -> float:
    """psi^(n)(x) on a float: one scipy call above 0 (the forward rule's formula, the same
    bits; scipy's special functions do not warn), the array rule (the reflection) below 0."""
    sp = scipy_special()
    if n == 0 and not x < 0:
        return float(sp.psi(x))
    if x > 0:
        return float((-1.0) ** (n + 1) * (math.factorial(n) / 1.0) * sp.zeta(float(n + 1), x))
    with np.errstate(all="ignore"):
        return float(psi_coefficients(np.float64(x), n, 1)[0])


def _scipy_float(name: str):
    """scipy.special's ``name`` on one float, as the forward rule computes it (the same bits:
    math.erfc, math.gamma and math.lgamma differ from scipy by up to 1e-13 relative, 6e-11 near
    lgamma's zeros, and the one-point function must give the array's numbers); a scipy ufunc
    on a float costs about 0.1 us and never warns."""

    def scalar(x: float) -> float:
        return float(getattr(scipy_special(), name)(x))

    scalar.__name__ = f"float_{name}"
    return scalar


@functools.cache
def _sympy_lgamma():
    """log |gamma(x)| as a SymPy function whose derivative is polygamma(0, x) (SymPy's loggamma
    is complex below 0, and log(Abs(gamma(x))) differentiates into sign(gamma(x)))."""
    import sympy as sp

    class lgamma(sp.Function):
        def fdiff(self, argindex=1):
            return sp.polygamma(0, self.args[0])

        def _eval_evalf(self, prec):
            x = self.args[0].evalf(prec)
            if x.is_Number:
                return sp.log(sp.Abs(sp.gamma(x))).evalf(prec)
            return None

    def at(x):  # what sp.lambdify calls (with mpmath numbers or floats)
        import mpmath

        return mpmath.log(abs(mpmath.gamma(x)))

    lgamma._imp_ = staticmethod(at)
    return lgamma


# -- ball helpers (python-flint, imported inside: see gradcli/taylor/ball.py) -------------
def _not_a_pole(u):
    """u's value, certainly not 0, -1, -2, ... (OutOfDomain on a pole, Undecided near one)."""
    from ..taylor import ball as B

    x = B.value(u)
    if x > 0:
        return x
    if x.is_exact() and x.is_integer():
        raise B.OutOfDomain("a pole of the gamma function (0, -1, -2, ...)")
    n = x.floor()
    if n.is_exact() and x > n and x < n + 1:
        return x
    raise B.Undecided("the ball meets a pole of the gamma function")


def _compose_at(u, f_of_t, shift: int = 0):
    """f(u) from the series f_of_t(s) of f at s = u_0 + t (length N+1+shift): its ``shift``-th
    derivative's coefficients composed with v = u - u_0."""
    import flint
    from flint import arb_series

    from ..taylor import ball as B

    n = flint.ctx.cap
    x0 = B.value(u)
    flint.ctx.cap = n + shift
    try:
        f = f_of_t(arb_series([x0, 1]))
        for _ in range(shift):
            f = f.derivative()
    finally:
        flint.ctx.cap = n
    coefficients = B.coefficients(f)[:n]
    v = B.coefficients(u)
    if all(c.is_zero() for c in v[2:]):  # u linear in t: c_k v_1**k
        out, power = [], 1
        for c in coefficients:
            out.append(c * power)
            power = power * v[1] if len(v) > 1 else 0 * power
        return B.series(out)
    v[0] = 0 * v[0]
    return B.series(coefficients)(B.series(v))


def _lgamma_series(s):
    """log |gamma(s)| for a series s: arb's lgamma above 0, the reflection
    log(pi) - log |sin(pi s)| - lgamma(1 - s) below."""
    from flint import arb

    from ..taylor import ball as B

    x = _not_a_pole(s)
    if x > 0:
        return s.lgamma()
    sine = (s * arb.pi()).sin()
    if B.sign_of(B.value(sine)) < 0:
        sine = -sine
    return arb.pi().log() - sine.log() - (1 - s).lgamma()


@op("erf", 1, language="erf", cost=14.0)
class Erf:
    """error function 2/sqrt(pi) * integral of exp(-t**2) from 0 to x

    domain: all x
    derivative: 2/sqrt(pi)*exp(-x**2)
    """

    def forward(x):
        return scipy_special().erf(x)

    def grad(g, ans, x):
        """g * 2/sqrt(pi) * exp(-x**2)"""
        return (g * (TWO_OVER_SQRT_PI * F.exp(-(x * x))),)

    def taylor(x):
        """erf(x_0) + integral of 2/sqrt(pi) exp(-x**2) D(x)"""
        w = T.exp(-T.square(x), value0=exp_minus_square(x[0])) * TWO_OVER_SQRT_PI
        return T.through(x, scipy_special().erf(x[0]), w)

    def sympy(sp, x):
        return sp.erf(x)

    def ball(x):
        """erf(x)"""
        return x.erf()

    scalar = staticmethod(_scipy_float("erf"))


@op("erfc", 1, language="erfc", cost=13.0)
class Erfc:
    """complementary error function 1 - erf(x), accurate for large x

    domain: all x
    derivative: -2/sqrt(pi)*exp(-x**2)
    """

    def forward(x):
        return scipy_special().erfc(x)

    def grad(g, ans, x):
        """-g * 2/sqrt(pi) * exp(-x**2)"""
        return (g * (-TWO_OVER_SQRT_PI * F.exp(-(x * x))),)

    def taylor(x):
        """erfc(x_0) - integral of 2/sqrt(pi) exp(-x**2) D(x)"""
        w = T.exp(-T.square(x), value0=exp_minus_square(x[0])) * -TWO_OVER_SQRT_PI
        return T.through(x, scipy_special().erfc(x[0]), w)

    def sympy(sp, x):
        return sp.erfc(x)

    def ball(x):
        """erfc(x)"""
        return x.erfc()

    scalar = staticmethod(_scipy_float("erfc"))


@op("gamma", 1, language="gamma", cost=8.0)
class Gamma:
    """gamma function (+-inf at +-0, nan at the poles -1, -2, ...)

    domain: x != 0, -1, -2, ...
    derivative: gamma(x)*digamma(x)
    """

    def forward(x):
        return scipy_special().gamma(x)

    def grad(g, ans, x):
        """g * gamma(x) * digamma(x)"""
        return (g * ans * F.apply("digamma", x),)

    def taylor(x):
        """exp(lgamma series) with value gamma(x_0), its sign included"""
        mantissa, exponent = lgamma_scaled(x[0], x.shape[0])
        mantissa[0] = 0.0
        logs = compose((mantissa, exponent), x)
        return T.exp(logs, value0=scipy_special().gamma(x[0]))

    def sympy(sp, x):
        return sp.gamma(x)

    def ball(x):
        """gamma(x), x_0 not a pole"""
        _not_a_pole(x)
        return x.gamma()

    scalar = staticmethod(_scipy_float("gamma"))


@op("lgamma", 1, language="lgamma", cost=14.0)
class Lgamma:
    """log |gamma(x)| (inf at the poles 0, -1, -2, ...)

    domain: x != 0, -1, -2, ...
    derivative: digamma(x)
    """

    def forward(x):
        return scipy_special().gammaln(x)

    def grad(g, ans, x):
        """g * digamma(x)"""
        return (g * F.apply("digamma", x),)

    def taylor(x):
        """lgamma(x_0) + psi(x_0) v + sum_k (-1)**k zeta(k, x_0) v**k / k, v = x - x_0"""
        return compose(lgamma_scaled(x[0], x.shape[0]), x)

    def sympy(sp, x):
        return _sympy_lgamma()(x)

    def ball(x):
        """log |gamma(x)|, x_0 not a pole (the reflection below 0)"""
        return _lgamma_series(x)

    scalar = staticmethod(_scipy_float("gammaln"))


@op("digamma", 1, language="digamma", cost=10.0)
class Digamma:
    """psi(x) = gamma'(x)/gamma(x) (-inf at +0, +inf at -0, nan at the poles -1, -2, ...)

    domain: x != 0, -1, -2, ...
    derivative: trigamma(x) = sum over k >= 0 of 1/(x+k)**2
    """

    def forward(x):
        """scipy's psi, and below 0 the reflection with cot(pi x) from x - round(x)
        (psi_coefficients): scipy's psi is 1e-7 off at -1 + 1e-9, 9e-9 at -3 + 1e-9"""
        out = scipy_special().psi(x)
        negative = np.asarray(x) < 0
        if np.any(negative):
            with np.errstate(all="ignore"):
                reflected = psi_coefficients(x, 0, 1)[0]
            out = np.where(negative, reflected, out).astype(np.result_type(out))[()]
        return out

    def grad(g, ans, x):
        """g * polygamma(1, x)"""
        return (g * F.apply("polygamma", x, n=1),)

    def taylor(x):
        """psi(x_0) + sum_k (-1)**(k+1) zeta(k+1, x_0) v**k, v = x - x_0"""
        return compose(psi_scaled(x[0], 0, x.shape[0]), x)

    def sympy(sp, x):
        return sp.polygamma(0, x)

    def ball(x):
        """the derivative of lgamma's series at x_0, composed with x - x_0"""
        _not_a_pole(x)
        return _compose_at(x, _lgamma_series, shift=1)

    def scalar(x):
        return _polygamma_float(0, x)


@op("polygamma", 1, attrs=("n",), cost=1000.0)
class Polygamma:
    """psi^(n)(x), the n-th derivative of digamma (n >= 1)"""

    def forward(x, n):
        return psi_coefficients(np.asarray(x, dtype=np.float64), n, 1)[0]

    def grad(g, ans, x, n):
        """g * polygamma(n + 1, x)"""
        return (g * F.apply("polygamma", x, n=n + 1),)

    def taylor(x, n):
        """sum_k (-1)**(n+k+1) (n+k)!/k! zeta(n+k+1, x_0) v**k, v = x - x_0"""
        return compose(psi_scaled(x[0], n, x.shape[0]), x)

    def sympy(sp, x, n):
        return sp.polygamma(n, x)

    def ball(x, n):
        """the (n+1)-th derivative of lgamma's series at x_0, composed with x - x_0"""
        _not_a_pole(x)
        return _compose_at(x, _lgamma_series, shift=n + 1)

    def scalar(x, n):
        return _polygamma_float(n, x)


def _sinc_series(s):
    """sin(s)/s for s = x_0 + t: a quotient away from 0; at 0 exactly sum (-1)**m t**(2m)/(2m+1)!."""
    import flint
    from flint import arb

    from ..taylor import ball as B

    x0 = B.value(s)
    if x0.is_zero():
        n = flint.ctx.cap
        return B.series([(-1) ** (k // 2) / arb(math.factorial(k + 1)) if k % 2 == 0 else arb(0)
                         for k in range(n)])
    B.sign_of(x0)  # Undecided for a ball around 0
    return s.sin() / s


def _sinc_derivative_float(x: float, n: int) -> float:
    """sinc^(n)(x) on a float by the array rule's own arithmetic: Horner in x**2 for |x| <= 1,
    the forward recurrence for |x| > n; the spherical Bessel sums (arrays) between."""
    size = abs(x)
    if size <= 1.0:
        return _SINC_TERMS.horner(x, n)
    if size >= n + 1:
        sin, cos = math.sin(x), math.cos(x)
        cycle = (sin, cos, -sin, -cos)
        f = sin / x
        for k in range(1, n + 1):
            f = (cycle[k % 4] - k * f) / x
        return f
    with np.errstate(all="ignore"):
        return float(sinc_derivative(np.float64(x), n))


class _SincTerms:
    """The power series' coefficients by order, made once."""

    def __init__(self):
        self.terms = {}

    def horner(self, x: float, k: int) -> float:
        terms = self.terms.get(k)
        if terms is None:
            terms = self.terms[k] = [(-1.0) ** ((j + k) // 2) / (math.factorial(j) * (j + k + 1))
                                     for j in range(k % 2, 28, 2)]
        square = x * x
        total = terms[-1]
        for c in reversed(terms[:-1]):
            total = total * square + c
        return total * x if k % 2 else total


_SINC_TERMS = _SincTerms()


def _sinc_float(x: float) -> float:
    return math.sin(x) / x if x else 1.0


@op("sinc", 1, language="sinc", cost=11.0)
class Sinc:
    """sin(x)/x, with sinc(0) = 1

    domain: all x
    derivative: (x*cos(x) - sin(x))/x**2 (0 at 0)
    """

    def forward(x):
        x = np.asarray(x)
        with np.errstate(all="ignore"):
            return np.where(x == 0, 1.0, np.sin(x) / np.where(x == 0, 1.0, x))

    def grad(g, ans, x):
        """g * sinc'(x)   ((x cos x - sin x)/x**2, 0 at 0)"""
        return (g * F.apply("sinc_derivative", x, n=1),)

    def taylor(x):
        """sum_k sinc^(k)(x_0)/k! v**k, v = x - x_0"""
        return compose(scaled(sinc_derivatives(x[0], x.shape[0])), x)

    def sympy(sp, x):
        return sp.sinc(x)

    def ball(x):
        """sin(x)/x; at x_0 = 0 exactly, sin(s)/s's series composed with x"""
        return _compose_at(x, _sinc_series)

    scalar = staticmethod(_sinc_float)


@op("sinc_derivative", 1, attrs=("n",), cost=300.0)
class SincDerivative:
    """sinc^(n)(x), the n-th derivative of sinc (n >= 1), exact at 0"""

    def forward(x, n):
        return sinc_derivative(np.asarray(x, dtype=np.float64), n)

    def grad(g, ans, x, n):
        """g * sinc^(n+1)(x)"""
        return (g * F.apply("sinc_derivative", x, n=n + 1),)

    def taylor(x, n):
        """sum_k sinc^(n+k)(x_0)/k! v**k, v = x - x_0"""
        return compose(scaled(sinc_derivatives(x[0], n + x.shape[0])[n:]), x)

    def sympy(sp, x, n):
        t = sp.Dummy("t", real=True)
        return sp.diff(sp.sinc(t), t, n).subs(t, x)

    def ball(x, n):
        """the n-th derivative of sinc's series at x_0, composed with x - x_0"""
        return _compose_at(x, _sinc_series, shift=n)

    def scalar(x, n):
        return _sinc_derivative_float(x, n)
