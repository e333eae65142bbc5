"""Every registered op: value and first three derivatives against SymPy.

Driven from the registry: an op registered without an entry here fails
``test_every_op_has_tests``. Points inside each op's domain come from hypothesis.
"""
import functools
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcli as gc
from gradcli.registry import OPS

# op -> (expression, {variable: (low, high)}) ; the domain keeps away from singularities
LANGUAGE_CASES = {
    "add": ("x + y", {"x": (-5, 5), "y": (-5, 5)}),
    "sub": ("x - y", {"x": (-5, 5), "y": (-5, 5)}),
    "mul": ("x * y", {"x": (-5, 5), "y": (-5, 5)}),
    "div": ("x / y", {"x": (-5, 5), "y": (0.5, 5)}),
    "neg": ("-x", {"x": (-5, 5)}),
    "powi": ("x**3 + x**-2", {"x": (0.3, 4)}),
    "pow": ("x**y", {"x": (0.2, 4), "y": (-2.5, 2.5)}),
    "exp": ("exp(x)", {"x": (-5, 5)}),
    "expm1": ("expm1(x)", {"x": (-5, 5)}),
    "log": ("log(x)", {"x": (0.1, 10)}),
    "log1p": ("log1p(x)", {"x": (-0.9, 10)}),
    "log2": ("log2(x)", {"x": (0.1, 10)}),
    "log10": ("log10(x)", {"x": (0.1, 10)}),
    "sqrt": ("sqrt(x)", {"x": (0.1, 10)}),
    "cbrt": ("cbrt(x)", {"x": (0.1, 10)}),
    "sin": ("sin(x)", {"x": (-6, 6)}),
    "cos": ("cos(x)", {"x": (-6, 6)}),
    "tan": ("tan(x)", {"x": (-1.3, 1.3)}),
    "asin": ("asin(x)", {"x": (-0.9, 0.9)}),
    "acos": ("acos(x)", {"x": (-0.9, 0.9)}),
    "atan": ("atan(x)", {"x": (-5, 5)}),
    "sinh": ("sinh(x)", {"x": (-4, 4)}),
    "cosh": ("cosh(x)", {"x": (-4, 4)}),
    "tanh": ("tanh(x)", {"x": (-4, 4)}),
    "asinh": ("asinh(x)", {"x": (-5, 5)}),
    "acosh": ("acosh(x)", {"x": (1.1, 10)}),
    "atanh": ("atanh(x)", {"x": (-0.9, 0.9)}),
    "abs": ("abs(x)", {"x": (0.1, 5)}),
    "sign": ("sign(x) * x**2", {"x": (0.1, 5)}),
    "relu": ("relu(x) + relu(-x) * 3", {"x": (0.1, 5)}),
    "sigmoid": ("sigmoid(x)", {"x": (-8, 8)}),
    "softplus": ("softplus(x)", {"x": (-8, 8)}),
    "max": ("max(x, y)", {"x": (0.5, 5), "y": (-5, 0)}),
    "min": ("min(x, y)", {"x": (0.5, 5), "y": (-5, 0)}),
    "hypot": ("hypot(x, y)", {"x": (0.5, 5), "y": (-5, -0.5)}),
    "atan2": ("atan2(y, x)", {"x": (0.5, 5), "y": (-5, 5)}),
    "erf": ("erf(x)", {"x": (-3, 3)}),
    "erfc": ("erfc(x)", {"x": (-3, 3)}),
    "gamma": ("gamma(x)", {"x": (0.3, 5)}),
    "lgamma": ("lgamma(x)", {"x": (0.3, 5)}),
    "digamma": ("digamma(x)", {"x": (0.3, 5)}),
    "polygamma": ("digamma(x) * x", {"x": (0.3, 5)}),      # digamma's derivatives
    "sinc": ("sinc(x)", {"x": (0.2, 8)}),
    "sinc_derivative": ("sinc(x) * x", {"x": (-8, -0.2)}),  # sinc's derivatives
    "sec": ("sec(x)", {"x": (-1.3, 1.3)}),
    "csc": ("csc(x)", {"x": (0.2, 3)}),
    "cot": ("cot(x)", {"x": (0.2, 3)}),
    "exp2": ("exp2(x)", {"x": (-5, 5)}),
    "square": ("square(x)", {"x": (-5, 5)}),
    "floor": ("floor(x) * x", {"x": (0.1, 0.9)}),
    "ceil": ("ceil(x) * x", {"x": (1.1, 1.9)}),
    "round": ("round(x) * x", {"x": (2.6, 3.4)}),
    "heaviside": ("heaviside(x) * x**2", {"x": (0.1, 5)}),
    "mod": ("mod(x, y)", {"x": (0.1, 0.9), "y": (1.5, 3)}),
    "clip": ("clip(x, y, z)", {"x": (0.5, 1), "y": (-1, 0), "z": (2, 3)}),
}
# negative side of the piecewise ops, separately, so both branches are exercised
EXTRA_CASES = {
    "abs<0": ("abs(x)", {"x": (-5, -0.1)}),
    "sign<0": ("sign(x) * x**2", {"x": (-5, -0.1)}),
    "cbrt<0": ("cbrt(x)", {"x": (-10, -0.1)}),
    "max<": ("max(x, y)", {"x": (-5, 0), "y": (0.5, 5)}),
    "min<": ("min(x, y)", {"x": (-5, 0), "y": (0.5, 5)}),
    "atan2<": ("atan2(y, x)", {"x": (-5, -0.5), "y": (0.5, 5)}),
}
# array ops (reductions, broadcasting, reshape) are checked through the tape, against numpy,
# in test_tape.py (test_broadcasting_and_reductions, test_reduce_sum_axis_gradient,
# test_array_ops_second_order_through_broadcast)
ARRAY_OPS = {"sum_to", "broadcast_to", "reshape", "reduce_sum",
             # the tensor library's array ops: tested in tests/test_tensor_api.py
             "cast", "concat", "getitem", "matmul", "prod_others",
             "reduce_max", "reduce_min", "reduce_prod", "scatter", "stack", "stop_gradient",
             "transpose", "max_weight", "min_weight",
             "less", "less_equal", "greater", "greater_equal", "equal", "not_equal"}
# the gradient rules' masks, outside the language: every rule tested in test_masks.py
MASK_OPS = {"mask_sign", "mask_positive", "mask_zero", "mask_tie"}


def test_every_op_has_tests():
    untested = set(OPS) - set(LANGUAGE_CASES) - ARRAY_OPS - MASK_OPS
    assert not untested, f"ops without tests: {sorted(untested)}"


def test_every_language_op_has_a_sympy_mapping_and_docstrings():
    for o in OPS.values():
        if o.name in ARRAY_OPS:
            continue
        assert o.sympy is not None, o.name
        assert o.grad.__doc__, f"{o.name}: the gradient rule needs its formula as a docstring"


@functools.lru_cache(maxsize=None)
def symbolic_derivatives(text, wrt, order=3):
    f = gc.parse(text).to_sympy()
    sym = {s.name: s for s in f.free_symbols}
    out = [f]
    for _ in range(order):
        out.append(sp.diff(out[-1], sym[wrt]))
    return out, sym


def sympy_values(text, wrt, point):
    exprs, sym = symbolic_derivatives(text, wrt)
    subs = {sym[k]: sp.Float(repr(v), 30) for k, v in point.items() if k in sym}
    return [float(e.subs(subs).evalf(30)) for e in exprs]


def close(a, b, rtol=1e-9, atol=1e-11):
    return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)


ALL_CASES = {**LANGUAGE_CASES, **EXTRA_CASES}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ALL_CASES))
def test_value_and_three_derivatives_match_sympy(name):
    text, domain = ALL_CASES[name]
    expr = gc.parse(text)
    points = st.fixed_dictionaries({v: st.floats(lo, hi) for v, (lo, hi) in domain.items()})

    @settings(max_examples=12, deadline=None, derandomize=True)
    @given(points)
    def check(point):
        for wrt in expr.variables:
            ours = [float(d) for d in expr.derivatives(wrt, 3, point)]
            ref = sympy_values(text, wrt, point)
            for k, (a, b) in enumerate(zip(ours, ref)):
                assert close(a, b), f"{text} d^{k}/d{wrt}^{k} at {point}: {a} != {b}"

    check()


@pytest.mark.parametrize("name", sorted(n for n, (_, d) in LANGUAGE_CASES.items() if len(d) == 2))
def test_gradient_and_mixed_partial_match_sympy(name):
    text, domain = LANGUAGE_CASES[name]
    expr = gc.parse(text)
    f = expr.to_sympy()
    sym = {s.name: s for s in f.free_symbols}
    x, y = (sym[v] for v in expr.variables)
    point = {v: (lo + hi) / 2 + 0.123 for v, (lo, hi) in domain.items()}
    subs = {sym[k]: sp.Float(repr(v), 30) for k, v in point.items()}
    grad = expr.gradient(point)
    hess = expr.hessian(point)
    for i, s in enumerate((x, y)):
        assert close(float(grad[i]), float(sp.diff(f, s).subs(subs).evalf(30)))
        for j, t in enumerate((x, y)):
            assert close(float(hess[i, j]), float(sp.diff(f, s, t).subs(subs).evalf(30)))


@pytest.mark.parametrize("name", sorted(n for n in LANGUAGE_CASES if OPS[n].language))
def test_library_function_records_on_the_tape(name):
    """gc.<fn> applied to a Variable gives the tape gradient of the registered rule."""
    o = OPS[name]
    text, domain = LANGUAGE_CASES[name]
    args = [gc.Variable((lo + hi) / 2 + 0.1) for lo, hi in list(domain.values())[:o.arity]]
    fn = getattr(gc, {"max": "maximum", "min": "minimum"}.get(name, name))
    with gc.GradientTape() as tape:
        y = fn(*args)
    grads = tape.gradient(y, args)
    h = 1e-6
    for k, a in enumerate(args):
        plus = [float(b.numpy()) + (h if i == k else 0) for i, b in enumerate(args)]
        minus = [float(b.numpy()) - (h if i == k else 0) for i, b in enumerate(args)]
        numeric = (float(fn(*plus)) - float(fn(*minus))) / (2 * h)
        assert math.isclose(float(grads[k]), numeric, rel_tol=1e-6, abs_tol=1e-8), name


def test_float32_ops_stay_float32():
    x = gc.Variable(np.float32(0.5), dtype="float32")
    with gc.GradientTape() as tape:
        y = gc.sin(x) * 2.0 + x ** 2
    g = tape.gradient(y, x)
    assert y.dtype == np.float32 and g.dtype == np.float32
    assert float(g) == pytest.approx(2 * math.cos(0.5) + 1.0, rel=1e-6)


def test_every_language_function_is_a_library_function():
    for name, o in __import__("gradcli.registry", fromlist=["x"]).language_functions().items():
        fn = getattr(gc, name)
        _, domain = LANGUAGE_CASES[o.name]
        mids = [(lo + hi) / 2 + 0.1 for lo, hi in domain.values()][:o.arity]
        assert float(fn(*map(gc.constant, mids))) == float(o.forward(*map(np.float64, mids))), name
