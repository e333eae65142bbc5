"""``gradcli grad``: the gradient (and the Hessian) with respect to every variable."""
from __future__ import annotations

import click

from .app import command, warn_non_finite
from .inputs import for_each_point
from .options import at_option, expr_argument, format_option
from .render import Row, Writer, format_number

EXAMPLES = [
    'gradcli grad "x**2*y+sin(y)" --at x=1,y=2',
    'gradcli grad "x**2*y+sin(y)" --at x=1,y=2 --hessian --format json',
    "printf 'x=1,y=2\\nx=3,y=4\\n' | gradcli grad \"x*y**2\" --at - --format csv",
]


@command("grad", examples=EXAMPLES)
@expr_argument
@at_option
@click.option("--hessian", is_flag=True, help="Also the matrix of second partial derivatives.")
@format_option
def grad(expr, at, hessian, format):
    """The gradient of EXPR (and with --hessian its Hessian) at each point.

    Variables are in order of name. Plain output is one line per point: the
    gradient's components, then (with --hessian) the Hessian's entries row by row,
    separated by spaces.
    """
    with Writer(format) as writer:
        for_each_point(expr, at, lambda e, names, env, points:
                       gradient_rows(e, names, env, points, hessian), writer)


def gradient_rows(expression, names, env, points, with_hessian: bool) -> list[Row]:
    import numpy as np

    n = len(points)
    variables = list(expression.variables)
    k = len(variables)
    from ..compiled.program import compile_expression

    program = compile_expression(expression)  # one vectorized pass over all the points
    value, gradient = program.value_and_grad(env)
    values = np.broadcast_to(value, (n,))
    gradients = np.broadcast_to(gradient, (n, k))
    hessians = np.broadcast_to(program.hessian(env), (n, k, k)) if with_hessian else None
    checks = [("the value", values)] + [(f"the derivative along {v}", gradients[:, i])
                                    for i, v in enumerate(variables)]
    if with_hessian:
        checks += [(f"the second derivative along {a} and {b}", hessians[:, i, j])
                   for i, a in enumerate(variables) for j, b in enumerate(variables)]
    warn_non_finite(expression, names, points, checks)
    text = expression.text
    point_columns = [name if name not in ("expr", "value") else f"point[{name}]" for name in names]
    columns = ["expr", *point_columns, "value", *(f"gradient[{v}]" for v in variables)]
    table_columns = [*names, "f", *(f"∂f/∂{v}" for v in variables)]
    if with_hessian:
        columns += [f"hessian[{a},{b}]" for a in variables for b in variables]
        table_columns += [f"∂²f/∂{a}∂{b}" if a != b else f"∂²f/∂{a}²"
                          for a in variables for b in variables]
    rows = []
    values, gradients = values.tolist(), gradients.tolist()
    matrices = hessians.tolist() if with_hessian else [None] * n
    for point, value, gradient, matrix in zip(points, values, gradients, matrices):
        coordinates = list(point.values)
        record = {"expr": text, "point": dict(zip(names, coordinates)), "variables": variables,
                  "value": value, "gradient": gradient}
        numbers = list(gradient)
        if with_hessian:
            record["hessian"] = matrix
            numbers += [h for row in matrix for h in row]
        rows.append(Row(
            record=record,
            plain=" ".join(format_number(g) for g in numbers),
            columns=columns,
            values=[text, *coordinates, value, *numbers],
            title=text,
            table_columns=table_columns,
            table_values=[*coordinates, value, *numbers],
        ))
    return rows
