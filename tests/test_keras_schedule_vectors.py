"""Keras 3's own test vectors for its learning-rate schedules, run on gc.optimizers.schedules
(issue 18: "schedule objects as learning_rate ... with Keras's numbers").

Source: keras/src/optimizers/schedules/learning_rate_schedule_test.py (Keras 3), each case
with its step, arguments, expected value and tolerance as written there (assertAllClose's
rtol/atol 1e-6 by default); the numbers are Keras's, the tests below only call gradcli.
"""
import math

import pytest

from gradcli.optimizers import schedules as S


def close(got, want, tol=1e-6):
    """Keras's assertAllClose(got, want, tol): |got - want| <= atol + rtol * |want|."""
    assert abs(got - want) <= tol + tol * abs(want), (got, want)


def test_exponential_decay_continuous_and_staircase():  # ExponentialDecayTest
    close(S.ExponentialDecay(0.05, 10, 0.96)(5), 0.05 * 0.96 ** (5.0 / 10.0))
    stair = S.ExponentialDecay(0.1, 3, 0.96, staircase=True)
    close(stair(1), 0.1)
    close(stair(2), 0.1)
    close(stair(100), 0.1 * 0.96 ** (100 // 3))


def test_piecewise_constant_values():  # PiecewiseConstantDecayTest
    s = S.PiecewiseConstantDecay([100, 110, 120], [1.0, 0.1, 0.01, 0.001])
    for step, want in [(-999.0, 1.0), (100, 1.0), (105, 0.1), (110, 0.1), (120, 0.01),
                       (999, 0.001)]:
        if step < 0:
            with pytest.raises(ValueError, match="step"):  # gradcli: steps count from 0
                s(step)
            continue
        close(s(step), want)
    s = S.PiecewiseConstantDecay([1, 2, 3], [0.4, 0.5, 0.6, 0.7])  # test_boundary_values
    for step, want in [(0, 0.4), (1, 0.4), (2, 0.5), (3, 0.6), (4, 0.7)]:
        close(s(step), want)


@pytest.mark.parametrize("step, end_lr, power, cycle, want", [
    (5, 0.0, 1.0, False, 0.05 * 0.5),                          # LinearDecayTest.test_halfway
    (10, 0.001, 1.0, False, 0.001),                            # test_end
    (5, 0.001, 1.0, False, (0.05 + 0.001) * 0.5),              # test_halfway_with_end
    (15, 0.001, 1.0, False, 0.001),                            # test_beyond_end
    (15, 0.001, 1.0, True, (0.05 - 0.001) * 0.25 + 0.001),     # test_beyond_end_with_cycle
    (5, 0.0, 0.5, False, 0.05 * 0.5 ** 0.5),                   # SqrtDecayTest.test_halfway
    (10, 0.001, 0.5, False, 0.001),                            # test_end
    (5, 0.001, 0.5, False, (0.05 - 0.001) * 0.5 ** 0.5 + 0.001),   # test_halfway_with_end
    (15, 0.001, 0.5, False, 0.001),                            # test_beyond_end
    (15, 0.001, 0.5, True, (0.05 - 0.001) * 0.25 ** 0.5 + 0.001),  # beyond_end_with_cycle
])
def test_polynomial_decay(step, end_lr, power, cycle, want):
    close(S.PolynomialDecay(0.05, 10, end_lr, power=power, cycle=cycle)(step), want)


def test_polynomial_decay_begins_with_cycle():  # SqrtDecayTest.test_begin_with_cycle
    close(S.PolynomialDecay(0.001, 10, cycle=True)(0), 0.001)


def test_inverse_time_decay():  # InverseTimeDecayTest
    s = S.InverseTimeDecay(0.1, 10, 0.96)
    stair = S.InverseTimeDecay(0.1, 10, 0.96, staircase=True)
    for i in range(11):
        close(s(i), 0.1 / (1 + i / 10 * 0.96))
        close(stair(i), 0.1 / (1 + 0.96 * (i // 10)))


def _np_cosine_decay(step, decay_steps, alpha=0.0):  # Keras's test helper, as written there
    step = min(step, decay_steps)
    completed_fraction = step / decay_steps
    decay = 0.5 * (1.0 + math.cos(math.pi * completed_fraction))
    return (1.0 - alpha) * decay + alpha


def _linear_warmup(step, warmup_steps, initial_lr, target_lr):  # Keras's test helper
    return step / warmup_steps * (target_lr - initial_lr)


def test_cosine_decay_and_alpha():  # CosineDecayTest.test_decay, test_alpha, test_float64
    for step in range(0, 1500, 250):
        close(S.CosineDecay(1.0, 1000)(step), _np_cosine_decay(step, 1000))
        close(S.CosineDecay(1.0, 1000, 0.1)(step), _np_cosine_decay(step, 1000, 0.1))
        close(S.CosineDecay(1.0, 1000, dtype="float64")(step), _np_cosine_decay(step, 1000))


def test_cosine_decay_warmup():  # CosineDecayTest.test_warmup and test_warmup_decay
    for step in range(0, 1500, 250):
        s = S.CosineDecay(0.0, 10, warmup_target=10.0, warmup_steps=1500)
        close(s(step), _linear_warmup(step, 1500, 0.0, 10.0))
    for step in range(0, 3000, 250):
        s = S.CosineDecay(0.0, 1000, warmup_target=10.0, warmup_steps=2000)
        want = (_linear_warmup(step, 2000, 0.0, 10.0) if step < 2000 + 1
                else 10.0 * _np_cosine_decay(step - 2000, 1000))
        close(s(step), want)
