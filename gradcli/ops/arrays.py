"""Array ops of the tensor library: shapes, reductions, indexing, stacking, matmul, casts.

They are not part of the expression language. Each gradient rule is written with
the library's own ops (indexing's gradient is a scatter, a scatter's gradient an
indexing, ...), so that gradients can be differentiated again. Taylor rules are
given where an op is linear in each coefficient (series: axis 0 is the order).
The comparison ops (0/1 weights without a gradient) are what comparisons of
traced tensors become inside a gc.function trace.
"""
from __future__ import annotations

import numpy as np

from .. import functions as F
from ..indices import index_key, numpy_index
from ..registry import op
from ..taylor import series as T


def _sum_to(x, shape):
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1)
    out = np.sum(x, axis=axes, keepdims=True) if axes else x
    return out.reshape(shape)


def _per_coefficient(forward, *series, **attrs) -> np.ndarray:
    """A linear op of several inputs applied to every coefficient."""
    n = T.order(*series)
    series = [T.full(s, n) for s in series]
    return np.stack([np.asarray(forward(*[s[k] for s in series], **attrs), dtype=np.float64)
                     for k in range(n + 1)])


def _constant_series(value, *series):
    return T.piecewise(value, *((np.zeros_like(value), s) for s in series))


def _kept(g, x, axis, keepdims):
    """g with the reduced axes of x kept (as size 1), broadcast back to x's shape."""
    if not keepdims:
        axes = range(x.ndim) if axis is None else [a % x.ndim for a in axis]
        kept = list(x.shape)
        for a in axes:
            kept[a] = 1
        g = F.reshape(g, kept)
    return F.broadcast_to(g, x.shape)


@op("sum_to", 1, attrs=("shape",))
class SumTo:
    """sum a broadcast array back down to ``shape``"""

    def forward(x, shape):
        return _sum_to(x, shape)

    def grad(g, ans, x, shape):
        """broadcast_to(g, x.shape)"""
        return (F.broadcast_to(g, x.shape),)

    def taylor(x, shape):
        """linear: _sum_to(x_k, shape) for every coefficient k"""
        return T.linear(SumTo.forward, x, shape=shape)


@op("broadcast_to", 1, attrs=("shape",))
class BroadcastTo:
    """broadcast x to ``shape``"""

    def forward(x, shape):
        return np.broadcast_to(x, shape).copy()

    def grad(g, ans, x, shape):
        """sum_to(g, x.shape)"""
        return (F.apply("sum_to", g, shape=x.shape),)

    def taylor(x, shape):
        """linear: broadcast_to(x_k, shape) for every coefficient k"""
        return T.linear(BroadcastTo.forward, x, shape=shape)


@op("reshape", 1, attrs=("shape",))
class Reshape:
    """x with a new shape"""

    def forward(x, shape):
        return np.reshape(x, shape)

    def grad(g, ans, x, shape):
        """reshape(g, x.shape)"""
        return (F.reshape(g, x.shape),)

    def taylor(x, shape):
        """linear: reshape(x_k, shape) for every coefficient k"""
        return T.linear(Reshape.forward, x, shape=shape)


@op("reduce_sum", 1, attrs=("axis", "keepdims"))
class ReduceSum:
    """sum over axes"""

    def forward(x, axis, keepdims):
        return np.sum(x, axis=axis, keepdims=keepdims)

    def grad(g, ans, x, axis, keepdims):
        """broadcast_to(g with the summed axes kept, x.shape)"""
        return (_kept(g, x, axis, keepdims),)

    def taylor(x, axis, keepdims):
        """linear: sum of x_k over axes for every coefficient k"""
        return T.linear(ReduceSum.forward, x, axis=axis, keepdims=keepdims)


def _extreme_weight(x, axis, pick):
    """1/count where x equals the max (min) over axis, else 0: ties share, as TensorFlow."""
    hit = (x == pick(x, axis=axis, keepdims=True)).astype(x.dtype)
    return hit / np.sum(hit, axis=axis, keepdims=True)


@op("reduce_max", 1, attrs=("axis", "keepdims"))
class ReduceMax:
    """max over axes"""

    def forward(x, axis, keepdims):
        return np.max(x, axis=axis, keepdims=keepdims)

    def grad(g, ans, x, axis, keepdims):
        """g * (x == max) / (number of ties), as tf.reduce_max"""
        return (_kept(g, x, axis, keepdims) * F.apply("max_weight", x, axis=axis),)

    def taylor(x, axis, keepdims):
        """max(x_0); sum of weight * x_k above (the weight of the gradient rule)"""
        return _extreme_series(x, axis, keepdims, np.max)


@op("reduce_min", 1, attrs=("axis", "keepdims"))
class ReduceMin:
    """min over axes"""

    def forward(x, axis, keepdims):
        return np.min(x, axis=axis, keepdims=keepdims)

    def grad(g, ans, x, axis, keepdims):
        """g * (x == min) / (number of ties), as tf.reduce_min"""
        return (_kept(g, x, axis, keepdims) * F.apply("min_weight", x, axis=axis),)

    def taylor(x, axis, keepdims):
        """min(x_0); sum of weight * x_k above (the weight of the gradient rule)"""
        return _extreme_series(x, axis, keepdims, np.min)


@op("max_weight", 1, attrs=("axis",))
class MaxWeight:
    """1/count where x is the max over axis, else 0 (a weight without a gradient)"""

    def forward(x, axis):
        return _extreme_weight(x, axis, np.max)

    def grad(g, ans, x, axis):
        """None (a weight is constant)"""
        return (None,)

    def taylor(x, axis):
        """the weight of x_0; 0 above"""
        return _constant_series(_extreme_weight(x[0], axis, np.max), x)


@op("min_weight", 1, attrs=("axis",))
class MinWeight:
    """1/count where x is the min over axis, else 0 (a weight without a gradient)"""

    def forward(x, axis):
        return _extreme_weight(x, axis, np.min)

    def grad(g, ans, x, axis):
        """None (a weight is constant)"""
        return (None,)

    def taylor(x, axis):
        """the weight of x_0; 0 above"""
        return _constant_series(_extreme_weight(x[0], axis, np.min), x)


def _reduced_first(x, axis):
    """x with the reduced axes moved to the front and flattened: (r, rest), and the undo."""
    axes = list(range(x.ndim)) if axis is None else sorted(a % x.ndim for a in axis)
    rest = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, axes + rest)
    flat = moved.reshape(int(np.prod([x.shape[a] for a in axes], dtype=int)), -1)

    def undo(y):
        return np.transpose(y.reshape(moved.shape), np.argsort(axes + rest))

    return flat, undo


def _prod_others(x, axis):
    """prod over axis of every element but this one (no division: zeros are exact)"""
    flat, undo = _reduced_first(x, axis)
    left = np.ones_like(flat)
    right = np.ones_like(flat)
    if flat.shape[0] > 1:
        left[1:] = np.cumprod(flat[:-1], axis=0)
        right[:-1] = np.cumprod(flat[:0:-1], axis=0)[::-1]
    return undo(left * right)


def _series_layout(x, axis):
    """A series (axis 0 the order) with the reduced value axes flattened: (K+1, r, rest),
    and the undo for a result of that layout."""
    ndim = x.ndim - 1
    axes = list(range(ndim)) if axis is None else sorted(a % ndim for a in axis)
    rest = [a for a in range(ndim) if a not in axes]
    order = [0] + [a + 1 for a in axes] + [a + 1 for a in rest]
    moved = np.transpose(x, order)
    r = int(np.prod([x.shape[a + 1] for a in axes], dtype=int))
    flat = moved.reshape(x.shape[0], r, -1)

    def undo(y):
        return np.transpose(y.reshape(moved.shape), np.argsort(order))

    return flat, undo


def _series_products(flat, skip=None):
    """prod over axis 1 of a (K+1, r, rest) series, leaving out position ``skip``."""
    out = None
    for i in range(flat.shape[1]):
        if i != skip:
            out = flat[:, i] if out is None else T.mul(out, flat[:, i])
    return _one_series(flat[:, 0]) if out is None else out


def _one_series(like):
    """The series of the constant 1, shaped like ``like`` (1, then zeros)."""
    one = np.zeros_like(like)
    one[0] = 1.0
    return one


def _series_prod_others(flat):
    """(K+1, r, rest): at each i, the product series of every other position."""
    return np.stack([_series_products(flat, skip=i) for i in range(flat.shape[1])], axis=1)


def _extreme_series(x, axis, keepdims, pick):
    """max/min's series: the value, then the weighted coefficients (ties share, as the
    gradient rule): d/dt max is the average of the tied derivatives"""
    w = _extreme_weight(x[0], axis, pick)
    out = np.stack([np.sum(w * x[k], axis=axis, keepdims=keepdims) for k in range(x.shape[0])])
    out[0] = pick(x[0], axis=axis, keepdims=keepdims)
    return out


@op("reduce_prod", 1, attrs=("axis", "keepdims"))
class ReduceProd:
    """product over axes"""

    def forward(x, axis, keepdims):
        return np.prod(x, axis=axis, keepdims=keepdims)

    def grad(g, ans, x, axis, keepdims):
        """g * (product of the other elements), without dividing by x (as tf.reduce_prod)"""
        return (_kept(g, x, axis, keepdims) * F.apply("prod_others", x, axis=axis),)

    def taylor(x, axis, keepdims):
        """the Cauchy product of the series over the axes"""
        flat, _ = _series_layout(x, axis)
        shape = np.prod(x[0], axis=axis, keepdims=keepdims).shape
        return _series_products(flat).reshape((x.shape[0], *shape))


@op("prod_others", 1, attrs=("axis",))
class ProdOthers:
    """prod_{k != i} x_k over axis, at every i"""

    def forward(x, axis):
        return _prod_others(x, axis)

    def grad(g, ans, x, axis):
        """sum_{i != j} g_i prod_{k != i, j} x_k: row i of prod_others over rows X_i (x with
        x_i set to 1), so that every order is this rule again (memory: the derivative's size)"""
        axes = list(range(x.ndim)) if axis is None else sorted(a % x.ndim for a in axis)
        perm = tuple(axes + [a for a in range(x.ndim) if a not in axes])
        r = int(np.prod([x.shape[a] for a in axes], dtype=int))
        moved = [x.shape[a] for a in perm]
        xf = F.reshape(F.transpose(x, perm), (1, r, -1))
        gf = F.reshape(F.transpose(g, perm), (r, 1, -1))
        eye = np.eye(r, dtype=x.dtype)[:, :, None]
        rows = xf * F.constant(1.0 - eye) + F.constant(eye)          # (r, r, m)
        others = F.apply("prod_others", rows, axis=(1,))              # [i, j]: prod_{k != i, j}
        out = F.reduce_sum(gf * F.constant(1.0 - eye) * others, axis=0)
        return (F.transpose(F.reshape(out, moved), tuple(int(i) for i in np.argsort(perm))),)

    def taylor(x, axis):
        """at each i, the Cauchy product of the other series"""
        flat, undo = _series_layout(x, axis)
        return undo(_series_prod_others(flat))


@op("stop_gradient", 1)
class StopGradient:
    """x, with no gradient (tf.stop_gradient)"""

    def forward(x):
        return x

    def grad(g, ans, x):
        """None"""
        return (None,)

    def taylor(x):
        """x_0; 0 above (no derivative)"""
        return _constant_series(x[0], x)


@op("cast", 1, attrs=("dtype",))
class Cast:
    """x converted to ``dtype`` (float32 or float64)"""

    def forward(x, dtype):
        return x.astype(dtype)

    def grad(g, ans, x, dtype):
        """cast(g, x.dtype)"""
        return (F.cast(g, x.dtype.name),)

    def taylor(x, dtype):
        """x (series are float64)"""
        return x


@op("getitem", 1, attrs=("key",))
class GetItem:
    """x[key]: ints, slices, None, ..., integer or boolean arrays (numpy's rules)"""

    def forward(x, key):
        return np.asarray(x[numpy_index(key)])

    def grad(g, ans, x, key):
        """scatter_add(zeros like x, key, g)"""
        return (F.apply("scatter", g, key=key, shape=x.shape),)

    def taylor(x, key):
        """linear: x_k[key] for every coefficient k"""
        return T.linear(GetItem.forward, x, key=key)


@op("scatter", 1, attrs=("key", "shape"))
class Scatter:
    """zeros of ``shape`` with g added at [key] (repeated indices add up)"""

    def forward(g, key, shape):
        out = np.zeros(shape, dtype=g.dtype)
        np.add.at(out, numpy_index(key), g)
        return out

    def grad(gg, ans, g, key, shape):
        """gg[key]"""
        return (F.apply("getitem", gg, key=key),)

    def taylor(g, key, shape):
        """linear: scatter(g_k) for every coefficient k"""
        return T.linear(Scatter.forward, g, key=key, shape=shape)


def _along(axis: int, ndim: int, index) -> tuple:
    return index_key((slice(None),) * (axis % ndim) + (index,))


@op("stack", -1, attrs=("axis",))
class Stack:
    """the inputs (same shape) stacked along a new axis"""

    def forward(*xs, axis):
        return np.stack(xs, axis=axis)

    def grad(g, ans, *xs, axis):
        """(g[..., i, ...] for each input i)"""
        return tuple(F.apply("getitem", g, key=_along(axis, ans.ndim, i)) for i in range(len(xs)))

    def taylor(*xs, axis):
        """linear: stack of the k-th coefficients"""
        return _per_coefficient(lambda *c, axis: np.stack(c, axis=axis), *xs, axis=axis)


@op("concat", -1, attrs=("axis",))
class Concat:
    """the inputs joined along an existing axis"""

    def forward(*xs, axis):
        return np.concatenate(xs, axis=axis)

    def grad(g, ans, *xs, axis):
        """(g[..., offset_i : offset_i + n_i, ...] for each input i)"""
        out, start = [], 0
        for x in xs:
            n = x.shape[axis]
            out.append(F.apply("getitem", g, key=_along(axis, ans.ndim, slice(start, start + n))))
            start += n
        return tuple(out)

    def taylor(*xs, axis):
        """linear: concatenation of the k-th coefficients"""
        return _per_coefficient(lambda *c, axis: np.concatenate(c, axis=axis), *xs, axis=axis)


@op("transpose", 1, attrs=("perm",))
class Transpose:
    """x with its axes permuted (reversed without perm)"""

    def forward(x, perm):
        return np.transpose(x, perm)

    def grad(g, ans, x, perm):
        """transpose(g, inverse permutation)"""
        inverse = None if perm is None else tuple(int(i) for i in np.argsort(perm))
        return (F.transpose(g, inverse),)

    def taylor(x, perm):
        """linear: transpose(x_k) for every coefficient k"""
        return T.linear(Transpose.forward, x, perm=perm)


def _swap_last(t):
    n = t.ndim
    return F.transpose(t, (*range(n - 2), n - 1, n - 2))


@op("matmul", 2)
class MatMul:
    """x @ y on the last two axes (rank >= 2, batch axes broadcast), as tf.matmul"""

    def forward(x, y):
        if np.ndim(x) < 2 or np.ndim(y) < 2:
            raise ValueError(f"matmul needs tensors of rank 2 or more (as tf.matmul), got shapes "
                             f"{np.shape(x)} and {np.shape(y)}: reshape vectors to (1, n) or (n, 1)")
        return np.matmul(x, y)

    def grad(g, ans, x, y):
        """(g @ y^T, x^T @ g) (batch axes summed back by the tape)"""
        return F.matmul(g, _swap_last(y)), F.matmul(_swap_last(x), g)

    def taylor(x, y):
        """(x y)_k = sum_j x_j @ y_{k-j}"""
        n = T.order(x, y)
        x, y = T.full(x, n), T.full(y, n)
        return np.stack([sum(np.matmul(x[j], y[k - j]) for j in range(k + 1))
                         for k in range(n + 1)])


def _comparison(name: str, ufunc):
    class Compare:
        __doc__ = f"1 where x {name} y, else 0 (a weight without a gradient)"

        def forward(x, y):
            return ufunc(x, y).astype(np.result_type(x, y))

        def grad(g, ans, x, y):
            """(None, None): a comparison is constant"""
            return None, None

        def taylor(x, y):
            """[x_0 op y_0]; 0 above"""
            return _constant_series(ufunc(x[0], y[0]).astype(float), x, y)

    return op(name, 2)(Compare)


for _name, _ufunc in (("less", np.less), ("less_equal", np.less_equal),
                      ("greater", np.greater), ("greater_equal", np.greater_equal),
                      ("equal", np.equal), ("not_equal", np.not_equal)):
    _comparison(_name, _ufunc)
