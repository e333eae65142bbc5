"""GradientTape: records ops while active and plays them back in reverse.

Each recorded entry holds an op, its input tensors, its output tensor and its
attributes. ``gradient`` walks the entries from last to first (recording order
is a topological order, so the walk is iterative and never recurses) and
applies each op's gradient rule. The rules are built from gradcli's own ops, so
an outer tape records the inner tape's gradient computation: nesting tapes
gives higher derivatives.
"""
from __future__ import annotations

import contextlib

import numpy as np

# The tapes currently recording, outermost first. tensor.apply reads this.
RECORDING: list["GradientTape"] = []


class _Entry:
    __slots__ = ("op", "inputs", "watched", "out", "attrs")

    def __init__(self, op, inputs, watched, out, attrs):
        self.op, self.inputs, self.watched, self.out, self.attrs = op, inputs, watched, out, attrs


def record(spec, inputs, out, attrs) -> None:
    """Record one op on every recording tape that watches one of its inputs."""
    from .tensor import Variable

    for tape in RECORDING:
        watched = tape._watched
        if tape._watch_accessed:
            for t in inputs:
                if isinstance(t, Variable) and t.trainable and id(t) not in watched:
                    watched[id(t)] = t
        mask = tuple(id(t) in watched for t in inputs)
        if any(mask):
            watched[id(out)] = out
            tape._entries.append(_Entry(spec, inputs, mask, out, attrs))


class GradientTape:
    """Records operations for automatic differentiation, as tf.GradientTape."""

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self.persistent = persistent
        self._watch_accessed = watch_accessed_variables
        self._entries: list[_Entry] = []
        self._watched: dict[int, object] = {}  # id -> tensor (keeps it alive)
        self._used = False
        self._active = False

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
        RECORDING.append(self)

    def _pop(self):
        if self._active:
            RECORDING.remove(self)
            self._active = False

    def watch(self, tensor) -> None:
        """Watch a tensor (or a nested list of tensors) as a source."""
        from .tensor import Tensor

        for t in _flatten(tensor):
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.watch expects gradcli tensors, got {type(t).__name__}")
            self._watched[id(t)] = t

    def watched_variables(self) -> list:
        from .tensor import Variable

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
    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """d(target)/d(sources): a tensor per source, None where unconnected."""
        from .tensor import Tensor, constant

        if self._used and not self.persistent:
            raise RuntimeError(
                "a non-persistent GradientTape can compute only one gradient; "
                "use GradientTape(persistent=True) to call gradient() several times")
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError("unconnected_gradients must be 'none' or 'zero'")
        self._used = True
        targets = _flatten(target)
        seeds = _flatten(output_gradients) if output_gradients is not None else [None] * len(targets)
        if len(seeds) != len(targets):
            raise ValueError("output_gradients must match target in structure")
        adjoints: dict[int, Tensor] = {}
        was_active = self._active
        self._pop()  # the playback itself is not recorded on this tape
        try:
            for t, seed in zip(targets, seeds):
                if not isinstance(t, Tensor):
                    raise TypeError("gradient() target must be a gradcli tensor")
                seed = constant(np.ones_like(t.value)) if seed is None else _as_tensor(seed, t)
                _accumulate(adjoints, t, seed)
            for entry in reversed(self._entries):
                g = adjoints.get(id(entry.out))
                if g is None:
                    continue
                grads = entry.op.grad(g, entry.out, *entry.inputs, **entry.attrs)
                for inp, watched, gi in zip(entry.inputs, entry.watched, grads):
                    if watched and gi is not None:
                        _accumulate(adjoints, inp, _unbroadcast(gi, inp.shape))
            result = []
            for s in _flatten(sources):
                if not isinstance(s, Tensor):
                    raise TypeError("gradient() sources must be gradcli tensors")
                g = adjoints.get(id(s))
                if g is None and unconnected_gradients == "zero":
                    g = constant(np.zeros_like(s.value))
                result.append(g)
        finally:
            if was_active:
                self._push()
            if not self.persistent:
                self._entries = []
        return _unflatten(sources, iter(result))


def _as_tensor(x, like):
    from .tensor import Tensor, convert

    return x if isinstance(x, Tensor) else convert(x, like)


def _accumulate(adjoints, tensor, g) -> None:
    key = id(tensor)
    prev = adjoints.get(key)
    adjoints[key] = g if prev is None else prev + g


def _unbroadcast(g, shape):
    """Sum a broadcast gradient back to the shape of its input."""
    from .tensor import apply

    if g.shape == shape:
        return g
    return apply("sum_to", g, shape=tuple(shape))


def _flatten(x) -> list:
    out, stack = [], [x]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        else:
            out.append(item)
    return out


def _unflatten(structure, values):
    if isinstance(structure, (list, tuple)):
        items = [_unflatten(s, values) for s in structure]
        return type(structure)(items) if isinstance(structure, tuple) else items
    return next(values)
