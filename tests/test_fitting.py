"""Fitting by mean squared error: against lstsq, hand-written numpy loops and closed forms."""
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import gradcli as gc
from gradcli.training.dataset import Dataset, read_csv
from gradcli.errors import GradcliError
from gradcli.training.fit import Fitter, MeanSquaredError, fit, r_squared
from gradcli.optimizers import make
from tests.strategies import smooth_expressions

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def tutorial_numpy_loop(lr=0.01, epochs=1000):
    """Plain gradient descent on the MSE of w*x+b over the tutorial's five points."""
    x = np.arange(1.0, 6.0)
    y = 2.0 * x + 1.0
    w = b = 0.0
    for _ in range(epochs):
        r = w * x + b - y
        gw, gb = 2.0 * np.mean(r * x), 2.0 * np.mean(r)
        w, b = w - lr * gw, b - lr * gb
    return w, b, float(np.mean((w * x + b - y) ** 2))


def plane_data(n=200, seed=7):
    rng = np.random.default_rng(seed)
    x, z = rng.uniform(-2, 2, n), rng.uniform(-1, 3, n)
    y = 1.5 * x - 0.7 * z + 0.3 + rng.normal(0, 0.1, n)
    return Dataset(["x", "z", "y"], {"x": x, "z": z, "y": y})


def test_tutorial_points_give_plain_gradient_descent_numbers():
    data = read_csv(str(SAMPLES / "tutorial_points.csv"))
    result = fit(gc.parse("w*x+b"), data, "y", make("sgd", lr=0.01), epochs=1000)
    w, b, loss = tutorial_numpy_loop()
    assert (round(w, 5), round(b, 5)) == (2.00388, 0.98599)   # not the tutorial's 2.0001, 0.9996
    assert result.values() == {"b": b, "w": w}
    assert result.loss == loss
    assert result.epochs == 1000 and not result.converged and result.diverged_at is None


def test_line_converges_to_lstsq():
    data = read_csv(str(SAMPLES / "noisy_line.csv"))
    result = fit(gc.parse("w*x+b"), data, "y", make("adam", lr=0.1), epochs=20000)
    design = np.stack([data.data["x"], np.ones(data.rows)], axis=1)
    (w, b), *_ = np.linalg.lstsq(design, data.data["y"], rcond=None)
    assert result.converged and result.grad_norm <= 1e-10
    np.testing.assert_allclose([result.values()["w"], result.values()["b"]], [w, b], rtol=1e-9)
    residual = design @ [w, b] - data.data["y"]
    assert result.loss == pytest.approx(np.mean(residual ** 2), rel=1e-12)
    assert result.r2 == pytest.approx(1 - residual @ residual / np.sum(
        (data.data["y"] - data.data["y"].mean()) ** 2), rel=1e-12)


@pytest.mark.parametrize("name, lr", [("sgd", 0.1), ("momentum", 0.05), ("adam", 0.05)])
def test_three_parameter_plane_converges_to_lstsq(name, lr):
    data = plane_data()
    result = fit(gc.parse("a*x+b*z+c"), data, "y", make(name, lr=lr), epochs=20000)
    design = np.stack([data.data["x"], data.data["z"], np.ones(data.rows)], axis=1)
    solution, *_ = np.linalg.lstsq(design, data.data["y"], rcond=None)
    assert result.converged
    got = result.values()
    np.testing.assert_allclose([got["a"], got["b"], got["c"]], solution, rtol=1e-9)


def test_nonlinear_model_recovers_its_parameters():
    x = np.linspace(0, 1, 50)
    data = Dataset(["x", "y"], {"x": x, "y": 2.0 * np.exp(-1.5 * x)})
    result = fit(gc.parse("a*exp(b*x)"), data, "y", make("adam", lr=0.05), epochs=20000,
                 init={"a": 1})
    assert result.converged
    assert result.values() == pytest.approx({"a": 2.0, "b": -1.5}, rel=1e-8)


def test_exponential_decay_sample_reaches_a_stationary_point():
    data = read_csv(str(SAMPLES / "exponential_decay.csv"))
    model = gc.parse("a*exp(-k*t)")
    newton = fit(model, data, "y", make("newton"), epochs=50, init={"a": 1, "k": 1})
    adam = fit(model, data, "y", make("adam", lr=0.05), epochs=5000, init={"a": 1})
    assert newton.converged and adam.converged
    a, k = newton.values()["a"], newton.values()["k"]
    t, y = data.data["t"], data.data["y"]
    decay = np.exp(-k * t)
    r = a * decay - y
    # the MSE's gradient, written out by hand, vanishes there
    assert abs(2 * np.mean(r * decay)) < 1e-9 and abs(2 * np.mean(r * -a * t * decay)) < 1e-9
    assert adam.values() == pytest.approx(newton.values(), rel=1e-8)
    assert (round(a, 3), round(k, 3)) == (4.98, 0.696)


def test_constant_model_fits_the_mean():
    data = read_csv(str(SAMPLES / "noisy_line.csv"))
    result = fit(gc.parse("c"), data, "y", make("sgd", lr=0.5), epochs=100)
    assert result.values()["c"] == pytest.approx(np.mean(data.data["y"]), rel=1e-14)
    assert result.r2 == pytest.approx(0.0, abs=1e-12)


def test_loss_and_gradient_match_closed_form():
    data = plane_data(50, seed=3)
    mse = MeanSquaredError(gc.parse("a*x+b*z+c"), {"x": data.data["x"], "z": data.data["z"]},
                           data.data["y"], ["a", "b", "c"])
    p = np.array([0.4, -1.1, 2.0])
    loss, grad = mse.loss_and_grad(p)
    design = np.stack([data.data["x"], data.data["z"], np.ones(50)], axis=1)
    r = design @ p - data.data["y"]
    assert loss == pytest.approx(np.mean(r ** 2), rel=1e-14)
    np.testing.assert_allclose(grad, 2 * design.T @ r / 50, rtol=1e-13)


def test_newton_solves_a_linear_model_in_one_epoch():
    data = plane_data()
    result = fit(gc.parse("a*x+b*z+c"), data, "y", make("newton"), epochs=10)
    design = np.stack([data.data["x"], data.data["z"], np.ones(data.rows)], axis=1)
    solution, *_ = np.linalg.lstsq(design, data.data["y"], rcond=None)
    assert result.converged and result.epochs == 1
    got = result.values()
    np.testing.assert_allclose([got["a"], got["b"], got["c"]], solution, rtol=1e-12)


def test_loss_hessian_is_exact():
    data = plane_data(40, seed=1)
    inputs = {"x": data.data["x"], "z": data.data["z"]}
    linear = MeanSquaredError(gc.parse("a*x+b*z+c"), inputs, data.data["y"], ["a", "b", "c"])
    design = np.stack([data.data["x"], data.data["z"], np.ones(40)], axis=1)
    np.testing.assert_allclose(linear.hessian(np.array([0.3, 0.2, -1.0])),
                               2 * design.T @ design / 40, rtol=1e-13)
    curved = MeanSquaredError(gc.parse("a*exp(b*x)"), inputs, data.data["y"], ["a", "b"])
    p, h = np.array([1.3, -0.4]), 1e-6
    central = np.array([(curved.loss_and_grad(p + h * e)[1] - curved.loss_and_grad(p - h * e)[1])
                        / (2 * h) for e in np.eye(2)])
    np.testing.assert_allclose(curved.hessian(p), central, rtol=1e-7)


def test_newton_with_minibatches_uses_each_batch_hessian():
    data = read_csv(str(SAMPLES / "noisy_line.csv"))
    # each batch's Newton step lands on that batch's least-squares line
    opt = make("newton")
    result = fit(gc.parse("w*x+b"), data, "y", opt, epochs=1, batch_size=50, seed=3)
    order = np.random.default_rng(3).permutation(100)
    last = order[50:]
    design = np.stack([data.data["x"][last], np.ones(50)], axis=1)
    (w, b), *_ = np.linalg.lstsq(design, data.data["y"][last], rcond=None)
    assert opt.iterations == 2
    assert result.values() == pytest.approx({"w": w, "b": b}, rel=1e-12)


def test_newton_on_batches_with_fewer_rows_than_parameters_still_fits_the_line():
    # each 2-row batch's Hessian is singular (rank 1 of 2 in the last, 1-row batch): the
    # optimizer damps it (gradcli.optimizers.base.Newton) instead of failing
    data = read_csv(str(SAMPLES / "tutorial_points.csv"))
    result = fit(gc.parse("w*x+b"), data, "y", make("newton"), epochs=5, batch_size=2)
    assert result.values() == pytest.approx({"w": 2.0, "b": 1.0}, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(smooth_expressions(("a", "b", "x"), max_leaves=5), st.integers(0, 2**32 - 1))
def test_loss_gradient_matches_central_differences(model, seed):
    """For random smooth models with data column x and parameters a, b."""
    expression = gc.parse(model)
    params = [v for v in ("a", "b") if v in expression.variables]
    assume(params)
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-2, 2, 30), rng.uniform(-2, 2, 30)
    inputs = {"x": x} if "x" in expression.variables else {}
    mse = MeanSquaredError(expression, inputs, y, params)
    p = rng.uniform(-1, 1, len(params))
    loss, grad = mse.loss_and_grad(p)
    assume(math.isfinite(loss) and loss < 1e6)
    env = dict(zip(params, p), **inputs)
    f = np.broadcast_to(expression.evaluate(env), y.shape)
    assert loss == pytest.approx(np.mean((f - y) ** 2), rel=1e-12)
    h = 1e-6
    for i in range(len(params)):
        step = np.eye(len(params))[i] * h
        central = (mse.loss_and_grad(p + step)[0] - mse.loss_and_grad(p - step)[0]) / (2 * h)
        assert grad[i] == pytest.approx(central, rel=1e-5, abs=1e-6 * (1 + loss))


def minibatch_numpy_loop(data, batch, seed, epochs, lr):
    """Shuffled minibatch SGD on w*x+b as the module docstring defines an epoch."""
    rng = np.random.default_rng(seed)
    x, y = data.data["x"], data.data["y"]
    w = b = 0.0
    for _ in range(epochs):
        order = rng.permutation(len(x))
        xs, ys = x[order], y[order]
        for start in range(0, len(x), batch):
            xb, yb = xs[start:start + batch], ys[start:start + batch]
            r = w * xb + b - yb
            w, b = w - lr * 2 * np.mean(r * xb), b - lr * 2 * np.mean(r)
    return w, b


def test_minibatch_epochs_follow_the_documented_shuffle():
    data = read_csv(str(SAMPLES / "noisy_line.csv"))
    opt = make("sgd", lr=0.005)
    result = fit(gc.parse("w*x+b"), data, "y", opt, epochs=7, batch_size=32, seed=5)
    assert opt.iterations == 7 * 4          # ceil(100 / 32) updates per epoch
    w, b = minibatch_numpy_loop(data, 32, 5, 7, 0.005)
    assert result.values() == pytest.approx({"w": w, "b": b}, rel=1e-12)


def test_minibatches_are_reproducible_and_depend_on_the_seed():
    data = read_csv(str(SAMPLES / "noisy_line.csv"))

    def run(seed):
        return fit(gc.parse("w*x+b"), data, "y", make("sgd", lr=0.005), epochs=20,
                   batch_size=10, seed=seed)

    first, again, other = run(1), run(1), run(2)
    assert np.array_equal(first.losses, again.losses) and first.values() == again.values()
    assert first.values() != other.values()


def test_batch_as_large_as_the_data_is_full_batch():
    data = read_csv(str(SAMPLES / "tutorial_points.csv"))
    full = fit(gc.parse("w*x+b"), data, "y", make("sgd", lr=0.01), epochs=50)
    whole = fit(gc.parse("w*x+b"), data, "y", make("sgd", lr=0.01), epochs=50, batch_size=5)
    assert full.values() == whole.values()


def test_tol_zero_runs_every_epoch_and_tol_stops_early():
    data = read_csv(str(SAMPLES / "tutorial_points.csv"))
    never = fit(gc.parse("w*x+b"), data, "y", make("sgd", lr=0.05), epochs=3000, tol=0)
    assert never.epochs == 3000 and not never.converged
    early = fit(gc.parse("w*x+b"), data, "y", make("sgd", lr=0.05), epochs=3000, tol=1e-6)
    assert early.converged and early.epochs < 3000 and early.grad_norm <= 1e-6
    # the epoch before the last had not reached the tolerance yet
    previous = Fitter(gc.parse("w*x+b"), data, "y", make("sgd", lr=0.05), tol=0)
    previous.run(early.epochs - 1)
    assert previous.fit.grad_norm > 1e-6


def test_divergence_names_the_first_non_finite_epoch():
    data = read_csv(str(SAMPLES / "noisy_line.csv"))
    result = fit(gc.parse("w*x+b"), data, "y", make("sgd", lr=1.0), epochs=1000)
    assert result.diverged_at == result.epochs < 1000
    assert not (math.isfinite(result.loss) and math.isfinite(result.grad_norm))
    before = Fitter(gc.parse("w*x+b"), data, "y", make("sgd", lr=1.0))
    before.run(result.epochs - 1)
    assert before.fit.diverged_at is None and math.isfinite(before.fit.grad_norm)
    assert all(math.isfinite(v) for v in result.losses[:-1])
    assert result.r2 < -1e300  # the last parameters are far off


def test_history_records_are_the_spec_shape():
    data = read_csv(str(SAMPLES / "tutorial_points.csv"))
    result = fit(gc.parse("w*x+b"), data, "y", make("sgd", lr=0.01), epochs=3)
    assert result.record(0) == {"epoch": 0, "loss": 57.0, "params": {"b": 0.0, "w": 0.0}}
    assert result.record(3)["epoch"] == 3 and len(result.losses) == 4


def test_init_and_float32():
    data = read_csv(str(SAMPLES / "tutorial_points.csv"))
    started = fit(gc.parse("w*x+b"), data, "y", make("sgd", lr=0.01), epochs=0,
                  init={"w": 2, "b": 1})
    assert started.values() == {"b": 1.0, "w": 2.0} and started.loss == 0.0
    single = fit(gc.parse("w*x+b"), data, "y", make("sgd", lr=0.01, dtype="float32"),
                 epochs=1000, dtype="float32")
    assert single.path[-1].dtype == np.float32
    w, b, _ = tutorial_numpy_loop()
    assert single.values() == pytest.approx({"w": w, "b": b}, rel=1e-5)
    assert single.values() != {"w": w, "b": b}


@pytest.mark.parametrize("init, message", [
    ({"q": 1}, "init: the model has no parameter 'q' (its parameters: b, w)"),
    ({"x": 1}, "init: 'x' is a data column, not a parameter (the parameters: b, w)"),
])
def test_init_naming_a_non_parameter_is_an_error(init, message):
    data = read_csv(str(SAMPLES / "tutorial_points.csv"))
    with pytest.raises(GradcliError) as info:
        fit(gc.parse("w*x+b"), data, "y", make("sgd"), init=init)
    assert info.value.message == message


def test_r_squared():
    y = np.array([1.0, 2.0, 4.0])
    r = np.array([0.5, -0.5, 0.0])
    assert r_squared(r, y) == 1 - 0.5 / (14 / 3)
    assert r_squared(np.zeros(2), np.ones(2)) == 1.0
    assert r_squared(np.ones(2), np.ones(2)) == 0.0
