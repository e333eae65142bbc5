"""Shared fixtures: ``gradcli(*args, input=...)`` runs the command line in-process."""
import os

import pytest
from click.testing import CliRunner
from hypothesis import settings

# In CI hypothesis draws the same examples every run (derandomize), so a CI verdict is
# reproducible and a red run is a code change, not a lucky draw; the inner loop keeps random
# draws (and the example database) to go on exploring.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
    settings.load_profile("ci")

# rich reads these: keep tables plain (no colour codes) and of a known width
TABLE_ENV = {"COLUMNS": "100", "LINES": "40", "FORCE_COLOR": None, "NO_COLOR": "1",
             "TTY_COMPATIBLE": None, "TTY_INTERACTIVE": None}


@pytest.fixture
def gradcli():
    """Run ``gradcli ARGS`` with CliRunner; the result has stdout, stderr and exit_code.

    The process is tuned as ``gradcli.cli.main`` tunes the CLI's (tune_process: malloc,
    the collector paused while building), so in-process runs take the CLI's time."""
    from gradcli.cli import cli
    from gradcli.compiled.tuning import tune_process

    tune_process()

    def run(*args, input=None):
        return CliRunner(env=TABLE_ENV).invoke(cli, list(args), input=input, prog_name="gradcli")

    return run


@pytest.fixture
def value_reading_op():
    """A function ``ramp(x)`` (max(x, 0)) whose gradient rule reads its input's value, as
    abs's and max's did before the mask ops: no registered op does now, and this keeps the
    compiled programs' run-time rule path (rule instructions, nested-tape Hessians) tested."""
    import numpy as np

    import gradcli as gc
    from gradcli.compiled import code
    from gradcli.taylor import series as T
    from gradcli.registry import OPS, op

    @op("test_ramp", 1, language="ramp", traceable=False)
    class Ramp:
        """max(x, 0), its mask read off the values"""

        def forward(x):
            return np.maximum(x, 0.0)

        def grad(g, ans, x):
            """g * (x > 0)"""
            return (g * gc.constant(np.asarray(x.value > 0, dtype=x.dtype)),)

        def taylor(x):
            """value max(x_0, 0); x_k * (x_0 > 0) above"""
            return T.piecewise(np.maximum(x[0], 0.0), ((x[0] > 0) * 1.0, x))

        def sympy(sp, x):
            return sp.Piecewise((x, x > 0), (0, True))

    yield "ramp"
    del OPS["test_ramp"]
    code._RULE_TEMPLATES.clear()
