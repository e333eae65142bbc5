"""Columnar fast paths for many points: stdin lines of bare numbers read as one array, and
rows kept as columns until a format asks for them one by one.

A pipeline such as ``gradcli diff EXPR --at - < points`` spends its time on per-line Python
objects, not on the arithmetic. Here a batch of stdin lines that are all plain decimal
numbers becomes one ``NumberLines`` (a float64 array, the texts and the line numbers; a
``Point`` is made only when one is asked for, e.g. for a warning), and a command's results
become one ``Rows`` whose plain lines are made in one pass (``Writer.write_rows``). Every
other input (names, constant expressions, comments, bad lines) takes the general path of
``inputs.point_batches``, line by line, and the output is the same bytes either way.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter

from .points import BARE, Point

# the characters of plain decimal numbers and the spaces around them (ASCII only: other
# whitespace and every other spelling go the general way)
_NOT_PLAIN = b"0123456789.+-eE \t\n"


class NumberLines(Sequence):
    """Points written as bare numbers on stdin lines, held as columns: ``values`` (a float64
    array), ``floats`` (the same as Python floats), ``texts`` (stripped) and ``numbers``
    (the line numbers). ``names`` is ``(BARE,)`` or the one variable the values belong to."""

    __slots__ = ("values", "floats", "texts", "numbers", "names")

    def __init__(self, values, floats, texts, numbers, names=(BARE,)):
        self.values, self.floats, self.texts = values, floats, texts
        self.numbers, self.names = numbers, names

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i):
        if isinstance(i, slice):  # still columns
            return NumberLines(self.values[i], self.floats[i], self.texts[i], self.numbers[i],
                               self.names)
        return Point(self.names, (self.floats[i],), self.texts[i], f"stdin line {self.numbers[i]}")

    def named(self, names: tuple[str, ...]) -> NumberLines:
        """The same points as values of ``names`` (one variable)."""
        return NumberLines(self.values, self.floats, self.texts, self.numbers, names)


def number_lines(lines: list[tuple[int, str]]) -> NumberLines | None:
    """The batch ``[(line_number, text), ...]`` as NumberLines when every line is one plain
    decimal number (as ``points.parse_point`` reads it: ``_NUMBER``, finite) with spaces or
    tabs around it; None otherwise (blank or comment lines, names, constants, bad lines)."""
    import numpy as np

    if not lines:
        return None
    texts = list(map(itemgetter(1), lines))
    try:
        raw = "\n".join(texts).encode("ascii")
    except UnicodeEncodeError:
        return None
    if raw.translate(None, _NOT_PLAIN):
        return None
    stripped = [text.strip() for text in texts] if b" " in raw or b"\t" in raw else texts
    try:  # with only these characters, float() and _NUMBER accept the same texts
        floats = list(map(float, stripped))
    except ValueError:  # an empty line, two numbers on one, '1e', '.', '--1' ...
        return None
    values = np.array(floats, dtype=np.float64)
    if not np.isfinite(values).all():  # 1e999: parse_point's error, line by line
        return None
    first, last = lines[0][0], lines[-1][0]
    numbers = range(first, last + 1) if last - first + 1 == len(lines) else \
        list(map(itemgetter(0), lines))  # (consecutive unless a caller skipped lines)
    return NumberLines(values, floats, stripped, numbers)


class Rows(Sequence):
    """A command's rows for many points, made one at a time when asked for (``make(i)``);
    ``plain()`` gives every row's plain line at once (None: only row by row)."""

    __slots__ = ("_n", "_make", "_plain")

    def __init__(self, n: int, make: Callable, plain: Callable | None = None):
        self._n, self._make, self._plain = n, make, plain

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        return self._make(i)

    def plain(self) -> list[str] | None:
        return self._plain() if self._plain is not None else None
