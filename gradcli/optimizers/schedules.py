"""Learning-rate schedules, written on the command line as ``--decay TEXT``.

    exp:GAMMA          lr * GAMMA**k
    step:EVERY:GAMMA   lr * GAMMA**floor(k / EVERY)
    cosine:T_MAX       0.5 * lr * (1 + cos(pi * min(k, T_MAX) / T_MAX))
    inverse:K          lr / (1 + K * k)

``k`` is the number of updates done before the one the rate is for: 0 on the
first update. That is the count Keras and optax pass to a schedule, and
torch's epoch count when ``scheduler.step()`` follows every ``optimizer.step()``.

``cosine`` is the closed form with eta_min = 0 (torch's CosineAnnealingLR
computes the same values recursively). It is clamped at T_MAX, as Keras's
CosineDecay and optax's cosine_decay_schedule are: from update T_MAX on the rate
is 0, where torch's periodic cosine would rise again. ``inverse:K`` equals
torch Adagrad's ``lr_decay=K`` and legacy tf.keras's ``decay=K``.

A schedule is a callable ``schedule(base_lr, k) -> lr``; ``str(schedule)`` gives
its text back.

Keras's schedule classes, as ``learning_rate=`` of any optimizer (Keras 3's formulas and
argument names, computed in float32 as Keras computes them, or in ``dtype``):
``ExponentialDecay``, ``PiecewiseConstantDecay``, ``PolynomialDecay``,
``InverseTimeDecay``, ``CosineDecay`` (with ``alpha`` and a linear warmup). Each is
called with the step (the number of updates done) and gives the rate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SYNTAX = "exp:GAMMA, step:EVERY:GAMMA, cosine:T_MAX or inverse:K"


@dataclass(frozen=True)
class ExpSchedule:
    gamma: float

    def __call__(self, lr: float, k: int) -> float:
        """lr * gamma**k"""
        return lr * self.gamma ** k

    def __str__(self) -> str:
        return f"exp:{self.gamma!r}"


@dataclass(frozen=True)
class StepSchedule:
    every: int
    gamma: float

    def __call__(self, lr: float, k: int) -> float:
        """lr * gamma**floor(k / every)"""
        return lr * self.gamma ** (k // self.every)

    def __str__(self) -> str:
        return f"step:{self.every}:{self.gamma!r}"


@dataclass(frozen=True)
class CosineSchedule:
    t_max: int

    def __call__(self, lr: float, k: int) -> float:
        """0.5 * lr * (1 + cos(pi * min(k, t_max) / t_max))"""
        return 0.5 * lr * (1.0 + math.cos(math.pi * min(k, self.t_max) / self.t_max))

    def __str__(self) -> str:
        return f"cosine:{self.t_max}"


@dataclass(frozen=True)
class InverseSchedule:
    rate: float

    def __call__(self, lr: float, k: int) -> float:
        """lr / (1 + rate * k)"""
        return lr / (1.0 + self.rate * k)

    def __str__(self) -> str:
        return f"inverse:{self.rate!r}"


def parse_schedule(text: str):
    """The schedule written as ``text`` (see the module docstring); ValueError if malformed."""
    kind, *args = text.strip().split(":")
    kind = kind.lower()
    expected = {"exp": ["GAMMA"], "step": ["EVERY", "GAMMA"], "cosine": ["T_MAX"], "inverse": ["K"]}
    if kind not in expected:
        raise ValueError(f"unknown learning-rate schedule {text!r}: write {SYNTAX}")
    if len(args) != len(expected[kind]):
        form = ":".join([kind, *expected[kind]])
        raise ValueError(f"learning-rate schedule {text!r} should be written {form}")
    if kind == "exp":
        return ExpSchedule(_number(text, "GAMMA", args[0], positive=True))
    if kind == "step":
        every = _count(text, "EVERY", args[0])
        return StepSchedule(every, _number(text, "GAMMA", args[1], positive=True))
    if kind == "cosine":
        return CosineSchedule(_count(text, "T_MAX", args[0]))
    return InverseSchedule(_number(text, "K", args[0], positive=False))


def _number(text: str, name: str, arg: str, positive: bool) -> float:
    try:
        value = float(arg)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"learning-rate schedule {text!r}: {name} must be a number {bound}, "
                         f"got {arg!r}")
    return value


def _count(text: str, name: str, arg: str) -> int:
    try:
        value = int(arg)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"learning-rate schedule {text!r}: {name} must be a whole number "
                         f"of steps > 0, got {arg!r}")
    return value


# -- Keras's schedule classes ----------------------------------------------------------------
class LearningRateSchedule:
    """Keras's base class: ``schedule(step) -> rate``; as an optimizer's ``learning_rate``."""

    def __call__(self, step) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        return dict(self._config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config.items())
        return f"{type(self).__name__}({args})"

    def _setup(self, dtype, **config):
        self._config = config
        self._f = np.dtype(dtype).type
        if np.dtype(dtype).kind != "f":
            raise ValueError(f"a schedule computes in float32 or float64, not {dtype}")

    def _step(self, step):
        if isinstance(step, bool) or not float(step) >= 0 or not math.isfinite(float(step)):
            raise ValueError(f"{type(self).__name__}: the step must be a number >= 0, got {step!r}")
        return self._f(step)


def _positive(cls, name, value, integer=False):
    ok = isinstance(value, int | float | np.number) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0 or (integer and int(value) != value):
        kind = "a whole number" if integer else "a number"
        raise ValueError(f"{cls}: {name} must be {kind} > 0, got {value!r}")
    return value


def _finite(cls, name, value):
    if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not math.isfinite(value):
        raise ValueError(f"{cls}: {name} must be a finite number, got {value!r}")
    return value


class _DecayEverySteps(LearningRateSchedule):
    """The shared form of ExponentialDecay and InverseTimeDecay: Keras's four arguments and
    p = step / decay_steps (floored with staircase); ``_rate(initial, decay_rate, p)``."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name=None, dtype="float32"):
        cls = type(self).__name__
        _positive(cls, "decay_steps", decay_steps)
        self._setup(dtype, initial_learning_rate=_finite(cls, "initial_learning_rate",
                                                         initial_learning_rate),
                    decay_steps=decay_steps,
                    decay_rate=_finite(cls, "decay_rate", decay_rate),
                    staircase=bool(staircase), name=name or cls)

    def __call__(self, step) -> float:
        f, c = self._f, self._config
        p = self._step(step) / f(c["decay_steps"])
        if c["staircase"]:
            p = np.floor(p)
        return float(self._rate(f(c["initial_learning_rate"]), f(c["decay_rate"]), p))


class ExponentialDecay(_DecayEverySteps):
    """initial_learning_rate * decay_rate ** (step / decay_steps) (the exponent floored with
    staircase), as keras.optimizers.schedules.ExponentialDecay."""

    @staticmethod
    def _rate(initial, decay_rate, p):
        return initial * np.power(decay_rate, p)


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] up to boundaries[0] (inclusive), values[i] for boundaries[i-1] < step <=
    boundaries[i], values[-1] after the last boundary, as Keras's PiecewiseConstantDecay."""

    def __init__(self, boundaries, values, name="PiecewiseConstant", dtype="float32"):
        boundaries, values = list(boundaries), list(values)
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay: {len(values)} values for "
                             f"{len(boundaries)} boundaries: give one more value than boundaries")
        for b in boundaries:
            _finite("PiecewiseConstantDecay", "a boundary", b)
        if any(b2 <= b1 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError("PiecewiseConstantDecay: boundaries must increase")
        for v in values:
            _finite("PiecewiseConstantDecay", "a value", v)
        self._setup(dtype, boundaries=boundaries, values=values, name=name)

    def __call__(self, step) -> float:
        x = self._step(step)
        boundaries, values = self._config["boundaries"], self._config["values"]
        for b, v in zip(boundaries, values):
            if x <= self._f(b):
                return float(self._f(v))
        return float(self._f(values[-1]))


class PolynomialDecay(LearningRateSchedule):
    """(initial - end) * (1 - step / decay_steps) ** power + end, the step held at decay_steps
    (or, with cycle, decay_steps stretched to the next multiple), as Keras's PolynomialDecay."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay", dtype="float32"):
        _positive("PolynomialDecay", "decay_steps", decay_steps)
        self._setup(dtype, initial_learning_rate=_finite("PolynomialDecay",
                                                         "initial_learning_rate",
                                                         initial_learning_rate),
                    decay_steps=decay_steps,
                    end_learning_rate=_finite("PolynomialDecay", "end_learning_rate",
                                              end_learning_rate),
                    power=_finite("PolynomialDecay", "power", power), cycle=bool(cycle),
                    name=name)

    def __call__(self, step) -> float:
        f, c = self._f, self._config
        initial, end = f(c["initial_learning_rate"]), f(c["end_learning_rate"])
        x, steps = self._step(step), f(c["decay_steps"])
        if c["cycle"]:
            steps = steps * (f(1.0) if x == 0 else np.ceil(x / f(c["decay_steps"])))
        else:
            x = np.minimum(x, steps)
        p = x / steps
        return float((initial - end) * np.power(f(1.0) - p, f(c["power"])) + end)


class InverseTimeDecay(_DecayEverySteps):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps) (the quotient floored
    with staircase), as Keras's InverseTimeDecay."""

    def _rate(self, initial, decay_rate, p):
        return initial / (self._f(1.0) + decay_rate * p)


class CosineDecay(LearningRateSchedule):
    """Keras's CosineDecay: a linear warmup from initial_learning_rate to warmup_target over
    warmup_steps (if warmup_target is given), then decay_from * ((1 - alpha) * 0.5 *
    (1 + cos(pi * min(step, decay_steps) / decay_steps)) + alpha)."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0, dtype="float32"):
        _positive("CosineDecay", "decay_steps", decay_steps)
        if warmup_target is not None:
            _finite("CosineDecay", "warmup_target", warmup_target)
        if isinstance(warmup_steps, bool) or not warmup_steps >= 0:
            raise ValueError(f"CosineDecay: warmup_steps must be >= 0, got {warmup_steps!r}")
        self._setup(dtype, initial_learning_rate=_finite("CosineDecay", "initial_learning_rate",
                                                         initial_learning_rate),
                    decay_steps=decay_steps, alpha=_finite("CosineDecay", "alpha", alpha),
                    name=name, warmup_target=warmup_target, warmup_steps=warmup_steps)

    def _decay(self, step, decay_steps, decay_from):
        f = self._f
        fraction = step / decay_steps
        decayed = f(0.5) * (f(1.0) + np.cos(f(math.pi) * fraction))
        return decay_from * (f(1 - self._config["alpha"]) * decayed + f(self._config["alpha"]))

    def __call__(self, step) -> float:
        f, c = self._f, self._config
        initial, steps, x = f(c["initial_learning_rate"]), f(c["decay_steps"]), self._step(step)
        if c["warmup_target"] is None:
            return float(self._decay(np.minimum(x, steps), steps, initial))
        target, warmup = f(c["warmup_target"]), f(c["warmup_steps"])
        x = np.minimum(x, steps + warmup)
        if x < warmup:
            return float((target - initial) * (x / warmup) + initial)
        return float(self._decay(x - warmup, steps, target))


class KerasSchedule:
    """A Keras-style schedule as the optimizers call schedules: ``(lr, k) -> schedule(k)``."""

    def __init__(self, schedule: LearningRateSchedule):
        self.schedule = schedule

    def __call__(self, lr: float, k: int) -> float:
        return self.schedule(k)

    def __str__(self) -> str:
        return repr(self.schedule)
