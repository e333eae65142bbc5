"""``gc.function``: trace a Python function of tensors once per input signature into a
compiled program and replay it (the counterpart of ``tf.function``).

    @gc.function
    def f(x, y):
        return gc.sin(x) * y + x ** 2

    f(gc.constant([1.0, 2.0]), gc.constant([3.0, 4.0]))   # traced, then replayed
    f(gc.constant([5.0, 6.0]), gc.constant([7.0, 8.0]))   # replayed: same signature
    f(gc.constant(1.0), gc.constant(2.0))                 # a new shape: traced again

The signature of a call is the shape and dtype of every tensor or array argument,
and the value of every other argument (Python numbers included, as in
``tf.function``: ``f(x, 2)`` and ``f(x, 3)`` are two traces, and ``x ** n`` keeps
its exact integer power). Tracing runs the function once on the call's own values
under a GradientTape, which records every op; the recorded ops become a
straight-line program (gradcli.program) that later calls replay with numpy alone.
Trainable Variables the function reads are captured by reference: a replay reads
their current value, so ``assign`` between calls is seen.

Under an active GradientTape a call runs the Python function eagerly instead, so
that the tape records each op with its gradient rule (nested tapes and higher
orders keep working, with the same values); the compiled program is for calls
outside tapes. As with ``tf.function``, Python side effects (printing, appending to
a list, reading ``.numpy()`` to branch on a value) happen during tracing only.
"""
from __future__ import annotations

import functools

import numpy as np

from .. import tape as _tape
from .program import Code, bind, run
from ..tensor import Tensor, Variable, constant


class TracedProgram:
    """One trace: the program, the argument slots and how to rebuild the outputs."""

    def __init__(self, code: Code, arg_slots, variables, outputs, structure):
        self.code = code
        self.arg_slots = arg_slots      # (position or keyword, slot) per tensor argument
        self.variables = variables      # (Variable, slot): captured by reference
        self.outputs = outputs          # slot per output leaf
        self.structure = structure      # the output's nesting, leaves as None
        self.bound = bind(code.needed(outputs), outputs)

    @property
    def ops(self) -> list[str]:
        """The op names the replay runs, in order."""
        return [instr[1] for instr in self.code.needed(self.outputs)]

    def replay(self, tensors: dict):
        slots = [None] * self.code.size
        for s, v in self.code.consts.items():
            slots[s] = v
        for key, s in self.arg_slots:
            slots[s] = tensors[key]
        for var, s in self.variables:
            slots[s] = var.value
        run(self.bound, slots)
        leaves = iter(slots[s] for s in self.outputs)
        return _rebuild(self.structure, leaves)


class Function:
    """A Python function of gradcli tensors, traced once per input signature."""

    def __init__(self, fn):
        self.python_function = fn
        self.traces = 0                 # how many times the function was traced
        self._programs: dict[tuple, TracedProgram] = {}
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if _tape.RECORDING:
            return self.python_function(*args, **kwargs)
        key, tensors = _signature(args, kwargs)
        program = self._programs.get(key)
        if program is None:
            program = self._programs[key] = self._trace(args, kwargs, tensors)
        return program.replay(tensors)

    def program_for(self, *args, **kwargs) -> TracedProgram:
        """The traced program these arguments replay (traced now if new)."""
        key, tensors = _signature(args, kwargs)
        if key not in self._programs:
            self._programs[key] = self._trace(args, kwargs, tensors)
        return self._programs[key]

    def _trace(self, args, kwargs, tensors) -> TracedProgram:
        from ..tape import GradientTape

        self.traces += 1
        standins = {k: constant(v, v.dtype) for k, v in tensors.items()}
        call_args = [standins.get(i, a) for i, a in enumerate(args)]
        call_kwargs = {k: standins.get(k, v) for k, v in kwargs.items()}
        with GradientTape(persistent=True) as tape:
            tape.watch(list(standins.values()))
            result = self.python_function(*call_args, **call_kwargs)
        code = Code(np.float64)
        slot_of: dict[int, int] = {}
        arg_slots = []
        for k, t in standins.items():
            slot_of[id(t)] = s = code.input(f"<arg {k}>", t.shape)
            arg_slots.append((k, s))
        variables = []
        for entry in tape._entries:
            ins = []
            for t in entry.inputs:
                if id(t) not in slot_of:
                    if isinstance(t, Variable):
                        slot_of[id(t)] = s = code.input(f"<variable {len(variables)}>", t.shape)
                        variables.append((t, s))
                    else:
                        slot_of[id(t)] = code.constant_array(t.value)
                ins.append(slot_of[id(t)])
            slot_of[id(entry.out)] = code.op(entry.op.name, ins, entry.attrs, entry.out.shape)
        leaves, structure = _flatten(result)
        outputs = []
        for leaf in leaves:
            if isinstance(leaf, Tensor) and id(leaf) in slot_of:
                outputs.append(slot_of[id(leaf)])
            else:  # an output that does not depend on the arguments
                value = leaf.value if isinstance(leaf, Tensor) else np.asarray(leaf)
                outputs.append(code.constant_array(value))
        return TracedProgram(code, arg_slots, variables, outputs, structure)


def function(fn=None):
    """Decorator: trace ``fn`` once per input signature and replay the compiled program
    (``@gc.function`` or ``gc.function(fn)``)."""
    if fn is None:
        return function
    return Function(fn)


def _signature(args, kwargs):
    """(hashable key, tensor values by position/keyword) of a call."""
    key, tensors = [], {}
    for k, a in [*enumerate(args), *sorted(kwargs.items())]:
        if isinstance(a, Tensor | np.ndarray):
            value = a.value if isinstance(a, Tensor) else np.asarray(a)
            if value.dtype.kind != "f":
                value = value.astype(np.float64)
            tensors[k] = value
            key.append((k, "tensor", value.shape, value.dtype.str))
        else:
            try:
                hash(a)
            except TypeError:
                raise TypeError(f"gc.function arguments must be tensors, arrays or hashable "
                                f"values; got {type(a).__name__}") from None
            key.append((k, "value", type(a).__name__, a))
    return tuple(key), tensors


def _flatten(result):
    """(leaves, structure) of a tensor or a nested list/tuple/dict of them."""
    leaves = []

    def walk(x):
        if isinstance(x, list | tuple):
            return type(x), [walk(i) for i in x]
        if isinstance(x, dict):
            return dict, {k: walk(v) for k, v in x.items()}
        leaves.append(x)
        return None

    return leaves, walk(result)


def _rebuild(structure, leaves):
    if structure is None:
        return constant(next(leaves))
    kind, items = structure
    if kind is dict:
        return {k: _rebuild(v, leaves) for k, v in items.items()}
    built = [_rebuild(i, leaves) for i in items]
    return built if kind is list else tuple(built)
