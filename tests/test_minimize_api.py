"""gc.minimize (training/minimize.py): the command line's engine in one call, with errors that
name the argument. The numbers are the run loop's (checked against torch and scipy in
test_lbfgs); these tests check the plumbing: start, bounds, opt and options reach it."""
import math

import pytest

import gradcli as gc
from gradcli.compiled.program import compile_expression
from gradcli.optimizers import make
from gradcli.training.descend import descend

ROSENBROCK = "(1-x)**2+100*(y-x**2)**2"


def test_the_module_docstring_example():
    run = gc.minimize(ROSENBROCK, {"x": -1.5, "y": 2})
    assert (run.converged, run.name, run.steps, run.evaluations[-1]) == (True, "lbfgs", 40, 51)
    same = descend(compile_expression(gc.parse(ROSENBROCK)).point_function(), [-1.5, 2.0],
                   make("lbfgs"), 1000, 1e-10)
    assert list(run.final[0]) == list(same.final[0])
    assert run.point == {"x": same.final[0][0], "y": same.final[0][1]}


def test_start_as_a_sequence_a_mapping_or_nothing():
    assert gc.minimize("(x-1)**2+(y-2)**2", [5, 5]).point == pytest.approx({"x": 1, "y": 2})
    run = gc.minimize("(x-1)**2+(y-2)**2", {"y": 7.0}, opt="sgd", lr=0.1, steps=0)
    assert run.point == {"x": 0.0, "y": 7.0} and run.steps == 0
    assert gc.minimize(gc.parse("(x-1)**2"), opt="newton").point == {"x": 1.0}


def test_options_and_bounds_reach_the_optimizer():
    run = gc.minimize("(x-3)**2+(y+1)**2", opt="adam", lr=0.1, steps=3000,
                      bounds={"x": (-1, 1), "y": (0, None)})
    assert run.point == {"x": 1.0, "y": 0.0} and run.active_bounds == {"x": "upper", "y": "lower"}
    assert run.optimizer.lr == 0.1 and run.converged
    text = gc.minimize(ROSENBROCK, [-1.5, 2], bounds="x=:0.5", opt="bfgs")
    assert text.point["x"] == 0.5 and text.point["y"] == pytest.approx(0.25, abs=1e-9)
    maximum = gc.minimize("-(x-2)**2", maximize=True, opt="lbfgs")
    assert maximum.point == pytest.approx({"x": 2.0})


@pytest.mark.parametrize("kw, message", [
    ({"start": {"q": 1}}, "start: the expression has no variable 'q' (its variables: x, y)"),
    ({"start": [1, 2, 3]}, "start: 3 values for 2 variables (x, y)"),
    ({"start": [1, math.nan]}, "start: every value must be finite"),
    ({"start": ["a", 1]}, "start: expected numbers"),
    ({"bounds": "x=2:1"}, "bounds: bounds x=2.0:1.0: the lower bound 2.0 is above"),
    ({"bounds": {"x": (1, 2)}}, "bounds: the start x=0.0 is outside its bounds x=1.0:2.0"),
    ({"bounds": {"z": (1, 2)}}, "bounds: the expression has no variable 'z'"),
    ({"opt": "nope"}, "opt 'nope': unknown optimizer 'nope'"),
    ({"opt": "sgd", "lr": -1}, "opt 'sgd': lr must be a finite number >= 0"),
    ({"opt": "lbfgs", "clip_norm": 1.0}, "opt 'lbfgs': lbfgs does not take clip_norm"),
    ({"steps": -1}, "steps must be an integer >= 0, got -1"),
    ({"tol": math.nan}, "tol must be a finite number >= 0, got nan"),   # as --tol nan
    ({"tol": -1.0}, "tol must be a finite number >= 0, got -1.0"),
    ({"tol": "1e-3"}, "tol must be a finite number >= 0, got '1e-3'"),
])
def test_errors_name_the_argument(kw, message):
    with pytest.raises(gc.GradcliError) as info:
        gc.minimize("x**2+y**2", **kw)
    assert str(info.value).startswith(message)


def test_a_constant_has_nothing_to_minimize():
    with pytest.raises(gc.GradcliError, match="has no variables"):
        gc.minimize("3")
