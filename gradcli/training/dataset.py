"""CSV data for ``gradcli fit``: a header row, then numbers.

Errors name what is wrong and where (row numbers count the header as row 1, as
a spreadsheet shows them): a missing column (with the columns there are), a
non-numeric or non-finite cell (nan, inf), an empty file, a row with the wrong
number of cells.
"""
from __future__ import annotations

import csv
import io
import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import GradcliError

MAX_ROWS = 10_000_000


@dataclass
class Dataset:
    columns: list[str]
    data: dict[str, np.ndarray]   # column -> float64 array

    @property
    def rows(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def column(self, name: str, role: str = "column") -> np.ndarray:
        if name not in self.data:
            raise GradcliError(f"the data has no {role} '{name}' "
                               f"(its columns: {', '.join(self.columns)})")
        return self.data[name]


def parse_csv(text: str, source: str = "the data") -> Dataset:
    """Parse CSV text with a header row into float64 columns."""
    text = text.removeprefix("\ufeff")  # the byte order mark some editors write
    if not text.strip():
        raise GradcliError(f"{source} is empty: expected a header row and rows of numbers")
    fast = _parse_plain_numbers(text, source)
    if fast is not None:
        return fast
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows: list[list[float]] = []
    for line_no, cells in enumerate(reader, start=1):
        if not "".join(cells).strip():  # a blank line, or only empty cells
            continue
        if header is None:
            header = [c.strip() for c in cells]
            _check_header(header, source)
            continue
        if len(cells) != len(header):
            raise GradcliError(f"{source}: row {line_no} has {len(cells)} cells, "
                               f"the header has {len(header)}")
        try:
            row = [float(cell) for cell in cells]
        except ValueError:
            row = None
        if row is None or not all(map(math.isfinite, row)):
            raise _bad_cell(header, cells, line_no, source)
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise GradcliError(f"{source} has more than {MAX_ROWS} rows (the limit)")
    if not rows:
        raise GradcliError(f"{source} has a header but no rows of data")
    table = np.array(rows, dtype=np.float64)
    return Dataset(header, {name: table[:, k].copy() for k, name in enumerate(header)})


def _parse_plain_numbers(text: str, source: str) -> Dataset | None:
    """The fast path for the common file (a plain header, then finite numbers only):
    numpy's C reader; None for anything else, which the careful reader then parses or
    reports row by row (the same numbers: both read decimal text correctly rounded)."""
    start = 0
    while True:  # skip blank lines before the header
        end = text.find("\n", start)
        line = text[start:] if end < 0 else text[start:end]
        if line.strip() or end < 0:
            break
        start = end + 1
    body = text[end + 1:]
    if end < 0 or '"' in line or not body.strip():
        return None
    header = [c.strip() for c in line.rstrip("\r").split(",")]
    _check_header(header, source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = np.loadtxt(io.StringIO(body), dtype=np.float64, delimiter=",",
                               comments=None, ndmin=2, quotechar='"')
    except (ValueError, TypeError, IndexError):
        return None
    if table.shape[0] == 0 or table.shape[1] != len(header) or len(table) > MAX_ROWS \
            or not np.all(np.isfinite(table)):
        return None
    return Dataset(header, {name: table[:, k].copy() for k, name in enumerate(header)})


def _bad_cell(header: list[str], cells: list[str], line_no: int, source: str) -> GradcliError:
    """The error for the first cell of a row that is not a finite number."""
    for name, cell in zip(header, cells):
        try:
            value = float(cell)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value):  # nan/inf data: every loss nan/inf
            what = "a number" if value is None else "a finite number"
            return GradcliError(f"{source}: row {line_no}, column '{name}': "
                                f"{cell.strip()[:40]!r} is not {what}")
    raise AssertionError("_bad_cell needs a row with a bad cell")


def _check_header(header: list[str], source: str) -> None:
    seen = set()
    for k, name in enumerate(header, start=1):
        if not name:
            raise GradcliError(f"{source}: header cell {k} is empty")
        if name in seen:
            raise GradcliError(f"{source}: column '{name}' appears twice in the header")
        seen.add(name)


def read_csv(path: str, stdin_data: bytes | str | None = None) -> Dataset:
    """Read a CSV file, or standard input's bytes (or text) when path is '-'."""
    if path == "-":
        data = stdin_data or b""
        source = "standard input"
    else:
        source = f"'{path}'"
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            raise GradcliError(f"cannot read '{path}': no such file") from None
        except IsADirectoryError:
            raise GradcliError(f"cannot read '{path}': it is a directory") from None
        except OSError as exc:
            raise GradcliError(f"cannot read '{path}': {exc.strerror}") from None
    text = data if isinstance(data, str) else decode_utf8(data, source)
    return parse_csv(text, source)


def decode_utf8(data: bytes, source: str) -> str:
    """The UTF-8 text of data, line endings kept; else the error naming the row (counting
    the header as row 1), the column and the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        row = data.count(b"\n", 0, exc.start) + 1
        column = len(data[line_start:exc.start].decode("utf-8", "replace")) + 1
        raise GradcliError(f"{source}: row {row} is not UTF-8 text (byte "
                           f"0x{data[exc.start]:02x} at column {column})") from None


def split_variables(variables: list[str], dataset: Dataset,
                    target: str) -> tuple[list[str], list[str]]:
    """(data columns, parameters) of a model: its variables that are columns are data."""
    dataset.column(target, "target column")
    if target in variables:
        raise GradcliError(f"the target column '{target}' cannot appear in the model")
    inputs = [v for v in variables if v in dataset.data]
    params = [v for v in variables if v not in dataset.data]
    if not variables:
        raise GradcliError("the model has no parameters: it has no variables (a model is "
                           "written like w*x+b, with x a data column)")
    if not params:
        raise GradcliError(f"the model has no parameters: every variable "
                           f"({', '.join(variables)}) is a data column")
    return inputs, params
