"""The first-order rules: SGD (momentum, Nesterov), Adagrad, RMSprop, Adam, AdamW, Adamax, NAdam,
RAdam, Rprop, Adadelta, ASGD and Lion, each a ``_step`` that reads as its formula.

A rule's ``_step(xp, p, g, lr, t, s)`` returns the new parameters from p, the gradient g
(clipped, negated for maximize, with L2 weight decay: base.py), the rate lr, the step number
t = 1, 2, ... and the buffers s (a dict of arrays, updated in place). It works element-wise
with operators and the functions of the namespace ``xp`` (base.ARRAYS on numpy arrays;
float_step.py's on Python floats or while tracing), so the same text serves every path.
"""
from __future__ import annotations

import numpy as np

from .base import Optimizer, _betas, _number


class SGD(Optimizer):
    """Gradient descent, with momentum, dampening (torch only) and Nesterov momentum."""

    name = "sgd"
    # torch.optim.SGD: lr=1e-3 (torch 2.13; older torch required lr); keras.optimizers.SGD: 0.01
    DEFAULTS = {"torch": {"lr": 1e-3}, "keras": {"lr": 1e-2}}
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

    def _step(self, xp, p, g, lr, t, s):
        """torch: b = g (t=1), mu*b + (1-tau)*g; p - lr*(g + mu*b if nesterov else b).
        keras: v = mu*v - lr*g; p + (mu*v - lr*g if nesterov else v)."""
        mu = self.momentum
        if not mu:
            return p - lr * g
        if self.compat == "keras":
            s["buf"] = v = s["buf"] * mu - g * lr
            return p + (v * mu - g * lr if self.nesterov else v)
        s["buf"] = b = 1.0 * g if xp.is_first(t) else s["buf"] * mu + (1.0 - self.dampening) * g
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

    def _step(self, xp, p, g, lr, t, s):
        """s = s + g**2;  torch: p - lr * g / (sqrt(s) + eps);  keras: p - lr*g / sqrt(s + eps)."""
        s["sum"] = acc = s["sum"] + g * g
        if self.compat == "keras":
            return p - lr * g / xp.sqrt(acc + self.eps)
        return p - lr * (g / (xp.sqrt(acc) + self.eps))


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

    def _step(self, xp, p, g, lr, t, s):
        """v = rho*v + (1-rho)*g**2 (centered: minus avg**2);  torch: d = g / (sqrt(v) + eps),
        keras: d = lr*g / sqrt(v + eps);  momentum: b = mu*b + d, step b;  p - lr*step (torch)."""
        rho, mu, keras = self.rho, self.momentum, self.compat == "keras"
        s["v"] = v = s["v"] * rho + (1.0 - rho) * (g * g)
        if self.centered:
            s["avg"] = a = (rho * s["avg"] + (1.0 - rho) * g if keras
                            else s["avg"] + (1.0 - rho) * (g - s["avg"]))
            v = v - a * a
        d = lr * g / xp.sqrt(v + self.eps) if keras else g / (xp.sqrt(v) + self.eps)
        if mu:
            s["buf"] = d = s["buf"] * mu + d
        return p - d if keras else p - lr * d


def _keras_power(opt, b, t):
    """beta ** t as Keras 3 computes it: in float32 for float32 variables (the beta and the
    step cast to float32, then powf), so that every later operation rounds as Keras's does."""
    if opt.dtype == np.float32:
        return np.float32(b) ** np.float32(t)
    return b ** t


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

    def _step(self, xp, p, g, lr, t, s):
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
            s["vmax"] = v = xp.maximum(s["vmax"], v)
        if self.compat == "keras":
            b1t, b2t = _keras_power(self, b1, t), _keras_power(self, b2, t)
            alpha = lr * xp.sqrt(1.0 - b2t) / (1.0 - b1t)
            return p - m * alpha / (xp.sqrt(v) + self.eps)
        denom = xp.sqrt(v) / xp.sqrt(1.0 - b2 ** t) + self.eps
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

    def _step(self, xp, p, g, lr, t, s):
        """m = b1*m + (1-b1)*g;  torch: u = max(b2*u, |g| + eps), p - lr/(1-b1**t) * m/u;
        keras: u = max(b2*u, |g|), p - lr*m / ((1-b1**t) * (u + eps))."""
        b1, b2 = self.betas
        s["m"] = m = s["m"] + (g - s["m"]) * (1.0 - b1)
        if self.compat == "keras":
            s["u"] = u = xp.maximum(b2 * s["u"], abs(g))
            return p - lr * m / ((1.0 - _keras_power(self, b1, t)) * (u + self.eps))
        s["u"] = u = xp.maximum(s["u"] * b2, abs(g) + self.eps)
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
        self._u_product32, self._u_t32 = np.float32(1.0), 0  # Keras's float32 product

    def _mu_product_through(self, t: int, mu: float) -> float:
        """mu_1 * ... * mu_t; every coordinate of one step asks for the same t."""
        if t != self._mu_t:
            self._mu_product, self._mu_t = self._mu_product * mu, t
        return self._mu_product

    def _new_state(self, shape):
        return {"m": np.zeros(shape, self.dtype), "v": np.zeros(shape, self.dtype)}

    def _step(self, xp, p, g, lr, t, s):
        """mu_t = b1*(1 - 0.96**(t*psi)/2), P_t = mu_1...mu_t, m and v as Adam;
        p - lr*((1-mu_t)/(1-P_t) * g + mu_{t+1}/(1-P_{t+1}) * m) / (sqrt(v/(1-b2**t)) + eps)."""
        if self.compat == "keras" and self.dtype == np.float32 and self.momentum_decay == 1.0:
            return self._keras_float32(xp, p, g, lr, t, s)
        b1, b2 = self.betas
        psi = self.momentum_decay
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        s["m"] = m = s["m"] + (g - s["m"]) * (1.0 - b1)
        if self.compat == "keras":
            prod = self._mu_product_through(t, mu)
            s["v"] = v = s["v"] + (g * g - s["v"]) * (1.0 - b2)
            m_hat = mu_next * m / (1.0 - prod * mu_next) + (1.0 - mu) * g / (1.0 - prod)
            return p - m_hat * lr / (xp.sqrt(v / (1.0 - b2 ** t)) + self.eps)
        prod = self._mu_product_through(t, mu)
        s["v"] = v = s["v"] * b2 + (1.0 - b2) * (g * g)
        denom = xp.sqrt(v / (1.0 - b2 ** t)) + self.eps
        p = p + (-lr * (1.0 - mu) / (1.0 - prod)) * (g / denom)
        return p + (-lr * mu_next / (1.0 - prod * mu_next)) * (m / denom)


    def _keras_float32(self, xp, p, g, lr, t, s):
        """Keras 3's float32 NAdam operation for operation: the betas, 0.96 and the step
        cast to float32, 1 - beta in float32, the product of the u_t kept in float32 (updated
        as (product * beta_1) * (1 - 0.5 * 0.96**t) once per step)."""
        f = np.float32
        b1, b2 = f(self.betas[0]), f(self.betas[1])
        u_t = b1 * (f(1.0) - f(0.5) * f(0.96) ** f(t))
        u_t_1 = b1 * (f(1.0) - f(0.5) * f(0.96) ** f(t + 1))
        if t != self._u_t32:
            self._u_product32 = (self._u_product32 * f(self.betas[0])) * (
                f(1.0) - f(0.5) * f(0.96) ** f(t))
            self._u_t32 = t
        prod = self._u_product32
        prod_1 = prod * u_t_1
        s["m"] = m = s["m"] + (g - s["m"]) * (f(1.0) - b1)
        s["v"] = v = s["v"] + (g * g - s["v"]) * (f(1.0) - b2)
        m_hat = (u_t_1 * m) / (f(1.0) - prod_1) + ((f(1.0) - u_t) * g) / (f(1.0) - prod)
        v_hat = v / (f(1.0) - b2 ** f(t))
        return p - (m_hat * lr) / (xp.sqrt(v_hat) + self.eps)


class RAdam(Optimizer):
    """RAdam: Adam whose adaptive step is rectified by the variance of its second moment."""

    name = "radam"
    DEFAULTS = {"torch": {"lr": 1e-3, "eps": 1e-8}, "keras": {"lr": 1e-3, "eps": 1e-8}}
    HYPER = ("betas", "eps", "decoupled_weight_decay")

    def __init__(self, lr=None, betas=(0.9, 0.999), eps=None, decoupled_weight_decay=False,
                 **common):
        super().__init__(lr, **common)
        self.betas = _betas(betas)
        self.eps = _number("eps", self._default("eps", eps))
        self.decoupled_weight_decay = bool(decoupled_weight_decay)

    def _new_state(self, shape):
        return {"m": np.zeros(shape, self.dtype), "v": np.zeros(shape, self.dtype)}

    def _step(self, xp, p, g, lr, t, s):
        """m, v as Adam; rho_inf = 2/(1-b2) - 1, rho_t = rho_inf - 2t b2**t/(1-b2**t);
        rho_t > 5: p - lr * m/(1-b1**t) * sqrt(1-b2**t)/(sqrt(v) + eps) * r_t with
        r_t = sqrt((rho_t-4)(rho_t-2) rho_inf / ((rho_inf-4)(rho_inf-2) rho_t));
        else p - lr * m/(1-b1**t)."""
        b1, b2 = self.betas
        s["m"] = m = s["m"] + (g - s["m"]) * (1.0 - b1)
        s["v"] = v = s["v"] * b2 + (1.0 - b2) * (g * g)
        correction2 = 1.0 - b2 ** t
        m_hat = m / (1.0 - b1 ** t)
        rho_inf = 2.0 / (1.0 - b2) - 1.0
        rho_t = rho_inf - 2.0 * t * b2 ** t / correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                    / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)) ** 0.5
            adaptive = correction2 ** 0.5 / (xp.sqrt(v) + self.eps)
            return p - m_hat * lr * adaptive * rect
        return p - m_hat * lr


class Rprop(Optimizer):
    """Rprop: per-coordinate step sizes grown or shrunk by the sign of successive gradients."""

    name = "rprop"
    DEFAULTS = {"torch": {"lr": 1e-2}, "keras": {"lr": 1e-2}}
    HYPER = ("etas", "step_sizes")
    COMMON = ("lr", "maximize", "compat", "schedule", "clip_norm", "clip_value", "dtype")

    def __init__(self, lr=None, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0), **common):
        """lr is the initial step size of every coordinate (a schedule does not change it)."""
        super().__init__(lr, **common)
        minus, plus = (float(e) for e in etas)
        if not 0.0 < minus < 1.0 < plus:
            raise ValueError(f"etas must satisfy 0 < eta- < 1 < eta+, got {etas!r}")
        low, high = (float(v) for v in step_sizes)
        if not 0.0 <= low <= high:
            raise ValueError(f"step_sizes must satisfy 0 <= min <= max, got {step_sizes!r}")
        self.etas, self.step_sizes = (minus, plus), (low, high)

    def _new_state(self, shape):
        return {"prev": np.zeros(shape, self.dtype), "step": np.full(shape, self.lr, self.dtype)}

    def _step(self, xp, p, g, lr, t, s):
        """c = g * g_prev;  step = clamp(step * (eta+ if c > 0, eta- if c < 0, else 1),
        min, max);  g = 0 where c < 0;  p - sign(g) * step;  g_prev = g."""
        minus, plus = self.etas
        low, high = self.step_sizes
        c = g * s["prev"]
        step = s["step"]
        step = xp.where(c > 0, step * plus, xp.where(c < 0, step * minus, step))
        s["step"] = step = xp.minimum(xp.maximum(step, low), high)
        s["prev"] = g = xp.where(c < 0, 0.0, g)
        return p - xp.sign(g) * step


class Adadelta(Optimizer):
    """Adadelta: steps scaled by the ratio of running root mean squares of steps and gradients."""

    name = "adadelta"
    DEFAULTS = {"torch": {"lr": 1.0, "rho": 0.9, "eps": 1e-6},
                "keras": {"lr": 1e-3, "rho": 0.95, "eps": 1e-7}}
    HYPER = ("rho", "eps")

    def __init__(self, lr=None, rho=None, eps=None, **common):
        super().__init__(lr, **common)
        self.rho = _number("rho", self._default("rho", rho), upper=1.0)
        self.eps = _number("eps", self._default("eps", eps))

    def _new_state(self, shape):
        return {"v": np.zeros(shape, self.dtype), "u": np.zeros(shape, self.dtype)}

    def _step(self, xp, p, g, lr, t, s):
        """v = rho*v + (1-rho)*g**2;  d = sqrt(u + eps) / sqrt(v + eps) * g
        (keras: (sqrt(u + eps) * g) / sqrt(v + eps), its order);  u = rho*u + (1-rho)*d**2;
        p - lr*d."""
        rho = self.rho
        s["v"] = v = s["v"] * rho + (1.0 - rho) * (g * g)
        if self.compat == "keras":
            d = xp.sqrt(s["u"] + self.eps) * g / xp.sqrt(v + self.eps)
        else:
            d = xp.sqrt(s["u"] + self.eps) / xp.sqrt(v + self.eps) * g
        s["u"] = s["u"] * rho + (1.0 - rho) * (d * d)
        return p - lr * d


class ASGD(Optimizer):
    """Averaged SGD's iterates (torch.optim.ASGD): SGD with the decaying rate eta_t."""

    name = "asgd"
    DEFAULTS = {"torch": {"lr": 1e-2}, "keras": {"lr": 1e-2}}
    HYPER = ("lambd", "alpha", "t0")

    def __init__(self, lr=None, lambd=1e-4, alpha=0.75, t0=1e6, **common):
        """torch also keeps the average of the iterates from step t0 on; it never enters the
        update, and gradcli reports the iterates themselves, as torch's parameters are."""
        super().__init__(lr, **common)
        self.lambd = _number("lambd", lambd)
        self.alpha = _number("alpha", alpha)
        self.t0 = _number("t0", t0)

    def _new_state(self, shape):
        return {"eta": np.full(shape, self.lr, self.dtype)}

    def _step(self, xp, p, g, lr, t, s):
        """p = p * (1 - lambd*eta) - eta*g;  then eta = lr / (1 + lambd*lr*t)**alpha."""
        eta = s["eta"]
        p = p * (1.0 - self.lambd * eta) - eta * g
        s["eta"] = lr / (1.0 + self.lambd * lr * t) ** self.alpha
        return p


class Lion(Optimizer):
    """Lion (optax, Keras 3): the sign of an interpolated momentum, decoupled weight decay."""

    name = "lion"
    DEFAULTS = {"torch": {"lr": 1e-3}, "keras": {"lr": 1e-3}}
    HYPER = ("betas",)

    def __init__(self, lr=None, betas=(0.9, 0.99), **common):
        super().__init__(lr, **common)
        self.betas = _betas(betas)
        self.decoupled_weight_decay = True

    def _new_state(self, shape):
        return {"m": np.zeros(shape, self.dtype)}

    def _step(self, xp, p, g, lr, t, s):
        """p - lr * sign(b1*m + (1-b1)*g);  m = b2*m + (1-b2)*g.  Keras in float32 casts the
        betas to float32 first, so 1 - beta is float32 arithmetic (lion.py)."""
        b1, b2 = self.betas
        if self.compat == "keras" and self.dtype == np.float32:
            b1, b2 = np.float32(b1), np.float32(b2)
        update = xp.sign(s["m"] * b1 + g * (1.0 - b1))
        s["m"] = s["m"] * b2 + g * (1.0 - b2)
        return p - lr * update
