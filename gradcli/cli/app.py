"""How a command ends: errors -> one-line messages, and every outcome -> an exit status.

- ``EXIT_*``: the statuses (SPEC section 2): 0 done, 1 a failed check or a divergence,
  2 bad usage or input (and out of memory), 130 Ctrl-C, 143 SIGTERM, 141 a closed
  stdout, 70 an internal error (``internal_error``: a bug, traceback with GRADCLI_DEBUG=1).
- ``report_error`` / ``warn`` / ``warn_non_finite``: ``gradcli: error: ...`` and
  ``gradcli: warning: ...`` on stderr; a reported error makes the run end with 2.
- ``command(name, examples=[...])``: ``click.command`` with this handling
  (``GradcliCommand``); ``standalone`` does the same for the group.
- ``exit_interrupted(what)``: after Ctrl-C or SIGTERM, with what was done (the handler,
  ``terminate_on_sigterm``, and ``whole_record`` are in ``signals.py``).

Only click and the standard library are imported here.
"""
from __future__ import annotations

import errno
import io
import os
import shlex
import sys

import click

from ..errors import GradcliError
from .signals import (EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated,  # noqa: F401
                      interrupted_status, terminate_on_sigterm, whole_record)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 141                  # 128 + SIGPIPE, as a shell reports `| head -1`

_ERRORS_KEY = "gradcli.errors"
_WARNED_KEY = "gradcli.warned"


def _interrupted_word(error: BaseException | None = None) -> str:
    return "terminated" if interrupted_status(error) == EXIT_TERMINATED else "interrupted"


# -- messages -------------------------------------------------------------------------------
def _stderr(text: str) -> None:
    from .progress import erase_line

    erase_line()  # a message never lands on the end of a progress line
    try:
        click.echo(text, err=True)
    except (OSError, ValueError):  # stderr closed: nowhere to say it
        pass


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


def wrote(filename: str) -> None:
    """``gradcli: wrote FILE`` on stderr: a file was written (--plot)."""
    _stderr(f"gradcli: wrote {filename}")


def errors_reported() -> int:
    ctx = click.get_current_context(silent=True)
    return ctx.find_root().meta.get(_ERRORS_KEY, 0) if ctx is not None else 0


def warn_non_finite(expression, names, points, results) -> None:
    """Warn once per expression when a result is nan or inf (SPEC 4), naming the point and
    the function that left the domain (for a value) or what overflowed (for a derivative).

    ``results`` is a list of ``(what, array)``, one value per point, the value first:
    ``[("the value", values), ("the derivative of order 1", d1), ...]``.
    """
    import math

    import numpy as np

    from .render import format_number

    ctx = click.get_current_context(silent=True)
    warned = ctx.find_root().meta.setdefault(_WARNED_KEY, set()) if ctx is not None else set()
    if expression.text in warned:
        return
    base = _log_base(expression, names, points)
    if base:  # log(x, 0): a finite limit, flagged (issue 23); a nan or inf below as well
        warn(f"{expression.text}: {base}")
        warned.add(expression.text)
    for what, array in results:
        flat = np.asarray(array, dtype=np.float64).reshape(-1)
        bad = np.flatnonzero(~np.isfinite(flat))
        # a point that is itself nan or inf explains its result: no warning for it
        bad = [int(i) for i in bad if i >= len(points)
               or all(math.isfinite(v) for v in points[int(i)].values)]
        if not bad:
            continue
        i = bad[0]
        point = points[i] if i < len(points) else points[0]
        where = ",".join(f"{n}={format_number(v)}" for n, v in zip(names, point.values))
        where = where or "no point"
        origin = _origin(expression, dict(zip(names, point.values))) \
            if what == "the value" else None
        if origin:  # the first op that left its domain: "log(-1.0) is nan at x=-1.0"
            message = f"{expression.text}: {origin}"
        else:
            message = f"{expression.text}: {what} is {format_number(flat[i])} at {where}"
            if what != "the value":
                message += " (a singularity of a derivative, or beyond the float64 range)"
        others = len(bad) - 1
        if others:
            message += f"; and at {others} other point{'s' if others > 1 else ''}"
        warn(message)
        warned.add(expression.text)
        return


def _log_base(expression, names, points) -> str | None:
    """A base 0 or inf of a logarithm at one of the points (gradcli.nonfinite)."""
    if not points or not any(n.op == "div" and n.inputs[1].op == "log"
                             for n in expression.nodes):
        return None
    import numpy as np

    from ..nonfinite import log_base_origin

    try:
        env = {n: np.array([p.values[j] for p in points], dtype=np.float64)
               for j, n in enumerate(names)}
        return log_base_origin(expression, env)
    except (GradcliError, KeyError, ValueError, TypeError, ArithmeticError, IndexError):
        return None  # a diagnostic only


def _origin(expression, env: dict) -> str | None:
    """The engine's account of where the value turns nan/inf (gradcli.nonfinite)."""
    from ..nonfinite import nonfinite_origin

    try:
        return nonfinite_origin(expression, env)
    except (GradcliError, KeyError, ValueError, TypeError, ArithmeticError):  # a diagnostic only
        return None


# -- stdout ------------------------------------------------------------------------------------
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
        with whole_record():
            sys.stdout.flush()
    except (OSError, ValueError, KeyboardInterrupt):
        pass


def _write_failed(error: OSError) -> str:
    """The message of a write to stdout that failed for another reason than a closed pipe."""
    if error.errno == errno.ENOSPC:
        why = "no space left on the device"
    elif error.errno == errno.EBADF:
        why = "stdout is closed"
    else:
        why = error.strerror or str(error)
    return f"cannot write the output: {why}"


_WRITE_ERRORS = {errno.ENOSPC, errno.EBADF, errno.EIO, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _stdout_failure(error: BaseException) -> int | None:
    """The exit status for an error of writing stdout, after saying so; None if it is not one."""
    if isinstance(error, BrokenPipeError) or (isinstance(error, OSError)
                                              and error.errno == errno.EPIPE):
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    if isinstance(error, OSError) and error.errno in _WRITE_ERRORS:
        _stderr(f"gradcli: error: {_write_failed(error)}")
        _quiet_stdout()
        return EXIT_USAGE
    if isinstance(error, ValueError) and "closed file" in str(error):
        _stderr("gradcli: error: cannot write the output: stdout is closed")
        return EXIT_USAGE
    return None


def exit_interrupted(what_was_done: str) -> None:
    """``gradcli: interrupted after ...`` on stderr (``terminated`` after SIGTERM), then exit
    status 130 (143). Call it in the handler, after writing what was done."""
    _flush_stdout()
    _stderr(f"gradcli: {_interrupted_word()} after {what_was_done}")
    click.get_current_context().exit(interrupted_status())


# -- commands -----------------------------------------------------------------------------------
class GradcliCommand(click.Command):
    """A click command with gradcli's error handling and the rule for leading-minus
    expressions."""

    def parse_args(self, ctx, args):
        args = _expression_after_double_dash(self, list(args))
        args = _leading_minus_expressions(self, ctx, args)
        try:
            return super().parse_args(ctx, list(args))
        except click.NoSuchOption as e:
            bad = next((a for a in args if a == "--" or a.startswith(e.option_name)), e.option_name)
            example = f"gradcli {ctx.info_name} -- {shlex.quote(bad)}"
            if bad != "--" and not bad.startswith("--"):
                raise click.UsageError(
                    f"no such option: {bad} (an expression that starts with '-' goes after --, "
                    f"as in: {example} ...)", ctx) from None
            if bad.split("=")[0] == "--dtype":   # minimize's and fit's; here float64 or --digits
                raise click.UsageError(
                    f"no such option: --dtype ({ctx.info_name} computes in float64; --digits D "
                    f"gives D certified digits; --dtype float32 is for minimize and fit)",
                    ctx) from None
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
        except KeyboardInterrupt as e:
            _flush_stdout()
            _stderr(f"gradcli: {_interrupted_word(e)}")
            ctx.exit(interrupted_status(e))
        except MemoryError:
            _flush_stdout()
            _stderr(out_of_memory(ctx.info_name))
            ctx.exit(EXIT_USAGE)
        except (OSError, ValueError) as e:
            status = _stdout_failure(e)
            if status is None:
                raise
            ctx.exit(status)
        else:
            if not errors_reported():
                return rv
        ctx.exit(EXIT_USAGE)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        return standalone(super().main, args, prog_name, complete_var, extra)


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


def _leading_minus_expressions(command: click.Command, ctx, args: list[str]) -> list[str]:
    """``eval '-x**2' --at 3``: an argument that starts with '-' and cannot be an option
    (not an option name, not a cluster of one-letter options, more than a word: ``-x**2``,
    ``-1+x``, ``-sin(x)``) is the expression, as if written after ``--``. ``--bogus``
    and ``-q`` stay errors."""
    if "--" in args or not any(isinstance(p, click.Argument) for p in command.params):
        return args
    taking_value = set()
    for param in command.params:
        if isinstance(param, click.Option) and not param.is_flag and not param.count:
            taking_value.update(param.opts)
    out, expressions, skip = [], [], False
    for arg in args:
        if skip:
            out.append(arg)
            skip = False
            continue
        if arg in taking_value:
            out.append(arg)
            skip = True
            continue
        if _is_expression(arg):
            expressions.append(arg)
            continue
        out.append(arg)
    if not expressions:
        return args
    return out + ["--", *expressions]


def _is_expression(arg: str) -> bool:
    """True for a leading-minus word that no option syntax could mean: a number (``-1``),
    or text with a character no option name has (``-x**2``, ``-1+x``, ``-(x)``)."""
    if not arg.startswith("-") or arg in ("-", "--") or arg.startswith("--"):
        return False
    body = arg[1:]
    if "=" in body:  # -o=value is how some write an option's value
        return False
    return not body.replace("_", "").isalnum() or body[:1].isdigit() or body[:1] == "."


EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h): gradcli's own fault, not the input's


def out_of_memory(command: str | None) -> str:
    """The message for a MemoryError: what ran out and the way around it."""
    doing = f"running {command}" if command else "running"
    return (f"gradcli: error: out of memory while {doing}, try fewer points or a lower "
            "order (docs/limits.md lists the limits)")


def internal_error(error: BaseException) -> int:
    """Say that an exception escaped (a bug in gradcli, not bad input) in one line with
    a bug-report hint; the traceback only with GRADCLI_DEBUG=1. Returns EXIT_INTERNAL."""
    if os.environ.get("GRADCLI_DEBUG", "") not in ("", "0"):
        import traceback

        try:
            traceback.print_exception(error, file=sys.stderr)
        except (OSError, ValueError):
            pass
    what = type(error).__name__
    detail = str(error).splitlines()[0][:200] if str(error) else ""
    _stderr(f"gradcli: internal error: {what}{': ' + detail if detail else ''} (a bug in "
            "gradcli, not in the input: please report it with the command line; "
            "GRADCLI_DEBUG=1 shows the traceback)")
    return EXIT_INTERNAL


def standalone(main, args, prog_name, complete_var, extra):
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
            _stderr(f"gradcli: {_interrupted_word(e.__cause__)}")
            sys.exit(interrupted_status(e.__cause__))
        _stderr("gradcli: aborted")
        sys.exit(EXIT_FAILED)
    except GradcliError as e:
        report_error(e)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt as e:
        _stderr(f"gradcli: {_interrupted_word(e)}")
        sys.exit(interrupted_status(e))
    except MemoryError:
        _stderr(out_of_memory(None))
        sys.exit(EXIT_USAGE)
    except (OSError, ValueError) as e:
        status = _stdout_failure(e)
        sys.exit(internal_error(e) if status is None else status)
    except Exception as e:  # a bug: said as one, the traceback behind GRADCLI_DEBUG=1
        sys.exit(internal_error(e))
    sys.exit(rv if isinstance(rv, int) and not isinstance(rv, bool) else EXIT_OK)


def command(name: str | None = None, *, examples: list[str] | tuple[str, ...] = (), **kwargs):
    """``click.command`` for a gradcli subcommand; ``examples`` are shown by ``--help``."""
    if examples:
        lines = "\n".join(f"  {e}" for e in examples)
        kwargs.setdefault("epilog", f"\b\nExamples:\n{lines}")
    kwargs.setdefault("context_settings", {"help_option_names": ["-h", "--help"]})
    return click.command(name, cls=GradcliCommand, **kwargs)


def orders_to_warn(order: int) -> list[int]:
    """The orders in the order a non-finite one is warned about: the value (whose nan names
    the function that left its domain), then the order a plain line prints, then the rest."""
    return [0, *([order] if order else []), *range(1, order)]
