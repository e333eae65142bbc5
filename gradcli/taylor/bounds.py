r"""Orders 0 and 1 at many points at once (numpy), each entry with a rigorous error bound: what certifies first derivatives without ball arithmetic.

refine.py checks in ball arithmetic every entry of a graph whose cancellations the Taylor
pass's screen cannot see (any op but + - * and powers); beyond 256 points only a sample is
checked and the rest is reported "not certified". At orders 0 and 1 this pass does what
taylor/dual.py does at one point, over all the points, in slices that stay in the cache:
per node, arrays (v, d) of the value and the derivative along ``wrt``, and (ev, ed), bounds
on their distance from the exact value and derivative of the node at the point (the point
and the constants taken as the float64 values they denote, as ball.py's check). An entry
is vouched for when SAFETY * bound <= REL_OK * |entry| (REL_OK a margin below gradcli's
1e-13, SPEC 6.1). ``derivatives`` returns the entries and which are vouched for; the
caller computes the others by the Taylor pass and refine.py as before, whose checks try
``recheck`` first: the same rules in long double (x87's 64-bit mantissa where the platform
has it, ``LONG``), whose bound is about 2,000 times tighter, so that the entries next to a
zero of f or f' are decided without python-flint (its import alone is about 20 ms).

Same bits. (v, d) are computed by the very operations the Taylor pass makes at order 1
(engine.py ``taylor_pass``: the ops' forward rules on a node's value, series.py's order-1
cases: ``mul``'s u0 v1 + u1 v0, ``div``'s (u1 - v1 q0) / v0, ``exp``'s u1 exp(u0),
``sin_cos``'s u1 cos(u0) and -(u1 sin(u0)), ``integer_power``'s n u0**(n-1) u1 through
``np.power``, ``sqrt``'s u1 / (2 q0), ``log``'s u1 / u0, ...), so a vouched entry is the
number the Taylor pass gives, to the bit; tests/test_bounds.py compares them. Signed zeros
may differ where the Taylor pass adds a series to a zero-padded one (0.0 + -0.0): a zero
only changes a result through a division by it or a logarithm of it (an infinity), and a
vouched entry is finite and not 0 (nor below the Taylor pass's own rescaling threshold,
2**-900 times its value), so such points are left to the Taylor pass.

Error model. u = 2**-53.
- + - * / and sqrt are IEEE operations, correctly rounded: |fl(r) - r| <= u |r| <= ROUND
  |fl(r)| (ROUND = u (1 + 4u) >= u / (1 - u)) in the normal range, plus TINY for a
  product or quotient that may underflow (a sum is exact there): it may lose 2**-1075,
  taken as 2**-1022, the smallest normal number (no subnormal operand in the bounds).
- exp, expm1, log, log1p, sin, cos, atan and x**n (numpy's ``power``) come from numpy,
  which calls the C library or its own SIMD code; neither is correctly rounded. They are
  taken within LIBM_ULPS = 8 ulps of the exact result: |fl(f(a)) - f(a)| <= 8 (EPS |fl
  f(a)| + TINY), EPS = 2u (an ulp of y is at most EPS |y|). glibc documents at most 1-2
  ulps for these functions, numpy's AVX-512 (SVML) paths 4; measured on this project's
  machine against 200-bit balls
  (tests/test_bounds.py: trigonometric arguments up to 1e6 and next to multiples of pi/2):
  at most 0.66 ulps; numpy's long double functions (the C library's sinl, expl, ...)
  under 1 ulp of their 64-bit mantissa. That assumption is the one thing here that is not
  proved: a platform whose libm is worse than 8 ulps breaks the bound.
- An input's error propagates through the function's modulus of continuity over the
  interval [a - ea, a + ea] the exact input lies in: sin, cos and atan are 1-Lipschitz;
  exp(a + t) - exp(a) <= exp(a) expm1(ea) <= exp(a) ea (1 + ea) for ea <= 1; log moves by
  at most ea / (a - ea); sqrt by ea / sqrt(a); |A/B - a/b| <= (ea + |a/b| eb) / (|b| - eb);
  |AB - ab| <= |a| eb + |b| ea + ea eb; |A**n - a**n| <= n m**(n-1) ea with m >= |a| + ea.
  Where the interval may reach a domain's edge (eb > |b| / 2, a - ea <= a / 2 for log and
  sqrt, ea > 1 for exp) the bound is inf: not vouched.
- The derivative is the chain rule on such pairs: g * da with g = f'(a) and its own bound
  (f'(A) - f'(a) by the same moduli: cos, sin, exp), a quotient's (da - v db) / b, a power's
  n a**(n-1) da, log's da / a, sqrt's da / (2 v).
- The bounds are computed in floats from nonnegative numbers by additions, products and
  quotients by numbers bounded away from 0, each underestimating by at most a relative u;
  SAFETY = 1.001 covers any chain the library's limits allow (as in dual.py), and UPL
  inflates a bound computed through a libm function.
"""
from __future__ import annotations

import numpy as np

from .dual import EPS, REL_OK, SAFETY, TINY

LIBM_ULPS = 8


class Precision:
    """The error model's constants for one floating-point type (see the docstring)."""

    def __init__(self, dtype):
        info = np.finfo(dtype)
        self.dtype = dtype
        u = float(info.epsneg)                            # 2**-(mantissa bits + 1)
        self.eps = dtype(2 * u)                           # an ulp of y is <= eps |y|
        self.round = dtype(u) * (1 + dtype(4 * u))        # an IEEE op's rounding / |result|
        self.tiny = dtype(info.smallest_normal)           # >= what an underflow loses
        self.lib = LIBM_ULPS * self.eps                   # a libm result's relative error
        self.libt = LIBM_ULPS * self.tiny                 # and its absolute part
        self.upl = 1 + 4 * self.lib                       # inflates a bound through libm


F64 = Precision(np.float64)
# x87's 64-bit mantissa where the platform has it (2,048 times float64's precision): the
# second stage for the points float64 cannot vouch for (None where long double is double)
LONG = Precision(np.longdouble) if np.finfo(np.longdouble).nmant >= 63 else None
RESCALE = 2.0 ** -900           # the Taylor pass rescales an order-1 entry below this * |f|
OPS = frozenset({"var", "const", "add", "sub", "neg", "mul", "div", "powi", "square", "exp",
                 "expm1", "log", "log1p", "sqrt", "sin", "cos", "atan"})
SLICE = 16384                   # points at a time: a slice's arrays stay in the cache


def supported(nodes) -> bool:
    """Whether every op of the graph has a rule here."""
    return all(node.op in OPS for node in nodes)


def derivatives(nodes, wrt: str, flat: dict, order: int):
    """(out, vouched), both (order+1, P): f and, for order 1, f' at the P points of ``flat``
    (name -> 1-D array), and which entries the bound keeps within REL_OK of the exact value
    (the others are float64's, unchecked: the caller takes them from the Taylor pass and
    refine.py). ``order`` is 0 or 1."""
    size = len(next(iter(flat.values()))) if flat else 1
    out = np.empty((order + 1, size))
    vouched = np.empty((order + 1, size), dtype=bool)
    uses = _last_uses(nodes)
    step = -(-size // -(-size // SLICE))   # slices of equal sizes, at most SLICE
    with np.errstate(all="ignore"):
        for lo in range(0, size, step):
            hi = min(lo + step, size)
            part = {name: a[lo:hi] for name, a in flat.items()}
            v, d, ev, ed = _pass(nodes, wrt, part, uses, F64)
            out[0, lo:hi] = v
            vouched[0, lo:hi] = _vouch(out[0, lo:hi], ev)
            if order:
                # f' only where every node's value is defined: a finite bound on f (one
                # out of its domain, log(-2) in log(x)**0 + x, gives inf or nan)
                defined = np.isfinite(ev)
                if d is None:   # f does not depend on wrt: f' is 0 where f is defined
                    out[1, lo:hi] = 0.0
                    vouched[1, lo:hi] = defined
                else:
                    out[1, lo:hi] = d
                    d = out[1, lo:hi]
                    ok = _vouch(d, ed)      # (and not where the Taylor pass rescales)
                    ok &= np.abs(d) >= RESCALE * np.maximum(np.abs(out[0, lo:hi]), 1.0)
                    vouched[1, lo:hi] = ok & defined
    return out, vouched


def recheck(nodes, wrt: str, flat: dict, out: np.ndarray, vouched: np.ndarray,
            cols: np.ndarray) -> np.ndarray:
    """The points ``cols`` that float64's bound could not vouch for, again in long double
    (LONG, 64-bit mantissa: its bound about 2,000 times tighter), for refine.py before any
    ball check: an entry y is kept where |y - w| + bound <= REL_OK |y| (w the long double
    value); else replaced by the float64 that the whole interval w +- bound rounds to
    where that is one number (the exact value correctly rounded: what a ball check prints),
    or by float64(w) where that is within REL_OK all the same (its last bit may then differ
    from the ball's); vouched either way, in ``out`` and ``vouched`` in place. Returns the
    (order+1, len(cols)) mask of the replaced entries; all False without LONG."""
    replaced = np.zeros((out.shape[0], len(cols)), dtype=bool)
    if LONG is None or not len(cols):
        return replaced
    with np.errstate(all="ignore"):
        _recheck(nodes, wrt, flat, out, vouched, cols, replaced)
    return replaced


def _recheck(nodes, wrt, flat, out, vouched, cols, replaced) -> None:
    uses = _last_uses(nodes)
    part = {name: a[cols].astype(np.longdouble) for name, a in flat.items()}
    v, d, ev, ed = _pass(nodes, wrt, part, uses, LONG)
    rows = [(v, ev)]
    if out.shape[0] > 1:
        rows.append((d, ed) if d is not None else None)
    defined = np.isfinite(ev)
    for k, row in enumerate(rows):
        if row is None:             # (f' exactly 0 where f is defined: stage 1's verdict)
            continue
        w, e = (np.broadcast_to(np.asarray(z, dtype=np.longdouble), cols.shape) for z in row)
        y = out[k, cols]
        e = e * SAFETY
        keep = np.abs(y - w) * (1 + LONG.eps) + e <= REL_OK * np.abs(y)
        keep &= np.isfinite(y) & (y != 0)
        e = e * (1 + LONG.eps)
        lo, hi = (w - e).astype(np.float64), (w + e).astype(np.float64)
        one = (lo == hi) & np.isfinite(lo) & (np.abs(lo) >= 2.0 ** -1000) & np.isfinite(e)
        near = w.astype(np.float64)                     # within REL_OK of the exact value?
        close = (np.abs(near - w) * (1 + LONG.eps) + e <= REL_OK * np.abs(near)) \
            & np.isfinite(near) & (np.abs(near) >= 2.0 ** -1000)
        new = np.where(one, lo, near)
        if k:
            keep &= defined
            one &= defined
            close &= defined
        was = vouched[k, cols]
        change = (one | close) & ~keep & ~was
        keep &= ~was
        out[k, cols[change]] = new[change]
        replaced[k] = change
        vouched[k, cols[keep | change]] = True


def plain(entries: np.ndarray) -> np.ndarray:
    """(P,) bool: the points whose entries (order+1, P) are finite, not 0 and not below the
    Taylor pass's rescaling threshold, where this pass's numbers are the Taylor pass's
    bits whether vouched for or not."""
    ok = np.isfinite(entries).all(axis=0) & (entries != 0).all(axis=0)
    if entries.shape[0] > 1:
        ok &= np.abs(entries[1]) >= RESCALE * np.maximum(np.abs(entries[0]), 1.0)
    return ok


def _vouch(y, e):
    """SAFETY * e <= REL_OK * |y| with y finite and not 0 (nan fails)."""
    ay = np.abs(y)
    ok = SAFETY * e <= REL_OK * ay
    ok &= ay <= 1.7976931348623157e308
    ok &= ay > 0.0
    return ok


def _last_uses(nodes) -> dict:
    last = {}
    for position, node in enumerate(nodes):
        for i in node.inputs:
            last[i.id] = position
    return last


def _pass(nodes, wrt, flat, last_use, k):
    """(v, d, ev, ed) of the root (d None: no dependence on wrt, an exact 0)."""
    val: dict = {}
    for position, node in enumerate(nodes):
        val[node.id] = _rule(node, [val[i.id] for i in node.inputs], wrt, flat, k)
        for i in node.inputs:
            if last_use[i.id] == position:
                val.pop(i.id, None)
    return val[nodes[-1].id]


def _zero(e) -> bool:
    """Whether a bound is the exact scalar 0 (an input without error)."""
    return type(e) is float and e == 0.0


def _mul(a, ea, b, eb, k):
    """(a * b, bound) from (a, ea) and (b, eb)."""
    p = a * b
    e = np.abs(p)
    e *= k.round
    e += k.tiny
    if not _zero(eb):
        e += np.abs(a) * eb
    if not _zero(ea):
        e += np.abs(b) * ea
        if not _zero(eb):
            e += ea * eb
    return p, e


def _add(a, ea, b, eb, k, sign=1.0):
    s = a + b if sign > 0 else a - b
    e = np.abs(s)
    e *= k.round
    if not _zero(ea):
        e += ea
    if not _zero(eb):
        e += eb
    return s, e


def _div(a, ea, b, eb, k):
    """(a / b, bound); inf where eb > |b| / 2 (the exact divisor may be 0)."""
    q = a / b
    aq = np.abs(q)
    e = k.round * aq + k.tiny
    ab = np.abs(b)
    if _zero(eb):
        if not _zero(ea):
            e += ea / ab
        return q, e
    lo = np.where(eb <= 0.5 * ab, ab - eb, 0.0)      # /0: inf, never vouched
    top = aq * (1.0 + k.eps) * eb
    if not _zero(ea):
        top += ea
    e += top / lo
    return q, e


def _libm(v, k):
    e = np.abs(v)
    e *= k.lib
    e += k.libt
    return e


def _chain(v, ev, g, eg, da, eda, k):
    """(v, g * da) with their bounds: the chain rule through f with f'(a) = g."""
    if da is None:
        return v, None, ev, 0.0
    if type(da) is float and da == 1.0:     # the variable itself: g * 1.0 is g
        return v, g, ev, eg
    d, ed = _mul(g, eg, da, eda, k)
    return v, d, ev, ed


def _rule(node, ins, wrt, flat, k):
    op = node.op
    if op == "var":
        x = flat.get(node.name)
        x = np.asarray(x if x is not None else [0.0], dtype=k.dtype)
        return x, (1.0 if node.name == wrt else None), 0.0, 0.0
    if op == "const":   # (a 1-element array, as the Taylor pass's: the same numpy loops)
        return np.full(1, node.value, dtype=k.dtype), None, 0.0, 0.0
    if op == "add" or op == "sub":
        (va, da, ea, eda), (vb, db, eb, edb) = ins
        sign = 1.0 if op == "add" else -1.0
        v, ev = _add(va, ea, vb, eb, k, sign)
        if db is None:
            return v, da, ev, eda
        if da is None:
            return v, (db if sign > 0 else 0.0 - db), ev, edb
        d, ed = _add(da, eda, db, edb, k, sign)
        return v, d, ev, ed
    if op == "neg":
        va, da, ea, eda = ins[0]
        return -va, (None if da is None else -da), ea, eda
    if op == "mul":
        (va, da, ea, eda), (vb, db, eb, edb) = ins
        v, ev = _mul(va, ea, vb, eb, k)
        if da is None and db is None:
            return v, None, ev, 0.0
        if db is None:
            d, ed = _mul(da, eda, vb, eb, k)
        elif da is None:
            d, ed = _mul(va, ea, db, edb, k)
        else:
            p1, e1 = _mul(va, ea, db, edb, k)      # series.mul: u0 v1 + u1 v0
            p2, e2 = _mul(da, eda, vb, eb, k)
            d, ed = _add(p1, e1, p2, e2, k)
        return v, d, ev, ed
    if op == "div":
        (va, da, ea, eda), (vb, db, eb, edb) = ins
        v, ev = _div(va, ea, vb, eb, k)
        if db is None:
            if da is None:
                return v, None, ev, 0.0
            d, ed = _div(da, eda, vb, eb, k)
            return v, d, ev, ed
        return _quotient_slope(v, ev, da, eda, vb, db, eb, edb, k)
    if op == "powi" or op == "square":
        n = 2 if op == "square" else node.attrs["n"]
        if n >= 0:
            return _power(ins[0], n, op == "square", k)
        vw, dw, ew, edw = _power(ins[0], -n, False, k)     # 1 / x**-n, as the forward rule
        v, ev = _div(1.0, 0.0, vw, ew, k)
        if dw is None:
            return v, None, ev, 0.0
        return _quotient_slope(v, ev, None, 0.0, vw, dw, ew, edw, k)
    va, da, ea, eda = ins[0]
    if op == "exp" or op == "expm1":
        g = np.exp(va)
        v = g if op == "exp" else np.expm1(va)
        eg = _libm(g, k)
        ev = eg if op == "exp" else _libm(v, k)
        if not _zero(ea):   # exp(A) - exp(a), for the value and the slope alike
            move = (np.abs(g) + eg) * k.upl * (ea * (1.0 + ea))
            move = np.where(ea <= 1.0, move, np.inf)
            ev = ev + move
            eg = eg + move
        return _chain(v, ev, g, eg, da, eda, k)
    if op == "log" or op == "log1p":
        v = np.log(va) if op == "log" else np.log1p(va)
        arg = va if op == "log" else va + 1.0          # (log1p's slope: 1 / (a + 1))
        earg = ea if op == "log" else ea + k.round * np.abs(arg)
        ev = _libm(v, k)
        lo = np.where(arg - earg > 0.5 * arg, arg - earg, 0.0)    # 0: the domain's edge
        if not _zero(earg):
            ev = ev + earg / lo
        if da is None:
            return v, None, ev, 0.0
        d, ed = _div(da, eda, arg, earg, k)
        return v, d, ev, np.where(lo > 0.0, ed, np.inf)   # (1 / a at a < 0: no log there)
    if op == "sqrt":
        v = np.sqrt(va)
        ev = k.round * v
        if not _zero(ea):
            ev = ev + np.where(va - ea > 0.5 * va, ea / (v * (1.0 - k.eps)), np.inf)
        if da is None:
            return v, None, ev, 0.0
        d, ed = _div(da, eda, 2.0 * v, 2.0 * ev, k)       # series.sqrt: u1 / (2 q0)
        return v, d, ev, ed
    if op == "sin" or op == "cos":
        if da is None:      # a value alone: the forward rule
            v = np.sin(va) if op == "sin" else np.cos(va)
            return v, None, _libm(v, k) + ea, 0.0
        s = np.sin(va)
        c = np.cos(va)
        v, g = (s, c) if op == "sin" else (c, s)
        ev, eg = _libm(v, k), _libm(g, k)
        if not _zero(ea):
            ev, eg = ev + ea, eg + ea                   # sin, cos: 1-Lipschitz
        if op == "sin" or da is None:
            return _chain(v, ev, g, eg, da, eda, k)
        v, d, ev, ed = _chain(v, ev, g, eg, da, eda, k)   # series.sin_cos: -(u1 sin u0)
        return v, -d, ev, ed
    if op == "atan":
        v = np.arctan(va)
        ev = _libm(v, k)
        if not _zero(ea):
            ev = ev + ea                                # atan: 1-Lipschitz
        if da is None:
            return v, None, ev, 0.0
        q, _, eq, _ = _power((va, None, ea, 0.0), 2, True, k)
        q, eq = _add(q, eq, 1.0, 0.0, k)                   # 1 + a**2, as series.add
        d, ed = _div(da, eda, q, eq, k)
        return v, d, ev, ed
    raise AssertionError(op)   # (OPS lists the ops above)


def _quotient_slope(v, ev, da, eda, vb, db, eb, edb, k):
    """(v, (da - db v) / b) with their bounds: series.div's order 1 (da None: 0)."""
    t, et = _mul(db, edb, v, ev, k)
    if da is None:
        s, es = 0.0 - t, et
    else:
        s, es = _add(da, eda, t, et, k, -1.0)
    d, ed = _div(s, es, vb, eb, k)
    return v, d, ev, ed


def _power(a, n: int, square: bool, k):
    """a**n for n >= 0 and its slope n a**(n-1) da with their bounds, as the Taylor pass:
    ``np.power`` (series.integer_power's order-1 case; np.square for ``square``)."""
    va, da, ea, eda = a
    if n == 0:   # 1, where a is defined (a**0 of log(-1) is not vouched for)
        defined = np.isfinite(va + ea)
        return np.ones(defined.shape, dtype=k.dtype), None, np.where(defined, 0.0, np.inf), 0.0
    if n == 1:
        return a
    if da is None and not square:
        v = np.power(va, n)                      # the forward rule on a value alone
    elif square or n == 2:
        v = np.square(va) if square else np.power(va, 2.0)
    else:
        v = np.power(va, float(n))
    if n == 2:   # x * x: correctly rounded (numpy's power takes 2 as a square)
        ev = k.round * np.abs(v) + k.tiny
    else:
        ev = _libm(v, k)
    if not _zero(ea):
        m = (np.abs(va) + ea) * (1.0 + k.eps)
        m2 = np.power(m, n - 2) * k.upl if n > 2 else 1.0
        ev = ev + n * (m2 * m * (1.0 + k.eps)) * ea
    if da is None:
        return v, None, ev, 0.0
    if square:   # series.mul: u0 u1 + u1 u0 = 2 (u0 u1), exactly
        p, e = _mul(va, ea, da, eda, k)
        return v, 2.0 * p, ev, 2.0 * e
    p = va if n == 2 else np.power(va, float(n - 1))
    g = p * n
    eg = (k.round * np.abs(g) + k.tiny) if n == 2 else (n * _libm(p, k) + k.round * np.abs(g))
    if not _zero(ea):
        eg = eg + n * (n - 1) * m2 * ea
    return _chain(v, ev, g, eg, da, eda, k)
