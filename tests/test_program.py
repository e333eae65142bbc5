"""The compiled-program interface: values, per-point gradients, VJPs and Hessians
against closed forms."""
import numpy as np
import pytest

import gradcli as gc
from gradcli.compiled.program import compile_expression

ROSENBROCK = "(1-x)**2+100*(y-x**2)**2"


def rosenbrock_grad(x, y):
    return np.array([-2 * (1 - x) - 400 * x * (y - x ** 2), 200 * (y - x ** 2)])


def test_value_and_grad_at_one_point_match_the_closed_form():
    prog = compile_expression(gc.parse(ROSENBROCK))
    value, grad = prog.value_and_grad({"x": -1.5, "y": 2.0})
    assert value == pytest.approx(2.5 ** 2 + 100 * (2 - 2.25) ** 2, rel=1e-15)
    np.testing.assert_allclose(grad, rosenbrock_grad(-1.5, 2.0), rtol=1e-15)


def test_value_and_grad_are_per_point_over_arrays():
    prog = compile_expression(gc.parse(ROSENBROCK))
    xs, ys = np.linspace(-2, 2, 7), np.linspace(-1, 3, 7)
    value, grad = prog.value_and_grad({"x": xs, "y": ys})
    assert grad.shape == (7, 2)
    np.testing.assert_allclose(grad, rosenbrock_grad(xs, ys).T, rtol=1e-14)


def test_wrt_chooses_and_orders_the_gradient():
    prog = compile_expression(gc.parse("w*x+b"), wrt=["w", "b"])
    xs = np.arange(1.0, 6.0)
    _, grad = prog.value_and_grad({"x": xs, "w": 3.0, "b": 1.0})
    np.testing.assert_array_equal(grad, np.stack([xs, np.ones(5)], axis=-1))


def test_value_and_vjp_gives_the_mean_squared_error_gradient():
    prog = compile_expression(gc.parse("w*x+b"), wrt=["w", "b"])
    xs = np.arange(1.0, 6.0)
    ys = 2 * xs + 1
    value, v = prog.value_and_vjp({"x": xs, "w": 0.5, "b": 0.25},
                                  lambda f: 2 * (f - ys) / len(xs))
    r = 0.5 * xs + 0.25 - ys
    np.testing.assert_allclose(value, 0.5 * xs + 0.25)
    np.testing.assert_allclose(v, [2 * np.mean(r * xs), 2 * np.mean(r)], rtol=1e-15)


def test_hessian_matches_the_closed_form():
    prog = compile_expression(gc.parse(ROSENBROCK))
    x, y = -1.5, 2.0
    expected = [[2 - 400 * (y - 3 * x ** 2), -400 * x], [-400 * x, 200]]
    np.testing.assert_allclose(prog.hessian({"x": x, "y": y}), expected, rtol=1e-15)


def test_unknown_wrt_is_an_error():
    with pytest.raises(ValueError, match="not variables"):
        compile_expression(gc.parse("x*y"), wrt=["z"])


def test_point_function_gives_value_and_gradient_in_wrt_order():
    fg = compile_expression(gc.parse(ROSENBROCK), wrt=["y", "x"]).point_function()
    value, grad = fg(np.array([2.0, -1.5]))
    assert value == pytest.approx(12.5, rel=1e-15)
    np.testing.assert_allclose(grad, rosenbrock_grad(-1.5, 2.0)[::-1], rtol=1e-15)


# -- the compiled program against the tape ---------------------------------------------
import math  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from gradcli.ops import OPS  # noqa: E402
from tests.strategies import smooth_expressions  # noqa: E402


def same(a, b):
    """Equal as float64 arrays, nan where nan, to a few ulps (the program's sums may be
    grouped differently from the tape's)."""
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=1e-12, atol=1e-300, equal_nan=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(smooth_expressions(("x", "y")), st.floats(-2, 2), st.floats(-2, 2))
def test_program_matches_the_tape_on_random_expressions(text, x0, y0):
    expr = gc.parse(text)
    if not expr.variables:
        return
    prog = compile_expression(expr)
    xs = np.array([x0, y0, -x0, 0.5])
    env = {v: {"x": xs, "y": xs[::-1] * 0.7}[v] for v in expr.variables}
    value, grad = prog.value_and_grad(env)
    same(value, expr.evaluate(env))
    same(grad, expr.gradient(env))
    same(prog.value(env), expr.evaluate(env))
    point = {v: float(env[v][0]) for v in expr.variables}
    same(prog.hessian(point), expr.hessian(point))
    same(prog.hessian(env), expr.hessian(env))
    fv, fgrad = prog.point_function()(np.array([point[v] for v in prog.wrt]))
    same(fv, expr.evaluate(point))
    same(fgrad, expr.gradient(point))


AWKWARD = [  # (expression, point): SPEC section 4's points where a rule decides
    ("abs(x)", {"x": 0.0}), ("relu(x)", {"x": 0.0}), ("sign(x)", {"x": 0.0}),
    ("max(x, y)", {"x": 1.0, "y": 1.0}), ("min(x, y)", {"x": 2.0, "y": 2.0}),
    ("max(x, 0)", {"x": 0.0}), ("sqrt(x)", {"x": 0.0}), ("log(x)", {"x": 0.0}),
    ("1/x", {"x": 0.0}), ("x**0.0", {"x": 0.0}), ("x**0", {"x": 0.0}),
    ("x**0.5", {"x": 0.0}), ("x**1.5", {"x": 0.0}), ("x**-0.5", {"x": 0.0}),
    ("x**y", {"x": 0.0, "y": 0.0}), ("x**y", {"x": 0.0, "y": 2.0}),
    ("x**y", {"x": 0.0, "y": 0.5}), ("x**y", {"x": -2.0, "y": 3.0}),
    ("x**y", {"x": -8.0, "y": 1 / 3}), ("x**3", {"x": -2.0}), ("x**-1", {"x": 0.0}),
    ("x*sqrt(x)", {"x": 0.0}), ("hypot(x, y)", {"x": 0.0, "y": 0.0}),
    ("atan2(y, x)", {"x": 0.0, "y": 0.0}), ("cbrt(x)", {"x": 0.0}),
    ("x**4+2*x**3-3*x**2+4*x-5", {"x": 0.0}), ("exp(x)", {"x": 1000.0}),
    ("softplus(x)", {"x": 1000.0}), ("sigmoid(x)", {"x": -1000.0}), ("log(-x)", {"x": 1.0}),
    ("acosh(x)", {"x": 1.0}), ("atanh(x)", {"x": 1.0}), ("asin(x)", {"x": 1.0}),
]


@pytest.mark.parametrize("text, point", AWKWARD)
def test_program_follows_the_tapes_rules_at_awkward_points(text, point):
    expr = gc.parse(text)
    prog = compile_expression(expr)
    value, grad = prog.value_and_grad(point)
    same(value, expr.evaluate(point))
    same(grad, expr.gradient(point))
    fv, fgrad = prog.point_function()(np.array([point[v] for v in prog.wrt]))
    same(fv, expr.evaluate(point))
    same(fgrad, expr.gradient(point))
    same(prog.hessian(point), expr.hessian(point))


def test_spec_values_at_awkward_points():
    def grad(text, **point):
        return compile_expression(gc.parse(text)).value_and_grad(point)[1].tolist()

    assert grad("abs(x)", x=0.0) == [0.0]
    assert grad("max(x, y)", x=1.0, y=1.0) == [0.5, 0.5]
    assert grad("sqrt(x)", x=0.0) == [math.inf]
    assert grad("x**0.0", x=0.0) == [0.0]
    assert grad("x**y", x=0.0, y=0.5) == [math.inf, 0.0]
    assert grad("x**y", x=0.0, y=2.0) == [0.0, 0.0]
    assert grad("x**3", x=-2.0) == [12.0]
    prog = compile_expression(gc.parse("x**4+2*x**3-3*x**2+4*x-5"))
    assert prog.hessian({"x": 0.0}).tolist() == [[-6.0]]


def test_no_registered_rule_reads_values():
    # the piecewise rules and pow weight by mask ops (test_masks.py)
    assert {name for name in OPS if not OPS[name].traceable} == set()


def test_a_rule_that_reads_values_runs_at_replay(value_reading_op):
    expr = gc.parse("ramp(x)*y + ramp(-x)**2")
    assert not OPS["test_ramp"].traceable
    prog = compile_expression(expr)
    assert "rule" in {instr[0] for instr in prog.code.needed(prog.grad_slots)}
    assert prog._hessian_program() is None and prog._hvp_program() is None
    xs, ys = np.array([-2.0, 0.0, 1.5]), np.array([1.0, 3.0, -2.0])
    value, grad = prog.value_and_grad({"x": xs, "y": ys})
    for k in range(3):
        point = {"x": xs[k], "y": ys[k]}
        same(value[k], expr.evaluate(point))
        same(grad[k], expr.gradient(point))
        same(prog.hessian(point), expr.hessian(point))  # nested tapes
        fv, fgrad = prog.point_function()(np.array([xs[k], ys[k]]))
        same(fv, value[k])
        same(fgrad, grad[k])
    assert grad.tolist() == [[-4.0, 0.0], [0.0, 0.0], [-2.0, 1.5]]  # by hand


def test_gradient_pass_holds_no_work_for_data_columns():
    prog = compile_expression(gc.parse("w*x+b"), wrt=["w", "b"])
    ops = [instr[1] for instr in prog.code.needed(prog.grad_slots)]
    # g*w (the gradient along the data column x) is never computed
    assert sorted(ops) == ["mul"], ops


def test_hvp_matches_hessian_times_vector():
    prog = compile_expression(gc.parse("sin(x*y)+x**3*exp(y)"))
    env = {"x": np.array([0.3, -1.2]), "y": np.array([0.7, 0.1])}
    v = np.array([0.25, -2.0])
    np.testing.assert_allclose(prog.hvp(env, v), prog.hessian(env) @ v, rtol=1e-13)
    np.testing.assert_allclose(prog.hessian(env), gc.parse("sin(x*y)+x**3*exp(y)").hessian(env),
                               rtol=1e-13)


def test_value_and_vjp_matches_the_tape_on_a_nonlinear_model():
    expr = gc.parse("a*exp(-b*x)+c*sin(x)")
    prog = compile_expression(expr, wrt=["a", "b", "c"])
    x = np.linspace(0, 3, 50)
    y = np.cos(x)
    env = {"x": x, "a": 1.5, "b": 0.5, "c": -0.25}
    value, v = prog.value_and_vjp(env, lambda f: 2 * (f - y) / len(x))
    grads = expr.gradient(env)
    r = 2 * (value - y) / len(x)
    want = [np.sum(r * grads[:, expr.variables.index(p)]) for p in ["a", "b", "c"]]
    np.testing.assert_allclose(v, want, rtol=1e-13)


def test_point_function_runs_python_floats_and_is_fast_enough():
    import timeit

    fg = compile_expression(gc.parse(ROSENBROCK)).point_function()
    p = np.array([-1.5, 2.0])
    assert "def fg" in fg.source
    per_call = min(timeit.repeat(lambda: fg(p), number=2000, repeat=5)) / 2000
    assert per_call < 20e-6  # about 1-2 us on a quiet machine; generous for a shared one


@pytest.mark.parametrize("name", ["__import__('os').system('true')", "p", "v0", "fg", "_exp"])
def test_user_names_never_reach_the_generated_source(name):
    # a hostile name cannot even be a variable: the lexer rejects it
    if not name.isidentifier():
        with pytest.raises(gc.GradcliError):
            gc.parse(f"{name}*2")
        return
    # identifiers that collide with generated names are only variables: they never
    # appear in the source, and the program still computes the right thing
    expr = gc.parse(f"exp({name})*{name}**2+3")
    fg = compile_expression(expr).point_function()
    import re

    identifiers = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", fg.source))
    allowed = {"def", "fg", "p", "return", "INF", "NAN"}
    assert all(i in allowed or re.fullmatch(r"v\d+|R\d+|_[a-z0-9_]+", i) for i in identifiers)
    value, grad = fg(np.array([1.5]))
    assert value == pytest.approx(math.exp(1.5) * 2.25 + 3, rel=1e-15)
    assert grad[0] == pytest.approx(math.exp(1.5) * (2.25 + 3.0), rel=1e-15)


def test_generated_source_holds_only_table_functions_and_numbers():
    import re

    from gradcli.compiled.scalar import CONSTANTS

    expr = gc.parse("softplus(x)*atan2(y, x)+max(x, y)+x**y+inf_var/pi")
    made = compile_expression(expr).scalar_source()
    source, namespace = made
    calls = set(re.findall(r"([A-Za-z_][A-Za-z_0-9]*)\(", source)) - {"fg"}
    assert calls <= set(namespace)
    assert all(namespace[f"_{n}"] is OPS[n].scalar for n in ("softplus", "atan2", "max", "pow"))
    identifiers = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", source))
    assert "inf_var" not in identifiers and "pi" not in identifiers
    assert identifiers <= {"def", "fg", "p", "return"} | set(CONSTANTS) | calls | {
        i for i in identifiers if re.fullmatch(r"v\d+", i)}


# -- a broadcast parameter's gradient summed as one sum of products -----------------------------
def test_value_and_vjp_sums_each_parameters_products_without_an_array_of_them():
    from gradcli.compiled.replay import sum_of_products

    prog = compile_expression(gc.parse("a*x+b*z+c"), ["a", "b", "c"])
    rng = np.random.default_rng(5)
    n = 3 * 8192 + 17  # blocks and a tail
    x, z, y = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    value, v = prog.value_and_vjp({"a": 0.5, "b": -2.0, "c": 0.25, "x": x, "z": z},
                                  lambda f: f - y)
    r = 0.5 * x - 2.0 * z + 0.25 - y
    assert np.array_equal(value, 0.5 * x + -2.0 * z + 0.25)
    exact = [math.fsum(r * x), math.fsum(r * z), math.fsum(r)]
    assert v.tolist() == pytest.approx(exact, rel=1e-12, abs=1e-9)
    after = prog._program("after_seed")
    assert [fn for fn, *_ in after] == [sum_of_products, sum_of_products]  # no mul, no array


@pytest.mark.parametrize("n", [0, 1, 8191, 8192, 8193, 30_000])
def test_blocked_dot_is_the_dot_product(n):
    from gradcli.compiled.replay import blocked_dot

    a, b = np.random.default_rng(n).normal(size=(2, n))
    assert float(blocked_dot(a, b)) == pytest.approx(math.fsum(a * b), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("text, point", [
    ("(1-x)**2+100*(y-x**2)**2", [-1.5, 2.0]), ("sin(x)*exp(y)", [0.3, -0.2]),
    ("log(x)", [0.0]), ("1/x", [0.0]), ("sqrt(x)", [-1.0]), ("x**3", [1e200]), ("5", []),
])
def test_point_function_floats_is_the_array_function_on_floats(text, point):
    fg = compile_expression(gc.parse(text)).point_function()
    value, grad = fg(np.array(point))
    fvalue, fgrad = fg.floats(list(point))
    assert type(fgrad) is tuple and all(type(v) is float for v in fgrad)
    assert repr((float(value), grad.tolist())) == repr((fvalue, list(fgrad)))  # nan, inf too


@pytest.mark.parametrize("environ, one", [
    ({}, False), ({"OPENBLAS_NUM_THREADS": "1"}, True), ({"OMP_NUM_THREADS": " 1 "}, True),
    ({"OMP_NUM_THREADS": "2"}, False), ({"GOTO_NUM_THREADS": "1", "OMP_NUM_THREADS": "4"}, True),
    ({"OPENBLAS_NUM_THREADS": "4", "OMP_NUM_THREADS": "1"}, False),  # OpenBLAS reads its own first
    ({"OPENBLAS_NUM_THREADS": "", "OMP_NUM_THREADS": "1"}, True),
])
def test_blas_one_thread_reads_openblas_variables_in_its_order(environ, one):
    from gradcli.compiled.tuning import blas_one_thread

    assert blas_one_thread(environ) is one


@pytest.mark.parametrize("one_thread", [True, False])
def test_blocked_dot_takes_one_dot_where_blas_has_one_thread(monkeypatch, one_thread):
    from gradcli.compiled import replay as program

    a, b = np.random.default_rng(3).normal(size=(2, 3 * program.DOT_BLOCK + 5))
    monkeypatch.setattr(program, "_BLAS_ONE_THREAD", one_thread)
    calls = []
    real_matmul = np.matmul
    monkeypatch.setattr(program.np, "matmul", lambda *x: calls.append(1) or real_matmul(*x))
    got = program.blocked_dot(a, b)
    assert got == pytest.approx(math.fsum(a * b), rel=1e-12)
    assert bool(calls) is not one_thread
    if one_thread:
        assert got == np.dot(a, b)


@pytest.mark.parametrize("text, point", [
    ("sqrt(x) + y**2", {"x": 0.0, "y": 1.0}), ("log(x)*y + y**2", {"x": 0.0, "y": 1.0}),
    ("1/x + y**3", {"x": 0.0, "y": 1.0}), ("sqrt(x)*y", {"x": 0.0, "y": 2.0}),
    ("exp(x) + y**2", {"x": 1000.0, "y": 1.0}), ("acosh(x) + y**2", {"x": 1.0, "y": 1.0}),
    ("x*y + sqrt(x*y)", {"x": 0.0, "y": 1.0}),
])
def test_hessian_keeps_finite_entries_beside_an_infinite_gradient(text, point):
    # one reverse pass per gradient component, as nested tapes: a Hessian-vector pass with
    # unit vectors would multiply sqrt'(0) = inf by the other column's 0 and give nan
    expr = gc.parse(text)
    prog = compile_expression(expr)
    with np.errstate(all="ignore"):
        got, want = prog.hessian(point), np.asarray(expr.hessian(point))
        xs = {k: np.full(3, v) for k, v in point.items()}
        many = prog.hessian(xs)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(many, np.broadcast_to(want, (3, 2, 2)))


def test_hessian_entry_order_is_d_grad_k_d_wrt_j():
    prog = compile_expression(gc.parse("x**3*y + exp(y)"), wrt=["y", "x"])
    h = prog.hessian({"x": 2.0, "y": 0.5})
    assert h.tolist() == [[math.exp(0.5), 12.0], [12.0, 6 * 2.0 * 0.5]]


# -- the library leaves the interpreter as it found it (issue 15) ---------------------------
def test_the_library_leaves_process_state_alone(monkeypatch):
    import gc as collector
    import sys
    import threading

    from gradcli.compiled import parallel, tuning

    monkeypatch.setattr(tuning, "_TUNED", [])  # as in a process the CLI did not start
    monkeypatch.setattr(tuning, "keep_freed_memory", lambda: pytest.fail("mallopt called"))
    monkeypatch.setenv("GRADCLI_THREADS", "2")
    monkeypatch.setattr(parallel, "BLOCK", 64)
    monkeypatch.setattr(parallel, "MIN_CALL_NS", 0)
    seen = []
    real_build = Program._build  # noqa: F821 (imported below)

    def build(self, expression):
        seen.append(collector.isenabled())
        return real_build(self, expression)

    monkeypatch.setattr(Program, "_build", build)  # noqa: F821
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # low enough that the parser raises it for deep nesting
    try:
        before = (collector.isenabled(), sys.getrecursionlimit(), set(threading.enumerate()))
        expr = gc.parse("(" * 150 + "sin(x)*exp(y)" + ")" * 150)
        prog = compile_expression(expr)
        xs = np.linspace(-1, 1, 100_000)
        prog.value_and_grad({"x": xs, "y": xs})
        prog.hessian({"x": xs[:1000], "y": 0.5})
        prog.point_function()(np.array([0.5, 0.25]))
        after = (collector.isenabled(), sys.getrecursionlimit(), set(threading.enumerate()))
    finally:
        sys.setrecursionlimit(limit)
    assert seen == [collector.isenabled()]  # the collector was not paused while building
    assert after == before


def test_the_cli_process_pauses_the_collector_while_building(monkeypatch):
    import gc as collector

    from gradcli.compiled import tuning

    monkeypatch.setattr(tuning, "_TUNED", [True])  # as after tune_process() in cli.main
    enabled = collector.isenabled()
    seen = []
    real_build = Program._build  # noqa: F821

    def build(self, expression):
        seen.append(collector.isenabled())
        return real_build(self, expression)

    monkeypatch.setattr(Program, "_build", build)  # noqa: F821
    compile_expression(gc.parse("x*y+1"))
    assert seen == [False] and collector.isenabled() == enabled


def test_main_is_where_the_process_is_tuned(monkeypatch):
    import sys

    from gradcli import cli
    from gradcli.compiled import tuning

    calls = []
    monkeypatch.setattr(tuning, "tune_process", lambda: calls.append(1))
    monkeypatch.setattr(cli, "terminate_on_sigterm", lambda: None)  # not in pytest's process
    monkeypatch.setattr(sys, "argv", ["gradcli", "eval", "x+1", "--at", "1"])
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code == 0 and calls == [1]


from gradcli.compiled.program import Program  # noqa: E402
