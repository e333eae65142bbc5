"""The expression language's catalogue, generated from the op registry (docs/functions.md).

One source for the list of functions users may write: each op of ``registry.OPS`` with a
``language`` name, its arguments (the names of its ``forward`` rule), its docstring, and
the module that defines it (whose docstring names the group). ``markdown()`` is the text of
docs/functions.md; a test compares the two, so the page cannot drift from the registry.
Regenerate the page after adding or changing an op:

    python -m gradcli.catalog > docs/functions.md
"""
from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Function:
    name: str        # as written in an expression
    arguments: tuple[str, ...]
    doc: str         # the op's docstring, its first paragraph as one line
    group: str       # what the defining module's docstring calls its ops
    library: str     # the gradcli function of the same op (gc.sin)
    domain: str = ""       # the docstring's ``domain:`` line (where the value is real)
    derivative: str = ""   # the docstring's ``derivative:`` line (the gradient rule's formula)

    def record(self) -> dict:
        """The function as ``gradcli functions --format json`` writes it."""
        return {"name": self.name, "arguments": list(self.arguments), "signature": self.signature,
                "description": self.doc, "domain": self.domain, "derivative": self.derivative,
                "group": self.group, "library": self.library}

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(self.arguments)})"


def _group(module_name: str) -> str:
    """'Elementary functions' from gradcli/ops/elementary.py's first sentence, up to ':'."""
    doc = inspect.getdoc(sys.modules[module_name]) or module_name
    first = " ".join(doc.split(". ")[0].split())
    return first.split(":")[0].rstrip(".")


def functions() -> list[Function]:
    """Every function of the expression language, in registry order (grouped by module)."""
    import gradcli
    from gradcli.registry import OPS

    found = []
    for op in OPS.values():
        if not op.language:
            continue
        arguments = tuple(p.name for p in inspect.signature(op.forward).parameters.values()
                          if p.kind is p.POSITIONAL_OR_KEYWORD and p.name not in op.attrs)
        library = f"gc.{op.language}" if hasattr(gradcli, op.language) else ""
        doc, facts = _docstring(op.doc)
        found.append(Function(op.language, arguments, doc, _group(op.forward.__module__),
                              library, facts.get("domain", ""), facts.get("derivative", "")))
    return found


def _docstring(doc: str) -> tuple[str, dict[str, str]]:
    """An op's docstring as (its first paragraph on one line, {fact: text}) where the facts
    are the lines ``domain: ...`` and ``derivative: ...`` after it."""
    first, _, rest = doc.partition("\n\n")
    facts = {}
    for line in rest.splitlines():
        key, colon, text = line.strip().partition(":")
        if colon and key in ("domain", "derivative"):
            facts[key] = " ".join(text.split())
    return " ".join(first.split()), facts


def constants() -> dict[str, float]:
    from gradcli.graph import NAMED_CONSTANTS

    return dict(NAMED_CONSTANTS)


def _other_names() -> dict[str, str]:
    """Other languages' names and what to write instead (gradcli/language/hints.py)."""
    from gradcli.language.hints import ALIASES, WRITE_INSTEAD

    out = {name: f"`{alias}`" for name, alias in sorted(ALIASES.items())}
    out.update(sorted(WRITE_INSTEAD.items()))
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


HEADER = """\
# The functions of the expression language

<!-- Generated from the op registry by gradcli/catalog.py: do not edit by hand.
     Regenerate with: python -m gradcli.catalog > docs/functions.md -->

An expression is numbers (`2`, `0.5`, `1e-3`), variables (names: `x`, `rate`, `w1`), the
constants below, the operators `+ - * / **` and unary `-`, parentheses, and calls of the
functions below. `**` binds tightest and groups from the right (`2**3**2` is 512, `-x**2`
is `-(x**2)`); then unary `-`; then `* /`; then `+ -`, both from the left. `x**n` with a
constant integer `n` is exact at every order, `x = 0` included. `log(x, base)` is
`log(x)/log(base)` and `pow(x, y)` is `x**y`. Every function is also a library function of
the same name that works on tensors (`gc.sin`); `gc.max` and `gc.min` are also
`gc.maximum` and `gc.minimum`. What each function gives where it is not differentiable or
outside its domain: [semantics.md](semantics.md).
"""


def markdown() -> str:
    """The text of docs/functions.md."""
    import json

    lines = [HEADER]
    example = next(f for f in functions() if f.name == "gamma")
    lines += [("The same list, from the command line: `gradcli functions [NAME]... "
               "[--format table|plain|csv|json]`."), "",
              "```console", "$ gradcli functions gamma --format json",
              json.dumps(example.record()), "```", ""]
    lines.append("## Constants\n")
    lines.append("| name | value |")
    lines.append("|---|---|")
    for name, value in constants().items():
        lines.append(f"| `{name}` | {value!r} |")
    lines += ["", "## Names from other languages", "",
              ("Not accepted, so that an expression reads the same everywhere; each is suggested "
               "in the error (`ln(x)`: did you mean 'log'?). A name one typo from a function "
               "suggests it; `0x10`, `1_000`, `1,5` and `|x|` are errors that say what to write."),
              "", "| written | write instead |", "|---|---|"]
    for written, instead in _other_names().items():
        lines.append(f"| `{written}` | {_cell(instead)} |")
    group = None
    for function in functions():
        if function.group != group:
            group = function.group
            lines += ["", f"## {group}", "",
                  "| function | what it is | domain | derivative | library |",
                  "|---|---|---|---|---|"]
        library = f"`{function.library}`" if function.library else ""
        lines.append(f"| `{function.signature}` | {_cell(function.doc)} | "
                     f"{_cell(function.domain)} | {_cell(function.derivative)} | {library} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
