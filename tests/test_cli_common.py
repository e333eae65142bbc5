"""The shared command-line layer: points, numbers, JSON lines, errors and exit codes."""
import json

import pytest
from click.testing import CliRunner

from gradcli.cli import cli
from gradcli.points import BARE, PointError, parse_point
from gradcli.render import format_number, json_line


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input)


@pytest.mark.parametrize("text, names, values", [
    ("2", (BARE,), (2.0,)),
    ("-1.5e-3", (BARE,), (-1.5e-3,)),
    ("x=1,y=2", ("x", "y"), (1.0, 2.0)),
    (" y = -2 , x=.5 ", ("y", "x"), (-2.0, 0.5)),
    ("x=pi/2", ("x",), (1.5707963267948966,)),
    ("x=atan2(1,1),y=inf", ("x", "y"), (0.7853981633974483, float("inf"))),
])
def test_parse_point_reads_bare_and_named_values(text, names, values):
    point = parse_point(text)
    assert (point.names, point.values) == (names, values)


@pytest.mark.parametrize("text, message", [
    ("x=abc", "--at: 'abc' is not a number at column 3"),
    ("x=1,x=2", "--at: 'x' is given twice at column 5"),
    ("1,2", "--at: several values need names at column 1 (write x=1,y=2)"),
    ("x=", "--at: a value is missing at column 3 (write a number, as x=1,y=2)"),
    ("x=1,,y=2", "--at: expected name=value, found '' at column 5 (remove the extra ',')"),
    ("2x=1", "--at: '2x' is not a variable name at column 1 (write x=1,y=2)"),
])
def test_parse_point_errors_name_the_problem_and_column(text, message):
    with pytest.raises(PointError) as info:
        parse_point(text)
    assert info.value.headline().startswith(message)


def test_format_number_is_the_shortest_round_trip_repr():
    assert [format_number(v) for v in (60.0, 0.1, 1e-300, -0.0, float("nan"), float("-inf"))] == \
        ["60.0", "0.1", "1e-300", "-0.0", "nan", "-inf"]


def test_json_line_writes_non_finite_numbers_as_strings():
    import numpy as np

    line = json_line({"a": np.float64("nan"), "b": [np.inf, -np.inf, 1.5], "c": np.int64(3)})
    assert line == '{"a": "nan", "b": ["inf", "-inf", 1.5], "c": 3}'
    assert json.loads(line)["b"][2] == 1.5


def test_version_prints_the_version():
    result = run("--version")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "gradcli 0.1.0\n", "")
