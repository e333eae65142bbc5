"""Tensors, Variables, ``apply`` (running one op) and the tapes recording in this thread.

``apply`` computes an op's forward rule and records it on every tape of this
thread that watches one of its inputs (``record``). Each thread has its own list
of recording tapes (``STATE.tapes``, a ``threading.local``), so tapes in
different threads never see each other's ops. An op that reads a Variable
records what it read: a ``Read`` of the value at that moment, whose gradient
goes to the Variable (an ``assign`` later changes neither the recorded value nor
the gradient, as in TensorFlow). float64 unless asked otherwise; float32 and
float64 tensors never mix silently. This module never imports the tape module:
tapes are duck-typed here (``_watched``, ``_watch_accessed``, ``_watch_all``,
``_entries``).
"""
from __future__ import annotations

import math
import numbers
import threading
import weakref

import numpy as np

from .indices import index_key
from .registry import OPS

DEFAULT_DTYPE = np.float64
_FLOAT_DTYPES = {"float64": np.float64, "float32": np.float32, "float16": np.float16}


class _ThreadState(threading.local):
    """Per thread: the tapes recording (outermost first) and the gc.function trace, if any."""

    def __init__(self):
        self.tapes: list = []
        self.trace = None


STATE = _ThreadState()
VARIABLES = weakref.WeakSet()  # every live Variable (a trace checks raw arrays against them)


class TracingError(TypeError):
    """A traced function asked for a tensor's value, which only a call can know."""


def as_dtype(dtype) -> np.dtype:
    """Normalize 'float32', np.float32, ... to a numpy float dtype."""
    if dtype is None:
        return np.dtype(DEFAULT_DTYPE)
    if isinstance(dtype, str):
        if dtype not in _FLOAT_DTYPES:
            raise ValueError(f"unsupported dtype {dtype!r}: use float64 or float32 (gradcli has "
                             f"no integer tensors: integers become float64)")
        return np.dtype(_FLOAT_DTYPES[dtype])
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"unsupported dtype {dt}: tensors hold floating-point values (gradcli "
                         f"has no integer tensors: integers become float64)")
    return dt


class Tensor:
    """An immutable value (a numpy array, possibly 0-d) that ops can record."""

    __slots__ = ("__weakref__", "value")
    __array_priority__ = 100

    def __init__(self, value, dtype=None):
        self.value = _to_array(value, dtype)

    # -- inspection --------------------------------------------------------
    def numpy(self):
        """The value as a numpy array (a copy for arrays, a numpy scalar for 0-d)."""
        if STATE.trace is not None:
            STATE.trace.value_read(self, ".numpy()")
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
        if STATE.trace is not None:
            STATE.trace.value_read(self, "float()")
        return float(self.value)

    def __int__(self) -> int:
        if STATE.trace is not None:
            STATE.trace.value_read(self, "int()")
        return int(self.value)

    def __array__(self, dtype=None, copy=None):
        if STATE.trace is not None:
            STATE.trace.value_read(self, "a numpy conversion")
        return np.array(self.value, dtype=dtype)

    def __len__(self) -> int:
        return len(self.value)

    def __iter__(self):
        if self.value.ndim == 0:
            raise TypeError("iterating over a 0-d tensor")
        return (self[i] for i in range(len(self.value)))

    def __repr__(self) -> str:
        return f"<gradcli.Tensor {np.array2string(self.value, precision=17)} dtype={self.dtype}>"

    def __bool__(self):
        if STATE.trace is not None:
            return STATE.trace.condition(self)
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

    def __matmul__(self, other):
        return apply("matmul", self, other)

    def __rmatmul__(self, other):
        return apply("matmul", other, self)

    def __neg__(self):
        return apply("neg", self)

    def __pos__(self):
        return self

    def __abs__(self):
        return apply("abs", self)

    def __getitem__(self, key):
        return apply("getitem", self, key=index_key(key))

    # comparisons give plain boolean arrays: they are not differentiable (inside a
    # gc.function trace, a 0/1 tensor whose truth value the trace guards)
    def __lt__(self, other):
        return _compare("less", self, other)

    def __le__(self, other):
        return _compare("less_equal", self, other)

    def __gt__(self, other):
        return _compare("greater", self, other)

    def __ge__(self, other):
        return _compare("greater_equal", self, other)

    # == and != compare values elementwise, as TensorFlow 2's tensors do (identity would make
    # `if x == 0:` silently False); tensors stay hashable by identity
    def __eq__(self, other):
        return _compare("equal", self, other)

    def __ne__(self, other):
        return _compare("not_equal", self, other)

    __hash__ = object.__hash__

    # numpy interop: np.sin(t), array + t, ... run gradcli's op (differentiable)
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from .interop import array_ufunc

        return array_ufunc(ufunc, method, *inputs, **kwargs)


_COMPARISONS = {"less": np.less, "less_equal": np.less_equal, "greater": np.greater,
                "greater_equal": np.greater_equal, "equal": np.equal, "not_equal": np.not_equal}
def _compare(name, x, y):
    if not isinstance(x, Tensor | numbers.Number | np.ndarray | np.generic | list | tuple) or \
            not isinstance(y, Tensor | numbers.Number | np.ndarray | np.generic | list | tuple):
        if name == "equal":
            return False  # a tensor never equals a non-number (None, a string, ...)
        if name == "not_equal":
            return True
        return NotImplemented
    trace = STATE.trace
    if trace is not None and (trace.is_traced(x) or trace.is_traced(y)):
        return apply(name, x, y)
    return _COMPARISONS[name](_raw(x), _raw(y))


class Variable(Tensor):
    """A mutable tensor; tapes watch trainable variables automatically when read."""

    __slots__ = ("_read", "name", "trainable")

    def __init__(self, initial_value, dtype=None, trainable: bool = True, name: str | None = None):
        if callable(initial_value) and not isinstance(initial_value, Tensor):
            initial_value = initial_value()  # as tf.Variable: a function giving the value
        if isinstance(initial_value, Tensor) and dtype is None:
            dtype = initial_value.dtype
        super().__init__(_raw(_no_tensors_inside(initial_value, "gc.Variable")), dtype)
        self.trainable = trainable
        self.name = name
        self._read = None
        VARIABLES.add(self)

    def read(self) -> Read:
        """The value as of now, as ops record it (one Read per value)."""
        r = self._read
        if r is None:
            r = self._read = Read(self)
        return r

    def read_value(self) -> Read:
        """The value as of now, as a tensor whose gradient is this Variable's (tf's read_value)."""
        return self.read()

    def assign(self, value):
        """Replace the value (same shape and dtype, as tf.Variable.assign); returns the variable."""
        if isinstance(value, Tensor) and value.value.dtype != self.value.dtype:
            raise TypeError(f"assign: a {value.dtype} tensor to a {self.dtype} variable "
                            f"(cast it first with gc.cast)")
        new = np.array(_raw(value), dtype=self.value.dtype)
        if new.shape != self.value.shape:
            raise ValueError(f"assign: shape {new.shape} to a variable of shape "
                             f"{self.value.shape} (shapes must be equal, as in tf.Variable)")
        trace = STATE.trace
        if trace is not None:
            trace.assigning(self)
        self.value = new
        self._read = None
        if trace is not None:
            trace.assigned(self, value)
        return self

    def assign_add(self, delta):
        if STATE.trace is not None:  # recorded, so that a replay adds too
            return self.assign(apply("add", self, delta))
        return self.assign(self.value + np.asarray(_raw(delta), dtype=self.dtype))

    def assign_sub(self, delta):
        if STATE.trace is not None:
            return self.assign(apply("sub", self, delta))
        return self.assign(self.value - np.asarray(_raw(delta), dtype=self.dtype))

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return (f"<gradcli.Variable{label} {np.array2string(self.value, precision=17)} "
                f"dtype={self.dtype}>")


class Read(Tensor):
    """The value an op read from a Variable; its gradient is the Variable's."""

    __slots__ = ("source",)

    def __init__(self, variable: Variable):
        self.value = variable.value
        self.source = variable


def _no_tensors_inside(value, who: str):
    if isinstance(value, list | tuple) and any(isinstance(t, Tensor) for t in _leaves(value)):
        raise TypeError(f"{who} of a list holding tensors would lose their gradients "
                        f"(tf.constant raises too): use gc.stack")
    return value


def _leaves(x):
    stack = [x]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(item)
        else:
            yield item


def _to_array(value, dtype=None) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.value
    elif type(value) is np.ndarray and STATE.trace is not None:
        STATE.trace.raw_array(value)  # a traced tensor's .value would freeze into the program
    if dtype is None:
        arr = np.asarray(value)
        dt = arr.dtype if arr.dtype.kind == "f" else np.dtype(DEFAULT_DTYPE)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"a tensor holds numbers, not {arr.dtype} ({type(value).__name__})")
    else:
        dt = as_dtype(dtype)
    return np.array(value, dtype=dt)


def _raw(x):
    return x.value if isinstance(x, Tensor) else x


def constant(value, dtype=None, shape=None, name=None) -> Tensor:
    """A tensor that no tape watches unless asked to (as tf.constant; ``name`` is accepted
    and not kept; ``shape`` reshapes or broadcasts a scalar). A tensor (not a Variable)
    of the asked dtype comes back as it is, as tf.constant returns an eager tensor."""
    if type(value) is Tensor and shape is None and (dtype is None or
                                                    as_dtype(dtype) == value.value.dtype):
        return value
    t = Tensor(_no_tensors_inside(value, "gc.constant"), dtype)
    if shape is not None:
        shape = tuple(shape)
        v = t.value
        t.value = (np.broadcast_to(v, shape).copy() if v.size == 1 else v.reshape(shape))
    return t


def convert(x, like: Tensor | None = None) -> Tensor:
    """A Tensor for x; plain numbers take the dtype of ``like``; a (nested) list holding
    tensors is stacked with a recorded op, so that their gradients flow."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, list | tuple) and any(isinstance(t, Tensor) for t in _leaves(x)):
        return stack_nested(x)
    if like is not None:
        if (type(x) is float or type(x) is int) and x:  # the constants of formulas: made once
            key = (x, like.value.dtype)  # (2 and 2.0 are the same tensor; 0 and -0.0 are not kept)
            t = _NUMBERS.get(key)
            if t is None:
                t = Tensor(x, key[1])
                if len(_NUMBERS) < 4096 and not math.isnan(x):  # nan is never kept
                    _NUMBERS[key] = t
            return t
        if isinstance(x, numbers.Number | np.ndarray | list | tuple):  # as tf: x32 * [1., 2.]
            return Tensor(x, like.dtype)
    return Tensor(x)


_NUMBERS: dict[tuple, Tensor] = {}  # immutable constant tensors of Python numbers


def stack_nested(items) -> Tensor:
    """A (nested) list of tensors and numbers as one tensor, differentiably."""
    if not isinstance(items, list | tuple):
        return items if isinstance(items, Tensor) else None
    parts = [stack_nested(i) if isinstance(i, list | tuple) else i for i in items]
    like = next((p for p in parts if isinstance(p, Tensor)), None)
    return apply("stack", *[convert(p, like) for p in parts], axis=0)


def apply(name: str, *inputs, **attrs) -> Tensor:
    """Run op ``name`` forward on ``inputs`` and record it on this thread's active tapes."""
    spec = OPS[name]
    n = len(inputs)
    if n == 2:  # the common cases first, written out: this is the tape's hot path
        a, b = inputs
        if not isinstance(b, Tensor):
            b = convert(b, a if isinstance(a, Tensor) else None)
            inputs = (a, b)
        if not isinstance(a, Tensor):
            a = convert(a, b)
            inputs = (a, b)
        values = (a.value, b.value)
        dtype = values[0].dtype
        if values[1].dtype is not dtype and values[1].dtype != dtype:
            _mixed(name, dtype, values[1].dtype)
    elif n == 1:
        a = inputs[0]
        if not isinstance(a, Tensor):
            inputs = _converted(inputs)
            a = inputs[0]
        values = (a.value,)
        dtype = values[0].dtype
    elif n:
        for t in inputs:
            if not isinstance(t, Tensor):
                inputs = _converted(inputs)
                break
        values = [t.value for t in inputs]
        dtype = values[0].dtype
        for v in values:
            if v.dtype is not dtype and v.dtype != dtype:
                _mixed(name, dtype, v.dtype)
    else:
        values, dtype = (), np.dtype(DEFAULT_DTYPE)
    if _ERRORS is None:
        with np.errstate(all="ignore"):
            value = spec.forward(*values, **attrs)
    elif _ERRORS.get() is _QUIET:  # inside quiet() already (a tape's playback)
        value = spec.forward(*values, **attrs)
    else:  # np.errstate(all="ignore") without its Python overhead (a third of a small op)
        token = _ERRORS.set(_QUIET)
        try:
            value = spec.forward(*values, **attrs)
        finally:
            _ERRORS.reset(token)
    out = _new_tensor(Tensor)
    if type(value) is np.ndarray and value.dtype is dtype:
        out.value = value
    elif name == "cast":
        out.value = np.asarray(value)
    else:
        out.value = np.asarray(value, dtype)
    tapes = STATE.tapes
    if tapes:
        record(spec, inputs, out, attrs, tapes)
    return out


_new_tensor = Tensor.__new__


def _mixed(name, dtype, other):
    raise TypeError(f"{name}: cannot mix {dtype} and {other} tensors (as TensorFlow); cast "
                    f"one with gc.cast(x, '{dtype}')")


def _converted(inputs) -> list:
    like = None
    for t in inputs:
        if isinstance(t, Tensor):
            like = t
            break
    return [t if isinstance(t, Tensor) else convert(t, like) for t in inputs]


def quiet():
    """A context in which numpy warns of nothing (apply's forward rules run in one)."""
    if _ERRORS is None:
        return np.errstate(all="ignore")
    return _Quiet()


class _Quiet:
    __slots__ = ("token",)

    def __enter__(self):
        self.token = _ERRORS.set(_QUIET)

    def __exit__(self, *exc):
        _ERRORS.reset(self.token)
        return False


try:  # numpy >= 2: errstate is a context variable holding an "extobj"
    from numpy._core._ufunc_config import _extobj_contextvar as _ERRORS
    from numpy._core._ufunc_config import _make_extobj

    with np.errstate(all="ignore"):
        _QUIET = _make_extobj(all="ignore")
except (ImportError, AttributeError, TypeError):  # pragma: no cover (older numpy)
    _ERRORS, _QUIET = None, None


class Entry:
    """One recorded op: inputs as read (Variables as their Reads), and for each input the
    tape watches, (its position, the key its gradient goes to: a Read's is its Variable's)."""

    __slots__ = ("attrs", "inputs", "op", "out", "watched")

    def __init__(self, op, inputs, watched, out, attrs):
        self.op, self.inputs, self.watched, self.out, self.attrs = op, inputs, watched, out, attrs


def key_of(t) -> int:
    """Where a tensor's gradient accumulates: its own id, or its Variable's for a Read."""
    return id(t.source) if type(t) is Read else id(t)


def record(spec, tensors, out, attrs, tapes=None) -> None:
    """Record one op on every tape of this thread that watches one of its inputs."""
    reads = False
    for t in tensors:
        if type(t) is not Tensor:
            reads = True
            break
    if not reads:  # plain tensors only: the common case
        inputs = tensors if type(tensors) is tuple else tuple(tensors)
        keys = [id(t) for t in inputs]
    else:
        inputs, keys = [], []
        for t in tensors:
            if isinstance(t, Variable):
                keys.append(id(t))
                r = t._read
                t = t.read() if r is None else r
            elif type(t) is Read:
                keys.append(id(t.source))
            else:
                keys.append(id(t))
            inputs.append(t)
        inputs = tuple(inputs)
    for tape in (STATE.tapes if tapes is None else tapes):
        watched = tape._watched
        if reads and tape._watch_accessed:
            for t in inputs:
                if type(t) is Read:
                    v = t.source
                    if id(v) not in watched and (v.trainable or tape._watch_all):
                        watched[id(v)] = v
        if len(keys) == 2:
            k0, k1 = keys
            pairs = (((0, k0), (1, k1)) if k1 in watched else ((0, k0),)) if k0 in watched else (
                ((1, k1),) if k1 in watched else ())
        else:
            pairs = tuple([(i, k) for i, k in enumerate(keys) if k in watched])
        if pairs:
            watched[id(out)] = out
            tape._entries.append(Entry(spec, inputs, pairs, out, attrs))


def power(x, y) -> Tensor:
    """x ** y, with a constant integer exponent taking the exact ``powi`` op."""
    if type(y) is int or (isinstance(y, numbers.Real) and not isinstance(y, bool)
                          and float(y).is_integer()):
        return apply("powi", x, n=int(y))
    return apply("pow", x, y)
