"""Progress on stderr (SPEC 2 and 6.4): only on a terminal, only after a second, with the
current f and an ETA when the step count is known, erased at the end and on interrupt."""
from __future__ import annotations

import io
import time

import pytest

from gradcli.cli import progress


def test_the_line_has_the_count_f_and_an_eta():
    line = progress.progress_line("adam", 250, 1000, 10.0, f=0.125)
    # 250 of 1000 in 10 s: 750 more at the same pace take 30 s
    assert line.split("  ") == ["adam", "[" + "#" * 6 + "-" * 18 + "]", "250/1000", "f=0.125",
                                "0:10", "ETA 0:30"]
    assert progress.progress_line("check", 3, None, 75.0) == "check  3  1:15"  # no total: no ETA


def test_nothing_is_drawn_off_a_terminal(capsys):
    with progress.progress_bar(100, "adam", delay=0.0) as advance:
        advance(50, 1.0)
    assert capsys.readouterr().err == ""


def test_the_line_is_erased_at_the_end_and_on_interrupt():
    out = io.StringIO()
    with progress.progress_bar(10, "fit", delay=0.0, stream=out) as advance:
        advance(5, 2.5)
    assert "fit" in out.getvalue() and "5/10" in out.getvalue() and "f=2.5" in out.getvalue()
    assert out.getvalue().endswith("\r\x1b[2K")  # nothing of it stays on screen
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        with progress.progress_bar(10, "fit", delay=0.0, stream=out) as advance:
            advance(3)
            raise KeyboardInterrupt
    assert out.getvalue().endswith("\r\x1b[2K")


@pytest.mark.slow
def test_a_ticking_line_moves_while_one_step_lasts_and_messages_erase_it():
    out = io.StringIO()
    with progress.progress_bar(2, "check", delay=0.0, stream=out, ticking=True):
        time.sleep(1.2)  # one long point: the thread redraws the elapsed time
        drawn = out.getvalue().count("check")
        progress.erase_line()
        assert out.getvalue().endswith("\r\x1b[2K")
    assert drawn >= 2
    assert out.getvalue().endswith("\r\x1b[2K")


def test_a_short_run_draws_nothing():
    out = io.StringIO()
    with progress.progress_bar(10, "adam", delay=1.0, stream=out) as advance:
        advance(10, 0.0)
    assert out.getvalue() == ""


@pytest.mark.slow
def test_a_long_taylor_run_is_announced_with_its_estimate_before_the_work():
    # issue 23: order 2000 of a 1,000-term sum took 84 s with no progress and no estimate
    import subprocess
    import sys

    text = "+".join(f"sin({i}*x)" for i in range(1, 1001))
    proc = subprocess.Popen([sys.executable, "-m", "gradcli", "diff", text, "--at", "0.5",
                             "--order", "2000"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()   # said before the work, not after it
    finally:
        proc.kill()
        proc.communicate()
    assert "order 2000 over 4,0" in first and "takes about" in first and "--order" in first, first


def test_short_taylor_work_is_not_announced():
    from gradcli.cli.progress import announce_long_taylor
    import gradcli as gc

    said = []
    announce_long_taylor(gc.parse("exp(sin(x))/(1+x**2)"), "x", 1000, said.append)
    assert said == []
