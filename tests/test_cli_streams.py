"""SIGTERM, closed and full streams, through real processes (SPEC 6.4, issue 23)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow,  # real processes: `pytest -m "not slow"` leaves them out
              pytest.mark.skipif(os.name != "posix", reason="POSIX signals and streams")]
GRADCLI = [sys.executable, "-m", "gradcli"]
ENV = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "PYTHONWARNINGS": "ignore"}


def _terminate(args: list[str]) -> tuple[int, str, str]:
    process = subprocess.Popen(GRADCLI + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=ENV)
    time.sleep(3.0)  # started, and well into the run
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, stdout, stderr


def test_sigterm_during_minimize_writes_what_was_done_and_exits_143():
    code, stdout, stderr = _terminate(
        ["minimize", "(x-3)**2+sin(x)", "--opt", "adam", "--lr", "0.001", "--steps", "10000000",
         "--tol", "0", "--format", "json"])
    assert code == 143, stderr
    assert "Traceback" not in stderr
    assert stderr.startswith("gradcli: terminated after ") and stderr.endswith(" steps of adam\n")
    record = json.loads(stdout)  # one whole record
    assert record["interrupted"] is True and record["converged"] is False
    assert 0 < record["steps"] < 10_000_000 and record["history"][-1]["step"] == record["steps"]


def test_sigterm_while_reading_stdin_exits_143_quietly():
    process = subprocess.Popen(GRADCLI + ["eval", "x", "--at", "-"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    process.stdin.write(b"1\n")
    process.stdin.flush()
    assert process.stdout.readline() == b"1.0\n"
    process.send_signal(signal.SIGTERM)
    rest, stderr = process.communicate(timeout=60)
    assert (process.returncode, rest, stderr) == (143, b"", b"gradcli: terminated\n")


@pytest.mark.parametrize("fmt", ["table", "plain", "csv", "json"])
def test_head_closing_a_table_exits_as_other_formats(fmt):
    """issue 23: `--format table | head -1` exited 1 (rich's own broken-pipe exit)."""
    script = (f"{sys.executable} -m gradcli eval x --at - --format {fmt} < <(seq 1 100000) "
              f"| head -1 >/dev/null; echo ${{PIPESTATUS[0]}}")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=ENV,
                            timeout=120)
    assert result.stdout.strip() in ("0", "141"), result.stderr
    assert "Traceback" not in result.stderr and result.stderr == ""


@pytest.mark.parametrize("redirect, why", [(">&-", "stdout is closed"),
                                           ("> /dev/full", "no space left on the device")])
def test_a_stdout_that_cannot_be_written_is_one_clear_error(redirect, why):
    if redirect.endswith("/dev/full") and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    script = f"{sys.executable} -m gradcli eval 'x**2' --at 3 {redirect}"
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=ENV,
                            timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"gradcli: error: cannot write the output: {why}\n"


def test_ctrl_c_while_a_long_json_record_waits_on_a_slow_pipe_leaves_whole_records():
    """issue 23: records of ~15 KB each (1501 derivatives), the reader slow: Ctrl-C while
    gradcli is blocked writing must not leave half a record (a buffered stream lost the tail)."""
    points = "".join(f"{1 + i / 100}\n" for i in range(40))
    process = subprocess.Popen(GRADCLI + ["diff", "exp(x)/(2+x)", "--at", "-", "--order", "1500",
                                          "--format", "json"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=ENV)
    process.stdin.write(points.encode())
    process.stdin.close()
    first = b""
    while len(first) < 100_000:  # read slowly: gradcli fills the pipe and waits
        first += os.read(process.stdout.fileno(), 5000)
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    out = first + process.stdout.read()
    assert process.wait(timeout=60) == 130
    lines = out.decode().split("\n")
    assert lines[-1] == ""  # ends with a newline: no record cut
    records = [json.loads(line) for line in lines[:-1]]
    assert 5 < len(records) < 40 and all(len(r["derivatives"]) == 1501 for r in records)


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children, from /proc."""
    def fields(entry):
        try:
            return Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None

    own = fields(pid)
    if own is None:
        return 0.0
    ticks = int(own[11]) + int(own[12])
    for entry in os.listdir("/proc"):
        child = fields(entry) if entry.isdigit() else None
        if child is not None and child[1] == str(pid):
            ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def test_ctrl_c_during_check_over_many_points_writes_the_points_done(tmp_path):
    """issue 23: Ctrl-C in the middle of a batch of points printed nothing of it. 20,000
    points in one batch (all of them take about 15 s of CPU; the issue's 5,000 finish within
    4 s on a quiet machine), Ctrl-C once 2 s of CPU went into them (the start-up takes about
    0.5): the points checked are written, each whole, in order."""
    if not os.path.isdir("/proc/self"):
        pytest.fail("this test measures the run's CPU time in /proc")
    xs = [0.1 + i / 10000 for i in range(20000)]
    points = tmp_path / "points.txt"
    points.write_text("".join(f"{x}\n" for x in xs))
    with points.open() as stdin:
        process = subprocess.Popen(GRADCLI + ["check", "sin(x)*exp(x)", "--at", "-", "--order",
                                              "3", "--format", "json"],
                                   stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=ENV)
        deadline = time.monotonic() + 120
        while process.poll() is None and _cpu_seconds(process.pid) < 2.0:
            assert time.monotonic() < deadline, "the run never got 2 s of CPU"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    records = [json.loads(line) for line in stdout.decode().splitlines()]
    assert 0 < len(records) < len(xs)
    assert [r["point"]["x"] for r in records] == xs[:len(records)]
    assert all(r["ok"] and not r["interrupted"] for r in records[:-1])
    assert stderr.decode().endswith("gradcli: interrupted\n")


@pytest.mark.parametrize("script, status, out", [
    ("eval x --at - <&-", 0, ""),               # stdin closed: read as empty
    ("eval - --at 1 <&-", 0, ""),
    ("eval 'log(x)' --at -1 2>&-", 0, "nan\n"),  # stderr closed: the warning has nowhere to go
    ("eval 2x 2>&-", 2, ""),
])
def test_closed_stdin_and_stderr_are_no_traceback(script, status, out):
    result = subprocess.run(["bash", "-c", f"{sys.executable} -m gradcli {script}"],
                            capture_output=True, text=True, env=ENV, timeout=60)
    assert (result.returncode, result.stdout) == (status, out)
    assert "Traceback" not in result.stderr
