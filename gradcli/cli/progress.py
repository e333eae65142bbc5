"""Progress on stderr for runs longer than a second, on a terminal only; cleared at the end.

``with progress_bar(total, label) as advance: ... advance(done, f=value)``: nothing for
the first ``delay`` seconds (a short run shows nothing), then one line on stderr, redrawn
at most ten times a second: the label, a bar, done/total, the current f when given, and
the time left (ETA) when the total is known (``total`` None or 0: a count only). The line is
erased when the block ends, however it ends (done, an error, Ctrl-C, SIGTERM), so that
nothing of it stays between the table rows. ``advance`` is cheap: call it every step.

Only the standard library; no rich (a progress line is a few escape codes).
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager

WIDTH = 24         # the bar's width in characters
REDRAW = 0.1       # seconds between redraws


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def progress_line(label: str, done: int, total: int | None, elapsed: float,
                  f: float | None = None) -> str:
    """The text of the progress line (without the escape codes)."""
    parts = [label]
    if total:
        filled = min(WIDTH, int(WIDTH * done / total))
        parts.append("[" + "#" * filled + "-" * (WIDTH - filled) + "]")
        parts.append(f"{done}/{total}")
    else:
        parts.append(f"{done}")
    if f is not None:
        parts.append(f"f={float(f):.6g}")
    parts.append(_duration(elapsed))
    if total and 0 < done < total:
        parts.append(f"ETA {_duration(elapsed * (total - done) / done)}")
    return "  ".join(parts)


@contextmanager
def progress_bar(total: int | None, label: str, delay: float = 1.0, stream=None):
    """Yield ``advance(done, f=None)``: after ``delay`` seconds, a progress line on stderr
    (terminals only), erased when the block ends."""
    if stream is None and not _stderr_is_terminal():
        yield lambda done, f=None: None
        return
    out = stream if stream is not None else sys.stderr
    start = time.perf_counter()
    state = {"next": start + delay, "drawn": False}

    def advance(done: int, f: float | None = None) -> None:
        now = time.perf_counter()
        if now < state["next"]:
            return
        state["next"] = now + REDRAW
        line = progress_line(label, done, total, now - start, f)
        try:
            out.write("\r\x1b[2K" + line)
            out.flush()
            state["drawn"] = True
        except (OSError, ValueError):
            pass

    try:
        yield advance
    finally:
        if state["drawn"]:
            try:
                out.write("\r\x1b[2K")
                out.flush()
            except (OSError, ValueError):
                pass
