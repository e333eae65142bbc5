"""The optimizer core: clip -> maximize -> schedule -> decay -> step, over flat numpy arrays.

Every optimizer follows ``torch.optim``'s update rule and defaults (torch 2.13's: SGD's
learning rate is 1e-3). ``compat="keras"`` switches to Keras 3's rules and defaults:
SGD's learning rate 0.01, Adam's "epsilon hat" (1e-7, added to sqrt(v) after the bias
correction has gone into the step size), RMSprop's rho 0.9 with epsilon inside
the square root, Adagrad's 0.1 initial accumulator with epsilon inside the
square root, Nadam's 0.96**t momentum schedule, the learning rate inside the
momentum buffers, and decoupled weight decay for every optimizer.

One update (``Optimizer.update``), with k the number of updates done before it
and t = k + 1 the step number of bias corrections:

    1. grad_norm = ||g||                               (reported; before clipping)
    2. g <- clip(g, -clip_value, clip_value)  or  g * C / max(||g||, C)  (clipping.py)
    3. g <- -g                                         if maximize
    4. lr_k = schedule(lr, k)                          (schedules.py)
    5. weight decay wd:  torch  g <- g + wd * p        (L2 in the gradient)
                         torch, decoupled (AdamW)  p <- p * (1 - lr_k * wd)
                         keras  p <- p - p * wd * lr_k (every optimizer, before its rule)
    6. the optimizer's rule (the docstring of its ``_step``; rules.py, newton.py)

Arithmetic on arrays is done in the optimizer's dtype (that of the first
parameters it sees, unless given): with float32 every array operation rounds to
float32. Per-step scalars (lr_k, bias corrections) are Python floats, rounded to
the dtype where they meet an array, as torch's scalar arguments are.

The rules are plain formulas: ``_step(xp, p, g, lr, t, s)`` does arithmetic with
operators and calls the few functions it needs from the namespace ``xp``
(``xp.sqrt``, ``xp.maximum``, ``xp.clip``, ``xp.sign``, ``xp.where``, ``xp.is_first(t)``).
``update`` passes ``ARRAYS`` (numpy on the arrays, math on the per-step Python
scalars); ``float_stepper`` (float_step.py) passes Python-float math or a tracer's
namespace that writes the operations out as the source of one function.
"""
from __future__ import annotations

import math

import numpy as np

from . import COMPATS
from .clipping import clip_scale, global_norm
from .keras import accept_keras_names, clip_each
from .schedules import KerasSchedule, LearningRateSchedule, parse_schedule


class ARRAYS:
    """The rules' primitives on numpy arrays (math on the per-step Python scalars, which
    stay Python floats: weak scalars that round to the arrays' dtype where they meet)."""

    @staticmethod
    def sqrt(x):
        return math.sqrt(x) if type(x) is float else np.sqrt(x)

    maximum = staticmethod(np.maximum)  # nan propagated
    sign = staticmethod(np.sign)
    where = staticmethod(np.where)
    minimum = staticmethod(np.minimum)

    @staticmethod
    def clip(g, c):
        """min(max(g, -c), c), nan kept."""
        return np.clip(g, -c, c)

    @staticmethod
    def is_first(t) -> bool:
        """Whether step t is the first (SGD's momentum buffer starts as the gradient)."""
        return t == 1


class Optimizer:
    """Clipping, maximize, schedule, weight decay and the step count; subclasses give ``_step``."""

    name = "optimizer"
    DEFAULTS: dict = {"torch": {}, "keras": {}}  # per compat: values for arguments left None
    HYPER: tuple = ()  # the subclass's own hyper-parameters, for config()
    COMMON: tuple = ("lr", "weight_decay", "maximize", "compat", "schedule", "clip_norm",
                     "clip_value", "dtype")  # the options of this class that make() passes
    needs_hessian = False
    elementwise = True  # the rule acts on each coordinate alone (float_step.py can run it)

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if "__init__" in cls.__dict__:  # Keras's argument names, translated (keras.py)
            cls.__init__ = accept_keras_names(cls.__init__)

    def __init__(self, lr=None, *, weight_decay=None, maximize=False, compat="torch",
                 schedule=None, clip_norm=None, clip_value=None, dtype=None, learning_rate=None,
                 clip_each=None):
        """``learning_rate`` is Keras's name for ``lr`` (give one of them); Keras's other
        names (beta_1, epsilon, clipnorm, ...) are translated (keras.py). ``clip_each``:
        each variable's gradient clipped to this norm alone (Keras's clipnorm)."""
        if learning_rate is not None:
            if lr is not None:
                raise ValueError("give lr or learning_rate, not both")
            lr = learning_rate
        if isinstance(lr, LearningRateSchedule):  # Keras: a schedule object as the rate
            if schedule is not None:
                raise ValueError("give a schedule as learning_rate or as schedule, not both")
            lr, schedule = lr(0), KerasSchedule(lr)
        if compat not in COMPATS:
            raise ValueError(f"compat must be 'torch' or 'keras', got {compat!r}")
        self.compat = compat
        self.lr = _number("lr", self._default("lr", lr))
        self.weight_decay = _number("weight_decay", self._default("weight_decay", weight_decay))
        self.decoupled_weight_decay = False
        self.maximize = bool(maximize)
        self.schedule = parse_schedule(schedule) if isinstance(schedule, str) else schedule
        if sum(c is not None for c in (clip_norm, clip_value, clip_each)) > 1:
            raise ValueError("give one of clip_norm, clip_value and clip_each, not both or all "
                             "three (as Keras)")
        self.clip_each = _optional("clip_each", clip_each)
        self.clip_norm = _optional("clip_norm", clip_norm)
        self.clip_value = _optional("clip_value", clip_value)
        self.dtype = None if dtype is None else _float_dtype(dtype)
        self.iterations = 0  # updates done
        self.last_lr = None  # the rate the last update used
        self.last_grad_norm = None  # the norm of the last update's gradient, before clipping
        self._state = None  # name -> array, in the layout of the parameters
        self._shape = None  # update(): the parameters' shape
        self._variables = []  # apply_gradients: variables in the order of the flat state
        self._offsets = {}  # id(variable) -> its offset in the flat state
        self._hessian = None

    def _default(self, name, value):
        if value is not None:
            return value
        return {"weight_decay": 0.0, **self.DEFAULTS[self.compat]}[name]

    # -- the learning rate ---------------------------------------------------
    def lr_at(self, k: int) -> float:
        """The rate of the update that follows k updates: schedule(lr, k), or lr."""
        return self.lr if self.schedule is None else float(self.schedule(self.lr, k))

    @property
    def current_lr(self) -> float:
        """The rate the next update will use."""
        return self.lr_at(self.iterations)

    # -- the flat core -------------------------------------------------------
    def update(self, params, grads, hessian=None) -> np.ndarray:
        """New parameters after one step from ``params`` (left unchanged) along ``grads``."""
        if self.dtype is None:
            self.dtype = _float_dtype(np.asarray(params).dtype, fallback=True)
        p = np.array(params, dtype=self.dtype)
        g = np.asarray(grads, dtype=self.dtype)
        if g.shape != p.shape:
            raise ValueError(f"gradient shape {g.shape} differs from parameter shape {p.shape}")
        if self.clip_each is not None:
            g = clip_each([g], self.clip_each)[0]
        if self._shape is None:
            if self._variables:
                raise ValueError("this optimizer is in use by apply_gradients; make another one")
            self._shape = p.shape
            self._state = self._new_state(p.shape)
        elif p.shape != self._shape:
            raise ValueError(f"this optimizer holds state for parameters of shape "
                             f"{self._shape}, not {p.shape}")
        return self._apply(p, g, self._state, hessian)

    def _apply(self, p, g, state, hessian):
        if self.needs_hessian and hessian is None:
            raise ValueError(f"{self.name} needs a hessian callable")
        with np.errstate(all="ignore"):  # divergence shows as inf/nan; the caller reports it
            lr, scale = self._begin(global_norm([g]))
            self._hessian = hessian
            p = self._element(ARRAYS, p, g, lr, self.iterations + 1, state, scale)
            self._hessian = None
        self.iterations += 1
        self.last_lr = lr
        return p

    def _begin(self, norm):
        """Steps 1 and 4, and step 2's scale: (lr_k, C / max(norm, C) or None)."""
        self.last_grad_norm = float(norm)
        lr = self.lr_at(self.iterations)
        if self.clip_norm is None or self.clip_value is not None:
            return lr, None
        return lr, clip_scale(norm, self.clip_norm)

    def _element(self, xp, p, g, lr, t, s, scale):
        """Steps 2, 3, 5 and 6 on an array, or on one coordinate as Python floats."""
        if self.clip_value is not None:
            g = xp.clip(g, self.clip_value)
        elif scale is not None:
            g = g * scale
        if self.maximize:
            g = -g
        wd = self.weight_decay
        if wd and self.compat == "keras":
            p = p - p * wd * lr
        elif wd and self.decoupled_weight_decay:
            p = p * (1.0 - lr * wd)
        elif wd:
            g = g + wd * p
        return self._step(xp, p, g, lr, t, s)

    # -- the same update on Python floats ---------------------------------------
    def float_stepper(self, n: int):
        """``step(p, g[, norm]) -> new p`` on lists of n Python floats, or None if not
        available: the same ``_element``/``_step`` code as ``update``, bit for bit, at a
        fraction of numpy's per-call cost for a few variables (float_step.py says how)."""
        from .float_step import float_stepper

        return float_stepper(self, n)

    def array_stepper(self, shape):
        """``step(p, g, norm) -> new p`` on float64 arrays of ``shape``, or None where ``update``
        is needed (a Hessian, per-variable clipping, float32, state already in use): the
        same ``_element``/``_step`` code as ``update``, bit for bit, without its per-call checks,
        copy and error-state context (the run loop's, once per step, on vectors of many
        variables). ``norm`` is ``global_norm([g])``. The optimizer is taken, as by update."""
        if (self.needs_hessian or self.clip_each is not None or self._variables
                or self._shape is not None or self.dtype not in (None, np.float64)):
            return None
        from ..tensor import quiet

        self.dtype = np.dtype(np.float64)

        state = self._state = self._new_state(tuple(shape))
        self._shape = ("array_stepper", tuple(shape))  # update() and apply_gradients refuse
        from .float_step import array_step

        generated = array_step(self, state, ARRAYS)  # the rule traced once, run on the vectors
        if generated is not None:
            return generated
        element, begin = self._element, self._begin

        def step(p, g, norm):
            lr, scale = begin(norm)
            with quiet():  # divergence shows as inf/nan; the caller reports it
                p = element(ARRAYS, p, g, lr, self.iterations + 1, state, scale)
            self.iterations += 1
            self.last_lr = lr
            return p

        return step

    def _new_state(self, shape) -> dict:
        """name -> initial array of the given shape (the optimizer's buffers)."""
        return {}

    def _step(self, xp, p, g, lr, t, s):
        """The rule: new p from p, the gradient g, the rate lr, the step number t and the
        buffers s (written in place), with the primitives of the namespace xp."""
        raise NotImplementedError

    # -- the Keras-style API -------------------------------------------------
    def apply_gradients(self, grads_and_vars) -> int:
        """Update each variable along its gradient, as Keras: ``grads_and_vars`` holds
        (gradient, gc.Variable) pairs; a None gradient is skipped with a warning. Returns
        the number of updates done. (variables.py: the checks, and the update on flat
        arrays or, for a few float64 scalars, on Python floats with the same bits.)"""
        from .variables import apply_gradients

        return apply_gradients(self, grads_and_vars)

    def minimize(self, loss_fn, var_list, tape=None) -> int:
        """One step, as tf.keras's minimize: ``loss_fn`` a callable without arguments (its
        gradient taken on a tape here), or a loss tensor with the ``tape`` that recorded it;
        ``var_list`` the variables (or a callable giving them)."""
        from ..tape import GradientTape

        from ..tensor import Tensor

        if callable(var_list):
            var_list = var_list()
        if isinstance(var_list, Tensor) or not hasattr(var_list, "__iter__"):
            raise TypeError(f"minimize: var_list is a list of gc.Variables (or a function "
                            f"giving one), got {type(var_list).__name__}: write [v]")
        var_list = list(var_list)
        if tape is not None:
            if callable(loss_fn):
                raise TypeError("minimize: with a tape, give the loss tensor it recorded, not "
                                "a function")
            loss = loss_fn
        elif not callable(loss_fn):
            raise TypeError("minimize: the loss is a function without arguments (or a tensor "
                            "with tape=, the GradientTape that recorded it)")
        else:
            with GradientTape() as tape:
                tape.watch(var_list)
                loss = loss_fn()
        return self.apply_gradients(zip(tape.gradient(loss, var_list), var_list))

    # -- description -----------------------------------------------------------
    def config(self) -> dict:
        """Every hyper-parameter, defaults resolved."""
        names = ("compat", "lr", *self.HYPER, "weight_decay", "maximize")
        out = {n: getattr(self, n) for n in names}
        out.update(schedule=None if self.schedule is None else str(self.schedule),
                   clip_norm=self.clip_norm, clip_value=self.clip_value)
        if self.clip_each is not None:
            out["clip_each"] = self.clip_each
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"



def _number(name: str, value, positive: bool = False, upper: float = math.inf) -> float:
    """value as a float, checked: finite, >= 0 (> 0 when positive), <= upper."""
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    value = float(value) if ok else math.nan
    if not (0 <= value <= upper and math.isfinite(value)) or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        if upper < math.inf:
            bound += f" and <= {upper:g}"
        raise ValueError(f"{name} must be a finite number {bound}")
    return value


def _optional(name: str, value) -> float | None:
    return None if value is None else _number(name, value, positive=True)


def _betas(betas) -> tuple:
    try:
        b1, b2 = (float(b) for b in betas)
    except (TypeError, ValueError):
        raise ValueError(f"betas must be two numbers, got {betas!r}") from None
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise ValueError(f"betas must be in [0, 1), got ({b1!r}, {b2!r})")
    return b1, b2


def _float_dtype(dtype, fallback: bool = False) -> np.dtype:
    """np.dtype of a float type; with fallback, non-float types (int arrays) give float64."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        if fallback:
            return np.dtype(np.float64)
        raise ValueError(f"unsupported dtype {dt}: use float64 or float32")
    return dt
