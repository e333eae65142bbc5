"""Driven from the registry: every op declares its facts, and every one of them is tested.

For each op in OPS: a one-point float form (``scalar``), a Taylor rule, a SymPy rule and a
ball rule (array ops exempted in EXEMPT, with the reason); the float form computes numpy's
forward rule (nan, inf and signed zeros included); and for each function of the language, the
compiled program (arrays, Hessians, the one-point function) gives the tape's numbers, and
the ball rule encloses the Taylor rule's derivatives, at the points in DOMAIN. A new op with a missing fact, or a new language function with no
points in DOMAIN, fails here.
"""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcli as gc
from gradcli.compiled.program import compile_expression
from gradcli.compiled.scalar import CONSTANTS, op_source
from gradcli.registry import OPS, language_functions

FACTS = ("scalar", "taylor", "sympy", "ball")

# The one list of exemptions: op -> {fact: why it has none}.
_ARRAY = ("an array op of the tensor library (shapes, axes, indices): the language cannot "
          "write it, so no one-point program holds it and SymPy and ball arithmetic never see it")
_TENSOR_ONLY = ("tensor library only (not in the language): one-point programs, SymPy forms "
                "and ball series are made from language expressions")
EXEMPT = {
    **{name: {"scalar": _ARRAY, "sympy": _ARRAY, "ball": _ARRAY} for name in (
        "sum_to", "broadcast_to", "reshape", "reduce_sum", "cast", "getitem", "scatter",
        "stack", "concat", "transpose", "matmul", "reduce_max", "reduce_min", "reduce_prod",
        "max_weight", "min_weight", "prod_others")},
    **{name: {"scalar": _TENSOR_ONLY, "sympy": _TENSOR_ONLY, "ball": _TENSOR_ONLY} for name in (
        "stop_gradient", "less", "less_equal", "greater", "greater_equal", "equal",
        "not_equal")},
}

# attributes to try for the ops that have them (the array ops have no scalar form)
ATTRS = {"powi": [{"n": n} for n in (-3, -2, -1, 0, 1, 2, 3, 4, 7)],
         "polygamma": [{"n": n} for n in (1, 2, 3)],
         "sinc_derivative": [{"n": n} for n in (1, 2, 3)]}

# language function -> points (one value per argument) inside its domain and at its edges
DOMAIN = {
    "exp": [(-2.0,), (-0.5,), (0.0,), (0.7,), (3.0,)],
    "expm1": [(-2.0,), (-1e-8,), (0.0,), (0.7,), (3.0,)],
    "log": [(0.1,), (0.5,), (1.0,), (2.5,), (10.0,), (0.0,)],
    "log1p": [(-0.9,), (-0.5,), (0.0,), (1e-9,), (5.0,), (-1.0,)],
    "log2": [(0.1,), (0.5,), (1.0,), (8.0,), (0.0,)],
    "log10": [(0.1,), (0.5,), (1.0,), (1000.0,), (0.0,)],
    "sqrt": [(0.0,), (0.25,), (1.0,), (2.0,), (9.0,)],
    "cbrt": [(-8.0,), (-1.0,), (0.0,), (0.5,), (27.0,)],
    "sin": [(-2.0,), (-0.5,), (0.0,), (0.7,), (3.0,)],
    "cos": [(-2.0,), (-0.5,), (0.0,), (0.7,), (3.0,)],
    "tan": [(-1.2,), (-0.5,), (0.0,), (0.7,), (1.5,)],
    "asin": [(-0.9,), (-0.5,), (0.0,), (0.5,), (0.99,), (1.0,)],
    "acos": [(-0.9,), (-0.5,), (0.0,), (0.5,), (0.99,), (-1.0,)],
    "atan": [(-3.0,), (-0.5,), (0.0,), (0.7,), (30.0,)],
    "sinh": [(-2.0,), (-0.5,), (0.0,), (0.7,), (3.0,)],
    "cosh": [(-2.0,), (-0.5,), (0.0,), (0.7,), (3.0,)],
    "tanh": [(-2.0,), (-0.5,), (0.0,), (0.7,), (20.0,)],
    "asinh": [(-3.0,), (-0.5,), (0.0,), (0.7,), (2.0,)],
    "acosh": [(1.0,), (1.5,), (2.0,), (10.0,)],
    "atanh": [(-0.9,), (-0.5,), (0.0,), (0.5,), (0.99,), (1.0,)],
    "sigmoid": [(-30.0,), (-1.0,), (0.0,), (1.0,), (30.0,)],
    "softplus": [(-30.0,), (-1.0,), (0.0,), (1.0,), (30.0,)],
    "abs": [(-2.0,), (-0.0,), (0.0,), (0.5,)],
    "sign": [(-2.0,), (0.0,), (3.0,)],
    "relu": [(-1.0,), (0.0,), (2.0,)],
    "pow": [(2.0, 3.0), (0.5, -1.5), (0.0, 0.0), (0.0, 2.0), (-2.0, 3.0), (3.0, 0.5), (0.0, 0.5)],
    "max": [(1.0, 2.0), (2.0, 1.0), (1.0, 1.0), (-0.5, 0.5)],
    "min": [(1.0, 2.0), (2.0, 1.0), (1.0, 1.0), (-0.5, 0.5)],
    "hypot": [(3.0, 4.0), (0.0, 0.0), (-1.0, 2.0)],
    "atan2": [(1.0, 1.0), (0.0, 0.0), (-1.0, 0.5), (2.0, -3.0)],
    "sec": [(-2.0,), (0.0,), (0.7,), (1.5,)],
    "csc": [(-2.0,), (0.3,), (1.5,), (3.0,)],
    "cot": [(-2.0,), (0.3,), (1.5,), (3.0,)],
    "exp2": [(-2.0,), (0.0,), (0.5,), (10.0,)],
    "square": [(-2.0,), (0.0,), (0.5,), (3.0,)],
    "erf": [(-2.0,), (0.0,), (0.5,), (3.0,)],
    "erfc": [(-2.0,), (0.0,), (0.5,), (3.0,)],
    "gamma": [(-2.5,), (0.5,), (1.0,), (4.5,)],
    "lgamma": [(-2.5,), (0.5,), (1.0,), (4.5,)],
    "digamma": [(-2.5,), (0.5,), (1.0,), (4.5,)],
    "sinc": [(-2.0,), (0.0,), (0.5,), (3.0,)],
    "floor": [(-2.5,), (-0.5,), (0.0,), (1.5,)],
    "ceil": [(-2.5,), (-0.5,), (0.0,), (1.5,)],
    "round": [(-2.5,), (-0.7,), (0.0,), (1.5,), (2.5,)],
    "heaviside": [(-2.0,), (0.0,), (1.5,)],
    "mod": [(5.5, 2.0), (-5.5, 2.0), (5.5, -2.0), (0.0, 3.0), (3.0, 3.0)],
    "clip": [(0.5, 0.0, 1.0), (-1.0, 0.0, 1.0), (2.0, 0.0, 1.0), (0.0, 0.0, 1.0)],
}

# special values for the float forms: every pair of them for two-argument ops
SPECIAL = [-math.inf, -1e308, -710.0, -3.0, -2.0, -1.0, -0.5, -1e-300, -0.0, 0.0, 1e-300,
           0.5, 1.0, 2.0, 3.0, 710.0, 1e308, math.inf, math.nan]


# -- every op declares its facts --------------------------------------------------------
@pytest.mark.parametrize("fact", FACTS)
@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_declares_its_facts(name, fact):
    if fact in EXEMPT.get(name, {}):
        assert getattr(OPS[name], fact) is None, f"{name} has a {fact} now: drop its exemption"
        return
    assert getattr(OPS[name], fact) is not None, (
        f"op {name!r} has no {fact} rule: add it to its @op class (gradcli/registry.py "
        f"says how), or exempt it in EXEMPT with the reason")


def test_exemptions_name_real_ops_and_facts():
    for name, facts in EXEMPT.items():
        assert name in OPS, name
        assert set(facts) <= set(FACTS) and all(facts.values()), name


def test_every_op_has_a_cost_and_says_whether_it_traces():
    for name, entry in OPS.items():
        assert entry.cost > 0 and math.isfinite(entry.cost), name
        assert entry.traceable is True, name  # no registered rule reads values (test_masks.py)


def test_every_language_function_has_points():
    missing = sorted(set(language_functions()) - set(DOMAIN))
    assert not missing, f"add points for {missing} to DOMAIN in tests/test_registry.py"
    assert not set(DOMAIN) - set(language_functions()), "DOMAIN names no function"


# -- the float forms compute numpy's forward rule ---------------------------------------
def _float_function(name, attrs):
    """The op's float form as a Python function of its arguments, written by the same
    code that writes the one-point programs (gradcli/compiled/scalar.py)."""
    args = [f"a{i}" for i in range(OPS[name].arity)]
    namespace = {}
    expr = op_source(name, args, attrs, namespace)
    assert expr is not None, (name, attrs)
    scope = {"__builtins__": {}, **CONSTANTS, **namespace}
    # the text is gradcli's own (templates from the registry), never a user's
    exec(f"def f({', '.join(args)}):\n    return {expr}\n", scope)  # noqa: S102
    return scope["f"]


def _float_cases():
    for name in sorted(OPS):
        if OPS[name].scalar is None:
            continue
        attrs_list = ATTRS.get(name, [{}]) if OPS[name].attrs else [{}]
        for attrs in attrs_list:
            yield name, attrs


FLOAT_CASES = list(_float_cases())


def test_ops_with_attributes_have_attributes_to_try():
    for name, entry in OPS.items():
        if entry.attrs and entry.scalar is not None:
            assert name in ATTRS, f"add attributes to try for {name} to ATTRS"


def _agrees(name, attrs, args):
    """The float form raises (the one-point function then takes numpy's rules), or gives
    numpy's value: the same nan, inf and signed zero, finite values within a few ulps."""
    f = _float_function(name, attrs)
    try:
        got = f(*args)
    except (ArithmeticError, ValueError):
        return
    with np.errstate(all="ignore"):
        want = float(OPS[name].forward(*[np.float64(a) for a in args], **attrs))
    assert type(got) is float, (name, attrs, args, got)
    if math.isnan(want) or math.isnan(got):
        assert math.isnan(want) and math.isnan(got), (name, attrs, args, got, want)
    elif want == 0.0 or math.isinf(want) or math.isinf(got):
        assert repr(got) == repr(want), (name, attrs, args, got, want)
    else:
        assert got == pytest.approx(want, rel=4e-16 * 4, abs=0), (name, attrs, args, got, want)


@pytest.mark.parametrize("name, attrs", FLOAT_CASES)
def test_float_form_is_numpys_forward_at_special_values(name, attrs):
    arity = OPS[name].arity
    points = [(a,) for a in SPECIAL] if arity == 1 else list(itertools.product(
        SPECIAL, repeat=arity) if arity == 2 else itertools.product(SPECIAL[::3], repeat=arity))
    for args in points:
        _agrees(name, attrs, args)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FLOAT_CASES), st.floats(allow_nan=True, allow_infinity=True),
       st.lists(st.floats(-50, 50), min_size=3, max_size=3))
def test_float_form_is_numpys_forward_anywhere(case, a, others):
    name, attrs = case
    _agrees(name, attrs, (a, *others)[:OPS[name].arity])


# -- compiled programs against the tape, for every language function --------------------
def same(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=1e-12, atol=1e-300, equal_nan=True)


def _texts(fn):
    """The expressions a function is checked in: alone, and inside a product and a square
    with another variable (the chain rule, Hessian cross terms, powi)."""
    names = ["x", "y", "w"][:OPS[language_functions()[fn].name].arity]
    call = f"{fn}({', '.join(names)})"
    return [call, f"z*{call}**2 + {call}*x"], names


def _raw_float_function(prog):
    """The generated one-point function itself (no fall-back to numpy)."""
    source, namespace = prog.scalar_source()
    scope = {"__builtins__": {}, **CONSTANTS, **namespace}
    exec(compile(source, "<test>", "exec"), scope)  # noqa: S102 (gradcli's generated text)
    return scope["fg"]


@pytest.mark.parametrize("fn", sorted(DOMAIN))
def test_compiled_program_is_the_tape_for_every_function(fn):
    texts, names = _texts(fn)
    points = DOMAIN[fn]
    for text in texts:
        expr = gc.parse(text)
        prog = compile_expression(expr)
        assert language_functions()[fn].name in {i[1] for i in prog.code.instrs}
        columns = {v: np.array([p[k] for p in points]) for k, v in enumerate(names)}
        env = {v: columns.get(v, np.full(len(points), 0.7)) for v in expr.variables}
        value, grad = prog.value_and_grad(env)
        same(value, expr.evaluate(env))
        same(grad, expr.gradient(env))
        same(prog.value(env), expr.evaluate(env))
        same(prog.hessian(env), expr.hessian(env))
        # the Hessian-vector product differentiates grad . v: d/dx_i sum_k v_k d_k f,
        # which is H^T v (H is not symmetric where f is not smooth: pow at (0, 0))
        v = np.resize([0.5, -1.25, 2.0, 0.75], len(expr.variables))
        hessian = expr.hessian(env)
        rows = np.isfinite(hessian).all(axis=(-2, -1))  # inf * 0 is nan in H^T v alone
        same(prog.hvp(env, v)[rows], np.einsum("...ki,k->...i", hessian, v)[rows])
        assert prog.scalar_source() is not None, f"{text}: no one-point float function"
        raw = _raw_float_function(prog)
        fg = prog.point_function()
        for k in range(len(points)):
            point = {name: float(env[name][k]) for name in expr.variables}
            p = [point[name] for name in prog.wrt]
            tape_value, tape_grad = expr.evaluate(point), expr.gradient(point)
            fv, fgrad = fg(np.array(p))
            same(fv, tape_value)
            same(fgrad, tape_grad)
            fv, fgrad = fg.floats(p)
            same(fv, tape_value)
            same(fgrad, tape_grad)
            finite = np.all(np.isfinite(tape_grad)) and np.isfinite(tape_value)
            if finite:  # the float function itself: no fall-back to numpy (the slow path,
                # 20-45x a call) where the value and gradient are numbers
                out = raw(p)
                same(out[0], tape_value)
                same(out[1:], tape_grad)


def test_every_op_with_a_float_form_is_in_a_compiled_program_tested_above():
    """Ops outside the language (neg, powi, the masks) are checked through the gradient
    programs of the functions above: each must turn up in one of them."""
    seen = set()
    for fn in DOMAIN:
        for text in _texts(fn)[0]:
            prog = compile_expression(gc.parse(text))
            prog.grad_slots  # noqa: B018 (builds the gradient part)
            seen.update(name for kind, name, *_ in prog.code.instrs if kind == "op")
    untested = sorted(n for n in OPS if OPS[n].scalar is not None and n not in seen)
    assert not untested, f"no compiled-vs-tape test holds {untested}: add a function or text"


@pytest.mark.parametrize("fn", sorted(DOMAIN))
def test_taylor_rule_is_the_tape_for_every_function(fn):
    texts, names = _texts(fn)
    expr = gc.parse(texts[0])
    for point in DOMAIN[fn]:
        at = dict(zip(names, point))
        taylor = expr.derivatives("x", order=3, at=at)
        with np.errstate(all="ignore"):
            tape = expr.derivatives("x", order=3, at=at, engine="tape")
        taylor, tape = np.array(taylor, dtype=float), np.array(tape, dtype=float)
        finite = np.isfinite(tape)
        # at a branch point (asin at 1, cbrt at 0) the engines may differ on inf against
        # nan above the first non-finite derivative, never on a number
        assert not np.isfinite(taylor[~finite]).any(), (at, taylor, tape)
        np.testing.assert_allclose(taylor[finite], tape[finite], rtol=1e-10, atol=1e-12,
                                   err_msg=str(at))


@pytest.mark.parametrize("fn", sorted(DOMAIN))
def test_ball_rule_encloses_the_taylor_rule_for_every_function(fn):
    """Orders 0..3 in ball arithmetic (the op's ``ball`` rule, inside the same expressions
    as above) hold the Taylor rule's float64 derivatives within 1e-12, at every point in
    DOMAIN where both are finite; where the ball cannot decide (a kink, a branch point)
    another point must do. ``fast=True``: the float64 rules alone (the default refines
    doubtful entries in ball arithmetic, which would compare the ball rule with itself)."""
    from gradcli.taylor import ball as B

    texts, names = _texts(fn)
    checked = 0
    for text in texts:
        expr = gc.parse(text)
        for point in DOMAIN[fn]:
            at = {**dict(zip(names, point)), "z": 0.7}
            at = {name: at.get(name, 0.7) for name in expr.variables}
            try:
                balls, _ = B.balls_at(expr.nodes, "x", at, 3, 128)
            except (B.OutOfDomain, B.NotCertified):
                continue
            with np.errstate(all="ignore"):
                taylor = [float(d) for d in expr.derivatives("x", order=3, at=at, fast=True)]
            for k, (b, t) in enumerate(zip(balls, taylor)):
                if not (b.is_finite() and math.isfinite(t)):
                    continue
                mid, rad = float(b.mid()), float(b.rad())
                assert rad <= 1e-20 * max(1.0, abs(mid)), (text, at, k, b)
                assert abs(mid - t) <= 1e-12 * max(1.0, abs(mid)), (text, at, k, mid, t)
                checked += 1
    assert checked >= 4, f"{fn}: the ball rule was compared at {checked} entries only"


# -- nan agrees across the engines (issue 23) -------------------------------------------
NAN_TEXTS = ["min(asin(2), (x-3)**2)", "max((x-3)**2, asin(2))", "relu(log(-1))+x**2",
             "max(sqrt(-1), x)", "min(x, acos(3))*x"]


@pytest.mark.parametrize("text", NAN_TEXTS)
def test_every_engine_agrees_on_nan(text):
    expr = gc.parse(text)
    assert math.isnan(expr.evaluate(x=1.0))
    prog = compile_expression(expr)
    assert math.isnan(prog.value({"x": 1.0}))
    assert np.isnan(prog.value_and_grad({"x": np.array([1.0, 2.0])})[0]).all()
    assert math.isnan(prog.point_function()(np.array([1.0]))[0])
    assert math.isnan(prog.point_function().floats([1.0])[0])
    assert math.isnan(_raw_float_function(prog)([1.0])[0])
    assert math.isnan(expr.derivatives("x", order=2, at={"x": 1.0})[0])


@pytest.mark.parametrize("opt", ["sgd", "adam", "newton", "lbfgs"])
@pytest.mark.parametrize("text", NAN_TEXTS[:2])
def test_the_command_line_agrees_on_nan(gradcli, text, opt):
    """minimize used to converge to x = 3 on min(asin(2), (x-3)**2), where eval says nan:
    the float path's min dropped the nan (issue 23)."""
    evaluated = gradcli("eval", text, "--at", "x=1")
    assert evaluated.exit_code == 0 and evaluated.stdout.strip().endswith("nan")
    assert "nan" in evaluated.stderr  # warned about, never hidden
    result = gradcli("minimize", text, "--from", "x=1", "--opt", opt)
    assert result.exit_code == 1, result.stdout
    assert "not finite" in result.stderr
    assert "x=3" not in result.stdout
