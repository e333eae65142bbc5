"""``gradcli minimize`` with lbfgs (the default), bfgs and --bounds (SPEC 6.3): the iteration
table counts iterations and evaluations, the JSON names the stop and the active bounds, bad
bounds are one line and exit 2. The numbers come from the library, which test_lbfgs checks
against torch.optim.LBFGS and scipy."""
import json

import pytest

from gradcli import optimizers as O
from gradcli import parse
from gradcli.compiled.program import compile_expression
from gradcli.training.descend import descend

ROSENBROCK = "(1-x)**2+100*(y-x**2)**2"


def records(gradcli, *args):
    result = gradcli("minimize", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_lbfgs_is_the_default_and_its_json_counts_evaluations(gradcli):
    (record,) = records(gradcli, ROSENBROCK, "--from", "x=-1.5,y=2", "--every", "1")
    run = descend(compile_expression(parse(ROSENBROCK), ["x", "y"]).point_function(),
                  [-1.5, 2.0], O.make("lbfgs"), steps=1000, tol=1e-10)
    assert record["opt"] == "lbfgs" and record["converged"] is True
    assert record["stop"] == "tolerance_change" and record["steps"] == run.steps == 40
    assert record["evaluations"] == run.evaluations[-1] == 51
    assert [h["evals"] for h in record["history"]] == run.evaluations
    assert record["point"] == {"x": run.final[0][0], "y": run.final[0][1]}
    assert "active_bounds" not in record


def test_iteration_table_has_step_lengths_and_evaluations(gradcli):
    result = gradcli("minimize", "(x-3)**2+x**4/10", "--format", "table")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("(x-3)**2+x**4/10  (lbfgs)")
    assert [c.strip() for c in lines[2].strip("┃").split("┃")] == ["iter", "x", "f", "‖∇f‖",
                                                                   "t", "evals"]
    first = [c.strip() for c in lines[5].strip("│").split("│")]
    # iteration 1: d = -g = 6, t = min(1, 1/|g|_1) = 1/6 (torch's first step), x = 1
    assert first == ["1", "1.0", "4.1", "3.6", "0.1666666667", "2"]
    assert "lbfgs: converged after 4 iterations, 6 evaluations (f or the step changed by less " \
           "than\n  --tolerance-change)" in result.stdout  # wrapped at the terminal's 100


def test_quasi_newton_options_reach_the_optimizer(gradcli):
    (fixed,) = records(gradcli, "(x-3)**2", "--line-search", "none", "--lr", "0.25",
                       "--steps", "8", "--every", "1", "--tolerance-change", "0")
    # fixed steps x <- x + t*d: first d = -g = 6 and t = min(1, 1/|g|_1) * lr = 0.25/6; then
    # d = -H g with H = s/y = 1/2 (the exact inverse Hessian) and t = lr: x moves 1/4 of the way
    history = fixed["history"]
    assert history[1]["point"]["x"] == 0.25 and history[1]["lr"] == 0.25 / 6
    assert history[2]["point"]["x"] == pytest.approx(0.25 + 0.25 * 2.75, rel=1e-15)
    assert [h["evals"] for h in fixed["history"]] == list(range(1, len(fixed["history"]) + 1))
    (tight,) = records(gradcli, ROSENBROCK, "--from", "x=-1.5,y=2", "--tolerance-grad", "0",
                       "--tolerance-change", "0", "--tol", "1e-9", "--history-size", "5")
    assert tight["converged"] and tight["stop"] == "tol" and tight["grad_norm"] <= 1e-9
    (bfgs,) = records(gradcli, ROSENBROCK, "--from", "x=-1.5,y=2", "--opt", "bfgs")
    assert bfgs["converged"] and bfgs["point"]["x"] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("args, message", [
    (("--opt", "sgd", "--line-search", "none"),
     "--line-search does not apply to sgd (it applies to lbfgs, bfgs)"),
    (("--opt", "bfgs", "--history-size", "3"),
     "--history-size does not apply to bfgs (it applies to lbfgs)"),
    (("--opt", "lbfgs", "--clip-norm", "1"), "--clip-norm does not apply to lbfgs"),
    (("--bounds", "x=2:1"),
     "--bounds: bounds x=2.0:1.0: the lower bound 2.0 is above the upper bound 1.0"),
    (("--bounds", "x=1:2"), "--bounds: the start x=0.0 is outside its bounds x=1.0:2.0"),
    (("--bounds", "q=0:1"), "--bounds: bounds 'q=0:1': the expression has no variable 'q' "
                            "(its variables: x, y)"),
    (("--bounds", "x=0..1"), "--bounds: bounds 'x=0..1': write NAME=LO:HI"),
])
def test_bad_options_are_one_line_and_exit_2(gradcli, args, message):
    result = gradcli("minimize", "x**2+y**2", *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"gradcli: error: {message}")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("opt", ["lbfgs", "bfgs", "adam", "newton"])
def test_bounds_keep_the_run_in_the_box_and_name_the_active_ones(gradcli, opt):
    (record,) = records(gradcli, "(x-3)**2+(y+1)**2", "--bounds", "x=-1:1,y=0:",
                        "--opt", opt, "--lr", "0.1", "--steps", "3000", "--every", "1")
    assert record["point"] == {"x": 1.0, "y": 0.0} and record["converged"] is True
    assert record["active_bounds"] == {"x": "upper", "y": "lower"}
    assert record["grad_norm"] == 0.0  # the projected gradient: both components push outward
    assert all(-1 <= h["point"]["x"] <= 1 and h["point"]["y"] >= 0 for h in record["history"])


def test_bounds_with_an_interior_minimum_leave_nothing_active(gradcli):
    (record,) = records(gradcli, ROSENBROCK, "--from", "x=-1.5,y=2", "--bounds", "x=-2:2")
    assert record["active_bounds"] == {} and record["point"]["x"] == pytest.approx(1, abs=1e-5)


def test_a_quasi_newton_divergence_suggests_bounds_not_a_learning_rate(gradcli):
    result = gradcli("minimize", "-exp(x*x)", "--from", "0.5")
    assert result.exit_code == 1
    assert result.stderr == ("gradcli: lbfgs diverged at step 1: the value is not finite (is "
                             "the function bounded below? try --bounds or another --from)\n")


@pytest.mark.slow
def test_a_real_process_runs_lbfgs_without_opt_and_names_the_active_bound():
    """The installed entry point: no --opt is lbfgs, whose JSON is the library's run; a box
    names the bound the answer lies on; a reversed box or a start outside it is one line,
    exit 2."""
    import subprocess
    import sys

    def run(*args):
        return subprocess.run([sys.executable, "-m", "gradcli", "minimize", ROSENBROCK, *args],
                              capture_output=True, text=True, timeout=120)

    out = run("--from", "x=-1.5,y=2", "--bounds", "x=:0.5", "--format", "json")
    assert (out.returncode, out.stderr) == (0, "")
    record = json.loads(out.stdout)
    assert record["opt"] == "lbfgs" and record["converged"] is True
    assert record["point"] == {"x": 0.5, "y": pytest.approx(0.25, abs=1e-9)}
    assert record["active_bounds"] == {"x": "upper"}
    for args, message in [(("--bounds", "x=2:1"), "the lower bound 2.0 is above the upper"),
                          (("--bounds", "x=1:2"), "the start x=0.0 is outside its bounds")]:
        out = run(*args)
        assert (out.returncode, out.stdout) == (2, "") and message in out.stderr
        assert out.stderr.startswith("gradcli: error: --bounds: ")
        assert out.stderr.count("\n") == 1
