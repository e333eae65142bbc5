"""``gradcli functions``: the registry's list of functions, in every format."""
import json

from click.testing import CliRunner

from gradcli.catalog import functions as catalogue
from gradcli.cli import cli
from gradcli.registry import language_functions

NEW = ["erf", "erfc", "gamma", "lgamma", "digamma", "sec", "csc", "cot", "exp2", "square",
       "sinc", "floor", "ceil", "round", "sign", "heaviside", "mod", "clip"]


def run(*args):
    return CliRunner().invoke(cli, ["functions", *args])


def test_json_lists_every_language_function_with_its_facts():
    result = run("--format", "json")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(r["name"] for r in records) == sorted(language_functions())
    assert set(NEW) <= {r["name"] for r in records}
    for r in records:
        assert r["domain"] and r["derivative"] and r["description"], r["name"]
        arity = language_functions()[r["name"]].arity
        assert len(r["arguments"]) == arity
    clip = next(r for r in records if r["name"] == "clip")
    assert clip["signature"] == "clip(x, lo, hi)" and clip["library"] == "gc.clip"
    assert clip["group"] == "Rounding and piecewise-constant functions, and the two that cut and wrap"


def test_plain_is_one_tab_separated_line_per_function():
    result = run("gamma", "mod", "--format", "plain")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        ("gamma(x)\tgamma function (+-inf at +-0, nan at the poles -1, -2, ...)\t"
         "x != 0, -1, -2, ...\tgamma(x)*digamma(x)"),
        ("mod(x, y)\tx mod y as Python's %: x - y * floor(x/y), with the sign of y (nan for y = 0)"
         "\ty != 0\td/dx = 1; d/dy = -floor(x/y) (at the jumps too)")]


def test_csv_and_table():
    result = run("--format", "csv")
    lines = result.stdout.splitlines()
    assert lines[0] == "name,arguments,description,domain,derivative"
    assert len(lines) == 1 + len(language_functions())
    table = run("erf", "--format", "table").stdout
    assert "erf(x)" in table and "2/sqrt(pi)*exp(-x**2)" in table
    table = CliRunner(env={"COLUMNS": "80"}).invoke(cli, ["functions", "--format", "table"]).stdout
    assert max(len(line) for line in table.splitlines()) <= 80
    assert "within [lo," in table.replace("\n", " ")           # text, not rich markup
    assert table.count("┏") == len({f.group for f in catalogue()})  # one table per group


def test_the_list_is_the_catalogue_of_the_docs_page():
    result = run("--format", "plain")
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == \
        [f.signature for f in catalogue()]


def test_an_unknown_name_is_one_line_with_a_suggestion():
    result = run("ln")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "gradcli: error: no function named 'ln' (did you mean 'log'?)\n"
    result = run("lnn")
    assert (result.exit_code, result.stderr) == (2, "gradcli: error: no function named 'lnn'\n")
    result = run("tau")   # not 'did you mean tan?': it is a constant of the language
    assert (result.exit_code, result.stderr) == (
        2, "gradcli: error: 'tau' is a constant (6.283185307179586), not a function\n")


def test_help_names_the_constants_and_operators():
    result = run("--help")
    assert result.exit_code == 0
    assert "pi, e and tau" in result.stdout and "gradcli functions gamma erf" in result.stdout
    top = " ".join(CliRunner().invoke(cli, ["--help"]).stdout.split())   # gradcli --help
    assert "the constants pi, e and tau, the operators + - * / ** (^ is **)" in top
    assert "`gradcli functions` lists" in top
