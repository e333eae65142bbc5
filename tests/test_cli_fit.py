"""gradcli fit: exact outputs in every format, errors word for word, exit statuses."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.test_fitting import tutorial_numpy_loop

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = str(ROOT / "samples" / "tutorial_points.csv")
NOISY = str(ROOT / "samples" / "noisy_line.csv")
TUTORIAL_RUN = ("fit", "w*x+b", "--data", TUTORIAL, "--target", "y", "--opt", "sgd",
                "--lr", "0.01", "--epochs", "1000")


def test_tutorial_json_is_plain_gradient_descent(gradcli):
    result = gradcli(*TUTORIAL_RUN, "--format", "json")
    assert (result.exit_code, result.stderr) == (0, "")
    record = json.loads(result.stdout)
    assert list(record) == ["model", "opt", "params", "loss", "r2", "epochs", "converged",
                            "stuck", "interrupted", "history"]
    assert record["opt"] == "sgd" and record["converged"] is False and record["stuck"] == []
    w, b, loss = tutorial_numpy_loop()
    assert record["params"] == {"b": b, "w": w}
    # the independent loop above gives these exact float64s; the tutorial's 2.0001/0.9996
    # are not what plain gradient descent reaches
    assert '"params": {"b": 0.9859898664422495, "w": 2.003880582342283}' in result.stdout
    assert record["model"] == "w*x+b" and record["epochs"] == 1000 and record["loss"] == loss
    assert record["r2"] == 1 - 5 * loss / 40.0
    assert [h["epoch"] for h in record["history"]] == list(range(0, 1001, 50))
    assert record["history"][0] == {"epoch": 0, "loss": 57.0, "params": {"b": 0.0, "w": 0.0}}
    assert record["history"][-1] == {"epoch": 1000, "loss": loss, "params": {"b": b, "w": w}}


def test_tutorial_plain_is_the_parameters_in_init_syntax(gradcli):
    result = gradcli(*TUTORIAL_RUN)
    assert (result.exit_code, result.stdout, result.stderr) == (
        0, "b=0.9859898664422495,w=2.003880582342283\n", "")


def test_tutorial_table(gradcli):
    result = gradcli(*TUTORIAL_RUN, "--format", "table", "--every", "500")
    assert result.exit_code == 0
    assert [line.rstrip() for line in result.stdout.splitlines()] == [
        "w*x+b fitted to y: sgd, lr 0.01, full batch, 5 rows",
        "┏━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┓",
        "┃ epoch ┃            loss ┃            b ┃           w ┃",
        "┡━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━━━━━┩",
        "│     0 │            57.0 │          0.0 │         0.0 │",
        "│   500 │  0.001056376347 │ 0.9238179303 │ 2.021101212 │",  # 10 digits in tables
        "│  1000 │ 3.572709339e-05 │ 0.9859898664 │ 2.003880582 │",
        "└───────┴─────────────────┴──────────────┴─────────────┘",
        "   b = 0.9859898664",  # the closing lines too: 10 digits (plain, CSV, JSON: all)
        "   w = 2.003880582",
        "loss = 3.572709339e-05",
        "  R² = 0.9999955341",
        "1000 epochs (--epochs), not converged: gradient norm 0.004915118489 > --tol 1e-10",
    ]


def test_csv_has_one_row_per_shown_epoch(gradcli):
    result = gradcli("fit", "w*x+b", "--data", TUTORIAL, "--target", "y", "--epochs", "2",
                     "--opt", "sgd,adam", "--format", "csv")
    assert result.stdout == (
        "opt,epoch,loss,b,w\n"
        "sgd,0,57.0,0.0,0.0\n"
        "sgd,1,54.335896000000005,0.014,0.05\n"  # torch.optim.SGD's default rate, 1e-3
        "sgd,2,51.796374978112,0.027672000000000002,0.09881600000000001\n"
        "adam,0,57.0,0.0,0.0\n"
        "adam,1,56.936018000019985,0.0009999999992857142,0.0009999999997999998\n"
        "adam,2,56.87207294014196,0.0019999850588078394,0.0019999853595162\n")


def test_converged_run_stops_and_says_so(gradcli):
    result = gradcli("fit", "w*x+b", "--data", NOISY, "--target", "y", "--opt", "adam",
                     "--lr", "0.1", "--epochs", "5000", "--format", "json")
    record = json.loads(result.stdout)
    data = np.loadtxt(NOISY, delimiter=",", skiprows=1)
    (w, b), *_ = np.linalg.lstsq(np.stack([data[:, 0], np.ones(len(data))], 1), data[:, 1],
                                 rcond=None)
    assert record["epochs"] < 5000
    assert record["params"] == pytest.approx({"w": w, "b": b}, rel=1e-9)
    assert record["history"][-1]["epoch"] == record["epochs"]
    table = gradcli("fit", "w*x+b", "--data", NOISY, "--target", "y", "--opt", "adam",
                    "--lr", "0.1", "--epochs", "5000", "--format", "table")
    assert table.stdout.splitlines()[-1].startswith(f"converged after {record['epochs']} epochs: "
                                                    f"gradient norm ")


def test_tol_zero_runs_every_epoch(gradcli):
    result = gradcli("fit", "w*x+b", "--data", TUTORIAL, "--target", "y", "--tol", "0",
                     "--epochs", "3", "--format", "table", "--opt", "sgd")
    assert result.stdout.splitlines()[-1] == ("3 epochs (--tol 0: no convergence test), "
                                              "gradient norm 48.32378123")


def test_init_and_minibatch_seed(gradcli):
    def run(*extra):
        return gradcli("fit", "w*x+b", "--data", NOISY, "--target", "y", "--epochs", "5",
                       "--opt", "sgd", "--lr", "0.005", "--batch-size", "10", *extra).stdout

    assert run("--seed", "4") == run("--seed", "4") != run("--seed", "5")
    assert run() == run("--seed", "0")
    started = gradcli("fit", "w*x+b", "--data", TUTORIAL, "--target", "y", "--epochs", "0",
                      "--init", "w=2,b=1", "--format", "json", "--opt", "sgd")
    assert json.loads(started.stdout)["loss"] == 0.0
    one = gradcli("fit", "w*x", "--data", TUTORIAL, "--target", "y", "--epochs", "0",
                  "--init", "3", "--opt", "sgd")
    assert one.stdout == "w=3.0\n"


def test_every_optimizer_runs(gradcli):
    from gradcli.optimizers import STEP_NAMES  # lbfgs and bfgs are minimize's

    result = gradcli("fit", "w*x+b", "--data", TUTORIAL, "--target", "y", "--opt", "all",
                     "--epochs", "3", "--format", "json")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 0 and [r["opt"] for r in records] == ["lm", *STEP_NAMES]


@pytest.mark.parametrize("args, stdin, message", [
    (("--target", "z"), None, "the data has no target column 'z' (its columns: x, y)"),
    (("--target", "y", "--init", "q=1"), None,
     "--init: the model has no parameter 'q' (its parameters: b, w)"),
    (("--target", "y", "--init", "x=1"), None,
     "--init: 'x' is a data column, not a parameter (the parameters: b, w)"),
    (("--target", "y", "--init", "1"), None,
     "--init '1': a value without a name needs a model of one parameter; this one has 2 "
     "(b, w): name them, as b=0,w=0"),  # the words of --from's, from the one check
    (("--target", "y", "--data", "-"), "x,y\n1,2\n2,abc\n",
     "standard input: row 3, column 'y': 'abc' is not a number"),
    (("--target", "y", "--data", "-"), "x,y\n1,2\n2,nan\n",
     "standard input: row 3, column 'y': 'nan' is not a finite number"),
    (("--target", "y", "--data", "-"), "",
     "standard input is empty: expected a header row and rows of numbers"),
    (("--target", "y", "--data", "-"), "x,y\n", "standard input has a header but no rows of data"),
    (("--target", "y", "--data", "-"), "x,y\n1,2,3\n",
     "standard input: row 2 has 3 cells, the header has 2"),
    (("--target", "y", "--data", "nope.csv"), None, "cannot read 'nope.csv': no such file"),
    (("--target", "y", "--init", "w=inf"), None, "--init: w=inf: a starting value must be finite"),
    (("--target", "y", "--opt", "sgd", "--betas", "0.9,0.99"), None,
     "--betas does not apply to sgd (it applies to adam, adamw, adamax, nadam, radam, lion)"),
])
def test_bad_input_is_one_line_and_exit_2(gradcli, args, stdin, message):
    data = () if "--data" in args else ("--data", TUTORIAL)
    result = gradcli("fit", "w*x+b", *data, *args, input=stdin)
    assert (result.exit_code, result.stdout, result.stderr) == (
        2, "", f"gradcli: error: {message}\n")


def test_invalid_utf8_data_is_an_error_naming_the_row_on_stdin_and_in_a_file(gradcli,
                                                                             tmp_path):
    data = b"x,y\n1,2\n2,\xe94\n"  # latin-1 e-acute
    message = "row 3 is not UTF-8 text (byte 0xe9 at column 3)"
    piped = gradcli("fit", "w*x", "--data", "-", "--target", "y", input=data)
    assert (piped.exit_code, piped.stdout, piped.stderr) == (
        2, "", f"gradcli: error: standard input: {message}\n")
    path = tmp_path / "latin1.csv"
    path.write_bytes(data)
    read = gradcli("fit", "w*x", "--data", str(path), "--target", "y")
    assert (read.exit_code, read.stdout, read.stderr) == (
        2, "", f"gradcli: error: '{path}': {message}\n")


@pytest.mark.slow
def test_real_process_reports_invalid_utf8_on_stdin_without_a_traceback():
    result = subprocess.run([sys.executable, "-m", "gradcli", "fit", "w*x", "--data", "-",
                             "--target", "y"], input=b"x,y\n\x80,1\n", capture_output=True,
                            timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (
        2, b"", b"gradcli: error: standard input: row 2 is not UTF-8 text (byte 0x80 at "
                b"column 1)\n")


def test_crlf_data_on_stdin_reads_as_from_a_file(gradcli):
    result = gradcli("fit", "w*x", "--data", "-", "--target", "y", "--init", "w=2",
                     input=b"x,y\r\n1,2\r\n2,4\r\n")
    assert (result.exit_code, result.stdout) == (0, "w=2.0\n")


@pytest.mark.parametrize("model, message", [
    ("x+1", "the model has no parameters: every variable (x) is a data column"),
    ("2+3", "the model has no parameters: it has no variables (a model is written like "
            "w*x+b, with x a data column)"),
    ("w*y", "the target column 'y' cannot appear in the model"),
])
def test_model_errors(gradcli, model, message):
    result = gradcli("fit", model, "--data", TUTORIAL, "--target", "y")
    assert (result.exit_code, result.stdout, result.stderr) == (
        2, "", f"gradcli: error: {message}\n")


def test_unparsable_model_points_at_the_column(gradcli):
    result = gradcli("fit", "w*x+", "--data", TUTORIAL, "--target", "y")
    assert result.exit_code == 2
    assert result.stderr == ("gradcli: error: unexpected end of expression at column 5\n"
                             "  w*x+\n      ^\n")


def test_epochs_beyond_the_limit_are_refused_before_any_work(gradcli):
    from gradcli.limits import MAX_EPOCHS

    result = gradcli("fit", "w*x+b", "--data", "nope.csv", "--target", "y",
                     "--epochs", str(MAX_EPOCHS + 1))
    assert (result.exit_code, result.stdout, result.stderr) == (
        2, "", f"gradcli: error: --epochs {MAX_EPOCHS + 1} is beyond the limit of {MAX_EPOCHS}\n")


def test_model_without_data_columns_warns(gradcli):
    result = gradcli("fit", "w*t+b", "--data", TUTORIAL, "--target", "y", "--epochs", "1",
                     "--opt", "sgd")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[0] == (
        "gradcli: warning: the model reads no data column: its variables "
        "(b, t, w) are all parameters (the columns: x, y)")


def test_divergence_exits_1_naming_the_epoch(gradcli):
    result = gradcli("fit", "w*x+b", "--data", NOISY, "--target", "y", "--lr", "1",
                     "--format", "json", "--opt", "sgd")
    assert result.exit_code == 1
    record = json.loads(result.stdout)
    assert record["epochs"] == 83 and record["history"][-1]["epoch"] == 83
    assert result.stderr == ("gradcli: sgd diverged at epoch 83: the gradient is not finite "
                             "(try a smaller --lr)\n")


def test_a_start_outside_the_domain_says_so(gradcli):
    result = gradcli("fit", "log(w*x)", "--data", TUTORIAL, "--target", "y", "--format", "json",
                     "--opt", "sgd")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["loss"] == "inf"
    assert result.stderr == ("gradcli: sgd: the loss is not finite at the starting parameters "
                             "w=0.0 (try another --init)\n")


def test_byte_order_mark_is_not_part_of_the_first_column(gradcli):
    result = gradcli("fit", "w*x", "--data", "-", "--target", "y", "--epochs", "0",
                     "--opt", "sgd", input="\ufeffx,y\n1,2\n")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "w=0.0\n", "")


def test_ctrl_c_prints_the_epochs_done_and_exits_130(gradcli, monkeypatch):
    from gradcli.training.fit import Fitter

    real = Fitter._epoch

    def interrupted(self):
        if self.fit.epochs == 5:
            raise KeyboardInterrupt
        real(self)

    monkeypatch.setattr(Fitter, "_epoch", interrupted)
    result = gradcli(*TUTORIAL_RUN, "--format", "json", "--every", "1")
    assert result.exit_code == 130
    record = json.loads(result.stdout)
    assert record["epochs"] == 5 and [h["epoch"] for h in record["history"]] == list(range(6))
    assert result.stderr == "gradcli: interrupted after epoch 5 of 1000 (sgd)\n"


@pytest.mark.slow
def test_plot_draws_the_fit(gradcli, tmp_path):
    pytest.importorskip("matplotlib")
    one = tmp_path / "line.png"
    result = gradcli(*TUTORIAL_RUN, "--plot", str(one))
    assert result.exit_code == 0 and one.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    two = tmp_path / "plane.svg"
    result = gradcli("fit", "a*x+b*z+c", "--data", "-", "--target", "y", "--epochs", "5",
                     "--opt", "sgd,adam", "--plot", str(two), input="x,z,y\n1,2,3\n2,1,4\n")
    assert result.exit_code == 0 and b"<svg" in two.read_bytes()[:500]
    bad = gradcli(*TUTORIAL_RUN, "--plot", str(tmp_path / "x.jpg"))
    assert bad.exit_code == 2 and "use a .png or .svg file name" in bad.stderr


@pytest.mark.slow
def test_plot_of_a_diverged_run_warns_of_nothing_but_the_divergence(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "diverged.png"
    result = subprocess.run([sys.executable, "-m", "gradcli", "fit", "w*x+b", "--data", NOISY,
                             "--target", "y", "--opt", "sgd", "--lr", "1", "--plot", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and out.stat().st_size > 1000
    assert result.stderr == (f"gradcli: wrote {out}\n"
                             "gradcli: sgd diverged at epoch 83: the gradient is not finite "
                             "(try a smaller --lr)\n")


def test_help_shows_examples(gradcli):
    result = gradcli("fit", "--help")
    assert result.exit_code == 0
    # examples that run anywhere after pip install: the data on stdin, no samples/*.csv
    assert "printf 'x,y" in result.stdout and "samples/" not in result.stdout
    assert "--batch-size" in result.stdout and "--clip-norm" in result.stdout
    assert "Show every Kth epoch" in result.stdout and "the data with the fitted" in result.stdout


@pytest.mark.slow
def test_real_process_reads_the_data_on_stdin():
    with open(TUTORIAL, encoding="utf-8") as fh:
        data = fh.read()
    result = subprocess.run([sys.executable, "-m", "gradcli", "fit", "w*x+b", "--data", "-",
                             "--target", "y", "--opt", "sgd", "--lr", "0.01"],
                            input=data, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (
        0, "b=0.9859898664422495,w=2.003880582342283\n", "")


@pytest.mark.skipif(sys.platform == "win32", reason="the transcripts are bash command lines")
@pytest.mark.slow
def test_readme_fit_transcripts_are_the_real_output(gradcli, monkeypatch):
    """Plain ``gradcli ...`` lines run in-process (stdout, then stderr); pipelines in bash."""
    import os
    import shlex

    from tests.test_cli_readme import section, transcripts

    pairs = transcripts(section("fit"))
    assert len(pairs) >= 8
    monkeypatch.chdir(ROOT)
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "PYTHONWARNINGS": "ignore"}
    for command, output in pairs:
        if command.startswith("gradcli ") and not set("|;$") & set(command):  # else: bash
            result = gradcli(*shlex.split(command)[1:])
            text = result.stdout + result.stderr
        else:
            script = f'gradcli() {{ {sys.executable} -m gradcli "$@"; }}\n{command}'
            text = subprocess.run(["bash", "-c", script], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, env=env, timeout=60,
                                  cwd=ROOT).stdout
        assert [line.rstrip() for line in text.splitlines()] == output.splitlines(), command


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
@pytest.mark.slow
def test_real_ctrl_c_prints_the_epochs_done():
    import signal
    import time

    command = [sys.executable, "-m", "gradcli", "fit", "w*x+b", "--data", NOISY, "--target", "y",
               "--opt", "sgd", "--lr", "0.001", "--tol", "0", "--format", "json", "--epochs"]
    start = time.perf_counter()  # how long start-up takes here and now, to be past it
    subprocess.run(command + ["0"], capture_output=True, timeout=60, check=True)
    startup = time.perf_counter() - start
    process = subprocess.Popen(command + ["10000000"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(2 * startup + 0.5)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    record = json.loads(stdout)
    done = record["epochs"]
    assert done > 0 and record["history"][-1]["epoch"] == done
    assert stderr == f"gradcli: interrupted after epoch {done} of 10000000 (sgd)\n"


def test_shown_epochs_are_the_shared_row_selection():
    from types import SimpleNamespace

    from gradcli.cli.fit import _shown
    from gradcli.cli.options import RowSelection

    for every in (None, 1, 3, 7):
        for planned in (0, 1, 5, 20, 1000, 1001):
            for done in range(min(planned, 45) + 1):
                selection = RowSelection(every, planned)
                result = SimpleNamespace(epochs=done, losses=[0.0] * (done + 1))
                assert _shown(result, selection) == selection.select(list(range(done + 1)))
