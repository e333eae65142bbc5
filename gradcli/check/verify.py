"""``gradcli check``: gradcli's derivatives against a reference and finite differences.

For orders 0..N along one variable, three opinions at one point:

- gradcli: ``Expression.derivatives(wrt, N, at)``, the engine ``gradcli diff`` uses;
- the reference: by default ball arithmetic at 30 certified digits (gradcli/check/arb_reference.py,
  method "arb"); with ``symbolic`` or ``reference="sympy"`` SymPy's exact derivatives at 30
  significant digits, or mpmath's numerical derivatives at 30 digits for the orders SymPy did
  not finish within its share of the time budget, or none for the orders neither finished
  (gradcli/check/reference.py);
- central finite differences with Richardson extrapolation in float64, with their estimated
  error (gradcli/finite_difference.py): informative only, never part of the verdict.

The verdict compares gradcli with the reference, order by order: they agree when
``|gradcli - reference| <= atol + rtol * |reference|`` (as ``numpy.isclose``); a finite
reference beyond the float64 range agrees with an infinity of its sign, and a nan or inf from
gradcli never agrees with a finite reference. The relative error of an order is
``|gradcli - reference| / |reference|`` (the absolute error where the reference is 0; inf
where gradcli is not finite). An order whose reference is *singular* (nan, zoo, +-oo or
non-real: the derivative does not exist there as a real number) is not compared: gradcli's
value there follows its documented rule (SPEC section 4: sqrt'(0) = inf), which no reference
can confirm. It is reported as singular and left out of ``ok`` and ``max_rel_error``
(``max_rel_error`` is nan when no order was compared). An order that has no reference
because neither SymPy nor mpmath finished it within the time budget is *unchecked*: also
reported and left out of ``ok`` and ``max_rel_error``.

A KeyboardInterrupt (Ctrl-C, SIGTERM) while the references work goes on up carrying ``check``:
the Check of the orders done, the others unchecked (their reference's ``why`` is
"interrupted") and ``interrupted`` true, for the caller to write before it stops.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from . import finite_difference
from ..errors import GradcliError
from .reference import INTERRUPTED, NONE, NOT_COMPUTED, Reference, references

AGREE, MISMATCH, SINGULAR, UNCHECKED = "ok", "mismatch", "singular", "unchecked"


@dataclass
class Check:
    """Everything a check found at one point, order by order."""

    expr: str
    point: dict[str, float]
    wrt: str
    order: int
    rtol: float
    atol: float
    gradcli: list[float]
    references: list[Reference]
    finite_difference: list[float]
    finite_difference_error: list[float]
    relative_error: list[float] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    symbolic: bool = False
    timeout: float = 10.0
    digits: int | None = None
    interrupted: bool = False   # Ctrl-C or SIGTERM came before every reference was done

    @property
    def reference(self) -> list[float]:
        return [r.value for r in self.references]

    @property
    def methods(self) -> list[str]:
        return [r.method for r in self.references]

    @property
    def compared(self) -> list[int]:
        """The orders whose reference exists and is not singular."""
        return [k for k, s in enumerate(self.status) if s not in (SINGULAR, UNCHECKED)]

    @property
    def unchecked(self) -> list[int]:
        """The orders without a reference (none finished within the time budget)."""
        return [k for k, s in enumerate(self.status) if s == UNCHECKED]

    @property
    def singular(self) -> list[int]:
        return [k for k, s in enumerate(self.status) if s == SINGULAR]

    @property
    def mismatches(self) -> list[int]:
        return [k for k, s in enumerate(self.status) if s == MISMATCH]

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def max_rel_error(self) -> float:
        errors = [self.relative_error[k] for k in self.compared]
        return max(errors) if errors else math.nan

    def record(self) -> dict:
        """The JSON record of SPEC section 2 (plus ``reference``, and ``symbolic``)."""
        out = {"expr": self.expr, "point": dict(self.point), "wrt": self.wrt,
               "order": self.order, "gradcli": list(self.gradcli), "sympy": self.reference,
               "finite_difference": list(self.finite_difference),
               "max_rel_error": self.max_rel_error, "ok": self.ok,
               "interrupted": self.interrupted, "reference": self.methods}
        if self.symbolic:
            out["symbolic"] = [r.formula for r in self.references]
        if self.digits is not None:   # the reference's certified decimal strings
            out["reference_digits"] = [r.text for r in self.references]
        return out


def compare(value: float, reference: Reference, rtol: float, atol: float) -> tuple[str, float]:
    """(status, relative error) of gradcli's value against one reference."""
    r = reference.value
    if not reference.available:
        return UNCHECKED, math.nan
    if reference.singular:
        return SINGULAR, math.nan
    if math.isinf(r):  # a finite reference beyond float64: only its infinity agrees
        return (AGREE, 0.0) if value == r else (MISMATCH, math.inf)
    if not math.isfinite(value):
        return MISMATCH, math.inf
    error = abs(value - r)
    relative = error / abs(r) if r != 0 else error
    return (AGREE if error <= atol + rtol * abs(r) else MISMATCH), relative


def run_check(expression, at=None, order: int = 1, wrt: str | None = None,
              rtol: float = 1e-9, atol: float = 1e-12, timeout: float = 10.0,
              symbolic: bool = False, pretty: bool = False, reference: str = "arb",
              digits: int | None = None, exact_at: dict | None = None) -> Check:
    """The check at one point (see ``check``), with every column of the table. With
    ``digits`` the reference takes the expression's numbers as the decimals written (SPEC
    6.1) and the point as ``exact_at``'s decimal strings where given (else its floats)."""
    from ..expression import Expression, parse

    if not isinstance(expression, Expression):
        expression = parse(expression)
    order = _whole(order, "order")
    check_settings(rtol, atol, timeout)
    wrt = expression._wrt(wrt)  # the variable to differentiate along (checked)
    point = {name: _finite(v, name) for name, v in expression.point(at).items()}
    point = {name: point[name] for name in expression.variables}
    with np.errstate(all="ignore"):
        ours = [float(np.asarray(d, dtype=np.float64))
                for d in expression.derivatives(wrt, order, at=point)]
    fd = finite_difference.derivatives(_along(expression, point, wrt), point.get(wrt, 0.0), order)
    if reference not in ("arb", "sympy"):
        raise GradcliError(f"unknown reference {reference!r} (choose 'arb' or 'sympy')")
    if digits is not None:
        from ..taylor.digits import check_digits

        digits = check_digits(digits)
        if symbolic or reference == "sympy":
            raise GradcliError("digits needs the arb reference (not symbolic=True or "
                               "reference='sympy')")
    interrupt = None
    try:
        if symbolic or reference == "sympy":
            refs = references(expression, wrt, point, order, float(timeout), symbolic, pretty)
        else:
            from .arb_reference import arb_references

            if digits is None:
                refs = arb_references(expression, wrt, point, order)
            else:
                exact = {name: (exact_at or {}).get(name, v) for name, v in point.items()}
                refs = arb_references(expression, wrt, exact, order, digits, exact=True)
    except KeyboardInterrupt as stop:  # the orders done are a Check, the rest unchecked
        interrupt = stop
        refs = list(getattr(stop, "references", ()))[:order + 1]
        refs += [Reference(math.nan, NONE, NOT_COMPUTED, why=INTERRUPTED)
                 for _ in range(len(refs), order + 1)]
    result = Check(expression.text, point, wrt, order, float(rtol), float(atol), ours, refs,
                   [v for v, _ in fd], [e for _, e in fd], symbolic=symbolic,
                   timeout=float(timeout), digits=digits, interrupted=interrupt is not None)
    for value, reference in zip(ours, refs):
        status, relative = compare(value, reference, result.rtol, result.atol)
        result.status.append(status)
        result.relative_error.append(relative)
    if interrupt is not None:
        interrupt.check = result
        raise interrupt
    return result


def check(expression_or_text, at=None, order: int = 1, wrt: str | None = None,
          rtol: float = 1e-9, atol: float = 1e-12, timeout: float = 10.0,
          symbolic: bool = False, reference: str = "arb") -> dict:
    """gradcli's derivatives of orders 0..order along ``wrt`` at the point ``at`` (a dict,
    or a number for an expression of one variable), checked against SymPy (mpmath past 3/4
    of ``timeout`` seconds, none past it) and finite differences: the record ``gradcli
    check`` writes as JSON, ``{"expr", "point", "wrt", "order", "gradcli", "sympy",
    "finite_difference", "max_rel_error", "ok", "reference"}`` (+ ``"symbolic"``)."""
    return run_check(expression_or_text, at, order, wrt, rtol, atol, timeout,
                     symbolic, reference=reference).record()


def check_settings(rtol, atol, timeout) -> None:
    """Raise GradcliError unless rtol, atol and timeout are numbers >= 0."""
    for name, value in (("rtol", rtol), ("atol", atol), ("timeout", timeout)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
            raise GradcliError(f"{name} must be a number >= 0, got {value!r}")


def _along(expression, point: dict, wrt: str):
    """The vectorized float64 function t -> f(point with wrt = t)."""
    others = {name: value for name, value in point.items() if name != wrt}

    def f(t):
        with np.errstate(all="ignore"):
            if wrt not in expression.variables:
                return np.broadcast_to(np.asarray(expression.evaluate(others), np.float64),
                                       np.shape(t))
            return np.asarray(expression.evaluate({**others, wrt: t}), dtype=np.float64)

    return f


def _whole(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise GradcliError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _finite(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GradcliError(f"the value of {name!r} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise GradcliError(f"check needs a finite point: {name}={number!r} (SymPy and "
                           f"finite differences cannot evaluate there)")
    return number
