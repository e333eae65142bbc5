"""Reciprocal trigonometric functions and shorthands: sec, csc, cot, exp2, square (each an
op of its own, with its own Taylor and ball rules)."""
from __future__ import annotations

import math

import numpy as np

from .. import functions as F
from ..registry import op
from ..taylor import series as T

LN2 = math.log(2.0)


def _reciprocal(s: np.ndarray) -> np.ndarray:
    return T.div(T.const(1.0, s), s)


@op("sec", 1, language="sec", cost=9.0)
class Sec:
    """secant 1/cos(x)

    domain: x != pi/2 + k*pi
    derivative: sec(x)*tan(x)
    """

    def forward(x):
        return 1.0 / np.cos(x)

    def grad(g, ans, x):
        """g * sec(x) * tan(x)"""
        return (g * (ans * F.tan(x)),)

    def taylor(x):
        """1 / (the series of cos x)"""
        return _reciprocal(T.sin_cos(x)[1])

    def sympy(sp, x):
        return sp.sec(x)

    def ball(x):
        """1 / cos(x), cos(x_0) not 0"""
        from ..taylor import ball as B

        return B.divide(B.constant(1), x.cos())

    scalar = "1.0 / _cos({0})"


@op("csc", 1, language="csc", cost=9.0)
class Csc:
    """cosecant 1/sin(x)

    domain: x != k*pi
    derivative: -csc(x)*cot(x)
    """

    def forward(x):
        return 1.0 / np.sin(x)

    def grad(g, ans, x):
        """-g * csc(x) * cot(x)"""
        return (-(g * (ans * F.apply("cot", x))),)

    def taylor(x):
        """1 / (the series of sin x)"""
        return _reciprocal(T.sin_cos(x)[0])

    def sympy(sp, x):
        return sp.csc(x)

    def ball(x):
        """1 / sin(x), sin(x_0) not 0"""
        from ..taylor import ball as B

        return B.divide(B.constant(1), x.sin())

    scalar = "1.0 / _sin({0})"


@op("cot", 1, language="cot", cost=3.0)
class Cot:
    """cotangent 1/tan(x)

    domain: x != k*pi
    derivative: -(1 + cot(x)**2)
    """

    def forward(x):
        return 1.0 / np.tan(x)

    def grad(g, ans, x):
        """-g * (1 + cot(x) ** 2)"""
        return (-(g * (ans * ans + 1.0)),)

    def taylor(x):
        """D(p) = -(1 + p ** 2) D(x)"""
        with np.errstate(all="ignore"):
            value = 1.0 / np.tan(x[0])
        return T.from_derivative(x, value, lambda p, k: -((k == 0) + T.self_product(p, k)))

    def sympy(sp, x):
        return sp.cot(x)

    def ball(x):
        """cos(x) / sin(x), sin(x_0) not 0"""
        from ..taylor import ball as B

        return B.divide(x.cos(), x.sin())

    scalar = "1.0 / _tan({0})"


@op("exp2", 1, language="exp2", cost=1.0)
class Exp2:
    """2 ** x

    domain: all x
    derivative: exp2(x)*log(2)
    """

    def forward(x):
        return np.exp2(x)

    def grad(g, ans, x):
        """g * 2 ** x * ln 2"""
        return (g * (ans * LN2),)

    def taylor(x):
        """exp(x ln 2), valued 2 ** x_0"""
        return T.exp(x * LN2, value0=np.exp2(x[0]))

    def sympy(sp, x):
        return sp.Integer(2) ** x

    def ball(x):
        """exp(x log 2)"""
        from flint import arb

        return (x * arb(2).log()).exp()

    scalar = "2.0 ** {0}"


@op("square", 1, language="square", cost=0.3)
class Square:
    """x ** 2

    domain: all x
    derivative: 2*x
    """

    def forward(x):
        return np.square(x)

    def grad(g, ans, x):
        """g * 2 * x"""
        return (g * (x * 2.0),)

    def taylor(x):
        """(x x)_k = sum_j x_j x_{k-j}"""
        return T.square(x)

    def sympy(sp, x):
        return x ** 2

    def ball(x):
        """x x"""
        return x * x

    scalar = "{0} * {0}"
