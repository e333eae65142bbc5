r"""Taylor-mode derivatives: series pushed through the graph in passes, rescaled.

Convention (scaled coefficients)
--------------------------------
To differentiate f along the variable x at x0, the engine pushes the input
series x(t) = x0 + r*t through the graph, with r = 2**m a power of two. Every
node u then carries its truncated Taylor series in t,

    u(t) = c_0 + c_1 t + ... + c_N t**N,    c_k = u^(k)(x0) * r**k / k!,

as a numpy array of shape (N+1, *points): axis 0 is k, the other axes are the
points, so one pass serves a million points. A node that does not depend on x
carries shape (1, *points): its value alone. The derivative comes back as

    f^(k)(x0) = c_k * k! / r**k = ldexp(c_k * M_k, E_k - m*k),   k! = M_k * 2**E_k,

with k! held as a mantissa and an exponent (exact to one rounding, from the
integer k!), so neither k! (which overflows float64 past 170) nor
f^(k)/k! (which underflows for entire functions: 1/1000! ~ 1e-2568) is ever
formed. A derivative beyond the float64 range comes out of ldexp as +-inf.

Choosing r. One r cannot serve every function at order 1000: exp needs
r ~ 1000/e (else r**k/k! underflows) while 1/(1+x) needs r <= 1 (else r**k
overflows, and inf - inf makes nan). Since c_k scales exactly as r**k, the
relative accuracy of a coefficient does not depend on r as long as nothing
leaves the float64 range; so the engine makes several passes:

1. r = 1 for every point. A coefficient is accepted when it is finite and
   |c_k| >= 2**-900 * max(1, |c_0|) (well above the underflow that would cost
   precision, also in a product of a tiny term and a huge one), or
   exactly 0 next to an accepted one (sin at 0), or beyond the polynomial
   degree of the expression (tracked from the graph: x**4 has no 5th term).
2. A coefficient too small needs a larger r (m in 1..10), one that is not
   finite (while the value is) a smaller one (m in -10..-1): each keeps the
   open interval of m still possible, and each further pass, at the m most of
   them need, halves it (too small: m is a lower bound; not finite: an upper
   bound). The first pass upwards tries r ~ K/e for the highest such order K
   (where r**K/K! ~ 1, what an entire function like exp needs). A pass covers
   only the points concerned, up to their highest unresolved order; a
   coefficient takes the first pass that accepts it.
3. What no pass accepts is +-inf when a pass with r <= 1 gave +-inf (then
   |f^(k)| >= |c_k| * k! overflows too); else the finite value of the pass
   with the largest r (the least underflow; 0 when it gave exactly 0: exact
   cancellations such as sin**2 + cos**2 are far more common than a series
   that underflows at one r and overflows at the next); else nan.

Accuracy is that of any floating-point evaluation: relative to the majorant
(the same series with every term's absolute value), so a derivative that is 0
by cancellation comes out as rounding noise of that size.

The refinement of what this engine computes (SPEC 6.1) is in refine.py; the series
arithmetic itself is in series.py.
"""
from __future__ import annotations

import math

import numpy as np

from .series import DOWN_MIN, MAX_PASSES, TINY, UP_MAX, add, full, mul

REL = 1e-13  # the guarantee (SPEC 6.1): a printed derivative within this of the exact one


# -- the engine --------------------------------------------------------------------
_FACTS: list = []   # the last 4 (nodes, wrt, degree, screened): a graph is asked again and again


def facts(nodes, wrt: str) -> tuple[float, bool]:
    """(_polynomial_degree, screened) of a graph, remembered for the last few graphs."""
    for entry in _FACTS:
        if entry[0] is nodes and entry[1] == wrt:
            return entry[2], entry[3]
    entry = (nodes, wrt, _polynomial_degree(nodes, wrt), screened(nodes))
    _FACTS.insert(0, entry)
    del _FACTS[4:]
    return entry[2], entry[3]


def _polynomial_degree(nodes, wrt: str) -> float:
    """An upper bound on the degree of the root in wrt (inf when not a polynomial)."""
    inf = math.inf
    degree: dict[int, float] = {}
    for node in nodes:
        op, inputs = node.op, node.inputs
        if op == "add" or op == "sub":  # the usual case first, without a list
            a, b = degree[inputs[0].id], degree[inputs[1].id]
            degree[node.id] = a if a >= b else b
            continue
        ins = [degree[i.id] for i in inputs]
        if op == "var":
            d = 1.0 if node.name == wrt else 0.0
        elif op == "const":
            d = 0.0
        elif op in ("add", "sub", "max", "min"):
            d = max(ins)
        elif op in ("neg", "abs", "relu"):
            d = ins[0]
        elif op == "mul":
            d = ins[0] + ins[1]
        elif op == "div":
            d = ins[0] if ins[1] == 0 else inf
        elif op == "powi":
            n = node.attrs["n"]
            d = ins[0] * n if n >= 0 and ins[0] < inf else (0.0 if ins[0] == 0 else inf)
        else:
            d = 0.0 if all(i == 0 for i in ins) else inf
        degree[node.id] = d
    return degree[nodes[-1].id]


# What one node costs at one point per (order+1)**2 in a Taylor pass, in seconds (measured:
# sums of sin(k*x) of 100-1000 terms at orders 500-2000, 2-4e-9 on this project's 2-core
# machine; 1000 terms at order 2000 took 84 s). For an estimate before long work only.
SECONDS_PER_NODE_ORDER2 = 3e-9


def seconds_estimate(nodes, wrt: str, order: int) -> float:
    """About how long the Taylor pass of order ``order`` takes at one point (the work grows
    as nodes x order**2; a polynomial stops at its degree)."""
    n = min(order, facts(nodes, wrt)[0])
    return SECONDS_PER_NODE_ORDER2 * len(nodes) * (n + 1) ** 2


KEEP_ALL_BYTES = 64 << 20   # a pass whose series all fit keeps them: freeing costs more


def _by_rule(node, ins: list[np.ndarray], ops=None) -> np.ndarray:
    """The series of node from its inputs' series: the op's forward rule on values alone,
    else its taylor rule (``ops``: the registry, when the caller has it at hand)."""
    if ops is None:
        from ..registry import OPS as ops

    rule = ops[node.op]
    if all(i.shape[0] == 1 for i in ins):
        return np.asarray(rule.forward(*(i[0] for i in ins), **node.attrs), dtype=np.float64)[None]
    return rule.taylor(*ins, **node.attrs)


def taylor_pass(nodes, wrt: str, env: dict, n: int, m: int, risk=None,
                few: bool | None = None) -> np.ndarray:
    """The scaled coefficients (n+1, P) of the root along x0 + 2**m t (P points, 1-D).

    ``risk`` (an array of P ones, or None): multiplied in place by the cancellation of the
    sums (see ``cancellation``): at every add/sub for a few points, at the root's for many.
    ``few``: whether the call's points are few (FEW_POINTS), when ``env`` is one block of
    them (else its own size decides), so that blocks screen as one pass does."""
    size = len(next(iter(env.values()))) if env else 1
    series: dict[int, np.ndarray] = {}
    # a series no later node reads is freed, so memory is reused (unless all fit anyway)
    last_use = None if len(nodes) * ((n + 1) * size * 8 + 128) <= KEEP_ALL_BYTES else {
        i.id: position for position, node in enumerate(nodes) for i in node.inputs}
    # the screen (risk) measures every sum and product for a few points or a polynomial,
    # else the root's alone
    few = size <= FEW_POINTS if few is None else few
    every = risk is not None and (few or facts(nodes, wrt)[1])
    # (a graph the screen does not see through has every entry ball-checked anyway)
    underflow_screen = risk is not None and facts(nodes, wrt)[1]
    last = len(nodes) - 1
    from ..registry import OPS   # (once a pass, not once a node)
    from .series import integer_power
    with np.errstate(all="ignore"):
        for position, node in enumerate(nodes):
            op, inputs = node.op, node.inputs
            if len(inputs) == 2:
                u, v = series[inputs[0].id], series[inputs[1].id]
                # add and sub (their taylor rules), at equal orders one numpy operation, and
                # mul by a value alone: the first cases of add() and mul() (len: the orders)
                if op == "add":
                    s = u + v if len(u) == len(v) else add(u, v)
                    if risk is not None and (every or position == last):
                        risk *= cancellation(u, v, s)
                elif op == "sub":
                    s = u - v if len(u) == len(v) else add(u, v, -1.0)
                    if risk is not None and (every or position == last):
                        risk *= cancellation(u, v, s, subtract=True)
                elif op == "mul" and (len(u) == 1 or len(v) == 1):
                    s = u * v
                else:
                    s = _by_rule(node, [u, v], OPS)
                    if op == "mul" and risk is not None and (every
                                                              or position == last):
                        risk *= _ratio(mul(np.abs(u), np.abs(v)), s)
            elif op == "var":
                x0 = np.asarray(env.get(node.name, 0.0), dtype=np.float64).reshape(1, -1)
                if node.name == wrt and n >= 1:
                    s = np.empty((n + 1, x0.shape[1]))
                    s[0] = x0
                    s[1] = 2.0 ** m
                    s[2:] = 0.0
                else:
                    s = x0
            elif op == "const":
                s = np.full((1, 1), node.value)
            elif op == "neg":
                s = -series[inputs[0].id]
            else:
                s = _by_rule(node, [series[i.id] for i in inputs], OPS)
                if op == "powi" and risk is not None and node.attrs["n"] > 1 and len(s) > 2 \
                        and (every or position == last):
                    risk *= _ratio(integer_power(np.abs(series[inputs[0].id]), node.attrs["n"]), s)
            if underflow_screen and (op == "mul" or op == "powi"):
                _underflow_risk(s, [series[i.id] for i in inputs], risk)
            if last_use is not None:
                for i in inputs:
                    if last_use[i.id] == position:
                        series.pop(i.id, None)
            series[node.id] = s
    root = full(series[nodes[-1].id], n)
    if root.shape == (n + 1, size):
        return root
    return np.array(np.broadcast_to(root, (n + 1, size)))


FEW_POINTS = 32   # up to this many points a pass measures the cancellation of every sum

_TINY = 2.0 ** -1000   # (as at_risk: below it a coefficient has lost bits, or soon will)


def _underflow_risk(s: np.ndarray, inputs: list[np.ndarray], risk: np.ndarray) -> None:
    """Put at risk the points where a product or power underflowed, which no cancellation
    ratio shows (x - 1e300*x**4 at -1e-100: x**4 is 1e-400, float64's 0, and the sum is
    printed as -1e-100 where it is -2e-100): a coefficient below 2**-1000 that is not 0, or
    a value 0 whose factors are not (numpy's underflow flag does not serve: the Cauchy
    products' dot products never raise it)."""
    small = np.abs(s) < _TINY        # (the usual case: nothing small, or 0s alone)
    if small.any():
        lost = (small & (s != 0)).any(axis=0)
        if not s[0].all():
            zero = s[0] == 0
            for u in inputs:
                zero &= u[0] != 0
            lost = lost | zero
        if lost.any():
            risk[np.broadcast_to(lost, risk.shape)] = np.inf


def cancellation(u: np.ndarray, v: np.ndarray, s: np.ndarray,
                 subtract: bool = False) -> np.ndarray:
    """max_k (|u_k| + |v_k|) / |s_k| per point, at least 1 (inf where only s_k is 0): how
    much a sum s = u + v (s = u - v with ``subtract``) magnifies the relative errors of its
    terms. |u| + |v| is the larger of |u + v| and |u - v| (to the bit: one rounding of the
    same exact number), so the ratio is max(1, |other / s|) with other the combination s
    is not: four passes over the series instead of seven."""
    rows = min(len(u), len(v), len(s))
    other = u[:rows] + v[:rows] if subtract else u[:rows] - v[:rows]
    other = np.divide(other, s[:rows], out=other if other.shape == s[:rows].shape else None)
    np.abs(other, out=other)      # 0/0 = nan counts as 1 (fmax), as in _ratio
    if other.ndim == 1 or other.shape[0] == 1:
        worst = other.reshape(other.shape[-1:] if other.ndim > 1 else (-1,))
    else:
        worst = np.fmax.reduce(other, axis=0)
    return np.fmax(worst, 1.0)


def _ratio(majorant: np.ndarray, s: np.ndarray) -> np.ndarray:
    """max_k majorant_k / |s_k| per point, at least 1 (0/0 counts as 1): the cancellation of
    a sum or inside a Cauchy product."""
    with np.errstate(all="ignore"):
        quotient = np.divide(majorant, np.abs(s))
        if quotient.ndim == 1 or quotient.shape[0] == 1:
            worst = quotient.reshape(quotient.shape[-1:] if quotient.ndim > 1 else (-1,))
        else:
            worst = np.fmax.reduce(quotient, axis=0)
        return np.fmax(worst, 1.0)      # fmax: nan (0/0) gives 1


_FACTORIAL: list[tuple[float, int]] = [(0.5, 1)]


def factorial_table(n: int) -> list[tuple[float, int]]:
    """(M_k, E_k) with k! = M_k * 2**E_k for k = 0..n at least (M_k in [0.5, 1), one rounding
    from the exact integer): the table itself, extended as needed (do not modify it)."""
    while len(_FACTORIAL) <= n:
        f = math.factorial(len(_FACTORIAL))
        shift = max(f.bit_length() - 64, 0)
        mant, exp2 = math.frexp(float(f >> shift))
        _FACTORIAL.append((mant, exp2 + shift))
    return _FACTORIAL


def _factorials(n: int) -> tuple[np.ndarray, np.ndarray]:
    """k! = M_k * 2**E_k for k = 0..n (M_k in [0.5, 1), one rounding from the exact integer)."""
    table = factorial_table(n)[: n + 1]
    return (np.array([t[0] for t in table])[:, None], np.array([t[1] for t in table])[:, None])


def to_derivatives(c: np.ndarray, m: int) -> np.ndarray:
    """f^(k) = c_k * k! / 2**(m k), without forming k! (r = 1, N <= 170: in place, k! a float)."""
    n = c.shape[0] - 1
    if m == 0 and n <= 170:     # k! is a float (exact to k = 22, one rounding above)
        for k in range(2, n + 1):
            c[k] *= float(math.factorial(k))
        return c
    mant, exp2 = _factorials(n)
    k = np.arange(n + 1)[:, None]
    with np.errstate(all="ignore"):
        return np.ldexp(c * mant, exp2 - m * k)


def _accepted(c: np.ndarray) -> np.ndarray:
    """Which coefficients a pass can be trusted with (see the module docstring)."""
    size = np.abs(c[1:])
    value = np.abs(c[0])
    largest = max(1.0, float(value.max()))
    if size.min() >= TINY * largest and size.max() <= np.finfo(np.float64).max:  # nan fails
        return np.ones(c.shape, dtype=bool)
    tiny = TINY * np.where(value > 1.0, value, 1.0)   # farther below the value: suspect
    finite = np.isfinite(c)
    ok = finite & (np.abs(c) >= tiny)
    zero = c == 0
    neighbour = np.zeros_like(ok)
    neighbour[1:] |= ok[:-1]
    neighbour[:-1] |= ok[1:]
    ok |= zero & neighbour
    ok[0] = True
    return ok


def derivatives(nodes, wrt: str, env: dict, order: int, risk=None,
                few: bool | None = None) -> np.ndarray:
    """[f, f', ..., f^(order)] along wrt at the points of env: shape (order+1, *points).

    ``risk``: an array of ones, one per point (flat), that the r = 1 pass multiplies by the
    cancellation it meets (for ``refine``); ``few`` as in ``taylor_pass``."""
    names = sorted(env)
    arrays = np.broadcast_arrays(*(np.asarray(env[k], dtype=np.float64) for k in names))
    shape = arrays[0].shape if arrays else ()
    flat = {k: a.reshape(-1) for k, a in zip(names, arrays)}
    degree = facts(nodes, wrt)[0]
    n = int(min(order, degree))
    c = taylor_pass(nodes, wrt, flat, n, 0, risk, few)
    ok = _accepted(c) if n >= 1 else None
    out = to_derivatives(c.copy() if ok is not None and not ok.all() else c, 0)
    if ok is not None and not ok.all():
        _rescale(nodes, wrt, flat, n, c, ok, out)
    if n < order:
        out = full(out, order)
    return out.reshape((order + 1,) + shape)


def _radius_log2(c: np.ndarray) -> int:
    """log2 of an r small enough for every point: below min over points and finite nonzero
    c_k (k >= 1) of |c_k| ** (-1/k), the root test's radius (as low as 2**-1070)."""
    k = np.arange(1, c.shape[0], dtype=np.float64)[:, None]
    with np.errstate(all="ignore"):
        size = np.abs(c[1:])
        logs = np.where(np.isfinite(size) & (size > 0), np.log2(size) / k, -np.inf)
    top = float(logs.max()) if logs.size else 0.0
    if not math.isfinite(top):
        return DOWN_MIN
    return int(max(min(math.floor(-top) - 2, DOWN_MIN), -1070))


def _rescale(nodes, wrt, flat, n, c, ok, out) -> None:
    """Further passes with other r = 2**m for the coefficients the r = 1 pass could not
    hold: each keeps an interval lo < m < hi that a pass halves (too small: lo = m;
    not finite: hi = m), the first probe upwards at r ~ K/e."""
    value_finite = np.isfinite(c[0])
    small = ~ok & np.isfinite(c) & value_finite
    resolved = ok | ~value_finite
    lo = np.where(small, 0, DOWN_MIN - 1)              # open interval of m still possible
    hi = np.where(small, UP_MAX + 1, 0)
    inf_seen = np.where(np.isinf(c), c, 0.0)           # from passes with r <= 1
    best = np.where(np.isfinite(c), 0, -99)            # largest m of a finite pass, its value
    best_value = np.where(np.isfinite(c), out[: n + 1], np.nan)
    rows = np.flatnonzero(small.any(axis=1))
    guess = int(np.clip(round(math.log2(max(rows[-1], 1) / math.e)), 1, UP_MAX)) \
        if rows.size else None
    overflowed = ~ok & ~np.isfinite(c) & value_finite
    if overflowed.any():   # r below the radius of convergence, which the finite terms show
        down = _radius_log2(c)
        lo = np.where(overflowed, np.minimum(down - 1, DOWN_MIN - 1), lo)
        if guess is None and down < DOWN_MIN:
            guess = down
    for _ in range(MAX_PASSES):
        open_ = ~resolved & (hi - lo > 1)
        if not open_.any():
            break
        mids = ((lo + hi) // 2)[open_]
        base = int(mids.min())
        m = guess if guess is not None else int(np.bincount(mids - base).argmax()) + base
        guess = None
        need = open_ & (lo < m) & (m < hi)
        cols = np.flatnonzero(need.any(axis=0))
        top = int(np.max(np.flatnonzero(need[:, cols].any(axis=1))))
        sub = {k: v[cols] for k, v in flat.items()}
        cm = taylor_pass(nodes, wrt, sub, top, m)
        dm = to_derivatives(cm, m)
        here = need[: top + 1, cols]
        okm = _accepted(cm) & here
        okm[0] = False
        finite = np.isfinite(cm)
        block = out[: top + 1, cols]
        block[okm] = dm[okm]
        out[: top + 1, cols] = block
        resolved[: top + 1, cols] |= okm
        lo[: top + 1, cols] = np.where(here & finite & ~okm, m, lo[: top + 1, cols])
        hi[: top + 1, cols] = np.where(here & ~finite, m, hi[: top + 1, cols])
        if m < 0:
            inf_seen[: top + 1, cols] = np.where(np.isinf(cm), cm, inf_seen[: top + 1, cols])
        better = finite & (m > best[: top + 1, cols])
        best[: top + 1, cols] = np.where(better, m, best[: top + 1, cols])
        best_value[: top + 1, cols] = np.where(better, dm, best_value[: top + 1, cols])
    left = ~resolved
    fallback = np.where(inf_seen != 0, inf_seen, np.where(best > -99, best_value, np.nan))
    out[: n + 1][left] = fallback[left]


SCREENED_OPS = frozenset({"var", "const", "add", "sub", "neg", "mul"})


def screened(nodes) -> bool:
    """True when the screen sees every cancellation of the graph: polynomials (+, -, *,
    integer powers >= 0), whose sums and Cauchy products it measures. Other ops have sums
    inside their recurrences, which only ball arithmetic bounds."""
    return all(node.op in SCREENED_OPS or (node.op == "powi" and node.attrs["n"] >= 0)
               for node in nodes)
