"""One answer per expression per point (issue 21): the tape, Taylor mode, the compiled
numpy program and the compiled one-point function give the same value and first
derivative (nan and inf included), for random expressions at awkward points (0, +-1,
poles, ties, huge, tiny).

Where the engines disagreed, SPEC section 4 decides (the derivative where it exists, else
its value by continuity, else the smallest subgradient, else nan); docs/semantics.md
("0 * inf in a derivative") says how:

- 0 * inf inside the chain rule ((x-x)*sqrt(x) at 0, min(x, asin(x)) at 1, x**(x-x) at 0
  and -30, x**min(x, 2) at 1e300): a nan partial derivative at a point whose value is not
  nan is Taylor mode's checked derivative in every engine (gradcli/taylor/partials.py), so
  the derivative that exists (REFINED, against SymPy).
- an intermediate overflow that makes the value nan (exp(x)/exp(x) at 1e300: inf/inf):
  flagged, not matched: the float64 engines give nan with the overflow warned, Taylor mode
  its checked value (FLAGGED asserts exactly that).
- an inf partial derivative (an overflow inside the chain rule: 2/(0.5/x) at 1e300) is
  Taylor mode's checked derivative too, kept where that is nan (REFINED).
- 0**0 in a general power: d/dy = -inf (ONE_ANSWER, SPEC 4's value by continuity); a base
  of exactly 1 with an infinite derivative ((x**x)**(x**x) at 0): -inf in Taylor mode too.
- -0.0: IEEE's limit from the left for powers and quotients (2/x: -inf); log' and sqrt' at
  -0.0 are +inf as at 0 (their value by continuity from x > 0, as x**0.5's), every engine;
  sqrt(-0.0), -0.0 ** 0.5 and cbrt(-0.0) are -0.0 (IEEE's sqrt) in every engine.
- a pole behind a root (1/sqrt(x) at 0): the one-sided limit -inf in every engine.
- inf - inf in forward mode only (x**x/(x**x+exp(x)) at 0: reverse mode -inf, forward
  mode nan): a first derivative Taylor mode gives as nan at a finite value is the tape's
  +-inf where the tape gives one, in every engine (INF_MINUS_INF, against SymPy's limit).

Everywhere (huge and tiny points, poles included) the value and the first derivative
agree in kind: nan, +inf, -inf or finite. Finite numbers agree within rounding: the
float64 engines are reverse mode on the same graph with the same local derivatives, so
they differ only by the order in which a node's adjoint contributions are added (the
tape by tape order, the compiled program by its own schedule) and by a local derivative
written another way (an ulp or two): at most a few units of float64's eps times the sum
over paths of the products of |local derivatives| (``Rounding``), which is the
size of the terms that cancel (d(log1p(x) + x/x) at 1e-154: 1 + 1e154 - 1e154, 0 on the
tape and 1 in the compiled program; the exact derivative is 1). Taylor mode is forward
mode on the same graph: the same bound holds for its float64 pass (near the edge of the
float64 range forward and reverse mode flush at different places), and its checked answer
may differ from both by its ball check only (taylor_by_its_check).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gradcli as gc
from gradcli.compiled.program import compile_expression
from gradcli.errors import GradcliError

AWKWARD = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, math.pi, -math.pi / 2, 1e-300, 1e300,
           -1e300, 1e-8, 30.0, -30.0, 700.0]
UNARY = ["sin", "cos", "exp", "log", "sqrt", "tanh", "atan", "abs", "sinh", "cosh",
         "asin", "relu", "sigmoid", "softplus", "log1p", "expm1"]


def expressions():
    leaf = st.one_of(st.just("x"), st.sampled_from(["2", "0.5", "pi", "3", "1"]))

    def extend(children):
        return st.one_of(
            st.builds(lambda a, op, b: f"({a}{op}{b})", children,
                      st.sampled_from(["+", "-", "*", "/", "**"]), children),
            st.builds(lambda f, a: f"{f}({a})", st.sampled_from(UNARY), children),
            st.builds(lambda f, a, b: f"{f}({a}, {b})", st.sampled_from(["min", "max"]),
                      children, children))

    return st.recursive(leaf, extend, max_leaves=5)


def same(a: float, b: float, scale: float = 0.0) -> bool:
    """Equal as results: both nan, the same infinity, or (finite) within 1e-9 relative
    plus 1e-12 (sums that cancel at moderate points, as softplus(x) - x at 30) plus the
    rounding bound ``scale`` (Rounding: sums that cancel at huge and tiny points)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b)) + 1e-12 + scale


class Rounding:
    """How far two float64 passes over the graph of text at x may differ by rounding
    alone, from a reverse sweep in absolute values (each local derivative from the tape's
    own rule): size[n] is the sum over the paths from node n to the result of the
    products of |local derivative|. ``derivative``: 64 eps (m + 1) size[x] (m nodes):
    each local derivative is within a few ulp in every engine, and each of the at most m
    products and sums on a path adds eps of the terms it meets (the classic bound for a
    sum is (m - 1) eps times the sum of the |terms|); 64 leaves room for pow's and the
    special functions' few ulp. ``value``: 64 eps (m + 1) sum of size[n] |value of n|,
    each node's rounding carried to the result (Taylor mode may evaluate a polynomial
    otherwise: (2-x)+(x+1) at 1e300 is 0 on the tape, 3 in Taylor mode). Both 0 where
    the sweep is not finite (an inf or nan local derivative: there nan and inf must agree
    exactly). ``edge``: a node's value or local derivative lies beyond 1e290 or within
    1e-290 of 0 (not 0), or is inf from finite inputs: float64's chain rule may over- or
    underflow there, forward and reverse mode at different places (pow's d/du of
    (0.5/x)**min(1, x) at 1e-300 is 1e-300 * 2e-300 = 0, and the exact 2e-600 times
    -5e599 is the -1 the tape loses: 690.08 where the derivative is 689.08)."""

    def __init__(self, text: str, x: float):
        from gradcli.graph import evaluate
        from gradcli.tape import GradientTape
        from gradcli.tensor import apply, constant

        e = gc.parse(text)
        self.edge = False
        with np.errstate(all="ignore"):
            values = evaluate(e.root, {"x": x})
            size = {e.root.id: 1.0}
            for node in reversed(e.nodes):
                if not node.inputs:
                    continue
                ins = [constant(np.float64(values[i.id])) for i in node.inputs]
                with GradientTape() as tape:
                    tape.watch(ins)
                    out = apply(node.op, *ins, **node.attrs)
                local = tape.gradient(out, ins, unconnected_gradients="zero")
                local = [abs(float(np.asarray(g.value))) for g in local]
                inputs_finite = all(math.isfinite(float(values[i.id])) for i in node.inputs)
                self.edge |= inputs_finite and any(
                    _near_the_edge(v) for v in local + [abs(float(values[node.id]))])
                s = size.get(node.id, 0.0)
                for i, g in zip(node.inputs, local):
                    size[i.id] = size.get(i.id, 0.0) + (g * s if s else 0.0)
            var = [n.id for n in e.nodes if n.op == "var"]
            total = sum(size.get(n, 0.0) for n in var)
            spread = sum(size.get(n.id, 0.0) * abs(float(values[n.id])) for n in e.nodes
                         if n.op not in ("var", "const"))
        unit = 64 * np.finfo(np.float64).eps * (len(e.nodes) + 1)
        self.derivative = unit * total if math.isfinite(total) else 0.0
        self.value = unit * spread if math.isfinite(spread) else 0.0


def _near_the_edge(v: float) -> bool:
    return math.isinf(v) or v > 1e290 or 0.0 < v < 1e-290


def engines(text: str, x: float) -> dict[str, tuple[float, float]]:
    """(value, first derivative) of text at x from each engine."""
    e = gc.parse(text)
    with np.errstate(all="ignore"):
        tape_value = float(e.evaluate({"x": x}))
        tape = (tape_value, float(e.gradient({"x": x})[0]))
        taylor = tuple(float(v) for v in e.derivatives("x", order=1, at={"x": x}))
        program = compile_expression(e)
        value, grad = program.value_and_grad({"x": np.array([x, x])})
        compiled = (float(np.asarray(value).reshape(-1)[0]),
                    float(np.asarray(grad).reshape(2, -1)[0, 0]))
        point_value, point_grad = program.point_function()(np.array([x]))
        point = (float(point_value), float(np.asarray(point_grad).reshape(-1)[0]))
    return {"tape": tape, "taylor": taylor, "compiled": compiled, "point": point}


def assert_agree(text: str, x: float) -> None:
    """The float64 engines (tape, compiled program, one-point function) give one answer,
    value and first derivative, in kind (nan, the sign of an inf) and within rounding
    (Rounding); Taylor mode gives it too, or differs only by its ball check
    (taylor_by_its_check)."""
    results = engines(text, x)
    first = results["tape"]
    bound = Rounding(text, x)
    scales = (bound.value, bound.derivative)
    for name in ("compiled", "point"):
        for k in (0, 1):
            assert same(results[name][k], first[k], scales[k]), (text, x, results, scales)
    taylor_by_its_check(text, x, results, bound)


def taylor_by_its_check(text: str, x: float, results: dict, bound) -> None:
    """Taylor mode's value and derivative are the float64 engines' (in kind; finite within
    rounding), or differ only by Taylor mode's ball check of what float64 cannot hold
    (SPEC 6.1: sin(x**x) at 30 is sin of 30**30 exactly, not of its float64 rounding; an
    overflow inside): its own float64 pass gives the float64 engines' answer, and the
    check replaced that entry (or found it beyond the float64 range). Near the edge of
    the float64 range (Rounding.edge) forward and reverse mode over- and underflow at
    different places: there the check must have replaced the entry, and its float64 pass
    may differ."""
    from gradcli.taylor.refine import Refinement

    first = results["tape"]
    e = gc.parse(text)
    report = Refinement()
    with np.errstate(all="ignore"):
        fast = [float(v) for v in e.derivatives("x", order=1, at={"x": x}, fast=True)]
        checked = [float(v) for v in e.derivatives("x", order=1, at={"x": x}, report=report)]
    assert bits(checked) == bits(results["taylor"]), (text, x, checked, results)
    scales = (bound.value, bound.derivative)
    for k in (0, 1):
        if same(checked[k], first[k], scales[k]):
            continue
        refined = (0, k) in report.replaced or (0, k) in report.overflow
        assert refined and (bound.edge or same(fast[k], first[k], scales[k])), (
            text, x, k, fast, results, report.__dict__, scales)


@settings(max_examples=1000, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(expressions(), st.sampled_from(AWKWARD))
@pytest.mark.slow
def test_every_engine_gives_one_answer(text, x):
    try:
        assume(list(gc.parse(text).variables) == ["x"])
    except GradcliError:
        assume(False)
    # an inf or nan inside (overflow, a pole, 0 * inf, a masked branch): the property below
    assume(intermediates_finite(text, x))
    assert_agree(text, x)


def assert_agree_beyond_float64(text: str, x: float) -> None:
    """With an inf or nan inside: the same property, value and first derivative, where
    the value is inf (a pole, an overflow) and at huge and tiny points too. A nan of
    0 * inf inside the chain rule, at a point whose value is not nan, is Taylor mode's
    checked derivative in every engine (docs/semantics.md): without that rule this
    property fails (max(x, log(x)) at 0)."""
    assert_agree(text, x)


@settings(max_examples=600, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(expressions(), st.sampled_from(AWKWARD))
@pytest.mark.slow
def test_one_answer_with_inf_or_nan_inside(text, x):
    try:
        assume(list(gc.parse(text).variables) == ["x"])
    except GradcliError:
        assume(False)
    assume(not intermediates_finite(text, x))
    assert_agree_beyond_float64(text, x)


def intermediates_finite(text: str, x: float) -> bool:
    """Every node's value and first derivative (Taylor mode, of the node's own
    expression) are finite at x."""
    from gradcli.graph import evaluate
    from gradcli.language.printer import to_text

    e = gc.parse(text)
    with np.errstate(all="ignore"):
        values = evaluate(e.root, {"x": x})
        for node in e.nodes:
            if not np.isfinite(values[node.id]).all():
                return False
            sub = gc.parse(to_text(node))
            if "x" in sub.variables and not math.isfinite(
                    float(sub.derivatives("x", order=1, at={"x": x})[1])):
                return False
    return True


def bits(pair):
    """A result as comparable bits: -0.0 apart from 0.0, nan equal to nan."""
    return ["nan" if math.isnan(v) else (math.copysign(1.0, v) if v == 0 else v) for v in pair]


# 0 * inf inside the chain rule (issue 21 item 5): the float64 chain rule gave nan (IEEE's
# 0 * inf, inf - inf) where the derivative exists; every engine now gives Taylor mode's
# checked derivative (gradcli/taylor/partials.py), which SymPy confirms: its derivative at
# the point, or (side) mpmath's one-sided derivative where SymPy's formula meets 0 * oo.
REFINED = [
    # the product rule plays 0 * sqrt'(0) = 0 * inf: (x-x)*sqrt(x) is 0 for x >= 0
    ("(x-x)*sqrt(x)", 0.0, (0.0, 0.0), None),
    # the nan leak of a masked branch (reference/derivatives.md 4.1): min picks x, the tape
    # still played asin'(1) = inf back times 0
    ("min(x, asin(x))", 1.0, (1.0, 1.0), "-"),
    # x**(x-x) is 1 everywhere: d/dy of a negative base (log(-30) = nan) times the
    # exponent's derivative, 1 - 1, summed as nan - nan by reverse mode
    ("x**(x-x)", -30.0, (1.0, 0.0), None),
    # at 0: d/dy of 0**0 is -inf (SPEC 4, ONE_ANSWER below), and -inf + inf = nan
    ("x**(x-x)", 0.0, (1.0, 0.0), None),
    # after an overflow: x**min(x, 2) at 1e300 is inf (1e600), its derivative 2x = 2e300;
    # the tape's min rule met inf (d/dy of the overflowed power) times its mask 0
    ("x**min(x, 2)", 1e300, (math.inf, 2e300), None),
    # the same in min and an overflowing exp
    ("min(x, exp(x))", 1000.0, (1000.0, 1.0), None),
    # a value beyond the float64 range (5e599) whose derivative is not (1e300): the tape
    # met 1/(2e-300)**2 = inf, Taylor mode's recurrence nan; an inf partial where the value
    # is inf is the checked derivative too
    ("x/(2/x)", 1e300, (math.inf, 1e300), None),
]


@pytest.mark.parametrize("text, x, expected, side", REFINED)
def test_zero_times_inf_inside_gives_the_derivative(text, x, expected, side):
    from fractions import Fraction

    import sympy as sp

    for name, pair in engines(text, x).items():
        assert bits(pair) == bits(expected), (name, text, x, pair)
    # the oracle: SymPy's derivative (independent of gradcli's rules) at the exact point
    sym = gc.parse(text).to_sympy()
    X = sp.Symbol("x")
    d = sp.diff(sym.subs({s: X for s in sym.free_symbols}), X)
    at = sp.Rational(*Fraction(x).as_integer_ratio())
    if side is None:
        assert float(d.subs(X, at)) == expected[1]
    else:  # mpmath's one-sided difference quotient at 30 digits
        import mpmath

        with mpmath.workdps(30):
            f = sp.lambdify(X, sym.subs({s: X for s in sym.free_symbols}), "mpmath")
            exact = mpmath.diff(f, mpmath.mpf(x), direction=-1 if side == "-" else 1)
        assert abs(float(exact) - expected[1]) < 1e-20


def test_zero_times_inf_on_many_points_and_one_point():
    """The replacement is per point: on an array only the nan entries change, and the
    one-point function (which falls back to the array program on a nan) gives the same."""
    e = gc.parse("(x-x)*sqrt(x) + x*y")
    program = compile_expression(e)
    xs = np.array([0.0, 1.0, 0.0, 4.0])
    ys = np.array([2.0, 3.0, 5.0, 7.0])
    with np.errstate(all="ignore"):
        _, grad = program.value_and_grad({"x": xs, "y": ys})
        tape = e.gradient({"x": xs, "y": ys})
    assert grad.tolist() == [[2.0, 0.0], [3.0, 1.0], [5.0, 0.0], [7.0, 4.0]]
    assert tape.tolist() == grad.tolist()
    fg = program.point_function()
    assert fg(np.array([0.0, 5.0]))[1].tolist() == [5.0, 0.0]
    assert fg.floats([0.0, 5.0])[1] == (5.0, 0.0)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(expressions(), st.lists(st.sampled_from(AWKWARD), min_size=2, max_size=6),
       st.lists(st.sampled_from([0.0, -0.0, 1.0, -2.0]), min_size=6, max_size=6))
@pytest.mark.slow
def test_replacements_are_per_point(text, xs, ys):
    """On arrays of points (two variables, repeated points, -0.0 beside 0.0) the tape and
    the compiled program give, entry for entry, what each point gives alone: the nan
    entries replaced are those of their own points, with their own derivative."""
    try:
        e = gc.parse(f"({text}) + x*y")
        assume(e.variables == ["x", "y"])
    except GradcliError:
        assume(False)
    ys = ys[:len(xs)]
    program = compile_expression(e)
    with np.errstate(all="ignore"):
        _, grads = program.value_and_grad({"x": np.array(xs), "y": np.array(ys)})
        tape = e.gradient({"x": np.array(xs), "y": np.array(ys)})
        alone = [e.gradient({"x": x, "y": y}) for x, y in zip(xs, ys)]
    for i, g in enumerate(alone):
        assert bits(grads[i]) == bits(g) == bits(tape[i]), (text, xs[i], ys[i], grads[i], g)


def test_a_nan_value_keeps_its_nan_derivative():
    """Outside the domain the value is nan and the float64 derivative stays as the rules
    give it (no ball arithmetic is spent there: sqrt of a million negative points); max and
    min of a nan are nan with a nan derivative in every engine (their mask is nan there:
    Taylor mode named the other branch's derivative, 1.0 for min(x**x, x-pi) at -0.5)."""
    for text, x in [("min(x**x, x-pi)", -0.5), ("min(log(x), 3)", -1.0), ("max(x/x, x)", 0.0),
                    ("clip(x, 0, 1)", math.nan)]:
        for name, pair in engines(text, x).items():
            assert bits(pair) == ["nan", "nan"], (name, text, x, pair)
    with np.errstate(all="ignore"):
        assert gc.parse("log(x)").gradient({"x": -1.0}).tolist() == [-1.0]  # 1/x, as peers


def _exact_first(text, x):
    """mpmath at 30 digits: 1.5 x**0.5 and 2a (2x)**(a - 1), a = pi/2."""
    import mpmath

    with mpmath.workdps(30):
        x = mpmath.mpf(x)
        if text == "x**1.5":
            return float(1.5 * mpmath.sqrt(x))
        a = mpmath.asin(1)
        return float(2 * a * (2 * x) ** (a - 1))


@pytest.mark.parametrize("text, x, expected", [
    ("x**1.5", 1e300, (math.inf, None)),    # 1e450
    ("(x+x)**asin(1)", 1e300, (math.inf, None)),
    ("x**x", 200.0, (math.inf, math.inf)),
    ("(0.5**x)**(0.5**x)", -1e300, (math.inf, -math.inf)),
])
def test_a_power_beyond_the_float64_range(text, x, expected):
    """A power whose value overflows has its first derivative in every engine, finite
    where it is (SPEC 6.1: beyond the range, inf with its sign, never nan): Taylor mode's
    recurrence met inf - inf there and gave nan, the tape the derivative."""
    results = engines(text, x)
    first = results["tape"]
    for name, pair in results.items():
        assert bits(pair) == bits(first), (name, results)
    assert first[0] == expected[0]
    if expected[1] is not None:
        assert first[1] == expected[1]
    else:
        exact = _exact_first(text, x)
        assert abs(first[1] - exact) <= 1e-13 * exact


# Flagged, not matched: an intermediate beyond the float64 range makes the value nan
# (exp(x)/exp(x) at 1e300 is inf/inf). The float64 engines give nan for the value and the
# derivative and the command line names the overflow; Taylor mode's checked value is exact
# (1, derivative 0). SPEC 6.1's --digits gives the digits.
FLAGGED = [("exp(x)/exp(x)", 1e300, (1.0, 0.0), "exp(1e+300) is inf at x=1e+300")]


@pytest.mark.parametrize("text, x, exact, warning", FLAGGED)
def test_an_overflow_inside_is_flagged(text, x, exact, warning, gradcli):
    results = engines(text, x)
    for name in ("tape", "compiled", "point"):
        assert bits(results[name]) == ["nan", "nan"], (name, results)
    assert results["taylor"] == exact
    run = gradcli("grad", text, "--at", repr(x), "--format", "plain")
    assert run.exit_code == 0 and run.stdout.strip() == "nan"
    assert warning in run.stderr


# Disagreements fixed (issue 21 item 5), each engine's value and first derivative bit for
# bit (-0.0 apart from 0.0), with SPEC 4's answer: at 0**0 in a general power d/dy is the
# one-sided derivative lim (0**y - 1)/y = -inf of y -> 0+ (y**y: (log y + 1) y**y -> -inf
# as y -> 0+, sympy: limit(diff(y**y, y), y, 0, '+') = -oo), d/dx = 0 (x**0 is constant);
# at -0.0, IEEE's one-sided limit from the left (2/x: -inf, -2/x**2: -inf; x: -0.0).
ONE_ANSWER = [
    ("x**x", 0.0, (1.0, -math.inf)),
    ("cosh(x**x)", 0.0, (math.cosh(1.0), -math.inf)),
    ("x**(2*x)", 0.0, (1.0, -math.inf)),
    ("x**(-x)", 0.0, (1.0, math.inf)),    # y = -x: -inf * -1
    ("0**x", 0.0, (1.0, -math.inf)),
    ("2/x", -0.0, (-math.inf, -math.inf)),
    ("x**-3", -0.0, (-math.inf, -math.inf)),
    ("x", -0.0, (-0.0, 1.0)),
    # log' and sqrt' at -0.0: +inf as at 0 (their only value by continuity, from x > 0;
    # sympy: limit(diff(log(x)), x, 0, '+') = oo), and as x**0.5's; TF, PyTorch and JAX
    # give -inf there, from the formula 1/x at -0.0 (reference/derivatives.md)
    ("log(x)", -0.0, (-math.inf, math.inf)),
    ("sqrt(x)", -0.0, (-0.0, math.inf)),
    ("log2(x)", -0.0, (-math.inf, math.inf)),
    ("log10(x)", -0.0, (-math.inf, math.inf)),
    ("sqrt(x)+log(x)", -0.0, (-math.inf, math.inf)),
    # the sign of a zero value: x**0.5 is sqrt(x) (numpy's power takes it so) and IEEE's
    # sqrt(-0.0) is -0.0, as C's cbrt(-0.0); Taylor mode gave 0.0 (C's pow(-0.0, 0.5))
    ("x**0.5", -0.0, (-0.0, math.inf)),
    ("cbrt(x)", -0.0, (-0.0, math.inf)),
    ("x**(1/3)", -0.0, (0.0, math.inf)),    # pow(-0.0, 1/3) is 0.0: not a root op
    # the derivative at a pole behind a root (an infinite leading coefficient in Taylor
    # mode, which gave nan): the one-sided limit from the domain, as the tape's chain rule
    # a u**(a-1) u' (sympy: limit(diff(1/sqrt(x)), x, 0, '+') = -oo; test below)
    ("1/sqrt(x)", 0.0, (math.inf, -math.inf)),
    ("1/sqrt(x)", -0.0, (-math.inf, -math.inf)),   # 1/-0.0, then the limit as at 0
    ("1/cbrt(x)", 0.0, (math.inf, -math.inf)),
    ("sqrt(x)**cos(2)", -0.0, (math.inf, -math.inf)),
    ("sqrt(x)**2", 0.0, (0.0, math.nan)),    # x**(alpha a - 1): alpha unknown, nan
    # 0**0 inside a power whose base is 1 there (u = x**x at 0: u = 1, u' = -inf): the
    # exponent's term v' log u is 0 * inf in forward mode (Taylor mode gave nan), its limit
    # 0; the tape sums the adjoints first and gives the limit, -inf (SymPy: test below)
    ("(x**x)**(x**x)", 0.0, (1.0, -math.inf)),
    ("(x**x)**(x**x)", -0.0, (1.0, -math.inf)),
    ("(x**x)**(2*x**x)", 0.0, (1.0, -math.inf)),
    ("(1+x)**sqrt(x)", 0.0, (1.0, 0.0)),
    # a constant exponent: Taylor mode's recurrence met inf - inf ((a+1) u' p - u' p)
    ("(x**x)**0.5", 0.0, (1.0, -math.inf)),
    ("(x**x)**-1.5", 0.0, (1.0, math.inf)),
    ("(x+1)**asin(3)", -1.0, (math.nan, math.nan)),   # a nan exponent: nan (Taylor: inf)
    ("x**asin(3)", 1.0, (1.0, math.nan)),    # C's pow(1, nan) is 1; its derivative nan
    # a product's zero keeps its sign (cos(pi) * 0.0 is -0.0): Taylor mode's convolution
    # summed it from +0.0, and the pole behind it had the other sign (-inf)
    ("-2/(cos(x)*(pi-x))", math.pi, (math.inf, math.inf)),
    ("(1+sqrt(x))**sqrt(x)", 0.0, (1.0, math.nan)),   # v = 0, u' = inf: the limit (1)
                                                       # is not in the series: nan
]


@pytest.mark.slow
@pytest.mark.parametrize("text, expected", [("(x**x)**(x**x)", -math.inf),
                                            ("(x**x)**(2*x**x)", -math.inf),
                                            ("(1+x)**sqrt(x)", 0.0)])
def test_a_power_of_base_one_against_sympy(text, expected):
    """SPEC 4's value by continuity of the derivative at 0, from SymPy's one-sided limit."""
    import sympy as sp

    sym = gc.parse(text).to_sympy()
    X = sp.Symbol("x", positive=True)
    limit = sp.limit(sp.diff(sym.subs({s: X for s in sym.free_symbols}), X), X, 0, "+")
    assert float(limit) == expected
    assert engines(text, 0.0)["taylor"][1] == expected


@pytest.mark.parametrize("text", ["1/sqrt(x)", "1/cbrt(x)", "sqrt(x)**cos(2)"])
def test_a_pole_behind_a_root_against_sympy(text):
    """The derivative at the pole x = 0 is the one-sided limit from x > 0 (SymPy)."""
    import sympy as sp

    sym = gc.parse(text).to_sympy()
    X = sp.Symbol("x", positive=True)
    f = sym.subs({s: X for s in sym.free_symbols})
    assert sp.limit(sp.diff(f, X), X, 0, "+") == -sp.oo
    assert sp.limit(f, X, 0, "+") == sp.oo
    assert engines(text, 0.0)["taylor"] == (math.inf, -math.inf)


@pytest.mark.parametrize("text, x, expected", ONE_ANSWER)
def test_fixed_disagreements_give_one_answer(text, x, expected):
    for name, pair in engines(text, x).items():
        assert bits(pair) == bits(expected), (name, text, x, pair)


def test_zero_to_the_zero_against_sympy_limit():
    """SPEC 4's value by continuity of d/dy y**y at 0, from SymPy (independent of gradcli)."""
    import sympy as sp

    y = sp.Symbol("y", positive=True)
    assert sp.limit(sp.diff(y ** y, y), y, 0, "+") == -sp.oo
    assert engines("x**x", 0.0)["taylor"][1] == -math.inf


# An infinite derivative (x**x's at 0) that reaches the result along two paths meets
# inf - inf in forward mode (Taylor mode's series: nan), while reverse mode sums the paths'
# finite weights first (1/v - u/v**2 = 0.25 for u/(u + exp(x)) at 0) and multiplies once:
# -inf, SPEC 4's value by continuity (SymPy). Taylor mode's nan first derivative at a
# finite value takes the tape's infinity (Expression._infinity_of_the_tape), so every
# engine and diff give it (docs/semantics.md).
INF_MINUS_INF = [("(x**x)/((x**x)+exp(x))", 0.0, (0.5, -math.inf)),
                 ("x**x - 2*x**x", 0.0, (-1.0, math.inf))]   # -x**x


@pytest.mark.parametrize("text, x, expected", INF_MINUS_INF)
def test_inf_minus_inf_in_forward_mode_is_the_tapes_infinity(text, x, expected, gradcli):
    import sympy as sp

    results = engines(text, x)
    for name in ("tape", "compiled", "point", "taylor"):
        assert results[name] == expected, (name, results)
    fast = gc.parse(text).derivatives("x", order=2, at={"x": x}, fast=True)
    assert float(fast[1]) == expected[1] and math.isnan(fast[2])  # order 2: still nan
    sym = gc.parse(text).to_sympy()
    X = sp.Symbol("x", positive=True)
    assert sp.limit(sp.diff(sym.subs({s: X for s in sym.free_symbols}), X), X, 0, "+") == expected[1]
    run = gradcli("diff", text, "--at", "0", "--format", "plain")
    assert run.exit_code == 0 and float(run.stdout) == expected[1] and "inf" in run.stderr


@pytest.mark.parametrize("text, x", [
    ("min(asin(pi), x/pi)", 0.0),   # nan inside min: nan everywhere (was 0.0 one-point)
    ("max(log(2-3), x)", 0.0),
    ("min(x, 1)", 1.0),             # a tie: 0.5 to each side
    ("abs(x)", 0.0), ("sqrt(x)", 0.0), ("1/x", 0.0), ("x**0.5", 0.0), ("x**3", 0.0),
    ("log(x)", -1.0), ("sqrt(x)", -1.0), ("asin(x)", 2.0), ("log(x)", 0.0),  # nan, -inf
    ("x**2.5", 0.0), ("relu(x)", 0.0), ("max(x, 0)", 0.0), ("exp(x)", 1000.0),
    ("1/(x-1)", 1.0), ("tanh(x)", 1e300), ("sigmoid(x)", -1e300),
    # a tie of a constant op and the same op of x: the one-point function folded sinh(pi)
    # with numpy and ran math.sinh(x), an ulp apart, and gave 11.59 (both sides) for 5.80
    ("max(max(min(1,x), sinh(pi)), sinh(x))", math.pi), ("min(cosh(x), cosh(2))", 2.0),
])
def test_named_awkward_points_agree(text, x):
    assert_agree(text, x)
