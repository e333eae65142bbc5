"""x**n at the first order alone (gradcli/taylor/series.py integer_power): the closed form
u0**n, n*u0**(n-1)*u1 against exact rational arithmetic (fractions), and the same values as
the repeated squaring of the general rule where both are exact."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gradcli.taylor.series import integer_power, mul


def _exact(a: float, b: float, n: int) -> tuple[float, float]:
    fa = Fraction(a)
    return float(fa ** n), float(n * fa ** (n - 1) * Fraction(b))


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.floats(-4, 4, allow_nan=False), st.floats(-4, 4, allow_nan=False),
       st.integers(2, 60))
@example(1e-06, 1.0, 53)  # the derivative 5.3e-311 is subnormal (a CI run found it)
def test_first_order_within_three_ulps_of_the_exact_series(a, b, n):
    got = integer_power(np.array([[a], [b]]), n)
    assert got.shape == (2, 1)
    # u0**(n-1) may be subnormal (a=1e-6, n=53: 1e-312), where its rounding error is half the
    # smallest subnormal, not half an ulp of the result; n*u1 multiplies that absolute error
    subnormal_slack = (0.0, abs(n * b) * np.finfo(float).smallest_subnormal)
    for value, exact, slack in zip(got[:, 0], _exact(a, b, n), subnormal_slack):
        if exact == 0 or not np.isfinite(exact):
            assert value == exact or (exact == 0 and abs(value) < 1e-300)
        else:  # pow, two products
            assert abs(value - exact) <= 3 * np.spacing(abs(exact)) + slack, (value, exact)


def test_first_order_at_zero_and_small_integers_is_exact():
    u = np.array([[0.0, 2.0, -3.0, 1.5], [1.0, 1.0, 2.0, -0.5]])
    for n in (2, 3, 7, 10):
        squared = u  # the general rule: repeated products, exact on these numbers
        for _ in range(n - 1):
            squared = mul(squared, u)
        assert np.array_equal(integer_power(u, n), squared)


def test_w5_power_of_a_thousand_matches_its_exact_derivative():
    got = integer_power(np.array([[0.999], [1.0]]), 1000)
    value, slope = _exact(0.999, 1.0, 1000)
    assert abs(got[0, 0] - value) <= 2 * np.spacing(value)
    assert abs(got[1, 0] - slope) <= 2 * np.spacing(slope)
