"""Many points at once: blocks of points, spread over the cores.

A compiled program replays one numpy call per instruction, over all the points on
one core. Cut into blocks along the first axis instead, the blocks run on threads,
one per usable core, started for the call and gone when it returns: numpy releases the GIL inside its loops, so the
threads really run at once (measured on this project's 2-core machine: f' of W3 at
1,000,000 points in 36 ms against 71 ms in one pass), and a block's temporaries are
smaller than the whole arrays. Every point's arithmetic is the same numpy call on
the same numbers, so the results are the same to the bit. (Sums over points,
``value_and_vjp``, are not cut: gradcli/compiled/program.py says why.)

A block holds at least BLOCK points, more for programs of cheap operations
(``rows_for``: each numpy call must do enough work to pay for the thread's turn at
the GIL); arrays of fewer than two blocks take the single pass. ``GRADCLI_THREADS``
sets the number of threads (1 keeps the blocks and runs them in the calling
thread); by default it is the number of cores this process may use. A block that
itself asks for blocks (a worker thread replaying a nested program) runs them in its
own thread, so the threads never wait on themselves.
"""
from __future__ import annotations

import math
import os
import threading

import numpy as np

from ..registry import DEFAULT_COST_NS, OPS

BLOCK = 32768  # the fewest points a block holds

_LOCAL = threading.local()  # .inside: this thread is running a block


def threads() -> int:
    """How many threads run blocks: GRADCLI_THREADS, else the usable cores."""
    text = os.environ.get("GRADCLI_THREADS", "").strip()
    if text:
        try:
            return max(1, int(text))
        except ValueError:
            pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def plan(shape, rows: int | None = None) -> list[tuple[int, int]] | None:
    """The blocks ``(lo, hi)`` along axis 0 of a broadcast ``shape``, of at least ``rows``
    points each (default BLOCK), or None when the arrays hold fewer than two blocks
    (or their first axis is too short to cut). Where there are more blocks than
    threads, their number is a multiple of the threads, so that every thread gets as
    many (13 blocks of W3's million points on 2 threads would leave one thread a block
    behind the other, 7% of the time)."""
    if not shape:
        return None
    rows = BLOCK if rows is None else rows
    inner = max(math.prod(shape[1:]), 1)
    count = shape[0] * inner // rows
    if count < 2 or shape[0] < 2:
        return None
    workers = threads()
    if count > workers:
        count -= count % workers  # bigger blocks, as many for each thread
    count = min(shape[0], count)
    step = -(-shape[0] // count)
    return [(lo, min(lo + step, shape[0])) for lo in range(0, shape[0], step)]


# A block gives each of its instructions at least this much arithmetic on average: between
# two numpy calls a thread waits its turn for the GIL, some microseconds a call on two
# threads (measured: W3's gradient at 1,000,000 points, 38 calls a block, takes 80-95 ms
# in blocks of 4096 points, 50-63 ms in blocks of 8192 and 34-37 ms in blocks of 65,536;
# a*x+b*z+c is slower in blocks of 32768 than in one pass). With 100 us a call, W3 takes
# blocks of about 77,000 points, a*x+b*z+c of about 320,000.
MIN_CALL_NS = 100_000


def cost(op_names) -> tuple[int, float]:
    """(instructions, ns per point) of a program of these ops (each op's ``cost`` in the
    registry: what one point costs in its numpy forward rule; instructions that are not
    ops, such as a fused sum of products, cost DEFAULT_COST_NS)."""
    names = list(op_names)
    return len(names), sum(OPS[name].cost if name in OPS else DEFAULT_COST_NS for name in names)


def rows_for(program_cost: tuple[int, float]) -> int:
    """Points per block for a program of this cost: BLOCK, or more when its ops are cheap."""
    count, total = program_cost
    if not count or total <= 0:
        return BLOCK
    return max(BLOCK, math.ceil(MIN_CALL_NS * count / total))


def take(array, shape, lo: int, hi: int):
    """Block ``lo:hi`` of an array that broadcasts to ``shape``: sliced when it spans
    axis 0, whole when it is broadcast along it."""
    ndim = getattr(array, "ndim", 0)
    if ndim == len(shape) and array.shape[0] == shape[0]:
        return array[lo:hi]
    return array


def over(fn, env: dict, shape, blocks) -> list:
    """``fn(block of env, lo, hi)`` for each block, on threads: every entry of ``env``
    taken at ``lo:hi`` (``take``)."""
    return run(lambda lo, hi: fn({k: take(v, shape, lo, hi) for k, v in env.items()}, lo, hi),
               blocks)


def run(fn, blocks) -> list:
    """``[fn(lo, hi) for lo, hi in blocks]``, on threads (a pool made for this call)."""
    count = threads()
    if count == 1 or len(blocks) == 1 or getattr(_LOCAL, "inside", False):
        return [fn(lo, hi) for lo, hi in blocks]

    errors = np.geterr()  # the caller's np.errstate holds in its blocks too

    def one(block):
        _LOCAL.inside = True
        try:
            with np.errstate(**errors):
                return fn(*block)
        finally:
            _LOCAL.inside = False

    from concurrent.futures import ThreadPoolExecutor

    # a pool for this call, its threads gone when it returns: the library keeps no threads
    # between calls (starting two costs ~0.1 ms; a call with blocks takes milliseconds)
    with ThreadPoolExecutor(max_workers=min(count, len(blocks)),
                            thread_name_prefix="gradcli") as pool:
        return list(pool.map(one, blocks))
