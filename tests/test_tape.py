"""Tensors, Variables and GradientTape (SPEC section 3)."""
import math
import sys

import numpy as np
import pytest

import gradcli as gc


def test_variable_assign_family():
    v = gc.Variable(1.0)
    assert v.assign(3.0) is v and float(v.numpy()) == 3.0
    v.assign_add(2.0)
    assert float(v.numpy()) == 5.0
    v.assign_sub(0.5)
    assert float(v.numpy()) == 4.5
    assert v.dtype == np.float64


def test_float64_by_default_and_float32_on_request():
    assert gc.constant(3).dtype == np.float64
    assert gc.Variable(3).dtype == np.float64
    assert gc.Variable(3.0, dtype="float32").dtype == np.float32
    assert gc.constant([1, 2], dtype=np.float32).dtype == np.float32


def test_gradient_of_square():
    x = gc.Variable(3.0)
    with gc.GradientTape() as tape:
        y = x ** 2
    assert float(tape.gradient(y, x)) == 6.0


def test_constants_need_watch():
    x = gc.constant(3.0)
    with gc.GradientTape() as tape:
        y = x * x
    assert tape.gradient(y, x) is None
    with gc.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert float(tape.gradient(y, x)) == 6.0


def test_watch_accessed_variables_false():
    a, b = gc.Variable(2.0), gc.Variable(5.0)
    with gc.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(a)
        y = a * b
    da, db = tape.gradient(y, [a, b])
    assert float(da) == 5.0 and db is None


def test_non_trainable_variable_is_not_watched():
    w = gc.Variable(2.0, trainable=False)
    with gc.GradientTape() as tape:
        y = w * w
    assert tape.gradient(y, w) is None


def test_persistent_tape_two_gradients():
    x = gc.constant(3.0)
    with gc.GradientTape(persistent=True) as t:
        t.watch(x)
        y = x * x
        z = y * y
    assert float(t.gradient(z, x)) == 108.0
    assert float(t.gradient(y, x)) == 6.0
    assert float(t.gradient(z, y)) == 18.0


def test_non_persistent_tape_used_twice_raises_clear_error():
    x = gc.Variable(3.0)
    with gc.GradientTape() as t:
        y = x * x
    t.gradient(y, x)
    with pytest.raises(RuntimeError, match="non-persistent GradientTape can compute only one gradient"):
        t.gradient(y, x)


def test_nested_sources_structure():
    a, b, c = gc.Variable(1.0), gc.Variable(2.0), gc.Variable(3.0)
    with gc.GradientTape() as t:
        y = a * b * c
    g = t.gradient(y, {"ignored": None} and [a, [b, (c,)]])
    assert float(g[0]) == 6.0 and float(g[1][0]) == 3.0 and float(g[1][1][0]) == 2.0
    assert isinstance(g[1][1], tuple)


def test_output_gradients_scale_the_seed():
    x = gc.Variable([1.0, 2.0])
    with gc.GradientTape() as t:
        y = x * x
    g = t.gradient(y, x, output_gradients=gc.constant([10.0, 100.0]))
    np.testing.assert_array_equal(g.numpy(), [20.0, 400.0])


def test_unconnected_gives_none_or_zero():
    x, z = gc.Variable(1.0), gc.Variable(2.0)
    with gc.GradientTape(persistent=True) as t:
        y = x * 3.0
    assert t.gradient(y, z) is None
    assert float(t.gradient(y, z, unconnected_gradients="zero")) == 0.0


def test_stop_recording():
    x = gc.Variable(2.0)
    with gc.GradientTape() as t:
        y = x * x
        with t.stop_recording():
            z = x * x  # not recorded
        w = y + z
    assert float(t.gradient(w, x)) == 4.0


def test_reset_forgets_recording():
    x = gc.Variable(2.0)
    with gc.GradientTape() as t:
        y = x * x
        t.reset()
        y = x * x * x
    assert float(t.gradient(y, x)) == 12.0


def test_nested_tapes_give_higher_orders():
    x = gc.Variable(3.0)
    with gc.GradientTape() as t2:
        with gc.GradientTape() as t1:
            y = x ** 3
        dy = t1.gradient(y, x)
    d2y = t2.gradient(dy, x)
    assert (float(dy), float(d2y)) == (27.0, 18.0)


def test_third_order_through_three_tapes():
    x = gc.Variable(0.7)
    with gc.GradientTape() as t3:
        with gc.GradientTape() as t2:
            with gc.GradientTape() as t1:
                y = gc.sin(x)
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t3.gradient(d2, x)
    assert float(d3) == pytest.approx(-math.cos(0.7), rel=1e-15)


def test_broadcasting_and_reductions():
    w = gc.Variable([[1.0], [2.0]])          # (2, 1)
    x = gc.constant([1.0, 2.0, 3.0])         # (3,)
    with gc.GradientTape() as t:
        y = gc.reduce_sum(w * x)             # broadcast to (2, 3)
        m = gc.reduce_mean(w * x)
    assert float(y) == 18.0 and float(m) == 3.0
    np.testing.assert_array_equal(t.gradient(y, w).numpy(), [[6.0], [6.0]])


def test_reduce_sum_axis_gradient():
    x = gc.Variable(np.arange(6.0).reshape(2, 3))
    with gc.GradientTape() as t:
        y = gc.reduce_sum(gc.reduce_sum(x * x, axis=1) * gc.constant([1.0, 10.0]))
    np.testing.assert_array_equal(t.gradient(y, x).numpy(), 2 * np.arange(6.0).reshape(2, 3)
                                  * np.array([[1.0], [10.0]]))


def test_array_ops_second_order_through_broadcast():
    """sum_to and broadcast_to are each other's gradient, so they nest."""
    x = gc.Variable([1.0, 2.0])
    with gc.GradientTape() as t2:
        with gc.GradientTape() as t1:
            y = gc.reduce_sum(gc.reshape(gc.broadcast_to(x, (3, 2)) ** 3, (6,)))
        g = t1.gradient(y, x)
    h = t2.gradient(g, x)
    np.testing.assert_allclose(g.numpy(), 9 * np.array([1.0, 4.0]))
    np.testing.assert_allclose(h.numpy(), 18 * np.array([1.0, 2.0]))


@pytest.mark.slow
def test_deep_graph_does_not_hit_recursion_limit():
    x = gc.Variable(1.0)
    n = sys.getrecursionlimit() * 5
    with gc.GradientTape() as t:
        y = x
        for _ in range(n):
            y = y + x
    assert float(t.gradient(y, x)) == n + 1


def test_watch_rejects_non_tensors():
    with gc.GradientTape() as t:
        with pytest.raises(TypeError, match="expects gradcli tensors"):
            t.watch(3.0)
