"""Masks: 0/1 (and 1/2) weights computed from values, with no gradient.

The gradient rules of abs, relu, max, min, hypot and pow pick a branch by the
sign of a value, by which side of a tie wins, or by where a value is 0. Written as these ops, the pick
is an op of its own: a compiled program traces it once and computes it at every
point with numpy (gradcli/compiled/code.py), where a weight read off the values would
have to be built again at every point by running the rule. A mask has no
gradient (its grad rule gives None), so it is constant under every outer tape,
the derivatives it weights stay right at every order, and its Taylor series is
its value with zeros above. None of them is in the expression language.
"""
from __future__ import annotations

import math

import numpy as np

from ..taylor import series as T
from ..registry import op


def _float_dtype(*arrays):
    dtype = np.result_type(*arrays)
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def tie_weight(x, y):
    """1 where x > y, 1/2 where x == y, 0 where x < y, nan where either is nan (so that
    max and min of a nan, whose value is nan, have a nan derivative in every engine)."""
    return np.where(x > y, 1.0, np.where(x == y, 0.5, np.where(x < y, 0.0, np.nan))).astype(
        _float_dtype(x, y))


def float_sign(x):
    """sign on a Python float, as np.sign: -1.0, 1.0, 0.0 (for -0.0 too) or nan"""
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else (0.0 if x == 0.0 else x))


def positive_weight(x):
    """1 where x > 0, 0 where x <= 0, nan where x is nan (relu of a nan: a nan derivative)."""
    return np.where(x > 0, 1.0, np.where(x <= 0, 0.0, np.nan)).astype(_float_dtype(x))


def _float_positive(x):
    return 1.0 if x > 0.0 else (0.0 if x <= 0.0 else math.nan)


def _float_zero(x):
    return 1.0 if x == 0.0 else 0.0


def _float_tie(x, y):
    return 1.0 if x > y else (0.5 if x == y else (0.0 if x < y else math.nan))


def _constant_series(value, *series):
    return T.piecewise(value, *((np.zeros_like(value), s) for s in series))


@op("mask_sign", 1)
class SignMask:
    """sign(x): -1, 0 or 1, as a constant weight"""

    scalar = float_sign

    def forward(x):
        return np.sign(x)

    def grad(g, ans, x):
        """None (a mask is constant)"""
        return (None,)

    def taylor(x):
        """sign(x_0); 0 above"""
        return _constant_series(np.sign(x[0]), x)

    def sympy(sp, x):
        return sp.sign(x)

    def ball(x):
        """the sign the ball x_0 decides; 0 above"""
        from ..taylor import ball as B

        return B.constant(B.sign_of(B.value(x)))


@op("mask_positive", 1)
class PositiveMask:
    """1 where x > 0, 0 where x <= 0, nan where x is nan"""

    scalar = _float_positive

    def forward(x):
        return positive_weight(x)

    def grad(g, ans, x):
        """None (a mask is constant)"""
        return (None,)

    def taylor(x):
        """[x_0 > 0]; 0 above"""
        return _constant_series(positive_weight(x[0]), x)

    def sympy(sp, x):
        return sp.Piecewise((1, x > 0), (0, True))

    def ball(x):
        """[x_0 > 0] as the ball decides; 0 above"""
        from ..taylor import ball as B

        return B.constant(1 if B.sign_of(B.value(x)) > 0 else 0)


@op("mask_zero", 1)
class ZeroMask:
    """1 where x == 0, else 0"""

    scalar = _float_zero

    def forward(x):
        return np.asarray(x == 0, dtype=_float_dtype(x))

    def grad(g, ans, x):
        """None (a mask is constant)"""
        return (None,)

    def taylor(x):
        """[x_0 == 0]; 0 above"""
        return _constant_series(np.asarray(x[0] == 0, dtype=float), x)

    def sympy(sp, x):
        return sp.Piecewise((1, sp.Eq(x, 0)), (0, True))

    def ball(x):
        """[x_0 == 0] as the ball decides; 0 above"""
        from ..taylor import ball as B

        return B.constant(1 if B.sign_of(B.value(x)) == 0 else 0)


@op("mask_tie", 2)
class TieMask:
    """1 where x > y, 1/2 at a tie, 0 where x < y, nan where either is nan"""

    scalar = _float_tie

    def forward(x, y):
        return tie_weight(x, y)

    def grad(g, ans, x, y):
        """(None, None) (a mask is constant)"""
        return None, None

    def taylor(x, y):
        """1, 1/2 or 0 by x_0 against y_0; 0 above"""
        return _constant_series(tie_weight(x[0], y[0]), x, y)

    def sympy(sp, x, y):
        return sp.Piecewise((1, x > y), (sp.Rational(1, 2), sp.Eq(x, y)), (0, True))

    def ball(x, y):
        """1, 1/2 or 0 as the balls decide; 0 above"""
        from flint import arb

        from ..taylor import ball as B

        c = B.compare(B.value(x), B.value(y))
        return B.constant(1 if c > 0 else (arb(1) / 2 if c == 0 else 0))
