"""The command line: a click group; each subcommand lives in its own module.

Keep this path light: only click is imported here; numpy and the engine load
when a subcommand runs, and rich/sympy/matplotlib only where they render.
"""
from __future__ import annotations

import click

from .. import __version__

EPILOG = """\b
Examples:
  gradcli diff "x**4+2*x**3-3*x**2+4*x-5" --at 2 --order 3
"""


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="gradcli", message="%(prog)s %(version)s")
def cli():
    """Exact derivatives and gradient-based optimization, from a shell."""


def main() -> None:
    cli(prog_name="gradcli")
