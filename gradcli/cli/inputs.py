"""The input of a command: expressions and points from the command line and stdin, matched.

- ``read_expressions(expr)``: batches of ``Source(text, where)`` (stdin: one per line, blank
  and ``#`` lines skipped, ``where`` = "stdin line N"); ``parse_expression(source)``.
- ``point_batches(at)``: lists of Points in input order, stdin read in batches; a bad line
  is reported and keeps its place as a ``BadLine``.
- ``for_each_point(expr, at, compute, writer)``: the loop of a row-per-point command.
- ``start_values`` / ``choose_wrt``: --from/--init and --wrt, through the library's one
  check of a point's names (gradcli/names.py) and its choice of wrt; every command asks
  these, so a mistake gets the same words everywhere.
"""
from __future__ import annotations

import io
import os
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass

import click

from ..errors import GradcliError
from ..limits import MAX_EXPRESSION_LENGTH, LimitError
from .app import report_error
from .columns import NumberLines, number_lines
from ..names import names_problem
from .points import BARE, Point, PointError, batches, parse_point

STDIN = "-"
STDIN_BATCH_LINES = 65536  # at most this many stdin lines per vectorized pass
BATCH_BYTES = 1 << 22      # ... and about this many bytes of them (4 MB)
LINE_CUT = MAX_EXPRESSION_LENGTH + 1       # a longer stdin line is cut to this many characters
LINE_BYTES = 4 * LINE_CUT                  # (UTF-8: at most 4 bytes a character) after
                                           # buffering at most this many of its bytes
PARSED_CHARACTERS = 2 * MAX_EXPRESSION_LENGTH  # the parse cache holds about this much text
BOM = "\ufeff"


# -- variables: the one check ----------------------------------------------------------------
def start_values(variables, point: Point | None, flag: str, **words) -> dict[str, float]:
    """--from / --init: {variable: value} for every variable, 0 where the point says nothing
    (``words``: names_problem's noun, kind and example)."""
    values = dict.fromkeys(variables, 0.0)
    if point is None:
        return values
    problem = names_problem(variables, point.names, partial=True, **words)
    if problem is not None:
        raise GradcliError(f"{flag} {point.text!r}: {problem}")
    if point.names == (BARE,):
        values[variables[0]] = point.values[0]
    else:
        values.update(point.as_dict())
    return values


def choose_wrt(expression, wrt: str | None) -> str:
    """The variable to differentiate along: --wrt, or the expression's only one. The choice
    is the library's (``Expression.derivatives`` makes the same one, ``_wrt``); its message
    names the argument, the command line adds the flag."""
    try:
        return expression._wrt(wrt)
    except GradcliError as e:
        if wrt is None:  # several variables: "... choose one with wrt"
            raise GradcliError(e.message.replace("with wrt", "with --wrt")) from None
        raise GradcliError(f"--wrt {wrt}: {e.message}") from None


# -- expressions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """An expression's text and where it came from (None: the command line)."""

    text: str
    where: str | None = None


def stdin_line_batches(stream=None, max_lines: int = STDIN_BATCH_LINES):
    """Lists of ``(line_number, text)`` from stdin: as many lines as are ready (up to
    ``max_lines``), so that a pipe is read in large batches and a terminal line by line.
    Lines end at LF, CRLF or a lone CR; a UTF-8 byte-order mark before line 1 is dropped."""
    stream = stream if stream is not None else sys.stdin
    try:
        fd = stream.fileno() if os.name == "posix" else None  # elsewhere: fixed-size batches
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        fd = None
    number = 0
    batch: list[tuple[int, str]] = []
    if fd is None:
        raw = getattr(stream, "buffer", None)  # bytes, decoded as a descriptor's are
        for chunk in (raw if raw is not None else stream):  # lines ending at LF
            if isinstance(chunk, bytes):
                chunk = chunk.decode("utf-8", "replace")
            lines = chunk.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            if lines[-1] == "":  # the chunk's own line end
                lines.pop()
            for line in lines:
                number += 1
                batch.append((number, line.lstrip(BOM) if number == 1 else line))
            if len(batch) >= max_lines:
                yield batch
                batch = []
        if batch:
            yield batch
        return
    import select

    pending = bytearray()  # appended in place: a long line is read in linear time
    overlong = False       # the line being read passed LINE_BYTES: the rest is dropped
    size = 0               # bytes of the batch's lines
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except OSError:  # stdin closed (<&-) or unreadable: as empty
            break
        if not chunk:
            break
        if b"\n" not in chunk and b"\r" not in chunk:
            if not overlong:
                pending += chunk
                if len(pending) > LINE_BYTES:  # endless line: keep its head, drop the rest
                    del pending[LINE_BYTES:]
                    overlong = True
            continue
        if overlong:  # the overlong line ends in this chunk: its head is enough
            cut = min(chunk.find(b) for b in (b"\n", b"\r") if b in chunk)
            chunk = chunk[cut:]
            overlong = False
        pending += chunk
        # a CR at the end may be the first half of a CRLF: keep it for the next chunk
        cut = len(pending) - 1 if pending.endswith(b"\r") else len(pending)
        text, pending = bytes(pending[:cut]), bytearray(pending[cut:])
        text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, rest = text.split(b"\n")
        pending[:0] = rest
        if lines and max(map(len, lines)) < LINE_BYTES:  # decoded at once: as line by line,
            texts = text[:len(text) - len(rest) - 1].decode("utf-8", "replace").split("\n")
            if number == 0:  # (UTF-8 never uses the byte of a line end inside a character)
                texts[0] = texts[0].lstrip(BOM)
            batch.extend(zip(range(number + 1, number + 1 + len(texts)), texts))
            number += len(texts)
            size += len(text) - len(rest) - len(texts)
        else:
            for raw in lines:
                number += 1
                size += len(raw)
                batch.append((number, _line(raw, number)))
        if len(pending) > LINE_BYTES:
            del pending[LINE_BYTES:]
            overlong = True
        if len(batch) >= max_lines or size >= BATCH_BYTES \
                or not select.select([fd], [], [], 0)[0]:
            yield batch
            batch, size = [], 0
    pending = pending.rstrip(b"\r")
    if pending:
        number += 1
        batch.append((number, _line(bytes(pending), number)))
    if batch:
        yield batch


class CutLine(str):
    """A stdin line cut to LINE_CUT characters: never stripped, so that it stays beyond the
    limit (a cut at a space, stripped, was a shorter expression that parsed: the first
    100,000 characters of '2 *x + x + ...' answered 25001 with exit status 0)."""


def _line(raw: bytes, number: int) -> str:
    """A stdin line's text; one beyond the length limit is cut to LINE_CUT characters
    (its error then says "more than" the limit, without holding all of it)."""
    if len(raw) >= LINE_BYTES:  # held to LINE_BYTES: its length is unknown
        line = raw[:LINE_BYTES].decode("utf-8", "replace")[:LINE_CUT]
        if len(line) == LINE_CUT:
            return CutLine(line)
    else:
        line = raw.decode("utf-8", "replace")
    return line.lstrip(BOM) if number == 1 else line


def _content(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and not stripped.startswith("#")


def read_expressions(expr: str):
    """Batches of Sources: ``[Source(expr)]``, or the expressions on stdin for ``-``
    (one per line; blank lines and lines starting with ``#`` skipped)."""
    if expr != STDIN:
        yield [Source(expr)]
        return
    for lines in stdin_line_batches():
        batch = [Source(text if isinstance(text, CutLine) else text.strip(), f"stdin line {n}")
                 for n, text in lines if _content(text)]
        if batch:
            yield batch


_PARSED: OrderedDict = OrderedDict()  # text -> Expression, least recently used first


def _parse(text: str):
    """The Expression of text, from a cache bounded by its total text (PARSED_CHARACTERS:
    a graph costs about 50 bytes a character, so 400 distinct stdin expressions of
    100,000 characters once held 2.2 GB) and by 1024 entries."""
    found = _PARSED.get(text)
    if found is not None:
        _PARSED.move_to_end(text)
        return found
    from ..expression import parse
    from ..limits import exceeded

    # the command line's own limit, below the library's: input from a pipe may be anything
    if len(text) > MAX_EXPRESSION_LENGTH:
        length = f"more than {MAX_EXPRESSION_LENGTH}" if len(text) == LINE_CUT else len(text)
        raise exceeded("an expression of", length, MAX_EXPRESSION_LENGTH, unit=" characters")
    expression = parse(text)
    _PARSED[text] = expression
    total = sum(map(len, _PARSED))
    while len(_PARSED) > 1 and (total > PARSED_CHARACTERS or len(_PARSED) > 1024):
        old, _ = _PARSED.popitem(last=False)
        total -= len(old)
    return expression


def parse_expression(source: Source | str):
    """The parsed Expression of a Source (cached by text); raises ParseError."""
    return _parse(source.text if isinstance(source, Source) else source)


# -- points --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BadLine:
    """A stdin point line that could not be read: its error, keeping the line's place."""

    text: str
    where: str
    error: GradcliError


def point_batches(at: tuple):
    """Lists of Points in the order given, ``-`` read from stdin in batches; a bad stdin
    line is reported (``report_error``) and stays in its place as a BadLine. No ``--at``:
    one empty point."""
    if not at:
        yield [Point((), (), "", "--at")]
        return
    given: list = []
    for item in at:
        if item != STDIN:
            given.append(item)
            continue
        if given:
            yield given
            given = []
        for lines in stdin_line_batches():
            numbers = number_lines(lines)  # all plain numbers: one array, no per-line objects
            if numbers is not None:
                yield numbers
                continue
            batch = []
            for n, text in lines:
                if not _content(text):
                    continue
                try:
                    batch.append(parse_point(text.strip(), f"stdin line {n}"))
                except (PointError, LimitError) as e:  # the line keeps its (empty) row
                    report_error(e)
                    batch.append(BadLine(text.strip(), f"stdin line {n}", e))
            if batch:
                yield batch
    if given:
        yield given


# -- the loop of a row-per-point command -------------------------------------------------------
class PointProblem(GradcliError):
    """An error about one point (missing or extra variable), with where it was written."""

    def __init__(self, message: str, where: str | None, point: Point | None = None):
        super().__init__(message)
        self.where = where
        self.point = point


def for_each_point(expr: str, at: tuple, compute, writer, extra: tuple = ()) -> None:
    """Write ``compute``'s rows for every expression of EXPR at every point of ``--at``.

    ``compute(expression, names, env, points)`` gets one group of points that give the
    same variables (``names``, sorted; ``env`` maps each to a numpy array of its values,
    one entry per point; ``points`` may be a ``columns.NumberLines``) and returns a list
    of Rows, one per point, in order, or a ``columns.Rows`` (made when asked for; the
    plain format writes its lines in one pass, ``Writer.write_rows``). Errors that
    concern one expression or one point are reported, keep their row
    (``writer.error``), and the rest goes on (exit 2 at the end); with a single
    expression on the command line they end the run. ``extra``: names a point may give
    besides the expression's variables (grad --wrt: their derivatives are 0).
    """
    if expr == STDIN and STDIN in at:
        raise click.UsageError("EXPR and --at cannot both read stdin ('-')")
    if expr != STDIN:
        expression = parse_expression(expr)
        # points in timed slices (stdin's stream may be endless, a point costly); cheap
        # points in one pass (one warning counts them all)
        size = [_first_slice(expression)]
        flushed = [time.monotonic()]
        for batch in point_batches(at):
            for points in _timed_slices(batch, size, writer, flushed):
                items = rows_at(expression, points, compute, extra)
                if writer.write_rows(items):  # plain lines of many rows in one pass
                    writer.flush()
                    continue
                for point, item in zip(points, items):
                    if isinstance(item, BadLine):
                        writer.error(expression.text, item.text, item.error)
                    elif isinstance(item, GradcliError):
                        report_error(item, getattr(item, "where", None))
                        if point.where != "--at":  # a stdin line keeps its row
                            writer.error(expression.text, point, item)
                    else:
                        writer.write(item)
            writer.flush()
            flushed[0] = time.monotonic()
        return
    points = next(point_batches(at))
    for sources in read_expressions(expr):
        done: dict[str, list] = {}
        for source in sources:
            results = done.get(source.text)
            if results is None:
                try:
                    results = rows_at(parse_expression(source), points, compute, extra)
                except GradcliError as e:
                    results = [e] * len(points)
                    report_error(e, source.where)
                    done[source.text] = results
                    for point in points:
                        writer.error(source.text, point, e)
                    continue
                done[source.text] = results
            for point, item in zip(points, results):
                if isinstance(item, GradcliError):
                    where = getattr(item, "where", None)
                    report_error(item, f"{source.where}: {where}" if where else source.where)
                    writer.error(source.text, point, item)
                else:
                    writer.write(item)
        writer.flush()


SLICE_SECONDS = (0.05, 0.25)  # a slice of points takes about this long: grow or shrink it
FLUSH_SECONDS = 0.5           # results wait at most about this long to be written


SLICE_COST = 2_000_000  # a first slice of stdin points: about this many op-coefficients


def _first_slice(expression) -> int:
    """How many stdin points to compute first: the ops times the Taylor work of the order
    asked for (about N**2 a point at order N) fit in SLICE_COST, so that order 2000 starts
    with one point (a fraction of a second) and a cheap expression with a whole batch (one
    warning then counts all its points)."""
    ctx = click.get_current_context(silent=True)
    order = ctx.params.get("order", 1) if ctx is not None else 1
    order = order if isinstance(order, int) and order > 0 else 1
    cost = max(1, len(expression.nodes)) * (order + 1) ** 2
    return max(1, min(STDIN_BATCH_LINES, SLICE_COST // cost))


def _timed_slices(points: list, size: list, writer, flushed: list):
    """The points in slices sized by the time they take (``size[0]``, kept from call to
    call; ``_first_slice`` at first): twice
    as many while a slice takes under 0.05 s, half while over 0.25 s. Results are written
    after each slice and flushed at the end of the batch or when FLUSH_SECONDS have passed
    (a table is drawn once per flush), so each appears within about a second of its line, the
    memory of a pass stays that of a fraction of a second's work (order 2000 x 65,000
    points would be gigabytes in one pass), and Ctrl-C finds whole slices done."""
    start = 0
    while start < len(points):
        part = points[start:start + size[0]]
        began = time.monotonic()
        yield part
        spent = time.monotonic() - began
        start += len(part)
        if start < len(points) and time.monotonic() - flushed[0] > FLUSH_SECONDS:
            writer.flush()
            flushed[0] = time.monotonic()
        if spent < SLICE_SECONDS[0]:
            size[0] = min(2 * size[0], STDIN_BATCH_LINES)
        elif spent > SLICE_SECONDS[1]:
            size[0] = max(1, size[0] // 2)


def rows_at(expression, points: list, compute, extra: tuple = ()) -> list:
    """Rows (or errors, or BadLines) for the points, in order; one compute call per group
    of names (which may add names from ``extra`` to the expression's variables)."""
    variables = expression.variables
    if isinstance(points, NumberLines) and len(variables) == 1:  # one column, one call
        names = tuple(variables)
        return compute(expression, names, {names[0]: points.values}, points.named(names))
    out: list = [None] * len(points)
    good = []
    for position, point in enumerate(points):
        if isinstance(point, BadLine):
            out[position] = point
        else:
            good.append((position, point))
    variables = expression.variables
    for batch in batches([p for _, p in good]):
        names = batch.names
        if names == (BARE,):
            if len(variables) == 1:
                names = tuple(variables)
            elif not variables and len(extra) == 1:  # a constant along --wrt x: 1 is x=1
                names = tuple(extra)
        # names from extra (--wrt) the expression lacks are allowed: judge the others
        own = tuple(n for n in names if n in variables or n not in extra)
        problem = names_problem(variables, own, flag="--at")
        if problem is not None:
            for position, point in zip(batch.positions, batch.points):
                out[good[position][0]] = PointProblem(problem, _point_where(point), point)
            continue
        points_here = [Point(names, p.values, p.text, p.where) for p in batch.points]
        rows = compute(expression, names, batch.env(names) if names else {}, points_here)
        for position, row in zip(batch.positions, rows):
            out[good[position][0]] = row
    return out


def _point_where(point: Point) -> str | None:
    if not point.text:
        return None
    if point.where == "--at":
        return f"--at {point.text!r}"
    return point.where
