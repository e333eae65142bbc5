"""``gc.minimize``: minimize an expression in one call, with the engine ``gradcli minimize`` runs.

    >>> import gradcli as gc
    >>> run = gc.minimize("(1-x)**2+100*(y-x**2)**2", {"x": -1.5, "y": 2})
    >>> run.converged, run.name, run.steps, run.evaluations[-1]
    (True, 'lbfgs', 40, 51)

The expression (text or ``gc.parse`` result) is compiled once (``Program.point_function``)
and run by ``descend`` with the optimizer ``opt`` (default lbfgs, as the command line's);
the result is the ``descend.Run``: ``final`` (point, value, gradient norm, lr), ``point``
(the final point by variable), ``rows``, ``converged``, ``steps``, ``evaluations``,
``active_bounds``. Errors are GradcliError and name the argument (``start``, ``bounds``,
``opt``, ``steps``); ``optimizer_options`` go to ``gradcli.optimizers.make`` (``lr=...``).
"""
from __future__ import annotations

import math

from ..errors import GradcliError
from ..optimizers import DEFAULT_OPT, DEFAULT_TOL


def minimize(expression, start=None, *, opt: str = DEFAULT_OPT, steps: int = 1000,
             tol: float = DEFAULT_TOL, bounds=None, dtype="float64", jit: bool = False,
             **optimizer_options):
    """Minimize ``expression`` from ``start`` (a mapping variable -> value, variables not
    named starting at 0; a sequence in the order of ``expression.variables``; or None: every
    variable 0). ``bounds``: a mapping variable -> (lo, hi) with None for no bound, or the
    command line's text ``"x=0:1,y=0:"``. ``jit=True``: the whole loop fused and compiled by
    numba (the ``jit`` extra; training/fused.py), for long runs. Returns the ``training.descend.Run``."""
    import numpy as np

    from .. import optimizers
    from ..compiled.program import compile_expression
    from ..expression import Expression, parse
    from ..optimizers.bounds import Bounds
    from .descend import descend

    expression = expression if isinstance(expression, Expression) else parse(str(expression))
    variables = list(expression.variables)
    if not variables:
        raise GradcliError(f"{expression.text!r} has no variables: there is nothing to minimize")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise GradcliError(f"steps must be an integer >= 0, got {steps!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0 \
            or tol == float("inf"):
        raise GradcliError(f"tol must be a finite number >= 0, got {tol!r}")
    x0 = _start(variables, start)
    box = None if bounds is None else _bounds(Bounds, variables, bounds)
    try:
        optimizer = optimizers.make(opt, dtype=dtype, **optimizer_options)
    except ValueError as e:
        raise GradcliError(f"opt {opt!r}: {e}") from None
    dtype = np.dtype(optimizer.dtype)
    program = compile_expression(expression, variables, dtype=dtype)
    if jit:
        from .fused import FusedUnavailable, descend_fused

        if bounds is not None:
            raise GradcliError("jit: bounds are not fused (run without jit)")
        try:
            return descend_fused(program, x0, optimizer, steps, tol, variables=variables)
        except FusedUnavailable as e:
            raise GradcliError(f"jit: {e}") from None
    hessian = None
    if optimizer.needs_hessian:
        def hessian(p):
            return program.hessian(dict(zip(variables, p)))
    try:
        return descend(program.point_function(), x0, optimizer, steps, tol, hessian=hessian,
                       variables=variables, bounds=box)
    except ValueError as e:  # a start outside the bounds
        raise GradcliError(f"bounds: {e}") from None


def _start(variables: list[str], start) -> list[float]:
    if start is None:
        return [0.0] * len(variables)
    if hasattr(start, "items"):
        extra = [str(n) for n in start if n not in variables]
        if extra:
            raise GradcliError(f"start: the expression has no variable "
                               f"{', '.join(repr(e) for e in extra)} "
                               f"(its variables: {', '.join(variables)})")
        values = [start.get(v, 0.0) for v in variables]
    else:
        values = list(start)
        if len(values) != len(variables):
            raise GradcliError(f"start: {len(values)} values for {len(variables)} variables "
                               f"({', '.join(variables)})")
    try:
        values = [float(v) for v in values]
    except (TypeError, ValueError):
        raise GradcliError(f"start: expected numbers, got {start!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise GradcliError(f"start: every value must be finite, got {start!r}")
    return values


def _bounds(Bounds, variables: list[str], bounds):
    try:
        return Bounds.of(bounds, variables)
    except (ValueError, TypeError) as e:
        raise GradcliError(f"bounds: {e}") from None
