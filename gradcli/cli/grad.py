"""``gradcli grad``: the gradient (and the Hessian) with respect to every variable."""
from __future__ import annotations

import click

from .app import command, warn_non_finite
from .certified import check_finite_points, digits_option, exact_values
from .columns import Rows
from .inputs import for_each_point
from .options import at_option, expr_argument, format_option
from .render import Row, Writer, format_number
from .tables import table_text

EXAMPLES = [
    'gradcli grad "x**2*y+sin(y)" --at x=1,y=2',
    'gradcli grad "x**2*y+sin(y)" --at x=1,y=2 --hessian --format json',
    "printf 'x=1,y=2\\nx=3,y=4\\n' | gradcli grad \"x*y**2\" --at - --format csv",
    "printf 'x*y\\nx+y\\nsin(x)\\n' | gradcli grad - --at x=1,y=2 --wrt x,y",
]


@command("grad", examples=EXAMPLES)
@expr_argument
@at_option
@click.option("--hessian", is_flag=True, help="Also the matrix of second partial derivatives.")
@click.option("--wrt", default=None, metavar="X,Y,...",
              help="Differentiate along these variables, in this order; a point may then name "
                   "variables the expression lacks (their derivatives are 0): with several "
                   "expressions, the rows of a Jacobian.")
@digits_option
@format_option
def grad(expr, at, hessian, wrt, digits, format):
    """The gradient of EXPR (and with --hessian its Hessian) at each point.

    Variables are in order of name. Plain output is one line per point: the
    gradient's components, then (with --hessian) the Hessian's entries row by row,
    separated by spaces.
    """
    order = wrt_names(wrt)
    with Writer(format) as writer:
        for_each_point(expr, at, lambda e, names, env, points:
                       gradient_rows(e, names, env, points, hessian, order, digits), writer,
                       extra=order or ())


def _check_hessian_work(expression, k: int) -> None:
    """Refuse a Hessian whose work (one pass over the graph per variable, limits.py)
    would take minutes, before any of it is done."""
    from ..limits import MAX_HESSIAN_WORK, exceeded

    work = k * len(expression.nodes)
    if work > MAX_HESSIAN_WORK:
        raise exceeded(f"--hessian of {k:,} variables over a graph of "
                       f"{len(expression.nodes):,} nodes:", f"{work:,}", f"{MAX_HESSIAN_WORK:,}",
                       unit=" node passes",
                       hint="grad without --hessian is one pass; the library's "
                            "Expression.hessian has no such limit")


def gradient_rows(expression, names, env, points, with_hessian: bool, wrt=None,
                  digits=None) -> list[Row]:
    import numpy as np

    n = len(points)
    variables = list(expression.variables if wrt is None else wrt)
    k = len(variables)
    if with_hessian:
        _check_hessian_work(expression, k)
    if digits is not None:
        return _digit_rows(expression, names, points, with_hessian, variables, digits)
    value, gradient, hessian = derivatives_along(expression, env, variables, with_hessian)
    values = np.broadcast_to(value, (n,))
    gradients = np.broadcast_to(gradient, (n, k))
    hessians = np.broadcast_to(hessian, (n, k, k)) if with_hessian else None
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

    def row(i) -> Row:
        point, value, gradient = points[i], float(values[i]), gradients[i].tolist()
        matrix = hessians[i].tolist() if with_hessian else None
        coordinates = list(point.values)
        record = {"expr": text, "point": dict(zip(names, coordinates)), "variables": variables,
                  "value": value, "gradient": gradient}
        numbers = list(gradient)
        if with_hessian:
            record["hessian"] = matrix
            numbers += [h for line in matrix for h in line]
        notes = None
        if with_hessian:  # the Hessian as a matrix, under the point's row
            at = ",".join(f"{n}={format_number(v)}" for n, v in zip(names, coordinates))
            notes = f"Hessian at {at or 'no point'} (∂²f/∂row∂column):\n" + table_text(
                None, ["", *variables], [[a, *r] for a, r in zip(variables, matrix)],
                numeric=[False, *[True] * k])
        return Row(
            record=record,
            plain=" ".join(format_number(g) for g in numbers),
            columns=columns,
            values=[text, *coordinates, value, *numbers],
            title=text,
            table_columns=table_columns,
            table_values=[*coordinates, value, *gradient],
            notes=notes,
        )

    def plain() -> list[str]:  # every row's plain line, a column at a time
        flat = gradients if not with_hessian else np.concatenate(
            [gradients, hessians.reshape(n, k * k)], axis=1)
        texts = [list(map(repr, flat[:, j].tolist())) for j in range(flat.shape[1])]
        if len(texts) == 1:
            return texts[0]
        return list(map(" ".join, zip(*texts))) if texts else [""] * n

    return Rows(n, row, plain)


def _digit_rows(expression, names, points, with_hessian, variables, digits) -> list[Row]:
    """--digits: the value, gradient and Hessian as certified decimal strings, point by point."""
    from ..taylor.digits import gradient_to_digits

    check_finite_points(points, names)
    text = expression.text
    own = [v for v in variables if v in expression.variables]
    rows = []
    for point in points:
        exact = {v: x for v, x in exact_values(point, names).items()
                 if v in expression.variables}
        value = expression.evaluate(exact, digits=digits)
        grad_own, hess_own = gradient_to_digits(expression, exact, digits, own, with_hessian)
        gradient = [grad_own[own.index(v)] if v in own else "0" for v in variables]
        numbers = list(gradient)
        record = {"expr": text, "point": dict(zip(names, point.values)),
                  "variables": variables, "value": value, "gradient": gradient}
        if with_hessian:
            matrix = [[hess_own[own.index(a)][own.index(b)] if a in own and b in own else "0"
                       for b in variables] for a in variables]
            record["hessian"] = matrix
            numbers += [h for row in matrix for h in row]
        rows.append(Row(record=record, plain=" ".join(numbers),
                        columns=["expr", *names, "value", *(f"gradient[{v}]" for v in variables)]
                        + ([f"hessian[{a},{b}]" for a in variables for b in variables]
                           if with_hessian else []),
                        values=[text, *point.values, value, *numbers], title=text,
                        table_columns=[*names, "f", *(f"∂f/∂{v}" for v in variables)],
                        table_values=[*point.values, value, *gradient]))
    return rows


def wrt_names(text: str | None) -> tuple[str, ...] | None:
    """--wrt x,y as ('x', 'y'): variable names, each once."""
    if text is None:
        return None
    from ..errors import GradcliError
    from ..names import not_a_variable

    names = tuple(part.strip() for part in text.split(","))
    for name in names:
        problem = not_a_variable(name)
        if problem:
            raise GradcliError(f"--wrt {text}: {problem}")
    twice = [name for i, name in enumerate(names) if name in names[:i]]
    if twice:
        raise GradcliError(f"--wrt {text}: {twice[0]!r} is given twice")
    return names


def derivatives_along(expression, env, variables: list[str], with_hessian: bool):
    """(value, gradient, Hessian or None) along ``variables`` in their order, from one compiled
    program over all the points; a variable the expression lacks has derivatives 0."""
    import numpy as np

    from ..compiled.program import compile_expression

    own = [v for v in variables if v in expression.variables]
    program = compile_expression(expression, wrt=own)  # one vectorized pass over all the points
    env = {name: env[name] for name in expression.variables}
    value, gradient = program.value_and_grad(env)
    hessian = program.hessian(env) if with_hessian else None
    if own == variables:
        return value, gradient, hessian
    shape = np.shape(value)
    where = [variables.index(v) for v in own]
    full_gradient = np.zeros(shape + (len(variables),))
    full_gradient[..., where] = gradient
    if hessian is not None:
        full = np.zeros(shape + (len(variables), len(variables)))
        full[..., np.ix_(where, where)[0], np.ix_(where, where)[1]] = hessian
        hessian = full
    return value, full_gradient, hessian
