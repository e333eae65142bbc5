"""The limits on what gradcli accepts, each with the reason for its value.

A calculus tool in a shell pipeline meets input nobody typed on purpose: a
generated expression of a million characters, ``--order 1e9`` meant as
``--order 9``, ``--steps 10000000000``. Beyond a limit gradcli stops at once with
``gradcli: error: ... (the limit is N)`` and exit status 2, never a hang, a
MemoryError or a RecursionError. Every limit is far above what a person types and
what the tests exercise, and low enough that the largest accepted input still
finishes in about a second (expressions) or in minutes, not days (optimization).

The modules that read the input enforce the limits with ``exceeded`` (one
message format for all): the command line's parse (gradcli/cli/inputs.py) the
length of its expressions, the lexer the library's length, the parser the depth, ``diff``
and ``check`` the order, ``minimize`` the steps and ``fit`` the epochs.
README section "Limits" shows the same table; tests/test_hostile_input.py
checks each one just below and just above its value.
"""
from __future__ import annotations

from .errors import GradcliError

# Characters in one expression given to the command line (EXPR, a stdin line, a --at
# point). Parsing and the engines are linear in the length, but Python's constant is
# large: measured on a 2-core machine, an expression of 100,000 characters (50,000 ops)
# parses in 0.2 s and `gradcli grad` answers in 0.8 s, one of 1,000,000 parses in 2 s and
# takes 6-7 s for eval or grad (and a parse error at its end 2 s). Nobody types 100,000
# characters, and input from a pipe may be anything: at this length every answer, or
# error, comes within about a second. A generated model that long belongs in the library.
MAX_EXPRESSION_LENGTH = 100_000

# Characters in one expression given to the library (gc.parse). The library's caller
# chooses its input, and generated expressions are longer: the 100,000-term polynomial
# of the benchmark (700,000 characters) parses in about a second. Beyond a million
# characters, parsing takes seconds and the graph hundreds of megabytes.
MAX_LIBRARY_EXPRESSION_LENGTH = 1_000_000

# Characters of a polynomial in one variable written as a plain sum of c*x**k terms, given
# to the library: such text is read as columns of coefficients and exponents, without a
# graph (gradcli/language/polynomial.py), and its value and first derivative at one point
# come from the columns (gradcli/taylor/polynomial.py). Measured on a 2-core machine: a
# million terms (14 million characters) are read and differentiated in about a second
# (0.85 s of CPU), with about 250 MB at the peak. What needs the graph (other orders, many points,
# gradients) still stops at MAX_LIBRARY_EXPRESSION_LENGTH.
MAX_POLYNOMIAL_LENGTH = 20_000_000

# Levels of nesting: parentheses, calls, unary signs and powers. The parser is
# recursive descent and spends a few Python frames per level; 200 levels is
# deeper than any formula written by hand, and stays far below Python's recursion
# limit, so 100,000 nested parentheses are an error at level 201, not a
# RecursionError (and are rejected before any node is built).
MAX_NESTING_DEPTH = 200

# Highest derivative order (diff, check). SPEC asks for at least 1000. Taylor mode costs
# about N**2 per op per pass (and up to about ten passes rescale the series for functions
# whose coefficients under- or overflow): measured with `gradcli diff` at one point, a
# 14-op expression takes 0.1 s of work at order 1000, 0.2 s at 2000, 1.4 s at 5000 and
# 10 s at 10,000. Past order ~170 most derivatives leave the float64 range anyway
# (170! ~ 7e306). The order also sizes every output row (N+1 numbers a point), so a typo
# such as --order 100000000 would allocate gigabytes before the first result.
MAX_ORDER = 2000

# Optimizer steps (minimize --steps) and epochs (fit --epochs). A float64 step of
# a small expression takes a few microseconds, so 10,000,000 steps is a real
# long run (a minute or so); a typo with three more zeros would be a day. Ctrl-C
# ends a run early and prints what was done (exit 130).
MAX_STEPS = 10_000_000
MAX_EPOCHS = 10_000_000

# Rows of a CSV data set (fit --data, gc.fit). Read in blocks into float64 columns, a
# row of c columns costs 8c bytes: 10,000,000 rows of two columns are 160 MB (peak RSS
# of the reader about 1.4x that, measured), and one epoch over them a second or more.
# The row after the limit is refused as soon as it is read, before more memory is spent.
MAX_DATA_ROWS = 10_000_000

# Bytes in one line of a CSV data set. A row of numbers is tens of bytes; a line of a
# million is a binary file (/dev/zero has no line end at all), one huge field, or a
# stray quote: refused once that many bytes are buffered, not after the memory is gone.
MAX_ROW_BYTES = 1_000_000

# Characters of a `graph --format tree` drawing. A sum of n terms nests n levels deep and
# draws about 2n**2 characters (each level indents 4): 300 terms are 0.5 MB (1 s), 1,000
# are 6 MB (5 s), 3,000 took 52 s and 2.6 GB. At 1,000,000 characters the tree still draws
# in about a second; a bigger graph is refused with a pointer to plain, dot or json,
# whose size is linear in the graph.
MAX_TREE_CHARACTERS = 1_000_000

# grad --hessian: variables x graph nodes (the Hessian is one forward-over-reverse pass
# over the graph per variable). Measured (2 cores, loaded): a sum of 300 squares (300
# variables, 900 nodes: 270,000) takes 6 s, of 1,000 squares (3,000,000) 61 s and 600 MB,
# of 5,000 squares 5.8 GB and then a traceback. 300,000 keeps a Hessian under ~7 s.
MAX_HESSIAN_WORK = 300_000

LIMITS = {
    "expression length": MAX_EXPRESSION_LENGTH,
    "expression length (library)": MAX_LIBRARY_EXPRESSION_LENGTH,
    "polynomial length (library)": MAX_POLYNOMIAL_LENGTH,
    "nesting depth": MAX_NESTING_DEPTH,
    "order": MAX_ORDER,
    "steps": MAX_STEPS,
    "epochs": MAX_EPOCHS,
    "data rows": MAX_DATA_ROWS,
    "bytes in a data row": MAX_ROW_BYTES,
    "characters of a graph tree": MAX_TREE_CHARACTERS,
    "Hessian work (variables x nodes)": MAX_HESSIAN_WORK,
}


class LimitError(GradcliError):
    """An input beyond one of gradcli's limits."""


def exceeded(what: str, value: int | float, limit: int, *, unit: str = "",
             column: int | None = None, text: str | None = None,
             hint: str | None = None) -> LimitError:
    """The error '<what> <value><unit> is beyond the limit of <limit><unit>'; raise it.

    ``exceeded("--order", 5000, MAX_ORDER)``: "--order 5000 is beyond the limit of 2000";
    ``exceeded("an expression of", 200000, MAX_EXPRESSION_LENGTH, unit=" characters")``.
    """
    return LimitError(f"{what} {value}{unit} is beyond the limit of {limit}{unit}",
                      column=column, text=text, hint=hint)


def check(what: str, value: int | float, limit: int, **kwargs) -> None:
    """Raise ``exceeded(what, value, limit, ...)`` when value > limit."""
    if value > limit:
        raise exceeded(what, value, limit, **kwargs)
