"""Rounding and piecewise-constant functions, and the two that cut and wrap:
floor, ceil, round, heaviside, mod, clip.

SPEC 6.2: floor, ceil, round, sign and heaviside have derivative 0 everywhere, their
jumps included (PyTorch's convention); mod(x, y) is Python's % (the result has the sign
of y) with d/dx = 1 and d/dy = -floor(x/y) (torch.remainder's rule, at the jumps too);
clip(x, lo, hi) = min(max(x, lo), hi) passes the gradient to x inside, to the bound it
sits on outside, and 1/2 to each side of a tie at an edge (max/min's rule, SPEC 4).
``round`` rounds half to even, as numpy, Python and PyTorch do.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .. import functions as F
from ..registry import op
from ..taylor import series as T
from .masks import tie_weight


def _constant(value, x):
    """A series valued ``value`` with zeros above (a function whose derivative is 0)."""
    return T.piecewise(value, (np.zeros_like(x[0]), x))


@functools.cache
def _sympy_functions():
    """floor, ceiling, round and heaviside as SymPy functions whose derivative is 0
    (SymPy's own leave Derivative(floor(x), x) unevaluated, or give DiracDelta)."""
    import sympy as sp

    def zero_derivative(self, argindex=1):
        return sp.S.Zero

    class floor(sp.floor):
        fdiff = zero_derivative

    class ceiling(sp.ceiling):
        fdiff = zero_derivative

    class heaviside(sp.Function):
        """0 below 0, 1/2 at 0, 1 above."""
        fdiff = zero_derivative

        @classmethod
        def eval(cls, a):
            if a.is_Number:
                return sp.S.One if a > 0 else (sp.S.Zero if a < 0 else sp.S.Half)
            return None

    class round(sp.Function):
        """Round half to even."""
        fdiff = zero_derivative

        @classmethod
        def eval(cls, a):
            if a.is_Number:
                lower = sp.floor(a)
                frac = a - lower
                if frac > sp.S.Half:
                    return lower + 1
                if frac < sp.S.Half:
                    return lower
                return lower if lower % 2 == 0 else lower + 1
            return None

    heaviside._imp_ = staticmethod(lambda a: 1.0 if a > 0 else (0.0 if a < 0 else 0.5))  # lambdify
    round._imp_ = staticmethod(lambda a: _float_round(float(a)))   # what sp.lambdify calls
    return {"floor": floor, "ceiling": ceiling, "heaviside": heaviside, "round": round}


def _decided(integer_of, u):
    """integer_of(u_0) for the ball u_0, when the ball decides it (else Undecided)."""
    from ..taylor import ball as B

    n = integer_of(B.value(u))
    if not n.is_exact():
        raise B.Undecided("the ball meets a jump of a rounding function")
    return n


def _round_half_even(b):
    """The nearest integer to the ball b (an exact half: the even one); a ball that is not
    exact when b does not decide it."""
    lower = b.floor()
    if not lower.is_exact():
        return lower
    frac = b - lower
    if frac < 0.5:
        return lower
    if frac > 0.5:
        return lower + 1
    if frac.is_exact():  # exactly a half
        return lower if int(lower.unique_fmpz()) % 2 == 0 else lower + 1
    return frac


def _ball_constant(value):
    from ..taylor import ball as B

    return B.constant(value)


def _float_floor(x: float) -> float:
    return math.copysign(float(math.floor(x)), x)   # the sign of a zero, as numpy


def _float_ceil(x: float) -> float:
    return math.copysign(float(math.ceil(x)), x)


def _float_round(x: float) -> float:
    return math.copysign(float(round(x)), x)


def _float_heaviside(x: float) -> float:
    return 1.0 if x > 0.0 else (0.0 if x < 0.0 else (0.5 if x == 0.0 else math.nan))


@op("floor", 1, language="floor", cost=0.3)
class Floor:
    """the largest integer <= x

    domain: all x
    derivative: 0 (at the jumps too)
    """

    def forward(x):
        return np.floor(x)

    def grad(g, ans, x):
        """0   (at the jumps too)"""
        return (g * 0.0,)

    def taylor(x):
        """value floor(x_0); 0 above"""
        return _constant(np.floor(x[0]), x)

    def sympy(sp, x):
        return _sympy_functions()["floor"](x)

    def ball(x):
        """the floor the ball x_0 decides; 0 above"""
        return _ball_constant(_decided(lambda b: b.floor(), x))

    scalar = staticmethod(_float_floor)


@op("ceil", 1, language="ceil", cost=0.3)
class Ceil:
    """the smallest integer >= x

    domain: all x
    derivative: 0 (at the jumps too)
    """

    def forward(x):
        return np.ceil(x)

    def grad(g, ans, x):
        """0   (at the jumps too)"""
        return (g * 0.0,)

    def taylor(x):
        """value ceil(x_0); 0 above"""
        return _constant(np.ceil(x[0]), x)

    def sympy(sp, x):
        return _sympy_functions()["ceiling"](x)

    def ball(x):
        """the ceiling the ball x_0 decides; 0 above"""
        return _ball_constant(_decided(lambda b: -((-b).floor()), x))

    scalar = staticmethod(_float_ceil)


@op("round", 1, language="round", cost=0.4)
class Round:
    """the nearest integer, half to even (round(2.5) = 2)

    domain: all x
    derivative: 0 (at the jumps too)
    """

    def forward(x):
        return np.round(x)

    def grad(g, ans, x):
        """0   (at the jumps too)"""
        return (g * 0.0,)

    def taylor(x):
        """value round(x_0); 0 above"""
        return _constant(np.round(x[0]), x)

    def sympy(sp, x):
        return _sympy_functions()["round"](x)

    def ball(x):
        """the nearest integer the ball x_0 decides (an exact half: to even); 0 above"""
        return _ball_constant(_decided(_round_half_even, x))

    scalar = staticmethod(_float_round)


@op("heaviside", 1, language="heaviside", cost=2.0)
class Heaviside:
    """step function: 0 for x < 0, 1/2 at 0, 1 for x > 0

    domain: all x
    derivative: 0 (at the jump too)
    """

    def forward(x):
        return np.heaviside(x, 0.5)

    def grad(g, ans, x):
        """0   (at the jump too)"""
        return (g * 0.0,)

    def taylor(x):
        """value heaviside(x_0); 0 above"""
        return _constant(np.heaviside(x[0], 0.5), x)

    def sympy(sp, x):
        return _sympy_functions()["heaviside"](x)

    def ball(x):
        """0, 1/2 or 1 by the sign the ball x_0 decides; 0 above"""
        from ..taylor import ball as B

        return _ball_constant((B.sign_of(B.value(x)) + 1) / 2)

    scalar = staticmethod(_float_heaviside)


@op("mod", 2, language="mod", cost=16.0)
class Mod:
    """x mod y as Python's %: x - y * floor(x/y), with the sign of y (nan for y = 0)

    domain: y != 0
    derivative: d/dx = 1; d/dy = -floor(x/y) (at the jumps too)
    """

    def forward(x, y):
        return np.mod(x, y)

    def grad(g, ans, x, y):
        """(g, -g * q), q = floor(x/y) the value's own quotient: round((x - ans) / y)
        (floor of the rounded x / y is one more at 36,000 of 300,000 points near multiples:
        mod(1, 0.1) is 1 - 9*0.1, and 1/0.1 rounds to 10)"""
        return g, -(g * F.apply("round", (x - ans) / y))

    def taylor(x, y):
        """value mod(x_0, y_0); x_k - q y_k above, q = floor_divide(x_0, y_0) (Python's //)"""
        with np.errstate(all="ignore"):
            q = np.floor_divide(x[0], y[0])
            return T.piecewise(np.mod(x[0], y[0]), (np.ones_like(q), x), (-q, y))

    def sympy(sp, x, y):
        return x - y * _sympy_functions()["floor"](x / y)

    def ball(x, y):
        """x - q y with q = floor(x_0 / y_0) decided by the balls (y_0 = 0: out of the domain)"""
        from ..taylor import ball as B

        if B.sign_of(B.value(y)) == 0:
            raise B.OutOfDomain("mod(x, 0)")
        q = _decided(lambda b: b.floor(), B.divide(x, y))
        return x - y * q

    scalar = "({0}) % ({1})"


@op("clip", 3, language="clip", cost=0.9)
class Clip:
    """x held within [lo, hi]: min(max(x, lo), hi)

    domain: all x, lo, hi
    derivative: d/dx = 1 for lo < x < hi, 0 outside; d/dlo = 1 below lo; d/dhi = 1 above hi; a tie at an edge gives 1/2 to each side (x = lo = hi: 1/4, 1/4, 1/2, as min(max(x, lo), hi))
    """

    def forward(x, lo, hi):
        return np.minimum(np.maximum(x, lo), hi)

    def grad(g, ans, x, lo, hi):
        """(g w v, g (1 - w) v, g (1 - v)), w = [x > lo], v = [hi > max(x, lo)], 1/2 at ties"""
        w = F.apply("mask_tie", x, lo)
        v = F.apply("mask_tie", hi, F.maximum(x, lo))
        return g * (w * v), g * ((1.0 - w) * v), g * (1.0 - v)

    def taylor(x, lo, hi):
        """value clip(x_0); w v x_k + (1 - w) v lo_k + (1 - v) hi_k above"""
        w = tie_weight(x[0], lo[0])
        v = tie_weight(hi[0], np.maximum(x[0], lo[0]))
        value = np.minimum(np.maximum(x[0], lo[0]), hi[0])
        return T.piecewise(value, (w * v, x), ((1.0 - w) * v, lo), (1.0 - v, hi))

    def sympy(sp, x, lo, hi):
        return sp.Min(sp.Max(x, lo), hi)

    def ball(x, lo, hi):
        """min(max(x, lo), hi) by max's and min's ball rules (an exact tie: 1/2 each side)"""
        from ..registry import OPS

        return OPS["min"].ball(OPS["max"].ball(x, lo), hi)

    scalar = "_min(_max({0}, {1}), {2})"
