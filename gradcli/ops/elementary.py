"""Elementary functions: exponentials, logarithms, roots, trigonometric and
hyperbolic functions and their inverses, sigmoid and softplus."""
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


def _one_minus_square(x):
    """The series of 1 - x**2."""
    return T.add(T.const(1.0, x), T.square(x), -1.0)


def _square_plus(x, c: float):
    """The series of x**2 + c (c = 1 or -1)."""
    return T.add(T.square(x), T.const(1.0, x), c)


def _sigmoid_series(x):
    """sigmoid(x): D(p) = p (1 - p) D(x)"""
    value = np.exp(-np.logaddexp(0.0, -x[0]))
    # p (1 - p) at the value, without the cancellation of 1 - p near 1
    slope = np.exp(-np.logaddexp(0.0, -x[0]) - np.logaddexp(0.0, x[0]))
    return T.from_derivative(x, value, lambda p, k: slope if k == 0
                             else p[k] - T.self_product(p, k))


def _float_sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


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
        """g / x"""
        return (g / x,)

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
        """g / (x * ln 2)"""
        return (g / (x * LN2),)

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
        """g / (x * ln 10)"""
        return (g / (x * LN10),)

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
        """g / (2 * sqrt(x))"""
        return (g / (ans * 2.0),)

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


@op("sin", 1, language="sin", cost=8.0)
class Sin:
    """sine

    domain: all x
    derivative: cos(x)
    """

    scalar = math.sin

    def forward(x):
        return np.sin(x)

    def grad(g, ans, x):
        """g * cos(x)"""
        return (g * F.cos(x),)

    def taylor(x):
        """sin and cos together: D(s) = c D(x), D(c) = -s D(x)"""
        return T.sin_cos(x)[0]

    def sympy(sp, x):
        return sp.sin(x)

    def ball(x):
        """sin(x)"""
        return x.sin()


@op("cos", 1, language="cos", cost=8.0)
class Cos:
    """cosine

    domain: all x
    derivative: -sin(x)
    """

    scalar = math.cos

    def forward(x):
        return np.cos(x)

    def grad(g, ans, x):
        """-g * sin(x)"""
        return (-(g * F.sin(x)),)

    def taylor(x):
        """sin and cos together: D(s) = c D(x), D(c) = -s D(x)"""
        return T.sin_cos(x)[1]

    def sympy(sp, x):
        return sp.cos(x)

    def ball(x):
        """cos(x)"""
        return x.cos()


@op("tan", 1, language="tan", cost=1.4)
class Tan:
    """tangent

    domain: x != pi/2 + k*pi
    derivative: 1 + tan(x)**2
    """

    scalar = math.tan

    def forward(x):
        return np.tan(x)

    def grad(g, ans, x):
        """g * (1 + tan(x) ** 2)"""
        return (g * (ans * ans + 1.0),)

    def taylor(x):
        """D(p) = (1 + p ** 2) D(x)"""
        return T.from_derivative(x, np.tan(x[0]), lambda p, k: (k == 0) + T.self_product(p, k))

    def sympy(sp, x):
        return sp.tan(x)

    def ball(x):
        """tan(x) (a pole where cos(x_0) = 0: the ball is not finite)"""
        return x.tan()


@op("asin", 1, language="asin", cost=1.3)
class Asin:
    """inverse sine, on [-1, 1]

    domain: -1 <= x <= 1
    derivative: 1/sqrt(1-x**2)
    """

    scalar = math.asin

    def forward(x):
        return np.arcsin(x)

    def grad(g, ans, x):
        """g / sqrt(1 - x ** 2)"""
        return (g / F.sqrt(1.0 - x * x),)

    def taylor(x):
        """asin(x_0) + integral of D(x) / sqrt(1 - x ** 2)"""
        return T.through_quotient(x, np.arcsin(x[0]), T.sqrt(_one_minus_square(x)))

    def sympy(sp, x):
        return sp.asin(x)

    def ball(x):
        """asin(x), -1 < x_0 < 1"""
        from ..taylor import ball as B

        B.inside(x, -1.0, 1.0, 'asin')
        return x.asin()


@op("acos", 1, language="acos", cost=1.4)
class Acos:
    """inverse cosine, on [-1, 1]

    domain: -1 <= x <= 1
    derivative: -1/sqrt(1-x**2)
    """

    scalar = math.acos

    def forward(x):
        return np.arccos(x)

    def grad(g, ans, x):
        """-g / sqrt(1 - x ** 2)"""
        return (-(g / F.sqrt(1.0 - x * x)),)

    def taylor(x):
        """acos(x_0) - integral of D(x) / sqrt(1 - x ** 2)"""
        return T.through_quotient(x, np.arccos(x[0]), T.sqrt(_one_minus_square(x)), -1.0)

    def sympy(sp, x):
        return sp.acos(x)

    def ball(x):
        """acos(x), -1 < x_0 < 1"""
        from ..taylor import ball as B

        B.inside(x, -1.0, 1.0, 'acos')
        return x.acos()


@op("atan", 1, language="atan", cost=1.3)
class Atan:
    """inverse tangent

    domain: all x
    derivative: 1/(1+x**2)
    """

    scalar = math.atan

    def forward(x):
        return np.arctan(x)

    def grad(g, ans, x):
        """g / (1 + x ** 2)"""
        return (g / (x * x + 1.0),)

    def taylor(x):
        """atan(x_0) + integral of D(x) / (1 + x ** 2)"""
        return T.through_quotient(x, np.arctan(x[0]), _square_plus(x, 1.0))

    def sympy(sp, x):
        return sp.atan(x)

    def ball(x):
        """atan(x)"""
        return x.atan()


@op("sinh", 1, language="sinh", cost=1.2)
class Sinh:
    """hyperbolic sine

    domain: all x
    derivative: cosh(x)
    """

    scalar = math.sinh

    def forward(x):
        return np.sinh(x)

    def grad(g, ans, x):
        """g * cosh(x)"""
        return (g * F.cosh(x),)

    def taylor(x):
        """sinh and cosh together: D(s) = c D(x), D(c) = s D(x)"""
        return T.sin_cos(x, hyperbolic=True)[0]

    def sympy(sp, x):
        return sp.sinh(x)

    def ball(x):
        """(exp(x) - exp(-x)) / 2 with value sinh(x_0)"""
        from ..taylor import ball as B

        return B.with_value((x.exp() - (-x).exp()) / 2, B.value(x).sinh())


@op("cosh", 1, language="cosh", cost=1.0)
class Cosh:
    """hyperbolic cosine

    domain: all x
    derivative: sinh(x)
    """

    scalar = math.cosh

    def forward(x):
        return np.cosh(x)

    def grad(g, ans, x):
        """g * sinh(x)"""
        return (g * F.sinh(x),)

    def taylor(x):
        """sinh and cosh together: D(s) = c D(x), D(c) = s D(x)"""
        return T.sin_cos(x, hyperbolic=True)[1]

    def sympy(sp, x):
        return sp.cosh(x)

    def ball(x):
        """(exp(x) + exp(-x)) / 2"""
        return (x.exp() + (-x).exp()) / 2


@op("tanh", 1, language="tanh", cost=1.7)
class Tanh:
    """hyperbolic tangent

    domain: all x
    derivative: 1/cosh(x)**2
    """

    scalar = math.tanh

    def forward(x):
        return np.tanh(x)

    def grad(g, ans, x):
        """g / cosh(x) ** 2   (1 - tanh(x) ** 2 without the cancellation near saturation)"""
        sech = 1.0 / F.cosh(x)  # not g / cosh**2: its derivative would square cosh**2
        return (g * (sech * sech),)

    def taylor(x):
        """D(p) = (1 - p ** 2) D(x)"""
        sech2 = 1.0 / np.cosh(x[0]) ** 2     # 1 - tanh(x_0)**2 without the cancellation
        return T.from_derivative(x, np.tanh(x[0]), lambda p, k: sech2 if k == 0
                                 else -T.self_product(p, k))

    def sympy(sp, x):
        return sp.tanh(x)

    def ball(x):
        """tanh(x_0) + integral of 4 D(x) / (exp(x) + exp(-x)) ** 2 (no cancellation)"""
        from ..taylor import ball as B

        c = x.exp() + (-x).exp()
        return B.through(x, B.value(x).tanh(), 4 / (c * c))


@op("asinh", 1, language="asinh", cost=2.1)
class Asinh:
    """inverse hyperbolic sine

    domain: all x
    derivative: 1/sqrt(x**2+1)
    """

    scalar = math.asinh

    def forward(x):
        return np.arcsinh(x)

    def grad(g, ans, x):
        """g / sqrt(x ** 2 + 1)"""
        return (g / F.sqrt(x * x + 1.0),)

    def taylor(x):
        """asinh(x_0) + integral of D(x) / sqrt(x ** 2 + 1)"""
        return T.through_quotient(x, np.arcsinh(x[0]), T.sqrt(_square_plus(x, 1.0)))

    def sympy(sp, x):
        return sp.asinh(x)

    def ball(x):
        """asinh(x_0) + integral of D(x) / sqrt(x ** 2 + 1)"""
        from ..taylor import ball as B

        return B.through(x, B.value(x).asinh(), (x * x + 1).rsqrt())


@op("acosh", 1, language="acosh", cost=4.0)
class Acosh:
    """inverse hyperbolic cosine, on [1, inf)

    domain: x >= 1
    derivative: 1/sqrt(x**2-1)
    """

    scalar = math.acosh

    def forward(x):
        return np.arccosh(x)

    def grad(g, ans, x):
        """g / sqrt(x ** 2 - 1)"""
        return (g / F.sqrt(x * x - 1.0),)

    def taylor(x):
        """acosh(x_0) + integral of D(x) / sqrt(x ** 2 - 1)"""
        return T.through_quotient(x, np.arccosh(x[0]), T.sqrt(_square_plus(x, -1.0)))

    def sympy(sp, x):
        return sp.acosh(x)

    def ball(x):
        """acosh(x_0) + integral of D(x) / sqrt(x ** 2 - 1), x_0 > 1"""
        from ..taylor import ball as B

        v = B.inside(x, 1.0, float('inf'), 'acosh')
        return B.through(x, v.acosh(), (x * x - 1).rsqrt())


@op("atanh", 1, language="atanh", cost=1.6)
class Atanh:
    """inverse hyperbolic tangent, on (-1, 1)

    domain: -1 < x < 1
    derivative: 1/(1-x**2)
    """

    scalar = math.atanh

    def forward(x):
        return np.arctanh(x)

    def grad(g, ans, x):
        """g / (1 - x ** 2)"""
        return (g / (1.0 - x * x),)

    def taylor(x):
        """atanh(x_0) + integral of D(x) / (1 - x ** 2)"""
        return T.through_quotient(x, np.arctanh(x[0]), _one_minus_square(x))

    def sympy(sp, x):
        return sp.atanh(x)

    def ball(x):
        """atanh(x_0) + integral of D(x) / (1 - x ** 2), -1 < x_0 < 1"""
        from ..taylor import ball as B

        v = B.inside(x, -1.0, 1.0, 'atanh')
        return B.through(x, v.atanh(), 1 / (1 - x * x))


@op("sigmoid", 1, language="sigmoid", cost=19.0)
class Sigmoid:
    """logistic function 1 / (1 + exp(-x)), computed without overflow

    domain: all x
    derivative: sigmoid(x)*sigmoid(-x)
    """

    scalar = _float_sigmoid

    def forward(x):
        return np.exp(-np.logaddexp(0.0, -x))

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
