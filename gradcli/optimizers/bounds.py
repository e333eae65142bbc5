"""Box bounds lo <= p <= hi: the ``x=LO:HI,y=LO:`` syntax, checks, projection, the active set.

    Bounds.parse("x=-1:1,y=0:", ["x", "y", "z"])   x in [-1, 1], y >= 0, z free
    b.check_start(p)      ValueError when a coordinate of p lies outside the box
    b.project(p)          min(max(p, lo), hi) per coordinate (an array, or a list of floats)
    b.projected_norm(p, g)  the norm of g without the components pushing out of the box
    b.active(p)           {"x": "lower" | "upper"} for the coordinates on a bound

An empty side is no bound (-inf or inf); ``inf``/``-inf`` may be written. lo > hi, a nan,
a variable named twice or one the expression does not have is a ValueError naming it.
"""
from __future__ import annotations

import math

import numpy as np


class Bounds:
    """Lower and upper bounds per variable, in the order of ``variables``."""

    def __init__(self, variables, lower, upper):
        self.variables = list(variables)
        self.lower = np.array(lower, dtype=np.float64)
        self.upper = np.array(upper, dtype=np.float64)
        for name, lo, hi in zip(self.variables, self.lower, self.upper):
            if math.isnan(lo) or math.isnan(hi):
                raise ValueError(f"bounds of {name}: nan is not a bound")
            if lo > hi:
                raise ValueError(f"bounds {name}={_text(lo)}:{_text(hi)}: the lower bound "
                                 f"{_text(lo)} is above the upper bound {_text(hi)}")
        self._lo, self._hi = self.lower.tolist(), self.upper.tolist()

    @classmethod
    def parse(cls, text: str, variables) -> Bounds:
        """``x=LO:HI,y=LO:`` for these variables (those not named are free)."""
        variables = list(variables)
        lower = dict.fromkeys(variables, -math.inf)
        upper = dict.fromkeys(variables, math.inf)
        seen = set()
        for part in text.split(","):
            part = part.strip()
            name, eq, box = part.partition("=")
            name = name.strip()
            lo_text, colon, hi_text = box.partition(":")
            if not eq or not colon or not name:
                raise ValueError(f"bounds {part!r}: write NAME=LO:HI (either side may be "
                                 f"empty), as x=0:1 or y=0:")
            if name not in lower:
                raise ValueError(f"bounds {part!r}: the expression has no variable {name!r} "
                                 f"(its variables: {', '.join(variables)})")
            if name in seen:
                raise ValueError(f"bounds: {name!r} is bounded twice")
            seen.add(name)
            lower[name] = _number(lo_text, -math.inf, part)
            upper[name] = _number(hi_text, math.inf, part)
        return cls(variables, list(lower.values()), list(upper.values()))

    @classmethod
    def of(cls, bounds, variables) -> Bounds:
        """From the command line's text (``parse``) or a mapping variable -> (lo, hi), None
        for no bound; the variables not named are free."""
        variables = list(variables)
        if isinstance(bounds, str):
            return cls.parse(bounds, variables)
        lower, upper = [-math.inf] * len(variables), [math.inf] * len(variables)
        for name, pair in bounds.items():
            if name not in variables:
                raise ValueError(f"the expression has no variable {name!r} "
                                 f"(its variables: {', '.join(variables)})")
            lo, hi = pair
            i = variables.index(name)
            lower[i] = -math.inf if lo is None else float(lo)
            upper[i] = math.inf if hi is None else float(hi)
        return cls(variables, lower, upper)

    def check_start(self, point) -> None:
        """ValueError naming the first coordinate of the start outside the box."""
        for name, x, lo, hi in zip(self.variables, point, self._lo, self._hi):
            if not lo <= x <= hi:
                raise ValueError(f"the start {name}={_text(x)} is outside its bounds "
                                 f"{name}={_text(lo)}:{_text(hi)}")

    def project(self, p):
        """p moved onto the box (nan stays nan: divergence is still seen)."""
        if isinstance(p, list):
            return [x if x != x else min(max(x, lo), hi)
                    for x, lo, hi in zip(p, self._lo, self._hi)]
        return np.clip(p, self.lower.astype(p.dtype), self.upper.astype(p.dtype))

    def projected_norm(self, point, g) -> float:
        """||g|| without the components that push against an active bound (x_i at lo_i with
        g_i > 0, or at hi_i with g_i < 0): 0 at a minimum on the box (the KKT conditions)."""
        point = point.tolist() if hasattr(point, "tolist") else point
        g = g.tolist() if hasattr(g, "tolist") else g
        total = 0.0
        for x, d, lo, hi in zip(point, g, self._lo, self._hi):
            if not (x <= lo and d > 0 or x >= hi and d < 0):
                total += d * d
        return math.sqrt(total)

    def active(self, point) -> dict:
        """{variable: "lower" or "upper"} for the coordinates on one of their bounds."""
        out = {}
        for name, x, lo, hi in zip(self.variables, point, self._lo, self._hi):
            x = float(x)
            if x == lo and math.isfinite(lo):
                out[name] = "lower"
            elif x == hi and math.isfinite(hi):
                out[name] = "upper"
        return out

    def __str__(self) -> str:
        return ",".join(f"{n}={_text(lo) if lo > -math.inf else ''}:"
                        f"{_text(hi) if hi < math.inf else ''}"
                        for n, lo, hi in zip(self.variables, self._lo, self._hi)
                        if lo > -math.inf or hi < math.inf)


def _number(text: str, empty: float, part: str) -> float:
    text = text.strip()
    if not text:
        return empty
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"bounds {part!r}: {text!r} is not a number") from None
    if value != value:
        raise ValueError(f"bounds {part!r}: nan is not a bound")
    return value


def _text(x: float) -> str:
    return repr(float(x)) if math.isfinite(x) else ("inf" if x > 0 else "-inf")
