"""Many points at the real chunk sizes (gradcli/compiled/replay.py's CHUNK_BYTES, not the
small chunks of test_chunks.py): one point below, at and above two chunks and a ragged
last chunk, float64 and float32, through numpy's chunks and numba's fused loops
(compiled/native.py), against the plain replay in one pass, bit for bit."""
import numpy as np
import pytest

import gradcli as gc
from gradcli.compiled import native, replay
from gradcli.compiled.program import compile_expression

TEXT = "sin(x)*exp(-x**2/10)+log(1+x**2)-sqrt(1+x**2)*cos(3*x)*y+x/y"


def results(prog, env):
    value, grad = prog.value_and_grad(env)
    return [prog.value(env), value, grad, prog.grad(env), prog.hessian(env)]


def same_bits(got, want):
    for a, b in zip(got, want):
        assert a.shape == b.shape and a.dtype == b.dtype
        ints = np.int64 if a.dtype == np.float64 else np.int32
        np.testing.assert_array_equal(a.view(ints), b.view(ints))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("extra", [-1, 0, 1, 1 + (1 << 20)])   # last: a ragged last chunk
def test_chunk_boundaries_are_one_pass_to_the_bit(dtype, extra, monkeypatch):
    rows = replay.chunk_rows((1,), np.dtype(dtype).itemsize)
    n = 2 * rows + extra if extra < (1 << 20) else 3 * rows + 1
    rng = np.random.default_rng(n)
    xs = rng.uniform(-6, 6, n).astype(dtype)
    xs[:4] = [0.0, -0.0, np.inf, np.nan]
    env = {"x": xs, "y": np.asarray(rng.uniform(0.5, 2, n), dtype=dtype)}
    prog = compile_expression(gc.parse(TEXT), dtype=dtype)
    chunked = results(prog, env)
    assert bool(prog._registers) == (n >= 2 * rows)   # chunks from two chunks' points on
    monkeypatch.setattr(replay, "CHUNK_BYTES", 1 << 60)
    same_bits(chunked, results(compile_expression(gc.parse(TEXT), dtype=dtype), env))


@pytest.mark.slow
@pytest.mark.parametrize("extra", [0, 1, 1 + (1 << 20)])
def test_fused_loops_at_the_chunk_boundaries_are_one_pass_to_the_bit(extra, monkeypatch):
    rows = replay.chunk_rows((1,), 8)
    n = 2 * rows + extra if extra < (1 << 20) else 3 * rows + 1
    rng = np.random.default_rng(n)
    env = {"x": rng.uniform(-6, 6, n), "y": rng.uniform(0.5, 2, n)}
    monkeypatch.setattr(native, "NATIVE_AFTER", 0.0)
    prog = compile_expression(gc.parse(TEXT))
    results(prog, env)                   # the first calls in numpy's chunks
    fused = results(prog, env)           # then the loops
    assert any(f is not None for f in prog._fused.values())
    monkeypatch.setattr(replay, "CHUNK_BYTES", 1 << 60)
    plain = results(compile_expression(gc.parse(TEXT)), env)
    for a, b in zip(fused, plain):       # a nan's sign aside (native.py's doc)
        same = (a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))
        assert same.all()
