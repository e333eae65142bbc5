"""A logarithm's base 0 or inf (issue 23): log(x, b) is log(x)/log(b), so log(2, 0) is
-0.0, the limit of log(2)/log(b) as b -> 0+ (SPEC 4's value by continuity, kept: every
engine gives it), but never silently: the CLI warns, naming log(0.0) and the point."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

import gradcli as gc
from gradcli.nonfinite import log_base_origin


def run(*args):
    done = subprocess.run([sys.executable, "-m", "gradcli", *args], capture_output=True,
                          text=True, timeout=60)
    assert "Traceback" not in done.stderr
    return done


@pytest.mark.slow
@pytest.mark.parametrize("args, warning, stdout", [
    (["eval", "log(x, 0)", "--at", "x=2"], "log(0.0) is -inf at x=2.0", "-0.0"),
    (["diff", "log(x, 0)", "--at", "x=2"], "log(0.0) is -inf at x=2.0", "-0.0"),
    (["eval", "log(x, y)", "--at", "x=2,y=0"], "log(0.0) is -inf at x=2.0, y=0.0", "-0.0"),
    (["eval", "log(x, exp(y))", "--at", "x=2,y=1000"], "log(inf) is inf at x=2.0, y=1000.0",
     "0.0"),
])
def test_a_base_of_0_or_inf_is_warned_through_the_cli(args, warning, stdout):
    done = run(*args)
    assert done.returncode == 0
    assert done.stdout.split() == [stdout]
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradcli: warning: ")
    assert warning in lines[0] and "base is > 0 and != 1" in lines[0]


def test_the_value_is_the_limit_as_the_base_tends_to_0():
    """log(2)/log(b) tends to -0.0 from below as b -> 0+ (b = 1e-300: -0.0010034, log(1e-300)
    = -300 log(10) = -690.78); the value at b = 0 is that limit, in every engine."""
    assert math.log(2) / (-300 * math.log(10)) == pytest.approx(-0.0010034, rel=1e-4)
    e = gc.parse("log(x, 0)")
    assert math.copysign(1.0, float(e.evaluate({"x": 2.0}))) == -1.0
    assert float(e.evaluate({"x": 2.0})) == 0.0
    assert [float(v) for v in e.derivatives("x", order=1, at={"x": 2.0})] == [0.0, 0.0]


@pytest.mark.slow
def test_a_good_base_and_a_base_of_1_are_unchanged():
    done = run("eval", "log(x, 2)", "--at", "x=8")
    assert (done.stdout.split(), done.stderr) == (["3.0"], "")
    done = run("eval", "log(x, 1)", "--at", "x=2")   # inf: the division is named, as before
    assert done.stdout.split() == ["inf"]
    assert "0.6931471805599453/0.0 is inf at x=2.0" in done.stderr


def test_an_infinite_point_explains_its_own_result():
    assert log_base_origin(gc.parse("log(x, y)"),
                           {"x": np.array([2.0]), "y": np.array([math.inf])}) is None
    assert log_base_origin(gc.parse("log(x)/2"), {"x": np.array([0.0])}) is None
