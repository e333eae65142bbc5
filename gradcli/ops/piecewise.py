"""Piecewise and two-argument ops: abs, sign, relu, min, max, hypot, atan2.

At points where a function is not differentiable the rule is PyTorch's (SPEC
section 4): the gradient where it exists, else the value by continuity, else
the convex subgradient of smallest norm, else nan. The gradient rules weight by
masks (gradcli/ops/masks.py), ops without a gradient, so their derivatives (zero
almost everywhere) are right at every order.
"""
from __future__ import annotations

import math

import numpy as np

from .. import functions as F
from ..taylor import series as T
from .masks import float_sign, positive_weight, tie_weight
from ..registry import op


# the one-point forms on Python floats, as numpy's maximum and minimum compute them: nan
# if either is nan, and at a tie (0.0 and -0.0) the second argument
def _float_max(x, y):
    return x if x > y or x != x else y


def _float_min(x, y):
    return x if x < y or x != x else y


def _float_relu(x):
    return x if x > 0.0 or x != x else 0.0


@op("abs", 1, language="abs", cost=0.2)
class Abs:
    """|x|

    domain: all x
    derivative: sign(x) (0 at 0)
    """

    scalar = math.fabs

    def forward(x):
        return np.abs(x)

    def grad(g, ans, x):
        """g * sign(x)   (0 at x = 0: the smallest subgradient)"""
        return (g * F.apply("mask_sign", x),)

    def taylor(x):
        """value |x_0|; x_k * sign(x_0) above (0 at x_0 = 0)"""
        return T.piecewise(np.abs(x[0]), (np.sign(x[0]), x))

    def sympy(sp, x):
        return sp.Abs(x)

    def ball(x):
        """x or -x by the sign of the ball x_0; 0 above at x_0 = 0 exactly"""
        from ..taylor import ball as B

        s = B.sign_of(B.value(x))
        return x if s > 0 else (-x if s < 0 else B.constant(0))


@op("sign", 1, language="sign", cost=0.6)
class Sign:
    """-1, 0 or 1

    domain: all x
    derivative: 0 (at 0 too)
    """

    scalar = float_sign

    def forward(x):
        return np.sign(x)

    def grad(g, ans, x):
        """0"""
        return (g * 0.0,)

    def taylor(x):
        """value sign(x_0); 0 above"""
        return T.piecewise(np.sign(x[0]), (np.zeros_like(x[0]), x))

    def sympy(sp, x):
        return sp.sign(x)

    def ball(x):
        """the sign the ball x_0 decides; 0 above"""
        from ..taylor import ball as B

        return B.constant(B.sign_of(B.value(x)))


@op("relu", 1, language="relu", cost=0.5)
class Relu:
    """max(x, 0)

    domain: all x
    derivative: 1 for x > 0, else 0
    """

    scalar = _float_relu

    def forward(x):
        return np.maximum(x, 0.0)

    def grad(g, ans, x):
        """g * (x > 0)   (0 at x = 0)"""
        return (g * F.apply("mask_positive", x),)

    def taylor(x):
        """value max(x_0, 0); x_k * (x_0 > 0) above"""
        return T.piecewise(np.maximum(x[0], 0.0), (positive_weight(x[0]), x))

    def sympy(sp, x):
        return sp.Piecewise((x, x > 0), (0, True))

    def ball(x):
        """x where the ball x_0 > 0, else 0 (x_0 = 0 exactly: 0)"""
        from ..taylor import ball as B

        return x if B.sign_of(B.value(x)) > 0 else B.constant(0)


@op("max", 2, language="max", cost=0.3)
class Max:
    """the larger of x and y

    domain: all x, y
    derivative: d/dx = 1 where x > y, 1/2 at a tie, 0 where x < y; d/dy = 1 - d/dx
    """

    scalar = _float_max

    def forward(x, y):
        return np.maximum(x, y)

    def grad(g, ans, x, y):
        """(g * w, g * (1 - w)) with w = 1 where x > y, 1/2 at a tie, 0 where x < y"""
        w = F.apply("mask_tie", x, y)
        return g * w, g * (1.0 - w)

    def taylor(x, y):
        """value max(x_0, y_0); w x_k + (1 - w) y_k above, w = 1, 1/2 or 0"""
        w = tie_weight(x[0], y[0])
        return T.piecewise(np.maximum(x[0], y[0]), (w, x), (1.0 - w, y))

    def sympy(sp, x, y):
        return sp.Max(x, y)

    def ball(x, y):
        """the branch the balls decide; an exact tie: value x_0, (x_k + y_k) / 2 above"""
        from ..taylor import ball as B

        if x is y:
            return x
        c = B.compare(B.value(x), B.value(y))
        return x if c > 0 else (y if c < 0 else B.with_value((x + y) / 2, B.value(x)))


@op("min", 2, language="min", cost=0.3)
class Min:
    """the smaller of x and y

    domain: all x, y
    derivative: d/dx = 1 where x < y, 1/2 at a tie, 0 where x > y; d/dy = 1 - d/dx
    """

    scalar = _float_min

    def forward(x, y):
        return np.minimum(x, y)

    def grad(g, ans, x, y):
        """(g * w, g * (1 - w)) with w = 1 where x < y, 1/2 at a tie, 0 where x > y"""
        w = F.apply("mask_tie", y, x)
        return g * w, g * (1.0 - w)

    def taylor(x, y):
        """value min(x_0, y_0); w x_k + (1 - w) y_k above, w = 1, 1/2 or 0"""
        w = tie_weight(y[0], x[0])
        return T.piecewise(np.minimum(x[0], y[0]), (w, x), (1.0 - w, y))

    def sympy(sp, x, y):
        return sp.Min(x, y)

    def ball(x, y):
        """the branch the balls decide; an exact tie: value x_0, (x_k + y_k) / 2 above"""
        from ..taylor import ball as B

        if x is y:
            return x
        c = B.compare(B.value(x), B.value(y))
        return x if c < 0 else (y if c > 0 else B.with_value((x + y) / 2, B.value(x)))


@op("hypot", 2, language="hypot", cost=6.0)
class Hypot:
    """sqrt(x ** 2 + y ** 2) without overflow

    domain: all x, y
    derivative: d/dx = x/hypot(x, y); d/dy = y/hypot(x, y) (0 at the origin)
    """

    scalar = math.hypot

    def forward(x, y):
        return np.hypot(x, y)

    def grad(g, ans, x, y):
        """(g * x / hypot, g * y / hypot), 0 at the origin (the smallest subgradient)"""
        q = g / (ans + F.apply("mask_zero", ans))  # ans + 0 = ans away from the origin
        return q * x, q * y

    def taylor(x, y):
        """H_k = (S_k - sum_{j=1..k-1} H_j H_{k-j}) / (2 (H_0 + [H_0 = 0])), S = x ** 2 + y ** 2"""
        h0 = np.hypot(x[0], y[0])
        return T.sqrt(T.add(T.square(x), T.square(y)), value0=h0, floor=(h0 == 0) * 1.0)

    def sympy(sp, x, y):
        return sp.sqrt(x ** 2 + y ** 2)

    def ball(x, y):
        """sqrt(x ** 2 + y ** 2); at the origin exactly the float64 rule's recurrence"""
        from ..taylor import ball as B

        s = x * x + y * y
        if B.sign_of(B.value(s)) == 0:
            return B.exact_sum_root(s)
        return B.with_value(s.sqrt(), B.value(s).sqrt())


@op("atan2", 2, language="atan2", cost=2.3)
class Atan2:
    """the angle of the point (x, y): atan2(y, x)

    domain: (x, y) != (0, 0)
    derivative: d/dy = x/(x**2+y**2); d/dx = -y/(x**2+y**2)
    """

    scalar = math.atan2

    def forward(y, x):
        return np.arctan2(y, x)

    def grad(g, ans, y, x):
        """(g * x / (x ** 2 + y ** 2), -g * y / (x ** 2 + y ** 2))"""
        q = g / (x * x + y * y)
        return q * x, -(q * y)

    def taylor(y, x):
        """atan2(y_0, x_0) + integral of (x D(y) - y D(x)) / (x ** 2 + y ** 2)"""
        return T.angle(y, x)

    def sympy(sp, y, x):
        return sp.atan2(y, x)

    def ball(y, x):
        """atan2(y_0, x_0) + integral of (x D(y) - y D(x)) / (x ** 2 + y ** 2)"""
        from flint import arb

        from ..taylor import ball as B

        if B.sign_of(B.value(x * x + y * y)) == 0:
            raise B.OutOfDomain("atan2 at the origin")
        d = (x * y.derivative() - y * x.derivative()) / (x * x + y * y)
        return B.with_value(d.integral(), arb.atan2(B.value(y), B.value(x)))
