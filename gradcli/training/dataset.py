"""CSV data for ``gradcli fit``: a header row, then numbers (read by csv_stream in blocks).

Errors name what is wrong and where (row numbers count the header as row 1, as
a spreadsheet shows them): a missing column (with the columns there are), a
non-numeric or non-finite cell (nan, inf), an empty file, a row with the wrong
number of cells.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from ..errors import GradcliError
from ..graph import NAMED_CONSTANTS
from .csv_stream import MAX_ROWS, read_columns  # noqa: F401 (MAX_ROWS: the limit, re-exported)


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
    stream = io.BytesIO(text.encode("utf-8", "surrogateescape"))
    return Dataset(*read_columns(stream, source))


def read_csv(path: str, stdin_data=None) -> Dataset:
    """Read a CSV file, or standard input when path is '-' (``stdin_data``: its bytes or
    text, or a binary stream to read in blocks), into float64 columns (csv_stream)."""
    if path == "-":
        source = "standard input"
        if stdin_data is None:
            stdin_data = b""
        if isinstance(stdin_data, str):
            stdin_data = stdin_data.encode("utf-8", "surrogateescape")
        stream = io.BytesIO(stdin_data) if isinstance(stdin_data, bytes) else stdin_data
        return Dataset(*read_columns(stream, source))
    source = f"'{path}'"
    try:
        with open(path, "rb") as fh:
            return Dataset(*read_columns(fh, source))
    except FileNotFoundError:
        raise GradcliError(f"cannot read '{path}': no such file") from None
    except IsADirectoryError:
        raise GradcliError(f"cannot read '{path}': it is a directory") from None
    except OSError as exc:
        raise GradcliError(f"cannot read '{path}': {exc.strerror}") from None


def constants_used(expression) -> list[str]:
    """The named constants (e, pi, tau) an Expression uses."""
    return sorted({n.name for n in expression.nodes if n.op == "const" and n.name})


def split_variables(variables: list[str], dataset: Dataset, target: str, *,
                    constants=()) -> tuple[list[str], list[str]]:
    """(data columns, parameters) of a model: its variables that are columns are data.

    ``constants``: the named constants the model uses (``constants_used``); a column of
    the same name would silently not be read (``e`` in the model is 2.718...): an error."""
    dataset.column(target, "target column")
    for name in constants:
        if name in dataset.data and name in NAMED_CONSTANTS:
            raise GradcliError(f"the data has a column '{name}', but '{name}' in the model is "
                               f"the constant {NAMED_CONSTANTS[name]!r}, not the column "
                               f"(rename the column, as {name}_data, and the model's {name})")
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
