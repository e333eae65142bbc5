"""``gradcli minimize`` (SPEC section 2): published iterates, every optimizer step by step
against the naive formulas of test_optimizers (and torch.optim), output formats, stopping,
divergence, Ctrl-C, plots and usage errors."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from tests.test_optimizers import (BOWL_START, LR, VARIANTS, _printed, bowl_grad, naive_run,
                                   torch_iterates)

QUADRATIC = "(x-50)**2"
BOWL = "(x-3)**2+5*(y+1)**2+(z-0.5)**4"  # test_optimizers.bowl_grad's function


def runs(gradcli, *args):
    """The JSON records of a minimize run (exit status 0 asserted)."""
    result = gradcli("minimize", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def xs(record):
    """history x by step."""
    return {row["step"]: row["point"]["x"] for row in record["history"]}


# -- the numbers of the issue ---------------------------------------------------------------
def test_sgd_on_x2_minus_2x_plus_1_ends_at_the_published_float64(gradcli):
    (record,) = runs(gradcli, "x**2-2*x+1", "--opt", "sgd", "--lr", "0.01", "--steps", "1000",
                     "--tol", "0")
    assert record["point"] == {"x": 0.9999999983170326}
    assert record["steps"] == 1000 and record["converged"] is False


def test_sgd_float32_ends_where_tensorflow_prints_0_999998569(gradcli):
    (record,) = runs(gradcli, "x**2-2*x+1", "--opt", "sgd", "--lr", "0.01", "--steps", "1000",
                     "--tol", "0", "--dtype", "float32")
    x = record["point"]["x"]
    assert f"{x:.9g}" == "0.999998569" and float(np.float32(x)) == x


ISSUE_NUMBERS = [
    (["--opt", "adam", "--lr", "1"],
     {1: "3.9999999999", 10: "12.9182579758", 200: "50.0027357131"}),
    (["--opt", "adam", "--lr", "1", "--compat", "keras"],
     {1: "3.9999999664", 200: "50.0027357130"}),
    (["--opt", "momentum", "--momentum", "0.9", "--lr", "0.01"], {1: "3.94", 2: "5.7072"}),
    (["--opt", "nesterov", "--lr", "0.01"], {1: "4.786", 2: "7.265532"}),
    (["--opt", "rmsprop", "--lr", "0.1"], {1: "4.0"}),
    (["--opt", "rmsprop", "--lr", "0.1", "--compat", "keras"], {1: "3.3162"}),
    (["--opt", "nadam", "--lr", "1"], {1: "4.0565", 10: "10.843"}),
    (["--opt", "nadam", "--lr", "1", "--compat", "keras"], {1: "4.0628"}),
]


@pytest.mark.parametrize("options, expected", ISSUE_NUMBERS,
                         ids=[" ".join(o) for o, _ in ISSUE_NUMBERS])
def test_iterates_on_x_minus_50_squared_from_3(gradcli, options, expected):
    (record,) = runs(gradcli, QUADRATIC, *options, "--steps", "200", "--from", "x=3",
                     "--every", "1")
    got = xs(record)
    assert got[0] == 3.0
    for step, text in expected.items():
        assert got[step] == _printed(text), f"x{step}"


@pytest.mark.slow
def test_adam_x1_exactly_as_update_computes_it_in_a_real_subprocess():
    result = subprocess.run([sys.executable, "-m", "gradcli", "minimize", QUADRATIC, "--opt",
                             "adam", "--lr", "1", "--steps", "200", "--from", "x=3", "--format",
                             "json", "--every", "1"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == ""
    record = json.loads(result.stdout)
    assert xs(record)[200] == _printed("50.0027357131")
    assert xs(record)[1] == 3.0 + 1.0 * (1 - 1e-8 / (94.0 + 1e-8))  # lr * g/(|g| + eps)


# -- every optimizer, every variant, step by step ----------------------------------------------
CLI_FLAGS = {"weight_decay": "--weight-decay", "schedule": "--decay", "clip_norm": "--clip-norm",
             "clip_value": "--clip-value"}


def cli_options(options):
    out = []
    for key, value in options.items():
        if key == "maximize":
            out.append("--maximize")
        else:
            out += [CLI_FLAGS[key], str(value)]
    return out


def bowl_history(gradcli, name, compat, options, steps):
    expression = f"0-({BOWL})" if options.get("maximize") else BOWL
    (record,) = runs(gradcli, expression, "--opt", name, "--compat", compat, "--lr",
                     str(LR[name]), "--steps", str(steps), "--tol", "0", "--every", "1",
                     "--from", "x=0,y=0,z=2", *cli_options(options))
    assert [row["step"] for row in record["history"]] == list(range(steps + 1))
    return [[row["point"][v] for v in "xyz"] for row in record["history"]][1:]


# every option reaches the optimizer through the command line ("everything": weight decay,
# an exp schedule and clip-norm; test_optimizers checks each variant of the rules alone)
@pytest.mark.parametrize("variant", ["plain", "maximize", "cosine", "clip_value", "everything"])
@pytest.mark.parametrize("compat", ["torch", "keras"])
@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
                                  "adamw", "adamax", "nadam"])
def test_every_cli_step_matches_the_naive_formulas(gradcli, name, compat, variant):
    options = VARIANTS[variant]
    grad = (lambda p: -bowl_grad(p)) if options.get("maximize") else bowl_grad
    expected = naive_run(name, compat, grad, BOWL_START, 25, lr=LR[name], **options)
    for k, (got, want) in enumerate(zip(bowl_history(gradcli, name, compat, options, 25),
                                        expected), start=1):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-14), f"step {k}"


@pytest.mark.parametrize("variant", ["plain", "step", "everything"])
@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
                                  "adamw", "adamax", "nadam"])
def test_every_cli_step_matches_torch_optim(gradcli, name, variant):
    """Against torch.optim's recorded iterates (tests/data/torch_optim.json; test_optimizers)."""
    steps = 20
    ours = bowl_history(gradcli, name, "torch", VARIANTS[variant], steps)
    for k, want in enumerate(torch_iterates(name, variant)[:steps]):
        assert ours[k] == pytest.approx(want, rel=1e-11, abs=1e-13), f"step {k + 1}"


# -- stopping, rows, fields ---------------------------------------------------------------------
def test_json_has_exactly_the_spec_fields_and_the_shown_rows(gradcli):
    (record,) = runs(gradcli, QUADRATIC, "--opt", "adam", "--lr", "1", "--steps", "200",
                     "--from", "3", "--tol", "0")
    assert list(record) == ["expr", "opt", "lr", "steps", "converged", "interrupted", "point",
                            "value", "grad_norm", "history"]
    assert record["expr"] == QUADRATIC and record["opt"] == "adam" and record["lr"] == 1.0
    assert [row["step"] for row in record["history"]] == list(range(0, 201, 10))
    first = record["history"][0]
    assert first == {"step": 0, "point": {"x": 3.0}, "value": 2209.0, "grad_norm": 94.0,
                     "lr": 1.0}
    last = record["history"][-1]
    assert last["point"] == record["point"] and last["value"] == record["value"]
    assert record["grad_norm"] == abs(2 * (record["point"]["x"] - 50))


def test_every_k_shows_every_kth_row_and_always_the_last(gradcli):
    (record,) = runs(gradcli, QUADRATIC, "--opt", "sgd", "--steps", "23", "--every", "5",
                     "--tol", "0")
    assert [row["step"] for row in record["history"]] == [0, 5, 10, 15, 20, 23]


def test_tol_stops_at_the_first_gradient_norm_at_or_below_it(gradcli):
    (record,) = runs(gradcli, QUADRATIC, "--opt", "sgd", "--lr", "0.1", "--from", "3",
                     "--tol", "1e-6", "--every", "1")
    norms = [row["grad_norm"] for row in record["history"]]
    assert record["converged"] is True and norms[-1] <= 1e-6 < norms[-2]
    assert record["steps"] == len(norms) - 1 == math.ceil(math.log(1e-6 / 94) / math.log(0.8))


def test_lr_of_a_row_is_the_rate_of_the_update_that_produced_it(gradcli):
    (record,) = runs(gradcli, QUADRATIC, "--opt", "sgd", "--lr", "0.1", "--decay", "exp:0.5",
                     "--steps", "3", "--every", "1", "--tol", "0")
    assert [row["lr"] for row in record["history"]] == [0.1, 0.1, 0.05, 0.025]


def test_default_start_is_every_variable_0_and_from_sets_some(gradcli):
    (record,) = runs(gradcli, "(x-1)**2+(y-2)**2", "--opt", "sgd", "--steps", "0",
                     "--from", "y=5")
    assert record["point"] == {"x": 0.0, "y": 5.0} and record["steps"] == 0


def test_newton_from_the_cli_jumps_to_the_minimum_of_a_quadratic(gradcli):
    (record,) = runs(gradcli, QUADRATIC, "--opt", "newton", "--from", "3", "--every", "1")
    assert record["point"] == {"x": 50.0} and record["steps"] == 1 and record["converged"]


def test_opt_all_runs_every_optimizer_in_order(gradcli):
    records = runs(gradcli, QUADRATIC, "--opt", "all", "--lr", "0.1", "--from", "3",
                   "--steps", "50")
    assert [r["opt"] for r in records] == ["sgd", "momentum", "nesterov", "adagrad", "rmsprop",
                                           "adam", "adamw", "adamax", "nadam", "radam", "rprop",
                                           "adadelta", "asgd", "lion", "newton", "lbfgs", "bfgs"]
    # --lr is the first-order methods'; newton, lbfgs and bfgs keep their own step (SPEC 6.3)
    assert [r["lr"] for r in records] == [0.1] * 14 + [1.0] * 3


# -- formats -------------------------------------------------------------------------------------
def test_table_shows_the_iterations_and_a_closing_summary(gradcli):
    result = gradcli("minimize", QUADRATIC, "--opt", "newton", "--from", "3", "--format", "table")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("(x-50)**2  (newton)")
    header = [c.strip() for c in lines[2].strip("┃").split("┃")]
    assert header == ["step", "x", "f", "‖∇f‖", "lr"]
    assert [c.strip() for c in lines[4].strip("│").split("│")] == ["0", "3.0", "2209.0", "94.0",
                                                                   "1.0"]
    assert [c.strip() for c in lines[5].strip("│").split("│")] == ["1", "50.0", "0.0", "0.0",
                                                                   "1.0"]
    assert lines[7] == "newton: converged after 1 steps (‖∇f‖ = 0.0 <= tol 1e-10)"
    assert lines[8].startswith("final point x = 50.0, f = 0.0; ")


def test_comparison_table_one_row_per_optimizer(gradcli):
    result = gradcli("minimize", QUADRATIC, "--opt", "sgd,newton", "--lr", "0.1", "--from", "3",
                     "--format", "table")
    assert result.exit_code == 0, result.stderr
    header = [c.strip() for c in result.stdout.splitlines()[2].strip("┃").split("┃")]
    assert header == ["opt", "lr", "final point", "final f", "steps", "time", "status"]
    body = [line for line in result.stdout.splitlines() if line.startswith("│")]
    sgd = [c.strip() for c in body[0].strip("│").split("│")]  # x - 50 <- 0.8 * (x - 50)
    to_tol = str(math.ceil(math.log(1e-10 / 94) / math.log(0.8)))
    assert sgd[:2] == ["sgd", "0.1"] and sgd[4] == to_tol and sgd[6] == "converged"
    assert abs(float(sgd[2].removeprefix("x=")) - 50) < 1e-9
    # --lr is for the first-order methods: Newton keeps its own step, 1, and lands at once
    newton = [c.strip() for c in body[1].strip("│").split("│")]
    assert newton[:5] == ["newton", "1.0", "x=50.0", "0.0", "1"] and newton[6] == "converged"


def test_comparison_table_names_divergence_and_the_rest_goes_on(gradcli):
    # nesterov overshoots at lr 2 and diverges; newton (its own step) lands at 0 at once
    result = gradcli("minimize", "x**2", "--opt", "nesterov,newton", "--lr", "2", "--from", "1",
                     "--format", "table")
    assert result.exit_code == 1
    body = [[c.strip() for c in line.strip("│").split("│")]
            for line in result.stdout.splitlines() if line.startswith("│")]
    assert body[0][0] == "nesterov" and body[0][6].startswith("diverged at ")
    assert body[1][0] == "newton" and body[1][2:5] == ["x=0.0", "0.0", "1"]
    assert body[1][6] == "converged"
    assert result.stderr.startswith("gradcli: nesterov diverged at step ")


def test_plain_is_the_final_point_one_line_per_optimizer(gradcli):
    result = gradcli("minimize", "(x-1)**2+(y+2)**2", "--opt", "newton", "--steps", "1",
                     "--lr", "0.5")
    assert result.exit_code == 0 and result.stdout == "x=0.5,y=-1.0\n"  # newton: lr * H^-1 g
    result = gradcli("minimize", "(x-1)**2+(y+2)**2", "--opt", "newton,sgd", "--steps", "1",
                     "--lr", "0.5")  # --lr for sgd only: newton takes its full step
    assert result.exit_code == 0 and result.stdout == "newton x=1.0,y=-2.0\nsgd x=1.0,y=-2.0\n"


def test_minimize_runs_without_opt(gradcli):
    """issue 20 and SPEC 6.3: the first thing a user types works, with lbfgs, and the help, the
    library's DEFAULT_OPT and the record agree on it."""
    from gradcli.cli.minimize import DEFAULT_OPT

    assert DEFAULT_OPT == "lbfgs"
    default = gradcli("minimize", "(x-3)**2", "--format", "json")
    record = json.loads(default.stdout)
    assert default.exit_code == 0 and record["opt"] == "lbfgs" and record["converged"] is True
    # lbfgs on a quadratic: a first step of length lr=1 scaled by 1/|g| (x=1), then the exact
    # minimum from the curvature pair: x = 3 after 2 iterations and 3 evaluations
    assert record["point"] == {"x": 3.0} and (record["steps"], record["evaluations"]) == (2, 3)
    chosen = gradcli("minimize", "(x-3)**2", "--opt", "lbfgs", "--format", "json")
    assert record == json.loads(chosen.stdout)
    assert gradcli("minimize", "(x-3)**2").stdout == "x=3.0\n"
    help_text = " ".join(gradcli("minimize", "--help").stdout.split())
    assert "(default: lbfgs" in help_text and "(default: adam" not in help_text


def test_plain_output_feeds_back_as_from(gradcli):
    """SPEC 6.4: plain output can be fed back as input."""
    first = gradcli("minimize", "(x-1)**2+(y+2)**2", "--opt", "sgd", "--steps", "3")
    again = gradcli("minimize", "(x-1)**2+(y+2)**2", "--opt", "sgd", "--steps", "3", "--from",
                    first.stdout.strip())
    six = gradcli("minimize", "(x-1)**2+(y+2)**2", "--opt", "sgd", "--steps", "6")
    assert (first.exit_code, again.exit_code) == (0, 0)
    assert first.stdout.startswith("x=") and again.stdout == six.stdout


def test_csv_rows_of_every_optimizer_under_one_header(gradcli):
    result = gradcli("minimize", QUADRATIC, "--opt", "sgd,newton", "--steps", "2", "--from", "3",
                     "--lr", "0.25", "--format", "csv", "--tol", "0")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "opt,step,x,value,grad_norm,lr",
        "sgd,0,3.0,2209.0,94.0,0.25", "sgd,1,26.5,552.25,47.0,0.25",
        "sgd,2,38.25,138.0625,23.5,0.25",
        "newton,0,3.0,2209.0,94.0,1.0", "newton,1,50.0,0.0,0.0,1.0",
        "newton,2,50.0,0.0,0.0,1.0"]  # --lr is for the first-order methods


def test_expressions_from_stdin_each_give_a_run(gradcli):
    result = gradcli("minimize", "-", "--opt", "newton", "--format", "plain",
                     input="(x-2)**2\n# comment\n(x+1)**2\n")
    assert result.exit_code == 0 and result.stdout == "x=2.0\nx=-1.0\n"


# -- divergence, interruption, errors -------------------------------------------------------------
def test_divergence_prints_the_rows_names_the_step_and_exits_1(gradcli):
    # x <- x - 10 * 2x = -19x: f = x**2 overflows once 19**k > 1.34e154, at k = 121
    result = gradcli("minimize", "x**2", "--opt", "sgd", "--lr", "10", "--from", "1",
                     "--format", "json", "--every", "1")
    assert result.exit_code == 1
    assert result.stderr == ("gradcli: sgd diverged at step 121: the value is not finite "
                             "(try a smaller --lr, --clip-norm or another --from)\n")
    record = json.loads(result.stdout)
    assert record["steps"] == 121 and record["value"] == "inf" and not record["converged"]
    assert 1e306 < record["history"][120]["value"] < math.inf


def test_a_start_outside_the_domain_diverges_at_step_0(gradcli):
    result = gradcli("minimize", "log(x)", "--opt", "adam", "--from", "-1", "--format", "plain")
    assert result.exit_code == 1 and result.stdout == "x=-1.0\n"
    assert "adam diverged at step 0: the value is not finite" in result.stderr


def test_ctrl_c_prints_the_table_so_far_and_exits_130(gradcli, monkeypatch):
    from gradcli.compiled.program import Program

    real = Program.point_function

    def interrupted_after_40_calls(self):
        fg, calls = real(self), [0]

        def counting(p):
            calls[0] += 1
            if calls[0] > 40:
                raise KeyboardInterrupt
            return fg(p)

        return counting

    monkeypatch.setattr(Program, "point_function", interrupted_after_40_calls)
    result = gradcli("minimize", QUADRATIC, "--opt", "sgd", "--from", "3", "--format", "csv")
    assert result.exit_code == 130
    assert result.stderr == "gradcli: interrupted after 39 steps of sgd\n"
    lines = result.stdout.splitlines()
    assert lines[0] == "opt,step,x,value,grad_norm,lr" and lines[-1].startswith("sgd,39,")


@pytest.mark.parametrize("args, message", [
    (["x**2", "--opt", "adm"], "invalid value for '--opt': unknown optimizer 'adm' "
                               "(did you mean 'adam'?)"),
    (["x**2", "--opt", "sgd", "--from", "y=1"], "--from 'y=1': the expression has no "
                                                "variable 'y' (its variables: x)"),
    (["x*y", "--opt", "sgd", "--from", "1"], "--from '1': a value without a name needs an "
                                            "expression of one variable"),
    (["2+3", "--opt", "sgd"], "'2+3' has no variables: there is nothing to minimize"),
    (["x**2", "--opt", "sgd", "--betas", "0.9,0.99"], "--betas does not apply to sgd"),
    (["x**2", "--opt", "adam", "--betas", "0.9"], "invalid value for '--betas'"),
    (["x**2", "--opt", "adam", "--decay", "exp"], "invalid value for '--decay': "
                                                  "learning-rate schedule 'exp' should be"),
    (["x**2", "--opt", "adam", "--lr", "-1"], "invalid value for '--lr': must be a finite"),
    (["x**2", "--opt", "adam", "--clip-norm", "1", "--clip-value", "1"],
     "give --clip-norm or --clip-value, not both"),
    (["x**2", "--opt", "adam", "--plot", "out.txt"], "--plot: cannot write 'out.txt'"),
    (["x**2", "--opt", "sgd", "--steps", "-1"], "invalid value for '--steps'"),
    (["x**", "--opt", "sgd"], "gradcli: error: "),
])
def test_bad_usage_is_one_line_and_exit_2(gradcli, args, message):
    result = gradcli("minimize", *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("gradcli: error: ") and message in result.stderr
    assert "Traceback" not in result.stderr


# -- plots -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("expression, start", [(QUADRATIC, "3"), ("(1-x)**2+100*(y-x**2)**2",
                                                                  "x=-1.5,y=2")])
@pytest.mark.parametrize("suffix", [".png", ".svg"])
@pytest.mark.slow
def test_plot_writes_the_picture(gradcli, tmp_path, expression, start, suffix):
    pytest.importorskip("matplotlib")
    target = tmp_path / f"run{suffix}"
    result = gradcli("minimize", expression, "--opt", "adam,sgd", "--lr", "0.0002", "--from",
                     start, "--steps", "300", "--plot", str(target), "--format", "plain")
    assert result.exit_code == 0, result.stderr
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in data[:1000]
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left


def test_plot_without_matplotlib_is_a_clear_error(gradcli, monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    result = gradcli("minimize", "x**2", "--opt", "sgd", "--plot", str(tmp_path / "a.png"))
    assert result.exit_code == 2
    assert result.stderr == "gradcli: error: --plot needs matplotlib: pip install 'gradcli[plot]'\n"


# -- the README's transcripts ----------------------------------------------------------------------
def _readme_transcripts():
    from tests.test_cli_readme import section, transcripts

    return [(c, o) for c, o in transcripts(section("minimize"))
            if "--format table" not in c]  # tables end with a wall time


@pytest.mark.skipif(sys.platform == "win32", reason="the transcripts are bash command lines")
@pytest.mark.parametrize("command, output", _readme_transcripts())
@pytest.mark.slow
def test_readme_minimize_transcript_is_the_real_output(command, output, tmp_path):
    import os

    script = f'gradcli() {{ {sys.executable} -m gradcli "$@"; }}\n{command}'
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(["bash", "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, timeout=60,
                            cwd=tmp_path)
    assert [line.rstrip() for line in result.stdout.splitlines()] == output.splitlines()


# -- the shared option layer (gradcli.cli.options) -------------------------------------
def test_options_apply_to_the_optimizers_that_take_them():
    from gradcli.cli.options import OptimizerSettings, build_optimizers

    settings = OptimizerSettings(names=("sgd", "adam", "rmsprop"), lr=0.5, betas=(0.8, 0.9),
                                 momentum=0.3, eps=1e-3, compat="keras")
    sgd, adam, rmsprop = build_optimizers(settings)
    assert (sgd.lr, sgd.momentum, sgd.compat) == (0.5, 0.3, "keras")
    assert (adam.betas, adam.eps) == ((0.8, 0.9), 1e-3) and not hasattr(adam, "momentum")
    assert (rmsprop.momentum, rmsprop.eps, rmsprop.rho) == (0.3, 1e-3, 0.9)
    again = build_optimizers(settings)
    assert again[0] is not sgd  # fresh optimizers (they hold state) on every call


def test_row_selection_every_kth_first_and_last():
    from gradcli.cli.options import RowSelection, default_every

    assert default_every(1000) == 50 and default_every(5) == 1 and default_every(0) == 1
    assert RowSelection(None, 1000).select(list(range(1001))) == list(range(0, 1001, 50))
    assert RowSelection(4, 10).select(list(range(11))) == [0, 4, 8, 10]
    assert RowSelection(4, 0).select([0]) == [0]


def test_progress_bar_is_silent_off_a_terminal_and_draws_on_one(monkeypatch, capsys):
    from gradcli.cli import progress as oo

    with oo.progress_bar(100, "adam") as advance:
        advance(50)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(oo, "_stderr_is_terminal", lambda: True)
    with oo.progress_bar(100, "adam", delay=0.0) as advance:
        advance(50)
        advance(100)
    assert "adam" in capsys.readouterr().err


@pytest.mark.slow
def test_gradcli_diff_does_not_import_the_optimizers():
    code = ("import sys; from gradcli.cli import main; sys.argv = ['gradcli', 'diff', 'x**2', "
            "'--at', '1']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m in ('gradcli.optimizers.base', "
            "'gradcli.optimizers.rules', 'gradcli.optimizers.newton', 'gradcli.optimizers.float_step', "
            "'gradcli.optimizers.clipping', 'gradcli.optimizers.schedules', 'gradcli.training.descend')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.splitlines()[-1] == "[]"


def test_library_reaches_the_optimizers_and_clipping_from_the_package():
    import gradcli as gc

    assert gc.optimizers.Adam is __import__("gradcli.optimizers.base").optimizers.Adam
    clipped, norm = gc.clip_by_global_norm([np.array([3.0, 4.0])], 1.0)
    assert norm == 5.0 and clipped[0].tolist() == [3 * 0.2, 4 * 0.2]  # C * min(1/norm, 1/C)
    assert gc.optimizers.SGD(learning_rate=0.25).lr == 0.25
    with pytest.raises(ValueError, match="give lr or learning_rate, not both"):
        gc.optimizers.SGD(lr=0.1, learning_rate=0.2)


def test_run_loop_norm_of_a_few_floats_is_numpys_bit_for_bit():
    from gradcli.training.descend import _array_norm, _list_and_norm

    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 7):
        for _ in range(2000):
            g = rng.normal(size=n) * 10.0 ** rng.integers(-160, 160, size=n)
            with np.errstate(over="ignore"):  # squares past 1e308 give inf in every form
                expected = float(np.sqrt(np.sum(g * g)))
            assert _list_and_norm(g)[1] == _array_norm(g) == expected


# -- a long run keeps only the rows its output shows ---------------------------------------------
def _full_history(expr, opt, steps, tol, every, **kw):
    """The history rows of descend keeping every step, selected as the table selects them:
    every Kth of the steps done (K = --every, or ceil(done/20) when every row was kept or the
    run did every step, else rounded up to a multiple of COARSE), the first and last."""
    import gradcli as gc
    from gradcli.cli.minimize import COARSE, FULL_HISTORY
    from gradcli.cli.options import RowSelection
    from gradcli.training.descend import descend
    from gradcli.optimizers import make
    from gradcli.compiled.program import compile_expression

    expression = gc.parse(expr)
    fg = compile_expression(expression).point_function()
    run = descend(fg, [0.0] * len(expression.variables), make(opt, **kw), steps, tol,
                  variables=list(expression.variables))
    k = every or math.ceil(run.steps / 20)
    if every is None and FULL_HISTORY < run.steps < steps:
        k = COARSE * math.ceil(k / COARSE)
    shown = RowSelection(k, run.steps).select(list(range(run.steps + 1)))
    return [run.record(k) for k in shown]


@pytest.mark.parametrize("every, tol, steps", [
    (None, 1e-6, 100_000),  # converges at step 78,000 or so: after the rows kept whole
    (None, 0.0, 30_000),    # runs every step
    ("7000", 1e-6, 100_000),
])
@pytest.mark.slow
def test_a_long_run_shows_the_rows_of_a_run_keeping_every_step(gradcli, every, tol, steps):
    """The rows shown are kept during the one run (no second run to pick them)."""
    args = ["minimize", "(x-3)**2", "--opt", "sgd", "--lr", "1e-4", "--tol", repr(tol),
            "--steps", str(steps), "--format", "json"] + (["--every", every] if every else [])
    result = gradcli(*args)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    expected = _full_history("(x-3)**2", "sgd", steps, tol, int(every) if every else None, lr=1e-4)
    assert record["history"] == expected
    assert record["steps"] == expected[-1]["step"] and 10 < len(expected) <= 22
    if tol:
        assert 20_000 < record["steps"] < steps and record["converged"]


def test_a_long_run_that_stops_early_runs_once(gradcli, monkeypatch):
    from gradcli.training import descend as module

    calls = []
    real = module.descend

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "descend", counted)
    result = gradcli("minimize", "(x-3)**2", "--opt", "sgd", "--lr", "1e-4", "--tol", "1e-6",
                     "--steps", "100000", "--format", "json")
    assert result.exit_code == 0 and len(calls) == 1


def test_row_keeper_keeps_the_shown_rows_and_a_bounded_plot_path():
    from gradcli.cli.minimize import COARSE, FULL_HISTORY, row_keeper

    keep = row_keeper(None, 1_000_000, None)
    kept = [k for k in range(1_000_001) if keep(k)]
    assert kept == list(range(FULL_HISTORY + 1)) + list(range(FULL_HISTORY + COARSE,
                                                              1_000_001, COARSE))
    keep = row_keeper(250, 1_000_000, "path.png")  # every 250th shown, every 100th drawn
    kept = [k for k in range(1_000_001) if keep(k)]
    assert len(kept) == 10_001 + 4001 - 2001 and kept[:5] == [0, 100, 200, 250, 300]


def test_a_bad_expression_on_stdin_keeps_its_row(gradcli):
    """SPEC 6.4: plain an empty line, JSON {"expr", "point", "error"}; exit 2."""
    result = gradcli("minimize", "-", "--opt", "newton", input="(x-2)**2\n2x\n(x+1)**2\n")
    assert (result.exit_code, result.stdout) == (2, "x=2.0\n\nx=-1.0\n")
    assert result.stderr.startswith("gradcli: error: stdin line 2: a number cannot be followed")
    result = gradcli("minimize", "-", "--opt", "newton", "--format", "json",
                     input="(x-2)**2\n2x\n")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["point"] == {"x": 2.0}
    assert records[1] == {"expr": "2x", "point": None,
                          "error": "a number cannot be followed by a name"}
