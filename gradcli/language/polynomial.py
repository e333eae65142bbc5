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

import re
from typing import NamedTuple

import numpy as np

# the lexer's tokens (gradcli/language/lexer.py), as regular expressions; possessive (*+,
# ++: what a token took is never given back, which a token's next character never needs),
# which spares the engine its backtracking bookkeeping (the pass 18% faster)
_SPACE = r"[ \t\r\n]*+"
_NUMBER = r"(?:[0-9]++(?:\.[0-9]*+)?+(?:[eE][+-]?[0-9]++)?+|\.[0-9]++(?:[eE][+-]?[0-9]++)?+)"
_NAME = r"[A-Za-z_][A-Za-z_0-9]*+"
# one term with the operator before it: (operator, sign, coefficient, name, exponent,
# constant); the coefficient's form first, so that a number followed by '*' is one. Spaces
# only after a token, never first: a match tried at a space fails at once, so a long run
# of spaces is scanned a bounded number of times (a leading space pattern, retried from
# every space of a run that no term follows, was quadratic: test_hostile_input). Read by
# re.split, which gives a flat list of strings (no tuple per term for the cycle collector
# to walk): the text before each match, then its groups
_TERM = re.compile(
    rf"(?:([+-]){_SPACE})?(?:([+-]){_SPACE})?"
    rf"(?:(?:({_NUMBER}){_SPACE}\*(?!\*){_SPACE})?({_NAME})"
    rf"(?:{_SPACE}(?:\*\*|\^){_SPACE}([0-9]{{1,9}}+))?|({_NUMBER})){_SPACE}")
_STRIDE = 7   # per term in re.split's list: the text before it, then its 6 groups


class Polynomial(NamedTuple):
    """sum(coefficients * name ** exponents), one entry per term as written."""
    name: str
    coefficients: np.ndarray   # float64, the terms' signs applied
    exponents: np.ndarray      # int64, 0 for a constant term


def recognize(text: str) -> Polynomial | None:
    """The polynomial the text writes, or None when the parser must read it."""
    if "(" in text or "/" in text or "," in text:   # a call, parentheses, a quotient: at
        return None                                 # once, before a pass of the pattern
    pieces = _TERM.split(text)
    between = pieces[::_STRIDE]
    if between.count("") + (between[0] != "") != len(between) or between[0].strip(" \t\r\n"):
        return None                           # text no term reads: not a plain sum
    operators, signs, coefficients, names, exponents, constants = (
        pieces[k::_STRIDE] for k in range(1, _STRIDE))
    count = len(operators)
    if not count or None in operators[1:]:   # two terms side by side ('x y', '3 .5')
        return None
    distinct = set(names)
    distinct.discard(None)
    if len(distinct) != 1:                    # a constant, or several variables
        return None
    name = distinct.pop()
    from ..graph import NAMED_CONSTANTS
    from ..registry import language_functions

    if name in NAMED_CONSTANTS or name in language_functions() or name == "pow":
        return None                           # pi, e, tau; sin without its call (an error)
    # each distinct literal converted once, by float() as the lexer does
    values = {literal: float(literal) for literal in set(coefficients) | set(constants)
              if literal is not None}
    values[None] = 1.0
    magnitude = np.array(list(map(values.__getitem__, coefficients)))
    constant = _positions_of_none(names)
    if constant:
        magnitude[constant] = [values[constants[i]] for i in constant]
    if not np.isfinite(magnitude).all():     # '1e999': the parser's error
        return None
    negative = (np.array(operators, dtype=object) == "-") != (np.array(signs, dtype=object) == "-")
    # the exponents (digits alone) read by numpy in one call; a bare x's is 1, a constant's 0
    bare = _positions_of_none(exponents)
    if bare:
        exponents = exponents.copy()
        for i in bare:
            exponents[i] = "1"
    exponent = np.fromstring(" ".join(exponents), dtype=np.int64, sep=" ")
    if len(exponent) != count:
        return None
    exponent[constant] = 0
    return Polynomial(name, np.where(negative, -magnitude, magnitude), exponent)


def _positions_of_none(items: list) -> list[int]:
    """Where None is in the list (list.index scans in C: the loop runs once per None)."""
    found = []
    start = 0
    for _ in range(items.count(None)):
        start = items.index(None, start)
        found.append(start)
        start += 1
    return found
