"""Blocks of points over threads (gradcli/blocks.py): the same numbers as one pass.

BLOCK is made small here so that a few hundred points already make many blocks."""
import math
import os
import threading
import time

import numpy as np
import pytest

import gradcli as gc
from gradcli.compiled import parallel as blocks
from gradcli.registry import OPS
from gradcli.compiled.program import compile_expression

W3 = "sin(x)*exp(-x**2/10)+log(1+x**2)-sqrt(1+x**2)*cos(3*x)"
ROSENBROCK = "(1-x)**2+100*(y-x**2)**2"


def w3_first(x):
    e = np.exp(-x * x / 10)
    q = 1 + x * x
    r = np.sqrt(q)
    return (e * (np.cos(x) - x * np.sin(x) / 5) + 2 * x / q - x / r * np.cos(3 * x)
            + 3 * r * np.sin(3 * x))


@pytest.fixture(params=["1", "2"])
def small_blocks(request, monkeypatch):
    """Blocks of 64 points, run in the calling thread ("1") or on two threads ("2")."""
    monkeypatch.setattr(blocks, "BLOCK", 64)
    monkeypatch.setattr(blocks, "MIN_CALL_NS", 0)
    monkeypatch.setenv("GRADCLI_THREADS", request.param)
    return request.param


def one_pass(monkeypatch):
    monkeypatch.setattr(blocks, "BLOCK", 1 << 40)


# -- the plan ------------------------------------------------------------------------
def test_plan_cuts_the_first_axis_into_blocks_that_cover_it(monkeypatch):
    monkeypatch.setattr(blocks, "BLOCK", 100)
    monkeypatch.setenv("GRADCLI_THREADS", "1")
    parts = blocks.plan((1050,))
    assert parts[0] == (0, 105) and parts[-1] == (945, 1050) and len(parts) == 10
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
    assert blocks.plan((30, 20)) == [(0, 5), (5, 10), (10, 15), (15, 20), (20, 25), (25, 30)]
    assert blocks.plan((1050,), rows=300) == [(0, 350), (350, 700), (700, 1050)]


def test_every_thread_gets_as_many_blocks(monkeypatch):
    monkeypatch.setenv("GRADCLI_THREADS", "2")
    parts = blocks.plan((1_000_000,), rows=77_000)  # 12 blocks of 83,334, not 13 of 77,000
    assert len(parts) == 12 and parts[0] == (0, 83_334) and parts[-1][1] == 1_000_000
    assert len(blocks.plan((300,), rows=100)) == 2  # not 3, which would be 2 + 1
    monkeypatch.setenv("GRADCLI_THREADS", "3")
    parts = blocks.plan((1000,), rows=100)
    assert len(parts) == 9 and parts[-1] == (896, 1000)
    monkeypatch.setenv("GRADCLI_THREADS", "4")
    assert blocks.plan((300,), rows=100) == [(0, 100), (100, 200), (200, 300)]  # fewer: as they are


def test_small_arrays_scalars_and_a_single_row_take_one_pass(monkeypatch):
    monkeypatch.setattr(blocks, "BLOCK", 100)
    assert blocks.plan((199,)) is None           # under two blocks
    assert blocks.plan(()) is None
    assert blocks.plan((1, 10_000)) is None      # nothing to cut along axis 0
    assert len(blocks.plan((200,))) == 2


def test_take_slices_what_spans_axis_0_and_keeps_what_broadcasts():
    shape = (6, 4)
    full, row, column = np.arange(24.0).reshape(6, 4), np.arange(4.0), np.arange(6.0)[:, None]
    np.testing.assert_array_equal(blocks.take(full, shape, 2, 4), full[2:4])
    np.testing.assert_array_equal(blocks.take(column, shape, 2, 4), column[2:4])
    assert blocks.take(row, shape, 2, 4) is row
    assert blocks.take(np.float64(3.0), shape, 2, 4) == 3.0


@pytest.mark.parametrize("text, want", [("", os.cpu_count()), ("1", 1), ("3", 3), ("0", 1),
                                        ("many", None)])
def test_threads_come_from_gradcli_threads(monkeypatch, text, want):
    monkeypatch.setenv("GRADCLI_THREADS", text)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert blocks.threads() == (usable if want is None or text == "" else want)


# -- running blocks -------------------------------------------------------------------
def test_run_returns_the_blocks_results_in_order_from_two_threads(monkeypatch):
    monkeypatch.setenv("GRADCLI_THREADS", "2")
    seen = set()

    def fn(lo, hi):
        seen.add(threading.current_thread().name)
        time.sleep(0.01)
        return lo * 10 + hi

    assert blocks.run(fn, [(k, k + 1) for k in range(8)]) == [k * 10 + k + 1 for k in range(8)]
    assert len(seen) == 2 and all(name.startswith("gradcli") for name in seen)


def test_a_block_that_asks_for_blocks_runs_them_itself_instead_of_waiting_on_the_pool(monkeypatch):
    monkeypatch.setenv("GRADCLI_THREADS", "2")

    def inner(lo, hi):
        return hi - lo

    def outer(lo, hi):
        return sum(blocks.run(inner, [(0, 1), (1, 3)]))

    assert blocks.run(outer, [(0, 1), (1, 2), (2, 3)]) == [3, 3, 3]


def test_a_block_keeps_the_callers_errstate(monkeypatch):
    monkeypatch.setenv("GRADCLI_THREADS", "2")

    def fn(lo, hi):
        return np.log(np.full(hi - lo, -1.0))

    with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
        blocks.run(fn, [(0, 2), (2, 4)])
    with np.errstate(invalid="ignore"):
        assert np.isnan(np.concatenate(blocks.run(fn, [(0, 2), (2, 4)]))).all()


def test_an_error_in_a_block_reaches_the_caller(monkeypatch):
    monkeypatch.setenv("GRADCLI_THREADS", "2")

    def fn(lo, hi):
        if lo == 3:
            raise ValueError("block 3")
        return lo

    with pytest.raises(ValueError, match="block 3"):
        blocks.run(fn, [(k, k + 1) for k in range(6)])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_no_threads_outlive_a_call_and_a_forked_child_runs_blocks(monkeypatch):
    """The library keeps no thread pool between calls (it leaves the process as it found
    it), and a forked child (gradcli check forks its SymPy worker) runs its own blocks."""
    monkeypatch.setenv("GRADCLI_THREADS", "2")
    monkeypatch.setattr(blocks, "BLOCK", 64)
    monkeypatch.setattr(blocks, "MIN_CALL_NS", 0)
    prog = compile_expression(gc.parse(W3))
    xs = np.linspace(-5.0, 5.0, 1000)
    before = set(threading.enumerate())
    want = prog.value({"x": xs})
    assert len(blocks.plan(xs.shape, blocks.rows_for((1, 1.0)))) > 2  # it ran in blocks
    assert set(threading.enumerate()) <= before  # the call's threads are gone
    pid = os.fork()
    if pid == 0:  # the child: exit 0 when the blocks give the parent's numbers
        try:
            ok = np.array_equal(prog.value({"x": xs}), want)
        finally:
            os._exit(0 if ok else 1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    pytest.fail("the forked child hung on the parent's thread pool")


# -- programs over blocks: the numbers of one pass -----------------------------------------
def test_w3_value_and_gradient_over_blocks_are_one_pass_to_the_bit(small_blocks, monkeypatch):
    prog = compile_expression(gc.parse(W3))
    xs = np.linspace(-5.0, 5.0, 1001)
    value, grad = prog.value_and_grad({"x": xs})
    plain = prog.value({"x": xs})
    np.testing.assert_allclose(grad[:, 0], w3_first(xs), rtol=1e-13, atol=1e-13)
    one_pass(monkeypatch)
    value1, grad1 = prog.value_and_grad({"x": xs})
    np.testing.assert_array_equal(value, value1)
    np.testing.assert_array_equal(grad, grad1)
    np.testing.assert_array_equal(plain, prog.value({"x": xs}))


def test_hvp_and_hessian_over_blocks_are_one_pass_to_the_bit(small_blocks, monkeypatch):
    prog = compile_expression(gc.parse(ROSENBROCK))
    xs, ys = np.linspace(-2, 2, 300), np.linspace(-1, 3, 300)
    env = {"x": xs, "y": ys}
    v = np.stack([np.cos(xs), np.sin(ys)], axis=-1)  # one direction per point
    hessian, hvp, hvp_fixed = prog.hessian(env), prog.hvp(env, v), prog.hvp(env, [1.0, -2.0])
    want = np.empty((300, 2, 2))
    want[:, 0, 0], want[:, 0, 1] = 2 - 400 * (ys - 3 * xs ** 2), -400 * xs
    want[:, 1, 0], want[:, 1, 1] = -400 * xs, 200
    np.testing.assert_allclose(hessian, want, rtol=1e-14)
    np.testing.assert_allclose(hvp, np.einsum("nij,nj->ni", want, v), rtol=1e-13, atol=1e-12)
    one_pass(monkeypatch)
    np.testing.assert_array_equal(hessian, prog.hessian(env))
    np.testing.assert_array_equal(hvp, prog.hvp(env, v))
    np.testing.assert_array_equal(hvp_fixed, prog.hvp(env, [1.0, -2.0]))


def test_a_grid_and_a_scalar_broadcast_over_blocks(small_blocks, monkeypatch):
    prog = compile_expression(gc.parse("x*y**2+z"), wrt=["x", "y"])
    xs, ys = np.linspace(-1, 1, 40)[:, None], np.linspace(0, 2, 7)  # a 40 x 7 grid
    env = {"x": xs, "y": ys, "z": 3.0}
    value, grad = prog.value_and_grad(env)
    assert value.shape == (40, 7) and grad.shape == (40, 7, 2)
    np.testing.assert_allclose(value, xs * ys ** 2 + 3.0, rtol=1e-15)
    np.testing.assert_allclose(grad[..., 0], np.broadcast_to(ys ** 2, (40, 7)), rtol=1e-15)
    np.testing.assert_allclose(grad[..., 1], 2 * xs * ys, rtol=1e-15)
    assert prog.hessian(env).shape == (40, 7, 2, 2)
    one_pass(monkeypatch)
    value1, grad1 = prog.value_and_grad(env)
    np.testing.assert_array_equal(value, value1)
    np.testing.assert_array_equal(grad, grad1)


def test_run_time_rules_over_blocks(small_blocks, monkeypatch, value_reading_op):
    """A rule that reads values builds its mask at run time (the tape's rule) in every
    block; abs and max weight by mask ops, computed in every block too."""
    prog = compile_expression(gc.parse("abs(x)*max(x, y) + ramp(x - y)"))
    xs, ys = np.linspace(-3, 3, 601), np.linspace(3, -3, 601)
    value, grad = prog.value_and_grad({"x": xs, "y": ys})
    hessian = prog.hessian({"x": xs, "y": ys})  # nested tapes: this program has run-time rules
    np.testing.assert_array_equal(value, np.abs(xs) * np.maximum(xs, ys) + np.maximum(xs - ys, 0))
    one_pass(monkeypatch)
    value1, grad1 = prog.value_and_grad({"x": xs, "y": ys})
    np.testing.assert_array_equal(grad, grad1)
    np.testing.assert_array_equal(hessian, prog.hessian({"x": xs, "y": ys}))


def test_vjp_takes_one_pass_whatever_the_blocks(small_blocks, monkeypatch):
    """The mean squared error gradient of a fit: one pass (fit's sums do not depend on
    the blocks or threads), the seed seeing the whole value."""
    prog = compile_expression(gc.parse("a*sin(b*x)+c"), wrt=["a", "b", "c"])
    calls = []
    monkeypatch.setattr(blocks, "run", lambda fn, parts: calls.append(parts))
    xs = np.linspace(0.0, 10.0, 1000)
    ys = 3 * np.sin(2 * xs) + 1 + xs / 10
    n = len(xs)
    _, grad = prog.value_and_vjp({"x": xs, "a": 2.0, "b": 1.5, "c": 0.5},
                                 lambda f: 2 * (f - ys) / n)
    r = 2 * np.sin(1.5 * xs) + 0.5 - ys
    want = [2 * np.mean(r * np.sin(1.5 * xs)), 2 * np.mean(r * 2 * xs * np.cos(1.5 * xs)),
            2 * np.mean(r)]
    np.testing.assert_allclose(grad, want, rtol=1e-13)
    assert calls == []


def test_float32_programs_over_blocks(small_blocks, monkeypatch):
    prog = compile_expression(gc.parse(W3), dtype="float32")
    xs = np.linspace(-5.0, 5.0, 700)
    value, grad = prog.value_and_grad({"x": xs})
    assert value.dtype == np.float32 and grad.dtype == np.float32
    np.testing.assert_allclose(grad[:, 0], w3_first(xs), rtol=2e-4, atol=2e-4)
    one_pass(monkeypatch)
    np.testing.assert_array_equal(grad, prog.value_and_grad({"x": xs})[1])


def test_taylor_derivatives_over_blocks_are_one_pass_to_the_bit(small_blocks, monkeypatch):
    expr = gc.parse("exp(x)*sin(y*x)/(1+x**2)")
    xs, ys = np.linspace(-2, 2, 50)[:, None], np.linspace(0.5, 1.5, 9)
    blocked = expr.derivatives("x", 6, at={"x": xs, "y": ys})
    assert blocked[6].shape == (50, 9)
    one_pass(monkeypatch)
    for got, want in zip(blocked, expr.derivatives("x", 6, at={"x": xs, "y": ys})):
        np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_taylor_over_blocks_at_a_million_points_matches_the_closed_form():
    """The real block size, the real threads: f' of W3 at a million points."""
    xs = np.linspace(-5.0, 5.0, 1_000_000)
    assert blocks.plan(xs.shape) is not None
    d = gc.parse(W3).derivatives("x", 1, at=xs)
    np.testing.assert_allclose(d[1], w3_first(xs), rtol=1e-12, atol=1e-12)
    _, grad = compile_expression(gc.parse(W3)).value_and_grad({"x": xs})
    np.testing.assert_allclose(grad[:, 0], w3_first(xs), rtol=1e-12, atol=1e-12)


# -- when blocks are used ------------------------------------------------------------
def test_cheap_programs_take_bigger_blocks_than_costly_ones():
    w3 = compile_expression(gc.parse(W3))
    line = compile_expression(gc.parse("a*x+b*z+c"))
    _, _, w3_parts = w3._blocks({"x": np.zeros(1_000_000)}, "all")
    _, _, line_parts = line._blocks({"x": np.zeros(1_000_000), "z": 1.0, "a": 1.0, "b": 1.0,
                                     "c": 1.0}, "all")
    w3_rows, line_rows = w3_parts[0][1], line_parts[0][1]
    assert 2 * blocks.BLOCK <= w3_rows < 3 * blocks.BLOCK  # sin and cos: 100 us a call
    assert line_rows >= 8 * blocks.BLOCK                    # a*x+b*z+c: many more points
    assert blocks.rows_for(blocks.cost(["sin"] * 10)) == blocks.BLOCK
    assert blocks.rows_for(blocks.cost(["add"] * 10)) == math.ceil(
        blocks.MIN_CALL_NS / OPS["add"].cost)
    assert blocks.rows_for((0, 0.0)) == blocks.BLOCK


def test_which_calls_use_blocks_at_the_real_sizes(monkeypatch):
    used = []
    real = blocks.run
    monkeypatch.setattr(blocks, "run", lambda fn, parts: used.append(len(parts)) or real(fn, parts))
    w3, line = compile_expression(gc.parse(W3)), compile_expression(gc.parse("a*x+b"))
    xs = np.linspace(-5.0, 5.0, 200_000)
    w3.value_and_grad({"x": xs})
    rows = blocks.rows_for(w3._block_cost["all"])
    assert 2 * blocks.BLOCK < rows < 100_000
    assert used == [len(blocks.plan((200_000,), rows))] and used[0] >= 2
    line.value_and_grad({"x": xs, "a": 2.0, "b": 1.0})
    line.value_and_grad({"x": xs[:1000], "a": 2.0, "b": 1.0})
    w3.value_and_grad({"x": xs[:1000]})
    assert len(used) == 1  # a cheap program, and a thousand points, take one pass


@pytest.mark.slow
def test_the_command_line_gives_the_same_numbers_on_one_thread_and_on_two(tmp_path):
    """Through a real process: gradcli grad over 160,000 points read from stdin (two
    blocks and more of W3; diff's Taylor blocks are compared in-process above)."""
    import subprocess
    import sys

    points = "\n".join(repr(float(v)) for v in np.linspace(-5.0, 5.0, 160_000)) + "\n"
    outs = {}
    for threads in ("1", "2"):
        env = {**os.environ, "GRADCLI_THREADS": threads}
        done = subprocess.run([sys.executable, "-m", "gradcli", "grad", W3, "--at", "-",
                               "--format", "plain"], input=points, capture_output=True,
                              text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        outs[threads] = done.stdout
    assert outs["1"] == outs["2"]
    lines = outs["2"].splitlines()
    assert len(lines) == 160_000
    assert float(lines[-1]) == pytest.approx(w3_first(np.float64(5.0)), rel=1e-13)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX signals")
@pytest.mark.slow
def test_ctrl_c_stops_a_computation_on_the_pool_at_once(tmp_path):
    """SIGINT while the pool's threads work: KeyboardInterrupt in the main thread, the
    queued blocks cancelled, the process gone in well under a second."""
    import signal
    import subprocess
    import sys

    script = tmp_path / "spin.py"
    script.write_text(
        "import sys\nimport numpy as np\nimport gradcli as gc\n"
        "from gradcli.compiled.program import compile_expression\n"
        f"p = compile_expression(gc.parse({W3!r}))\n"
        "xs = np.linspace(-5, 5, 2_000_000)\n"
        "p.value_and_grad({'x': xs})\n"
        "print('ready', flush=True)\n"
        "try:\n    while True:\n        p.value_and_grad({'x': xs})\n"
        "except KeyboardInterrupt:\n    print('interrupted', flush=True)\n    sys.exit(130)\n")
    child = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "GRADCLI_THREADS": "2"},
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        start = time.monotonic()
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=30) == 130
        assert time.monotonic() - start < 2.0
        assert child.stdout.read().strip() == "interrupted"
    finally:
        child.kill()
