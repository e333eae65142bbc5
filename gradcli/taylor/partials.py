"""First partial derivatives where float64's chain rule met 0*inf: Taylor mode's checked derivative instead.

A gradient built by the chain rule in float64 (the tape, a compiled program, the one-point
function) multiplies and adds local derivatives; where one of them is inf or nan (sqrt'(0),
asin'(1), log of a base <= 0, an overflow) and the other factor is 0 (x - x, a min/max
branch not taken) or the other term its opposite, IEEE gives nan although the derivative
exists: ``(x-x)*sqrt(x)`` at 0, ``min(x, asin(x))`` at 1, ``x**(x-x)`` at -30,
``x**min(x, 2)`` at 1e300. Taylor mode (SPEC 6.1) checks such entries in ball arithmetic
and gives the derivative (0, 1, 0, 2e300). So that one expression at one point has one
answer in every engine (issue 21), a nan partial derivative at a point whose value is not
nan is replaced by Taylor mode's derivative along that variable at that point, and so is
an inf partial derivative (an overflow inside: x/(2/x) at 1e300 has derivative 1e300,
float64's chain rule meets 1/(2e-300)**2 = inf; at a pole Taylor mode gives the inf too)
(docs/semantics.md, "0 * inf in a derivative"). Where Taylor mode cannot decide either,
the nan stays. The fast paths pay one sum over the gradients (finite unless some entry
is not).

The other way round (``infinity_of_the_tape``): where forward mode meets inf - inf and
Taylor mode's first derivative is nan at a finite value, the tape's +-inf stands.
"""
from __future__ import annotations

import numpy as np

#: distinct points refined per call (a ball check costs about a millisecond); beyond, the
#: nan stays, as it is (and is warned about by the command line)
LIMIT = 256


def refine_nan_partials(expression, env, value, grads, wrt):
    """Replace, in place, each nan of ``grads[..., i]`` (d value / d wrt[i] per point) where
    ``value`` is not nan, and each inf there, by Taylor mode's checked
    derivative along wrt[i] at that point (an inf stays where Taylor mode gives nan).
    ``env`` maps every variable of ``expression`` to a float or an array of points."""
    if grads.size == 0:
        return grads
    with np.errstate(all="ignore"):
        if np.isfinite(grads.sum()):  # the fast path: no nan, no inf (inf - inf sums to nan)
            return grads
        shape = grads.shape[:-1]
        value = np.broadcast_to(value, shape)[..., None]
        # nan or inf where the value is not nan: an inf may be an overflow inside the chain
        # rule (x/(2/x) at 1e300 is 5e599 with derivative 1e300; 2/(0.5/x) at 1e300 is
        # 4e300 with derivative 4: 1/v**2 with v = 5e-301 is inf); at a pole or a root
        # (1/x, sqrt(x) at 0) Taylor mode's derivative is the same inf
        bad = ~np.isfinite(grads) & ~np.isnan(value)
    if not bad.any():
        return grads
    from ..errors import GradcliError

    names = expression.variables
    rows = bad.any(axis=-1)
    coords = np.stack([np.broadcast_to(np.asarray(env[n], dtype=np.float64), shape)[rows]
                       for n in names], axis=-1)
    # distinct points by their bits (-0.0 apart from 0.0)
    keys = coords.view(np.uint64)
    if keys.shape[1] == 1:   # one variable: a plain sort (axis=0 sorts rows as bytes, slower)
        unique, inverse = np.unique(keys[:, 0], return_inverse=True)
        unique = unique[:, None]
    else:
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    found = np.full((len(unique), len(wrt)), np.nan)
    need = bad[rows]
    for u in range(min(len(unique), LIMIT)):
        point = dict(zip(names, unique[u].view(np.float64).tolist()))
        for i in np.nonzero(need[inverse == u].any(axis=0))[0]:
            try:
                with np.errstate(all="ignore"):
                    found[u, i] = float(expression.derivatives(wrt[i], order=1, at=point)[1])
            except (GradcliError, ArithmeticError, ValueError):
                pass
    sub = grads[rows]
    new = found[inverse]
    sub[need] = np.where(np.isnan(new) & np.isinf(sub), sub, new)[need]
    grads[rows] = sub
    return grads


def infinity_of_the_tape(expression, wrt: str, env: dict, out: np.ndarray) -> None:
    """A first derivative that Taylor mode gives as nan at a finite value, where reverse
    mode gives +-inf, becomes that infinity (docs/semantics.md, "0 * inf in a
    derivative"): an infinite derivative reaching the result along two paths
    (x**x/(x**x + exp(x)) at 0) is inf - inf in forward mode, while the tape sums the
    paths' finite weights before it multiplies by the infinity, giving the one-sided
    limit (-inf there). The tape's own gradient, without its nan rule (which asks Taylor
    mode), at those points only. ``out`` (orders x points) is changed in place."""
    first = out[1]
    bad = np.isnan(first) & np.isfinite(out[0])
    if not bad.any():
        return
    shape = first.shape
    where = np.flatnonzero(bad.reshape(-1))
    point = {n: np.broadcast_to(np.asarray(v, dtype=np.float64), shape).reshape(-1)[where]
             for n, v in env.items()}
    finite = np.logical_and.reduce([np.isfinite(v) for v in point.values()] + [
        np.ones(len(where), dtype=bool)])   # (a point that is nan or inf: its own nan)
    where = where[finite]
    if not len(where):
        return
    from ..tape import GradientTape
    from ..tensor import constant

    xs = {n: constant(v[finite]) for n, v in point.items()}
    with np.errstate(all="ignore"), GradientTape() as tape:
        tape.watch(xs[wrt])
        y = expression.to_tensor(xs)
    with np.errstate(all="ignore"):
        g = tape.gradient(y, xs[wrt], unconnected_gradients="zero")
    g = np.broadcast_to(np.asarray(g.value, dtype=np.float64), where.shape)
    infinite = np.isinf(g)
    flat = first.reshape(-1)
    flat[where[infinite]] = g[infinite]
    out[1] = flat.reshape(shape)
