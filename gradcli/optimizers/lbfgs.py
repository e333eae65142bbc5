"""Quasi-Newton methods with a line search: L-BFGS (torch.optim.LBFGS's algorithm) and BFGS.

One iteration (``iterate``) from p with value f and gradient g, as torch/optim/lbfgs.py's
inner loop (``LBFGS.step`` with ``max_iter`` = the run's steps):

    direction   first iteration: d = -g;  later, with s = t*d and y = g - g_prev of the last
                iteration, the pair (s, y) is kept when y.s > 1e-10 (at most history_size
                pairs; BFGS: the dense inverse Hessian H is updated instead) and
                L-BFGS  d = -H g by the two-loop recursion, H0 = (y.s / y.y) I of the last pair
                BFGS    d = -H g,  H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T,
                        rho = 1/(y.s), H = (y.s / y.y) I before the first update
    step length first iteration t = min(1, 1/||g||_1) * lr, then t = lr (lr default 1);
                stop ("tolerance_change") if g.d > -tolerance_change;
                line_search "strong-wolfe": torch's _strong_wolfe (c1 = 1e-4, c2 = 0.9,
                cubic interpolation, bracketing then zoom) from that t, with the evaluations
                left of the budget max_eval (default steps * 5 // 4, torch's);
                line_search "none": p + t d, one evaluation
    stopping    after the step, as torch in this order: the evaluation budget spent
                ("max_eval"), max |g| <= tolerance_grad ("tolerance_grad", default 1e-7),
                max |t d| <= tolerance_change or |f - f_prev| < tolerance_change
                ("tolerance_change", default 1e-9); a step length of 0 (the line search
                found no lower point: f's rounding near a minimum; with bounds, no decrease
                along the projected path) is "line_search", not converged

With bounds (``bounds=(lo, hi)``, arrays with -inf/inf for no bound), the L-BFGS-B-style
projected variant: coordinates at a bound whose gradient points out of the box are held
(the active set); the direction is computed on the free ones (the active components of g
and d are zero), and the line search is a backtracking one along the projected path
p(t) = P(p + t d), t halved until f(p(t)) <= f + 1e-4 g.(p(t) - p) (Armijo), s = p(t) - p;
tolerance_grad applies to the free components of the gradient (the projected gradient).

``maximize`` minimizes -f. Clipping, schedules and weight decay do not apply (torch's LBFGS
has none of them). ``evaluations`` counts the function-and-gradient evaluations made.
Runs: ``training.descend`` (``begin``, then ``iterate`` per row), or on Variables the
Keras-style ``minimize(loss_fn, var_list, max_iter=20)``, torch's ``step(closure)``.
"""
from __future__ import annotations

import numpy as np

from . import LINE_SEARCHES
from .base import Optimizer, _number
from .vectors import ARRAYS, LISTS
from .wolfe import C1, MAX_LINE_SEARCH, divide, strong_wolfe

CURVATURE = 1e-10  # a pair (s, y) is kept when y.s > this (torch's test)


class _QuasiNewton(Optimizer):
    """The iteration shared by L-BFGS and BFGS; subclasses give the memory and the direction."""

    SMALL_ON_LISTS = False  # whether a few variables run on lists of floats (LISTS)
    needs_function = True
    elementwise = False
    COMMON = ("lr", "maximize", "compat", "dtype")  # the base options these methods take
    DEFAULTS = {"torch": {"lr": 1.0}, "keras": {"lr": 1.0}}
    HYPER = ("line_search", "tolerance_grad", "tolerance_change", "max_eval")

    def __init__(self, lr=None, line_search="strong-wolfe", tolerance_grad=1e-7,
                 tolerance_change=1e-9, max_eval=None, bounds=None, **common):
        """line_search: 'strong-wolfe' or 'none' (torch's line_search_fn 'strong_wolfe' or None);
        max_eval: the evaluation budget of a run (None: steps * 5 // 4 when it starts)."""
        super().__init__(lr, **common)
        unused = [n for n in ("weight_decay", "schedule", "clip_norm", "clip_value", "clip_each")
                  if getattr(self, n, None)]
        if unused:
            raise ValueError(f"{self.name} does not take {', '.join(unused)} (torch's LBFGS "
                             f"has no weight decay, schedule or clipping)")
        line_search = str(line_search).replace("_", "-").lower()
        if line_search not in LINE_SEARCHES:
            raise ValueError(f"line_search must be one of {', '.join(LINE_SEARCHES)}, "
                             f"got {line_search!r}")
        self.line_search = line_search
        self.tolerance_grad = _number("tolerance_grad", tolerance_grad)
        self.tolerance_change = _number("tolerance_change", tolerance_change)
        if max_eval is not None and (isinstance(max_eval, bool) or int(max_eval) != max_eval
                                     or max_eval < 1):
            raise ValueError(f"max_eval must be an integer >= 1, got {max_eval!r}")
        self.max_eval = None if max_eval is None else int(max_eval)
        self.bounds = bounds  # None or (lo, hi) arrays
        self.evaluations = 0
        self.stop = None  # the test that ended the run: tolerance_grad, tolerance_change,
        # max_eval, line_search
        self._sign = 1.0
        self._prev = None  # (g, s = p_new - p) of the last iteration
        self.vx = ARRAYS  # the vector operations (begin chooses)

    # -- the run ------------------------------------------------------------------------------
    def begin(self, fg, p, steps: int):
        """Start a run of at most ``steps`` iterations at p: (p, f, g) of the first evaluation.
        A few float64 variables without bounds (L-BFGS) run on lists of Python floats with
        ``fg.floats`` (``LISTS``: numpy's per-call cost is most of the time on 2-vectors);
        otherwise numpy arrays."""
        if self.dtype is None:
            self.dtype = np.dtype(np.float64)
        if self.max_eval is None:
            self.max_eval = max(1, steps * 5 // 4)
        self._sign = -1.0 if self.maximize else 1.0
        floats = getattr(fg, "floats", None)
        if (self.SMALL_ON_LISTS and len(p) < 8 and self.dtype == np.float64
                and floats is not None):
            self.vx, self._fg, p = LISTS, floats, [float(x) for x in p]
            box = None if self.bounds is None else [list(map(float, b)) for b in self.bounds]
        else:
            self.vx, self._fg, p = ARRAYS, fg, np.array(p, dtype=self.dtype)
            box = None if self.bounds is None else [np.asarray(b, self.dtype) for b in self.bounds]
        self._box = box
        f, g = self._evaluate(p)
        if self.vx.max_abs(self._free(p, g)) <= self.tolerance_grad:
            self.stop = "tolerance_grad"
        return p, self._sign * f, self.vx.scale(g, self._sign)

    def _evaluate(self, p):
        """(f, g) of the minimized function (-f with maximize) at p, counted."""
        self.evaluations += 1
        f, g = self._fg(p)
        return self._sign * float(f), self.vx.vector(g, self._sign, self.dtype, p)

    def grad_norm(self, g) -> float:
        return self.vx.norm(g)

    def iterate(self, p, f, g):
        """One iteration from p (f, g as ``begin`` returned them, in the user's sign): the new
        (p, f, g), or None when torch's test g.d > -tolerance_change stops before a step."""
        vx = self.vx
        if self._sign < 0:
            f, g = -f, vx.scale(g, -1.0)
        self.iterations += 1
        active = self._active(p, g)
        if self._prev is None:
            d = vx.scale(g, -1.0)
        else:
            g_prev, s_prev = self._prev
            self._remember(s_prev, vx.sub(g, g_prev))
            d = self._direction(g, active)
        if active is not None:
            d = vx.mask(active, d)
        first = self._prev is None
        t = min(1.0, divide(1.0, vx.sum_abs(g))) * self.lr if first else self.lr
        gtd = vx.dot(g, d)
        self.last_lr = t
        if gtd > -self.tolerance_change:  # not a descent direction (to within the tolerance)
            self.stop = "tolerance_change"
            return None
        budget = self.max_eval - self.evaluations
        if self.bounds is not None:
            p_new, f_new, g_new, t = self._projected_search(p, f, g, d, t, budget)
            s = vx.sub(p_new, p)
        elif self.line_search == "strong-wolfe":
            # torch passes neither tolerance_change nor c1, c2: the search's own 1e-9 holds
            f_new, g_new, t = strong_wolfe(self._evaluate, p, t, d, f, g, gtd, max_ls=budget,
                                           vx=vx)
            p_new, s = vx.axpy(p, t, d), vx.scale(d, t)
        else:
            p_new, s = vx.axpy(p, t, d), vx.scale(d, t)
            f_new, g_new = self._evaluate(p_new)
        self.last_lr = t
        self._prev = (g, s)
        if self.stop == "line_search":
            return p, self._sign * f, vx.scale(g, self._sign)
        if self.evaluations >= self.max_eval:
            self.stop = "max_eval"
        elif t == 0:  # the line search found no lower point (f's rounding, near a minimum)
            self.stop = "line_search"
        elif vx.max_abs(self._free(p_new, g_new)) <= self.tolerance_grad:
            self.stop = "tolerance_grad"
        elif vx.max_abs(s) <= self.tolerance_change or abs(f_new - f) < self.tolerance_change:
            self.stop = "tolerance_change"
        if self._sign < 0:
            return p_new, -f_new, vx.scale(g_new, -1.0)
        return p_new, f_new, g_new

    # -- bounds ------------------------------------------------------------------------------
    def _active(self, p, g):
        """The coordinates held at a bound (g points out of the box there), or None."""
        if self.bounds is None:
            return None
        return self.vx.active(p, g, *self._box)

    def _free(self, p, g):
        """g without the components held at a bound (all of g without bounds)."""
        active = self._active(p, g)
        return g if active is None else self.vx.mask(active, g)

    def _projected_search(self, p, f, g, d, t, budget):
        """Backtracking along P(p + t d) until Armijo holds: (p, f, g, t) of the point taken."""
        vx, (lo, hi) = self.vx, self._box
        for _ in range(max(1, min(budget, 2 * MAX_LINE_SEARCH))):
            p_new = vx.clip(vx.axpy(p, t, d), lo, hi)
            f_new, g_new = self._evaluate(p_new)
            if f_new <= f + C1 * vx.dot(g, vx.sub(p_new, p)):
                return p_new, f_new, g_new, t
            t *= 0.5
        self.stop = "line_search"  # no decrease found: stay at p
        return p, f, g, 0.0

    def _remember(self, s, y):
        raise NotImplementedError

    def _direction(self, g, active=None):
        raise NotImplementedError

    def update(self, params, grads, hessian=None):
        raise ValueError(f"{self.name} needs the function, not only gradients: run it with "
                         f"gc.minimize(expression, ...) or gradcli.training.descend.descend")

    def apply_gradients(self, grads_and_vars):
        self.update(None, None)

    def minimize(self, loss_fn, var_list, max_iter: int = 20) -> int:
        """torch's ``LBFGS.step(closure)`` on Variables: up to max_iter iterations on
        ``loss_fn()`` (gradients from a tape), with torch's per-call evaluation budget
        ``max_eval`` (default max_iter * 5 // 4); the memory is kept from call to call, and
        the variables hold the last iterate. Returns the iterations done so far."""
        from ..tape import GradientTape

        var_list = list(var_list)
        shapes = [np.shape(v.numpy()) for v in var_list]
        sizes = [int(np.prod(s)) for s in shapes]

        def assign(p):
            start = 0
            for v, shape, size in zip(var_list, shapes, sizes):
                v.assign(np.reshape(p[start:start + size], shape))
                start += size

        def fg(p):
            assign(p)
            with GradientTape() as tape:
                tape.watch(var_list)
                loss = loss_fn()
            grads = tape.gradient(loss, var_list)
            flat = [np.zeros(n) if g is None else np.ravel(np.asarray(
                g.numpy() if hasattr(g, "numpy") else g, dtype=np.float64)) for g, n in
                zip(grads, sizes)]
            return float(np.asarray(loss.numpy() if hasattr(loss, "numpy") else loss)), \
                np.concatenate(flat)

        budget, self.max_eval = self.max_eval, None
        first = np.concatenate([np.ravel(np.asarray(v.numpy(), dtype=np.float64))
                                for v in var_list])
        self.stop, spent = None, self.evaluations
        p, f, g = self.begin(fg, first, max_iter)
        self.max_eval = spent + (budget if budget is not None else self.max_eval)
        for _ in range(max_iter):
            if self.stop is not None:
                break
            out = self.iterate(p, f, g)
            if out is None:
                break
            p, f, g = out
        assign(np.asarray(p, dtype=np.float64))
        self.max_eval = budget
        return self.iterations

    def float_stepper(self, n: int):
        return None


class LBFGS(_QuasiNewton):
    """L-BFGS: the inverse Hessian from the last history_size (s, y) pairs (torch.optim.LBFGS)."""

    name = "lbfgs"
    SMALL_ON_LISTS = True
    HYPER = ("history_size", *_QuasiNewton.HYPER)

    def __init__(self, lr=None, history_size=100, line_search="strong-wolfe",
                 tolerance_grad=1e-7, tolerance_change=1e-9, max_eval=None, bounds=None,
                 **common):
        super().__init__(lr, line_search, tolerance_grad, tolerance_change, max_eval, bounds,
                         **common)
        if isinstance(history_size, bool) or int(history_size) != history_size \
                or history_size < 1:
            raise ValueError(f"history_size must be an integer >= 1, got {history_size!r}")
        self.history_size = int(history_size)
        self._s, self._y, self._rho = [], [], []
        self._h_diag = 1.0

    def _remember(self, s, y):
        ys = self.vx.dot(y, s)
        if ys > CURVATURE:
            if len(self._s) == self.history_size:
                del self._s[0], self._y[0], self._rho[0]
            self._s.append(s)
            self._y.append(y)
            self._rho.append(1.0 / ys)
            self._h_diag = ys / self.vx.dot(y, y)

    def _direction(self, g, active=None):
        """-H g by the two-loop recursion (torch's order of operations); with coordinates held
        at bounds, in the subspace of the free ones: g, s and y restricted to them (a pair
        whose restricted y.s <= 1e-10 left out)."""
        vx = self.vx
        s_list, y_list, rho, h_diag = self._s, self._y, self._rho, self._h_diag
        q = vx.scale(g, -1.0)
        if active is not None and any(active):
            q = vx.scale(vx.mask(active, g), -1.0)
            s_list = [vx.mask(active, s) for s in s_list]
            y_list = [vx.mask(active, y) for y in y_list]
            kept = [i for i, (s, y) in enumerate(zip(s_list, y_list)) if vx.dot(y, s) > CURVATURE]
            s_list, y_list = [s_list[i] for i in kept], [y_list[i] for i in kept]
            rho = [1.0 / vx.dot(y, s) for s, y in zip(s_list, y_list)]
            h_diag = (vx.dot(y_list[-1], s_list[-1]) / vx.dot(y_list[-1], y_list[-1])
                      if kept else 1.0)
        if self.vx is LISTS:
            return _two_loop_lists(q, s_list, y_list, rho, h_diag)
        alphas = [0.0] * len(s_list)
        for i in range(len(s_list) - 1, -1, -1):
            alphas[i] = float(s_list[i].dot(q)) * rho[i]
            q = q + (-alphas[i]) * y_list[i]
        r = q * h_diag
        for i in range(len(s_list)):
            beta = float(y_list[i].dot(r)) * rho[i]
            r = r + (alphas[i] - beta) * s_list[i]
        return r


class BFGS(_QuasiNewton):
    """BFGS: the dense inverse Hessian approximation, updated from every (s, y) pair."""

    name = "bfgs"

    def __init__(self, lr=None, line_search="strong-wolfe", tolerance_grad=1e-7,
                 tolerance_change=1e-9, max_eval=None, bounds=None, **common):
        super().__init__(lr, line_search, tolerance_grad, tolerance_change, max_eval, bounds,
                         **common)
        self.inverse_hessian = None  # H, (n, n); None: the identity before the first update

    def _remember(self, s, y):
        ys = float(y.dot(s))
        if ys <= CURVATURE:
            return
        n = len(s)
        h = self.inverse_hessian
        if h is None:
            h = np.eye(n, dtype=self.dtype) * (ys / float(y.dot(y)))
        rho = 1.0 / ys
        left = np.eye(n, dtype=self.dtype) - rho * np.outer(s, y)
        self.inverse_hessian = left @ h @ left.T + rho * np.outer(s, s)

    def _direction(self, g, active=None):
        """-H g; with bounds, -H_r g_F on the free coordinates F, H_r the inverse of the free
        block of the Hessian approximation H^-1: H_FF - H_FA H_AA^-1 H_AF (a Schur complement)."""
        h = self.inverse_hessian
        if h is None:
            return -g if active is None else -np.where(active, 0.0, g)
        if active is None or not active.any():
            return -(h @ g)
        free = ~active
        cross = h[np.ix_(free, active)]
        reduced = h[np.ix_(free, free)] - cross @ np.linalg.solve(h[np.ix_(active, active)],
                                                                  cross.T)
        d = np.zeros_like(g)
        d[free] = -(reduced @ g[free])
        return d


def _two_loop_lists(q, s_list, y_list, rho, h_diag):
    """The two-loop recursion on lists of floats (the same operations as on arrays)."""
    if len(q) == 2:
        return _two_loop_pairs(q, s_list, y_list, rho, h_diag)
    alphas = [0.0] * len(s_list)
    for i in range(len(s_list) - 1, -1, -1):
        a = sum([u * v for u, v in zip(s_list[i], q)]) * rho[i]
        alphas[i] = a
        q = [v + (-a) * w for v, w in zip(q, y_list[i])]
    r = [v * h_diag for v in q]
    for i in range(len(s_list)):
        c = alphas[i] - sum([u * v for u, v in zip(y_list[i], r)]) * rho[i]
        r = [v + c * w for v, w in zip(r, s_list[i])]
    return r


def _two_loop_pairs(q, s_list, y_list, rho, h_diag):
    """_two_loop_lists written out for two variables (a dot product is u0*v0 + u1*v1)."""
    q0, q1 = q
    alphas = [0.0] * len(s_list)
    for i in range(len(s_list) - 1, -1, -1):
        (s0, s1), (y0, y1) = s_list[i], y_list[i]
        a = (s0 * q0 + s1 * q1) * rho[i]
        alphas[i] = a
        q0, q1 = q0 + (-a) * y0, q1 + (-a) * y1
    r0, r1 = q0 * h_diag, q1 * h_diag
    for (s0, s1), (y0, y1), a, c in zip(s_list, y_list, alphas, rho):
        c = a - (y0 * r0 + y1 * r1) * c
        r0, r1 = r0 + c * s0, r1 + c * s1
    return [r0, r1]
