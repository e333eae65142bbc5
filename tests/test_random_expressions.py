"""Random grammar-valid expressions against SymPy: values, gradients, derivatives."""
import math

import sympy as sp
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gradcli as gc
from tests.strategies import smooth_expressions


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-8, abs_tol=1e-9)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(smooth_expressions(("x",)), st.floats(-2, 2))
@pytest.mark.slow
def test_derivatives_of_random_expressions_match_sympy(text, x0):
    expr = gc.parse(text)
    f = expr.to_sympy()
    x = sp.Symbol("x", real=True)
    ours = expr.derivatives("x", 3, {"x": x0}) if expr.variables else None
    if ours is None:
        assert close(float(expr.evaluate()), float(f.evalf(30)))
        return
    ref = f
    for k in range(4):
        want = float(ref.subs(x, sp.Float(repr(x0), 30)).evalf(30))
        assert close(float(ours[k]), want), (text, x0, k, float(ours[k]), want)
        ref = sp.diff(ref, x)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(smooth_expressions(("x", "y")), st.floats(-2, 2), st.floats(-2, 2))
def test_gradients_and_hessians_of_random_expressions_match_sympy(text, x0, y0):
    expr = gc.parse(text)
    point = {v: {"x": x0, "y": y0}[v] for v in expr.variables}
    f = expr.to_sympy()
    syms = {v: sp.Symbol(v, real=True) for v in expr.variables}
    subs = {syms[k]: sp.Float(repr(v), 30) for k, v in point.items()}
    # a value beyond float64 (2**(2**81*...)) makes inf - inf in the chain rule: not this test's
    assume(math.isfinite(float(f.subs(subs).evalf(30))))
    g = expr.gradient(point)
    h = expr.hessian(point)
    for i, a in enumerate(expr.variables):
        assert close(float(g[i]), float(sp.diff(f, syms[a]).subs(subs).evalf(30)))
        for j, b in enumerate(expr.variables):
            assert close(float(h[i, j]), float(sp.diff(f, syms[a], syms[b]).subs(subs).evalf(30)))
