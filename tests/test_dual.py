"""taylor/dual.py: the one-point first order on floats, its bound checked against flint balls
(the bound must hold: |float - exact| <= bound), and what derivatives() returns through it
against mpmath."""
from __future__ import annotations

import math
import random

import flint
import mpmath
import pytest

import gradcli as gc
from gradcli.expression import Expression
from gradcli.language.parser import parse_graph
from gradcli.taylor.dual import first_order, vouched
from gradcli.taylor.refine import Refinement

from .test_polynomial_columns import _horner


def _graph(text):
    return Expression(text, parse_graph(text))


def _exact(text, x):
    """f and f' at the float x in 200-bit flint balls, constants as their float64 values."""
    from gradcli.taylor import ball

    e = _graph(text)
    cs, _ = ball.coefficient_balls(e.nodes, "x", {"x": x}, 1, 200, 400)
    return [cs[0], cs[1]]


def _random_polynomial(rng, terms):
    parts = []
    for i in range(terms):
        c = rng.choice([-3, -2, -1, 1, 2, 3, 0.1, -0.7, 1e-3])
        form = rng.randrange(4)
        k = rng.randrange(0, 40)
        if form == 0:
            parts.append(f"({c})*x**{k}")
        elif form == 1:
            parts.append(f"-({c}*x**{k} - x)")
        elif form == 2:
            parts.append(f"x*({c} + x**{k})")
        else:
            parts.append(f"({c})")
    return " + ".join(parts)


@pytest.mark.parametrize("seed", range(40))
def test_the_bound_holds_against_balls(seed):
    rng = random.Random(seed)
    text = _random_polynomial(rng, rng.randrange(1, 60))
    x = rng.choice([0.999, -1.3, 0.5, 2.0, 1e-3, -0.0, 0.0, 1.0 / 3.0])
    found = first_order(_graph(text).nodes, "x", {"x": x})
    assert found is not None
    v, d, ev, ed = found
    exact_v, exact_d = _exact(text, x)
    assert abs(flint.arb(v) - exact_v) <= ev + 1e-300 or exact_v.rad() > ev
    assert abs(flint.arb(d) - exact_d) <= ed + 1e-300 or exact_d.rad() > ed


@pytest.mark.slow
def test_a_long_sum_with_cancellation_is_right_without_balls():
    """W5's form through the graph at 3,000 terms: a float derivative would be off past 1e-13
    (a cancellation of 10**6); the powers of x as double-doubles, times their exact
    coefficients, summed by fsum, are vouched for by the bound (no ball check)."""
    terms = 3000
    text = " + ".join(f"({(i % 7) - 3})*x**{i}" for i in range(terms))
    x = 0.999
    value, slope = _horner(terms, x)
    report = Refinement()
    f, df = gc.parse(text).derivatives("x", 1, at=x, report=report)
    assert abs(f - value) <= 1e-13 * abs(value)
    assert abs(df - slope) <= 1e-13 * abs(slope)
    assert report.checked == 0


def test_what_the_bound_cannot_vouch_for_is_checked_in_balls():
    """(x - 1)**2 - x**2 + 2*x is 1 with f' = 0: floats cancel 10**8 of their digits, the
    bound does not vouch, and the ball check replaces both."""
    report = Refinement()
    x = 12345.678
    f, df = gc.parse("(x - 1)**2 - x**2 + 2*x").derivatives("x", 1, at=x, report=report)
    assert report.checked == 1
    with mpmath.workdps(50):
        exact = (mpmath.mpf(x) - 1) ** 2 - mpmath.mpf(x) ** 2 + 2 * mpmath.mpf(x)
    assert f == float(exact) == 1.0 and df == 0.0
    assert (0, 0) in report.replaced


def test_a_well_conditioned_sum_needs_no_ball():
    text = " + ".join(f"({k % 5 + 1})*x**{k}" for k in range(200))
    report = Refinement()
    f, df = gc.parse(text).derivatives("x", 1, at=0.5, report=report)
    assert report.checked == 0
    exact_f = math.fsum((k % 5 + 1) * mpmath.mpf(0.5) ** k for k in range(200))
    exact_d = math.fsum(k * (k % 5 + 1) * mpmath.mpf(0.5) ** (k - 1) for k in range(1, 200))
    assert abs(f - exact_f) <= 1e-15 * exact_f and abs(df - exact_d) <= 1e-15 * exact_d


def test_other_ops_and_non_finite_values_take_the_general_way():
    assert first_order(_graph("sin(x) + x").nodes, "x", {"x": 1.0}) is None
    assert first_order(_graph("x**-1").nodes, "x", {"x": 1.0}) is None
    assert first_order(_graph("x**2 * 1e300").nodes, "x", {"x": 1e10}) is None   # inf
    assert first_order(_graph("x*y + x").nodes, "x", {"x": float("nan"), "y": 1.0}) is None


def test_exact_zeros_and_their_signs():
    v, d, ev, ed = first_order(_graph("x - x").nodes, "x", {"x": 0.0})
    assert (v, d, ev, ed) == (0.0, 0.0, 0.0, 0.0) and math.copysign(1, v) == 1
    v, d, ev, ed = first_order(_graph("-x + -x").nodes, "x", {"x": 0.0})
    assert v == 0 and math.copysign(1, v) == -1 and d == -2
    assert vouched(0.0, 0.0) and not vouched(0.0, 1e-300) and vouched(1.0, 9e-14)
    # the same numbers as the numpy Taylor pass (fast=True skips this path)
    for text, x in [("3*x**2 - 2*x + 1", 0.25), ("x*(x*(x + 1) - 2)", -1.5), ("-(x - 2)**3", 4.0)]:
        e = gc.parse(text)
        assert e.derivatives("x", 1, at=x) == e.derivatives("x", 1, at=x, fast=True)


def test_taylor_and_derivatives_agree_at_orders_0_and_1():
    """c_0 = f and c_1 = f' come from the same pass (and the same ball check) in both."""
    text = " + ".join(f"({(i % 7) - 3})*x**{i}" for i in range(2000))
    e = gc.parse(text)
    assert e.taylor("x", 1, at=0.999) == e.derivatives("x", 1, at=0.999)
    assert e.taylor("x", 0, at=0.5) == e.derivatives("x", 0, at=0.5)


def test_an_underflow_inside_is_not_printed_as_the_answer(gradcli):
    """x - 1e300*x**4 at -1e-100: x**4 = 1e-400 underflows to 0 in float64, so a float64
    pass gives -1e-100 where the exact value is -2e-100 (a reviewer found diff printing that
    with no warning before the first order went through the bound); f' = 1 + 4 = 5."""
    result = gradcli("diff", "x-1e300*x**4", "--at", "-1e-100", "--order", "1",
                     "--format", "json")
    import json

    record = json.loads(result.stdout)
    exact = [-2 * mpmath.mpf(10) ** -100, 5]
    assert result.exit_code == 0
    for got, want in zip(record["derivatives"], exact):
        assert abs(got - want) <= 1e-13 * abs(want)
