"""fit --opt lm (training/lm.py, training/api.py): Levenberg-Marquardt against scipy's curve_fit.

The oracle is ``scipy.optimize.curve_fit`` (MINPACK's lmder with a hand-written Jacobian,
``absolute_sigma=False``): the parameters, standard errors and covariance must agree.
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import curve_fit

import gradcli as gc
from gradcli.errors import GradcliError
from gradcli.training.dataset import read_csv

ROOT = Path(__file__).resolve().parent.parent
DECAY = str(ROOT / "samples" / "exponential_decay.csv")


def decay_oracle():
    data = read_csv(DECAY)
    t, y = data.data["t"], data.data["y"]

    def f(t, a, k):
        return a * np.exp(-k * t)

    def jac(t, a, k):
        e = np.exp(-k * t)
        return np.stack([e, -a * t * e], axis=1)

    p, cov = curve_fit(f, t, y, p0=[1.0, 1.0], jac=jac, ftol=1e-15, xtol=1e-15, gtol=1e-15)
    return p, cov, float(np.sum((f(t, *p) - y) ** 2)), len(t)


def test_values_stderr_and_covariance_are_curve_fits():
    p, cov, rss, n = decay_oracle()
    result = gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 1})
    assert result.opt == "lm" and result.converged and result.params == ["a", "k"]
    np.testing.assert_allclose(result.estimate, p, rtol=1e-10)
    np.testing.assert_allclose(result.covariance, cov, rtol=1e-7)
    np.testing.assert_allclose(result.stderr, np.sqrt(np.diag(cov)), rtol=1e-7)
    assert result.rss == pytest.approx(rss, rel=1e-12) and result.dof == n - 2
    assert result.loss == pytest.approx(rss / n, rel=1e-12)


def test_cli_json_has_the_statistics(gradcli):
    p, cov, rss, n = decay_oracle()
    out = gradcli("fit", "a*exp(-k*t)", "--data", DECAY, "--target", "y", "--init", "a=1,k=1",
                  "--format", "json")
    assert (out.exit_code, out.stderr) == (0, "")
    record = json.loads(out.stdout)
    for key in ("model", "opt", "params", "loss", "r2", "epochs", "converged", "stderr",
                "covariance", "rss", "dof", "iterations", "evaluations", "stuck", "history"):
        assert key in record, key
    assert record["opt"] == "lm" and record["converged"] is True and record["stuck"] == []
    assert [record["params"]["a"], record["params"]["k"]] == pytest.approx(list(p), rel=1e-10)
    assert [record["stderr"]["a"], record["stderr"]["k"]] == pytest.approx(
        list(np.sqrt(np.diag(cov))), rel=1e-7)
    np.testing.assert_allclose(record["covariance"], cov, rtol=1e-7)
    assert record["dof"] == n - 2 and record["rss"] == pytest.approx(rss, rel=1e-12)
    assert record["iterations"] == record["epochs"] == record["history"][-1]["epoch"] >= 3
    every = gradcli("fit", "a*exp(-k*t)", "--data", DECAY, "--target", "y", "--init",
                    "a=1,k=1", "--format", "json", "--every", "1")
    history = json.loads(every.stdout)["history"]
    assert [h["epoch"] for h in history] == list(range(record["iterations"] + 1))
    losses = [h["loss"] for h in history]
    assert losses == sorted(losses, reverse=True)  # each iteration an accepted step


def test_table_shows_value_plus_minus_stderr(gradcli):
    out = gradcli("fit", "a*exp(-k*t)", "--data", DECAY, "--target", "y", "--init", "a=1,k=1",
                  "--format", "table")
    result = gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 1})
    lines = out.stdout.splitlines()
    assert "a*exp(-k*t) fitted to y: lm (Levenberg-Marquardt)" in lines[0]
    a, k = map(float, result.estimate)
    sa, sk = map(float, result.stderr)
    ten = "{:.10g}".format  # a table's digits, closing lines included
    assert f"a = {ten(a)} ± {ten(sa)}\n" in out.stdout and f"k = {ten(k)} ± {ten(sk)}\n" in out.stdout
    assert f"converged after {result.iterations} iterations" in out.stdout


def test_every_json_line_has_opt_and_converged(gradcli):
    out = gradcli("fit", "a*exp(-k*t)", "--data", DECAY, "--target", "y", "--init", "a=1,k=1",
                  "--opt", "lm,sgd,adam", "--lr", "0.01", "--epochs", "100", "--format", "json")
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["opt"], r["converged"]) for r in records] == [
        ("lm", True), ("sgd", False), ("adam", False)]
    assert "stderr" in records[0] and "stderr" not in records[1]


def sine_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 20, n)
    return {"x": x, "y": 3 * np.sin(0.5 * x) + 1 + rng.normal(0, 0.3, n)}


def test_a_symmetric_start_names_the_stuck_parameters(gradcli, tmp_path):
    """Issue 19: a*sin(b*x)+c from 0: the gradients along a and b are exactly 0 and stay 0."""
    data = sine_data()
    result = gc.fit("a*sin(b*x)+c", data, target="y")
    assert result.stuck == ["a", "b"] and result.values()["a"] == result.values()["b"] == 0.0
    assert result.values()["c"] == pytest.approx(np.mean(data["y"]), rel=1e-12)
    assert result.r2 < 0.5 and result.converged
    assert all(math.isnan(s) for s in result.stderr)  # no covariance from a singular J
    path = tmp_path / "sine.csv"
    path.write_text("x,y\n" + "".join(f"{float(a)!r},{float(b)!r}\n"
                                       for a, b in zip(data["x"], data["y"])))
    out = gradcli("fit", "a*sin(b*x)+c", "--data", str(path), "--target", "y", "--format", "json")
    assert out.exit_code == 0 and json.loads(out.stdout)["stuck"] == ["a", "b"]
    warnings = out.stderr.splitlines()
    assert warnings[0].startswith("gradcli: warning: lm: a, b never moved")
    assert warnings[1].startswith("gradcli: warning: lm converged, but R² = ")
    # a sensible start reaches curve_fit's answer
    good = gc.fit("a*sin(b*x)+c", data, target="y", init={"a": 2, "b": 0.4, "c": 0})
    p, cov = curve_fit(lambda x, a, b, c: a * np.sin(b * x) + c, data["x"], data["y"],
                       p0=[2, 0.4, 0])
    np.testing.assert_allclose(good.estimate, p, rtol=1e-7)
    np.testing.assert_allclose(good.stderr, np.sqrt(np.diag(cov)), rtol=1e-5)
    assert good.stuck == [] and good.r2 > 0.9


def test_stuck_parameters_of_gradient_methods(gradcli):
    result = gc.fit("a*sin(b*x)+c", sine_data(), target="y", opt="adam", lr=0.1, epochs=50)
    assert result.stuck == ["a", "b"] and result.opt == "adam"


@pytest.mark.parametrize("model, data, message", [
    ("a*b*x+c+0*(a+b)", {"x": [1, 2, 3, 4], "y": [1, 3, 2, 5]},
     "the parameters a, b are not identifiable: the Jacobian of the residuals is singular at "
     "the fit"),
    ("a*x+b+c", {"x": [1, 2, 3], "y": [1, 3, 2]},
     "the parameters b, c are not identifiable"),
    ("a*x**2+b*x+c", {"x": [1, 2], "y": [1, 3]},
     "the model has 3 parameters (a, b, c) but the data only 2 rows: a least-squares fit "
     "needs at least as many rows as parameters"),
    ("log(w*x)", {"x": [1, 2], "y": [1, 3]},
     "the model is -inf at data row 1 (x=1.0) with the starting parameters w=0.0: a residual "
     "must be finite (try another init)"),
    ("x+1", {"x": [1, 2], "y": [1, 3]}, "the model has no parameters"),
])
def test_bad_fits_are_errors_naming_what(model, data, message):
    init = {"a": 1, "b": 1} if "a*b" in model else None  # from 0 a and b would be stuck
    with pytest.raises(GradcliError) as error:
        gc.fit(model, data, target="y", init=init)
    assert message in str(error.value)


def test_cli_bad_fits_are_one_line_and_exit_2(gradcli):
    def run(model, stdin, *extra):
        out = gradcli("fit", model, "--data", "-", "--target", "y", *extra, input=stdin)
        return out.exit_code, out.stdout, out.stderr

    code, stdout, stderr = run("a*b*x+c", "x,y\n1,1\n2,3\n3,2\n4,5\n", "--init", "a=1,b=2")
    assert (code, stdout) == (2, "") and stderr.startswith(
        "gradcli: error: the parameters a, b are not identifiable") and stderr.count("\n") == 1
    code, stdout, stderr = run("log(w*x)", "x,y\n1,2\n2,3\n")
    assert (code, stdout, stderr) == (2, "", (
        "gradcli: error: the model is -inf at data row 1 (x=1.0) with the starting parameters "
        "w=0.0: a residual must be finite (try another --init)\n"))
    code, stdout, stderr = run("a*x**2+b*x+c", "x,y\n1,2\n2,3\n")
    assert code == 2 and "but the data only 2 rows" in stderr
    for extra, flag in ((("--lr", "0.1"), "--lr"), (("--batch-size", "2"), "--batch-size"),
                        (("--dtype", "float32"), "--dtype float32")):
        code, stdout, stderr = run("w*x", "x,y\n1,2\n2,3\n", *extra)
        assert (code, stderr) == (2, f"gradcli: error: {flag} does not apply to --opt lm "
                                     f"(Levenberg-Marquardt takes its own steps, over every "
                                     f"row, in float64)\n")


def test_library_errors_name_arguments_and_the_cli_its_flags(gradcli):
    data = {"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 6.1]}
    with pytest.raises(GradcliError, match=r"^init: the model has no parameter 'q'"):
        gc.fit("w*x", data, target="y", init={"q": 1})
    with pytest.raises(GradcliError, match=r"^batch_size must be a whole number >= 1, got 0"):
        gc.fit("w*x", data, target="y", opt="sgd", batch_size=0)
    with pytest.raises(GradcliError, match=r"^epochs must be a whole number >= 0, got -1"):
        gc.fit("w*x", data, target="y", opt="sgd", epochs=-1)
    with pytest.raises(GradcliError, match=r"^batch_size does not apply to lm"):
        gc.fit("w*x", data, target="y", batch_size=2)
    out = gradcli("fit", "w*x", "--data", "-", "--target", "y", "--init", "q=1",
                  input="x,y\n1,2\n2,4\n")
    assert out.stderr.startswith("gradcli: error: --init: the model has no parameter 'q'")


def test_a_trial_step_into_nan_is_refused_not_fatal():
    """log(x - c) from c = 0 with data of c = 0.5: a long step past x = 1 gives nan rows;
    MINPACK sees a huge residual there and shrinks its trust region."""
    x = np.linspace(1, 10, 30)
    result = gc.fit("log(x - c)", {"x": x, "y": np.log(x - 0.5)}, target="y", init={"c": -5})
    assert result.converged and result.values()["c"] == pytest.approx(0.5, rel=1e-10)


def test_more_rows_than_the_jacobian_dot_block():
    """100,000 rows of a 3-parameter model: the vectorized Jacobian, checked with curve_fit."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 4, 100_000)
    y = 2.5 * np.exp(-1.3 * x) + 0.7 + rng.normal(0, 0.05, x.size)
    result = gc.fit("a*exp(-k*x)+c", {"x": x, "y": y}, target="y",
                    init={"a": 1, "k": 1, "c": 0})
    p, cov = curve_fit(lambda x, a, c, k: a * np.exp(-k * x) + c, x, y, p0=[1, 0, 1])
    assert result.params == ["a", "c", "k"]  # sorted by name, as everywhere
    np.testing.assert_allclose(result.estimate, p, rtol=1e-7)
    np.testing.assert_allclose(result.stderr, np.sqrt(np.diag(cov)), rtol=1e-5)


@settings(max_examples=30, deadline=None)
@given(st.floats(-5, 5), st.floats(-5, 5), st.integers(3, 40), st.integers(0, 2**32 - 1))
def test_a_line_is_the_least_squares_solution(w, b, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, n)
    y = w * x + b + rng.normal(0, 0.5, n)
    result = gc.fit("w*x+b", {"x": x, "y": y}, target="y")
    design = np.stack([np.ones(n), x], axis=1)
    (b0, w0), *_ = np.linalg.lstsq(design, y, rcond=None)
    assert result.values() == pytest.approx({"b": b0, "w": w0}, rel=1e-9, abs=1e-9)
    rss = float(np.sum((design @ [b0, w0] - y) ** 2))
    cov = np.linalg.inv(design.T @ design) * rss / (n - 2)
    np.testing.assert_allclose(result.covariance, cov, rtol=1e-6, atol=1e-12)


def test_csv_parameter_columns_never_share_a_name(gradcli):
    """Issue 23: parameters named like the fixed columns opt, epoch, loss."""
    out = gradcli("fit", "loss*x+epoch+0*opt", "--data", "-", "--target", "y", "--opt", "sgd",
                  "--epochs", "1", "--format", "csv", input="x,y\n1,2\n2,4\n3,6\n")
    header = out.stdout.splitlines()[0].split(",")
    assert len(header) == len(set(header)) == 6 and header[:3] == ["opt", "epoch", "loss"]


@pytest.mark.slow
def test_fit_keeps_the_parameters_of_the_shown_epochs_only():
    """Issue 23: 200,000 epochs of 200 parameters kept 320 MB of rows nobody saw."""
    from gradcli.optimizers import make
    from gradcli.training.dataset import Dataset
    from gradcli.training.fit import Fitter

    model = "+".join(f"p{i}*x**{i % 3}" for i in range(200))
    data = Dataset(["x", "y"], {"x": np.linspace(0, 1, 50), "y": np.linspace(1, 2, 50)})
    fitter = Fitter(gc.parse(model), data, "y", make("sgd", lr=1e-4), keep_every=500,
                    tol=0)
    result = fitter.run(5000)
    assert result.kept() == list(range(0, 5001, 500))
    assert result.path.shape == (11, 200) and fitter.fit._path.shape[0] <= 16
    assert len(result.losses) == 5001
    whole = Fitter(gc.parse(model), data, "y", make("sgd", lr=1e-4), tol=0).run(5000)
    np.testing.assert_array_equal(result.path, whole.path[::500])
    assert result.values() == whole.values()


def test_ctrl_c_during_lm_writes_the_best_point_so_far(gradcli, monkeypatch):
    from gradcli.training import lm

    real, calls = lm.Residuals.jacobian, []

    def interrupted(self, p):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(self, p)

    monkeypatch.setattr(lm.Residuals, "jacobian", interrupted)
    out = gradcli("fit", "a*exp(-k*t)", "--data", DECAY, "--target", "y", "--init", "a=1,k=1",
                  "--format", "json", "--every", "1")
    assert out.exit_code == 130
    record = json.loads(out.stdout)
    assert record["interrupted"] is True and record["converged"] is False
    done = record["epochs"]
    assert done >= 1 and record["params"] == record["history"][-1]["params"]
    assert [h["epoch"] for h in record["history"]] == list(range(done + 1))
    assert record["history"][-1]["loss"] < record["history"][0]["loss"]
    assert out.stderr == f"gradcli: interrupted after epoch {done} of 1000 (lm)\n"


def test_epochs_zero_reports_the_start():
    result = gc.fit("w*x+b", {"x": [1, 2, 3], "y": [2, 4.1, 5.9]}, target="y", epochs=0)
    assert result.values() == {"b": 0.0, "w": 0.0} and not result.converged
    assert result.iterations == 0 and result.rss == 2**2 + 4.1**2 + 5.9**2


def test_a_jacobian_beyond_the_memory_limit_is_refused_before_any_work(monkeypatch):
    from gradcli.training import lm

    monkeypatch.setattr(lm, "MAX_JACOBIAN_ENTRIES", 100)
    data = {"x": np.arange(60.0), "y": np.arange(60.0)}
    with pytest.raises(GradcliError, match=r"60 rows x 2 parameters is beyond the limit of 100"):
        gc.fit("w*x+b", data, target="y")
    assert gc.fit("w*x", data, target="y").values() == {"w": 1.0}  # 60 entries: fine


def test_as_many_rows_as_parameters_warns_that_the_standard_errors_are_inf(gradcli):
    out = gradcli("fit", "w*x", "--data", "-", "--target", "y", "--format", "json",
                  input="x,y\n1,2\n")
    record = json.loads(out.stdout)
    assert (record["params"], record["stderr"], record["dof"]) == ({"w": 2.0}, {"w": "inf"}, 0)
    assert out.stderr == ("gradcli: warning: lm: as many rows as parameters (0 degrees of "
                          "freedom): the standard errors are inf\n")


@pytest.mark.parametrize("name, start", [("Misra1a", "start1"), ("Thurber", "start1"),
                                         ("MGH10", "start2"), ("Lanczos3", "start2"),
                                         ("BoxBOD", "start2")])
def test_the_minpack_transcription_takes_scipys_steps(name, start):
    """training/minpack.py against scipy's compiled MINPACK (leastsq, lmder), same function,
    Jacobian and tolerances: the same answer and the same number of Jacobian evaluations."""
    from scipy.optimize import leastsq

    from gradcli.compiled.program import compile_expression
    from gradcli.training.minpack import lmder

    problems = json.loads((ROOT / "tests" / "data" / "nist" / "problems.json").read_text())
    problem = problems[name]
    data = read_csv(str(ROOT / "tests" / "data" / "nist" / f"{name}.csv"))
    names, x, y = problem["params"], data.data["x"], data.data["y"]
    program = compile_expression(gc.parse(problem["model"]), wrt=names)

    def f(p):
        return np.broadcast_to(program.value({"x": x, **dict(zip(names, p))}), y.shape) - y

    def jac(p):
        grads = program.value_and_grad({"x": x, **dict(zip(names, p))})[1]
        return np.array(np.broadcast_to(grads, (len(y), len(names))).T, order="C")

    tol = 1e-12
    ours, info, nfev, njev = lmder(f, jac, np.array(problem[start], float), ftol=tol, xtol=tol,
                                   gtol=0.0, maxfev=2000)
    theirs, _, out, _, ier = leastsq(f, problem[start], Dfun=jac, col_deriv=1, full_output=True,
                                     ftol=tol, xtol=tol, gtol=0.0, maxfev=2000)
    # the stopping test that fires last can differ in the last bits of a ratio
    assert info in (1, 2, 3) and ier in (1, 2, 3), (info, ier)
    assert abs(njev - out["njev"]) <= 1, (njev, out["njev"])
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)  # Lanczos3: conditioned to ~1e-7


@pytest.mark.slow
def test_a_real_process_fits_with_lm_by_default_and_refuses_bad_fits_in_one_line():
    """The installed entry point, not CliRunner: the default method is lm with value ± stderr
    (curve_fit's), and a singular Jacobian, a non-finite residual's row, too few rows and a
    start outside --bounds are each one line on stderr, exit 2, no traceback."""
    import subprocess
    import sys

    def run(*args, stdin=None):
        return subprocess.run([sys.executable, "-m", "gradcli", "fit", *args], input=stdin,
                              capture_output=True, text=True, timeout=120)

    p, cov, rss, n = decay_oracle()
    out = run("a*exp(-k*t)", "--data", DECAY, "--target", "y", "--init", "a=1,k=1",
              "--format", "table")
    assert (out.returncode, out.stderr) == (0, "")
    a, k = out.stdout.split("\n   a = ")[1], out.stdout.split("\n   k = ")[1]
    value, error = (float(v) for v in a.split("\n")[0].split(" ± "))
    assert value == pytest.approx(p[0], rel=1e-9)  # the table: 10 digits
    assert error == pytest.approx(math.sqrt(cov[0, 0]), rel=1e-7)
    assert float(k.split(" ± ")[1].split("\n")[0]) == pytest.approx(math.sqrt(cov[1, 1]),
                                                                    rel=1e-7)
    four = "x,y\n1,1\n2,3\n3,2\n4,5\n"
    for args, stdin, message in [
            (("a*b*x+c", "--init", "a=1,b=2"), four, "the parameters a, b are not identifiable"),
            (("sqrt(a-x)+b", "--init", "a=2.5"), four, "the model is nan at data row 3 (x=3.0)"),
            (("a*x**3+b*x**2+c*x+d+g",), four, "the model has 5 parameters (a, b, c, d, g) but "
                                               "the data only 4 rows"),
            (("a*x+b", "--bounds", "a=2:1"), four, "the lower bound 2.0 is above the upper"),
            (("a*x+b", "--init", "a=5", "--bounds", "a=1:2"), four,
             "the start a=5.0 is outside its bounds a=1.0:2.0")]:
        out = run(*args, "--data", "-", "--target", "y", stdin=stdin)
        assert (out.returncode, out.stdout) == (2, ""), (args, out.stderr)
        assert out.stderr.startswith("gradcli: error: ") and message in out.stderr, out.stderr
        assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


@pytest.mark.parametrize("opt", ["lm", "adam"])
def test_a_mapping_with_nan_or_inf_is_refused_as_a_csv_cell_is(opt):
    """gc.fit's data as a mapping: a non-finite number is named by column and row (the CSV
    reader refuses such a cell too), not 'the model is nan ... try another init' (lm) or a
    silent fit of nothing (adam, whose loss was inf from the start)."""
    options = {} if opt == "lm" else {"epochs": 3}
    with pytest.raises(GradcliError, match=r"^data: column 'x', row 3: nan is not a finite"):
        gc.fit("a*x+b", {"x": [1, 2, math.nan], "y": [1, 2, 3]}, target="y", opt=opt,
               **options)
    with pytest.raises(GradcliError, match=r"^data: column 'y', row 2: inf is not a finite"):
        gc.fit("a*x+b", {"x": [1, 2, 3], "y": [1, math.inf, 3]}, target="y", opt=opt,
               **options)
