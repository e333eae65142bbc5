"""Compiled programs, replayed on arrays: bound instructions run over slots, fused sums, blocked dots.

``bind`` turns instructions into calls (an op's numpy ``forward``, a run-time gradient
rule, a sum of products) that ``run`` replays over a list of slots, vectorized over
every point at once; a slot is freed after its last use, so that big temporaries do
not pile up.
"""
from __future__ import annotations

import os

import numpy as np

from ..registry import OPS
from .code import tensor_of
from .tuning import blas_one_thread


def rule_runner(name: str, attrs: dict):
    grad = OPS[name].grad

    def run(*arrays):
        results = grad(*[tensor_of(a) for a in arrays], **attrs)
        return tuple(None if r is None else r.value for r in results)

    return run


def bind(instrs, keep=()) -> list[tuple]:
    """Instructions ready to run: (function, out slots, in slots, attrs, single output?,
    slots to free after it). A computed slot is freed after its last use unless in ``keep``,
    so that big temporaries do not pile up."""
    keep = set(keep)
    computed = {o for instr in instrs for o in instr[2]}
    last_use = {}
    for k, instr in enumerate(instrs):
        for i in instr[3]:
            last_use[i] = k
    dead = [[] for _ in instrs]
    for slot, k in last_use.items():
        if slot in computed and slot not in keep:
            dead[k].append(slot)
    bound = []
    for (kind, name, outs, ins, attrs), free in zip(instrs, dead):
        if kind == "op":
            bound.append((OPS[name].forward, outs[0], ins, attrs, True, tuple(free)))
        elif kind == "sum_of_products":
            bound.append((sum_of_products, outs[0], ins, attrs, True, tuple(free)))
        elif kind == "alias":
            bound.append((_same, outs[0], ins, attrs, True, tuple(free)))
        else:
            bound.append((rule_runner(name, attrs), outs, ins, {}, False, tuple(free)))
    return bound


def _same(a):
    return a


def fuse_sums(instrs, everything, grad_slots, output) -> list[tuple]:
    """``instrs`` with each gradient that is a product used by nothing else (a broadcast
    parameter's gradient, g * x, summed over the points by value_and_vjp) computed as one
    sum of products: no array of products is made."""
    used = {i for instr in everything for i in instr[3]}
    fused = set(grad_slots) - used - {output}
    return [("sum_of_products", name, outs, ins, attrs)
            if kind == "op" and name == "mul" and outs[0] in fused else instr
            for instr in instrs for kind, name, outs, ins, attrs in [instr]]


def sum_of_products(a, b):
    """sum(a * b) over every point: blocked_dot for two vectors of one length of at least
    DOT_BLOCK entries, else numpy's (pairwise) sum of the products."""
    if a.ndim == 1 and a.shape == b.shape and len(a) >= DOT_BLOCK:
        return blocked_dot(a, b)
    return np.sum(np.multiply(a, b))


_BLAS_ONE_THREAD = blas_one_thread(os.environ)  # as numpy loaded OpenBLAS with it
DOT_BLOCK = 8192  # OpenBLAS runs a dot of at most 10,000 entries in the calling thread


def blocked_dot(a, b):
    """a . b for two vectors: BLAS dots of DOT_BLOCK entries (one batched matmul), summed.

    One BLAS dot of 100,000 entries is split over threads, which on a busy 2-core machine
    wait for cores (measured ~10 ms instead of 20 us); a block stays in this thread, and
    is still twice as fast as einsum's loop. Where BLAS runs on one thread anyway
    (OPENBLAS_NUM_THREADS=1 or the like): one dot, with no threads to wait for, and the
    batched matmul's blocks cost more than they save (bench_fit.py, BLAS on one thread:
    a 100,000-row fit at 1.29-1.33 times the numpy loop's time with one dot, 1.53-1.57
    with blocks). With BLAS on two threads the blocks stay: one dot in both gradcli and
    the numpy loop made both slower (0.30-0.41 s against 0.20-0.30 s)."""
    m = len(a) - len(a) % DOT_BLOCK
    if not m or _BLAS_ONE_THREAD:
        return np.dot(a, b)
    head = np.matmul(a[:m].reshape(-1, 1, DOT_BLOCK), b[:m].reshape(-1, DOT_BLOCK, 1)).sum()
    return head + np.dot(a[m:], b[m:])


def run(bound, slots: list) -> None:
    """Replay bound instructions over ``slots`` (a list indexed by slot)."""
    with np.errstate(all="ignore"):
        for fn, out, ins, attrs, single, free in bound:
            result = fn(*[slots[i] for i in ins], **attrs)
            if single:
                slots[out] = result
            else:
                for o, r in zip(out, result):
                    slots[o] = r
            for d in free:
                slots[d] = None
