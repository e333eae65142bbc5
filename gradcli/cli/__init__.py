"""The command line: the ``gradcli`` click group, its lazily loaded subcommands, ``main``.

Keep this path light: only click is imported here; numpy and the engine load when a
subcommand runs, and rich/sympy/matplotlib only where they render. Each subcommand is a
module of its own, built with ``gradcli.cli.app.command``: add one line to SUBCOMMANDS
("name": "module:function").

The modules, in the order a run meets them: ``app`` (errors -> messages and exit
statuses), ``options`` (the shared options), ``points`` (the --at/--from/--init syntax),
``inputs`` (expressions and points from stdin; the one check of points against
variables), the command's module (options -> one library call -> Rows), ``progress``,
``render`` (the one writer of table/plain/csv/json), ``plot``, ``tapeview``.
"""
from __future__ import annotations

import click

from .. import __version__
from .app import EXIT_USAGE, standalone, terminate_on_sigterm

SUBCOMMANDS = {
    "diff": "gradcli.cli.diff:diff",
    "taylor": "gradcli.cli.taylor:taylor",
    "grad": "gradcli.cli.grad:grad",
    "eval": "gradcli.cli.evaluate:evaluate",
    "graph": "gradcli.cli.graph:graph",
    "check": "gradcli.cli.check:check",
    "fit": "gradcli.cli.fit:fit",
    "minimize": "gradcli.cli.minimize:minimize",
    "functions": "gradcli.cli.functions:functions",
}

EPILOG = """\b
Examples:
  gradcli diff "x**4+2*x**3-3*x**2+4*x-5" --at 2 --order 3
  gradcli grad "x**2*y+sin(y)" --at x=1,y=2 --hessian
  gradcli eval "sqrt(x**2+y**2)" --at x=3,y=4
  gradcli check "exp(sin(x))/(1+x**2)" --at 0.7 --order 4
  gradcli minimize "(x-50)**2" --opt adam --lr 1 --steps 200 --from x=3
  printf '1\\n2\\n' | gradcli diff "x**3" --at - --format json
  printf 'x,y\\n0,1\\n1,3\\n2,5\\n' | gradcli fit "w*x+b" --data - --target y --opt newton
"""


class GradcliGroup(click.Group):
    """The ``gradcli`` group: subcommands loaded lazily from ``"module:attribute"`` paths,
    and the same error handling as the subcommands for everything click reports."""

    def __init__(self, *args, lazy_subcommands: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_subcommands))

    def get_command(self, ctx, name):
        if name not in self.commands and name in self.lazy_subcommands:
            import importlib

            module, _, attribute = self.lazy_subcommands[name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        return standalone(super().main, args, prog_name, complete_var, extra)


@click.group(cls=GradcliGroup, lazy_subcommands=SUBCOMMANDS, epilog=EPILOG,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="gradcli", message="%(prog)s %(version)s")
def cli():
    """Exact derivatives and gradient-based optimization, from a shell.

    An expression is numbers, variables, the constants pi, e and tau, the operators
    + - * / ** (^ is **) and calls of the functions that `gradcli functions` lists.
    """


def main() -> None:
    """The ``gradcli`` entry point: process-wide settings are made here and only here
    (SIGTERM as an interrupt; gradcli.compiled.tuning.tune_process: glibc's malloc keeps
    freed memory, and the cycle collector pauses while programs are built)."""
    import os
    import sys

    from ..compiled.tuning import tune_process

    terminate_on_sigterm()
    if sys.stdout is None:  # started with stdout closed (`>&-`): nowhere to write results
        if sys.stderr is not None:
            sys.stderr.write("gradcli: error: cannot write the output: stdout is closed\n")
        raise SystemExit(EXIT_USAGE)
    if sys.stdin is None:  # stdin closed (`<&-`): read as empty
        sys.stdin = open(os.devnull, encoding="utf-8")
    tune_process()
    cli(prog_name="gradcli")
