"""Read a CSV byte stream into float64 columns in bounded memory (no Python object per cell).

The stream is read in blocks of whole lines (``BLOCK`` bytes); numpy's C reader turns a
block into a float64 table, whose columns are kept as arrays and joined once at the end,
a column at a time: the peak is about the float64 data plus one column and one block
(10,000,000 rows x 2 columns: 160 MB of data, about 1.4x that in peak RSS with the
interpreter, against 9x when every cell was a Python float first). A block numpy cannot
read (quotes, a bad cell, a ragged row) is read line by line to name the row and the
column of the first problem.

Limits (gradcli/limits.py tells why): more than ``MAX_ROWS`` rows is refused as soon as
the row after the limit is read; a line longer than ``MAX_ROW_BYTES`` (``/dev/zero``, a
binary file, one huge field) as soon as that many bytes are buffered. Cells are ASCII
decimal numbers, as ``--at`` reads them: ``1_000`` and fullwidth digits are errors.
"""
from __future__ import annotations

import csv
import io
import os
import re
import stat
import warnings

import numpy as np

from ..errors import GradcliError
from ..limits import MAX_DATA_ROWS as MAX_ROWS
from ..limits import MAX_ROW_BYTES

BLOCK = 1 << 22  # bytes read at a time: 4 MB, about 200,000 rows of two numbers

_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)\Z", re.IGNORECASE)


def read_columns(stream, source: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """(header, {column: float64 array}) of a binary stream of CSV text with a header row."""
    capacity = _lines_in_file(stream, source)
    header: list[str] | None = None
    parts: list[list[np.ndarray]] = []
    rows = 0
    for first_row, text in _text_blocks(stream, source):
        if header is None:
            header, first_row, text = _header(first_row, text, source)
            if header is None:
                continue
            parts = [[np.empty(capacity)] if capacity else [] for _ in header]
        if not text.strip():
            continue
        table = _fast(text, len(header))
        if table is None:
            table = _careful(text, first_row, header, source)
        if rows + len(table) > MAX_ROWS:
            raise _too_many(source)
        for k, column in enumerate(parts):
            if capacity:  # a file: the columns were made to its size
                column[0][rows:rows + len(table)] = table[:, k]
            else:
                column.append(np.ascontiguousarray(table[:, k]))
        rows += len(table)
        del table
    if header is None:
        raise GradcliError(f"{source} is empty: expected a header row and rows of numbers")
    if rows == 0:
        raise GradcliError(f"{source} has a header but no rows of data")
    data = {}
    for name, column in zip(header, parts):
        if capacity:
            array = column[0]
            array.resize(rows, refcheck=False)  # in place: the blank lines' room goes back
        else:
            array = column[0] if len(column) == 1 else np.concatenate(column)
        column.clear()  # the blocks of this column go before the next is joined
        data[name] = array
    return header, data


def _too_many(source: str) -> GradcliError:
    return GradcliError(f"{source} has more than {MAX_ROWS:,} rows (the limit): fit a "
                        "sample of the rows, or give the library's gc.fit the columns as "
                        "arrays")


def _lines_in_file(stream, source: str) -> int | None:
    """For a regular file: an upper bound on its rows (its line ends), after refusing
    a file whose non-empty lines after the header exceed MAX_ROWS before reading a
    number; the stream is left where it was. None for pipes and devices."""
    try:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            return None
        start = stream.tell()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    lf = cr = empty = 0
    previous = b""
    while True:
        chunk = stream.read(BLOCK)
        if not chunk:
            break
        lf, cr = lf + chunk.count(b"\n"), cr + chunk.count(b"\r")
        codes = np.frombuffer(previous + chunk, dtype=np.uint8)
        empty += int(np.count_nonzero((codes[1:] == 10) & (codes[:-1] == 10)))
        previous = chunk[-1:]
    stream.seek(start)
    if max(lf, cr) - empty - 1 > MAX_ROWS:  # lines (LF, CRLF or CR ends) not empty
        raise _too_many(source)
    return lf + cr + 1  # room never written is never touched: it costs no memory


def _text_blocks(stream, source: str):
    """(row number of the first line, text of whole lines ending in '\\n'): UTF-8 checked,
    a leading byte order mark dropped, CR and CRLF line endings read as LF."""
    carry = b""
    row = 1
    start = True
    while True:
        chunk = stream.read(BLOCK)
        if not chunk:
            break
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8", "surrogateescape")
        data = carry + chunk
        if start:
            data = data.removeprefix(b"\xef\xbb\xbf")
            start = False
        held = b""
        if data.endswith(b"\r"):  # its \n may come with the next chunk
            data, held = data[:-1], b"\r"
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data + held
        else:
            yield row, _decode(data[:cut + 1], row, source)
            row += data.count(b"\n", 0, cut + 1)
            carry = data[cut + 1:] + held
        if len(carry) > MAX_ROW_BYTES:
            raise GradcliError(f"{source}: row {row} is longer than {MAX_ROW_BYTES:,} bytes "
                               "(the limit): this is not a CSV file of numbers")
    if carry.strip():
        carry = carry.replace(b"\r", b"\n")
        yield row, _decode(carry + b"\n", row, source)


def _decode(data: bytes, first_row: int, source: str) -> str:
    """UTF-8 text of data; else the error naming the row, the column and the byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        row = first_row + data.count(b"\n", 0, exc.start)
        column = len(data[line_start:exc.start].decode("utf-8", "replace")) + 1
        raise GradcliError(f"{source}: row {row} is not UTF-8 text (byte "
                           f"0x{data[exc.start]:02x} at column {column})") from None


def _header(first_row: int, text: str, source: str):
    """(header cells, row number after it, the text after it), or (None, ...) if the text
    holds only blank lines."""
    position = 0
    row = first_row
    while position < len(text):
        end = text.index("\n", position)
        line = text[position:end]
        position, row = end + 1, row + 1
        if not line.strip():
            continue
        cells = _cells(line, row - 1, source)
        if not "".join(cells).strip():
            continue
        header = [c.strip() for c in cells]
        check_header(header, source)
        return header, row, text[position:]
    return None, row, ""


def check_header(header: list[str], source: str) -> None:
    seen = set()
    for k, name in enumerate(header, start=1):
        if not name:
            raise GradcliError(f"{source}: header cell {k} is empty")
        if name in seen:
            raise GradcliError(f"{source}: column '{name}' appears twice in the header")
        seen.add(name)


def _fast(text: str, columns: int) -> np.ndarray | None:
    """numpy's C reader on a block of plain numbers; None if anything is unusual."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = np.loadtxt(io.StringIO(text), dtype=np.float64, delimiter=",",
                               comments=None, ndmin=2, quotechar='"')
    except (ValueError, TypeError, IndexError):
        return None
    if table.shape[1] != columns or not np.isfinite(table).all():
        return None
    return table


def _careful(text: str, first_row: int, header: list[str], source: str) -> np.ndarray:
    """The block line by line: its numbers, or the error at its first bad row."""
    values: list[float] = []
    count = 0
    for offset, line in enumerate(text.split("\n")[:-1]):
        row = first_row + offset
        if not line.strip():
            continue
        cells = _cells(line, row, source)
        if not "".join(cells).strip():  # only empty cells
            continue
        if len(cells) != len(header):
            raise GradcliError(f"{source}: row {row} has {len(cells)} cells, "
                               f"the header has {len(header)}")
        for name, cell in zip(header, cells):
            values.append(_number(cell, name, row, source))
        count += 1
    return np.array(values, dtype=np.float64).reshape(count, len(header))


def _cells(line: str, row: int, source: str) -> list[str]:
    try:
        return next(csv.reader([line], strict=True), [])
    except csv.Error as exc:  # an unterminated quote, a field beyond csv's size limit
        why = "a quote is not closed" if "end of data" in str(exc) else str(exc)
        raise GradcliError(f"{source}: row {row} is not a CSV row: {why}") from None


def _number(cell: str, name: str, row: int, source: str) -> float:
    text = cell.strip()
    where = f"{source}: row {row}, column '{name}': {text[:40]!r}"
    if _NUMBER.match(text):
        value = float(text)
        if value - value == 0.0:
            return value
        raise GradcliError(f"{where} is not a finite number (it is beyond float64)")
    if _NON_FINITE.match(text):
        raise GradcliError(f"{where} is not a finite number")
    if "_" in text and _NUMBER.match(text.replace("_", "")):
        raise GradcliError(f"{where} is not a number: '_' between digits is not part of "
                           f"the language (write {text.replace('_', '')})")
    if text.isdigit() or any(c.isdigit() and not c.isascii() for c in text):
        raise GradcliError(f"{where} is not a number: digits are ASCII 0-9")
    raise GradcliError(f"{where} is not a number")
