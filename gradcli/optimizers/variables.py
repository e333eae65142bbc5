"""apply_gradients: (gradient, Variable) pairs checked, and one update of the variables.

The variables are concatenated into one flat vector for the optimizer's arithmetic (so
clip_norm is a global norm); each keeps its own slice of the optimizer's buffers across
calls. For a few float64 coordinates (under 8 in all, the tutorials' scalars) the update
runs on Python floats through the optimizer's generated float step (float_step.py: the
same IEEE operations in the same order, so the same bits as the arrays) at a fraction of
numpy's per-call cost; a later call with other variables moves the buffers into arrays
and goes on there.

Bad input is a clear error, never a silently skipped update: an item that is not a pair,
a second item that is not a gc.Variable (a pair written the wrong way round says so),
a gradient whose shape is not its variable's, a variable named twice. A None gradient
is skipped with a warning naming the variable (as Keras warns); all None is an error.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..tensor import STATE, Tensor, TracingError, Variable
from .keras import clip_each

FLOAT_COORDINATES = 8  # the float step's limit (float_step.py)


def checked_pairs(grads_and_vars) -> list[tuple]:
    """[(gradient array, variable)] of the pairs with a gradient; errors as the module says."""
    pairs, missing, seen = [], [], set()
    try:
        items = list(grads_and_vars)
    except TypeError:
        raise TypeError(f"apply_gradients takes (gradient, variable) pairs, as "
                        f"zip(grads, variables); got {type(grads_and_vars).__name__}") from None
    for item in items:
        try:
            g, v = item
        except (TypeError, ValueError):
            raise TypeError(f"apply_gradients takes (gradient, variable) pairs, as "
                            f"zip(grads, variables); got an item {_kind(item)}") from None
        if not isinstance(v, Variable):
            hint = (" (the pair is (variable, gradient): write zip(grads, variables))"
                    if isinstance(g, Variable) else "")
            raise TypeError(f"apply_gradients: the second item of each pair must be a "
                            f"gc.Variable, got {_kind(v)}{hint}")
        if id(v) in seen:
            raise ValueError(f"apply_gradients: {_label(v)} appears twice")
        seen.add(id(v))
        if g is None:
            missing.append(v)
            continue
        value = g.value if isinstance(g, Tensor) else np.asarray(g)
        if value.dtype.kind not in "fiu":
            raise TypeError(f"apply_gradients: the gradient of {_label(v)} is not numbers "
                            f"({_kind(g)})")
        if value.shape != v.value.shape:
            raise ValueError(f"apply_gradients: gradient shape {value.shape} differs from its "
                             f"variable's shape {v.value.shape} ({_label(v)})")
        pairs.append((value, v))
    if not pairs:
        raise ValueError("apply_gradients: no gradient to apply (every gradient is None)")
    if missing:
        warnings.warn(f"apply_gradients: no gradient for {', '.join(map(_label, missing))}: "
                      f"not updated (the loss does not depend on it)", stacklevel=4)
    return pairs


def apply_gradients(opt, grads_and_vars) -> int:
    """One update of the variables along their gradients; the number of updates done."""
    if STATE.trace is not None:
        raise TracingError("apply_gradients inside gc.function: the optimizer's update is numpy "
                           "arithmetic, which a trace cannot record; call it outside the "
                           "function (compute the gradients inside)")
    pairs = checked_pairs(grads_and_vars)
    if opt.clip_each is not None:  # Keras's clipnorm: each gradient alone, before all else
        clipped = clip_each([g for g, _ in pairs], opt.clip_each)
        pairs = [(g, v) for g, (_, v) in zip(clipped, pairs)]
    variables = [v for _, v in pairs]
    floats = opt.__dict__.get("_floats")
    if isinstance(floats, FloatPath):
        if len(variables) == len(floats.variables) and all(
                a is b for a, b in zip(variables, floats.variables)):
            return floats.step(opt, pairs)
        floats.into_arrays(opt)
    elif floats is None:
        opt._floats = False
        floats = FloatPath.start(opt, variables)
        if floats is not None:
            opt._floats = floats
            return floats.step(opt, pairs)
    return _on_arrays(opt, pairs)


class FloatPath:
    """The update of a few float64 coordinates on Python floats (the generated float step)."""

    def __init__(self, variables, step, sizes):
        self.variables, self.step_fn, self.sizes = variables, step, sizes

    @classmethod
    def start(cls, opt, variables):
        sizes = [v.value.size for v in variables]
        if (sum(sizes) >= FLOAT_COORDINATES or opt.iterations or opt._state is not None
                or opt._shape is not None or opt._variables
                or any(v.value.dtype != np.float64 for v in variables)
                or opt.dtype not in (None, np.float64)):
            return None
        step = opt.float_stepper(sum(sizes))
        if step is None:
            return None
        opt._shape = None  # float_stepper's mark: apply_gradients's own is _variables
        if not hasattr(step, "source"):  # the per-coordinate step: its buffers are not ours
            return None
        opt._variables = list(variables)  # update() now refuses; keeps the ids taken
        return cls(list(variables), step, sizes)

    def step(self, opt, pairs) -> int:
        if all(n == 1 for n in self.sizes):
            p = [float(v.value) for v in self.variables]
            g = [float(gv) for gv, _ in pairs]
            new = self.step_fn(p, g)
            for v, x in zip(self.variables, new):
                v.assign(x)
            return opt.iterations
        p = [x for v in self.variables for x in v.value.ravel().tolist()]
        g = [x for gv, _ in pairs for x in np.asarray(gv, dtype=np.float64).ravel().tolist()]
        new = self.step_fn(p, g)
        start = 0
        for v, n in zip(self.variables, self.sizes):
            v.assign(np.array(new[start:start + n]).reshape(v.value.shape))
            start += n
        return opt.iterations

    def into_arrays(self, opt) -> None:
        """Move the buffers into the flat arrays of the general path."""
        names = list(opt._new_state(()))
        flat = self.step_fn.__globals__["S"]
        n, k = sum(self.sizes), len(names)
        opt._state = {name: np.array([flat[i * k + j] for i in range(n)], dtype=np.float64)
                      for j, name in enumerate(names)}
        opt._variables = []
        start = 0
        for v, size in zip(self.variables, self.sizes):
            opt._offsets[id(v)] = (start, size)
            opt._variables.append(v)  # keeps the id taken
            start += size
        opt._floats = False


def _on_arrays(opt, pairs) -> int:
    values = [v.value for _, v in pairs]
    if opt.dtype is None:
        opt.dtype = _float_dtype(np.result_type(*values))
    index = _index(opt, [v for _, v in pairs], values)
    state = {name: a[index] for name, a in opt._state.items()}
    p = np.concatenate([x.ravel() for x in values]).astype(opt.dtype)
    g = np.concatenate([np.ravel(gv) for gv, _ in pairs]).astype(opt.dtype)
    new = opt._apply(p, g, state, None)
    for name, a in state.items():
        opt._state[name][index] = a
    start = 0
    for (_, v), x in zip(pairs, values):
        v.assign(new[start:start + x.size].reshape(x.shape))
        start += x.size
    return opt.iterations


def _index(opt, variables, values) -> np.ndarray:
    """Positions of these variables in the flat state; new variables get fresh buffers."""
    if opt._shape is not None:
        raise ValueError("this optimizer is in use by update(); make another one")
    if opt._state is None:
        opt._state = opt._new_state((0,))
    for v, x in zip(variables, values):
        if id(v) not in opt._offsets:
            opt._offsets[id(v)] = (sum(n for _, n in opt._offsets.values()), x.size)
            opt._variables.append(v)  # keeps the id taken
            fresh = opt._new_state((x.size,))
            for name in opt._state:
                opt._state[name] = np.concatenate([opt._state[name], fresh[name]])
    return np.concatenate([np.arange(o, o + n) for o, n in
                           (opt._offsets[id(v)] for v in variables)])


def _float_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def _kind(x) -> str:
    return type(x).__name__


def _label(v) -> str:
    name = getattr(v, "name", None)
    return f"variable {name!r}" if name else f"a variable of shape {v.value.shape}"


