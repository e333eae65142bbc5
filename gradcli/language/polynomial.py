"""Text -> a polynomial in one variable (coefficients, exponents) when the text is a plain sum of c*x**k terms: read by one regular expression, without a graph.

A long generated polynomial (``3 - 2*x**1 + x**2 - ...``, issue 22's W5) builds four
graph nodes a term in the parser, which costs tens of microseconds a term in Python;
read as three columns (signed coefficients, exponents, the variable) it costs about a
microsecond, and Taylor mode's first order then runs on the columns in bulk
(gradcli/taylor/polynomial.py). The graph is still what the rest of gradcli reads: an
Expression of a recognised polynomial builds it from the same text, with the parser, the
first time something asks for it (gradcli/expression.py).

What is recognised is a subset of the language the parser reads, with the same meaning:
terms ``c``, ``x``, ``c*x``, ``x**k``, ``c*x**k`` (``^`` for ``**``) with c an unsigned
number and k an unsigned integer literal, joined by ``+`` and ``-``, each term with at
most one sign of its own (``x - -3*x**2``), spaces anywhere between tokens, one variable
name throughout. Everything else (a product of two powers, parentheses, a function, a
second variable, a literal float64 cannot hold, an exponent beyond the parser's integer
powers) is left to the parser: ``recognize`` returns None and never raises.
"""
from __future__ import annotations

import operator
import re
from typing import NamedTuple

import numpy as np

# the lexer's tokens (gradcli/language/lexer.py), as regular expressions
_SPACE = r"[ \t\r\n]*"
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
_NAME = r"[A-Za-z_][A-Za-z_0-9]*"
# one term with what precedes it: (the whole term, its signs, coefficient, name, exponent,
# constant); the coefficient's form first, so that a number followed by '*' is one
_TERM = re.compile(
    rf"((?:{_SPACE}([+-]?){_SPACE}([+-]?){_SPACE})"
    rf"(?:(?:({_NUMBER}){_SPACE}\*(?!\*){_SPACE})?({_NAME})"
    rf"(?:{_SPACE}(?:\*\*|\^){_SPACE}([0-9]{{1,9}}))?|({_NUMBER})){_SPACE})")
_WHOLE, _OPERATOR, _SIGN, _COEFFICIENT, _VARIABLE, _EXPONENT, _CONSTANT = range(7)


class Polynomial(NamedTuple):
    """sum(coefficients * name ** exponents), one entry per term as written."""
    name: str
    coefficients: np.ndarray   # float64, the terms' signs applied
    exponents: np.ndarray      # int64, 0 for a constant term


def recognize(text: str) -> Polynomial | None:
    """The polynomial the text writes, or None when the parser must read it."""
    terms = _TERM.findall(text)
    if not terms:
        return None
    column = [list(map(operator.itemgetter(k), terms)) for k in range(1, 7)]
    wholes = list(map(operator.itemgetter(_WHOLE), terms))
    if sum(map(len, wholes)) != len(text):   # findall skipped something: not a plain sum
        return None
    operators, signs, coefficients, names, exponents, constants = column
    if "" in operators[1:]:                   # two terms side by side ('x y', '3 .5')
        return None
    distinct = set(names)
    distinct.discard("")
    if len(distinct) != 1:                    # a constant, or several variables
        return None
    name = distinct.pop()
    from ..graph import NAMED_CONSTANTS
    from ..registry import language_functions

    if name in NAMED_CONSTANTS or name in language_functions() or name == "pow":
        return None                           # pi, e, tau; sin without its call (an error)
    # each distinct literal converted once, by float() as the lexer does
    values = {text: float(text) for text in set(coefficients) | set(constants) if text}
    values[""] = 1.0
    magnitude = np.array(list(map(values.__getitem__, coefficients)))
    is_constant = np.array(list(map(bool, constants)))
    if is_constant.any():
        magnitude[is_constant] = [values[c] for c in constants if c]
    if not np.isfinite(magnitude).all():     # '1e999': the parser's error
        return None
    negative = np.fromiter(map(_odd_minus, operators, signs), dtype=bool, count=len(terms))
    coefficients_ = np.where(negative, -magnitude, magnitude)
    exponent = np.fromiter(map(_exponent, exponents), dtype=np.int64, count=len(terms))
    exponent[is_constant] = 0
    return Polynomial(name, coefficients_, exponent)


def _exponent(text: str) -> int:
    """x**k's k, or 1 for a bare x (a constant's 0 is set apart)."""
    return int(text) if text else 1


def _odd_minus(operator_: str, sign: str) -> bool:
    """Whether a term's binary operator and own sign make it negative."""
    return (operator_ == "-") != (sign == "-")
