"""Trigonometric and hyperbolic functions and their inverses: sin cos tan asin acos atan,
sinh cosh tanh asinh acosh atanh."""
from __future__ import annotations

import math

import numpy as np

from .. import functions as F
from ..registry import op
from ..taylor import series as T


def _one_minus_square(x):
    """The series of 1 - x**2."""
    return T.add(T.const(1.0, x), T.square(x), -1.0)


def _square_plus(x, c: float):
    """The series of x**2 + c (c = 1 or -1)."""
    return T.add(T.square(x), T.const(1.0, x), c)


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
