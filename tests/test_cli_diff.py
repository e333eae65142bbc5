"""gradcli diff: every format, option and error, with exact stdout, stderr and exit status."""
import json

import pytest

POLY = "x**4+2*x**3-3*x**2+4*x-5"


def test_diff_plain_prints_the_nth_derivative_only(gradcli):
    result = gradcli("diff", POLY, "--at", "2", "--order", "3")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "60.0\n", "")


def test_diff_default_order_is_one(gradcli):
    result = gradcli("diff", POLY, "--at", "2")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "48.0\n", "")


def test_diff_json_has_the_spec_fields(gradcli):
    result = gradcli("diff", POLY, "--at", "2", "--order", "3", "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout == ('{"expr": "x**4+2*x**3-3*x**2+4*x-5", "point": {"x": 2.0}, '
                             '"wrt": "x", "order": 3, "value": 60.0, '
                             '"derivatives": [23.0, 48.0, 66.0, 60.0]}\n')


def test_diff_at_zero_gives_the_exact_polynomial_derivatives(gradcli):
    result = gradcli("diff", POLY, "--at", "0", "--order", "5", "--format", "json")
    assert json.loads(result.stdout)["derivatives"] == [-5.0, 4.0, -6.0, 12.0, 24.0, 0.0]


def test_diff_repeated_at_gives_one_line_per_point_in_order(gradcli):
    result = gradcli("diff", "x**3", "--at", "1", "--at", "x=2", "--at", "-3")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "3.0\n12.0\n27.0\n", "")


def test_diff_csv_has_a_header_and_a_row_per_point(gradcli):
    result = gradcli("diff", POLY, "--at", "2", "--at", "0", "--order", "2", "--format", "csv")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout == (
        "expr,x,wrt,order,value,derivatives[0],derivatives[1],derivatives[2]\n"
        "x**4+2*x**3-3*x**2+4*x-5,2.0,x,2,66.0,23.0,48.0,66.0\n"
        "x**4+2*x**3-3*x**2+4*x-5,0.0,x,2,-6.0,-5.0,4.0,-6.0\n")


def test_diff_table_names_the_expression_and_right_justifies_numbers(gradcli):
    result = gradcli("diff", POLY, "--at", "2", "--at", "0", "--order", "3", "--format", "table")
    assert result.exit_code == 0 and result.stderr == ""
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines == [
        "x**4+2*x**3-3*x**2+4*x-5  (along x)",
        "┏━━━━━┳━━━━━━┳━━━━━━━┳━━━━━━━━━┳━━━━━━━━━┓",
        "┃   x ┃    f ┃ df/dx ┃ d²f/dx² ┃ d³f/dx³ ┃",
        "┡━━━━━╇━━━━━━╇━━━━━━━╇━━━━━━━━━╇━━━━━━━━━┩",
        "│ 2.0 │ 23.0 │  48.0 │    66.0 │    60.0 │",
        "│ 0.0 │ -5.0 │   4.0 │    -6.0 │    12.0 │",
        "└─────┴──────┴───────┴─────────┴─────────┘",
    ]


def test_diff_table_of_a_high_order_shows_every_order(gradcli):
    """issue 20: orders 1..N-1 were hidden above order 6; a wide table is turned on its side."""
    result = gradcli("diff", "exp(x)", "--at", "0", "--order", "8", "--format", "table")
    assert result.exit_code == 0
    assert all(f"d{s}f/dx{s}" in result.stdout for s in "²³⁴⁵⁶⁷⁸")
    assert "use --format json" not in result.stdout


def test_diff_default_format_is_a_table_on_a_terminal(gradcli, monkeypatch):
    monkeypatch.setattr("gradcli.cli.options.stdout_is_terminal", lambda: True)
    result = gradcli("diff", "x**2", "--at", "3")
    assert result.exit_code == 0 and "┃ df/dx ┃" in result.stdout


def test_diff_wrt_holds_the_other_variables_at_their_values(gradcli):
    result = gradcli("diff", "x*y**2", "--at", "x=2,y=3", "--wrt", "y", "--order", "2",
                     "--format", "json")
    assert json.loads(result.stdout) == {"expr": "x*y**2", "point": {"x": 2.0, "y": 3.0},
                                         "wrt": "y", "order": 2, "value": 4.0,
                                         "derivatives": [18.0, 12.0, 4.0]}


def test_diff_expression_after_double_dash_may_start_with_minus(gradcli):
    result = gradcli("diff", "--", "-x**2", "--at", "1")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "-2.0\n", "")


@pytest.mark.parametrize("args, out", [
    (["diff", "-x**2", "--at", "1"], "-2.0\n"),
    (["diff", "--at", "1", "-x**2"], "-2.0\n"),
    (["eval", "-x**2", "--at", "3"], "-9.0\n"),
    (["eval", "-1+x", "--at", "3"], "2.0\n"),
    (["eval", "-sin(x)", "--at", "0"], "-0.0\n"),
    (["eval", "-1"], "-1.0\n"),
    (["diff", "-x**3", "--at", "-2", "--order", "2"], "12.0\n"),  # --at's value stays its own
])
def test_an_expression_starting_with_minus_works_without_double_dash(gradcli, args, out):
    """SPEC 2: where it cannot be an option, a leading-minus expression is the expression."""
    result = gradcli(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (0, out, "")


@pytest.mark.parametrize("bad", ["-q", "--bogus", "-x"])
def test_a_real_unknown_option_is_still_an_error(gradcli, bad):
    result = gradcli("eval", "x", "--at", "1", bad)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"gradcli: error: no such option: {bad}")


def test_diff_order_zero_is_the_value(gradcli):
    result = gradcli("diff", "sin(x)", "--at", "0", "--order", "0", "--format", "json")
    assert json.loads(result.stdout)["derivatives"] == [0.0]


@pytest.mark.parametrize("order", ["-1", "1.5", "two", ""])
def test_diff_order_not_a_non_negative_integer_is_a_usage_error(gradcli, order):
    result = gradcli("diff", "x", "--at", "1", "--order", order)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"gradcli: error: invalid value for '--order' / '-n': must be a "
                             f"non-negative integer, got {order!r} (see 'gradcli diff --help')\n")


def test_diff_several_variables_need_wrt(gradcli):
    result = gradcli("diff", "x*y", "--at", "x=1,y=2")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("gradcli: error: the expression has several variables (x, y): "
                             "choose one with --wrt\n")


def test_diff_wrt_a_variable_the_expression_lacks_gives_zeros_as_grad_wrt(gradcli):
    """issue 20: grad --wrt x,y,z accepts a variable f lacks (derivative 0, SPEC 6.2); diff
    --wrt z does the same: order 0 is f, every higher order exactly 0, and the point may
    give z or not."""
    result = gradcli("diff", "x*y", "--at", "x=1,y=2", "--wrt", "z", "--order", "2",
                     "--format", "json")
    assert (result.exit_code, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {"expr": "x*y", "point": {"x": 1.0, "y": 2.0},
                                         "wrt": "z", "order": 2, "value": 0.0,
                                         "derivatives": [2.0, 0.0, 0.0]}
    grad = gradcli("grad", "x*y", "--at", "x=1,y=2", "--wrt", "x,y,z", "--format", "json")
    assert json.loads(grad.stdout)["gradient"][2] == json.loads(result.stdout)["derivatives"][1]
    with_z = gradcli("diff", "x**2", "--at", "x=3,y=2", "--wrt", "y", "--order", "1")
    assert (with_z.exit_code, with_z.stdout, with_z.stderr) == (0, "0.0\n", "")


def test_diff_wrt_a_lacking_variable_in_every_format(gradcli):
    table = gradcli("diff", "x**2", "--at", "x=1.5,y=2", "--wrt", "y", "--order", "2",
                    "--format", "table")
    assert table.exit_code == 0 and table.stdout == (
        "x**2  (along y)\n"
        "┏━━━━━┳━━━━━┳━━━━━━┳━━━━━━━┳━━━━━━━━━┓\n"
        "┃   x ┃   y ┃    f ┃ df/dy ┃ d²f/dy² ┃\n"
        "┡━━━━━╇━━━━━╇━━━━━━╇━━━━━━━╇━━━━━━━━━┩\n"
        "│ 1.5 │ 2.0 │ 2.25 │   0.0 │     0.0 │\n"
        "└─────┴─────┴──────┴───────┴─────────┘\n")
    csv = gradcli("diff", "x**2", "--at", "x=1.5,y=2", "--wrt", "y", "--format", "csv")
    assert csv.stdout == ("expr,x,y,wrt,order,value,derivatives[0],derivatives[1]\n"
                          "x**2,1.5,2.0,y,1,0.0,2.25,0.0\n")
    # --digits: order 0 certified (1.5**2 = 2.25 exactly), the zeros exact
    digits = gradcli("diff", "x**2", "--at", "x=1.5,y=2", "--wrt", "y", "--order", "2",
                     "--digits", "5", "--format", "json")
    assert json.loads(digits.stdout)["derivatives"] == ["2.2500", "0", "0"]
    constant = gradcli("diff", "3", "--at", "y=2", "--wrt", "y", "--format", "json")
    assert json.loads(constant.stdout)["derivatives"] == [3.0, 0.0]
    # a point naming a variable that is neither f's nor --wrt's is still an error
    other = gradcli("diff", "x**2", "--at", "x=1,q=2", "--wrt", "y")
    assert other.exit_code == 2 and "no variable 'q'" in other.stderr


def test_diff_wrt_over_expressions_on_stdin_matches_sympy(gradcli):
    """One --wrt y over several expressions, some without y (a column of a Jacobian and its
    higher orders); SymPy's derivatives are the oracle."""
    import sympy as sp

    x, y = sp.symbols("x y")
    exprs = {"x**2": x**2, "x*y": x * y, "sin(x)*y**3": sp.sin(x) * y**3, "exp(x)": sp.exp(x)}
    result = gradcli("diff", "-", "--at", "x=0.3,y=1.7", "--wrt", "y", "--order", "3",
                     "--format", "json", input="\n".join(exprs) + "\n")
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    for (text, f), line in zip(exprs.items(), lines):
        exact = [float(sp.diff(f, y, k).subs({x: sp.Rational(3, 10), y: sp.Rational(17, 10)}))
                 for k in range(4)]
        assert json.loads(line)["derivatives"] == pytest.approx(exact, rel=1e-14, abs=0), text


def test_diff_parse_error_shows_the_expression_and_a_caret(gradcli):
    result = gradcli("diff", "sinn(x)", "--at", "1")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("gradcli: error: unknown function 'sinn' at column 1 "
                             "(did you mean 'sin'?)\n  sinn(x)\n  ^\n")


def test_diff_implicit_multiplication_hints_at_the_star(gradcli):
    result = gradcli("diff", "2x", "--at", "1")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].endswith("(write 2*x)")
    assert result.stderr.splitlines()[1:] == ["  2x", "   ^"]


def test_diff_without_at_names_the_missing_variable(gradcli):
    result = gradcli("diff", "x**2")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "gradcli: error: no value given for variable 'x' (give it with --at)\n"


def test_diff_of_a_constant_needs_no_point(gradcli):
    result = gradcli("diff", "2+3", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["derivatives"] == [5.0, 0.0]


def test_diff_help_shows_the_spec_example(gradcli):
    result = gradcli("diff", "--help")
    assert result.exit_code == 0
    assert 'gradcli diff "x**4+2*x**3-3*x**2+4*x-5" --at 2 --order 3' in result.stdout


def test_diff_infinite_derivative_is_reported_with_a_warning(gradcli):
    result = gradcli("diff", "sqrt(x)", "--at", "0")
    assert (result.exit_code, result.stdout) == (0, "inf\n")
    assert result.stderr == ("gradcli: warning: sqrt(x): the derivative of order 1 is inf at "
                             "x=0.0 (a singularity of a derivative, or beyond the float64 range)\n")


def test_diff_points_on_stdin(gradcli):
    result = gradcli("diff", "x**3", "--at", "-", "--format", "plain", input="1\n\n# skip\n2\n")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "3.0\n12.0\n", "")


def test_diff_expressions_on_stdin(gradcli):
    result = gradcli("diff", "-", "--at", "2", input="x**2\n# a comment\n\nx**3\n")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "4.0\n12.0\n", "")
