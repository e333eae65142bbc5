"""Elementary functions: exponentials, logarithms, roots, trigonometric and
hyperbolic functions and their inverses, sigmoid and softplus."""
from __future__ import annotations

import math

import numpy as np

from .. import functions as F
from .registry import op

LN2, LN10 = math.log(2.0), math.log(10.0)


@op("exp", 1, language="exp")
class Exp:
    """exp(x)"""

    def forward(x):
        return np.exp(x)

    def grad(g, ans, x):
        """g * exp(x)"""
        return (g * ans,)

    def sympy(sp, x):
        return sp.exp(x)


@op("expm1", 1, language="expm1")
class Expm1:
    """exp(x) - 1, accurate near 0"""

    def forward(x):
        return np.expm1(x)

    def grad(g, ans, x):
        """g * exp(x)"""
        return (g * F.exp(x),)

    def sympy(sp, x):
        return sp.exp(x) - 1


@op("log", 1, language="log")
class Log:
    """natural logarithm; log(x, base) is log(x)/log(base)"""

    def forward(x):
        return np.log(x)

    def grad(g, ans, x):
        """g / x"""
        return (g / x,)

    def sympy(sp, x):
        return sp.log(x)


@op("log1p", 1, language="log1p")
class Log1p:
    """log(1 + x), accurate near 0"""

    def forward(x):
        return np.log1p(x)

    def grad(g, ans, x):
        """g / (1 + x)"""
        return (g / (x + 1.0),)

    def sympy(sp, x):
        return sp.log(1 + x)


@op("log2", 1, language="log2")
class Log2:
    """base-2 logarithm"""

    def forward(x):
        return np.log2(x)

    def grad(g, ans, x):
        """g / (x * ln 2)"""
        return (g / (x * LN2),)

    def sympy(sp, x):
        return sp.log(x, 2)


@op("log10", 1, language="log10")
class Log10:
    """base-10 logarithm"""

    def forward(x):
        return np.log10(x)

    def grad(g, ans, x):
        """g / (x * ln 10)"""
        return (g / (x * LN10),)

    def sympy(sp, x):
        return sp.log(x, 10)


@op("sqrt", 1, language="sqrt")
class Sqrt:
    """square root (nan below 0; its derivative at 0 is inf)"""

    def forward(x):
        return np.sqrt(x)

    def grad(g, ans, x):
        """g / (2 * sqrt(x))"""
        return (g / (ans * 2.0),)

    def sympy(sp, x):
        return sp.sqrt(x)


@op("cbrt", 1, language="cbrt")
class Cbrt:
    """real cube root (cbrt(-8) = -2; its derivative at 0 is inf)"""

    def forward(x):
        return np.cbrt(x)

    def grad(g, ans, x):
        """g / (3 * cbrt(x) ** 2)"""
        return (g / (ans * ans * 3.0),)

    def sympy(sp, x):
        return sp.sign(x) * sp.Abs(x) ** sp.Rational(1, 3)


@op("sin", 1, language="sin")
class Sin:
    """sine"""

    def forward(x):
        return np.sin(x)

    def grad(g, ans, x):
        """g * cos(x)"""
        return (g * F.cos(x),)

    def sympy(sp, x):
        return sp.sin(x)


@op("cos", 1, language="cos")
class Cos:
    """cosine"""

    def forward(x):
        return np.cos(x)

    def grad(g, ans, x):
        """-g * sin(x)"""
        return (-(g * F.sin(x)),)

    def sympy(sp, x):
        return sp.cos(x)


@op("tan", 1, language="tan")
class Tan:
    """tangent"""

    def forward(x):
        return np.tan(x)

    def grad(g, ans, x):
        """g * (1 + tan(x) ** 2)"""
        return (g * (ans * ans + 1.0),)

    def sympy(sp, x):
        return sp.tan(x)


@op("asin", 1, language="asin")
class Asin:
    """inverse sine, on [-1, 1]"""

    def forward(x):
        return np.arcsin(x)

    def grad(g, ans, x):
        """g / sqrt(1 - x ** 2)"""
        return (g / F.sqrt(1.0 - x * x),)

    def sympy(sp, x):
        return sp.asin(x)


@op("acos", 1, language="acos")
class Acos:
    """inverse cosine, on [-1, 1]"""

    def forward(x):
        return np.arccos(x)

    def grad(g, ans, x):
        """-g / sqrt(1 - x ** 2)"""
        return (-(g / F.sqrt(1.0 - x * x)),)

    def sympy(sp, x):
        return sp.acos(x)


@op("atan", 1, language="atan")
class Atan:
    """inverse tangent"""

    def forward(x):
        return np.arctan(x)

    def grad(g, ans, x):
        """g / (1 + x ** 2)"""
        return (g / (x * x + 1.0),)

    def sympy(sp, x):
        return sp.atan(x)


@op("sinh", 1, language="sinh")
class Sinh:
    """hyperbolic sine"""

    def forward(x):
        return np.sinh(x)

    def grad(g, ans, x):
        """g * cosh(x)"""
        return (g * F.cosh(x),)

    def sympy(sp, x):
        return sp.sinh(x)


@op("cosh", 1, language="cosh")
class Cosh:
    """hyperbolic cosine"""

    def forward(x):
        return np.cosh(x)

    def grad(g, ans, x):
        """g * sinh(x)"""
        return (g * F.sinh(x),)

    def sympy(sp, x):
        return sp.cosh(x)


@op("tanh", 1, language="tanh")
class Tanh:
    """hyperbolic tangent"""

    def forward(x):
        return np.tanh(x)

    def grad(g, ans, x):
        """g * (1 - tanh(x) ** 2)"""
        return (g * (1.0 - ans * ans),)

    def sympy(sp, x):
        return sp.tanh(x)


@op("asinh", 1, language="asinh")
class Asinh:
    """inverse hyperbolic sine"""

    def forward(x):
        return np.arcsinh(x)

    def grad(g, ans, x):
        """g / sqrt(x ** 2 + 1)"""
        return (g / F.sqrt(x * x + 1.0),)

    def sympy(sp, x):
        return sp.asinh(x)


@op("acosh", 1, language="acosh")
class Acosh:
    """inverse hyperbolic cosine, on [1, inf)"""

    def forward(x):
        return np.arccosh(x)

    def grad(g, ans, x):
        """g / sqrt(x ** 2 - 1)"""
        return (g / F.sqrt(x * x - 1.0),)

    def sympy(sp, x):
        return sp.acosh(x)


@op("atanh", 1, language="atanh")
class Atanh:
    """inverse hyperbolic tangent, on (-1, 1)"""

    def forward(x):
        return np.arctanh(x)

    def grad(g, ans, x):
        """g / (1 - x ** 2)"""
        return (g / (1.0 - x * x),)

    def sympy(sp, x):
        return sp.atanh(x)


@op("sigmoid", 1, language="sigmoid")
class Sigmoid:
    """logistic function 1 / (1 + exp(-x)), computed without overflow"""

    def forward(x):
        return np.exp(-np.logaddexp(0.0, -x))

    def grad(g, ans, x):
        """g * sigmoid(x) * (1 - sigmoid(x))"""
        return (g * ans * (1.0 - ans),)

    def sympy(sp, x):
        return 1 / (1 + sp.exp(-x))


@op("softplus", 1, language="softplus")
class Softplus:
    """log(1 + exp(x)), computed without overflow"""

    def forward(x):
        return np.logaddexp(0.0, x)

    def grad(g, ans, x):
        """g * sigmoid(x)"""
        return (g * F.sigmoid(x),)

    def sympy(sp, x):
        return sp.log(1 + sp.exp(x))
