"""torch's strong-Wolfe line search (torch/optim/lbfgs.py, from minFunc's lswolfe), in float64.

``strong_wolfe(evaluate, x, t, d, f, g, gtd)`` brackets a step length along d, then zooms in
with cubic interpolation (``cubic_interpolate``) until the strong Wolfe conditions hold, as
torch's ``_strong_wolfe`` does step for step (the same branches and constants).
"""
from __future__ import annotations

import math

from .vectors import ARRAYS

C1, C2 = 1e-4, 0.9  # the sufficient-decrease and curvature constants (torch's)
MAX_LINE_SEARCH = 25  # torch's _strong_wolfe default max_ls


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None) -> float:
    """The minimizer of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to bounds
    (default the interval); the midpoint where the cubic has no minimum."""
    if bounds is not None:
        lo, hi = bounds
    else:
        lo, hi = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - divide(3 * (f1 - f2), x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            at = x2 - (x2 - x1) * divide(g2 + d2 - d1, g2 - g1 + 2 * d2)
        else:
            at = x1 - (x1 - x2) * divide(g1 + d2 - d1, g1 - g2 + 2 * d2)
        return min(max(at, lo), hi)  # a nan stays nan (max(nan, lo) is nan), as in torch
    return (lo + hi) / 2.0


def divide(a: float, b: float) -> float:
    """a / b with IEEE's answers where Python raises: +-inf for a / 0, nan for 0 / 0 (torch
    computes these on tensors; a linear function, whose cubic has no curvature, needs them)."""
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def strong_wolfe(evaluate, x, t, d, f, g, gtd, c1=C1, c2=C2, tolerance_change=1e-9,
                 max_ls=MAX_LINE_SEARCH, vx=ARRAYS):
    """(f, g, t) at a step t along d satisfying the strong Wolfe conditions
    f(x + t d) <= f + c1 t g.d and |g(x + t d).d| <= -c2 g.d (or the best point found within
    max_ls evaluations); ``evaluate(point) -> (f, g)``; vectors as ``vx`` (ARRAYS, LISTS)."""
    d_norm = vx.max_abs(d)
    f_new, g_new = evaluate(vx.axpy(x, t, d))
    gtd_new = vx.dot(g_new, d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                              bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = evaluate(vx.axpy(x, t, d))
        gtd_new = vx.dot(g_new, d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]
        bracket_gtd = [gtd, gtd_new]  # never read: done stays False but the zoom loop is over

    # zoom: shrink the bracket until a point satisfies the conditions
    insufficient = False
    # (one point, done: its f may be nan, log(x) past 0 with a finite gradient, where torch's
    # own comparison picks index 1 of a list of one; issue 23)
    low, high = (0, 1) if len(bracket) == 1 or bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                              bracket[1], bracket_f[1], bracket_gtd[1])
        # a t too close to an end of the bracket moves 10% of its length inside
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(vx.axpy(x, t, d))
        gtd_new = vx.dot(g_new, d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new, gtd_new
    return bracket_f[low], bracket_g[low], bracket[low]
