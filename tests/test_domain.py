"""Naming the function and the point where a nan/inf first appears."""
import numpy as np

import gradcli as gc
from gradcli.nonfinite import nonfinite_origin


def origin(text, **point):
    e = gc.parse(text)
    return nonfinite_origin(e, e.point(point))


def test_log_of_negative_names_log_and_the_point():
    assert origin("log(x) + 1", x=-1.0) == "log(-1.0) is nan at x=-1.0"


def test_division_by_zero():
    assert origin("1/x", x=0.0) == "1.0/0.0 is inf at x=0.0"


def test_negative_integer_power_at_zero():
    assert origin("x**-2", x=0.0) == "0.0**-2 is inf at x=0.0"


def test_only_the_first_origin_is_named():
    # sqrt(-1) is nan and so is everything after it: sqrt is named, not the sum
    assert origin("sqrt(x) + log(x)", x=-4.0) == "sqrt(-4.0) is nan at x=-4.0"


def test_finite_is_none():
    assert origin("x**2", x=3.0) is None


def test_first_bad_point_of_an_array():
    e = gc.parse("log(x)")
    assert nonfinite_origin(e, {"x": np.array([1.0, 2.0, -3.0, -4.0])}) == "log(-3.0) is nan at x=-3.0"
