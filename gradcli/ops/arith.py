"""Arithmetic ops: + - * / negation, integer powers and general powers."""
from __future__ import annotations

import math

import numpy as np

from .. import functions as F
from ..taylor import series as T
from ..registry import Templates, op


def _powi_template(n):
    """x ** n on floats as numpy's power computes it: x ** 1 is x and x ** 2 is x * x (as
    numpy takes those two exponents), x ** -n is 1 / x ** n (as the forward rule)"""
    if n == 1:
        return "{0}"
    if n == 2:
        return "{0} * {0}"
    if n == -2:  # 1.0 / np.power(x, 2) is 1 / (x * x); Python's x ** 2 is pow, not always
        return "1.0 / ({0} * {0})"
    return f"{{0}} ** {n!r}" if n >= 0 else f"1.0 / {{0}} ** {-n!r}"


def _float_pow(x, y):
    """x ** y on floats as numpy's power at one point, which takes x ** 0.5 as sqrt(x)
    (-0.0 ** 0.5 is -0.0, and -inf ** 0.5 is nan where C's pow gives inf)"""
    return math.sqrt(x) if y == 0.5 else math.pow(x, y)


@op("add", 2, cost=0.3)
class Add:
    """x + y"""

    scalar = "{0} + {1}"

    def forward(x, y):
        return np.add(x, y)

    def grad(g, ans, x, y):
        """(g, g)"""
        return g, g

    def taylor(x, y):
        """(x + y)_k = x_k + y_k"""
        return T.add(x, y)

    def sympy(sp, x, y):
        return x + y

    def ball(x, y):
        """(x + y)_k = x_k + y_k"""
        return x + y


@op("sub", 2, cost=0.3)
class Sub:
    """x - y"""

    scalar = "{0} - {1}"

    def forward(x, y):
        return np.subtract(x, y)

    def grad(g, ans, x, y):
        """(g, -g)"""
        return g, -g

    def taylor(x, y):
        """(x - y)_k = x_k - y_k"""
        return T.add(x, y, -1.0)

    def sympy(sp, x, y):
        return x - y

    def ball(x, y):
        """(x - y)_k = x_k - y_k"""
        return x - y


@op("mul", 2, cost=0.3)
class Mul:
    """x * y"""

    scalar = "{0} * {1}"

    def forward(x, y):
        return np.multiply(x, y)

    def grad(g, ans, x, y):
        """(g * y, g * x)"""
        return g * y, g * x

    def taylor(x, y):
        """(x y)_k = sum_j x_j y_{k-j}"""
        return T.mul(x, y)

    def sympy(sp, x, y):
        return x * y

    def ball(x, y):
        """Cauchy product"""
        return x * y


@op("div", 2, cost=0.4)
class Div:
    """x / y"""

    scalar = "{0} / {1}"

    def forward(x, y):
        return np.divide(x, y)

    def grad(g, ans, x, y):
        """(g / y, -(g / y) * ans)"""
        q = g / y
        return q, -q * ans

    def taylor(x, y):
        """q_k = (x_k - sum_{j>=1} y_j q_{k-j}) / y_0"""
        return T.div(x, y)

    def sympy(sp, x, y):
        return x / y

    def ball(x, y):
        """x / y (y_0 exactly 0: a pole)"""
        from ..taylor import ball as B

        return B.divide(x, y)


@op("neg", 1, cost=0.2)
class Neg:
    """-x"""

    scalar = "-{0}"

    def forward(x):
        return np.negative(x)

    def grad(g, ans, x):
        """-g"""
        return (-g,)

    def taylor(x):
        """(-x)_k = -x_k"""
        return -x

    def sympy(sp, x):
        return -x

    def ball(x):
        """-x"""
        return -x


@op("powi", 1, attrs=("n",), cost=2.7)
class PowInt:
    """x ** n for a constant integer n: exact at every order, x = 0 included."""

    scalar = Templates(_powi_template)

    def forward(x, n):
        if n >= 0:
            return np.power(x, n)
        return 1.0 / np.power(x, -n)

    def grad(g, ans, x, n):
        """g * n * x ** (n - 1)   (0 for n = 0; no logarithm anywhere)"""
        if n == 0:
            return (g * 0.0,)
        if n == 1:
            return (g,)
        if n == 2:  # x ** 1 is x: the same bits, one op fewer on the hot path
            return (g * 2.0 * x,)
        return (g * float(n) * F.power(x, n - 1),)

    def taylor(x, n):
        """x ** n by repeated Cauchy squaring; 1 / x ** -n for n < 0"""
        return T.integer_power(x, n)

    def sympy(sp, x, n):
        return x ** sp.Integer(n)

    def ball(x, n):
        """x ** n exactly; a negative n at x_0 = 0 is a pole"""
        from ..taylor import ball as B

        return B.integer_power(x, n)


@op("pow", 2, language="pow", cost=2.3)
class Pow:
    """x ** y in general (0 ** 0 = 1; a negative base with a non-integer y is nan).

    domain: x > 0; x = 0 with y > 0; any x for an integer y
    derivative: d/dx = y*x**(y-1); d/dy = x**y*log(x)
    """

    scalar = _float_pow

    def forward(x, y):
        return np.power(x, y)

    def grad(g, ans, x, y):
        """(g * y * x ** (y - 1), g * ans * log(x)), with 0 where y = 0 or x = 0 != y
        respectively; at 0 ** 0, d/dy = log(0) = -inf (SPEC 4: the value by continuity)"""
        # x ** 0 is constant: the exponent 0 - 1 + 1 keeps 0 * x ** -1 from being nan at x = 0
        # (y - 1 + 0 = y - 1 elsewhere); d/dy 0 ** y = 0 for y != 0: log(0) never reaches the
        # product (x + 0 = x and * 1 elsewhere, bit for bit); at 0 ** 0 it does: 1 * -inf, the
        # one-sided derivative (0 ** y - 1) / y of y -> 0+ (y ** y: (log y + 1) y ** y -> -inf)
        y_zero = F.apply("mask_zero", y)
        gx = g * y * F.pow(x, (y - 1.0) + y_zero)
        x_zero = F.apply("mask_zero", x) * (1.0 - y_zero)
        gy = g * ans * F.log(x + x_zero) * (1.0 - x_zero)
        return gx, gy

    def taylor(x, y):
        """x ** a by x D(p) = a p D(x) for a constant a; else exp(y log x)"""
        return T.general_power(x, y)

    def sympy(sp, x, y):
        return sp.Pow(x, y)

    def ball(x, y):
        """x ** y: integer y exactly, x ** a for x > 0, exp(y log x) when y varies"""
        from ..taylor import ball as B

        return B.power(x, y)
