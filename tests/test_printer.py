"""The printer: graph -> text with the parser's precedence table, parse(print(g)) == g."""
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcli.graph import Builder, sexpr
from gradcli.registry import language_functions
from gradcli.language.parser import BINARY, INFIX_LEVELS, PRECEDENCE, parse_graph
from gradcli.language.printer import ATOM, needs_parentheses, number_text, step_text, to_text


def round_trip(text: str) -> tuple[str, str, str]:
    """(printed text, S-expression of the original, S-expression of the reprint)."""
    g = parse_graph(text)
    printed = to_text(g)
    return printed, sexpr(g), sexpr(parse_graph(printed))


@pytest.mark.parametrize("text, printed", [
    ("x**4+2*x**3-3*x**2+4*x-5", "x**4 + 2*x**3 - 3*x**2 + 4*x - 5"),
    ("-x**2", "-x**2"),
    ("(-x)**2", "(-x)**2"),
    ("-(x*y)", "-(x*y)"),
    ("-x*y", "-x*y"),
    ("--x", "-(-x)"),
    ("a-(b-c)", "a - (b - c)"),
    ("(a-b)-c", "a - b - c"),
    ("a-(b+c)", "a - (b + c)"),
    ("a/(b*c)", "a/(b*c)"),
    ("a/b/c", "a/b/c"),
    ("a*(b/c)", "a*(b/c)"),
    ("(a+b)*(a-b)", "(a + b)*(a - b)"),
    ("x**y**z", "x**y**z"),
    ("(x**y)**z", "(x**y)**z"),
    ("x^-y", "x**(-y)"),
    ("(x*y)**2", "(x*y)**2"),
    ("x**-2", "x**(-2)"),
    ("x**(6/2)", "x**3"),
    ("2**3**2", "2**9"),
    ("x - -y", "x - -y"),
    ("x*-y", "x*-y"),
    ("+x", "x"),
    ("pow(x, 0.5)", "x**0.5"),
    ("log(x, 2)", "log(x)/log(2)"),
    ("atan2(y,x+1)", "atan2(y, x + 1)"),
    ("max(x, -y)*sin(x)**2", "max(x, -y)*sin(x)**2"),
    ("2*pi*e", "2*pi*e"),
    (".5*x+1e-3+1.5E+10+2.50", "0.5*x + 0.001 + 15000000000 + 2.5"),
    ("1e16*x + 1e-7", "1e+16*x + 1e-07"),
])
def test_printed_text_is_exact_and_parses_back_to_the_same_graph(text, printed):
    out, original, reprinted = round_trip(text)
    assert out == printed
    assert reprinted == original


def test_shared_subexpressions_are_written_out_at_each_use():
    g = parse_graph("sin(x)*sin(x)+x")
    assert to_text(g) == "sin(x)*sin(x) + x"


# -- the table decides: a parenthesis is added exactly where the parser needs one ----------------
LEAF = {"add": "a + b", "sub": "a - b", "mul": "a*b", "div": "a/b", "neg": "-a",
        "powi": "a**2", "pow": "a**b"}


@pytest.mark.parametrize("parent", ["add", "sub", "mul", "div", "pow"])
@pytest.mark.parametrize("child", sorted(LEAF))
@pytest.mark.parametrize("side", ["left", "right"])
def test_binary_parentheses_are_those_the_grammar_needs(parent, child, side):
    inner = LEAF[child]
    template = LEAF[parent].replace("a", "{L}").replace("b", "{R}")
    filled = {"L": "u", "R": "v", **({"L": inner} if side == "left" else {"R": inner})}
    with_parens = template.format(**{**filled, ("L" if side == "left" else "R"): f"({inner})"})
    without = template.format(**filled)
    g = parse_graph(with_parens)
    grammar_needs = sexpr(g) != sexpr(parse_graph(without))
    node = g
    child_node = node.inputs[0 if side == "left" else 1]
    printed = needs_parentheses(node, child_node, side)
    if child == "neg" and (parent == "pow" and side == "right"):
        assert printed and not grammar_needs  # x**(-y): a sign as exponent is written in ()
    else:
        assert printed == grammar_needs, (with_parens, without)


@pytest.mark.parametrize("child", sorted(LEAF))
def test_parentheses_under_a_sign_are_those_the_grammar_needs_and_around_a_sign(child):
    g = parse_graph(f"-({LEAF[child]})")
    grammar_needs = sexpr(g) != sexpr(parse_graph(f"-{LEAF[child]}"))
    printed = needs_parentheses(g, g.inputs[0], "operand")
    assert printed == (grammar_needs or child == "neg")  # -(-a) for readability


def test_the_parser_reads_its_binary_levels_from_the_precedence_table():
    for level, symbols in enumerate(INFIX_LEVELS):
        powers = {PRECEDENCE[BINARY[s]] for s in symbols}
        assert len(powers) == 1 and powers.pop()[1] == "left"
    assert [PRECEDENCE[BINARY[s[0]]][0] for s in INFIX_LEVELS] == sorted(
        {PRECEDENCE[o][0] for o in BINARY.values()})
    assert ATOM > max(p for p, _ in PRECEDENCE.values())


# -- graphs built by hand --------------------------------------------------------------------------
def test_a_negative_constant_binds_as_a_sign():
    b = Builder()
    x = b.var("x")
    assert to_text(b.apply("pow", b.const(-2.0), x)) == "(-2)**x"
    assert to_text(b.apply("sub", x, b.const(-0.5))) == "x - -0.5"
    assert to_text(b.apply("neg", b.const(-0.0))) == "-(-0)"


def test_ops_without_syntax_and_non_finite_numbers_are_refused():
    b = Builder()
    with pytest.raises(ValueError, match="sum_to"):
        to_text(b.apply("sum_to", b.var("x"), shape=()))
    with pytest.raises(ValueError, match="inf"):
        to_text(b.const(float("inf")))


def test_number_text_is_the_shortest_round_trip():
    assert [number_text(v) for v in (2.0, 0.5, 1e-7, 1e16, 0.1, 123.0, 1e300)] == \
        ["2", "0.5", "1e-07", "1e+16", "0.1", "123", "1e+300"]


def test_max_length_cuts_the_text_with_an_ellipsis():
    g = parse_graph("+".join(f"x{i}" for i in range(100)))
    assert to_text(g, max_length=10) == "x0 + x1 +…"
    assert to_text(parse_graph("sin(x)"), max_length=10) == "sin(x)"


def test_step_text_writes_one_op_over_named_inputs():
    g = parse_graph("sin(x)**3 - atan2(x, 2)")
    names = {}

    def name(node):
        return names.setdefault(node.id, f"%{len(names)}")

    assert step_text(g, name) == "%0 - %1"
    assert step_text(g.inputs[0], name) == "%2**3"
    assert step_text(g.inputs[1], name) == "atan2(%3, %4)"


@pytest.mark.slow
def test_a_very_deep_graph_prints_without_recursion():
    b = Builder()
    node = b.var("x")
    for i in range(50_000):
        node = b.apply("sin" if i % 2 else "neg", node)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        text = to_text(node)
    finally:
        sys.setrecursionlimit(limit)
    assert text == "sin(-" * 25_000 + "x" + ")" * 25_000


@pytest.mark.slow
def test_a_long_sum_prints_in_linear_time():
    text = "+".join(["x"] * 100_000)
    assert to_text(parse_graph(text)) == " + ".join(["x"] * 100_000)


# -- the round trip over random grammar-valid text -----------------------------------------------
FUNCTIONS = language_functions()
UNARY_CALLS = sorted(name for name, spec in FUNCTIONS.items() if spec.arity == 1)
BINARY_CALLS = sorted(name for name, spec in FUNCTIONS.items() if spec.arity == 2) + ["log"]
NUMBERS = st.one_of(
    st.integers(0, 10**20).map(str),
    st.floats(0, 1e300, allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from([".5", "1e-3", "1.5E+10", "2.50", "007", "0.0", "1E5"]))
LEAVES = st.one_of(NUMBERS, st.sampled_from(["x", "y", "x1", "_t", "sinx", "pi", "e"]))
# grammar levels: an operand of a level needs its text to be of that level or tighter
EXPR, TERM, UNARY, POWER, ATOM_LEVEL = range(5)
INFIX = {"+": EXPR, "-": EXPR, " + ": EXPR, " - ": EXPR, "*": TERM, "/": TERM, " * ": TERM}


def _operand(child, level):
    """A child's text where the grammar wants ``level``: parenthesized if it binds more loosely."""
    text, have = child
    return text if have >= level else f"({text})"


def _extend(children):
    """One grammar rule over random children (text, level): minimal parentheses."""
    def infix(op, a, b):
        return _operand(a, INFIX[op]) + op + _operand(b, INFIX[op] + 1), INFIX[op]

    infix = st.builds(infix, st.sampled_from(sorted(INFIX)), children, children)
    sign = st.builds(lambda s, a: (s + _operand(a, UNARY), UNARY),
                     st.sampled_from(["-", "+", "--", "-+"]), children)
    power = st.builds(lambda op, a, b: (_operand(a, ATOM_LEVEL) + op + _operand(b, UNARY), POWER),
                      st.sampled_from(["**", "^"]), children, children)
    call1 = st.builds(lambda f, a: (f"{f}({a[0]})", ATOM_LEVEL),
                      st.sampled_from(UNARY_CALLS), children)
    call2 = st.builds(lambda f, a, b: (f"{f}({a[0]}, {b[0]})", ATOM_LEVEL),
                      st.sampled_from(BINARY_CALLS), children, children)
    # the operators more often than calls
    return st.one_of(infix, infix, infix, sign, power, power, call1, call2)


def grammar(max_leaves: int = 30):
    """Grammar-valid expression text (SPEC 1): every rule, signs and ^, numbers in every
    spelling, constants, calls of every language function, log(x, base), pow(x, y); with
    no more parentheses than the grammar needs."""
    leaves = LEAVES.map(lambda t: (t, ATOM_LEVEL))
    return st.recursive(leaves, _extend, max_leaves=max_leaves).map(lambda c: c[0])


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(grammar())
@pytest.mark.slow
def test_parse_of_print_is_the_same_graph(text):
    g = parse_graph(text)
    printed = to_text(g)
    again = parse_graph(printed)
    assert sexpr(again) == sexpr(g), (text, printed)
    assert to_text(again) == printed
