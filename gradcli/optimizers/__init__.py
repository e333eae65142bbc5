"""Optimizers: the names the CLI offers, ``make(name, ...)``, and ``gc.optimizers.SGD, Adam, ...``.

The names and constants are defined here once (the CLI reads them without loading numpy);
the classes load on first use:

    base.py        Optimizer: clip -> maximize -> schedule -> decay -> step, apply_gradients
    rules.py       the first-order rules (SGD ... NAdam, RAdam, Rprop, Adadelta, ASGD, Lion)
    newton.py      Newton's method on the exact Hessian
    lbfgs.py       L-BFGS (torch.optim.LBFGS's algorithm) and BFGS, with a line search
    wolfe.py       torch's strong-Wolfe line search
    vectors.py     the vector operations of lbfgs.py and wolfe.py: numpy, or lists of floats
    float_step.py  the rules on Python floats, traced into one generated function
    bounds.py      box bounds: parsing, projection, the active set
    schedules.py, clipping.py
"""
from __future__ import annotations

import importlib

COMPATS = ("torch", "keras")
# the first-order rules, in the order --opt all runs them
NAMES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "adamax", "nadam",
         "radam", "rprop", "adadelta", "asgd", "lion")
SECOND_ORDER = ("newton", "lbfgs", "bfgs")  # keep their own step: --lr with several opts skips them
ALL_NAMES = (*NAMES, *SECOND_ORDER)
STEP_NAMES = (*NAMES, "newton")  # one update per gradient (fit's); lbfgs/bfgs search a line
DEFAULT_OPT = "lbfgs"  # minimize without --opt (SPEC 6.3)
DEFAULT_TOL = 1e-10  # minimize and fit stop when the gradient norm is <= this
LINE_SEARCHES = ("strong-wolfe", "none")  # lbfgs/bfgs: torch's strong_wolfe, or fixed steps

_HOMES = {"Optimizer": "base", "ARRAYS": "base",
          "SGD": "rules", "Adagrad": "rules", "RMSprop": "rules", "Adam": "rules",
          "AdamW": "rules", "Adamax": "rules", "Nadam": "rules", "RAdam": "rules",
          "Rprop": "rules", "Adadelta": "rules", "ASGD": "rules", "Lion": "rules",
          "Newton": "newton", "LBFGS": "lbfgs", "BFGS": "lbfgs"}
_CLASS_OF = {"sgd": "SGD", "momentum": "SGD", "nesterov": "SGD", "adagrad": "Adagrad",
             "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW", "adamax": "Adamax",
             "nadam": "Nadam", "radam": "RAdam", "rprop": "Rprop", "adadelta": "Adadelta",
             "asgd": "ASGD", "lion": "Lion", "newton": "Newton", "lbfgs": "LBFGS", "bfgs": "BFGS"}

__all__ = ["COMPATS", "NAMES", "SECOND_ORDER", "ALL_NAMES", "STEP_NAMES", "DEFAULT_OPT",
           "DEFAULT_TOL", "LINE_SEARCHES",
           "make", "hyperparameters", *_HOMES]


def __getattr__(name: str):
    """The classes, from their modules on first use (``gradcli diff`` never loads them)."""
    if name in _HOMES:
        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    if name in ("schedules", "clipping"):  # gc.optimizers.schedules.ExponentialDecay, as Keras
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_HOMES])


def _class(name: str):
    return __getattr__(_CLASS_OF[_known(name)])


def hyperparameters(name: str) -> tuple:
    """The keyword arguments ``make(name, ...)`` accepts."""
    import inspect

    cls = _class(name)
    own = [p for p in inspect.signature(cls.__init__).parameters
           if p not in ("self", "common", "lr", "bounds")]
    if name.lower() in ("momentum", "nesterov"):
        own.remove("nesterov")
    return (*cls.COMMON, *own)


def make(name: str, **kw):
    """The optimizer the command line calls ``name``; None values mean the default.

    'momentum' and 'nesterov' are SGD with momentum 0.9 unless given (and nesterov=True).
    """
    name = _known(name)
    kw = {k: v for k, v in kw.items() if v is not None}
    unknown = sorted(set(kw) - set(hyperparameters(name)))
    if unknown:
        raise ValueError(f"{name} does not take {', '.join(unknown)}")
    if name in ("momentum", "nesterov"):
        kw.setdefault("momentum", 0.9)
        kw["nesterov"] = name == "nesterov"
    opt = _class(name)(**kw)
    opt.name = name
    return opt


def _known(name: str) -> str:
    if name.lower() not in _CLASS_OF:
        raise ValueError(f"unknown optimizer {name!r}: choose from {', '.join(ALL_NAMES)}")
    return name.lower()
