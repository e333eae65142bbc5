"""numpy indices (ints, slices, None, Ellipsis, integer and boolean arrays) as hashable op
attributes: the ``key`` of the getitem and scatter ops, and back."""
from __future__ import annotations

import numbers

import numpy as np


def index_key(key) -> tuple:
    """A hashable form of a numpy index (ints, slices, None, Ellipsis, integer or boolean
    arrays): the ``key`` attribute of the getitem op."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if isinstance(k, slice):
            out.append(("slice", k.start, k.stop, k.step))
        elif k is None or k is Ellipsis or isinstance(k, numbers.Integral) and not isinstance(k, bool):
            out.append(k if k is None or k is Ellipsis else int(k))
        elif hasattr(k, "numpy") and hasattr(k, "value"):  # a gradcli tensor
            raise TypeError("indexing with a tensor: use a Python int, slice or numpy array")
        else:
            a = np.asarray(k)
            if a.dtype == bool:
                out.append(("bool", a.shape, tuple(a.ravel().tolist())))
            elif a.dtype.kind in "iu":
                out.append(("array", a.shape, tuple(a.ravel().tolist())))
            else:
                raise TypeError(f"index {k!r}: use ints, slices, None, ... or int/bool arrays")
    return tuple(out)


def numpy_index(key: tuple):
    """The numpy index of an ``index_key``."""
    out = []
    for k in key:
        if isinstance(k, tuple):
            if k[0] == "slice":
                out.append(slice(*k[1:]))
            else:
                out.append(np.array(k[2], dtype=bool if k[0] == "bool" else np.intp).reshape(k[1]))
        else:
            out.append(k)
    return tuple(out)
