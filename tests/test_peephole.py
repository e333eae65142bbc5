"""gradcli/peephole.py: fewer numpy calls in gradient programs, every result bit the same."""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import gradcli as gc
from gradcli.compiled import peephole
from gradcli.compiled.program import compile_expression

from .strategies import smooth_expressions

W3 = "sin(x)*exp(-x**2/10)+log(1+x**2)-sqrt(1+x**2)*cos(3*x)"

# signed zeros, infinities, nan, huge and tiny numbers beside ordinary ones
AWKWARD = np.array([-0.0, 0.0, 1.0, -1.0, 0.5, -2.5, 1e-300, -1e-300, 1e300, -1e300,
                    np.inf, -np.inf, np.nan, 3.0, -7.25, 710.0])


def unsimplified(monkeypatch, text, wrt=None):
    """The program as it was before peephole: simplify replaced by the identity."""
    with monkeypatch.context() as m:
        m.setattr(peephole, "simplify", lambda instrs, ones, outputs, new_slot: list(instrs))
        program = compile_expression(gc.parse(text), wrt)
        program._program("all"), program._hvp_program()  # bound while patched
        program.point_function()  # its source written while patched (kept by the program)
    return program


def same_bits(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    assert np.array_equal(a.view(np.int64), b.view(np.int64)) or (
        np.array_equal(np.isnan(a), np.isnan(b))
        and np.array_equal(np.where(np.isnan(a), 0, a).view(np.int64),
                           np.where(np.isnan(b), 0, b).view(np.int64)))


def same_point_function(fresh, old, points):
    for point in points:
        with np.errstate(all="ignore"):
            (v1, g1), (v0, g0) = fresh.point_function()(point), old.point_function()(point)
        same_bits(v1, v0)
        same_bits(g1, g0)


def test_w3_gradient_program_loses_eight_calls(monkeypatch):
    before = unsimplified(monkeypatch, W3)._program("all")
    after = compile_expression(gc.parse(W3))._program("all")
    # 38 before powi's rule wrote x ** 2's gradient as g * 2 * x (no x ** 1 to rewrite)
    assert (len(before), len(after)) == (37, 29)


@pytest.mark.parametrize("text", [
    W3, "x*y", "-x", "-(-x)", "x**1", "-x*-y", "(-x)/(-y)", "-x + -y", "-x - y", "-x - -y",
    "x - -y", "1*x*1", "x/1", "exp(-x)*-y", "-sin(-x)", "-(x*y) + -(x/y)", "abs(-x)*y",
    "max(-x, y) - -y", "x*y*z - z", "sqrt(x**2+y**2)", "-x**3/(-y)", "tanh(-x*-x)"])
def test_same_bits_as_the_unsimplified_program(monkeypatch, text):
    fresh, old = compile_expression(gc.parse(text)), unsimplified(monkeypatch, text)
    names = fresh.expression.variables
    grid = np.meshgrid(*[AWKWARD] * len(names), indexing="ij") if len(names) < 3 else \
        [AWKWARD, AWKWARD[::-1], np.roll(AWKWARD, 3)]
    env = dict(zip(names, grid))
    with np.errstate(all="ignore"):
        (v1, g1), (v0, g0) = fresh.value_and_grad(env), old.value_and_grad(env)
        same_bits(v1, v0)
        same_bits(g1, g0)
        same_bits(fresh.hessian(env), old.hessian(env))
    n = len(fresh.wrt)
    same_point_function(fresh, old, [np.array([a, -a, 2 * a][:n]) for a in AWKWARD]
                        + [np.array([a, b, a][:n]) for a, b in zip(AWKWARD, AWKWARD[::-1])])


def test_signed_zero_rewrites_that_would_change_a_bit_are_not_made():
    # -(a + b) is -0 at a = -0, b = +0 where (-a) + (-b) is +0: the sign is written out
    program = compile_expression(gc.parse("-x + -y"))
    value, grad = program.value_and_grad({"x": -0.0, "y": 0.0})
    assert value == 0 and not np.signbit(value)
    value, _ = compile_expression(gc.parse("-x - y")).value_and_grad({"x": -0.0, "y": 0.0})
    assert value == 0 and not np.signbit(value)  # -0 - (+0)... is -(-0) - 0 = +0
    value, _ = compile_expression(gc.parse("x - -y")).value_and_grad({"x": -0.0, "y": -0.0})
    assert value == 0 and np.signbit(value)  # -0 + -0


def test_simplify_on_instructions():
    # slots: 0 x, 1 seed (a one), 2.. made; g = -(seed) * x, h = -(g), out = h + x**1
    instrs = [("op", "neg", (2,), (1,), {}), ("op", "mul", (3,), (2, 0), {}),
              ("op", "neg", (4,), (3,), {}), ("op", "powi", (5,), (0,), {"n": 1}),
              ("op", "add", (6,), (4, 5), {}), ("op", "mul", (7,), (2, 0), {})]
    fresh = iter(range(100, 200))
    out = peephole.simplify(instrs, {1}, [6, 7], lambda: next(fresh))
    # h = x, out = x + x; 7 = -x written out once
    assert out == [("op", "add", (6,), (0, 0), {}), ("op", "neg", (7,), (0,), {})]


def test_an_output_equal_to_an_input_is_an_alias():
    instrs = [("op", "mul", (2,), (1, 0), {})]
    assert peephole.simplify(instrs, {1}, [2], lambda: 9) == [("alias", "alias", (2,), (0,), {})]
    program = compile_expression(gc.parse("x*y"))
    xs, ys = np.array([1.0, -0.0, 3.0]), np.array([2.0, 5.0, -0.0])
    _, grads = program.value_and_grad({"x": xs, "y": ys})
    same_bits(grads, np.stack([ys, xs], axis=-1))
    grads[0, 0] = 99.0  # the result is a copy, never the caller's array
    assert ys[0] == 2.0


@settings(max_examples=60, deadline=None)
@given(smooth_expressions(("x", "y")), st.lists(st.floats(-4, 4), min_size=5, max_size=5))
@example("(-x)*(-(y))+-(x)", [0.0, -0.0, 1.0, -1.0, 2.0])
def test_random_expressions_same_bits(text, xs):
    # monkeypatch cannot be a hypothesis fixture: the unsimplified program built by hand
    original = peephole.simplify
    peephole.simplify = lambda instrs, ones, outputs, new_slot: list(instrs)
    try:
        old = compile_expression(gc.parse(text))
        old._program("all"), old._hvp_program()
        old.point_function()  # its source written now, unrewritten (kept by the program)
    finally:
        peephole.simplify = original
    fresh = compile_expression(gc.parse(text))
    env = {"x": np.array(xs), "y": np.array(xs[::-1])}
    env = {k: v for k, v in env.items() if k in fresh.expression.variables}
    with np.errstate(all="ignore"):
        (v1, g1), (v0, g0) = fresh.value_and_grad(env), old.value_and_grad(env)
        same_bits(v1, v0)
        same_bits(g1, g0)
        same_bits(fresh.hessian(env), old.hessian(env))
    same_point_function(fresh, old, [np.array([env[v][1] for v in fresh.wrt])])
