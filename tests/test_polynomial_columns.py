"""A long plain sum of c*x**k terms read as columns (gradcli/language/polynomial.py) and its
value and first derivative from all terms at once (gradcli/taylor/polynomial.py): the same
polynomial as the parser's graph, exact rational arithmetic as the oracle of the reading,
mpmath at 60 digits as the oracle of the numbers, and the graph's way where the bound
cannot vouch."""
from __future__ import annotations

import random
from fractions import Fraction

import mpmath
import numpy as np
import pytest

import gradcli as gc
from gradcli.errors import ParseError
from gradcli.expression import Expression
from gradcli.language.parser import parse_graph
from gradcli.language.polynomial import recognize
from gradcli.taylor.polynomial import value_and_slope


def w5(terms: int) -> str:
    """Issue 22's W5: c_i = (i % 7) - 3, every power distinct."""
    return " + ".join(str((i % 7) - 3) if i == 0 else f"{(i % 7) - 3}*x**{i}"
                      for i in range(terms))


def graph_only(text: str) -> Expression:
    """The Expression as the parser builds it (no columns): the general way."""
    return Expression(text, parse_graph(text))


def exact_graph(text: str, x: Fraction) -> Fraction:
    """The parser's graph evaluated in exact rationals (its constants as the float64 values
    the lexer gives them): what the text means."""
    values = {}
    for node in graph_only(text).nodes:
        ins = [values[i.id] for i in node.inputs]
        if node.op == "var":
            v = x
        elif node.op == "const":
            v = Fraction(node.value)
        elif node.op == "add":
            v = ins[0] + ins[1]
        elif node.op == "sub":
            v = ins[0] - ins[1]
        elif node.op == "mul":
            v = ins[0] * ins[1]
        elif node.op == "neg":
            v = -ins[0]
        elif node.op == "powi":
            v = ins[0] ** node.attrs["n"]
        else:
            raise AssertionError(f"not a polynomial op: {node.op}")
        values[node.id] = v
    return values[node.id]


def exact_columns(text: str, x: Fraction) -> Fraction:
    poly = recognize(text)
    return sum((Fraction(float(c)) * x ** int(k)
                for c, k in zip(poly.coefficients, poly.exponents)), Fraction(0))


def oracle(text: str, x: float) -> tuple[float, float]:
    """Value and first derivative from the parser's graph in 80-digit mpmath."""
    expression = graph_only(text)
    with mpmath.workdps(80):
        values, slopes = {}, {}
        for node in expression.nodes:
            ins = [values[i.id] for i in node.inputs]
            ds = [slopes[i.id] for i in node.inputs]
            if node.op == "var":
                v, d = mpmath.mpf(x), mpmath.mpf(1)
            elif node.op == "const":
                v, d = mpmath.mpf(node.value), mpmath.mpf(0)
            elif node.op == "add":
                v, d = ins[0] + ins[1], ds[0] + ds[1]
            elif node.op == "sub":
                v, d = ins[0] - ins[1], ds[0] - ds[1]
            elif node.op == "mul":
                v, d = ins[0] * ins[1], ds[0] * ins[1] + ins[0] * ds[1]
            elif node.op == "neg":
                v, d = -ins[0], -ds[0]
            else:
                n = node.attrs["n"]
                v, d = ins[0] ** n, (n * ins[0] ** (n - 1) * ds[0] if n else mpmath.mpf(0))
            values[node.id], slopes[node.id] = v, d
        return float(values[node.id]), float(slopes[node.id])


def random_polynomial(rng: random.Random, terms: int) -> str:
    """Every form the columns read: signs of their own, spaces, ^, bare x, c*x, constants,
    decimals and exponents in the literals."""
    space = lambda: rng.choice(["", "", " ", "  ", "\t", "\n"])  # noqa: E731
    parts = []
    for i in range(terms):
        coefficient = rng.choice(["3", "0.5", "2.", ".25", "1e-3", "7E+2", "12.5e1", "0", "1"])
        power = rng.choice(["**", "^"])
        k = str(rng.randrange(0, 40))
        body = rng.choice([coefficient, "x", f"{coefficient}{space()}*{space()}x",
                           f"x{space()}{power}{space()}{k}",
                           f"{coefficient}{space()}*{space()}x{space()}{power}{space()}{k}"])
        sign = rng.choice(["", "", "-", "+"])
        joiner = "" if i == 0 else rng.choice(["+", "-"])
        parts.append(f"{space()}{joiner}{space()}{sign}{space()}{body}")
    return "".join(parts) + space()


@pytest.mark.parametrize("seed", range(40))
def test_the_columns_are_the_polynomial_the_parser_reads(seed):
    rng = random.Random(seed)
    text = random_polynomial(rng, rng.randrange(20, 60))
    assert recognize(text) is not None, text
    for x in (Fraction(3, 7), Fraction(-5, 4), Fraction(2)):
        assert exact_columns(text, x) == exact_graph(text, x), text


@pytest.mark.parametrize("text", [
    "x*x + " + w5(10),                       # a product of two variables' powers
    w5(10) + " + 2**x",                      # a power of a number
    w5(10) + " + sin(x)",                    # a function
    w5(10) + " + y",                         # a second variable
    w5(10).replace("x", "pi"),               # a named constant
    w5(10).replace("x", "e"),
    w5(10) + " + x**2.5",                    # not an integer exponent
    w5(10) + " + x**2e3",
    w5(10) + " + x**-2",                     # a negative power (a pole at 0)
    w5(10) + " + x**2**3",                   # a tower
    w5(10) + " + (x + 1)",                   # parentheses
    w5(10) + " + 3x",                        # juxtaposition: the parser's error
    w5(10) + " + 1e999*x",                   # beyond float64: the parser's error
    w5(10) + " + x**12345678901",            # beyond the parser's integer powers
    w5(10) + " + - - x",                     # two signs of its own
    w5(10) + " + x*3",                       # the coefficient after the power
    w5(10) + " +",                           # a dangling operator
    w5(10) + " + 1.2.5",
], ids=range(18))
def test_anything_else_is_left_to_the_parser(text):
    assert len(text) >= 64 and recognize(text) is None


@pytest.mark.parametrize("text, message", [
    (w5(10) + " + 3x", "a number cannot be followed by a name"),
    (w5(10) + " + 1e999*x", "too large for float64"),
    (w5(10) + " +", "unexpected end of expression"),
    (w5(10).replace("x", "sin"), "'sin' is a function"),
], ids=range(4))
def test_errors_are_the_parsers(text, message):
    with pytest.raises(ParseError, match=message):
        gc.parse(text)


@pytest.mark.parametrize("terms, x", [(100, 0.999), (1000, 0.999), (10_000, 0.999),
                                      (300, -0.999), (50, 1.7), (50, -1.3), (200, 0.5),
                                      (1000, 1.0), (100, -1.0), (64, 3.25),
                                      (3000, 0.5), (5000, -0.7)])   # terms below 2**-880
def test_w5_value_and_slope_against_mpmath(terms, x):
    text = w5(terms)
    expression = gc.parse(text)
    assert expression._root is None          # read as columns
    value, slope = expression.derivatives("x", 1, at=x)
    want_value, want_slope = _horner(terms, x)
    assert abs(value - want_value) <= 1e-15 * abs(want_value)
    assert abs(slope - want_slope) <= 1e-15 * abs(want_slope)
    assert isinstance(value, np.float64)
    assert expression.derivatives("x", 0, at=x)[0] == value


def _horner(terms: int, x: float) -> tuple[float, float]:
    """W5's polynomial (coefficients (i % 7) - 3) and its slope at x by Horner's rule in
    80-digit mpmath (the oracle of this file and of test_dual.py)."""
    with mpmath.workdps(80):
        t = mpmath.mpf(x)
        value = slope = mpmath.mpf(0)
        for i in reversed(range(terms)):
            slope = slope * t + value
            value = value * t + ((i % 7) - 3)
        return float(value), float(slope)


@pytest.mark.parametrize("seed", range(20))
def test_random_polynomials_against_mpmath_and_the_graph(seed):
    rng = random.Random(1000 + seed)
    text = random_polynomial(rng, rng.randrange(20, 80))
    x = rng.choice([0.3, -0.7, 1.1, -1.9, 0.999, 2.5])
    fast = gc.parse(text).derivatives("x", 1, at=x)
    general = graph_only(text).derivatives("x", 1, at=x)
    want = oracle(text, x)
    for got, other, exact in zip(fast, general, want):
        assert abs(got - exact) <= 1e-13 * abs(exact), (text, x)
        assert abs(got - other) <= 2e-13 * abs(exact), (text, x)


def binomial_text(n: int) -> str:
    """(x - 1)**n written out: a cancellation of 2**n at x near 1."""
    from math import comb

    return " + ".join(f"{comb(n, k) * (-1) ** (n - k)}*x**{k}" for k in range(n + 1))


def test_a_cancellation_past_the_bound_takes_the_graphs_way():
    text = binomial_text(40)                 # (x - 1)**40 at 1.01: 1e-80 from terms ~1e11
    expression = gc.parse(text)
    assert value_and_slope(expression._polynomial.coefficients,
                           expression._polynomial.exponents, 1.01, 1) is None
    value, slope = expression.derivatives("x", 1, at=1.01)
    with mpmath.workdps(60):
        d = mpmath.mpf(1.01) - 1
        want_value, want_slope = float(d ** 40), float(40 * d ** 39)
    assert abs(value - want_value) <= 1e-13 * abs(want_value)
    assert abs(slope - want_slope) <= 1e-13 * abs(want_slope)


@pytest.mark.parametrize("text, x", [
    ("x**2 - x**2 + " * 10 + "0", 0.5),      # exactly 0: the graph's signed zero
    (w5(100), 0.0),                          # x = 0
    (w5(2000), 1.5),                         # 1.5**1999 overflows float64
    ("1e-300*x**3 + " * 10 + "1e-300", 0.5),  # terms near the bottom of the range
], ids=["exact zero", "at 0", "overflow", "tiny terms"])
def test_zero_and_the_ends_of_the_range_are_the_graphs(text, x):
    fast = gc.parse(text).derivatives("x", 1, at=x)
    general = graph_only(text).derivatives("x", 1, at=x)
    for a, b in zip(fast, general):
        assert np.array_equal(a, b, equal_nan=True) and np.signbit(a) == np.signbit(b)


def test_the_graph_is_built_when_asked_for_and_is_the_parsers():
    text = w5(300)
    expression = gc.parse(text)
    assert expression._root is None and expression.variables == ["x"]
    general = graph_only(text)
    assert [(n.op, n.attrs) for n in expression.nodes] == [(n.op, n.attrs) for n in general.nodes]
    xs = np.linspace(-1.0, 1.0, 7)
    assert np.array_equal(expression.evaluate(xs), general.evaluate(xs))
    assert np.array_equal(expression.gradient(xs), general.gradient(xs))
    # many points, higher orders, float32, digits: the graph's way, the same numbers
    assert np.array_equal(expression.derivatives("x", 1, at=xs)[1],
                          general.derivatives("x", 1, at=xs)[1])
    assert expression.derivatives("x", 2, at=0.5)[2] == general.derivatives("x", 2, at=0.5)[2]
    assert expression.derivatives("x", 1, at=0.5, dtype="float32")[1].dtype == np.float32


@pytest.mark.slow
def test_a_polynomial_longer_than_a_graph_may_be_is_read_as_columns():
    """Up to MAX_POLYNOMIAL_LENGTH characters a plain sum is read as columns; its graph, and
    any other long expression, stop at MAX_LIBRARY_EXPRESSION_LENGTH."""
    from gradcli.limits import (MAX_LIBRARY_EXPRESSION_LENGTH, MAX_POLYNOMIAL_LENGTH,
                                LimitError)

    text = w5(80_000)
    assert MAX_LIBRARY_EXPRESSION_LENGTH < len(text) <= MAX_POLYNOMIAL_LENGTH
    expression = gc.parse(text)
    value, slope = expression.derivatives("x", 1, at=0.999)
    want_value, want_slope = _horner(80_000, 0.999)
    assert abs(value - want_value) <= 1e-15 * abs(want_value)
    assert abs(slope - want_slope) <= 1e-15 * abs(want_slope)
    with pytest.raises(LimitError, match="the graph of an expression of .* beyond the limit"):
        expression.evaluate(0.5)
    with pytest.raises(ParseError, match="beyond the limit of 1000000 characters"):
        gc.parse(text + " + sin(x)")
    with pytest.raises(ParseError, match="beyond the limit of 1000000 characters"):
        gc.parse("x + " * (MAX_POLYNOMIAL_LENGTH // 4) + "x")


@pytest.mark.parametrize("text", [" " * 200_000 + "%", "x + " + " " * 200_000 + "%",
                                  "x +" + " -" * 100_000 + "%", "3" + " " * 200_000 + "*%"],
                         ids=["spaces", "after a term", "signs", "after a number"])
def test_a_long_run_that_no_term_reads_is_scanned_in_linear_time(text):
    """A pattern that begins with spaces, retried from every space of a run no term follows,
    is quadratic (200,000 spaces: minutes); the term pattern never begins with a space."""
    import time

    start = time.process_time()
    assert recognize(text) is None
    assert time.process_time() - start < 2.0


@pytest.mark.parametrize("x", [1.0 + 2.0 ** -40, 1.0 - 2.0 ** -38, -(1.0 + 2.0 ** -41)])
def test_sparse_huge_exponents_by_binary_powering(x):
    """Few terms with exponents near 10**9 take binary powering per term (30 squarings: each
    doubles the relative error, which the bound counts); mpmath at 80 digits is the oracle."""
    exponents = [0, 3, 999_999_937, 123_456_789, 987_654_321, 5]
    coefficients = ["2.5", "3", "1.25", "7", "0.5", "11"]
    text = " - ".join(f"{c}*x**{k}" for c, k in zip(coefficients, exponents))
    expression = gc.parse(text)
    assert expression._root is None
    value, slope = expression.derivatives("x", 1, at=x)
    with mpmath.workdps(80):
        t = mpmath.mpf(x)
        signs = [1] + [-1] * (len(exponents) - 1)
        want_value = sum(s * mpmath.mpf(c) * t ** k
                         for s, c, k in zip(signs, coefficients, exponents))
        want_slope = sum(s * mpmath.mpf(c) * k * t ** (k - 1)
                         for s, c, k in zip(signs, coefficients, exponents) if k)
    assert abs(value - float(want_value)) <= 1e-15 * abs(float(want_value))
    assert abs(slope - float(want_slope)) <= 1e-15 * abs(float(want_slope))


@pytest.mark.slow
def test_the_command_line_diff_of_a_long_polynomial(gradcli):
    """`gradcli diff POLY --at 0.999` takes the columns (one point, order 1) and prints the
    mpmath value within an ulp; --order 2 takes the graph's way."""
    import math

    text = w5(3000)
    result = gradcli("diff", text, "--at", "0.999", "--format", "plain")
    assert result.exit_code == 0, result.stderr
    want_value, want_slope = _horner(3000, 0.999)
    assert abs(float(result.stdout) - want_slope) <= math.ulp(want_slope)
    result = gradcli("diff", text, "--at", "0.999", "--order", "0", "--format", "plain")
    assert abs(float(result.stdout) - want_value) <= math.ulp(want_value)
    second = gradcli("diff", text, "--at", "0.999", "--order", "2", "--format", "json")
    assert second.exit_code == 0, second.stderr
    import json

    record = json.loads(second.stdout)
    assert abs(record["derivatives"][1] - want_slope) <= 1e-13 * abs(want_slope)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(30))
def test_mutated_text_is_read_as_columns_only_when_the_parser_reads_the_same(seed):
    """Characters inserted, deleted or doubled at random in a plain sum: whenever the
    columns take the text, the parser reads it too, as the same polynomial."""
    rng = random.Random(5000 + seed)
    taken = 0
    for _ in range(40):
        text = list(random_polynomial(rng, rng.randrange(12, 30)))
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(len(text))
            change = rng.choice(["insert", "delete", "double"])
            if change == "insert":
                text.insert(i, rng.choice(list("*^(.e-+ xy1_0E\t")))
            elif change == "delete":
                del text[i]
            else:
                text.insert(i, text[i])
        text = "".join(text)
        if recognize(text) is None:
            continue
        taken += 1
        for x in (Fraction(3, 7), Fraction(-5, 4)):
            assert exact_columns(text, x) == exact_graph(text, x), text
    assert taken > 0


def test_taylor_coefficients_of_order_one_are_the_derivatives():
    """taylor() and derivatives() print the same first order (c_1 = f'), as diff and taylor
    do on the command line."""
    text = w5(500)
    expression = gc.parse(text)
    assert expression.taylor("x", 1, at=0.7) == expression.derivatives("x", 1, at=0.7)
    want = _horner(500, 0.7)
    for got, exact in zip(expression.taylor("x", 1, at=0.7), want):
        assert abs(got - exact) <= 1e-15 * abs(exact)
