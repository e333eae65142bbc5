"""Certified decimal digits (``--digits D``): ball arithmetic at rising precision until every
printed digit is right, and the decimal strings that print them.

A number printed with D significant digits is certified when the exact value lies within one
unit of its last digit (SPEC 6.1). Numbers given as str are the exact decimals they write;
floats are taken as the decimal of their shortest repr (0.1 is one tenth), and so are the
numbers written in the expression (pi and e are the real constants). Exact zeros print "0";
a ball that still holds 0 at the highest precision tried prints "0" too, and is reported
(``Digits.zeros``) with the bound on its size.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import EvaluationError
from . import ball as B

MAX_DIGITS = 1000


def check_digits(digits) -> int:
    if isinstance(digits, bool) or not isinstance(digits, int | np.integer) \
            or not 1 <= digits <= MAX_DIGITS:
        raise EvaluationError(f"digits must be an integer from 1 to {MAX_DIGITS}, got {digits!r}")
    return int(digits)


def decimal(b, digits: int) -> str | None:
    """b with ``digits`` significant digits when the ball certifies every one of them
    (the exact value within one unit of the last), "0" for an exact 0, "inf"/"-inf" for an
    exact infinity, else None."""
    if b.is_nan() or not b.rad().is_finite():
        return None
    if not b.is_finite():
        return "inf" if b > 0 else "-inf"
    if b.is_zero():
        return "0"
    m, r, e = (int(v) for v in b.mid_rad_10exp(digits + 6))
    if m == 0:
        return None
    negative = m < 0
    m = abs(m)
    s = len(str(m)) - digits
    if s < 0:
        m, r, e, s = m * 10 ** -s, r * 10 ** -s, e + s, 0
    unit = 10 ** s
    q, rem = divmod(m, unit)
    if 2 * rem > unit or (2 * rem == unit and q % 2):
        q += 1
    if r + abs(m - q * unit) > unit:
        return None
    exponent = e + s + digits - 1
    if q == 10 ** digits:          # rounded up to a new leading digit
        q //= 10
        exponent += 1
    return ("-" if negative else "") + _layout(str(q), exponent)


def _layout(ds: str, exponent: int) -> str:
    """Digits ds (the first at 10**exponent) positional for -5 <= exponent < len(ds), else
    d.ddde+XX."""
    if -5 <= exponent < len(ds):
        if exponent >= 0:
            head, tail = ds[: exponent + 1], ds[exponent + 1:]
            return head + ("." + tail if tail else "")
        return "0." + "0" * (-exponent - 1) + ds
    sign = "+" if exponent >= 0 else "-"
    return ds[0] + ("." + ds[1:] if len(ds) > 1 else "") + f"e{sign}{abs(exponent):02d}"


class Digits:
    """Notes from a certified computation: the entries printed as 0 without being exact."""

    def __init__(self):
        self.zeros: list[tuple[int, str]] = []     # (order, bound text)


def _bits(digits: int) -> int:
    return int(digits * math.log2(10)) + 40


def certified(compute, count: int, digits: int, notes: Digits | None = None) -> list[str]:
    """The ``count`` balls of ``compute(prec)`` as decimal strings, raising the precision
    until each is certified (or, holding 0 at the highest precision, "0" with a note)."""
    prec = _bits(digits)
    top = max(16 * prec, 8192)
    out: list[str | None] = [None] * count
    while True:
        try:
            balls = compute(prec)
        except B.Undecided as why:
            balls, why_text = None, str(why)
        else:
            why_text = ""
            for k, b in enumerate(balls):
                if out[k] is None:
                    out[k] = decimal(b, digits)
            if all(o is not None for o in out):
                return out
        if prec >= top:
            break
        prec *= 2
    if balls is None:
        raise B.NotCertified(f"no certified value: {why_text}")
    for k, b in enumerate(balls):
        if out[k] is None:
            if b.contains(0) and b.rad().is_finite() and not b.is_nan():
                if b.rad() > B.arb(2) ** -(prec // 2):   # not an identity's 0: a guess
                    raise B.NotCertified(
                        f"no certified value: a ball still holds 0 and numbers up to "
                        f"{b.rad().str(3, radius=False)} at {prec} bits (an argument too "
                        f"large for that precision, such as sin of 2**20000?)")
                out[k] = "0"
                if notes is not None:
                    notes.zeros.append((k, b.rad().str(3, radius=False)))
            else:
                raise B.NotCertified("no certified value (a pole, a kink or a branch cut at "
                                     "the point, or a value outside the domain)")
    return out


def _points(env: dict):
    """The points of env one by one (name -> float or str), and the broadcast shape."""
    names = sorted(env)
    if all(isinstance(v, str) for v in env.values()):
        return [dict(env)], ()
    arrays = np.broadcast_arrays(*(np.asarray(env[k], dtype=object) for k in names))
    shape = arrays[0].shape if arrays else ()
    flat = [a.reshape(-1) for a in arrays]
    size = int(np.prod(shape)) if shape else 1
    return [{k: _exact(f[i]) for k, f in zip(names, flat)} for i in range(size)], shape


def _exact(v):
    if isinstance(v, str):
        return v.strip()
    return repr(float(v))


def _shaped(per_point: list[list[str]], shape, count: int):
    if shape == ():
        return per_point[0]
    out = []
    for k in range(count):
        a = np.empty(len(per_point), dtype=object)
        a[:] = [p[k] for p in per_point]
        out.append(a.reshape(shape))
    return out


def _named(point: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(point.items()))


def derivatives_to_digits(expression, wrt, order: int, env: dict, digits: int,
                          notes: Digits | None = None, coefficients: bool = False):
    """f^(k) (or with ``coefficients`` f^(k)/k!), k = 0..order, as certified decimal strings:
    one list for one point, else one object array per order."""
    digits = check_digits(digits)
    points, shape = _points(env)
    rows = []
    if notes is not None and not isinstance(notes, Digits):
        notes = None
    for point in points:
        def compute(prec, point=point):
            with B.working(prec, order + 1):
                cs = B.root_series(expression.nodes, wrt, point, order, prec, exact=True)
                return cs if coefficients else B.derivative_balls(cs)
        try:
            rows.append(certified(compute, order + 1, digits, notes))
        except (B.NotCertified, B.OutOfDomain) as why:
            raise EvaluationError(f"at {_named(point)}: {why}") from None
    return _shaped(rows, shape, order + 1)


def value_to_digits(expression, env: dict, digits: int):
    """f at the points of env as certified decimal strings."""
    out = derivatives_to_digits(expression, None, 0, env, digits)
    return out[0]


def gradient_to_digits(expression, env: dict, digits: int, variables, hessian: bool = False):
    """(gradient, hessian or None) at one point as certified decimal strings: along each
    variable, and the mixed entries by polarization along x_i + x_j (exact in balls)."""
    digits = check_digits(digits)
    points, shape = _points(env)
    if shape != ():
        raise EvaluationError("digits with several points at once: give one point at a time")
    point = points[0]
    nodes = expression.nodes

    def along(direction, k):
        def compute(prec):
            with B.working(prec, k + 1):
                cs = B.root_series(nodes, direction, point, k, prec, exact=True)
                return [cs[k] * (2 if k == 2 else 1)]
        return compute

    try:
        gradient = [certified(along({v: 1}, 1), 1, digits)[0] for v in variables]
        if not hessian:
            return gradient, None
        n = len(variables)
        rows = [[None] * n for _ in range(n)]
        for i, vi in enumerate(variables):
            rows[i][i] = certified(along({vi: 1}, 2), 1, digits)[0]
            for j in range(i + 1, n):
                vj = variables[j]

                def mixed(prec, vi=vi, vj=vj):
                    with B.working(prec, 3):
                        both = B.root_series(nodes, {vi: 1, vj: 1}, point, 2, prec, True)[2]
                        one = B.root_series(nodes, {vi: 1}, point, 2, prec, True)[2]
                        two = B.root_series(nodes, {vj: 1}, point, 2, prec, True)[2]
                        return [both - one - two]   # c_2 sums: (f_ii + 2 f_ij + f_jj)/2 - ...
                rows[i][j] = rows[j][i] = certified(mixed, 1, digits)[0]
        return gradient, rows
    except (B.NotCertified, B.OutOfDomain) as why:
        raise EvaluationError(f"at {_named(point)}: {why}") from None
