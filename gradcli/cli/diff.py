"""``gradcli diff``: the derivatives of orders 0..N along one variable."""
from __future__ import annotations

from .app import orders_to_warn, command, warn, warn_non_finite
from .certified import (check_finite_points, digits_option, exact_values, fast_option,
                        refinement_warnings, zero_warning)
from .columns import Rows
from .inputs import choose_wrt, for_each_point
from .options import at_option, expr_argument, format_option, order_option, wrt_option
from .render import Row, Writer, format_number

EXAMPLES = [
    'gradcli diff "x**4+2*x**3-3*x**2+4*x-5" --at 2 --order 3',
    'gradcli diff "sin(x)*exp(y)" --at x=0,y=1 --wrt x --order 2 --format json',
    "gradcli diff \"x**3\" --at 1 --at 2 --at 3",
    "printf '1\\n2\\n' | gradcli diff \"x**3\" --at - --format plain",
    'gradcli diff -- "-x**2" --at 1',
    'gradcli diff "exp(sin(x))/(1+x**2)" --at 0.5 --order 1000 --digits 20',
]

@command("diff", examples=EXAMPLES)
@expr_argument
@at_option
@order_option("computed")
@wrt_option
@digits_option
@fast_option
@format_option
def diff(expr, at, order, wrt, digits, fast, format):
    """Derivatives of EXPR of orders 0..N along one variable, at each point.

    The other variables are held at their --at values. Plain output is the Nth
    derivative alone, one line per point; json gives every order. A --wrt variable
    the expression lacks may be given in --at: its derivatives are 0 beyond order 0
    (as grad --wrt). Every number
    is within 1e-13 relative of the exact derivative (entries float64 cannot
    vouch for are recomputed in ball arithmetic; --fast skips that); --digits D
    prints D certified digits at any magnitude.
    """
    if wrt is not None:
        _variable_name(wrt)
    with Writer(format) as writer:
        for_each_point(expr, at, lambda e, names, env, points:
                       derivative_rows(e, names, env, points, order, wrt, digits, fast),
                       writer, extra=(wrt,) if wrt else ())


def _variable_name(wrt: str) -> None:
    """--wrt names one variable (it may be one the expression lacks: grad --wrt's rule)."""
    from ..errors import GradcliError
    from ..names import not_a_variable

    problem = not_a_variable(wrt)
    if problem:
        raise GradcliError(f"--wrt {wrt}: {problem}")


def _own(point: dict, own) -> dict:
    """The point's values of the expression's own variables (a --wrt variable it lacks is
    only in the rows)."""
    return {name: value for name, value in point.items() if name in own}


def _heading(k: int, wrt: str) -> str:
    if k == 0:
        return "f"
    if k == 1:
        return f"df/d{wrt}"
    return f"d{_superscript(k)}f/d{wrt}{_superscript(k)}"


def _superscript(k: int) -> str:
    return str(k).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


def derivative_rows(expression, names, env, points, order: int, wrt: str | None,
                    digits: int | None = None, fast: bool = False) -> list[Row]:
    import numpy as np

    own = expression.variables
    if wrt is not None and wrt not in own:  # f does not depend on wrt (grad --wrt's rule):
        along, computed = (own[0] if own else wrt), 0  # order 0 is f, the rest exact 0s
        env = {name: env[name] for name in own}
    else:
        along, computed = wrt, order
        wrt = choose_wrt(expression, wrt)
    n = len(points)
    if digits is not None:   # certified decimal strings, point by point
        from ..taylor.digits import Digits

        check_finite_points(points, names)
        notes = Digits()
        table = [expression.derivatives(along, computed, at=_own(exact_values(p, names), own),
                                        digits=digits, report=notes) + ["0"] * (order - computed)
                 for p in points]
        zero_warning(expression, notes, warn)
    else:
        from .certified import stream_refinement
        from .progress import announce_long_taylor

        announce_long_taylor(expression, along or wrt, computed, warn)
        report, close = stream_refinement(expression.text, len(points))
        with np.errstate(all="ignore"):
            derivatives = expression.derivatives(along, computed, at=env, fast=fast,
                                                 report=report)
        close()
        table = np.zeros((n, order + 1))
        for k, d in enumerate(derivatives):
            table[:, k] = np.broadcast_to(np.asarray(d, dtype=np.float64), (n,))
        refinement_warnings(expression, names, points, report, warn, table)
        if not report.overflow:   # (those are warned about above)
            warn_non_finite(expression, names, points,
                            [("the value" if k == 0 else f"the derivative of order {k}",
                              table[:, k]) for k in orders_to_warn(order)])
    text = expression.text
    point_columns = [name if name not in ("expr", "wrt", "order", "value") else f"point[{name}]"
                     for name in names]
    columns = ["expr", *point_columns, "wrt", "order", "value",
               *(f"derivatives[{k}]" for k in range(order + 1))]
    shown = list(range(order + 1))  # every order: a wide table is drawn on its side
    table_columns = [*names, *(_heading(k, wrt) for k in shown)]
    title = f"{text}  (along {wrt})"

    def row(point, ds) -> Row:
        values = list(point.values)
        return Row(
            record={"expr": text, "point": dict(zip(names, values)), "wrt": wrt, "order": order,
                    "value": ds[order], "derivatives": ds},
            plain=ds[order] if digits is not None else format_number(ds[order]),
            columns=columns,
            values=[text, *values, wrt, order, ds[order], *ds],
            title=title,
            table_columns=table_columns,
            table_values=[*values, *(ds[k] for k in shown)],
        )

    if digits is not None:
        return [row(point, ds) for point, ds in zip(points, table)]
    # float64: rows made when a format asks for them; plain lines all at once
    return Rows(n, lambda i: row(points[i], table[i].tolist()),
                lambda: list(map(repr, table[:, order].tolist())))
