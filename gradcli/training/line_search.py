"""The minimize loop of the methods that evaluate the function themselves (L-BFGS, BFGS).

``descend`` hands these optimizers (``needs_function``) to ``descend_line_search``: each
iteration is one ``optimizer.iterate``, whose line search may evaluate f and its gradient
several times; row k is the point after k iterations, its lr the step length t taken, and
``run.evaluations[i]`` the evaluations made up to row i (the start is evaluation 1). With
bounds, a row's gradient norm is that of the projected gradient (bounds.projected_norm).

Stopping: the gradient norm <= tol ("tol", converged), the optimizer's own tests
(``optimizer.stop``: "tolerance_grad", converged; "tolerance_change", converged: no
progress to within the tolerance, as scipy reports a relative-reduction stop; "max_eval":
the evaluation budget spent, not converged), divergence, Ctrl-C, or ``steps`` iterations.
"""
from __future__ import annotations

import math
import time

import numpy as np

CONVERGED = ("tol", "tolerance_grad", "tolerance_change")


def descend_line_search(fg, start, optimizer, steps, tol, run, progress=None, keep=None,
                        every=4096):
    """Fill ``run`` (a descend.Run) with the iterations of ``optimizer`` from ``start``."""
    rows, evaluations = run.rows, run.evaluations
    if keep is not None:
        run.kept_steps = kept = []
    stop = tol if tol > 0 else -1.0
    norm_of = optimizer.grad_norm
    last, done = None, 0
    started = time.perf_counter()
    try:
        p, f, g = optimizer.begin(fg, start, steps)
        norm = norm_of(g) if run.bounds is None else run.bounds.projected_norm(p, g)
        last = (p, f, norm, optimizer.lr_at(0))
        _add(rows, evaluations, kept if keep is not None else None, keep, 0, last,
             optimizer.evaluations)
        if not _finite(f, g):
            run.diverged_at = 0
        elif norm <= stop:
            run.stop = "tol"
        elif optimizer.stop is None:
            for k in range(1, steps + 1):
                out = optimizer.iterate(p, f, g)
                if out is None:  # stopped before a step: no new row
                    break
                p, f, g = out
                norm = norm_of(g) if run.bounds is None else run.bounds.projected_norm(p, g)
                last, done = (p, f, norm, optimizer.last_lr), k
                _add(rows, evaluations, kept if keep is not None else None, keep, k, last,
                     optimizer.evaluations)
                if not _finite(f, g):
                    run.diverged_at = k
                    break
                if norm <= stop:
                    run.stop = "tol"
                    break
                if optimizer.stop is not None:
                    break
                if progress is not None and k % every == 0:
                    progress(k, f)
    except KeyboardInterrupt:
        run.interrupted = True
    run.seconds = time.perf_counter() - started
    if run.stop is None:
        run.stop = optimizer.stop
    if keep is not None and last is not None and (not kept or kept[-1] != done):
        rows.append(last)
        evaluations.append(optimizer.evaluations)
        kept.append(done)
    run.converged = (bool(rows) and run.diverged_at is None and not run.interrupted
                     and run.stop in CONVERGED)
    return run


def _add(rows, evaluations, kept, keep, k, row, count):
    if keep is None or keep(k):
        rows.append(row)
        evaluations.append(count)
        if kept is not None:
            kept.append(k)


def _finite(f, g) -> bool:
    """f and every component of g (an array or a list of floats) finite."""
    if not math.isfinite(f):
        return False
    return bool(np.all(np.isfinite(g))) if isinstance(g, np.ndarray) else all(
        map(math.isfinite, g))
