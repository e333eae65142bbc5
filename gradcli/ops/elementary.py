"""Elementary functions: exponentials, logarithms, roots, sigmoid and softplus (the
trigonometric and hyperbolic functions are in trig.py)."""
from __future__ import annotations

import math

import numpy as np

from .. import functions as F
from ..taylor import series as T
from ..registry import op

LN2, LN10 = math.log(2.0), math.log(10.0)


def _with_value(series, value):
    """The series with its order-0 coefficient replaced by the accurate value."""
    series[0] = value
    return series


def _sigmoid_series(x):
    """sigmoid(x): D(p) = p (1 - p) D(x)"""
    value = _sigmoid(x[0])
    # p (1 - p) = e / (1 + e)**2 with e = exp(-|x|), without the cancellation of 1 - p near 1
    e = np.exp(-np.abs(x[0]))
    slope = e / (1.0 + e) / (1.0 + e)
    return T.from_derivative(x, value, lambda p, k: slope if k == 0
                             else p[k] - T.self_product(p, k))


def _sigmoid(x):
    """1 / (1 + exp(-x)) for x >= 0, exp(x) / (1 + exp(x)) below: exp never overflows and
    each branch loses no digits (as scipy.special.expit; float32 stays float32, so a float32
    tensor gets TF's sigmoid(10) = 0.9999546)"""
    e = np.exp(-np.abs(x))
    one = np.ones_like(e)
    return np.where(x >= 0, one / (one + e), e / (one + e))[()]


def _float_sigmoid(x):
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # nan goes here too: nan
    return e / (1.0 + e)


def _float_softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@op("exp", 1, language="exp", cost=0.9)
class Exp:
    """exp(x)

    domain: all x
    derivative: exp(x)
    """

    scalar = math.exp

    def forward(x):
        return np.exp(x)

    def grad(g, ans, x):
        """g * exp(x)"""
        return (g * ans,)

    def taylor(x):
        """p_k = (1/k) sum_j D(x)_{j-1} p_{k-j}"""
        return T.exp(x)

    def sympy(sp, x):
        return sp.exp(x)

    def ball(x):
        """exp(x)"""
        return x.exp()


@op("expm1", 1, language="expm1", cost=1.2)
class Expm1:
    """exp(x) - 1, accurate near 0

    domain: all x
    derivative: exp(x)
    """

    scalar = math.expm1

    def forward(x):
        return np.expm1(x)

    def grad(g, ans, x):
        """g * exp(x)"""
        return (g * F.exp(x),)

    def taylor(x):
        """the series of exp(x), with value expm1(x_0)"""
        return _with_value(T.exp(x), np.expm1(x[0]))

    def sympy(sp, x):
        return sp.exp(x) - 1

    def ball(x):
        """exp(x) with value expm1(x_0)"""
        from ..taylor import ball as B

        return B.with_value(x.exp(), B.value(x).expm1())


@op("log", 1, language="log", cost=0.9)
class Log:
    """natural logarithm; log(x, base) is log(x)/log(base)

    domain: x > 0
    derivative: 1/x
    """

    scalar = math.log

    def forward(x):
        return np.log(x)

    def grad(g, ans, x):
        """g / x   (x + 0.0: +inf at -0.0 as at 0, the value by continuity from x > 0)"""
        return (g / (x + 0.0),)

    def taylor(x):
        """log(x_0) + integral of D(x) / x"""
        return T.log(x)

    def sympy(sp, x):
        return sp.log(x)

    def ball(x):
        """log(x), x_0 > 0"""
        from ..taylor import ball as B

        return B.log(x)


@op("log1p", 1, language="log1p", cost=1.1)
class Log1p:
    """log(1 + x), accurate near 0

    domain: x > -1
    derivative: 1/(1+x)
    """

    scalar = math.log1p

    def forward(x):
        return np.log1p(x)

    def grad(g, ans, x):
        """g / (1 + x)"""
        return (g / (x + 1.0),)

    def taylor(x):
        """log1p(x_0) + integral of D(x) / (1 + x)"""
        return T.through_quotient(x, np.log1p(x[0]), T.add(x, T.const(1.0, x)))

    def sympy(sp, x):
        return sp.log(1 + x)

    def ball(x):
        """log(1 + x) with value log1p(x_0), x_0 > -1"""
        from ..taylor import ball as B

        return B.with_value(B.log(x + 1), B.value(x).log1p())


@op("log2", 1, language="log2", cost=0.9)
class Log2:
    """base-2 logarithm

    domain: x > 0
    derivative: 1/(x*log(2))
    """

    scalar = math.log2

    def forward(x):
        return np.log2(x)

    def grad(g, ans, x):
        """g / (x * ln 2)   (+inf at -0.0, as log's)"""
        return (g / ((x + 0.0) * LN2),)

    def taylor(x):
        """log(x) / ln 2"""
        return _with_value(T.log(x) / LN2, np.log2(x[0]))

    def sympy(sp, x):
        return sp.log(x, 2)

    def ball(x):
        """log(x) / log(2)"""
        from flint import arb

        from ..taylor import ball as B

        return B.log(x) / arb(2).log()


@op("log10", 1, language="log10", cost=0.9)
class Log10:
    """base-10 logarithm

    domain: x > 0
    derivative: 1/(x*log(10))
    """

    scalar = math.log10

    def forward(x):
        return np.log10(x)

    def grad(g, ans, x):
        """g / (x * ln 10)   (+inf at -0.0, as log's)"""
        return (g / ((x + 0.0) * LN10),)

    def taylor(x):
        """log(x) / ln 10"""
        return _with_value(T.log(x) / LN10, np.log10(x[0]))

    def sympy(sp, x):
        return sp.log(x, 10)

    def ball(x):
        """log(x) / log(10)"""
        from flint import arb

        from ..taylor import ball as B

        return B.log(x) / arb(10).log()


@op("sqrt", 1, language="sqrt", cost=1.2)
class Sqrt:
    """square root (nan below 0; its derivative at 0 is inf)

    domain: x >= 0
    derivative: 1/(2*sqrt(x)) (inf at 0)
    """

    scalar = math.sqrt

    def forward(x):
        return np.sqrt(x)

    def grad(g, ans, x):
        """g / (2 * sqrt(x))   (+ 0.0: +inf at -0.0, whose sqrt is -0.0, as at 0 and as
        x ** 0.5's: the value by continuity from x > 0)"""
        return (g / (ans * 2.0 + 0.0),)

    def taylor(x):
        """q_k = (x_k - sum_{j=1..k-1} q_j q_{k-j}) / (2 q_0)"""
        return T.sqrt(x)

    def sympy(sp, x):
        return sp.sqrt(x)

    def ball(x):
        """sqrt(x), x_0 > 0 (0: the one-sided limits)"""
        from ..taylor import ball as B

        return B.root(x, 0.5, lambda u: u.sqrt())


@op("cbrt", 1, language="cbrt", cost=1.0)
class Cbrt:
    """real cube root (cbrt(-8) = -2; its derivative at 0 is inf)

    domain: all x
    derivative: 1/(3*cbrt(x)**2) (inf at 0)
    """

    scalar = math.cbrt

    def forward(x):
        return np.cbrt(x)

    def grad(g, ans, x):
        """g / (3 * cbrt(x) ** 2)"""
        return (g / (ans * ans * 3.0),)

    def taylor(x):
        """x ** (1/3) by x D(p) = p D(x) / 3 (real for x < 0)"""
        return T.power(x, 1.0 / 3.0, value0=np.cbrt(x[0]), lead_power=np.cbrt)

    def sympy(sp, x):
        return sp.sign(x) * sp.Abs(x) ** sp.Rational(1, 3)

    def ball(x):
        """x ** (1/3), -(-x) ** (1/3) below 0 (0: the one-sided limits)"""
        from flint import arb

        from ..taylor import ball as B

        third = arb(1) / 3
        if B.value(x) < 0:
            return -((-x) ** third)
        return B.root(x, 1.0 / 3.0, lambda u: u ** third)


@op("sigmoid", 1, language="sigmoid", cost=19.0)
class Sigmoid:
    """logistic function 1 / (1 + exp(-x)), computed without overflow

    domain: all x
    derivative: sigmoid(x)*sigmoid(-x)
    """

    scalar = _float_sigmoid

    def forward(x):
        return _sigmoid(x)

    def grad(g, ans, x):
        """g * sigmoid(x) * sigmoid(-x)   (1 - sigmoid(x) without the cancellation for x >> 0)"""
        return (g * ans * F.sigmoid(-x),)

    def taylor(x):
        """D(p) = p (1 - p) D(x)"""
        return _sigmoid_series(x)

    def sympy(sp, x):
        return 1 / (1 + sp.exp(-x))

    def ball(x):
        """1 / (1 + exp(-x))"""
        return 1 / (1 + (-x).exp())


@op("softplus", 1, language="softplus", cost=13.0)
class Softplus:
    """log(1 + exp(x)), computed without overflow

    domain: all x
    derivative: sigmoid(x)
    """

    scalar = _float_softplus

    def forward(x):
        return np.logaddexp(0.0, x)

    def grad(g, ans, x):
        """g * sigmoid(x)"""
        return (g * F.sigmoid(x),)

    def taylor(x):
        """softplus(x_0) + integral of sigmoid(x) D(x)"""
        return T.through(x, np.logaddexp(0.0, x[0]), _sigmoid_series(x))

    def sympy(sp, x):
        return sp.log(1 + sp.exp(x))

    def ball(x):
        """softplus(x_0) + integral of sigmoid(x) D(x)"""
        from ..taylor import ball as B

        v = B.value(x)
        v0 = v + (-v).exp().log1p() if v > 0 else v.exp().log1p()
        return B.through(x, v0, 1 / (1 + (-x).exp()))
