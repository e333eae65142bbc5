"""``gradcli taylor``: the Taylor coefficients f^(k)(a)/k! and the polynomial, along one variable."""
from __future__ import annotations

from .app import orders_to_warn, command, warn, warn_non_finite
from .certified import (check_finite_points, coefficient_underflow_warning, digits_option,
                        exact_values, fast_option, refinement_warnings)
from .inputs import choose_wrt, for_each_point
from .options import at_option, expr_argument, format_option, order_option, wrt_option
from .render import Row, Writer, format_number

EXAMPLES = [
    'gradcli taylor "exp(x)" --at 0 --order 4',
    'gradcli taylor "sin(x)*exp(x)" --at 0.3 --order 5 --format json',
    'gradcli taylor "1/(1-x)" --at 0.5 --order 3 --digits 20',
    'gradcli eval "$(gradcli taylor "cos(x)" --at 0 --order 6 --format plain)" --at 0.1',
]


@command("taylor", examples=EXAMPLES)
@expr_argument
@at_option
@order_option("given as coefficients")
@wrt_option
@digits_option
@fast_option
@format_option
def taylor(expr, at, order, wrt, digits, fast, format):
    """Taylor coefficients c_k = f^(k)(a)/k! of EXPR at each point, k = 0..N.

    Plain output is the polynomial in powers of (x-a), which `gradcli eval` reads
    back; json gives the coefficients and the polynomial; the table lists k,
    f^(k) and c_k. Every number is within 1e-13 relative of the exact one (or
    flagged); --digits D prints D certified digits.
    """
    with Writer(format) as writer:
        for_each_point(expr, at, lambda e, names, env, points:
                       taylor_rows(e, names, env, points, order, wrt, digits, fast), writer,
                       extra=(wrt,) if wrt else ())


def _number_text(v) -> str:
    return v if isinstance(v, str) else format_number(v)


def polynomial(coefficients, wrt: str, point_text: str) -> str:
    """c_0 + c_1*(x - a) + c_2*(x - a)**2 + ... in the expression language (zero terms left
    out; ``x`` alone when a = 0)."""
    a = point_text.strip()
    zero_point = _is_zero(a)
    if zero_point:
        base = wrt
    elif a.startswith("-"):
        base = f"({wrt} + {a[1:]})"
    else:
        base = f"({wrt} - {a.lstrip('+')})"
    text = ""
    for k, c in enumerate(coefficients):
        c = _number_text(c)
        if _is_zero(c):
            continue
        negative = c.startswith("-")
        size = c[1:] if negative else c
        power = "" if k == 0 else (f"*{base}" if k == 1 else f"*{base}**{k}")
        if not text:
            text = ("-" if negative else "") + size + power
        else:
            text += (" - " if negative else " + ") + size + power
    return text or "0"


def _is_zero(text: str) -> bool:
    try:
        return float(text) == 0.0
    except ValueError:
        return False


def taylor_rows(expression, names, env, points, order: int, wrt, digits, fast) -> list[Row]:
    import numpy as np

    wrt = choose_wrt(expression, wrt)
    own = expression.variables  # a constant along --wrt x: x is the point's only (diff's rule)
    if digits is not None:
        check_finite_points(points, names)
        rows_of_numbers = []
        for point in points:
            exact = exact_values(point, names)
            at = {name: value for name, value in exact.items() if name in own}
            cs = expression.taylor(wrt, order, at=at, digits=digits)
            ds = expression.derivatives(wrt, order, at=at, digits=digits)
            rows_of_numbers.append((ds, cs, exact.get(wrt, "0")))
    else:
        from .certified import stream_refinement
        from .progress import announce_long_taylor

        announce_long_taylor(expression, wrt, order, warn)
        report, close = stream_refinement(expression.text, len(points))
        at = {name: v for name, v in env.items() if name in own}
        with np.errstate(all="ignore"):   # the derivatives, then c_k (Expression.taylor's way)
            ds_all = expression.derivatives(wrt, order, fast=fast, report=report, at=at)
            close()
            n = len(points)
            dtab = np.empty((n, order + 1))
            for k, d in enumerate(ds_all):
                dtab[:, k] = np.broadcast_to(np.asarray(d, dtype=np.float64), (n,))
            ctab = _coefficients_of(expression, wrt, dtab, report.overflow, at)
        refinement_warnings(expression, names, points, report, warn, dtab)
        coefficient_underflow_warning(expression, names, points, dtab, ctab, warn)
        if not report.overflow:   # (those are warned about above)
            warn_non_finite(expression, names, points,
                            [("the value" if k == 0 else f"the coefficient of order {k}",
                              ctab[:, k]) for k in orders_to_warn(order)])
        rows_of_numbers = []
        for i, point in enumerate(points):
            values = dict(zip(names, point.values))
            a = values.get(wrt, 0.0)
            rows_of_numbers.append((dtab[i].tolist(), ctab[i].tolist(), format_number(a)))
    text = expression.text
    rows = []
    for point, (ds, cs, a_text) in zip(points, rows_of_numbers):
        values = list(point.values)
        poly = polynomial(cs, wrt, a_text)
        title = f"{text}  at {wrt}={a_text}"
        table_rows = [[k, ds[k], cs[k]] for k in range(order + 1)]

        def draw(out, title=title, table_rows=table_rows):
            from .tables import print_table

            print_table(title, ["k", "f^(k)", "c_k"], table_rows, file=out,
                        numeric=[True, True, True])

        rows.append(Row(
            record={"expr": text, "point": dict(zip(names, values)), "wrt": wrt,
                    "order": order, "coefficients": cs, "polynomial": poly},
            plain=poly,
            columns=["expr", *names, "wrt", "order", "polynomial",
                     *(f"coefficients[{k}]" for k in range(order + 1))],
            values=[text, *values, wrt, order, poly, *cs],
            text={"table": draw},
        ))
    return rows


def _coefficients_of(expression, wrt, dtab, overflow, at):
    """c_k = f^(k)/k! of the (points x orders) derivatives, as Expression.taylor gives them
    (k! as mantissa and exponent; an overflowed derivative's c_k from ball arithmetic). The
    derivatives are kept as computed: c_k * k! lost f^(k) wherever c_k fell below float64's
    range (f^(200) of exp at 0 came out 0.0 beside c_200 = 1/200! -> 0.0)."""
    import numpy as np

    from ..taylor.refine import to_coefficients

    n = dtab.shape[0]
    names = sorted(at)
    arrays = [np.broadcast_to(np.asarray(at[k], dtype=np.float64), (n,)) for k in names]
    points = [{k: float(a[p]) for k, a in zip(names, arrays)} for p in range(n)] \
        if overflow else []
    return to_coefficients(expression.nodes, wrt, np.ascontiguousarray(dtab.T), overflow,
                           points).T
