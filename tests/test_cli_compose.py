"""Output that composes (issue 20, and issue 23's output side), through real processes:
progress on a terminal (a pty), leading-minus expressions, plain output fed back, CSV
columns that stay unique, streams that cannot be written or read, `| head -1` in every
format, and the top-level help's examples run in an empty directory."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow,  # real processes: `pytest -m "not slow"` leaves them out
              pytest.mark.skipif(os.name != "posix", reason="POSIX ptys, signals and streams")]

ROOT = Path(__file__).resolve().parent.parent
LINE = str(ROOT / "samples" / "noisy_line.csv")
GRADCLI = [sys.executable, "-m", "gradcli"]
ENV = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "PYTHONWARNINGS": "ignore"}
ERASE = b"\r\x1b[2K"


def shell(script: str, timeout: float = 120, cwd=None) -> subprocess.CompletedProcess:
    """A bash script where ``gradcli`` is this interpreter's gradcli."""
    text = f'gradcli() {{ {sys.executable} -m gradcli "$@"; }}\n{script}'
    return subprocess.run(["bash", "-c", text], capture_output=True, text=True, env=ENV,
                          timeout=timeout, cwd=cwd)


# -- progress on a terminal ---------------------------------------------------------------------
def _on_a_terminal(args, signum=None, after: float = 0.0, timeout: float = 120):
    """Run gradcli with stderr on a pty (stdout a pipe); send ``signum`` once the progress
    line has been drawn for ``after`` seconds. Returns (status, stdout, stderr bytes)."""
    import pty

    master, slave = pty.openpty()
    process = subprocess.Popen(GRADCLI + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=slave, env={**ENV, "TERM": "xterm"})
    os.close(slave)
    err, drawn_at, sent = b"", None, False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # the pty's other end closed: the process ended
                break
            if not chunk:
                break
            err += chunk
            if drawn_at is None and ERASE in err:
                drawn_at = time.monotonic()
        elif process.poll() is not None:
            break
        if signum and not sent and drawn_at is not None and time.monotonic() - drawn_at >= after:
            process.send_signal(signum)
            sent = True
    os.close(master)
    out = process.stdout.read().decode()
    process.stdout.close()
    code = process.wait(timeout=60)
    return code, out, err


def _progress_lines(err: bytes) -> list[str]:
    return [part.decode() for part in err.split(ERASE) if part and not part.startswith(b"gradcli")]


def test_minimize_shows_its_progress_on_a_terminal_and_ctrl_c_erases_it():
    """After a second: name, bar, steps, the current f and an ETA; Ctrl-C erases it before
    'interrupted', and the point reached is written (plain: --from syntax)."""
    code, out, err = _on_a_terminal(
        ["minimize", "(x-3)**2+sin(x)", "--opt", "adam", "--lr", "0.001", "--steps", "10000000",
         "--tol", "0", "--format", "plain"], signal.SIGINT, after=0.5)
    assert code == 130, err
    drawn = _progress_lines(err.split(b"gradcli: interrupted")[0])
    assert drawn, err
    last = re.fullmatch(r"adam  \[[#-]{24}\]  (\d+)/10000000  f=(\S+)  (\d+:\d\d)  ETA (\S+)",
                        drawn[-1].strip())
    assert last, drawn[-1]
    done = int(re.search(rb"interrupted after (\d+) steps of adam", err).group(1))
    assert 0 < int(last.group(1)) <= done < 10_000_000
    # the progress line is gone before the message: erase, then the message, nothing after
    assert err.rstrip().endswith(ERASE + f"gradcli: interrupted after {done} steps of adam"
                                 .encode())
    x = float(re.fullmatch(r"x=(\S+)\n", out).group(1))
    assert 0 < x < 3.48  # from 0 towards the minimum near 3.4728 (where adam hovers)


def test_fit_progress_shows_the_loss_and_is_erased_at_the_end():
    code, out, err = _on_a_terminal(
        ["fit", "w*x+b", "--data", LINE, "--target", "y", "--opt", "sgd", "--lr", "0.0001",
         "--epochs", "300000", "--tol", "0", "--format", "plain"])
    assert code == 0, err
    drawn = _progress_lines(err)
    assert drawn and all(re.fullmatch(r"fit  \[[#-]{24}\]  \d+/300000  loss=\S+  \d+:\d\d"
                                      r"(  ETA \S+)?", line.strip()) for line in drawn), drawn
    assert err.endswith(ERASE)  # nothing of it stays on the screen
    assert re.fullmatch(r"b=\S+,w=\S+\n", out)


def test_check_progress_ticks_while_the_reference_works_and_sigterm_erases_it():
    """check at order 2000: SymPy works for seconds on the one point; the line's clock moves
    (no step is done meanwhile), SIGTERM erases it, writes the orders done, exits 143."""
    code, out, err = _on_a_terminal(["check", "sin(x)*exp(x)", "--at", "0.3", "--order", "2000",
                                     "--reference", "sympy", "--format", "plain"],
                                    signal.SIGTERM, after=1.2)
    assert code == 143, err
    drawn = _progress_lines(err.split(b"gradcli: terminated")[0])
    assert all(re.fullmatch(r"check  \[-{24}\]  0/1  \d+:\d\d", line.strip()) for line in drawn)
    assert len(set(drawn)) >= 2  # the clock moved
    assert err.rstrip().endswith(ERASE + b"gradcli: terminated")
    assert re.fullmatch(r"ok \S+ \(orders? (\d+\.\.)?2000 not checked: interrupted\)\n", out)


def test_no_progress_off_a_terminal():
    result = subprocess.run(GRADCLI + ["minimize", "(x-3)**2", "--opt", "adam", "--lr", "0.001",
                                       "--steps", "3000000", "--tol", "0", "--format", "plain"],
                            capture_output=True, text=True, env=ENV, timeout=120)
    assert (result.returncode, result.stderr) == (0, "")


# -- leading minus --------------------------------------------------------------------------------
@pytest.mark.parametrize("script, status, out", [
    ("gradcli eval '-x**2' --at 3", 0, "-9.0\n"),
    ("gradcli eval '-1+x' --at 3", 0, "2.0\n"),
    ("gradcli diff --at 2 '-x**3' --order 2", 0, "-12.0\n"),
    ("gradcli eval -- '-x' --at 3", 0, "-3.0\n"),
    ("gradcli eval x --at 3 --bogus", 2, ""),
    ("gradcli eval -q x --at 3", 2, ""),
])
def test_a_leading_minus_in_a_real_shell(script, status, out):
    result = shell(script)
    assert (result.returncode, result.stdout) == (status, out), result.stderr
    if status:
        assert result.stderr.startswith("gradcli: error: no such option")
    else:
        assert result.stderr == ""


# -- plain output fed back ------------------------------------------------------------------------
def test_opt_all_plain_lines_feed_back_and_name_their_point():
    """`NAME x=..,y=..` per optimizer: each point, given to eval, has the value that run's
    JSON record reports; and a line fed to --from starts a run there."""
    args = "'(1-x)**2+100*(y-x**2)**2' --opt all --from x=-1.5,y=2 --steps 50 --tol 0"
    plain = shell(f"gradcli minimize {args} --format plain")
    records = [json.loads(line) for line in
               shell(f"gradcli minimize {args} --format json").stdout.splitlines()]
    lines = plain.stdout.splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == [r["opt"] for r in records]
    for line, record in zip(lines, records):
        name, point = line.split(" ", 1)
        assert point == ",".join(f"{k}={v!r}" for k, v in record["point"].items())
        if record["value"] in ("inf", "nan"):
            continue
        value = shell(f"gradcli eval '(1-x)**2+100*(y-x**2)**2' --at {point}").stdout
        assert float(value) == record["value"], name
    again = shell(f"gradcli minimize {args} --format plain | grep '^newton ' | "
                  "while read name point; do gradcli minimize '(1-x)**2+100*(y-x**2)**2' "
                  "--opt newton --from \"$point\" --steps 0 --format json; done")
    assert json.loads(again.stdout)["point"] == records[-3]["point"]  # newton's, as given


# -- CSV columns that stay unique -----------------------------------------------------------------
@pytest.mark.parametrize("model", ["loss*x+epoch", "opt*x+loss", "iteration*x+opt"])
@pytest.mark.parametrize("method", ["lm", "adam"])
def test_fit_csv_columns_stay_unique_with_parameters_named_like_them(model, method):
    """issue 23: a parameter named loss, epoch or opt wrote `opt,epoch,loss,epoch,loss`, and
    a CSV reader took the parameter for the loss. Each column read back by name."""
    data = "x,y\n1,2\n2,4.1\n3,5.9\n4,8.2\n"
    result = shell(f"printf '{data}' | gradcli fit '{model}' --data - --target y --opt {method} "
                   f"--epochs 3 --format csv")
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0].split(",")
    assert len(header) == len(set(header)), header
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    records = json.loads(shell(f"printf '{data}' | gradcli fit '{model}' --data - --target y "
                               f"--opt {method} --epochs 3 --format json").stdout)
    last = rows[-1]
    assert float(last["loss"]) == records["loss"]
    for name, value in records["params"].items():
        column = f"params[{name}]" if name in ("opt", "epoch", "loss") else name  # CSV's own
        assert float(last[column]) == value, (name, header)


# -- streams that cannot be written or read ---------------------------------------------------
EVERY_COMMAND = [
    "eval 'x**2' --at 3",
    "diff 'x**3' --at 2 --order 2 --format table",
    "grad 'x*y' --at x=1,y=2 --hessian --format json",
    "taylor 'exp(x)' --at 1 --order 5",
    "check 'sin(x)' --at 1 --format csv",
    "minimize '(x-3)**2' --opt adam --lr 0.1 --format table",
    f"fit 'w*x+b' --data {LINE} --target y",
    "graph 'x*sin(x)' --at 1 --format tree",
    "functions",
    "--help",
    "--version",
]


@pytest.mark.parametrize("redirect, message", [
    (">&-", "gradcli: error: cannot write the output: stdout is closed\n"),
    ("> /dev/full", "gradcli: error: cannot write the output: no space left on the device\n"),
])
@pytest.mark.parametrize("command", EVERY_COMMAND)
def test_an_unwritable_stdout_is_one_error_for_every_command(command, redirect, message):
    if "full" in redirect and not os.path.exists("/dev/full"):
        pytest.fail("/dev/full is missing: this test needs Linux's full device")
    result = shell(f"gradcli {command} {redirect}")
    assert (result.returncode, result.stderr) == (2, message)


@pytest.mark.parametrize("command", EVERY_COMMAND)
def test_a_closed_stdin_is_no_traceback_for_every_command(command):
    result = shell(f"gradcli {command} <&-")
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_a_closed_stdin_read_as_points_or_expressions_is_empty():
    for script in ("gradcli diff x --at - <&-", "gradcli check - --at 1 <&-",
                   "gradcli minimize - <&-", "gradcli fit 'w*x' --data - --target y <&-"):
        result = shell(script)
        assert "Traceback" not in result.stderr and result.returncode in (0, 2), script


# -- `| head -1` ---------------------------------------------------------------------------------
HEAD = [
    "diff 'x**3' --at - --order 2",
    "grad 'x**2*y' --at - --hessian",
    "check 'x**2' --at -",
    "taylor 'exp(x)' --at - --order 3",
]


@pytest.mark.parametrize("fmt", ["table", "plain", "csv", "json"])
@pytest.mark.parametrize("command", HEAD)
def test_head_ends_every_format_of_every_command_alike(command, fmt):
    """issue 23: `--format table | head -1` exited 1 where the other formats give 141."""
    points = "x=$i,y=2" if "grad" in command else "$i"
    result = shell(f"for i in $(seq 1 20000); do echo \"{points}\"; done | "
                   f"gradcli {command} --format {fmt} 2>/dev/null | head -1 >/dev/null; "
                   f"echo ${{PIPESTATUS[1]}}")
    assert result.stdout.strip() in ("0", "141"), (command, fmt)


def test_head_on_a_long_iteration_table_ends_quietly():
    result = shell("gradcli minimize '(x-3)**2' --opt sgd --lr 1e-6 --steps 20000 --every 1 "
                   "--tol 0 --format table | head -1; echo \"status ${PIPESTATUS[0]}\"")
    assert result.stdout.splitlines() == ["(x-3)**2  (sgd)", "status 141"] or \
        result.stdout.splitlines() == ["(x-3)**2  (sgd)", "status 0"], result.stdout
    assert result.stderr == ""


# -- the top-level help's examples -------------------------------------------------------------
def test_every_example_of_the_top_level_help_runs_in_an_empty_directory(tmp_path):
    """issue 20 item 7 for `gradcli --help` (test_cli_common covers each subcommand's)."""
    from gradcli.cli import cli

    examples = [line.strip() for line in (cli.epilog or "").splitlines()
                if line.strip().startswith("gradcli ") or "| gradcli " in line]
    assert len(examples) >= 5
    for example in examples:
        assert "samples/" not in example
        result = shell(example, cwd=tmp_path)
        assert result.returncode == 0, (example, result.stderr)
        assert result.stdout and "error" not in result.stderr, example


# -- SIGTERM as Ctrl-C, in fit too -------------------------------------------------------------
def test_sigterm_during_fit_writes_the_epochs_done_as_one_json_record_and_exits_143():
    process = subprocess.Popen(GRADCLI + ["fit", "w*x+b", "--data", LINE, "--target", "y",
                                          "--opt", "sgd", "--lr", "0.0001", "--epochs",
                                          "10000000", "--tol", "0", "--format", "json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    time.sleep(3.0)  # started, and well into the epochs
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    done = int(re.fullmatch(r"gradcli: terminated after epoch (\d+) of 10000000 \(sgd\)\n",
                            stderr).group(1))
    (record,) = [json.loads(line) for line in stdout.splitlines()]  # one whole record
    assert record["interrupted"] is True and record["converged"] is False
    assert record["opt"] == "sgd" and record["epochs"] == done > 0
    assert record["history"][-1]["epoch"] == done
    assert record["history"][-1]["loss"] == record["loss"] < record["history"][0]["loss"]


def test_ctrl_c_during_fit_on_a_terminal_erases_the_progress_before_the_table():
    """issue 20: fit left its progress bar on screen after Ctrl-C, the table running on from
    it. stdout and stderr on one pty, as a terminal shows them: the line is erased before
    the table's first line."""
    import pty

    master, slave = pty.openpty()
    process = subprocess.Popen(GRADCLI + ["fit", "w*x+b", "--data", LINE, "--target", "y",
                                          "--opt", "sgd", "--lr", "0.0001", "--epochs",
                                          "10000000", "--tol", "0", "--format", "table"],
                               stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                               env={**ENV, "TERM": "xterm"})
    os.close(slave)
    screen, sent = b"", False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
        elif process.poll() is not None:
            break
        if not sent and screen.count(b"fit  [") >= 3:
            process.send_signal(signal.SIGINT)
            sent = True
    os.close(master)
    assert process.wait(timeout=60) == 130
    title = b"w*x+b fitted to y: sgd"
    before, _, table = screen.partition(title)
    assert b"fit  [" in before and before.endswith(ERASE), before[-200:]
    assert b"fit  [" not in table and table.count(b"\r\n") > 5
    assert re.search(rb"gradcli: interrupted after epoch \d+ of 10000000 \(sgd\)", table)
