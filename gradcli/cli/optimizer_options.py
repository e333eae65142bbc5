"""Moved: the optimizer options are in ``gradcli.cli.options``, progress in ``gradcli.cli.progress``.

Kept only so that work written against the old module still imports; new code imports from
``options``/``progress``/``app``. Delete once nothing imports it.
"""
from .app import EXIT_INTERRUPTED, exit_interrupted  # noqa: F401
from .options import (ALL_NAMES as OPTIMIZER_NAMES, DEFAULT_TOL, TABLE_ROWS,  # noqa: F401
                      OptimizerSettings, RowSelection, build_optimizers, default_every,
                      optimizer_options)
from .progress import _stderr_is_terminal, progress_bar  # noqa: F401
