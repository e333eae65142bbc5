"""Points: the values of ``--at`` and the point lines read from stdin.

A point is written ``2`` (the value of an expression's only variable) or
``x=1,y=2`` (named values, in any order). A value is a number (``-1.5``,
``.5``, ``1e-3``, ``nan``, ``inf``, ``-inf``) or a constant expression of the
expression language (``pi/4``, ``2**-1``, ``sqrt(2)``).

Many points for one expression are evaluated in one vectorized pass:
``batches`` groups the points that name the same variables into numpy arrays,
one array per variable, remembering each point's position so that results can
be written back in input order.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import GradcliError
from ..limits import MAX_EXPRESSION_LENGTH, exceeded

from ..names import BARE  # the name of a value written without one (`--at 2`)

_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")  # ASCII digits (as CSV cells)
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*\Z")
_SPECIAL = {"nan": math.nan, "+nan": math.nan, "-nan": math.nan,
            "inf": math.inf, "+inf": math.inf, "-inf": -math.inf,
            "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf}


class PointError(GradcliError):
    """A point could not be read (bad syntax, bad value, repeated name)."""


@dataclass(frozen=True)
class Point:
    """One point: its names (``(BARE,)`` for a bare value), values, text and origin."""

    names: tuple[str, ...]
    values: tuple[float, ...]
    text: str
    where: str  # "--at" or "stdin line 3": where the point was written

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.names, self.values))


def _shown(text: str, width: int = 40) -> str:
    """``text`` quoted for a message, cut to about ``width`` characters."""
    return repr(text if len(text) <= width else text[:width - 3] + "...")


def parse_value(text: str, where: str = "--at", *, line: str | None = None,
                column: int = 1) -> float:
    """A number or a constant expression, as a float; PointError otherwise."""
    stripped = text.strip()
    shown = line if line is not None else text
    column += len(text) - len(text.lstrip())
    if _NUMBER.match(stripped):
        value = float(stripped)
        if math.isinf(value):
            raise PointError(f"{where}: the number {_shown(stripped)} is too large for float64",
                             column=column, text=shown, hint="write inf for infinity")
        return value
    special = _SPECIAL.get(stripped.lower())
    if special is not None:
        return special
    if not stripped:
        raise PointError(f"{where}: a value is missing", column=column, text=shown,
                         hint="write a number, as x=1,y=2")
    from ..expression import parse  # a constant expression such as pi/4

    not_a_number = f"{where}: {_shown(stripped)} is not a number"
    hint = "a value is a number or a constant expression such as pi/4"
    try:
        expression = parse(stripped)
    except GradcliError as e:  # say why, pointing into the value: "unknown function 'sinn'"
        inner = column + e.column - 1 if e.column is not None else column
        raise PointError(f"{not_a_number}: {e.message}", column=inner, text=shown,
                         hint=e.hint or hint) from None
    if expression.variables:
        raise PointError(not_a_number, column=column, text=shown, hint=hint)
    try:
        import numpy as np

        with np.errstate(all="ignore"):
            value = float(expression.evaluate({}))
    except (GradcliError, ValueError, TypeError, OverflowError, ArithmeticError):
        raise PointError(not_a_number, column=column, text=shown, hint=hint) from None
    if not math.isfinite(value):  # log(-1), 1/0, 10**400: a domain error, not a point
        from ..nonfinite import nonfinite_origin

        origin = nonfinite_origin(expression, {}) or f"it is {value!r}"
        raise PointError(f"{where}: {_shown(stripped)} is not a finite number: {origin}",
                         column=column, text=shown, hint="write nan, inf or -inf to mean them")
    return value


def _split(text: str) -> list[tuple[int, str]]:
    """Split at the commas outside parentheses; each part with its 1-based column."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth <= 0:
            parts.append((start + 1, text[start:i]))
            start = i + 1
    parts.append((start + 1, text[start:]))
    return parts


def parse_point(text: str, where: str = "--at") -> Point:
    """Read ``2`` or ``x=1,y=2``; PointError (with the column) if it is malformed."""
    stripped = text.strip()
    if _NUMBER.match(stripped):  # the common case first: one bare number
        value = float(stripped)
        if not math.isinf(value):
            return Point((BARE,), (value,), text, where)
    if len(text) > MAX_EXPRESSION_LENGTH:  # a point is no longer than an expression
        length = len(text) if len(text) != MAX_EXPRESSION_LENGTH + 1 else \
            f"more than {MAX_EXPRESSION_LENGTH}"  # a stdin line cut there (inputs.LINE_CUT)
        raise exceeded(f"{where}: a point of", length, MAX_EXPRESSION_LENGTH,
                       unit=" characters")
    if "=" not in text:
        parts = _split(text)
        if len(parts) > 1:
            decimal = len(parts) == 2 and all(p.strip().isdigit() for _, p in parts)
            hint = (f"write {parts[0][1].strip()}.{parts[1][1].strip()} for a decimal number, "
                    f"or name the values: x=1,y=2") if decimal else "write x=1,y=2"
            raise PointError(f"{where}: several values need names", column=1, text=text,
                             hint=hint)
        return Point((BARE,), (parse_value(text, where, line=text),), text, where)
    names, values, seen, last = [], [], set(), ""
    for column, part in _split(text):
        name, eq, value = part.partition("=")
        if not eq:
            hint = "write x=1,y=2" if part.strip() else "remove the extra ','"
            if part.strip().isdigit() and last.strip().isdigit():  # x=1,5: a decimal comma
                hint = (f"write {names[-1]}={last.strip()}.{part.strip()} for a decimal "
                        f"number, or name each value: x=1,y=2")
            raise PointError(f"{where}: expected name=value, found {_shown(part.strip())}",
                             column=column, text=text, hint=hint)
        lead = len(name) - len(name.lstrip())
        name = name.strip()
        if not _NAME.match(name):
            what = f"{_shown(name)} is not a variable name" if name else \
                "a variable name is missing"
            raise PointError(f"{where}: {what}", column=column + lead, text=text,
                             hint="write x=1,y=2")
        if name in seen:
            raise PointError(f"{where}: {_shown(name)} is given twice", column=column + lead,
                             text=text)
        seen.add(name)
        names.append(name)
        values.append(parse_value(value, where, line=text, column=column + len(part) - len(value)))
        last = value
    return Point(tuple(names), tuple(values), text, where)


@dataclass
class Batch:
    """Points naming the same variables: positions in the input, and one array per variable."""

    names: tuple[str, ...]
    positions: list[int]
    points: list[Point]

    def env(self, names: tuple[str, ...] | None = None):
        """{name: array of the values}, under ``names`` if given (a bare value's variable)."""
        import numpy as np

        table = np.array([p.values for p in self.points], dtype=np.float64)
        return {name: table[:, i] for i, name in enumerate(names or self.names)}


def batches(points: list[Point]) -> list[Batch]:
    """Group points by the names they give, keeping each one's position."""
    groups: dict[tuple[str, ...], Batch] = {}
    for position, point in enumerate(points):
        key = tuple(sorted(point.names))
        batch = groups.get(key)
        if batch is None:
            batch = groups[key] = Batch(key, [], [])
        batch.positions.append(position)
        if point.names != key:  # same names in another order
            point = Point(key, tuple(point.as_dict()[k] for k in key), point.text, point.where)
        batch.points.append(point)
    return list(groups.values())
