r"""Refinement of Taylor-mode derivatives (SPEC 6.1): every printed derivative within 1e-13
relative of the exact one, or reported.

The r = 1 pass can carry a *screen* (``risk``, one number per point): the product of the
cancellations it meets, (|u_k| + |v_k|) / |u_k + v_k| at a sum and the product of the
absolute values against the product at a Cauchy product (every one for up to FEW_POINTS
points or a polynomial, else the root's). ``refine`` then checks in ball arithmetic
(ball.py ``certify``) the entries float64 cannot vouch for and replaces the wrong ones:
for a polynomial (whose every cancellation the screen sees) the entries the screen flags
(estimated error EPS * SCREEN_FACTOR * (k + 1) * risk above 1e-13; not finite, 0, or near
the ends of the float64 range); for any other graph, and from order HIGH_ORDER on, every
entry (cancellation inside an op's own recurrence, as sigmoid'' near 0, is invisible to the
screen), the flagged ones first -- beyond NO_DEADLINE points, CHECK_SHARE of the further
points (about a twentieth of the float64 pass's time, counted so that a run is repeatable to the
bit), the rest reported. ``fast`` only estimates the digits.

"""
from __future__ import annotations

import math

import numpy as np

from .engine import FEW_POINTS, REL, _factorials, facts

EPS = 2.0 ** -52
HIGH_ORDER = 8        # from this order on, every point is checked in ball arithmetic
SCREEN_FACTOR = 4.0   # the screen's error model: EPS * SCREEN_FACTOR * (k + 1) * risk
# Beyond NO_DEADLINE points, ball checks are made for this share of the further points: a
# check costs 50-150 times a point of the vectorized float64 pass (measured: W3 and
# exp(x)*sin(x)/(1+x**2) at orders 1-4, 15-30 us against 0.1-0.6 us), so 1/4000 of them is
# about a twentieth of that pass. A count, not a clock: the same call checks the same entries.
CHECK_SHARE = 1 / 4000
NO_DEADLINE = 256     # up to this many points every check is made, whatever it costs


class Refinement:
    """What ``refine`` did: (point index, order) pairs replaced by ball arithmetic, beyond
    float64 (+-inf now), not certified (the ball undecided, an op without a ball rule, or
    the time budget of a large batch spent), and with ``fast`` (point, order, estimated
    correct digits) of the entries at risk.

    ``seen`` and ``spent``: the points of earlier calls of one stream (the command line's
    stdin, read in slices) and how many of them the check budget took, so that the stream's
    slices share one budget as one call over all its points would (NO_DEADLINE points in
    full, then CHECK_SHARE); after ``refine``, ``spent`` counts this call's too."""

    def __init__(self, seen: int = 0, spent: int = 0):
        self.seen = seen
        self.spent = spent
        self.checked = 0
        self.vouched = 0     # points certified by a rigorous bound alone (taylor/bounds.py)
        self.replaced: list[tuple[int, int]] = []
        self.overflow: list[tuple[int, int]] = []
        self.underflow: list[tuple[int, int]] = []   # nonzero, now 0.0 or subnormal
        self._uncertified: list[tuple[int, int]] = []
        self._unreached: list[tuple[np.ndarray, np.ndarray]] = []   # (points, orders) arrays
        self.estimated: list[tuple[int, int, int]] = []   # the worst entry at risk
        self.estimated_count = 0                            # entries at risk

    @property
    def uncertified(self) -> list[tuple[int, int]]:
        """(point, order) of every entry not certified: undecided balls, and the entries a
        large batch's time budget did not reach (kept as arrays until asked for)."""
        for points, orders in self._unreached:
            if isinstance(orders, int):   # every order 0..orders of these points
                points, orders = (np.repeat(points, orders + 1),
                                  np.tile(np.arange(orders + 1), len(points)))
            self._uncertified.extend(zip(points.tolist(), orders.tolist()))
        self._unreached = []
        return self._uncertified

    def first_uncertified(self) -> tuple[int, list[int], int] | None:
        """The first entry not certified as (point, every order of that point not certified,
        how many other points have one), or None: what a warning says, without making a
        Python pair of each of a large stream's entries (100,000 points: 50 ms)."""
        points = [np.asarray([p for p, _ in self._uncertified], dtype=np.intp)]
        orders = [np.asarray([k for _, k in self._uncertified], dtype=np.intp)]
        for ps, ks in self._unreached:
            if isinstance(ks, int):
                ps, ks = np.repeat(ps, ks + 1), np.tile(np.arange(ks + 1), len(ps))
            points.append(np.asarray(ps, dtype=np.intp))
            orders.append(np.asarray(ks, dtype=np.intp))
        points, orders = np.concatenate(points), np.concatenate(orders)
        if not len(points):
            return None
        p = int(points[0])
        ordered = np.sort(points)    # (distinct points: np.unique would import numpy.ma, 7 ms)
        return p, sorted(set(orders[points == p].tolist())), \
            int(np.count_nonzero(ordered[1:] != ordered[:-1]))


def estimated_digits(risk: float, k: int) -> int:
    """The screen's estimate of the correct significant digits of order k."""
    error = EPS * SCREEN_FACTOR * (k + 1) * max(float(risk), 1.0)
    if not error < 1.0:  # a risk of inf or nan (a huge sum's cancellation): no digit vouched for
        return 0
    return int(min(max(math.floor(-math.log10(error)), 0), 15))


_MAGNITUDE = np.uint64(0x7FFF_FFFF_FFFF_FFFF)    # a float64's bits without its sign
_LOW = np.uint64(23 << 52)                        # the bits of 2**-1000 (and of 2**1000:)
_SPAN = np.uint64((2023 << 52) - (23 << 52))


def at_risk(out: np.ndarray, risk: np.ndarray, top: int) -> np.ndarray:
    """(order+1, P) entries the float64 result cannot vouch for: not finite, 0 or near the
    ends of the float64 range, or with an estimated error above REL (orders <= top)."""
    sub = np.ascontiguousarray(out[: top + 1])
    size = sub.shape[1]
    # 2**-1000 <= |x| <= 2**1000 on the bits (ordered as the magnitudes; nan above inf):
    # one unsigned comparison after a shift by 2**-1000's bits (below wraps around), in
    # chunks of points that stay in the cache (whole-array temporaries cost page faults)
    bits = sub.view(np.uint64)
    flags = np.empty(sub.shape, dtype=bool)
    buffer = np.empty((top + 1, min(size, CHUNK)), dtype=np.uint64)
    limit = REL / (EPS * SCREEN_FACTOR * (np.arange(top + 1) + 1.0))
    screen = risk is not None and risk.max() > limit[-1]
    if screen:
        over = np.empty(buffer.shape, dtype=bool)
        limits = limit[:, None]
    for lo in range(0, size, CHUNK):
        hi = min(lo + CHUNK, size)
        part = buffer[:, : hi - lo]
        np.bitwise_and(bits[:, lo:hi], _MAGNITUDE, out=part)
        np.subtract(part, _LOW, out=part)
        np.greater(part, _SPAN, out=flags[:, lo:hi])
        if screen:
            np.greater(risk[None, lo:hi], limits, out=over[:, : hi - lo])
            flags[:, lo:hi] |= over[:, : hi - lo]
    return flags


CHUNK = 16384   # points at a time in at_risk


def refine(nodes, wrt: str, flat: dict, out: np.ndarray, risk: np.ndarray, fast: bool = False,
           report: Refinement | None = None, seconds: float = 0.0,
           vouched: np.ndarray | None = None) -> Refinement:
    """Check the entries of ``out`` (order+1, P) at risk in ball arithmetic and replace those
    float64 got wrong (gradcli/taylor/ball.py ``certify``); with ``fast`` only estimate their
    digits. High orders (>= HIGH_ORDER) check every point. Up to NO_DEADLINE points every
    check is made; beyond, CHECK_SHARE of the further points are (the suspects first) and
    the rest is reported not certified. ``seconds`` (the float64 pass's time) is not used:
    a count keeps the result repeatable. ``vouched`` (order+1, P) bool: entries a rigorous
    bound already certifies (taylor/bounds.py), never checked nor reported; the budget's
    checks go to the others (the screen's suspects first), each trying that bound in long
    double (``bounds.recheck``) before ball arithmetic."""

    report = report if report is not None else Refinement()
    order = out.shape[0] - 1
    degree, polynomial = facts(nodes, wrt)
    top = int(min(order, degree))
    size = out.shape[1]
    if fast and top >= HIGH_ORDER:
        return _estimate_high_orders(nodes, wrt, flat, out, top, report)
    # the screen sees every cancellation of a polynomial only: any other graph (sigmoid''
    # near 0 cancels inside its op's recurrence) has every entry checked, the entries the
    # screen flags first, within the time budget beyond NO_DEADLINE points, the rest reported
    every = top >= HIGH_ORDER or not polynomial
    flags = None if every and not fast else at_risk(out, risk, top)
    if fast:   # the screen's estimate for the worst entry at risk
        columns = np.flatnonzero(flags.any(axis=0))
        ks, ps = np.nonzero(flags[:, columns])
        ps = columns[ps]
        if len(ks):
            error = risk[ps] * (ks + 1.0)
            error = np.where(np.isfinite(out[ks, ps]), error, np.inf)
            worst = int(np.argmax(error))
            k, p = int(ks[worst]), int(ps[worst])
            digits = estimated_digits(risk[p], k) if np.isfinite(out[k, p]) else 0
            report.estimated.append((p, k, digits))
            report.estimated_count += len(ks)
        return report
    whole = None
    if vouched is not None:
        whole = vouched.all(axis=0)
        report.vouched += int(np.count_nonzero(whole))
    seen = report.seen + size      # (a stream's earlier slices count: Refinement)
    limit = None if seen <= NO_DEADLINE else max(
        0, NO_DEADLINE + int((seen - NO_DEADLINE) * CHECK_SHARE) - report.spent)
    if every:
        points = np.arange(size) if whole is None else np.flatnonzero(~whole)
        if whole is not None and not polynomial and risk is not None and size > FEW_POINTS \
                and len(points):   # (the Taylor pass's screen was not run for these)
            points = _suspects_first(nodes, wrt, flat, out, top, points,
                                     len(points) if limit is None else limit)
        elif risk is not None and size > FEW_POINTS and len(points):   # suspects first
            suspect = at_risk(out, risk, top).any(axis=0) if whole is None else \
                at_risk(out[:, points], risk[points], top).any(axis=0)   # (no copies)
            points = np.concatenate([points[suspect], points[~suspect]])
    else:
        points = np.flatnonzero(flags.any(axis=0))
        if whole is not None:
            points = points[~whole[points]]
    if not len(points):   # (nothing to check: ball arithmetic is not even loaded)
        return report

    names = sorted(flat)
    report.spent += len(points) if limit is None else min(limit, len(points))
    if vouched is not None:   # each check tries the long double bound first (bounds.recheck)
        take = points if limit is None else points[:limit]
        from .bounds import recheck

        changed = recheck(nodes, wrt, flat, out, vouched, take)
        ks, qs = np.nonzero(changed[: top + 1])
        report.replaced.extend(zip(take[qs].tolist(), ks.tolist()))
        report.vouched += int(np.count_nonzero(vouched[: top + 1, take].all(axis=0)))
    ball = None
    for i in range(len(points)):   # (not points.tolist(): a million ints cost 40 ms)
        p = int(points[i])
        if limit is not None and i >= limit:
            rest = points[i:]
            if every and vouched is None:   # every order of every point left: no mask
                report._unreached.append((rest, top))   # orders 0..top, expanded if asked
            else:
                left = np.ones((top + 1, len(rest)), dtype=bool) if every else flags[:, rest]
                if vouched is not None:
                    left = left & ~vouched[: top + 1, rest]
                ks, qs = np.nonzero(left)
                report._unreached.append((rest[qs], ks))
            break
        if vouched is not None and vouched[: top + 1, p].all():
            continue           # (certified by the long double bound)
        point = {name: float(flat[name][p]) for name in names}
        if not all(map(math.isfinite, point.values())):
            continue           # a nan or infinite point explains its own result
        if ball is None:
            from . import ball
        values = out[:, p].tolist()
        status = ball.certify(nodes, wrt, point, values, top)
        report.checked += 1
        if status.count("ok") + status.count("exact") == len(status):
            continue           # (the usual case: nothing to note, nothing changed)
        for k, s in enumerate(status):
            if s == "replaced":
                report.replaced.append((p, k))
            elif s == "overflow":
                report.overflow.append((p, k))
            elif s == "underflow":
                report.underflow.append((p, k))
            elif s == "uncertified":
                report._uncertified.append((p, k))
        out[:, p] = values
    return report


def _suspects_first(nodes, wrt, flat, out, top, points, want: int) -> np.ndarray:
    """``points`` (the ones taylor/bounds.py could not vouch for) with the screen's suspects
    first, as a batch without that bound orders them: the Taylor pass's screen run here, in
    stream order, over as many of them as it takes to find ``want`` suspects."""
    from .engine import derivatives

    found, suspect = [], np.zeros(out.shape[1], dtype=bool)
    count = 0
    for lo in range(0, len(points), CHUNK):
        chunk = points[lo: lo + CHUNK]
        risk = np.ones(len(chunk))
        with np.errstate(all="ignore"):
            derivatives(nodes, wrt, {k: v[chunk] for k, v in flat.items()}, top, risk,
                        few=False)
        hit = chunk[at_risk(out[:, chunk], risk, top).any(axis=0)]
        suspect[hit] = True
        found.append(hit)
        count += len(hit)
        if count >= want:
            break
    return np.concatenate(found + [points[~suspect[points]]])


def to_coefficients(nodes, wrt: str, out: np.ndarray, overflow, points) -> np.ndarray:
    """c_k = f^(k) / k! from the derivatives (order+1, P), without forming k!; an entry whose
    derivative overflowed float64 ((point, order) in ``overflow``) from ball arithmetic."""
    order = out.shape[0] - 1
    mant, exp2 = _factorials(order)
    with np.errstate(all="ignore"):
        c = np.ldexp(out / mant, -exp2)
    if overflow:
        from . import ball

        for p, k in overflow:
            try:
                cs, _ = ball.coefficient_balls(nodes, wrt, points[p], k, 96, ball.MAX_BITS)
            except (ball.NotCertified, ball.OutOfDomain, ball.NoBallRule, ValueError):
                continue          # (the derivative's own infinity stands)
            if cs[k].is_finite() and cs[k].rel_accuracy_bits() >= 53:
                c[k, p] = float(cs[k].mid())
    return c


def _estimate_high_orders(nodes, wrt, flat, out, top, report) -> Refinement:
    """--fast at high orders: the digits a 53-bit ball evaluation keeps (its radius bounds the
    rounding errors of a float64-like evaluation), for the first FEW_POINTS points."""
    from . import ball

    names = sorted(flat)
    worst = None
    for p in range(min(out.shape[1], FEW_POINTS)):
        point = {name: float(flat[name][p]) for name in names}
        try:
            balls, _ = ball.balls_at(nodes, wrt, point, top, 53, max_prec=53)
        except Exception:   # (a pole, a kink, an op without a ball rule: no estimate)
            continue
        for k, b in enumerate(balls):
            if b.is_zero() or not b.is_finite():
                continue
            digits = int(max(min(b.rel_accuracy_bits() * 0.30103, 15), 0))
            if digits < 13:
                report.estimated_count += 1
                if worst is None or digits < worst[2]:
                    worst = (p, k, digits)
    if worst is not None:
        report.estimated.append(worst)
    return report
