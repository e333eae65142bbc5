"""SPEC 6.4: a table never exceeds the terminal's width (80 and 120 columns here), whatever
the subcommand: numbers to 10 significant digits in tables only, wide results turned on
their side, Hessians as matrices, --symbolic formulas as text under the table, and no
order of diff hidden."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradcli.cli import cli

ROOT = Path(__file__).resolve().parent.parent
LINE = str(ROOT / "samples" / "noisy_line.csv")

COMMANDS = [
    ["diff", "x**4+2*x**3-3*x**2+4*x-5", "--at", "2", "--order", "3"],
    ["diff", "exp(x)*sin(x)", "--at", "1", "--at", "2", "--at", "-3.5", "--order", "12"],
    ["diff", "x*y**2*exp(z)", "--at", "x=1.123456789,y=2.5,z=-3", "--wrt", "y", "--order", "7"],
    ["grad", "x**2*y+sin(y)", "--at", "x=1,y=2", "--hessian"],
    ["grad", "x**2*y*z+sin(y)*exp(z)/w+v**3", "--at", "v=0.1,w=2.5,x=1,y=2,z=3", "--hessian"],
    ["eval", "sqrt(a**2+b**2+c**2+d**2+e1**2+f**2+g**2+h**2)",
     "--at", "a=1.1,b=2.2,c=3.3,d=4.4,e1=5.5,f=6.6,g=7.7,h=8.8"],
    ["check", "exp(sin(x))/(1+x**2)", "--at", "0.7", "--order", "4"],
    ["check", "x**y*sin(x)", "--at", "x=0.5,y=2.5", "--wrt", "x", "--order", "3", "--symbolic"],
    ["minimize", "(x-50)**2", "--opt", "adam", "--lr", "1", "--steps", "200", "--from", "x=3"],
    ["minimize", "(1-x)**2+100*(y-x**2)**2", "--opt", "adam", "--lr", "0.01",
     "--from", "x=-1.5,y=2", "--steps", "2000"],
    ["minimize", "(1-x)**2+100*(y-x**2)**2", "--opt", "sgd,momentum,adam,newton", "--lr", "0.002",
     "--from", "x=-1.5,y=2", "--steps", "500"],
    ["fit", "w*x+b", "--data", LINE, "--target", "y", "--opt", "adam", "--lr", "0.1",
     "--epochs", "300"],
    ["graph", "sin(x)*x+x**2", "--at", "1"],
    ["taylor", "exp(x)*sin(x)", "--at", "1", "--order", "12"],
    ["functions"],
    # the defaults and the widest results (each found wider than 80 columns once)
    ["minimize", "(1-x)**2+100*(y-x**2)**2", "--from", "x=-1.5,y=2"],  # lbfgs's closing line
    ["minimize", "(1-x)**2+100*(y-x**2)**2", "--opt", "all", "--from", "x=-1.5,y=2",
     "--steps", "300"],
    ["minimize", "a**2+b**2+c**2+d**2+e1**2+f**2+g**2+h**2",  # the final point's line
     "--from", "a=1,b=2,c=3,d=4,e1=5,f=6,g=7,h=8"],
    ["fit", "w*x+b", "--data", LINE, "--target", "y"],  # lm's closing lines
    ["fit", "w*x+b", "--data", LINE, "--target", "y", "--opt", "all", "--epochs", "50"],
    ["grad", "a*b*c*d*e1*f*g*h*i*j", "--hessian",  # a 10 x 10 Hessian: blocks of columns
     "--at", "a=1.123456789,b=2,c=3,d=4,e1=5,f=6,g=7,h=8,i=9,j=10"],
    ["check", "x**y*sin(x)", "--at", "x=0.5,y=2.5", "--wrt", "x", "--order", "8", "--symbolic"],
    ["check", "exp(x)", "--at", "1", "--at", "2", "--at", "3", "--order", "12"],
    ["diff", "exp(x)*sin(x)", "--at", "1", "--order", "40"],
    ["taylor", "exp(x)*sin(x)*y", "--at", "x=1,y=2", "--at", "x=2,y=3", "--wrt", "x",
     "--order", "12"],
    ["graph", "exp(sin(x*y))/(1+x**2+y**2)+log(1+x**2*y**2)*cos(x-y)", "--at", "x=0.3,y=0.7"],
]


def _run(args, columns: int, fmt: str = "table"):
    env = {"COLUMNS": str(columns), "LINES": "40", "NO_COLOR": "1", "FORCE_COLOR": None,
           "TTY_COMPATIBLE": None, "TTY_INTERACTIVE": None}
    extra = ["--format", "tree" if args[0] == "graph" and fmt == "table" else fmt]
    return CliRunner(env=env).invoke(cli, [*args, *extra], prog_name="gradcli")


@pytest.mark.slow
@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a[:2]) for a in COMMANDS])
def test_no_table_line_is_wider_than_the_terminal(args, columns):
    result = _run(args, columns)
    assert result.exit_code in (0, 1), result.stderr
    assert len(result.stdout.splitlines()) >= 3  # something was drawn
    # --symbolic formulas are one line of text each, as long as the formula
    wide = [line for line in result.stdout.splitlines()
            if len(line) > columns and not line.startswith("  order ")]
    assert not wide, "\n".join(wide)


def test_tables_round_to_10_digits_and_other_formats_keep_every_digit():
    table = _run(["eval", "sqrt(2)"], 80).stdout
    assert "1.414213562" in table and "1.4142135623730951" not in table
    plain = _run(["eval", "sqrt(2)"], 80, "plain").stdout
    assert plain == "1.4142135623730951\n"
    assert json.loads(_run(["eval", "sqrt(2)"], 80, "json").stdout)["value"] == 2 ** 0.5


def test_diff_shows_every_order_of_a_high_order():
    """issue 20: `diff --order 7` and above hid the middle orders."""
    result = _run(["diff", "exp(2*x)", "--at", "0", "--order", "9"], 80)
    values = {int(2 ** k) for k in range(10)}  # the kth derivative of exp(2x) at 0 is 2**k
    cells = {int(float(c)) for line in result.stdout.splitlines()
             for c in line.strip("│ ").split("│")[-1:] if c.strip().replace(".", "").isdigit()}
    assert values <= cells
    assert "use --format json" not in result.stdout


def test_a_hessian_is_a_matrix_under_the_gradient():
    result = _run(["grad", "x**2*y", "--at", "x=1,y=2", "--hessian"], 80)
    lines = result.stdout.splitlines()
    assert "Hessian at x=1.0,y=2.0 (∂²f/∂row∂column):" in lines
    rows = [[c.strip() for c in line.strip("│").split("│")] for line in lines
            if line.startswith("│")]
    assert ["x", "4.0", "2.0"] in rows and ["y", "2.0", "0.0"] in rows  # d2(x^2 y) = [[2y,2x],[2x,0]]


def test_symbolic_formulas_are_one_line_text_under_the_table():
    result = _run(["check", "x**3", "--at", "2", "--order", "2", "--symbolic"], 80)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[lines.index("SymPy's derivatives along x:") + 1:][:3] == [
        "  order 0: x**3", "  order 1: 3*x**2", "  order 2: 6*x"]


def test_a_tree_keeps_every_digit_where_it_fits_and_ten_where_it_does_not():
    wide = "exp(sin(x*y))/(1+x**2+y**2)+log(1+x**2*y**2)*cos(x-y)"
    for columns, value in [(120, "0.8193559365019727"), (80, "0.8193559365")]:
        result = _run(["graph", wide, "--at", "x=0.3,y=0.7"], columns)
        assert result.stdout.splitlines()[2].split() == ["add", value, "1.0", "1"]
        assert max(map(len, result.stdout.splitlines())) <= columns and result.stderr == ""


def test_a_tree_too_deep_for_the_terminal_is_drawn_whole_and_says_so():
    """A sum of 29 terms nests 29 levels (116 columns of guides): drawn as it is, with a
    pointer to the plain format, whose lines are one step each."""
    text = "+".join(f"sin({i}*x)" for i in range(1, 30))
    result = _run(["graph", text, "--at", "1"], 80)
    assert result.exit_code == 0
    assert result.stderr == ("gradcli: warning: the tree is 163 columns wide, the terminal 80: "
                             "--format plain lists the tape a step per line\n")
    assert "".join(result.stdout.splitlines()[:4]) == text + "  at x=1.0"  # the title folds


def test_a_wide_hessian_is_printed_in_blocks_of_columns_with_whole_numbers():
    """10 variables at 80 columns: rich folded each cell into 4-character pieces
    ("3628" over "800.0"); now blocks of whole columns, every row named in each block.
    d2(abc...j)/da db at a=1.123456789 is the product of the other eight: 10!/2 = 1814400."""
    import math

    names = ["a", "b", "c", "d", "e1", "f", "g", "h", "i", "j"]
    at = dict(zip(names, [1.123456789, *range(2, 11)]))
    result = _run(["grad", "*".join(names), "--hessian",
                   "--at", ",".join(f"{k}={v}" for k, v in at.items())], 80)
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Hessian at"))
    cells: dict[tuple[str, str], str] = {}
    heads = None
    for line in lines[start:]:
        parts = [c.strip() for c in line.strip("│┃").split("│" if "│" in line else "┃")]
        if line.startswith("┃"):
            heads = parts[1:]
        elif line.startswith("│"):
            cells.update({(parts[0], h): v for h, v in zip(heads, parts[1:])})
    assert len(cells) == 100 and max(map(len, lines)) <= 80
    for (r, c), text in cells.items():
        want = 0.0 if r == c else math.prod(v for k, v in at.items() if k not in (r, c))
        assert float(text) == pytest.approx(want, rel=1e-9), (r, c)


def test_long_closing_lines_wrap_at_the_terminal_keeping_name_and_value_together():
    result = _run(["minimize", "a**2+b**2+c**2+d**2+e1**2+f**2+g**2+h**2",
                   "--from", "a=1,b=2,c=3,d=4,e1=5,f=6,g=7,h=8"], 80)
    tail = result.stdout.splitlines()
    start = next(i for i, line in enumerate(tail) if line.startswith("final point"))
    closing = tail[start:]
    assert len(closing) > 1 and all(len(line) <= 80 for line in closing)
    assert all(line.startswith("  ") for line in closing[1:])  # continuation lines indented
    assert closing[0].startswith("final point a = ")
    for name in ("b", "c", "d", "e1", "g", "h"):  # never "d" at a line's end, "= ..." next
        assert any(f" {name} = -" in line for line in closing), name
    assert not any(line.rstrip().endswith(" =") or line.strip().startswith("=")
                   for line in closing)


@pytest.mark.parametrize("edge", [True, False])
def test_a_tall_table_is_drawn_as_rich_draws_it(edge, monkeypatch):
    """From tables.TALL rows a table is drawn without rich's per-cell layout (100,000 rows
    of eval took 65 s, now 8): the same text as rich's, with its outer edge, and without
    it where only that fits."""
    import io
    import random

    from gradcli.cli import render, tables

    rng = random.Random(20)
    columns = ["step", "x", "∂f/∂x", "‖∇f‖", "status"]
    rows = [[k, rng.uniform(-1e3, 1e3), rng.choice([0.5, -1e-300, float("nan"), 1 / 3]),
             rng.random(), rng.choice(["ok", "error", ""])] for k in range(tables.TALL + 50)]
    texts = [[render.table_cell(v) for v in row] for row in rows]
    right = [True, True, True, True, False]
    natural = tables._width(tables._rich_table(None, columns, texts, None, right),
                            tables.console(io.StringIO(), 200))
    width = natural if edge else natural - 1  # without the edge the table is 2 narrower
    monkeypatch.setenv("COLUMNS", str(width))
    drawn, expected = io.StringIO(), io.StringIO()
    tables.console(expected).print(tables._rich_table(None, columns, texts, None, right,
                                                      edge=edge))
    monkeypatch.setattr(tables, "_rich_table", None)  # not rich's table: its text
    tables.print_table(None, columns, rows, file=drawn, numeric=right)
    assert drawn.getvalue() == expected.getvalue()
    assert max(map(len, drawn.getvalue().splitlines())) == natural - 2 * (not edge)
