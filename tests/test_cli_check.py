"""``gradcli check`` on the command line: stdout, stderr and exit status, each asserted."""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gradcli.registry import OPS

from .test_check import POLY, SPEC_FIELDS, broken


@pytest.fixture
def gradcli():
    """conftest's runner with a 200-column terminal: check's 8-column table then keeps its
    rows (at 80 and 100 columns it is drawn on its side: tests/test_cli_widths.py)."""
    from click.testing import CliRunner

    from gradcli.cli import cli

    from .conftest import TABLE_ENV

    def run(*args, input=None):
        return CliRunner(env={**TABLE_ENV, "COLUMNS": "200"}).invoke(
            cli, list(args), input=input, prog_name="gradcli")

    return run

README = Path(__file__).resolve().parent.parent / "README.md"


def test_json_line_has_exactly_the_spec_fields(gradcli):
    result = gradcli("check", POLY, "--at", "0", "--order", "5", "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout == (
        '{"expr": "x**4+2*x**3-3*x**2+4*x-5", "point": {"x": 0.0}, "wrt": "x", "order": 5, '
        '"gradcli": [-5.0, 4.0, -6.0, 12.0, 24.0, 0.0], "sympy": [-5.0, 4.0, -6.0, 12.0, 24.0, '
        '0.0], "finite_difference": [-5.0, 4.000000000000017, -6.000000000000396, '
        '11.999999999992632, 23.99999999997858, 0.0], "max_rel_error": 0.0, "ok": true, '
        '"interrupted": false, "reference": ["arb", "arb", "arb", "arb", "arb", "arb"]}\n')
    assert list(json.loads(result.stdout)) == SPEC_FIELDS


def test_symbolic_json_adds_the_formulas(gradcli):
    result = gradcli("check", "x**3*y", "--at", "x=2,y=5", "--wrt", "x", "--order", "3",
                     "--symbolic", "--format", "json")
    record = json.loads(result.stdout)
    assert result.exit_code == 0 and result.stderr == ""
    assert list(record) == SPEC_FIELDS + ["symbolic"]
    assert record["symbolic"] == ["5*x**3", "15*x**2", "30*x", "30"]
    assert record["sympy"] == record["gradcli"] == [40.0, 60.0, 60.0, 30.0]


def test_plain_is_one_verdict_line_per_point(gradcli):
    result = gradcli("check", "x**3", "--at", "1", "--at", "2", "--order", "3",
                     "--format", "plain")
    assert (result.stdout, result.stderr, result.exit_code) == ("ok 0.0\nok 0.0\n", "", 0)


def test_csv_is_one_row_per_order(gradcli):
    result = gradcli("check", "x**3", "--at", "2", "--order", "3", "--format", "csv")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == ("expr,x,wrt,order,gradcli,sympy,reference,finite_difference,"
                        "finite_difference_error,relative_error,status")
    assert [line.split(",")[3:6] for line in lines[1:]] == [
        ["0", "8.0", "8.0"], ["1", "12.0", "12.0"], ["2", "12.0", "12.0"], ["3", "6.0", "6.0"]]
    assert all(line.split(",")[6] == "arb" for line in lines[1:])
    assert [line.rsplit(",", 1)[1] for line in lines[1:]] == ["ok"] * 4


def test_table_has_a_row_per_order_a_title_and_the_summary(gradcli):
    result = gradcli("check", "sin(x)", "--at", "0.5", "--order", "2", "--format", "table")
    assert result.exit_code == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].rstrip() == "check sin(x) at x=0.5 (along x)"
    header = next(line for line in lines if "order" in line and "gradcli" in line)
    for heading in ("reference", "by", "finite difference", "± (fd)", "relative error"):
        assert heading in header
    rows = [line for line in lines if re.match(r"│\s+\d+ │", line)]
    assert [row.split("│")[1].strip() for row in rows] == ["0", "1", "2"]
    assert all("✓" in row and "arb" in row for row in rows)
    assert "0.4794255386" in rows[0] and "0.8775825619" in rows[1]  # 10 digits in tables
    assert re.fullmatch(r"ok: 3 orders agree within rtol=1e-09, atol=1e-12 "
                        r"\(max relative error [0-9.e-]+\)", lines[-1])


def test_symbolic_formulas_are_text_under_the_table(gradcli):
    result = gradcli("check", "x**3", "--at", "2", "--order", "1", "--symbolic",
                     "--format", "table")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    i = lines.index("SymPy's derivatives along x:")
    assert lines[i + 1:i + 3] == ["  order 0: x**3", "  order 1: 3*x**2"]


def test_broken_rule_exits_1_after_writing_the_mismatch(gradcli, monkeypatch):
    monkeypatch.setitem(OPS, "sin", broken("sin"))   # (its ball rule too: SymPy refers)
    result = gradcli("check", "sin(x)*x", "--at", "0.5", "--order", "2", "--reference",
                     "sympy", "--format", "plain")
    assert result.exit_code == 1 and result.stderr == ""
    assert re.fullmatch(r"mismatch [0-9.e-]+ \(orders 1, 2 differ\)\n", result.stdout)
    table = gradcli("check", "sin(x)*x", "--at", "0.5", "--order", "2", "--reference", "sympy",
                    "--format", "table")
    assert table.exit_code == 1
    assert table.stdout.count("✗ mismatch") == 2
    assert table.stdout.splitlines()[-1].startswith("mismatch: orders 1, 2 differ beyond rtol=")


def test_tolerance_zero_turns_rounding_into_a_mismatch(gradcli):
    args = ["check", "exp(sin(x))/(1+x**2)", "--at", "0.7", "--order", "4", "--format", "json"]
    assert gradcli(*args).exit_code == 0
    strict = gradcli(*args, "--rtol", "0", "--atol", "0")
    assert strict.exit_code == 1 and json.loads(strict.stdout)["ok"] is False


def test_arb_reference_at_sqrts_kink_follows_spec_4(gradcli):
    # ball arithmetic at x = 0 exactly: sqrt'(0) = +inf by SPEC 4's one-sided limit, agreed
    result = gradcli("check", "sqrt(x)", "--at", "0", "--order", "2", "--format", "json")
    record = json.loads(result.stdout)
    assert result.exit_code == 0 and record["sympy"] == [0.0, "inf", "-inf"] and record["ok"]


def test_singular_point_is_reported_and_not_a_failure(gradcli):
    result = gradcli("check", "sqrt(x)", "--at", "0", "--order", "1", "--reference", "sympy",
                     "--format", "plain")
    assert result.exit_code == 0
    assert result.stdout == "ok 0.0 (order 1 singular)\n"
    assert result.stderr == ("gradcli: warning: sqrt(x) at x=0.0: the reference is singular, "
                             "not compared (order 1: sympy gives zoo, gradcli inf)\n")
    table = gradcli("check", "sqrt(x)", "--at", "0", "--order", "1", "--reference", "sympy",
                    "--format", "table")
    assert "singular (zoo)" in table.stdout
    assert "singular reference at order 1, not compared" in table.stdout.splitlines()[-1]


def test_timeout_path_names_mpmath_per_order(gradcli):
    result = gradcli("check", "tanh(tanh(tanh(x)))", "--at", "0.7", "--order", "8",
                     "--timeout", "0.3", "--reference", "sympy", "--format", "table")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if re.match(r"│\s+\d+ │", line)]
    assert len(rows) == 9 and "mpmath" in rows[-1] and all("✓" in row for row in rows)
    assert "mpmath is the reference for order" in result.stdout.splitlines()[-1]
    assert "--timeout 0.3 s" in result.stdout


def test_orders_above_the_finite_difference_cap_are_nan_with_a_note(gradcli):
    result = gradcli("check", "x", "--at", "1", "--order", "1030", "--format", "json")
    assert (result.exit_code, result.stderr) == (0, "")
    record = json.loads(result.stdout)
    assert record["finite_difference"][:2] == pytest.approx([1.0, 1.0], rel=1e-12)
    assert record["finite_difference"][21:] == ["nan"] * 1010 and record["ok"] is True
    assert record["gradcli"][2:] == record["sympy"][2:] == [0.0] * 1029
    table = gradcli("check", "x**2", "--at", "1", "--order", "21", "--format", "table")
    assert re.search(r"│\s+21 │.*│\s+nan │\s+nan │", table.stdout)
    assert table.stdout.splitlines()[-1].endswith(
        "; finite differences only up to order 20 (nan above: float64 rounding makes them "
        "meaningless there)")


def test_orders_without_a_reference_are_reported_not_checked(gradcli):
    args = ["check", "x**3", "--at", "2", "--order", "2", "--timeout", "0", "--reference", "sympy"]
    warning = ("gradcli: warning: x**3 at x=2.0: no reference within --timeout 0.0 s for "
               "orders 0..2: not checked\n")
    plain = gradcli(*args, "--format", "plain")
    assert (plain.exit_code, plain.stdout, plain.stderr) == (
        0, "ok nan (orders 0..2 not checked)\n", warning)
    record = json.loads(gradcli(*args, "--format", "json").stdout)
    assert record["reference"] == ["none"] * 3 and record["sympy"] == ["nan"] * 3
    assert record["ok"] is True and record["max_rel_error"] == "nan"
    rows = gradcli(*args, "--format", "csv").stdout.splitlines()
    assert rows[1] == "x**3,2.0,x,0,8.0,nan,none,8.0,0.0,nan,unchecked"
    table = gradcli(*args, "--format", "table").stdout.splitlines()
    assert "not checked" in table[-3] and "│ none " in table[-3]  # order 2's row
    assert table[-1] == ("ok: 0 orders agree within rtol=1e-09, atol=1e-12; no reference for "
                         "orders 0..2 within --timeout 0.0 s: not checked")


@pytest.mark.slow
def test_a_small_timeout_bounds_the_whole_check_of_a_deep_expression():
    """200 nested sines: SymPy takes ~8 s for order 1 and mpmath over a minute for orders up
    to 100; with --timeout 1 the references end after 1 s (the process needs ~1 s more to
    start, load SymPy and compute gradcli's own derivatives)."""
    deep = "sin(" * 200 + "x" + ")" * 200
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "gradcli", "check", deep, "--at", "1",
                             "--order", "100", "--timeout", "1", "--reference", "sympy",
                             "--format", "json"],
                            capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - start
    assert result.returncode == 0 and elapsed < 4.0, (elapsed, result.stderr)
    record = json.loads(result.stdout)
    assert record["reference"][-1] == "none" and record["ok"] is True
    assert result.stderr.startswith("gradcli: warning: sin(sin(")
    assert result.stderr.endswith(": not checked\n") and "--timeout 1.0 s" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["x*y", "--at", "x=1,y=2"], "gradcli: error: the expression has several variables "
                                  "(x, y): choose one with --wrt\n"),
    (["x", "--at", "nan"], "gradcli: error: --at 'nan': check needs a finite point: x=nan "
                           "(SymPy and finite differences cannot evaluate there)\n"),
    (["x", "--at", "1", "--wrt", "y"], "gradcli: error: --wrt y: the expression has no "
                                       "variable 'y' (its variables: x)\n"),
    (["x", "--at", "1", "--order", "-1"], "gradcli: error: invalid value for '--order' / '-n': "
                                          "must be a non-negative integer, got '-1' "
                                          "(see 'gradcli check --help')\n"),
    (["x", "--at", "1", "--rtol", "-1"], None),
    (["x", "--at", "1", "--rtol", "nan"], "gradcli: error: invalid value for '--rtol': must be "
                                          "a number >= 0, got 'nan' (see 'gradcli check "
                                          "--help')\n"),
    (["x", "--at", "1", "--atol", "NaN"], "gradcli: error: invalid value for '--atol': must be "
                                          "a number >= 0, got 'NaN' (see 'gradcli check "
                                          "--help')\n"),
    (["x", "--at", "1", "--timeout", "nan"], "gradcli: error: invalid value for '--timeout': "
                                             "must be a number >= 0, got 'nan' (see 'gradcli "
                                             "check --help')\n"),
    (["x", "--at", "1", "--at", "2", "--timeout", "-0.5"], "gradcli: error: invalid value for "
                                                           "'--timeout': must be a number >= "
                                                           "0, got '-0.5' (see 'gradcli check "
                                                           "--help')\n"),
    (["x", "--at", "1", "--timeout", "soon"], None),
    (["sinn(x)", "--at", "1"], None),
])
def test_bad_input_exits_2_with_one_message(gradcli, args, message):
    result = gradcli("check", *args, "--format", "plain")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("gradcli: error: ") and "Traceback" not in result.stderr
    if message is not None:
        assert result.stderr == message


def test_a_bad_point_among_good_ones_exits_2_after_the_rest(gradcli):
    result = gradcli("check", "x**2", "--at", "1", "--at", "nan", "--at", "2",
                     "--format", "plain")
    assert result.exit_code == 2
    assert result.stdout == "ok 0.0\nok 0.0\n"
    assert result.stderr == ("gradcli: error: --at 'nan': check needs a finite point: x=nan "
                             "(SymPy and finite differences cannot evaluate there)\n")


def test_expressions_from_stdin(gradcli):
    result = gradcli("check", "-", "--at", "1", "--order", "2", "--format", "plain",
                     input="x**2\n# a comment\n\nexp(x)\n")
    assert result.exit_code == 0 and result.stdout.splitlines()[0] == "ok 0.0"
    assert len(result.stdout.splitlines()) == 2


def test_points_from_stdin(gradcli):
    result = gradcli("check", "x**2", "--at", "-", "--format", "plain", input="1\n2\n")
    assert (result.stdout, result.stderr, result.exit_code) == ("ok 0.0\nok 0.0\n", "", 0)


def test_csv_variable_named_like_a_column_is_prefixed(gradcli):
    result = gradcli("check", "order*x", "--at", "order=2,x=3", "--wrt", "x", "--format", "csv")
    assert result.stdout.splitlines()[:2] == [
        "expr,point[order],x,wrt,order,gradcli,sympy,reference,finite_difference,"
        "finite_difference_error,relative_error,status",
        "order*x,2.0,3.0,x,0,6.0,6.0,arb,6.0,0.0,0.0,ok"]


def test_symbolic_table_marks_orders_sympy_did_not_reach(gradcli):
    result = gradcli("check", "tanh(tanh(tanh(x)))", "--at", "0.7", "--order", "8",
                     "--timeout", "0.2", "--symbolic", "--format", "table")
    assert result.exit_code == 0
    assert "(SymPy ran out of time)" in result.stdout


def _sympy_interrupted_at(monkeypatch, call: int, after: int) -> None:
    """In this process (no fork), SymPy's ``call``-th point (1, 2, ...) is interrupted after
    ``after`` orders, as a Ctrl-C or SIGTERM in the middle of its references would be."""
    from gradcli.check import reference

    real, calls = getattr(reference.sympy_orders, "real", reference.sympy_orders), []

    def sympy_orders(*args, **kwargs):
        calls.append(1)
        for k, message in enumerate(real(*args, **kwargs)):
            if len(calls) == call and k == after:
                raise KeyboardInterrupt
            yield message

    sympy_orders.real = real
    monkeypatch.delattr(os, "fork", raising=False)  # (gone already on a second call)
    monkeypatch.setattr(reference, "sympy_orders", sympy_orders)


def test_an_interrupted_point_writes_the_orders_done(gradcli, monkeypatch):
    """issue 20: Ctrl-C while a point's reference works writes the orders already checked,
    JSON with "interrupted": true; the points before it are written whole; exit 130."""
    import mpmath

    _sympy_interrupted_at(monkeypatch, call=2, after=3)
    result = gradcli("check", "sin(x)*exp(x)", "--at", "-", "--order", "5", "--reference",
                     "sympy", "--format", "json", input="0.3\n0.5\n0.7\n")
    assert result.exit_code == 130 and result.stderr == "gradcli: interrupted\n"
    first, second = [json.loads(line) for line in result.stdout.splitlines()]
    assert (first["interrupted"], first["reference"]) == (False, ["sympy"] * 6)
    assert second["point"] == {"x": 0.5} and second["interrupted"] is True
    assert second["reference"] == ["sympy"] * 3 + ["none"] * 3 and second["ok"] is True
    for k in range(3):  # (e^x sin x)^(k) = 2^(k/2) e^x sin(x + k pi/4)
        exact = mpmath.sqrt(2) ** k * mpmath.exp(0.5) * mpmath.sin(0.5 + k * mpmath.pi / 4)
        assert second["sympy"][k] == pytest.approx(float(exact), rel=1e-15)
    assert second["sympy"][3:] == ["nan"] * 3  # no reference (JSON's non-finite strings)


def test_an_interrupted_point_in_table_and_plain_says_which_orders_were_not_checked(
        gradcli, monkeypatch):
    _sympy_interrupted_at(monkeypatch, call=1, after=2)
    plain = gradcli("check", "sin(x)*exp(x)", "--at", "0.3", "--order", "4", "--reference",
                    "sympy", "--format", "plain")
    assert plain.exit_code == 130
    assert re.fullmatch(r"ok \S+ \(orders 2\.\.4 not checked: interrupted\)\n", plain.stdout)
    _sympy_interrupted_at(monkeypatch, call=1, after=2)
    table = gradcli("check", "sin(x)*exp(x)", "--at", "0.3", "--order", "4", "--reference",
                    "sympy", "--format", "table")
    assert table.exit_code == 130
    assert table.stdout.count("not checked") == 3 + 1  # three rows and the summary
    assert table.stdout.rstrip().endswith(
        "ok: 2 orders agree within rtol=1e-09, atol=1e-12 (max relative error 0); interrupted "
        "before the reference of orders 2..4: not checked")


def test_help_shows_examples(gradcli):
    result = gradcli("check", "--help")
    assert result.exit_code == 0 and 'gradcli check "x**4+2*x**3' in result.stdout
    assert "--timeout" in result.stdout and "--symbolic" in result.stdout


@pytest.mark.slow
def test_real_subprocess_run():
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, "-m", "gradcli", "check", "x**4+2*x**3-3*x**2+4*x-5",
                             "--at", "0", "--order", "5", "--format", "json"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0 and result.stderr == ""
    record = json.loads(result.stdout)
    assert record["gradcli"][3:] == [12.0, 24.0, 0.0] and record["ok"] is True


def _readme_transcripts():
    from .test_cli_readme import section, transcripts

    return transcripts(section("check"))


def test_readme_check_section_has_transcripts():
    assert len(_readme_transcripts()) >= 3


EXIT_ECHO = '; echo "exit status $?"'


@pytest.mark.parametrize("command, output", _readme_transcripts())
def test_readme_check_transcript_is_the_real_output(gradcli, command, output):
    """Each transcript, run in-process (stderr and stdout in the order written; a trailing
    ``; echo "exit status $?"`` prints the exit status), gives the text the README shows."""
    echo_status = command.endswith(EXIT_ECHO)
    words = shlex.split(command.removesuffix(EXIT_ECHO))
    assert words[0] == "gradcli"
    result = gradcli(*words[1:])
    lines = [line.rstrip() for line in result.output.splitlines()]
    if echo_status:
        lines.append(f"exit status {result.exit_code}")
    else:
        assert result.exit_code == 0
    assert lines == output.splitlines()


@pytest.mark.skipif(os.name != "posix" or shutil.which("pgrep") is None,
                    reason="needs process groups and pgrep")
@pytest.mark.slow
def test_ctrl_c_while_sympy_works_exits_130_and_leaves_no_worker():
    """Ctrl-C (SIGINT to the process group) during SymPy's work: exit 130 at once, and the
    forked SymPy worker is gone too."""
    command = [sys.executable, "-m", "gradcli", "check", "tanh(tanh(tanh(x)))", "--at", "0.7",
               "--order", "9", "--reference", "sympy", "--format", "plain"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        workers = _workers_of(process)
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert (process.returncode, err) == (130, "gradcli: interrupted\n")
    # the orders SymPy finished before the signal (none, or a few) and the rest named
    assert re.fullmatch(r"ok \S+ \(orders? (\d+\.\.)?9 not checked: interrupted\)\n", out)
    assert not any(_alive(pid) for pid in workers)


def _workers_of(process) -> list[str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        found = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True,
                               text=True).stdout.split()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("the SymPy worker never started")


def _alive(pid: str) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "zombie" not in status
