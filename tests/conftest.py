"""Shared fixtures: ``gradcli(*args, input=...)`` runs the command line in-process."""
import pytest
from click.testing import CliRunner

# rich reads these: keep tables plain (no colour codes) and of a known width
TABLE_ENV = {"COLUMNS": "100", "LINES": "40", "FORCE_COLOR": None, "NO_COLOR": "1",
             "TTY_COMPATIBLE": None, "TTY_INTERACTIVE": None}


@pytest.fixture
def gradcli():
    """Run ``gradcli ARGS`` with CliRunner; the result has stdout, stderr and exit_code."""
    from gradcli.cli import cli

    def run(*args, input=None):
        return CliRunner(env=TABLE_ENV).invoke(cli, list(args), input=input, prog_name="gradcli")

    return run
