"""The functions SPEC 6.2 adds, against mpmath (40 digits): orders 0..10 from the Taylor engine,
gradients and Hessians from the tape and from the compiled program, all to 1e-13 relative,
over each function's domain and at its awkward points (gamma at and near its poles, sinc at
0, mod at its jumps and with negative operands, clip at its edges, the rounding functions at
their jumps).
"""
from __future__ import annotations

import math
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcli as gc
from gradcli.compiled.program import compile_expression


@pytest.fixture(autouse=True, scope="module")
def _forty_digits():
    """mpmath at 40 digits for these tests only (the global precision is every module's)."""
    with mp.workdps(40):
        yield


REL = 1e-13
ORDER = 10


def _log_abs_gamma(x):
    return mp.log(abs(mp.gamma(x)))


def _erf_derivative(sign):
    """erf^(k)(x) = (-1)**(k-1) 2/sqrt(pi) H_{k-1}(x) exp(-x**2) (Hermite; erfc: the negative).
    Closed forms where mpmath's numerical taylor loses values below ~1e-40 (the tails)."""
    return lambda x, k: sign * (-1) ** (k - 1) * 2 / mp.sqrt(mp.pi) * mp.hermite(k - 1, x) \
        * mp.exp(-x * x)


def _gamma_derivative(x, k):
    """gamma^(k) from gamma' = gamma psi: g_m = sum_j C(m-1, j) g_j psi^(m-1-j) (Leibniz)."""
    if _GAMMA_DERIVATIVES.get("x") != x:
        psi = [mp.psi(n, x) for n in range(ORDER)]
        g = [mp.gamma(x)]
        for m in range(1, ORDER + 1):
            g.append(sum(mp.binomial(m - 1, j) * g[j] * psi[m - 1 - j] for j in range(m)))
        _GAMMA_DERIVATIVES.update(x=x, g=g)
    return _GAMMA_DERIVATIVES["g"][k]


_GAMMA_DERIVATIVES: dict = {}   # the last point's orders 0..ORDER (asked for one by one)


# function -> (mpmath function, exact k-th derivative or None (then mpmath's taylor), domains):
# the tails (erfc to 1e-300, gamma to 1e-263 and 1e284, lgamma to 1e15) and every branch
# (sec, csc, cot beyond the first period)
REFERENCE = {
    "erf": (mp.erf, _erf_derivative(1), [(-5.0, 5.0), (-25.0, 25.0)]),
    "erfc": (mp.erfc, _erf_derivative(-1), [(-5.0, 9.0), (-6.0, 26.0)]),
    "gamma": (mp.gamma, _gamma_derivative, [(0.05, 10.0), (-4.95, -4.05), (-0.95, -0.05),
                                            (10.0, 160.0), (-10.9, -10.1), (-150.9, -150.1)]),
    "lgamma": (_log_abs_gamma, lambda x, k: mp.psi(k - 1, x),
               [(0.05, 10.0), (-3.95, -3.05), (10.0, 1e15), (-100.9, -100.1)]),
    "digamma": (mp.digamma, lambda x, k: mp.psi(k, x),
                [(0.05, 10.0), (-2.95, -2.05), (10.0, 1e6), (-50.9, -50.1), (1e-6, 1e-3)]),
    "sinc": (mp.sinc, None, [(-20.0, 20.0), (-1.0, 1.0), (-200.0, 200.0)]),
    "sec": (mp.sec, None, [(-1.4, 1.4), (1.7, 4.5), (-20.0, -19.0)]),
    "csc": (mp.csc, None, [(0.1, 3.0), (-3.0, -0.1), (3.3, 6.0)]),
    "cot": (mp.cot, None, [(0.1, 3.0), (-3.0, -0.1), (3.3, 6.0)]),
    "exp2": (lambda x: mp.mpf(2) ** x, lambda x, k: mp.mpf(2) ** x * mp.log(2) ** k,
             [(-10.0, 10.0), (-1000.0, 1000.0)]),
    "square": (lambda x: x ** 2, lambda x, k: [2 * x, mp.mpf(2)][k - 1] if k <= 2 else mp.mpf(0),
               [(-10.0, 10.0)]),
}


def _grid(lo, hi, n=17):
    return np.linspace(lo, hi, n) + (hi - lo) * 0.00731   # off the round numbers


def reference_derivatives(name, x, order):
    f, exact, _ = REFERENCE[name]
    x = mp.mpf(float(x))
    if exact is not None:
        return [f(x)] + [exact(x, k) for k in range(1, order + 1)]
    coefficients = mp.taylor(f, x, order)
    return [c * mp.factorial(k) for k, c in enumerate(coefficients)]


def assert_close(got, want, what):
    want = float(want)
    assert math.isfinite(got), what
    assert abs(got - want) <= REL * abs(want) + 1e-300, f"{what}: {got!r} != {want!r}"


@pytest.mark.slow
def test_the_closed_forms_are_mpmaths_taylor_where_it_has_the_digits():
    """The oracles themselves: Hermite's and Leibniz's forms against mpmath's taylor."""
    for name, x in [("erf", 0.7), ("erf", -2.2), ("erfc", 1.9), ("gamma", 2.6), ("gamma", -3.4),
                    ("exp2", -3.3)]:
        f, exact, _ = REFERENCE[name]
        want = mp.taylor(f, mp.mpf(x), ORDER)
        for k in range(1, ORDER + 1):
            assert abs(exact(mp.mpf(x), k) - want[k] * mp.factorial(k)) <= \
                mp.mpf(10) ** -30 * abs(want[k] * mp.factorial(k)), (name, x, k)


CASES = [(name, lo, hi) for name, (_, _, domains) in REFERENCE.items() for lo, hi in domains]


@pytest.mark.slow
@pytest.mark.parametrize("name, lo, hi", CASES)
def test_taylor_orders_0_to_10_match_mpmath(name, lo, hi):
    xs = _grid(lo, hi)
    got = np.array(gc.parse(f"{name}(x)").derivatives("x", ORDER, {"x": xs}))
    for i, x in enumerate(xs):
        want = reference_derivatives(name, x, ORDER)
        for k in range(ORDER + 1):
            assert_close(got[k, i], want[k], f"{name}^({k})({x!r})")


@pytest.mark.slow
@pytest.mark.parametrize("name, lo, hi", CASES)
def test_tape_and_compiled_gradient_and_hessian_match_mpmath(name, lo, hi):
    xs = _grid(lo, hi, 9)
    expr = gc.parse(f"{name}(x)")
    program = compile_expression(expr)
    value, gradient = program.value_and_grad({"x": xs})
    hessian = program.hessian({"x": xs})
    tape_gradient = expr.gradient({"x": xs})
    tape_hessian = expr.hessian({"x": xs})
    for i, x in enumerate(xs):
        f0, f1, f2 = reference_derivatives(name, x, 2)
        assert_close(float(value[i]), f0, f"compiled {name}({x!r})")
        assert_close(float(gradient[i, 0]), f1, f"compiled {name}'({x!r})")
        assert_close(float(hessian[i, 0, 0]), f2, f"compiled {name}''({x!r})")
        assert_close(float(tape_gradient[i, 0]), f1, f"tape {name}'({x!r})")
        assert_close(float(tape_hessian[i, 0, 0]), f2, f"tape {name}''({x!r})")
        fv, fg = program.point_function()(np.array([x]))   # the one-point function on floats
        assert_close(float(fv), f0, f"one-point {name}({x!r})")
        assert_close(float(fg[0]), f1, f"one-point {name}'({x!r})")


@pytest.mark.parametrize("name", ["erf", "gamma", "digamma", "sinc", "cot"])
def test_nested_tapes_to_order_5_match_mpmath(name):
    _, _, domains = REFERENCE[name]
    lo, hi = domains[0]
    expr = gc.parse(f"{name}(x)")
    for x in _grid(lo, hi, 5):
        got = expr.derivatives("x", 5, {"x": x}, engine="tape")
        for k, w in enumerate(reference_derivatives(name, x, 5)):
            assert_close(float(got[k]), w, f"nested tapes {name}^({k})({x!r})")


@pytest.mark.slow
def test_composed_arguments_match_mpmath():
    """The coefficients composed with a non-linear argument (Horner in u - u_0)."""
    for text, f in [("gamma(x**2+1)", lambda t: mp.gamma(t ** 2 + 1)),
                    ("lgamma(sin(x)+2)", lambda t: _log_abs_gamma(mp.sin(t) + 2)),
                    ("digamma(exp(x))", lambda t: mp.digamma(mp.exp(t))),
                    ("sinc(x**2-x)", lambda t: mp.sinc(t ** 2 - t)),
                    ("erf(x**3)", lambda t: mp.erf(t ** 3))]:
        for x in (0.3, 1.1, -0.6):
            got = gc.parse(text).derivatives("x", 8, {"x": x})
            want = [c * mp.factorial(k) for k, c in enumerate(mp.taylor(f, mp.mpf(x), 8))]
            for k in range(9):
                assert_close(float(got[k]), want[k], f"{text} order {k} at {x}")


# -- gamma at and near its poles -------------------------------------------------------------
@pytest.mark.parametrize("pole", [0.0, -1.0, -2.0, -5.0])
@pytest.mark.parametrize("side", [1e-9, -1e-9, 1e-4, -1e-4])
def test_gamma_family_near_the_poles(pole, side):
    x = pole + side
    for name in ("gamma", "lgamma", "digamma"):
        got = gc.parse(f"{name}(x)").derivatives("x", 6, {"x": x})
        want = reference_derivatives(name, x, 6)
        for k in range(7):
            # gamma near a pole: the float64 point itself is x, so only rounding of the terms
            assert abs(float(got[k]) - float(want[k])) <= 1e-12 * abs(float(want[k])), \
                (name, x, k, got[k], want[k])


@pytest.mark.parametrize("pole", [0.0, -1.0, -2.0, -3.0, -7.0])
def test_values_and_gradients_near_the_poles_in_every_engine(pole):
    """digamma's value (scipy's psi is 1e-7 off at -1 + 1e-9) and the first derivatives of
    gamma and lgamma, which hold it, from evaluate, the tape, the compiled program and the
    one-point function, against mpmath."""
    for side in (1e-9, -1e-9, 1e-6, -1e-4, 0.3):
        x = pole + side
        psi = mp.digamma(mp.mpf(x))
        texts = {"digamma(x)": (psi, None), "lgamma(x)": (_log_abs_gamma(mp.mpf(x)), psi),
                 "gamma(x)": (mp.gamma(mp.mpf(x)), mp.gamma(mp.mpf(x)) * psi)}
        for text, (value, slope) in texts.items():
            expr = gc.parse(text)
            program = compile_expression(expr)
            one_point = program.point_function().floats([x])
            got = [("evaluate", expr.evaluate({"x": x}), value),
                   ("compiled", program.value({"x": np.array([x])})[0], value),
                   ("one-point", one_point[0], value)]
            if slope is not None:
                got += [("tape", expr.gradient({"x": x})[0], slope),
                        ("compiled gradient", program.value_and_grad({"x": np.array([x])})[1][0, 0],
                         slope), ("one-point gradient", one_point[1][0], slope)]
            for how, g, w in got:
                assert_close(float(g), w, f"{how} {text} at {x!r}")


def test_gamma_at_its_poles_is_nan_or_inf_and_named():
    expr = gc.parse("gamma(x)")
    values = expr.evaluate({"x": np.array([-1.0, -2.0, 0.0, -0.0])})
    assert math.isnan(values[0]) and math.isnan(values[1])     # two-sided: no sign (scipy)
    assert values[2] == math.inf and values[3] == -math.inf    # the one-sided limits at +-0
    from gradcli.nonfinite import nonfinite_origin
    assert nonfinite_origin(expr, {"x": -1.0}) == "gamma(-1.0) is nan at x=-1.0"
    assert math.isinf(gc.parse("lgamma(x)").evaluate({"x": -3.0}))
    assert np.isnan(gc.parse("digamma(x)").evaluate({"x": -3.0}))
    # at 0 the one-sided limits, as gamma's (mpmath: psi(0+) -> -inf), each flagged
    assert gc.parse("digamma(x)").evaluate({"x": np.array([0.0, -0.0])}).tolist() == \
        [-math.inf, math.inf]
    assert mp.digamma(mp.mpf("1e-30")) < -1e29 and mp.digamma(mp.mpf("-1e-30")) > 1e29
    assert nonfinite_origin(gc.parse("digamma(x)"), {"x": 0.0}) == \
        "digamma(0.0) is -inf at x=0.0"
    derivatives = expr.derivatives("x", 3, {"x": -2.0})
    assert all(not math.isfinite(float(d)) for d in derivatives)


def test_gamma_values_signs_and_the_negative_axis():
    xs = [-4.5, -3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 170.5]
    got = gc.parse("gamma(x)").evaluate({"x": np.array(xs)})
    for g, x in zip(got, xs):
        assert_close(float(g), mp.gamma(x), f"gamma({x})")


# -- sinc at 0 --------------------------------------------------------------------------------
def test_sinc_at_zero_has_its_exact_derivatives():
    """sinc^(2m)(0) = (-1)**m / (2m+1), odd orders 0: every engine, every order."""
    want = [0.0 if k % 2 else (-1) ** (k // 2) / (k + 1) for k in range(16)]
    got = gc.parse("sinc(x)").derivatives("x", 15, {"x": 0.0})
    np.testing.assert_allclose(np.array(got, dtype=float), want, rtol=4e-16, atol=0)
    expr = gc.parse("sinc(x)")
    assert expr.evaluate({"x": 0.0}) == 1.0
    assert expr.gradient({"x": 0.0})[0] == 0.0
    assert expr.hessian({"x": 0.0})[0, 0] == pytest.approx(-1 / 3, rel=1e-15)
    tape = expr.derivatives("x", 6, {"x": 0.0}, engine="tape")
    np.testing.assert_allclose(np.array(tape, dtype=float), want[:7], rtol=4e-16, atol=0)
    program = compile_expression(expr)
    value, gradient = program.value_and_grad({"x": np.array([0.0, -0.0])})
    assert value.tolist() == [1.0, 1.0] and gradient[:, 0].tolist() == [0.0, 0.0]
    assert program.hessian({"x": 0.0})[0, 0] == pytest.approx(-1 / 3, rel=1e-15)


@pytest.mark.parametrize("x", [1e-300, 1e-12, -3e-8, 1e-3, 0.999, 1.001, -1.0])
def test_sinc_near_zero_and_at_the_switch_of_methods(x):
    got = gc.parse("sinc(x)").derivatives("x", ORDER, {"x": x})
    for k, w in enumerate(reference_derivatives("sinc", x, ORDER)):
        if w != 0:
            assert_close(float(got[k]), w, f"sinc^({k})({x})")


# -- mod: Python's %, jumps, negative operands --------------------------------------------------
MOD_POINTS = [(7.0, 2.0), (-7.0, 2.0), (7.0, -2.0), (-7.0, -2.0), (7.5, 2.0), (-7.5, 2.0),
              (7.5, -2.0), (-7.5, -2.0), (4.0, 2.0), (-4.0, 2.0), (0.0, 3.0), (-1e-20, 1.0),
              (5.25, 0.5), (1e6 + 0.5, 3.0), (1.0, 0.1), (0.7, 0.1), (-1.0, 0.1), (6.0, 0.6)]


@pytest.mark.parametrize("x, y", MOD_POINTS)
def test_mod_is_pythons_percent_with_its_derivatives(x, y):
    expr = gc.parse("mod(x, y)")
    value = expr.evaluate({"x": x, "y": y})
    assert value == x % y and math.copysign(1.0, value) == math.copysign(1.0, x % y)
    q = x // y   # the value's own quotient: x % y = x - q*y exactly (1 // 0.1 is 9, 1/0.1 is 10)
    assert q == math.floor(Fraction(x) / Fraction(y))                 # the exact floor(x/y)
    assert expr.gradient({"x": x, "y": y}).tolist() == [1.0, -q]       # at the jumps too
    assert expr.hessian({"x": x, "y": y}).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert [float(d) for d in expr.derivatives("x", 3, {"x": x, "y": y})] == [x % y, 1.0, 0.0, 0.0]
    assert [float(d) for d in expr.derivatives("y", 2, {"x": x, "y": y})] == [x % y, -q, 0.0]
    program = compile_expression(expr)
    v, g = program.value_and_grad({"x": np.array([x]), "y": np.array([y])})
    assert v.tolist() == [x % y] and g.tolist() == [[1.0, -q]]
    fv, fg = program.point_function()(np.array([x, y]))
    assert float(fv) == x % y and list(fg) == [1.0, -q]


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.sampled_from([0.1, 0.3, -0.7, 1.1, 2.0, 1e-3]), st.integers(-10 ** 6, 10 ** 6),
       st.sampled_from([0.0, 1e-16, -1e-16, 2e-16]))
def test_mods_derivative_is_the_exact_quotient_near_every_multiple(y, k, wobble):
    """d/dy mod(x, y) = -floor(x/y) with x/y exact (the value's quotient), in every engine,
    where the rounded x/y lands on the next integer (1 in 8 of these points)."""
    x = k * y * (1 + wobble)
    q = math.floor(Fraction(x) / Fraction(y))
    expr = gc.parse("mod(x, y)")
    point = {"x": x, "y": y}
    assert expr.gradient(point).tolist() == [1.0, -q]
    assert float(expr.derivatives("y", 1, point, fast=True)[1]) == -q
    assert float(expr.derivatives("y", 1, point, engine="tape")[1]) == -q
    program = compile_expression(expr)
    assert program.value_and_grad({"x": np.array([x]), "y": np.array([y])})[1].tolist() == \
        [[1.0, -q]]
    assert list(program.point_function()(np.array([x, y]))[1]) == [1.0, -q]


def test_mod_by_zero_is_nan_and_named():
    from gradcli.nonfinite import nonfinite_origin
    expr = gc.parse("mod(x, 0)")
    assert math.isnan(expr.evaluate({"x": 1.0}))
    assert nonfinite_origin(expr, {"x": 1.0}) == "mod(1.0, 0.0) is nan at x=1.0"


def test_mod_in_sympy_has_the_same_derivatives():
    import sympy as sp
    f = gc.parse("mod(x, y)").to_sympy()
    x, y = sorted(f.free_symbols, key=lambda s: s.name)
    assert sp.diff(f, x) == 1
    assert sp.diff(f, y).subs({x: -7, y: 2}) == 4   # -floor(-7/2)
    assert f.subs({x: -7, y: 2}) == 1 and f.subs({x: 7, y: -2}) == -1


# -- clip at its edges ------------------------------------------------------------------------
@pytest.mark.parametrize("x, want", [(-1.0, [0.0, 1.0, 0.0]), (0.0, [0.5, 0.5, 0.0]),
                                     (0.5, [1.0, 0.0, 0.0]), (1.0, [0.5, 0.0, 0.5]),
                                     (2.0, [0.0, 0.0, 1.0])])
def test_clip_passes_the_gradient_by_where_x_is(x, want):
    expr = gc.parse("clip(x, lo, hi)")
    point = {"x": x, "lo": 0.0, "hi": 1.0}
    order = ["hi", "lo", "x"]                      # variables sorted by name
    got = dict(zip(order, expr.gradient(point).tolist()))
    assert [got["x"], got["lo"], got["hi"]] == want
    assert expr.evaluate(point) == min(max(x, 0.0), 1.0)
    assert float(expr.derivatives("x", 1, point)[1]) == want[0]
    program = compile_expression(expr)
    _, g = program.value_and_grad({k: np.array([v]) for k, v in point.items()})
    assert dict(zip(order, g[0].tolist())) == got
    assert np.all(expr.hessian(point) == 0)


def test_clip_is_min_of_max_everywhere_with_its_ties_and_crossed_bounds():
    """clip(x, lo, hi) = min(max(x, lo), hi) in value and gradient at every tie, lo = hi
    included (x = lo = hi: 1/4 to x and lo, 1/2 to hi, SPEC 4's tie rule applied twice) and
    with lo > hi (hi wins, as numpy's clip), in the tape, the compiled program and the
    one-point function."""
    clip, composed = gc.parse("clip(x, lo, hi)"), gc.parse("min(max(x, lo), hi)")
    values = [-1.0, 0.0, 0.5, 1.0, 2.0]
    points = [{"x": x, "lo": lo, "hi": hi} for x in values for lo in values for hi in values]
    env = {k: np.array([p[k] for p in points]) for k in ("hi", "lo", "x")}
    assert clip.evaluate(env).tolist() == composed.evaluate(env).tolist() == \
        np.clip(env["x"], env["lo"], env["hi"]).tolist()
    want = composed.gradient(env)
    assert clip.gradient(env).tolist() == want.tolist()
    program = compile_expression(clip)
    assert program.value_and_grad(env)[1].tolist() == want.tolist()
    fg = program.point_function()
    for i, p in enumerate(points):
        assert list(fg(np.array([p["hi"], p["lo"], p["x"]]))[1]) == want[i].tolist(), p
    assert clip.gradient({"x": 1.0, "lo": 1.0, "hi": 1.0}).tolist() == [0.5, 0.25, 0.25]


def test_clip_with_constant_bounds_in_the_tape():
    x = gc.Variable(np.array([-2.0, 0.0, 0.3, 1.0, 4.0]))
    with gc.GradientTape() as tape:
        y = gc.clip(x, 0.0, 1.0)
    assert y.numpy().tolist() == [0.0, 0.0, 0.3, 1.0, 1.0]
    assert tape.gradient(y, x).numpy().tolist() == [0.0, 0.5, 1.0, 0.5, 0.0]


# -- the rounding functions: derivative 0 everywhere, their jumps included -------------------------
@pytest.mark.parametrize("name, python", [("floor", math.floor), ("ceil", math.ceil),
                                          ("round", round),
                                          ("heaviside", lambda v: 1 if v > 0 else (0 if v < 0 else 0.5)),
                                          ("sign", lambda v: (v > 0) - (v < 0))])
def test_rounding_values_and_zero_derivatives_at_jumps(name, python):
    xs = [-2.5, -2.0, -1.5, -0.5, -0.2, 0.0, 0.2, 0.5, 1.0, 1.5, 2.5, 3.7]
    expr = gc.parse(f"{name}(x)")
    values = expr.evaluate({"x": np.array(xs)})
    assert values.tolist() == [float(python(v)) for v in xs]
    for x in xs:
        assert [float(d) for d in expr.derivatives("x", 4, {"x": x})][1:] == [0.0] * 4
        assert expr.gradient({"x": x}).tolist() == [0.0]
        assert expr.hessian({"x": x}).tolist() == [[0.0]]
    program = compile_expression(gc.parse(f"{name}(x) * x"))
    _, g = program.value_and_grad({"x": np.array(xs)})
    assert g[:, 0].tolist() == [float(python(v)) for v in xs]


def test_round_is_half_to_even_with_numpys_signed_zeros():
    expr = gc.parse("round(x)")
    xs = [0.5, 1.5, 2.5, -0.5, -1.5, -0.4]
    got = expr.evaluate({"x": np.array(xs)})
    assert [repr(v) for v in got.tolist()] == ["0.0", "2.0", "2.0", "-0.0", "-2.0", "-0.0"]
    fv, _ = compile_expression(expr).point_function()(np.array([-0.4]))
    assert repr(float(fv)) == "-0.0"


def test_floor_in_sympy_differentiates_to_zero():
    import sympy as sp
    for text in ("floor(x)", "ceil(x)", "round(x)", "heaviside(x)"):
        f = gc.parse(text).to_sympy()
        (x,) = f.free_symbols
        assert sp.diff(f, x) == 0, text
    f = gc.parse("round(x)").to_sympy()
    (x,) = f.free_symbols
    assert [f.subs(x, v) for v in (sp.Rational(5, 2), sp.Rational(7, 2), sp.Rational(-1, 2))] == [2, 4, 0]


# -- the constants and the library -------------------------------------------------------------
def test_tau_is_two_pi_and_exact_in_sympy():
    import sympy as sp
    expr = gc.parse("tau*x")
    assert expr.variables == ["x"]
    assert expr.evaluate({"x": 1.0}) == 2 * math.pi
    assert expr.to_sympy().coeff(sp.Symbol("x", real=True)) == 2 * sp.pi


def test_library_functions_match_the_expression_language():
    x = gc.Variable(0.7)
    with gc.GradientTape() as tape:
        y = gc.erf(x) * gc.gamma(x) + gc.sinc(x) - gc.mod(x, 0.5) + gc.sec(x) + gc.exp2(x)
    (dy,) = tape.gradient(y, [x])
    expr = gc.parse("erf(x)*gamma(x) + sinc(x) - mod(x, 0.5) + sec(x) + exp2(x)")
    assert float(y.numpy()) == pytest.approx(float(expr.evaluate({"x": 0.7})), rel=1e-15)
    assert float(dy.numpy()) == pytest.approx(float(expr.gradient({"x": 0.7})[0]), rel=1e-14)


def test_ball_rules_agree_with_float64_at_awkward_points():
    from gradcli.taylor import ball as B
    for text, point in [("gamma(x)", -2.5), ("lgamma(x)", -0.5), ("digamma(x)", -1.25),
                        ("sinc(x)", 0.0), ("mod(x, 2)", -7.0), ("clip(x, 0, 1)", 1.0),
                        ("round(x)", 2.5), ("erfc(x)", 5.0), ("cot(x)", 0.3)]:
        expr = gc.parse(text)
        balls, _ = B.balls_at(expr.nodes, "x", {"x": point}, 6, 128)
        ours = expr.derivatives("x", 6, {"x": point})
        for k, (b, v) in enumerate(zip(balls, ours)):
            assert b.contains(0) and v == 0 or abs(float(b.mid()) - float(v)) <= 1e-13 * abs(v), \
                (text, point, k, b, v)
    with pytest.raises(B.OutOfDomain):
        B.balls_at(gc.parse("gamma(x)").nodes, "x", {"x": -3.0}, 2, 128)


# -- the ops only gradients build: their own Taylor rules --------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("n", [1, 2, 4])
def test_polygamma_and_sinc_derivative_taylor_rules_match_mpmath(n):
    from gradcli.registry import OPS
    for x0 in (0.4, 3.3, -1.7):
        u = np.array([[x0], [1.0], [0.0], [0.0], [0.0], [0.0]])          # x0 + t
        got = OPS["polygamma"].taylor(u, n=n)[:, 0]
        want = mp.taylor(lambda t: mp.psi(n, t), mp.mpf(x0), 5)
        for k in range(6):
            assert_close(float(got[k]), want[k], f"psi^({n}) coefficient {k} at {x0}")
        got = OPS["sinc_derivative"].taylor(u, n=n)[:, 0]
        want = mp.taylor(lambda t: mp.diff(mp.sinc, t, n), mp.mpf(x0), 5)
        for k in range(6):
            assert abs(float(got[k]) - float(want[k])) <= 1e-13 * max(abs(float(want[k])), 1e-3), \
                (n, x0, k, got[k], want[k])
        value = OPS["polygamma"].forward(np.array([x0]), n=n)[0]
        assert_close(float(value), mp.psi(n, x0), f"psi^({n})({x0})")
        value = OPS["sinc_derivative"].forward(np.array([x0]), n=n)[0]
        assert_close(float(value), mp.diff(mp.sinc, mp.mpf(x0), n), f"sinc^({n})({x0})")


# -- high orders: coefficients beyond the float64 range travel as mantissa and exponent ------
@pytest.mark.parametrize("text, x", [("sinc(x)", 3.0), ("sinc(x)", 0.5), ("gamma(x)", 2.5),
                                     ("digamma(x)", 1.3), ("lgamma(x)", 30.0),
                                     ("digamma(x)", -2.5), ("erf(x)", 0.7), ("sinc(x**2)", 1.5)])
@pytest.mark.slow
def test_orders_to_400_match_ball_arithmetic_or_overflow_with_it(text, x):
    """Orders 100..400 (1/k! underflows past 170; r**k and zeta(k, x) leave the range)."""
    from gradcli.taylor import ball as B
    expr = gc.parse(text)
    ours = expr.derivatives("x", 400, {"x": x}, fast=True)
    balls, _ = B.balls_at(expr.nodes, "x", {"x": x}, 400, 4096)
    for k in (100, 170, 171, 250, 399, 400):
        want = float(balls[k].mid())
        got = float(ours[k])
        if math.isinf(want):
            assert got == want, (text, k, got, want)
        else:
            assert abs(got - want) <= 2e-13 * abs(want), (text, k, got, want)


# -- identities at random points (hypothesis): every order of each side agrees -------------
IDENTITIES = [
    # (left, right, domain): both sides' derivatives of orders 0..6 agree
    ("lgamma(x+1)", "lgamma(x) + log(x)", (0.05, 20.0)),
    ("gamma(x+1)", "x*gamma(x)", (-4.9, 6.0)),
    ("digamma(x+1)", "digamma(x) + 1/x", (-4.9, 20.0)),
    ("digamma(1-x) - digamma(x)", "pi*cot(pi*x)", (0.05, 0.95)),
    ("sinc(x)*x", "sin(x)", (-30.0, 30.0)),
    ("erf(x) + erfc(x)", "1 + 0*x", (-6.0, 6.0)),
    ("sec(x)*cos(x) + csc(x)*sin(x)", "2 + 0*x", (0.1, 1.4)),
    ("exp2(x)", "exp(x*log(2))", (-20.0, 20.0)),
    ("mod(x, 1.5) + 1.5*floor(x/1.5)", "x", (-50.0, 50.0)),
    ("clip(x, -1, 1)", "max(min(x, 1), -1)", (-3.0, 3.0)),
]


@pytest.mark.slow
@pytest.mark.parametrize("left, right, domain", IDENTITIES)
def test_identities_hold_at_every_order(left, right, domain):
    f, g = gc.parse(left), gc.parse(right)

    @settings(max_examples=25, deadline=None, derandomize=True)
    @given(st.floats(*domain))
    def check(x):
        if "gamma" in left and abs(x - round(x)) < 1e-3 and x < 0.5:
            return  # next to a pole both sides are huge: relative rounding of x shows
        a = np.array(f.derivatives("x", 6, {"x": x}), dtype=float)
        b = np.array(g.derivatives("x", 6, {"x": x}), dtype=float)
        scale = np.maximum(np.abs(a), np.abs(b)).max()
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12 * scale, err_msg=f"x={x!r}")

    check()
