"""``gradcli eval``: the value of an expression at each point."""
from __future__ import annotations

from .app import command, warn_non_finite
from .certified import check_finite_points, digits_option, exact_values
from .columns import Rows
from .inputs import for_each_point
from .options import at_option, expr_argument, format_option
from .render import Row, Writer, format_number

EXAMPLES = [
    'gradcli eval "sqrt(x**2+y**2)" --at x=3,y=4',
    'gradcli eval "2**-1+pi"',
    'gradcli eval "sin(x)" --at 0 --at pi/2 --format json',
    "printf 'x**2\\nexp(x)\\n' | gradcli eval - --at 1",
    'gradcli eval "0.1+0.2-0.3" --digits 20',
]


@command("eval", examples=EXAMPLES)
@expr_argument
@at_option
@digits_option
@format_option
def evaluate(expr, at, digits, format):
    """The value of EXPR at each point (an expression without variables needs no --at).

    --digits D prints D certified digits (ball arithmetic; the numbers written are the
    exact decimals: 0.1+0.2-0.3 is 0)."""
    with Writer(format) as writer:
        for_each_point(expr, at, lambda e, names, env, points:
                       value_rows(e, names, env, points, digits), writer)


def value_rows(expression, names, env, points, digits=None) -> list[Row]:
    import numpy as np

    from ..compiled.program import compile_expression

    n = len(points)
    if digits is not None:
        check_finite_points(points, names)
        values = np.array([expression.evaluate(exact_values(p, names), digits=digits)
                           for p in points], dtype=object)
    else:
        values = np.broadcast_to(np.asarray(compile_expression(expression).value(env),
                                            dtype=np.float64), (n,))
        warn_non_finite(expression, names, points, [("the value", values)])
    text = expression.text
    point_columns = [name if name not in ("expr", "value") else f"point[{name}]" for name in names]
    columns = ["expr", *point_columns, "value"]
    table_columns = [*names, "value"]

    def row(point, value) -> Row:
        coordinates = list(point.values)
        return Row(
            record={"expr": text, "point": dict(zip(names, coordinates)), "value": value},
            plain=value if digits is not None else format_number(value),
            columns=columns,
            values=[text, *coordinates, value],
            title=text,
            table_columns=table_columns,
            table_values=[*coordinates, value],
        )

    if digits is not None:
        return [row(point, value) for point, value in zip(points, values.tolist())]
    # float64: rows made when a format asks for them; plain lines all at once
    return Rows(n, lambda i: row(points[i], float(values[i])),
                lambda: list(map(repr, values.tolist())))
