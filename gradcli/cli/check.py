"""``gradcli check``: gradcli's derivatives against SymPy (or mpmath) and finite differences.

The work is ``gradcli.verify.run_check``; this module reads the options, writes the rows
(table and csv: one row per order; json and plain: one line per point) and ends with exit
status 1 when an order differs beyond --rtol/--atol.
"""
from __future__ import annotations

import click

from ..errors import GradcliError
from ..check.finite_difference import MAX_ORDER as FD_MAX_ORDER
from ..check.reference import INTERRUPTED
from .app import EXIT_FAILED, command, errors_reported, report_error, warn, warn_non_finite
from .inputs import choose_wrt, for_each_point
from .certified import digits_option, exact_values
from .options import (NonNegative, at_option, expr_argument, format_option, order_option,
                      wrt_option)
from .progress import announce_long_taylor, progress_bar
from .render import Row, Writer, format_number

EXAMPLES = [
    'gradcli check "x**4+2*x**3-3*x**2+4*x-5" --at 0 --order 5',
    'gradcli check "exp(sin(x))/(1+x**2)" --at 0.7 --order 4 --format json',
    'gradcli check "x**y" --at x=0,y=2 --wrt x --order 2 --symbolic',
    'gradcli check "tanh(tanh(tanh(x)))" --at 0.7 --order 8 --timeout 1',
]
CSV_FIELDS = ["order", "gradcli", "sympy", "reference", "finite_difference",
              "finite_difference_error", "relative_error", "status"]
MARKS = {"ok": "✓", "mismatch": "✗ mismatch", "singular": "singular",
         "unchecked": "not checked"}


@command("check", examples=EXAMPLES)
@expr_argument
@at_option
@order_option("checked")
@wrt_option
@click.option("--rtol", type=NonNegative(), default=1e-9, show_default=True,
              help="Relative tolerance: agreement is |gradcli - ref| <= atol + rtol*|ref|.")
@click.option("--atol", type=NonNegative(), default=1e-12, show_default=True,
              help="Absolute tolerance.")
@click.option("--timeout", type=NonNegative(), default=10.0, show_default=True,
              metavar="S", help="Seconds the references may take per point: SymPy until 3/4 "
                                "of S, mpmath.diff for the orders left until S; orders "
                                "neither finished are not checked.")
@click.option("--symbolic", is_flag=True,
              help="Also show SymPy's formula of each derivative (SymPy is then the reference).")
@click.option("--reference", "reference", type=click.Choice(["arb", "sympy"]), default="arb",
              show_default=True,
              help="The reference: ball arithmetic (python-flint's Arb, 30 certified digits, "
                   "any order in milliseconds) or SymPy's exact derivatives.")
@digits_option
@format_option
def check(expr, at, order, wrt, rtol, atol, timeout, symbolic, reference, digits, format):
    """Check EXPR's derivatives of orders 0..N at each point against exact ones.

    The reference is ball arithmetic by default (certified to 30 digits; JSON
    "reference" says "arb" per order; --digits D: D digits, their strings in JSON
    "reference_digits"). With --symbolic or --reference sympy, SymPy's
    derivatives are evaluated at 30 significant digits (past 3/4 of --timeout,
    mpmath's numerical derivatives at 30 digits are the reference, and the output says so;
    an order neither finished within --timeout is reported and not checked); central
    finite differences (orders up to 20) are shown for information. Exit status 1 when an
    order differs beyond --rtol/--atol; an order where the reference itself is singular
    (nan, zoo, oo) is reported and not compared. Plain output: "ok" or "mismatch" and the largest
    relative error, one line per point.
    """
    options = dict(order=order, wrt=wrt, rtol=rtol, atol=atol, timeout=timeout,
                   symbolic=symbolic, pretty=False, reference=reference, digits=digits)
    mismatched = []

    def rows(expression, names, env, points):
        try:
            results = point_checks(expression, names, points, **options)
        except KeyboardInterrupt as interrupt:  # the points done are written (issue 23)
            for result in getattr(interrupt, "done", ()):
                if isinstance(result, GradcliError):
                    report_error(result, result.where)
                else:
                    flat.write(result_rows(result, format))
            raise
        out = []
        for result in results:
            if isinstance(result, GradcliError):
                out.append(result)
                continue
            mismatched.append(not result.ok)
            out.append(result_rows(result, format))
        return out

    with Writer(format) as writer:
        flat = _Flat(writer)
        for_each_point(expr, at, rows, flat, extra=(wrt,) if wrt else ())
    if any(mismatched) and not errors_reported():
        click.get_current_context().exit(EXIT_FAILED)


class _Flat:
    """A Writer taking a point's list of Rows as one item (each point's check is one
    result of for_each_point, written as one row per order and the verdict)."""

    def __init__(self, writer: Writer):
        self.writer = writer

    def write(self, rows) -> None:
        for row in rows:
            self.writer.write(row)
        self.writer.flush()

    def write_rows(self, rows) -> bool:
        return False  # a point's rows are lists: written one point at a time

    def __getattr__(self, name):  # error, flush and whatever else a Writer answers
        return getattr(self.writer, name)


def result_rows(result, format: str) -> list[Row]:
    """A point's rows: one per order (table and csv) and the record, plain line and
    verdict under the table."""
    rows = order_rows(result) if format in ("table", "csv") else []
    notes = summary(result)
    if result.symbolic:
        notes = f"{formulas(result)}\n{notes}"
    rows.append(Row(record=result.record(), plain=plain_line(result), notes=notes))
    return rows


def point_checks(expression, names, points, *, wrt, **options) -> list:
    """The check at each point; a point that cannot be checked gives its error instead
    (reported, and the other points go on)."""
    from ..check.verify import check_settings

    check_settings(options["rtol"], options["atol"], options["timeout"])
    if options["digits"] is not None and (options["symbolic"] or options["reference"] == "sympy"):
        # the library names its arguments (digits, symbolic=True); the command line its flags
        raise GradcliError("--digits needs the arb reference (not --symbolic or "
                           "--reference sympy)")
    wrt = choose_wrt(expression, wrt)  # errors here concern every point: they end the run
    announce_long_taylor(expression, wrt, options["order"], warn)  # as diff: said before it
    out = []
    with progress_bar(len(points), "check", ticking=True) as advance:
        try:
            for k, point in enumerate(points):
                try:
                    out.append(point_check(expression, names, point, wrt=wrt, **options))
                except GradcliError as error:
                    error.where = (f"--at {point.text!r}" if point.where == "--at"
                                   else point.where)
                    out.append(error)
                advance(k + 1)
        except KeyboardInterrupt as interrupt:
            if getattr(interrupt, "check", None) is not None:  # the point under way: the
                out.append(interrupt.check)                    # orders its reference did
            interrupt.done = out  # the caller writes them before it stops
            raise
    return out


def point_check(expression, names, point, *, wrt, pretty, **options):
    """The check at one point, with its warnings on stderr."""
    from ..check.verify import run_check

    values = dict(zip(names, point.values))
    own = {name: v for name, v in values.items() if name in expression.variables}
    exact = exact_values(point, names) if options.get("digits") is not None else None
    result = run_check(expression, own, wrt=wrt, pretty=pretty, exact_at=exact, **options)
    result.point = values  # with a --wrt variable a constant lacks (diff's rule)
    where = _where(result.point)
    failed = next((r.why for r in result.references if r.why not in (None, "timeout")), None)
    if failed:
        warn(f"{expression.text} at {where}: SymPy failed ({failed}); mpmath is the reference "
             f"for the orders it did not reach")
    singular = result.singular
    if singular:
        shown = "; ".join(f"order {k}: {result.references[k].method} gives "
                          f"{result.references[k].text}, gradcli "
                          f"{format_number(result.gradcli[k])}" for k in singular)
        warn(f"{expression.text} at {where}: the reference is singular, not compared ({shown})")
    if result.unchecked:
        warn(f"{expression.text} at {where}: no reference within --timeout "
             f"{format_number(result.timeout)} s for {_orders(result.unchecked)}: "
             f"not checked{_mpmath_failure(result)}")
    warn_non_finite(expression, names, [point],
                    [("the value" if k == 0 else f"the derivative of order {k}",
                      [result.gradcli[k]]) for k in result.compared])
    return result


def _orders(orders: list[int]) -> str:
    return f"order{'s' * (len(orders) > 1)} {_list(orders)}"


def _mpmath_failure(result) -> str:
    """' (mpmath failed: ...)' when mpmath's error, not the time, left orders unchecked."""
    why = result.references[_timed_out(result)[0]].why
    return f" (mpmath failed: {why})" if why not in (None, "timeout") else ""


def _cut_off(result) -> list[int]:
    """The orders left unchecked by Ctrl-C or SIGTERM (their reference was not done)."""
    return [k for k in result.unchecked if result.references[k].why == INTERRUPTED]


def _timed_out(result) -> list[int]:
    """The orders left unchecked by --timeout (or by mpmath's failure)."""
    return [k for k in result.unchecked if result.references[k].why != INTERRUPTED]


def _where(point: dict) -> str:
    return ",".join(f"{n}={format_number(v)}" for n, v in point.items()) or "no point"


def summary(result) -> str:
    """The line under the table: the verdict, the tolerances, the largest relative error."""
    tolerance = f"rtol={format_number(result.rtol)}, atol={format_number(result.atol)}"
    compared, n = result.compared, len(result.compared)
    if result.ok:
        line = (f"ok: {n} order{'s' if n != 1 else ''} "
                f"agree{'s' if n == 1 else ''} within {tolerance}")
    else:
        bad = result.mismatches
        line = (f"mismatch: order{'s' if len(bad) > 1 else ''} {_list(bad)} "
                f"differ{'s' if len(bad) == 1 else ''} beyond {tolerance}")
    if compared:
        line += f" (max relative error {result.max_rel_error:.2g})"
    if result.singular:
        line += f"; singular reference at order{'s' * (len(result.singular) > 1)} " \
                f"{_list(result.singular)}, not compared"
    if result.order > FD_MAX_ORDER:
        line += (f"; finite differences only up to order {FD_MAX_ORDER} (nan above: float64 "
                 f"rounding makes them meaningless there)")
    late = [k for k, m in enumerate(result.methods) if m == "mpmath"]
    if late:
        why = result.references[late[0]].why
        reason = (f"SymPy had not finished {'them' if len(late) > 1 else 'it'} within its 3/4 "
                  f"of --timeout "
                  f"{format_number(result.timeout)} s"
                  if why in (None, "timeout") else f"SymPy failed: {why}")
        line += f"; mpmath is the reference for order{'s' * (len(late) > 1)} {_list(late)} " \
                f"({reason})"
    if _timed_out(result):
        line += (f"; no reference for {_orders(_timed_out(result))} within --timeout "
                 f"{format_number(result.timeout)} s{_mpmath_failure(result)}: not checked")
    if _cut_off(result):
        line += f"; interrupted before the reference of {_orders(_cut_off(result))}: not checked"
    return line


def _list(orders: list[int]) -> str:
    if len(orders) > 2 and orders == list(range(orders[0], orders[-1] + 1)):
        return f"{orders[0]}..{orders[-1]}"
    return ", ".join(str(k) for k in orders)


def plain_line(result) -> str:
    """'ok 2.2e-16' or 'mismatch 0.001 (order 2 differs)', with singular orders named."""
    notes = []
    if result.mismatches:
        bad = result.mismatches
        notes.append(f"order{'s' * (len(bad) > 1)} {_list(bad)} "
                     f"differ{'s' * (len(bad) == 1)}")
    if result.singular:
        notes.append(f"order{'s' * (len(result.singular) > 1)} {_list(result.singular)} "
                     f"singular")
    if _timed_out(result):
        notes.append(f"{_orders(_timed_out(result))} not checked")
    if _cut_off(result):
        notes.append(f"{_orders(_cut_off(result))} not checked: interrupted")
    verdict = "ok" if result.ok else "mismatch"
    line = f"{verdict} {format_number(result.max_rel_error)}"
    return line + (f" ({'; '.join(notes)})" if notes else "")


def order_rows(result) -> list[Row]:
    """One row per order (table and csv)."""
    names = list(result.point)
    point_columns = [n if n not in ("expr", "wrt", *CSV_FIELDS) else f"point[{n}]"
                     for n in names]
    columns = ["expr", *point_columns, "wrt", *CSV_FIELDS]
    if result.symbolic:
        columns.append("symbolic")
    table_columns = ["order", "gradcli", "reference", "by", "finite difference", "± (fd)",
                     "relative error", ""]
    title = f"check {result.expr} at {_where(result.point)} (along {result.wrt})"
    rows = []
    for k in range(result.order + 1):
        reference = result.references[k]
        fields = [k, result.gradcli[k], reference.value, reference.method,
                  result.finite_difference[k], result.finite_difference_error[k],
                  result.relative_error[k], result.status[k]]
        values = [result.expr, *result.point.values(), result.wrt, *fields]
        table_values = [*fields[:5], _short(fields[5]), _short(fields[6]), _mark(result, k)]
        if result.symbolic:
            values.append(reference.formula if reference.formula is not None else "")
        rows.append(Row(columns=columns, values=values, title=title,
                        table_columns=table_columns, table_values=table_values))
    return rows


def _short(error: float) -> float:
    """An error estimate to 2 significant digits (the table's; csv and json keep all)."""
    return float(f"{error:.2g}")


def _mark(result, k: int) -> str:
    if result.status[k] == "singular":
        return f"singular ({result.references[k].text})"
    return MARKS[result.status[k]]


FORMULA_WIDTH = 2000  # a longer formula is left to --format json


def formulas(result) -> str:
    """--symbolic under the table: SymPy's derivative of each order, one line of text each."""
    lines = [f"SymPy's derivatives along {result.wrt}:"]
    for k, reference in enumerate(result.references):
        if reference.method != "sympy":
            text = "(SymPy ran out of time)" if reference.why in (None, "timeout") else \
                "(SymPy failed)"
        elif reference.formula is None or len(reference.formula) > FORMULA_WIDTH:
            text = "(too large to show: see --format json)"
        else:
            text = reference.formula
        lines.append(f"  order {k}: {text}")
    return "\n".join(lines)
