"""The command line: a click group; each subcommand lives in its own module.

Keep this path light: only click is imported here; numpy and the engine load
when a subcommand runs, and rich/sympy/matplotlib only where they render.
Subcommands load lazily: add one line to SUBCOMMANDS per subcommand
("name": "module:function"), built with ``gradcli.cli.common.command``.
"""
from __future__ import annotations

import click

from .. import __version__
from .common import GradcliGroup

SUBCOMMANDS = {
    "diff": "gradcli.cli.diff:diff",
    "grad": "gradcli.cli.grad:grad",
    "eval": "gradcli.cli.evaluate:evaluate",
    "graph": "gradcli.cli.graph:graph",
    "check": "gradcli.cli.check:check",
    "fit": "gradcli.cli.fit:fit",
    "minimize": "gradcli.cli.minimize:minimize",
}

EPILOG = """\b
Examples:
  gradcli diff "x**4+2*x**3-3*x**2+4*x-5" --at 2 --order 3
  gradcli grad "x**2*y+sin(y)" --at x=1,y=2 --hessian
  gradcli eval "sqrt(x**2+y**2)" --at x=3,y=4
  gradcli check "exp(sin(x))/(1+x**2)" --at 0.7 --order 4
  gradcli minimize "(x-50)**2" --opt adam --lr 1 --steps 200 --from x=3
  printf '1\\n2\\n' | gradcli diff "x**3" --at - --format json
  gradcli fit "w*x+b" --data samples/tutorial_points.csv --target y --opt sgd --lr 0.01
"""


@click.group(cls=GradcliGroup, lazy_subcommands=SUBCOMMANDS, epilog=EPILOG,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="gradcli", message="%(prog)s %(version)s")
def cli():
    """Exact derivatives and gradient-based optimization, from a shell."""


def main() -> None:
    cli(prog_name="gradcli")
