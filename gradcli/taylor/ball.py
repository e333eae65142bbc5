r"""Ball arithmetic over the op graph: Taylor series with rigorous error bounds (python-flint).

The fifth interpreter over the same graph (after forward values, the tape, the
float64 Taylor engine and SymPy): every node's truncated Taylor series is a
``flint.arb_series`` whose coefficients are balls (midpoint +- radius) that
certainly contain the exact coefficient. It serves the certified digits of SPEC
section 6.1: the float64 engine's results are checked (and where needed replaced)
against it, and ``--digits D`` prints from it.

Convention (the contract every op's ``ball`` rule follows)
-----------------------------------------------------------
- Coefficients are UNSCALED: to differentiate along x at a, the variable is the
  series a + t, and a node u carries  c_k = u^(k)(a) / k!,  k = 0..N.  (Arb's
  exponents are unbounded, so no rescaling is needed: 1/1000! and 10**2518 are
  ordinary balls.)  f^(k)(a) = c_k * k! is formed at the end, in ball arithmetic.
- A rule is ``ball(*series, **attrs) -> arb_series``: it receives one
  ``flint.arb_series`` per input (the op's attributes as keywords, as in the
  ``taylor`` rule) and returns the series of its output.  Every series has
  ``prec`` (flint's word for the series length) N+1; a node that does not depend
  on x is a series whose coefficients above the value are 0 (see ``is_constant``).
- Working precision and length are set by the interpreter for the whole
  evaluation (``working``: flint.ctx.prec in bits, flint.ctx.cap = N+1) and
  restored after; a rule never changes flint.ctx, and builds new constants with
  ``arb(...)``/``arb_series(...)`` (which take the working precision).
- A rule may raise ``Undecided`` when a ball does not decide something it must
  (which branch of a piecewise op, whether an argument is on a pole or a branch
  cut): the interpreter retries at a higher precision and, at the highest, reports
  the point (an error, never a guess).  A rule raises ``OutOfDomain`` when the
  argument is certainly outside the real domain (log of a negative number).
  A non-finite coefficient in a result counts as undecided too.
- Piecewise ops use the branch the ball lies in (``sign_of`` below).  At a point
  exactly on a kink (an exact ball: the argument is exactly 0, or a tie is exact),
  the rule follows SPEC section 4 as the float64 rule does (|x|' at 0 is 0, max at
  a tie gives 1/2 to each side, sqrt'(0) is +inf).
- Helpers for rules: ``value``, ``coefficients``, ``series``, ``constant``,
  ``with_value``, ``through`` (f(u) = f(u_0) + integral of f'(u) D(u)),
  ``is_constant``, ``sign_of``, ``compare``, ``at_zero``.

Functions with an ``arb_series`` method (exp, log, sin, cos, tan, atan, asin, acos,
sqrt, rsqrt, erf, erfc, gamma, lgamma, rgamma, ...) map directly; the others compose
(tanh from exp, asinh through its derivative, ...).

Entry points: ``root_series`` (the balls c_0..c_N of the root at one point and one
precision), ``certify`` (check float64 derivatives to 1e-13 relative, replacing
the entries that are not) and ``certified_derivatives`` / ``decimal`` (D correct
digits, rising precision).  flint is imported here only: nothing on the path of a
plain ``gradcli diff`` imports this module.
"""
from __future__ import annotations

import math
import sys
import threading

import flint
from flint import arb, arb_series

from ..errors import EvaluationError


class Undecided(Exception):
    """A ball does not decide a branch, a pole or a domain: retry at higher precision."""


class OutOfDomain(EvaluationError):
    """The argument is certainly outside the op's real domain."""


class NoBallRule(EvaluationError):
    """An op of the graph has no ball rule (yet)."""


class NotCertified(EvaluationError):
    """No precision up to the limit gave a decided, finite ball: names the point."""


# -- the working precision ---------------------------------------------------------------
_LOCK = threading.RLock()   # flint.ctx is one per process: one ball computation at a time


class working:
    """``with working(prec, length):`` flint.ctx.prec = prec bits and series length
    ``length`` inside, restored after (under a lock: flint's context is process-wide, and
    threads must not see each other's). A class, not a generator: it is entered for every
    point a refinement checks."""

    __slots__ = ("length", "old", "prec")

    def __init__(self, prec: int, length: int):
        self.prec, self.length = prec, length

    def __enter__(self):
        _LOCK.acquire()
        ctx = flint.ctx
        self.old = ctx.prec, ctx.cap
        ctx.prec, ctx.cap = self.prec, self.length

    def __exit__(self, *exc):
        flint.ctx.prec, flint.ctx.cap = self.old
        _LOCK.release()


# -- helpers for the rules -----------------------------------------------------------------
def coefficients(s: arb_series) -> list:
    """c_0..c_N of s as arbs (zeros written out up to the series length)."""
    cs = s.coeffs()
    n = flint.ctx.cap
    return cs + [arb(0)] * (n - len(cs)) if len(cs) < n else cs[:n]


def value(s: arb_series) -> arb:
    """c_0: the value of the node at the point (0 for the zero series)."""
    return s[0]


def series(cs) -> arb_series:
    """The series with coefficients cs."""
    return arb_series(list(cs))


def constant(v) -> arb_series:
    """The series of a constant."""
    return arb_series([arb(v)])


def with_value(s: arb_series, v) -> arb_series:
    """s with its value replaced by the (more accurate) ball v."""
    cs = coefficients(s)
    cs[0] = arb(v)
    return arb_series(cs)


def is_constant(s: arb_series) -> bool:
    """True when every coefficient above the value is exactly 0 (the node does not vary)."""
    return all(c.is_zero() for c in s.coeffs()[1:])


def through(u: arb_series, v0, dfu: arb_series) -> arb_series:
    """p = f(u) from the series dfu of f'(u): p_0 = v0, D(p) = dfu D(u)."""
    return with_value((dfu * u.derivative()).integral(), v0)


def sign_of(b: arb) -> int:
    """-1, 0 or 1 when the ball decides it (0 only for an exact 0), else Undecided."""
    if b.is_zero():
        return 0
    if b > 0:
        return 1
    if b < 0:
        return -1
    raise Undecided("a ball contains 0 and other numbers (a kink or a pole there?)")


def compare(a: arb, b: arb) -> int:
    """sign(a - b), with 0 for an exact tie (a and b exact and equal)."""
    if a.is_exact() and b.is_exact() and a == b:
        return 0
    return sign_of(a - b)


def at_zero(s: arb_series) -> bool:
    """True when the value is exactly 0; Undecided when its ball only contains 0."""
    return sign_of(value(s)) == 0


def one_sided(s: arb_series, a: float) -> arb_series:
    """u**a where u_0 = 0 exactly (SPEC 4's limits): the float64 rule's pattern of
    0, +-inf and nan (gradcli/taylor/series.py power_at_zero), as balls."""
    import numpy as np

    from . import series as T

    n = flint.ctx.cap
    if n == 1:                 # the value alone: 0**a = 0 (a > 0 here)
        return constant(0)
    lead = next((c for c in s.coeffs()[1:] if not c.is_zero()), None)
    if lead is not None and not lead.is_exact():
        sign_of(lead)   # a leading coefficient whose sign the ball does not decide
    u = np.zeros((n, 1))
    for k, c in enumerate(s.coeffs()[:n]):
        u[k, 0] = float(c.mid())
    pattern = T.power_at_zero(u, a, lambda c: np.sign(c) * np.abs(c) ** a
                              if a != round(a) else np.power(c, a))
    return arb_series([_special(float(x)) for x in pattern[:, 0]])


def _special(x: float) -> arb:
    if math.isnan(x):
        return arb.nan()
    if math.isinf(x):
        return arb.pos_inf() if x > 0 else arb.neg_inf()
    return arb(x)


# -- the interpreter -------------------------------------------------------------------------
def _leaf(node, wrt, point: dict, exact: bool) -> arb_series:
    if node.op == "var":
        x0 = _number(point.get(node.name, 0.0))
        if flint.ctx.cap > 1:
            if isinstance(wrt, dict):     # a direction: x_i = a_i + slope_i t
                if wrt.get(node.name):
                    return arb_series([x0, wrt[node.name]])
            elif node.name == wrt:
                return arb_series([x0, 1])
        return arb_series([x0])
    if exact and node.name == "pi":
        return arb_series([arb.pi()])
    if exact and node.name == "e":
        return arb_series([arb.const_e()])
    if exact:   # the decimal written: the node's text, else float64's shortest repr of it
        text = getattr(node, "text", None) or repr(float(node.value))
        return arb_series([arb(text)])
    return arb_series([arb(node.value)])


def _number(v) -> arb:
    """A point's value as a ball: a str is the exact decimal it writes, a float exact."""
    if isinstance(v, str):
        return arb(v.strip())
    return arb(float(v))


def root_series(nodes, wrt, point: dict, n: int, prec: int, exact: bool = False) -> list:
    """The balls c_0..c_n of the root at ``point`` (name -> float or decimal str), working at
    ``prec`` bits, along the variable ``wrt`` (or a direction: a dict name -> slope). ``exact``: constants written in the expression are the decimals written
    (and pi, e the real numbers), else the float64 values they denote."""
    with working(prec, n + 1):
        values: dict[int, arb_series] = {}
        for node, rule, inputs, attrs, inline in zip(*_plan(nodes)):
            if inline is not None:   # arith's own rules, without the calls (same operations)
                if inline == 1:
                    values[node.id] = values[inputs[0]] + values[inputs[1]]
                elif inline == 2:
                    values[node.id] = values[inputs[0]] * values[inputs[1]]
                elif inline == 3:
                    values[node.id] = values[inputs[0]] - values[inputs[1]]
                elif inline == 4:
                    values[node.id] = -values[inputs[0]]
                else:   # powi, n >= 0: integer_power's first case
                    values[node.id] = values[inputs[0]] ** attrs["n"] if attrs["n"] \
                        else constant(1)
                continue
            if rule is None:
                if node.op in ("var", "const"):
                    values[node.id] = _leaf(node, wrt, point, exact)
                    continue
                raise NoBallRule(f"'{node.op}' has no ball rule yet: certified digits are "
                                 f"not available for it")
            try:
                values[node.id] = rule(*[values[i] for i in inputs], **attrs)
            except (ValueError, ZeroDivisionError) as why:   # flint: a divisor's ball holds 0
                raise Undecided(f"{node.op}: {why}") from None   # (tanh's cosh at x = 1e64)
        return coefficients(values[nodes[-1].id])


_PLANS: list = []   # the last 4 (nodes, ops, plan): a refinement interprets one graph point by point


def _plan(nodes) -> tuple:
    """(nodes, ball rules or None, input ids, attrs, inline codes): five lists, one entry
    per node of a graph, remembered for the last few graphs (while the registry holds the
    same ops: tests replace some)."""
    from ..registry import OPS

    for entry in _PLANS:
        if entry[0] is nodes and all(OPS.get(name) is op for name, op in entry[1]):
            return entry[2]
    # four parallel lists, the input ids as tuples of ints: no container per node for the
    # cycle collector to scan again and again while the plan is remembered
    # add, mul, sub, neg and powi (n >= 0) run inline where the registry holds arith's own
    # classes (known by name, not imported: ops/arith's ball rules import this module)
    own = {name: code for code, (name, declared) in enumerate(
        [("add", "Add"), ("mul", "Mul"), ("sub", "Sub"), ("neg", "Neg"), ("powi", "PowInt")],
        start=1) if _is_arith(OPS.get(name), declared)}
    plan = (nodes, [None if node.op in ("var", "const") else OPS[node.op].ball for node in nodes],
            [tuple([i.id for i in node.inputs]) for node in nodes], [node.attrs for node in nodes],
            [None if node.op == "powi" and node.attrs["n"] < 0 else own.get(node.op)
             for node in nodes])
    ops = [(name, OPS.get(name)) for name in {node.op for node in nodes}]
    _PLANS.insert(0, (nodes, ops, plan))
    del _PLANS[4:]
    return plan


def _is_arith(op, class_name: str) -> bool:
    """Whether a registry entry is ops/arith's own ``class_name`` (its ball rule is)."""
    rule = getattr(op, "ball", None)
    return (getattr(rule, "__module__", None) == "gradcli.ops.arith"
            and getattr(rule, "__qualname__", None) == f"{class_name}.ball")


def _factorial(k: int) -> arb:
    return arb(math.factorial(k)) if k <= 20 else arb.fac_ui(k)


def derivative_balls(cs: list) -> list:
    """f^(k) = c_k * k! as balls (inside the caller's working precision)."""
    return [c if k < 2 or not c.is_finite() else c * _factorial(k) for k, c in enumerate(cs)]


def _finite(b: arb) -> bool:
    return b.is_finite() and not b.is_nan()


def _describe(point: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(point.items()))


def balls_at(nodes, wrt, point, n, prec, exact=False, max_prec=None):
    """(derivative balls, precision used), retrying at twice the precision while a rule is
    Undecided; OutOfDomain passes through; NotCertified past ``max_prec``."""
    max_prec = max_prec or max(4 * prec, 4096)
    while True:
        try:
            with working(prec, n + 1):
                cs = root_series(nodes, wrt, point, n, prec, exact)
                return derivative_balls(cs), prec
        except Undecided as why:
            if prec >= max_prec:
                raise NotCertified(f"no certified value at {_describe(point)}: {why}") from None
            prec *= 2


# -- shared rules (powers, quotients, logarithms: the domain decided by the ball) -----------
def divide(u: arb_series, v: arb_series) -> arb_series:
    """u / v; v's value exactly 0 is a pole (OutOfDomain), a ball around 0 Undecided."""
    if sign_of(value(v)) == 0:
        raise OutOfDomain("division by zero (a pole)")
    return u / v


def integer_power(u: arb_series, n: int) -> arb_series:
    """u**n for a constant integer n (exact for exact balls, u_0 = 0 included for n >= 0)."""
    if n >= 0:
        return u ** n if n else constant(1)
    if sign_of(value(u)) == 0:
        raise OutOfDomain("a negative power of 0 (a pole)")
    return 1 / (u ** -n)


def power(u: arb_series, v: arb_series) -> arb_series:
    """u**v: an integer constant v exactly, u**a for a constant a (u > 0; u = 0 by SPEC 4's
    one-sided limits), exp(v log u) when v varies (u > 0)."""
    if is_constant(v):
        a = value(v)
        if a.is_exact() and a.is_integer():
            return integer_power(u, int(a.unique_fmpz()))
        s = sign_of(value(u))
        if s > 0:
            return u ** a
        if s == 0 and a > 0:
            return one_sided(u, float(a.mid()))
        raise OutOfDomain("a negative base with a non-integer exponent, or 0 to a power <= 0")
    s = sign_of(value(u))
    if s > 0:
        return (v * u.log()).exp()
    raise OutOfDomain("a base <= 0 with a varying exponent")


def log(u: arb_series) -> arb_series:
    """log u for u > 0 (0 is a pole, below 0 outside the domain)."""
    s = sign_of(value(u))
    if s > 0:
        return u.log()
    raise OutOfDomain("the logarithm of 0 (a pole)" if s == 0 else "the logarithm of a "
                      "negative number")


def root(u: arb_series, a: float, series_root) -> arb_series:
    """sqrt/cbrt: series_root(u) for u > 0; at 0 exactly SPEC 4's one-sided limits."""
    s = sign_of(value(u))
    if s > 0:
        return series_root(u)
    if s == 0:
        return one_sided(u, a)
    raise OutOfDomain("the square root of a negative number")


def inside(u: arb_series, lo: float, hi: float, name: str) -> arb:
    """u's value, certainly strictly inside (lo, hi), else OutOfDomain or Undecided."""
    x = value(u)
    if x > lo and x < hi:
        return x
    if x <= lo or x >= hi:   # certainly outside the open interval (or on its end)
        raise OutOfDomain(f"{name} outside its domain ({lo}, {hi})")
    raise Undecided(f"{name}: the ball meets the end of its domain")


def exact_sum_root(s_series: arb_series) -> arb_series:
    """hypot at the origin exactly: H_k = (S_k - sum_{j=1..k-1} H_j H_{k-j}) / 2 with H_0 = 0
    (the float64 rule's floor: 0 is the smallest subgradient)."""
    s = coefficients(s_series)
    h = [arb(0)] * len(s)
    for k in range(1, len(s)):
        h[k] = (s[k] - sum((h[j] * h[k - j] for j in range(1, k)), arb(0))) / 2
    return series(h)


# -- certifying float64 derivatives (SPEC 6.1: within 1e-13 relative) -----------------------
REL = 1e-13
START_BITS = 96            # 53 + 43: most entries are decided at the first precision
MAX_BITS = 1 << 15         # beyond this an entry stays as float64 computed it, flagged
ZERO_RADIUS = arb(2) ** -1076   # a ball this close around 0 holds nothing float64 can tell from 0
ZERO_BITS = 4096   # ... taken as 0 from this precision on: below it, more bits may show a
                   # nonzero value beneath float64's range (c_4 of sqrt(1+x**2) at 2.6e73,
                   # 1e-366, needs 600), which is then reported as an underflow
TINY = sys.float_info.min        # 2.2e-308: below it float64 keeps fewer than 53 bits, or none


def _decided(b: arb) -> bool:
    return not b.is_nan() and b.rad().is_finite()


def _check_entry(b: arb, v: float, prec: int = ZERO_BITS):
    """('ok' | 'replaced' | 'overflow' | 'underflow', value) when the ball b (at ``prec``
    bits) decides entry v, else None."""
    if not _decided(b):
        return None
    if not b.is_finite():                      # an exact +-inf (SPEC 4's one-sided limits)
        inf = math.inf if b > 0 else -math.inf
        return ("ok", v) if v == inf else ("replaced", inf)
    if b.is_zero():   # an exact 0 is +0.0
        return ("ok", v) if v == 0 and math.copysign(1.0, v) > 0 else ("replaced", 0.0)
    if math.isfinite(v) and v != 0 and (abs(b - arb(v))).upper() <= abs(v) * REL:
        return "ok", v
    if b.rel_accuracy_bits() >= 60:            # the ball alone gives float64's digits
        f = float(b.mid())
        if math.isinf(f):
            return "overflow", f
        if abs(f) < TINY:   # nonzero, below float64's normal range: 0.0 or a subnormal, signed
            return "underflow", f
        return ("ok", v) if f == v else ("replaced", f)
    if b.contains(0) and b.rad() < ZERO_RADIUS and prec >= ZERO_BITS:
        return ("ok", v) if v == 0 else ("replaced", 0.0)
    return None


def coefficient_balls(nodes, wrt, point, n, prec, max_prec):
    """(the balls c_0..c_n, precision used), retrying at twice the precision while a rule is
    Undecided; NotCertified past max_prec."""
    while True:
        try:
            return root_series(nodes, wrt, point, n, prec), prec
        except Undecided as why:
            if prec >= max_prec:
                raise NotCertified(f"no certified value at {_describe(point)}: {why}") from None
            prec *= 2


QUICK_REL = REL / 2       # _quick's test, with room below REL for every rounding it makes


def _quick(cs: list, values: list, ks: list) -> list:
    """The k of ks left to check one by one: the others' float64 values[k] are certainly
    within REL of c_k * k!, shown in float64 on the coefficients: s = values[k] / k! (one
    rounding from the correctly rounded 1/k!, or from k! = M 2**E past 170), m = the ball's
    midpoint as a float, its radius below 2**-59 |m| (relative accuracy >= 60 bits), and
    |s - m| <= QUICK_REL |s|: then |values[k] / k! - c_k| <= (QUICK_REL + 4 eps) |s| or so,
    well inside REL. Plain floats, two cheap flint calls an entry (numpy's arrays cost more
    at these sizes)."""
    table = _reciprocals(max(ks))
    left = []
    for k in ks:
        r = table[k]
        if r:
            scaled = values[k] * r
        else:
            mant, exp2 = _factorial_parts(k)
            scaled = math.ldexp(values[k] / mant, -exp2)
        size = abs(scaled)
        c = cs[k]
        if not (2.0 ** -1000 <= size <= 2.0 ** 1000 and c.rel_accuracy_bits() >= 60
                and abs(scaled - float(c)) <= QUICK_REL * size):   # nan, inf fail
            left.append(k)
    return left


_RECIPROCALS: list[float] = []


def _reciprocals(n: int) -> list[float]:
    """1/k! correctly rounded for k = 0..n at least (0.0 past 170, where it is subnormal)."""
    while len(_RECIPROCALS) <= n:
        k = len(_RECIPROCALS)
        _RECIPROCALS.append(1 / math.factorial(k) if k <= 170 else 0.0)
    return _RECIPROCALS


def _factorial_parts(k: int) -> tuple[float, int]:
    """k! = M 2**E (the engine's table, one rounding) for k past 170."""
    from .engine import factorial_table

    return factorial_table(k)[k]


def certify(nodes, wrt: str, point: dict, values: list, top: int) -> list:
    """Check values[k] (the float64 f^(k) at ``point``, k <= top) against ball arithmetic at
    rising precision; returns one status per k: 'ok', 'replaced' (values[k] was changed to the
    ball's float64), 'overflow' (the exact value is beyond float64: values[k] = +-inf),
    'underflow' (nonzero but below float64's normal range: values[k] = its nearest float64,
    a subnormal or 0.0, with its sign),
    'exact' (k above top: a polynomial's zeros), 'domain' (the ball is outside the real domain
    or on a pole: float64's value stands, SPEC 4) or 'uncertified' (undecided up to
    MAX_BITS: float64's value stands)."""
    n = len(values) - 1
    status = ["exact"] * (n + 1)
    signed_zero = any(v == 0 and math.copysign(1.0, v) < 0 for v in point.values())
    pending = list(range(min(top, n) + 1))
    prec = START_BITS
    while pending:
        try:
            cs, prec = coefficient_balls(nodes, wrt, point, max(pending), prec, MAX_BITS)
        except NoBallRule:
            for k in pending:
                status[k] = "uncertified"
            return status
        except (OutOfDomain, NotCertified, ZeroDivisionError, ValueError):
            for k in pending:
                status[k] = "domain"
            return status
        slow = _quick(cs, values, pending)
        for k in pending:
            status[k] = "ok"
        if not slow:
            break
        left = []
        with working(prec, len(cs)):
            balls = {k: cs[k] * _factorial(k) if k > 1 and cs[k].is_finite() else cs[k]
                     for k in slow}
        for k in slow:
            decided = _check_entry(balls[k], values[k], prec)
            if decided is not None and decided[1] == 0 == values[k] and signed_zero:
                decided = ("ok", values[k])   # IEEE's sign at a -0.0 point (x at -0.0)
            if decided is None:
                left.append(k)
            else:
                status[k], values[k] = decided
        pending = left
        if prec >= MAX_BITS:
            for k in pending:
                status[k] = "uncertified"
            break
        prec *= 2
    return status
