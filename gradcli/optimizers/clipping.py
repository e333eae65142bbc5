"""Gradient clipping, as TensorFlow does it, on numpy arrays or gradcli tensors.

    clip_by_global_norm(t_list, C):  t * C / max(global_norm, C)  for every t
    clip_by_value(t, lo, hi):        min(max(t, lo), hi)  element-wise

The arithmetic is tf.clip_by_global_norm's: ``scale = C * min(1/norm, 1/C)``
(so a list already within the norm is multiplied by ``C * (1/C)``, which is 1 up
to one rounding), no epsilon, None entries kept None, and a non-finite global
norm makes every entry NaN. Everything is computed in the entries' dtype. A C so small
that 1/C overflows (a subnormal float64, or one that is 0 in float32) takes the formula
itself, C / max(norm, C), where TensorFlow's arithmetic would give inf or NaN.

On gradcli tensors while a tape records (or inside a gc.function trace) both are computed
with recorded ops, so that gradients flow through them as through TensorFlow's: the same
values, and clip_by_value's gradient 1 inside, 0 outside (1/2 at an exact edge, where
TensorFlow gives 1: the clip op's rule, docs/semantics.md).
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def global_norm(t_list) -> np.floating:
    """sqrt(sum of t**2 over every entry of every t); None entries are skipped."""
    t_list = list(t_list)
    if _recording(t_list):
        return _recorded_norm([t for t in t_list if t is not None])
    arrays = [_array(t) for t in t_list if t is not None]
    if not arrays:
        return np.float64(0.0)
    dtype = np.result_type(*arrays)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.sqrt(sum(np.sum(np.square(a), dtype=dtype) for a in arrays))


def clip_scale(norm, clip_norm) -> np.floating:
    """C * min(1/norm, 1/C), NaN when norm is not finite (tf.clip_by_global_norm's scale)."""
    norm = norm if isinstance(norm, np.floating) else np.float64(norm)
    c = norm.dtype.type(clip_norm)
    one = norm.dtype.type(1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inverse_c = one / c
        if not np.isfinite(inverse_c):
            return subnormal_clip_scale(norm, c)
        return c * np.minimum(one / norm, inverse_c) + (norm - norm)


def subnormal_clip_scale(norm: np.floating, c: np.floating) -> np.floating:
    """C / max(norm, C) (1 when norm <= C), NaN when norm is not finite: the scale for a C
    so small that 1/C overflows (tf's C * min(1/norm, 1/C) would be C * inf = inf at norm 0,
    and 0 * inf = NaN), or that is 0 in the entries' dtype."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        scale = c / norm if norm > c else norm.dtype.type(1.0)
        return scale + (norm - norm)


def clip_by_global_norm(t_list, clip_norm, use_norm=None):
    """(each t * C / max(global_norm, C), global_norm); the global norm is taken before clipping."""
    _check_clip_norm(clip_norm)
    t_list = list(t_list)
    if _recording(t_list):
        return _recorded_clip_by_global_norm(t_list, clip_norm, use_norm)
    norm = global_norm(t_list) if use_norm is None else _array(use_norm)[()]
    scale = clip_scale(norm, clip_norm)
    clipped = [None if t is None else _like(t, _array(t) * scale.astype(_array(t).dtype))
               for t in t_list]
    wants_tensor = any(isinstance(t, Tensor) for t in t_list)
    return clipped, (Tensor(norm) if wants_tensor else norm)


def clip_by_value(t, clip_value_min, clip_value_max):
    """min(max(t, clip_value_min), clip_value_max) element-wise; NaN stays NaN."""
    if not clip_value_min <= clip_value_max:
        raise ValueError(f"clip_by_value: clip_value_min {clip_value_min!r} is above "
                         f"clip_value_max {clip_value_max!r}")
    if _recording([t]):
        from ..functions import clip

        return clip(t, clip_value_min, clip_value_max)
    return _like(t, np.clip(_array(t), clip_value_min, clip_value_max))


def _recording(t_list) -> bool:
    """A tensor among the entries, and a tape recording or a gc.function tracing here."""
    from ..tensor import STATE

    return (bool(STATE.tapes) or STATE.trace is not None) and any(
        isinstance(t, Tensor) for t in t_list)


def _recorded_norm(entries):
    """global_norm with recorded ops: sqrt of the sum, entry by entry, of reduce_sum(t*t)."""
    from ..functions import reduce_sum, sqrt
    from ..tensor import convert

    total = None
    for t in entries:
        t = convert(t)
        s = reduce_sum(t * t)
        total = s if total is None else total + s
    return sqrt(total)


def _recorded_clip_by_global_norm(t_list, clip_norm, use_norm):
    """clip_by_global_norm with recorded ops (TensorFlow's formula, differentiable in every
    entry and through the norm, as tf.clip_by_global_norm is)."""
    from ..functions import maximum, minimum
    from ..tensor import convert

    entries = [convert(t) for t in t_list if t is not None]
    norm = _recorded_norm(entries) if use_norm is None else convert(use_norm, entries[0])
    c = norm.dtype.type(clip_norm)
    with np.errstate(divide="ignore", over="ignore"):
        tiny = not np.isfinite(norm.dtype.type(1.0) / c)
    if tiny:  # 1/C overflows: C / max(norm, C), as subnormal_clip_scale
        scale = float(c) / maximum(norm, float(c)) + (norm - norm)
    else:
        scale = float(c) * minimum(1.0 / norm, float(norm.dtype.type(1.0) / c)) + (norm - norm)
    return [None if t is None else convert(t) * scale for t in t_list], norm


def _check_clip_norm(clip_norm) -> None:
    if not (isinstance(clip_norm, (int, float, np.number)) and 0 < clip_norm < np.inf):
        raise ValueError(f"clip_norm must be a finite number > 0, got {clip_norm!r}")


def _array(t) -> np.ndarray:
    value = t.value if isinstance(t, Tensor) else np.asarray(t)
    return value if value.dtype.kind == "f" else value.astype(np.float64)


def _like(original, value: np.ndarray):
    return Tensor(value) if isinstance(original, Tensor) else value
