"""``gradcli minimize``: run one or several optimizers on an expression, show the iterations.

The command parses the options, compiles the expression once (``point_function``), runs
``gradcli.descent.descend`` per optimizer and writes the result:

- table (one optimizer): the iteration table (step, each variable, f, gradient norm, lr;
  every Kth row, first and last always) and a closing summary;
- table (several): one comparison table: final value, steps to tolerance, wall time, ...;
- json: one line per optimizer with SPEC's fields, ``history`` the rows the table shows;
- csv: the shown history rows of every optimizer under one header (opt, step, ...);
- plain: one line per optimizer, the final point's coordinates in variable order.

Divergence (a nan/inf value or gradient) prints what was done, names the step on stderr
and ends with exit status 1; Ctrl-C prints the rows so far and exits 130.
"""
from __future__ import annotations

import copy
import math
import sys

import click

from ..errors import GradcliError
from .render import format_number, json_line, print_table
from .common import (EXIT_FAILED, command, expr_argument, format_option, parse_expression,
                     read_expressions)
from .optimizer_options import (RowSelection, build_optimizers, exit_interrupted,
                                optimizer_options, progress_bar)

FULL_HISTORY = 20_000  # the first rows, all kept: a default --every may show any of them
PLOT_POINTS = 10_000  # --plot draws about this many iterates of a long run

EXAMPLES = [
    'gradcli minimize "x**2-2*x+1" --opt sgd --lr 0.01 --steps 1000',
    'gradcli minimize "(x-50)**2" --opt adam --lr 1 --steps 200 --from x=3',
    'gradcli minimize "(1-x)**2+100*(y-x**2)**2" --opt all --lr 0.001 --from x=-1.5,y=2',
    'gradcli minimize "x**4-3*x**2" --opt newton --from 0.1 --format json',
    'gradcli minimize "(x-50)**2" --opt adam --lr 1 --from 3 --plot adam.png',
]


@command("minimize", examples=EXAMPLES)
@expr_argument
@click.option("--steps", type=click.IntRange(min=0), default=1000, show_default=True,
              metavar="N", help="At most N updates.")
@click.option("--from", "start", metavar="POINT",
              help="Start: 3 (one variable) or x=1,y=2; variables not given start at 0.")
@optimizer_options
@format_option
def minimize(expr, steps, start, settings, format):
    """Minimize EXPR from --from (default: every variable 0) with the optimizer(s) of --opt.

    Stops when the gradient norm is <= --tol (default 1e-10), after --steps updates, or
    on divergence (a nan/inf value or gradient: exit status 1). Plain output: the final
    point's coordinates (variables in order of name), one line per optimizer.
    """
    from .. import limits

    limits.check("--steps", steps, limits.MAX_STEPS)
    failed = False
    for sources in read_expressions(expr):
        for source in sources:
            failed |= minimize_one(parse_expression(source), steps, start, settings, format)
    if failed:
        click.get_current_context().exit(EXIT_FAILED)


def minimize_one(expression, steps, start, settings, format) -> bool:
    """Run every optimizer of settings on expression and write the results; True if one diverged."""
    import numpy as np

    from ..training.descend import descend
    from ..compiled.program import compile_expression

    variables = list(expression.variables)
    if not variables:
        raise GradcliError(f"{expression.text!r} has no variables: there is nothing to minimize")
    x0 = start_point(variables, start)
    dtype = np.float32 if settings.dtype == "float32" else np.float64
    program = compile_expression(expression, variables, dtype=dtype)
    fg = program.point_function()
    runs = []
    interrupted = False
    for optimizer in build_optimizers(settings):
        hessian = None
        if optimizer.needs_hessian:
            def hessian(p, program=program):
                return program.hessian(dict(zip(variables, p)))
        fresh = copy.deepcopy(optimizer)
        with progress_bar(steps, optimizer.name) as advance:
            run = descend(fg, x0, optimizer, steps, settings.tol, hessian=hessian,
                          variables=variables, progress=advance,
                          keep=row_keeper(settings.every, steps, settings.plot))
        if settings.every is None and FULL_HISTORY < run.steps < steps and not run.interrupted:
            # stopped early after the rows kept whole: the same steps again (the same
            # iterates, bit for bit), keeping the rows of the run's own --every default
            seconds = run.seconds
            run = descend(fg, x0, fresh, run.steps, settings.tol, hessian=hessian,
                          variables=variables, keep=row_keeper(None, run.steps, settings.plot))
            run.seconds = seconds
        runs.append(run)
        if run.interrupted:
            interrupted = True
            break
    write_runs(expression, runs, settings.every, format, len(settings.names) > 1)
    if settings.plot:
        plot_runs(settings.plot, expression, variables, runs)
    for run in runs:
        if run.diverged_at is not None:
            what = "value" if not np.isfinite(run.final[1]) else "gradient"
            click.echo(f"gradcli: {run.name} diverged at step {run.diverged_at}: the {what} "
                       f"is not finite (try a smaller --lr, --clip-norm or another --from)",
                       err=True)
    if interrupted:
        run = runs[-1]
        exit_interrupted(f"{run.steps} steps of {run.name}")
    return any(run.diverged_at is not None for run in runs)


def row_keeper(every: int | None, steps: int, plot) -> callable:
    """``keep(k)`` for descend: the rows the output may show, not every step. With --every K
    every Kth; by default the rows of a run of ``steps`` steps, and every row of the first
    FULL_HISTORY steps (a run that stops earlier shows every ceil(done/20)th); with --plot
    also every ceil(steps / PLOT_POINTS)th, the path drawn."""
    shown = RowSelection(every, steps).step
    full = FULL_HISTORY if every is None else -1
    stride = max(1, math.ceil(steps / PLOT_POINTS)) if plot else 0

    def keep(k: int) -> bool:
        return k % shown == 0 or k <= full or bool(stride) and k % stride == 0

    return keep


def start_point(variables: list[str], text: str | None) -> list[float]:
    """The --from point in variable order; variables not given are 0."""
    from .points import BARE, parse_point

    values = dict.fromkeys(variables, 0.0)
    if text is None:
        return list(values.values())
    point = parse_point(text, "--from")
    if point.names == (BARE,):
        if len(variables) != 1:
            raise GradcliError(f"--from {text!r}: a value without a name needs an expression "
                               f"of one variable; name them, as "
                               f"{','.join(f'{v}=1' for v in variables)}")
        return [point.values[0]]
    extra = [n for n in point.names if n not in values]
    if extra:
        raise GradcliError(f"--from {text!r}: the expression has no variable "
                           f"{', '.join(repr(e) for e in extra)} "
                           f"(its variables: {', '.join(variables)})")
    values.update(point.as_dict())
    return list(values.values())


# -- output ------------------------------------------------------------------------------------
def shown_steps(run, every: int | None) -> list[int]:
    """The steps a table or history shows: every Kth (default: about 20 rows over the steps
    the run did), the first and the last always."""
    return [k for k in RowSelection(every, run.steps).steps_shown(run.steps) if run.has(k)]


def run_record(expression, run, every) -> dict:
    """SPEC's JSON object of one run."""
    point, value, norm, _ = run.final
    history = [run.record(k) for k in shown_steps(run, every)]
    return {"expr": expression.text, "opt": run.name, "lr": run.optimizer.lr,
            "steps": run.steps, "converged": run.converged,
            "point": dict(zip(run.variables, map(float, point))), "value": float(value),
            "grad_norm": float(norm), "history": history}


def write_runs(expression, runs, every, format, compare: bool) -> None:
    out = sys.stdout  # click.get_text_stream is deprecated (Click 9 removes it)
    if format == "json":
        for run in runs:
            out.write(json_line(run_record(expression, run, every)) + "\n")
    elif format == "plain":
        for run in runs:
            out.write(" ".join(format_number(v) for v in run.final[0]) + "\n")
    elif format == "csv":
        write_csv(out, runs, every)
    elif compare:
        comparison_table(expression, runs, out)
    else:
        for run in runs:
            iteration_table(expression, run, every, out)
    out.flush()


def write_csv(out, runs, every) -> None:
    import csv

    writer = csv.writer(out, lineterminator="\n")
    fixed = ("opt", "step", "value", "grad_norm", "lr")
    variables = [v if v not in fixed else f"point[{v}]" for v in (runs[0].variables if runs else [])]
    writer.writerow(["opt", "step", *variables, "value", "grad_norm", "lr"])
    for run in runs:
        for k in shown_steps(run, every):
            point, value, norm, lr = run.row(k)
            writer.writerow([run.name, k, *(format_number(v) for v in point),
                             format_number(value), format_number(norm), format_number(lr)])


def iteration_table(expression, run, every, out) -> None:
    rows = []
    for k in shown_steps(run, every):
        point, value, norm, lr = run.row(k)
        rows.append([k, *map(float, point), float(value), float(norm), float(lr)])
    compat = "" if run.optimizer.compat == "torch" else f", {run.optimizer.compat}"
    title = f"{expression.text}  ({run.name}{compat})"
    print_table(title, ["step", *run.variables, "f", "‖∇f‖", "lr"], rows, file=out)
    out.write(summary(run) + "\n")


def summary(run) -> str:
    """The closing lines: how the run ended, the final point and value, the time."""
    point, value, norm, _ = run.final
    where = ", ".join(f"{v} = {format_number(x)}" for v, x in zip(run.variables, point))
    if run.diverged_at is not None:
        ended = f"diverged at step {run.diverged_at}"
    elif run.interrupted:
        ended = f"interrupted after {run.steps} steps"
    elif run.converged:
        ended = (f"converged after {run.steps} steps "
                 f"(‖∇f‖ = {format_number(norm)} <= tol {format_number(run.tol)})")
    elif run.tol == 0:
        ended = f"ran all {run.steps} steps (--tol 0: no convergence test)"
    else:
        ended = (f"not converged after {run.steps} steps "
                 f"(‖∇f‖ = {format_number(norm)} > tol {format_number(run.tol)})")
    return (f"{run.name}: {ended}\n"
            f"final point {where}, f = {format_number(value)}; {_seconds(run.seconds)}")


def _seconds(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def comparison_table(expression, runs, out) -> None:
    """One row per optimizer: its lr, final value, steps to tolerance, steps done, time."""
    rows = []
    for run in runs:
        if run.diverged_at is not None:
            status = f"diverged at {run.diverged_at}"
        elif run.interrupted:
            status = "interrupted"
        else:
            status = "converged" if run.converged else "not converged"
        to_tol = run.steps_to_tolerance()
        rows.append([run.name, float(run.optimizer.lr), float(run.final[1]),
                     "-" if to_tol is None else to_tol, run.steps, _seconds(run.seconds), status])
    columns = ["opt", "lr", "final f", "steps to tol", "steps", "time", "status"]
    numeric = [False, True, True, True, True, True, False]
    tol = format_number(runs[0].tol) if runs else ""
    print_table(f"{expression.text}  (tol {tol})", columns, rows, file=out, numeric=numeric)


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
