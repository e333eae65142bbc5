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
_ACTIVE: list = []  # the line on screen: (erase function), for messages written meanwhile


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
                  f: float | None = None, value: str = "f") -> str:
    """The text of the progress line (without the escape codes)."""
    parts = [label]
    if total:
        filled = min(WIDTH, int(WIDTH * done / total))
        parts.append("[" + "#" * filled + "-" * (WIDTH - filled) + "]")
        parts.append(f"{done}/{total}")
    else:
        parts.append(f"{done}")
    if f is not None:
        parts.append(f"{value}={float(f):.6g}")
    parts.append(_duration(elapsed))
    if total and 0 < done < total:
        parts.append(f"ETA {_duration(elapsed * (total - done) / done)}")
    return "  ".join(parts)


@contextmanager
def progress_bar(total: int | None, label: str, delay: float = 1.0, stream=None,
                 ticking: bool = False, value: str = "f"):
    """Yield ``advance(done, f=None)``: after ``delay`` seconds, a progress line on stderr
    (terminals only), erased when the block ends. ``ticking``: a thread also redraws it
    (the elapsed time moves) while one step lasts long (check's reference at one point).
    ``value`` names the number shown (f, loss)."""
    if stream is None and not _stderr_is_terminal():
        yield lambda done, f=None: None
        return
    import threading

    out = stream if stream is not None else sys.stderr
    start = time.perf_counter()
    state = {"next": start + delay, "drawn": False, "done": 0, "f": None}
    lock = threading.Lock()

    def draw(now: float) -> None:
        line = progress_line(label, state["done"], total, now - start, state["f"], value)
        try:
            out.write("\r\x1b[2K" + line)
            out.flush()
            state["drawn"] = True
        except (OSError, ValueError):
            pass

    def advance(done: int, f: float | None = None) -> None:
        state["done"], state["f"] = done, f
        now = time.perf_counter()
        if now < state["next"]:
            return
        state["next"] = now + REDRAW
        with lock:
            draw(now)

    def erase() -> None:
        with lock:
            if state["drawn"]:
                try:
                    out.write("\r\x1b[2K")
                    out.flush()
                except (OSError, ValueError):
                    pass
                state["drawn"] = False

    _ACTIVE.append(erase)
    stop = threading.Event()
    ticker = None
    if ticking:
        def tick() -> None:
            if stop.wait(delay):
                return
            while not stop.is_set():
                with lock:
                    if not stop.is_set():
                        draw(time.perf_counter())
                stop.wait(0.5)

        ticker = threading.Thread(target=tick, name="gradcli-progress", daemon=True)
        ticker.start()
    try:
        yield advance
    finally:
        stop.set()
        _ACTIVE.remove(erase)
        erase()
        if ticker is not None:
            ticker.join(timeout=1.0)


def erase_line() -> None:
    """Erase the progress line (it comes back at its next redraw): before a message."""
    for erase in _ACTIVE:
        erase()


LONG_SECONDS = 5.0   # work estimated longer than this is announced before it starts
_ANNOUNCED: set = set()


def announce_long_taylor(expression, wrt: str, order: int, warn) -> None:
    """Say on stderr, once per expression, that its Taylor work of this order will take
    about N seconds (whatever stderr is: a script waiting on it learns why), and how to make
    it shorter."""
    from ..taylor.engine import seconds_estimate

    key = (expression.text, wrt, order)
    if key in _ANNOUNCED or order <= 1:   # (orders 0 and 1 are ~3 nodes' work: never long;
        return                            # and a polynomial read as columns has no graph yet)
    seconds = seconds_estimate(expression.nodes, wrt, order)
    if seconds > LONG_SECONDS:
        _ANNOUNCED.add(key)
        warn(f"{expression.text if len(expression.text) <= 60 else expression.text[:57] + '...'}"
             f": order {order} over {len(expression.nodes):,} nodes takes about "
             f"{seconds:,.0f} s a point (the work grows as nodes x order^2): a lower "
             f"--order is faster")
