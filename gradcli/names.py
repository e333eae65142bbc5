"""The one check of the names a point gives against an expression's variables, with its
messages: the library (``Expression.point``) and every command (--at, --from, --init) ask it,
so a mistake gets the same words everywhere; the command line adds its flag."""
from __future__ import annotations

BARE = ""  # the name of a value given without one (`--at 2`, `e.evaluate(2.0)`)


def names_problem(variables, names, *, partial: bool = False, noun: str = "variable",
                  kind: str = "expression", example: str = "1",
                  flag: str | None = None) -> str | None:
    """Why values given for ``names`` do not fit ``variables`` (None: they fit).

    ``names`` ``(BARE,)`` is a value without a name: it fits one variable. ``partial``: the
    names may leave variables out (--from, --init: the others start at 0). ``noun`` and
    ``kind`` name them: a "variable" of an "expression", a "parameter" of a "model".
    ``flag``: the command-line option that gives the values (--at), named in the hints.
    """
    variables, names = tuple(variables), tuple(names)
    if names == variables:
        return None
    if not variables:
        return f"the {kind} has no {noun}s" + (f": leave out {flag}" if flag and not partial
                                                else "")
    if names == (BARE,):
        if len(variables) == 1:
            return None
        article = "an" if kind[:1] in "aeiou" else "a"
        return (f"a value without a name needs {article} {kind} of one {noun}; this one has "
                f"{len(variables)} ({', '.join(variables)}): name them, as "
                f"{','.join(f'{v}={example}' for v in variables)}")
    extra = [n for n in names if n not in variables]
    if extra:
        return (f"the {kind} has no {noun}{'s' if len(extra) > 1 else ''} "
                f"{', '.join(repr(e) for e in extra)} "
                f"(its {noun}s: {', '.join(variables)})")
    missing = [v for v in variables if v not in names]
    if missing and not partial:
        given = f" (give it with {flag})" if flag and not names else ""
        plural = "s" if len(missing) > 1 else ""
        return f"no value given for {noun}{plural} {', '.join(repr(m) for m in missing)}{given}"
    return None


def not_a_variable(name: str) -> str | None:
    """Why ``name`` cannot be a variable of the language (--wrt), or None: not an ASCII
    identifier, or a constant's or a function's name (those the parser never reads as a
    variable, so a derivative along it would be a silent 0)."""
    from .graph import NAMED_CONSTANTS
    from .registry import language_functions

    if not name.isidentifier() or not name.isascii():
        return f"{name!r} is not a variable name"
    if name in NAMED_CONSTANTS:
        return f"{name!r} is a constant, not a variable"
    if name in language_functions():
        return f"{name!r} is a function, not a variable"
    return None
