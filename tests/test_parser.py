"""Parser tests: (input, S-expression) pairs, and every error message word for word."""
import math

import pytest

import gradcli as gc
from gradcli.graph import sexpr
from gradcli.language.lexer import tokenize


def s(text):
    return sexpr(gc.parse(text).root)


@pytest.mark.parametrize("text, expected", [
    ("x", "x"),
    ("2.5", "2.5"),
    (".5", "0.5"),
    ("1e-3", "0.001"),
    ("1.5E+10", "15000000000"),
    ("x+y*z", "(add x (mul y z))"),
    ("x-y-z", "(sub (sub x y) z)"),
    ("x/y/z", "(div (div x y) z)"),
    ("(x+y)*z", "(mul (add x y) z)"),
    ("-x**2", "(neg (powi x 2))"),
    ("-3**2", "(neg (powi 3 2))"),
    ("2**3**2", "(powi 2 9)"),              # right-associative: 2**(3**2)
    ("x**y**z", "(pow x (pow y z))"),
    ("2**-1", "(powi 2 -1)"),
    ("x^2", "(powi x 2)"),
    ("x**2.0", "(powi x 2)"),               # integer-valued constants are exact powers
    ("x**(6/2)", "(powi x 3)"),
    ("x**0.5", "(pow x 0.5)"),
    ("x**-y", "(pow x (neg y))"),
    ("--x", "(neg (neg x))"),
    ("+x", "x"),
    ("-x*y", "(mul (neg x) y)"),
    ("sin(x)*sin(x)", "(mul (sin x) (sin x))"),
    ("atan2(y, x)", "(atan2 y x)"),
    ("log(x, 2)", "(div (log x) (log 2))"),
    ("pow(x, 3)", "(powi x 3)"),
    ("pow(x, y)", "(pow x y)"),
    ("max(x, 0)", "(max x 0)"),
    ("pi*e", "(mul pi e)"),
    ("  x\t+ 1 ", "(add x 1)"),
    ("E", "E"),                              # only lower-case e is the constant
    ("x_1 + theta", "(add x_1 theta)"),
])
def test_parse_gives_s_expression(text, expected):
    assert s(text) == expected


def test_python_precedence_values():
    assert gc.parse("2**3**2").evaluate() == 512.0
    assert gc.parse("2**-1").evaluate() == 0.5
    assert gc.parse("-x**2").evaluate(3) == -9.0
    assert gc.parse("2^3").evaluate() == 8.0


def test_identical_subexpressions_are_one_node():
    e = gc.parse("sin(x)*sin(x) + sin(x)")
    sins = [n for n in e.nodes if n.op == "sin"]
    assert len(sins) == 1
    assert [n.op for n in e.nodes] == ["var", "sin", "mul", "add"]  # nothing twice
    mul = next(n for n in e.nodes if n.op == "mul")
    assert mul.inputs[0] is mul.inputs[1]


def test_variables_are_sorted_and_constants_are_not_variables():
    assert gc.parse("z*y + a + pi + e").variables == ["a", "y", "z"]


def test_tokens_keep_their_columns():
    toks = tokenize("sin(x) + 2.5")
    assert [(t.kind, t.text, t.column) for t in toks] == [
        ("name", "sin", 1), ("(", "(", 4), ("name", "x", 5), (")", ")", 6),
        ("op", "+", 8), ("number", "2.5", 10), ("end", "", 13)]


ERRORS = [
    ("", "empty expression at column 1"),
    ("   ", "empty expression at column 1"),
    ("2x", "a number cannot be followed by a name at column 2 (write 2*x)"),
    ("3sin(x)", "a number cannot be followed by a name at column 2 (write 3*sin)"),
    ("x+", "unexpected end of expression at column 3"),
    ("x**", "unexpected end of expression at column 4"),
    ("(x+1", "expected ')' at column 5 (to close the '(' at column 1)"),
    ("sin(x, y", "expected ')' at column 9 (to close the '(' at column 4)"),
    ("sinn(x)", "unknown function 'sinn' at column 1 (did you mean 'sin'?)"),
    ("sqr(x)", "unknown function 'sqr' at column 1 (did you mean 'sqrt'?)"),
    ("f(x)", "unknown function 'f' at column 1 (write f*(...) to multiply)"),
    ("foobar(x)", "unknown function 'foobar' at column 1 (gradcli functions lists them)"),
    ("ln(x)", "unknown function 'ln' at column 1 (did you mean 'log'?)"),
    ("arcsinh(x)", "unknown function 'arcsinh' at column 1 (did you mean 'asinh'?)"),
    ("Exp(x)", "unknown function 'Exp' at column 1 (names are case-sensitive: did you mean 'exp'?)"),
    ("sinn(x)", "unknown function 'sinn' at column 1 (did you mean 'sin'?)"),
    ("fmod(x, 2)", "unknown function 'fmod' at column 1 (mod(x, y) is Python's % (the result has the sign of y); C's fmod has the sign of x)"),
    ("0x10", "hexadecimal numbers are not part of the language at column 1 (write 16 for 0x10)"),
    ("1_000.5", "'_' between digits is not part of the language at column 1 (write 1000.5 for 1_000.5)"),
    ("2e+x", "the exponent of '2e' has no digits at column 1 (write 2e3 for an exponent, or 2*e to multiply by e)"),
    ("1,5", "unexpected ',' at column 2 (write 1.5 for a decimal number)"),
    ("|x|", "unexpected character '|' at column 1 (write abs(x) for |x|)"),
    ("gamma(x, 2)", "function 'gamma' takes 1 argument, got 2 at column 1"),
    ("clip(x, 1)", "function 'clip' takes 3 arguments, got 2 at column 1"),
    ("erf + 1", "'erf' is a function at column 1 (call it as erf(...))"),
    ("sin", "'sin' is a function at column 1 (call it as sin(...))"),
    ("e(x)", "'e' is a constant, not a function at column 1 (write e*(...) to multiply)"),
    ("x)", "unmatched ')' at column 2"),
    ("x y", "unexpected 'y' after a complete expression at column 3 (write x*y to multiply)"),
    ("(x)(y)", "unexpected '(' after a complete expression at column 4 (write )*( to multiply)"),
    ("atan2(x)", "function 'atan2' takes 2 arguments, got 1 at column 1"),
    ("sin(x, y)", "function 'sin' takes 1 argument, got 2 at column 1"),
    ("log(x,2,3)", "function 'log' takes 1 argument (or 2: log(x, base)), got 3 at column 1"),
    ("sin()", "function 'sin' needs an argument at column 5"),
    ("()", "empty parentheses at column 2"),
    ("3.4.5", "malformed number '3.4.' at column 1"),
    ("x $ y", "unexpected character '$' at column 3"),
    ("x \u2212 1", "unexpected character unicode minus sign (U+2212) at column 3 (use the ASCII '-')"),
    ("2\u00d7x", "unexpected character multiplication sign (U+00D7) at column 2 (use '*')"),
    ("x\x00", "unexpected character U+0000 at column 2"),
    ("1e999", "number '1e999' is too large for float64 at column 1"),
    ("*x", "unexpected '*' at column 1"),
    ("x*/y", "unexpected '/' at column 3"),
    ("x,y", "unexpected ',' at column 2 (',' separates the arguments of a function call, as in max(x, y))"),
    ("sin(x,)", "unexpected ')' at column 7"),
    ("(" * 100_000, "expression nested too deeply (the limit is 200 levels) at column 201"),
    ("-" * 1000 + "x", "expression nested too deeply (the limit is 200 levels) at column 201"),
    ("x**" * 300 + "x", "expression nested too deeply (the limit is 200 levels) at column 602"),
]


@pytest.mark.parametrize("text, message", ERRORS, ids=[t[:20] for t, _ in ERRORS])
def test_parse_error_message(text, message):
    with pytest.raises(gc.ParseError) as info:
        gc.parse(text)
    assert info.value.headline() == message


def test_error_context_has_caret_under_the_column():
    with pytest.raises(gc.ParseError) as info:
        gc.parse("sinn(x) + 1")
    assert info.value.context() == "  sinn(x) + 1\n  ^"
    with pytest.raises(gc.ParseError) as info:
        gc.parse("x + 2y")
    assert info.value.context() == "  x + 2y\n       ^"


def test_deep_nesting_within_the_limit_parses():
    depth = 199
    e = gc.parse("(" * depth + "x" + ")" * depth)
    assert e.evaluate(2.0) == 2.0


@pytest.mark.slow
def test_too_long_expression_is_an_error_not_a_hang():
    with pytest.raises(gc.ParseError) as info:
        gc.parse("x*" * 600_000 + "x")
    assert info.value.headline() == ("an expression of 1200001 characters is beyond the limit "
                                     "of 1000000 characters")
    # a plain sum of c*x**k terms is read as columns, without a graph, up to its own limit
    # (gradcli/limits.py MAX_POLYNOMIAL_LENGTH; tests/test_polynomial_columns.py)
    assert gc.parse("x+" * 600_000 + "x").derivatives("x", 1, at=0.5) == [300000.5, 600001.0]


def test_parser_never_evaluates_python():
    with pytest.raises(gc.ParseError) as info:
        gc.parse("__import__('os').system('echo hacked')")
    assert "unexpected character" in info.value.headline()


# -- the operand fast paths (a number, a name, x**2 read from per-text caches) ---------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from gradcli.graph import topological  # noqa: E402

OPERANDS = ["x", "y", "2", "0.5", "1e3", "pi", "e", "x**2", "x^3", "2**x", "x**y", "y**-1",
            "x**0.5", "e**x", "3**2", "x**2**2", "-x**2", "x**2.0"]


def _parenthesized(operand: str) -> str:
    """The same operand with each number and name in parentheses (the general path)."""
    import re

    return re.sub(r"(?<![\w.])([A-Za-z_]\w*|[0-9.]+(?:e[0-9]+)?)", r"(\1)", operand)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["+", "-", "*", "/"]), st.sampled_from(OPERANDS)),
                min_size=1, max_size=12))
def test_the_operand_fast_paths_build_the_general_paths_graph(terms):
    text = "".join(f"{op}{operand}" for op, operand in terms)[1:] or "x"
    general = "".join(f"{op}{_parenthesized(operand)}" for op, operand in terms)[1:]
    fast, slow = gc.parse(text), gc.parse(general)
    assert sexpr(fast.root) == sexpr(slow.root)
    # the same nodes (one per distinct subexpression); independent ones may come in another
    # order: the fast path's x**2 makes no node for its exponent, the general path's (x)**(2)
    # makes one first (unused: powi holds 2 as its attribute), so a later 2 is built later
    assert sorted(map(sexpr, fast.nodes)) == sorted(map(sexpr, slow.nodes))
    assert len(fast.nodes) == len(slow.nodes)


@pytest.mark.parametrize("text, message", [
    ("x**1e999", "number '1e999' is too large for float64 at column 4"),
    ("1e999**2", "number '1e999' is too large for float64 at column 1"),
    ("sin**2", "'sin' is a function at column 1 (call it as sin(...))"),
    ("x**2 + x**sin", "'sin' is a function at column 11 (call it as sin(...))"),
    ("x**2 + sin**2", "'sin' is a function at column 8 (call it as sin(...))"),
    ("x**2 + x**2(", "unexpected '(' after a complete expression at column 12 (write 2*( to multiply)"),
    ("x**2 x", "unexpected 'x' after a complete expression at column 6 (write 2*x to multiply)"),
    ("-" * 200 + "x**2", "expression nested too deeply (the limit is 200 levels) at column 202"),
])
def test_errors_inside_the_operand_fast_paths(text, message):
    with pytest.raises(gc.ParseError) as info:
        gc.parse(text)
    assert info.value.headline() == message


def test_a_power_at_the_depth_limit_is_read_as_the_general_path_reads_it():
    assert s("(" * 199 + "x**2" + ")" * 199) == "(powi x 2)"
    assert s("-" * 199 + "x**2").count("neg") == 199


def test_a_long_polynomial_is_one_flat_sum_with_shared_terms():
    """20,000 terms (spaces and signs included): read in a loop, every repeated term one node,
    and its derivative the exact sum of c k x**(k-1)."""
    terms = [(k % 9 + 1, k % 10) for k in range(20_000)]
    text = " ".join(f"{'-' if k % 3 == 1 else '+'} {c}*x**{p}" for k, (c, p) in enumerate(terms))
    e = gc.parse(text.lstrip("+ "))
    ops = [n.op for n in topological(e.root)]
    assert ops.count("powi") == 10 and ops.count("mul") == 90
    assert (ops.count("add"), ops.count("sub"), ops.count("neg")) == (13_332, 6_667, 0)
    x = 0.5
    signs = [-1 if k % 3 == 1 else 1 for k in range(len(terms))]
    exact = math.fsum(s * c * p * x ** (p - 1) for s, (c, p) in zip(signs, terms) if p)
    value, slope = e.derivatives("x", 1, at=x)
    assert slope == pytest.approx(exact, rel=1e-12)
    assert value == pytest.approx(math.fsum(s * c * x ** p for s, (c, p) in zip(signs, terms)),
                                  rel=1e-12)
