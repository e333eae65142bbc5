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
            from ..graph import NAMED_CONSTANTS
            from ..language.hints import unknown_function_hint

            if unknown[0] in NAMED_CONSTANTS:
                raise GradcliError(f"{unknown[0]!r} is a constant "
                                   f"({NAMED_CONSTANTS[unknown[0]]!r}), not a function")

            hint = unknown_function_hint(unknown[0], sorted(by_name))
            if hint is not None and not hint.startswith(("did you mean", "names are")):
                hint = None   # a product (x*(...)) or this very list: no help here
            raise GradcliError(f"no function named {unknown[0]!r}", hint=hint)
        listed = [by_name[n] for n in dict.fromkeys(names)]
    with Writer(format) as writer:
        if format == "table":   # one table per group, its text wrapped to the terminal
            groups: dict[str, list] = {}
            for f in listed:
                groups.setdefault(f.group, []).append(f)
            for group, members in groups.items():
                writer.write(Row(text={"table": _table(group, members)}))
            return
        for f in listed:
            cells = [f.signature, f.doc, f.domain, f.derivative]
            writer.write(Row(record=f.record(), plain="\t".join(cells),
                             columns=["name", "arguments", "description", "domain", "derivative"],
                             values=[f.name, " ".join(f.arguments), f.doc, f.domain, f.derivative]))


def _table(group: str, members: list):
    """A writer of the group's table: the call whole, the other columns wrapped to fit."""

    def write(out) -> None:
        from rich.markup import escape
        from rich.table import Table

        from .tables import console

        table = Table(title=escape(group), title_justify="left", expand=True)
        table.add_column(COLUMNS[0], no_wrap=True)
        for heading, ratio in zip(COLUMNS[1:], (3, 2, 3)):
            table.add_column(heading, ratio=ratio, overflow="fold")
        for f in members:
            table.add_row(*(escape(cell) for cell in (f.signature, f.doc, f.domain, f.derivative)))
        console(out).print(table)

    return write
