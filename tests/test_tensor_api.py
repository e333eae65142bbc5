"""What TensorFlow's autodiff guides use next (issue 18): matmul, indexing, stack and concat,
reduce_max/min/prod, stop_gradient, custom_gradient, jacobian, batch_jacobian,
clip_by_norm, linspace/zeros/ones, constant(name=), numpy interop.

Oracles: closed forms computed with numpy, central finite differences, and the numbers
printed in TensorFlow's guides "Introduction to gradients and automatic differentiation"
and "Advanced automatic differentiation" (tensorflow.org/guide/autodiff, /advanced_autodiff),
written here as constants.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcli as gc
from gradcli.registry import OPS


def grad(f, *xs):
    vs = [gc.Variable(np.asarray(x, dtype=float)) for x in xs]
    with gc.GradientTape() as tape:
        y = f(*vs)
    return [None if g is None else g.numpy() for g in tape.gradient(y, vs)]


def numeric(f, x, h=1e-6):
    """Central differences of a scalar numpy function."""
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (f(x + e) - f(x - e)) / (2 * h)
    return out


# -- matmul ------------------------------------------------------------------------------
def test_matmul_gradients_are_the_closed_forms():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    ga, gb = grad(lambda x, y: gc.reduce_sum(gc.sin(x @ y)), a, b)
    c = np.cos(a @ b)
    np.testing.assert_allclose(ga, c @ b.T, rtol=1e-14)
    np.testing.assert_allclose(gb, a.T @ c, rtol=1e-14)
    assert (gc.matmul(gc.constant(a), gc.constant(b)).numpy() == a @ b).all()


def test_batched_matmul_sums_a_broadcast_operand():
    rng = np.random.default_rng(1)
    a, w = rng.normal(size=(5, 2, 3)), rng.normal(size=(3, 4))
    ga, gw = grad(lambda x, y: gc.reduce_sum((x @ y) ** 2), a, w)
    np.testing.assert_allclose(gw, numeric(lambda v: np.sum((a @ v) ** 2), w), rtol=1e-7)
    np.testing.assert_allclose(ga, 2 * (a @ w) @ w.T, rtol=1e-14)


def test_matmul_of_vectors_is_a_clear_error_as_tf_matmul():
    with pytest.raises(ValueError, match="rank 2"):
        gc.matmul(gc.constant([1.0, 2.0]), gc.constant([[1.0], [2.0]]))


def test_tf_guide_linear_layer_with_a_dict_of_variables():
    # "Introduction to gradients": y = x @ w + b, loss = reduce_mean(y**2), gradients for
    # [w, b] and for {'w': w, 'b': b}; dl/db = mean(2 y) per column, dl/dw = x^T (2 y / 2)
    w0 = np.array([[0.5, -1.0], [0.25, 2.0], [1.0, 0.0]])
    w, b = gc.Variable(w0, name="w"), gc.Variable(gc.zeros(2), name="b")
    x = [[1.0, 2.0, 3.0]]
    with gc.GradientTape(persistent=True) as tape:
        y = x @ w + b
        loss = gc.reduce_mean(y ** 2)
    dl_dw, dl_db = tape.gradient(loss, [w, b])
    y0 = np.array(x) @ w0
    np.testing.assert_allclose(dl_db.numpy(), y0[0], rtol=1e-15)  # 2*y/2 per column
    np.testing.assert_allclose(dl_dw.numpy(), np.array(x).T @ y0, rtol=1e-15)
    by_name = tape.gradient(loss, {"w": w, "b": b})
    assert set(by_name) == {"w", "b"}
    np.testing.assert_array_equal(by_name["b"].numpy(), dl_db.numpy())


# -- indexing and slicing ----------------------------------------------------------------
@pytest.mark.parametrize("key", [1, -1, slice(1, None), (slice(None), 0), (0, slice(None, None, 2)),
                                 (Ellipsis, 1), (None, 1), [0, 0, 2], (np.array([1, 0]),)])
def test_indexing_is_numpys_and_its_gradient_scatters(key):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4))
    t = gc.constant(x)
    np.testing.assert_array_equal(t[key].numpy(), x[key])
    (g,) = grad(lambda v: gc.reduce_sum(v[key] ** 3), x)
    np.testing.assert_allclose(g, numeric(lambda v: np.sum(v[key] ** 3), x), rtol=1e-7, atol=1e-9)


def test_boolean_mask_indexing():
    x = np.array([1.0, -2.0, 3.0, -4.0])
    (g,) = grad(lambda v: gc.reduce_sum(v[x > 0] * 5.0), x)
    assert g.tolist() == [5.0, 0.0, 5.0, 0.0]


def test_indexing_second_order_and_iteration():
    x = gc.Variable([1.0, 2.0, 3.0])
    with gc.GradientTape() as outer:
        with gc.GradientTape() as inner:
            y = x[0] * x[1] ** 2 + sum(e for e in x)
        g = inner.gradient(y, x)
    h = outer.jacobian(g, x)
    assert g.numpy().tolist() == [5.0, 5.0, 1.0]
    assert h.numpy().tolist() == [[0.0, 4.0, 0.0], [4.0, 2.0, 0.0], [0.0, 0.0, 0.0]]


def test_indexing_with_a_tensor_is_a_clear_error():
    with pytest.raises(TypeError, match="indexing with a tensor"):
        gc.constant([1.0, 2.0])[gc.constant(0.0)]


# -- stack and concat ----------------------------------------------------------------------
def test_stack_and_concat_pass_gradients_to_each_input():
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    ga, gb = grad(lambda x, y: gc.reduce_sum(gc.stack([x, y * y], axis=1) * [[1.0, 10.0]]), a, b)
    assert ga.tolist() == [1.0, 1.0] and gb.tolist() == [60.0, 80.0]
    ga, gb = grad(lambda x, y: gc.reduce_sum(gc.concat([x * x, y], axis=0) * [1, 2, 3, 4]), a, b)
    assert ga.tolist() == [2.0, 8.0] and gb.tolist() == [3.0, 4.0]
    assert gc.stack([gc.constant(1.0), 2.0]).numpy().tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="list"):
        gc.stack(gc.constant([1.0]))


# -- reductions ------------------------------------------------------------------------------
def test_reduce_max_and_min_share_ties_as_tensorflow():
    # tf.reduce_max's gradient: equal shares among the maxima (math_grad._MinOrMaxGrad)
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]])
    (g,) = grad(lambda v: gc.reduce_max(v), x)
    assert g.tolist() == [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]]
    (g,) = grad(lambda v: gc.reduce_sum(gc.reduce_min(v, axis=1) * [1.0, 2.0]), x)
    assert g.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]]
    assert gc.reduce_max(gc.constant(x), axis=0, keepdims=True).shape == (1, 3)


def test_reduce_prod_is_exact_at_zeros_to_second_order():
    x = gc.Variable([2.0, 0.0, 3.0])
    with gc.GradientTape() as outer:
        with gc.GradientTape() as inner:
            p = gc.reduce_prod(x)
        g = inner.gradient(p, x)
    h = outer.jacobian(g, x)
    assert float(p) == 0.0
    assert g.numpy().tolist() == [0.0, 6.0, 0.0]   # no 0/0 (dividing by x would give nan)
    assert h.numpy().tolist() == [[0.0, 3.0, 0.0], [3.0, 0.0, 2.0], [0.0, 2.0, 0.0]]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=2, max_size=5), st.integers(0, 1))
def test_reduce_prod_gradient_against_finite_differences(values, axis):
    x = np.array(values + values).reshape(2, -1)
    (g,) = grad(lambda v: gc.reduce_sum(gc.reduce_prod(v, axis=axis) ** 2), x)
    want = numeric(lambda v: np.sum(np.prod(v, axis=axis) ** 2), x, h=1e-5)
    np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-5)


def test_third_derivatives_of_reduce_prod_at_a_zero():
    # prod(x1, x2, x3): d3/dx1 dx2 dx3 = 1, every other third derivative 0 (at any point)
    x = gc.Variable([2.0, 0.0, 3.0])
    with gc.GradientTape() as t3:
        with gc.GradientTape() as t2:
            with gc.GradientTape() as t1:
                p = gc.reduce_prod(x)
            g = t1.gradient(p, x)
        h = t2.jacobian(g, x)
    third = t3.jacobian(h, x).numpy()
    want = np.zeros((3, 3, 3))
    for i, j, k in [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]:
        want[i, j, k] = 1.0
    np.testing.assert_array_equal(third, want)


# -- stop_gradient, custom_gradient ----------------------------------------------------------
def test_stop_gradient():
    x = gc.Variable(3.0)
    with gc.GradientTape() as tape:
        y = x * gc.stop_gradient(x * x)
    assert float(tape.gradient(y, x)) == 9.0


# TF guide "Advanced automatic differentiation", custom gradients: backward clips the
# upstream gradient 4 to norm 0.5... printed tf.Tensor(2.0): clip_by_norm(dy, 0.5) of
# dy = 1, times d(v*v)/dv = 4 at v = 2 -> 0.5 * 4 = 2.0
TF_CLIPPED_CUSTOM_GRADIENT = 2.0


def test_custom_gradient_as_the_tf_guide():
    @gc.custom_gradient
    def clip_gradients(y):
        def backward(dy):
            return gc.clip_by_norm(dy, 0.5)
        return y, backward

    v = gc.Variable(2.0)
    with gc.GradientTape() as tape:
        output = clip_gradients(v * v)
    assert float(tape.gradient(output, v)) == TF_CLIPPED_CUSTOM_GRADIENT


def test_custom_gradient_log1pexp_is_finite_where_autodiff_is_not():
    # TF's custom_gradient docstring: log1pexp's gradient at 100 is nan without the
    # custom rule (inf / inf) and 1.0 with it
    @gc.custom_gradient
    def log1pexp(x):
        e = gc.exp(x)

        def grad_fn(upstream):
            return upstream * (1 - 1 / (1 + e))
        return gc.log(1 + e), grad_fn

    x = gc.Variable(100.0)
    with gc.GradientTape() as tape:
        y = log1pexp(x)
    assert float(tape.gradient(y, x)) == 1.0


def test_custom_gradient_is_differentiated_again_and_checks_its_inputs():
    @gc.custom_gradient
    def cube(x):
        return x ** 3, lambda g: g * 3 * x ** 2

    x = gc.Variable(2.0)
    with gc.GradientTape() as outer:
        with gc.GradientTape() as inner:
            y = cube(x)
        g = inner.gradient(y, x)
    assert float(g) == 12.0 and float(outer.gradient(g, x)) == 12.0

    w = gc.Variable(3.0)

    @gc.custom_gradient
    def hidden(x):
        return x * w, lambda g: g * w

    with gc.GradientTape(), pytest.raises(TypeError, match="not an argument"):
        hidden(x)

    @gc.custom_gradient
    def two(x, y):
        return x * y, lambda g: g * y

    with gc.GradientTape() as tape:
        z = two(x, w)
    with pytest.raises(ValueError, match="1 gradients for 2 inputs"):
        tape.gradient(z, x)


# -- jacobians ---------------------------------------------------------------------------------
def test_jacobian_as_the_tf_guide():
    # "Advanced automatic differentiation": y = sigmoid(x + delta) over linspace(-10, 10,
    # 201); the jacobian with respect to the scalar delta has shape (201,)
    x = gc.linspace(-10.0, 10.0, 200 + 1)
    delta = gc.Variable(0.0)
    with gc.GradientTape() as tape:
        y = gc.sigmoid(x + delta)
    dy_dx = tape.jacobian(y, delta)
    assert y.shape == (201,) and dy_dx.shape == (201,)
    s = 1 / (1 + np.exp(-np.linspace(-10, 10, 201)))
    np.testing.assert_allclose(dy_dx.numpy(), s * (1 - s), rtol=1e-10)


def test_jacobian_of_a_matrix_function_and_unconnected_sources():
    rng = np.random.default_rng(3)
    w0 = rng.normal(size=(3, 2))
    w, u = gc.Variable(w0), gc.Variable(1.0)
    x = gc.constant(rng.normal(size=(4, 3)))
    with gc.GradientTape(persistent=True) as tape:
        y = gc.tanh(x @ w)
    j = tape.jacobian(y, w)
    assert j.shape == (4, 2, 3, 2)
    want = np.zeros((4, 2, 3, 2))
    d = 1 - np.tanh(x.numpy() @ w0) ** 2
    for b in range(4):
        for i in range(2):
            want[b, i, :, i] = d[b, i] * x.numpy()[b]
    np.testing.assert_allclose(j.numpy(), want, rtol=1e-9)
    assert tape.jacobian(y, u) is None
    zeros = tape.jacobian(y, u, unconnected_gradients=gc.UnconnectedGradients.ZERO)
    assert zeros.shape == (4, 2) and not zeros.numpy().any()


def test_batch_jacobian_is_the_diagonal_blocks_of_the_jacobian():
    rng = np.random.default_rng(4)
    x = gc.Variable(rng.normal(size=(5, 3)))
    w = gc.constant(rng.normal(size=(3, 2)))
    with gc.GradientTape(persistent=True) as tape:
        y = gc.sin(x @ w) * 2.0
    bj = tape.batch_jacobian(y, x)
    full = tape.jacobian(y, x).numpy()
    assert bj.shape == (5, 2, 3)
    np.testing.assert_allclose(bj.numpy(), np.stack([full[b, :, b, :] for b in range(5)]),
                               rtol=1e-15)
    with pytest.raises(ValueError, match="batch"):
        tape.batch_jacobian(y, gc.Variable(np.ones((4, 3))))


def test_non_persistent_tape_allows_one_jacobian():
    x = gc.Variable([1.0, 2.0])
    with gc.GradientTape() as tape:
        y = x * x
    assert tape.jacobian(y, x).numpy().tolist() == [[2.0, 0.0], [0.0, 4.0]]
    with pytest.raises(RuntimeError, match="persistent"):
        tape.jacobian(y, x)


# -- clip_by_norm, constants ------------------------------------------------------------------
def test_clip_by_norm_as_tensorflow():
    # tf.clip_by_norm([3, 4], 1) = [0.6, 0.8]; below the norm it is the identity
    t = gc.constant([3.0, 4.0])
    np.testing.assert_allclose(gc.clip_by_norm(t, 1.0).numpy(), [0.6, 0.8], rtol=1e-15)
    assert gc.clip_by_norm(t, 10.0).numpy().tolist() == [3.0, 4.0]
    assert gc.clip_by_norm(gc.zeros(2), 1.0).numpy().tolist() == [0.0, 0.0]
    rows = gc.clip_by_norm(gc.constant([[3.0, 4.0], [0.3, 0.4]]), 1.0, axes=[1]).numpy()
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.3, 0.4]], rtol=1e-15)
    (g,) = grad(lambda v: gc.reduce_sum(gc.clip_by_norm(v, 1.0)), [3.0, 4.0])
    np.testing.assert_allclose(g, numeric(
        lambda v: np.sum(v / max(np.linalg.norm(v), 1.0)), [3.0, 4.0]), rtol=1e-7)
    (g,) = grad(lambda v: gc.reduce_sum(gc.clip_by_norm(v, 1.0)), [0.0, 0.0])
    assert np.isfinite(g).all()
    with pytest.raises(ValueError, match="positive"):
        gc.clip_by_norm(t, 0.0)


def test_linspace_zeros_ones_and_constant_with_a_name():
    assert gc.linspace(0.0, 1.0, 5).numpy().tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert gc.zeros((2, 3)).shape == (2, 3) and gc.zeros(3).dtype == np.float64
    assert gc.ones([2], dtype="float32").numpy().tolist() == [1.0, 1.0]
    assert gc.ones(2, "float32").dtype == np.float32
    c = gc.constant([1.0, 2.0], name="c")
    assert c.numpy().tolist() == [1.0, 2.0]
    assert gc.constant(0.0, shape=(2, 2)).numpy().tolist() == [[0.0, 0.0], [0.0, 0.0]]
    with pytest.raises(ValueError, match="num"):
        gc.linspace(0.0, 1.0, 0)


# -- numpy interop ------------------------------------------------------------------------------
def test_numpy_ufuncs_run_gradclis_ops_and_stay_differentiable():
    x = gc.Variable(0.5)
    with gc.GradientTape() as tape:
        y = np.sin(x) * np.exp(x) + np.float64(2.0) * x + np.array(1.0) - np.power(x, 3)
    assert isinstance(y, gc.Tensor)
    want = math.cos(0.5) * math.exp(0.5) + math.sin(0.5) * math.exp(0.5) + 2.0 - 3 * 0.25
    assert float(tape.gradient(y, x)) == pytest.approx(want, rel=1e-15)
    assert np.asarray(gc.constant([1.0, 2.0])).tolist() == [1.0, 2.0]
    assert (np.array([1.0, 5.0]) < gc.constant([2.0, 2.0])).tolist() == [True, False]


def test_numpy_functions_without_a_gradcli_op_are_a_clear_error():
    with pytest.raises(TypeError, match="not a differentiable op"):
        np.add.reduce(gc.constant([1.0, 2.0]))
    with pytest.raises(TypeError, match="not a differentiable op"):
        np.sin(gc.constant(1.0), out=np.empty(()))


def test_every_array_op_is_registered_with_a_documented_gradient():
    names = ["matmul", "getitem", "scatter", "stack", "concat", "transpose", "cast",
             "stop_gradient", "reduce_max", "reduce_min", "reduce_prod", "prod_others",
             "max_weight", "min_weight", "less", "greater"]
    for name in names:
        assert OPS[name].grad.__doc__, name


# -- Taylor rules of the array ops against nested tapes ------------------------------------
def _tape_series(f, parts, order=3):
    """Taylor coefficients d^k/dt^k f(a + b t + c t^2) / k! at t = 0 by nested tapes."""
    t = gc.Variable(0.0)
    tapes = [gc.GradientTape(persistent=True) for _ in range(order)]
    for tape in tapes:
        tape.__enter__()
    args = [a + b * t + c * t * t for a, b, c in parts]
    current = f(*args)
    out = [current.numpy()]
    for k, tape in enumerate(reversed(tapes), start=1):
        tape.__exit__(None, None, None)
        current = tape.jacobian(current, t, unconnected_gradients="zero")
        out.append(current.numpy() / math.factorial(k))
    return np.array(out)


def _series(parts, order=3):
    return [np.stack([a, b, c] + [np.zeros_like(a)] * (order - 2)) for a, b, c in parts]


TAYLOR_CASES = [
    ("reduce_max", {"axis": (1,), "keepdims": False}, 1),
    ("reduce_min", {"axis": None, "keepdims": True}, 1),
    ("reduce_prod", {"axis": (0,), "keepdims": False}, 1),
    ("reduce_prod", {"axis": None, "keepdims": False}, 1),
    ("prod_others", {"axis": (1,)}, 1),
    ("max_weight", {"axis": (1,)}, 1),
    ("min_weight", {"axis": None}, 1),
    ("stack", {"axis": 1}, 2),
    ("concat", {"axis": 0}, 2),
    ("matmul", {}, 2),
    ("transpose", {"perm": (1, 0)}, 1),
    ("getitem", {"key": ((("slice", 1, None, None)), 0)}, 1),
    ("stop_gradient", {}, 1),
    ("cast", {"dtype": "float64"}, 1),
    ("scatter", {"key": (("array", (4,), (0, 2, 2, 1)),), "shape": (3, 3)}, 1),
    ("less", {}, 2), ("less_equal", {}, 2), ("greater", {}, 2), ("greater_equal", {}, 2),
    ("equal", {}, 2), ("not_equal", {}, 2),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, attrs, arity", TAYLOR_CASES, ids=lambda c: str(c))
def test_taylor_rules_of_array_ops_are_the_nested_tapes_derivatives(name, attrs, arity):
    rng = np.random.default_rng(7)
    shape = (4, 3) if name == "scatter" else (3, 3)
    parts = [tuple(rng.normal(size=shape) for _ in range(3)) for _ in range(arity)]
    want = _tape_series(lambda *xs: gc.tensor.apply(name, *xs, **attrs), parts)
    if name == "stop_gradient":
        want[1:] = 0.0  # stop_gradient has no derivative on a tape: its series is x_0
    got = OPS[name].taylor(*_series(parts), **attrs)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# -- properties -----------------------------------------------------------------------------
_index_part = st.one_of(
    st.integers(-3, 2),
    st.builds(slice, st.none() | st.integers(-4, 4), st.none() | st.integers(-4, 4),
              st.none() | st.sampled_from([1, 2, -1])),
    st.just(None), st.just(Ellipsis),
    st.lists(st.integers(-3, 2), min_size=1, max_size=4).map(np.array))


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(st.lists(_index_part, min_size=1, max_size=3))
def test_any_numpy_index_is_numpys_value_and_a_scatter_gradient(parts):
    x = np.arange(12.0).reshape(3, 4) / 7.0 + 0.5
    key = tuple(parts)
    try:
        want = x[key]
    except (IndexError, TypeError, ValueError):
        with pytest.raises((IndexError, TypeError, ValueError)):
            gc.constant(x)[key]
        return
    np.testing.assert_array_equal(gc.constant(x)[key].numpy(), want)
    weights = np.linspace(1.0, 2.0, want.size).reshape(want.shape)
    (g,) = grad(lambda v: gc.reduce_sum(v[key] * weights), x)
    expected = np.zeros_like(x)
    np.add.at(expected, key, weights)  # every read of an element adds its weight
    np.testing.assert_array_equal(g, expected)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(0, 2), st.integers(2, 4))
def test_stack_and_concat_along_any_axis_match_numpy_and_split_the_gradient(n, axis, size):
    rng = np.random.default_rng(n * 10 + axis)
    arrays = [rng.normal(size=(size, 2)) for _ in range(n)]
    stacked = gc.stack([gc.constant(a) for a in arrays], axis=axis).numpy()
    np.testing.assert_array_equal(stacked, np.stack(arrays, axis=axis))
    cat_axis = min(axis, 1)
    weights = rng.normal(size=np.concatenate(arrays, axis=cat_axis).shape)
    grads = grad(lambda *vs: gc.reduce_sum(gc.concat(list(vs), axis=cat_axis) * weights), *arrays)
    np.testing.assert_array_equal(np.concatenate(grads, axis=cat_axis), weights)


def test_batch_jacobian_of_an_unconnected_source_and_custom_gradient_in_gc_function():
    x, u = gc.Variable(np.ones((2, 3))), gc.Variable(np.ones((2, 3)))
    with gc.GradientTape(persistent=True) as tape:
        y = x * 2.0
    assert tape.batch_jacobian(y, u) is None
    zeros = tape.batch_jacobian(y, u, unconnected_gradients=gc.UnconnectedGradients.ZERO)
    assert zeros.shape == (2, 3, 3) and not zeros.numpy().any()

    @gc.custom_gradient
    def double(v):
        return v * 2.0, lambda g: g * 100.0  # a deliberately different gradient

    f = gc.function(lambda v: double(v) + 1.0)
    assert float(f(gc.constant(3.0))) == 7.0   # the forward ops are the program
    w = gc.Variable(3.0)
    with gc.GradientTape() as tape:
        z = f(w)                                 # under a tape: eager, the custom rule
    assert float(tape.gradient(z, w)) == 100.0
