"""Learning-rate schedules (--decay) and gradient clipping (--clip-norm, --clip-value)."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradcli as gc
from gradcli import optimizers as O
from gradcli.optimizers.clipping import clip_by_global_norm, clip_by_value, global_norm
from gradcli.optimizers.schedules import CosineSchedule as CosineDecay
from gradcli.optimizers.schedules import ExpSchedule as ExponentialDecay
from gradcli.optimizers.schedules import InverseSchedule as InverseTimeDecay
from gradcli.optimizers.schedules import StepSchedule as StepDecay
from gradcli.optimizers.schedules import parse_schedule


# -- schedules -------------------------------------------------------------------------------
def test_exp_is_lr_times_gamma_to_the_k():
    s = parse_schedule("exp:0.5")
    assert [s(0.1, k) for k in range(4)] == [0.1, 0.05, 0.025, 0.0125]


def test_step_is_a_staircase_as_torch_steplr_docs():
    s = parse_schedule("step:30:0.1")  # torch docs: 0.05 for e < 30, 0.005 for 30 <= e < 60
    assert [s(0.05, k) for k in (0, 29, 30, 59)] == [0.05, 0.05, 0.05 * 0.1, 0.05 * 0.1]
    assert s(0.05, 60) == 0.05 * 0.1 ** 2


def test_inverse_is_lr_over_1_plus_k_times_updates_as_torch_adagrad_lr_decay():
    s = parse_schedule("inverse:0.5")
    assert [s(1.0, k) for k in range(4)] == [1.0, 1 / 1.5, 0.5, 1 / 2.5]
    # torch Adagrad: clr = lr / (1 + (t - 1) * lr_decay) with t = k + 1
    assert all(s(0.3, t - 1) == 0.3 / (1 + (t - 1) * 0.5) for t in range(1, 50))


def test_cosine_closed_form_equals_torch_recursive_form_up_to_t_max():
    t_max, lr = 20, 0.1
    s = parse_schedule(f"cosine:{t_max}")
    eta = lr  # torch CosineAnnealingLR, eta_min = 0
    for k in range(t_max):
        assert s(lr, k) == pytest.approx(eta, rel=1e-12, abs=1e-17)
        eta = eta * (1 + math.cos((k + 1) * math.pi / t_max)) / (1 + math.cos(k * math.pi / t_max))
    assert s(lr, t_max // 2) == pytest.approx(lr / 2, rel=1e-15)


def test_cosine_is_clamped_at_t_max_as_keras_and_optax():
    s = parse_schedule("cosine:10")
    assert s(0.1, 10) == 0.0 and s(0.1, 11) == 0.0 and s(0.1, 1000) == 0.0
    assert s(0.1, 0) == 0.1


@pytest.mark.parametrize("text, schedule", [
    ("exp:0.99", ExponentialDecay(0.99)),
    ("step:100:0.5", StepDecay(100, 0.5)),
    ("cosine:500", CosineDecay(500)),
    ("inverse:0.01", InverseTimeDecay(0.01)),
    ("inverse:0", InverseTimeDecay(0.0)),
    ("EXP:1e-1", ExponentialDecay(0.1)),
    (" exp:2 ", ExponentialDecay(2.0)),
])
def test_parse_schedule(text, schedule):
    assert parse_schedule(text) == schedule
    assert parse_schedule(str(schedule)) == schedule


@pytest.mark.parametrize("text, message", [
    ("", "unknown learning-rate schedule '': write exp:GAMMA, step:EVERY:GAMMA, cosine:T_MAX"),
    ("linear:3", "unknown learning-rate schedule 'linear:3'"),
    ("exp", "'exp' should be written exp:GAMMA"),
    ("exp:0.5:2", "should be written exp:GAMMA"),
    ("step:10", "'step:10' should be written step:EVERY:GAMMA"),
    ("cosine", "should be written cosine:T_MAX"),
    ("inverse:1:2", "should be written inverse:K"),
    ("exp:", "GAMMA must be a number > 0, got ''"),
    ("exp:abc", "GAMMA must be a number > 0, got 'abc'"),
    ("exp:0", "GAMMA must be a number > 0"),
    ("exp:-0.5", "GAMMA must be a number > 0"),
    ("exp:nan", "GAMMA must be a number > 0"),
    ("exp:inf", "GAMMA must be a number > 0"),
    ("step:0:0.5", "EVERY must be a whole number of steps > 0, got '0'"),
    ("step:2.5:0.5", "EVERY must be a whole number of steps > 0, got '2.5'"),
    ("step:10:x", "GAMMA must be a number > 0, got 'x'"),
    ("cosine:0", "T_MAX must be a whole number of steps > 0"),
    ("cosine:-5", "T_MAX must be a whole number"),
    ("inverse:-1", "K must be a number >= 0, got '-1'"),
])
def test_bad_schedule_text_is_a_clear_value_error(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_schedule(text)


def test_optimizer_counts_k_from_zero_and_reports_the_rate_each_update_used():
    opt = O.SGD(lr=1.0, schedule="exp:0.5")
    used, p = [], np.array([0.0])
    for _ in range(4):
        p = opt.update(p, np.array([1.0]))
        used.append(opt.last_lr)
    assert used == [1.0, 0.5, 0.25, 0.125] and float(p[0]) == -1.875
    assert opt.current_lr == 0.0625


def test_optimizer_accepts_a_schedule_callable():
    opt = O.SGD(lr=1.0, schedule=lambda lr, k: lr / (k + 1))
    p = opt.update(opt.update(np.array(0.0), np.array(1.0)), np.array(1.0))
    assert float(p) == -1.5 and opt.config()["schedule"] is not None


# -- clip_by_global_norm ----------------------------------------------------------------------
def test_clip_by_global_norm_scales_every_entry_by_c_over_the_global_norm():
    clipped, norm = clip_by_global_norm([np.array([3.0]), np.array([[4.0, 0.0]])], 1.0)
    assert norm == 5.0
    assert clipped[0].tolist() == pytest.approx([0.6], rel=1e-15)
    assert clipped[1] == pytest.approx(np.array([[0.8, 0.0]]), rel=1e-15)
    assert clipped[0][0] == 3.0 * (1.0 * (1 / 5.0))  # t * (C * min(1/norm, 1/C)), bit for bit


def test_clip_by_global_norm_leaves_a_list_inside_the_norm_alone():
    t = [np.array([0.3, -0.4])]
    clipped, norm = clip_by_global_norm(t, 1.0)
    assert norm == 0.5 and clipped[0].tolist() == [0.3, -0.4] and clipped[0] is not t[0]


def test_clip_by_global_norm_uses_tensorflows_arithmetic():
    # scale = C * min(1/norm, 1/C): inside the norm that is C * (1/C), 1 up to one rounding
    assert 49.0 * (1 / 49.0) != 1.0
    clipped, _ = clip_by_global_norm([np.array([1.0])], 49.0)
    assert clipped[0][0] == 49.0 * (1 / 49.0)


def test_clip_by_global_norm_keeps_none_entries_and_skips_them_in_the_norm():
    clipped, norm = clip_by_global_norm([None, np.array([6.0, 8.0]), None], 5.0)
    assert clipped[0] is None and clipped[2] is None
    assert norm == 10.0 and clipped[1].tolist() == [3.0, 4.0]


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_a_nonfinite_global_norm_makes_every_entry_nan(bad):
    clipped, norm = clip_by_global_norm([np.array([bad, 1.0]), np.array(2.0), None], 1.0)
    assert np.isnan(clipped[0]).all() and np.isnan(clipped[1]) and clipped[2] is None
    assert not np.isfinite(norm)


def test_zero_gradients_stay_zero():
    clipped, norm = clip_by_global_norm([np.zeros(3)], 1.0)
    assert norm == 0.0 and clipped[0].tolist() == [0.0, 0.0, 0.0]


def test_use_norm_replaces_the_computed_norm():
    clipped, norm = clip_by_global_norm([np.array([1.0])], 1.0, use_norm=4.0)
    assert norm == 4.0 and clipped[0].tolist() == [0.25]


def test_clip_by_global_norm_on_gradcli_tensors_returns_tensors():
    x = gc.Variable([3.0, 4.0])
    with gc.GradientTape() as tape:
        y = gc.reduce_sum(x * x) / 2.0
    [g] = tape.gradient(y, [x])
    clipped, norm = clip_by_global_norm([g, None], 2.5)
    assert isinstance(clipped[0], gc.Tensor) and isinstance(norm, gc.Tensor)
    assert clipped[0].numpy().tolist() == [1.5, 2.0] and float(norm) == 5.0


def test_clip_by_global_norm_keeps_float32():
    clipped, norm = clip_by_global_norm([np.array([3.0, 4.0], dtype=np.float32)], 1.0)
    assert clipped[0].dtype == np.float32 and norm.dtype == np.float32
    assert clipped[0].tolist() == [np.float32(3) * (np.float32(1) / np.float32(5)),
                                   np.float32(4) * (np.float32(1) / np.float32(5))]


@pytest.mark.parametrize("bad", [0.0, -1.0, np.inf, np.nan, "1"])
def test_clip_norm_must_be_positive_and_finite(bad):
    with pytest.raises(ValueError, match="clip_norm must be a finite number > 0"):
        clip_by_global_norm([np.array([1.0])], bad)


finite = st.floats(-1e100, 1e100, allow_nan=False)


@given(st.lists(st.lists(finite, min_size=1, max_size=4), min_size=1, max_size=4),
       st.floats(1e-3, 1e3))
def test_clipped_global_norm_is_at_most_c_and_directions_are_kept(values, c):
    arrays = [np.array(v) for v in values]
    clipped, norm = clip_by_global_norm(arrays, c)
    assert norm == pytest.approx(math.sqrt(sum(float(np.sum(a * a)) for a in arrays)), rel=1e-12)
    assert global_norm(clipped) <= c * (1 + 1e-12) or norm <= c
    scale = c / max(norm, c)
    for a, b in zip(arrays, clipped):
        assert b == pytest.approx(a * scale, rel=1e-12, abs=1e-300)


SUBNORMAL_C = 1e-320  # 1/C overflows float64: tf's C * min(1/norm, 1/C) is C * inf there


@pytest.mark.parametrize("g, expected", [
    ([3.0, 4.0], [3.0 * (SUBNORMAL_C / 5.0), 4.0 * (SUBNORMAL_C / 5.0)]),  # C / norm
    ([0.0, 0.0], [0.0, 0.0]),            # norm 0 <= C: scale 1 (tf's arithmetic: 0 * inf = nan)
    ([1e-321, 0.0], [1e-321, 0.0]),      # a subnormal gradient inside the norm is kept
])
def test_a_subnormal_clip_norm_follows_g_times_c_over_max_norm_c(g, expected):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning (overflow in 1/C)
        clipped, norm = clip_by_global_norm([np.array(g)], SUBNORMAL_C)
    assert clipped[0].tolist() == expected


def test_a_subnormal_clip_norm_with_a_non_finite_norm_is_nan():
    clipped, norm = clip_by_global_norm([np.array([np.inf, 1.0])], SUBNORMAL_C)
    assert norm == np.inf and np.isnan(clipped[0]).all()


def test_a_clip_norm_that_is_zero_in_float32_zeroes_the_gradient_and_keeps_zero():
    g = np.array([3.0, 4.0], dtype=np.float32)
    clipped, _ = clip_by_global_norm([g, np.zeros(2, dtype=np.float32)], SUBNORMAL_C)
    assert clipped[0].dtype == np.float32 and clipped[0].tolist() == [0.0, 0.0]
    zero, _ = clip_by_global_norm([np.zeros(2, dtype=np.float32)], SUBNORMAL_C)
    assert zero[0].tolist() == [0.0, 0.0]  # 0 / max(0, 0) would be nan


# -- clip_by_value ------------------------------------------------------------------------------
def test_clip_by_value_elementwise_and_nan_stays_nan():
    out = clip_by_value(np.array([-3.0, 0.5, 7.0, np.nan]), -1.0, 2.0)
    assert out[:3].tolist() == [-1.0, 0.5, 2.0] and np.isnan(out[3])


def test_clip_by_value_on_a_tensor_returns_a_tensor():
    out = clip_by_value(gc.constant([-3.0, 3.0]), -1.0, 1.0)
    assert isinstance(out, gc.Tensor) and out.numpy().tolist() == [-1.0, 1.0]


def test_clip_by_value_rejects_min_above_max():
    with pytest.raises(ValueError, match="clip_value_min 2.0 is above clip_value_max 1.0"):
        clip_by_value(np.array([0.0]), 2.0, 1.0)


# -- inside the optimizer --------------------------------------------------------------------
def test_optimizer_clip_norm_is_tf_clip_then_the_unclipped_update():
    g = np.array([30.0, -40.0, 120.0])
    clipped, norm = clip_by_global_norm([g], 13.0)
    with_clip = O.Adam(lr=0.1, clip_norm=13.0)
    by_hand = O.Adam(lr=0.1)
    p = q = np.array([1.0, 2.0, 3.0])
    for _ in range(3):
        p, q = with_clip.update(p, g), by_hand.update(q, clipped[0])
        assert np.array_equal(p, q) and with_clip.last_grad_norm == norm == 130.0


def test_optimizer_clip_value_is_clip_by_value_then_the_update():
    g = np.array([3.0, -0.2])
    p = O.RMSprop(lr=0.1, clip_value=0.5).update(np.zeros(2), g)
    q = O.RMSprop(lr=0.1).update(np.zeros(2), clip_by_value(g, -0.5, 0.5))
    assert np.array_equal(p, q)


# -- under a tape: recorded, differentiable (issue 18: nothing silently detached) ----------------
def test_clip_by_value_under_a_tape_passes_gradients_inside_only():
    # tf.clip_by_value's gradient (_ClipByValueGrad): 1 where lo <= x <= hi, 0 outside;
    # before, gradcli's numpy clip gave a None gradient under a tape, silently
    x = gc.Variable([0.5, 3.0, -2.0])
    with gc.GradientTape() as tape:
        c = clip_by_value(x, 0.0, 2.0)
        y = gc.reduce_sum(c * c)
    assert c.numpy().tolist() == [0.5, 2.0, 0.0]
    assert tape.gradient(y, x).numpy().tolist() == [1.0, 0.0, 0.0]
    v = gc.Variable(np.array([5.0, -5.0], np.float32), dtype="float32")
    with gc.GradientTape() as tape:
        c = clip_by_value(v, -1.0, 1.0)
    assert c.dtype == np.float32 and tape.gradient(c, v).numpy().tolist() == [0.0, 0.0]

    @gc.function
    def clipped(t):
        return clip_by_value(t, 0.0, 1.0) * 2.0

    assert float(clipped(gc.constant(0.25))) == 0.5 and float(clipped(gc.constant(7.0))) == 2.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_by_global_norm_under_a_tape_has_the_same_bits_and_a_gradient(dtype):
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=3).astype(dtype) * 4, rng.normal(size=2).astype(dtype) * 4
    plain, plain_norm = clip_by_global_norm([a, b], 1.5)
    x, y = gc.Variable(a, dtype=dtype), gc.Variable(b, dtype=dtype)
    with gc.GradientTape() as tape:
        (ca, cb), norm = clip_by_global_norm([x, y], 1.5)
        loss = gc.reduce_sum(ca * [1.0, 2.0, 3.0]) + gc.reduce_sum(cb)
    assert ca.dtype == dtype and norm.dtype == dtype
    np.testing.assert_array_equal(ca.numpy(), plain[0])
    np.testing.assert_array_equal(cb.numpy(), plain[1])
    assert norm.numpy() == plain_norm
    ga, gb = tape.gradient(loss, [x, y])
    # closed form: loss = C (w . v) / |v| with v = (a, b), w = (1, 2, 3, 1, 1), |v| > C
    v, w = np.concatenate([a, b]).astype(float), np.array([1.0, 2.0, 3.0, 1.0, 1.0])
    r = np.linalg.norm(v)
    want = 1.5 * (w / r - v * (w @ v) / r ** 3)
    got = np.concatenate([ga.numpy(), gb.numpy()])
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-13)


def test_global_norm_under_a_tape_is_a_tensor_with_its_gradient():
    # tf.linalg.global_norm is differentiable; gradcli's returned a numpy float under a tape
    x, y = gc.Variable([3.0, 4.0]), gc.Variable(12.0)
    with gc.GradientTape() as tape:
        n = global_norm([x, None, y])
    assert isinstance(n, gc.Tensor) and float(n) == 13.0 == global_norm([x.numpy(), 12.0])
    gx, gy = tape.gradient(n, [x, y])
    assert gx.numpy().tolist() == [3.0 / 13.0, 4.0 / 13.0] and float(gy) == 12.0 / 13.0
