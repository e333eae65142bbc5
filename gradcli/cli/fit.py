"""``gradcli fit``: fit a model's parameters to CSV data by mean squared error (SPEC section 2).

The fitting is ``gradcli.fitting``'s; this module reads the options and the data, runs
one fit per ``--opt`` and writes the results:

- ``table`` (default on a terminal): per optimizer, an epoch table (epoch, loss, each
  parameter; about 20 rows, the first and last always, ``--every K``), then the fitted
  parameters, the loss, R² and how the run ended.
- ``plain`` (default in a pipe): one line per optimizer, the fitted parameters as
  ``b=0.98,w=2.0`` (sorted by name; the syntax of ``--init``).
- ``csv``: the table's rows under the header ``opt,epoch,loss,<parameters>``.
- ``json``: one line per optimizer, ``{"model", "params", "loss", "r2", "epochs",
  "history": [{"epoch", "loss", "params"}, ...]}``; ``epochs`` is the number performed and
  ``history`` holds the rows the table shows.

A run whose loss or gradient turns nan/inf stops there and the command exits with 1
(after the output), naming the epoch. Ctrl-C prints the epochs done and exits with 130.
"""
from __future__ import annotations

import math
import sys

import click

from ..errors import GradcliError
from .render import format_number, json_line
from .common import EXIT_FAILED, STDIN, command, format_option, parse_expression, warn
from .optimizer_options import (OPTIMIZER_NAMES, RowSelection, build_optimizers,
                                exit_interrupted, optimizer_options, progress_bar)

EXAMPLES = [
    'gradcli fit "w*x+b" --data samples/tutorial_points.csv --target y --opt sgd --lr 0.01',
    'gradcli fit "w*x+b" --data samples/noisy_line.csv --target y --opt adam --lr 0.1 '
    '--epochs 3000 --format json',
    'gradcli fit "a*exp(-k*t)" --data samples/exponential_decay.csv --target y --init a=1,k=1 '
    '--opt newton',
    'gradcli fit "a*exp(-k*t)" --data samples/exponential_decay.csv --target y --init a=1 '
    '--opt adam --lr 0.05 --batch-size 8 --seed 3',
    'cat samples/noisy_line.csv | gradcli fit "w*x+b" --data - --target y --plot fit.png',
]
DEFAULT_EPOCHS = 1000


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
@click.option("--epochs", type=click.IntRange(min=0), default=DEFAULT_EPOCHS, show_default=True,
              metavar="N", help="At most N epochs (passes over the data).")
@click.option("--batch-size", "batch_size", type=click.IntRange(min=1), metavar="B",
              help="Shuffled minibatches of B rows (default: the full batch).")
@click.option("--seed", type=click.IntRange(min=0), metavar="S",
              help="Seed of the minibatch shuffle (default 0).")
@optimizer_options(default_opt="sgd", names=OPTIMIZER_NAMES)
@format_option
def fit(model, data, target, init, epochs, batch_size, seed, settings, format):
    """Fit the parameters of MODEL to CSV data by minimizing the mean squared error.

    The variables of MODEL that are columns of the data are inputs; the others are the
    parameters. Full-batch gradient descent by default (--opt sgd, lr 0.01); an epoch with
    --batch-size B is one pass over the rows in a shuffled order, one update per B rows.
    Reports the parameters, the loss (MSE) and R² = 1 - SS_res/SS_tot.
    """
    from .. import limits
    from ..training.dataset import read_csv, split_variables

    limits.check("--epochs", epochs, limits.MAX_EPOCHS)
    if model.strip() == STDIN:
        raise click.UsageError("fit reads its MODEL from the command line, not stdin ('-')")
    expression = parse_expression(model)
    dataset = read_csv(data, _stdin_bytes() if data == STDIN else None)
    inputs, params = split_variables(list(expression.variables), dataset, target)
    if not inputs:
        warn(f"the model reads no data column: its variables ({', '.join(params)}) are all "
             f"parameters (the columns: {', '.join(dataset.columns)})")
    start = _init_values(init, params)
    optimizers = build_optimizers(settings)
    selection = RowSelection(settings.every, epochs)
    runs = [(opt, _fitter(expression, dataset, target, opt, start, batch_size, seed, settings))
            for opt in optimizers]
    stride = max(1, epochs // 1000)  # at most ~1000 bar updates per run: each costs ~10 us

    with progress_bar(epochs * len(runs), "fit") as advance:
        for k, (optimizer, fitter) in enumerate(runs):
            def progress(f, done=k * epochs):
                if f.epochs % stride == 0:
                    advance(done + f.epochs)

            try:
                fitter.run(epochs, progress)
            except KeyboardInterrupt:
                fitter.fit.r2 = fitter.r2()
                _write(format, runs[:k + 1], selection, batch_size, dataset.rows, settings.tol)
                exit_interrupted(f"epoch {fitter.fit.epochs} of {epochs} ({optimizer.name})")
                return
    _write(format, runs, selection, batch_size, dataset.rows, settings.tol)
    if settings.plot:
        _plot(settings.plot, expression, dataset, target, inputs, runs)
    diverged = [(opt, f.fit) for opt, f in runs if f.fit.diverged_at is not None]
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
    """--init as {name: value}; a bare value needs a model with one parameter."""
    if init is None:
        return {}
    from .points import BARE

    if init.names == (BARE,):
        if len(params) != 1:
            raise GradcliError(
                f"--init: a value without a name needs a model with one parameter; this one has "
                f"{len(params)} ({', '.join(params)}): name them, as "
                f"{','.join(f'{p}=0' for p in params)}")
        return {params[0]: init.values[0]}
    return init.as_dict()


def _fitter(expression, dataset, target, optimizer, start, batch_size, seed, settings):
    from ..training.fit import Fitter

    return Fitter(expression, dataset, target, optimizer, init=start, batch_size=batch_size,
                  seed=seed, tol=settings.tol, dtype=settings.dtype)


# -- output ---------------------------------------------------------------------------------
def _shown(result, selection) -> list[int]:
    """The epochs shown: as RowSelection.select of 0..epochs, without listing them all."""
    if not len(result.losses):
        return []
    last, step = result.epochs, selection.step
    return [*range(0, last + 1, step), *([last] if last % step else [])]


def _write(format, runs, selection, batch_size, rows, tol) -> None:
    out = sys.stdout
    if format == "table":
        for k, (optimizer, fitter) in enumerate(runs):
            if k:
                out.write("\n")
            _write_table(optimizer, fitter, selection, batch_size, rows, tol)
    elif format == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        for k, (optimizer, fitter) in enumerate(runs):
            result = fitter.fit
            if k == 0:
                writer.writerow(["opt", "epoch", "loss", *result.params])
            for e in _shown(result, selection):
                writer.writerow([optimizer.name, e, format_number(result.losses[e]),
                                 *(format_number(v) for v in result.path[e])])
    else:
        for optimizer, fitter in runs:
            result = fitter.fit
            if format == "json":
                out.write(json_line({
                    "model": result.model, "params": result.values(), "loss": result.loss,
                    "r2": result.r2, "epochs": result.epochs,
                    "history": [result.record(e) for e in _shown(result, selection)],
                }) + "\n")
            else:
                out.write(",".join(f"{name}={format_number(v)}"
                                   for name, v in result.values().items()) + "\n")
    out.flush()


def _write_table(optimizer, fitter, selection, batch_size, rows, tol) -> None:
    from .render import print_table

    result = fitter.fit
    batches = "full batch" if fitter.batch_size is None else f"batches of {batch_size}"
    title = (f"{result.model} fitted to {result.target}: {optimizer.name}, "
             f"lr {format_number(optimizer.lr)}, {batches}, {rows} rows")
    table = [[e, float(result.losses[e]), *result.path[e].tolist()]
             for e in _shown(result, selection)]
    print_table(title, ["epoch", "loss", *result.params], table)
    width = max(len(name) for name in [*result.params, "loss", "R²"])
    for name, value in result.values().items():
        click.echo(f"{name:>{width}} = {format_number(value)}")
    click.echo(f"{'loss':>{width}} = {format_number(result.loss)}")
    click.echo(f"{'R²':>{width}} = {format_number(result.r2)}")
    click.echo(_ending(result, tol))


def _ending(result, tol) -> str:
    """How the run ended, in words."""
    epochs = f"{result.epochs} epoch{'s' if result.epochs != 1 else ''}"
    if result.diverged_at is not None:
        return f"diverged at epoch {result.diverged_at}"
    norm = format_number(result.grad_norm)
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

    parts = [(opt.name, np.arange(len(f.fit.losses)), np.array(f.fit.losses), curve(f.fit))
             for opt, f in runs]
    (label, epochs, losses, fitted), *others = parts
    plot_fit(filename, expression.text, epochs, losses, column,
             dataset.data[column] if column else None, dataset.data[target], curve_x, fitted,
             target, label=label, others=others)


def _stdin_bytes() -> bytes:
    """All of stdin as bytes (decoded like a file's; click.get_binary_stream is deprecated)."""
    stream = sys.stdin
    raw = getattr(stream, "buffer", None)
    if raw is not None:
        return raw.read()
    text = stream.read()
    return text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
