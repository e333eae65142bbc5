"""Shared pieces of the subcommands: options, input from stdin, errors and output.

Use: ``@command(examples=[...])`` + ``@expr_argument`` + ``@at_option`` + ``@format_option``
on a function; inside, ``read_expressions(expr)`` / ``point_batches(at)`` (or the whole loop,
``for_each_point``) read the input, ``RowWriter``/``json_line``/``format_number`` write it, and a
GradcliError raised (or passed to ``report_error`` to go on) becomes ``gradcli: error: ...``
and exit status 2.

The pieces, in the order a subcommand meets them:

- ``command(name=None, examples=[...], **click_kwargs)``: ``click.command`` with gradcli's
  error handling (``GradcliCommand``): a GradcliError -> ``gradcli: error: ...`` (plus the
  expression and a caret for parse errors) and exit 2; a closed stdout -> quiet, exit 141;
  Ctrl-C -> what was written so far is flushed, exit 130; errors passed to ``report_error``
  -> exit 2 at the end; ``click.get_current_context().exit(EXIT_FAILED)`` -> exit 1
  (a failed check, a divergence), stdout flushed first. It also lets an expression that
  starts with '-' follow ``--`` (``gradcli diff -- "-x**2" --at 1``) and says so when the
  ``--`` is missing.
- ``expr_argument``: the EXPR argument; ``-`` reads expressions from stdin.
- ``at_option``: ``--at POINT``, repeatable; ``2``, ``x=1,y=2``, or ``-`` for points on
  stdin. The value is a tuple of ``gradcli.points.Point`` and ``STDIN`` markers.
- ``format_option`` (or ``format_option(choices, tty_default, pipe_default)``): ``--format``;
  the default is ``table`` when stdout is a terminal, else ``plain``.
- ``read_expressions(expr)``: lists of ``Source(text, where)``, one per expression (stdin
  lines: blank and ``#`` lines skipped; ``where`` is "stdin line N", None for the command
  line). ``parse_expression(source)``: the parsed Expression (cached by text).
- ``point_batches(at)``: lists of points (stdin read in batches, for vectorized passes).
- ``for_each_point(expr, at, compute, writer)``: the loop of a row-per-point command:
  every expression at every point, one vectorized ``compute(expression, names, env, points)``
  per expression and group of points, returning one ``Row`` per point.
- ``warn_non_finite(expression, names, points, [(what, array), ...])``: the SPEC's nan/inf
  warning, once per expression.
- ``report_error(error, where=None)`` / ``warn(message)``: messages on stderr.
- ``format_number``, ``json_number``, ``json_line``, ``RowWriter``, ``Row``: see
  ``gradcli.render``.

Only click and the standard library are imported here; numpy and the engine load when
an expression is parsed, rich only when a table is drawn.
"""
from __future__ import annotations

import errno
import io
import os
import shlex
import sys
from dataclasses import dataclass
from functools import lru_cache

import click

from ..errors import GradcliError
from .points import BARE, Point, PointError, batches, parse_point
from .render import FORMATS, Row, RowWriter, format_number, json_line, json_number

__all__ = [
    "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_INTERRUPTED", "EXIT_BROKEN_PIPE", "STDIN",
    "FORMATS", "Row", "RowWriter", "format_number", "json_line", "json_number",
    "command", "expr_argument", "at_option", "format_option", "stdout_is_terminal",
    "Source", "read_expressions", "parse_expression", "point_batches", "stdin_line_batches",
    "for_each_point", "report_error", "warn", "warn_non_finite", "errors_reported",
    "GradcliCommand", "GradcliGroup",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130     # 128 + SIGINT, as a shell reports a Ctrl-C
EXIT_BROKEN_PIPE = 141     # 128 + SIGPIPE, as a shell reports `| head -1`

STDIN = "-"
STDIN_BATCH_LINES = 65536  # at most this many stdin lines per vectorized pass

_ERRORS_KEY = "gradcli.errors"


# -- messages -------------------------------------------------------------------------------
def _stderr(text: str) -> None:
    click.echo(text, err=True)


def report_error(error: GradcliError | str, where: str | None = None) -> None:
    """Write ``gradcli: error: [where: ]message`` (and the caret display) on stderr.

    Inside a command, the run then ends with exit status 2 (after the rest of the input).
    """
    if isinstance(error, GradcliError):
        headline, context = error.headline(), error.context()
    else:
        headline, context = str(error), None
    _stderr(f"gradcli: error: {where + ': ' if where else ''}{headline}")
    if context:
        _stderr(context)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        root = ctx.find_root()
        root.meta[_ERRORS_KEY] = root.meta.get(_ERRORS_KEY, 0) + 1


def warn(message: str) -> None:
    """Write ``gradcli: warning: message`` on stderr."""
    _stderr(f"gradcli: warning: {message}")


_WARNED_KEY = "gradcli.warned"


def warn_non_finite(expression, names, points, results) -> None:
    """Warn once per expression when a result is nan or inf (SPEC 4), naming the point and
    the function that left the domain (for a value) or what overflowed (for a derivative).

    ``results`` is a list of ``(what, array)``, one value per point, the value first:
    ``[("the value", values), ("the derivative of order 1", d1), ...]``.
    """
    import math

    import numpy as np

    ctx = click.get_current_context(silent=True)
    warned = ctx.find_root().meta.setdefault(_WARNED_KEY, set()) if ctx is not None else set()
    if expression.text in warned:
        return
    for what, array in results:
        bad = np.flatnonzero(~np.isfinite(np.asarray(array, dtype=np.float64).reshape(-1)))
        # a point that is itself nan or inf explains its result: no warning for it
        bad = [int(i) for i in bad if i >= len(points)
               or all(math.isfinite(v) for v in points[int(i)].values)]
        if not bad:
            continue
        i = bad[0]
        point = points[i] if i < len(points) else points[0]
        where = ",".join(f"{n}={format_number(v)}" for n, v in zip(names, point.values))
        where = where or "no point"
        value = format_number(np.asarray(array, dtype=np.float64).reshape(-1)[i])
        origin = _origin(expression, dict(zip(names, point.values))) \
            if what == "the value" else None
        if origin:  # the first op that left its domain: "log(-1.0) is nan at x=-1.0"
            message = f"{expression.text}: {origin}"
        else:
            message = f"{expression.text}: {what} is {value} at {where}"
            if what != "the value":
                message += " (a singularity of a derivative, or beyond the float64 range)"
        others = len(bad) - 1
        if others:
            message += f"; and at {others} other point{'s' if others > 1 else ''}"
        warn(message)
        warned.add(expression.text)
        return


def _origin(expression, env: dict) -> str | None:
    """The engine's account of where the value turns nan/inf (gradcli.domain)."""
    from ..nonfinite import nonfinite_origin

    try:
        return nonfinite_origin(expression, env)
    except (GradcliError, KeyError, ValueError, TypeError, ArithmeticError):  # a diagnostic only
        return None


def errors_reported() -> int:
    ctx = click.get_current_context(silent=True)
    return ctx.find_root().meta.get(_ERRORS_KEY, 0) if ctx is not None else 0


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at devnull, so the exit flush stays silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass


# -- commands -----------------------------------------------------------------------------------
class GradcliCommand(click.Command):
    """A click command with gradcli's error handling and the ``--`` rule for expressions."""

    def parse_args(self, ctx, args):
        args = _expression_after_double_dash(self, list(args))
        try:
            return super().parse_args(ctx, list(args))
        except click.NoSuchOption as e:
            bad = next((a for a in args if a == "--" or a.startswith(e.option_name)), e.option_name)
            example = f"gradcli {ctx.info_name} -- {shlex.quote(bad)}"
            if bad != "--" and not bad.startswith("--"):
                raise click.UsageError(
                    f"no such option: {bad} (an expression that starts with '-' goes after --, "
                    f"as in: {example} ...)", ctx) from None
            if bad != "--" and not e.possibilities:  # no option it could be a misspelling of
                raise click.UsageError(
                    f"no such option: {bad} (if it is an expression, it goes after --, "
                    f"as in: {example} ...)", ctx) from None
            raise

    def invoke(self, ctx):
        try:
            try:
                rv = super().invoke(ctx)
            except click.exceptions.Exit:
                sys.stdout.flush()
                raise
            sys.stdout.flush()
        except GradcliError as e:
            _flush_stdout()
            report_error(e)
        except BrokenPipeError:
            _quiet_stdout()
            ctx.exit(EXIT_BROKEN_PIPE)
        except OSError as e:
            if e.errno != errno.EPIPE:
                raise
            _quiet_stdout()
            ctx.exit(EXIT_BROKEN_PIPE)
        except KeyboardInterrupt:
            _flush_stdout()
            _stderr("gradcli: interrupted")
            ctx.exit(EXIT_INTERRUPTED)
        else:
            if not errors_reported():
                return rv
        ctx.exit(EXIT_USAGE)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        return _standalone(super().main, args, prog_name, complete_var, extra)


def _expression_after_double_dash(command: click.Command, args: list[str]) -> list[str]:
    """``diff -- "-x**2" --at 1``: only the arguments right after ``--`` are positional."""
    if "--" not in args:
        return args
    i = args.index("--")
    n = sum(p.nargs for p in command.params if isinstance(p, click.Argument) and p.nargs > 0)
    if n == 0:
        return args
    positional = args[i + 1:i + 1 + n]
    return args[:i] + args[i + 1 + n:] + ["--"] + positional


def _standalone(main, args, prog_name, complete_var, extra):
    """Run a click main in non-standalone mode and turn every outcome into an exit status."""
    try:
        rv = main(args, prog_name, complete_var, standalone_mode=False, **extra)
    except click.UsageError as e:
        if type(e).__name__ == "NoArgsIsHelpError":
            e.show()
            sys.exit(e.exit_code)
        message = e.format_message().rstrip(".")
        if message[:1].isupper() and message[1:2].islower():
            message = message[:1].lower() + message[1:]
        hint = ""
        if e.ctx is not None and not message.endswith(")"):
            hint = f" (see '{e.ctx.command_path} --help')"
        _stderr(f"gradcli: error: {message}{hint}")
        sys.exit(EXIT_USAGE)
    except click.ClickException as e:  # a file that cannot be opened, ...
        _stderr(f"gradcli: error: {e.format_message()}")
        sys.exit(EXIT_USAGE)
    except click.Abort as e:
        if isinstance(e.__cause__, KeyboardInterrupt):
            _stderr("gradcli: interrupted")
            sys.exit(EXIT_INTERRUPTED)
        _stderr("gradcli: aborted")
        sys.exit(EXIT_FAILED)
    except GradcliError as e:
        report_error(e)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        _stderr("gradcli: interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(EXIT_BROKEN_PIPE)
    sys.exit(rv if isinstance(rv, int) and not isinstance(rv, bool) else EXIT_OK)


class GradcliGroup(click.Group):
    """The ``gradcli`` group: subcommands loaded lazily from ``"module:attribute"`` paths,
    and the same error handling as GradcliCommand for everything click reports."""

    def __init__(self, *args, lazy_subcommands: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_subcommands))

    def get_command(self, ctx, name):
        if name not in self.commands and name in self.lazy_subcommands:
            import importlib

            module, _, attribute = self.lazy_subcommands[name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        return _standalone(super().main, args, prog_name, complete_var, extra)


def command(name: str | None = None, *, examples: list[str] | tuple[str, ...] = (), **kwargs):
    """``click.command`` for a gradcli subcommand; ``examples`` are shown by ``--help``."""
    if examples:
        lines = "\n".join(f"  {e}" for e in examples)
        kwargs.setdefault("epilog", f"\b\nExamples:\n{lines}")
    kwargs.setdefault("context_settings", {"help_option_names": ["-h", "--help"]})
    return click.command(name, cls=GradcliCommand, **kwargs)


# -- options ---------------------------------------------------------------------------------
def stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def format_option(func=None, *, choices=FORMATS, tty_default: str = "table",
                  pipe_default: str = "plain"):
    """``--format``: one of ``choices``; default ``tty_default`` on a terminal, else
    ``pipe_default``. Use bare (``@format_option``) or called (``@format_option(choices=...)``)."""

    def resolve(ctx, param, value):
        if value is None:
            return tty_default if stdout_is_terminal() else pipe_default
        return value

    decorator = click.option(
        "--format", "format", type=click.Choice(list(choices), case_sensitive=False),
        default=None, callback=resolve, metavar="|".join(choices),
        help=f"Output format (default: {tty_default} on a terminal, {pipe_default} otherwise).")
    return decorator(func) if func is not None else decorator


def _parse_at(ctx, param, values):
    """The --at values as Points (STDIN for '-'); a malformed one raises PointError,
    reported with a caret under the column like a parse error."""
    out = []
    for value in values:
        if value.strip() == STDIN:
            if STDIN in out:
                raise click.BadParameter("'-' (stdin) is given twice", ctx, param)
            out.append(STDIN)
        else:
            out.append(parse_point(value, "--at"))
    return tuple(out)


at_option = click.option(
    "--at", "at", multiple=True, metavar="POINT", callback=_parse_at,
    help="Point: 2 (one variable) or x=1,y=2; repeat for several points; "
         "'-' reads points from stdin, one per line.")

expr_argument = click.argument("expr", metavar="EXPR")


# -- input -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """An expression's text and where it came from (None: the command line)."""

    text: str
    where: str | None = None


def stdin_line_batches(stream=None, max_lines: int = STDIN_BATCH_LINES):
    """Lists of ``(line_number, text)`` from stdin: as many lines as are ready (up to
    ``max_lines``), so that a pipe is read in large batches and a terminal line by line."""
    stream = stream if stream is not None else sys.stdin
    try:
        fd = stream.fileno() if os.name == "posix" else None  # elsewhere: fixed-size batches
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        fd = None
    number = 0
    batch: list[tuple[int, str]] = []
    if fd is None:
        raw = getattr(stream, "buffer", None)  # bytes, decoded as a descriptor's are
        for line in (raw if raw is not None else stream):
            if isinstance(line, bytes):
                line = line.decode("utf-8", "replace")
            number += 1
            batch.append((number, line.rstrip("\r\n")))
            if len(batch) >= max_lines:
                yield batch
                batch = []
        if batch:
            yield batch
        return
    import select

    pending = b""
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        pending += chunk
        if b"\n" not in chunk:
            continue
        *lines, pending = pending.split(b"\n")
        for raw in lines:
            number += 1
            batch.append((number, raw.decode("utf-8", "replace").rstrip("\r")))
        if len(batch) >= max_lines or not select.select([fd], [], [], 0)[0]:
            yield batch
            batch = []
    if pending:
        number += 1
        batch.append((number, pending.decode("utf-8", "replace").rstrip("\r")))
    if batch:
        yield batch


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
        batch = [Source(text.strip(), f"stdin line {n}") for n, text in lines if _content(text)]
        if batch:
            yield batch


@lru_cache(maxsize=1024)
def _parse(text: str):
    from ..expression import parse
    from ..limits import MAX_EXPRESSION_LENGTH, check

    # the command line's own limit, below the library's: input from a pipe may be anything
    check("an expression of", len(text), MAX_EXPRESSION_LENGTH, unit=" characters")
    return parse(text)


def parse_expression(source: Source | str):
    """The parsed Expression of a Source (cached by text); raises ParseError."""
    return _parse(source.text if isinstance(source, Source) else source)


def point_batches(at: tuple):
    """Lists of Points in the order given, ``-`` read from stdin in batches; a bad stdin
    line is reported (``report_error``) and skipped. No ``--at``: one empty point."""
    if not at:
        yield [Point((), (), "", "--at")]
        return
    given: list[Point] = []
    for item in at:
        if item != STDIN:
            given.append(item)
            continue
        if given:
            yield given
            given = []
        for lines in stdin_line_batches():
            batch = []
            for n, text in lines:
                if not _content(text):
                    continue
                try:
                    batch.append(parse_point(text.strip(), f"stdin line {n}"))
                except PointError as e:
                    report_error(e)
            if batch:
                yield batch
    if given:
        yield given


# -- the loop of a row-per-point command -------------------------------------------------------
def for_each_point(expr: str, at: tuple, compute, writer: RowWriter) -> None:
    """Write ``compute``'s rows for every expression of EXPR at every point of ``--at``.

    ``compute(expression, names, env, points)`` gets one group of points that give the
    same variables (``names``, sorted; ``env`` maps each to a numpy array of its values,
    one entry per point) and returns a list of Rows, one per point, in order. Errors that
    concern one expression or one point are reported and the rest goes on (exit 2 at the
    end); with a single expression on the command line they end the run.
    """
    if expr == STDIN and STDIN in at:
        raise click.UsageError("EXPR and --at cannot both read stdin ('-')")
    if expr != STDIN:
        expression = parse_expression(expr)
        for points in point_batches(at):
            for item in _rows_at(expression, points, compute):
                if isinstance(item, GradcliError):
                    report_error(item, item_where(item))
                else:
                    writer.write(item)
            writer.flush()
        return
    points = next(point_batches(at))
    for sources in read_expressions(expr):
        done: dict[str, list] = {}
        for source in sources:
            results = done.get(source.text)
            if results is None:
                try:
                    results = _rows_at(parse_expression(source), points, compute)
                except GradcliError as e:
                    results = [e]
                done[source.text] = results
            for item in results:
                if isinstance(item, GradcliError):
                    where = item_where(item)
                    report_error(item, f"{source.where}: {where}" if where else source.where)
                else:
                    writer.write(item)
        writer.flush()


def item_where(error: GradcliError) -> str | None:
    return getattr(error, "where", None)


class _PointProblem(GradcliError):
    """An error about one point (missing or extra variable), with where it was written."""

    def __init__(self, message: str, where: str):
        super().__init__(message)
        self.where = where


def _rows_at(expression, points: list[Point], compute) -> list:
    """Rows (or errors) for the points, in order; one compute call per group of names."""
    out: list = [None] * len(points)
    variables = expression.variables
    for batch in batches(points):
        names = batch.names
        if names == (BARE,):
            names = tuple(variables) if len(variables) == 1 else names
        problem = _names_problem(expression, names)
        if problem is not None:
            for position, point in zip(batch.positions, batch.points):
                out[position] = _PointProblem(problem, _point_where(point))
            continue
        points_here = [Point(names, p.values, p.text, p.where) for p in batch.points]
        rows = compute(expression, names, batch.env(names) if names else {}, points_here)
        for position, row in zip(batch.positions, rows):
            out[position] = row
    return out


def _point_where(point: Point) -> str | None:
    if not point.text:
        return None
    if point.where == "--at":
        return f"--at {point.text!r}"
    return point.where


def _names_problem(expression, names: tuple[str, ...]) -> str | None:
    """Why a point giving ``names`` does not fit the expression, or None."""
    if names == tuple(expression.variables):
        return None
    if not expression.variables:
        return "the expression has no variables: leave out --at"
    if names == (BARE,):
        count = len(expression.variables)
        return (f"a value without a name needs an expression of one variable; this one has "
                f"{count} ({', '.join(expression.variables)}): name them, as "
                f"{','.join(f'{v}=1' for v in expression.variables)}")
    extra = [n for n in names if n not in expression.variables]
    if extra:
        known = ", ".join(expression.variables) or "none"
        listed = ", ".join(repr(e) for e in extra)
        return f"the expression has no variable {listed} (its variables: {known})"
    missing = [v for v in expression.variables if v not in names]
    given = "" if names else " (give it with --at)"
    return f"no value given for variable {', '.join(repr(m) for m in missing)}{given}"
