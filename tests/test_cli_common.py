"""The shared command-line layer: points, numbers, JSON lines, errors and exit codes."""
import json
import sys
import subprocess

import pytest
from click.testing import CliRunner

from gradcli.cli import cli
from gradcli.cli.points import BARE, PointError, parse_point
from gradcli.cli.render import format_number, json_line


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
    ("1,2", "--at: several values need names at column 1 (write 1.2 for a decimal number, or "
            "name the values: x=1,y=2)"),
    ("1,2,3", "--at: several values need names at column 1 (write x=1,y=2)"),
    ("0x10", "--at: '0x10' is not a number: hexadecimal numbers are not part of the language at "
             "column 1 (write 16 for 0x10)"),
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


# -- through the command line ------------------------------------------------------------------
def test_bad_at_syntax_is_shown_with_a_caret(gradcli):
    result = gradcli("eval", "x", "--at", "x=1,,y=2")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("gradcli: error: --at: expected name=value, found '' at column 5 "
                             "(remove the extra ',')\n  x=1,,y=2\n      ^\n")


def test_unknown_format_is_a_usage_error(gradcli):
    result = gradcli("eval", "1", "--format", "xml")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("gradcli: error: invalid value for '--format': 'xml' is not one of "
                             "'table', 'plain', 'csv', 'json' (see 'gradcli eval --help')\n")


def test_missing_expression_is_a_usage_error(gradcli):
    result = gradcli("diff")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "gradcli: error: missing argument 'EXPR' (see 'gradcli diff --help')\n"


def test_unknown_subcommand_is_a_usage_error(gradcli):
    result = gradcli("integrate", "x")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "gradcli: error: no such command 'integrate' (see 'gradcli --help')\n"


def test_expression_and_points_cannot_both_come_from_stdin(gradcli):
    result = gradcli("eval", "-", "--at", "-", input="x\n")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "gradcli: error: EXPR and --at cannot both read stdin ('-')\n"


def test_bad_stdin_lines_are_reported_and_the_others_answered(gradcli):
    result = gradcli("diff", "x**3", "--at", "-", input="1\nx=abc\nq=1\n2\n")
    assert (result.exit_code, result.stdout) == (2, "3.0\n\n\n12.0\n")  # rows kept (SPEC 6.4)
    assert result.stderr == (
        "gradcli: error: stdin line 2: 'abc' is not a number at column 3 (a value is a number "
        "or a constant expression such as pi/4)\n  x=abc\n    ^\n"
        "gradcli: error: stdin line 3: the expression has no variable 'q' (its variables: x)\n")


def test_bad_stdin_expressions_are_reported_and_the_others_answered(gradcli):
    result = gradcli("eval", "-", "--at", "x=2", input="x**2\n2x\nx*y\nx+1\n")
    assert (result.exit_code, result.stdout) == (2, "4.0\n\n\n3.0\n")  # rows kept (SPEC 6.4)
    assert result.stderr == (
        "gradcli: error: stdin line 2: a number cannot be followed by a name at column 2 "
        "(write 2*x)\n  2x\n   ^\n"
        "gradcli: error: stdin line 3: --at 'x=2': no value given for variable 'y'\n")


def test_bad_stdin_lines_keep_their_row_in_csv_and_json(gradcli):
    """SPEC 6.4: `paste points results` stays aligned; the message is on stderr, exit 2."""
    points = "1\nx=abc\nq=1\n2\n"
    result = gradcli("eval", "x**3", "--at", "-", "--format", "csv", input=points)
    assert result.exit_code == 2
    assert result.stdout == "expr,x,value\nx**3,1.0,1.0\nx**3,,\nx**3,,\nx**3,2.0,8.0\n"
    result = gradcli("eval", "x**3", "--at", "-", "--format", "json", input=points)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("value") for r in records] == [1.0, None, None, 8.0]
    assert records[1] == {"expr": "x**3", "point": "x=abc",
                          "error": "stdin line 2: 'abc' is not a number"}
    assert records[2] == {"expr": "x**3", "point": {"q": 1.0},
                          "error": "the expression has no variable 'q' (its variables: x)"}
    result = gradcli("eval", "-", "--at", "x=2", "--format", "json", input="x**2\n2x\nx+1\n")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("value") for r in records] == [4.0, None, 3.0]
    assert records[1]["expr"] == "2x" and records[1]["point"] == {"x": 2.0}
    assert records[1]["error"] == "a number cannot be followed by a name"


def test_bad_stdin_lines_keep_their_row_in_a_table(gradcli):
    """SPEC 6.4 in the fourth format: the bad line's row holds the line (or its point) and
    "error" in the first value cell, in the table of its expression; the numbers' columns
    stay right-justified. Values: x**3 and 3x**2, 6x at 1 and 2."""
    result = gradcli("diff", "x**3", "--at", "-", "--order", "2", "--format", "table",
                     input="x=abc\n1\nq=1\n2\n")
    assert result.exit_code == 2 and result.stderr.count("gradcli: error: stdin line") == 2
    assert result.stdout == (
        "x**3  (along x)\n"
        "┏━━━━━━━┳━━━━━━━┳━━━━━━━┳━━━━━━━━━┓\n"
        "┃     x ┃     f ┃ df/dx ┃ d²f/dx² ┃\n"
        "┡━━━━━━━╇━━━━━━━╇━━━━━━━╇━━━━━━━━━┩\n"
        "│ x=abc │ error │       │         │\n"
        "│   1.0 │   1.0 │   3.0 │     6.0 │\n"
        "│ q=1.0 │ error │       │         │\n"
        "│   2.0 │   8.0 │  12.0 │    12.0 │\n"
        "└───────┴───────┴───────┴─────────┘\n")
    # two variables: a point that lacks one keeps the value it gave, in its column
    result = gradcli("grad", "x**2*y", "--at", "-", "--format", "table",
                     input="x=1,y=2\ny=1\n")
    assert result.exit_code == 2
    assert result.stdout.splitlines()[4:6] == ["│ 1.0 │ 2.0 │   2.0 │   4.0 │   1.0 │",
                                               "│     │ 1.0 │ error │       │       │"]


def test_a_bad_stdin_expression_keeps_its_place_in_table_output(gradcli):
    """A bad expression has no table of its own shape: a small one under its text, between
    the tables of the expressions around it."""
    result = gradcli("eval", "-", "--at", "x=2", "--format", "table", input="x**2\nsin(\nx+1\n")
    assert result.exit_code == 2
    assert result.stdout == (
        "x**2\n┏━━━━━┳━━━━━━━┓\n┃   x ┃ value ┃\n┡━━━━━╇━━━━━━━┩\n│ 2.0 │   4.0 │\n"
        "└─────┴───────┘\n"
        "sin(\n┏━━━━━┳━━━━━━━━┓\n┃   x ┃ result ┃\n┡━━━━━╇━━━━━━━━┩\n│ 2.0 │ error  │\n"
        "└─────┴────────┘\n"
        "x+1\n┏━━━━━┳━━━━━━━┓\n┃   x ┃ value ┃\n┡━━━━━╇━━━━━━━┩\n│ 2.0 │   3.0 │\n"
        "└─────┴───────┘\n")
    only_bad = gradcli("eval", "x**2", "--at", "-", "--format", "table", input="x=abc\n")
    assert only_bad.exit_code == 2 and only_bad.stdout == (
        "x**2\n┏━━━━━━━┳━━━━━━━━┓\n┃ point ┃ result ┃\n┡━━━━━━━╇━━━━━━━━┩\n"
        "│ x=abc │ error  │\n└───────┴────────┘\n")


def test_a_utf8_bom_and_cr_line_endings_on_stdin_are_read(gradcli):
    """issue 23: an editor's byte-order mark before line 1, and CR-only line endings."""
    result = gradcli("eval", "x+1", "--at", "-", input="\ufeff1\r2\r\n3\r")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "2.0\n3.0\n4.0\n", "")
    result = gradcli("eval", "-", "--at", "1", input="\ufeffx+1\rx*5\r")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "2.0\n5.0\n", "")


def test_stdin_points_naming_variables_in_any_order_keep_the_input_order(gradcli):
    result = gradcli("eval", "x-y", "--at", "-", input="x=1,y=2\ny=1,x=5\nx=0,y=0\n")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "-1.0\n4.0\n0.0\n", "")


def test_repeated_expressions_on_stdin_are_each_answered(gradcli):
    result = gradcli("eval", "-", "--at", "3", input="x**2\nx**2\nx+1\nx**2\n")
    assert result.stdout == "9.0\n9.0\n4.0\n9.0\n"


def test_expressions_on_stdin_with_several_points_give_a_line_each(gradcli):
    result = gradcli("eval", "-", "--at", "1", "--at", "2", "--format", "json",
                     input="x+1\nx*10\n")
    assert [json.loads(line)["value"] for line in result.stdout.splitlines()] == \
        [2.0, 3.0, 10.0, 20.0]


def test_csv_repeats_the_header_when_the_columns_change(gradcli):
    result = gradcli("eval", "-", "--at", "x=1", "--format", "csv", input="x+1\nx+2\n")
    assert result.stdout == "expr,x,value\nx+1,1.0,2.0\nx+2,1.0,3.0\n"
    result = gradcli("diff", "-", "--at", "1", "--format", "csv", "--order", "0",
                     input="x\ny\n")
    assert result.stdout == ("expr,x,wrt,order,value,derivatives[0]\nx,1.0,x,0,1.0,1.0\n"
                             "expr,y,wrt,order,value,derivatives[0]\ny,1.0,y,0,1.0,1.0\n")


def test_interrupt_keeps_what_was_written_and_exits_130(gradcli, monkeypatch):
    from gradcli.cli import evaluate

    real, calls = evaluate.value_rows, []

    def interrupted_on_the_second_expression(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(evaluate, "value_rows", interrupted_on_the_second_expression)
    result = gradcli("eval", "-", "--at", "2", input="x+1\nx+2\nx+3\n")
    assert (result.exit_code, result.stdout) == (130, "3.0\n")
    assert result.stderr == "gradcli: interrupted\n"


def test_broken_pipe_ends_quietly_with_141(gradcli, monkeypatch):
    from gradcli.cli import evaluate

    def closed(*args):
        raise BrokenPipeError

    monkeypatch.setattr(evaluate, "value_rows", closed)
    result = gradcli("eval", "x", "--at", "2")
    assert (result.exit_code, result.stdout, result.stderr) == (141, "", "")


def test_every_subcommand_help_shows_examples(gradcli):
    import click

    from gradcli.cli import cli

    for name in cli.list_commands(click.Context(cli)):
        result = gradcli(name, "--help")
        assert result.exit_code == 0, name
        assert "Examples:" in result.stdout and f"gradcli {name} " in result.stdout, name


def test_group_help_lists_the_subcommands(gradcli):
    result = gradcli("--help")
    assert result.exit_code == 0
    assert all(f"  {name} " in result.stdout for name in ("diff", "grad", "eval"))


def test_a_command_of_the_common_layer_can_exit_1_after_its_output():
    import click
    from click.testing import CliRunner

    from gradcli.cli import GradcliGroup
    from gradcli.cli.app import EXIT_FAILED, command

    @command("failing", examples=["gradcli failing"])
    def failing():
        """Writes a line, then reports a failed check."""
        click.echo("done")
        click.get_current_context().exit(EXIT_FAILED)

    group = GradcliGroup("gradcli", commands=[failing])
    result = CliRunner().invoke(group, ["failing"])
    assert (result.exit_code, result.stdout, result.stderr) == (1, "done\n", "")


@pytest.mark.slow
def test_every_help_example_runs_in_an_empty_directory(tmp_path):
    """issue 20: help examples run anywhere after pip install (data on stdin, no samples/)."""
    import shutil

    import click

    from gradcli.cli import cli

    script = [f'gradcli() {{ {sys.executable} -m gradcli "$@"; }}']
    ran = 0
    for name in cli.list_commands(click.Context(cli)):
        command = cli.get_command(click.Context(cli), name)
        for line in (command.epilog or "").splitlines():
            example = line.strip()
            if not example.startswith("gradcli ") and "| gradcli " not in example:
                continue
            if "| dot " in example and shutil.which("dot") is None:
                # no Graphviz here: gradcli's part of the pipeline, and its output is dot's input
                example = example.split("| dot ")[0] + "| grep -q '^digraph'"
            assert "samples/" not in example, example
            result = subprocess.run(["bash", "-c", "\n".join([*script, example])],
                                    capture_output=True, text=True, cwd=tmp_path, timeout=120,
                                    stdin=subprocess.DEVNULL)
            assert result.returncode in (0, 1), (example, result.stderr)
            assert "Traceback" not in result.stderr and "error" not in result.stderr, example
            ran += 1
    assert ran >= 20


def test_the_version_is_defined_once(gradcli):
    """issue 15: pyproject.toml reads gradcli.__version__; --version prints it."""
    import re
    from pathlib import Path

    import gradcli as gc

    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and 'attr = "gradcli.__version__"' in pyproject
    assert not re.search(r'^version\s*=\s*"', pyproject, re.M)  # no number written here
    assert gradcli("--version").stdout == f"gradcli {gc.__version__}\n"
