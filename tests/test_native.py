"""The fused native loops (gradcli/compiled/native.py, numba): the numbers of the numpy
replay bit for bit, taken only after NATIVE_AFTER seconds of chunked replay, never
imported by a call over few points.

numba is in the test extra (.ci/run installs it), so nothing here is skipped."""
import os
import subprocess
import sys

import numpy as np
import pytest

import gradcli as gc
from gradcli.compiled import native, replay
from gradcli.compiled.program import compile_expression

from .test_chunks import SPECIAL, ulps

W3 = "sin(x)*exp(-x**2/10)+log(1+x**2)-sqrt(1+x**2)*cos(3*x)"


@pytest.fixture
def at_once(monkeypatch):
    """Loops from the first chunked call; chunks of 64 points."""
    monkeypatch.setattr(native, "NATIVE_AFTER", 0.0)
    monkeypatch.setattr(replay, "CHUNK_BYTES", 64 * 8)


def results(prog, env):
    value, grad = prog.value_and_grad(env)
    return [prog.value(env), value, grad, prog.hessian(env),
            prog.hvp(env, np.ones(len(prog.wrt))), prog.grad(env)]


def plain(text, env, wrt=None):
    """The numpy replay (one pass), from a program of its own."""
    prog = compile_expression(gc.parse(text), wrt=wrt)
    saved = replay.CHUNK_BYTES
    replay.CHUNK_BYTES = 1 << 60
    try:
        with np.errstate(all="ignore"):
            return results(prog, env)
    finally:
        replay.CHUNK_BYTES = saved


def assert_same_bits(got, want):
    """Every number the same, signed zeros included; a nan is a nan (its sign bit, which
    nothing prints, may differ: LLVM's and numpy's loops carry nans differently)."""
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        assert ulps(g, w).max(initial=0) == 0
        numbers = ~np.isnan(w)
        np.testing.assert_array_equal(np.signbit(g)[numbers], np.signbit(w)[numbers])


def test_the_probe_keeps_only_forms_that_give_numpys_bits():
    agree = native.probe()
    assert agree <= set(native._PROBED)
    xs = np.random.default_rng(3).uniform(-50, 50, 10_000)
    loop = native.jit("def loop(xs, s, c):\n    for i in range(xs.shape[0]):\n"
                      "        s[i] = math.sin(xs[i])\n        c[i] = math.cos(xs[i])\n")
    s, c = np.empty_like(xs), np.empty_like(xs)
    loop(xs, s, c)
    assert ("sin" in agree) == bool(np.array_equal(s, np.sin(xs)))
    assert ("cos" in agree) == bool(np.array_equal(c, np.cos(xs)))


@pytest.mark.slow
def test_w3_fused_is_the_numpy_replay_to_the_bit_at_many_random_points(at_once):
    rng = np.random.default_rng(4)
    xs = np.concatenate([rng.uniform(-6, 6, 3000), rng.normal(0, 1e4, 500), SPECIAL,
                         rng.uniform(-1e-300, 1e-300, 50)])
    prog = compile_expression(gc.parse(W3))
    with np.errstate(all="ignore"):
        got = results(prog, {"x": xs})
    parts = {key[0] for key, fused in prog._fused.items() if fused is not None}
    assert parts == {"value", "all", "hessian", "hvp", "grad"}
    assert ulps(got[5], got[2]).max() == 0  # grad: value_and_grad's second result
    loops = [lp for lp, _ in prog._fused[("all", (0,))].rounds if lp]
    assert sum(len(lp[3]) for lp in loops) >= 20  # most of the gradient's 29 calls fused
    assert_same_bits(got, plain(W3, {"x": xs}))


MIXED = ["exp(x)*cos(y) - sqrt(x*x + y*y) + erf(x)*max(x, y)/y + x**-2 + -x"]
MORE_MIXED = ["x*y + sin(x)/y", "tanh(x)**3 + x**2*y", "log(1 + x**2)/(y - 2) + -x",
              "erf(x)*gamma(y/3 + 2)", "max(x, y)*abs(x) + x**-2", "x + 0",
              "sqrt(x) * 2 + 0", "hypot(x, y) + atan2(y, x)*x"]


@pytest.mark.slow
@pytest.mark.parametrize("text", MIXED + [pytest.param(t, marks=pytest.mark.slow)
                                          for t in MORE_MIXED])
def test_expressions_mixing_loops_and_numpy_calls_keep_every_bit(at_once, text):
    rng = np.random.default_rng(len(text))
    names = gc.parse(text).variables
    env = {name: np.concatenate([rng.uniform(-4, 4, 400), rng.choice(SPECIAL, 80)])
           for name in names}
    prog = compile_expression(gc.parse(text))
    with np.errstate(all="ignore"):
        got = results(prog, env)
    assert_same_bits(got, plain(text, env))


@pytest.mark.slow
def test_every_language_function_fused_keeps_every_bit(at_once):
    from gradcli.registry import OPS, language_functions

    for fn in sorted(language_functions()):
        arity = OPS[language_functions()[fn].name].arity
        names = ["x", "y", "w"][:arity]
        call = f"{fn}({', '.join(names)})"
        rng = np.random.default_rng(len(fn))
        env = {name: np.concatenate([rng.uniform(-4, 4, 300), rng.choice(SPECIAL, 60)])
               for name in names}
        for text in (call, f"x*{call}**2 + sin({call})*x"):
            variables = gc.parse(text).variables
            prog = compile_expression(gc.parse(text))
            env_here = {k: v for k, v in env.items() if k in variables}
            with np.errstate(all="ignore"):
                got = results(prog, env_here)
            assert_same_bits(got, plain(text, env_here))


@pytest.mark.slow
def test_loops_come_only_after_native_after_seconds_of_chunks(monkeypatch):
    monkeypatch.setattr(replay, "CHUNK_BYTES", 64 * 8)
    monkeypatch.setattr(native, "NATIVE_AFTER", 0.05)
    prog = compile_expression(gc.parse(W3))
    xs = np.linspace(-5.0, 5.0, 2000)
    key = ("all", (prog.code.inputs["x"],))
    prog.value_and_grad({"x": xs})
    assert prog._fused == {} and 0 < prog._chunk_seconds[key] < 0.05
    while key not in prog._fused:
        prog.value_and_grad({"x": xs})
    assert prog._chunk_seconds[key] >= 0.05 and prog._fused[key] is not None
    prog.value_and_grad({"x": xs[:100]})  # under two chunks: one pass, nothing else built
    assert list(prog._fused) == [key]


def test_no_loops_without_numba_for_float32_or_a_grid(monkeypatch, at_once):
    prog = compile_expression(gc.parse(W3))
    xs = np.linspace(-5.0, 5.0, 1000)
    monkeypatch.setattr(native, "available", lambda: False)
    want = prog.value_and_grad({"x": xs})
    assert prog._fused == {("all", (0,)): None}
    monkeypatch.undo()
    monkeypatch.setattr(native, "NATIVE_AFTER", 0.0)
    monkeypatch.setattr(replay, "CHUNK_BYTES", 64 * 8)
    float32 = compile_expression(gc.parse(W3), dtype="float32")
    float32.value_and_grad({"x": xs})
    assert list(float32._fused.values()) == [None]
    grid = compile_expression(gc.parse("x*y"))
    grid.value_and_grad({"x": np.ones((300, 4)), "y": np.ones((300, 4))})
    assert list(grid._fused.values()) == [None]
    np.testing.assert_array_equal(prog.value_and_grad({"x": xs})[1], want[1])


@pytest.mark.slow
def test_calls_over_few_points_never_import_numba():
    """Chunked calls for less than NATIVE_AFTER, and a call over few points: numba not
    loaded."""
    script = ("import sys, numpy as np, gradcli as gc\n"
              "from gradcli.compiled.program import compile_expression\n"
              f"p = compile_expression(gc.parse({W3!r}))\n"
              "for _ in range(20):\n"
              "    p.value_and_grad({'x': np.linspace(-5, 5, 40000)})\n"
              "p.hessian({'x': np.linspace(-5, 5, 1000)})\n"
              "print(p._registers != {}, 'numba' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "GRADCLI_THREADS": "1"})
    assert done.stdout.split() == ["True", "False"], done.stderr  # chunks, and no numba


def test_a_compile_that_fails_leaves_numpys_chunks(monkeypatch, at_once):
    def broken(source):
        raise RuntimeError("numba could not compile")

    monkeypatch.setattr(native, "jit", broken)
    monkeypatch.setattr(native, "_AGREE", {"done": set(native._PROBED)})
    prog = compile_expression(gc.parse(W3))
    xs = np.linspace(-5.0, 5.0, 1000)
    _, grad = prog.value_and_grad({"x": xs})
    assert prog._fused == {("all", (0,)): None}
    np.testing.assert_array_equal(grad, plain(W3, {"x": xs})[2])


@pytest.mark.slow
def test_two_variables_write_strided_gradients_without_a_second_compile(at_once):
    text = "sin(x)*cos(y) + x*y/(1 + y*y)"
    rng = np.random.default_rng(9)
    env = {"x": rng.uniform(-3, 3, 700), "y": rng.uniform(-3, 3, 700)}
    prog = compile_expression(gc.parse(text))
    value, grad = prog.value_and_grad(env)
    columns = np.stack([env["x"], env["y"]], axis=1)  # strided inputs: copied per chunk
    value2, grad2 = prog.value_and_grad({"x": columns[:, 0], "y": columns[:, 1]})
    fused = next(f for key, f in prog._fused.items() if key[0] == "all")
    loops = [lp[0] for lp, _ in fused.rounds if lp]
    assert all(len(loop.signatures) == 1 for loop in loops)  # the contiguous one only
    want = plain(text, env)
    assert_same_bits([value, grad], want[1:3])
    assert_same_bits([value2, grad2], want[1:3])
