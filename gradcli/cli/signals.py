"""Signals: SIGINT and SIGTERM end a run as Ctrl-C does (exit 130 or 143), never in the
middle of a record (``whole_record``). ``terminate_on_sigterm`` installs the handler: it is
process-wide, so only the CLI entry point calls it.

Only the standard library is imported here.
"""
from __future__ import annotations

import signal
import sys

EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130, as a shell reports a Ctrl-C
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, as a shell reports `kill` or `timeout`


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is, so that it ends as a Ctrl-C does (exit 143)."""


_SIGNALS = {"terminated": False,  # a SIGTERM arrived (process-wide, CLI only)
            "writing": False,     # a record is being written: a signal waits for its end
            "pending": None}      # the signal that waits


def _on_signal(signum, frame):
    """SIGINT and SIGTERM: KeyboardInterrupt (Terminated), but after the record being
    written (``whole_record``); a second signal meanwhile interrupts at once."""
    if signum == signal.SIGTERM:
        _SIGNALS["terminated"] = True
    if _SIGNALS["writing"] and _SIGNALS["pending"] is None:
        _SIGNALS["pending"] = signum
        return
    raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def terminate_on_sigterm() -> None:
    """SIGTERM ends the run as Ctrl-C does (what was done is written), with status 143,
    and neither cuts a record in half. Process-wide: called from the entry point only."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(signum, _on_signal)
        except (ValueError, OSError):  # not the main thread, or no such signal here
            pass


class whole_record:
    """``with whole_record(): out.write(...)``: an interrupt waits until the block is done,
    so that the output never ends in the middle of a record (nests; cheap)."""

    def __enter__(self):
        self.outer = _SIGNALS["writing"]
        _SIGNALS["writing"] = True
        return self

    def __exit__(self, kind, error, tb):
        if self.outer:
            return False
        _SIGNALS["writing"] = False
        pending, _SIGNALS["pending"] = _SIGNALS["pending"], None
        if pending is not None and kind is None:
            raise Terminated if pending == signal.SIGTERM else KeyboardInterrupt
        return False


def interrupted_status(error: BaseException | None = None) -> int:
    """130 after Ctrl-C, 143 after SIGTERM."""
    if error is None:
        error = sys.exc_info()[1]
    if isinstance(error, Terminated) or error is None and _SIGNALS["terminated"]:
        return EXIT_TERMINATED
    return EXIT_INTERRUPTED
