"""Keras's spelling of optimizer arguments, Keras's schedule classes, and Keras's float32
Adam (issue 18).

Oracles: TensorFlow/Keras numbers quoted in issue 18 (tf.keras 2.21), Keras's documented
formulas evaluated in float64 with math (the schedules compute in float32, as Keras does:
within float32 rounding), exact values where the formula is exact (piecewise constants),
and the library's own names for the same options (the aliases must give the same bits).
"""
import math

import numpy as np
import pytest

import gradcli as gc
from gradcli import optimizers as O
from gradcli.optimizers import schedules as S

# -- argument names ------------------------------------------------------------------------


def _trajectory(opt, steps=30):
    x, y = gc.Variable([1.5, -0.5]), gc.Variable(2.0)
    for _ in range(steps):
        with gc.GradientTape() as tape:
            loss = gc.reduce_sum((x - 3.0) ** 2) + 10 * (y - x[0] ** 2) ** 2
        opt.apply_gradients(zip(tape.gradient(loss, [x, y]), [x, y]))
    return [v.hex() for v in x.numpy().tolist()] + [float(y.numpy()).hex()]


@pytest.mark.parametrize("keras, ours", [
    ({"beta_1": 0.8}, {"betas": (0.8, 0.999)}),
    ({"beta_2": 0.99}, {"betas": (0.9, 0.99)}),
    ({"beta_1": 0.8, "beta_2": 0.99}, {"betas": (0.8, 0.99)}),
    ({"epsilon": 1e-3}, {"eps": 1e-3}),
    ({"global_clipnorm": 1.0}, {"clip_norm": 1.0}),
    ({"clipvalue": 0.5}, {"clip_value": 0.5}),
    ({"clipnorm": 1.0}, {"clip_each": 1.0}),
    ({"learning_rate": 0.05, "weight_decay": 0.01}, {"lr": 0.05, "weight_decay": 0.01}),
])
def test_keras_names_give_the_same_optimizer_as_ours(keras, ours):
    for cls in (O.Adam, O.Adamax, O.Nadam):
        a = cls(**{"lr": 0.05, **keras}) if "learning_rate" not in keras else cls(**keras)
        b = cls(**{"lr": 0.05, **ours})
        assert a.config() == b.config()
        assert _trajectory(a) == _trajectory(b)


def test_keras_names_for_rmsprop_adagrad_and_sgd():
    assert O.RMSprop(epsilon=1e-4, rho=0.8).config() == O.RMSprop(eps=1e-4, rho=0.8).config()
    assert O.Adagrad(epsilon=1e-4).eps == 1e-4
    assert O.SGD(learning_rate=0.1, momentum=0.9, nesterov=True, clipnorm=2.0).clip_each == 2.0


def test_keras_names_misused_are_clear_errors():
    with pytest.raises(ValueError, match="betas or beta_1/beta_2"):
        O.Adam(beta_1=0.8, betas=(0.9, 0.99))
    with pytest.raises(ValueError, match="epsilon or eps"):
        O.Adam(epsilon=1e-3, eps=1e-4)
    with pytest.raises(ValueError, match="one of clipnorm, clipvalue and global_clipnorm"):
        O.Adam(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(ValueError, match="one of clipnorm, clipvalue and global_clipnorm"):
        O.SGD(clipnorm=1.0, global_clipnorm=2.0)
    with pytest.raises(TypeError, match="SGD takes no beta_1"):
        O.SGD(beta_1=0.9)
    with pytest.raises(TypeError, match="SGD takes no epsilon"):
        O.SGD(epsilon=1e-7)
    with pytest.raises(ValueError, match="clip_each"):
        O.SGD(clipnorm=-1.0)


def test_clipnorm_clips_each_variable_alone_global_clipnorm_all_together():
    # gradients [3, 4] (norm 5) and [0.3, 0.4] (norm 0.5), SGD with lr 1, clip 1
    def step(**clip):
        a, b = gc.Variable([0.0, 0.0]), gc.Variable([0.0, 0.0])
        O.SGD(lr=1.0, **clip).apply_gradients([(np.array([3.0, 4.0]), a),
                                               (np.array([0.3, 0.4]), b)])
        return a.numpy().tolist(), b.numpy().tolist()

    a, b = step(clipnorm=1.0)          # Keras: each alone; b is under the norm
    np.testing.assert_allclose(a, [-0.6, -0.8], rtol=1e-15)
    np.testing.assert_allclose(b, [-0.3, -0.4], rtol=1e-15)
    a, b = step(global_clipnorm=1.0)   # one norm sqrt(25 + 0.25) over both
    scale = 1.0 / math.sqrt(25.25)
    np.testing.assert_allclose(a + b, [-3 * scale, -4 * scale, -0.3 * scale, -0.4 * scale],
                               rtol=1e-15)
    v = gc.Variable([0.0, 0.0])
    opt = O.SGD(lr=1.0, clipnorm=1.0)
    opt.apply_gradients([(np.zeros(2), v)])   # a zero gradient stays zero (no 0/0)
    assert v.numpy().tolist() == [0.0, 0.0]
    flat = O.SGD(lr=1.0, clipnorm=1.0)  # update(): the flat vector is one variable
    np.testing.assert_allclose(flat.update(np.zeros(2), np.array([6.0, 8.0])), [-0.6, -0.8],
                               rtol=1e-15)


# -- Keras's float32 Adam ------------------------------------------------------------------
# issue 18: tf.keras Adam, lr 1, from 3 on (x-50)**2, float32: 3.999993324279785 after one
# step (gradcli gave 4.0: bias corrections in float64 instead of Keras's float32 powers of
# float32-rounded betas)
TF_KERAS_ADAM_STEP_1 = 3.999993324279785


def test_keras_adam_in_float32_is_tensorflows_first_step():
    opt = O.make("adam", lr=1.0, compat="keras", dtype="float32")
    x = np.array([3.0], dtype=np.float32)
    x = opt.update(x, np.float32(2) * (x - np.float32(50)))
    assert float(x[0]) == TF_KERAS_ADAM_STEP_1
    v = gc.Variable(3.0, dtype="float32")
    opt = O.Adam(learning_rate=1.0, compat="keras")
    with gc.GradientTape() as tape:
        loss = (v - 50.0) ** 2
    opt.apply_gradients([(tape.gradient(loss, v), v)])
    assert float(v.numpy()) == TF_KERAS_ADAM_STEP_1


def test_keras_adam_float64_keeps_exact_hyperparameters():
    # the deliberate difference (docs/library.md): Keras 3 would round beta and lr to
    # float32 in a float64 run; gradcli's float64 keeps them exact
    opt = O.make("adam", lr=1.0, compat="keras")
    x = opt.update(np.array([3.0]), np.array([-94.0]))
    b1, b2 = 0.9, 0.999
    m, v = -94.0 * (1 - b1), 94.0 ** 2 * (1 - b2)
    alpha = math.sqrt(1 - b2) / (1 - b1)
    assert float(x[0]) == pytest.approx(3.0 - m * alpha / (math.sqrt(v) + 1e-7), rel=1e-15)


# -- schedules -------------------------------------------------------------------------------
def test_exponential_decay_as_keras():
    s = S.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.96)
    for step in (0, 1, 50, 100, 250, 1000):
        assert s(step) == pytest.approx(0.1 * 0.96 ** (step / 100), rel=2e-7)
    stair = S.ExponentialDecay(0.1, 100, 0.96, staircase=True)
    assert [stair(k) for k in (0, 99, 100, 199, 200)] == pytest.approx(
        [0.1, 0.1, 0.096, 0.096, 0.1 * 0.96 ** 2], rel=2e-7)
    assert s(250) == float(np.float32(s(250)))  # computed in float32, as Keras


def test_piecewise_constant_decay_as_keras_docs():
    # Keras's docstring: boundaries [100000, 110000], values [1.0, 0.5, 0.1]: 1.0 for the
    # first 100001 steps, 0.5 for the next 10000, 0.1 after
    s = S.PiecewiseConstantDecay([100000, 110000], [1.0, 0.5, 0.1])
    assert [s(k) for k in (0, 100000, 100001, 110000, 110001, 10 ** 7)] == [
        1.0, 1.0, 0.5, 0.5, float(np.float32(0.1)), float(np.float32(0.1))]
    with pytest.raises(ValueError, match="one more value"):
        S.PiecewiseConstantDecay([1, 2], [1.0, 0.5])
    with pytest.raises(ValueError, match="increase"):
        S.PiecewiseConstantDecay([2, 1], [1.0, 0.5, 0.1])


def test_polynomial_decay_as_keras():
    s = S.PolynomialDecay(0.1, decay_steps=10000, end_learning_rate=0.01, power=0.5)
    for step in (0, 2500, 9999, 10000, 20000):
        k = min(step, 10000)
        # (1 - k/10000 cancels in float32 near the end, as in Keras: an absolute bound there)
        want = (0.1 - 0.01) * (1 - k / 10000) ** 0.5 + 0.01
        assert s(step) == pytest.approx(want, rel=2e-7, abs=1e-6)
    cyc = S.PolynomialDecay(0.1, 100, end_learning_rate=0.0, cycle=True)
    # cycle: decay_steps stretched to the next multiple of 100 (step 0 counts as one)
    assert [cyc(0), cyc(50), cyc(150)] == pytest.approx([0.1, 0.05, 0.1 * (1 - 150 / 200)],
                                                        rel=2e-7)


def test_inverse_time_decay_as_keras():
    s = S.InverseTimeDecay(0.5, decay_steps=1.0, decay_rate=0.5)
    assert [s(k) for k in (0, 1, 2, 10)] == pytest.approx([0.5, 0.5 / 1.5, 0.25, 0.5 / 6],
                                                          rel=2e-7)
    stair = S.InverseTimeDecay(0.5, 10, 1.0, staircase=True)
    assert [stair(k) for k in (0, 9, 10, 25)] == pytest.approx([0.5, 0.5, 0.25, 0.5 / 3],
                                                               rel=2e-7)


def test_cosine_decay_with_alpha_and_warmup_as_keras():
    s = S.CosineDecay(0.1, decay_steps=1000, alpha=0.1)
    for step in (0, 250, 500, 1000, 5000):
        k = min(step, 1000)
        want = 0.1 * ((1 - 0.1) * 0.5 * (1 + math.cos(math.pi * k / 1000)) + 0.1)
        assert s(step) == pytest.approx(want, rel=1e-6)
    # Keras's docstring example: warmup from 0 to 0.1 over 1000 steps, then 1000 of decay
    w = S.CosineDecay(0.0, decay_steps=1000, warmup_target=0.1, warmup_steps=1000)
    assert [w(0), w(500)] == pytest.approx([0.0, 0.05], rel=1e-6)
    assert w(1000) == pytest.approx(0.1, rel=1e-6)
    assert w(1500) == pytest.approx(0.05, rel=1e-6)
    assert w(2000) == pytest.approx(0.0, abs=1e-9) and w(9999) == w(2000)


def test_schedules_as_learning_rate_drive_the_optimizer():
    x = gc.Variable(0.0)
    opt = O.SGD(learning_rate=S.ExponentialDecay(1.0, 1, 0.5, dtype="float64"))
    lrs = []
    for _ in range(4):
        opt.apply_gradients([(gc.constant(-1.0), x)])
        lrs.append(opt.last_lr)
    assert lrs == [1.0, 0.5, 0.25, 0.125]
    assert float(x.numpy()) == 1.875
    assert "ExponentialDecay(initial_learning_rate=1.0" in repr(opt)
    with pytest.raises(ValueError, match="not both"):
        O.SGD(learning_rate=S.ExponentialDecay(1.0, 1, 0.5), schedule="exp:0.5")


def test_bad_schedule_arguments_are_value_errors():
    with pytest.raises(ValueError, match="decay_steps must be a number > 0"):
        S.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="finite"):
        S.CosineDecay(math.nan, 10)
    with pytest.raises(ValueError, match="step must be a number >= 0"):
        S.InverseTimeDecay(0.1, 1, 1)(-1)
    with pytest.raises(ValueError, match="float32 or float64"):
        S.ExponentialDecay(0.1, 1, 0.5, dtype="int32")


# Keras's Nadam docstring (tf.keras.optimizers.Nadam): learning_rate 0.2, var1 = 10.0,
# loss var1**2 / 2, one minimize step: "{:.1f}".format(var1.numpy()) == "9.8"
KERAS_NADAM_DOCSTRING = "9.8"


def test_keras_nadam_in_float32_follows_keras_operation_for_operation():
    v = gc.Variable(10.0, dtype="float32")
    O.Nadam(learning_rate=0.2, compat="keras").minimize(lambda: (v ** 2) / 2.0, [v])
    assert "{:.1f}".format(v.numpy()) == KERAS_NADAM_DOCSTRING
    # by hand, Keras 3's nadam.py on float32 scalars: u_t = 0.9*(1 - 0.5*0.96), u_{t+1} =
    # 0.9*(1 - 0.5*0.96**2), the product 0.9*(1 - 0.5*0.96), 1 - beta in float32
    f = np.float32
    b1, b2 = f(0.9), f(0.999)
    u1 = b1 * (f(1) - f(0.5) * f(0.96) ** f(1))
    u2 = b1 * (f(1) - f(0.5) * f(0.96) ** f(2))
    prod = (f(1) * f(0.9)) * (f(1) - f(0.5) * f(0.96) ** f(1))
    g = f(10.0)
    m, s = g * (f(1) - b1), g * g * (f(1) - b2)
    m_hat = (u2 * m) / (f(1) - prod * u2) + ((f(1) - u1) * g) / (f(1) - prod)
    want = f(10.0) - (m_hat * f(0.2)) / (np.sqrt(s / (f(1) - b2)) + f(1e-7))
    assert v.numpy() == want
    # float64 keeps exact constants (the same formula, unrounded): within float32's rounding
    w = gc.Variable(10.0)
    O.Nadam(learning_rate=0.2, compat="keras").minimize(lambda: (w ** 2) / 2.0, [w])
    assert float(w.numpy()) == pytest.approx(float(want), rel=1e-6)


def test_minimize_with_a_loss_tensor_and_its_tape_as_tf_keras():
    x = gc.Variable(3.0)
    opt = O.SGD(learning_rate=0.1)
    with gc.GradientTape() as tape:
        loss = (x - 1.0) ** 2
    opt.minimize(loss, [x], tape=tape)
    assert float(x.numpy()) == 3.0 - 0.1 * 4.0
    opt.minimize(lambda: (x - 1.0) ** 2, lambda: [x])  # var_list as a callable, as Keras
    assert float(x.numpy()) == pytest.approx(2.6 - 0.1 * 3.2, rel=1e-15)
    with pytest.raises(TypeError, match="loss tensor"):
        opt.minimize(lambda: x, [x], tape=tape)
    with pytest.raises(TypeError, match="tape="):
        opt.minimize(x * 2.0, [x])


def test_schedules_are_reachable_as_gc_optimizers_schedules():
    s = gc.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)  # as keras.optimizers.schedules
    assert s(10) == float(np.float32(0.05))


# Keras's RMSprop docstring (keras/src/optimizers/rmsprop.py): learning_rate 0.1, var1 = 10.0,
# loss var1**2 / 2, one minimize step: var1 is 9.683772
KERAS_RMSPROP_DOCSTRING = "9.683772"


def test_keras_rmsprop_docstring_example():
    v = gc.Variable(10.0, dtype="float32")
    O.RMSprop(learning_rate=0.1, compat="keras").minimize(lambda: (v ** 2) / 2.0, [v])
    assert f"{float(v.numpy()):.6f}" == KERAS_RMSPROP_DOCSTRING
    # torch's rules (alpha 0.99, eps outside the root) give another number
    w = gc.Variable(10.0, dtype="float32")
    O.RMSprop(learning_rate=0.1).minimize(lambda: (w ** 2) / 2.0, [w])
    assert f"{float(w.numpy()):.6f}" != KERAS_RMSPROP_DOCSTRING
