"""``gradcli minimize``: run one or several optimizers on an expression, show the iterations.

Options -> ``gradcli.training.descend.descend`` per optimizer -> Rows for the one writer:

- table (one optimizer): the iteration table (step, each variable, f, gradient norm, lr;
  every Kth row, first and last always) and a closing summary;
- table (several): one comparison table: final point and value, steps to tolerance, time;
- json: one line per optimizer with SPEC's fields, ``history`` the rows the table shows;
- csv: the shown history rows of every optimizer under one header (opt, step, ...);
- plain: the final point in --from syntax (``x=1.0,y=2.0``); with several optimizers one
  line each, ``NAME x=1.0,y=2.0``.

The rows shown are kept while the run goes (``row_keeper``), never by running it again.
Divergence (a nan/inf value or gradient) prints what was done, names the step on stderr
and ends with exit status 1; Ctrl-C or SIGTERM prints the rows so far and exits 130/143.
"""
from __future__ import annotations

import math
from dataclasses import replace

import click

from ..errors import GradcliError
from .app import EXIT_FAILED, command, exit_interrupted, report_error, wrote
from .inputs import parse_expression, read_expressions, start_values
from ..optimizers import DEFAULT_OPT
from .options import (TABLE_ROWS, RowSelection, build_optimizers, default_every,
                      expr_argument, format_option, optimizer_options, quasi_newton_options)
from .points import parse_point
from .progress import progress_bar
from .render import Row, Writer, format_number, table_cell

FULL_HISTORY = 20_000  # the first rows, all kept: a default --every may show any of them
COARSE = FULL_HISTORY // TABLE_ROWS  # past them, every COARSE-th row is kept
PLOT_POINTS = 10_000  # --plot draws about this many iterates of a long run

EXAMPLES = [
    'gradcli minimize "x**2-2*x+1" --opt sgd --lr 0.01 --steps 1000',
    'gradcli minimize "(x-50)**2" --opt adam --lr 1 --steps 200 --from x=3',
    'gradcli minimize "(1-x)**2+100*(y-x**2)**2" --opt all --lr 0.001 --from x=-1.5,y=2',
    'gradcli minimize "x**4-3*x**2" --opt newton --from 0.1 --format json',
    'gradcli minimize "(x-50)**2" --opt adam --lr 1 --from 3 --plot adam.png',
    'gradcli minimize "(1-x)**2+100*(y-x**2)**2" --from x=-1.5,y=2 --bounds x=:0.5',
]


@command("minimize", examples=EXAMPLES)
@expr_argument
@click.option("--steps", type=click.IntRange(min=0), default=1000, show_default=True,
              metavar="N", help="At most N updates.")
@click.option("--from", "start", metavar="POINT",
              help="Start: 3 (one variable) or x=1,y=2; variables not given start at 0.")
@click.option("--bounds", metavar="x=LO:HI,y=LO:",
              help="Keep variables in a box (a side may be empty): every update is projected "
                   "onto it; the JSON names the bounds active at the end.")
@click.option("--jit", is_flag=True,
              help="Fuse the whole loop into one function compiled by numba (the jit extra: "
                   "pip install 'gradcli[jit]'): about a second to compile, then no Python per "
                   "step; for long runs. The same iterates (over many variables with sin, exp, ...: "
                   "libm's, an ulp from numpy's).")
@optimizer_options(default_opt=DEFAULT_OPT)
@quasi_newton_options
@format_option
def minimize(expr, steps, start, bounds, jit, settings, quasi_newton, format):
    """Minimize EXPR from --from (default: every variable 0) with the optimizer(s) of --opt
    (default: lbfgs, torch.optim.LBFGS's algorithm with a strong-Wolfe line search).

    Stops when the gradient norm is <= --tol (default 1e-10), after --steps updates
    (iterations of lbfgs/bfgs), at lbfgs/bfgs's own tests (--tolerance-grad,
    --tolerance-change), or on divergence (a nan/inf value or gradient: exit status 1).
    Plain output: the final point as x=1.0,y=2.0 (the syntax of --from), one line per
    optimizer (NAME x=... with several).
    """
    from .. import limits

    limits.check("--steps", steps, limits.MAX_STEPS)
    settings = replace(settings, **quasi_newton)
    start = parse_point(start, "--from") if start is not None else None
    failed = False
    with Writer(format) as writer:
        for sources in read_expressions(expr):
            for source in sources:
                try:
                    failed |= minimize_one(parse_expression(source), steps, start, settings,
                                           writer, bounds, jit)
                except GradcliError as e:
                    if source.where is None:  # the command line's expression: the run ends
                        raise
                    report_error(e, source.where)  # a stdin line: reported, its row kept
                    writer.error(source.text, None, e)
    if failed:
        click.get_current_context().exit(EXIT_FAILED)


def _fused(program, x0, optimizer, steps, tol, variables, progress, keep, bounds):
    """--jit: the run through training/fused.py (numba), or a one-line error (exit 2)."""
    from ..training.fused import FusedUnavailable, descend_fused

    if bounds is not None:
        raise GradcliError("--jit: --bounds is not fused (run without --jit)")
    try:
        return descend_fused(program, x0, optimizer, steps, tol, variables=variables,
                             progress=progress, keep=keep)
    except FusedUnavailable as e:
        raise GradcliError(f"--jit: {e}") from None


def minimize_one(expression, steps, start, settings, writer, bounds_text=None,
                 jit=False) -> bool:
    """Run every optimizer of settings on expression and write the results; True if one diverged."""
    import numpy as np

    from ..compiled.program import compile_expression
    from ..optimizers.bounds import Bounds
    from ..training.descend import descend

    variables = list(expression.variables)
    if not variables:
        raise GradcliError(f"{expression.text!r} has no variables: there is nothing to minimize")
    x0 = list(start_values(variables, start, "--from").values())
    bounds = None
    if bounds_text is not None:
        try:
            bounds = Bounds.parse(bounds_text, variables)
            bounds.check_start(x0)
        except ValueError as e:
            raise GradcliError(f"--bounds: {e}") from None
    dtype = np.float32 if settings.dtype == "float32" else np.float64
    program = compile_expression(expression, variables, dtype=dtype)
    fg = program.point_function()
    compare = len(settings.names) > 1
    runs = []
    try:
        for optimizer in build_optimizers(settings):
            hessian = None
            if optimizer.needs_hessian:
                def hessian(p, program=program):
                    return program.hessian(dict(zip(variables, p)))
            with progress_bar(steps, optimizer.name) as advance:
                keep = row_keeper(settings.every, steps, settings.plot)
                if jit:
                    run = _fused(program, x0, optimizer, steps, settings.tol, variables,
                                 advance, keep, bounds)
                else:
                    run = descend(fg, x0, optimizer, steps, settings.tol, hessian=hessian,
                                  variables=variables, progress=advance, bounds=bounds,
                                  keep=keep)
            run.planned = steps
            runs.append(run)
            for row in run_rows(expression, run, settings.every, compare):
                writer.write(row)
            if run.interrupted:
                break
        writer.flush()
    finally:
        if settings.plot and runs:
            plot_runs(settings.plot, expression, variables, runs)
    for run in runs:
        if run.diverged_at is not None:
            what = "value" if not np.isfinite(run.final[1]) else "gradient"
            hint = ("is the function bounded below? try --bounds or another --from"
                    if run.evaluations else "try a smaller --lr, --clip-norm or another --from")
            problem = f"the {what} is not finite"
            origin = _nan_origin(expression, run) if what == "value" else None
            if origin:  # a domain error, not a descent too far: say where (issue 23)
                problem, hint = f"{problem}: {origin}", "try --bounds or another --from"
            click.echo(f"gradcli: {run.name} diverged at step {run.diverged_at}: {problem} "
                       f"({hint})", err=True)
    if runs and runs[-1].interrupted:
        exit_interrupted(f"{runs[-1].steps} steps of {runs[-1].name}")
    return any(run.diverged_at is not None for run in runs)


def _nan_origin(expression, run) -> str | None:
    """Where a nan value at the run's last point comes from (asin(2.0) is nan at x=1.0),
    or None: an infinite value, or nan from inf - inf, is a descent gone too far."""
    import numpy as np

    from ..nonfinite import nonfinite_origin

    if not np.isnan(run.final[1]):
        return None
    origin = nonfinite_origin(expression, dict(zip(run.variables, map(float, run.final[0]))))
    return origin if origin and " is nan" in origin else None


# -- which rows are shown -------------------------------------------------------------------------
def display_every(every: int | None, done: int, planned: int) -> int:
    """The stride of the rows shown of a run that did ``done`` of ``planned`` steps: --every,
    else about TABLE_ROWS rows: every ceil(done/20)th while every row is kept (the first
    FULL_HISTORY) or when the run did them all, else a multiple of COARSE."""
    if every is not None:
        return every
    k = default_every(done)
    if done <= FULL_HISTORY or done >= planned:
        return k
    return COARSE * math.ceil(k / COARSE)


def row_keeper(every: int | None, steps: int, plot) -> callable:
    """``keep(k)`` for descend: the rows the output may show, not every step. With --every K
    every Kth; by default the rows of a run of ``steps`` steps, every row of the first
    FULL_HISTORY steps and every COARSE-th after them (a run that stops early shows some of
    those); with --plot also every ceil(steps / PLOT_POINTS)th, the path drawn."""
    shown = RowSelection(every, steps).step
    full = FULL_HISTORY if every is None else -1
    coarse = COARSE if every is None else 0
    stride = max(1, math.ceil(steps / PLOT_POINTS)) if plot else 0

    def keep(k: int) -> bool:
        return (k % shown == 0 or k <= full or bool(coarse) and k % coarse == 0
                or bool(stride) and k % stride == 0)

    return keep


def shown_steps(run, every: int | None) -> list[int]:
    """The steps a table or history shows: every Kth, the first and the last always."""
    k = display_every(every, run.steps, getattr(run, "planned", run.steps))
    return [j for j in RowSelection(k, run.steps).steps_shown(run.steps) if run.has(j)]


# -- records ------------------------------------------------------------------------------------
def run_record(expression, run, every) -> dict:
    """SPEC's JSON object of one run."""
    point, value, norm, _ = run.final
    history = []
    for k in shown_steps(run, every):
        history.append(run.record(k))
        if run.evaluations:  # lbfgs/bfgs: the function evaluations made so far
            history[-1]["evals"] = run.evaluations_at(k)
    record = {"expr": expression.text, "opt": run.name, "lr": run.optimizer.lr,
              "steps": run.steps, "converged": run.converged, "interrupted": run.interrupted,
              "point": dict(zip(run.variables, map(float, point))), "value": float(value),
              "grad_norm": float(norm), "history": history}
    if run.evaluations:
        record.update(evaluations=run.evaluations[-1], stop=run.stop)
    if run.bounds is not None:
        record["active_bounds"] = run.active_bounds
    return record


def point_text(variables, point) -> str:
    """``x=1.0,y=2.0``: a point as --from reads it."""
    return ",".join(f"{v}={format_number(x)}" for v, x in zip(variables, point))


def run_rows(expression, run, every, compare: bool) -> list[Row]:
    """A run's history rows (CSV, and the table of a single optimizer) and its own row
    (JSON, plain, and a line of the comparison table or the summary under the table)."""
    fixed = ("opt", "step", "value", "grad_norm", "lr")
    names = [v if v not in fixed else f"point[{v}]" for v in run.variables]
    columns = ["opt", "step", *names, "value", "grad_norm", "lr"]
    compat = "" if run.optimizer.compat == "torch" else f", {run.optimizer.compat}"
    title = f"{expression.text}  ({run.name}{compat})"
    headings = [] if compare else ["step", *run.variables, "f", "‖∇f‖", "lr"]
    if run.evaluations and not compare:  # lbfgs/bfgs: iterations, step lengths, evaluations
        headings = ["iter", *run.variables, "f", "‖∇f‖", "t", "evals"]
    rows = []
    for k in shown_steps(run, every):
        point, value, norm, lr = run.row(k)
        numbers = [*map(float, point), float(value), float(norm), float(lr)]
        shown = [k, *numbers, run.evaluations_at(k)] if run.evaluations else [k, *numbers]
        rows.append(Row(columns=columns, values=[run.name, k, *numbers], title=title,
                        table_columns=headings, table_values=shown))
    plain = point_text(run.variables, run.final[0])
    own = Row(record=run_record(expression, run, every),
              plain=f"{run.name} {plain}" if compare else plain, table_columns=[])
    if compare:
        own.title = f"{expression.text}  (tol {format_number(run.tol)})"
        own.table_columns = ["opt", "lr", "final point", "final f", "steps", "time", "status"]
        short = ",".join(f"{v}={table_cell(float(x))}" for v, x in zip(run.variables,
                                                                      run.final[0]))
        own.table_values = [run.name, float(run.optimizer.lr), short, float(run.final[1]),
                            run.steps, _seconds(run.seconds), _status(run)]
        own.numeric = [False, True, False, True, True, True, False]
    else:
        own.notes = summary(run)
    return [*rows, own]


def _status(run) -> str:
    if run.diverged_at is not None:
        return f"diverged at {run.diverged_at}"
    if run.interrupted:
        return "interrupted"
    return "converged" if run.converged else "not converged"


def summary(run) -> str:
    """The closing lines: how the run ended, the final point and value, the time."""
    point, value, norm, _ = run.final
    format_number = table_cell  # the table's digits: the closing lines fit beside it
    where = ", ".join(f"{v} = {format_number(float(x))}" for v, x in zip(run.variables, point))
    if run.diverged_at is not None:
        ended = f"diverged at step {run.diverged_at}"
    elif run.interrupted:
        ended = f"interrupted after {run.steps} steps"
    elif run.stop in _STOPS:
        ended = (f"{'converged' if run.converged else 'stopped'} after {run.steps} "
                 f"iterations, {run.evaluations[-1]} evaluations ({_STOPS[run.stop]})")
    elif run.converged:
        ended = (f"converged after {run.steps} steps "
                 f"(‖∇f‖ = {format_number(norm)} <= tol {format_number(run.tol)})")
    elif run.tol == 0:
        ended = f"ran all {run.steps} steps (--tol 0: no convergence test)"
    else:
        ended = (f"not converged after {run.steps} steps "
                 f"(‖∇f‖ = {format_number(norm)} > tol {format_number(run.tol)})")
    return (f"{run.name}: {ended}\n"
            f"final point {where}, f = {format_number(float(value))}; {_seconds(run.seconds)}")


_STOPS = {  # lbfgs/bfgs's own tests (optimizers/lbfgs.py)
    "tolerance_grad": "max |∂f/∂x_i| <= --tolerance-grad",
    "tolerance_change": "f or the step changed by less than --tolerance-change",
    "max_eval": "the evaluation budget, --steps * 5 // 4, is spent",
    "line_search": "the line search found no lower point",
}


def _seconds(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def plot_runs(filename, expression, variables, runs) -> None:
    import numpy as np

    from .plot import Path, plot_minimize

    paths = []
    for run in runs:
        points = np.array([[float(v) for v in r[0]] for r in run.rows], dtype=float)
        values = np.array([float(r[1]) for r in run.rows], dtype=float)
        paths.append(Path(run.name, np.array(run.kept()), points.reshape(len(run.rows), -1),
                          values))
    plot_minimize(filename, expression, variables, {}, paths)
    wrote(filename)
