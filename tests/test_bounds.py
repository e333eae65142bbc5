"""taylor/bounds.py: orders 0 and 1 at many points with a rigorous bound per entry. The
bound must hold against 200-bit flint balls on random expressions and points (hypothesis),
the entries it vouches for must be within 1e-13 of the exact value (balls; mpmath for W3's
hand-written derivative) and carry the Taylor pass's bits, and the libm assumption of its
error model (LIBM_ULPS) is measured here."""
from __future__ import annotations

import math
import os
import subprocess
import sys

import flint
import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradcli as gc
from gradcli.taylor import ball, bounds
from gradcli.taylor.engine import derivatives as taylor_derivatives
from gradcli.taylor.refine import Refinement

W3 = "sin(x)*exp(-x**2/10)+log(1+x**2)-sqrt(1+x**2)*cos(3*x)"
UNARY = ["sin({})", "cos({})", "exp(sin({}))", "sqrt(1+({})**2)", "log(2+cos({}))", "atan({})",
         "log1p(({})**2)", "expm1(sin({}))", "exp(-({})**2/10)", "square({})", "sqrt({})",
         "log({})", "exp({})", "({})**3", "({})**-2", "1/({})", "log(1+({})**2)"]
BINARY = ["({}+{})", "({}-{})", "({}*{})", "({}/(1+({})**2))", "({}/{})"]


def _expressions():
    leaf = st.one_of(st.just("x"), st.just("x"), st.integers(-3, 3).map(lambda n: f"({n})"),
                     st.sampled_from(["0.5", "1.25", "pi", "0.1"]))

    def extend(children):
        unary = st.builds(lambda f, a: f.format(a), st.sampled_from(UNARY), children)
        binary = st.builds(lambda f, a, b: f.format(a, b) if f.count("{}") == 2
                           else f.format(a, b, b), st.sampled_from(BINARY), children, children)
        return st.one_of(unary, binary)

    return st.recursive(leaf, extend, max_leaves=7)


POINTS = st.lists(st.one_of(st.floats(-10, 10), st.floats(-1e-3, 1e-3),
                            st.sampled_from([0.0, -0.0, math.pi, 2 * math.pi, 1e3, -1e3,
                                             math.pi / 2, 1.0, -1.0, 1e-300])),
                  min_size=1, max_size=6)


UNDECIDED = "undecided"   # the balls cannot tell (an identity such as c - c, or precision)


def _balls(nodes, x, order):
    try:
        cs, _ = ball.coefficient_balls(nodes, "x", {"x": x}, order, 200, 1200)
    except ball.NotCertified:
        return [UNDECIDED] * (order + 1)
    except (ball.OutOfDomain, ValueError, ZeroDivisionError):
        return [None] * (order + 1)
    return [c if c.is_finite() else None for c in cs]


def _exact(nodes, x):
    """[f, f'] at the float x in 200-bit (to 1200-bit) balls, constants as their float64
    values: None for an order that has no value (a pole, outside the domain, sqrt' at 0),
    UNDECIDED where the balls cannot tell. f from the order-1 evaluation, or alone where
    that one fails (a nan f')."""
    out = _balls(nodes, x, 1)
    if out[0] in (None, UNDECIDED) or out[1] in (None, UNDECIDED):
        out[0] = _balls(nodes, x, 0)[0]
    return out


def _within(value: float, exact, bound: float) -> bool:
    """|value - exact| <= bound, the ball's radius counted against it."""
    return float((exact - flint.arb(value)).abs_upper()) <= bound


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_expressions(), xs=POINTS)
def test_the_bound_holds_and_vouched_entries_are_within_1e_13(text, xs):
    nodes = gc.parse(text).nodes
    flat = {"x": np.array(xs, dtype=np.float64)}
    with np.errstate(all="ignore"):
        v, d, ev, ed = bounds._pass(nodes, "x", flat, bounds._last_uses(nodes), bounds.F64)
        out, vouched = bounds.derivatives(nodes, "x", flat, 1)
        taylor = taylor_derivatives(nodes, "x", flat, 1)
    size = len(xs)
    v, ev = np.broadcast_to(v, size), np.broadcast_to(ev, size)
    d = np.zeros(size) if d is None else np.broadcast_to(d, size)
    ed = np.broadcast_to(ed, size)
    for p, x in enumerate(xs):
        exact = _exact(nodes, x)
        for k, (y, e) in enumerate(((v[p], ev[p]), (d[p], ed[p]))):
            if exact[k] is UNDECIDED:
                continue
            if exact[k] is None:   # a pole, outside the domain: not vouched for
                assert not vouched[k, p], (text, x, k)
                continue
            if math.isfinite(y) and math.isfinite(e):
                assert _within(float(y), exact[k], float(e) * bounds.SAFETY), (text, x, k, y, e)
            if vouched[k, p]:
                y = float(out[k, p])
                assert _within(y, exact[k], 1e-13 * abs(y)), (text, x, k)
    # the Taylor pass's numbers, to the bit, wherever they are finite, not 0 and not rescaled
    # (vouched for or not: expression.py takes the others from the Taylor pass itself)
    same = out.view(np.uint64) == taylor.view(np.uint64)
    plain = bounds.plain(out)
    assert same[:, plain].all(), (text, xs)
    assert same[vouched].all(), (text, xs)


def _arb(z) -> flint.arb:
    """A float64 or long double exactly as a ball (its integer ratio)."""
    n, d = np.longdouble(z).as_integer_ratio()
    return flint.arb(flint.fmpq(n, d))


@pytest.mark.skipif(bounds.LONG is None, reason="long double is float64 on this platform")
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_expressions(), xs=POINTS)
def test_the_long_double_bound_holds(text, xs):
    """recheck's pass (refine.py's first try before a ball check): the same rules in long
    double, whose bound must hold as float64's does."""
    nodes = gc.parse(text).nodes
    flat = {"x": np.array(xs, dtype=np.longdouble)}
    with np.errstate(all="ignore"):
        v, d, ev, ed = bounds._pass(nodes, "x", flat, bounds._last_uses(nodes), bounds.LONG)
    size = len(xs)
    v, ev = np.broadcast_to(v, size), np.broadcast_to(ev, size)
    d = np.zeros(size, dtype=np.longdouble) if d is None else np.broadcast_to(d, size)
    ed = np.broadcast_to(ed, size)
    with flint.ctx.workprec(200):
        for p, x in enumerate(xs):
            exact = _exact(nodes, x)
            for k, (y, e) in enumerate(((v[p], ev[p]), (d[p], ed[p]))):
                if exact[k] in (None, UNDECIDED) or not (np.isfinite(y) and np.isfinite(e)):
                    continue
                gap = (exact[k] - _arb(y)).abs_upper()
                assert gap <= _arb(e * bounds.SAFETY), (text, x, k)


def test_recheck_vouches_for_w3s_points_next_to_zeros_within_1e_13():
    """The points float64's bound leaves (next to a zero of f or f'): the long double pass
    keeps or replaces their entries, each then within 1e-13 of mpmath's value."""
    f = gc.parse(W3)
    xs = np.random.default_rng(7).uniform(-5, 5, 20_000)
    flat = {"x": xs}
    out, vouched = bounds.derivatives(f.nodes, "x", flat, 1)
    cols = np.flatnonzero(~vouched.all(axis=0))
    assert 200 < len(cols) < 2_000
    before = out.copy()
    replaced = bounds.recheck(f.nodes, "x", flat, out, vouched, cols)
    done = vouched[:, cols]
    assert done.mean() > 0.95
    for j, p in enumerate(cols.tolist()):
        exact = _w3_exact(float(xs[p]))
        for k in (0, 1):
            if done[k, j]:
                assert abs(mpmath.mpf(float(out[k, p])) - exact[k]) <= 1e-13 * abs(exact[k])
            if not replaced[k, j]:
                assert out[k, p] == before[k, p]


def _w3_exact(x: float):
    """W3 and its hand-written derivative at the float x, 40 digits (mpmath)."""
    with mpmath.workdps(40):
        t = mpmath.mpf(x)
        f = (mpmath.sin(t) * mpmath.exp(-t ** 2 / 10) + mpmath.log(1 + t ** 2)
             - mpmath.sqrt(1 + t ** 2) * mpmath.cos(3 * t))
        s = mpmath.sqrt(1 + t ** 2)
        df = ((mpmath.cos(t) - t / 5 * mpmath.sin(t)) * mpmath.exp(-t ** 2 / 10)
              + 2 * t / (1 + t ** 2) - t / s * mpmath.cos(3 * t) + 3 * s * mpmath.sin(3 * t))
        return f, df


def test_w3_at_3000_points_against_mpmath_few_left_uncertified():
    xs = np.random.default_rng(22).uniform(-5, 5, 3000)
    f = gc.parse(W3)
    report = Refinement()
    fv, dv = f.derivatives("x", 1, at={"x": xs}, report=report)
    left = set(report.uncertified)
    for p in range(0, 3000, 7):          # every 7th point: mpmath is slow
        exact = _w3_exact(float(xs[p]))
        for k, y in enumerate((fv[p], dv[p])):
            if (p, k) not in left:
                assert abs(mpmath.mpf(float(y)) - exact[k]) <= 1e-13 * abs(exact[k]), (xs[p], k)
    # the ball checks see only what the bound cannot vouch for; before it, every point
    # but the 256 checked (and one in 4,000 further) was reported
    order1 = {p for p, k in left if k == 1}
    assert len(order1) < 0.03 * len(xs)
    assert len({p for p, _ in left}) < 0.1 * len(xs)
    assert report.checked < 60


def test_certified_prints_the_same_bits_as_fast_where_nothing_was_replaced():
    xs = np.random.default_rng(5).uniform(-5, 5, 5000)
    f = gc.parse(W3)
    report = Refinement()
    certified = np.array(f.derivatives("x", 1, at={"x": xs}, report=report))
    fast = np.array(f.derivatives("x", 1, at={"x": xs}, fast=True))
    differ = np.flatnonzero((certified.view(np.uint64) != fast.view(np.uint64)).any(axis=0))
    assert set(differ.tolist()) <= {p for p, _ in report.replaced}


def test_beyond_bound_points_a_call_takes_the_screen_and_the_sampled_checks():
    """The cost rule (expression.py BOUND_POINTS, docs/taylor.md): one call of more points
    than that takes the Taylor pass and the budget's sampled checks, every point it does not
    check reported, never silent; up to it, the bound. Same numbers either way but where a
    check replaced one (both the Taylor pass's bits)."""
    from gradcli.expression import BOUND_POINTS

    xs = np.random.default_rng(16).uniform(-5, 5, BOUND_POINTS + 1)
    f = gc.parse(W3)
    big, small = Refinement(), Refinement()
    wide = np.array(f.derivatives("x", 1, at={"x": xs}, report=big))
    within = np.array(f.derivatives("x", 1, at={"x": xs[:BOUND_POINTS]}, report=small))
    assert big.vouched == 0 and small.vouched > 0.9 * BOUND_POINTS
    left = {p for p, _ in big.uncertified}
    assert big.checked + len(left) >= len(xs) and big.checked < 300
    assert len({p for p, _ in small.uncertified}) < 0.1 * BOUND_POINTS
    same = (wide[:, :BOUND_POINTS].view(np.uint64) == within.view(np.uint64)).all(axis=0)
    assert set(np.flatnonzero(~same).tolist()) <= {p for p, _ in big.replaced + small.replaced}
    assert stdin_slice() <= BOUND_POINTS   # a stream's slices keep the bound


def stdin_slice() -> int:
    from gradcli.cli.inputs import STDIN_BATCH_LINES

    return STDIN_BATCH_LINES


MONOTONE = "sqrt(1+x**2)*exp(x/4)+atan(x)+log(1+x)"   # f, f' > 0 for x > 0: no cancellation


def test_a_stream_where_the_bound_vouches_for_everything_never_loads_flint():
    """A first derivative the bound certifies at every point: no warning, and python-flint
    is not imported (its import alone costs about 20 ms)."""
    code = ("import sys\n"
            "from gradcli.cli import main\n"
            f"sys.argv = ['gradcli', 'diff', {MONOTONE!r}, '--at', '-']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write('flint loaded: %s\\n' % ('flint' in sys.modules))\n")
    points = "".join(f"{0.05 * i + 0.01!r}\n" for i in range(400))
    run = subprocess.run([sys.executable, "-c", code], input=points, capture_output=True,
                         text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}, timeout=120)
    assert run.stderr == "flint loaded: False\n", run.stderr
    lines = run.stdout.split()
    assert len(lines) == 400
    f = gc.parse(MONOTONE)
    for i in (0, 123, 399):
        x = 0.05 * i + 0.01
        with mpmath.workdps(40):
            t = mpmath.mpf(x)
            exact = mpmath.diff(lambda s: mpmath.sqrt(1 + s ** 2) * mpmath.exp(s / 4)
                                + mpmath.atan(s) + mpmath.log(1 + s), t)
        assert abs(mpmath.mpf(float(lines[i])) - exact) <= 1e-13 * abs(exact)
        assert float(lines[i]) == f.derivatives("x", 1, at=x, fast=True)[1]


def test_one_point_of_a_transcendental_expression_needs_no_ball_check():
    report = Refinement()
    d = gc.parse("sin(x)*exp(x)").derivatives("x", 1, at=0.3, report=report)
    assert report.checked == 0 and not report.uncertified
    exact = math.exp(0.3) * (math.sin(0.3) + math.cos(0.3))
    assert abs(d[1] - exact) <= 1e-15 * abs(exact)


def test_a_point_where_the_bound_cannot_vouch_is_checked_in_balls():
    """sin(x) next to pi: the value cancels in float64 terms only relative to the bound's
    absolute libm term; the ball check decides (and the number is right)."""
    x = 3.141592653589793
    report = Refinement()
    v, d = gc.parse("sin(x)-x+x").derivatives("x", 1, at=[x, 1.0], report=report)
    assert report.checked >= 1
    with mpmath.workdps(40):
        exact = mpmath.sin(mpmath.mpf(x)) - mpmath.mpf(x) + mpmath.mpf(x)
    assert (0, 0) in report.uncertified or abs(v[0] - exact) <= 1e-13 * abs(exact)


LIBM = [(np.sin, "sin"), (np.cos, "cos"), (np.exp, "exp"), (np.log, "log"),
        (np.expm1, "expm1"), (np.log1p, "log1p"), (np.arctan, "atan")]
DTYPES = [np.float64] + ([np.longdouble] if bounds.LONG is not None else [])


def _ulp(y):
    """The spacing of floats at y (np.spacing gives nan for some long doubles)."""
    _, e = np.frexp(y)
    return np.ldexp(type(y)(1), int(e) - (np.finfo(type(y)).nmant + 1))


@pytest.mark.parametrize("dtype", DTYPES, ids=[d.__name__ for d in DTYPES])
@pytest.mark.parametrize("function,name", LIBM, ids=[n for _, n in LIBM])
def test_numpy_functions_are_within_the_error_models_ulps(function, name, dtype):
    """The assumption the bound rests on: numpy's float64 functions within LIBM_ULPS ulps of
    the exact result (measured here at most 0.66 ulps; glibc documents 1-2, numpy's AVX-512
    code 4), over wide arguments and next to the zeros of sin and cos."""
    rng = np.random.default_rng(len(name))
    if name in ("sin", "cos"):
        xs = np.concatenate([rng.uniform(-10, 10, 1500), rng.uniform(-1e6, 1e6, 500),
                             math.pi / 2 * rng.integers(-2000, 2000, 500)
                             + rng.normal(0, 1e-9, 500)])
    elif name == "exp":
        xs = rng.uniform(-700, 700, 2000)
    elif name == "expm1":
        xs = np.concatenate([rng.uniform(-30, 30, 1500), rng.normal(0, 1e-6, 500)])
    elif name == "log":
        xs = np.concatenate([np.exp(rng.uniform(-700, 700, 1500)), 1 + rng.normal(0, 1e-6, 500)])
    elif name == "log1p":
        xs = np.concatenate([rng.uniform(-0.99, 50, 1500), rng.normal(0, 1e-6, 500)])
    else:
        xs = np.concatenate([rng.uniform(-50, 50, 1500), rng.normal(0, 1e-6, 500)])
    xs = xs.astype(dtype)
    ys = function(xs)
    worst = 0.0
    with flint.ctx.workprec(200):
        for x, y in zip(xs, ys):
            exact = getattr(_arb(x), name)()
            err = (exact - _arb(y)).abs_upper() / _arb(_ulp(y))
            worst = max(worst, float(err))
    assert worst <= bounds.LIBM_ULPS, worst


def test_ops_without_a_rule_leave_the_batch_to_the_taylor_pass():
    f = gc.parse("tanh(x)+sin(x)")
    assert not bounds.supported(f.nodes)
    report = Refinement()
    f.derivatives("x", 1, at=np.linspace(0.1, 1, 10), report=report)
    assert report.checked == 10          # every point checked in balls, as before


@pytest.mark.parametrize("text", ["sin(x*y)+exp(y)/x", "log(1+x**2*y**2)-sqrt(y+x**2)*cos(x)",
                                  "atan(x-y)*y**-2+expm1(x*y)"])
def test_other_variables_are_held_at_their_values(text):
    """Along x with y held: the bound against 200-bit balls, vouched entries within 1e-13
    and the Taylor pass's bits."""
    rng = np.random.default_rng(len(text))
    xs, ys = rng.uniform(0.2, 3, 40), rng.uniform(0.2, 3, 40)
    nodes = gc.parse(text).nodes
    flat = {"x": xs, "y": ys}
    with np.errstate(all="ignore"):
        out, vouched = bounds.derivatives(nodes, "x", flat, 1)
        taylor = taylor_derivatives(nodes, "x", flat, 1)
    assert vouched.mean() > 0.9
    assert (out.view(np.uint64) == taylor.view(np.uint64))[:, bounds.plain(out)].all()
    for p in range(len(xs)):
        cs, _ = ball.coefficient_balls(nodes, "x", {"x": float(xs[p]), "y": float(ys[p])}, 1,
                                       200, 1200)
        for k in (0, 1):
            if vouched[k, p]:
                assert _within(float(out[k, p]), cs[k], 1e-13 * abs(float(out[k, p])))


def test_a_graph_without_variables_whose_value_overflows_is_answered():
    """The Taylor pass's numbers for the points the bound leaves out of a graph without
    variables come back as one column (CI's fuzz found exp(710): an internal error)."""
    import gradcli as gc
    from gradcli.cli import cli
    from click.testing import CliRunner

    e = gc.parse("exp(710)+0*x")
    got = e.derivatives("x", 1, at={"x": np.array([1.0, 2.0, 3.0])})
    assert np.array_equal(got, [[np.inf] * 3, [0.0] * 3])
    result = CliRunner().invoke(cli, ["diff", "--", "(exp(710))", "--order", "1",
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"derivatives": ["inf", 0.0]' in result.stdout
    assert "beyond the float64 range" in result.stderr
