"""Tensors over numpy arrays, Variables, and ``apply``: running one op.

``apply`` computes an op's forward rule and records it on every active gradient
tape that watches one of its inputs. float64 unless asked otherwise.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import tape as _tape
from .registry import OPS

DEFAULT_DTYPE = np.float64
_FLOAT_DTYPES = {"float64": np.float64, "float32": np.float32, "float16": np.float16}


def as_dtype(dtype) -> np.dtype:
    """Normalize 'float32', np.float32, ... to a numpy float dtype."""
    if dtype is None:
        return np.dtype(DEFAULT_DTYPE)
    if isinstance(dtype, str):
        if dtype not in _FLOAT_DTYPES:
            raise ValueError(f"unsupported dtype {dtype!r}: use float64 or float32")
        return np.dtype(_FLOAT_DTYPES[dtype])
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"unsupported dtype {dt}: tensors hold floating-point values")
    return dt


class Tensor:
    """An immutable value (a numpy array, possibly 0-d) that ops can record."""

    __slots__ = ("value", "__weakref__")
    __array_priority__ = 100

    def __init__(self, value, dtype=None):
        self.value = _to_array(value, dtype)

    # -- inspection --------------------------------------------------------
    def numpy(self):
        """The value as a numpy array (a copy for arrays, a numpy scalar for 0-d)."""
        return self.value[()] if self.value.ndim == 0 else self.value.copy()

    @property
    def shape(self) -> tuple:
        return self.value.shape

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    @property
    def ndim(self) -> int:
        return self.value.ndim

    def __float__(self) -> float:
        return float(self.value)

    def __len__(self) -> int:
        return len(self.value)

    def __repr__(self) -> str:
        return f"<gradcli.Tensor {np.array2string(self.value, precision=17)} dtype={self.dtype}>"

    def __bool__(self):
        return bool(self.value)

    # -- arithmetic ----------------------------------------------------------
    def __add__(self, other):
        return apply("add", self, other)

    def __radd__(self, other):
        return apply("add", other, self)

    def __sub__(self, other):
        return apply("sub", self, other)

    def __rsub__(self, other):
        return apply("sub", other, self)

    def __mul__(self, other):
        return apply("mul", self, other)

    def __rmul__(self, other):
        return apply("mul", other, self)

    def __truediv__(self, other):
        return apply("div", self, other)

    def __rtruediv__(self, other):
        return apply("div", other, self)

    def __pow__(self, other):
        return power(self, other)

    def __rpow__(self, other):
        return power(other, self)

    def __neg__(self):
        return apply("neg", self)

    def __pos__(self):
        return self

    def __abs__(self):
        return apply("abs", self)

    # comparisons give plain boolean arrays: they are not differentiable
    def __lt__(self, other):
        return self.value < _raw(other)

    def __le__(self, other):
        return self.value <= _raw(other)

    def __gt__(self, other):
        return self.value > _raw(other)

    def __ge__(self, other):
        return self.value >= _raw(other)


class Variable(Tensor):
    """A mutable tensor; tapes watch trainable variables automatically when read."""

    __slots__ = ("trainable", "name")

    def __init__(self, initial_value, dtype=None, trainable: bool = True, name: str | None = None):
        super().__init__(_raw(initial_value), dtype)
        self.trainable = trainable
        self.name = name

    def assign(self, value):
        """Replace the value (same shape and dtype); returns the variable."""
        new = np.asarray(_raw(value), dtype=self.dtype)
        if new.shape != self.value.shape:
            new = np.broadcast_to(new, self.value.shape).copy()
        self.value = new
        return self

    def assign_add(self, delta):
        return self.assign(self.value + np.asarray(_raw(delta), dtype=self.dtype))

    def assign_sub(self, delta):
        return self.assign(self.value - np.asarray(_raw(delta), dtype=self.dtype))

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return (f"<gradcli.Variable{label} {np.array2string(self.value, precision=17)} "
                f"dtype={self.dtype}>")


def _to_array(value, dtype=None) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.value
    if dtype is None:
        arr = np.asarray(value)
        dt = arr.dtype if arr.dtype.kind == "f" else np.dtype(DEFAULT_DTYPE)
    else:
        dt = as_dtype(dtype)
    return np.array(value, dtype=dt)


def _raw(x):
    return x.value if isinstance(x, Tensor) else x


def constant(value, dtype=None) -> Tensor:
    """A tensor that no tape watches unless asked to."""
    return Tensor(value, dtype)


def convert(x, like: Tensor | None = None) -> Tensor:
    """A Tensor for x; plain numbers take the dtype of ``like``."""
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, numbers.Number | np.ndarray):
        return Tensor(x, like.dtype)
    return Tensor(x)


def apply(name: str, *inputs, **attrs) -> Tensor:
    """Run op ``name`` forward on ``inputs`` and record it on the active tapes."""
    spec = OPS[name]
    like = next((t for t in inputs if isinstance(t, Tensor)), None)
    tensors = [convert(t, like) for t in inputs]
    with np.errstate(all="ignore"):
        value = spec.forward(*[t.value for t in tensors], **attrs)
    out = Tensor.__new__(Tensor)
    out.value = np.asarray(value, dtype=tensors[0].dtype if tensors else DEFAULT_DTYPE)
    if _tape.RECORDING:
        _tape.record(spec, tensors, out, attrs)
    return out


def power(x, y) -> Tensor:
    """x ** y, with a constant integer exponent taking the exact ``powi`` op."""
    if isinstance(y, numbers.Real) and not isinstance(y, bool) and float(y).is_integer():
        return apply("powi", x, n=int(y))
    return apply("pow", x, y)
