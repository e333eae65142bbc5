"""User-facing errors: a message, the column it points at, and an optional hint.

The command line turns a GradcliError into ``gradcli: error: ...`` on stderr,
followed by the expression and a caret under the column, and exit status 2.
"""
from __future__ import annotations

import unicodedata

CONTEXT_WIDTH = 200  # characters of the expression shown around the column


def _displayable(ch: str) -> str:
    """``ch`` itself, a space for a tab, or U+FFFD for what a terminal cannot show."""
    if ch == "\t":
        return " "
    if ch.isprintable() and not ("\ud800" <= ch <= "\udfff"):
        return ch
    return "\ufffd"


def _width(ch: str) -> int:
    """Terminal columns of a character: 2 for wide ones, 0 for combining marks, else 1."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


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
        """The expression with a caret under the offending column, or None.

        Characters that cannot be shown (control characters, NUL, a newline) appear as
        U+FFFD so that the display stays two lines; wide characters (CJK, emoji) count
        two columns so that the caret stays under the column.
        """
        if self.text is None or self.column is None:
            return None
        text, column = self.text, self.column
        start = 0
        if len(text) > CONTEXT_WIDTH:  # keep a window around the column for long inputs
            start = max(0, min(column - 1 - CONTEXT_WIDTH // 2, len(text) - CONTEXT_WIDTH))
            text = text[start:start + CONTEXT_WIDTH]
        shown = "".join(_displayable(ch) for ch in text)
        offset = sum(_width(ch) for ch in shown[:max(0, column - 1 - start)])
        return f"  {shown}\n  {' ' * offset}^"

    def __str__(self) -> str:
        return self.headline()


class ParseError(GradcliError):
    """The expression text could not be parsed."""


class EvaluationError(GradcliError):
    """The expression could not be evaluated as asked (missing variable, ...)."""
