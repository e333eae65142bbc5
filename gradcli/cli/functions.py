"""``gradcli functions``: every function of the expression language, from the op registry."""
from __future__ import annotations

import click

from .app import command
from .options import format_option
from .render import Row, Writer

EXAMPLES = [
    "gradcli functions",
    "gradcli functions gamma erf --format json",
    "gradcli functions --format plain | cut -f1",
]
COLUMNS = ["function", "what it is", "domain", "derivative"]


@command("functions", examples=EXAMPLES)
@click.argument("names", nargs=-1, metavar="[NAME]...")
@format_option(choices=("table", "plain", "csv", "json"))
def functions(names, format):
    """The functions an expression may call: name and arguments, what each is, its domain
    and its derivative (SPEC 4's rule where it has none), grouped as in the registry; the
    same list as docs/functions.md. With NAMEs, those functions only.

    Plain output is one line per function, its fields separated by tabs: the call,
    the description, the domain, the derivative. Also in every expression: the constants
    pi, e and tau, the operators + - * / ** (^ is **), and log(x, base) and pow(x, y).
    """
    from ..catalog import functions as catalogue
    from ..errors import GradcliError

    listed = catalogue()
    if names:
        by_name = {f.name: f for f in listed}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            from ..language.hints import unknown_function_hint

            hint = unknown_function_hint(unknown[0], sorted(by_name))
            if hint is not None and not hint.startswith(("did you mean", "names are")):
                hint = None   # a product (x*(...)) or this very list: no help here
            raise GradcliError(f"no function named {unknown[0]!r}", hint=hint)
        listed = [by_name[n] for n in dict.fromkeys(names)]
    with Writer(format) as writer:
        for f in listed:
            cells = [f.signature, f.doc, f.domain, f.derivative]
            writer.write(Row(record=f.record(), plain="\t".join(cells),
                             columns=["name", "arguments", "description", "domain", "derivative"],
                             values=[f.name, " ".join(f.arguments), f.doc, f.domain, f.derivative],
                             title=f.group, table_columns=COLUMNS, table_values=cells,
                             numeric=[False] * len(COLUMNS)))
