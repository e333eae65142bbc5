"""The quasi-Newton iteration's vector operations, as a namespace: numpy arrays or float lists.

``ARRAYS`` and ``LISTS`` have the same functions (``dot``, ``axpy`` = x + t*d, ``scale``,
``sub``, ``max_abs``, ``sum_abs``, ``norm``, ``active``, ``mask``, ``clip``, ``vector``); the
iteration (lbfgs.py) and the line search (wolfe.py) call them through ``vx``, as the rules call
``xp`` (rules.py). For a few variables the lists avoid numpy's per-call cost, which is most of
an L-BFGS iteration's time on 2-vectors; sums run in order, as numpy's do below 8 entries.
"""
from __future__ import annotations

import math

import numpy as np


class ARRAYS:
    """The vector operations of the iteration and the line search on numpy arrays."""

    @staticmethod
    def vector(g, sign, dtype, p):
        g = np.array(g, dtype=dtype).reshape(p.shape)
        return g if sign > 0 else -g

    @staticmethod
    def dot(a, b) -> float:
        return float(a.dot(b))

    @staticmethod
    def axpy(x, t, d):
        """x + t*d"""
        return x + t * d

    @staticmethod
    def scale(v, c):
        return v * c

    @staticmethod
    def sub(a, b):
        return a - b

    @staticmethod
    def max_abs(v) -> float:
        return float(np.max(np.abs(v), initial=0.0))

    @staticmethod
    def sum_abs(v) -> float:
        return float(np.sum(np.abs(v)))

    @staticmethod
    def norm(v) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.sqrt(np.sum(np.square(v))))

    @staticmethod
    def active(p, g, lo, hi):
        """Held at a bound: at lo with g > 0 or at hi with g < 0."""
        return (p <= lo) & (g > 0) | (p >= hi) & (g < 0)

    @staticmethod
    def mask(active, v):
        """v with the active components 0."""
        return np.where(active, 0.0, v)

    @staticmethod
    def clip(v, lo, hi):
        return np.clip(v, lo, hi)


class LISTS:
    """The same operations on lists of Python floats, summed in order (numpy's order below
    8 entries): for a few variables, without numpy's per-call cost."""

    @staticmethod
    def vector(g, sign, dtype, p):
        return list(g) if sign > 0 else [-x for x in g]

    @staticmethod
    def dot(a, b) -> float:
        return sum([x * y for x, y in zip(a, b)])

    @staticmethod
    def axpy(x, t, d):
        return [u + t * v for u, v in zip(x, d)]

    @staticmethod
    def scale(v, c):
        return [x * c for x in v]

    @staticmethod
    def sub(a, b):
        return [x - y for x, y in zip(a, b)]

    @staticmethod
    def max_abs(v) -> float:
        return max([abs(x) for x in v], default=0.0)

    @staticmethod
    def sum_abs(v) -> float:
        return sum([abs(x) for x in v])

    @staticmethod
    def norm(v) -> float:
        try:
            return math.sqrt(sum([x * x for x in v]))
        except OverflowError:
            return math.inf

    @staticmethod
    def active(p, g, lo, hi):
        return [x <= a and d > 0 or x >= b and d < 0 for x, d, a, b in zip(p, g, lo, hi)]

    @staticmethod
    def mask(active, v):
        return [0.0 if a else x for a, x in zip(active, v)]

    @staticmethod
    def clip(v, lo, hi):
        return [x if x != x else min(max(x, a), b) for x, a, b in zip(v, lo, hi)]
