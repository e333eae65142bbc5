"""Newton's method on the exact Hessian, Levenberg-damped where it is not positive definite.

``Newton`` (``needs_hessian = True``): ``update(params, grads, hessian=f)`` receives a
callable ``f(params) -> (n, n) array`` and ``_step`` reads it as ``self._hessian``. The step,
with H the exact Hessian at p (negated with maximize; plus wd*I with torch-style weight
decay) and lr the step size (default 1, schedules apply; no line search):

    H positive definite (a Cholesky factorization succeeds):  p - lr * H^-1 g
    otherwise (Levenberg damping):  p - lr * (H + 2*mu*I)^-1 g,  mu the first of
        mu0 * 2**j, j = 0, 1, ..., for which H + mu*I is positive definite,
        mu0 = damping * max(1, max |H_ij|), damping = 1e-3
    H not finite: the step is nan (divergence)

Doubling the first mu that works keeps the smallest eigenvalue of the damped matrix at
mu or more, so the step is at most ||g|| / mu long; the larger mu, the closer the step
is to a gradient step of rate lr / (2*mu): where the Hessian is not positive definite
the method falls back toward gradient descent.
"""
from __future__ import annotations

import math

import numpy as np

from .base import Optimizer, _number


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

    def _element(self, xp, p, g, lr, t, s, scale):
        """Clipping, maximize and weight decay act on the gradient as in the other optimizers;
        maximize also negates the Hessian, L2 weight decay adds wd to its diagonal."""
        self._sign = -1.0 if self.maximize else 1.0
        return super()._element(xp, p, g, lr, t, s, scale)

    def _step(self, xp, p, g, lr, t, s):
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
