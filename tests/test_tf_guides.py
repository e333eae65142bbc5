"""TensorFlow's two autodiff guides, example by example, against the numbers they print.

Sources (TensorFlow 2 documentation, written here as constants; TF need not be installed):
  [intro]    "Introduction to gradients and automatic differentiation",
             https://www.tensorflow.org/guide/autodiff
  [advanced] "Advanced automatic differentiation",
             https://www.tensorflow.org/guide/advanced_autodiff
Each test keeps the guide's code shape, with tf. replaced by gc. (tf.nn.sigmoid, softplus,
relu as gc.sigmoid, gc.softplus, gc.relu). Where a guide's example uses random layers it
prints shapes and an agreement check, and the tests assert those.
"""
import warnings

import numpy as np
import pytest

import gradcli as gc


def test_intro_gradient_tapes_square():  # [intro] "Gradient tapes": dy_dx.numpy() -> 6.0
    x = gc.Variable(3.0)
    with gc.GradientTape() as tape:
        y = x ** 2
    assert tape.gradient(y, x).numpy() == 6.0


def test_intro_non_scalar_targets():  # [intro] "Gradients of non-scalar targets"
    x = gc.Variable(2.0)
    with gc.GradientTape(persistent=True) as tape:
        y0 = x ** 2
        y1 = 1 / x
    assert tape.gradient(y0, x).numpy() == 4.0
    assert tape.gradient(y1, x).numpy() == -0.25
    x = gc.Variable(2.0)
    with gc.GradientTape() as tape:
        y0 = x ** 2
        y1 = 1 / x
    assert tape.gradient({"y0": y0, "y1": y1}, x).numpy() == 3.75
    x = gc.Variable(2.)
    with gc.GradientTape() as tape:
        y = x * [3., 4.]
    assert tape.gradient(y, x).numpy() == 7.0


def test_intro_controlling_what_the_tape_watches():  # [intro]: 6.0, None, None, None
    x0 = gc.Variable(3.0, name="x0")
    x1 = gc.Variable(3.0, name="x1", trainable=False)
    x2 = gc.Variable(2.0, name="x2") + 1.0  # a Variable + tensor is a tensor
    x3 = gc.constant(3.0, name="x3")
    with gc.GradientTape() as tape:
        y = (x0 ** 2) + (x1 ** 2) + (x2 ** 2)
    grad = tape.gradient(y, [x0, x1, x2, x3])
    assert float(grad[0]) == 6.0 and grad[1:] == [None, None, None]
    assert [v.name for v in tape.watched_variables()] == ["x0"]  # TF prints ['x0:0']
    x = gc.constant(3.0)
    with gc.GradientTape() as tape:
        tape.watch(x)
        y = x ** 2
    assert tape.gradient(y, x).numpy() == 6.0


# [intro] watch_accessed_variables=False: "dy/dx0: None", "dy/dx1: 0.9999546" (float32)
TF_SOFTPLUS_GRAD_AT_10 = "0.9999546"


def test_intro_watch_accessed_variables_false():
    x0 = gc.Variable(0.0, dtype="float32")
    x1 = gc.Variable(10.0, dtype="float32")
    with gc.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x1)
        y0 = gc.sin(x0)
        y1 = gc.softplus(x1)
        y = y0 + y1
        ys = gc.reduce_sum(y)
    grad = tape.gradient(ys, {"x0": x0, "x1": x1})
    assert grad["x0"] is None
    # TF's printed number to the bit: the float32 sigmoid is 1/(1+exp(-x)) for x >= 0, as
    # Eigen's (exp(-logaddexp(0, -x)) gave 0.99995464, one ulp above)
    got = grad["x1"].numpy()
    assert got.dtype == np.float32
    assert repr(float(got)) == repr(float(np.float32(TF_SOFTPLUS_GRAD_AT_10)))
    assert str(got) == TF_SOFTPLUS_GRAD_AT_10


def test_intro_intermediate_results_and_persistent_tapes():  # [intro]: 18.0, [4 108], [2 6]
    x = gc.constant(3.0)
    with gc.GradientTape() as tape:
        tape.watch(x)
        y = x * x
        z = y * y
    assert tape.gradient(z, y).numpy() == 18.0
    x = gc.constant([1, 3.0])
    with gc.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * y
    assert tape.gradient(z, x).numpy().tolist() == [4.0, 108.0]
    assert tape.gradient(y, x).numpy().tolist() == [2.0, 6.0]


def test_intro_control_flow():  # [intro] "Control flow": dv0 1.0, dv1 None, dx None
    x = gc.constant(1.0)
    v0 = gc.Variable(2.0)
    v1 = gc.Variable(2.0)
    with gc.GradientTape(persistent=True) as tape:
        tape.watch(x)
        if x > 0.0:
            result = v0
        else:
            result = v1 ** 2
    dv0, dv1 = tape.gradient(result, [v0, v1])
    assert float(dv0) == 1.0 and dv1 is None
    assert tape.gradient(result, x) is None


def test_intro_cases_where_gradient_returns_none():  # [intro] "Cases where gradient returns None"
    x, y = gc.Variable(2.), gc.Variable(3.)
    with gc.GradientTape() as tape:
        z = y * y
    assert tape.gradient(z, x) is None
    # "Replaced a variable with a tensor": ResourceVariable : 1.0, then EagerTensor : None
    x = gc.Variable(2.0)
    got = []
    for _ in range(2):
        with gc.GradientTape() as tape:
            y = x + 1
        g = tape.gradient(y, x)
        got.append((type(x).__name__, None if g is None else float(g)))
        x = x + 1  # "This should be x.assign_add(1)"
    assert got == [("Variable", 1.0), ("Tensor", None)]
    # "Did calculations outside of TensorFlow": np.mean takes the value -> None
    x = gc.Variable([[1.0, 2.0], [3.0, 4.0]], dtype="float32")
    with gc.GradientTape() as tape:
        x2 = x ** 2
        y = np.mean(x2, axis=0)
        y = gc.reduce_mean(y, axis=0)
    assert tape.gradient(y, x) is None
    # "Took gradients through a stateful object": assign is not differentiable -> None
    x0, x1 = gc.Variable(3.0), gc.Variable(0.0)
    with gc.GradientTape() as tape:
        x1.assign(x1 + x0)  # "Update x1 = x1 + x0."
        y = x1 ** 2         # "(x1 + x0)**2"
    assert tape.gradient(y, x0) is None  # "This doesn't work."


def test_intro_zeros_instead_of_none():  # [intro]: tf.Tensor([0. 0.])
    x, y = gc.Variable([2., 2.]), gc.Variable(3.)
    with gc.GradientTape() as tape:
        z = y ** 2
    got = tape.gradient(z, x, unconnected_gradients=gc.UnconnectedGradients.ZERO)
    assert got.numpy().tolist() == [0.0, 0.0]


def test_advanced_stop_recording_reset_and_stop_gradient():  # [advanced]: 4.0 and None
    x, y = gc.Variable(2.0), gc.Variable(3.0)
    with gc.GradientTape() as t:
        x_sq = x * x
        with t.stop_recording():
            y_sq = y * y
        z = x_sq + y_sq
    grad = t.gradient(z, {"x": x, "y": y})
    assert float(grad["x"]) == 4.0 and grad["y"] is None
    with gc.GradientTape() as t:  # "Reset the tape", reset = True
        y_sq = y * y
        t.reset()
        z = x * x + y_sq
    grad = t.gradient(z, {"x": x, "y": y})
    assert float(grad["x"]) == 4.0 and grad["y"] is None
    with gc.GradientTape() as t:  # "Stop gradient flow with fine precision"
        y_sq = y ** 2
        z = x ** 2 + gc.stop_gradient(y_sq)
    grad = t.gradient(z, {"x": x, "y": y})
    assert float(grad["x"]) == 4.0 and grad["y"] is None


def test_advanced_multiple_tapes():  # [advanced]: cos(0) => 1.0, sigmoid'(0) => 0.25
    x0, x1 = gc.constant(0.0), gc.constant(0.0)
    with gc.GradientTape() as tape0, gc.GradientTape() as tape1:
        tape0.watch(x0)
        tape1.watch(x1)
        y0 = gc.sin(x0)
        y1 = gc.sigmoid(x1)
        y = y0 + y1
        ys = gc.reduce_sum(y)
    assert tape0.gradient(ys, x0).numpy() == 1.0
    assert tape1.gradient(ys, x1).numpy() == 0.25


def test_advanced_higher_order():  # [advanced]: dy_dx 3.0, d2y_dx2 6.0
    x = gc.Variable(1.0)
    with gc.GradientTape() as t2:
        with gc.GradientTape() as t1:
            y = x * x * x
        dy_dx = t1.gradient(y, x)
    d2y_dx2 = t2.gradient(dy_dx, x)
    assert dy_dx.numpy() == 3.0 and d2y_dx2.numpy() == 6.0


def _dense(x, kernel, bias, activation):
    return activation(x @ kernel + bias)


def test_advanced_jacobian_of_a_layer_kernel():
    # [advanced] "Tensor source": x (7, 5), Dense(10, relu): j.shape (7, 10, 5, 10), and the
    # gradient equals the jacobian summed over the target's axes (the guide: delta < 1e-3)
    rng = np.random.default_rng(0)
    x = gc.constant(rng.normal(size=(7, 5)))
    kernel, bias = gc.Variable(rng.normal(size=(5, 10))), gc.Variable(np.zeros(10))
    with gc.GradientTape(persistent=True) as tape:
        y = _dense(x, kernel, bias, gc.relu)
    j = tape.jacobian(y, kernel)
    assert j.shape == (7, 10, 5, 10)
    g = tape.gradient(y, kernel)
    j_sum = gc.reduce_sum(j, axis=[0, 1])
    assert float(gc.reduce_max(abs(g - j_sum))) < 1e-12


def test_advanced_hessian_and_batch_jacobian_shapes():
    # [advanced] "Hessian": layer1 kernel (5, 8), h.shape (5, 8, 5, 8); "Batch Jacobian":
    # j.shape (7, 6, 7, 5), batch_jacobian (7, 6, 5), equal to the jacobian's diagonal
    rng = np.random.default_rng(1)
    x = gc.constant(rng.normal(size=(7, 5)))
    k1, b1 = gc.Variable(rng.normal(size=(5, 8)) * 0.3), gc.Variable(np.zeros(8))
    k2, b2 = gc.Variable(rng.normal(size=(8, 6)) * 0.3), gc.Variable(np.zeros(6))
    with gc.GradientTape() as t2:
        with gc.GradientTape() as t1:
            loss = gc.reduce_mean(_dense(_dense(x, k1, b1, gc.tanh), k2, b2, gc.tanh) ** 2)
        g = t1.gradient(loss, k1)
    h = t2.jacobian(g, k1)
    assert g.shape == (5, 8) and h.shape == (5, 8, 5, 8)
    hm = h.numpy().reshape(40, 40)
    np.testing.assert_allclose(hm, hm.T, rtol=1e-10, atol=1e-14)  # a Hessian is symmetric
    xv = gc.Variable(x.numpy())
    with gc.GradientTape(persistent=True) as tape:
        y = _dense(_dense(xv, k1, b1, gc.tanh), k2, b2, gc.tanh)
    j, jb = tape.jacobian(y, xv), tape.batch_jacobian(y, xv)
    assert j.shape == (7, 6, 7, 5) and jb.shape == (7, 6, 5)
    np.testing.assert_array_equal(jb.numpy(), np.stack([j.numpy()[i, :, i, :] for i in range(7)]))


def test_intro_integers_are_the_documented_difference():
    # [intro] "No gradient registered": tf.constant(10) is int32 and its gradient None with
    # a warning; gradcli has no integer tensors (docs/library.md): 10 is float64, d(x*x) = 20
    x = gc.constant(10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with gc.GradientTape() as g:
            g.watch(x)
            y = x * x
        assert g.gradient(y, x).numpy() == 20.0
    with pytest.raises(ValueError, match="no integer tensors"):
        gc.constant(10, dtype="int32")
