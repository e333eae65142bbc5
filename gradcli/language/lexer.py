"""Text -> tokens. A hand-written tokenizer that keeps each token's column.

Characters it does not know are rejected, never skipped.
"""
from __future__ import annotations

import itertools
import operator
import re
from typing import NamedTuple

from ..errors import ParseError
from ..limits import MAX_LIBRARY_EXPRESSION_LENGTH, exceeded

# token kinds
NUMBER, NAME, OP, LPAREN, RPAREN, COMMA, END = (
    "number", "name", "op", "(", ")", ",", "end")

_OPERATORS = ("**", "+", "-", "*", "/", "^")
_LOOKALIKES = {
    "\u2212": ("unicode minus sign", "use the ASCII '-'"),
    "\u2013": ("en dash", "use the ASCII '-'"),
    "\u00d7": ("multiplication sign", "use '*'"),
    "\u00f7": ("division sign", "use '/'"),
    "\u22c5": ("dot operator", "use '*'"),
    "\u00b7": ("middle dot", "use '*'"),
}


class Token(NamedTuple):
    kind: str
    text: str
    column: int  # 1-based
    value: float | None = None


def _is_name_start(ch: str) -> bool:
    return ch == "_" or ("a" <= ch <= "z") or ("A" <= ch <= "Z")


def _is_name_char(ch: str) -> bool:
    return _is_name_start(ch) or ch.isdigit() and ch.isascii()


def _scan_number(text: str, i: int) -> int:
    """Return the end index of the number starting at i (digits, '.', exponent)."""
    n = len(text)
    j = i
    while j < n and text[j].isascii() and text[j].isdigit():
        j += 1
    if j < n and text[j] == ".":
        j += 1
        while j < n and text[j].isascii() and text[j].isdigit():
            j += 1
    if j < n and text[j] in "eE":
        k = j + 1
        if k < n and text[k] in "+-":
            k += 1
        if k < n and text[k].isascii() and text[k].isdigit():
            while k < n and text[k].isascii() and text[k].isdigit():
                k += 1
            j = k
    return j


# The tokens of well-formed text in one regular expression (ASCII only, as below): the
# fast path. Anything it does not take as it stands (an unknown character, a number
# followed by a name or a '.') goes to the character loop, which says what is wrong.
_FAST_TOKEN = re.compile(  # one alternative per token, spaces included: no backtracking
    r"[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?"  # number
    r"|[A-Za-z_][A-Za-z_0-9]*"                                               # name
    r"|\*\*|[-+*/^]"                                                         # operator
    r"|[(),]"                                                                # ( ) ,
    r"|[ \t\r\n]+")                                                          # spaces
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# a matched token's class from its first character: n number, a name, o operator, s spaces
_CLASS_OF_FIRST = str.maketrans({**dict.fromkeys("0123456789.", "n"),
                                 **dict.fromkeys(_LETTERS + "_", "a"),
                                 **dict.fromkeys("+-*/^", "o"),
                                 **dict.fromkeys(" \t\r\n", "s")})
_KIND_OF_CLASS = {"n": NUMBER, "a": NAME, "o": OP, "(": LPAREN, ")": RPAREN, ",": COMMA,
                  "s": None}
_first_character = operator.itemgetter(0)


def tokenize(text: str) -> list[Token]:
    """Split an expression into tokens, ending with an END token."""
    _check_length(text)
    tokens = _tokenize_fast(text)
    return tokens if tokens is not None else _tokenize_checked(text)


def scan(text: str) -> tuple[list[str], list[str], list[int]]:
    """The tokens as three parallel lists, kinds, texts and columns, ending with END: what
    the parser reads (no object per token; a number's value is float(text))."""
    _check_length(text)
    lists = _scan_fast(text)
    if lists is None:
        tokens = _tokenize_checked(text)
        lists = ([t.kind for t in tokens], [t.text for t in tokens], [t.column for t in tokens])
    return lists


def _check_length(text: str) -> None:
    if len(text) > MAX_LIBRARY_EXPRESSION_LENGTH:  # a ParseError, as every other reason not to parse
        raise ParseError(exceeded("an expression of", len(text), MAX_LIBRARY_EXPRESSION_LENGTH,
                                  unit=" characters").message)


def _tokenize_fast(text: str) -> list[Token] | None:
    """The tokens of well-formed text, or None to let the character loop report a problem."""
    lists = _scan_fast(text)
    if lists is None:
        return None
    kinds, texts, columns = lists
    values = {t: float(t) for k, t in zip(kinds, texts) if k == NUMBER}  # None for the others
    return list(map(tuple.__new__, itertools.repeat(Token, len(kinds)),  # Token(...) in C
                    zip(kinds, texts, columns, map(values.get, texts))))


def _scan_fast(text: str) -> tuple[list[str], list[str], list[int]] | None:
    """The kinds, texts and columns of well-formed text, or None to let the character loop
    report a problem.

    Whole-list operations, no Python loop per token: the matches, their classes as one
    string (a class letter per match), their columns as running sums of their lengths.
    """
    texts = _FAST_TOKEN.findall(text)
    classes = "".join(map(_first_character, texts)).translate(_CLASS_OF_FIRST)
    if "nn" in classes or "na" in classes:  # 1.2.5 (a malformed number), 2x
        return None
    columns = list(itertools.accumulate(map(len, texts), initial=1))
    end = columns.pop()
    if end != len(text) + 1:  # findall skipped what it could not match
        return None
    kinds = list(map(_KIND_OF_CLASS.__getitem__, classes))
    if "s" in classes:  # spaces separate tokens, and are none
        kept = list(map("s".__ne__, classes))
        kinds, texts, columns = (list(itertools.compress(x, kept)) for x in (kinds, texts, columns))
    kinds.append(END)
    texts.append("")
    columns.append(end)
    return kinds, texts, columns


def _tokenize_checked(text: str) -> list[Token]:
    """Character by character: the reference tokenizer, and the one that reports errors."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        col = i + 1
        if ch in " \t\r\n":
            i += 1
        elif (ch.isascii() and ch.isdigit()) or (ch == "." and i + 1 < n and text[i + 1].isascii()
                                                  and text[i + 1].isdigit()):
            j = _scan_number(text, i)
            literal = text[i:j]
            if j < n and _is_name_start(text[j]):
                name_end = j
                while name_end < n and _is_name_char(text[name_end]):
                    name_end += 1
                from .hints import number_then_name  # only for the error

                word_end = name_end
                while word_end < n and (_is_name_char(text[word_end]) or text[word_end] == "."):
                    word_end += 1
                other_form = number_then_name(text[i:word_end])
                if other_form is not None:
                    raise ParseError(other_form[0], column=col, text=text, hint=other_form[1])
                raise ParseError("a number cannot be followed by a name", column=j + 1, text=text,
                                 hint=f"write {literal}*{text[j:name_end]}")
            if j < n and text[j] == ".":
                raise ParseError(f"malformed number '{text[i:j + 1]}'", column=col, text=text)
            tokens.append(Token(NUMBER, literal, col, float(literal)))
            i = j
        elif _is_name_start(ch):
            j = i + 1
            while j < n and _is_name_char(text[j]):
                j += 1
            tokens.append(Token(NAME, text[i:j], col))
            i = j
        elif text.startswith("**", i):
            tokens.append(Token(OP, "**", col))
            i += 2
        elif ch in "+-*/^":
            tokens.append(Token(OP, ch, col))
            i += 1
        elif ch == "(":
            tokens.append(Token(LPAREN, ch, col))
            i += 1
        elif ch == ")":
            tokens.append(Token(RPAREN, ch, col))
            i += 1
        elif ch == ",":
            tokens.append(Token(COMMA, ch, col))
            i += 1
        elif ch in _LOOKALIKES:
            what, hint = _LOOKALIKES[ch]
            raise ParseError(f"unexpected character {what} (U+{ord(ch):04X})", column=col,
                             text=text, hint=hint)
        else:
            shown = repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"
            hint = "write abs(x) for |x|" if ch == "|" else None
            if ch.isdecimal():  # fullwidth or other scripts' digits: CSV cells' rule too
                end = i
                while end < n and text[end].isdecimal():
                    end += 1
                hint = f"digits are ASCII 0-9: write {''.join(str(int(c)) for c in text[i:end])}"
            raise ParseError(f"unexpected character {shown}", column=col, text=text, hint=hint)
    tokens.append(Token(END, "", n + 1))
    return tokens
