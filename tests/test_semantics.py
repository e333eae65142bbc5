"""SPEC section 4, each bullet a test: the values at awkward points."""
import math

import numpy as np
import pytest

import gradcli as gc

inf, nan = math.inf, math.nan


def d(text, at, order=1, wrt=None):
    return [float(v) for v in gc.parse(text).derivatives(wrt, order, at)]


def grad(text, at):
    return [float(v) for v in gc.parse(text).gradient(at)]


def test_float64_by_default():
    assert np.asarray(gc.parse("x/3").evaluate(1)).dtype == np.float64
    assert gc.parse("x/3").evaluate(1) == 1 / 3


def test_abs_relu_sign_derivative_at_zero_is_zero():
    assert d("abs(x)", 0)[1] == 0.0
    assert d("relu(x)", 0)[1] == 0.0
    assert d("sign(x)", 0)[1] == 0.0


def test_max_min_tie_splits_half_and_half():
    assert grad("max(x, y)", {"x": 1, "y": 1}) == [0.5, 0.5]
    assert grad("min(x, y)", {"x": 1, "y": 1}) == [0.5, 0.5]
    assert grad("max(x, y)", {"x": 2, "y": 1}) == [1.0, 0.0]


def test_sqrt_and_log_derivative_at_zero_are_inf():
    assert d("sqrt(x)", 0)[1] == inf
    assert d("log(x)", 0)[1] == inf


def test_reciprocal_derivative_at_zero_is_minus_inf():
    assert d("1/x", 0)[1] == -inf


def test_integer_powers_exact_at_every_order_at_zero():
    assert d("x**4+2*x**3-3*x**2+4*x-5", 0, order=5) == [-5.0, 4.0, -6.0, 12.0, 24.0, 0.0]
    assert d("x**4", 0, order=6) == [0.0, 0.0, 0.0, 0.0, 24.0, 0.0, 0.0]
    assert d("x**2", 0) == [0.0, 0.0]


def test_zero_exponent_has_derivative_zero():
    assert d("x**0.0", 0) == [1.0, 0.0]
    assert d("x**0", 3) == [1.0, 0.0]


def test_general_power_at_base_zero():
    # d/dx x**y at x=0: inf for 0<y<1, 0 for y>1; d/dy = 0 for y>0
    assert grad("x**y", {"x": 0, "y": 0.5}) == [inf, 0.0]
    assert grad("x**y", {"x": 0, "y": 1.5}) == [0.0, 0.0]
    assert grad("x**y", {"x": 0, "y": 2}) == [0.0, 0.0]
    assert d("x**0.5", 0)[1] == inf
    assert d("x**1.5", 0)[1] == 0.0


def test_zero_to_the_zero_is_one():
    assert gc.parse("0**0").evaluate() == 1.0
    assert gc.parse("x**y").evaluate({"x": 0, "y": 0}) == 1.0


def test_negative_base_non_integer_exponent_is_nan():
    assert math.isnan(gc.parse("x**0.5").evaluate(-2))
    assert math.isnan(gc.parse("x**y").evaluate({"x": -2, "y": 0.5}))


def test_negative_base_integer_exponent_is_exact():
    assert d("x**3", -2) == [-8.0, 12.0]
    assert gc.parse("(-2)**3").evaluate() == -8.0
    assert gc.parse("pow(x, 3)").derivatives(None, 1, -2)[1] == 12.0


def test_domain_errors_are_nan_or_inf_never_a_number():
    assert math.isnan(gc.parse("log(x)").evaluate(-1))
    assert gc.parse("1/x").evaluate(0) == inf
    assert math.isnan(gc.parse("sqrt(x)").evaluate(-1))
    assert math.isnan(gc.parse("asin(x)").evaluate(2))


def test_tutorial_polynomial_at_two():
    assert d("x**4+2*x**3-3*x**2+4*x-5", 2, order=3) == [23.0, 48.0, 66.0, 60.0]


@pytest.mark.parametrize("x", [0.5, 10.0, 18.0, 30.0, -25.0, 300.0])
def test_tanh_and_sigmoid_gradients_keep_their_digits_near_saturation(x):
    # 1 - tanh(x)**2 and s * (1 - s) cancel to nothing there; 1/cosh(x)**2 and s * s(-x) do not
    import mpmath

    from gradcli.compiled.program import compile_expression

    with mpmath.workdps(40):  # the precision is global: set back after
        s, r = 1 / (1 + mpmath.exp(-x)), 1 / (1 + mpmath.exp(x))  # r = 1 - s, no cancellation
        cases = {"tanh(x)": (mpmath.sech(x) ** 2, -2 * mpmath.tanh(x) * mpmath.sech(x) ** 2),
                 "sigmoid(x)": (s * r, s * r * (r - s))}
        cases = {k: (float(a), float(b)) for k, (a, b) in cases.items()}
    for text, (d1, d2) in cases.items():
        expr = gc.parse(text)
        prog = compile_expression(expr)
        got1 = [float(expr.gradient({"x": x})[0]), float(prog.value_and_grad({"x": x})[1][0]),
                float(prog.point_function()(np.array([x]))[1][0])]
        got2 = [float(expr.hessian({"x": x})[0, 0]), float(prog.hessian({"x": x})[0, 0])]
        for got, want in [(g, float(d1)) for g in got1] + [(g, float(d2)) for g in got2]:
            # beyond |x| ~ 230 tanh's second derivative (~e**-2|x|) is under 1e-200 and comes
            # out 0: its chain passes through e**-3|x|, below the smallest float
            assert got == pytest.approx(want, rel=1e-14, abs=1e-200), (text, x)
