"""``gc.function``: trace a Python function of tensors into compiled programs, replay them
(the counterpart of ``tf.function``).

    @gc.function
    def f(x, y):
        return gc.sin(x) * y + x ** 2

    f(gc.constant([1.0, 2.0]), gc.constant([3.0, 4.0]))   # traced, then replayed
    f(gc.constant([5.0, 6.0]), gc.constant([7.0, 8.0]))   # replayed: same signature
    f(gc.constant(1.0), gc.constant(2.0))                 # a new shape: traced again

The signature of a call is the shape and dtype of every tensor or array argument,
the identity of every Variable argument, and the value of every other argument
(Python numbers included, as in ``tf.function``: ``f(x, 2)`` and ``f(x, 3)`` are two
traces, and ``x ** n`` keeps its exact integer power). Tracing runs the function once
on the call's own values under a GradientTape, which records every op; the recorded
ops become a straight-line program (gradcli/compiled/code.py) that later calls replay
with numpy alone.

Variables (trainable or not) the function reads are captured by reference: a replay
reads their current value, so ``assign`` between calls is seen. ``assign``,
``assign_add`` and ``assign_sub`` inside the function are part of the program: every
call performs them (tracing itself leaves the variables as they were).

Python control flow on tensor values: ``if x > 0:`` (the truth value of a traced
tensor) is *guarded*: the trace notes the value it took, every replay checks it, and
a call on which a guard fails traces the function again for the other branch
(``while`` loops the same way, one trace per number of iterations), so the branch
taken is always the one the call's values take. Reading a traced tensor's number
(``float(x)``, ``int(x)``, ``x.numpy()``, ``np.asarray(x)``, and a traced tensor's or a
Variable's ``.value`` array reaching an op) is an error naming the line
(``gc.TracingError``), as in TensorFlow: a compiled program cannot depend on it.

Under an active GradientTape a call runs the Python function eagerly instead, so
that the tape records each op with its gradient rule (nested tapes and higher
orders keep working, with the same values); the compiled programs are for calls
outside tapes. As with ``tf.function``, other Python side effects (printing,
appending to a list) happen during tracing only.
"""
from __future__ import annotations

import functools
import os
import sys

import numpy as np

from ..tape import GradientTape
from ..tensor import STATE, VARIABLES, Read, Tensor, TracingError, Variable, constant, key_of
from .code import Code
from .replay import bind, run

MAX_TRACES_PER_SIGNATURE = 64
_MISS = object()
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_NUMPY = os.path.dirname(os.path.abspath(np.__file__))  # np.mean(x) calls back from inside


class TracedProgram:
    """One trace: the program, the argument slots, the guards, and how to rebuild outputs."""

    def __init__(self, code: Code, arg_slots, variables, outputs, structure, guards, writes):
        self.code = code
        self.arg_slots = arg_slots      # (position or keyword, slot) per tensor argument
        self.variables = variables      # (Variable, slot): read when a replay starts
        self.outputs = outputs          # slot per output leaf
        self.structure = structure      # the output's nesting, leaves as None
        self.guards = guards            # (slot, truth value the trace saw)
        self.writes = writes            # (Variable, slot of its value when the call ends)
        kept = [*outputs, *(s for s, _ in guards), *(s for _, s in writes)]
        self.bound = bind(code.needed(kept), kept)

    @property
    def ops(self) -> list[str]:
        """The op names the replay runs, in order."""
        kept = [*self.outputs, *(s for s, _ in self.guards), *(s for _, s in self.writes)]
        return [instr[1] for instr in self.code.needed(kept)]

    def run(self, tensors: dict) -> list:
        """The slots after one run of the program on these values (guards not looked at)."""
        slots = [None] * self.code.size
        for s, v in self.code.consts.items():
            slots[s] = v
        for key, s in self.arg_slots:
            slots[s] = tensors[key]
        for var, s in self.variables:
            slots[s] = var.value
        run(self.bound, slots)
        return slots

    def replay(self, tensors: dict):
        """The outputs, or _MISS where a guard does not hold for these values."""
        slots = self.run(tensors)
        for s, want in self.guards:
            if bool(slots[s]) != want:
                return _MISS
        for var, s in self.writes:
            var.assign(slots[s])
        leaves = iter(slots[s] for s in self.outputs)
        return _rebuild(self.structure, leaves)


class _Trace:
    """What a running trace notes: guards, reads of values, assignments (STATE.trace)."""

    def __init__(self, tape: GradientTape):
        self.tape = tape
        self.guards: list[tuple] = []       # (tensor, truth value)
        self.saved: dict[int, tuple] = {}   # id(var) -> (var, value before the first assign)
        self.aliases: dict[int, tuple] = {}  # id(Read) -> (Read, what was assigned)

    def is_traced(self, t) -> bool:
        if isinstance(t, Variable):
            return True
        return isinstance(t, Tensor) and key_of(t) in self.tape._watched

    def condition(self, t) -> bool:
        value = bool(t.value)  # an array raises as numpy does
        if self.is_traced(t):
            self.guards.append((t.read() if isinstance(t, Variable) else t, value))
        return value

    def value_read(self, t, what: str) -> None:
        if self.is_traced(t):
            raise TracingError(
                f"gc.function: {what} of a traced tensor at {_user_line()}: its value is known "
                f"only when the function is called, and a compiled program cannot depend on it "
                f"(branch with `if` on a tensor instead, which is guarded, or call the Python "
                f"function without gc.function)")

    def raw_array(self, arr: np.ndarray) -> None:
        """A numpy array made into a tensor while tracing: an error if it is (a view of) the
        ``.value`` of a traced tensor or of a Variable, which the program would freeze."""
        bases, a = set(), arr
        while isinstance(a, np.ndarray):
            bases.add(id(a))
            a = a.base
        variables = [r() for r in list(VARIABLES.data)]  # one C-level copy: other threads
        for t in [*self.tape._watched.values(), *variables]:  # may add Variables meanwhile
            if t is not None and id(t.value) in bases:
                what = "a Variable" if isinstance(t, Variable) else "a traced tensor"
                raise TracingError(
                    f"gc.function: the .value of {what} at {_user_line()}: a compiled program "
                    f"would keep the value it had when traced (use the tensor or Variable "
                    f"itself in the op, or read_value())")

    def assigning(self, var: Variable) -> None:
        if id(var) not in self.saved:
            self.saved[id(var)] = (var, var.value)

    def assigned(self, var: Variable, value) -> None:
        if isinstance(value, Variable):
            value = value.read()
        r = var.read()
        self.aliases[id(r)] = (r, value)

    def restore(self) -> None:
        for var, value in self.saved.values():
            var.value = value
            var._read = None


def _user_line() -> str:
    """file:line of the innermost caller outside the gradcli and numpy packages."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
            (_PACKAGE, _NUMPY)):
        frame = frame.f_back
    if frame is None:
        return "an unknown line"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} (in {frame.f_code.co_name})"


class Function:
    """A Python function of gradcli tensors, traced per input signature and branch."""

    def __init__(self, fn):
        self.python_function = fn
        self.traces = 0                 # how many times the function was traced
        self._programs: dict[tuple, list[TracedProgram]] = {}
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if STATE.tapes:
            return self.python_function(*args, **kwargs)
        key, tensors = _signature(args, kwargs)
        programs = self._programs.setdefault(key, [])
        for program in programs:
            out = program.replay(tensors)
            if out is not _MISS:
                return out
        if len(programs) >= MAX_TRACES_PER_SIGNATURE:
            raise RuntimeError(
                f"gc.function: {self.__name__} was traced {len(programs)} times for one input "
                f"signature (its Python control flow takes that many paths on tensor values); "
                f"call the Python function without gc.function")
        program = self._trace(args, kwargs, tensors)
        programs.append(program)
        out = program.replay(tensors)
        if out is _MISS:
            raise RuntimeError("gc.function: a fresh trace does not hold for its own values "
                               "(a condition on nan?); call the function without gc.function")
        return out

    def program_for(self, *args, **kwargs) -> TracedProgram:
        """The traced program these arguments replay (traced now if new)."""
        key, tensors = _signature(args, kwargs)
        programs = self._programs.setdefault(key, [])
        for program in programs:
            if all(bool(v) == want for v, want in _guard_values(program, tensors)):
                return program
        programs.append(self._trace(args, kwargs, tensors))
        return programs[-1]

    def _trace(self, args, kwargs, tensors) -> TracedProgram:
        self.traces += 1
        standins = {k: constant(v, v.dtype) for k, v in tensors.items()}
        call_args = [standins.get(i, a) for i, a in enumerate(args)]
        call_kwargs = {k: standins.get(k, v) for k, v in kwargs.items()}
        tape = GradientTape(persistent=True)
        tape._watch_all = True
        trace = _Trace(tape)
        outer, STATE.trace = STATE.trace, trace
        try:
            with tape:
                tape.watch(list(standins.values()))
                result = self.python_function(*call_args, **call_kwargs)
            return _program(tape, trace, standins, result)
        finally:
            STATE.trace = outer
            trace.restore()


def _program(tape, trace: _Trace, standins: dict, result) -> TracedProgram:
    code = Code(np.float64)
    slot_of: dict[int, int] = {}
    arg_slots, variables = [], {}
    for k, t in standins.items():
        slot_of[id(t)] = s = code.input(f"<arg {k}>", t.shape)
        arg_slots.append((k, s))

    def slot(t) -> int:
        if isinstance(t, Variable):
            t = t.read()
        if not isinstance(t, Tensor):
            return code.constant_array(np.asarray(t))
        s = slot_of.get(id(t))
        if s is not None:
            return s
        if type(t) is Read:
            alias = trace.aliases.get(id(t))
            if alias is not None:  # the value of an assign made inside the function
                s = slot(alias[1]) if isinstance(alias[1], Tensor) else code.constant_array(
                    np.array(alias[1], dtype=t.value.dtype))
            else:  # the variable's value when the call begins
                var = t.source
                if id(var) not in variables:
                    variables[id(var)] = (var, code.input(f"<variable {len(variables)}>",
                                                          var.shape))
                s = variables[id(var)][1]
        else:
            s = code.constant_array(t.value)
        slot_of[id(t)] = s
        return s

    for entry in tape._entries:
        ins = [slot(t) for t in entry.inputs]
        slot_of[id(entry.out)] = code.op(entry.op.name, ins, entry.attrs, entry.out.shape)
    leaves, structure = _flatten(result)
    outputs = [slot(leaf) for leaf in leaves]
    guards = [(slot(t), value) for t, value in trace.guards]
    writes = [(var, slot(var.read())) for var, _ in trace.saved.values()]
    return TracedProgram(code, arg_slots, list(variables.values()), outputs, structure,
                         guards, writes)


def _guard_values(program: TracedProgram, tensors):
    slots = program.run(tensors)
    return [(slots[s], want) for s, want in program.guards]


def function(fn=None):
    """Decorator: trace ``fn`` per input signature and replay the compiled program
    (``@gc.function`` or ``gc.function(fn)``)."""
    if fn is None:
        return function
    return Function(fn)


def _signature(args, kwargs):
    """(hashable key, tensor values by position/keyword) of a call."""
    key, tensors = [], {}
    for k, a in [*enumerate(args), *sorted(kwargs.items())]:
        if isinstance(a, Variable):  # captured by reference, like the variables it reads
            key.append((k, "variable", a))
        elif isinstance(a, Tensor | np.ndarray):
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
