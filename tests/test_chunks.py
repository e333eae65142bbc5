"""Many points replayed in chunks with reused buffers (gradcli/compiled/replay.py): the
numbers of the plain numpy replay (one pass, a new array per instruction), bit for bit.

The ulps between the two paths are counted over many random points (0 everywhere: the
chunks make the same ufunc calls on the same numbers); CHUNK_BYTES is made small here
so that a few hundred points already make many chunks.
"""
import numpy as np
import pytest

import gradcli as gc
from gradcli.compiled import parallel, replay
from gradcli.compiled.program import compile_expression
from gradcli.registry import OPS, language_functions

W3 = "sin(x)*exp(-x**2/10)+log(1+x**2)-sqrt(1+x**2)*cos(3*x)"
SPECIAL = [-np.inf, -1e308, -710.0, -3.0, -1.0, -0.5, -1e-310, -0.0, 0.0, 1e-310, 0.5, 1.0,
           3.0, 710.0, 1e308, np.inf, np.nan]


def ulps(a, b) -> np.ndarray:
    """Units in the last place between float64 arrays (0 for two nans, or the same inf)."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    ia, ib = a.view(np.int64).astype(object), b.view(np.int64).astype(object)
    # the integers in the order of the floats: negative floats mirrored below zero
    ordered = [np.where(i < 0, -(i & 0x7FFFFFFFFFFFFFFF), i) for i in (ia, ib)]
    gap = np.abs(ordered[0] - ordered[1]).astype(float)
    both_nan = np.isnan(a) & np.isnan(b)
    return np.where(both_nan, 0.0, np.where(np.isnan(a) | np.isnan(b), np.inf, gap))


def test_ulps_counts_units_in_the_last_place():
    one = np.float64(1.0)
    assert ulps(one, np.nextafter(one, 2.0)) == 1
    assert ulps(0.0, -0.0) == 0 and ulps(5e-324, -5e-324) == 2
    assert ulps(np.nan, np.nan) == 0 and ulps(np.nan, 1.0) == np.inf
    assert ulps(1.0, 1.0 + 4 * np.finfo(float).eps) == 4


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 48 points; the blocks on threads left as they are (fewer points)."""
    monkeypatch.setattr(replay, "CHUNK_BYTES", 48 * 8)


def one_pass(monkeypatch):
    monkeypatch.setattr(replay, "CHUNK_BYTES", 1 << 60)


def every_result(prog, env, direction):
    value, grad = prog.value_and_grad(env)
    return [prog.value(env), value, grad, prog.hessian(env), prog.hvp(env, direction),
            prog.grad(env)]


def assert_same_bits(chunked, plain):
    for got, want in zip(chunked, plain):
        assert got.shape == want.shape and got.dtype == want.dtype
        assert ulps(got, want).max(initial=0) == 0
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def test_w3_in_chunks_is_the_plain_replay_to_the_bit_at_many_random_points(small_chunks,
                                                                         monkeypatch):
    rng = np.random.default_rng(22)
    xs = np.concatenate([rng.uniform(-6, 6, 4000), rng.normal(0, 1e3, 1000), SPECIAL,
                         rng.uniform(-1e-300, 1e-300, 50)])
    prog = compile_expression(gc.parse(W3))
    env, direction = {"x": xs}, np.linspace(-1.0, 1.0, len(xs))[:, None]
    chunked = every_result(prog, env, direction)
    assert {key[0] for key, r in prog._registers.items() if r is not None} == {
        "value", "all", "hessian", "hvp", "grad"}  # every call took chunks
    assert ulps(chunked[5], chunked[2]).max() == 0  # grad: value_and_grad's, to the bit
    one_pass(monkeypatch)
    assert_same_bits(chunked, every_result(prog, env, direction))


@pytest.mark.slow
@pytest.mark.parametrize("fn", sorted(language_functions()))
def test_every_function_in_chunks_is_the_plain_replay_to_the_bit(fn, small_chunks,
                                                                 monkeypatch):
    """Each function of the language alone and inside a product and a square (as
    test_registry checks it against the tape), at random points and special values."""
    arity = OPS[language_functions()[fn].name].arity
    names = ["x", "y", "w"][:arity]
    call = f"{fn}({', '.join(names)})"
    rng = np.random.default_rng(len(fn))
    count = 300
    env = {name: np.concatenate([rng.uniform(-4, 4, count), rng.choice(SPECIAL, 60)])
           for name in names}
    env["z"] = np.float64(0.75)  # a 0-d value beside the points
    for text in (call, f"z*{call}**2 + {call}*x"):
        prog = compile_expression(gc.parse(text), wrt=[n for n in ["x", *names] if n in
                                                         gc.parse(text).variables])
        prog_env = {k: v for k, v in env.items() if k in prog.expression.variables}
        direction = np.ones(len(prog.wrt))
        with np.errstate(all="ignore"):
            chunked = every_result(prog, prog_env, direction)
        assert any(r is not None for r in prog._registers.values())
        monkeypatch.setattr(replay, "CHUNK_BYTES", 1 << 60)
        with np.errstate(all="ignore"):
            plain = every_result(prog, prog_env, direction)
        monkeypatch.setattr(replay, "CHUNK_BYTES", 48 * 8)
        assert_same_bits(chunked, plain)
        assert_same_bits([chunked[5], plain[5]], [chunked[2], plain[2]])  # grad alone


@pytest.mark.parametrize("name, ufunc", sorted(
    (name, ufunc) for name, ufunc in [
        ("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("div", np.divide),
        ("neg", np.negative), ("exp", np.exp), ("log", np.log), ("sqrt", np.sqrt),
        ("sin", np.sin), ("cos", np.cos), ("tanh", np.tanh), ("atanh", np.arctanh)]))
def test_a_few_table_entries_are_the_ufuncs_named(name, ufunc):
    assert replay.inplace()[OPS[name].forward] is ufunc


@pytest.mark.parametrize("forward", list(replay.inplace()), ids=lambda f: f.__qualname__)
def test_every_inplace_entry_writes_its_forward_rules_bits(forward):
    """The table's call into ``out`` against the op's forward rule: random points and every
    pair of special values (powi at n = -3 ... 5), in place too (out = the input)."""
    into = replay.inplace()[forward]
    name = next(n for n, op in OPS.items() if op.forward is forward)
    rng = np.random.default_rng(7)
    grid = np.array(SPECIAL)
    points = np.concatenate([rng.uniform(-5, 5, 500), rng.normal(0, 1e6, 100), grid])
    if OPS[name].arity == 2:
        a, b = (np.concatenate([np.repeat(grid, len(grid)), points]),
                np.concatenate([np.tile(grid, len(grid)), points[::-1]]))
        cases = [((a, b), {})]
    else:
        attrs = [{"n": n} for n in range(-3, 6)] if name == "powi" else [{}]
        cases = [((points,), attr) for attr in attrs]
    for args, attrs in cases:
        with np.errstate(all="ignore"):
            want = forward(*args, **attrs)
            got = into(*args, out=np.empty_like(args[0]), **attrs)
            inplace = args[0].copy()
            into(inplace, *args[1:], out=inplace, **attrs)
        for g in (got, inplace):
            assert ulps(g, want).max() == 0
            np.testing.assert_array_equal(np.signbit(g), np.signbit(want))


def test_buffers_are_few_and_taken_again_in_place():
    """W3's gradient (31 instructions) runs on 8 buffers, its Hessian on 14 or fewer."""
    prog = compile_expression(gc.parse(W3))
    xs = np.linspace(-5.0, 5.0, 5 * replay.CHUNK_BYTES // 8)
    prog.value_and_grad({"x": xs})
    prog.hessian({"x": xs})
    registers = {key[0]: r for key, r in prog._registers.items()}
    assert registers["all"].size <= 8 < len(registers["all"].steps)
    assert registers["hessian"].size <= 14 < len(registers["hessian"].steps)
    in_place = sum(1 for kind, fn, out, a, b, register, drop in registers["all"].steps
                   if kind == 2 and register >= 0 and out not in (a, b))
    assert in_place > 10


@pytest.mark.parametrize("text, wrt", [("x", None), ("2*x + 1", None), ("x*y", ["x"]),
                                       ("y + 0*x", None), ("sin(x)*sin(x)", None),
                                       ("exp(x) + 0", None), ("exp(x)*y", None)])
def test_outputs_that_are_inputs_constants_or_shared_buffers(small_chunks, monkeypatch,
                                                             text, wrt):
    prog = compile_expression(gc.parse(text), wrt=wrt)
    xs = np.linspace(-2, 2, 500)
    env = {name: xs * (k + 1) for k, name in enumerate(prog.expression.variables)}
    results = every_result(prog, env, np.ones(len(prog.wrt)))
    one_pass(monkeypatch)
    assert_same_bits(results, every_result(prog, env, np.ones(len(prog.wrt))))


def test_float32_programs_in_chunks_are_the_plain_replay_to_the_bit(small_chunks,
                                                                    monkeypatch):
    prog = compile_expression(gc.parse(W3), dtype="float32")
    xs = np.random.default_rng(6).uniform(-6, 6, 700)
    value, grad = prog.value_and_grad({"x": xs})
    hessian = prog.hessian({"x": xs})
    assert value.dtype == grad.dtype == hessian.dtype == np.float32
    assert any(r is not None for r in prog._registers.values())
    one_pass(monkeypatch)
    plain_value, plain_grad = prog.value_and_grad({"x": xs})
    np.testing.assert_array_equal(value.view(np.int32), plain_value.view(np.int32))
    np.testing.assert_array_equal(grad.view(np.int32), plain_grad.view(np.int32))
    np.testing.assert_array_equal(hessian.view(np.int32), prog.hessian({"x": xs}).view(np.int32))


def test_fewer_than_two_chunks_or_a_grid_take_one_pass(small_chunks):
    prog = compile_expression(gc.parse("x*y + sin(x)"))
    prog.value_and_grad({"x": np.linspace(0, 1, 95), "y": 2.0})    # under 2 chunks of 48
    prog.value_and_grad({"x": np.linspace(0, 1, 400)[:, None], "y": np.ones(7)})  # a grid
    assert prog._registers == {}
    prog.value_and_grad({"x": np.linspace(0, 1, 96), "y": 2.0})
    assert list(prog._registers) == [("all", (prog.code.inputs["x"],))]
    assert replay.chunk_rows((1000, 4), 8) == replay.CHUNK_BYTES // 32


def test_chunks_inside_blocks_on_two_threads_are_one_pass_to_the_bit(small_chunks,
                                                                     monkeypatch):
    monkeypatch.setattr(parallel, "BLOCK", 200)
    monkeypatch.setattr(parallel, "MIN_CALL_NS", 0)
    monkeypatch.setenv("GRADCLI_THREADS", "2")
    prog = compile_expression(gc.parse(W3))
    xs = np.random.default_rng(5).uniform(-8, 8, 3001)
    results = every_result(prog, {"x": xs}, np.ones(1))
    one_pass(monkeypatch)
    monkeypatch.setattr(parallel, "BLOCK", 1 << 40)
    assert_same_bits(results, every_result(prog, {"x": xs}, np.ones(1)))


@pytest.mark.parametrize("text, env", [
    ("x*y + sin(x)", {"x": np.linspace(-1, 1, 5), "y": 2.0}),
    ("x*y**2 + z", {"x": np.linspace(-1, 1, 4)[:, None], "y": np.arange(3.0), "z": 1.0}),
    ("(x-x)*sqrt(x) + x", {"x": np.array([0.0, 1.0, 0.0, 4.0])}),  # nan refined, as there
    ("log(x)*y", {"x": 0.5, "y": -0.0}),
])
def test_grad_is_value_and_grads_second_result_in_one_pass(text, env):
    prog = compile_expression(gc.parse(text))
    with np.errstate(all="ignore"):
        grad, (_, want) = prog.grad(env), prog.value_and_grad(env)
    assert grad.shape == want.shape and ulps(grad, want).max() == 0
    np.testing.assert_array_equal(np.signbit(grad), np.signbit(want))
