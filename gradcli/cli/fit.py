"""``gradcli fit``: fit a model's parameters to CSV data by least squares (SPEC 2 and 6.3).

Options -> per ``--opt`` ``gradcli.training.api.least_squares`` (``lm``, the default:
Levenberg-Marquardt) or ``gradcli.training.fit.Fitter`` (the gradient methods) -> Rows for
the one writer:

- ``table`` (default on a terminal): per optimizer, an epoch table (epoch, loss, each
  parameter; about 20 rows, the first and last always, ``--every K``), then the fitted
  parameters, the loss, R² and how the run ended.
- ``plain`` (default in a pipe): the fitted parameters as ``b=0.98,w=2.0`` (sorted by name;
  the syntax of ``--init``); with several optimizers one line each, ``NAME b=...``.
- ``csv``: the table's rows under the header ``opt,epoch,loss,<parameters>`` (a parameter
  named like a fixed column is ``params[NAME]``).
- ``json``: one line per optimizer, ``{"model", "opt", "params", "loss", "r2", "epochs",
  "converged", "stuck", "interrupted", "history": [{"epoch", "loss", "params"}, ...]}``;
  ``epochs`` is the number performed and ``history`` holds the rows the table shows; lm adds
  ``stderr``, ``covariance``, ``rss``, ``dof``, ``iterations``, ``evaluations``
  (``training.api.record``). For lm an "epoch" is an iteration (an accepted step), the table
  shows ``value ± stderr``. With ``--bounds`` the record adds ``active_bounds`` (as
  minimize's) and the lines under the table name them.

Warnings: parameters that never moved from a zero gradient at the start (``stuck``), and
R² below 0.5 in a run that converged.

A run whose loss or gradient turns nan/inf stops there and the command exits with 1
(after the output), naming the epoch. Ctrl-C (SIGTERM) prints the epochs done and exits
with 130 (143).
"""
from __future__ import annotations

import math
import sys

import click

from ..errors import GradcliError
from ..optimizers import STEP_NAMES
from ..training.fit import DEFAULT_EPOCHS
from .app import EXIT_FAILED, command, exit_interrupted, warn, wrote
from .inputs import STDIN, parse_expression, start_values
from .options import RowSelection, build_optimizers, format_option, optimizer_options
from .progress import progress_bar
from .render import Row, Writer, format_number, table_cell

# each runs anywhere after `pip install gradcli`: the data comes on stdin
EXAMPLES = [
    "printf 'x,y\\n0,1\\n1,3\\n2,5\\n3,7\\n' | gradcli fit \"w*x+b\" --data - --target y",
    "printf 'x,y\\n0,1.1\\n1,2.9\\n2,5.2\\n3,6.8\\n' | gradcli fit \"w*x+b\" --data - "
    "--target y --opt adam --lr 0.1 --epochs 3000 --format json",
    "printf 't,y\\n0,2\\n1,0.74\\n2,0.27\\n3,0.1\\n' | gradcli fit \"a*exp(-k*t)\" --data - "
    "--target y --init a=1,k=1 --opt newton",
    "printf 'x,y\\n0,1\\n1,3\\n2,5\\n3,7\\n' | gradcli fit \"w*x+b\" --data - --target y "
    "--opt sgd,adam --lr 0.05 --plot fit.png",
    "printf 'x,y\\n0,1\\n1,3\\n2,5\\n3,7\\n4,9\\n5,11\\n' | gradcli fit \"w*x+b\" --data - "
    "--target y --opt sgd --batch-size 2 --seed 3",
    "printf 't,y\\n0,2\\n1,0.74\\n2,0.27\\n3,0.1\\n' | gradcli fit \"a*exp(-k*t)\" --data - "
    "--target y --init a=1,k=0.5 --bounds k=0:0.8,a=0:",
]


def _parse_init(ctx, param, value):
    if value is None:
        return None
    from .points import parse_point

    return parse_point(value, "--init")


@command("fit", examples=EXAMPLES)
@click.argument("model", metavar="MODEL")
@click.option("--data", "data", required=True, metavar="FILE|-",
              help="CSV file with a header row ('-': standard input).")
@click.option("--target", required=True, metavar="COLUMN", help="The column the model predicts.")
@click.option("--init", callback=_parse_init, metavar="w=0,b=0",
              help="Starting parameters (default: 0 for each).")
@click.option("--epochs", type=click.IntRange(min=0), default=DEFAULT_EPOCHS,
              show_default=True, metavar="N",
              help="At most N epochs (passes over the data); lm: N evaluations.")
@click.option("--batch-size", "batch_size", type=click.IntRange(min=1), metavar="B",
              help="Shuffled minibatches of B rows (default: the full batch).")
@click.option("--seed", type=click.IntRange(min=0), metavar="S",
              help="Seed of the minibatch shuffle (default 0).")
@click.option("--bounds", metavar="a=LO:HI,k=LO:",
              help="Keep parameters in a box (a side may be empty): lm projects each trial "
                   "point onto it, the gradient methods each update; the JSON names the bounds "
                   "active at the end.")
@optimizer_options(default_opt="lm", names=("lm", *STEP_NAMES))
@format_option
def fit(model, data, target, init, epochs, batch_size, seed, bounds, settings, format):
    """Fit the parameters of MODEL to CSV data by least squares.

    The variables of MODEL that are columns of the data are inputs; the others are the
    parameters. Levenberg-Marquardt by default (--opt lm: exact Jacobian, standard errors and
    covariance as scipy's curve_fit; --epochs caps its residual evaluations). The gradient
    methods (--opt sgd, adam, ...) minimize the mean squared error; an epoch with
    --batch-size B is one pass over the rows in a shuffled order, one update per B rows.
    Reports the parameters, the loss (MSE) and R² = 1 - SS_res/SS_tot.
    """
    from .. import limits
    from ..training.dataset import constants_used, read_csv, split_variables

    limits.check("--epochs", epochs, limits.MAX_EPOCHS)
    if model.strip() == STDIN:
        raise click.UsageError("fit reads its MODEL from the command line, not stdin ('-')")
    expression = parse_expression(model)
    dataset = read_csv(data, _stdin_stream() if data == STDIN else None)
    inputs, params = split_variables(list(expression.variables), dataset, target,
                                     constants=constants_used(expression))
    if not inputs:
        warn(f"the model reads no data column: its variables ({', '.join(params)}) are all "
             f"parameters (the columns: {', '.join(dataset.columns)})")
    start = _init_values(init, params)
    if bounds is not None:
        from ..training.api import parameter_bounds

        bounds = parameter_bounds(bounds, params, inputs, "--bounds")
    selection = RowSelection(settings.every, epochs)
    runs = [_fitter(expression, dataset, target, opt, start, batch_size, seed, settings,
                    selection.step, bounds) for opt in _optimizers(settings, batch_size, seed)]
    compare = len(runs) > 1
    stride = max(1, epochs // 1000)  # at most ~1000 progress calls per run

    bar = progress_bar(epochs * len(runs), "fit", value="loss")
    with Writer(format) as writer, bar as advance:
        for k, fitter in enumerate(runs):
            def progress(f, done=k * epochs):
                if f.epochs % stride == 0:
                    advance(done + f.epochs, f.loss)

            try:
                fitter.run(epochs, progress)
            except KeyboardInterrupt:
                fitter.fit.r2 = fitter.r2()
                fitter.interrupted = True
                for row in fit_rows(fitter, selection, batch_size, dataset.rows, compare, False):
                    writer.write(row)
                writer.flush()
                exit_interrupted(f"epoch {fitter.fit.epochs} of {epochs} "
                                 f"({fitter.optimizer.name})")
                return
            more = k < len(runs) - 1
            for row in fit_rows(fitter, selection, batch_size, dataset.rows, compare, more):
                writer.write(row)
            writer.flush()
    if settings.plot:
        _plot(settings.plot, expression, dataset, target, inputs, runs)
    for fitter in runs:
        if fitter.fit.stuck:
            stuck = fitter.fit.stuck
            warn(f"{fitter.optimizer.name}: {', '.join(stuck)} never moved: the gradient along "
                 f"{'it' if len(stuck) == 1 else 'them'} was 0 at the start (try another --init)")
        if fitter.fit.converged and fitter.fit.r2 < 0.5:
            warn(f"{fitter.optimizer.name} converged, but R² = {format_number(fitter.fit.r2)} "
                 f"< 0.5: the model explains less than half the variance (a local minimum? "
                 f"try another --init)")
        if getattr(fitter.fit, "dof", None) == 0:
            warn(f"{fitter.optimizer.name}: as many rows as parameters (0 degrees of freedom): "
                 f"the standard errors are inf")
    diverged = [(f.optimizer, f.fit) for f in runs if f.fit.diverged_at is not None]
    for opt, result in diverged:
        what = "gradient" if math.isfinite(result.loss) else "loss"
        if result.diverged_at == 0:
            start = ",".join(f"{n}={format_number(v)}" for n, v in result.values(0).items())
            click.echo(f"gradcli: {opt.name}: the {what} is not finite at the starting "
                       f"parameters {start} (try another --init)", err=True)
        else:
            click.echo(f"gradcli: {opt.name} diverged at epoch {result.diverged_at}: the {what} "
                       f"is not finite (try a smaller --lr)", err=True)
    if diverged:
        click.get_current_context().exit(EXIT_FAILED)


# the shared options' help speaks of steps and paths (minimize); fit's words for three of them
FIT_HELP = {
    "tol": "Stop when the norm of the full-batch gradient is <= T (0: run every epoch).",
    "every": "Show every Kth epoch (default: about 20 rows); the first and the last always.",
    "plot": "Draw the loss curve and, for one input column, the data with the fitted curve "
            "(needs matplotlib).",
}
for _param in fit.params:
    if _param.name in FIT_HELP:
        _param.help = FIT_HELP[_param.name]


def _init_values(init, params: list[str]) -> dict:
    """--init as {name: value}: a bare value is the one parameter's (the library checks
    the names, and says when one is a data column)."""
    if init is None:
        return {}
    if init.names == ("",):
        return start_values(params, init, "--init", noun="parameter", kind="model",
                            example="0")
    return init.as_dict()


# the library's errors name its arguments; the command line's are these flags
FLAGS = {"init": "--init", "epochs": "--epochs", "batch_size": "--batch-size", "tol": "--tol",
         "bounds": "--bounds"}


def _optimizers(settings, batch_size, seed) -> list:
    """build_optimizers for the gradient methods of --opt, with lm in its place; the options
    lm takes no part in are errors when lm runs alone."""
    from dataclasses import replace

    others = tuple(n for n in settings.names if n != LM)
    if not others:
        given = [flag for attr, flag in NOT_FOR_LM if getattr(settings, attr, None)]
        given += [flag for flag, v in (("--batch-size", batch_size), ("--seed", seed)) if v]
        given += ["--dtype float32"] if settings.dtype == "float32" else []
        if given:
            raise GradcliError(f"{given[0]} does not apply to --opt lm (Levenberg-Marquardt "
                               f"takes its own steps, over every row, in float64)")
    built = iter(build_optimizers(replace(settings, names=others)) if others else [])
    return [_LM() if name == LM else next(built) for name in settings.names]


LM = "lm"
# the options lm takes no part in: (settings attribute, flag)
NOT_FOR_LM = (("lr", "--lr"), ("momentum", "--momentum"), ("betas", "--betas"),
              ("eps", "--eps"), ("weight_decay", "--weight-decay"), ("decay", "--decay"),
              ("clip_norm", "--clip-norm"), ("clip_value", "--clip-value"),
              ("maximize", "--maximize"))


class _LM:
    name, lr = LM, None


class _LeastSquares:
    """An lm run with a Fitter's face: ``run(epochs)``, then ``fit`` (training.lm's
    LeastSquaresFit: epochs are its iterations, ``epochs`` caps its residual evaluations)."""

    batch_size = None
    tol = None
    interrupted = False

    def __init__(self, expression, dataset, target, start, bounds=None):
        self.optimizer, self.fit = _LM(), None
        self._args = (expression, dataset, target, start, bounds)

    def run(self, epochs, progress=None):
        from ..training.api import least_squares

        expression, dataset, target, start, bounds = self._args
        try:
            self.fit = least_squares(expression, dataset, target, init=start,
                                     max_evaluations=epochs, names=FLAGS, bounds=bounds)
        except KeyboardInterrupt as stop:  # the best point so far (training.lm)
            self.fit = getattr(stop, "partial", None)
            if self.fit is None:
                raise SystemExit(130) from None
            raise
        return self.fit

    def r2(self) -> float:
        return self.fit.r2 if self.fit is not None else math.nan


def _fitter(expression, dataset, target, optimizer, start, batch_size, seed, settings,
            keep_every, bounds=None):
    if optimizer.name == LM:
        return _LeastSquares(expression, dataset, target, start, bounds)
    from ..training.fit import Fitter

    fitter = Fitter(expression, dataset, target, optimizer, init=start, batch_size=batch_size,
                    seed=seed, tol=settings.tol, dtype=settings.dtype, keep_every=keep_every,
                    names=FLAGS, bounds=bounds)
    fitter.interrupted = False
    return fitter


# -- output ---------------------------------------------------------------------------------
FIXED = ("opt", "epoch", "loss")


def _shown(result, selection) -> list[int]:
    """The epochs shown: as RowSelection.select of 0..epochs, without listing them all."""
    if not len(result.losses):
        return []
    last, step = result.epochs, selection.step
    return [*range(0, last + 1, step), *([last] if last % step else [])]


def fit_rows(fitter, selection, batch_size, rows: int, compare: bool, more: bool) -> list[Row]:
    """A run's epoch rows (table and CSV) and its own row (JSON, plain, the lines under the
    table; ``more``: another run's table follows, after a blank line)."""
    result, optimizer = fitter.fit, fitter.optimizer
    if optimizer.name == LM and selection.every is None:  # about 20 of its iterations
        selection = RowSelection(None, result.epochs)
    names = [p if p not in FIXED else f"params[{p}]" for p in result.params]
    columns = ["opt", "epoch", "loss", *names]
    batches = "full batch" if fitter.batch_size is None else f"batches of {batch_size}"
    if optimizer.name == LM:
        title = f"{result.model} fitted to {result.target}: lm (Levenberg-Marquardt), {rows} rows"
    else:
        title = (f"{result.model} fitted to {result.target}: {optimizer.name}, "
                 f"lr {format_number(optimizer.lr)}, {batches}, {rows} rows")
    out = []
    step = "iteration" if optimizer.name == LM else "epoch"
    for e in _shown(result, selection):
        numbers = [float(result.losses[e]), *map(float, result.params_at(e))]
        out.append(Row(columns=columns, values=[optimizer.name, e, *numbers], title=title,
                       table_columns=[step, "loss", *result.params],
                       table_values=[e, *numbers]))
    shown = ",".join(f"{name}={format_number(v)}" for name, v in result.values().items())
    from ..training.api import record as fit_record

    record = fit_record(result, _shown(result, selection))
    record.update(opt=optimizer.name, interrupted=fitter.interrupted)
    record["history"] = record.pop("history")  # last, as before
    width = max(len(name) for name in [*result.params, "loss", "R²"])
    cell = table_cell  # the table's digits in the closing lines too, as minimize's
    lines = [f"{name:>{width}} = {cell(v)}" for name, v in result.values().items()]
    if optimizer.name == LM:
        lines = [f"{name:>{width}} = {cell(v)} ± {cell(e)}"
                 for (name, v), e in zip(result.values().items(), result.stderr)]
    lines += [f"{'loss':>{width}} = {cell(result.loss)}",
              f"{'R²':>{width}} = {cell(result.r2)}",
              *_bounds_line(result),
              _ending(result, fitter.tol, fitter.interrupted)]
    notes = "\n".join(lines) + ("\n" if more else "")
    out.append(Row(record=record, plain=f"{optimizer.name} {shown}" if compare else shown,
                   notes=notes))
    return out


def _bounds_line(result) -> list[str]:
    """With --bounds: the line naming the bounds the fitted parameters lie on."""
    box = getattr(result, "bounds", None)
    if box is None:
        return []
    active = result.active_bounds
    if not active:
        return [f"no bound active at the end (--bounds {box})"]
    values = result.values()
    return ["active bounds: " + ", ".join(f"{name} = {table_cell(values[name])} ({side})"
                                          for name, side in active.items())]


def _ending(result, tol, interrupted: bool = False) -> str:
    """How the run ended, in words (numbers to the table's digits)."""
    format_number = table_cell
    if tol is None:  # lm
        steps = f"{result.iterations} iteration{'s' if result.iterations != 1 else ''}"
        how = "converged" if result.converged else "not converged"
        return (f"{how} after {steps} ({result.evaluations} evaluations): {result.message}; "
                f"RSS {format_number(result.rss)}, {result.dof} degrees of freedom")
    epochs = f"{result.epochs} epoch{'s' if result.epochs != 1 else ''}"
    if interrupted:
        return f"interrupted after {epochs}"
    if result.diverged_at is not None:
        return f"diverged at epoch {result.diverged_at}"
    norm = table_cell(float(result.grad_norm))  # the table's digits: the line fits beside it
    if result.converged:
        return f"converged after {epochs}: gradient norm {norm} <= --tol {format_number(tol)}"
    if tol == 0:
        return f"{epochs} (--tol 0: no convergence test), gradient norm {norm}"
    return f"{epochs} (--epochs), not converged: gradient norm {norm} > --tol {format_number(tol)}"


def _plot(filename, expression, dataset, target, inputs, runs) -> None:
    import numpy as np

    from .plot import plot_fit

    column = inputs[0] if len(inputs) == 1 else None
    curve_x = None
    if column is not None:
        x = dataset.data[column]
        curve_x = np.linspace(float(x.min()), float(x.max()), 300)

    def curve(result):
        if column is None:
            return None
        with np.errstate(all="ignore"):
            y = expression.evaluate({**result.values(), column: curve_x})
        return np.broadcast_to(np.asarray(y, dtype=np.float64), curve_x.shape)

    parts = [(f.optimizer.name, np.arange(len(f.fit.losses)), np.array(f.fit.losses),
              curve(f.fit)) for f in runs]
    (label, epochs, losses, fitted), *others = parts
    results = [(f"{f.optimizer.name}: " if len(runs) > 1 else "")
               + ", ".join(f"{n} = {table_cell(v)}" for n, v in f.fit.values().items())
               + f", R² = {table_cell(float(f.fit.r2))}" for f in runs]
    names = {f.optimizer.name for f in runs}  # lm counts iterations, the others epochs
    step = ("iteration" if names == {LM} else "epoch" if LM not in names
            else "epoch (lm: iteration)")
    plot_fit(filename, expression.text, epochs, losses, column,
             dataset.data[column] if column else None, dataset.data[target], curve_x, fitted,
             target, label=label, others=others, results=results, step=step)
    wrote(filename)


def _stdin_stream():
    """stdin as a binary stream, read in blocks (decoded like a file's)."""
    stream = sys.stdin
    raw = getattr(stream, "buffer", None)
    if raw is not None:
        return raw
    text = stream.read()
    return text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
