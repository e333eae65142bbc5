"""Array-shape ops used by the tensor library: reductions and broadcasting.

They are not part of the expression language; each is the other's gradient.
"""
from __future__ import annotations

import numpy as np

from .. import functions as F
from ..taylor import series as T
from ..registry import op


def _sum_to(x, shape):
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1)
    out = np.sum(x, axis=axes, keepdims=True) if axes else x
    return out.reshape(shape)


@op("sum_to", 1, attrs=("shape",))
class SumTo:
    """sum a broadcast array back down to ``shape``"""

    def forward(x, shape):
        return _sum_to(x, shape)

    def grad(g, ans, x, shape):
        """broadcast_to(g, x.shape)"""
        return (F.broadcast_to(g, x.shape),)

    def taylor(x, shape):
        """linear: _sum_to(x_k, shape) for every coefficient k"""
        return T.linear(SumTo.forward, x, shape=shape)

    def ball(x, shape):
        """x itself: ball series are one point (expression graphs hold no arrays)"""
        return x


@op("broadcast_to", 1, attrs=("shape",))
class BroadcastTo:
    """broadcast x to ``shape``"""

    def forward(x, shape):
        return np.broadcast_to(x, shape).copy()

    def grad(g, ans, x, shape):
        """sum_to(g, x.shape)"""
        return (F.apply("sum_to", g, shape=x.shape),)

    def taylor(x, shape):
        """linear: broadcast_to(x_k, shape) for every coefficient k"""
        return T.linear(BroadcastTo.forward, x, shape=shape)

    def ball(x, shape):
        """x itself: ball series are one point (expression graphs hold no arrays)"""
        return x


@op("reshape", 1, attrs=("shape",))
class Reshape:
    """x with a new shape"""

    def forward(x, shape):
        return np.reshape(x, shape)

    def grad(g, ans, x, shape):
        """reshape(g, x.shape)"""
        return (F.reshape(g, x.shape),)

    def taylor(x, shape):
        """linear: reshape(x_k, shape) for every coefficient k"""
        return T.linear(Reshape.forward, x, shape=shape)

    def ball(x, shape):
        """x itself: ball series are one point (expression graphs hold no arrays)"""
        return x


@op("reduce_sum", 1, attrs=("axis", "keepdims"))
class ReduceSum:
    """sum over axes"""

    def forward(x, axis, keepdims):
        return np.sum(x, axis=axis, keepdims=keepdims)

    def grad(g, ans, x, axis, keepdims):
        """broadcast_to(g with the summed axes kept, x.shape)"""
        if not keepdims:
            axes = range(x.ndim) if axis is None else [a % x.ndim for a in axis]
            kept = list(x.shape)
            for a in axes:
                kept[a] = 1
            g = F.reshape(g, kept)
        return (F.broadcast_to(g, x.shape),)

    def taylor(x, axis, keepdims):
        """linear: sum of x_k over axes for every coefficient k"""
        return T.linear(ReduceSum.forward, x, axis=axis, keepdims=keepdims)

    def ball(x, axis, keepdims):
        """x itself: ball series are one point (expression graphs hold no arrays)"""
        return x
