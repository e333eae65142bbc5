"""The compiled-program interface: values, per-point gradients, VJPs and Hessians
against closed forms."""
import numpy as np
import pytest

import gradcli as gc
from gradcli.program import compile_expression

ROSENBROCK = "(1-x)**2+100*(y-x**2)**2"


def rosenbrock_grad(x, y):
    return np.array([-2 * (1 - x) - 400 * x * (y - x ** 2), 200 * (y - x ** 2)])


def test_value_and_grad_at_one_point_match_the_closed_form():
    prog = compile_expression(gc.parse(ROSENBROCK))
    value, grad = prog.value_and_grad({"x": -1.5, "y": 2.0})
    assert value == pytest.approx(2.5 ** 2 + 100 * (2 - 2.25) ** 2, rel=1e-15)
    np.testing.assert_allclose(grad, rosenbrock_grad(-1.5, 2.0), rtol=1e-15)


def test_value_and_grad_are_per_point_over_arrays():
    prog = compile_expression(gc.parse(ROSENBROCK))
    xs, ys = np.linspace(-2, 2, 7), np.linspace(-1, 3, 7)
    value, grad = prog.value_and_grad({"x": xs, "y": ys})
    assert grad.shape == (7, 2)
    np.testing.assert_allclose(grad, rosenbrock_grad(xs, ys).T, rtol=1e-14)


def test_wrt_chooses_and_orders_the_gradient():
    prog = compile_expression(gc.parse("w*x+b"), wrt=["w", "b"])
    xs = np.arange(1.0, 6.0)
    _, grad = prog.value_and_grad({"x": xs, "w": 3.0, "b": 1.0})
    np.testing.assert_array_equal(grad, np.stack([xs, np.ones(5)], axis=-1))


def test_value_and_vjp_gives_the_mean_squared_error_gradient():
    prog = compile_expression(gc.parse("w*x+b"), wrt=["w", "b"])
    xs = np.arange(1.0, 6.0)
    ys = 2 * xs + 1
    value, v = prog.value_and_vjp({"x": xs, "w": 0.5, "b": 0.25},
                                  lambda f: 2 * (f - ys) / len(xs))
    r = 0.5 * xs + 0.25 - ys
    np.testing.assert_allclose(value, 0.5 * xs + 0.25)
    np.testing.assert_allclose(v, [2 * np.mean(r * xs), 2 * np.mean(r)], rtol=1e-15)


def test_hessian_matches_the_closed_form():
    prog = compile_expression(gc.parse(ROSENBROCK))
    x, y = -1.5, 2.0
    expected = [[2 - 400 * (y - 3 * x ** 2), -400 * x], [-400 * x, 200]]
    np.testing.assert_allclose(prog.hessian({"x": x, "y": y}), expected, rtol=1e-15)


def test_unknown_wrt_is_an_error():
    with pytest.raises(ValueError, match="not variables"):
        compile_expression(gc.parse("x*y"), wrt=["z"])


def test_point_function_gives_value_and_gradient_in_wrt_order():
    fg = compile_expression(gc.parse(ROSENBROCK), wrt=["y", "x"]).point_function()
    value, grad = fg(np.array([2.0, -1.5]))
    assert value == pytest.approx(12.5, rel=1e-15)
    np.testing.assert_allclose(grad, rosenbrock_grad(-1.5, 2.0)[::-1], rtol=1e-15)
