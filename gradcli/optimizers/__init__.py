"""Optimizers: ``gc.optimizers.SGD, Adam, ...``, ``make(name, ...)`` and the names the CLI offers."""
from .base import (  # noqa: F401
    ALL_NAMES, COMPATS, NAMES, SGD, Adagrad, Adam, Adamax, AdamW, Nadam, Newton, Optimizer,
    RMSprop, hyperparameters, make,
)
