"""gradcli.check.verify.check, its references (gradcli/reference.py) and finite differences.

The checker is itself checked: it agrees on random smooth expressions, and it fails when an
op's derivative rule is deliberately broken (a checker that cannot fail is a defect).
"""
import dataclasses
import math
import os
import time

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcli
from gradcli.check import finite_difference, reference
from gradcli.errors import GradcliError
from gradcli.registry import OPS
from gradcli.check.verify import check as _check, run_check as _run_check

from .strategies import smooth_expressions


def check(*args, **kwargs):
    """These tests are about the SymPy/mpmath reference (SPEC 2): check with
    reference="sympy"; the default reference, ball arithmetic, is tested in test_digits.py."""
    kwargs.setdefault("reference", "sympy")
    return _check(*args, **kwargs)


def run_check(*args, **kwargs):
    kwargs.setdefault("reference", "sympy")
    return _run_check(*args, **kwargs)

SPEC_FIELDS = ["expr", "point", "wrt", "order", "gradcli", "sympy", "finite_difference",
               "max_rel_error", "ok", "interrupted", "reference"]
POLY = "x**4+2*x**3-3*x**2+4*x-5"


# -- finite differences ---------------------------------------------------------------------
@pytest.mark.parametrize("k", range(1, 6))
def test_central_difference_stencil_is_exact_for_x_to_the_k(k):
    """D_k(h) of x**k is k! for every step (the stencil's weights and offsets are right)."""
    offsets, weights = finite_difference.stencil(k)
    for h in (0.5, 0.1):
        assert (weights * (0.3 + offsets * h) ** k).sum() / h ** k == pytest.approx(
            math.factorial(k), rel=1e-9)


@pytest.mark.parametrize("name, f, exact, x", [
    ("exp at 0.5", np.exp, lambda k, x: math.exp(x), 0.5),            # every order e**x
    ("sin at 1", np.sin, lambda k, x: math.sin(x + k * math.pi / 2), 1.0),
    ("1/x at 4", lambda x: 1 / x,                                       # (-1)**k k! / x**(k+1)
     lambda k, x: (-1) ** k * math.factorial(k) / x ** (k + 1), 4.0),
])
def test_finite_differences_are_within_their_error_estimate(name, f, exact, x):
    for k, (value, error) in enumerate(finite_difference.derivatives(f, x, 6)):
        truth = exact(k, x)
        assert abs(value - truth) <= error + 1e-15 * abs(truth), (name, k)
        assert error <= 1e-4 * max(1.0, abs(truth)), (name, k)   # and the estimate is useful


def test_richardson_removes_the_h_squared_term():
    """D(h) = 1 + h**2 + h**4 exactly: two extrapolations leave 1."""
    steps = [0.4 / 2 ** i for i in range(4)]
    value, error = finite_difference.richardson([1 + h ** 2 + h ** 4 for h in steps])
    assert value == pytest.approx(1.0, abs=1e-14) and error < 1e-12


def test_the_stencil_at_the_finite_difference_order_cap_is_exact_for_x_to_the_k():
    k = finite_difference.MAX_ORDER  # C(20, 10) = 184756: exact in float64
    offsets, weights = finite_difference.stencil(k)
    assert weights.tolist() == [(-1) ** j * math.comb(k, j) for j in range(k + 1)]
    assert (weights * (0.3 + offsets * 0.5) ** k).sum() / 0.5 ** k == pytest.approx(
        math.factorial(k), rel=1e-6)


@pytest.mark.parametrize("k", [finite_difference.MAX_ORDER + 1, 1030, 2000])
def test_finite_differences_above_the_cap_are_nan_not_an_error(k):
    value, error = finite_difference.derivative(np.exp, 0.5, k)
    assert math.isnan(value) and math.isnan(error)


def test_a_check_above_the_finite_difference_cap_gives_nan_there_and_still_compares():
    result = run_check("x**3", 1, order=finite_difference.MAX_ORDER + 2)
    fd = result.finite_difference
    assert fd[:4] == pytest.approx([1.0, 3.0, 6.0, 6.0], rel=1e-6)
    assert all(math.isnan(v) for v in fd[finite_difference.MAX_ORDER + 1:])
    assert not math.isnan(fd[finite_difference.MAX_ORDER])
    assert result.ok and result.reference[-1] == 0.0 and len(result.compared) == 23


# -- the record -------------------------------------------------------------------------------
def test_spec_polynomial_record_at_zero():
    record = check(POLY, 0, order=5)
    assert list(record) == SPEC_FIELDS
    assert record["expr"] == POLY and record["point"] == {"x": 0.0}
    assert record["wrt"] == "x" and record["order"] == 5
    assert record["gradcli"] == [-5.0, 4.0, -6.0, 12.0, 24.0, 0.0]
    assert record["sympy"] == [-5.0, 4.0, -6.0, 12.0, 24.0, 0.0]
    assert record["finite_difference"] == pytest.approx([-5, 4, -6, 12, 24, 0], abs=1e-5)
    assert record["max_rel_error"] == 0.0 and record["ok"] is True
    assert record["reference"] == ["sympy"] * 6


def test_symbolic_adds_sympy_formula_per_order():
    record = check("x**3*y", {"x": 2, "y": 5}, order=3, wrt="x", symbolic=True)
    assert list(record) == SPEC_FIELDS + ["symbolic"]
    assert record["symbolic"] == ["5*x**3", "15*x**2", "30*x", "30"]   # y=5 substituted first
    assert record["sympy"] == [40.0, 60.0, 60.0, 30.0]


def test_constant_exponent_is_substituted_before_sympy_differentiates():
    """diff(x**y, x) substituted at x=0, y=2 is nan; with y=2 first, SymPy gives 0 and 2."""
    record = check("x**y", {"x": 0, "y": 2}, order=2, wrt="x", symbolic=True)
    assert record["sympy"] == [0.0, 0.0, 2.0] and record["symbolic"] == ["x**2", "2*x", "2"]


def test_reference_is_thirty_digits():
    f, symbol, at = reference.sympy_expression(gradcli.parse("exp(x)"), "x", {"x": 1.0})
    [value], failure = reference.sympy_derivatives(f, symbol, at, 0, timeout=10)
    assert failure is None
    assert value.text == "2.71828182845904523536028747135"   # e to 30 significant digits
    assert value.value == math.e and value.method == "sympy"


def test_singular_reference_is_reported_not_a_mismatch():
    """sqrt'(0): SymPy's zoo is singular; gradcli's inf (SPEC 4) is not compared."""
    result = run_check("sqrt(x)", 0, order=1)
    assert result.status == ["ok", "singular"]
    assert result.references[1].text == "zoo" and result.references[1].singular
    record = result.record()
    assert record["gradcli"] == [0.0, math.inf] and math.isnan(record["sympy"][1])
    assert record["ok"] is True and record["max_rel_error"] == 0.0


def test_no_order_compared_gives_nan_max_rel_error():
    record = check("1/x", 0, order=1)
    assert record["ok"] is True and math.isnan(record["max_rel_error"])


def test_reference_beyond_float64_agrees_only_with_infinity():
    """exp(800) is finite (SymPy: 2.7e347) but beyond float64: gradcli's inf agrees."""
    result = run_check("exp(x)", 800, order=1)
    assert result.status == ["ok", "ok"] and result.references[0].text.endswith("e+347")
    assert result.gradcli == [math.inf, math.inf]


def test_mismatch_beyond_tolerance_fails():
    """rtol=atol=0: the last-bit difference from the 30-digit value is a mismatch."""
    loose = run_check("exp(sin(x))/(1+x**2)", 0.7, order=4)
    strict = run_check("exp(sin(x))/(1+x**2)", 0.7, order=4, rtol=0, atol=0)
    assert loose.ok and 0 < loose.max_rel_error < 1e-13
    assert not strict.ok and strict.record()["ok"] is False
    assert strict.mismatches == [k for k, e in enumerate(strict.relative_error) if e > 0]


def test_compare_rules():
    ref = reference.Reference
    assert check_compare(1.0, ref(1.0 + 1e-10, "sympy", "")) == "ok"
    assert check_compare(1.0, ref(1.0 + 1e-8, "sympy", "")) == "mismatch"
    assert check_compare(1e-13, ref(0.0, "sympy", "")) == "ok"          # atol near 0
    assert check_compare(math.nan, ref(2.0, "sympy", "")) == "mismatch"  # nan never agrees
    assert check_compare(math.inf, ref(2.0, "sympy", "")) == "mismatch"
    assert check_compare(-math.inf, ref(math.inf, "sympy", "1e400")) == "mismatch"
    assert check_compare(5.0, ref(math.nan, "sympy", "zoo", True)) == "singular"


def check_compare(value, ref):
    from gradcli.check.verify import compare

    return compare(value, ref, 1e-9, 1e-12)[0]


@settings(max_examples=20, deadline=None)
@given(smooth_expressions(max_leaves=4), st.floats(-2, 2))
@pytest.mark.slow
def test_check_agrees_on_smooth_expressions_orders_0_to_4(text, x):
    expression = gradcli.parse(text)
    record = check(expression, {"x": x} if expression.variables else None, order=4)
    assert record["ok"] is True, record
    # SymPy's own, or mpmath's where SymPy leaves a derivative unevaluated (cbrt's
    # sign(u)*|u|**(1/3) form: Derivative(sign(...)) for a symbol not declared real)
    assert record["reference"][0] == "sympy"
    assert set(record["reference"]) <= {"sympy", "mpmath"}, record


# -- a broken rule must fail the check ---------------------------------------------------------
def _scaled_tail(series, factor):
    """A Taylor series with every coefficient of order >= 1 multiplied by factor."""
    if isinstance(series, np.ndarray):
        out = np.array(series, dtype=series.dtype, copy=True)
        out[1:] = out[1:] * factor
        return out
    if isinstance(series, list | tuple):
        return type(series)([series[0], *(c * factor for c in series[1:])])
    raise TypeError(f"unknown Taylor series type {type(series).__name__}: teach this test")


def broken(name, factor=1.001):
    """Op ``name`` with its derivative rules (grad and, if any, taylor) off by ``factor``."""
    spec = OPS[name]

    def grad(g, ans, *inputs, **attrs):
        return tuple(None if d is None else d * factor
                     for d in spec.grad(g, ans, *inputs, **attrs))

    taylor = None
    if spec.taylor is not None:
        def taylor(*series, **attrs):
            return _scaled_tail(spec.taylor(*series, **attrs), factor)
    ball = None
    if spec.ball is not None:   # the refinement's ball rule too, or it would mend the break
        def ball(*series, **attrs):
            from flint import arb_series

            cs = spec.ball(*series, **attrs).coeffs()
            return arb_series(cs[:1] + [c * factor for c in cs[1:]])
    return dataclasses.replace(spec, grad=grad, taylor=taylor, ball=ball)


@pytest.mark.parametrize("name, text, at", [("sin", "sin(x)*x", 0.5),
                                            ("powi", "x**2+x", 1.5),
                                            ("exp", "exp(x)*y", {"x": 0.3, "y": 2.0})])
def test_broken_derivative_rule_fails_the_check(monkeypatch, name, text, at):
    expression = gradcli.parse(text)
    wrt = "x"
    good = run_check(expression, at, order=3, wrt=wrt)
    assert good.ok
    monkeypatch.setitem(OPS, name, broken(name))
    point = at if isinstance(at, dict) else {"x": at}
    ours = expression.derivatives(wrt, 3, at=point)
    # the break reaches the engine `derivatives` uses, or this test would prove nothing
    assert abs(float(ours[1]) - good.gradcli[1]) > 1e-6 * abs(good.gradcli[1])
    assert float(ours[0]) == good.gradcli[0]           # the value is untouched
    bad = run_check(expression, at, order=3, wrt=wrt)
    assert not bad.ok and bad.record()["ok"] is False
    assert bad.status[0] == "ok" and 1 in bad.mismatches
    assert bad.reference == good.reference              # the reference does not use the rules


# -- the time budget --------------------------------------------------------------------------
def test_timeout_hands_the_remaining_orders_to_mpmath():
    """SymPy needs about 7 s for order 8 of tanh(tanh(tanh(x))); with 0.3 s, mpmath takes
    over, the numbers still agree, and the run does not wait for SymPy."""
    start = time.monotonic()
    record = check("tanh(tanh(tanh(x)))", 0.7, order=8, timeout=0.3)
    elapsed = time.monotonic() - start
    methods = record["reference"]
    assert methods[-1] == "mpmath"
    assert methods == sorted(methods, key=["sympy", "mpmath"].index)  # sympy first, then mpmath
    assert record["ok"] is True and record["max_rel_error"] < 1e-12
    assert elapsed < 5.0  # well short of SymPy's 7 s, with room for a busy machine
    with pytest.raises(ChildProcessError):  # the SymPy worker is gone (killed and reaped)
        os.waitpid(-1, os.WNOHANG)


def _mpmath_only(monkeypatch):
    """SymPy gives nothing (as if out of time at once): mpmath is the reference of every order."""
    monkeypatch.setattr(reference, "sympy_derivatives", lambda *args, **kwargs: ([], None))


def test_mpmath_alone_gives_every_order(monkeypatch):
    exact = run_check("exp(sin(x))/(1+x**2)", 0.7, order=4)
    _mpmath_only(monkeypatch)
    result = run_check("exp(sin(x))/(1+x**2)", 0.7, order=4)
    assert result.methods == ["mpmath"] * 5 and result.ok
    assert result.reference == pytest.approx(exact.reference, rel=1e-14)


def test_timeout_zero_computes_no_reference_and_checks_nothing():
    result = run_check("exp(sin(x))/(1+x**2)", 0.7, order=2, timeout=0)
    assert result.methods == ["none"] * 3 and result.status == ["unchecked"] * 3
    assert result.unchecked == [0, 1, 2] and result.compared == [] and result.ok
    assert all(r.text == "not computed" and r.why == "timeout" for r in result.references)
    record = result.record()
    assert all(math.isnan(v) for v in record["sympy"]) and math.isnan(record["max_rel_error"])


DEEP_SIN = "sin(" * 200 + "x" + ")" * 200  # SymPy: ~8 s to order 1; mpmath: >60 s to 100


@pytest.mark.slow
def test_the_references_keep_the_budget_when_mpmath_too_runs_out_of_time():
    """SymPy has 3/4 of the budget, mpmath the rest, in a worker killed at the end: orders
    neither finished have no reference (unchecked), and no worker is left behind."""
    start = time.monotonic()
    result = run_check(DEEP_SIN, 1.0, order=100, timeout=1.0)
    elapsed = time.monotonic() - start
    assert elapsed < 1.0 + 0.6, elapsed  # + gradcli's own derivatives and a fork or two
    methods = result.methods
    assert methods == sorted(methods, key=["sympy", "mpmath", "none"].index)
    assert methods[-1] == "none" and result.unchecked == list(range(methods.index("none"), 101))
    assert result.ok and all(result.status[k] == "ok" for k in result.compared)
    with pytest.raises(ChildProcessError):  # both workers are gone (killed and reaped)
        os.waitpid(-1, os.WNOHANG)


def test_mpmath_stops_at_its_deadline_in_process_without_fork(monkeypatch):
    f, symbol, at = reference.sympy_expression(gradcli.parse("sin(x)"), "x", {"x": 0.5})
    monkeypatch.delattr(os, "fork")
    refs, failure = reference.mpmath_within(f, symbol, at, range(0, 400), timeout=0.05)
    assert failure is None and 0 < len(refs) < 400  # a batch or a few, not order 399
    assert float(refs[1].text) == pytest.approx(math.cos(0.5), rel=1e-15)


def test_mpmath_in_batches_agrees_with_the_exact_derivatives_to_thirty_digits():
    """Orders 1..8, then up to 16, then 20: each batch at the precision its top order needs;
    (1/(2+x))^(k) = (-1)**k k! / (2+x)**(k+1)."""
    f, symbol, at = reference.sympy_expression(gradcli.parse("1/(2+x)"), "x", {"x": 0.3})
    refs = reference.mpmath_derivatives(f, symbol, at, range(3, 21))
    assert len(refs) == 18 and all(r.method == "mpmath" for r in refs)
    with mpmath.workdps(40):
        for k, r in zip(range(3, 21), refs):
            exact = (-1) ** k * mpmath.factorial(k) / (2 + mpmath.mpf(3) / 10) ** (k + 1)
            assert abs(mpmath.mpf(r.text) - exact) <= 1e-27 * abs(exact), k


def test_sympy_failure_hands_the_remaining_orders_to_mpmath(monkeypatch):
    """A SymPy error in the worker (here: diff raising) is not fatal: mpmath takes over."""
    import sympy

    def no_diff(*args, **kwargs):
        raise NotImplementedError("no rule")

    monkeypatch.setattr(sympy, "diff", no_diff)  # inherited by the forked worker
    result = run_check("exp(sin(x))", 0.5, order=2)
    assert result.methods == ["sympy", "mpmath", "mpmath"] and result.ok
    assert result.references[1].why == "NotImplementedError: no rule"


def test_mpmath_reference_of_sqrt_at_zero_is_singular(monkeypatch):
    _mpmath_only(monkeypatch)
    result = run_check("sqrt(x)", 0, order=1)
    assert result.status == ["ok", "singular"] and result.methods == ["mpmath", "mpmath"]


def test_sympy_in_process_without_fork_gives_the_same_values(monkeypatch):
    f, symbol, at = reference.sympy_expression(gradcli.parse("sin(x)**3"), "x", {"x": 0.4})
    forked, _ = reference.sympy_derivatives(f, symbol, at, 3, timeout=10)
    monkeypatch.delattr(os, "fork")
    in_process, _ = reference.sympy_derivatives(f, symbol, at, 3, timeout=10)
    assert [r.text for r in in_process] == [r.text for r in forked]


def test_mpmath_agrees_with_sympy_to_thirty_digits():
    f, symbol, at = reference.sympy_expression(gradcli.parse("atan(x)/(2+x)"), "x", {"x": 0.3})
    exact, _ = reference.sympy_derivatives(f, symbol, at, 4, timeout=10)
    numeric = reference.mpmath_derivatives(f, symbol, at, range(5))
    with mpmath.workdps(40):
        for s, m in zip(exact, numeric):
            assert abs(mpmath.mpf(s.text) - mpmath.mpf(m.text)) <= 1e-25 * abs(mpmath.mpf(s.text))


# -- input errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("args, kwargs, message", [
    (("x*y", {"x": 1, "y": 2}), {}, "choose one with wrt"),
    (("x", math.nan), {}, "finite point"),
    (("x", 1), {"order": -1}, "order must be a non-negative integer"),
    (("x", 1), {"rtol": -1}, "rtol must be a number >= 0"),
    (("x", {"x": 1, "y": 1}), {}, "no variable 'y'"),
])
def test_bad_input_raises_gradcli_error(args, kwargs, message):
    with pytest.raises(GradcliError, match=message):
        check(*args, **kwargs)


# -- Ctrl-C / SIGTERM while the references work (issue 20) --------------------------------------
def _interrupt_after(generator, n):
    """A generator function yielding ``generator``'s first n messages, then Ctrl-C."""
    def messages(*args, **kwargs):
        for k, message in enumerate(generator(*args, **kwargs)):
            if k == n:
                raise KeyboardInterrupt
            yield message
    return messages


def _sin_exp(k: int, x: float = 0.3) -> float:
    """(e^x sin x)^(k) = 2^(k/2) e^x sin(x + k pi/4), in 30-digit mpmath."""
    with mpmath.workdps(30):
        x = mpmath.mpf(x)
        return float(mpmath.sqrt(2) ** k * mpmath.exp(x) * mpmath.sin(x + k * mpmath.pi / 4))


@pytest.mark.parametrize("stage", ["sympy", "mpmath"])
def test_an_interrupt_hands_back_the_orders_done(monkeypatch, stage):
    """Ctrl-C in the middle of a point's references: the KeyboardInterrupt carries the Check of
    the orders done (SymPy's, or SymPy's and then mpmath's), the rest unchecked, interrupted."""
    monkeypatch.delattr(os, "fork")  # in this process: the interrupt lands in the generator
    if stage == "sympy":
        monkeypatch.setattr(reference, "sympy_orders", _interrupt_after(reference.sympy_orders, 3))
        done = ["sympy"] * 3
    else:  # SymPy gives orders 0 and 1 and stops (as at its deadline), mpmath 2 and 3
        sympy_orders = reference.sympy_orders
        monkeypatch.setattr(reference, "sympy_orders", _interrupt_after(
            lambda *a: (m for k, m in enumerate(sympy_orders(*a)) if k < 2), 99))
        monkeypatch.setattr(reference, "mpmath_orders",
                            _interrupt_after(reference.mpmath_orders, 2))
        done = ["sympy", "sympy", "mpmath", "mpmath"]
    with pytest.raises(KeyboardInterrupt) as caught:
        run_check("sin(x)*exp(x)", 0.3, order=7)
    result = caught.value.check
    n = len(done)
    assert result.interrupted and result.methods == done + ["none"] * (8 - n)
    assert result.status == ["ok"] * n + ["unchecked"] * (8 - n) and result.ok
    assert [r.why for r in result.references[n:]] == ["interrupted"] * (8 - n)
    for k in range(n):
        assert result.reference[k] == pytest.approx(_sin_exp(k), rel=1e-15)
    for k in range(8):  # gradcli's own values are all there
        assert result.gradcli[k] == pytest.approx(_sin_exp(k), rel=1e-13)
    record = result.record()
    assert record["interrupted"] is True and record["ok"] is True
    assert math.isnan(record["sympy"][n]) and record["reference"][n] == "none"


def test_an_interrupt_in_the_arb_reference_order_by_order_keeps_the_orders_done(monkeypatch):
    """The ball reference's order-by-order path (taken past a singular order) hands back the
    orders it finished too."""
    from gradcli.check import arb_reference
    from gradcli.taylor import digits

    calls = []
    real = digits.certified

    def certified(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(digits, "certified", certified)
    with pytest.raises(KeyboardInterrupt) as caught:
        arb_reference._per_order(gradcli.parse("sin(x)*exp(x)"), "x", {"x": 0.3}, 4, "why")
    done = caught.value.references
    assert [r.method for r in done] == ["arb", "arb"]
    assert [r.value for r in done] == [pytest.approx(_sin_exp(k), rel=1e-15) for k in (0, 1)]


@pytest.mark.parametrize("options", [{"symbolic": True}, {"reference": "sympy"}])
def test_digits_with_the_sympy_reference_is_refused_naming_the_arguments(options):
    # the library names its parameters; the command line says --digits (test_hostile_input)
    with pytest.raises(GradcliError) as refused:
        _run_check("sin(x)", {"x": 0.5}, order=1, digits=10, **options)
    assert str(refused.value).startswith("digits needs the arb reference")
    assert "--" not in str(refused.value)
