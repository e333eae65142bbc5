"""Issue 23's remaining edges, each as a user meets it: huge powers at order 2, nan inside
min/max under minimize, check's reference with worker-like variable names, CR line breaks
inside one argument, --wrt on a constant expression, and a byte-order mark on stdin points.

Where the shell matters (``$(...)`` of a CR-only file, stdin bytes, exit statuses) the
command runs in a real process; the rest through click's CliRunner."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import mpmath
import pytest

GRADCLI = [sys.executable, "-m", "gradcli"]


def run(*args, input=None, timeout=120):
    """(exit status, stdout, stderr) of ``gradcli args`` in a real process."""
    proc = subprocess.run(GRADCLI + [str(a) for a in args], input=input, capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


# -- a huge power at order 2: inf with a warning, as grad says -----------------------------------
@pytest.mark.slow
def test_a_huge_power_at_order_2_is_inf_with_a_warning_as_grad_says():
    """diff "x^416686.15" --at 2.89 --order 2 gave ["inf","nan","nan"] where grad gives inf.
    Exact: 2.89**416686.15 ~ 10**192,000, and every derivative is larger still."""
    assert mpmath.log10(mpmath.mpf("2.89") ** mpmath.mpf("416686.15")) > 190_000
    code, out, err = run("diff", "x^416686.15", "--at", "2.89", "--order", "2", "--format",
                         "json")
    record = json.loads(out)
    assert code == 0 and record["derivatives"] == ["inf", "inf", "inf"], (out, err)
    assert record["value"] == "inf" and "beyond the float64 range" in err
    code, out, err = run("grad", "x^416686.15", "--at", "2.89", "--format", "plain")
    assert (code, out) == (0, "inf\n") and "is inf at x=2.89" in err


@pytest.mark.slow
def test_fast_diff_of_a_huge_power_never_prints_nan_without_a_word():
    code, out, err = run("diff", "x^416686.15", "--at", "2.89", "--order", "2", "--fast",
                         "--format", "json")
    record = json.loads(out)
    assert code == 0 and record["derivatives"][:2] == ["inf", "inf"]
    if "nan" in out:  # --fast skips the refinement: what it cannot vouch for is said
        assert "--fast" in err and "correct digits" in err, err


# -- minimize: nan inside min/max is not a minimum ------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("text, origin", [("min(asin(2), (x-3)**2)", "asin(2.0) is nan"),
                                          ("max(log(2-3), (x-3)**2)", "log(-1.0) is nan"),
                                          ("max((x-3)**2, log(2-3))", "log(-1.0) is nan")])
@pytest.mark.parametrize("opt", ["lbfgs", "adam"])
def test_minimize_reports_a_nan_objective_instead_of_converging(text, origin, opt):
    """The fast float path's min/max dropped the nan: minimize converged to x = 3, exit 0,
    where eval says the objective is nan everywhere. Now: diverged at the start, exit 1,
    naming the domain error (not 'is the function bounded below?')."""
    code, out, err = run("eval", text, "--at", "x=3")
    assert (code, out) == (0, "nan\n") and "nan" in err
    code, out, err = run("minimize", text, "--from", "x=1", "--opt", opt)
    assert (code, out) == (1, "x=1.0\n"), (out, err)
    assert err == (f"gradcli: {opt} diverged at step 0: the value is not finite: {origin} at "
                   "x=1.0 (try --bounds or another --from)\n")


@pytest.mark.parametrize("opt", ["lbfgs", "bfgs"])
def test_a_line_search_that_steps_out_of_the_domain_diverges_not_crashes(gradcli, opt):
    """minimize "log(x)" --from 1: the strong-Wolfe search accepted x = -4.505, where the
    value is nan but the gradient finite, and then read index 1 of its one-point bracket
    (torch's comparison, False for nan): an IndexError, 'internal error', exit 70."""
    result = gradcli("minimize", "log(x)", "--from", "1", "--opt", opt)
    assert (result.exit_code, result.stdout) == (1, "x=-4.505\n"), result.stderr
    assert result.stderr == (f"gradcli: {opt} diverged at step 1: the value is not finite: "
                             "log(-4.505) is nan at x=-4.505 (try --bounds or another --from)\n")


# -- check: a variable named as a name of the reference's worker ---------------------------------
def _exact_derivatives(order: int, at: str) -> list:
    """tanh^5(0.7 x) and its derivatives at ``at``, by mpmath at 60 digits."""
    with mpmath.workdps(60):
        def f(x):
            y = mpmath.mpf("0.7") * x
            for _ in range(5):
                y = mpmath.tanh(y)
            return y
        return [float(d) for d in mpmath.diffs(f, mpmath.mpf(at), order)]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mpf", "mp", "mpmath", "mpc", "sympy", "Dummy", "x"])
def test_check_really_compares_a_variable_named_as_the_workers_names(gradcli, monkeypatch,
                                                                       name):
    """check on a variable named mpf reported orders 6..10 'singular' and ok, exit 0:
    nothing was compared (the mpmath code SymPy prints calls mpf(...), and the user's mpf
    shadowed it). SymPy's share of --timeout is set to 0 here, so that mpmath, whose names
    could collide, is the reference of every order (on its own that happens when SymPy runs
    out of time, after a number of orders that depends on the machine)."""
    from gradcli.check import reference

    monkeypatch.setattr(reference, "SYMPY_SHARE", 0.0)
    text = f"tanh(tanh(tanh(tanh(tanh(0.7*{name})))))"
    result = gradcli("check", text, "--at", "0.3", "--order", "10", "--timeout", "60",
                     "--reference", "sympy", "--format", "json")
    record = json.loads(result.stdout)
    assert result.exit_code == 0 and record["ok"], (result.stdout, result.stderr)
    assert record["reference"] == ["mpmath"] * 11, record["reference"]
    assert "singular" not in result.stderr, result.stderr
    exact = _exact_derivatives(10, "0.3")
    for k in range(11):
        assert math.isclose(record["sympy"][k], exact[k], rel_tol=1e-12), (k, record)


# -- a line break inside one argument --------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("shell, column, token", [
    ('gradcli eval "$(printf \'1\\r2\\r\')"', 3, "'2'"),  # a CR-only file, read by $(...)
    ('gradcli eval x --at "$(printf \'1\\r2\')"', 3, "'2'"),
    ('gradcli eval "$(printf \'sin(x)\\ncos(x)\')" --at 1', 8, "'cos'"),
    ('gradcli eval "$(printf \'x\\r(1)\')" --at 1', 1, "'('"),
])
def test_a_line_break_inside_an_argument_is_named_not_taken_for_a_product(shell, column, token):
    """printf '1\\r2' (the lines of a CR-only file read by $(...)) got the hint 'write 1*2
    to multiply'; the error now says that a line break comes before the token."""
    command = shell.replace("gradcli", f"{sys.executable} -m gradcli", 1)
    proc = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60)
    first = proc.stderr.splitlines()[0]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"at column {column} ({token} follows a line break: give one expression or point " \
           "per argument, or one per line on stdin with '-')" in first, first
    assert "to multiply" not in first


def test_the_product_hint_stays_where_a_space_separates_the_tokens(gradcli):
    result = gradcli("eval", "1 2")
    assert result.exit_code == 2 and "(write 1*2 to multiply)" in result.stderr
    result = gradcli("eval", "a (1)")
    assert result.exit_code == 2 and "(write a*(...) to multiply)" in result.stderr


# -- --wrt on a constant expression ----------------------------------------------------------------
@pytest.mark.parametrize("at", ["1", "x=1"])
@pytest.mark.parametrize("command, key, want", [
    ("diff", "derivatives", [2 * math.pi, 0.0, 0.0]),
    ("taylor", "coefficients", [2 * math.pi, 0.0, 0.0]),
    ("check", "gradcli", [2 * math.pi, 0.0, 0.0]),
])
def test_wrt_on_a_constant_expression_gives_zeros_in_every_command(gradcli, command, key, want,
                                                                     at):
    """diff and grad took `--wrt x --at x=1` on 2*pi, check and taylor refused the point
    ('the expression has no variables: leave out --at'), and `--at 1` was refused by all:
    the --wrt variable is the one a bare value names; its derivatives are 0."""
    result = gradcli(command, "2*pi", "--wrt", "x", "--at", at, "--order", "2",
                     "--format", "json")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record[key] == want and record["point"] == {"x": 1.0}
    if command == "check":
        assert record["ok"] and record["sympy"] == want


def test_grad_wrt_on_a_constant_takes_a_bare_value_for_its_one_variable(gradcli):
    result = gradcli("grad", "2*pi", "--wrt", "x", "--at", "1", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["gradient"] == [0.0]
    result = gradcli("grad", "2*pi", "--wrt", "x,y", "--at", "1")  # which one? still asked
    assert result.exit_code == 2 and "no variables" in result.stderr


def test_wrt_a_variable_a_non_constant_expression_lacks_is_still_refused_by_check(gradcli):
    for command in ("check", "taylor"):
        result = gradcli(command, "x*y", "--wrt", "z", "--at", "x=1,y=2,z=3")
        assert result.exit_code == 2
        assert result.stderr == ("gradcli: error: --wrt z: the expression has no variable 'z' "
                                 "(its variables: x, y)\n")


# -- a byte-order mark on stdin points, through a real pipe ------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("args, want", [
    (["diff", "x**3", "--at", "-"], "3.0\n12.0\n"),
    (["grad", "x**3", "--at", "-"], "3.0\n12.0\n"),
    (["check", "x**3", "--at", "-"], "ok 0.0\nok 0.0\n"),
])
def test_a_utf8_bom_before_the_first_stdin_point_is_read(args, want):
    """Line 1 of a file saved with a byte-order mark was rejected (fit's reader stripped it)."""
    proc = subprocess.run(GRADCLI + args, input="\ufeff1\r\n2\r\n".encode(), capture_output=True,
                          timeout=60)
    assert (proc.returncode, proc.stdout.decode(), proc.stderr.decode()) == (0, want, "")


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="a POSIX shell pipeline")
def test_a_cr_only_csv_file_is_fit_from_a_file_and_a_pipe(tmp_path):
    path = tmp_path / "cr.csv"
    path.write_bytes(b"x,y\r" + b"".join(b"%d,%d\r" % (i, 2 * i + 1) for i in range(20)))
    for source in (["--data", str(path)], ["--data", "-"]):
        proc = subprocess.run(GRADCLI + ["fit", "a*x+b", "--target", "y", "--format", "plain",
                                         *source], stdin=open(path, "rb"), capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        a, b = (float(p.split("=")[1]) for p in proc.stdout.strip().split(","))
        assert a == pytest.approx(2.0, abs=1e-9) and b == pytest.approx(1.0, abs=1e-9)


# -- digits of other scripts: the CSV cells' words everywhere ---------------------------------------
@pytest.mark.parametrize("args, stdin", [
    (["eval", "x", "--at", "x=\uff11\uff12"], None),             # fullwidth, in --at
    (["eval", "x", "--at", "-"], "\uff11\uff12\n"),              # a stdin point
    (["eval", "x+\u0661\u0662", "--at", "1"], None),             # Arabic-Indic, in EXPR
    (["minimize", "(x-1)**2", "--from", "x=\uff11\uff12"], None),
])
def test_digits_of_other_scripts_are_named_as_in_csv_cells(gradcli, args, stdin):
    """`1_000` and fullwidth digits: a CSV cell said 'digits are ASCII 0-9', --at only
    'unexpected character'; both are errors with the same reason now."""
    result = gradcli(*args, input=stdin)
    assert result.exit_code == 2
    assert "(digits are ASCII 0-9: write 12)" in result.stderr.splitlines()[0], result.stderr


# -- long Taylor work is announced by check too ------------------------------------------------------
@pytest.mark.slow
def test_check_announces_long_taylor_work_before_it_starts():
    """diff and taylor said 'order 2000 over 4,000 nodes takes about 48 s a point' first;
    check, which computes the same derivatives (and a reference besides), said nothing."""
    text = "+".join(f"sin({i}*x)" for i in range(1, 1001))
    proc = subprocess.Popen(GRADCLI + ["check", text, "--at", "0.5", "--order", "2000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()  # said before the work, not after it
    finally:
        proc.kill()
        proc.communicate()
    assert "order 2000 over 4,0" in first and "takes about" in first and "--order" in first, first
