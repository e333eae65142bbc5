"""``grad --wrt``: derivatives along chosen variables in a chosen order; a point may name
variables an expression lacks (derivative 0), so a pipe of expressions gives a Jacobian."""
import json
import math

import numpy as np
from click.testing import CliRunner

from gradcli.cli import cli


def run(*args, input=None):
    return CliRunner().invoke(cli, ["grad", *args], input=input)


def test_a_pipe_of_expressions_gives_the_rows_of_a_jacobian():
    result = run("-", "--at", "x=1,y=2", "--wrt", "x,y", input="x*y\nx+y\nsin(x)\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"2.0 1.0\n1.0 1.0\n{math.cos(1.0)!r} 0.0\n"


def test_the_order_of_wrt_is_the_order_of_the_gradient_and_hessian():
    result = run("x**2*y", "--at", "x=3,y=5", "--wrt", "y,x", "--hessian", "--format", "json")
    record = json.loads(result.stdout)
    assert record["variables"] == ["y", "x"]
    assert record["gradient"] == [9.0, 30.0]
    assert record["hessian"] == [[0.0, 6.0], [6.0, 10.0]]


def test_variables_the_expression_lacks_have_zero_derivatives_at_every_point():
    result = run("sin(x)*x", "--at", "-", "--wrt", "z,x,y", "--hessian", "--format", "json",
                 input="x=1,y=2\nx=3,y=4\n")
    assert result.exit_code == 0, result.stderr
    for line, x in zip(result.stdout.splitlines(), (1.0, 3.0)):
        record = json.loads(line)
        d1 = math.sin(x) + x * math.cos(x)
        d2 = 2 * math.cos(x) - x * math.sin(x)
        assert record["gradient"] == [0.0, d1, 0.0]
        np.testing.assert_allclose(record["hessian"], [[0, 0, 0], [0, d2, 0], [0, 0, 0]],
                                   rtol=1e-15)


def test_a_constant_expression_with_wrt_gives_zeros():
    result = run("2", "--wrt", "x")
    assert (result.exit_code, result.stdout) == (0, "0.0\n")
    result = run("2*pi", "--at", "x=1,y=2", "--wrt", "x,y", "--format", "json")
    assert json.loads(result.stdout)["gradient"] == [0.0, 0.0]


def test_wrt_may_leave_a_variable_out_but_the_point_must_still_give_it():
    assert run("x*y", "--at", "x=1,y=2", "--wrt", "x").stdout == "2.0\n"
    result = run("x*y", "--at", "x=1", "--wrt", "x,y")
    assert result.exit_code == 2
    assert result.stderr == "gradcli: error: --at 'x=1': no value given for variable 'y'\n"


def test_a_variable_missing_from_the_point_is_named_even_beside_a_wrt_extra():
    """x*z at x=1,y=2 --wrt x,y: z has no value (y is allowed: it is along --wrt); the
    message said 'the expression has no variable y', the one name that was fine."""
    for args, input, out in [(["x*z", "--at", "x=1,y=2"], None, ""),
                             (["-", "--at", "x=1,y=2"], "x*z\n", "\n")]:  # stdin: a row's place
        result = run(*args, "--wrt", "x,y", input=input)
        assert (result.exit_code, result.stdout) == (2, out)
        assert result.stderr.endswith("--at 'x=1,y=2': no value given for variable 'z'\n")


def test_without_wrt_a_point_still_may_not_name_other_variables():
    result = run("x", "--at", "x=1,q=3")
    assert result.exit_code == 2 and "has no variable 'q'" in result.stderr
    result = run("x", "--at", "x=1,q=3", "--wrt", "x")
    assert result.exit_code == 2 and "has no variable 'q'" in result.stderr


def test_bad_wrt_lists_are_one_line_errors():
    for wrt, message in [("x,x", "'x' is given twice"), ("1x", "'1x' is not a variable name"),
                         ("x,,y", "'' is not a variable name"),
                         ("pi", "'pi' is a constant, not a variable"),
                         ("x,tau", "'tau' is a constant, not a variable"),
                         ("x,gamma", "'gamma' is a function, not a variable"),
                         ("sin", "'sin' is a function, not a variable")]:
        result = run("x", "--at", "x=1", "--wrt", wrt)
        assert result.exit_code == 2, wrt
        assert result.stderr == f"gradcli: error: --wrt {wrt}: {message}\n"


def test_diff_wrt_refuses_a_function_or_a_constant_too():
    for wrt, what in [("gamma", "a function"), ("erf", "a function"), ("tau", "a constant")]:
        result = CliRunner().invoke(cli, ["diff", "x", "--at", "x=1", "--wrt", wrt])
        assert (result.exit_code, result.stdout) == (2, ""), wrt
        assert result.stderr == f"gradcli: error: --wrt {wrt}: {wrt!r} is {what}, not a variable\n"


def test_the_jacobian_pipe_in_a_real_process():
    """The recipe of docs/grad.md through a real pipe: rows of the Jacobian of
    (x*y, x+y, sin(x)) at (1, 2), against the derivatives written by hand."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "gradcli", "grad", "-", "--at", "x=1,y=2",
                             "--wrt", "x,y", "--format", "json"], input="x*y\nx+y\nsin(x)\n",
                            capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stderr) == (0, "")
    rows = [json.loads(line)["gradient"] for line in result.stdout.splitlines()]
    assert rows == [[2.0, 1.0], [1.0, 1.0], [math.cos(1.0), 0.0]]


def test_several_missing_values_are_named_in_the_plural():
    result = CliRunner().invoke(cli, ["grad", "x*z*w", "--at", "x=1,y=2", "--wrt", "x,y"])
    assert result.exit_code == 2
    assert result.stderr.endswith("--at 'x=1,y=2': no value given for variables 'w', 'z'\n")
