"""Options and messages for certified numbers (SPEC 6.1): --digits, --fast, exact points,
and the warnings of the float64 refinement (gradcli/taylor/engine.py ``refine``)."""
from __future__ import annotations

import re

import click

from ..errors import GradcliError

MAX_DIGITS = 1000
_DECIMAL = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*\Z")


class Digits(click.ParamType):
    """An integer from 1 to MAX_DIGITS (significant digits)."""

    name = "D"

    def convert(self, value, param, ctx):
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text[:6]) <= MAX_DIGITS:
            self.fail(f"must be an integer from 1 to {MAX_DIGITS}, got {value!r}", param, ctx)
        return int(text)


digits_option = click.option(
    "--digits", "digits", type=Digits(), default=None,
    help="Certified significant digits (1..1000), by ball arithmetic: every printed digit is "
         "right; numbers are the exact decimals written (0.1 is one tenth).")

fast_option = click.option(
    "--fast", is_flag=True, default=False,
    help="Skip the ball-arithmetic refinement of entries float64 cannot vouch for "
         "(a warning gives their estimated correct digits).")


def exact_values(point, names) -> dict:
    """{name: decimal text} of a Point: the literal written where it is a plain decimal,
    else the shortest repr of its float64 value (a constant expression such as pi/2)."""
    texts: list[str | None] = [None] * len(point.values)
    if len(point.values) == 1 and "=" not in point.text:
        texts[0] = point.text
    else:
        parts = [p.partition("=") for p in point.text.split(",")]
        by_name = {name.strip(): value for name, _, value in parts}
        texts = [by_name.get(n) for n in point.names]
    out = {}
    for name, text, value in zip(names, texts, point.values):
        out[name] = text.strip() if text is not None and _DECIMAL.match(text) else repr(value)
    return out


def check_finite_points(points, names) -> None:
    import math

    for point in points:
        for name, v in zip(names, point.values):
            if not math.isfinite(v):
                raise GradcliError(f"--digits: {name}={v!r} is not a finite number")


def refinement_warnings(expression, names, points, report, warn, table=None,
                        what: str = "derivative") -> None:
    """One warning per kind: orders beyond float64 (suggesting --digits), orders not
    certified, and with --fast the estimated digits. ``table`` (points x orders) gives
    the printed values (the sign of an infinity)."""
    def where(p):
        return _where(names, points, p)

    def first(entries, plain: str):
        return _first(entries, table, plain)

    text = expression.text
    warn = _once_per_kind(text, warn)
    if report.overflow:
        p, k, value, also = first(report.overflow, "inf")
        warn(f"{text}: the {what} of order {k} is {value} at {where(p)}{also}: beyond the "
             f"float64 range, with the right sign; --digits D prints the number"
             + _more(report.overflow, p))
    if getattr(report, "underflow", None):
        p, k, value, also = first(report.underflow, "0.0")
        warn(f"{text}: below the float64 range: the {what} of order {k} is {value} at "
             f"{where(p)}{also}, the nearest float64 with the right sign (0 or a subnormal, "
             f"fewer than 13 digits); --digits D prints the number" + _more(report.underflow, p))
    first = report.first_uncertified()
    if first is not None:
        p, orders, others = first
        if _count_uncertified(text, others + 1, warn):
            warn(f"{text}: {_orders(orders)} at {where(p)} not certified to 1e-13: float64's "
                 f"value printed; --digits D certifies" + _others(others))
    if report.estimated:
        worst = min(report.estimated, key=lambda e: e[2])
        p, k, d = worst
        warn(f"{text}: --fast: order {k} at {where(p)} has about {d} correct digits "
             f"(estimated; {report.estimated_count} "
             f"entr{'ies' if report.estimated_count > 1 else 'y'} at risk); without --fast "
             f"they are refined")


def coefficient_underflow_warning(expression, names, points, dtab, ctab, warn) -> None:
    """A warning for Taylor coefficients below float64's normal range whose derivative is
    not 0 (c_200 of exp at 0 is 1/200! = 1.3e-375): printed as 0.0 or a subnormal. ``dtab``
    and ``ctab``: (points x orders) derivatives and coefficients."""
    import sys

    import numpy as np

    with np.errstate(invalid="ignore"):
        tiny = (np.abs(ctab) < sys.float_info.min) & (dtab != 0) & np.isfinite(dtab)
    if not tiny.any():
        return
    p = int(np.argwhere(tiny)[0][0])
    p, k, value, also = _first([(p, int(k)) for k in np.flatnonzero(tiny[p])], ctab, "0.0")
    others = int(np.count_nonzero(tiny.any(axis=1))) - 1
    once = _once_per_kind(expression.text, warn)   # (a stdin stream's slices: once a run)
    once(f"{expression.text}: below the float64 range: the coefficient of order {k} is "
         f"{value} at {_where(names, points, p)}{also}, its nearest float64 (0 or a "
         f"subnormal, fewer than 13 digits) with its sign; --digits D prints the number"
         + (f"; and at {others} other point{'s' if others > 1 else ''}" if others else ""))


def _where(names, points, p: int) -> str:
    """A point as the warnings name it: x=0.5,y=1.0 (or 'no point' for a constant)."""
    if p >= len(points):
        return "the point"
    return ",".join(f"{n}={v!r}" for n, v in zip(names, points[p].values)) or "no point"


def _first(entries, table, plain: str):
    """(point, order, printed value, ' (and orders ...)') of the first (point, order) listed;
    ``table`` (points x orders) gives the printed value, else ``plain``."""
    p, k = entries[0]
    orders = sorted({k for q, k in entries if q == p})
    value = plain if table is None else repr(float(table[p][k]))
    return p, k, value, f" (and {_orders(orders[1:])})" if len(orders) > 1 else ""


def stream_refinement(text: str, points: int):
    """A Refinement for ``points`` more points of ``text`` in this run, whose check budget
    goes on from the earlier slices of a stdin stream (cli/inputs.py reads it in slices:
    each slice starting afresh checked its first 256 points in full, four times the work of
    one call over a 100,000-line file); ``close`` records what it spent."""
    import click

    from ..taylor.refine import Refinement

    ctx = click.get_current_context(silent=True)
    streams = ctx.find_root().meta.setdefault("gradcli.refine_budget", {}) \
        if ctx is not None else {}
    seen, spent = streams.get(text, (0, 0))
    report = Refinement(seen=seen, spent=spent)

    def close() -> None:
        streams[text] = (seen + points, report.spent)

    return report, close


def _count_uncertified(text: str, points: int, warn) -> bool:
    """Count a slice's uncertified points of ``text``; True for the first slice (whose
    warning names a point and counts that slice's others). When later slices of a stdin
    stream add more, one closing line gives the whole run's count."""
    import click

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return True
    root = ctx.find_root()
    tally = root.meta.setdefault("gradcli.uncertified", {})
    if text in tally:
        tally[text][0] += points
        return False
    tally[text] = [points, points]

    def in_all() -> None:
        total, said = tally[text]
        if total > said:
            warn(f"{text}: in all, {total} points not certified to 1e-13 (float64's values "
                 f"printed; --digits D certifies)")

    root.call_on_close(in_all)
    return True


def _once_per_kind(text: str, warn):
    """``warn`` that says each kind of warning once per expression and run: the points of
    a stdin stream are computed in slices (cli/inputs.py), each slice would repeat it."""
    import click

    ctx = click.get_current_context(silent=True)
    said = ctx.find_root().meta.setdefault("gradcli.refinement_warned", set()) \
        if ctx is not None else set()

    def once(message: str) -> None:
        kind = message[len(text):].split(" at ", 1)[0] if message.startswith(text) else message
        kind = kind.split(" of order ", 1)[0].split(" is ", 1)[0]
        if (text, kind) not in said:
            said.add((text, kind))
            warn(message)

    return once


def _orders(orders: list[int]) -> str:
    if len(orders) == 1:
        return f"order {orders[0]}"
    shown = ", ".join(map(str, orders[:5])) + (", ..." if len(orders) > 5 else "")
    return f"orders {shown}"


def _more(entries, p) -> str:
    return _others(len({q for q, _ in entries if q != p}))


def _others(others: int) -> str:
    return f"; and at {others} other point{'s' if others > 1 else ''}" if others else ""


def zero_warning(expression, notes, warn) -> None:
    """--digits: the orders printed as 0 whose ball still holds other numbers (an identity
    such as sin**2 + cos**2 = 1 that ball arithmetic cannot prove), with the bound."""
    if notes.zeros:
        k, bound = notes.zeros[0]
        more = len(notes.zeros) - 1
        warn(f"{expression.text}: order {k} printed as 0: ball arithmetic shows only "
             f"|value| <= {bound}" + (f"; and {more} more" if more else ""))
