"""The optimizer options shared by ``gradcli minimize`` and ``gradcli fit``, and their run helpers.

How a subcommand uses it (``fit`` as ``minimize`` does)::

    from .optimizer_options import (optimizer_options, build_optimizers, RowSelection,
                                    progress_bar, exit_interrupted)

    @command("fit", examples=[...])
    @click.argument("model")
    ...
    @optimizer_options(default_opt="adam", names=FIT_OPTIMIZERS)
    @format_option
    def fit(model, ..., settings, format):
        optimizers = build_optimizers(settings)        # list of fresh Optimizers, one per --opt
        rows = RowSelection(settings.every, epochs)    # which history rows are shown
        with progress_bar(epochs, "fit") as advance:   # advance(done) now and then
            ...
        settings.tol, settings.plot, settings.dtype    # the run options

The decorator adds the options below and hands the command one keyword argument,
``settings`` (an ``OptimizerSettings``), instead of one per option:

    --opt NAME|a,b,c|all   --lr LR   --momentum M   --betas B1,B2   --eps EPS
    --weight-decay WD      --decay exp:GAMMA|step:EVERY:GAMMA|cosine:T_MAX|inverse:K
    --clip-norm C          --clip-value C           --dtype float32|float64
    --maximize             --compat torch|keras     --tol T (default 1e-10)
    --every K              --plot FILE.png|.svg

Malformed values are click usage errors (``gradcli: error: invalid value for '--betas':
...``, exit 2), raised while the options are parsed. ``build_optimizers`` makes a fresh
optimizer per name each time it is called (an optimizer holds state: build one per run);
a value that an optimizer rejects, or an option that none of the chosen optimizers takes
(``--betas`` with ``--opt sgd``), is a GradcliError (exit 2). With several optimizers an
option applies to those that take it.

Run helpers:
- ``RowSelection(every, steps)``: the rows a table and a JSON history show: every Kth step
  (default: about 20 rows, ``default_every(steps)``), the first and the last always.
- ``progress_bar(total, label)``: a context manager giving ``advance(done)``; a rich bar on
  stderr once a run has lasted a second, only when stderr is a terminal. Cheap to call.
- ``exit_interrupted(what_was_done)``: after Ctrl-C, ``gradcli: interrupted after ...`` on
  stderr and exit status 130 (print the rows so far first).

Only click and the standard library are imported here; the optimizers load in
``build_optimizers``, rich only when a bar is drawn.
"""
from __future__ import annotations

import difflib
import functools
import math
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass

import click

from ..errors import GradcliError
from ..optimizers import ALL_NAMES, DEFAULT_TOL  # names only: the classes load in build_optimizers

__all__ = ["OPTIMIZER_NAMES", "OptimizerSettings", "optimizer_options", "build_optimizers",
           "RowSelection", "default_every", "progress_bar", "exit_interrupted",
           "DEFAULT_TOL", "TABLE_ROWS"]

OPTIMIZER_NAMES = ALL_NAMES
TABLE_ROWS = 20  # about this many rows by default (plus the first)
EXIT_INTERRUPTED = 130

# option -> (make() keyword, the optimizers that take it; None: every optimizer)
_APPLIES = {
    "momentum": ("momentum", ("sgd", "momentum", "nesterov", "rmsprop")),
    "betas": ("betas", ("adam", "adamw", "adamax", "nadam")),
    "eps": ("eps", ("adagrad", "rmsprop", "adam", "adamw", "adamax", "nadam")),
    "weight_decay": ("weight_decay", None),
    "lr": ("lr", None),
    "decay": ("schedule", None),
    "clip_norm": ("clip_norm", None),
    "clip_value": ("clip_value", None),
    "maximize": ("maximize", None),
    "compat": ("compat", None),
    "dtype": ("dtype", None),
}


@dataclass(frozen=True)
class OptimizerSettings:
    """The parsed optimizer options (None: the optimizer's own default)."""

    names: tuple[str, ...]
    lr: float | None = None
    momentum: float | None = None
    betas: tuple[float, float] | None = None
    eps: float | None = None
    weight_decay: float | None = None
    decay: object = None  # a gradcli.schedules schedule
    clip_norm: float | None = None
    clip_value: float | None = None
    dtype: str = "float64"
    maximize: bool = False
    compat: str = "torch"
    tol: float = DEFAULT_TOL
    every: int | None = None
    plot: str | None = None

    def keywords(self, name: str) -> dict:
        """The ``gradcli.optimizers.make`` keywords for optimizer ``name``."""
        out = {}
        for option, (keyword, takers) in _APPLIES.items():
            value = getattr(self, option)
            if value is None or value is False:
                continue
            if takers is None or name in takers:
                out[keyword] = value
        return out


def build_optimizers(settings: OptimizerSettings) -> list:
    """A fresh optimizer per name of ``--opt``, in order; GradcliError for a bad combination."""
    from .. import optimizers

    for option, (_, takers) in _APPLIES.items():
        value = getattr(settings, option)
        if value is None or takers is None:
            continue
        if not any(n in takers for n in settings.names):
            flag = "--" + option.replace("_", "-")
            chosen = ", ".join(settings.names)
            raise GradcliError(f"{flag} does not apply to {chosen} "
                               f"(it applies to {', '.join(takers)})")
    out = []
    for name in settings.names:
        try:
            out.append(optimizers.make(name, **settings.keywords(name)))
        except ValueError as e:
            raise GradcliError(f"--opt {name}: {e}") from None
    return out


# -- parsing the options ---------------------------------------------------------------------
def _parse_opt(names):
    def parse(ctx, param, value):
        if value is None:  # click 8.4 runs the callback before its own required check
            raise click.MissingParameter(ctx=ctx, param=param)
        chosen = []
        for part in value.split(","):
            part = part.strip().lower()
            if part == "all":
                chosen.extend(names)
                continue
            if part not in names:
                close = difflib.get_close_matches(part, names, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise click.BadParameter(f"unknown optimizer '{part}'{hint}: choose from "
                                         f"{', '.join(names)}, a list a,b,c, or all", ctx, param)
            chosen.append(part)
        return tuple(dict.fromkeys(chosen))  # each once, in the order given

    return parse


def _parse_betas(ctx, param, value):
    if value is None:
        return None
    parts = value.split(",")
    try:
        b1, b2 = (float(p) for p in parts)
    except ValueError:
        raise click.BadParameter(f"write two numbers B1,B2 such as 0.9,0.999, not {value!r}",
                                 ctx, param) from None
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise click.BadParameter(f"each beta must be in [0, 1), got {value!r}", ctx, param)
    return b1, b2


def _parse_decay(ctx, param, value):
    if value is None:
        return None
    from ..optimizers.schedules import parse_schedule

    try:
        return parse_schedule(value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None


def _non_negative(ctx, param, value):
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise click.BadParameter(f"must be a finite number >= 0, got {value!r}", ctx, param)
    return value


def _positive(ctx, param, value):
    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"must be a finite number > 0, got {value!r}", ctx, param)
    return value


def _plot_file(ctx, param, value):
    if value is None:
        return None
    from .plot import check_target

    check_target(value)  # GradcliError: bad suffix, missing directory, no matplotlib
    return value


_SETTINGS_FIELDS = ("opt", "lr", "momentum", "betas", "eps", "weight_decay", "decay",
                    "clip_norm", "clip_value", "dtype", "maximize", "compat", "tol", "every",
                    "plot")


def optimizer_options(func=None, *, default_opt: str | None = None,
                      names: tuple[str, ...] = OPTIMIZER_NAMES):
    """Add the shared optimizer options; the command receives ``settings`` (OptimizerSettings).

    ``default_opt`` None makes ``--opt`` required; ``names`` are the optimizers offered
    (``--opt all`` is all of them, in this order).
    """

    def decorate(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            values = {k: kwargs.pop(k) for k in _SETTINGS_FIELDS}
            if values["clip_norm"] is not None and values["clip_value"] is not None:
                raise click.UsageError("give --clip-norm or --clip-value, not both")
            opt = values.pop("opt")
            kwargs["settings"] = OptimizerSettings(names=opt, **values)
            return f(*args, **kwargs)

        wrapper.__click_params__ = list(getattr(f, "__click_params__", []))
        options = [
            click.option("--opt", "opt", metavar="NAME|a,b,c|all", default=default_opt,
                         required=default_opt is None, callback=_parse_opt(names),
                         help=f"Optimizer: {', '.join(names)}; several a,b,c or all to "
                              f"compare them" + (f" (default: {default_opt})."
                                                 if default_opt else ".")),
            click.option("--lr", type=float, callback=_non_negative, metavar="LR",
                         help="Learning rate (default: the optimizer's; sgd 0.01)."),
            click.option("--momentum", type=float, callback=_non_negative, metavar="M",
                         help="Momentum (default 0.9 for momentum and nesterov)."),
            click.option("--betas", callback=_parse_betas, metavar="B1,B2",
                         help="Adam-family moment decay rates (default 0.9,0.999)."),
            click.option("--eps", type=float, callback=_non_negative, metavar="EPS",
                         help="Epsilon of the adaptive optimizers (default: the optimizer's)."),
            click.option("--weight-decay", "weight_decay", type=float, callback=_non_negative,
                         metavar="WD", help="Weight decay (torch: L2 in the gradient; adamw "
                                            "and --compat keras: decoupled)."),
            click.option("--decay", callback=_parse_decay,
                         metavar="exp:GAMMA|step:EVERY:GAMMA|cosine:T_MAX|inverse:K",
                         help="Learning-rate schedule; k = updates done before."),
            click.option("--clip-norm", "clip_norm", type=float, callback=_positive,
                         metavar="C", help="Clip the gradient to global norm C: g*C/max(|g|,C)."),
            click.option("--clip-value", "clip_value", type=float, callback=_positive,
                         metavar="C", help="Clip each gradient component to [-C, C]."),
            click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float64",
                         show_default=True, help="Arithmetic of the parameters and the update."),
            click.option("--maximize", is_flag=True, help="Ascend: maximize instead."),
            click.option("--compat", type=click.Choice(["torch", "keras"]), default="torch",
                         show_default=True, help="Update rules and defaults of torch.optim "
                                                 "or of Keras 3."),
            click.option("--tol", type=float, default=DEFAULT_TOL, callback=_non_negative,
                         show_default=True, metavar="T",
                         help="Stop when the gradient norm is <= T (0: run every step)."),
            click.option("--every", type=click.IntRange(min=1), metavar="K",
                         help=f"Show every Kth step (default: about {TABLE_ROWS} rows); the "
                              f"first and the last always."),
            click.option("--plot", callback=_plot_file, metavar="FILE.png|.svg",
                         help="Draw the path and the loss curve (needs matplotlib)."),
        ]
        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper

    return decorate(func) if func is not None else decorate


# -- which rows are shown ----------------------------------------------------------------------
def default_every(steps: int) -> int:
    """The step between shown rows for about TABLE_ROWS rows over ``steps`` steps."""
    return max(1, math.ceil(steps / TABLE_ROWS))


@dataclass(frozen=True)
class RowSelection:
    """Steps shown: 0, every Kth (K = ``every`` or ``default_every(steps)``), and the last."""

    every: int | None
    steps: int

    @property
    def step(self) -> int:
        return self.every if self.every is not None else default_every(self.steps)

    def shows(self, k: int) -> bool:
        """True for a step shown whatever comes after it (the last is added at the end)."""
        return k % self.step == 0

    def steps_shown(self, last: int) -> list[int]:
        """The steps shown of a run that ended at step ``last``: select(range(last + 1))."""
        k = self.step
        out = list(range(0, last + 1, k))
        if last % k:
            out.append(last)
        return out

    def select(self, records: list) -> list:
        """The shown ones of consecutive records 0..n: every Kth and the last."""
        k = self.step
        out = records[::k]
        if records and (len(records) - 1) % k:
            out.append(records[-1])
        return out


# -- progress and interruption ------------------------------------------------------------------
def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def progress_bar(total: int, label: str, delay: float = 1.0):
    """Yield ``advance(done)``: after ``delay`` seconds, a rich bar on stderr (terminals only)."""
    if not _stderr_is_terminal() or total <= 0:
        yield lambda done: None
        return
    start = time.perf_counter()
    state = {"bar": None, "task": None}

    def advance(done: int) -> None:
        bar = state["bar"]
        if bar is None:
            if time.perf_counter() - start < delay:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            bar = Progress("{task.description}", BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), transient=True,
                           console=Console(stderr=True, force_terminal=True))
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(label, total=total)
        bar.update(state["task"], completed=done)

    try:
        yield advance
    finally:
        if state["bar"] is not None:
            state["bar"].stop()


def exit_interrupted(what_was_done: str) -> None:
    """``gradcli: interrupted after ...`` on stderr, then exit status 130."""
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass
    click.echo(f"gradcli: interrupted after {what_was_done}", err=True)
    click.get_current_context().exit(EXIT_INTERRUPTED)
