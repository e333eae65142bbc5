"""apply_gradients (issue 23: a wrong pair raised AttributeError; issue 18: the tutorial
loop's speed). Bad pairs are clear errors; the float path for a few float64 scalars gives
the bits of the array path (the oracle: the same optimizer kept on arrays)."""
import numpy as np
import pytest

import gradcli as gc
from gradcli import optimizers as O


def test_a_pair_written_the_wrong_way_round_says_so():
    x = gc.Variable(1.0)
    with pytest.raises(TypeError, match=r"\(variable, gradient\): write zip\(grads, variables\)"):
        O.Adam().apply_gradients([(x, gc.constant(1.0))])


@pytest.mark.parametrize("pairs, message", [
    ([gc.constant(1.0)], "pairs, as zip"),
    ([(gc.constant(1.0),)], "pairs, as zip"),
    ([(gc.constant(1.0), gc.constant(2.0))], "must be a gc.Variable, got Tensor"),
    ([(1.0, np.array(2.0))], "must be a gc.Variable, got ndarray"),
    ([(1.0, 2.0)], "must be a gc.Variable, got float"),
    (3, "pairs, as zip"),
])
def test_items_that_are_not_gradient_variable_pairs_are_type_errors(pairs, message):
    with pytest.raises(TypeError, match=message):
        O.SGD().apply_gradients(pairs)


def test_shapes_duplicates_and_non_numbers_are_clear_errors():
    v = gc.Variable([1.0, 2.0], name="w")
    with pytest.raises(ValueError, match=r"gradient shape \(3,\) differs .* \(variable 'w'\)"):
        O.SGD().apply_gradients([(np.ones(3), v)])
    with pytest.raises(ValueError, match="appears twice"):
        O.SGD().apply_gradients([(np.ones(2), v), (np.ones(2), v)])
    with pytest.raises(TypeError, match="not numbers"):
        O.SGD().apply_gradients([(np.array(["a", "b"]), v)])
    assert v.numpy().tolist() == [1.0, 2.0]  # nothing applied


def test_none_gradients_are_skipped_with_a_warning_and_all_none_is_an_error():
    x, y = gc.Variable(1.0), gc.Variable(2.0, name="bias")
    with pytest.warns(UserWarning, match="no gradient for variable 'bias'"):
        O.SGD(lr=0.5).apply_gradients([(gc.constant(1.0), x), (None, y)])
    assert (float(x.numpy()), float(y.numpy())) == (0.5, 2.0)
    with pytest.raises(ValueError, match="every gradient is None"):
        O.SGD().apply_gradients([(None, x)])


def _run(name, kwargs, floats: bool, steps=60):
    """x, y after steps on Rosenbrock through apply_gradients; floats=False keeps the
    optimizer on the array path (the oracle)."""
    x, y = gc.Variable(-1.5), gc.Variable(2.0)
    opt = O.make(name, **kwargs)
    if not floats:
        opt._floats = False
    for _ in range(steps):
        with gc.GradientTape() as tape:
            loss = (1 - x) ** 2 + 100 * (y - x ** 2) ** 2
        opt.apply_gradients(zip(tape.gradient(loss, [x, y]), [x, y]))
    return float(x.numpy()).hex(), float(y.numpy()).hex(), opt


OPTIONS = [{}, {"clip_norm": 1.0}, {"clip_value": 0.5}, {"weight_decay": 0.01},
           {"schedule": "exp:0.99"}, {"maximize": True}, {"compat": "keras"}]


@pytest.mark.slow
@pytest.mark.parametrize("name", O.NAMES)
@pytest.mark.parametrize("kwargs", OPTIONS, ids=lambda k: ",".join(k) or "plain")
def test_the_float_path_gives_the_array_paths_bits(name, kwargs):
    kwargs = {"lr": 1e-3, **kwargs}
    try:
        O.make(name, **kwargs)
    except ValueError as e:  # an option this optimizer does not take (rprop: weight_decay)
        assert "does not take" in str(e)
        return
    *fast, opt = _run(name, kwargs, floats=True)
    *slow, _ = _run(name, kwargs, floats=False)
    assert fast == slow, (name, kwargs)
    assert opt.iterations == 60


def test_the_float_path_is_taken_for_scalars_and_left_for_new_variables():
    x, y, z = gc.Variable(1.0), gc.Variable(2.0), gc.Variable(3.0)
    opt, ref = O.Adam(lr=0.1), O.Adam(lr=0.1)
    ref._floats = False
    rx, ry, rz = gc.Variable(1.0), gc.Variable(2.0), gc.Variable(3.0)
    for k in range(5):
        opt.apply_gradients([(gc.constant(1.0 + k), x), (gc.constant(-2.0), y)])
        ref.apply_gradients([(gc.constant(1.0 + k), rx), (gc.constant(-2.0), ry)])
    assert type(opt._floats).__name__ == "FloatPath"
    for k in range(5):  # a third variable: the buffers move into arrays and go on
        opt.apply_gradients([(gc.constant(0.5), z), (gc.constant(1.0), x), (gc.constant(k), y)])
        ref.apply_gradients([(gc.constant(0.5), rz), (gc.constant(1.0), rx), (gc.constant(k), ry)])
    assert opt._floats is False
    for a, b in ((x, rx), (y, ry), (z, rz)):
        assert float(a.numpy()).hex() == float(b.numpy()).hex()
    with pytest.raises(ValueError, match="in use by apply_gradients"):
        opt.update(np.zeros(1), np.zeros(1))


def test_vector_variables_under_eight_coordinates_take_the_float_path_too():
    w, ref = gc.Variable([1.0, -2.0, 0.5]), gc.Variable([1.0, -2.0, 0.5])
    opt, slow = O.RMSprop(lr=0.01), O.RMSprop(lr=0.01)
    slow._floats = False
    for k in range(20):
        g = np.array([0.3, -1.0, 2.0]) * (k + 1)
        opt.apply_gradients([(g, w)])
        slow.apply_gradients([(g, ref)])
    assert type(opt._floats).__name__ == "FloatPath"
    assert [v.hex() for v in w.numpy().tolist()] == [v.hex() for v in ref.numpy().tolist()]


def test_apply_gradients_inside_gc_function_is_a_clear_error():
    # its numpy arithmetic cannot be traced: replaying a trace would write constants
    x = gc.Variable(1.0)
    opt = O.SGD(lr=0.1)

    @gc.function
    def step(g):
        opt.apply_gradients([(g, x)])
        return x * 1.0

    with pytest.raises(gc.TracingError, match="apply_gradients inside gc.function"):
        step(gc.constant(1.0))
    assert float(x.numpy()) == 1.0


def test_minimize_with_a_non_variable_or_a_bare_variable_is_a_clear_error():
    x, c = gc.Variable(1.0), gc.constant(1.0)
    opt = gc.optimizers.SGD(learning_rate=0.1)
    with pytest.raises(TypeError, match="must be a gc.Variable, got Tensor"):
        opt.minimize(lambda: c * c, [c])
    with pytest.raises(TypeError, match=r"var_list is a list of gc.Variables .* got Variable"):
        opt.minimize(lambda: x * x, x)
    with pytest.raises(TypeError, match="var_list is a list"):
        opt.minimize(lambda: x * x, 3.0)
    opt.minimize(lambda: x * x, (v for v in [x]))  # any iterable of Variables, as a list
    assert float(x.numpy()) == 1.0 - 0.1 * 2.0
