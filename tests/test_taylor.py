"""Taylor mode (gradcli/taylor.py and every op's ``taylor`` rule).

Driven from the registry: an op without a Taylor rule, or without an entry in
TAYLOR_CASES, fails ``test_every_op_has_a_taylor_rule_and_a_case``. The oracles
are independent of the rules: SymPy's expression of the graph (exact
differentiation for a few cheap cases; evaluated at 30 digits by mpmath's
numerical Taylor expansion for all), closed forms at order 1000, a 50-digit
mpmath reference, and the nested gradient tapes.
"""
import json
import math
import subprocess
import sys
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcli as gc
from gradcli.taylor import series as T
from gradcli.taylor import engine
from gradcli.registry import OPS

from .strategies import smooth_expressions

ORDER = 12
INNER = "(x + x**2/4)"   # a nonlinear argument: its series has a second coefficient


def unary(fn, direct, inner):
    """f(x) at ``direct`` points and f(x + x**2/4) at ``inner`` points (inside the domain)."""
    return ([(f"{fn}(x)", {"x": p}) for p in direct]
            + [(f"{fn}{INNER}" if fn.endswith(")") else f"{fn}({INNER})", {"x": p}) for p in inner])


# op -> [(expression, point)], always differentiated along x; points inside the domain
TAYLOR_CASES = {
    "add": [("x + y", {"x": 0.3, "y": -1.2}), ("exp(x) + x**3", {"x": 0.4})],
    "sub": [("x**3 - exp(x)", {"x": 0.4}), ("y - sin(x)", {"x": 0.3, "y": 2.0})],
    "mul": [("exp(x) * sin(x)", {"x": 0.7}), ("y * cos(x)", {"x": 0.3, "y": -2.0})],
    "div": [("exp(x) / (2 + sin(x))", {"x": 0.7}), ("y / x", {"x": 1.3, "y": 2.0}),
            ("x / y", {"x": 0.4, "y": 3.0})],
    "neg": [("-exp(x)", {"x": 0.2})],
    "powi": [("x**5", {"x": -1.3}), ("(1+x)**-3", {"x": 0.4}), ("x**-2", {"x": 0.7}),
             (f"{INNER}**3", {"x": -0.8})],
    "pow": [("x**y", {"x": 1.3, "y": 2.5}), ("x**y", {"x": 0.6, "y": -1.5}),
            ("y**x", {"x": 0.7, "y": 2.2}), ("x**x", {"x": 0.9}), (f"{INNER}**0.7", {"x": 0.5}),
            ("x**y", {"x": -2.0, "y": 3.0})],
    "exp": unary("exp", [0.3, -2.0], [0.5]),
    "expm1": unary("expm1", [1e-3, -1.5], [0.5]),
    "log": unary("log", [0.3, 4.0], [1.2]),
    "log1p": unary("log1p", [-0.5, 3.0], [0.3]),
    "log2": unary("log2", [0.3, 4.0], [1.2]),
    "log10": unary("log10", [0.3, 4.0], [1.2]),
    "sqrt": unary("sqrt", [0.3, 4.0], [1.2]),
    "cbrt": unary("cbrt", [0.3, -4.0], [1.2]),
    "sin": unary("sin", [0.3, -2.0], [0.5]),
    "cos": unary("cos", [0.3, -2.0], [0.5]),
    "tan": unary("tan", [0.3, -1.0], [-0.5]),
    "asin": unary("asin", [0.3, -0.6], [-0.5]),
    "acos": unary("acos", [0.3, -0.6], [0.3]),
    "atan": unary("atan", [0.3, -2.0], [0.5]),
    "sinh": unary("sinh", [0.3, -2.0], [0.5]),
    "cosh": unary("cosh", [0.3, -2.0], [0.5]),
    "tanh": unary("tanh", [0.3, -2.0], [0.5]),
    "asinh": unary("asinh", [0.3, -2.0], [0.5]),
    "acosh": unary("acosh", [1.3, 4.0], [2.0]),
    "atanh": unary("atanh", [0.3, -0.6], [-0.5]),
    "sigmoid": unary("sigmoid", [0.3, -2.0], [0.5]),
    "softplus": unary("softplus", [0.3, -2.0], [0.5]),
    "abs": [("abs(x)", {"x": 0.7}), ("abs(x)", {"x": -0.7}), ("abs(sin(x))", {"x": -0.5})],
    "sign": [("sign(x) * exp(x)", {"x": 0.7}), ("sign(x) * exp(x)", {"x": -0.7})],
    "relu": [("relu(x)", {"x": 0.7}), ("relu(x)", {"x": -0.7}),
             ("relu(sin(x)) * exp(x)", {"x": 0.5})],
    "max": [("max(x, y)", {"x": 0.5, "y": -1.0}), ("max(y, x**2)", {"x": 1.5, "y": 1.0}),
            ("max(sin(x), cos(x))", {"x": 0.3})],
    "min": [("min(x, y)", {"x": 0.5, "y": -1.0}), ("min(y, x**2)", {"x": 1.5, "y": 1.0}),
            ("min(sin(x), cos(x))", {"x": 0.3})],
    "hypot": [("hypot(x, y)", {"x": 0.5, "y": -1.5}), ("hypot(y, x)", {"x": -0.5, "y": 1.5}),
              ("hypot(x, x**2 + 1)", {"x": 0.3})],
    "atan2": [("atan2(y, x)", {"x": 0.5, "y": -1.5}), ("atan2(x, y)", {"x": 0.3, "y": -2.0}),
              ("atan2(sin(x), cos(x) + 2)", {"x": 0.4})],
    # SPEC 6.2's functions (tests/test_special_functions.py: orders 0..10 to 1e-13 vs mpmath)
    "erf": unary("erf", [0.3, -2.0], [0.5]),
    "erfc": unary("erfc", [0.3, 3.0], [0.5]),
    "gamma": unary("gamma", [0.3, 4.5, -1.5], [0.5]),
    "lgamma": unary("lgamma", [0.3, 4.5, -2.5], [0.5]),
    "digamma": unary("digamma", [0.3, 4.5, -0.5], [0.5]),
    "sinc": unary("sinc", [0.0, 0.3, -7.0], [0.5]),
    "sec": unary("sec", [0.3, -1.2], [0.5]),
    "csc": unary("csc", [0.3, 2.0], [0.5]),
    "cot": unary("cot", [0.3, 2.0], [0.5]),
    "exp2": unary("exp2", [0.3, -2.0], [0.5]),
    "square": unary("square", [0.3, -2.0], [0.5]),
    "floor": [("floor(x) * exp(x)", {"x": 1.7}), ("floor(x) * exp(x)", {"x": -0.3})],
    "ceil": [("ceil(x) * exp(x)", {"x": 1.7}), ("ceil(x) * exp(x)", {"x": -0.3})],
    "round": [("round(x) * exp(x)", {"x": 1.7}), ("round(x) * exp(x)", {"x": -0.3})],
    "heaviside": [("heaviside(x) * exp(x)", {"x": 0.7}), ("heaviside(x) * exp(x)", {"x": -0.3})],
    "mod": [("mod(exp(x), y)", {"x": 0.7, "y": 1.5}), ("mod(y, x)", {"x": -0.7, "y": 2.0})],
    "clip": [("clip(sin(x), -0.5, 0.5)", {"x": 0.3}), ("clip(y, x, x**2 + 1)", {"x": 0.5, "y": 3.0}),
             ("clip(y, x, 2)", {"x": 0.5, "y": -3.0})],
}
ARRAY_OPS = {"sum_to", "broadcast_to", "reshape", "reduce_sum"}   # test_array_ops_are_linear
MASK_OPS = {"mask_sign", "mask_positive", "mask_zero", "mask_tie"}  # test_masks.py
# ops only gradients build (no text parses to them): test_special_functions.py
DERIVATIVE_OPS = {"polygamma", "sinc_derivative"}
# the tensor library's array ops: their Taylor rules against nested tapes in test_tensor_api.py
TENSOR_OPS = {"cast", "concat", "getitem", "scatter", "stack", "transpose", "matmul", "stop_gradient",
              "reduce_max", "reduce_min", "reduce_prod", "prod_others", "max_weight", "min_weight",
              "less", "less_equal", "greater", "greater_equal", "equal", "not_equal"}


def test_every_op_has_a_taylor_rule_and_a_case():
    missing_rule = sorted(o.name for o in OPS.values() if o.taylor is None)
    assert not missing_rule, f"ops without a Taylor rule: {missing_rule}"
    undocumented = sorted(o.name for o in OPS.values() if not (o.taylor.__doc__ or "").strip())
    assert not undocumented, f"Taylor rules without their formula as a docstring: {undocumented}"
    untested = set(OPS) - set(TAYLOR_CASES) - ARRAY_OPS - MASK_OPS - DERIVATIVE_OPS - TENSOR_OPS
    assert not untested, f"ops without a Taylor test case: {sorted(untested)}"


def exercised_ops(text):
    """The ops of an expression's graph whose Taylor rule runs (they depend on x)."""
    from gradcli.graph import topological

    depends, ops = set(), set()
    for node in topological(gc.parse(text).root):
        if (node.op == "var" and node.name == "x") or any(i.id in depends for i in node.inputs):
            depends.add(node.id)
            if node.op not in ("var", "const"):
                ops.add(node.op)
    return ops


@pytest.mark.parametrize("name", sorted(TAYLOR_CASES))
def test_every_case_exercises_its_op_taylor_rule(name):
    assert all(name in exercised_ops(text) for text, _ in TAYLOR_CASES[name]), name


def mpmath_derivatives(text, point, order, dps=30):
    """f^(k)(x0) along x, k = 0..order: the SymPy expression of the graph, expanded by mpmath."""
    f = gc.parse(text).to_sympy()
    sym = {s.name: s for s in f.free_symbols}
    held = {sym[k]: sp.Rational(repr(v)) for k, v in point.items() if k != "x" and k in sym}
    x = sym.get("x", sp.Symbol("x", real=True))
    fn = sp.lambdify(x, f.subs(held), "mpmath")
    with mpmath.workdps(dps):
        coefficients = mpmath.taylor(fn, mpmath.mpf(repr(point["x"])), order)
        return [float(c * mpmath.factorial(k)) for k, c in enumerate(coefficients)]


def assert_derivatives_close(ours, ref, what, rtol=1e-9):
    for k, (a, b) in enumerate(zip(ours, ref)):
        # errors of order k scale like k!: the scaled coefficient is what is accurate
        atol = 1e-12 * math.factorial(k) * max(1.0, *(abs(r) / math.factorial(j)
                                                      for j, r in enumerate(ref)))
        assert math.isclose(a, b, rel_tol=rtol, abs_tol=atol), f"{what}: order {k}: {a} != {b}"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TAYLOR_CASES))
def test_taylor_rule_matches_sympy_to_order_12(name):
    for text, point in TAYLOR_CASES[name]:
        ours = [float(d) for d in gc.parse(text).derivatives("x", ORDER, point)]
        ref = mpmath_derivatives(text, point, ORDER)
        assert_derivatives_close(ours, ref, f"{text} at {point}")


# exact SymPy differentiation where its expressions stay small at order 12
EXACT_CASES = [("x**4+2*x**3-3*x**2+4*x-5", {"x": 0.0}), ("y**x", {"x": 0.7, "y": 2.2}),
               ("atan2(y, x)", {"x": 0.5, "y": -1.5}), ("exp(x) * sin(x)", {"x": 0.7}),
               ("1/(1+x)", {"x": 0.25})]


@pytest.mark.parametrize("text,point", EXACT_CASES)
def test_taylor_matches_exact_sympy_derivatives_to_order_12(text, point):
    f = gc.parse(text).to_sympy()
    sym = {s.name: s for s in f.free_symbols}
    subs = {sym[k]: sp.Rational(repr(v)) for k, v in point.items() if k in sym}
    derivative, ref = f, []
    for _ in range(ORDER + 1):
        ref.append(float(derivative.subs(subs).evalf(30)))
        derivative = sp.diff(derivative, sym["x"])
    ours = [float(d) for d in gc.parse(text).derivatives("x", ORDER, point)]
    assert_derivatives_close(ours, ref, text, rtol=1e-12)


def test_order_40_of_the_benchmark_function_matches_a_50_digit_reference():
    with mpmath.workdps(50):
        coefficients = mpmath.taylor(lambda x: mpmath.exp(mpmath.sin(x)) / (1 + x ** 2),
                                     mpmath.mpf("0.5"), 40)
        ref = [coefficients[k] * mpmath.factorial(k) for k in range(41)]
    ours = gc.parse("exp(sin(x))/(1+x**2)").derivatives("x", 40, 0.5)
    for k in range(41):
        assert abs(ours[k] - ref[k]) <= 1e-10 * abs(ref[k]), (k, ours[k], ref[k])


def closed_form_close(ours, exact, rtol=1e-12):
    """Finite where the exact value is in range (to rtol), +-inf with its sign where not."""
    for k, (a, b) in enumerate(zip(ours, exact)):
        in_range = abs(b) < mpmath.mpf(np.finfo(float).max)
        b = float(b) if in_range else float(mpmath.sign(b)) * math.inf
        if math.isinf(b):
            assert a == b, (k, a, b)
        else:
            assert math.isclose(a, b, rel_tol=rtol, abs_tol=0.0), (k, a, b)


@pytest.mark.parametrize("x0", [0.0, 1.0, -3.0, -700.0])
def test_order_1000_of_exp_is_exp_at_every_order(x0):
    ours = gc.parse("exp(x)").derivatives("x", 1000, x0)
    closed_form_close(ours, [mpmath.exp(mpmath.mpf(x0))] * 1001)


def test_order_1000_of_exp_of_a_multiple_overflows_exactly_when_the_value_does():
    with mpmath.workdps(30):
        half = [mpmath.mpf(0.5) ** k for k in range(1001)]     # 0.5**1000 ~ 9e-302: in range
        triple = [mpmath.mpf(3) ** k for k in range(1001)]     # 3**647 > 1.8e308: inf from there
    closed_form_close(gc.parse("exp(x/2)").derivatives("x", 1000, 0.0), half)
    closed_form_close(gc.parse("exp(3*x)").derivatives("x", 1000, 0.0), triple)


@pytest.mark.parametrize("x0", [0.0, 0.5, -2.0])
def test_order_1000_of_sin_cycles_through_sin_cos(x0):
    ours = gc.parse("sin(x)").derivatives("x", 1000, x0)
    cycle = [math.sin(x0), math.cos(x0), -math.sin(x0), -math.cos(x0)]
    for k in range(1001):
        assert math.isclose(ours[k], cycle[k % 4], rel_tol=1e-12, abs_tol=1e-300), (k, ours[k])
    if x0 == 0.0:
        assert all(ours[k] == 0.0 for k in range(0, 1001, 2))


@pytest.mark.parametrize("x0", [0.0, 150.0, 200.0, -3.0])
def test_order_1000_of_reciprocal_is_signed_factorial_over_power_or_inf(x0):
    ours = gc.parse("1/(1+x)").derivatives("x", 1000, x0)
    with mpmath.workdps(30):
        exact = [(-1) ** k * mpmath.factorial(k) / mpmath.mpf(1 + x0) ** (k + 1)
                 for k in range(1001)]
    closed_form_close(ours, exact, rtol=1e-11)
    if x0 == 0.0:  # 171! is the first factorial beyond float64
        assert ours[170] == math.factorial(170) and ours[171] == -math.inf


def test_order_1000_of_a_gaussian_has_zero_odd_orders_and_signed_even_ones():
    ours = gc.parse("exp(-x**2)").derivatives("x", 1000, 0.0)
    with mpmath.workdps(30):   # f^(2k)(0) = (-1)**k (2k)! / k!
        exact = [0 if k % 2 else (-1) ** (k // 2) * mpmath.factorial(k) / mpmath.factorial(k // 2)
                 for k in range(1001)]
    closed_form_close(ours, exact, rtol=1e-11)


def test_a_cancellation_is_rounding_noise_at_every_order():
    """sin**2 + cos**2 = 1: the error is relative to the majorant, about 2**k at order k."""
    ours = gc.parse("sin(x)**2 + cos(x)**2").derivatives("x", 400, 0.3)
    assert ours[0] == pytest.approx(1.0)
    assert all(math.isfinite(v) and abs(v) <= 1e-13 * 2.0 ** k for k, v in enumerate(ours[1:], 1))


@pytest.mark.parametrize("text", ["exp(x)", "exp(x) * exp(700)"])
def test_order_1000_next_to_the_top_of_the_float64_range(text):
    """A tiny intermediate (1/175!) times a huge factor must not pass as accurate."""
    ours = gc.parse(text).derivatives("x", 1000, 9.0 if "700" in text else 709.0)
    assert all(math.isclose(v, math.exp(709.0), rel_tol=1e-12) for v in ours)


def test_factorial_table_is_exact_to_one_rounding():
    mant, exp2 = engine._factorials(300)
    for k in (0, 1, 5, 22, 170, 300):    # exact rationals against the integer k!
        table = Fraction(float(mant[k, 0])) * Fraction(2) ** int(exp2[k, 0])
        assert abs(table - math.factorial(k)) <= Fraction(math.factorial(k), 2 ** 52)
    assert engine.to_derivatives(np.ones((1001, 1)), 0)[1000, 0] == math.inf
    assert engine.to_derivatives(np.ones((1001, 1)), 9)[1000, 0] == pytest.approx(
        float(mpmath.factorial(1000) / mpmath.mpf(2) ** 9000), rel=1e-13)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(smooth_expressions(max_leaves=5), st.floats(-2.0, 2.0))
def test_taylor_and_nested_tapes_agree_to_order_6(text, x0):
    expr = gc.parse(text)
    taylor = [float(d) for d in expr.derivatives("x", 6, x0)] if "x" in expr.variables else None
    if taylor is None:
        return
    tape = [float(d) for d in expr.derivatives("x", 6, x0, engine="tape")]
    scale = max(1.0, *(abs(v) / math.factorial(k) for k, v in enumerate(tape)))
    for k, (a, b) in enumerate(zip(taylor, tape)):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-11 * scale * math.factorial(k)), \
            f"{text} at {x0}: order {k}: taylor {a} != tape {b}"


# -- SPEC 4 at every order -----------------------------------------------------------
INF = math.inf


def orders(text, point, n=8, wrt="x"):
    return [float(d) for d in gc.parse(text).derivatives(wrt, n, point)]


@pytest.mark.parametrize("text,point,expected", [
    ("x**4+2*x**3-3*x**2+4*x-5", 0.0, [-5, 4, -6, 12, 24, 0, 0, 0, 0]),
    ("x**3", 0.0, [0, 0, 0, 6, 0, 0, 0, 0, 0]),
    ("x**0.0", 0.0, [1, 0, 0, 0, 0, 0, 0, 0, 0]),
    ("x**0", -2.0, [1, 0, 0, 0, 0, 0, 0, 0, 0]),
    ("abs(x)", 0.0, [0] * 9),
    ("relu(x)", 0.0, [0] * 9),
    ("sign(x)", 0.0, [0] * 9),
    ("max(x, 0)", 0.0, [0, 0.5, 0, 0, 0, 0, 0, 0, 0]),
    ("min(x, 0)", 0.0, [0, 0.5, 0, 0, 0, 0, 0, 0, 0]),
    ("max(x, 2*x)", 0.0, [0, 1.5, 0, 0, 0, 0, 0, 0, 0]),
    ("sqrt(x)", 0.0, [0, INF, -INF, INF, -INF, INF, -INF, INF, -INF]),
    ("log(x)", 0.0, [-INF, INF, -INF, INF, -INF, INF, -INF, INF, -INF]),
    ("1/x", 0.0, [INF, -INF, INF, -INF, INF, -INF, INF, -INF, INF]),
    ("x**-2", 0.0, [INF, -INF, INF, -INF, INF, -INF, INF, -INF, INF]),
    ("x**0.5", 0.0, [0, INF, -INF, INF, -INF, INF, -INF, INF, -INF]),
    ("x**1.5", 0.0, [0, 0, INF, -INF, INF, -INF, INF, -INF, INF]),
    ("(-2)**3 + x", 0.0, [-8, 1, 0, 0, 0, 0, 0, 0, 0]),
    ("x**3", -2.0, [-8, 12, -12, 6, 0, 0, 0, 0, 0]),
])
def test_spec_4_edge_cases_hold_at_every_order(text, point, expected):
    assert orders(text, point) == expected


def test_power_rules_at_base_zero_and_negative_base():
    assert orders("x**y", {"x": 0.0, "y": 0.0}) == [1.0] + [0.0] * 8          # 0**0 = 1
    assert orders("x**y", {"x": 0.0, "y": 0.5}, 1)[1] == INF                  # 0 < y < 1
    assert orders("x**y", {"x": 0.0, "y": 1.5}, 1)[1] == 0.0                  # y > 1
    assert orders("x**y", {"x": 0.0, "y": 2.0}, 4, wrt="y") == [0.0] * 5      # d/dy at base 0
    assert orders("x**y", {"x": -2.0, "y": 3.0}, 4) == [-8.0, 12.0, -12.0, 6.0, 0.0]
    along_y = orders("x**y", {"x": -2.0, "y": 3.0}, 2, wrt="y")
    assert along_y[0] == -8.0 and all(math.isnan(v) for v in along_y[1:])
    assert all(math.isnan(v) for v in orders("x**y", {"x": -2.0, "y": 0.5}, 3))


def test_general_power_with_an_integer_exponent_at_base_zero_is_the_polynomial():
    # x**y at y = 2 is x**2 along x: 2 at order 2 and 0 above, as powi (SymPy: 0, 0, 2, 0, 0)
    assert orders("x**y", {"x": 0.0, "y": 2.0}, 4) == [0.0, 0.0, 2.0, 0.0, 0.0]
    assert orders("x**y", {"x": 0.0, "y": 3.0}, 4) == [0.0, 0.0, 0.0, 6.0, 0.0]
    assert orders("(x+x**2)**y", {"x": 0.0, "y": 2.0}, 4) == [0.0, 0.0, 2.0, 12.0, 24.0]
    # a non-integer exponent keeps the one-sided limits: x**2.5 has +inf, then -inf
    assert orders("x**y", {"x": 0.0, "y": 2.5}, 4) == [0.0, 0.0, 0.0, INF, -INF]


def test_max_and_min_split_a_tie_evenly_along_either_side():
    assert orders("max(x, y)", {"x": 1.0, "y": 1.0}, 3) == [1.0, 0.5, 0.0, 0.0]
    assert orders("min(x, y)", {"x": 1.0, "y": 1.0}, 3, wrt="y") == [1.0, 0.5, 0.0, 0.0]


@pytest.mark.parametrize("text,point", [("abs(x)", 0.0), ("relu(x)", 0.0), ("max(x, 0)", 0.0),
                                        ("max(x, 2*x)", 0.0), ("sqrt(x)", 0.0), ("1/x", 0.0),
                                        ("x**1.5", 0.0), ("hypot(x, 0)", 0.0), ("x**3", 0.0)])
def test_edge_cases_match_the_nested_tape(text, point):
    taylor = orders(text, point, 4)
    tape = [float(d) for d in gc.parse(text).derivatives("x", 4, point, engine="tape")]
    assert taylor == tape


# -- vectorization, engine choice, the command line -------------------------------------
def test_points_are_vectorized_with_the_order_axis_first():
    expr = gc.parse("sin(x)*exp(-x**2/10) + y*log(1+x**2)")
    xs = np.linspace(-3, 3, 6).reshape(2, 3)
    ys = np.array([0.5, -1.0, 2.0])
    together = expr.derivatives("x", 5, {"x": xs, "y": ys})
    for i in range(2):
        for j in range(3):
            one = expr.derivatives("x", 5, {"x": xs[i, j], "y": ys[j]})
            # the same recurrences; only the summation order of a product may differ
            np.testing.assert_allclose([d[i, j] for d in together], one, rtol=1e-14)


@pytest.mark.slow
def test_a_million_points_take_one_pass():
    x = np.linspace(-5, 5, 1_000_000)
    d = gc.parse("sin(x)*exp(-x**2/10)").derivatives("x", 2, x)
    exact1 = np.cos(x) * np.exp(-x ** 2 / 10) - x / 5 * np.sin(x) * np.exp(-x ** 2 / 10)
    assert d[2].shape == (1_000_000,)
    assert np.allclose(d[1], exact1, rtol=1e-12, atol=1e-14)


def test_unknown_engine_is_a_clear_error():
    with pytest.raises(gc.GradcliError, match="unknown engine"):
        gc.parse("x").derivatives("x", 1, 0.0, engine="jet")


def test_diff_order_1000_in_json(gradcli):
    result = gradcli("diff", "exp(x)", "--at", "0", "--order", "1000", "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""
    record = json.loads(result.stdout)
    assert record["order"] == 1000 and len(record["derivatives"]) == 1001
    assert all(math.isclose(v, 1.0, rel_tol=1e-12) for v in record["derivatives"])


def test_diff_beyond_the_float64_range_is_inf_with_a_warning_naming_the_order(gradcli):
    result = gradcli("diff", "1/(1+x)", "--at", "0", "--order", "200", "--format", "json")
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert record["derivatives"][170] == float(math.factorial(170))
    assert record["derivatives"][171:] == ["-inf", "inf"] * 15
    assert "the derivative of order 171 is -inf at x=0" in result.stderr


@pytest.mark.slow
def test_diff_high_order_in_a_real_process_imports_neither_sympy_nor_mpmath():
    code = ("import sys; from gradcli.cli import main; sys.argv = ['gradcli', 'diff', "
            "'exp(sin(x))', '--at', '0.5', '--order', '200', '--format', 'plain']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('sympy', 'mpmath', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    value, modules = out.stdout.splitlines()
    assert float(value) == pytest.approx(-1.53804694931752e260, rel=1e-12) and modules == "[]", \
        out.stderr


def test_array_ops_are_linear_on_each_coefficient():
    x = np.arange(12.0).reshape(3, 2, 2)   # orders 0..2 of a 2x2 array
    assert OPS["reshape"].taylor(x, shape=(4,)).shape == (3, 4)
    np.testing.assert_array_equal(OPS["reduce_sum"].taylor(x, axis=None, keepdims=False),
                                  x.sum(axis=(1, 2)))
    np.testing.assert_array_equal(OPS["broadcast_to"].taylor(x[:, :1], shape=(3, 2))[2],
                                  np.broadcast_to(x[2, :1], (3, 2)))
    np.testing.assert_array_equal(OPS["sum_to"].taylor(x, shape=(1, 2)),
                                  x.sum(axis=1, keepdims=True))
