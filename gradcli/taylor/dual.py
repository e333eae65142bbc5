r"""The value and first derivative of a graph at one point on Python floats, with a rigorous running error bound.

Taylor mode's order-1 pass at one point carries two numbers per node; as numpy arrays that
is a few microseconds of overhead per node for nanoseconds of arithmetic. This pass carries,
per node, the float pair (v, d) = (f, df/dx) and two bounds (ev, ed) on their distance from
the exact value and derivative of the node at the point (constants are the float64 values
they denote, as in ball.py's check). Each rule adds to the bounds what its inputs' errors
can become (first order and the rest: |ab - a'b'| <= |a| eb + |b| ea + ea eb) and its own
roundings (u = 2**-53 relative per operation, bounded by EPS = 2u times the rounded result,
plus 2**-1074 for a product or power that may underflow). Sums are n-ary: a chain of
``+``/``-`` whose partial sums nothing else reads is summed once by ``math.fsum``
(correctly rounded), so a sum of N terms adds one rounding, not N. The powers of a
variable, x**n and n x**(n-1), are double-doubles (hi, lo), all powers of one variable at
once (``_exact_powers``), and an exact number times one is Dekker's exact product
(``_const_times``): a sum of such terms keeps both parts, so a polynomial written in any
sum form is exact to about u**2 before its one rounding, whatever its cancellation (W5's
derivative cancels 10**6 of its terms' size). Other powers come from the C library's
``pow``, taken within one ulp (glibc and musl document 0.52 ulp).

The bounds themselves are computed in floats; every step adds or multiplies nonnegative
numbers, so a chain of L steps underestimates by at most a relative (1 + u)**(c L) - 1,
far below the factor SAFETY applied at the end for any graph the limits allow.

``first_order`` returns (v, d, ev, ed), or None for an op without a rule here, a value
beyond float64, or anything not finite: the caller then takes the general way (the numpy
Taylor pass, the screen and refine.py). An entry is vouched for when SAFETY * e <= REL_OK *
|value| (REL_OK a margin below gradcli's 1e-13, SPEC 6.1), or it is exactly 0 with e = 0;
the others are checked in ball arithmetic (ball.py ``certify``) by the caller.
"""
from __future__ import annotations

import math
from collections import Counter
from operator import attrgetter

EPS = 2.0 ** -52            # |fl(a op b) - (a op b)| <= EPS |fl(a op b)| (normal range)
TINY = 2.0 ** -1074         # what one product or power may lose to underflow
SAFETY = 1.001              # the bounds' own roundings (see the module docstring)
REL_OK = 0.99e-13           # vouched for: the bound within this of the value (1e-13 with margin)
UP = 1.0 + 4 * EPS          # rounds a bound's base upwards before a power
OPS = frozenset({"var", "const", "add", "sub", "neg", "mul", "powi"})

_fsum, _abs, _copysign = math.fsum, abs, math.copysign
_first, _second = attrgetter("_a"), attrgetter("_b")   # a node's inputs (graph.Node's slots)


class _Sum:
    """A sum not yet rounded: its terms' values and derivatives (times ``sign``), with the
    sum of their error bounds."""
    __slots__ = ("vs", "ds", "ev", "ed", "sign")

    def __init__(self, vs, ds, ev, ed, sign):
        self.vs, self.ds, self.ev, self.ed, self.sign = vs, ds, ev, ed, sign


def _neg_zero(v: float) -> bool:
    return v == 0.0 and _copysign(1.0, v) < 0.0


def _close(s: _Sum) -> tuple:
    """(v, d, ev, ed) of a sum: one correct rounding each (IEEE's sign of an exact 0: -0.0
    when every term is -0.0, as a sequence of additions gives)."""
    v, d = _fsum(s.vs), _fsum(s.ds)
    if v == 0.0 and all(map(_neg_zero, s.vs)):
        v = -0.0
    if d == 0.0 and all(map(_neg_zero, s.ds)):
        d = -0.0
    if s.sign < 0:
        v, d = -v, -d
    return v, d, s.ev + EPS * _abs(v), s.ed + EPS * _abs(d)


def first_order(nodes, wrt: str, point: dict):
    """(f, f', bound on |f - exact|, bound on |f' - exact|) at ``point`` (name -> float)
    along ``wrt``, or None (see the module docstring)."""
    for node in nodes:
        if node.op not in OPS or (node.op == "powi" and node.attrs["n"] < 0):
            return None
    try:
        return _pass(nodes, wrt, point)
    except (OverflowError, ValueError, ZeroDivisionError):
        return None


def _pass(nodes, wrt, point):
    # how many nodes read each node (read through the slots: no inputs tuple per node)
    uses = Counter(map(_first, nodes))
    uses.update(map(_second, nodes))
    val: dict = {}          # node id -> (v, d, ev, ed) or an open _Sum
    get = val.get

    def closed(node):
        x = val[node.id]
        if type(x) is _Sum:
            x = val[node.id] = _close(x)
        return x

    dd = _exact_powers(nodes, wrt, point)   # node id -> (vh, vl, dh, dl, ev, ed)
    for key, (vh, vl, dh, dl, ev, ed) in dd.items():
        v, d = vh + vl, dh + dl
        val[key] = (v, d, ev + EPS * _abs(v), ed + EPS * _abs(d))

    def append(s, node, negate):
        """Add a closed operand's value and derivative to the open sum s (a double-double's
        two parts where the node has them)."""
        e = dd.get(node.id)
        if e is None:
            v, d, ev, ed = closed(node)
            if negate:
                v, d = -v, -d
            s.vs.append(v)
            s.ds.append(d)
        else:
            vh, vl, dh, dl, ev, ed = e
            if negate:
                vh, vl, dh, dl = -vh, -vl, -dh, -dl
            s.vs.append(vh)
            s.ds.append(dh)
            if vl:
                s.vs.append(vl)
            if dl:
                s.ds.append(dl)
        s.ev += ev
        s.ed += ed

    for node in nodes:
        op = node.op
        if op == "add" or op == "sub":
            a, b = node._a, node._b
            xa, xb = get(a.id), get(b.id)
            t = 1.0 if op == "add" else -1.0
            open_a = type(xa) is _Sum and uses[a] == 1 and a is not b
            open_b = type(xb) is _Sum and uses[b] == 1 and a is not b
            if open_a and open_b:
                if len(xa.vs) >= len(xb.vs):
                    base, other, sign = xa, xb, xa.sign
                else:
                    base, other, sign = xb, xa, t * xb.sign
                factor = xa.sign * xb.sign * t
                if factor > 0:
                    base.vs.extend(other.vs)
                    base.ds.extend(other.ds)
                else:
                    base.vs.extend([-z for z in other.vs])
                    base.ds.extend([-z for z in other.ds])
                base.ev += other.ev
                base.ed += other.ed
                base.sign = sign
                val[node.id] = base
            elif open_a:
                append(xa, b, xa.sign * t < 0)
                val[node.id] = xa
            elif open_b:
                append(xb, a, xb.sign * t < 0)   # a - s*S = -s * (S - s*a)
                xb.sign *= t
                val[node.id] = xb
            else:
                s = _Sum([], [], 0.0, 0.0, 1.0)
                append(s, a, False)
                append(s, b, t < 0)
                val[node.id] = s
        elif op == "mul":
            a, b = node._a, node._b
            if dd and (b.id in dd or a.id in dd):   # an exact number times a double-double
                c, e = (val[a.id], dd[b.id]) if b.id in dd else (val[b.id], dd[a.id])
                if type(c) is tuple and c[1] == 0.0 and c[2] == 0.0 and c[3] == 0.0 \
                        and (a.id not in dd or b.id not in dd):
                    e = _const_times(c[0], e)
                else:
                    e = None
                if e is not None:
                    dd[node.id] = e
                    vh, vl, dh, dl, ev, ed = e
                    v, d = vh + vl, dh + dl
                    val[node.id] = (v, d, ev + EPS * _abs(v), ed + EPS * _abs(d))
                    continue
            xa, xb = val[a.id], val[b.id]      # (closed() inline: the usual case)
            if type(xa) is _Sum:
                xa = closed(a)
            if type(xb) is _Sum:
                xb = closed(b)
            va, da, eva, eda = xa
            vb, db, evb, edb = xb
            v = va * vb
            p1 = da * vb
            p2 = va * db
            d = p1 + p2
            if eva == 0.0 and evb == 0.0 and eda == 0.0 and edb == 0.0:
                ev = EPS * _abs(v) + TINY
                ed = EPS * (_abs(p1) + _abs(p2) + _abs(d)) + 2 * TINY
            else:
                aa, ab, ada, adb = _abs(va), _abs(vb), _abs(da), _abs(db)
                ev = ab * eva + aa * evb + eva * evb + EPS * _abs(v) + TINY
                ed = (ada * evb + ab * eda + eda * evb + aa * edb + adb * eva + eva * edb
                      + EPS * (_abs(p1) + _abs(p2) + _abs(d)) + 2 * TINY)
            val[node.id] = (v, d, ev, ed)
        elif op == "powi":
            if node.id in dd:
                continue
            n = node.attrs["n"]
            xa = val[node._a.id]
            va, da, eva, eda = closed(node._a) if type(xa) is _Sum else xa
            if n == 0:
                val[node.id] = (1.0, 0.0, 0.0, 0.0)
                continue
            if n == 1:
                val[node.id] = (va, da, eva, eda)
                continue
            p = va ** (n - 1)
            v = va ** n
            d = n * p * da
            ev = EPS * _abs(v) + TINY
            ed = 4 * EPS * _abs(d) + 3 * TINY
            if eva != 0.0 or eda != 0.0:
                m = (_abs(va) + eva) * UP           # |a|, |exact a| <= m
                m1 = m ** (n - 1) * UP              # bounds |a|**(n-1) and |exact a|**(n-1)
                m2 = m ** (n - 2) * UP
                ev += n * m1 * eva
                ed += n * ((n - 1) * m2 * eva * _abs(da) + m1 * eda)
            val[node.id] = (v, d, ev, ed)
        elif op == "neg":
            a = node._a
            x = val[a.id]
            if type(x) is _Sum and uses[a] == 1:
                x.sign = -x.sign
                val[node.id] = x
            elif a.id in dd:
                vh, vl, dh, dl, ev, ed = dd[a.id]
                dd[node.id] = (-vh, -vl, -dh, -dl, ev, ed)
                v, d, ev, ed = x
                val[node.id] = (-v, -d, ev, ed)
            else:
                v, d, ev, ed = closed(a)
                val[node.id] = (-v, -d, ev, ed)
        elif op == "const":
            val[node.id] = (node.value, 0.0, 0.0, 0.0)
        else:   # var
            x0 = float(point.get(node.name, 0.0))
            val[node.id] = (x0, 1.0 if node.name == wrt else 0.0, 0.0, 0.0)
    v, d, ev, ed = closed(nodes[-1])
    if not all(map(math.isfinite, (v, d, ev, ed))):
        return None
    return v, d, ev * SAFETY, ed * SAFETY


def _exact_powers(nodes, wrt, point) -> dict:
    """x**n and n x**(n-1) as double-doubles (hi, lo) for every power n >= 2 of a variable,
    all powers of one variable at once by binary powering (gradcli/taylor/polynomial.py's
    error-free products), with their bounds: relative 2 (n + bits(n) + 4) * 16 u**2 (that
    module's bound for a power, doubled), and u |n lo| for n times the low part. Nothing for
    a variable whose powers leave [2**-900, 2**900] (then the float rules)."""
    groups: dict[str, list] = {}
    for node in nodes:
        if node.op == "powi" and node._a.op == "var" and node.attrs["n"] >= 2:
            groups.setdefault(node._a.name, []).append(node)
    out: dict = {}
    if not groups:
        return out
    import numpy as np

    from .polynomial import DD_ERROR, HUGE, TINY as LOW, _binary_powers, _dd_times, \
        _in_range, _two_product

    for name, group in groups.items():
        x = float(point.get(name, 0.0))
        if not LOW <= abs(x) <= HUGE:
            continue
        ns = np.array([node.attrs["n"] for node in group], dtype=np.int64)
        with np.errstate(all="ignore"):
            found = _binary_powers(x, ns - 1)
            if found is None:
                continue
            qh, ql = found
            ph, pl = _dd_times(qh, ql, x, 0.0)
            if not _in_range(ph):
                continue
            if name == wrt:
                kf = ns.astype(np.float64)
                dh, de = _two_product(kf, qh)      # n * qh exactly
                dl = de + kf * ql
            else:
                dh = dl = np.zeros(len(ns))
            bits = np.array([int(n).bit_length() for n in ns.tolist()], dtype=np.float64)
            eps = 2.0 * (ns + bits + 4.0) * DD_ERROR
            ev = eps * np.abs(ph) + TINY
            ed = eps * np.abs(dh) + EPS * np.abs(dl) + TINY
        if not (np.all(np.isfinite(ev)) and np.all(np.isfinite(ed))):
            continue
        for node, e in zip(group, zip(ph.tolist(), pl.tolist(), dh.tolist(), dl.tolist(),
                                      ev.tolist(), ed.tolist())):
            out[node.id] = e
    return out


_SPLIT_LOW, _SPLIT_HIGH = 2.0 ** -900, 2.0 ** 900


def _const_times(c: float, e: tuple):
    """c times a double-double entry (value and derivative), by Dekker's exact product, or
    None out of its range (then the float rule)."""
    vh, vl, dh, dl, ev, ed = e
    ac = _abs(c)
    if not _SPLIT_LOW <= ac <= _SPLIT_HIGH or not _SPLIT_LOW <= _abs(vh) * ac <= _SPLIT_HIGH:
        return None
    p, q = _product(c, vh)
    lo = q + c * vl
    if dh != 0.0:
        if not _SPLIT_LOW <= _abs(dh) * ac <= _SPLIT_HIGH:
            return None
        p2, q2 = _product(c, dh)
        lo2 = q2 + c * dl
    else:
        p2, lo2 = c * dh, 0.0
    return (p, lo, p2, lo2, ac * ev + EPS * (_abs(c * vl) + _abs(lo)) + TINY,
            ac * ed + EPS * (_abs(c * dl) + _abs(lo2)) + TINY)


def _product(a: float, b: float):
    """p + e = a * b exactly (Dekker, Veltkamp's split; the range is the caller's check)."""
    p = a * b
    t = 134217729.0 * a
    a1 = t - (t - a)
    a2 = a - a1
    t = 134217729.0 * b
    b1 = t - (t - b)
    b2 = b - b1
    return p, ((a1 * b1 - p) + a1 * b2 + a2 * b1) + a2 * b2


def vouched(value: float, bound: float) -> bool:
    """Whether the bound keeps the value within gradcli's 1e-13 of the exact one."""
    return bound <= REL_OK * _abs(value) if value != 0.0 else bound == 0.0
