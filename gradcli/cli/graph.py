"""``gradcli graph``: the op graph the tape records, node by node (SPEC section 2).

With ``--at``, each node's forward value, its adjoint (d output / d node) and its
place in the tape's playback (``gradcli.tapeview``): the chain rule, op by op.
Formats, one result per expression and point:

- ``tree`` (default on a terminal): a rich tree from the output down to the leaves;
  a node used more than once is drawn once, named (``%2`` or its variable name), and
  referred to by that name where it recurs. Values line up in columns.
- ``plain`` (default in a pipe): the tape as a list of steps, one line per node in
  recording order, ``%2 = sin(%0)  value=... adjoint=... playback=2``.
- ``dot``: a Graphviz digraph, nodes labelled with op, value, adjoint and playback,
  edges from each input to its user (``... --format dot | dot -Tpng > g.png``).
- ``json``: one JSON line, ``{"expr", "point", "output", "nodes": [{"id", "op", "name",
  "inputs", "value", "adjoint", "playback"}]}``.

Node ids are positions in topological order (0..n-1, the output last) and are the same
in every format. Results are separated by a blank line (tree, plain, dot).
"""
from __future__ import annotations

from ..errors import GradcliError
from .app import command, report_error, warn, warn_non_finite
from .inputs import for_each_point, parse_expression, read_expressions
from .options import at_option, expr_argument, format_option
from .points import Point
from .render import Row, Writer, format_number, table_cell

EXAMPLES = [
    'gradcli graph "sin(x)*x+x**2" --at 1',
    'gradcli graph "x**2*y+sin(y)" --at x=1,y=2 --format json',
    'gradcli graph "sin(x)*sin(x)" --at 1 --format dot | dot -Tpng > g.png',
    'gradcli graph "log(x, 2)" --format plain',
]
GRAPH_FORMATS = ("tree", "plain", "dot", "json")
SHARED_TEXT = 40  # a recurring node's reference shows at most this much of its expression


@command("graph", examples=EXAMPLES)
@expr_argument
@at_option
@format_option(choices=GRAPH_FORMATS, tty_default="tree", pipe_default="plain")
def graph(expr, at, format):
    """The op graph of EXPR as the gradient tape records it; with --at, each node's
    value, its adjoint (the derivative of the output with respect to the node) and
    its number in the order the tape plays the nodes back.

    Every leaf is watched, constants too, so every node has an adjoint; the
    variables' adjoints are the gradient. A node used several times (x, or a shared
    subexpression) is shown once and named where it recurs. An expression without
    variables needs no --at.
    """
    with Writer(format) as writer:
        if at:
            for_each_point(expr, at, traced_results, writer)
        else:
            structure_results(expr, writer)


# -- results ----------------------------------------------------------------------------------
class GraphResult:
    """One graph to write: the expression, the point (None: no values) and the view."""

    def __init__(self, expression, point: dict | None, view):
        self.expression = expression
        self.point = point
        self.view = view

    @property
    def title(self) -> str:
        if not self.point:
            return self.expression.text
        at = ", ".join(f"{name}={format_number(v)}" for name, v in self.point.items())
        return f"{self.expression.text}  at {at}"


def traced_results(expression, names, env, points) -> list[Row]:
    """One traced result per point (all points recorded in one pass)."""
    from .tapeview import trace

    view = trace(expression.root, env, len(points))
    variables = {vn.name: vn.id for vn in view.nodes if vn.op == "var"}
    warn_non_finite(expression, names, points,
                    [("the value", view.values[view.output])]
                    + [(f"the derivative along {v}", view.adjoints[variables[v]])
                       for v in expression.variables])
    return [graph_row(GraphResult(expression, dict(zip(names, point.values)), view.at(i)))
            for i, point in enumerate(points)]


def structure_results(expr: str, writer) -> None:
    """Without --at: the structure of each expression (values too if it has no variables)."""
    from .tapeview import structure

    for sources in read_expressions(expr):
        for source in sources:
            try:
                expression = parse_expression(source)
            except GradcliError as e:
                if source.where is None:
                    raise
                report_error(e, source.where)
                continue
            if expression.variables:
                writer.write(graph_row(GraphResult(expression, None,
                                                   structure(expression.root))))
            else:  # nothing to give: its one point is the empty one
                empty = Point((), (), "", "--at")
                writer.write(traced_results(expression, (), {}, [empty])[0])
        writer.flush()


# -- writing ----------------------------------------------------------------------------------
def graph_row(result: GraphResult) -> Row:
    """A graph as a Row: its JSON record, and its tree, dot and plain texts."""
    return Row(record=json_record(result),
               text={"tree": lambda out: print_tree(result, out),
                     "dot": lambda out: out.write(dot_text(result)),
                     "plain": lambda out: out.write(plain_text(result))})


def op_label(vn) -> str:
    """How a node is named in tree and dot: a variable's name, a constant, an op."""
    if vn.is_leaf:
        return vn.name
    if vn.op == "powi":
        return f"powi n={vn.attrs['n']}"
    return vn.op


# -- json -------------------------------------------------------------------------------------
def json_record(result: GraphResult) -> dict:
    """SPEC's object; powi nodes also carry their exponent ``n``; constants their number
    (or 'pi', 'e') as ``name``; value, adjoint and playback only with a point."""
    view = result.view
    nodes = []
    for vn in view.nodes:
        node = {"id": vn.id, "op": vn.op, "name": vn.name, "inputs": list(vn.inputs)}
        node.update(vn.attrs)
        if view.traced:
            node["value"] = view.values[vn.id]
            node["adjoint"] = view.adjoints[vn.id]
            node["playback"] = view.playback[vn.id]
        nodes.append(node)
    return {"expr": result.expression.text, "point": result.point, "output": view.output,
            "nodes": nodes}


# -- plain: the tape, a step per line -----------------------------------------------------------
def plain_text(result: GraphResult) -> str:
    from ..language.printer import step_text

    view = result.view
    ids = {vn.node.id: vn.id for vn in view.nodes}
    lines = []
    for vn in view.nodes:
        step = vn.name if vn.is_leaf else step_text(vn.node, lambda n: f"%{ids[n.id]}")
        line = f"%{vn.id} = {step}"
        if view.traced:
            line += (f"  value={format_number(view.values[vn.id])}"
                     f" adjoint={format_number(view.adjoints[vn.id])}")
            if view.playback[vn.id] is not None:
                line += f" playback={view.playback[vn.id]}"
        lines.append(line + "\n")
    return "".join(lines)


# -- dot --------------------------------------------------------------------------------------
def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_text(result: GraphResult) -> str:
    """A Graphviz digraph: a node per op graph node, an edge per input (input -> user),
    drawn bottom to top so that the output is on top, as in the tree."""
    view = result.view
    lines = ["digraph gradcli {",
             f"  label={_dot_string(result.title)};",
             "  labelloc=t;",
             "  rankdir=BT;",
             "  fontname=\"Helvetica\";",
             '  node [shape=box, fontname="Helvetica"];']
    for vn in view.nodes:
        label = [op_label(vn)]
        if view.traced:
            label += [f"value {format_number(view.values[vn.id])}",
                      f"adjoint {format_number(view.adjoints[vn.id])}"]
            if view.playback[vn.id] is not None:
                label.append(f"playback {view.playback[vn.id]}")
        attrs = [f"label={_dot_string(chr(10).join(label))}".replace("\n", "\\n")]
        if vn.op == "var":
            attrs.append("shape=ellipse")
        elif vn.op == "const":
            attrs.append("shape=ellipse, style=dashed")
        if vn.id == view.output:
            attrs.append("penwidth=2")
        lines.append(f"  n{vn.id} [{', '.join(attrs)}];")
    for vn in view.nodes:
        lines.extend(f"  n{i} -> n{vn.id};" for i in vn.inputs)
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- tree -------------------------------------------------------------------------------------
GUIDE = 4  # the width of one level of rich's tree guides ("├── ")


def tree_lines(view) -> list[tuple[int, int, str, int | None]]:
    """The tree, preorder from the output: ``(parent line, depth, label, node id)`` per
    line; a recurring node's later lines refer to it by name (node id None), without
    children. Iterative."""
    from ..language.printer import to_text

    names = {vn.id: (vn.name if vn.is_leaf else f"%{vn.id}") for vn in view.nodes}
    shown: set[int] = set()
    lines: list[tuple[int, int, str, int | None]] = []
    stack = [(-1, 0, view.output)]
    while stack:
        parent, depth, k = stack.pop()
        vn = view.nodes[k]
        if k in shown:
            if vn.is_leaf:
                label = f"{names[k]}  (shown above)"
            else:
                label = f"{names[k]}  ({to_text(vn.node, SHARED_TEXT)}, shown above)"
            lines.append((parent, depth, label, None))
            continue
        shown.add(k)
        label = op_label(vn)
        if vn.uses > 1 and not vn.is_leaf:
            label = f"{names[k]} = {label}"
        lines.append((parent, depth, label, k))
        here = len(lines) - 1
        stack.extend((here, depth + 1, i) for i in reversed(vn.inputs))
    return lines


def _check_tree_size(lines) -> None:
    """Refuse a tree too big to draw, before rich draws it: a sum of n terms nests n
    deep, and its tree is about 2n**2 characters (3,000 terms took 52 s and 2.6 GB)."""
    from ..errors import GradcliError
    from ..limits import MAX_TREE_CHARACTERS

    size = sum(GUIDE * depth + len(label) + 1 for _, depth, label, _ in lines)
    if size > MAX_TREE_CHARACTERS:
        deepest = max(depth for _, depth, _, _ in lines)
        raise GradcliError(
            f"--format tree: the tree of this expression would be {size:,} characters "
            f"({len(lines):,} lines, {deepest:,} levels deep), beyond the limit of "
            f"{MAX_TREE_CHARACTERS:,} (use --format plain, dot or json)")


def print_tree(result: GraphResult, out) -> None:
    """The rich tree, with value, adjoint and playback in right-justified columns."""
    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

    view = result.view
    lines = tree_lines(view)
    _check_tree_size(lines)
    # the columns start after the widest node line (a reference line has no values)
    width = max(GUIDE * depth + len(label) for _, depth, label, k in lines if k is not None)
    class TreeConsole(Console):
        def on_broken_pipe(self) -> None:  # rich would exit 1: let the command end as 141
            raise BrokenPipeError

    console = TreeConsole(file=out, highlight=False, soft_wrap=False)
    console.print(Text(result.title, style="bold"), overflow="fold")  # at the terminal's width
    columns, headings = [], ["value", "adjoint", "playback"]
    # every digit where the tree fits the terminal; else a table's 10 digits (SPEC 6.4)
    for number in (format_number, table_cell) if view.traced else ():
        cells = {vn.id: [number(view.values[vn.id]), number(view.adjoints[vn.id]),
                         "" if view.playback[vn.id] is None else str(view.playback[vn.id])]
                 for vn in view.nodes}
        columns = [max(len(h), *(len(c[j]) for c in cells.values()))
                   for j, h in enumerate(headings)]
        if width + sum(2 + c for c in columns) <= console.width:
            break
    total = max(width + sum(2 + c for c in columns),
                *(GUIDE * depth + len(label) for _, depth, label, _ in lines))
    if console.width < total:  # too deep to fit (a long sum nests a level a term): as it is
        warn(f"the tree is {total} columns wide, the terminal {console.width}: "
             f"--format plain lists the tape a step per line")
        console = TreeConsole(file=out, highlight=False, soft_wrap=False, width=total)
    if view.traced:
        console.print(Text(" " * width + "".join(f"  {h.rjust(c)}"
                                                 for h, c in zip(headings, columns)),
                           style="dim"))
    nodes = []
    for parent, depth, label, k in lines:
        text = Text(label, style="dim" if k is None else "")
        if k is not None and view.traced:
            text.append(" " * (width - GUIDE * depth - len(label)))
            text.append("".join(f"  {cell.rjust(c)}" for cell, c in zip(cells[k], columns)))
        text.rstrip()
        nodes.append(Tree(text) if parent < 0 else nodes[parent].add(text))
    console.print(nodes[0])
