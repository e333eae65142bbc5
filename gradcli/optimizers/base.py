"""Gradient-descent optimizers: a core over flat numpy arrays, a Keras-style API on top.

Every optimizer follows ``torch.optim``'s update rule and defaults, except SGD's
default learning rate (0.01, Keras's). ``compat="keras"`` switches to Keras 3's
rules and defaults: Adam's "epsilon hat" (1e-7, added to sqrt(v) after the bias
correction has gone into the step size), RMSprop's rho 0.9 with epsilon inside
the square root, Adagrad's 0.1 initial accumulator with epsilon inside the
square root, Nadam's 0.96**t momentum schedule, the learning rate inside the
momentum buffers, and decoupled weight decay for every optimizer.

One update (``Optimizer.update``), with k the number of updates done before it
and t = k + 1 the step number of bias corrections:

    1. grad_norm = ||g||                               (reported; before clipping)
    2. g <- clip(g, -clip_value, clip_value)  or  g * C / max(||g||, C)  (gradcli.clipping)
    3. g <- -g                                         if maximize
    4. lr_k = schedule(lr, k)                          (gradcli.schedules)
    5. weight decay wd:  torch  g <- g + wd * p        (L2 in the gradient)
                         torch, decoupled (AdamW)  p <- p * (1 - lr_k * wd)
                         keras  p <- p - p * wd * lr_k (every optimizer, before its rule)
    6. the optimizer's rule (the docstring of its ``_step``)

Arithmetic on arrays is done in the optimizer's dtype (that of the first
parameters it sees, unless given): with float32 every array operation rounds to
float32. Per-step scalars (lr_k, bias corrections) are Python floats, rounded to
the dtype where they meet an array, as torch's scalar arguments are.

Newton's method (``Newton``, ``needs_hessian = True``): ``update(params, grads,
hessian=f)`` receives a callable ``f(params) -> (n, n) array`` and ``_step`` reads it
as ``self._hessian``. The step, with H the exact Hessian at p (negated with maximize;
plus wd*I with torch-style weight decay) and lr the step size (default 1, schedules
apply; no line search):

    H positive definite (a Cholesky factorization succeeds):  p - lr * H^-1 g
    otherwise (Levenberg damping):  p - lr * (H + 2*mu*I)^-1 g,  mu the first of
        mu0 * 2**j, j = 0, 1, ..., for which H + mu*I is positive definite,
        mu0 = damping * max(1, max |H_ij|), damping = 1e-3
    H not finite: the step is nan (divergence)

Doubling the first mu that works keeps the smallest eigenvalue of the damped matrix at
mu or more, so the step is at most ||g|| / mu long; the larger mu, the closer the step
is to a gradient step of rate lr / (2*mu): where the Hessian is not positive definite
the method falls back toward gradient descent.

The element-wise rules (all but Newton) are written once, on values that are numpy
arrays or Python floats alike (``_sqrt``, ``_maximum``, ``_clip`` pick math or numpy).
``update`` calls them once on arrays; ``float_stepper(n)`` runs them on Python floats,
the fast path of a few variables: traced once (stand-in floats record each operation)
into the source of one function over the n coordinates, or, where a rule branches on a
value (NAdam's momentum product), called once per coordinate (see its docstring).
"""
from __future__ import annotations

import inspect
import math

import numpy as np

from .clipping import clip_scale, global_norm
from .schedules import parse_schedule

COMPATS = ("torch", "keras")
NAMES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "adamax", "nadam")
ALL_NAMES = (*NAMES, "newton")  # the first-order ones, then Newton's method


class Optimizer:
    """Clipping, maximize, schedule, weight decay and the step count; subclasses give ``_step``."""

    name = "optimizer"
    DEFAULTS: dict = {"torch": {}, "keras": {}}  # per compat: values for arguments left None
    HYPER: tuple = ()  # the subclass's own hyper-parameters, for config()
    needs_hessian = False

    def __init__(self, lr=None, *, weight_decay=None, maximize=False, compat="torch",
                 schedule=None, clip_norm=None, clip_value=None, dtype=None, learning_rate=None):
        """``learning_rate`` is Keras's name for ``lr`` (give one of them)."""
        if learning_rate is not None:
            if lr is not None:
                raise ValueError("give lr or learning_rate, not both")
            lr = learning_rate
        if compat not in COMPATS:
            raise ValueError(f"compat must be 'torch' or 'keras', got {compat!r}")
        self.compat = compat
        self.lr = _number("lr", self._default("lr", lr))
        self.weight_decay = _number("weight_decay", self._default("weight_decay", weight_decay))
        self.decoupled_weight_decay = False
        self.maximize = bool(maximize)
        self.schedule = parse_schedule(schedule) if isinstance(schedule, str) else schedule
        if clip_norm is not None and clip_value is not None:
            raise ValueError("give clip_norm or clip_value, not both (as Keras)")
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
            p = self._element(p, g, lr, self.iterations + 1, state, scale)
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

    def _element(self, p, g, lr, t, s, scale):
        """Steps 2, 3, 5 and 6 on an array, or on one coordinate as Python floats."""
        if self.clip_value is not None:
            g = _clip(g, self.clip_value)
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
        return self._step(p, g, lr, t, s)

    # -- the same update on Python floats ---------------------------------------
    def float_stepper(self, n: int):
        """``step(p, g[, norm]) -> new p`` on lists of n Python floats, or None if not available.

        The same ``_element``/``_step`` code as ``update``, run on floats instead of once
        on arrays: traced once into one generated function over the n coordinates
        (``step.source``; ``_generated_step``), or called once per coordinate where a
        rule cannot be traced. Every operation is the same IEEE float64
        operation, so the iterates are bit for bit those of ``update`` (the tests check
        it), at a fraction of numpy's per-call cost for a few variables. Available for
        float64 element-wise rules and n < 8 (numpy sums fewer than 8 squares in order,
        as ``sum`` does, so the norm is the same too). Where Python float arithmetic
        raises (a division by zero, an overflow, the root of a negative number), where
        numpy would give inf or nan, the step gives nan: the caller sees divergence.
        """
        if self.needs_hessian or n >= 8 or self._shape is not None or self._variables:
            return None
        if self.dtype is not None and self.dtype != np.float64:
            return None
        self.dtype = np.dtype(np.float64)
        self._shape = ("float_stepper", n)  # update() and apply_gradients now refuse
        states = [{k: float(v) for k, v in self._new_state(()).items()} for _ in range(n)]
        element, rule, begin, nan = self._element, self._step, self._begin, [math.nan] * n
        first, second = (states + [None, None])[:2]
        clip_by_norm = self.clip_norm is not None and self.clip_value is None
        # without clipping, maximize and weight decay, _element is _step and _begin is
        # (lr, None): skip the two calls on the hot path
        plain = (self.clip_value is None and self.clip_norm is None and not self.maximize
                 and not self.weight_decay)
        constant_lr = plain and self.schedule is None

        generated = _generated_step(self, n, clip_by_norm, constant_lr, states)
        if generated is not None:
            return generated

        def step(p, g, norm=None):
            if norm is None:
                norm = math.sqrt(sum([x * x for x in g]))
            t = self.iterations + 1
            try:
                if constant_lr:
                    self.last_grad_norm = norm
                    lr = self.lr
                    if n == 2:  # the common case of a few variables, without zip's overhead
                        new = [rule(p[0], g[0], lr, t, first), rule(p[1], g[1], lr, t, second)]
                    else:
                        new = [rule(a, b, lr, t, s) for a, b, s in zip(p, g, states)]
                else:
                    lr, scale = begin(norm)
                    if clip_by_norm:
                        scale = float(scale)
                    new = [element(a, b, lr, t, s, scale) for a, b, s in zip(p, g, states)]
            except (ArithmeticError, ValueError):
                new = nan
            self.iterations = t
            self.last_lr = lr
            return new

        return step

    def _new_state(self, shape) -> dict:
        """name -> initial array of the given shape (the optimizer's buffers)."""
        return {}

    def _step(self, p, g, lr, t, s):
        raise NotImplementedError

    # -- the Keras-style API -------------------------------------------------
    def apply_gradients(self, grads_and_vars) -> int:
        """Update each variable along its gradient (pairs with a None gradient are skipped).

        The variables are concatenated into one flat vector for ``update``'s
        arithmetic (so clip_norm is a global norm); each keeps its own slice of
        the optimizer's buffers across calls. Returns the number of updates done.
        """
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        if not pairs:
            raise ValueError("apply_gradients: no gradient to apply (every gradient is None)")
        values = [np.asarray(v.numpy()) for _, v in pairs]
        grads = [np.asarray(g.numpy() if hasattr(g, "numpy") else g) for g, _ in pairs]
        for x, g in zip(values, grads):
            if g.shape != x.shape:
                raise ValueError(f"gradient shape {g.shape} differs from its variable's "
                                 f"shape {x.shape}")
        if self.dtype is None:
            self.dtype = _float_dtype(np.result_type(*values), fallback=True)
        index = self._index([v for _, v in pairs], values)
        state = {name: a[index] for name, a in self._state.items()}
        p = np.concatenate([x.ravel() for x in values]).astype(self.dtype)
        new = self._apply(p, np.concatenate([g.ravel() for g in grads]).astype(self.dtype),
                          state, None)
        for name, a in state.items():
            self._state[name][index] = a
        start = 0
        for (_, v), x in zip(pairs, values):
            v.assign(new[start:start + x.size].reshape(x.shape))
            start += x.size
        return self.iterations

    def _index(self, variables, values) -> np.ndarray:
        """Positions of these variables in the flat state; new variables get fresh buffers."""
        if self._shape is not None:
            raise ValueError("this optimizer is in use by update(); make another one")
        if self._state is None:
            self._state = self._new_state((0,))
        for v, x in zip(variables, values):
            if id(v) not in self._offsets:
                self._offsets[id(v)] = (sum(n for _, n in self._offsets.values()), x.size)
                self._variables.append(v)  # keeps the id taken
                fresh = self._new_state((x.size,))
                for name in self._state:
                    self._state[name] = np.concatenate([self._state[name], fresh[name]])
        return np.concatenate([np.arange(o, o + n) for o, n in
                               (self._offsets[id(v)] for v in variables)])

    def minimize(self, loss_fn, var_list) -> int:
        """One step on loss_fn() (a callable without arguments): gradient on a tape, then apply."""
        from ..tape import GradientTape

        var_list = list(var_list)
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
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Gradient descent, with momentum, dampening (torch only) and Nesterov momentum."""

    name = "sgd"
    DEFAULTS = {"torch": {"lr": 0.01}, "keras": {"lr": 0.01}}
    HYPER = ("momentum", "dampening", "nesterov")

    def __init__(self, lr=None, momentum=0.0, dampening=0.0, nesterov=False, **common):
        super().__init__(lr, **common)
        self.momentum = _number("momentum", momentum)
        self.dampening = _number("dampening", dampening)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError("nesterov needs momentum > 0 and dampening 0")
        if self.compat == "keras" and self.dampening:
            raise ValueError("dampening is a torch.optim.SGD option; Keras's SGD has none")

    def _new_state(self, shape):
        return {"buf": np.zeros(shape, self.dtype)} if self.momentum else {}

    def _step(self, p, g, lr, t, s):
        """torch: b = g (t=1), mu*b + (1-tau)*g; p - lr*(g + mu*b if nesterov else b).
        keras: v = mu*v - lr*g; p + (mu*v - lr*g if nesterov else v)."""
        mu = self.momentum
        if not mu:
            return p - lr * g
        if self.compat == "keras":
            s["buf"] = v = s["buf"] * mu - g * lr
            return p + (v * mu - g * lr if self.nesterov else v)
        s["buf"] = b = 1.0 * g if t == 1 else s["buf"] * mu + (1.0 - self.dampening) * g
        return p - lr * (g + mu * b if self.nesterov else b)


class Adagrad(Optimizer):
    """Adagrad: steps scaled by the root of the summed squared gradients."""

    name = "adagrad"
    DEFAULTS = {"torch": {"lr": 1e-2, "eps": 1e-10, "initial_accumulator_value": 0.0},
                "keras": {"lr": 1e-3, "eps": 1e-7, "initial_accumulator_value": 0.1}}
    HYPER = ("eps", "initial_accumulator_value")

    def __init__(self, lr=None, eps=None, initial_accumulator_value=None, **common):
        super().__init__(lr, **common)
        self.eps = _number("eps", self._default("eps", eps))
        self.initial_accumulator_value = _number(
            "initial_accumulator_value",
            self._default("initial_accumulator_value", initial_accumulator_value))

    def _new_state(self, shape):
        return {"sum": np.full(shape, self.initial_accumulator_value, self.dtype)}

    def _step(self, p, g, lr, t, s):
        """s = s + g**2;  torch: p - lr * g / (sqrt(s) + eps);  keras: p - lr*g / sqrt(s + eps)."""
        s["sum"] = acc = s["sum"] + g * g
        if self.compat == "keras":
            return p - lr * g / _sqrt(acc + self.eps)
        return p - lr * (g / (_sqrt(acc) + self.eps))


class RMSprop(Optimizer):
    """RMSprop: steps scaled by a running root mean square of the gradients."""

    name = "rmsprop"
    DEFAULTS = {"torch": {"lr": 1e-2, "rho": 0.99, "eps": 1e-8},
                "keras": {"lr": 1e-3, "rho": 0.9, "eps": 1e-7}}
    HYPER = ("rho", "momentum", "eps", "centered")

    def __init__(self, lr=None, rho=None, momentum=0.0, eps=None, centered=False, **common):
        """rho is torch's ``alpha``, the smoothing constant of the mean square."""
        super().__init__(lr, **common)
        self.rho = _number("rho", self._default("rho", rho), upper=1.0)
        self.momentum = _number("momentum", momentum)
        self.eps = _number("eps", self._default("eps", eps))
        self.centered = bool(centered)

    def _new_state(self, shape):
        state = {"v": np.zeros(shape, self.dtype)}
        if self.centered:
            state["avg"] = np.zeros(shape, self.dtype)
        if self.momentum:
            state["buf"] = np.zeros(shape, self.dtype)
        return state

    def _step(self, p, g, lr, t, s):
        """v = rho*v + (1-rho)*g**2 (centered: minus avg**2);  torch: d = g / (sqrt(v) + eps),
        keras: d = lr*g / sqrt(v + eps);  momentum: b = mu*b + d, step b;  p - lr*step (torch)."""
        rho, mu, keras = self.rho, self.momentum, self.compat == "keras"
        s["v"] = v = s["v"] * rho + (1.0 - rho) * (g * g)
        if self.centered:
            s["avg"] = a = (rho * s["avg"] + (1.0 - rho) * g if keras
                            else s["avg"] + (1.0 - rho) * (g - s["avg"]))
            v = v - a * a
        d = lr * g / _sqrt(v + self.eps) if keras else g / (_sqrt(v) + self.eps)
        if mu:
            s["buf"] = d = s["buf"] * mu + d
        return p - d if keras else p - lr * d


class Adam(Optimizer):
    """Adam (and AMSGrad): bias-corrected first and second moment estimates."""

    name = "adam"
    DEFAULTS = {"torch": {"lr": 1e-3, "eps": 1e-8}, "keras": {"lr": 1e-3, "eps": 1e-7}}
    HYPER = ("betas", "eps", "amsgrad", "decoupled_weight_decay")

    def __init__(self, lr=None, betas=(0.9, 0.999), eps=None, amsgrad=False,
                 decoupled_weight_decay=False, **common):
        super().__init__(lr, **common)
        self.betas = _betas(betas)
        self.eps = _number("eps", self._default("eps", eps))
        self.amsgrad = bool(amsgrad)
        self.decoupled_weight_decay = bool(decoupled_weight_decay)

    def _new_state(self, shape):
        names = ("m", "v", "vmax") if self.amsgrad else ("m", "v")
        return {n: np.zeros(shape, self.dtype) for n in names}

    def _step(self, p, g, lr, t, s):
        """m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g**2 (amsgrad: max of all v);
        torch: p - lr/(1-b1**t) * m / (sqrt(v)/sqrt(1-b2**t) + eps);
        keras: p - m * lr*sqrt(1-b2**t)/(1-b1**t) / (sqrt(v) + eps)."""
        b1, b2 = self.betas
        s["m"] = m = s["m"] + (g - s["m"]) * (1.0 - b1)
        if self.compat == "keras":
            s["v"] = v = s["v"] + (g * g - s["v"]) * (1.0 - b2)
        else:
            s["v"] = v = s["v"] * b2 + (1.0 - b2) * (g * g)
        if self.amsgrad:
            s["vmax"] = v = _maximum(s["vmax"], v)
        if self.compat == "keras":
            alpha = lr * _sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
            return p - m * alpha / (_sqrt(v) + self.eps)
        denom = _sqrt(v) / _sqrt(1.0 - b2 ** t) + self.eps
        return p - lr / (1.0 - b1 ** t) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: p <- p * (1 - lr*wd) before the Adam step."""

    name = "adamw"
    DEFAULTS = {"torch": {"lr": 1e-3, "eps": 1e-8, "weight_decay": 1e-2},
                "keras": {"lr": 1e-3, "eps": 1e-7, "weight_decay": 0.004}}
    HYPER = ("betas", "eps", "amsgrad")

    def __init__(self, lr=None, betas=(0.9, 0.999), eps=None, amsgrad=False, **common):
        super().__init__(lr, betas, eps, amsgrad, decoupled_weight_decay=True, **common)


class Adamax(Optimizer):
    """Adamax: Adam with the infinity norm in place of the second moment."""

    name = "adamax"
    DEFAULTS = {"torch": {"lr": 2e-3, "eps": 1e-8}, "keras": {"lr": 1e-3, "eps": 1e-7}}
    HYPER = ("betas", "eps")

    def __init__(self, lr=None, betas=(0.9, 0.999), eps=None, **common):
        super().__init__(lr, **common)
        self.betas = _betas(betas)
        self.eps = _number("eps", self._default("eps", eps))

    def _new_state(self, shape):
        return {"m": np.zeros(shape, self.dtype), "u": np.zeros(shape, self.dtype)}

    def _step(self, p, g, lr, t, s):
        """m = b1*m + (1-b1)*g;  torch: u = max(b2*u, |g| + eps), p - lr/(1-b1**t) * m/u;
        keras: u = max(b2*u, |g|), p - lr*m / ((1-b1**t) * (u + eps))."""
        b1, b2 = self.betas
        s["m"] = m = s["m"] + (g - s["m"]) * (1.0 - b1)
        if self.compat == "keras":
            s["u"] = u = _maximum(b2 * s["u"], abs(g))
            return p - lr * m / ((1.0 - b1 ** t) * (u + self.eps))
        s["u"] = u = _maximum(s["u"] * b2, abs(g) + self.eps)
        return p - lr / (1.0 - b1 ** t) * (m / u)


class Nadam(Optimizer):
    """NAdam: Adam with Nesterov momentum and the momentum schedule mu_t."""

    name = "nadam"
    DEFAULTS = {"torch": {"lr": 2e-3, "eps": 1e-8, "momentum_decay": 4e-3},
                "keras": {"lr": 1e-3, "eps": 1e-7, "momentum_decay": 1.0}}
    HYPER = ("betas", "eps", "momentum_decay", "decoupled_weight_decay")

    def __init__(self, lr=None, betas=(0.9, 0.999), eps=None, momentum_decay=None,
                 decoupled_weight_decay=False, **common):
        """momentum_decay psi: torch's 4e-3; Keras 3's schedule 0.96**t is psi = 1."""
        super().__init__(lr, **common)
        self.betas = _betas(betas)
        self.eps = _number("eps", self._default("eps", eps))
        self.momentum_decay = _number("momentum_decay",
                                      self._default("momentum_decay", momentum_decay))
        self.decoupled_weight_decay = bool(decoupled_weight_decay)
        self._mu_product, self._mu_t = 1.0, 0  # mu_1 * ... * mu_t for the last t

    def _mu_product_through(self, t: int, mu: float) -> float:
        """mu_1 * ... * mu_t; every coordinate of one step asks for the same t."""
        if t != self._mu_t:
            self._mu_product, self._mu_t = self._mu_product * mu, t
        return self._mu_product

    def _new_state(self, shape):
        return {"m": np.zeros(shape, self.dtype), "v": np.zeros(shape, self.dtype)}

    def _step(self, p, g, lr, t, s):
        """mu_t = b1*(1 - 0.96**(t*psi)/2), P_t = mu_1...mu_t, m and v as Adam;
        p - lr*((1-mu_t)/(1-P_t) * g + mu_{t+1}/(1-P_{t+1}) * m) / (sqrt(v/(1-b2**t)) + eps)."""
        b1, b2 = self.betas
        psi = self.momentum_decay
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        s["m"] = m = s["m"] + (g - s["m"]) * (1.0 - b1)
        if self.compat == "keras":
            prod = self._mu_product_through(t, mu)
            s["v"] = v = s["v"] + (g * g - s["v"]) * (1.0 - b2)
            m_hat = mu_next * m / (1.0 - prod * mu_next) + (1.0 - mu) * g / (1.0 - prod)
            return p - m_hat * lr / (_sqrt(v / (1.0 - b2 ** t)) + self.eps)
        prod = self._mu_product_through(t, mu)
        s["v"] = v = s["v"] * b2 + (1.0 - b2) * (g * g)
        denom = _sqrt(v / (1.0 - b2 ** t)) + self.eps
        p = p + (-lr * (1.0 - mu) / (1.0 - prod)) * (g / denom)
        return p + (-lr * mu_next / (1.0 - prod * mu_next)) * (m / denom)


class Newton(Optimizer):
    """Newton's method on the exact Hessian, Levenberg-damped where it is not positive definite."""

    name = "newton"
    DEFAULTS = {"torch": {"lr": 1.0}, "keras": {"lr": 1.0}}
    HYPER = ("damping",)
    needs_hessian = True
    MAX_TRIES = 64  # mu0 * 2**63 > n * max |H_ij| (Gershgorin: positive definite) for any n

    def __init__(self, lr=None, damping=1e-3, **common):
        """damping: mu0 = damping * max(1, max |H_ij|), the first shift tried."""
        super().__init__(lr, **common)
        self.damping = _number("damping", damping, positive=True)
        self.last_shift = None  # the mu added to the last step's diagonal (0: plain Newton)
        self._sign = 1.0

    def _element(self, p, g, lr, t, s, scale):
        """Clipping, maximize and weight decay act on the gradient as in the other optimizers;
        maximize also negates the Hessian, L2 weight decay adds wd to its diagonal."""
        self._sign = -1.0 if self.maximize else 1.0
        return super()._element(p, g, lr, t, s, scale)

    def _step(self, p, g, lr, t, s):
        """H positive definite: p - lr * H^-1 g;  else p - lr * (H + 2*mu*I)^-1 g with mu the
        first of mu0 * 2**j (j = 0, 1, ...) for which H + mu*I is positive definite."""
        h = self._sign * np.array(self._hessian(p), dtype=self.dtype, copy=True)
        if self.weight_decay and self.compat == "torch":
            h = h + self.weight_decay * np.eye(len(p), dtype=self.dtype)
        shift = self.shift(h)
        self.last_shift = shift
        if shift is None:  # a non-finite Hessian: no finite step
            return p + math.nan
        return p - lr * _solve_positive(h + 2.0 * shift * np.eye(len(p), dtype=h.dtype)
                                        if shift else h, g)

    def shift(self, h) -> float | None:
        """0 if h is positive definite, else the mu of _step; None if h is not finite."""
        if not np.all(np.isfinite(h)):
            return None
        if _is_positive_definite(h):
            return 0.0
        mu = self.damping * max(1.0, float(np.max(np.abs(h))))
        eye = np.eye(len(h), dtype=h.dtype)
        for _ in range(self.MAX_TRIES):
            if _is_positive_definite(h + mu * eye):
                return mu
            mu *= 2.0
        return None


def _is_positive_definite(h) -> bool:
    """True when a Cholesky factorization of the symmetric matrix h succeeds."""
    return _cholesky(h) is not None


def _cholesky(h):
    """The lower factor L of h = L L^T, or None when h is not (numerically) positive definite."""
    try:
        factor = np.linalg.cholesky(h)
    except np.linalg.LinAlgError:
        return None
    return factor if np.all(np.diagonal(factor) > 0) else None


def _solve_positive(h, g):
    """h^-1 g for a positive definite h; where LAPACK's solve finds the matrix numerically
    singular after all, L^-T L^-1 g from the Cholesky factor: a huge (or non-finite:
    divergence) step, never a LinAlgError."""
    try:
        return np.linalg.solve(h, g)
    except np.linalg.LinAlgError:
        pass
    factor = _cholesky(h)
    if factor is None:
        return np.full_like(g, math.nan)
    with np.errstate(all="ignore"):
        return _back_substitute(factor.T, _forward_substitute(factor, g))


def _forward_substitute(lower, b):
    """y with lower @ y = b, row by row."""
    y = np.zeros_like(b)
    for i in range(len(b)):
        y[i] = (b[i] - lower[i, :i] @ y[:i]) / lower[i, i]
    return y


def _back_substitute(upper, b):
    """x with upper @ x = b, from the last row up."""
    x = np.zeros_like(b)
    for i in reversed(range(len(b))):
        x[i] = (b[i] - upper[i, i + 1:] @ x[i + 1:]) / upper[i, i]
    return x


_CLASSES = {"sgd": SGD, "momentum": SGD, "nesterov": SGD, "adagrad": Adagrad,
            "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW, "adamax": Adamax, "nadam": Nadam,
            "newton": Newton}
_COMMON = ("lr", "weight_decay", "maximize", "compat", "schedule", "clip_norm", "clip_value",
           "dtype")


def hyperparameters(name: str) -> tuple:
    """The keyword arguments ``make(name, ...)`` accepts."""
    cls = _CLASSES[_known(name)]
    own = [p for p in inspect.signature(cls.__init__).parameters
           if p not in ("self", "common", "lr")]
    if name.lower() in ("momentum", "nesterov"):
        own.remove("nesterov")
    return (*_COMMON, *own)


def make(name: str, **kw) -> Optimizer:
    """The optimizer the command line calls ``name``; None values mean the default.

    'momentum' and 'nesterov' are SGD with momentum 0.9 unless given (and nesterov=True).
    """
    name = _known(name)
    kw = {k: v for k, v in kw.items() if v is not None}
    unknown = sorted(set(kw) - set(hyperparameters(name)))
    if unknown:
        raise ValueError(f"{name} does not take {', '.join(unknown)}")
    if name in ("momentum", "nesterov"):
        kw.setdefault("momentum", 0.9)
        kw["nesterov"] = name == "nesterov"
    opt = _CLASSES[name](**kw)
    opt.name = name
    return opt


def _sqrt(x):
    """sqrt(x) of a Python float (math), an array (numpy) or a traced float."""
    if type(x) is float:
        return math.sqrt(x)
    if isinstance(x, _Traced):
        return x.source.emit(f"sqrt({x.name})")
    return np.sqrt(x)


def _maximum(a, b):
    """max(a, b) of Python floats, arrays or traced floats, nan propagated as np.maximum does."""
    if type(a) is float and type(b) is float:
        return b if b > a or b != b else a
    if isinstance(a, _Traced) or isinstance(b, _Traced):
        src = (a if isinstance(a, _Traced) else b).source
        x, y = src.operand(a), src.operand(b)
        return src.emit(f"{y} if {y} > {x} or {y} != {y} else {x}")
    return np.maximum(a, b)


def _clip(g, c):
    """min(max(g, -c), c) of a Python float, an array or a traced float."""
    if type(g) is float:
        return g if g != g else min(max(g, -c), c)
    if isinstance(g, _Traced):
        x, lo, hi = g.name, g.source.operand(-c), g.source.operand(c)
        return g.source.emit(f"{x} if {x} != {x} else min(max({x}, {lo}), {hi})")
    return np.clip(g, -c, c)


# -- a generated float step: the rules traced once into Python source ---------------------------
class _Untraceable(Exception):
    """The rule branches on a traced value (or meets a non-float): no generated step."""


class _Source:
    """The body of a generated function: one assignment per operation, shared when repeated."""

    def __init__(self):
        self.lines: list[str] = []
        self._names: dict[str, _Traced] = {}

    def arg(self, name: str):
        return _Traced(name, self)

    def emit(self, expr: str):
        """A local holding expr (the same local for the same text: the operations are pure)."""
        known = self._names.get(expr)
        if known is None:
            known = self._names[expr] = _Traced(f"_{len(self._names)}", self)
            self.lines.append(f"{known.name} = {expr}")
        return known

    def operand(self, x) -> str:
        """x's text: a local's name, or a finite float or int written with repr."""
        if isinstance(x, _Traced):
            return x.name
        if type(x) is float and math.isfinite(x) or type(x) is int:
            return f"({x!r})" if x < 0 or repr(x).startswith("-") else repr(x)
        raise _Untraceable(type(x).__name__)


class _Traced:
    """A Python float of the generated step, known by the name of the local that holds it."""

    __slots__ = ("name", "source", "first")

    def __init__(self, name, source, first=None):
        self.name, self.source, self.first = name, source, first

    def _binary(self, op, other, reflected=False):
        a, b = self.name, self.source.operand(other)
        return self.source.emit(f"{b} {op} {a}" if reflected else f"{a} {op} {b}")

    def __add__(self, o): return self._binary("+", o)  # noqa: E704
    def __radd__(self, o): return self._binary("+", o, True)  # noqa: E704
    def __sub__(self, o): return self._binary("-", o)  # noqa: E704
    def __rsub__(self, o): return self._binary("-", o, True)  # noqa: E704
    def __mul__(self, o): return self._binary("*", o)  # noqa: E704
    def __rmul__(self, o): return self._binary("*", o, True)  # noqa: E704
    def __truediv__(self, o): return self._binary("/", o)  # noqa: E704
    def __rtruediv__(self, o): return self._binary("/", o, True)  # noqa: E704
    def __pow__(self, o): return self._binary("**", o)  # noqa: E704
    def __rpow__(self, o): return self._binary("**", o, True)  # noqa: E704
    def __neg__(self): return self.source.emit(f"-{self.name}")  # noqa: E704
    def __abs__(self): return self.source.emit(f"abs({self.name})")  # noqa: E704

    def __eq__(self, other):
        """Only the step number compares, with 1 (SGD's first step): the branch traced."""
        if self.first is None or other != 1 or type(other) is not int:
            raise _Untraceable("a comparison of a traced value")
        self.first.append(True)
        return self.first[0]

    def _untraceable(self, *args):
        raise _Untraceable("a branch on a traced value")

    __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __bool__ = __float__ = _untraceable
    __hash__ = None


def _generated_step(optimizer, n, clip_by_norm, constant_lr, states):
    """float_stepper's ``step(p, g[, norm])``, written out as one Python function: the
    bookkeeping of the per-coordinate step (the step count, lr, the norm) around
    ``optimizer._element`` on each of n coordinates, traced once (the same float operations
    in the same order: bit for bit the per-coordinate calls), the buffers in one flat list
    ``S``; None where a rule branches on a traced value (Nadam's product of momenta)."""
    names = [list(s) for s in states]
    try:
        bodies = [_traced_body(optimizer, n, clip_by_norm, names, first) for first in (False,)]
        if bodies[0][1]:  # the rule asked whether t == 1: trace that branch as well
            bodies.append(_traced_body(optimizer, n, clip_by_norm, names, True))
    except _Untraceable:
        return None
    lines = ["def step(p, g, norm=None):", "    if norm is None:", "        norm = NORM(g)",
             "    t = opt.iterations + 1", "    try:"]
    if constant_lr:
        lines += ["        opt.last_grad_norm = norm", "        lr = opt.lr",
                  "        scale = None"]
    else:
        lines.append("        lr, scale = BEGIN(norm)")
        if clip_by_norm:
            lines.append("        scale = FLOAT(scale)")
    lines += [f"        {', '.join(f'p{i}' for i in range(n))}, = p",
              f"        {', '.join(f'g{i}' for i in range(n))}, = g"]
    if len(bodies) == 2:
        lines.append("        if t == 1:")
        lines.extend("            " + line for line in bodies[1][0])
        lines.append("        else:")
        lines.extend("            " + line for line in bodies[0][0])
    else:
        lines.extend("        " + line for line in bodies[0][0])
    lines += ["    except ERRORS:", "        new = NAN", "    opt.iterations = t",
              "    opt.last_lr = lr", "    return new"]
    source = "\n".join(lines) + "\n"
    scope = {"__builtins__": {}, "sqrt": math.sqrt, "abs": abs, "min": min, "max": max,
             "opt": optimizer, "BEGIN": optimizer._begin, "FLOAT": float, "NORM": _norm,
             "ERRORS": (ArithmeticError, ValueError), "NAN": [math.nan] * n,
             "S": [s[k] for s in states for k in s]}
    exec(compile(source, "<gradcli step>", "exec"), scope)  # noqa: S102 (generated text)
    step = scope["step"]
    step.source = source
    return step


def _norm(g) -> float:
    """sqrt(g_0**2 + g_1**2 + ...), summed in order."""
    return math.sqrt(sum([x * x for x in g]))


def _traced_body(optimizer, n, clip_by_norm, names, first):
    """(lines, whether t == 1 was asked) of the traced element-wise update of n coordinates."""
    src, asked = _Source(), [first]
    lr, t = src.arg("lr"), _Traced("t", src, asked)
    scale = src.arg("scale") if clip_by_norm else None
    new, index = [], 0
    for i in range(n):
        buffers = _TracedBuffers(src, index, names[i])
        index += len(names[i])
        p = optimizer._element(src.arg(f"p{i}"), src.arg(f"g{i}"), lr, t, buffers, scale)
        new.append(src.operand(p))
    src.lines.append(f"new = [{', '.join(new)}]")
    return src.lines, len(asked) > 1


class _TracedBuffers(dict):
    """One coordinate's buffers while tracing: read from and written to the flat list S."""

    def __init__(self, source, offset, names):
        super().__init__((k, source.emit(f"S[{offset + j}]")) for j, k in enumerate(names))
        self.source, self.slot = source, {k: offset + j for j, k in enumerate(names)}

    def __setitem__(self, key, value):
        self.source.lines.append(f"S[{self.slot[key]}] = {self.source.operand(value)}")
        super().__setitem__(key, value)


def _known(name: str) -> str:
    if name.lower() not in _CLASSES:
        raise ValueError(f"unknown optimizer {name!r}: choose from {', '.join(ALL_NAMES)}")
    return name.lower()


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
