"""fit --bounds (SPEC 6.3): box bounds on the parameters, for lm and the gradient methods.

Oracles: scipy.optimize.least_squares(method="trf", bounds=...) and curve_fit(bounds=...)
(a different algorithm: trust-region reflective), scipy.optimize.lsq_linear for a linear
model (bounded linear least squares, solved exactly by BVLS), and closed forms: with k held at
a bound, a*exp(-k*t)'s best a is sum(y e)/sum(e^2), e = exp(-k t). Where no bound is active,
the answer must be the unbounded fit's.
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import curve_fit, least_squares, lsq_linear

import gradcli as gc
from gradcli.errors import GradcliError
from gradcli.training.dataset import read_csv

ROOT = Path(__file__).resolve().parent.parent
DECAY = str(ROOT / "samples" / "exponential_decay.csv")  # 40 points of 5*exp(-0.7t) + noise
TIGHT = dict(ftol=1e-15, xtol=1e-15, gtol=1e-15)
INF = math.inf


def decay():
    data = read_csv(DECAY).data
    return data["t"], data["y"]


def trf(start, lower, upper):
    """scipy's trust-region reflective answer for a*exp(-k*t), exact Jacobian."""
    t, y = decay()

    def jac(p):
        e = np.exp(-p[1] * t)
        return np.stack([e, -p[0] * t * e], axis=1)

    out = least_squares(lambda p: p[0] * np.exp(-p[1] * t) - y, start, jac=jac,
                        bounds=(lower, upper), method="trf", **TIGHT)
    assert out.success
    return out.x


# -- lm --------------------------------------------------------------------------------------
def test_lm_with_an_active_upper_bound_is_trf_and_the_closed_form():
    result = gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 0.3},
                    bounds={"k": (None, 0.5)})
    t, y = decay()
    e = np.exp(-0.5 * t)
    a_best = float(y @ e / (e @ e))  # k held at 0.5: linear least squares in a
    assert result.converged and result.opt == "lm"
    assert result.estimate[1] == 0.5
    assert result.estimate[0] == pytest.approx(a_best, rel=1e-12)
    np.testing.assert_allclose(result.estimate, trf([1, 0.3], [-INF, -INF], [INF, 0.5]),
                               rtol=1e-10)
    assert result.active_bounds == {"k": "upper"}
    assert result.grad_norm < 1e-12  # the projected gradient: the KKT conditions
    # unbounded, k is 0.696: the bound costs RSS
    free = gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 0.3})
    assert free.estimate[1] == pytest.approx(0.69598, abs=1e-5) and result.rss > free.rss


def test_lm_stderr_at_an_active_bound_is_curve_fits():
    t, y = decay()

    def f(t, a, k):
        return a * np.exp(-k * t)

    def jac(t, a, k):
        e = np.exp(-k * t)
        return np.stack([e, -a * t * e], axis=1)

    p, cov = curve_fit(f, t, y, p0=[1, 0.3], jac=jac, bounds=([-INF, -INF], [INF, 0.5]),
                       **TIGHT)
    result = gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 0.3},
                    bounds="k=:0.5")
    np.testing.assert_allclose(result.estimate, p, rtol=1e-10)
    np.testing.assert_allclose(result.covariance, cov, rtol=1e-6)
    np.testing.assert_allclose(result.stderr, np.sqrt(np.diag(cov)), rtol=1e-6)


def test_lm_with_two_active_bounds_is_trf():
    result = gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 0.8},
                    bounds={"a": (None, 4.5), "k": (0.75, None)})
    expected = trf([1, 0.8], [-INF, 0.75], [4.5, INF])
    np.testing.assert_allclose(result.estimate, expected, rtol=1e-12)
    assert list(result.estimate) == [4.5, 0.75]
    assert result.active_bounds == {"a": "upper", "k": "lower"} and result.converged
    assert result.message == "every parameter is on a bound, its gradient pointing out of the box"


def test_lm_three_parameters_two_of_them_on_bounds_is_trf():
    t, y = decay()

    def jac(p):
        e = np.exp(-p[1] * t)
        return np.stack([e, -p[0] * t * e, np.ones_like(t)], axis=1)

    lower, upper = [0, 0, 0.05], [10, 0.6, 1]
    expected = least_squares(lambda p: p[0] * np.exp(-p[1] * t) + p[2] - y, [1, 0.3, 0.5],
                             jac=jac, bounds=(lower, upper), method="trf", **TIGHT).x
    result = gc.fit("a*exp(-k*t)+c", DECAY, target="y", init={"a": 1, "k": 0.3, "c": 0.5},
                    bounds="a=0:10,k=0:0.6,c=0.05:1")
    assert result.params == ["a", "c", "k"]
    np.testing.assert_allclose(result.values()["a"], expected[0], rtol=1e-9)
    np.testing.assert_allclose(result.values()["k"], expected[1], rtol=1e-9)
    np.testing.assert_allclose(result.values()["c"], expected[2], rtol=1e-9)
    assert result.active_bounds == {"c": "lower", "k": "upper"} and result.converged
    assert list(expected[1:]) == pytest.approx([0.6, 0.05], rel=1e-12)  # trf's: the same


@pytest.mark.parametrize("lower, upper, start", [
    # boxes where clipped steps once went uphill: lm then cycled between two points (the
    # first) or never shrank its trust region (the second) until the evaluation cap
    ([3.6834, 0.2502, -0.8493], [6.0717, 0.8933, -0.4591], [6.0417, 0.5113, -0.7323]),
    ([0.3215, 0.1973, -0.9023], [2.6116, 1.1379, -0.7407], [2.3532, 0.4943, -0.7816]),
])
def test_lm_clipped_steps_that_go_uphill_are_refused(lower, upper, start):
    t, y = decay()

    def residuals(p):
        return p[0] * np.exp(-p[1] * t) + p[2] - y

    def jac(p):
        e = np.exp(-p[1] * t)
        return np.stack([e, -p[0] * t * e, np.ones_like(t)], axis=1)

    expected = least_squares(residuals, start, jac=jac, bounds=(lower, upper), method="trf",
                             **TIGHT).x
    result = gc.fit("a*exp(-k*t)+c", DECAY, target="y", init=dict(zip("akc", start)),
                    bounds={n: (lo, hi) for n, lo, hi in zip("akc", lower, upper)})
    assert result.converged and result.evaluations < 100
    losses = [m for m, _ in result.history]
    assert losses == sorted(losses, reverse=True)  # every accepted step lowered the RSS
    rss = float(residuals(expected) @ residuals(expected))
    assert result.rss <= rss * (1 + 1e-12)
    got = [result.values()[n] for n in "akc"]
    np.testing.assert_allclose(got, expected, rtol=1e-7)


@settings(max_examples=40, deadline=None)
@given(lower=st.tuples(st.floats(0, 6), st.floats(0, 1), st.floats(-1, 0.5)),
       width=st.tuples(st.floats(0.01, 5), st.floats(0.01, 1), st.floats(0.01, 1)),
       where=st.tuples(*[st.floats(0, 1)] * 3))
def test_lm_in_random_boxes_is_no_worse_than_trf(lower, width, where):
    t, y = decay()
    # rounded: a start of 1e-38 is MINPACK's own trap (its first trust region is 100 |D x0|,
    # about 1e-36: it stops at once), with or without bounds
    lower = np.round(lower, 4)
    upper = lower + np.round(width, 4)
    start = np.round(lower + (upper - lower) * np.array(where), 4)

    def residuals(p):
        return p[0] * np.exp(-p[1] * t) + p[2] - y

    def jac(p):
        e = np.exp(-p[1] * t)
        return np.stack([e, -p[0] * t * e, np.ones_like(t)], axis=1)

    start = np.clip(start, lower, upper)
    expected = least_squares(residuals, start, jac=jac, bounds=(lower, upper), method="trf",
                             **TIGHT).x
    result = gc.fit("a*exp(-k*t)+c", DECAY, target="y", init=dict(zip("akc", start)),
                    bounds={n: (lo, hi) for n, lo, hi in zip("akc", lower, upper)})
    rss = float(residuals(expected) @ residuals(expected))
    assert result.converged and result.rss <= rss * (1 + 1e-9)
    assert all(np.all((lower <= p[[0, 2, 1]]) & (p[[0, 2, 1]] <= upper))
               for _, p in result.history)  # params are a, c, k


def test_lm_parameters_held_by_bounds_need_not_be_identifiable():
    # at k = 0, a*exp(-k*t)+c is a+c: a and c are not identifiable, but both are on bounds
    result = gc.fit("a*exp(-k*t)+c", DECAY, target="y", init={"a": 0, "k": 0, "c": 0},
                    bounds="a=0:0.25,k=0:1,c=0:0.25")
    assert result.values() == {"a": 0.25, "c": 0.25, "k": 0.0}
    assert result.active_bounds == {"a": "upper", "c": "upper", "k": "lower"}
    assert result.not_identifiable == ["a", "c"] and np.all(np.isnan(result.stderr))
    with pytest.raises(GradcliError, match="a, c are not identifiable"):  # no bounds: the error
        gc.fit("a*exp(-k*t)+c", DECAY, target="y", init={"a": 0.25, "k": 0, "c": 0.25},
               max_evaluations=0)


def test_lm_no_bound_ever_reached_runs_minpacks_iterations_exactly():
    free = gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 1})
    boxed = gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 1},
                   bounds={"a": (-100, 100), "k": (-10, 10)})
    assert list(boxed.estimate) == list(free.estimate)
    assert [list(p) for _, p in boxed.history] == [list(p) for _, p in free.history]
    assert (boxed.iterations, boxed.evaluations) == (free.iterations, free.evaluations)
    assert boxed.active_bounds == {} and list(boxed.stderr) == list(free.stderr)


def test_lm_a_bound_met_on_the_way_and_left_gives_the_unbounded_answer():
    # unbounded from (1, 1), iteration 2 is at k = 0.398: with k >= 0.45 that step is clipped
    free = gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 1})
    assert min(p[1] for _, p in free.history) < 0.45
    boxed = gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 1},
                   bounds={"k": (0.45, 2), "a": (0, 10)})
    assert min(p[1] for _, p in boxed.history) == 0.45  # it was on the bound ...
    assert boxed.converged and boxed.active_bounds == {}  # ... and left it
    np.testing.assert_allclose(boxed.estimate, trf([1, 1], [0, 0.45], [10, 2]), rtol=1e-10)
    # the unbounded run stopped at ftol a little earlier (gradient norm 2.9e-9, here 3.6e-14)
    np.testing.assert_allclose(boxed.estimate, free.estimate, rtol=1e-8)
    assert boxed.rss <= free.rss and boxed.grad_norm < free.grad_norm
    np.testing.assert_allclose(boxed.stderr, free.stderr, rtol=1e-7)


def test_lm_iterates_stay_in_the_box():
    # log(k) is nan for k < 0: the box keeps every trial point in the domain
    t, y = decay()
    result = gc.fit("a*exp(-t*log(k))", DECAY, target="y", init={"a": 1, "k": 1.5},
                    bounds={"k": (1.2, 3)})
    assert all(1.2 <= p[1] <= 3 for _, p in result.history)
    expected = trf([1, math.log(1.5)], [-INF, math.log(1.2)], [INF, math.log(3)])
    assert result.values()["k"] == pytest.approx(math.exp(expected[1]), rel=1e-9)
    assert result.values()["a"] == pytest.approx(expected[0], rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(slope=st.floats(-3, 3), intercept=st.floats(-3, 3),
       w_box=st.tuples(st.floats(-4, 4), st.floats(0.01, 3)),
       b_box=st.tuples(st.floats(-4, 4), st.floats(0.01, 3)),
       seed=st.integers(0, 2**16))
def test_lm_on_a_line_is_bounded_linear_least_squares(slope, intercept, w_box, b_box, seed):
    rng = np.random.default_rng(seed)
    x = np.linspace(-1, 2, 12)
    y = slope * x + intercept + 0.3 * rng.standard_normal(len(x))
    (wl, ww), (bl, bw) = w_box, b_box
    oracle = lsq_linear(np.stack([np.ones_like(x), x], axis=1), y,
                        bounds=([bl, wl], [bl + bw, wl + ww]), method="bvls", tol=1e-15)
    result = gc.fit("w*x+b", {"x": x, "y": y}, target="y",
                    init={"w": wl + ww / 2, "b": bl + bw / 2},
                    bounds={"w": (wl, wl + ww), "b": (bl, bl + bw)})
    rss = float(np.sum((oracle.x[0] + oracle.x[1] * x - y) ** 2))
    assert result.rss <= rss * (1 + 1e-12) + 1e-14  # no box point has a lower RSS ...
    np.testing.assert_allclose(result.estimate, oracle.x, rtol=1e-8, atol=1e-9)  # b, w
    assert result.converged


def test_lm_a_parameter_with_equal_bounds_is_held():
    x = np.linspace(0, 3, 8)
    y = 1.5 * x + 0.25 + np.sin(7 * x) / 10
    result = gc.fit("w*x+b", {"x": x, "y": y}, target="y", init={"w": 2},
                    bounds={"w": (2, 2)})
    assert result.values() == pytest.approx({"w": 2.0, "b": float(np.mean(y - 2 * x))},
                                            rel=1e-12)
    assert result.values()["w"] == 2.0 and result.active_bounds == {"w": "lower"}


# -- the gradient methods -----------------------------------------------------------------------
@pytest.mark.parametrize("opt, options", [("adam", {"lr": 0.05}), ("sgd", {"lr": 0.05}),
                                          ("newton", {})])
def test_gradient_methods_reach_the_bounded_minimum(opt, options):
    t, y = decay()
    e = np.exp(-0.5 * t)
    result = gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 0.3}, opt=opt,
                    epochs=5000, bounds={"k": (None, 0.5)}, **options)
    assert result.converged and result.opt == opt
    assert result.values()["k"] == 0.5
    assert result.values()["a"] == pytest.approx(float(y @ e / (e @ e)), rel=1e-9)
    assert result.active_bounds == {"k": "upper"} and result.grad_norm <= 1e-10


def test_every_update_is_projected():
    # sgd with a large rate: unbounded, epoch 2 is at k = 1.0835 (found by running it)
    free = gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 0.3}, opt="sgd",
                  lr=0.3, epochs=2)
    assert free.path[2, 1] == pytest.approx(1.0835, abs=1e-4)
    result = gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 0.3}, opt="sgd",
                    lr=0.3, epochs=200, bounds={"k": (0, 0.5), "a": (0, 4.5)})
    path = result.path
    assert path[2, 1] == 0.5 and np.array_equal(path[:2], free.path[:2])
    assert np.all((path[:, 1] >= 0) & (path[:, 1] <= 0.5))
    assert np.all((path[:, 0] >= 0) & (path[:, 0] <= 4.5))
    assert result.values()["k"] == 0.5 and result.active_bounds == {"k": "upper"}
    # minibatches: each batch's update is projected too
    batched = gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 0.3}, opt="adam",
                     lr=0.05, epochs=300, batch_size=7, bounds={"k": (None, 0.5)})
    assert np.all(batched.path[:, 1] <= 0.5) and batched.values()["k"] == 0.5


def test_without_an_active_bound_adam_is_the_unbounded_run():
    free = gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 0.5}, opt="adam",
                  lr=0.05, epochs=3000)
    boxed = gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 0.5}, opt="adam",
                   lr=0.05, epochs=3000, bounds={"k": (0, 5), "a": (-10, 10)})
    assert np.array_equal(free.path, boxed.path) and boxed.active_bounds == {}


# -- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("bounds, message", [
    ("k=1:0", "bounds: bounds k=1.0:0.0: the lower bound 1.0 is above the upper bound 0.0"),
    ({"k": (1, 0)}, "the lower bound 1.0 is above the upper bound 0.0"),
    ("k=0:0.2", "bounds: the start k=0.3 is outside its bounds k=0.0:0.2"),
    ("t=0:1", "bounds: 't' is a data column, not a parameter"),
    ({"t": (0, 1)}, "bounds: 't' is a data column, not a parameter"),
    ("z=0:1", "bounds: the model has no parameter 'z' (its parameters: a, k)"),
    ({"z": (0, 1)}, "bounds: the model has no parameter 'z'"),
    ("k=0", "write NAME=LO:HI"),
    ([0, 1], "bounds: expected a mapping"),
])
@pytest.mark.parametrize("opt", ["lm", "adam"])
def test_library_errors_name_the_argument(bounds, message, opt):
    with pytest.raises(GradcliError) as error:
        gc.fit("a*exp(-k*t)", DECAY, target="y", init={"a": 1, "k": 0.3}, bounds=bounds, opt=opt)
    assert str(error.value).startswith("bounds:") and message in str(error.value)


@pytest.mark.parametrize("bounds, line", [
    ("k=1:0", "gradcli: error: --bounds: bounds k=1.0:0.0: the lower bound 1.0 is above the "
              "upper bound 0.0"),
    ("k=0:0.2", "gradcli: error: --bounds: the start k=0.3 is outside its bounds k=0.0:0.2"),
    ("t=0:1", "gradcli: error: --bounds: 't' is a data column, not a parameter: only "
              "parameters have bounds (the parameters: a, k)"),
    ("z=0:1", "gradcli: error: --bounds: the model has no parameter 'z' (its parameters: a, k)"),
])
@pytest.mark.parametrize("opt", ["lm", "adam", "lm,adam"])
def test_cli_errors_are_one_line_exit_2(gradcli, bounds, line, opt):
    out = gradcli("fit", "a*exp(-k*t)", "--data", DECAY, "--target", "y", "--init", "a=1,k=0.3",
                  "--bounds", bounds, "--opt", opt, "--format", "json")
    assert out.exit_code == 2 and out.stdout == "" and out.stderr == line + "\n"


# -- the command line ---------------------------------------------------------------------------
def test_cli_json_names_the_active_bounds(gradcli):
    t, y = decay()
    e = np.exp(-0.5 * t)
    out = gradcli("fit", "a*exp(-k*t)", "--data", DECAY, "--target", "y", "--init", "a=1,k=0.3",
                  "--bounds", "k=:0.5,a=0:", "--opt", "lm,adam", "--lr", "0.05", "--epochs",
                  "5000", "--format", "json")
    assert (out.exit_code, out.stderr) == (0, "")
    lm, adam = map(json.loads, out.stdout.splitlines())
    for record in (lm, adam):
        assert record["active_bounds"] == {"k": "upper"} and record["converged"] is True
        assert record["params"]["k"] == 0.5
        assert record["params"]["a"] == pytest.approx(float(y @ e / (e @ e)), rel=1e-9)
    assert lm["opt"] == "lm" and adam["opt"] == "adam"
    plain = gradcli("fit", "a*exp(-k*t)", "--data", DECAY, "--target", "y", "--init",
                    "a=1,k=0.3", "--format", "json")
    assert "active_bounds" not in json.loads(plain.stdout)  # only with --bounds
    wide = gradcli("fit", "a*exp(-k*t)", "--data", DECAY, "--target", "y", "--init",
                   "a=1,k=0.3", "--bounds", "k=0:2", "--format", "json")
    assert json.loads(wide.stdout)["active_bounds"] == {}
    assert json.loads(wide.stdout)["params"] == json.loads(plain.stdout)["params"]


def test_cli_table_notes_the_active_bounds(gradcli):
    out = gradcli("fit", "a*exp(-k*t)", "--data", DECAY, "--target", "y", "--init", "a=1,k=0.3",
                  "--bounds", "k=:0.5", "--format", "table")
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    assert "active bounds: k = 0.5 (upper)" in lines
    wide = gradcli("fit", "a*exp(-k*t)", "--data", DECAY, "--target", "y", "--init",
                   "a=1,k=0.3", "--bounds", "k=0:2,a=0:", "--format", "table")
    assert "no bound active at the end (--bounds a=0.0:,k=0.0:2.0)" in wide.stdout.splitlines()
    unbounded = gradcli("fit", "a*exp(-k*t)", "--data", DECAY, "--target", "y", "--init",
                        "a=1,k=0.3", "--format", "table")
    assert "bound" not in unbounded.stdout
