"""Compiled programs, replayed on arrays: bound instructions run over slots, fused sums, blocked dots.

``bind`` turns instructions into calls (an op's numpy ``forward``, a run-time gradient
rule, a sum of products) that ``run`` replays over a list of slots, vectorized over
every point at once; a slot is freed after its last use, so that big temporaries do
not pile up.

Many points are replayed in chunks instead (``Registers``, ``run_chunks``): the points
cut into pieces of CHUNK_BYTES per array, so that a chunk's temporaries stay in the
core's cache, and every elementwise ufunc of the program (``INPLACE``) writes into one
of a few buffers made once for the call (its output takes the buffer of an input that
dies there), not into a new array: the same ufunc calls on the same numbers, so the
same bits, with a fraction of the memory traffic and no page faults.
"""
from __future__ import annotations

import functools
import math
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


# -- many points: chunks in cache, buffers reused ----------------------------------------
# Bytes an array of a chunk holds (the points of a chunk are CHUNK_BYTES / 8 in float64):
# measured on W3's f' and f'' at 1,000,000 points (tests/benchmarks/bench_chunks.py) with
# 8 to 17 buffers a program, so that a chunk's buffers fit a core's L2 cache.
CHUNK_BYTES = 16384 * 8


def _inplace_table() -> dict:
    """forward rule -> the same numpy call writing into ``out``: the ops whose forward rule
    is one ufunc call (tests/test_chunks.py checks every entry against its forward rule,
    bit for bit, nan, inf and signed zeros included)."""
    ufuncs = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
              "neg": np.negative, "exp": np.exp, "expm1": np.expm1, "log": np.log,
              "log1p": np.log1p, "log2": np.log2, "log10": np.log10, "sqrt": np.sqrt,
              "cbrt": np.cbrt, "sin": np.sin, "cos": np.cos, "tan": np.tan,
              "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh,
              "cosh": np.cosh, "tanh": np.tanh, "asinh": np.arcsinh, "acosh": np.arccosh,
              "atanh": np.arctanh}
    table = {OPS[name].forward: ufunc for name, ufunc in ufuncs.items() if name in OPS}
    table[OPS["powi"].forward] = _powi_into
    return table


def _powi_into(x, out, n):
    """PowInt's forward rule written into ``out``: x ** n, and 1.0 / x ** -n for n < 0."""
    if n >= 0:
        return np.power(x, n, out=out)
    np.power(x, -n, out=out)
    return np.divide(1.0, out, out=out)


_INPLACE: dict = {}


def inplace() -> dict:
    if not _INPLACE:
        _INPLACE.update(_inplace_table())
    return _INPLACE


class Registers:
    """Bound instructions planned onto reusable buffers for points replayed in chunks.

    ``full`` are the slots that hold one value per point (arrays of the chunk's shape);
    every other slot holds one value for all points (0-d). An instruction with a full
    input gives a full output: an INPLACE ufunc writes it into a buffer (``register``),
    any other op returns a new array. A buffer is taken again once every slot holding
    it is dead, first by the instruction where it dies: that ufunc runs in place."""

    def __init__(self, bound, full):
        table = inplace()
        full = set(full)
        holders: dict[int, int] = {}  # register -> how many live slots hold it
        reg_of: dict[int, int] = {}   # slot -> its register
        spare: list[int] = []
        self.size = 0
        steps = []
        for fn, out, ins, attrs, single, free in bound:
            if not single:
                raise ValueError("a run-time rule instruction is not chunked")
            is_full = any(i in full for i in ins)
            if fn is _same and ins[0] in reg_of:  # the output is the input's array
                reg_of[out] = reg_of[ins[0]]
                holders[reg_of[out]] += 1
            drop = tuple(d for d in free if d in full and d not in reg_of)
            for d in free:  # first: the output may take the buffer of an input dying here
                r = reg_of.pop(d, None)
                if r is not None:
                    holders[r] -= 1
                    if not holders[r]:
                        spare.append(r)
            register = -1
            if is_full:
                full.add(out)
                into = table.get(fn)
                if into is not None:
                    if spare:
                        register = spare.pop()
                    else:
                        register, self.size = self.size, self.size + 1
                    reg_of[out] = register
                    holders[register] = 1
                    fn = functools.partial(into, **attrs) if attrs else into
                    attrs = {}
            a = ins[0] if ins else -1
            b = ins[1] if len(ins) > 1 else -1
            if register < 0 or len(ins) > 2 or attrs:
                steps.append((0, fn, out, ins, attrs, register, drop))  # the general call
            else:
                steps.append((2 if b >= 0 else 1, fn, out, a, b, register, drop))
        self.steps = steps

    def run(self, slots: list, buffers: list) -> None:
        """Replay over ``slots`` holding one chunk, the registers being ``buffers``."""
        for kind, fn, out, a, b, register, drop in self.steps:
            if kind == 2:
                slots[out] = fn(slots[a], slots[b], out=buffers[register])
            elif kind == 1:
                slots[out] = fn(slots[a], out=buffers[register])
            elif register >= 0:
                slots[out] = fn(*[slots[i] for i in a], out=buffers[register], **b)
            else:
                slots[out] = fn(*[slots[i] for i in a], **b)
            for d in drop:
                slots[d] = None


def chunk_rows(shape, itemsize: int) -> int:
    """Rows of ``shape`` (points along axis 0) in one chunk: CHUNK_BYTES per array."""
    inner = max(math.prod(shape[1:]), 1)
    return max(1, CHUNK_BYTES // (itemsize * inner))


def run_chunks(registers: Registers, slots: list, inputs, sinks, rows: int, dtype) -> None:
    """``registers`` replayed over ``slots`` in chunks of ``rows`` points along axis 0:
    the ``inputs`` slots hold arrays of one value per point (a common shape), every other
    slot a 0-d value; each (slot, destination) of ``sinks`` receives its chunk of the slot."""
    shape = slots[inputs[0]].shape
    n = shape[0]
    rows = min(rows, n)
    whole = [np.empty((rows,) + shape[1:], dtype=dtype) for _ in range(registers.size)]
    with np.errstate(all="ignore"):
        for lo in range(0, n, rows):
            hi = min(lo + rows, n)
            chunk = list(slots)
            for i in inputs:
                chunk[i] = slots[i][lo:hi]
            registers.run(chunk, whole if hi - lo == rows else [b[:hi - lo] for b in whole])
            for slot, dest in sinks:
                dest[lo:hi] = chunk[slot]


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
