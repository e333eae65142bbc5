"""User-facing errors: a message, the column it points at, and an optional hint.

The command line turns a GradcliError into ``gradcli: error: ...`` on stderr,
followed by the expression and a caret under the column, and exit status 2.
"""
from __future__ import annotations


class GradcliError(Exception):
    """An error in the user's input, carrying its column (1-based) and a hint."""

    def __init__(self, message: str, *, column: int | None = None,
                 text: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.column = column
        self.text = text
        self.hint = hint

    def headline(self) -> str:
        """The one-line message: what is wrong, where, and the hint."""
        line = self.message
        if self.column is not None:
            line += f" at column {self.column}"
        if self.hint:
            line += f" ({self.hint})"
        return line

    def context(self) -> str | None:
        """The expression with a caret under the offending column, or None."""
        if self.text is None or self.column is None:
            return None
        shown = self.text.replace("\t", " ")
        if len(shown) > 200:  # keep a window around the column for long inputs
            start = max(0, self.column - 100)
            window = shown[start:start + 200]
            return f"  {window}\n  {' ' * (self.column - 1 - start)}^"
        return f"  {shown}\n  {' ' * (self.column - 1)}^"

    def __str__(self) -> str:
        return self.headline()


class ParseError(GradcliError):
    """The expression text could not be parsed."""


class EvaluationError(GradcliError):
    """The expression could not be evaluated as asked (missing variable, ...)."""
