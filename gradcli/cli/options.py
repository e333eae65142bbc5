"""The options the subcommands share, declared once: what they accept and what they mean.

- ``expr_argument``, ``at_option`` (``--at POINT``, repeatable, ``-`` for stdin; Points),
  ``format_option`` (``--format``; default table on a terminal, else plain),
  ``order_option`` / ``wrt_option`` (diff, check), ``NonNegative`` (a number >= 0).
- ``optimizer_options``: the options of ``minimize`` and ``fit`` (--opt, --lr, --momentum,
  --betas, --eps, --weight-decay, --decay, --clip-norm, --clip-value, --dtype, --maximize,
  --compat, --tol, --every, --plot), handed to the command as one ``settings``
  (``OptimizerSettings``); ``build_optimizers(settings)`` makes a fresh optimizer per name.
  To add an option: a field of OptimizerSettings, a line in ``_APPLIES`` (the optimizers
  that take it), a ``click.option`` in ``optimizer_options`` and its name in
  ``_SETTINGS_FIELDS``.
- ``RowSelection``: which history rows a table and a JSON history show (``--every``).

Malformed values are click usage errors (``gradcli: error: invalid value for '--betas':
...``, exit 2), raised while the options are parsed; a value an optimizer rejects, or an
option none of the chosen optimizers takes (``--betas`` with ``--opt sgd``), is a
GradcliError (exit 2).

Only click, the standard library and the optimizers' names (``gradcli.optimizers``, no
numpy) are imported here; the optimizers load in ``build_optimizers``.
"""
from __future__ import annotations

import difflib
import functools
import math
import sys
from dataclasses import dataclass

import click

from ..errors import GradcliError
from ..limits import MAX_ORDER
# names only: the classes load in build_optimizers
from ..optimizers import ALL_NAMES, COMPATS, DEFAULT_TOL, LINE_SEARCHES, NAMES, SECOND_ORDER
from .points import parse_point

STDIN = "-"
TABLE_ROWS = 20  # about this many rows by default (plus the first)


# -- the common options ----------------------------------------------------------------------
expr_argument = click.argument("expr", metavar="EXPR")


def stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def format_option(func=None, *, choices=("table", "plain", "csv", "json"),
                  tty_default: str = "table", pipe_default: str = "plain"):
    """``--format``: one of ``choices``; default ``tty_default`` on a terminal, else
    ``pipe_default``. Use bare (``@format_option``) or called (``@format_option(choices=...)``)."""

    def resolve(ctx, param, value):
        if value is None:
            return tty_default if stdout_is_terminal() else pipe_default
        return value

    decorator = click.option(
        "--format", "format", type=click.Choice(list(choices), case_sensitive=False),
        default=None, callback=resolve, metavar="|".join(choices),
        help=f"Output format (default: {tty_default} on a terminal, {pipe_default} otherwise).")
    return decorator(func) if func is not None else decorator


def _parse_at(ctx, param, values):
    """The --at values as Points (STDIN for '-'); a malformed one raises PointError,
    reported with a caret under the column like a parse error."""
    out = []
    for value in values:
        if value.strip() == STDIN:
            if STDIN in out:
                raise click.BadParameter("'-' (stdin) is given twice", ctx, param)
            out.append(STDIN)
        else:
            out.append(parse_point(value, "--at"))
    return tuple(out)


at_option = click.option(
    "--at", "at", multiple=True, metavar="POINT", callback=_parse_at,
    help="Point: 2 (one variable) or x=1,y=2; repeat for several points; "
         "'-' reads points from stdin, one per line.")


class Order(click.ParamType):
    """A non-negative integer (the order of the derivative)."""

    name = "N"

    def convert(self, value, param, ctx):
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()):
            self.fail(f"must be a non-negative integer, got {value!r}", param, ctx)
        if len(text) > 12 or int(text) > MAX_ORDER:  # each row holds N+1 numbers a point
            self.fail(f"{text} is beyond the limit of {MAX_ORDER}", param, ctx)
        return int(text)


def order_option(verb: str):
    """``--order N`` (default 1): the derivatives 0..N are ``verb`` (computed, checked)."""
    return click.option("--order", "-n", type=Order(), default=1, show_default=True,
                        help=f"Highest order N: derivatives 0..N are {verb}.")


wrt_option = click.option(
    "--wrt", metavar="VAR", default=None,
    help="The variable to differentiate along (needed when there are several).")


class NonNegative(click.ParamType):
    """A number >= 0 (inf allowed: no tolerance limit, no deadline); nan is refused here,
    where click reads the option, so that the message names it."""

    name = "float"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a number", param, ctx)
        if not number >= 0:  # nan compares false
            self.fail(f"must be a number >= 0, got {value!r}", param, ctx)
        return number


# -- the optimizer options (minimize, fit) -----------------------------------------------------
# option -> (make() keyword, the optimizers that take it; None: every optimizer)
_STEPPED = (*NAMES, "newton")  # the methods that take schedules and clipping (not lbfgs/bfgs)
_QUASI_NEWTON = ("lbfgs", "bfgs")
_APPLIES = {
    "momentum": ("momentum", ("sgd", "momentum", "nesterov", "rmsprop")),
    "betas": ("betas", ("adam", "adamw", "adamax", "nadam", "radam", "lion")),
    "eps": ("eps", ("adagrad", "rmsprop", "adam", "adamw", "adamax", "nadam", "radam",
                    "adadelta")),
    "weight_decay": ("weight_decay", tuple(n for n in _STEPPED if n != "rprop")),
    "lr": ("lr", None),
    "decay": ("schedule", _STEPPED),
    "clip_norm": ("clip_norm", _STEPPED),
    "clip_value": ("clip_value", _STEPPED),
    "maximize": ("maximize", None),
    "compat": ("compat", None),
    "dtype": ("dtype", None),
    "line_search": ("line_search", _QUASI_NEWTON),
    "history_size": ("history_size", ("lbfgs",)),
    "tolerance_grad": ("tolerance_grad", _QUASI_NEWTON),
    "tolerance_change": ("tolerance_change", _QUASI_NEWTON),
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
    # minimize's own options (quasi_newton_options), None where a command has none
    line_search: str | None = None
    history_size: int | None = None
    tolerance_grad: float | None = None
    tolerance_change: float | None = None

    def keywords(self, name: str) -> dict:
        """The ``gradcli.optimizers.make`` keywords for optimizer ``name``."""
        out = {}
        for option, (keyword, takers) in _APPLIES.items():
            value = getattr(self, option)
            if value is None or value is False:
                continue
            if option == "lr" and len(self.names) > 1 and name in SECOND_ORDER:
                continue  # compared with first-order methods, Newton keeps its own step
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
                      names: tuple[str, ...] | None = None):
    """Add the shared optimizer options; the command receives ``settings`` (OptimizerSettings).

    ``default_opt`` None makes ``--opt`` required; ``names`` are the optimizers offered
    (``--opt all`` is all of them, in this order; default: every optimizer).
    """
    names = tuple(names) if names is not None else ALL_NAMES

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
                         help="Learning rate (default: the optimizer's in torch.optim, sgd 0.001; "
                              "with --compat keras, in Keras, sgd 0.01)."),
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
            click.option("--compat", type=click.Choice(list(COMPATS)), default="torch",
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


def quasi_newton_options(f):
    """minimize's options of L-BFGS and BFGS; the command receives ``quasi_newton`` (a dict of
    OptimizerSettings fields: ``dataclasses.replace(settings, **quasi_newton)``)."""
    fields = ("line_search", "history_size", "tolerance_grad", "tolerance_change")

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        kwargs["quasi_newton"] = {k: kwargs.pop(k) for k in fields}
        return f(*args, **kwargs)

    wrapper.__click_params__ = list(getattr(f, "__click_params__", []))
    options = [
        click.option("--line-search", "line_search", type=click.Choice(list(LINE_SEARCHES)),
                     help="lbfgs/bfgs: torch's strong-Wolfe line search, or none (steps of lr) "
                          "[default: strong-wolfe]."),
        click.option("--history-size", "history_size", type=click.IntRange(min=1), metavar="M",
                     help="lbfgs: the (s, y) pairs kept [default: 100]."),
        click.option("--tolerance-grad", "tolerance_grad", type=float, callback=_non_negative,
                     metavar="T", help="lbfgs/bfgs: stop when max |df/dx_i| <= T "
                                       "[default: 1e-7, torch's]."),
        click.option("--tolerance-change", "tolerance_change", type=float,
                     callback=_non_negative, metavar="T",
                     help="lbfgs/bfgs: stop when f or the step changes by less than T "
                          "[default: 1e-9, torch's]."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


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
