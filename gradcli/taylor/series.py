r"""Truncated Taylor series arithmetic: the recurrences the ops' ``taylor`` rules call.

Axis 0 of a series is the order k, the other axes are points; the coefficient
convention and the engine that pushes series through a graph are in engine.py.

Recurrences (each op's ``taylor`` rule in gradcli/ops/*.py, about N**2 work):
with D(u)_k = (k+1) u_{k+1} the series of du/dt,

    product     (uv)_k = sum_j u_j v_{k-j}                       (Cauchy product)
    quotient    q_k = (u_k - sum_{j>=1} v_j q_{k-j}) / v_0
    exp         p = exp(u):  D(p) = p D(u),  p_k = (1/k) sum_j D(u)_{j-1} p_{k-j}
                (run for exp(u - u_0), then times exp(u_0): an overflow stays put)
    power       p = u**a:    u D(p) = a p D(u),
                p_k = (1/(k u_0)) sum_{j=1..k} (a j - (k-j)) u_j p_{k-j}
    sqrt        q_k = (u_k - sum_{j=1..k-1} q_j q_{k-j}) / (2 q_0)
    sin, cos    computed together: D(s) = c D(u), D(c) = -s D(u)  (sinh, cosh alike)
    f(u) with f' known as a series (log, atan, asin, tan, sigmoid, ...):
                p_0 = f(u_0),  p_k = (f'(u) D(u))_{k-1} / k          (integration)

Non-differentiable points follow SPEC 4 exactly as the tape does: masks taken
from the values (|x|'(0) = 0, max at a tie 1/2 each side) multiply the higher
coefficients, and a power of an argument whose value is 0 uses the
leading term c t**v of the argument: coefficients 0 below order a*v, then
+-inf (the one-sided limit) above it.
"""
from __future__ import annotations


import numpy as np

TINY = 2.0 ** -900
UP_MAX = 10        # log2 r up to 10 for coefficients that underflowed
DOWN_MIN = -10     # and down to -10 for coefficients that overflowed
MAX_PASSES = 12    # further passes at most (each halves the open intervals of log2 r)


# -- series arithmetic (axis 0 is the order; the other axes are points) --------------
def order(*series) -> int:
    """The highest order N among the series (0 for values alone)."""
    return max(s.shape[0] for s in series) - 1


def full(s: np.ndarray, n: int) -> np.ndarray:
    """s padded with zeros to orders 0..n."""
    if s.shape[0] == n + 1:
        return s
    out = np.zeros((n + 1,) + s.shape[1:], dtype=np.float64)
    out[: s.shape[0]] = s[: n + 1]
    return out


def const(value, like: np.ndarray) -> np.ndarray:
    """The series of a constant, shaped like ``like``'s value row."""
    return np.asarray(value, dtype=np.float64)[None] + np.zeros_like(like[:1])


def deriv(u: np.ndarray) -> np.ndarray:
    """D(u): the series of du/dt, one order shorter."""
    if u.shape[0] <= 2:
        return u[1:]
    k = np.arange(1, u.shape[0], dtype=np.float64).reshape((-1,) + (1,) * (u.ndim - 1))
    return u[1:] * k


def integral(value0, du: np.ndarray) -> np.ndarray:
    """The series p with p_0 = value0 and D(p) = du."""
    n = du.shape[0]
    k = np.arange(1, n + 1, dtype=np.float64).reshape((-1,) + (1,) * (du.ndim - 1))
    value0 = np.asarray(value0, dtype=np.float64)
    shape = np.broadcast_shapes(value0.shape, du.shape[1:])
    out = np.empty((n + 1,) + shape)
    out[0] = value0
    if n > 1:
        np.divide(du, k, out=out[1:])
    else:
        out[1:] = du
    return out


def _dot(a: np.ndarray, b: np.ndarray):
    """sum_j a_j b_j over axis 0."""
    if a.shape[0] == 1:
        return a[0] * b[0]
    if a.ndim == 2 and a.shape[1] == 1 and b.shape[1] == 1:    # one point: a plain dot
        return np.dot(a[:, 0], b[:, 0])[None]
    if a[0].size < 256 or a.shape[0] > 8:    # few points or many terms: one call
        return np.einsum("i...,i...->...", a, b)
    total = a[0] * b[0]           # many points: row by row, contiguous and vectorized
    term = np.empty_like(total)
    for j in range(1, a.shape[0]):
        np.multiply(a[j], b[j], out=term)
        total += term
    return total


def _dot_into(out: np.ndarray, a: np.ndarray, b: np.ndarray, divisor=None) -> np.ndarray:
    """out = sum_j a_j b_j over axis 0 (divided by ``divisor``), written in place."""
    if a.ndim == 2 and a.shape[1] == 1 and b.shape[1] == 1:      # one point: a plain dot
        total = np.dot(a[:, 0], b[:, 0])
        out[...] = total if divisor is None else total / divisor
        return out
    if a.shape[0] == 1 or (a[0].size >= 256 and a.shape[0] <= 8):   # row by row: no temporaries
        np.multiply(a[0], b[0], out=out)
        if a.shape[0] > 1:
            term = np.empty_like(out)
            for j in range(1, a.shape[0]):
                np.multiply(a[j], b[j], out=term)
                out += term
    else:
        out[...] = np.einsum("i...,i...->...", a, b)
    if divisor is not None:
        np.divide(out, divisor, out=out)
    return out


def mul(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(uv)_k = sum_j u_j v_{k-j}"""
    if u.shape[0] == 1 or v.shape[0] == 1:
        return u * v
    n = order(u, v)
    u, v = full(u, n), full(v, n)
    if u.ndim == 2 and u.shape[1] == 1 and v.shape[1] == 1:
        out = np.convolve(u[:, 0], v[:, 0])[: n + 1, None]
        out[0] = u[0] * v[0]   # convolve sums from +0.0: -1 * 0.0 is -0.0 (1/it: -inf)
        return out
    u, v = np.broadcast_arrays(u, v)
    if n == 1:                    # the first order alone: three products
        out = np.empty(u.shape)
        np.multiply(u[0], v[0], out=out[0])
        np.multiply(u[0], v[1], out=out[1])
        out[1] += u[1] * v[0]
        return out
    out = u[0] * v
    for j in range(1, n + 1):
        out[j:] += u[j] * v[: n + 1 - j]
    return out


def square(u: np.ndarray) -> np.ndarray:
    """(u*u)_k"""
    return mul(u, u)


def div(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """q_k = (u_k - sum_{j>=1} v_j q_{k-j}) / v_0"""
    if v.shape[0] == 1:
        return u / v[0]
    n = order(u, v)
    numerator, u, v = u, full(u, n), full(v, n)
    shape = np.broadcast_shapes(u.shape[1:], v.shape[1:])
    q = np.empty((n + 1,) + shape)
    v0 = v[0]
    with np.errstate(all="ignore"):
        for k in range(n + 1):
            if k:
                _dot_into(q[k], v[k:0:-1], q[:k])
                np.subtract(u[k], q[k], out=q[k])
                np.divide(q[k], v0, out=q[k])
            else:
                np.divide(u[0], v0, out=q[0])
        at_zero = v0 == 0
        if np.any(at_zero):  # u * (1/v) with the one-sided limits of 1/v
            q = np.where(at_zero, mul(numerator, power_at_zero(v, -1.0, np.reciprocal)), q)
    return q


def add(u: np.ndarray, v: np.ndarray, sign: float = 1.0) -> np.ndarray:
    """(u + sign*v)_k"""
    if u.shape[0] == v.shape[0]:
        return u + v if sign > 0 else u - v
    if u.shape[0] > v.shape[0] and (u.shape[1:] == v.shape[1:]   # (the cheap test first)
                                    or u.shape[1:] == np.broadcast_shapes(u.shape[1:],
                                                                          v.shape[1:])):
        out = np.array(u, dtype=np.float64)   # v has fewer coefficients: one copy of u
        if sign > 0:
            out[: v.shape[0]] += v
        else:
            out[: v.shape[0]] -= v
        return out
    out = np.zeros((order(u, v) + 1,) + np.broadcast_shapes(u.shape[1:], v.shape[1:]))
    out[: u.shape[0]] += u
    if sign > 0:
        out[: v.shape[0]] += v
    else:
        out[: v.shape[0]] -= v
    return out


def through(u: np.ndarray, value0, w: np.ndarray) -> np.ndarray:
    """p = f(u) from the series w of f'(u): p_0 = f(u_0), D(p) = w D(u)"""
    return integral(value0, mul(w[:-1], deriv(u)))


def through_quotient(u: np.ndarray, value0, denominator: np.ndarray, sign: float = 1.0):
    """p = f(u) with f'(u) = sign / denominator: p_0 = f(u_0), D(p) = sign D(u) / denominator"""
    du = deriv(u)
    return integral(value0, div(du if sign > 0 else -du, denominator[:-1]))


def exp(u: np.ndarray, value0=None) -> np.ndarray:
    """p = exp(u_0) q with q = exp(u - u_0): q_k = (1/k) sum_{j=1..k} D(u)_{j-1} q_{k-j}"""
    du = deriv(u)
    q = np.empty(u.shape)
    if u.shape[0] == 2:           # the first order alone: p_1 = exp(u_0) u_1
        np.exp(u[0], out=q[0]) if value0 is None else np.copyto(q[0], value0)
        with np.errstate(all="ignore"):
            np.multiply(du[0], q[0], out=q[1])
        return q
    q[0] = 1.0    # exp(u_0) multiplies at the end: an overflow stays in its own coefficient
    for k in range(1, u.shape[0]):
        _dot_into(q[k], du[:k], q[k - 1::-1], k if k > 1 else None)
    scale = np.exp(u[0]) if value0 is None else value0
    with np.errstate(all="ignore"):
        q[1:] *= scale
    q[0] = scale
    return q


def sin_cos(u: np.ndarray, hyperbolic: bool = False):
    """(sin u, cos u) together: D(s) = c D(u), D(c) = -s D(u) (+s for sinh, cosh)"""
    du = deriv(u)
    s, c = np.empty(u.shape), np.empty(u.shape)
    (np.sinh if hyperbolic else np.sin)(u[0], out=s[0])
    (np.cosh if hyperbolic else np.cos)(u[0], out=c[0])
    sign = 1.0 if hyperbolic else -1.0
    for k in range(1, u.shape[0]):
        _dot_into(s[k], du[:k], c[k - 1::-1], k if k > 1 else None)
        _dot_into(c[k], du[:k], s[k - 1::-1], (k if k > 1 else None) if sign > 0 else -k)
    return s, c


def from_derivative(u: np.ndarray, value0, fprime) -> np.ndarray:
    """p = f(u) with f'(p) a polynomial in p (tan, tanh, sigmoid): D(p) = fprime(p) D(u).

    ``fprime(p, k)`` returns the order-k coefficient of f' given p_0..p_k.
    """
    du = deriv(u)
    n = u.shape[0] - 1
    p = np.empty(u.shape)
    w = np.empty(u.shape)
    p[0] = value0
    w[0] = fprime(p, 0)
    for k in range(1, n + 1):
        _dot_into(p[k], du[:k], w[k - 1::-1], k if k > 1 else None)
        w[k] = fprime(p, k)
    return p


def self_product(p: np.ndarray, k: int):
    """(p*p)_k from p_0..p_k."""
    return _dot(p[: k + 1], p[k::-1])


def sqrt(u: np.ndarray, value0=None, floor=0.0) -> np.ndarray:
    """q = sqrt(u): q_k = (u_k - sum_{j=1..k-1} q_j q_{k-j}) / (2 (q_0 + floor))"""
    q = np.empty(u.shape)
    if value0 is None:
        np.sqrt(u[0], out=q[0])
    else:
        q[0] = value0
    # + 0.0: at u_0 = -0.0 (sqrt -0.0) the one-sided +inf of sqrt' at 0, as the tape's
    two_q0 = 2.0 * (q[0] + floor) + 0.0 if np.any(floor) else 2.0 * q[0] + 0.0
    for k in range(1, u.shape[0]):
        if k > 1:
            _dot_into(q[k], q[1:k], q[k - 1:0:-1])
            np.subtract(u[k], q[k], out=q[k])
            np.divide(q[k], two_q0, out=q[k])
        else:
            np.divide(u[1], two_q0, out=q[1])
    return q


def log(u: np.ndarray) -> np.ndarray:
    """log u = log u_0 + integral of D(u)/u (one-sided +-inf where u_0 = 0)"""
    with np.errstate(all="ignore"):
        p = integral(np.log(u[0]), div(deriv(u), u[:-1]))
    at_zero = u[0] == 0
    if np.any(at_zero):
        lead = leading(u)
        k = np.arange(p.shape[0]).reshape((-1,) + (1,) * (p.ndim - 1))
        pattern = np.where(lead > 0, np.where(k % 2 == 1, np.inf, -np.inf), -np.inf)
        pattern = np.where(lead == 0, np.nan, pattern)
        p[1:] = np.where(at_zero, pattern[1:], p[1:])
    return p


def leading(u: np.ndarray):
    """The first nonzero coefficient of order >= 1 (0 when there is none)."""
    nonzero = u[1:] != 0
    first = np.argmax(nonzero, axis=0)
    return np.take_along_axis(u[1:], first[None], axis=0)[0]


def power_at_zero(u: np.ndarray, a, lead_power) -> np.ndarray:
    """u**a where u_0 = 0 and u = c t**v + ...: 0 below order a*v, sign(falling(a*v, k)) *
    lead_power(c) * inf above (the one-sided limit), nan at order a*v itself. At u_0 = -0.0
    and an integer a the limit from the left, as IEEE's 1/-0.0 = -inf: u(-t)'s series
    (c_k (-1)**k) there."""
    n = u.shape[0] - 1
    k = np.arange(n + 1, dtype=np.float64).reshape((-1,) + (1,) * (u.ndim - 1))
    integer = np.asarray(a) == np.round(a)   # C's pow reads -0.0 as 0.0 for other a
    flip = np.where(np.signbit(u[0]) & integer & (k % 2 == 1), -1.0, 1.0)
    u0 = u[0]
    c0 = u[1] if n >= 1 else u[0]
    u = u * flip
    nonzero = u[1:] != 0
    v = (np.argmax(nonzero, axis=0) + 1).astype(np.float64)
    some = np.any(nonzero, axis=0)
    e = np.asarray(a, dtype=np.float64) * v
    c = leading(u)
    negatives = np.clip(k - np.floor(e) - 1.0, 0.0, k)   # factors e - i < 0 for i < k
    sign = np.where(negatives % 2 == 1, -1.0, 1.0)
    with np.errstate(all="ignore"):
        out = np.where(k < e, 0.0, sign * lead_power(c) * np.inf)
        integer_e = (e == np.floor(e)) & (e >= 0)
        out = np.where(integer_e & (k >= e), np.nan, out)
        out = np.where(some, out, np.where(k == 0, 0.0, np.where(np.asarray(a) > 0, 0.0, np.nan)))
        out = out * flip
        out[0] = np.power(np.where(u0 == 0, u0, 0.0), a)
        # an infinite leading coefficient (u = sqrt(x) at 0: u_1 = inf, u grows as t**alpha,
        # alpha < 1 unknown): the first order as the tape's a u_0 ** (a - 1) u_1 (1/sqrt(x)
        # at 0: -inf, the one-sided limit; 0 * inf = nan for a > 1, where alpha decides), the
        # higher orders nan
        infinite = np.isinf(c) & some
        if n >= 1 and np.any(infinite):
            first = np.asarray(a) * np.power(np.where(u0 == 0, u0, 0.0), np.asarray(a) - 1.0) * c0
            out[1] = np.where(infinite, first, out[1])
            out[2:] = np.where(infinite, np.nan, out[2:])
    return out


def power(u: np.ndarray, a, value0=None, lead_power=None) -> np.ndarray:
    """p = u**a for a constant a: p_k = (1/(k u_0)) sum_{j=1..k} ((a+1) j - k) u_j p_{k-j}"""
    a = np.asarray(a, dtype=np.float64)
    n = u.shape[0] - 1
    shape = np.broadcast_shapes(u.shape[1:], a.shape)
    p = np.empty((n + 1,) + shape)
    with np.errstate(all="ignore"):
        p[0] = np.power(u[0], a) if value0 is None else value0
        du = deriv(u)
        u0 = u[0]
        for k in range(1, n + 1):
            weighted = _dot(du[:k], p[k - 1::-1])        # sum j u_j p_{k-j}
            plain = _dot(u[k:0:-1], p[:k])                # sum u_j p_{k-j}
            p[k] = ((a + 1.0) * weighted - k * plain) / (k * u0)
        # u0 ** a beyond the float64 range (1e300 ** 1.57) with a finite first derivative
        # (a u0 ** (a - 1) u1: 8e171), which the recurrence meets as inf - inf: the tape's
        over = np.isinf(p[0]) & (u0 != 0)
        if n >= 1 and np.any(over):
            p[1] = np.where(over, a * np.power(u0, a - 1.0) * u[1], p[1])
        # an infinite u_1 ((x**x)**0.5 at 0: u_1 = -inf) meets inf - inf in the recurrence
        # ((a + 1) u_1 p_0 - u_1 p_0) / u_0: the first order as the tape's a u_0 ** (a - 1) u_1
        if n >= 1:
            lost = np.isnan(p[1]) & np.isinf(u[1]) & (u0 != 0)
            if np.any(lost):
                p[1] = np.where(lost, a * np.power(u0, a - 1.0) * u[1], p[1])
    at_zero = u[0] == 0
    if np.any(at_zero):
        lead_power = lead_power or (lambda c: np.power(c, a))
        p = np.where(at_zero, power_at_zero(u, a, lead_power), p)
        p = _integer_exponents_at_zero(u, a, at_zero, p)
        if value0 is not None:  # the op's own value: cbrt(-0.0) and -0.0 ** 0.5 are -0.0
            p[0] = np.where(at_zero, value0, p[0])
    # a nan exponent (asin(3)): nan above the value (the value is C's: 1 ** nan is 1)
    p[1:] = np.where(np.isnan(a), np.nan, p[1:])
    return np.where(a == 0, np.where(np.arange(n + 1).reshape((-1,) + (1,) * len(shape)) == 0,
                                     1.0, 0.0), p)


def _integer_exponents_at_zero(u: np.ndarray, a: np.ndarray, at_zero, p: np.ndarray):
    """Where u_0 = 0 and the constant exponent is an integer 0 < a <= N (x**y at y = 2), u**a is
    a polynomial in u: exact by integer_power, as powi is (not the nan power_at_zero gives
    at and above order a*v)."""
    n = p.shape[0] - 1
    shape = p.shape[1:]
    a_full = np.broadcast_to(a, shape)
    integral = np.broadcast_to(at_zero, shape) & (a_full == np.round(a_full)) \
        & (a_full > 0) & (a_full <= n)
    for k in np.unique(a_full[integral]):
        p = np.where(integral & (a_full == k), full(integer_power(u, int(k)), n), p)
    return p


def general_power(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """u**v: the constant-exponent recurrence when v does not vary, else exp(v log u);
    base 0: d/dv = 0 for v > 0; negative base: the value, nan above."""
    with np.errstate(all="ignore"):
        # as the op's forward (numpy takes x ** 0.5 as sqrt: -0.0 ** 0.5 is -0.0, IEEE's sqrt)
        value = np.where(v[0] == 0.5, np.sqrt(u[0]), np.power(u[0], v[0]))
    if v.shape[0] == 1:
        return power(u, v[0], value0=value)
    n = order(u, v)
    with np.errstate(all="ignore"):
        if u.shape[0] == 1:
            base = u[0]
            p = exp(full(v, n) * np.log(base), value0=value)
            higher = np.where(v[0] >= 0, 0.0, np.nan)
            p[1:] = np.where(base == 0, higher, p[1:])
        else:
            p = exp(mul(full(v, n), log(u)), value0=value)
            over = np.isinf(value) & (u[0] != 0)
            if np.any(over):  # beyond the float64 range: the first order as the tape's
                u1, v1 = full(u, n)[1], full(v, n)[1]
                first = v[0] * np.power(u[0], v[0] - 1.0) * u1 + value * np.log(u[0]) * v1
                p[1] = np.where(over, first, p[1])
            # base u_0 = 1 (log u_0 = 0 exactly) with dv infinite ((x**x)**(x**x) at 0: u_0 = 1,
            # du = dv = -inf): the forward product dv log u_0 meets 0 * inf. Its limit is 0
            # when v_0 is finite: (v - v_0)' (u - 1) -> 0 for u - 1 = O(t); where du is
            # infinite the other term v_0 du / u_0 outgrows it (v_0 != 0), so p_1 = p_0 v_0
            # du / u_0, the one-sided limit (SPEC 4), as the tape's chain rule gives it (it
            # sums the base's and the exponent's adjoints first); v_0 = 0 with du infinite
            # ((1+sqrt(x))**sqrt(x)) stays nan
            u1 = full(u, n)[1]
            strong = (np.isnan(p[1]) & (u[0] == 1) & np.isfinite(v[0])
                      & ((v[0] != 0) | np.isfinite(u1)))
            if np.any(strong):
                p[1] = np.where(strong, value * v[0] * u1 / u[0], p[1])
            at_zero = u[0] == 0
            p[1:] = np.where(at_zero, np.nan, p[1:])
            if np.any(at_zero & (v[0] != 0)):
                # base 0, exponent v_0 != 0: d/dv 0 ** v = 0 and d/du = v_0 u_0 ** (v_0 - 1)
                # (inf, 1 or 0 by v_0), as the tape's rule (its value by continuity from the
                # side u comes from); the higher orders nan
                first = v[0] * np.power(u[0], v[0] - 1.0) * full(u, n)[1]
                p[1] = np.where(at_zero & (v[0] != 0), first, p[1])
        # 0 ** 0 (y ** y at 0): d/dv = log(0) = -inf (SPEC 4, the value by continuity), d/du
        # = v u ** (v - 1) = 0 (u ** 0 is constant), as the tape's; the higher orders nan
        zero_zero = (u[0] == 0) & (v[0] == 0)
        if np.any(zero_zero):
            p[1] = np.where(zero_zero, -np.inf * v[1], p[1])
            p[2:] = np.where(zero_zero, np.nan, p[2:])
    return p


def angle(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """atan2(y, x): D(p) = (x D(y) - y D(x)) / (x**2 + y**2)"""
    n = order(y, x)
    yf, xf = full(y, n), full(x, n)
    numerator = add(mul(xf[:-1], deriv(yf)), mul(yf[:-1], deriv(xf)), -1.0)
    with np.errstate(all="ignore"):
        return integral(np.arctan2(y[0], x[0]), div(numerator, add(square(xf), square(yf))[:-1]))


def linear(forward, x: np.ndarray, **attrs) -> np.ndarray:
    """A linear op applied to every coefficient."""
    return np.stack([np.asarray(forward(xk, **attrs), dtype=np.float64) for xk in x])


def integer_power(u: np.ndarray, n: int) -> np.ndarray:
    """u**n for a constant integer n: repeated squaring (exact, u_0 = 0 included);
    n < 0 is 1/u**-n, with the one-sided limits where u_0 = 0"""
    if n < 0:
        positive = integer_power(u, -n)
        with np.errstate(all="ignore"):
            q = div(const(1.0, positive), positive)
        at_zero = positive[0] == 0
        if np.any(at_zero):
            q = np.where(at_zero, power_at_zero(u, float(n), lambda c: np.power(c, float(n))), q)
        return q
    if n >= 2 and u.shape[0] == 2:  # the first order alone: u0**n and n u0**(n-1) u1, two
        out = np.empty(u.shape)     # pow calls (within an ulp) instead of log2(n) products
        np.power(u[0], float(n), out=out[0])
        np.power(u[0], float(n - 1), out=out[1])
        out[1] *= n
        out[1] *= u[1]
        return out
    result = None
    base = u
    while True:
        if n & 1:
            result = base if result is None else mul(result, base)
        n >>= 1
        if not n:
            break
        base = square(base)
    return const(1.0, u) if result is None else full(result, u.shape[0] - 1)


def piecewise(value, *parts) -> np.ndarray:
    """A series whose value is ``value`` and whose higher coefficients are
    sum(weight * series) over ``parts`` (weight from the values: a mask)."""
    n = order(*(s for _, s in parts))
    higher = sum(np.where(w != 0, w * full(s, n)[1:], 0.0) for w, s in parts)
    shape = np.broadcast_shapes(np.shape(value), higher.shape[1:])
    out = np.empty((n + 1,) + shape)
    out[0] = value
    out[1:] = higher
    return out
