"""gradcli/ops/masks.py: the weights of the piecewise gradient rules, as ops without a
gradient. Each mask's forward, gradient, Taylor and SymPy rules, and what they buy:
abs, relu, max, min, hypot and pow in compiled programs without run-time rules."""
import math

import numpy as np
import pytest
import sympy as sp

import gradcli as gc
from gradcli.registry import OPS
from gradcli.compiled.program import compile_expression
from gradcli.tensor import apply

MASK_OPS = {"mask_sign", "mask_positive", "mask_zero", "mask_tie"}
XS = np.array([-np.inf, -2.5, -1e-300, -0.0, 0.0, 1e-300, 0.5, 3.0, np.inf, np.nan])
YS = np.array([-np.inf, 0.5, -1e-300, 0.0, -0.0, 2.0, 0.5, -3.0, np.inf, 1.0])
EXPECTED = {  # op -> (inputs, expected forward)
    "mask_sign": ((XS,), [-1, -1, -1, -0.0, 0, 1, 1, 1, 1, np.nan]),
    "mask_positive": ((XS,), [0, 0, 0, 0, 0, 1, 1, 1, 1, np.nan]),
    "mask_zero": ((XS,), [0, 0, 0, 1, 1, 0, 0, 0, 0, 0]),
    "mask_tie": ((XS, YS), [0.5, 0, 0.5, 0.5, 0.5, 0, 0.5, 1, 0.5, np.nan]),
}


def test_the_masks_are_these_and_not_in_the_language():
    assert {n for n in OPS if n.startswith("mask_")} == MASK_OPS == set(EXPECTED)
    assert all(OPS[n].language is None for n in MASK_OPS)


@pytest.mark.parametrize("name", sorted(MASK_OPS))
def test_forward_at_signed_zeros_infinities_and_nan(name):
    inputs, want = EXPECTED[name]
    with np.errstate(invalid="ignore"):
        got = OPS[name].forward(*inputs)
    np.testing.assert_array_equal(got, np.array(want, dtype=float))
    assert got.dtype == np.float64
    got32 = OPS[name].forward(*[a.astype(np.float32) for a in inputs])
    assert got32.dtype == np.float32


@pytest.mark.parametrize("name", sorted(MASK_OPS))
def test_no_gradient_under_a_tape(name):
    x = gc.Variable(np.array([0.5, -1.0, 0.0]))
    others = [gc.constant(np.array([0.5, 2.0, 0.0]))] * (OPS[name].arity - 1)
    with gc.GradientTape() as tape:
        mask = apply(name, x, *others)
        out = gc.reduce_sum(mask * x)
    # d(mask * x)/dx = mask: no term from the mask itself
    grad = tape.gradient(out, x)
    np.testing.assert_array_equal(getattr(grad, "value", grad), mask.value)
    assert OPS[name].grad(None, None, x, *others) == (None,) * OPS[name].arity


@pytest.mark.parametrize("name", sorted(MASK_OPS))
def test_taylor_series_is_the_value_then_zeros(name):
    series = []
    for value in ([0.7, -0.3, 0.0], [0.7, 0.5, 0.0])[:OPS[name].arity]:
        s = np.zeros((6, 3))
        s[0], s[1] = value, 1.0
        series.append(s)
    got = OPS[name].taylor(*series)
    assert got.shape == (6, 3)
    np.testing.assert_array_equal(got[0], OPS[name].forward(*[s[0] for s in series]))
    assert not got[1:].any()


@pytest.mark.parametrize("name", sorted(MASK_OPS))
def test_sympy_mapping_matches_forward(name):
    symbols = sp.symbols("x y")[:OPS[name].arity]
    expr = OPS[name].sympy(sp, *symbols)
    points = [(0.5, 0.5), (-2.0, 1.0), (0.0, 0.0), (3.0, -1.0), (0.0, 2.0)]
    for point in points:
        point = point[:OPS[name].arity]
        want = float(OPS[name].forward(*[np.array(p) for p in point]))
        assert float(expr.subs(dict(zip(symbols, point)))) == want, (name, point)


PIECEWISE = ["abs(x)*y", "relu(x-y)", "max(x, y)**2", "min(x, y)*x", "hypot(x, y)",
             "abs(sin(x)) + max(x, 0)*relu(y)", "x**y", "(x+2)**(y*y)"]
POINTS = [(0.0, 0.0), (1.0, 1.0), (-0.5, 0.25), (2.0, -3.0), (-0.0, 0.0), (0.7, 0.7)]


def test_the_piecewise_rules_no_longer_read_values():
    assert {n for n in OPS if not OPS[n].traceable} == set()
    for name in ("abs", "relu", "max", "min", "hypot", "pow"):
        assert OPS[name].traceable


@pytest.mark.parametrize("text", PIECEWISE)
def test_compiled_program_has_no_run_time_rule_and_matches_the_tape(text):
    expr = gc.parse(text)
    prog = compile_expression(expr)
    kinds = {instr[0] for instr in prog.code.needed([prog.output, *prog.grad_slots])}
    assert kinds == {"op"}
    assert prog._hvp_program() is not None  # a vectorized Hessian, not nested tapes
    assert prog.point_function().source  # the one-point function on floats
    xs = np.array([p[0] for p in POINTS])
    ys = np.array([p[1] for p in POINTS])
    with np.errstate(all="ignore"):
        value, grad = prog.value_and_grad({"x": xs, "y": ys})
        hess = prog.hessian({"x": xs, "y": ys})
    for k, (x, y) in enumerate(POINTS):
        point = {"x": x, "y": y}
        np.testing.assert_array_equal(value[k], expr.evaluate(point))  # nan == nan here
        np.testing.assert_array_equal(grad[k], expr.gradient(point))
        np.testing.assert_array_equal(hess[k], expr.hessian(point))
        fv, fgrad = prog.point_function()(np.array([x, y]))
        np.testing.assert_array_equal(fv, value[k])
        np.testing.assert_array_equal(fgrad, grad[k])


def test_spec_subgradients_through_the_masks():
    def grad(text, **point):
        return compile_expression(gc.parse(text)).point_function()(
            np.array(list(point.values())))[1].tolist()

    assert grad("abs(x)", x=0.0) == [0.0]
    assert grad("relu(x)", x=0.0) == [0.0]
    assert grad("max(x, y)", x=1.0, y=1.0) == [0.5, 0.5]
    assert grad("min(x, y)", x=2.0, y=2.0) == [0.5, 0.5]
    assert grad("hypot(x, y)", x=0.0, y=0.0) == [0.0, 0.0]
    assert grad("hypot(x, y)", x=3.0, y=-4.0) == pytest.approx([0.6, -0.8], rel=1e-15)
    assert math.isnan(grad("abs(x)", x=math.nan)[0])
