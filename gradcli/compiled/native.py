"""A compiled program's arithmetic over many points fused into native loops (numba, the ``jit`` extra), numpy's own calls between them.

The chunked replay (replay.py) makes one numpy call per instruction and chunk; the
arithmetic between W3's sines and cosines is a third of its time. Here the
instructions whose numpy call is IEEE arithmetic or the C library's own function
(``NATIVE``: + - * / negation, sqrt, x**2, sin, cos) are written out as one loop over
the points of a chunk and compiled by numba; every other op (numpy's own exp and log,
which are not the C library's, the special functions, ...) stays a numpy call on the
chunk, between the loops (``Fused``: rounds of one loop, then the numpy calls whose
inputs are ready). numba is told numpy's error model (x / 0 is inf, not an exception),
no fast-math: each value is the one the numpy replay gives, bit for bit. sin, cos and
x**2 are the C library's and x*x in the numpy at hand on this machine (``probe``: they
are checked on special and random points when a loop is first built, and left to numpy
where they differ).

Compiling costs about a second (numba's import, 0.2-0.4 s; the probe, 0.3-0.7 s once a
process; LLVM, 0.3-0.5 s a program part), so a Program takes this path only once its
chunked replays have taken NATIVE_AFTER seconds (program.py): a program evaluated once or
a few times never pays for it, and one replayed for longer spends at most about as long
compiling as it had spent replaying. The generated source names slots only (``v12``,
``a3``, ``o7``): constants are passed as arguments, and no user text reaches it.
"""
from __future__ import annotations

import importlib.util
import math
import threading

import numpy as np

from ..registry import OPS
from .replay import _same, inplace

# Seconds of chunked replay of one program part after which its loops are compiled:
# numba's import, the probe and the compile of W3's f' took 0.8-1.6 s (this machine).
NATIVE_AFTER = 1.5

NATIVE = {"add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}",
          "neg": "-{0}", "sqrt": "math.sqrt({0})", "sin": "math.sin({0})",
          "cos": "math.cos({0})", "powi": "{0} * {0}"}
_PROBED = ("sin", "cos", "powi")  # the numpy at hand may compute these otherwise
BUILDING = threading.Lock()  # one thread builds a program's loops; the others wait for them


def available() -> bool:
    """Whether numba can be imported (without importing it)."""
    return importlib.util.find_spec("numba") is not None


_NAMES: dict = {}


def _name_of(fn):
    if not _NAMES:
        _NAMES.update({op.forward: name for name, op in OPS.items()})
        _NAMES[_same] = "alias"
    return _NAMES.get(fn)


_AGREE: dict = {}
_LOOPS: dict = {}  # generated source -> its compiled loop (programs of one expression share)


def jit(source: str):
    """The function ``loop`` of ``source`` (generated here, never from user text), compiled
    by numba: no Python objects, the GIL released, numpy's error model (x / 0 = inf)."""
    loop = _LOOPS.get(source)
    if loop is None:
        import numba

        scope = {"math": math}
        exec(compile(source, "<gradcli native loop>", "exec"), scope)  # noqa: S102
        loop = _LOOPS[source] = numba.njit(nogil=True, error_model="numpy")(scope["loop"])
    return loop


def probe() -> set:
    """The ops of _PROBED whose native form gives numpy's bits here (checked once, on
    random points and special values)."""
    if "done" not in _AGREE:
        rng = np.random.default_rng(0)
        points = np.concatenate([
            rng.uniform(-10, 10, 2000), rng.normal(0, 1e4, 500),
            np.exp(rng.uniform(-745, 709, 500)) * rng.choice([-1.0, 1.0], 500),
            [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e308, 1e22]])
        loop = jit("def loop(xs, s, c, q):\n    for i in range(xs.shape[0]):\n"
                   "        v = xs[i]\n        s[i] = math.sin(v)\n"
                   "        c[i] = math.cos(v)\n        q[i] = v * v\n")
        got = [np.empty_like(points) for _ in _PROBED]
        loop(points, *got)
        with np.errstate(all="ignore"):
            wants = [np.sin(points), np.cos(points), np.power(points, 2)]
        _AGREE["done"] = {name for name, g, w in zip(_PROBED, got, wants)
                          if np.array_equal(g.view(np.int64), w.view(np.int64))}
    return _AGREE["done"]


class Fused:
    """Bound instructions as rounds of (one native loop, then numpy calls) over a chunk.

    ``full`` are the slots holding one value per point; the others hold 0-d values,
    computed once per call (``scalar_steps``) and passed to the loops as arguments.
    Raises ValueError where nothing would be fused (no loop of two native ops or more)."""

    def __init__(self, bound, full, outputs):
        agree = probe()
        full = set(full)
        self.scalar_steps, steps = [], []
        for fn, out, ins, attrs, single, free in bound:
            name = _name_of(fn)
            if not single or name is None:
                raise ValueError("not an op")
            if any(i in full for i in ins):
                full.add(out)
                steps.append((name, fn, out, ins, attrs))
            else:
                self.scalar_steps.append((fn, out, ins, attrs))

        def native(name, attrs):
            if name == "alias":
                return True
            if name not in NATIVE or (name in _PROBED and name not in agree):
                return False
            return name != "powi" or attrs.get("n") == 2

        ready = set(full) - {s for _, _, s, _, _ in steps}  # the inputs
        keep = set(outputs)
        self.rounds, self.buffers = [], []
        self.into = set()  # the slots written into their buffer (by a loop or a ufunc)
        remaining = list(range(len(steps)))
        table = inplace()
        while remaining:
            loop, made = [], set()
            for k in remaining:
                name, fn, out, ins, attrs = steps[k]
                if native(name, attrs) and all(i in ready or i in made or i not in full
                                               for i in ins):
                    loop.append(k)
                    made.add(out)
            ready |= made
            calls = []
            for k in remaining:
                name, fn, out, ins, attrs = steps[k]
                if k not in loop and all(i in ready or i not in full for i in ins):
                    calls.append(k)
            if not loop and not calls:
                raise ValueError("no order")  # cannot happen for a topological list
            ready |= {steps[k][2] for k in calls}
            after = {i for k in remaining if k not in loop for i in steps[k][3]}
            written = [steps[k][2] for k in loop if steps[k][2] in after or steps[k][2] in keep]
            self.rounds.append((self._loop([steps[k] for k in loop], written, full),
                                [(table.get(steps[k][1]), steps[k]) for k in calls]))
            self.buffers.extend(written)
            self.buffers.extend(steps[k][2] for k in calls)
            self.into.update(written)
            self.into.update(steps[k][2] for k in calls if table.get(steps[k][1]) is not None)
            done = set(loop) | set(calls)
            remaining = [k for k in remaining if k not in done]
        if max((len(r[0][3]) for r in self.rounds if r[0]), default=0) < 2:
            raise ValueError("nothing to fuse")
        one = np.zeros(1)
        for loop_part, _ in self.rounds:  # compiled now: a failure leaves numpy's path
            if loop_part is not None:
                loop, reads, written, _, scalars = loop_part
                loop(0, *[one] * (len(reads) + len(written)), *[0.0] * len(scalars))
        self.buffers = list(dict.fromkeys(self.buffers))

    @staticmethod
    def _loop(steps, written, full):
        """(compiled loop, array slots read, slots written, the steps) of one round."""
        if not steps:
            return None
        computed = {out for _, _, out, _, _ in steps}
        reads = sorted({i for _, _, _, ins, _ in steps for i in ins
                        if i in full and i not in computed})
        scalars = sorted({i for _, _, _, ins, _ in steps for i in ins if i not in full})
        args = ["n"] + [f"a{s}" for s in reads] + [f"o{s}" for s in written] + \
            [f"v{s}" for s in scalars]
        lines = [f"def loop({', '.join(args)}):", "    for i in range(n):"]
        lines += [f"        v{s} = a{s}[i]" for s in reads]
        for name, _, out, ins, _ in steps:
            form = "{0}" if name == "alias" else NATIVE[name]
            lines.append(f"        v{out} = " + form.format(*[f"v{i}" for i in ins]))
        lines += [f"        o{s}[i] = v{s}" for s in written]
        return (jit("\n".join(lines) + "\n"), reads, written, steps, scalars)

    def run(self, slots: list, buffers: dict, n: int) -> None:
        """One chunk of ``n`` points: ``slots`` holds its full inputs and the 0-d values;
        ``buffers`` (slot -> array of n) receives every value a later round or the caller
        reads."""
        for fn, out, ins, attrs in self.scalar_steps:
            slots[out] = fn(*[slots[i] for i in ins], **attrs)
        for (loop_part, calls) in self.rounds:
            if loop_part is not None:
                loop, reads, written, _, scalars = loop_part
                loop(n, *[slots[s] for s in reads], *[buffers[s] for s in written],
                     *[float(slots[s]) for s in scalars])
                for s in written:
                    slots[s] = buffers[s]
            for into, (name, fn, out, ins, attrs) in calls:
                args = [slots[i] for i in ins]
                if into is not None:
                    slots[out] = into(*args, out=buffers[out], **attrs)
                else:
                    slots[out] = fn(*args, **attrs)


def run_chunks(fused: Fused, slots: list, inputs, sinks, rows: int) -> None:
    """As replay.run_chunks, with the fused loops: ``inputs`` hold one value per point
    (one axis), every other slot a 0-d value; each (slot, destination) of ``sinks``
    receives its chunk of the slot."""
    n = slots[inputs[0]].shape[0]
    rows = min(rows, n)
    # a result the loops or calls compute is written where the caller wants it, not copied
    direct = {}
    for slot, dest in sinks:
        if (slot in fused.into and slot not in direct and dest.shape == (n,)
                and dest.flags.c_contiguous):  # the loops were compiled for such arrays
            direct[slot] = dest
    whole = {s: np.empty(rows) for s in fused.buffers if s not in direct}
    with np.errstate(all="ignore"):
        for lo in range(0, n, rows):
            hi = min(lo + rows, n)
            chunk = list(slots)
            for i in inputs:  # contiguous, as the loops were compiled for (a copy if not)
                chunk[i] = np.ascontiguousarray(slots[i][lo:hi])
            buffers = {s: b[:hi - lo] for s, b in whole.items()}
            buffers.update({s: dest[lo:hi] for s, dest in direct.items()})
            fused.run(chunk, buffers, hi - lo)
            for slot, dest in sinks:
                if direct.get(slot) is not dest:
                    dest[lo:hi] = chunk[slot]
