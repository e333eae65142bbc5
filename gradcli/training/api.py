"""``gc.fit``: fit a model's parameters to data in one call, and the record a fit reports.

    >>> import gradcli as gc
    >>> result = gc.fit("a*exp(-k*t)", {"t": [0, 1, 2, 3], "y": [5.0, 3.0, 1.8, 1.1]},
    ...                 target="y", init={"a": 1, "k": 1})
    >>> result.opt, result.converged
    ('lm', True)

``opt="lm"`` (the default) is Levenberg-Marquardt (``training.lm``) and reports standard
errors and the covariance; any optimizer name of ``gradcli.optimizers`` runs ``epochs`` epochs
of it on the mean squared error (``training.fit``). Errors are GradcliError and name the
argument (``init``, ``epochs``, ``batch_size``, ``bounds``); the command line names its flags
instead. ``bounds`` keeps parameters in a box: ``{"k": (0, 0.5), "a": (0, None)}`` or the
command line's text ``"k=0:0.5,a=0:"``; the result's ``active_bounds`` names the bounds the
answer lies on.
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import GradcliError
from .dataset import Dataset, constants_used, read_csv, split_variables
from .fit import ARGUMENT_NAMES, DEFAULT_EPOCHS, DEFAULT_TOL, Fitter, initial_values

LM = "lm"


def as_dataset(data) -> Dataset:
    """A Dataset from a Dataset, a CSV file's path, or a mapping column -> numbers."""
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (str, os.PathLike)):
        return read_csv(os.fspath(data))
    if hasattr(data, "items"):
        columns = [str(c) for c in data]
        arrays = {}
        for c in columns:
            try:
                arrays[c] = np.asarray(data[c], dtype=np.float64).reshape(-1)
            except (TypeError, ValueError) as e:
                raise GradcliError(f"data: column '{c}' is not numbers ({e})") from None
            bad = np.flatnonzero(~np.isfinite(arrays[c]))
            if bad.size:  # as the CSV reader refuses such a cell (rows counted from 1 here)
                raise GradcliError(f"data: column '{c}', row {bad[0] + 1}: "
                                   f"{float(arrays[c][bad[0]])!r} is not a finite number")
        if len({len(a) for a in arrays.values()}) > 1:
            sizes = ", ".join(f"{c}: {len(a)}" for c, a in arrays.items())
            raise GradcliError(f"data: the columns have different lengths ({sizes})")
        return Dataset(columns, arrays)
    raise GradcliError(f"data: expected a mapping of columns, a CSV path or a Dataset, "
                       f"got {type(data).__name__}")


def fit(model, data, target: str = "y", *, init: dict | None = None, opt: str = LM,
        epochs: int | None = None, tol: float = DEFAULT_TOL, batch_size: int | None = None,
        seed: int | None = None, max_evaluations: int | None = None, names: dict | None = None,
        bounds=None, **optimizer_options):
    """Fit the parameters of ``model`` (text or ``gc.parse`` result) to ``data``'s ``target``.

    Returns a ``training.lm.LeastSquaresFit`` for ``opt="lm"`` and a ``training.fit.Fit``
    otherwise; both have ``params``, ``values()``, ``loss`` (MSE), ``r2``, ``converged``,
    ``epochs``, ``stuck`` and ``opt``, and ``record(result)`` gives the JSON record the
    command line prints. ``optimizer_options`` go to ``gradcli.optimizers.make`` (``lr=...``).
    ``bounds``: a mapping parameter -> (lo, hi), None for no bound, or ``"k=0:0.5,a=0:"``:
    lm keeps every trial point in the box, the gradient methods project every update.
    """
    from ..expression import Expression, parse

    names = {**ARGUMENT_NAMES, **(names or {})}
    expression = model if isinstance(model, Expression) else parse(str(model))
    dataset = as_dataset(data)
    if opt == LM:
        for name, value in (("batch_size", batch_size), ("seed", seed),
                            *optimizer_options.items()):
            if value is not None:
                raise GradcliError(f"{names.get(name, name)} does not apply to lm (a "
                                   f"least-squares method: every row, its own step)")
        if epochs is not None and max_evaluations is None:
            max_evaluations = epochs
        return least_squares(expression, dataset, target, init=init,
                             max_evaluations=max_evaluations, names=names, bounds=bounds)
    from .. import optimizers

    try:
        optimizer = optimizers.make(opt, **optimizer_options)
    except (ValueError, TypeError) as e:
        raise GradcliError(f"opt {opt!r}: {e}") from None
    box = None
    if bounds is not None:
        inputs, params = split_variables(list(expression.variables), dataset, target)
        box = parameter_bounds(bounds, params, inputs, names["bounds"])
    fitter = Fitter(expression, dataset, target, optimizer, init=init, batch_size=batch_size,
                    seed=seed, tol=tol, names=names, bounds=box)
    result = fitter.run(DEFAULT_EPOCHS if epochs is None else epochs)
    result.opt = opt
    return result


def least_squares(expression, dataset: Dataset, target: str, *, init=None,
                  max_evaluations: int | None = None, names: dict | None = None, bounds=None):
    """Levenberg-Marquardt on the rows of ``dataset`` (training.lm.fit_least_squares)."""
    from .lm import DEFAULT_MAX_EVALUATIONS, fit_least_squares

    names = {**ARGUMENT_NAMES, **(names or {})}
    inputs, params = split_variables(list(expression.variables), dataset, target,
                                     constants=constants_used(expression))
    start = initial_values(params, inputs, init, label=names["init"])
    box = None
    if bounds is not None:
        box = parameter_bounds(bounds, params, inputs, names["bounds"])
        try:
            box.check_start(start)
        except ValueError as e:
            raise GradcliError(f"{names['bounds']}: {e}") from None
    if max_evaluations is not None and (isinstance(max_evaluations, bool)
                                        or max_evaluations < 0):
        raise GradcliError(f"{names['epochs']} must be a whole number >= 0, "
                           f"got {max_evaluations}")
    return fit_least_squares(expression, {c: dataset.data[c] for c in inputs},
                             dataset.data[target], params, start, model=expression.text,
                             target_name=target,
                             max_evaluations=(DEFAULT_MAX_EVALUATIONS if max_evaluations is None
                                              else max_evaluations),
                             init_label=names["init"], bounds=box)


def parameter_bounds(bounds, params: list[str], inputs: list[str], label: str = "bounds"):
    """An optimizers.bounds.Bounds over ``params`` from the text ``"k=0:0.5,a=0:"`` (its parser)
    or a mapping parameter -> (lo, hi) with None for no bound; GradcliError, starting with
    ``label``, for a data column, a name the model does not have, lo > hi or a malformed bound."""

    from ..optimizers.bounds import Bounds

    if isinstance(bounds, Bounds) and bounds.variables == list(params):
        return bounds
    try:
        if isinstance(bounds, str):
            named = [part.partition("=")[0].strip() for part in bounds.split(",")]
        elif hasattr(bounds, "items"):
            named = [str(name) for name in bounds]
        else:
            raise ValueError(f"expected a mapping parameter -> (lo, hi) or text such as "
                             f"'k=0:1,a=0:', got {type(bounds).__name__}")
        for name in named:
            if name in inputs:
                raise ValueError(f"'{name}' is a data column, not a parameter: only parameters "
                                 f"have bounds (the parameters: {', '.join(params)})")
            if name and name not in params:
                raise ValueError(f"the model has no parameter '{name}' "
                                 f"(its parameters: {', '.join(params)})")
        return Bounds.of(bounds, params)
    except (ValueError, TypeError) as e:
        raise GradcliError(f"{label}: {e}") from None


def record(result, history: list[int] | None = None) -> dict:
    """The JSON record of a fit: model, opt, params, loss, r2, epochs, converged, stuck, the
    history rows ``history`` (epoch numbers; default: none), and for lm stderr, covariance,
    rss, dof, iterations."""
    out = {"model": result.model, "opt": getattr(result, "opt", None), "params": result.values(),
           "loss": result.loss, "r2": result.r2, "epochs": result.epochs,
           "converged": bool(result.converged)}
    if getattr(result, "opt", None) == LM:
        out.update({
            "stderr": result.named(result.stderr), "covariance": result.covariance.tolist(),
            "rss": result.rss, "dof": result.dof, "iterations": result.iterations,
            "evaluations": result.evaluations})
    if getattr(result, "bounds", None) is not None:
        out["active_bounds"] = result.active_bounds
    if getattr(result, "diverged_at", None) is not None:
        out["diverged_at"] = result.diverged_at
    out["stuck"] = list(result.stuck)
    out["history"] = [result.record(e) for e in (history or [])]
    return out
