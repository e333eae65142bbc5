"""Many variables (issue 22): the vector point function (gradcli/compiled/vector.py) and the run
loop's array step (Optimizer.array_stepper).

Oracles: the float function of the whole program (compiled/scalar.py, the path used before),
bit for bit where every variable's contributions come in one order, within a few ulps
otherwise; the hand-written gradient of Rosenbrock's function; the published Adam rule
(torch.optim.Adam's _single_tensor_adam, /work/shared/reference/optimizers.md 1.7) written
out here; ``Optimizer.update`` for the array step, bit for bit.
"""
import math

import numpy as np
import pytest

import gradcli as gc
from gradcli import optimizers as O
from gradcli.compiled import vector
from gradcli.compiled.program import compile_expression
from gradcli.compiled.scalar import compile_floats
from gradcli.training.descend import descend


def rosenbrock(dim):
    names = [f"x{i:03d}" for i in range(dim)]
    text = "+".join(f"100*({names[i + 1]}-{names[i]}**2)**2+(1-{names[i]})**2"
                    for i in range(dim - 1))
    return text, names


def float_function(text, names):
    """The one-point function on floats (every variable's statements written out)."""
    program = compile_expression(gc.parse(text), names)
    return compile_floats(*program.scalar_source(), program._array_point_function())


def start(dim):
    return [-1.2 if i % 2 == 0 else 1.0 for i in range(dim)]


def same_bits(a, b):
    return np.array_equal(np.asarray(a).view(np.int64), np.asarray(b).view(np.int64))


def test_rosenbrock_100_takes_the_vector_path_with_the_float_functions_bits():
    text, names = rosenbrock(100)
    fg = compile_expression(gc.parse(text), names).point_function()
    assert hasattr(fg, "exact_order") and fg.exact_order
    assert "p[0:99:1]" in fg.source and "p[1:100:1]" in fg.source
    reference = float_function(text, names)
    rng = np.random.default_rng(7)
    for _ in range(100):
        p = rng.normal(size=100) * rng.choice([0.01, 1.0, 100.0])
        value, grad = fg(p)
        want_value, want_grad = reference(p)
        assert value == want_value
        assert same_bits(grad, want_grad)  # signed zeros too
    p = np.zeros(100)  # -0.0 contributions: the sum starts at -0.0, not 0.0
    assert same_bits(fg(p)[1], reference(p)[1])
    p = [float(i % 3) for i in range(100)]  # a list of floats, as the float function takes
    assert fg(p)[0] == reference(p)[0] and same_bits(fg(p)[1], reference(p)[1])


def test_rosenbrock_gradient_is_the_hand_written_one():
    text, names = rosenbrock(40)
    fg = compile_expression(gc.parse(text), names).point_function()
    x = np.linspace(-1.5, 1.7, 40)
    d = x[1:] - x[:-1] ** 2
    want = np.zeros(40)
    want[:-1] += -400 * x[:-1] * d - 2 * (1 - x[:-1])
    want[1:] += 200 * d
    value, grad = fg(x)
    assert value == pytest.approx(np.sum(100 * d ** 2 + (1 - x[:-1]) ** 2), rel=1e-14)
    np.testing.assert_allclose(grad, want, rtol=1e-13, atol=1e-12)


def test_adam_run_is_the_float_function_with_update_bit_for_bit():
    """The trajectory of the run loop (vector function, array step) is, bit for bit, the
    one before (float function, Optimizer.update)."""
    text, names = rosenbrock(100)
    fg = compile_expression(gc.parse(text), names).point_function()
    run = descend(fg, start(100), O.make("adam", lr=1e-3), 1500, tol=0.0, variables=names)
    reference, opt = float_function(text, names), O.make("adam", lr=1e-3)
    p = np.array(start(100))
    for k in range(1500):
        p = opt.update(p, reference(p)[1])
        if k % 100 == 99:
            assert same_bits(run.rows[k + 1][0], p), f"step {k + 1}"
    assert run.rows[-1][1] == reference(p)[0]


def test_adam_run_is_the_published_rule():
    """torch.optim.Adam's rule (m lerp, v, step_size = lr/(1-b1^t), denom = sqrt(v)/sqrt(1-b2^t)
    + eps) on the hand-written gradient, in the same order of operations: the same bits."""
    text, names = rosenbrock(30)
    fg = compile_expression(gc.parse(text), names).point_function()
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
    run = descend(fg, start(30), O.make("adam", lr=lr), 300, tol=0.0, variables=names)
    x, m, v = np.array(start(30)), np.zeros(30), np.zeros(30)
    for t in range(1, 301):
        g = fg(x)[1]
        m = m + (g - m) * (1 - b1)  # torch's lerp(m, g, 1-b1) for weight 1-b1 < 0.5
        v = v * b2 + (1 - b2) * (g * g)
        denom = np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps
        x = x - lr / (1 - b1 ** t) * (m / denom)
    assert same_bits(run.final[0], x)


def test_minimize_of_many_variables_runs_the_vector_path():
    text, names = rosenbrock(50)
    run = gc.minimize(text, dict(zip(names, start(50))), opt="adam", lr=1e-3, steps=200, tol=0)
    reference, opt = float_function(text, names), O.make("adam", lr=1e-3)
    p = np.array(start(50))
    for _ in range(200):
        p = opt.update(p, reference(p)[1])
    assert same_bits(run.final[0], p)


@pytest.mark.slow
@pytest.mark.parametrize("text, exact", [
    # every variable in three terms of two shapes, gathers (odd variables only) and a sum
    # whose tree is not a left chain
    ("+".join(f"(x{i:02d}-x{i + 1:02d})**2*sin(x{i + 2:02d})+exp(x{i:02d}/3)" for i in range(80)),
     True),
    ("+".join(f"(x{2 * i + 1:03d}*x{i:03d}-1)**2" for i in range(60)), None),
    ("(" + "+".join(f"cos(x{i:02d})*x{i + 1:02d}" for i in range(40)) + ")+("
     + "+".join(f"cos(x{i:02d})*x{i + 1:02d}" for i in range(40, 80)) + ")", True),
    # x00 in every term at one place (np.add.at) and a constant term
    ("+".join(f"(x00-x{i:02d})**2" for i in range(1, 80)) + "+3", None),
    # subtracted terms (their own templates, seeded with -1 as sub's rule seeds them)
    ("+".join(f"100*(x{i + 1:02d}-x{i:02d}**2)**2" for i in range(60))
     + "".join(f"-(1-x{i:02d})**2" for i in range(60)), True),
    ("".join(f"+100*(x{i + 1:02d}-x{i:02d}**2)**2-cos(x{i:02d})" for i in range(60))[1:], True),
    ("x000-(" + "+".join(f"exp(x{i:03d}-x{i + 1:03d})" for i in range(150)) + ")", True),
    # sin(x_i) in two terms: the program sums its adjoint first, the vector function does not
    ("+".join(f"sin(x{i:02d})*x{i + 1:02d}+sin(x{i:02d})*x{i + 2:02d}" for i in range(60)),
     False),
])
def test_repeated_sums_match_the_array_program_and_the_float_function(text, exact):
    """Bit for bit the numpy program of the whole expression (the same numpy rules, sin and
    exp included, and the same order of additions where exact_order); within a few ulps of
    the float function, whose sin and exp are libm's, not numpy's."""
    expression = gc.parse(text)
    names = expression.variables
    program = compile_expression(expression, names)
    fg = program.point_function()
    assert hasattr(fg, "exact_order")
    if exact is not None:
        assert fg.exact_order == exact
    reference = float_function(text, names)
    rng = np.random.default_rng(3)
    for _ in range(30):
        p = rng.uniform(-1.5, 1.5, size=len(names))
        value, grad = fg(p)
        want_value, want_grad = program.value_and_grad(dict(zip(names, p)))
        assert value == want_value  # the terms added in the expression's order
        if fg.exact_order:
            assert same_bits(grad, want_grad)
        else:  # another order of the contributions: a few ulps of the largest of them
            np.testing.assert_allclose(grad, want_grad, rtol=4e-15, atol=4e-15)
        float_value, float_grad = reference(p)
        assert value == pytest.approx(float_value, rel=4e-15)
        np.testing.assert_allclose(grad, float_grad, rtol=4e-15, atol=1e-15)


def test_non_finite_values_come_out_as_numpy_gives_them():
    text = "+".join(f"log(x{i:03d})*x{i + 1:03d}" for i in range(150))
    expression = gc.parse(text)
    names = expression.variables
    fg = compile_expression(expression, names).point_function()
    assert hasattr(fg, "exact_order")
    p = np.ones(151)
    p[4] = 0.0
    value, grad = fg(p)
    want_value, want_grad = compile_expression(expression, names).value_and_grad(
        dict(zip(names, p)))
    assert value == -math.inf == want_value
    assert same_bits(grad, want_grad)


def test_few_variables_or_no_repetition_keep_the_float_function():
    text, names = rosenbrock(8)  # below MIN_VARIABLES
    assert not hasattr(compile_expression(gc.parse(text), names).point_function(), "exact_order")
    # every term its own shape: nothing repeats, the float statements are cheaper
    text = "+".join(f"x{i:02d}**{i + 2}" for i in range(20))
    assert vector.vector_point_function(gc.parse(text), gc.parse(text).variables) is None


VARIANTS = {"plain": {}, "weight_decay": {"weight_decay": 0.01}, "maximize": {"maximize": True},
            "cosine": {"schedule": "cosine:20"}, "clip_norm": {"clip_norm": 1.0},
            "clip_value": {"clip_value": 0.5}}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("compat", ["torch", "keras"])
@pytest.mark.parametrize("name", O.NAMES)
def test_array_stepper_is_update_bit_for_bit(name, compat, variant):
    kw = dict(VARIANTS[variant])
    if name == "rprop" and "weight_decay" in kw:
        kw = {}
    arrays, lean = (O.make(name, compat=compat, lr=0.05, dtype="float64", **kw)
                    for _ in range(2))
    step = lean.array_stepper((12,))
    rng = np.random.default_rng(1)
    target = rng.normal(size=12)
    p = q = np.zeros(12)
    for k in range(40):
        g = 2 * (p - target) * (1 + np.arange(12))
        p = arrays.update(p, g)
        q = step(q, g, math.sqrt(np.sum(np.square(g))))
        assert same_bits(p, q), f"step {k + 1}"
    assert lean.iterations == 40 and lean.last_lr == arrays.last_lr
    with pytest.raises(ValueError):  # the optimizer is taken by its stepper
        lean.update(np.zeros(12), np.zeros(12))


def test_array_stepper_is_not_made_where_update_is_needed():
    assert O.make("newton").array_stepper((3,)) is None
    assert O.make("adam", dtype="float32").array_stepper((3,)) is None
    assert O.Adam(clip_each=1.0).array_stepper((3,)) is None
