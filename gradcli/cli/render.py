"""The one writer of results: JSON Lines, plain lines, CSV and tables, from ``Row`` objects.

Numbers in plain, CSV and JSON are Python's shortest round-trip ``repr`` of the float64
(``60.0``, ``0.1``, ``1e-300``, ``nan``, ``inf``); in JSON the non-finite ones are the
strings ``"nan"``, ``"inf"`` and ``"-inf"``.

A command turns its results into ``Row`` objects and hands them to one ``Writer``. A Row
carries what each format shows of it, and a format skips a row that has nothing for it:

- ``record``: the JSON object (one line);
- ``plain``: the plain line;
- ``columns``/``values``: the CSV header and cells (a new header when the columns change);
- ``title``, ``table_columns``/``table_values``, ``caption``: its line of a table; the
  rows in a run with the same title and headings make one table;
- ``notes``: text written after the table (the table format's closing lines);
- ``text``: ``{format: str, or callable(out) that writes it}`` for formats of a command's
  own (graph's tree and dot) and for a multi-line plain text (a blank line between them).

So a run of ``minimize`` is its history rows (CSV and table cells only) and one row for the
run (record, plain line and, in a table, its summary as notes).

``Writer.error(...)`` keeps a bad input line's place (plain: an empty line, CSV: a row with
empty value cells, JSON: ``{"expr", "point", "error"}``, table: a row of its expression's
table with the point and ``error`` in the first value cell; a small table of its own where
the expression gave no row, as a bad expression on stdin).

Tables (SPEC 6.4) are never wider than the terminal (``COLUMNS`` in a pipe): numbers to
TABLE_DIGITS significant digits (tables only); ``tables.py`` draws them (on their side when
too wide, a Hessian in blocks of columns, the closing text wrapped). A row is written
whole: Ctrl-C or SIGTERM waits for its end (``signals.whole_record``), and a long JSON record
goes to the descriptor unbuffered.

To add a command: build Rows (its record, plain line, CSV and table cells, notes) and hand
them to ``Writer(format)``; nothing else writes stdout. Many rows of one command may come
as a ``columns.Rows``: ``Writer.write_rows`` writes their plain lines in one pass.

The module imports the standard library and click (through ``app``); rich loads when a
table is drawn.
"""
from __future__ import annotations

import math
import numbers
import sys
from dataclasses import dataclass, field

from .signals import whole_record
from .progress import erase_line
from .tables import TABLE_DIGITS, console, print_table, table_cell, wrap_notes  # noqa: F401

FORMATS = ("table", "plain", "csv", "json")


# -- numbers -----------------------------------------------------------------------------
def format_number(x) -> str:
    """The shortest round-trip repr of the float64: '60.0', 'nan', 'inf', '-inf'."""
    return repr(float(x))


def json_number(x):
    """A float for JSON: itself if finite, else the string 'nan', 'inf' or '-inf'."""
    x = float(x)
    return x if math.isfinite(x) else repr(x)


def jsonable(obj):
    """Convert numpy scalars and arrays, tuples and non-finite floats for json.dumps."""
    kind = type(obj)
    if kind is float:  # the common case first
        return obj if math.isfinite(obj) else repr(obj)
    if kind is str or kind is int or kind is bool or obj is None:
        return obj
    if kind is dict:
        return {str(k): jsonable(v) for k, v in obj.items()}
    if kind is list or kind is tuple:
        return [jsonable(v) for v in obj]
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return json_number(obj)
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return jsonable(obj.tolist())
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return obj


def json_line(obj) -> str:
    """One JSON Lines record (no newline): numbers as JSON numbers, nan/inf as strings."""
    import json  # here, not at the top: `gradcli diff` in plain format never needs it

    return json.dumps(jsonable(obj), allow_nan=False)


def cell(value) -> str:
    """Text of a CSV cell: numbers via format_number, the rest as str."""
    kind = type(value)
    if kind is float:
        return repr(value)
    if kind is str:
        return value
    if value is None:
        return ""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if isinstance(value, numbers.Integral):
            return str(int(value))
        return format_number(value)
    if hasattr(value, "dtype"):
        return format_number(value)
    return str(value)


def error_row(expr: str, given: dict, text: str | None, shape: Row | None) -> Row:
    """A bad input's table row: in ``shape``'s table (a row of the same expression), its point
    in the point's columns (the line's text in the first where it was not a point) and
    ``error`` in the first value cell; without a shape, a table of its own (the point's
    columns, or ``point``, and ``result``)."""
    if text is None and given and not all(given):  # a bare value: the line as written
        text = ",".join(f"{k}={cell(v)}" if k else cell(v) for k, v in given.items())
    if shape is None:
        names = list(given) if text is None else ["point"]
        cells = list(given.values()) if text is None else [text]
        return Row(title=expr, table_columns=[*names, "result"], table_values=[*cells, "error"],
                   numeric=[text is None] * len(names) + [False], error=True)
    headings = shape.table_cells()[0]
    n = len(shape.record["point"])  # the point's columns come first
    cells = [""] * len(headings)
    if text is None and not set(given) <= set(headings[:n]):  # a name the table lacks
        text = ",".join(f"{k}={cell(v)}" for k, v in given.items())
    for i, name in enumerate(headings[:n]):
        cells[i] = given.get(name, "") if text is None else (text if i == 0 else "")
    if n < len(cells):
        cells[n] = "error"
    return Row(title=shape.title, table_columns=headings, table_values=cells,
               caption=shape.caption, numeric=shape.numeric, error=True)


# -- rows ------------------------------------------------------------------------------------
@dataclass
class Row:
    """One result as each format shows it (see the module docstring); None: not shown there."""

    record: dict | None = None
    plain: str | None = None
    columns: list[str] | None = None
    values: list | None = None
    title: str | None = None
    table_columns: list[str] | None = None
    table_values: list | None = None
    caption: str | None = None
    notes: str | None = None
    text: dict = field(default_factory=dict)
    numeric: list[bool] | None = None  # the table's right-justified columns (default: numbers)
    error: bool = False  # a bad input's row (Writer.error): its texts justify no column

    def table_cells(self) -> tuple[list[str] | None, list | None]:
        """The table's headings and values (the CSV ones unless given)."""
        if self.table_columns is None:
            return self.columns, self.values
        values = self.table_values if self.table_values is not None else self.values
        return self.table_columns, values


@dataclass
class Writer:
    """Writes Rows in one format on a text stream; ``flush`` ends a pending table.

    Use as a context manager, so that the rows of an interrupted run are shown.
    """

    format: str
    out: object = None
    _header: list[str] | None = None
    _pending: list[Row] = field(default_factory=list)
    _csv: object = None
    _texts: int = 0  # multi-line texts written (a blank line goes between them)
    _errors: list = field(default_factory=list)  # CSV error rows waiting for a header
    _shapes: dict = field(default_factory=dict)  # expr -> its last table row of one point
    _table_errors: list = field(default_factory=list)  # (expr, given, text) waiting for a table

    def __post_init__(self):
        if self.out is None:
            self.out = sys.stdout

    def write(self, row: Row) -> None:
        erase_line()  # on a terminal, a progress line on stderr shares the screen
        with whole_record():  # Ctrl-C or SIGTERM waits until the row is written
            self._write(row)

    def write_rows(self, rows) -> bool:
        """Write many rows' plain lines in one pass when the format is plain and ``rows``
        knows them at once (``columns.Rows.plain()``); False: nothing written, write them
        one by one."""
        plain = getattr(rows, "plain", None)
        if self.format != "plain" or not callable(plain):
            return False
        lines = plain()
        if lines is None:
            return False
        if lines:
            erase_line()
            with whole_record():  # Ctrl-C or SIGTERM waits until the lines are written
                self.out.write("\n".join(lines) + "\n")
        return True

    def _write(self, row: Row) -> None:
        special = row.text.get(self.format)
        if special is not None:
            self._text(special)
        elif self.format == "json":
            if row.record is not None:
                self._whole(json_line(row.record) + "\n")
        elif self.format == "plain":
            if row.plain is not None:
                self.out.write(row.plain + "\n")
        elif self.format == "csv":
            if row.columns is not None:
                if row.columns != self._header:
                    self._csv_line(row.columns)
                    self._header = row.columns
                if self._errors:
                    self._write_errors()
                self._csv_line([cell(v) for v in row.values])
        elif self.format == "table":
            self._table(row)

    def _whole(self, text: str) -> None:
        """Write a long record straight to the file descriptor, every byte of it (a
        buffered stream cut on an interrupt can lose the tail it held); short ones buffered."""
        if len(text) < 4096:
            self.out.write(text)
            return
        try:
            fd = self.out.fileno()
        except (AttributeError, OSError, ValueError):
            self.out.write(text)
            return
        import os

        self.out.flush()
        data = memoryview(text.encode("utf-8"))
        while data:  # a signal meanwhile waits (whole_record); os.write may write part
            data = data[os.write(fd, data):]

    def error(self, expr: str, point, error) -> None:
        """A result that could not be computed keeps its place (its message is on stderr):
        plain an empty line, CSV a row with empty value cells, JSON ``{"expr", "point",
        "error"}``, a table a row (``error_row``). ``point`` is a Point, or the text of a
        line that was not one."""
        names = getattr(point, "names", None)  # None: a line that was not a point, or none
        given = dict(zip(names, point.values)) if names is not None else {}
        message = getattr(error, "message", None) or str(error)
        if self.format == "json":
            shown = given if names is not None else point
            self.out.write(json_line({"expr": expr, "point": shown, "error": message}) + "\n")
        elif self.format == "plain":
            self.out.write("\n")
        elif self.format == "csv":
            self._errors.append((expr, given))
            if self._header is not None:
                self._write_errors()
        elif self.format == "table":
            self._table_errors.append((expr, given, point if isinstance(point, str) else None))
            if expr in self._shapes:  # its table's shape is known: the row goes in now
                self._place_errors()

    def _place_errors(self) -> None:
        """The waiting errors as table rows, in order: in the shape of their expression's
        table when one was seen, else each a small table of its own."""
        waiting, self._table_errors = self._table_errors, []
        for expr, given, text in waiting:
            self._table(error_row(expr, given, text, self._shapes.get(expr)))

    def _write_errors(self) -> None:
        header = self._header or ["expr"]
        for expr, given in self._errors:
            cells = []
            for column in header:
                name = column[6:-1] if column.startswith("point[") else column
                if column == "expr":
                    cells.append(expr)
                elif name in given:
                    cells.append(cell(given[name]))
                else:
                    cells.append("")
            if self._header is None:
                self._csv_line(header)
                self._header = header
            self._csv_line(cells)
        self._errors = []

    def _text(self, text) -> None:
        if self._texts:
            self.out.write("\n")
        if callable(text):
            text(self.out)
        else:
            self.out.write(text)
        self._texts += 1

    def _table(self, row: Row) -> None:
        headings, _ = row.table_cells()
        point = row.record.get("point") if isinstance(row.record, dict) else None
        if headings and not row.error and isinstance(point, dict):  # a point's row: errors
            expr = (row.values[row.columns.index("expr")]           # of its expression
                    if row.columns and "expr" in row.columns else row.title)  # take its shape
            self._shapes[expr] = row
            if self._table_errors:
                self._place_errors()
        if headings:  # None or []: not a line of a table
            first = self._pending[0] if self._pending else None
            if first is not None and (row.title, headings) != (first.title,
                                                               first.table_cells()[0]):
                self._draw()
            self._pending.append(row)
        if row.notes is not None:
            self._draw()
            self.out.write(wrap_notes(row.notes, console(self.out).width) + "\n")

    def _csv_line(self, values: list[str]) -> None:
        if self._csv is None:
            import csv

            self._csv = csv.writer(self.out, lineterminator="\n")
        self._csv.writerow(values)

    def _draw(self) -> None:
        if self._pending:
            rows, self._pending = self._pending, []
            first = rows[0]
            numeric = first.numeric
            good = [r.table_cells()[1] for r in rows if not r.error]
            if numeric is None and good and len(good) < len(rows):  # the numbers' columns
                numeric = [all(not isinstance(v[i], str) for v in good)  # stay right-justified
                           for i in range(len(first.table_cells()[0]))]
            print_table(first.title, first.table_cells()[0], [r.table_cells()[1] for r in rows],
                        file=self.out, caption=first.caption, numeric=numeric)

    def flush(self) -> None:
        """Draw the pending table (table format) and flush the stream."""
        with whole_record():
            if self._table_errors:
                self._place_errors()
            self._draw()
            self.out.flush()

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if kind is None or issubclass(kind, KeyboardInterrupt):
            try:
                if self._errors:  # no result had a header: the errors' own, expr alone
                    self._write_errors()
                self.flush()
            except BrokenPipeError:
                if kind is None:
                    raise
        return False

