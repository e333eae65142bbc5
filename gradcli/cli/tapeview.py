"""The op graph as a gradient tape sees it: per node, its forward value, its adjoint
and the order in which the tape plays it back.

- ``structure(root)``: the nodes reachable from ``root``, numbered 0..n-1 in
  topological order (inputs first; the output is last), with how often each is used.
- ``trace(root, env)``: the same, recorded on a real ``GradientTape`` at the points of
  ``env`` (variable name -> value or array of values, one per point). Every leaf is
  watched, the constants too (as ``tape.watch`` does for a ``tf.constant``), so every op
  is recorded and every node gets

  - ``values[k]``: the node's forward value;
  - ``adjoints[k]``: d output / d node, from ``tape.gradient(output, node)``: the sum,
    over the node's users, of the user's adjoint times the user's local derivative
    (the chain rule, applied op by op);
  - ``playback[k]``: the node's position (1, 2, ...) in the order the tape plays its
    entries back (TensorFlow's: an op once every op using it has run, ready ops first
    in, first out from the output): the output's op is 1, and a node comes after
    every node that uses it. Leaves are not played back (None): their adjoints are
    where the playback ends.

Values and adjoints are numpy arrays with one entry per point (all the points in one
pass). The variables' adjoints are the gradient of ``Expression.gradient``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..graph import Node, topological
from ..language.printer import number_text


@dataclass(frozen=True)
class ViewNode:
    """One node of the view. ``id`` is its position in topological order."""

    id: int
    op: str                   # registry op name, 'var' or 'const'
    name: str | None          # a variable's name; a constant's name ('pi') or number ('2')
    inputs: tuple[int, ...]   # ids of the inputs, in argument order
    attrs: dict               # op attributes, as {'n': 3} for powi
    uses: int                 # how many input slots refer to this node
    node: Node = field(repr=False, compare=False)

    @property
    def is_leaf(self) -> bool:
        return self.op in ("var", "const")


@dataclass
class TapeView:
    """The nodes, the output's id, and (after ``trace``) values, adjoints and playback."""

    nodes: list[ViewNode]
    output: int
    values: list[np.ndarray] | None = None
    adjoints: list[np.ndarray] | None = None
    playback: list[int | None] | None = None

    @property
    def traced(self) -> bool:
        return self.values is not None

    def at(self, i: int) -> "TapeView":
        """The view at the i-th point only (values and adjoints as floats)."""
        if not self.traced:
            return self
        return TapeView(self.nodes, self.output,
                        [float(v[i]) for v in self.values],
                        [float(a[i]) for a in self.adjoints], self.playback)


def structure(root: Node) -> TapeView:
    """The nodes reachable from root, numbered in topological order."""
    order = topological(root)
    index = {node.id: k for k, node in enumerate(order)}
    uses = [0] * len(order)
    for node in order:
        for i in node.inputs:
            uses[index[i.id]] += 1
    nodes = []
    for k, node in enumerate(order):
        if node.op == "const":
            name = node.name or number_text(node.value)
        else:
            name = node.name if node.op == "var" else None
        nodes.append(ViewNode(k, node.op, name, tuple(index[i.id] for i in node.inputs),
                              dict(node.attrs), uses[k], node))
    return TapeView(nodes, len(order) - 1)


def trace(root: Node, env: dict, points: int | None = None) -> TapeView:
    """Record the graph on a GradientTape at the points of ``env`` and play it back.

    ``env`` maps each variable to a number or an array (one value per point);
    ``points`` is the number of points (default: the broadcast size of ``env``, 1 if
    scalar). Values and adjoints come back as arrays of that length.
    """
    from ..tape import GradientTape
    from ..tensor import apply, constant

    view = structure(root)
    arrays = {name: np.asarray(v, dtype=np.float64) for name, v in env.items()}
    if points is None:
        points = int(np.prod(np.broadcast_shapes(*(a.shape for a in arrays.values()))))
    shape = (points,)
    tensors = []
    # persistent: the entries stay readable after gradient() for the playback order
    with GradientTape(persistent=True) as tape:
        for vn in view.nodes:
            if vn.op == "var":
                t = constant(np.broadcast_to(arrays[vn.name], shape).copy())
                tape.watch(t)
            elif vn.op == "const":
                t = constant(np.full(shape, vn.node.value))
                tape.watch(t)
            else:
                t = apply(vn.op, *(tensors[i] for i in vn.inputs), **vn.attrs)
            tensors.append(t)
    with np.errstate(all="ignore"):
        adjoints = tape.gradient(tensors[view.output], tensors, unconnected_gradients="zero")
    position = {id(t): k for k, t in enumerate(tensors)}
    playback: list[int | None] = [None] * len(tensors)
    # the order the tape ran the rules (TensorFlow's: first in, first out from the output)
    for rank, entry in enumerate(tape.playback, start=1):
        playback[position[id(entry.out)]] = rank
    view.values = [np.broadcast_to(t.value, shape).astype(np.float64) for t in tensors]
    view.adjoints = [np.broadcast_to(a.value, shape).astype(np.float64) for a in adjoints]
    view.playback = playback
    return view
