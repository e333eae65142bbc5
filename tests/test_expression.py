"""gc.parse: variables, evaluation at points and arrays of points, derivatives, to_sympy."""
import math

import numpy as np
import pytest
import sympy as sp

import gradcli as gc
from gradcli.errors import EvaluationError


def test_variables_sorted():
    assert gc.parse("y*x + b").variables == ["b", "x", "y"]


def test_evaluate_forms_of_a_point():
    f = gc.parse("x*y + 1")
    assert f.evaluate({"x": 2, "y": 3}) == 7.0
    assert f.evaluate(x=2, y=3) == 7.0
    assert f(x=2, y=3) == 7.0
    assert gc.parse("x**2").evaluate(3) == 9.0
    assert gc.parse("2*pi").evaluate() == 2 * math.pi


def test_evaluate_arrays_of_points_in_one_pass():
    f = gc.parse("x**2 + y")
    xs = np.linspace(-1, 1, 1001)
    np.testing.assert_array_equal(f.evaluate({"x": xs, "y": 1.0}), xs ** 2 + 1.0)


def test_gradient_over_arrays_of_points():
    f = gc.parse("x**2 * y")
    xs = np.array([1.0, 2.0, 3.0])
    g = f.gradient({"x": xs, "y": 2.0})
    np.testing.assert_array_equal(g, np.stack([4 * xs, xs ** 2], axis=-1))


def test_hessian_order_follows_variables():
    h = gc.parse("x**3 * y**2").hessian({"x": 1.0, "y": 2.0})
    np.testing.assert_array_equal(h, [[24.0, 12.0], [12.0, 2.0]])


def test_derivatives_along_one_variable_hold_the_others():
    f = gc.parse("x**3 * y")
    assert [float(v) for v in f.derivatives("x", 3, {"x": 2, "y": 5})] == [40.0, 60.0, 60.0, 30.0]
    assert [float(v) for v in f.derivatives("y", 2, {"x": 2, "y": 5})] == [40.0, 8.0, 0.0]


def test_missing_and_unknown_variables_are_named():
    f = gc.parse("x*y")
    with pytest.raises(EvaluationError, match="no value given for variable 'y'"):
        f.evaluate({"x": 1})
    with pytest.raises(EvaluationError, match=r"the expression has no variable 'z' \(its variables: x, y\)"):
        f.evaluate({"x": 1, "y": 2, "z": 3})
    with pytest.raises(EvaluationError, match="a value without a name needs an expression of one variable"):
        f.evaluate(2)


def test_wrt_is_needed_with_several_variables():
    with pytest.raises(EvaluationError, match=r"several variables \(x, y\): choose one with wrt"):
        gc.parse("x*y").derivatives(None, 1, {"x": 1, "y": 2})
    with pytest.raises(EvaluationError, match="order must be a non-negative integer"):
        gc.parse("x").derivatives("x", -1, 1)


def test_to_sympy_is_built_from_the_graph_with_exact_numbers():
    x = sp.Symbol("x", real=True)
    assert gc.parse("x**2 + 0.1*x + pi").to_sympy() == x ** 2 + sp.Rational(1, 10) * x + sp.pi
    assert gc.parse("log(x, 2)").to_sympy() == sp.log(x) / sp.log(2)
    assert gc.parse("e**x").to_sympy() == sp.exp(x)


def test_float32_evaluation():
    v = gc.parse("x/3").evaluate(1.0, dtype="float32")
    assert v.dtype == np.float32 and v == np.float32(1.0) / np.float32(3.0)
