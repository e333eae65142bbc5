"""GradientTape: records ops while active and plays them back in TensorFlow's order.

Recording is done by ``tensor.apply`` (tensor.record), on the tapes of the
calling thread only. ``gradient`` plays the record back in TensorFlow's order
(tensorflow/c/eager/tape.h): an op's gradient rule runs once every op that used
its output has run, ready ops first-in first-out from the target, and the
gradients reaching one tensor are summed in the order they arrived, left to
right (as add_n). Because that order is TensorFlow's, float32 sums round as
TensorFlow's do (``x*x - 2*x + 1`` gets ``(x + x) + -2``). The walk is iterative:
deep graphs never hit the recursion limit. The rules are built from gradcli's
own ops, so an outer tape records the inner tape's gradient computation:
nesting tapes gives higher derivatives.
"""
from __future__ import annotations

import collections
import contextlib
import enum

import numpy as np

from .tensor import (
    STATE,
    Read,
    Tensor,
    Variable,
    apply,
    constant,
    convert,
    key_of,
    quiet,
)


class UnconnectedGradients(enum.Enum):
    """What ``gradient`` gives for a source the target does not depend on (tf's names)."""

    NONE = "none"
    ZERO = "zero"


def _unconnected(mode) -> UnconnectedGradients:
    try:
        return UnconnectedGradients(mode.value if isinstance(mode, UnconnectedGradients)
                                    else str(mode).lower())
    except ValueError:
        raise ValueError("unconnected_gradients must be UnconnectedGradients.NONE or .ZERO "
                         f"('none' or 'zero'), got {mode!r}") from None


class GradientTape:
    """Records operations for automatic differentiation, as tf.GradientTape."""

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self.persistent = persistent
        self._watch_accessed = watch_accessed_variables
        self._watch_all = False  # gc.function's trace: non-trainable variables too
        self._entries: list = []
        self._watched: dict[int, object] = {}  # id -> tensor (keeps it alive)
        self._used = False
        self._active = False
        self.playback: list = []  # gradient(): the entries in the order their rules ran

    # -- recording -------------------------------------------------------
    def __enter__(self):
        self._push()
        return self

    def __exit__(self, *exc):
        self._pop()
        return False

    def _push(self):
        if self._active:
            raise RuntimeError("this GradientTape is already recording")
        self._active = True
        STATE.tapes.append(self)

    def _pop(self):
        if self._active:
            tapes = STATE.tapes
            if self in tapes:
                tapes.remove(self)
            self._active = False

    def watch(self, tensor) -> None:
        """Watch a tensor (or a nested list, tuple or dict of tensors) as a source."""
        for t in flatten(tensor):
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.watch expects gradcli tensors, got {type(t).__name__}")
            t = t.source if type(t) is Read else t
            self._watched[id(t)] = t

    def watched_variables(self) -> list:
        return [t for t in self._watched.values() if isinstance(t, Variable)]

    @contextlib.contextmanager
    def stop_recording(self):
        """Inside this block, ops are not recorded on this tape."""
        if not self._active:
            raise RuntimeError("stop_recording() is for use inside the tape's 'with' block")
        self._pop()
        try:
            yield
        finally:
            self._push()

    def reset(self) -> None:
        """Forget everything recorded and watched so far."""
        self._entries.clear()
        self._watched.clear()
        self._used = False

    # -- playback ----------------------------------------------------------
    def gradient(self, target, sources, output_gradients=None,
                 unconnected_gradients=UnconnectedGradients.NONE):
        """d(target)/d(sources), in the structure of ``sources`` (lists, tuples, dicts):
        a tensor per source, None (or zeros) where unconnected. A nested target is summed."""
        mode = (unconnected_gradients if unconnected_gradients is UnconnectedGradients.NONE
                else _unconnected(unconnected_gradients))
        self._use()
        targets = [target] if isinstance(target, Tensor) else _tensors(
            flatten(target), "gradient() target")
        if output_gradients is None:
            seeds = [_ones(t) for t in targets]
        else:
            seeds = flatten(output_gradients)
            if len(seeds) != len(targets):
                raise ValueError(f"output_gradients has {len(seeds)} tensors, target "
                                 f"{len(targets)}: they must have the same structure")
            seeds = [_ones(t) if s is None else _seed(s, t) for t, s in zip(targets, seeds)]
        if isinstance(sources, Tensor):
            flat = [sources]
        elif type(sources) is list and all(isinstance(s, Tensor) for s in sources):
            flat = sources
        else:
            flat = _tensors(flatten(sources), "gradient() sources")
        keys = [id(s.source) if type(s) is Read else id(s) for s in flat]
        adjoints = self._play(targets, seeds, set(keys))
        result = [adjoints.get(k) for k in keys]
        if mode is UnconnectedGradients.ZERO:
            result = [_or_zeros(g, s, mode) for g, s in zip(result, flat)]
        if isinstance(sources, Tensor):
            return result[0]
        if flat is sources:
            return result
        return unflatten(sources, iter(result))

    def jacobian(self, target, sources, unconnected_gradients=UnconnectedGradients.NONE,
                 parallel_iterations=None, experimental_use_pfor=True):
        """d target[i...] / d source[j...]: per source, shape target.shape + source.shape
        (one reverse pass per element of the target)."""
        mode = _unconnected(unconnected_gradients)
        self._use()
        (target,) = _tensors([target], "jacobian() target")
        flat = _tensors(flatten(sources), "jacobian() sources")
        keys = {key_of(s) for s in flat}
        rows = [[] for _ in flat]
        for i in range(target.value.size):
            seed = np.zeros(target.value.size, dtype=target.dtype)
            seed[i] = 1.0
            adjoints = self._play([target], [constant(seed.reshape(target.shape))], keys,
                                  keep=True)
            for row, s in zip(rows, flat):
                row.append(adjoints.get(key_of(s)))
        self._release()
        result = [_stack_rows(row, target.shape, s, mode) for row, s in zip(rows, flat)]
        return unflatten(sources, iter(result))

    def batch_jacobian(self, target, source, unconnected_gradients=UnconnectedGradients.NONE,
                       parallel_iterations=None, experimental_use_pfor=True):
        """d target[b, i...] / d source[b, j...], shape (batch, *target.shape[1:],
        *source.shape[1:]): rows of the batch are taken as independent, as in TensorFlow."""
        mode = _unconnected(unconnected_gradients)
        self._use()
        (target, source) = _tensors([target, source], "batch_jacobian() arguments")
        if target.ndim < 1 or source.ndim < 1 or target.shape[0] != source.shape[0]:
            raise ValueError(f"batch_jacobian: target {target.shape} and source {source.shape} "
                             f"need the same first (batch) dimension")
        batch = target.shape[0]
        m = int(np.prod(target.shape[1:], dtype=int))
        cols = []
        for j in range(m):
            seed = np.zeros((batch, m), dtype=target.dtype)
            seed[:, j] = 1.0
            adjoints = self._play([target], [constant(seed.reshape(target.shape))],
                                  {key_of(source)}, keep=True)
            cols.append(adjoints.get(key_of(source)))
        self._release()
        shape = (batch, *target.shape[1:], *source.shape[1:])
        if all(c is None for c in cols):
            return None if mode is UnconnectedGradients.NONE else constant(np.zeros(shape, source.dtype))
        zero = constant(np.zeros(source.shape, source.dtype))
        flat = [apply("reshape", zero if c is None else c, shape=(batch, -1)) for c in cols]
        return apply("reshape", apply("stack", *flat, axis=1), shape=shape)

    def _use(self):
        if self._used and not self.persistent:
            raise RuntimeError(
                "a non-persistent GradientTape can compute only one gradient; "
                "use GradientTape(persistent=True) to call gradient() several times")
        self._used = True

    def _play(self, targets, seeds, wanted, keep: bool = False) -> dict:
        """The summed gradient of every key in ``wanted`` (TensorFlow's order)."""
        was_active = self._active
        self._pop()  # the playback itself is not recorded on this tape
        try:
            self.playback = []  # the entries in the order their rules ran (the last playback)
            return _backward(self._entries, targets, seeds, wanted, self.playback)
        finally:
            if was_active:
                self._push()
            if not keep:
                self._release()

    def _release(self):
        if not self.persistent:
            self._entries = []


def _backward(entries, targets, seeds, wanted, order) -> dict:
    grads: dict[int, list] = {}
    live = set()
    for t, seed in zip(targets, seeds):
        k = key_of(t)
        grads.setdefault(k, []).append(seed)
        live.add(k)
    # the ops the targets depend on, and how many of them use each tensor
    usage: dict[int, int] = {}
    producer = {}
    for e in reversed(entries):
        out = id(e.out)
        if out in live:
            producer[out] = e
            for _, k in e.watched:
                usage[k] = usage.get(k, 0) + 1
                live.add(k)
    queue = collections.deque()
    for t in targets:
        e = producer.get(id(t))
        if e is not None and not usage.get(id(t)) and e not in queue:
            queue.appendleft(e)
    pop, push, get_grads, get_producer = queue.pop, queue.appendleft, grads.get, producer.get
    with quiet():
        while queue:
            e = pop()
            order.append(e)
            key = id(e.out)
            pending = get_grads(key) if key in wanted else grads.pop(key, None)
            if not pending:  # no gradient reached this op: it passes none on
                for _, k in e.watched:
                    n = usage[k] = usage[k] - 1
                    if not n and k in producer:
                        push(producer[k])
                continue
            g = pending[0] if len(pending) == 1 else _sum(pending)
            outs = e.op.grad(g, e.out, *e.inputs, **e.attrs)
            inputs = e.inputs
            for i, k in e.watched:
                gi = outs[i]
                if gi is not None:
                    shape = inputs[i].value.shape
                    if gi.value.shape != shape:
                        gi = apply("sum_to", gi, shape=shape)
                    got = get_grads(k)
                    if got is None:
                        grads[k] = [gi]
                    else:
                        got.append(gi)
                n = usage[k] = usage[k] - 1
                if not n:
                    p = get_producer(k)
                    if p is not None:
                        push(p)
    return {k: _sum(grads[k]) for k in wanted if grads.get(k)}


def _sum(gs):
    """Left to right, as TensorFlow's add_n."""
    acc = gs[0]
    for g in gs[1:]:
        acc = acc + g
    return acc


def _ones(t):
    """The default seed: ones like the target (a shared constant for a scalar)."""
    return convert(1.0, t) if t.value.ndim == 0 else constant(np.ones_like(t.value))


def _seed(s, target):
    s = s if isinstance(s, Tensor) else convert(s, target)
    if s.shape != target.shape:
        raise ValueError(f"output_gradients: shape {s.shape} for a target of shape {target.shape}")
    return s


def _tensors(items, what: str) -> list:
    for t in items:
        if not isinstance(t, Tensor):
            raise TypeError(f"{what} must be gradcli tensors (or nested lists, tuples or dicts "
                            f"of them), got {type(t).__name__}")
    return items


def _or_zeros(g, source, mode):
    if g is None and mode is UnconnectedGradients.ZERO:
        return constant(np.zeros_like(source.value))
    return g


def _stack_rows(row, target_shape, source, mode):
    if all(g is None for g in row):
        return _or_zeros(None, constant(np.zeros((*target_shape, *source.shape), source.dtype)),
                         mode)
    zero = constant(np.zeros(source.shape, source.dtype))
    stacked = apply("stack", *[zero if g is None else g for g in row], axis=0)
    return apply("reshape", stacked, shape=(*target_shape, *source.shape))


def flatten(x) -> list:
    """The leaves of nested lists, tuples and dicts (dicts in sorted key order, as tf.nest)."""
    out, stack = [], [x]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            stack.extend(item[k] for k in reversed(_sorted_keys(item)))
        else:
            out.append(item)
    return out


def unflatten(structure, values):
    """``structure`` rebuilt with its leaves taken in order from the iterator ``values``."""
    if isinstance(structure, list | tuple):
        items = [unflatten(s, values) for s in structure]
        if isinstance(structure, tuple):
            return type(structure)(*items) if hasattr(structure, "_fields") else tuple(items)
        return items
    if isinstance(structure, dict):
        built = {k: unflatten(structure[k], values) for k in _sorted_keys(structure)}
        return {k: built[k] for k in structure}
    return next(values)


def _sorted_keys(d: dict) -> list:
    try:
        return sorted(d)
    except TypeError:
        raise TypeError("dict keys of sources or targets must be sortable (as in tf.nest)") from None
