"""Levenberg-Marquardt on a model's residuals, with standard errors as curve_fit reports them.

For rows ``i = 1..n`` with target ``y_i`` the residuals are ``r_i(p) = f(x_i; p) - y_i`` and
the fit minimizes ``RSS(p) = sum_i r_i(p)**2``. The Jacobian ``J[i, j] = d f(x_i; p) / d p_j``
is exact: the compiled program's gradient along the parameters, one vectorized pass over all
the rows (``Program.value_and_grad``), no finite differences.

The engine is MINPACK's ``lmder`` (Moré's trust-region Levenberg-Marquardt: the step solves
``min |J d + r|`` with ``|D d| <= Delta``, ``D`` the column norms of ``J``, kept as their
running maximum; ``Delta`` grows and shrinks with the ratio of actual to predicted reduction)
transcribed into numpy in ``training/minpack.py``: the algorithm ``scipy.optimize.leastsq``
and ``curve_fit`` run, with the same iterations, without importing scipy.optimize (0.45 s of
CPU a process). Stopping rules are MINPACK's: ``ftol`` (actual and predicted relative
reduction of the RSS at most ftol), ``xtol`` (relative step ``|D d| <= xtol |D p|``),
``gtol`` (cosine between ``r`` and each column of ``J``; off by default, as in MINPACK) and
an evaluation cap; ftol and xtol are 10 machine epsilons, and MINPACK's "no further reduction
is possible" statuses count as converged (the tolerances met float64's precision first).
docs/fit.md says why a transcription and not scipy's copy.

A trial step to parameters where a residual is nan or inf is refused: MINPACK sees a residual
of 1e100 there and shrinks its trust region.

Covariance as ``scipy.optimize.curve_fit`` with ``absolute_sigma=False``: from the SVD
``J = U S V^T`` at the answer, ``cov = V S^-2 V^T * RSS / dof`` with ``dof = n - k``,
singular values below ``eps * max(n, k) * S[0]`` dropped (curve_fit's rule); the standard
errors are ``sqrt(diag(cov))``. A dropped singular value means a direction of the parameters
along which the residuals do not change to first order: the parameters with a weight in it
are not identifiable, and ``LeastSquaresFit.not_identifiable`` names them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import GradcliError

DEFAULT_MAX_EVALUATIONS = 1000
# MINPACK's tolerances at their tightest useful values, 10 * machine epsilon (it refuses a
# tolerance below epsilon, and stops with "too small" statuses near it: converged here)
FTOL = XTOL = 10 * np.finfo(np.float64).eps
GTOL = 0.0  # MINPACK's default: the cosine test off; ftol and xtol decide
EPS = np.finfo(np.float64).eps
BIG_RESIDUAL = 1e100  # stands for a non-finite residual at a trial point: the step is refused
# the n x k Jacobian is held three times (gradcli's, the column copy, MINPACK's workspace):
# 20 million entries are 160 MB a copy, about 0.5 GB in all
MAX_JACOBIAN_ENTRIES = 20_000_000


@dataclass
class LeastSquaresFit:
    """A Levenberg-Marquardt fit's answer and its statistics."""

    model: str
    params: list[str]
    inputs: list[str]
    target: str
    estimate: np.ndarray             # the fitted parameters, in ``params`` order
    rss: float                       # sum of squared residuals at ``estimate``
    rows: int
    jacobians: int                   # Jacobian evaluations (MINPACK's njev)
    evaluations: int                 # residual evaluations (nfev)
    converged: bool
    message: str                     # how the run ended, in MINPACK's words
    r2: float = math.nan
    covariance: np.ndarray | None = None
    stderr: np.ndarray | None = None
    not_identifiable: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    # (mse, p) at the start and after each accepted step: the iterations
    history: list[tuple[float, np.ndarray]] = field(default_factory=list)
    engine: str = "lm"
    grad_norm: float = math.nan      # |d MSE / d p| at the answer (projected: with bounds)
    bounds: object = None            # optimizers.bounds.Bounds, or None
    diverged_at = None               # never: a step to a non-finite residual is refused
    opt = "lm"

    # -- the interface of training.fit.Fit, for the writers --------------------------------
    @property
    def iterations(self) -> int:
        """Accepted steps (each moved the parameters and lowered the RSS)."""
        return max(len(self.history) - 1, 0)

    epochs = iterations

    @property
    def losses(self) -> np.ndarray:
        return np.array([m for m, _ in self.history])

    @property
    def path(self) -> np.ndarray:
        return np.array([p for _, p in self.history]).reshape(len(self.history), len(self.params))

    def kept(self) -> list[int]:
        return list(range(len(self.history)))

    def params_at(self, k: int) -> np.ndarray:
        return self.history[k][1]

    def values(self, k: int = -1) -> dict[str, float]:
        return self.named(self.history[k][1] if self.history else self.estimate)

    def record(self, k: int) -> dict:
        return {"epoch": k, "loss": float(self.history[k][0]), "params": self.values(k)}

    @property
    def dof(self) -> int:
        return self.rows - len(self.params)

    @property
    def loss(self) -> float:
        """The mean squared error (the loss the gradient methods report)."""
        return self.rss / self.rows if self.rows else math.nan

    @property
    def active_bounds(self) -> dict:
        """{parameter: "lower" | "upper"} for the bounds the answer lies on."""
        return {} if self.bounds is None else self.bounds.active(self.estimate)

    def named(self, array) -> dict[str, float]:
        return {name: float(v) for name, v in zip(self.params, array)}


def covariance(jac: np.ndarray, rss: float, dof: int):
    """(covariance, indices of the parameters that are not identifiable), curve_fit's way:
    the pseudo-inverse of J^T J from the SVD of J, singular values below
    eps * max(n, k) * S[0] dropped, times RSS / dof."""
    jac = np.asarray(jac, dtype=np.float64)
    n, k = jac.shape
    if not np.all(np.isfinite(jac)):
        return np.full((k, k), np.nan), []
    s, vt = _singular(jac)
    threshold = EPS * max(n, k) * (s[0] if len(s) else 0.0)
    keep = s > threshold
    vt_kept = vt[keep]
    cov = (vt_kept.T / s[keep] ** 2) @ vt_kept
    null = vt[~keep]
    weak = sorted({int(j) for row in null for j in np.flatnonzero(np.abs(row) > 1e-6)})
    if weak:
        cov = np.full((k, k), np.inf if dof > 0 else np.nan)
    elif dof > 0:
        cov = cov * (rss / dof)
    else:
        cov = np.full((k, k), np.inf)
    return cov, weak


GRAM_ROWS = 8192     # from this many rows the singular values come from J^T J ...
GRAM_CONDITION = 1e5  # ... when J's condition number is below this (else QR, then SVD)


def _singular(jac: np.ndarray):
    """(singular values, right singular vectors) of the n x k Jacobian.

    A few rows: the SVD of R from J = QR (the SVD of a k x k matrix). Many rows: the
    eigen-decomposition of J^T J, one BLAS product (QR of 100,000 x 10 took 0.15-0.33 s on a
    loaded 2-core machine, J^T J 2 ms), kept when cond(J) < 1e5, where squaring the condition
    number costs at most ~1e-6 relative in the covariance; else QR as for a few rows."""
    n, k = jac.shape
    if n >= GRAM_ROWS and n > k:
        columns = np.ascontiguousarray(jac.T)
        w, v = np.linalg.eigh(columns @ columns.T)
        w, v = w[::-1], v[:, ::-1]
        if w[0] > 0 and w[-1] > 0 and w[0] / w[-1] < GRAM_CONDITION ** 2:
            return np.sqrt(w), v.T
    square = np.linalg.qr(jac, mode="r") if n > k else jac
    _, s, vt = np.linalg.svd(square, full_matrices=False)
    return s, vt


class Residuals:
    """The residuals of a compiled model over data rows and their exact Jacobian."""

    def __init__(self, program, inputs: dict[str, np.ndarray], target: np.ndarray,
                 params: list[str], on_jacobian=None):
        self.program = program
        self.params = list(params)
        self.inputs = inputs
        self.target = np.asarray(target, dtype=np.float64)
        self.n = len(self.target)
        self.on_jacobian = on_jacobian  # (p, r) at each Jacobian evaluation: the history

    def _env(self, p) -> dict:
        env = dict(self.inputs)
        env.update(zip(self.params, (float(v) for v in p)))
        return env

    def exact(self, p) -> np.ndarray:
        """f(x_i; p) - y_i as computed (nan and inf kept)."""
        with np.errstate(all="ignore"):
            f = np.asarray(self.program.value(self._env(p)), dtype=np.float64)
            return np.broadcast_to(f, self.target.shape) - self.target

    def __call__(self, p) -> np.ndarray:
        """The residuals MINPACK sees: a non-finite one becomes BIG_RESIDUAL (a refused step)."""
        r = self.exact(p)
        if not np.all(np.isfinite(r)):
            r = np.where(np.isfinite(r), r, BIG_RESIDUAL)
        return r

    def jacobian(self, p) -> np.ndarray:
        """J[i, j] = d f(x_i; p) / d p_j, an (n, k) array."""
        with np.errstate(all="ignore"):
            f, grads = self.program.value_and_grad(self._env(p))
            jac = np.broadcast_to(grads, (self.n, len(self.params)))
            if not np.all(np.isfinite(jac)):
                jac = np.where(np.isfinite(jac), jac, 0.0)
            if self.on_jacobian is not None:
                f = np.broadcast_to(np.asarray(f, dtype=np.float64), self.target.shape)
                r = f - self.target
                self.on_jacobian(np.array(p, dtype=np.float64), r, jac)
            return jac


def first_nonfinite_row(r: np.ndarray) -> int | None:
    bad = np.flatnonzero(~np.isfinite(r))
    return int(bad[0]) if len(bad) else None


MINPACK_MESSAGES = {
    1: "the relative reduction of the RSS is at most ftol",
    2: "the relative step is at most xtol",
    3: "the relative reduction of the RSS is at most ftol and the relative step at most xtol",
    4: "the residuals are orthogonal to the Jacobian's columns to gtol",
    5: "the evaluation cap was reached",
    6: "no further reduction of the RSS is possible in float64 (ftol)",
    7: "no further improvement of the parameters is possible in float64 (xtol)",
    8: "the residuals are orthogonal to the Jacobian's columns to machine precision (gtol)",
}
CONVERGED = {1, 2, 3, 4, 6, 7, 8}  # 6-8: the tolerance met machine precision first


def levenberg_marquardt(residuals: Residuals, start: np.ndarray, *,
                        max_evaluations: int = DEFAULT_MAX_EVALUATIONS,
                        ftol: float = FTOL, xtol: float = XTOL, gtol: float = GTOL,
                        bounds=None) -> dict:
    """Minimize sum(residuals(p)**2) from ``start``: {"x", "njev", "nfev", "converged",
    "status", "message", "engine"} (MINPACK's lmder, training/minpack.py); ``bounds``
    (optimizers.bounds.Bounds) keeps every trial point in its box."""
    from .minpack import lmder

    def jacobian_columns(p):  # one parameter's column per row, as MINPACK stores J
        return np.array(residuals.jacobian(p).T, order="C")  # a copy lmder may overwrite

    with np.errstate(all="ignore"):
        x, status, nfev, njev = lmder(residuals, jacobian_columns,
                                      np.asarray(start, dtype=np.float64),
                                      ftol=max(ftol, EPS), xtol=max(xtol, EPS),
                                      gtol=max(gtol, 0.0), maxfev=max(max_evaluations, 1),
                                      lower=None if bounds is None else bounds.lower,
                                      upper=None if bounds is None else bounds.upper)
    return {"x": np.asarray(x, dtype=np.float64), "njev": njev, "nfev": nfev,
            "converged": status in CONVERGED, "status": status,
            "message": MINPACK_MESSAGES.get(status, f"MINPACK status {status}"),
            "engine": "lm"}


def zero_gradient_params(jac: np.ndarray, r: np.ndarray, params: list[str]) -> list[int]:
    """Indices of the parameters along which the RSS's gradient 2 J^T r is exactly 0."""
    with np.errstate(all="ignore"):
        g = np.asarray(jac, dtype=np.float64).T @ np.asarray(r, dtype=np.float64)
    return [j for j in range(len(params)) if g[j] == 0.0]


def fit_least_squares(expression, inputs: dict[str, np.ndarray], target: np.ndarray,
                      params: list[str], start: np.ndarray, *, model: str, target_name: str,
                      max_evaluations: int = DEFAULT_MAX_EVALUATIONS,
                      init_label: str = "init", bounds=None) -> LeastSquaresFit:
    """Levenberg-Marquardt fit of ``params`` (from ``start``) to the rows; GradcliError, naming
    the parameter or the row, for what makes the fit meaningless (see docs/fit.md).
    ``bounds`` (optimizers.bounds.Bounds over ``params``, the start inside): the box."""
    from ..compiled.program import compile_expression
    from .fit import r_squared, sum_of_squares

    n, k = len(target), len(params)
    if k == 0:
        raise GradcliError(f"the model {model!r} has no parameter to fit: each of its variables "
                           f"is a data column")
    if n < k:
        raise GradcliError(f"the model has {k} parameters ({', '.join(params)}) but the data "
                           f"only {n} row{'s' if n != 1 else ''}: a least-squares fit needs at "
                           f"least as many rows as parameters")
    if n * k > MAX_JACOBIAN_ENTRIES:
        raise GradcliError(f"lm holds the Jacobian, rows x parameters numbers, in memory: "
                           f"{n:,} rows x {k} parameters is beyond the limit of "
                           f"{MAX_JACOBIAN_ENTRIES:,} (about 0.5 GB); fit fewer rows, or use a "
                           f"gradient method such as adam, which holds no Jacobian")
    if isinstance(max_evaluations, bool) or max_evaluations < 0:
        raise GradcliError(f"max_evaluations must be a whole number >= 0, got {max_evaluations}")
    program = compile_expression(expression, wrt=list(params))
    columns = {c: np.asarray(v, dtype=np.float64) for c, v in inputs.items()}
    history: list[tuple[float, np.ndarray]] = []

    zero: list[int] = []

    def record(p, r, jac):
        """MINPACK evaluates the Jacobian at the start and at each accepted point: the
        history, and at the start the parameters with an exactly zero gradient."""
        with np.errstate(all="ignore"):
            mse = sum_of_squares(r) / n
        if not history:
            zero.extend(zero_gradient_params(jac, r, params))
        if not history or mse < history[-1][0]:
            history.append((mse, p))

    res = Residuals(program, columns, target, params)
    start = np.asarray(start, dtype=np.float64)
    r0 = res.exact(start)
    row = first_nonfinite_row(r0)
    if row is not None:
        point = ", ".join(f"{c}={float(columns[c][row])!r}" for c in columns)
        raise GradcliError(f"the model is {float(r0[row] + res.target[row])!r} at data row "
                           f"{row + 1} ({point or 'no data column'}) with the starting parameters "
                           f"{_named(params, start)}: a residual must be finite (try another "
                           f"{init_label})")
    res.on_jacobian = record
    stopped = None
    try:
        if max_evaluations == 0:  # the start's statistics, no step
            out = {"x": start, "njev": 0, "nfev": 1, "converged": False, "engine": "lm",
                   "message": "no evaluation allowed: the start"}
        else:
            out = levenberg_marquardt(res, start, max_evaluations=max_evaluations,
                                      bounds=bounds)
    except KeyboardInterrupt as interrupt:  # the best point so far, then the interrupt
        stopped = interrupt
        out = {"x": history[-1][1] if history else start, "njev": len(history), "nfev": 0,
               "converged": False, "engine": "lm", "message": "interrupted"}
    res.on_jacobian = None
    x = np.asarray(out["x"], dtype=np.float64)
    r = res.exact(x)
    row = first_nonfinite_row(r)
    if row is not None:  # MINPACK never accepts such a step; kept as a guard
        raise GradcliError(f"the residual at data row {row + 1} is not finite at the answer "
                           f"{_named(params, x)}")
    rss = sum_of_squares(r)
    if not history:  # MINPACK stopped before a Jacobian (the evaluation cap)
        zero.extend(zero_gradient_params(res.jacobian(start), r0, params))
    if not history or not np.array_equal(history[-1][1], x):
        history.append((rss / n, x.copy()))  # the answer is the last row
    fit = LeastSquaresFit(model, list(params), list(columns), target_name, x, rss, n,
                          out["njev"], out["nfev"], out["converged"], out["message"],
                          history=history, engine=out["engine"], bounds=bounds)
    if out.get("status") == 4 and bounds is not None and len(fit.active_bounds) == k:
        fit.message = "every parameter is on a bound, its gradient pointing out of the box"
    fit.stuck = [params[j] for j in zero if x[j] == start[j]]
    fit.r2 = r_squared(r, res.target)
    jac = res.jacobian(x)
    with np.errstate(all="ignore"):
        gradient = 2.0 * (jac.T @ r) / n
        fit.grad_norm = float(np.linalg.norm(gradient) if bounds is None
                              else bounds.projected_norm(x, gradient))
    cov, weak = covariance(jac, rss, n - k)
    fit.not_identifiable = [params[j] for j in weak]
    if stopped is not None:
        fit.covariance = cov if not weak else np.full((k, k), np.nan)
        with np.errstate(invalid="ignore"):
            fit.stderr = np.sqrt(np.diag(fit.covariance))
        stopped.partial = fit  # for the caller that writes what was done
        raise stopped
    # held by a bound, a parameter is determined even where the Jacobian is singular
    if weak and not set(fit.not_identifiable) <= set(fit.stuck) | set(fit.active_bounds):
        raise GradcliError(
            f"the parameters {', '.join(fit.not_identifiable)} are not identifiable: the "
            f"Jacobian of the residuals is singular at the fit {_named(params, x)} (some "
            f"combination of them leaves every residual unchanged); fix one of them, or "
            f"reparametrize the model")
    if weak:
        cov = np.full((k, k), np.nan)
    fit.covariance = cov
    with np.errstate(invalid="ignore"):
        fit.stderr = np.sqrt(np.diag(cov))
    return fit


def _named(params, values) -> str:
    return ",".join(f"{p}={float(v)!r}" for p, v in zip(params, values))
