"""The parser's fast path for one sign before a number or a name (-3, -x, +y) builds the
nodes the general path builds for the same operand in parentheses (-(3), -(x), +(y))."""
import pytest

import gradcli as gc
from gradcli.errors import ParseError
from gradcli.graph import sexpr


@pytest.mark.parametrize("fast, general", [
    ("-3*x**2 + -x", "-(3)*x**2 + -(x)"),
    ("+2 - -y*x", "+(2) - -(y)*x"),
    ("-x**2", "-(x**2)"),            # ** binds tighter than the sign: not the fast path
    ("-sin(x)", "-(sin(x))"),
    ("2*-3", "2*-(3)"),
    ("x^-2", "x^-(2)"),
    ("-pi*x", "-(pi)*x"),
    ("- - x", "-(-(x))"),
])
def test_a_sign_builds_the_general_paths_nodes(fast, general):
    a, b = gc.parse(fast), gc.parse(general)
    assert sexpr(a.root) == sexpr(b.root)
    point = {"x": 1.5, "y": -0.25}
    env = {v: point[v] for v in a.variables}
    assert a.variables == b.variables
    assert a.evaluate(env) == b.evaluate(env)


def test_a_signed_number_too_large_is_the_same_error():
    with pytest.raises(ParseError, match="too large for float64") as fast:
        gc.parse("x + -1e999")
    assert fast.value.column == 6


def test_a_sign_is_still_a_level_of_nesting():
    from gradcli.language.parser import MAX_DEPTH

    with pytest.raises(ParseError, match="nested too deeply"):
        gc.parse("(" * MAX_DEPTH + "-1" + ")" * MAX_DEPTH)
