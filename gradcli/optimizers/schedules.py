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
"""
from __future__ import annotations

import math
from dataclasses import dataclass

SYNTAX = "exp:GAMMA, step:EVERY:GAMMA, cosine:T_MAX or inverse:K"


@dataclass(frozen=True)
class ExponentialDecay:
    gamma: float

    def __call__(self, lr: float, k: int) -> float:
        """lr * gamma**k"""
        return lr * self.gamma ** k

    def __str__(self) -> str:
        return f"exp:{self.gamma!r}"


@dataclass(frozen=True)
class StepDecay:
    every: int
    gamma: float

    def __call__(self, lr: float, k: int) -> float:
        """lr * gamma**floor(k / every)"""
        return lr * self.gamma ** (k // self.every)

    def __str__(self) -> str:
        return f"step:{self.every}:{self.gamma!r}"


@dataclass(frozen=True)
class CosineDecay:
    t_max: int

    def __call__(self, lr: float, k: int) -> float:
        """0.5 * lr * (1 + cos(pi * min(k, t_max) / t_max))"""
        return 0.5 * lr * (1.0 + math.cos(math.pi * min(k, self.t_max) / self.t_max))

    def __str__(self) -> str:
        return f"cosine:{self.t_max}"


@dataclass(frozen=True)
class InverseTimeDecay:
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
        return ExponentialDecay(_number(text, "GAMMA", args[0], positive=True))
    if kind == "step":
        every = _count(text, "EVERY", args[0])
        return StepDecay(every, _number(text, "GAMMA", args[1], positive=True))
    if kind == "cosine":
        return CosineDecay(_count(text, "T_MAX", args[0]))
    return InverseTimeDecay(_number(text, "K", args[0], positive=False))


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
