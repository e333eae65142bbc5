"""Naming where a nan or inf comes from: the first op whose inputs are finite
but whose output is not (``log(-1.0) is nan``), so that a domain error is
reported with the function and the point, never hidden.
"""
from __future__ import annotations

import numpy as np

from .graph import evaluate

_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "powi": "**"}


def _fmt(v) -> str:
    return repr(float(v))


def describe(node, args) -> str:
    """``log(-1.0)``, ``1.0/0.0``, ``0.0**-1`` for one op applied to scalar arguments."""
    if node.op == "neg":
        return f"-({_fmt(args[0])})"
    if node.op == "powi":
        return f"{_fmt(args[0])}**{node.attrs['n']}"
    if node.op in _SYMBOL:
        return f"{_fmt(args[0])}{_SYMBOL[node.op]}{_fmt(args[1])}"
    from .registry import OPS

    name = OPS[node.op].language or node.op
    return f"{name}({', '.join(_fmt(a) for a in args)})"


def nonfinite_origin(expr, env: dict, dtype=np.float64) -> str | None:
    """Where the value of ``expr`` at ``env`` first turns nan/inf, or None if it stays finite.

    With arrays of points, the first point at fault is described.
    """
    values = evaluate(expr.root, env, dtype, expr.nodes)
    for node in expr.nodes:
        if not node.inputs:
            continue
        out = values[node.id]
        ins = np.broadcast_arrays(out, *(values[i.id] for i in node.inputs))
        bad = ~np.isfinite(ins[0])
        for v in ins[1:]:
            bad &= np.isfinite(v)
        if bad.any():
            idx = tuple(np.argwhere(bad)[0]) if bad.ndim else ()
            result = float(ins[0][idx])
            where = ", ".join(f"{k}={_fmt(np.broadcast_to(env[k], bad.shape)[idx])}"
                              for k in expr.variables)
            at = f" at {where}" if where else ""
            return f"{describe(node, [v[idx] for v in ins[1:]])} is {result!r}{at}"
    return None


def log_base_origin(expr, env: dict, dtype=np.float64) -> str | None:
    """A logarithm's base 0 or +-inf behind a finite result (issue 23): log(x, b) is
    log(x)/log(b), and log(0) = -inf makes log(2, 0) the limit -0.0 as b -> 0+ (SPEC 4's
    value by continuity), which is kept but must not pass silently. None when no quotient
    has a log of 0 or inf as its denominator at these points; else the first one, as
    ``log(0.0) is -inf at x=2.0``."""
    quotients = [node for node in expr.nodes
                 if node.op == "div" and node.inputs[1].op == "log"]
    if not quotients:
        return None
    values = evaluate(expr.root, env, dtype, expr.nodes)
    for node in quotients:
        log = node.inputs[1]
        base, out, numerator = np.broadcast_arrays(values[log.inputs[0].id], values[log.id],
                                                   values[node.inputs[0].id])
        bad = ((base == 0) | np.isinf(base)) & np.isfinite(numerator)
        for k in expr.variables:   # a point that is itself inf explains its result
            bad &= np.isfinite(np.broadcast_to(env[k], bad.shape))
        if bad.any():
            idx = tuple(np.argwhere(bad)[0]) if bad.ndim else ()
            where = ", ".join(f"{k}={_fmt(np.broadcast_to(env[k], bad.shape)[idx])}"
                              for k in expr.variables)
            at = f" at {where}" if where else ""
            return (f"{describe(log, [base[idx]])} is {float(out[idx])!r}{at} (a logarithm's "
                    "base is > 0 and != 1): the result is its limit there")
    return None
