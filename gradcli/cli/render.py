"""Writing results: plain lines, CSV, JSON Lines and rich tables.

Numbers are written with Python's shortest round-trip ``repr`` of the float64
(``60.0``, ``0.1``, ``1e-300``), ``nan``, ``inf`` and ``-inf`` included; in
JSON the non-finite ones are the strings ``"nan"``, ``"inf"`` and ``"-inf"``.

A command that answers one row per point hands ``Row`` objects to a
``RowWriter``, which writes them in the chosen format:

- ``json``: the row's ``record`` as one JSON line;
- ``plain``: the row's ``plain`` text;
- ``csv``: a header line, then the row's ``values`` under its ``columns``
  (a new header line when the columns change, as for another expression);
- ``table``: a rich table per run of rows with the same title and columns,
  numbers right-justified (rich is imported only here, only then).

The module imports only the standard library; rich loads when a table is drawn.
"""
from __future__ import annotations

import math
import numbers
import sys
from dataclasses import dataclass, field

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
    """Text of a CSV or table cell: numbers via format_number, the rest as str."""
    kind = type(value)
    if kind is float:
        return repr(value)
    if kind is str:
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if isinstance(value, numbers.Integral):
            return str(int(value))
        return format_number(value)
    if hasattr(value, "dtype"):
        return format_number(value)
    return str(value)


# -- tables --------------------------------------------------------------------------------
def print_table(title: str | None, columns: list[str], rows: list[list], *, file=None,
                caption: str | None = None, numeric: list[bool] | None = None) -> None:
    """Draw a rich table; numeric columns (default: all but text ones) right-justified."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file or sys.stdout, highlight=False, soft_wrap=False)
    table = Table(title=title, caption=caption, title_justify="left")
    texts = [[cell(v) for v in row] for row in rows]
    for i, name in enumerate(columns):
        if numeric is not None:
            right = numeric[i]
        else:
            right = all(not isinstance(row[i], str) for row in rows) if rows else True
        table.add_column(name, justify="right" if right else "left")
    for row in texts:
        table.add_row(*row)
    # never truncate a number: widen the console to the table rather than cut cells
    from rich.measure import Measurement

    wanted = Measurement.get(console, console.options.update_width(1 << 16), table).maximum
    if wanted > console.width:
        console = Console(file=file or sys.stdout, highlight=False, soft_wrap=False, width=wanted)
    console.print(table)


# -- rows ------------------------------------------------------------------------------------
@dataclass
class Row:
    """One result: its JSON record, its plain line, and its cells for CSV and tables.

    ``table_columns`` and ``table_values`` (optional) are the table's own cells, when they
    differ from the CSV ones (nicer headings, fewer columns).
    """

    record: dict
    plain: str
    columns: list[str]
    values: list
    title: str | None = None
    table_columns: list[str] | None = None
    table_values: list | None = None
    caption: str | None = None

    def table_cells(self) -> tuple[list[str], list]:
        """The table's headings and values (the CSV ones unless given)."""
        if self.table_columns is None:
            return self.columns, self.values
        values = self.table_values if self.table_values is not None else self.values
        return self.table_columns, values


@dataclass
class RowWriter:
    """Writes rows in one format on a text stream; ``flush`` ends a pending table.

    Use as a context manager, so that the rows of an interrupted run are shown.
    """

    format: str
    out: object = None
    _header: list[str] | None = None
    _pending: list[Row] = field(default_factory=list)
    _csv: object = None

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r}")
        if self.out is None:
            self.out = sys.stdout

    def write(self, row: Row) -> None:
        if self.format == "json":
            self.out.write(json_line(row.record) + "\n")
        elif self.format == "plain":
            self.out.write(row.plain + "\n")
        elif self.format == "csv":
            if row.columns != self._header:
                self._csv_line(row.columns)
                self._header = row.columns
            self._csv_line([cell(v) for v in row.values])
        else:
            if self._pending and (row.title, row.table_cells()[0]) != (
                    self._pending[0].title, self._pending[0].table_cells()[0]):
                self.flush()
            self._pending.append(row)

    def _csv_line(self, values: list[str]) -> None:
        if self._csv is None:
            import csv

            self._csv = csv.writer(self.out, lineterminator="\n")
        self._csv.writerow(values)

    def flush(self) -> None:
        """Draw the pending table (table format) and flush the stream."""
        if self._pending:
            rows, self._pending = self._pending, []
            first = rows[0]
            print_table(first.title, first.table_cells()[0], [r.table_cells()[1] for r in rows],
                        file=self.out, caption=first.caption)
        self.out.flush()

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if kind is None or issubclass(kind, KeyboardInterrupt):
            try:
                self.flush()
            except BrokenPipeError:
                if kind is None:
                    raise
        return False
