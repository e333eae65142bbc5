"""Fitting a model's parameters to data rows by minimizing the mean squared error.

The model is a parsed expression; its variables that are data columns are inputs,
the others are parameters (``gradcli.dataset.split_variables``). For rows
``i = 1..n`` with target ``y_i``:

    loss(p)      = (1/n) * sum_i (f(x_i; p) - y_i)**2                 (MSE)
    d loss / dp  = sum_i (2/n) * (f(x_i; p) - y_i) * d f(x_i; p) / dp
    R**2         = 1 - SS_res / SS_tot,  SS_res = sum_i (f_i - y_i)**2,
                   SS_tot = sum_i (y_i - mean(y))**2

Both the loss and its gradient come from one vectorized pass over all the rows
(``Program.value_and_vjp`` seeded with ``f - y``, the sums then times 2/n): there
is no Python loop over rows. When every target is the same (SS_tot = 0), R**2 is 1.0 for a
perfect fit and 0.0 otherwise (scikit-learn's convention).

Epochs. Epoch 0 is the initial parameters (``init``, default 0 for each).
- Full batch (the default): an epoch is one optimizer update along the gradient
  of the loss over all rows.
- Minibatches (``batch_size`` B < n): an epoch is one pass over all the rows in a
  fresh random order (``numpy.random.default_rng(seed).permutation``, one draw per
  epoch), cut into ceil(n/B) consecutive batches (the last may be smaller); each
  batch gives one update along the gradient of the MSE over that batch's rows.
  The same seed gives the same run; the default seed is 0. Learning-rate
  schedules count updates, so with minibatches they advance ceil(n/B) per epoch.
Epoch k's record is the parameters after k epochs and the full-batch loss there.

Newton's method (``needs_hessian``) gets the exact Hessian of the loss (of the batch's
loss with minibatches): (2/n) * sum_i (grad f_i grad f_i^T + (f_i - y_i) * Hessian f_i).

Bounds (``bounds``, an optimizers.bounds.Bounds over the parameters): every update is
projected onto the box, and the gradient norm is that of the projected gradient (0 at a
minimum on the box), as ``gradcli minimize --bounds`` does.

Stopping: after ``epochs`` epochs; earlier when the norm of the full-batch
gradient at the current parameters is ``tol`` or less (``tol=0``: never), which
is ``converged``; or when the loss or its gradient is not finite, which is
``diverged`` (``diverged_at`` names the epoch).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .dataset import Dataset, split_variables
from ..errors import GradcliError
from ..compiled.program import compile_expression
from ..compiled.replay import DOT_BLOCK, blocked_dot
from ..optimizers import DEFAULT_TOL

DEFAULT_EPOCHS = 1000
DEFAULT_SEED = 0


def sum_of_squares(r: np.ndarray) -> float:
    """sum(r**2): r . r in blocks that BLAS runs in this thread (replay.blocked_dot) from
    DOT_BLOCK rows on, einsum below (one multithreaded BLAS dot of 100,000 rows took ~10 ms,
    not 20 us, on a loaded 2-core machine: its threads wait for busy cores); one BLAS dot
    where BLAS runs on one thread (blocked_dot says why)."""
    r = np.ravel(r)
    if len(r) >= DOT_BLOCK:
        return float(blocked_dot(r, r))
    return float(np.einsum("i,i->", r, r))


def r_squared(residuals: np.ndarray, target: np.ndarray) -> float:
    """1 - SS_res/SS_tot (SS_tot = 0: 1.0 for a perfect fit, else 0.0)."""
    ss_res = sum_of_squares(residuals)
    centred = target - np.mean(target)
    ss_tot = sum_of_squares(centred)
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


class MeanSquaredError:
    """The MSE of a model over data rows and its gradient along the parameters, in one pass."""

    def __init__(self, expression, inputs: dict[str, np.ndarray], target: np.ndarray,
                 params: list[str], dtype=None):
        self.params = list(params)
        self.program = compile_expression(expression, wrt=self.params, dtype=dtype)
        self.dtype = self.program.dtype
        self.inputs = {k: np.asarray(v, dtype=self.dtype) for k, v in inputs.items()}
        self.target = np.asarray(target, dtype=self.dtype)

    @property
    def rows(self) -> int:
        return len(self.target)

    def _rows(self, p, inputs, target) -> tuple[dict, np.ndarray]:
        """The program's env (the rows' columns and the parameters p) and the rows' targets."""
        env = dict(self.inputs if inputs is None else inputs)
        env.update(zip(self.params, p))
        return env, self.target if target is None else target

    def residuals(self, p, inputs=None, target=None) -> np.ndarray:
        """f(x_i; p) - y_i for each row."""
        env, y = self._rows(p, inputs, target)
        with np.errstate(all="ignore"):
            return np.asarray(self.program.value(env), dtype=self.dtype) - y

    def loss_and_grad(self, p, inputs=None, target=None) -> tuple[float, np.ndarray]:
        """(mean((f - y)**2), its gradient along the parameters) over the given rows
        (default: all of them)."""
        env, y = self._rows(p, inputs, target)
        n = len(y)
        kept = []

        def seed(f):
            kept.append(f - y)
            return kept[0]

        # the seed is f - y, not 2*(f - y)/n: the factor goes on the len(wrt) sums, which
        # saves a pass over the rows (and is 2*mean((f - y) * df/dp), as a numpy loop has it)
        with np.errstate(all="ignore"):
            _, sums = self.program.value_and_vjp(env, seed)
            r = kept[0]
            loss = sum_of_squares(r) / n
            grad = 2.0 * (np.asarray(sums, dtype=self.dtype) / n)
        return loss, grad.astype(self.dtype, copy=False)

    def hessian(self, p, inputs=None, target=None) -> np.ndarray:
        """(2/n) * sum_i (grad f_i grad f_i^T + (f_i - y_i) * Hessian f_i), for Newton."""
        env, y = self._rows(p, inputs, target)
        n, k = len(y), len(self.params)
        with np.errstate(all="ignore"):
            f, jac = self.program.value_and_grad(env)
            jac = np.broadcast_to(jac, (n, k))
            second = np.broadcast_to(self.program.hessian(env), (n, k, k))
            r = np.broadcast_to(f, y.shape) - y
            outer = np.einsum("ij,ik->jk", jac, jac)  # not jac.T @ jac: see blocked_dot
            return (2.0 / n) * (outer + np.einsum("i,ijk->jk", r, second))


@dataclass
class Fit:
    """A fit's outcome so far: the path of parameters and losses, one entry per epoch done."""

    model: str
    params: list[str]            # parameter names, sorted
    inputs: list[str]            # data columns the model reads
    target: str
    grad_norm: float = math.nan  # of the full-batch gradient at the last parameters
    converged: bool = False
    diverged_at: int | None = None
    r2: float = math.nan
    # epoch k's parameters and loss, in arrays grown by doubling (8 bytes a number)
    # parameters are kept for the epochs k with k % keep_every == 0 and for the last one
    # (a run of 200,000 epochs of 200 parameters keeps the ~20 rows shown, not 320 MB)
    keep_every: int = 1
    opt: str | None = None           # the optimizer's name, when known
    stuck: list[str] = field(default_factory=list)  # zero gradient at the start, never moved
    bounds: object = None            # optimizers.bounds.Bounds, or None
    _path: np.ndarray | None = field(default=None, repr=False)
    _losses: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    _count: int = field(default=0, repr=False)
    _kept: int = field(default=0, repr=False)     # rows of _path in use
    _last: np.ndarray | None = field(default=None, repr=False)

    def kept(self) -> list[int]:
        """The epochs whose parameters are kept (every one with keep_every 1)."""
        if not self._count:
            return []
        last, step = self._count - 1, self.keep_every
        return [*range(0, last + 1, step), *([last] if last % step else [])]

    @property
    def path(self) -> np.ndarray:
        """Row i: the parameters after epoch kept()[i] (after i epochs with keep_every 1)."""
        if self._path is None:
            return np.zeros((0, len(self.params)))
        rows = self._path[:self._kept]
        if (self._count - 1) % self.keep_every:
            rows = np.vstack([rows, self._last[None, :]])
        return rows

    @property
    def losses(self) -> np.ndarray:
        """Entry k: the full-batch loss after k epochs."""
        return self._losses[:self._count]

    def add(self, p: np.ndarray, loss: float) -> None:
        """Record the next epoch (it counts once both are written)."""
        if self._count == len(self._losses):
            losses = np.empty(max(16, 2 * self._count))
            losses[:self._count] = self._losses[:self._count]
            self._losses = losses
        if self._count % self.keep_every == 0:
            if self._path is None or self._kept == len(self._path):
                path = np.empty((max(16, 2 * self._kept), len(p)), dtype=p.dtype)
                if self._path is not None:
                    path[:self._kept] = self._path[:self._kept]
                self._path = path
            self._path[self._kept] = p
            self._kept += 1
        self._last = np.array(p, copy=True)
        self._losses[self._count] = loss
        self._count += 1

    def params_at(self, k: int) -> np.ndarray:
        """The parameters after epoch k (a kept one: see kept())."""
        last = self._count - 1
        k = last if k == -1 else k
        if k == last and self._last is not None:
            return self._last
        if k % self.keep_every or not 0 <= k <= last:
            raise IndexError(f"epoch {k}'s parameters are not kept (keep_every {self.keep_every})")
        return self._path[k // self.keep_every]

    @property
    def epochs(self) -> int:
        """Epochs performed (0 before the first update)."""
        return max(self._count - 1, 0)

    @property
    def loss(self) -> float:
        return float(self._losses[self._count - 1]) if self._count else math.nan

    def values(self, k: int = -1) -> dict[str, float]:
        """The parameters after epoch k (default: the last), by name."""
        return {name: float(v) for name, v in zip(self.params, self.params_at(k))}

    @property
    def active_bounds(self) -> dict:
        """{parameter: "lower" | "upper"} for the bounds the last parameters lie on."""
        if self.bounds is None or not self._count:
            return {}
        return self.bounds.active(self.params_at(-1))

    def record(self, k: int) -> dict:
        """The history record of epoch k: {"epoch": k, "loss": L, "params": {...}}."""
        return {"epoch": k, "loss": float(self.losses[k]), "params": self.values(k)}


def initial_values(params: list[str], inputs: list[str], init: dict | None, *,
                   label: str = "init") -> np.ndarray:
    """The starting parameters: init's values, 0 for the ones it leaves out. Errors name the
    argument as ``label`` (the CLI passes its flag, ``--init``)."""
    init = dict(init or {})
    for name in init:
        if name not in params:
            if name in inputs:
                raise GradcliError(f"{label}: '{name}' is a data column, not a parameter "
                                   f"(the parameters: {', '.join(params)})")
            raise GradcliError(f"{label}: the model has no parameter '{name}' "
                               f"(its parameters: {', '.join(params)})")
    try:
        start = np.array([float(init.get(name, 0.0)) for name in params], dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise GradcliError(f"{label}: every starting value must be a number ({e})") from None
    for name, value in zip(params, start):
        if not math.isfinite(value):
            raise GradcliError(f"{label}: {name}={float(value)!r}: a starting value must be finite")
    return start


# the names the library's errors give its arguments; the CLI passes its flags instead
ARGUMENT_NAMES = {"init": "init", "epochs": "epochs", "batch_size": "batch_size", "tol": "tol",
                  "bounds": "bounds"}


class Fitter:
    """Runs epochs of an optimizer on the MSE, keeping a ``Fit`` that is complete after each
    epoch (so an interrupted run still has what was done)."""

    def __init__(self, expression, dataset: Dataset, target: str, optimizer, *,
                 init: dict | None = None, batch_size: int | None = None,
                 seed: int | None = None, tol: float = DEFAULT_TOL, dtype=None,
                 keep_every: int = 1, names: dict | None = None, bounds=None):
        self.names = names = {**ARGUMENT_NAMES, **(names or {})}
        inputs, params = split_variables(list(expression.variables), dataset, target)
        if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1):
            raise GradcliError(f"{names['batch_size']} must be a whole number >= 1, "
                               f"got {batch_size}")
        if not (tol >= 0):
            raise GradcliError(f"{names['tol']} must be a number >= 0, got {tol}")
        start = initial_values(params, inputs, init, label=names["init"])
        if bounds is not None:
            try:
                bounds.check_start(start)
            except ValueError as e:
                raise GradcliError(f"{names['bounds']}: {e}") from None
        self.bounds = bounds
        self.mse = MeanSquaredError(expression, {c: dataset.data[c] for c in inputs},
                                    dataset.data[target], params, dtype)
        self.optimizer = optimizer
        n = self.mse.rows
        self.batch_size = batch_size if batch_size is not None and batch_size < n else None
        self.rng = np.random.default_rng(DEFAULT_SEED if seed is None else seed)
        self.tol = float(tol)
        self.fit = Fit(expression.text, params, inputs, target, keep_every=max(1, keep_every),
                       opt=getattr(optimizer, "name", None), bounds=bounds)
        with np.errstate(over="ignore"):  # beyond float32: inf, reported as divergence
            self._p = start.astype(self.mse.dtype)
        self._grad = None
        self._zero_at_start = None

    def run(self, epochs: int = DEFAULT_EPOCHS, on_epoch=None) -> Fit:
        """Run up to ``epochs`` epochs; ``on_epoch(fit)`` after each (progress display)."""
        if isinstance(epochs, bool) or epochs < 0:
            raise GradcliError(f"{self.names['epochs']} must be a whole number >= 0, "
                               f"got {epochs}")
        fit = self.fit
        if not len(fit.losses):
            self._evaluate()
        while True:
            if not (math.isfinite(fit.loss) and math.isfinite(fit.grad_norm)):
                fit.diverged_at = fit.epochs
                break
            if self.tol > 0 and fit.grad_norm <= self.tol:
                fit.converged = True
                break
            if fit.epochs >= epochs:
                break
            self._epoch()
            self._evaluate()
            if on_epoch is not None:
                on_epoch(fit)
        fit.r2 = self.r2()
        fit.stuck = self.stuck()
        return fit

    def stuck(self) -> list[str]:
        """The parameters whose full-batch gradient was exactly 0 at the start and that never
        moved (a symmetric start such as every parameter 0 in a*sin(b*x): nothing moves them)."""
        fit = self.fit
        if self._zero_at_start is None or not fit.epochs:
            return []
        start, now = fit.params_at(0), fit.params_at(-1)
        return [name for j, name in enumerate(fit.params)
                if self._zero_at_start[j] and start[j] == now[j]]

    def r2(self) -> float:
        """R**2 of the last recorded parameters."""
        if not len(self.fit.losses):
            return math.nan
        with np.errstate(all="ignore"):
            r = self.mse.residuals(self.fit.params_at(-1))
            r = np.broadcast_to(r, self.mse.target.shape)
            if not np.all(np.isfinite(r)):
                return math.nan
            return r_squared(r.astype(np.float64), self.mse.target.astype(np.float64))

    def _evaluate(self) -> None:
        """Full-batch loss and gradient at the current parameters; record the epoch."""
        loss, grad = self.mse.loss_and_grad(self._p)
        self._grad = grad
        fit = self.fit
        if not fit.losses.size:
            self._zero_at_start = np.asarray(grad) == 0
        with np.errstate(all="ignore"):
            fit.grad_norm = float(np.sqrt(np.dot(grad, grad)) if self.bounds is None
                                  else self.bounds.projected_norm(self._p, grad))
        fit.add(self._p, loss)

    def _epoch(self) -> None:
        """One epoch of updates: the full batch, or shuffled minibatches."""
        if self.batch_size is None:
            self._p = self._update(self._p, self._grad)
            return
        mse, b = self.mse, self.batch_size
        order = self.rng.permutation(mse.rows)
        inputs = {k: v[order] for k, v in mse.inputs.items()}
        target = mse.target[order]
        p = self._p
        for start in range(0, mse.rows, b):
            rows = slice(start, start + b)
            batch = {k: v[rows] for k, v in inputs.items()}
            _, grad = mse.loss_and_grad(p, batch, target[rows])
            p = self._update(p, grad, batch, target[rows])
        self._p = p

    def _update(self, p, grad, inputs=None, target=None) -> np.ndarray:
        """The optimizer's step; Newton gets the Hessian of the loss over the same rows."""
        opt = self.optimizer
        if not opt.needs_hessian:
            p = opt.update(p, grad)
        else:  # a singular batch Hessian (fewer rows than parameters): Newton's damping case
            def hessian(q):
                return self.mse.hessian(q, inputs, target)

            if self.bounds is not None:
                grad, hessian = _reduced_newton(self.bounds, p, grad, hessian)
            p = opt.update(p, grad, hessian=hessian)
        return p if self.bounds is None else self.bounds.project(p)


def _reduced_newton(bounds, p, grad, hessian):
    """Projected Newton (Bertsekas 1982): the parameters on a bound with the gradient pointing
    out of the box are held (gradient 0, their Hessian rows and columns cut off the others'),
    so the step is Newton's on the free ones, not a full step cut by the projection."""
    lo, hi = bounds.lower.astype(p.dtype), bounds.upper.astype(p.dtype)
    held = ((p <= lo) & (grad > 0)) | ((p >= hi) & (grad < 0))
    if not held.any():
        return grad, hessian
    grad = np.where(held, 0.0, grad).astype(p.dtype)

    def reduced(q):
        h = np.array(hessian(q), copy=True)
        diagonal = np.where(np.diagonal(h) > 0, np.diagonal(h), 1.0)
        h[held, :] = 0.0
        h[:, held] = 0.0
        h[held, held] = diagonal[held]
        return h

    return grad, reduced


def fit(expression, dataset: Dataset, target: str, optimizer, *, epochs: int = DEFAULT_EPOCHS,
        **options) -> Fit:
    """Fit the parameters of ``expression`` to ``dataset``'s ``target`` column (see the module
    docstring); ``options`` are Fitter's (init, batch_size, seed, tol, dtype)."""
    return Fitter(expression, dataset, target, optimizer, **options).run(epochs)
